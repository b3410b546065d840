"""kymatio 0.3.0's ``kymatio.numpy.Scattering2D`` on the crate's Rust engine.

Same constructor and call, same output layout ``(..., K, M / 2^J, N / 2^J)`` and channel order as
kymatio (see kymatio/scattering2d/core/scattering2d.py); float32 and float64 inputs give outputs of
the same dtype. A C-contiguous input is read in place (no copy), the GIL is released while the
engine runs, and the work is spread over rayon's thread pool (``RAYON_NUM_THREADS``).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ._native import FilterBankParams, Scattering2dPlan

__all__ = ["Scattering2D"]


def _check_kymatio_args(pre_pad: bool, backend: Optional[str], out_type: str) -> None:
    if pre_pad:
        raise NotImplementedError(
            "pre_pad=True is not supported: the engine pads the image itself (kymatio's reflect "
            "padding); pass the unpadded (M, N) image")
    if backend not in (None, "numpy"):
        raise ValueError(f"backend must be 'numpy' (or None), got {backend!r}")
    if out_type not in ("array", "list"):
        raise ValueError(f"out_type must be 'array' or 'list', got {out_type!r}")


class Scattering2D:
    """2D scattering transform, numerically kymatio 0.3.0's ``Scattering2D`` (numpy frontend).

    Parameters
    ----------
    J : int
        Number of scales; the output is subsampled by ``2**J``.
    shape : tuple of ints
        Spatial size ``(M, N)`` of the input.
    L : int
        Number of orientations.
    max_order : int
        1 or 2.
    pre_pad : bool
        Only ``False`` is supported (``NotImplementedError`` otherwise).
    backend : str or None
        ``'numpy'`` or ``None``; accepted for kymatio compatibility.
    out_type : str
        ``'array'`` (one array ``(..., K, M/2^J, N/2^J)``) or ``'list'`` (kymatio's list of dicts
        ``{'coef', 'j', 'n', 'theta'}``, one per channel).
    bank : FilterBankParams, optional
        The wavelets' parameters; kymatio's tight frame when omitted. See :meth:`from_params` and
        :meth:`from_json` for learned parameters.
    """

    def __init__(self, J: int, shape: Tuple[int, int], L: int = 8, max_order: int = 2,
                 pre_pad: bool = False, backend: Optional[str] = "numpy",
                 out_type: str = "array", bank: Optional[FilterBankParams] = None):
        _check_kymatio_args(pre_pad, backend, out_type)
        M, N = (int(s) for s in shape)
        self.J, self.L, self.max_order = int(J), int(L), int(max_order)
        self.shape = (M, N)
        self.pre_pad = False
        self.backend = "numpy"
        self.out_type = out_type
        self._plan = Scattering2dPlan(M, N, self.J, self.L, self.max_order)
        self.bank = FilterBankParams.tight_frame(self.J, self.L) if bank is None else bank
        if (self.bank.J, self.bank.L) != (self.J, self.L):
            raise ValueError(
                f"the bank has J = {self.bank.J}, L = {self.bank.L}; expected J = {self.J}, "
                f"L = {self.L}")
        self._M_padded, self._N_padded = self._plan.padded_shape()

    @classmethod
    def from_params(cls, J: int, shape: Tuple[int, int], params: Any, L: Optional[int] = None,
                    **kwargs: Any) -> "Scattering2D":
        """A transform with explicit wavelets: ``params`` is ``(J*L, 4)`` (or ``(J, L, 4)``)
        ``(sigma, xi, theta, slant)`` per wavelet, slot ``n = j*L + l`` (the layout of the Rust
        crate's ``FilterBankParams`` and of the torch module's parameters)."""
        p = np.asarray(params, dtype=np.float64)
        if L is None:
            if p.ndim != 3:
                raise ValueError("pass L, or params of shape (J, L, 4)")
            L = p.shape[1]
        bank = FilterBankParams(int(J), int(L), np.ascontiguousarray(p.reshape(-1, 4)))
        return cls(J, shape, L=L, bank=bank, **kwargs)

    @classmethod
    def from_json(cls, path: Union[str, "os.PathLike[str]"], shape: Tuple[int, int],
                  **kwargs: Any) -> "Scattering2D":
        """A transform with the bank of a JSON file the Rust crate writes: a ``FilterBankParams``
        object, or a training checkpoint's ``filters.json`` (or its directory), whose last epoch
        is taken. ``J`` and ``L`` come from the file."""
        bank = FilterBankParams.from_json(os.fspath(path))
        return cls(bank.J, shape, L=bank.L, bank=bank, **kwargs)

    def paths(self) -> np.ndarray:
        """The output channels as rows ``(order, j1, l1, j2, l2)``, ``-1`` where a path has no
        such entry; row ``k`` describes channel ``k`` of the output."""
        return self._plan.paths()

    def scattering(self, input: np.ndarray) -> Union[np.ndarray, List[Dict[str, Any]]]:
        """Scattering coefficients of ``input`` ``(..., M, N)``: an array ``(..., K, M/2^J,
        N/2^J)`` of the input's dtype, or kymatio's list (``out_type='list'``)."""
        x = input if isinstance(input, np.ndarray) else np.asarray(input)
        S, _ = self._plan.forward(self.bank, x, False)
        if self.out_type == "array":
            return S
        return [{"coef": S[..., k, :, :], "j": j, "n": n, "theta": theta}
                for k, (j, n, theta) in enumerate(self._path_keys())]

    __call__ = scattering

    def _path_keys(self) -> List[Tuple[tuple, tuple, tuple]]:
        """kymatio's ``'j'``, ``'n'`` (filter index ``j*L + l``) and ``'theta'`` of each channel."""
        keys = []
        for order, j1, l1, j2, l2 in self.paths().tolist():
            if order == 0:
                keys.append(((), (), ()))
            elif order == 1:
                keys.append(((j1,), (j1 * self.L + l1,), (l1,)))
            else:
                keys.append(((j1, j2), (j1 * self.L + l1, j2 * self.L + l2), (l1, l2)))
        return keys

    def __getstate__(self) -> dict:
        # The native objects are rebuilt on unpickling; the bank travels as its parameters.
        state = self.__dict__.copy()
        del state["_plan"]
        state["bank"] = self.bank.params()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.bank = FilterBankParams(self.J, self.L, state["bank"])
        self._plan = Scattering2dPlan(*self.shape, self.J, self.L, self.max_order)

    def __repr__(self) -> str:
        return (f"Scattering2D(J={self.J}, shape={self.shape}, L={self.L}, "
                f"max_order={self.max_order}, out_type={self.out_type!r})")
