"""A learnable 2D scattering layer for PyTorch on the crate's Rust CPU engine.

:class:`Scattering2D` is a ``torch.nn.Module`` with kymatio 0.3.0's torch frontend's constructor
and call, whose filters are learnable in one of the three parametrisations of "Parametric
Scattering Networks" (the paper's names):

- ``'canonical'``: ``log_sigma``, ``xi``, ``theta``, ``log_slant``, one value per wavelet
  (``J*L`` each, slot ``n = j*L + l``);
- ``'equivariant'``: the same four, one value per scale (``J`` each); the wavelets of scale ``j``
  are its wavelet turned by ``-l*pi/L``;
- ``'pixelwise'``: ``pixels``, the wavelets' spectra themselves, ``(J*L, Mp, Np)`` on the padded
  grid, started from the Morlet wavelets (whose four values are then kept as frozen buffers).

What is trained is what the crate's burn layer trains: ``ln sigma`` and ``ln slant`` (so that
no step can make them zero or negative), ``xi`` and ``theta`` as they are. The expansion of
these values into the wavelets and its gradient are the crate's
(``filters::parametrization``), the cascade and its adjoint too; the spectra are built by the
crate's closed form and their gradient by its exact vector-Jacobian product: no second Morlet
formula lives here.

With frozen tight-frame filters (``learnable=False``) the forward is kymatio 0.3.0's
``Scattering2D``. Inputs are float32 or float64 on any device; the engine runs on the CPU and
the output comes back on the input's device. The layer works under ``DistributedDataParallel``
(gloo backend) and in ``DataLoader`` workers.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ._frontend import (ScatteringValueError, as_index, as_list, before_engine_call,
                        check_arguments, check_out_type, check_spatial, path_keys)
from ._native import FilterBankParams, Parametrization, Scattering2dPlan, WaveletSpectra

__all__ = ["Scattering2D"]

MORLET_FAMILIES = ("log_sigma", "xi", "theta", "log_slant")
PARAMETRIZATIONS = ("canonical", "equivariant", "pixelwise")


class _Filters:
    """The native filters of the module's current values, made again only when a value changed,
    and what the backward needs to carry the filter gradient to those values."""

    def __init__(self, J: int, L: int, parametrization: Parametrization):
        self.J, self.L, self.parametrization = J, L, parametrization
        self.key: Optional[bytes] = None
        self.native: Union[FilterBankParams, WaveletSpectra, None] = None
        self.trained: Optional[np.ndarray] = None

    def get(self, tensors: Tuple[torch.Tensor, ...]) -> Union[FilterBankParams, WaveletSpectra]:
        with torch.no_grad():
            if self.parametrization.name == "pixelwise":
                values = tensors[0].detach().to("cpu", torch.float64).contiguous().numpy()
            else:
                values = torch.stack([t.detach().to("cpu", torch.float64) for t in tensors])
                values = np.ascontiguousarray(values.numpy())
        key = values.tobytes()
        if key != self.key:
            if self.parametrization.name == "pixelwise":
                self.native = WaveletSpectra(self.J, self.L, values)
            else:
                self.native = self.parametrization.bank(self.J, self.L, values)
            self.key, self.trained = key, values
        assert self.native is not None
        return self.native


class _Scattering(torch.autograd.Function):
    """``S = scattering(x; filters)`` by the crate; backward by its adjoint, then (Morlet
    parametrisations) the expansion's vector-Jacobian product."""

    @staticmethod
    def forward(ctx: Any, module: "Scattering2D", record: bool, x: torch.Tensor,
                *filters: torch.Tensor) -> torch.Tensor:
        ctx.device, ctx.filter_meta = x.device, [(f.dtype, f.device) for f in filters]
        ctx.empty, ctx.x_shape, ctx.x_dtype = x.numel() == 0, x.shape, x.dtype
        if ctx.empty:
            # kymatio: an empty batch gives an empty output (and zero gradients).
            ctx.filter_shapes = [f.shape for f in filters]
            return torch.zeros(x.shape[:-2] + module.output_shape(), dtype=x.dtype,
                               device=x.device)
        native = module._filters.get(filters)
        xn = x.detach().to("cpu").numpy()
        S, tape = module._plan.forward(native, xn, record)
        ctx.module, ctx.native, ctx.tape, ctx.xn = module, native, tape, xn
        ctx.trained = module._filters.trained
        return torch.from_numpy(S).to(x.device)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        want_input = bool(ctx.needs_input_grad[2])
        wants = ctx.needs_input_grad[3:]
        if ctx.empty:
            return _empty_backward(ctx, want_input, wants)
        module = ctx.module
        gn = grad.detach().to("cpu", ctx.x_dtype).numpy()
        dx, df = module._plan.backward(ctx.native, ctx.xn, ctx.tape, gn, want_input, any(wants))
        ctx.tape = None  # free the intermediates now, not when the graph is collected
        out = [None, None, torch.from_numpy(dx).to(ctx.device) if dx is not None else None]
        if df is None:
            return tuple(out + [None] * len(wants))
        if isinstance(ctx.native, WaveletSpectra):
            per_filter = [df]
        else:
            J, L = module.J, module.L
            per_filter = list(module._parametrization.wavelets_vjp(J, L, ctx.trained, df))
        for want, g, (dtype, device) in zip(wants, per_filter, ctx.filter_meta):
            out.append(torch.from_numpy(np.ascontiguousarray(g)).to(device, dtype)
                       if want else None)
        return tuple(out)


