"""Bad input is a Python exception that names what was expected and what was given, never a
crash; where kymatio 0.3.0 raises for the same mistake, the exception has kymatio's type and
kymatio's words (kymatio's tests assert these phrases), and ScatteringValueError is both a
RuntimeError (kymatio's type) and a ValueError (this package's before)."""
from collections import namedtuple

import numpy as np
import pytest

import learnable_scattering
from learnable_scattering import FilterBankParams, ScatteringValueError, _native
from learnable_scattering.numpy import Scattering2D


def test_the_shape_error_is_both_runtime_and_value_error():
    assert issubclass(ScatteringValueError, RuntimeError)
    assert issubclass(ScatteringValueError, ValueError)


@pytest.mark.parametrize("make, phrase", [
    (lambda S: S(None), "input should be"),
    (lambda S: S([[0.0] * 32] * 32), "input should be a numpy array, got type <class 'list'>"),
    (lambda S: S(np.zeros((1, 32, 32), np.int64)), "input should be real"),
    (lambda S: S(np.zeros((1, 32, 32), np.complex64)), "got complex64"),
    (lambda S: S(np.zeros((1, 32, 32), np.float16)), "float32 or float64 array, got float16"),
])
def test_input_types_are_type_errors(make, phrase):
    with pytest.raises(TypeError) as e:
        make(Scattering2D(2, (32, 32), L=4))
    assert phrase in str(e.value)


@pytest.mark.parametrize("x, phrase", [
    (np.zeros(()), "have at least two dimensions, got shape ()"),
    (np.zeros(32), "have at least two dimensions, got shape (32,)"),
    (np.zeros((2, 31, 31)), "NumPy array must be of spatial size (32,32), got (31,31)"),
    (np.zeros((32, 33)), "NumPy array must be of spatial size (32,32), got (32,33)"),
])
def test_shapes_are_runtime_errors_with_kymatios_words(x, phrase):
    with pytest.raises(RuntimeError) as e:
        Scattering2D(2, (32, 32), L=4)(x)
    assert phrase in str(e.value) and isinstance(e.value, ValueError)


def test_pre_pad_wants_the_padded_size():
    S = Scattering2D(3, (32, 32), L=4, pre_pad=True)
    with pytest.raises(RuntimeError) as e:
        S(np.zeros((31, 31)))
    assert "Padded array must be of spatial size (48,48), got (31,31)" in str(e.value)
    with pytest.raises(RuntimeError, match="Padded array must be of spatial size"):
        S(np.zeros((32, 32)))  # the unpadded size is not the padded one


@pytest.mark.parametrize("kwargs, phrase", [
    (dict(J=6, shape=(32, 32)), "smallest dimension should be larger than 2^J"),
    (dict(J=10, shape=(10, 10)), "smallest dimension"),
    (dict(J=0, shape=(32, 32)), "J must be at least 1, got 0"),
    (dict(J=2, shape=(32, 32), L=0), "L must be at least 1, got 0"),
    (dict(J=2, shape=(32, 32), max_order=3), "max_order must be 1 or 2, got 3"),
    (dict(J=2, shape=(32,)), "shape must be the spatial size (M, N) of the input, got (32,)"),
    (dict(J=2, shape=(32, 32, 3)), "got (32, 32, 3)"),
    (dict(J=2, shape=(32, 32), out_type="dict"),
     "The out_type must be one of 'array' or 'list', got 'dict'"),
])
def test_configurations_are_runtime_errors(kwargs, phrase):
    with pytest.raises(RuntimeError) as e:
        Scattering2D(**kwargs)
    assert phrase in str(e.value) and isinstance(e.value, ValueError)


def test_an_out_type_changed_after_construction_is_checked_at_the_call():
    """kymatio checks out_type when called (and accepts it at construction): both are checked."""
    S = Scattering2D(2, (16, 16), L=2)
    S.out_type = "tuple"
    with pytest.raises(RuntimeError, match="The out_type must be one of 'array' or 'list'"):
        S(np.zeros((16, 16)))


@pytest.mark.parametrize("kwargs", [dict(J=2.5), dict(J=2.0), dict(L=4.0), dict(max_order=1.0),
                                    dict(shape=(32.0, 32)), dict(J="2")])
def test_non_integers_are_type_errors_not_truncated(kwargs):
    args = dict(J=2, shape=(32, 32), L=4)
    args.update(kwargs)
    with pytest.raises(TypeError) as e:
        Scattering2D(**args)
    assert "must be an integer" in str(e.value)


def test_pre_pad_must_be_a_flag():
    with pytest.raises(TypeError, match="pre_pad must be True or False, got str 'yes'"):
        Scattering2D(2, (32, 32), pre_pad="yes")


