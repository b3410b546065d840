"""A learnable 2D scattering layer for PyTorch on the crate's Rust CPU engine.

:class:`Scattering2D` is a ``torch.nn.Module`` whose Morlet parameters ``sigma``, ``xi``,
``theta`` and ``slant`` (one value per wavelet, slot ``n = j*L + l``) are ``torch.nn.Parameter``
objects. Its forward and backward are one ``torch.autograd.Function`` that calls the crate's
fused CPU cascade and its analytic adjoint; the wavelet spectra are built from the parameters by
the crate's closed form (``filters::spectral::morlet_spectrum``) and their gradient by its exact
vector-Jacobian product (``morlet_spectrum_vjp``): no second Morlet formula lives here.

With frozen tight-frame filters the forward is kymatio 0.3.0's ``Scattering2D``. CPU tensors
only, float32 or float64; the layer works under ``DistributedDataParallel`` (gloo backend).
"""
from __future__ import annotations

import os
from typing import Any, Optional, Tuple, Union

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ._native import FilterBankParams, Scattering2dPlan

__all__ = ["Scattering2D"]

SUPPORTED_DEVICES = ("cpu",)
_PARAM_NAMES = ("sigma", "xi", "theta", "slant")


def _check_device(t: torch.Tensor, what: str) -> None:
    if t.device.type not in SUPPORTED_DEVICES:
        raise RuntimeError(
            f"learnable_scattering.torch.Scattering2D runs on the CPU engine only: {what} is on "
            f"device '{t.device}', supported devices: {', '.join(SUPPORTED_DEVICES)} "
            f"(move it with .cpu())")


class _BankCache:
    """The native bank of the last parameter values: rebuilt (spectra recomputed, no FFT
    re-planned) only when a value changed."""

    def __init__(self, J: int, L: int):
        self.J, self.L = J, L
        self.key: Optional[bytes] = None
        self.bank: Optional[FilterBankParams] = None

    def get(self, sigma: torch.Tensor, xi: torch.Tensor, theta: torch.Tensor,
            slant: torch.Tensor) -> FilterBankParams:
        with torch.no_grad():
            p = torch.stack([sigma, xi, theta, slant], 1).to(torch.float64)
        values = np.ascontiguousarray(p.numpy())
        key = values.tobytes()
        if key != self.key:
            self.bank = FilterBankParams(self.J, self.L, values)
            self.key = key
        assert self.bank is not None
        return self.bank


