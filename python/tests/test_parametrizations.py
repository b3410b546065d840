"""The torch module's three parametrisations against the crate's burn layer: the same outputs and
the same gradients (input and trained values) on the committed fixture that a Rust test writes and
checks (tests/rust_layer_fixture.rs; the Python package has no burn), in float64."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from learnable_scattering.torch import MORLET_FAMILIES, Scattering2D  # noqa: E402


def rel(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    assert a.shape == b.shape
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("parametrization", ["canonical", "equivariant", "pixelwise"])
def test_equals_the_rust_layer(rust_layer, parametrization):
    case = next(c for c in rust_layer["cases"] if c["parametrization"] == parametrization)
    J, L, shape = rust_layer["J"], rust_layer["L"], rust_layer["input_shape"]
    m = Scattering2D(J, tuple(shape[2:]), L=L, parametrization=parametrization, init="random",
                     seed=rust_layer["init"]["random_seed"], dtype=torch.float64)
    # The same initial trained values as the layer's (FilterInit::Random with the same seed).
    for name in MORLET_FAMILIES:
        assert rel(getattr(m, name).detach(), case["trained"][name]) < 1e-15, name
    x = torch.tensor(rust_layer["input"], dtype=torch.float64).reshape(shape).requires_grad_()
    S = m(x)
    assert list(S.shape) == case["output_shape"]
    assert rel(S.detach(), case["output"]) < 1e-12
    w = torch.tensor(rust_layer["weights"], dtype=torch.float64).reshape(S.shape)
    loss = (S * w).sum()
    assert abs(float(loss.detach()) - case["loss"]) < 1e-12 * abs(case["loss"])
    loss.backward()
    assert rel(x.grad, case["input_grad"]) < 1e-10
    if parametrization == "pixelwise":
        assert list(m.pixels.shape) == case["pixels_shape"]
        assert rel(m.pixels.grad, case["pixels_grad"]) < 1e-10
        assert all(case["trained_grad"][n] is None for n in MORLET_FAMILIES)
    else:
        for name in MORLET_FAMILIES:
            assert rel(getattr(m, name).grad, case["trained_grad"][name]) < 1e-10, name


def test_the_equivariant_bank_turns_one_wavelet_per_scale():
    m = Scattering2D(2, (16, 16), L=4, parametrization="equivariant", init="random", seed=7,
                     dtype=torch.float64)
    w = m.bank().params().reshape(2, 4, 4)  # (j, l, (sigma, xi, theta, slant))
    for j in range(2):
        np.testing.assert_allclose(w[j, :, [0, 1, 3]], w[j, :1, [0, 1, 3]].repeat(4, axis=1))
        np.testing.assert_allclose(w[j, :, 2], w[j, 0, 2] - np.arange(4) * np.pi / 4,
                                   rtol=1e-12)
    np.testing.assert_allclose(np.exp(m.log_sigma.detach().numpy()), w[:, 0, 0])
