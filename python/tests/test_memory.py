"""An allocation the engine cannot make is a MemoryError naming its size, and the interpreter
goes on: each buffer driven to fail on its own, in a child process whose address space is capped
just above what it maps (tests/_rlimit.py). Without the fallible allocations these children died
with "memory allocation of N bytes failed" (SIGABRT)."""
from _rlimit import assert_memory_error, run_capped

SETUP = """
import numpy as np
from learnable_scattering.numpy import Scattering2D
S = Scattering2D(2, (32, 32), L=8)
S(np.ones((4, 32, 32), np.float32))  # the engine's threads and plan exist before the cap
"""
AFTER = """
assert S(np.ones((2, 32, 32), np.float32)).shape == (2, 81, 8, 8)
"""


def test_an_output_too_large_is_a_memory_error():
    """2,000,000 broadcast images (a few kB of input): the output needs 8.3 GB."""
    body = """
one = np.ones((32, 32), np.float32)
S(np.broadcast_to(one, (2_000_000, 32, 32)))
"""
    rc, result, err = run_capped(SETUP, body, AFTER)
    assert_memory_error(rc, result, err, 2_000_000 * 81 * 64 * 4)
    assert "the scattering output" in result["message"]


def test_a_copy_of_a_broadcast_input_too_large_is_a_memory_error():
    """J = 1, L = 1: 2 KiB of output per plane, 4 KiB of input: the contiguous copy of a
    broadcast input fails where the output did not."""
    setup = """
import numpy as np
from learnable_scattering.numpy import Scattering2D
S = Scattering2D(1, (32, 32), L=1)
S(np.ones((4, 32, 32), np.float32))
"""
    body = """
S(np.broadcast_to(np.ones((32, 32), np.float32), (100_000, 32, 32)))
"""
    after = """
assert S(np.ones((2, 32, 32), np.float32)).shape == (2, 2, 16, 16)
"""
    rc, result, err = run_capped(setup, body, after, headroom=300 << 20)
    assert_memory_error(rc, result, err, 100_000 * 32 * 32 * 4)
    assert "a C-contiguous copy of the input" in result["message"]


def test_the_list_output_too_large_is_a_memory_error():
    body = """
L = Scattering2D(2, (32, 32), L=8, out_type="list")
L(np.broadcast_to(np.ones((32, 32), np.float32), (2_000_000, 32, 32)))
"""
    rc, result, err = run_capped(SETUP, body, AFTER)
    assert_memory_error(rc, result, err, 2_000_000 * 81 * 64 * 4)


def test_a_plan_too_large_is_a_memory_error():
    """A 4096 x 4096 plan (about 9 GB by the crate's estimate) under a 256 MB headroom."""
    body = """
Scattering2D(3, (4096, 4096), L=8)(np.ones((4096, 4096), np.float32))
"""
    rc, result, err = run_capped(SETUP, body, AFTER)
    assert rc == 0 and result is not None, err[-2000:]
    assert result["outcome"] == "MemoryError", result
    assert "a scattering plan (its estimated peak memory)" in result["message"], result
    assert result["after"] == "ok", result
