import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._native import FilterBankParams

class Scattering2D:
    J: int
    L: int
    max_order: int
    shape: Tuple[int, int]
    out_type: str
    bank: FilterBankParams
    def __init__(
        self,
        J: int,
        shape: Tuple[int, int],
        L: int = 8,
        max_order: int = 2,
        pre_pad: bool = False,
        backend: Optional[str] = "numpy",
        out_type: str = "array",
        bank: Optional[FilterBankParams] = None,
    ) -> None: ...
    @classmethod
    def from_params(
        cls, J: int, shape: Tuple[int, int], params: npt.ArrayLike, L: Optional[int] = None, **kwargs: Any
    ) -> "Scattering2D": ...
    @classmethod
    def from_json(
        cls, path: Union[str, "os.PathLike[str]"], shape: Tuple[int, int], **kwargs: Any
    ) -> "Scattering2D": ...
    def paths(self) -> npt.NDArray[np.int64]: ...
    def scattering(self, input: npt.NDArray[Any]) -> Union[npt.NDArray[Any], List[Dict[str, Any]]]: ...
    def __call__(self, input: npt.NDArray[Any]) -> Union[npt.NDArray[Any], List[Dict[str, Any]]]: ...
