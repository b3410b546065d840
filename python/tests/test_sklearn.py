"""learnable_scattering.sklearn.Scattering2D: kymatio's scikit-learn transformer. Flattened images
in, flattened coefficients out (the numpy frontend's), fit a no-op, set_params effective, clone,
pickle, joblib worker processes, and the parts of scikit-learn's check_estimator that a
transformer of fixed-size images can pass."""
import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from learnable_scattering import numpy as ls_numpy
from learnable_scattering.sklearn import Scattering2D

SKLEARN_16 = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 6)


def images(n, shape=(16, 16), seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal((n,) + shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_is_the_numpy_frontend_flattened(dtype):
    x = images(5, dtype=dtype)
    t = Scattering2D(2, (16, 16), L=4)
    out = t.transform(x.reshape(5, -1))
    ref = ls_numpy.Scattering2D(2, (16, 16), L=4)(x).reshape(5, -1)
    assert out.dtype == dtype and out.shape == (5, 25 * 4 * 4)
    np.testing.assert_array_equal(out, ref)
    assert t.fit(x.reshape(5, -1)) is t and t.n_features_in_ == 256
    np.testing.assert_array_equal(t.fit_transform(x.reshape(5, -1)), ref)
    np.testing.assert_array_equal(t.predict(x.reshape(5, -1)), ref)


def test_rows_of_several_images_as_kymatio():
    """kymatio reshapes a row of C*M*N values into C images: (n, C*M*N) -> (n, C*K*M'*N')."""
    x = images(6).reshape(2, 3, 16, 16)
    out = Scattering2D(2, (16, 16), L=4).transform(x.reshape(2, -1))
    ref = ls_numpy.Scattering2D(2, (16, 16), L=4)(x).reshape(2, -1)
    np.testing.assert_array_equal(out, ref)


def test_set_params_changes_the_output_and_clone_keeps_them():
    x = images(3).reshape(3, -1)
    t = Scattering2D(2, (16, 16), L=4)
    assert t.transform(x).shape == (3, 25 * 16)
    t.set_params(J=3)
    assert t.transform(x).shape == (3, (1 + 12 + 48) * 4)
    c = clone(t)
    assert c.get_params() == t.get_params() and c is not t
    np.testing.assert_array_equal(c.transform(x), t.transform(x))


def test_pickles_with_its_parameters():
    x = images(2).reshape(2, -1)
    t = Scattering2D(1, (16, 16), L=2, max_order=1).fit(x)
    u = pickle.loads(pickle.dumps(t))
    assert u.get_params() == t.get_params() and u.n_features_in_ == 256
    np.testing.assert_array_equal(u.transform(x), t.transform(x))


def test_cross_validation_in_two_joblib_processes():
    """A pipeline with the transformer, cross-validated with n_jobs=2 (loky worker processes):
    the scores of one process."""
    rng = np.random.default_rng(1)
    n = 40
    y = np.arange(n) % 2
    x = rng.standard_normal((n, 16, 16))
    x[y == 1] += np.sin(np.arange(16) * 1.3)[None, :, None]  # a pattern the classes differ by
    X = x.reshape(n, -1)
    pipe = make_pipeline(Scattering2D(2, (16, 16), L=4), StandardScaler(),
                         LogisticRegression(max_iter=200))
    two = cross_val_score(pipe, X, y, cv=2, n_jobs=2)
    one = cross_val_score(pipe, X, y, cv=2, n_jobs=1)
    np.testing.assert_allclose(two, one)
    assert two.mean() > 0.7


def test_bad_input_is_named():
    t = Scattering2D(2, (16, 16), L=4)
    with pytest.raises(ValueError, match="X has 255 features, but Scattering2D is expecting a "
                                         "multiple of 256 features"):
        t.transform(np.zeros((2, 255)))
    t.fit(np.zeros((2, 256)))
    with pytest.raises(ValueError, match="X has 512 features, but Scattering2D is expecting 256"):
        t.transform(np.zeros((2, 512)))
    with pytest.raises(ValueError, match="NaN"):
        t.transform(np.full((2, 256), np.nan))
    with pytest.raises(ValueError, match="out_type must be 'array'"):
        Scattering2D(2, (16, 16), out_type="list").transform(np.zeros((1, 256)))
    with pytest.raises(RuntimeError, match="smallest dimension"):
        Scattering2D(5, (16, 16)).transform(np.zeros((1, 256)))


# Checks that feed X with a fixed number of features (2, 3, 5 or 10; never a multiple of M*N): a
# transformer of flattened M x N images cannot take them. What they check is covered above with
# input of the right width (dtypes, NaN refusal, pickling, clone, pipelines, joblib).
_FIXED_SIZE = "feeds X of a hard-coded width; the transform takes flattened M x N images"
FIXED_SIZE_XFAIL = {name: _FIXED_SIZE for name in [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_fit_returns_self", "check_estimators_nan_inf",
    "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_1sample",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_pipeline_consistency",
    "check_readonly_memmap_input", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_preserve_dtypes",
    "check_transformers_unfitted_stateless",
]}


class _CheckedScattering2D(Scattering2D):
    """For scikit-learn < 1.6, which reads expected failures from the _xfail_checks tag."""

    def _more_tags(self):
        return dict(super()._more_tags(), _xfail_checks=FIXED_SIZE_XFAIL)


if SKLEARN_16:
    _checks = parametrize_with_checks([Scattering2D(J=1, shape=(2, 2), L=2)],
                                      expected_failed_checks=lambda est: FIXED_SIZE_XFAIL)
else:
    _checks = parametrize_with_checks([_CheckedScattering2D(J=1, shape=(2, 2), L=2)])


def _check_name(param):
    check = getattr(param, "values", param)[1]
    return getattr(check, "func", check).__name__


# check_array_api_input only runs with SciPy's experimental array API switched on
# (SCIPY_ARRAY_API=1) and array-api-compat installed, and skips otherwise; the transformer takes
# numpy arrays, so it is left out rather than reported as skipped.
_argnames, _params = _checks.mark.args
_checks = pytest.mark.parametrize(
    _argnames, [p for p in _params if _check_name(p) != "check_array_api_input"],
    **_checks.mark.kwargs)


@_checks
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