def test_backends_other_than_the_engine_are_import_errors():
    """kymatio's three messages: a name that is not the frontend's, a name that starts like it,
    a backend object; each also says 'not supported'."""
    with pytest.raises(ImportError) as e:
        Scattering2D(2, (10, 10), backend="doesnotexist")
    assert "can not be called from the frontend numpy" in str(e.value)
    assert "not supported" in str(e.value)
    with pytest.raises(ImportError, match="Backend numpyfoo not found"):
        Scattering2D(2, (10, 10), backend="numpyfoo")
    fake = namedtuple("backend", ["name"])("fake")
    with pytest.raises(ImportError) as e:
        Scattering2D(2, (10, 10), backend=fake)
    assert "The backend fake is not supported by the frontend numpy" in str(e.value)
    # The frontend's own backend, by name or as kymatio's backend object, is accepted.
    Scattering2D(2, (10, 10), backend="numpy")
    Scattering2D(2, (10, 10), backend=namedtuple("backend", ["name"])("numpy"))


def test_kymatios_entry_point():
    S = learnable_scattering.Scattering2D(2, shape=(10, 10))
    assert isinstance(S, Scattering2D)
    assert isinstance(learnable_scattering.Scattering2D(2, (10, 10), frontend="NumPy"),
                      Scattering2D)
    with pytest.raises(RuntimeError) as e:
        learnable_scattering.Scattering2D(2, shape=(10, 10), frontend="doesnotexist")
    assert "The frontend 'doesnotexist' is not valid" in str(e.value)
    with pytest.raises(ImportError, match="can not be called"):
        learnable_scattering.Scattering2D(2, shape=(10, 10), backend="doesnotexist")


def test_non_finite_input_is_a_value_error_naming_the_first_index():
    """This package refuses NaN and infinities (kymatio lets them spread through the image's
    coefficients; README, "Python", says why)."""
    S = Scattering2D(2, (32, 32), L=4)
    x = np.zeros((2, 32, 32))
    x[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"non-finite input value NaN at index \[1, 2, 3\]"):
        S(x)
    x[1, 2, 3] = -np.inf
    with pytest.raises(ValueError, match=r"non-finite input value -inf at index \[1, 2, 3\]"):
        S(x)


def test_banks_are_checked():
    params = FilterBankParams.tight_frame(2, 2).params()
    params[3, 0] = -1.0
    with pytest.raises(ValueError, match="wavelet 3: invalid `sigma`"):
        FilterBankParams(2, 2, params)
    with pytest.raises(ValueError, match="expected J\\*L = 4"):
        FilterBankParams(2, 2, params[:3])
    with pytest.raises(ValueError, match=r"params must have shape \(J\*L, 4\)"):
        FilterBankParams(2, 2, params[:, :3])
    with pytest.raises(RuntimeError, match="the bank has J = 2, L = 2; expected J = 2, L = 4"):
        Scattering2D(2, (32, 32), L=4, bank=FilterBankParams.tight_frame(2, 2))
    with pytest.raises(TypeError, match="bank must be a FilterBankParams or a WaveletSpectra, "
                                        "got ndarray"):
        Scattering2D(2, (32, 32), L=2, bank=params)
    S = Scattering2D(2, (16, 16), L=2)
    spectra = np.zeros((4, S._M_padded + 1, S._N_padded))
    bad = Scattering2D(2, (16, 16), L=2, bank=learnable_scattering.WaveletSpectra(2, 2, spectra))
    with pytest.raises(ValueError, match=r"expected \[4, 24, 24\], got \[4, 25, 24\]"):
        bad(np.zeros((16, 16)))
    with pytest.raises(ValueError, match="spectra must have shape"):
        learnable_scattering.WaveletSpectra(2, 2, spectra[:3])


def test_files_are_os_errors_and_bad_json_a_value_error(tmp_path):
    with pytest.raises(OSError, match="No such file"):
        FilterBankParams.from_json(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        FilterBankParams.from_json(str(bad))
    with pytest.raises(OSError):
        FilterBankParams.tight_frame(2, 2).to_json(str(tmp_path / "no" / "such" / "dir.json"))


def test_sizes_beyond_the_engines_limits_are_value_errors():
    with pytest.raises(ValueError, match="more than the limit of"):
        Scattering2D(2, (1 << 20, 1 << 20))


@pytest.mark.parametrize("in_pool", [False, True])
def test_a_panic_is_a_runtime_error(in_pool):
    """A Rust panic (on the calling thread or a worker of the pool) is an ordinary exception."""
    with pytest.raises(RuntimeError, match="a Rust panic.*boom 42"):
        _native._panic_for_test("boom 42", in_pool)
    # The interpreter and the pool still work afterwards.
    assert Scattering2D(1, (8, 8), L=2)(np.ones((8, 8))).shape == (3, 4, 4)