class _Scattering(torch.autograd.Function):
    """``S = scattering(x; sigma, xi, theta, slant)`` by the crate; backward by its adjoint."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, sigma: torch.Tensor, xi: torch.Tensor,
                theta: torch.Tensor, slant: torch.Tensor, plan: Scattering2dPlan, cache: _BankCache,
                record: bool) -> torch.Tensor:
        bank = cache.get(sigma, xi, theta, slant)
        xn = x.detach().contiguous().numpy()
        S, tape = plan.forward(bank, xn, record)
        ctx.plan, ctx.bank, ctx.tape = plan, bank, tape
        ctx.param_dtypes = [p.dtype for p in (sigma, xi, theta, slant)]
        ctx.save_for_backward(x)
        return torch.from_numpy(S)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        (x,) = ctx.saved_tensors
        want_input = bool(ctx.needs_input_grad[0])
        want_wavelets = any(ctx.needs_input_grad[1:5])
        xn = x.detach().contiguous().numpy()
        gn = grad.detach().to(x.dtype).contiguous().numpy()
        dx, dw = ctx.plan.backward(ctx.bank, xn, ctx.tape, gn, want_input, want_wavelets)
        ctx.tape = None  # free the intermediates now, not when the graph is collected
        grads = [torch.from_numpy(dx) if dx is not None else None]
        for k, dtype in enumerate(ctx.param_dtypes):
            grads.append(torch.from_numpy(np.ascontiguousarray(dw[:, k])).to(dtype)
                         if dw is not None and ctx.needs_input_grad[1 + k] else None)
        return tuple(grads) + (None, None, None)


class Scattering2D(torch.nn.Module):
    """Learnable 2D scattering: kymatio's ``Scattering2D`` with learnable Morlet wavelets.

    Parameters
    ----------
    J, shape, L, max_order :
        As kymatio's ``Scattering2D``. The output is ``(..., K, M/2^J, N/2^J)``.
    init : ``'tight-frame'`` or ``'random'``
        kymatio's tight frame, or the random bank of "Parametric Scattering Networks" drawn by the
        crate from ``seed`` (the same bank as the Rust layer's ``FilterBankParams::random``).
    learnable : bool
        ``True``: ``sigma``, ``xi``, ``theta``, ``slant`` are ``torch.nn.Parameter`` objects.
        ``False``: they are buffers (frozen filters; the forward is kymatio's with the tight frame).
    seed : int
        Seed of ``init='random'``.
    bank : FilterBankParams, optional
        Explicit initial parameters (overrides ``init``), e.g. ``FilterBankParams.from_json(path)``.
    dtype : torch.dtype
        Dtype of the parameters (the engine builds the filters in float64 either way).
    """

    sigma: torch.Tensor
    xi: torch.Tensor
    theta: torch.Tensor
    slant: torch.Tensor

    def __init__(self, J: int, shape: Tuple[int, int], L: int = 8, max_order: int = 2,
                 init: str = "tight-frame", learnable: bool = True, seed: int = 0,
                 bank: Optional[FilterBankParams] = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        M, N = (int(s) for s in shape)
        self.J, self.L, self.max_order, self.shape = int(J), int(L), int(max_order), (M, N)
        self.learnable = bool(learnable)
        self._plan = Scattering2dPlan(M, N, self.J, self.L, self.max_order)
        if bank is None:
            if init == "tight-frame":
                bank = FilterBankParams.tight_frame(self.J, self.L)
            elif init == "random":
                bank = FilterBankParams.random(self.J, self.L, int(seed))
            else:
                raise ValueError(f"init must be 'tight-frame' or 'random', got {init!r}")
        if (bank.J, bank.L) != (self.J, self.L):
            raise ValueError(f"the bank has J = {bank.J}, L = {bank.L}; expected J = {self.J}, "
                             f"L = {self.L}")
        values = torch.from_numpy(bank.params()).to(dtype)
        for k, name in enumerate(_PARAM_NAMES):
            v = values[:, k].clone()
            if self.learnable:
                self.register_parameter(name, torch.nn.Parameter(v))
            else:
                self.register_buffer(name, v)
        self._cache = _BankCache(self.J, self.L)

    @classmethod
    def from_json(cls, path: Union[str, "os.PathLike[str]"], shape: Tuple[int, int],
                  **kwargs: Any) -> "Scattering2D":
        """A layer initialised from the JSON the Rust crate writes (``FilterBankParams``, or a
        checkpoint's ``filters.json`` whose last epoch is taken); ``J`` and ``L`` from the file."""
        bank = FilterBankParams.from_json(os.fspath(path))
        return cls(bank.J, shape, L=bank.L, bank=bank, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scattering coefficients ``(..., K, M/2^J, N/2^J)`` of ``x`` ``(..., M, N)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        _check_device(x, "the input")
        params = (self.sigma, self.xi, self.theta, self.slant)
        for name, p in zip(_PARAM_NAMES, params):
            _check_device(p, f"parameter '{name}'")
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"x must be float32 or float64, got {x.dtype}")
        record = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad
                                                                     for p in params))
        return _Scattering.apply(x, *params, self._plan, self._cache, record)

    def bank(self) -> FilterBankParams:
        """The current parameters as a :class:`FilterBankParams` (for
        ``FilterBankParams.to_json`` or the numpy frontend's ``Scattering2D(..., bank=...)``)."""
        return self._cache.get(self.sigma, self.xi, self.theta, self.slant)

    def paths(self) -> np.ndarray:
        """Output channels as rows ``(order, j1, l1, j2, l2)``, ``-1`` where unused."""
        return self._plan.paths()

    def __getstate__(self) -> dict:
        # The native plan and bank cache are rebuilt on unpickling (torch.save of the whole
        # module, copy.deepcopy): they hold FFT plans and spectra, not state.
        state = self.__dict__.copy()
        del state["_plan"], state["_cache"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._plan = Scattering2dPlan(*self.shape, self.J, self.L, self.max_order)
        self._cache = _BankCache(self.J, self.L)

    def extra_repr(self) -> str:
        return (f"J={self.J}, shape={self.shape}, L={self.L}, max_order={self.max_order}, "
                f"learnable={self.learnable}")
