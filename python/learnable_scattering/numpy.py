"""kymatio 0.3.0's ``kymatio.numpy.Scattering2D`` on the crate's Rust engine.

Same constructor and call, same output layout ``(..., K, M / 2^J, N / 2^J)`` and channel order as
kymatio (see kymatio/scattering2d/core/scattering2d.py), the same exception types for the same
mistakes (see :class:`learnable_scattering.ScatteringValueError`), ``pre_pad`` and
``out_type='list'`` as kymatio; float32 and float64 inputs give outputs of the same dtype. A
C-contiguous input is read in place (no copy), the GIL is released while the engine runs, and
the work is spread over the engine's threads (:func:`learnable_scattering.set_num_threads`).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ._frontend import (ScatteringValueError, as_index, as_list, before_engine_call,
                        check_arguments, check_out_type, check_spatial, path_keys)
from ._native import FilterBankParams, Scattering2dPlan, WaveletSpectra

__all__ = ["Scattering2D"]

Bank = Union[FilterBankParams, WaveletSpectra]


class Scattering2D:
    """2D scattering transform, numerically kymatio 0.3.0's ``Scattering2D`` (numpy frontend).

    Parameters
    ----------
    J : int
        Number of scales; the output is subsampled by ``2**J``. Anything ``operator.index``
        accepts (a numpy integer, a 0-d integer array); a float is a ``TypeError``.
    shape : (int, int)
        Spatial size ``(M, N)`` of the input.
    L : int
        Number of orientations.
    max_order : int
        1 or 2.
    pre_pad : bool
        As kymatio: ``True`` means the input is already padded to ``(self._M_padded,
        self._N_padded)`` and is used as it is; the output has the same size as without.
    backend : str or None
        ``'numpy'`` or ``None`` (this package has one engine); anything else is kymatio's
        ``ImportError``.
    out_type : str
        ``'array'`` (one array ``(..., K, M/2^J, N/2^J)``) or ``'list'`` (kymatio's list of dicts
        ``{'coef', 'j', 'n', 'theta'}``, one per channel).
    bank : FilterBankParams or WaveletSpectra, optional
        The filters: Morlet parameters (kymatio's tight frame when omitted; see
        :meth:`from_params` and :meth:`from_json` for learned ones) or free spectra on the padded
        grid (the torch module's pixelwise filters, ``Scattering2D.spectra()``).
    """

    def __init__(self, J: int, shape: Tuple[int, int], L: int = 8, max_order: int = 2,
                 pre_pad: bool = False, backend: Optional[str] = "numpy",
                 out_type: str = "array", bank: Optional[Bank] = None):
        J, (M, N), L, max_order, pre_pad = check_arguments(
            J, shape, L, max_order, pre_pad, backend, out_type, "numpy")
        self.J, self.L, self.max_order, self.shape = J, L, max_order, (M, N)
        self.pre_pad = pre_pad
        self.backend = "numpy"
        self.out_type = out_type
        self._plan = Scattering2dPlan(M, N, J, L, max_order, pre_pad)
        self.bank = FilterBankParams.tight_frame(J, L) if bank is None else bank
        if not isinstance(self.bank, (FilterBankParams, WaveletSpectra)):
            raise TypeError(f"bank must be a FilterBankParams or a WaveletSpectra, got "
                            f"{type(self.bank).__name__}")
        if (self.bank.J, self.bank.L) != (J, L):
            raise ScatteringValueError(
                f"the bank has J = {self.bank.J}, L = {self.bank.L}; expected J = {J}, L = {L}")
        self._M_padded, self._N_padded = self._plan.padded_shape()

    @classmethod
    def from_params(cls, J: int, shape: Tuple[int, int], params: Any, L: Optional[int] = None,
                    **kwargs: Any) -> "Scattering2D":
        """A transform with explicit wavelets: ``params`` is ``(J*L, 4)`` (or ``(J, L, 4)``)
        ``(sigma, xi, theta, slant)`` per wavelet, slot ``n = j*L + l`` (the layout of the Rust
        crate's ``FilterBankParams`` and of ``FilterBankParams.params()``)."""
        p = np.asarray(params, dtype=np.float64)
        J = as_index(J, "J")
        if L is None:
            if p.ndim != 3:
                raise ScatteringValueError(
                    f"pass L, or params of shape (J, L, 4); got params of shape {p.shape}")
            L = p.shape[1]
        L = as_index(L, "L")
        bank = FilterBankParams(J, L, np.ascontiguousarray(p.reshape(-1, 4)))
        return cls(J, shape, L=L, bank=bank, **kwargs)

    @classmethod
    def from_json(cls, path: Union[str, "os.PathLike[str]"], shape: Tuple[int, int],
                  **kwargs: Any) -> "Scattering2D":
        """A transform with the bank of a JSON file the Rust crate writes: a ``FilterBankParams``
        object, or a training checkpoint's ``filters.json`` (or its directory), whose last epoch
        is taken. ``J`` and ``L`` come from the file."""
        bank = FilterBankParams.from_json(os.fspath(path))
        return cls(bank.J, shape, L=bank.L, bank=bank, **kwargs)

    def output_shape(self) -> Tuple[int, int, int]:
        """``(K, M / 2^J, N / 2^J)``: the trailing dimensions of the output."""
        return self._plan.output_shape()

    def paths(self) -> np.ndarray:
        """The output channels as rows ``(order, j1, l1, j2, l2)``, ``-1`` where a path has no
        such entry; row ``k`` describes channel ``k`` of the output."""
        return self._plan.paths()

    def scattering(self, input: np.ndarray) -> Union[np.ndarray, List[Dict[str, Any]]]:
        """Scattering coefficients of ``input`` ``(..., M, N)`` (``(..., _M_padded,
        _N_padded)`` with ``pre_pad``): an array ``(..., K, M/2^J, N/2^J)`` of the input's dtype,
        or kymatio's list (``out_type='list'``).

        Raises ``TypeError`` for something other than a float32 or float64 numpy array,
        :class:`~learnable_scattering.ScatteringValueError` (a ``RuntimeError`` and a
        ``ValueError``) for a wrong rank or spatial size, ``ValueError`` for a NaN or infinite
        value (naming its index), ``MemoryError`` when the output or a copy of a non-contiguous
        input cannot be allocated (naming its size)."""
        if input is None:
            raise TypeError("The input should be a numpy array, got None.")
        if not isinstance(input, np.ndarray):
            raise TypeError(f"The input should be a numpy array, got type {type(input)}.")
        check_out_type(self.out_type)
        check_spatial(input.shape, self._plan.input_shape(), self.pre_pad, "array")
        if input.dtype not in (np.float32, np.float64):
            raise TypeError(f"The input should be real: a float32 or float64 array, got "
                            f"{input.dtype}.")
        if input.size == 0:
            # kymatio: an empty batch gives an empty output.
            S = np.zeros(input.shape[:-2] + self.output_shape(), input.dtype)
        else:
            before_engine_call()
            S, _ = self._plan.forward(self.bank, input, False)
        if self.out_type == "array":
            return S
        return as_list(S, path_keys(self.paths(), self.L))

    __call__ = scattering

    def __repr__(self) -> str:
        return (f"Scattering2D(J={self.J}, shape={self.shape}, L={self.L}, "
                f"max_order={self.max_order}, pre_pad={self.pre_pad}, "
                f"out_type={self.out_type!r})")
