"""Shared fixtures: the repository root, the committed fixtures (kymatio 0.3.0's outputs, the Rust
layer's), and the paper's reference model of benches/compare_torch.py.

The tests run against the installed package: run pytest from any directory but ``python/`` (from
there, ``learnable_scattering`` would be the source folder, which has no compiled extension)."""
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


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


class Golden:
    """kymatio 0.3.0's outputs, committed: tests/fixtures/kymatio_scattering2d.npz, written by
    tests/fixtures/gen_fixtures.py (which documents the layout), for the venvs in which kymatio
    cannot be imported (SciPy >= 1.17)."""

    def __init__(self):
        with np.load(FIXTURES / "kymatio_scattering2d.npz") as z:
            self.arrays = {k: z[k] for k in z.files}
        self.meta = json.loads(bytes(self.arrays["meta_json"]).decode())

    def cases(self):
        return self.meta["cases"]

    def __getitem__(self, key):
        return self.arrays[key]


@pytest.fixture(scope="session")
def golden():
    return Golden()


@pytest.fixture(scope="session")
def rust_layer():
    """The burn layer's outputs and gradients for each parametrisation, written and checked by
    tests/rust_layer_fixture.rs."""
    return json.loads((FIXTURES / "rust_layer_parametrizations.json").read_text())
