"""Learnable wavelet scattering on the crate's Rust CPU engine.

- :mod:`learnable_scattering.numpy`: ``Scattering2D``, kymatio 0.3.0's numpy frontend (same
  constructor, call, errors and output layout) on the Rust engine.
- :mod:`learnable_scattering.torch`: ``Scattering2D``, a ``torch.nn.Module`` (kymatio's torch
  frontend) whose wavelets are learnable in the paper's three parametrisations, forward and
  backward by the same engine.
- :mod:`learnable_scattering.sklearn`: ``Scattering2D``, kymatio's scikit-learn transformer.
- :class:`Scattering2D`: kymatio's entry point, ``Scattering2D(J, shape, ...,
  frontend='numpy' | 'torch' | 'sklearn')``.

:class:`FilterBankParams` holds a filter bank's Morlet parameters (kymatio's tight frame, the
random bank of "Parametric Scattering Networks", explicit values, or the JSON the Rust crate
writes); :class:`WaveletSpectra` free spectra (the pixelwise parametrisation's filters).
:func:`set_num_threads` and :func:`num_threads` set and read the engine's thread count.
"""
from __future__ import annotations

import importlib
from typing import Any

from ._frontend import ScatteringValueError
from ._native import (FilterBankParams, Parametrization, WaveletSpectra, num_threads,
                      set_num_threads)

__version__ = "0.1.0"
__all__ = ["FilterBankParams", "Parametrization", "Scattering2D", "ScatteringValueError",
           "WaveletSpectra", "num_threads", "set_num_threads", "__version__"]

_FRONTENDS = ("numpy", "torch", "sklearn")


class Scattering2D:
    """kymatio's entry point: ``Scattering2D(J, shape, ..., frontend='numpy')`` is the frontend's
    ``Scattering2D`` (``learnable_scattering.numpy``, ``.torch`` or ``.sklearn``) built with the
    other arguments; ``frontend`` is case-insensitive and defaults to ``'numpy'``. An unknown
    frontend is kymatio's ``RuntimeError`` (a :class:`ScatteringValueError`); a frontend whose
    package is missing (PyTorch, scikit-learn) raises the ``ImportError`` of that package."""

    def __new__(cls, *args: Any, frontend: str = "numpy", **kwargs: Any) -> Any:
        name = frontend.lower() if isinstance(frontend, str) else frontend
        if name not in _FRONTENDS:
            raise ScatteringValueError(
                f"The frontend {frontend!r} is not valid. Must be one of 'numpy', 'torch' or "
                f"'sklearn'.")
        module = importlib.import_module(f"{__name__}.{name}")
        return module.Scattering2D(*args, **kwargs)
