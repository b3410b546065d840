"""Bad input becomes a Python exception with the crate's message, never a crash."""
import numpy as np
import pytest

from learnable_scattering import FilterBankParams, _native
from learnable_scattering.numpy import Scattering2D


def test_shapes_and_parameters_are_value_errors():
    S = Scattering2D(2, (32, 32), L=4)
    with pytest.raises(ValueError, match="expected"):
        S(np.zeros((2, 32, 31)))
    with pytest.raises(ValueError, match="dimensions"):
        S(np.zeros(32))
    with pytest.raises(ValueError, match="empty batch"):
        S(np.zeros((0, 32, 32)))
    with pytest.raises(ValueError, match="non-finite input value NaN at index \\[1, 2, 3\\]"):
        x = np.zeros((2, 32, 32))
        x[1, 2, 3] = np.nan
        S(x)
    with pytest.raises(ValueError, match="exceeds input size"):
        Scattering2D(6, (32, 32))
    with pytest.raises(ValueError, match="num_orientations"):
        Scattering2D(2, (32, 32), L=0)
    with pytest.raises(ValueError, match="max_order"):
        Scattering2D(2, (32, 32), max_order=3)
    params = FilterBankParams.tight_frame(2, 2).params()
    params[3, 0] = -1.0
    with pytest.raises(ValueError, match="wavelet 3: invalid `sigma`"):
        FilterBankParams(2, 2, params)
    with pytest.raises(ValueError, match="expected J\\*L = 4"):
        FilterBankParams(2, 2, params[:3])
    with pytest.raises(ValueError, match="out_type"):
        Scattering2D(2, (32, 32), out_type="dict")
    with pytest.raises(NotImplementedError, match="pre_pad"):
        Scattering2D(2, (32, 32), pre_pad=True)


def test_dtypes_are_type_errors():
    S = Scattering2D(2, (32, 32), L=4)
    for dtype in (np.int64, np.float16, np.complex128):
        with pytest.raises(TypeError, match="float32 or float64"):
            S(np.zeros((1, 32, 32), dtype))


def test_files_are_os_errors_and_bad_json_a_value_error(tmp_path):
    with pytest.raises(OSError, match="No such file"):
        FilterBankParams.from_json(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        FilterBankParams.from_json(str(bad))
    with pytest.raises(OSError):
        FilterBankParams.tight_frame(2, 2).to_json(str(tmp_path / "no" / "such" / "dir.json"))


@pytest.mark.parametrize("in_pool", [False, True])
def test_a_panic_is_a_runtime_error(in_pool):
    """A Rust panic (on the calling thread or a rayon worker) is an ordinary exception."""
    with pytest.raises(RuntimeError, match="a Rust panic.*boom 42"):
        _native._panic_for_test("boom 42", in_pool)
    # The interpreter and the pool still work afterwards.
    assert Scattering2D(1, (8, 8), L=2)(np.ones((8, 8))).shape == (3, 4, 4)
