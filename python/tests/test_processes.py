"""Processes and threads: the engine works in a child forked after its threads started (its own
pool per process; rayon's global pool would hang there, rayon-rs/rayon#708), in multiprocessing's
"fork" workers, and its thread count is what set_num_threads, RAYON_NUM_THREADS and the CPUs
allowed say."""
import multiprocessing
import os
import signal
import subprocess
import sys
import warnings

import numpy as np
import pytest

import learnable_scattering
from learnable_scattering.numpy import Scattering2D


def _transform_sum(seed):
    S = Scattering2D(2, (32, 32), L=4)
    return float(S(np.random.default_rng(seed).standard_normal((16, 32, 32))).sum())


@pytest.fixture
def warm():
    """The parent's pool is running before the fork (the case that hung)."""
    _transform_sum(0)
    learnable_scattering.set_num_threads(None)
    yield


def test_a_forked_child_transforms(warm):
    expected = _transform_sum(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12: fork() with threads
        pid = os.fork()
    if pid == 0:  # the child: a batch over several threads, or a hang killed by the alarm
        signal.alarm(30)
        ok = abs(_transform_sum(1) - expected) < 1e-9 * abs(expected)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_multiprocessing_fork_workers(warm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            out = pool.map_async(_transform_sum, [1, 2, 3, 4]).get(timeout=60)
    assert out == [_transform_sum(s) for s in [1, 2, 3, 4]]


def test_set_num_threads_in_this_process_and_its_children(warm):
    try:
        learnable_scattering.set_num_threads(3)
        assert learnable_scattering.num_threads() == 3
        before = _transform_sum(5)
        learnable_scattering.set_num_threads(1)
        assert learnable_scattering.num_threads() == 1
        assert _transform_sum(5) == before  # the same numbers on any thread count
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with multiprocessing.get_context("fork").Pool(1) as pool:
                assert pool.apply(learnable_scattering.num_threads) == 1  # inherited
        with pytest.raises(ValueError, match="at least 1 thread"):
            learnable_scattering.set_num_threads(0)
        with pytest.raises(TypeError):
            learnable_scattering.set_num_threads(1.5)
    finally:
        learnable_scattering.set_num_threads(None)


def _count(env, affinity=None):
    code = ("import os\n"
            + (f"os.sched_setaffinity(0, {affinity!r})\n" if affinity else "")
            + "import learnable_scattering as ls; print(ls.num_threads())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    return int(out.stdout)


def test_the_default_thread_count():
    """RAYON_NUM_THREADS when set, else the CPUs this process may run on (its affinity mask,
    not os.cpu_count())."""
    env = {k: v for k, v in os.environ.items() if k != "RAYON_NUM_THREADS"}
    assert _count(env) == len(os.sched_getaffinity(0))
    assert _count(dict(env, RAYON_NUM_THREADS="3")) == 3
    assert _count(env, affinity={min(os.sched_getaffinity(0))}) == 1
