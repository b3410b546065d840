# The module's types for checkers; mypy's stubtest checks them against torch.py. A stub rather
# than torch.py itself because mypy cannot follow the metaclass of torch 1.13's
# autograd.Function (which the private autograd function derives from).
import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt
import torch

from ._native import FilterBankParams, WaveletSpectra

__all__ = ["Scattering2D"]

MORLET_FAMILIES: Tuple[str, ...]
PARAMETRIZATIONS: Tuple[str, ...]

class Scattering2D(torch.nn.Module):
    J: int
    L: int
    max_order: int
    shape: Tuple[int, int]
    pre_pad: bool
    backend: str
    out_type: str
    parametrization: str
    learnable: bool
    log_sigma: torch.Tensor
    xi: torch.Tensor
    theta: torch.Tensor
    log_slant: torch.Tensor
    def __init__(
        self,
        J: int,
        shape: Tuple[int, int],
        L: int = 8,
        max_order: int = 2,
        pre_pad: bool = False,
        backend: Optional[str] = "torch",
        out_type: str = "array",
        *,
        parametrization: str = "canonical",
        init: str = "tight-frame",
        learnable: bool = True,
        seed: int = 0,
        bank: Optional[FilterBankParams] = None,
        dtype: torch.dtype = ...,
    ) -> None: ...
    @classmethod
    def from_json(
        cls, path: Union[str, "os.PathLike[str]"], shape: Tuple[int, int], **kwargs: Any
    ) -> "Scattering2D": ...
    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[Dict[str, Any]]]: ...
    def scattering(self, input: torch.Tensor) -> Union[torch.Tensor, List[Dict[str, Any]]]: ...
    def output_shape(self) -> Tuple[int, int, int]: ...
    def bank(self) -> FilterBankParams: ...
    def spectra(self) -> WaveletSpectra: ...
    def paths(self) -> npt.NDArray[np.int64]: ...
    def extra_repr(self) -> str: ...
