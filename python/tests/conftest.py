"""Shared fixtures: the repository root and the paper's reference model of benches/compare_torch.py."""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_reference():
    """benches/compare_torch.py as a module: the reference PyTorch construction of "Parametric
    Scattering Networks" (Morlet filters from torch parameters on the padded grid, kymatio 0.3.0's
    torch scattering core), an oracle independent of the crate's closed form."""
    path = ROOT / "benches" / "compare_torch.py"
    spec = importlib.util.spec_from_file_location("compare_torch", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("compare_torch", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference():
    pytest.importorskip("torch")
    return load_reference()
