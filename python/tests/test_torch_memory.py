"""The torch module under a capped address space (tests/_rlimit.py), measured after
`import torch`: a forward or a backward the engine cannot allocate is a MemoryError naming its
size, raised through autograd, and the interpreter goes on."""
import pytest

from _rlimit import assert_memory_error, run_capped

pytest.importorskip("torch")

SETUP = """
import numpy as np
import torch
from learnable_scattering.torch import Scattering2D
m = Scattering2D(2, (32, 32), L=8)
m(torch.ones(4, 32, 32)).sum().backward()  # threads, plans and autograd warmed up
"""
AFTER = """
y = m(torch.ones(2, 32, 32, requires_grad=True))
y.sum().backward()
assert y.shape == (2, 81, 8, 8)
"""


def test_a_forward_too_large_is_a_memory_error():
    """200,000 broadcast images without gradients: the output needs 4.1 GB."""
    body = """
with torch.no_grad():
    m(torch.ones(32, 32).expand(200_000, 32, 32))
"""
    rc, result, err = run_capped(SETUP, body, AFTER)
    assert_memory_error(rc, result, err, 200_000 * 81 * 64 * 4)


def test_a_training_forward_of_200k_images_is_a_memory_error():
    """The 200,000 x 32 x 32 batch with gradients: the output (4.1 GB, reserved but never
    written) fits a 5 GiB headroom, its tape (69 GB) does not."""
    body = """
m(torch.ones(32, 32).expand(200_000, 32, 32)).sum().backward()
"""
    rc, result, err = run_capped(SETUP, body, AFTER, headroom=5 << 30)
    assert rc == 0 and result is not None, err[-2000:]
    assert result["outcome"] == "MemoryError", result
    assert "the intermediates of the forward (its tape)" in result["message"], result
    assert result["after"] == "ok", result


def test_a_backward_too_large_is_a_memory_error():
    """The cap is set after a forward on 3000 images (tape and output made): the backward's
    input gradient (12 MB) and workspaces do not fit a 4 MB headroom."""
    setup = SETUP + """
x = torch.ones(3000, 32, 32, requires_grad=True)
loss = m(x).sum()
"""
    body = """
loss.backward()
"""
    after = """
del loss
import gc; gc.collect()
m(torch.ones(2, 32, 32))
"""
    rc, result, err = run_capped(setup, body, after, headroom=4 << 20)
    assert rc == 0 and result is not None, err[-2000:]
    assert result["outcome"] == "MemoryError", result
    assert "cannot allocate" in result["message"], result
    assert result["after"] == "ok", result
