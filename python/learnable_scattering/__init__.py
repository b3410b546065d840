"""Learnable wavelet scattering on the crate's Rust CPU cascade.

- :mod:`learnable_scattering.numpy`: ``Scattering2D``, kymatio 0.3.0's numpy frontend (same
  constructor, call and output layout) on the Rust engine.
- :mod:`learnable_scattering.torch`: ``Scattering2D``, a ``torch.nn.Module`` whose Morlet
  parameters (sigma, xi, theta, slant) are learnable, forward and backward by the same engine.

:class:`FilterBankParams` holds a filter bank's parameters (kymatio's tight frame, the random
bank of "Parametric Scattering Networks", explicit values, or the JSON the Rust crate writes).
"""
from ._native import FilterBankParams, num_threads

__version__ = "0.1.0"
__all__ = ["FilterBankParams", "num_threads", "__version__"]
