"""What the frontends share: kymatio 0.3.0's argument checks and messages, the exception class that
keeps both kymatio's and this package's ``except`` clauses working, kymatio's list output, and the
thread count in PyTorch ``DataLoader`` workers.

The messages start with kymatio's own words (kymatio 0.3.0: ``kymatio/frontend/base_frontend.py``,
``kymatio/scattering2d/frontend/base_frontend.py``, ``numpy_frontend.py``, ``torch_frontend.py``)
and go on with what was expected and what was given.
"""
from __future__ import annotations

import operator
import sys
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from . import _native


class ScatteringValueError(ValueError, RuntimeError):
    """A shape, size or option that does not fit the transform.

    kymatio raises ``RuntimeError`` for these, and this package raised ``ValueError`` before:
    this class is both, so ``except RuntimeError`` (code written for kymatio) and
    ``except ValueError`` both catch it.
    """


def as_index(value: Any, name: str) -> int:
    """``operator.index(value)`` (an int, a numpy integer, a 0-d integer array), else a
    ``TypeError`` naming the argument: a float such as ``J=2.5`` is refused, never truncated."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer (an int, a numpy integer or a 0-d integer array), got "
            f"{type(value).__name__} {value!r}") from None


def as_flag(value: Any, name: str) -> bool:
    """A bool, a numpy bool or a 0-d bool array (kymatio's test data stores ``pre_pad`` so)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype == np.bool_:
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def check_arguments(J: Any, shape: Any, L: Any, max_order: Any, pre_pad: Any, backend: Any,
                    out_type: Any, frontend: str) -> Tuple[int, Tuple[int, int], int, int, bool]:
    """kymatio's constructor arguments, checked: ``(J, (M, N), L, max_order, pre_pad)``."""
    J, L = as_index(J, "J"), as_index(L, "L")
    max_order = as_index(max_order, "max_order")
    try:
        M, N = shape
    except (TypeError, ValueError):
        raise ScatteringValueError(
            f"shape must be the spatial size (M, N) of the input, got {shape!r}") from None
    M, N = as_index(M, "shape[0]"), as_index(N, "shape[1]")
    pre_pad = as_flag(pre_pad, "pre_pad")
    check_backend(backend, frontend)
    check_out_type(out_type)
    if J < 1:
        raise ScatteringValueError(f"J must be at least 1, got {J}")
    if L < 1:
        raise ScatteringValueError(f"L must be at least 1, got {L}")
    if max_order not in (1, 2):
        raise ScatteringValueError(f"max_order must be 1 or 2, got {max_order}")
    if M < 1 or N < 1:
        raise ScatteringValueError(f"shape must be positive, got ({M}, {N})")
    if J >= 63 or 2 ** J > min(M, N):
        raise ScatteringValueError(
            f"The smallest dimension should be larger than 2^J: shape ({M}, {N}) with J = {J} "
            f"(2^J = {2 ** J}); use J <= {min(M, N).bit_length() - 1}")
    return J, (M, N), L, max_order, pre_pad


def check_backend(backend: Any, frontend: str) -> None:
    """kymatio's backend argument: ``frontend`` (or ``None``, or a kymatio backend object of that
    name) is the one engine this package has; anything else is kymatio's ``ImportError``."""
    if backend is None:
        return
    name = backend if isinstance(backend, str) else getattr(backend, "name", None)
    if name == frontend:
        return
    expected = f"pass backend={frontend!r} or leave it out"
    if isinstance(backend, str) and not backend.startswith(frontend):
        raise ImportError(
            f"The backend {backend} can not be called from the frontend {frontend}: it is not "
            f"supported by learnable_scattering, which runs its own Rust engine ({expected}).")
    if isinstance(backend, str):
        raise ImportError(f"Backend {backend} not found! It is not supported by "
                          f"learnable_scattering, which runs its own Rust engine ({expected}).")
    raise ImportError(
        f"The backend {name} is not supported by the frontend {frontend}: learnable_scattering "
        f"runs its own Rust engine ({expected}; got {type(backend).__name__} {backend!r}).")


def check_out_type(out_type: Any) -> None:
    if out_type not in ("array", "list"):
        raise ScatteringValueError(
            f"The out_type must be one of 'array' or 'list', got {out_type!r}.")


def check_spatial(shape: Sequence[int], expected: Tuple[int, int], pre_pad: bool,
                  kind: str) -> None:
    """kymatio's rank and size checks: ``kind`` is ``'array'`` (numpy) or ``'tensor'``."""
    if len(shape) < 2:
        raise ScatteringValueError(
            f"Input {kind} must have at least two dimensions, got shape {tuple(shape)}.")
    got = tuple(shape[-2:])
    if got != tuple(expected):
        what = "Padded " + kind if pre_pad else ("NumPy array" if kind == "array" else "Tensor")
        raise ScatteringValueError(
            f"{what} must be of spatial size ({expected[0]},{expected[1]}), got "
            f"({got[0]},{got[1]}) (input shape {tuple(shape)}).")


def path_keys(paths: np.ndarray, L: int) -> List[Tuple[tuple, tuple, tuple]]:
    """kymatio's ``'j'``, ``'n'`` (filter index ``j*L + l``) and ``'theta'`` of each channel,
    from the rows ``(order, j1, l1, j2, l2)`` of ``Scattering2dPlan.paths``."""
    keys: List[Tuple[tuple, tuple, tuple]] = []
    for order, j1, l1, j2, l2 in paths.tolist():
        if order == 0:
            keys.append(((), (), ()))
        elif order == 1:
            keys.append(((j1,), (j1 * L + l1,), (l1,)))
        else:
            keys.append(((j1, j2), (j1 * L + l1, j2 * L + l2), (l1, l2)))
    return keys


def as_list(S: Any, keys: List[Tuple[tuple, tuple, tuple]]) -> List[Dict[str, Any]]:
    """kymatio's ``out_type='list'``: one dict ``{'coef', 'j', 'n', 'theta'}`` per channel, the
    coefficients a view ``(..., M', N')`` of channel ``k``."""
    return [{"coef": S[..., k, :, :], "j": j, "n": n, "theta": theta}
            for k, (j, n, theta) in enumerate(keys)]


def before_engine_call() -> None:
    """One engine thread by default inside a PyTorch ``DataLoader`` worker (PyTorch sets its own
    thread count to 1 there): ``num_workers`` workers then use ``num_workers`` cores, not
    ``num_workers`` times all of them. ``learnable_scattering.set_num_threads`` overrides it."""
    data = sys.modules.get("torch.utils.data")
    if data is not None and data.get_worker_info() is not None:
        _native._in_dataloader_worker()
