"""The numpy frontend against kymatio 0.3.0's numpy Scattering2D computed live, on shapes the
committed fixtures do not hold (needs kymatio, hence SciPy < 1.17: the first CI venv)."""
import numpy as np
import pytest

kymatio_numpy = pytest.importorskip("kymatio.numpy")
from learnable_scattering.numpy import Scattering2D  # noqa: E402

TOL = 1e-5  # of max|S|, the crate's kymatio criterion


def rel_err(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


@pytest.mark.parametrize("J, shape, L, max_order, lead", [
    (1, (16, 16), 8, 2, (2,)),
    (2, (32, 32), 8, 2, (2, 3)),
    (3, (32, 40), 8, 2, (1,)),
    (2, (24, 36), 6, 2, (2, 1, 2)),
    (2, (32, 32), 4, 1, (3,)),
    (2, (20, 28), 3, 2, ()),
    (3, (31, 33), 5, 2, (2,)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_kymatio(J, shape, L, max_order, lead, dtype):
    x = np.random.default_rng(J * 100 + L).standard_normal(lead + shape).astype(dtype)
    ours = Scattering2D(J, shape, L=L, max_order=max_order)(x)
    ref = kymatio_numpy.Scattering2D(J, shape, L=L, max_order=max_order)(x.astype(np.float64))
    assert ours.dtype == dtype
    assert ours.shape == ref.shape
    assert rel_err(ours, ref) < TOL


def test_pre_pad_equals_kymatios_pre_pad():
    """On any padded input (noise in the border too), kymatio's pre_pad=True and ours agree."""
    ref = kymatio_numpy.Scattering2D(2, (31, 35), L=4, pre_pad=True)
    ours = Scattering2D(2, (31, 35), L=4, pre_pad=True)
    assert (ours._M_padded, ours._N_padded) == (ref._M_padded, ref._N_padded) == (36, 40)
    x = np.random.default_rng(5).standard_normal((2, 36, 40))
    assert rel_err(ours(x), ref(x)) < TOL


def test_list_output_equals_kymatio():
    x = np.random.default_rng(0).standard_normal((2, 16, 24))
    ours = Scattering2D(2, (16, 24), L=4, out_type="list")(x)
    ref = kymatio_numpy.Scattering2D(2, (16, 24), L=4, out_type="list")(x)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert (a["j"], a["n"], a["theta"]) == (b["j"], b["n"], b["theta"])
        assert a["coef"].shape == b["coef"].shape
        assert rel_err(a["coef"], b["coef"]) < TOL


def test_empty_batch_as_kymatio():
    for lead in [(0,), (2, 0)]:
        x = np.zeros(lead + (32, 32))
        assert Scattering2D(2, (32, 32))(x).shape == kymatio_numpy.Scattering2D(2, (32, 32))(x).shape
