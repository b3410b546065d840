"""kymatio 0.3.0's ``kymatio.sklearn.Scattering2D``: the scattering transform as a scikit-learn
transformer, on the crate's Rust engine.

Rows of ``X`` are flattened images: ``(n_samples, M*N)`` in, ``(n_samples, K*M'*N')`` out with
``M' = M // 2^J``, ``N' = N // 2^J`` and the channels in the numpy frontend's order. A row may
hold several images one after the other (``C*M*N`` values, as kymatio reshapes them); its output
is then the ``C`` outputs one after the other. ``fit`` learns nothing (it checks ``X`` and
records ``n_features_in_``); ``transform`` needs no ``fit``. The estimator clones, pickles and
runs in joblib's worker processes (``cross_val_score(..., n_jobs=2)``).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin  # type: ignore[import-untyped, unused-ignore]

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # scikit-learn < 1.6
    _validate_data = None

from . import numpy as _numpy_frontend
from ._frontend import ScatteringValueError

__all__ = ["Scattering2D"]


class Scattering2D(TransformerMixin, BaseEstimator):
    """2D scattering of flattened images, kymatio's sklearn ``Scattering2D``.

    Parameters are those of :class:`learnable_scattering.numpy.Scattering2D` (kymatio's), kept
    as given (scikit-learn's convention) and checked when the transform is first used. With
    ``pre_pad=True`` a row holds padded images (``_M_padded*_N_padded`` values each).
    ``out_type`` must be ``'array'``: a transformer returns one array.
    """

    def __init__(self, J: int = 2, shape: Tuple[int, int] = (32, 32), L: int = 8,
                 max_order: int = 2, pre_pad: bool = False, backend: Optional[str] = "numpy",
                 out_type: str = "array"):
        self.J = J
        self.shape = shape
        self.L = L
        self.max_order = max_order
        self.pre_pad = pre_pad
        self.backend = backend
        self.out_type = out_type

    def _transform_object(self) -> "_numpy_frontend.Scattering2D":
        """The numpy frontend for the current parameters, made once per set of parameters (so
        ``set_params`` takes effect) and not pickled."""
        params = self.get_params()
        cached = self.__dict__.get("_scattering")
        if cached is not None and cached[0] == repr(params):
            return cached[1]
        if self.out_type != "array":
            raise ScatteringValueError(
                f"The out_type must be 'array' for the sklearn transformer (it returns one "
                f"array), got {self.out_type!r}.")
        S = _numpy_frontend.Scattering2D(self.J, self.shape, L=self.L, max_order=self.max_order,
                                         pre_pad=self.pre_pad, backend=self.backend)
        self.__dict__["_scattering"] = (repr(params), S)
        return S

    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        S = self._transform_object()
        kw: Dict[str, Any] = dict(dtype=[np.float64, np.float32], accept_sparse=False,
                                  reset=reset)
        if _validate_data is not None:
            X = _validate_data(self, X, ensure_all_finite=True, **kw)
        else:
            X = self._validate_data(X, force_all_finite=True, **kw)
        M, N = S._plan.input_shape()
        if X.shape[1] % (M * N) != 0:
            raise ScatteringValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting a multiple "
                f"of {M * N} features (flattened {M}x{N} images, one or more per row) as input.")
        return X

    def fit(self, X: Any, y: Any = None) -> "Scattering2D":
        """Checks ``X`` and records ``n_features_in_``; nothing is learnt (kymatio's ``fit``)."""
        self._check_X(X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``(n_samples, C*M*N)`` flattened images to ``(n_samples, C*K*M'*N')`` coefficients of
        the same dtype (float32 or float64)."""
        # Unfitted, the width is only checked against the image size (transform sets nothing).
        X = self._check_X(X, reset=False)
        S = self._transform_object()
        M, N = S._plan.input_shape()
        out = S(X.reshape(X.shape[0], -1, M, N))
        assert isinstance(out, np.ndarray)  # out_type is 'array' (checked)
        return out.reshape(X.shape[0], -1)

    predict = transform  # as kymatio's ScatteringTransformerMixin

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_scattering", None)  # made again on first use
        return state

    def __sklearn_tags__(self) -> Any:  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.allow_nan = False
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"stateless": True, "requires_fit": False,
                "preserves_dtype": ["float64", "float32"]}
