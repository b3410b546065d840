import os
from typing import Any, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt
import torch

from ._native import FilterBankParams

SUPPORTED_DEVICES: Tuple[str, ...]

class Scattering2D(torch.nn.Module):
    J: int
    L: int
    max_order: int
    shape: Tuple[int, int]
    learnable: bool
    sigma: torch.Tensor
    xi: torch.Tensor
    theta: torch.Tensor
    slant: torch.Tensor
    def __init__(
        self,
        J: int,
        shape: Tuple[int, int],
        L: int = 8,
        max_order: int = 2,
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
    def forward(self, x: torch.Tensor) -> torch.Tensor: ...
    def bank(self) -> FilterBankParams: ...
    def paths(self) -> npt.NDArray[np.int64]: ...