def _empty_backward(ctx: Any, want_input: bool, wants: Tuple[bool, ...]
                    ) -> Tuple[Optional[torch.Tensor], ...]:
    """The gradients of an empty batch: zeros of every input's shape."""
    dx = torch.zeros(ctx.x_shape, dtype=ctx.x_dtype, device=ctx.device) if want_input else None
    filters = [torch.zeros(shape, dtype=dtype, device=device) if want else None
               for want, (dtype, device), shape in zip(wants, ctx.filter_meta, ctx.filter_shapes)]
    return (None, None, dx, *filters)


class Scattering2D(torch.nn.Module):
    """Learnable 2D scattering: kymatio's ``Scattering2D`` (torch frontend) with learnable
    wavelets.

    Parameters
    ----------
    J, shape, L, max_order, pre_pad, backend, out_type :
        As kymatio 0.3.0's torch ``Scattering2D`` (``backend`` must be ``'torch'`` or ``None``).
        The output is ``(..., K, M/2^J, N/2^J)``, or kymatio's list with ``out_type='list'``.
    parametrization : ``'canonical'``, ``'equivariant'`` or ``'pixelwise'``
        What is trained (the paper's names; see the module's documentation).
    init : ``'tight-frame'`` or ``'random'``
        kymatio's tight frame, or the random bank of "Parametric Scattering Networks" drawn by the
        crate from ``seed`` (the Rust layer's ``FilterInit::Random``: the same values, one wavelet
        per scale for ``'equivariant'``).
    learnable : bool
        ``True``: the trained values are ``torch.nn.Parameter`` objects (for ``'pixelwise'``, the
        spectra ``pixels``). ``False``: they are buffers (frozen filters; with the tight frame
        the forward is kymatio's).
    seed : int
        Seed of ``init='random'``.
    bank : FilterBankParams, optional
        Explicit initial wavelets (overrides ``init``), e.g. ``FilterBankParams.from_json(path)``;
        ``'equivariant'`` takes the ``l = 0`` wavelet of each scale.
    dtype : torch.dtype
        Dtype of the trained values (the engine builds the filters in float64 either way).
    """

    log_sigma: torch.Tensor
    xi: torch.Tensor
    theta: torch.Tensor
    log_slant: torch.Tensor

    def __init__(self, J: int, shape: Tuple[int, int], L: int = 8, max_order: int = 2,
                 pre_pad: bool = False, backend: Optional[str] = "torch",
                 out_type: str = "array", *, parametrization: str = "canonical",
                 init: str = "tight-frame", learnable: bool = True, seed: int = 0,
                 bank: Optional[FilterBankParams] = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        J, (M, N), L, max_order, pre_pad = check_arguments(
            J, shape, L, max_order, pre_pad, backend, out_type, "torch")
        self.J, self.L, self.max_order, self.shape = J, L, max_order, (M, N)
        self.pre_pad, self.backend, self.out_type = pre_pad, "torch", out_type
        if parametrization not in PARAMETRIZATIONS:
            raise ScatteringValueError(
                f"parametrization must be one of {', '.join(map(repr, PARAMETRIZATIONS))}, got "
                f"{parametrization!r}")
        self.parametrization = parametrization
        self._parametrization = Parametrization(parametrization)
        self.learnable = bool(learnable)
        self._plan = Scattering2dPlan(M, N, J, L, max_order, pre_pad)
        self._M_padded, self._N_padded = self._plan.padded_shape()
        if bank is None:
            if init == "tight-frame":
                bank = FilterBankParams.tight_frame(J, L)
            elif init == "random":
                bank = self._parametrization.random_bank(J, L, as_index(seed, "seed"))
            else:
                raise ScatteringValueError(
                    f"init must be 'tight-frame' or 'random', got {init!r}")
        if not isinstance(bank, FilterBankParams):
            raise TypeError(f"bank must be a FilterBankParams, got {type(bank).__name__}")
        if (bank.J, bank.L) != (J, L):
            raise ScatteringValueError(
                f"the bank has J = {bank.J}, L = {bank.L}; expected J = {J}, L = {L}")
        trained = torch.from_numpy(self._parametrization.trained_values(bank)).to(dtype)
        pixelwise = parametrization == "pixelwise"
        for k, name in enumerate(MORLET_FAMILIES):
            value = trained[k].clone()
            if self.learnable and not pixelwise:
                self.register_parameter(name, torch.nn.Parameter(value))
            else:
                self.register_buffer(name, value)
        if pixelwise:
            spectra = torch.from_numpy(bank.spectra(self._M_padded, self._N_padded)).to(dtype)
            if self.learnable:
                self.pixels = torch.nn.Parameter(spectra)
            else:
                self.register_buffer("pixels", spectra)
        self._filters = _Filters(J, L, self._parametrization)

    @classmethod
    def from_json(cls, path: Union[str, "os.PathLike[str]"], shape: Tuple[int, int],
                  **kwargs: Any) -> "Scattering2D":
        """A layer initialised from the JSON the Rust crate writes (``FilterBankParams``, or a
        checkpoint's ``filters.json`` whose last epoch is taken); ``J`` and ``L`` from the file."""
        bank = FilterBankParams.from_json(os.fspath(path))
        return cls(bank.J, shape, L=bank.L, bank=bank, **kwargs)

    def _filter_tensors(self) -> Tuple[torch.Tensor, ...]:
        if self.parametrization == "pixelwise":
            return (self.pixels,)
        return tuple(getattr(self, name) for name in MORLET_FAMILIES)

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[Dict[str, Any]]]:
        """Scattering coefficients ``(..., K, M/2^J, N/2^J)`` of ``x`` ``(..., M, N)``
        (``(..., _M_padded, _N_padded)`` with ``pre_pad``), on ``x``'s device; or kymatio's list
        with ``out_type='list'``.

        Raises ``TypeError`` for something other than a float32 or float64 tensor,
        :class:`~learnable_scattering.ScatteringValueError` (a ``RuntimeError`` and a
        ``ValueError``) for a wrong rank or spatial size, ``ValueError`` for a NaN or infinite
        value (naming its index), ``MemoryError`` when a buffer of the engine cannot be
        allocated (naming its size), here or in the backward."""
        if x is None:
            raise TypeError("The input should be a PyTorch tensor, got None.")
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"The input should be a PyTorch tensor, got type {type(x)}.")
        check_out_type(self.out_type)
        check_spatial(tuple(x.shape), self._plan.input_shape(), self.pre_pad, "tensor")
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"The input should be a float32 or float64 tensor, got {x.dtype}.")
        if x.device.type == "meta":
            raise RuntimeError(
                "learnable_scattering.torch.Scattering2D cannot run on the 'meta' device (its "
                "tensors hold no values); the engine runs on the CPU and returns the output on "
                "the input's device")
        filters = self._filter_tensors()
        record = torch.is_grad_enabled() and (x.requires_grad or any(f.requires_grad
                                                                     for f in filters))
        before_engine_call()
        S = _Scattering.apply(self, record, x, *filters)
        if self.out_type == "array":
            return S
        return as_list(S, path_keys(self.paths(), self.L))

    def scattering(self, input: torch.Tensor) -> Union[torch.Tensor, List[Dict[str, Any]]]:
        """kymatio's name for the transform: the module's call (hooks included)."""
        return self(input)

    def output_shape(self) -> Tuple[int, int, int]:
        """``(K, M / 2^J, N / 2^J)``: the trailing dimensions of the output."""
        return self._plan.output_shape()

    def bank(self) -> FilterBankParams:
        """The current wavelets as a :class:`FilterBankParams` (for ``FilterBankParams.to_json``
        or the numpy frontend's ``Scattering2D(..., bank=...)``). ``ValueError`` for
        ``'pixelwise'``, whose filters are not Morlet wavelets (see :meth:`spectra`)."""
        if self.parametrization == "pixelwise":
            raise ScatteringValueError(
                "pixelwise filters are not Morlet wavelets and have no parameters to export; "
                "use spectra() (a WaveletSpectra, which the numpy frontend also takes)")
        bank = self._filters.get(self._filter_tensors())
        assert isinstance(bank, FilterBankParams)
        return bank

    def spectra(self) -> WaveletSpectra:
        """The current filters as spectra on the padded grid, ``(J*L, _M_padded, _N_padded)``:
        the pixelwise values, or the Morlet wavelets' spectra."""
        if self.parametrization == "pixelwise":
            values = self.pixels.detach().to("cpu", torch.float64).numpy()
            return WaveletSpectra(self.J, self.L, np.ascontiguousarray(values))
        values = self.bank().spectra(self._M_padded, self._N_padded)
        return WaveletSpectra(self.J, self.L, values)

    def paths(self) -> np.ndarray:
        """Output channels as rows ``(order, j1, l1, j2, l2)``, ``-1`` where unused."""
        return self._plan.paths()

    def extra_repr(self) -> str:
        return (f"J={self.J}, shape={self.shape}, L={self.L}, max_order={self.max_order}, "
                f"parametrization={self.parametrization!r}, learnable={self.learnable}")
