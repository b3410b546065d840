"""The torch module: kymatio 0.3.0's torch frontend where a caller can see it (errors, batch
shapes, sizes, pre_pad, devices, empty batches, the list output), kymatio parity when frozen,
gradcheck, and 20 SGD steps side by side with the paper's reference PyTorch model
(benches/compare_torch.py)."""
import copy
import pickle
from collections import namedtuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")
kymatio_numpy = pytest.importorskip("kymatio.numpy")
import learnable_scattering  # noqa: E402
from learnable_scattering import FilterBankParams  # noqa: E402
from learnable_scattering.torch import Scattering2D  # noqa: E402

FAMILIES = ["log_sigma", "xi", "theta", "log_slant"]


def trained(m):
    return torch.stack([getattr(m, n) for n in FAMILIES]).detach()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_frozen_forward_equals_kymatio(dtype):
    x = torch.randn(2, 3, 32, 24, dtype=dtype, generator=torch.Generator().manual_seed(0))
    m = Scattering2D(2, (32, 24), L=6, learnable=False)
    assert [n for n, _ in m.named_parameters()] == []
    assert sorted(n for n, _ in m.named_buffers()) == sorted(FAMILIES)
    s = m(x)
    ref = kymatio_numpy.Scattering2D(2, (32, 24), L=6)(x.double().numpy())
    assert s.dtype == dtype and s.shape == ref.shape
    assert float(np.abs(s.double().numpy() - ref).max() / np.abs(ref).max()) < 1e-5


def test_trained_values_are_the_rust_layers_ln_sigma_xi_theta_ln_slant():
    m = Scattering2D(2, (16, 16), L=4)
    assert [n for n, _ in m.named_parameters()] == FAMILIES
    assert all(isinstance(p, torch.nn.Parameter) and p.shape == (8,) for p in m.parameters())
    tf = FilterBankParams.tight_frame(2, 4).params()  # (sigma, xi, theta, slant) per wavelet
    np.testing.assert_allclose(trained(m).double(), np.stack(
        [np.log(tf[:, 0]), tf[:, 1], tf[:, 2], np.log(tf[:, 3])]), rtol=1e-7)
    r = Scattering2D(2, (16, 16), L=4, init="random", seed=5, dtype=torch.float64)
    np.testing.assert_allclose(r.bank().params(), FilterBankParams.random(2, 4, 5).params(),
                               rtol=1e-12)
    e = Scattering2D(2, (16, 16), L=4, parametrization="equivariant", init="random", seed=5)
    assert all(p.shape == (2,) for p in e.parameters())
    p = Scattering2D(2, (16, 16), L=4, parametrization="pixelwise")
    assert [n for n, _ in p.named_parameters()] == ["pixels"]
    assert p.pixels.shape == (8, p._M_padded, p._N_padded)
    assert sorted(n for n, _ in p.named_buffers()) == sorted(FAMILIES)
    with pytest.raises(ValueError, match="init must be 'tight-frame' or 'random', got 'kaiming'"):
        Scattering2D(2, (16, 16), init="kaiming")
    with pytest.raises(RuntimeError, match="parametrization must be one of 'canonical', "
                                           "'equivariant', 'pixelwise', got 'full'"):
        Scattering2D(2, (16, 16), parametrization="full")


@pytest.mark.parametrize("parametrization", ["canonical", "equivariant", "pixelwise"])
def test_gradcheck_each_parametrization(parametrization):
    """The input and every trained tensor, in float64, off the tight frame's symmetric point."""
    m = Scattering2D(2, (12, 12), L=2, parametrization=parametrization, init="random", seed=1,
                     dtype=torch.float64)
    x = torch.rand(1, 1, 12, 12, dtype=torch.float64, requires_grad=True,
                   generator=torch.Generator().manual_seed(3))
    params = list(m.parameters())

    def f(x, *values):
        # The module's trained tensors are the gradcheck's inputs, perturbed in place.
        return learnable_scattering.torch._Scattering.apply(m, True, x, *values)

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-4)


def test_kymatios_gradcheck_on_the_double_module():
    """kymatio's own test: the module made double, gradcheck of the input gradient."""
    scattering = Scattering2D(2, shape=(8, 8)).double()
    x = torch.rand(2, 1, 8, 8).double().requires_grad_()
    assert torch.autograd.gradcheck(scattering, x, nondet_tol=1e-5)


def test_backward_fills_every_gradient():
    for parametrization in ["canonical", "equivariant", "pixelwise"]:
        m = Scattering2D(2, (16, 16), L=2, parametrization=parametrization, dtype=torch.float64)
        x = torch.rand(2, 16, 16, dtype=torch.float64, requires_grad=True)
        m(x).square().sum().backward()
        for t in [x, *m.parameters()]:
            assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


@pytest.mark.parametrize("batch", [(), (1,), (2,), (2, 2), (2, 2, 2)])
def test_batch_shapes(batch):
    S = Scattering2D(3, (32, 32), L=8)
    assert S(torch.zeros(batch + (32, 32))).shape == batch + (217, 4, 4)


def test_sizes_and_pre_pad_as_kymatio():
    for N in [31, 32, 33]:
        for J in [1, 2, 4]:
            assert Scattering2D(J, (N, N))(torch.zeros(3, 3, N, N)).shape[-2:] == \
                (N >> J, N >> J)
            P = Scattering2D(J, (N, N), pre_pad=True)
            assert P(torch.zeros(3, 3, P._M_padded, P._N_padded)).shape[-2:] == \
                (N >> J, N >> J)
    assert Scattering2D(5, (32, 32))(torch.zeros(3, 3, 32, 32)).shape[-2:] == (1, 1)
    assert Scattering2D(5, (37, 32))(torch.zeros(3, 3, 37, 32)).shape[-2:] == (1, 1)
    # pre_pad on a reflect-padded input is the unpadded transform, gradients too.
    S, P = Scattering2D(2, (16, 20), L=4), Scattering2D(2, (16, 20), L=4, pre_pad=True)
    x = torch.rand(2, 16, 20, dtype=torch.float64)
    xp = torch.nn.functional.pad(x[:, None], [4, 4, 4, 4], mode="reflect")[:, 0]
    assert xp.shape[-2:] == (P._M_padded, P._N_padded)
    assert torch.equal(S(x), P(xp))


def test_errors_as_kymatio():
    S = Scattering2D(3, (32, 32))
    with pytest.raises(TypeError, match="input should be"):
        S(None)
    with pytest.raises(TypeError, match="input should be a PyTorch tensor, got type"):
        S(np.zeros((32, 32)))
    for x in [torch.zeros(()), torch.zeros(32)]:
        with pytest.raises(RuntimeError, match="at least two"):
            S(x)
    with pytest.raises(RuntimeError, match=r"Tensor must be of spatial size \(32,32\)"):
        S(torch.randn(31, 31))
    with pytest.raises(RuntimeError, match="Padded tensor must be of spatial size"):
        Scattering2D(3, (32, 32), pre_pad=True)(torch.randn(31, 31))
    with pytest.raises(TypeError, match="float32 or float64 tensor, got torch.int32"):
        S(torch.zeros(1, 32, 32, dtype=torch.int32))
    fake = namedtuple("backend", ["name"])("fake")
    with pytest.raises(ImportError, match="not supported"):
        Scattering2D(2, shape=(10, 10), backend=fake)
    with pytest.raises(ImportError, match="can not be called from the frontend torch"):
        Scattering2D(2, shape=(10, 10), backend="numpy")
    with pytest.raises(RuntimeError, match="smallest dimension"):
        Scattering2D(10, shape=(10, 10))
    with pytest.raises(TypeError, match="J must be an integer"):
        Scattering2D(2.5, shape=(10, 10))
    with pytest.raises(ValueError, match=r"non-finite input value inf at index \[1, 0, 3\]"):
        x = torch.zeros(2, 32, 32)
        x[1, 0, 3] = float("inf")
        S(x)
    # Unlike kymatio's, a non-contiguous tensor is accepted (and read as its copy would be).
    x = torch.randn(2, 64, 64)
    assert torch.equal(S(x[:, ::2, ::2]), S(x[:, ::2, ::2].contiguous()))
    with pytest.raises(RuntimeError, match="'meta' device"):
        S(torch.empty(1, 32, 32, device="meta"))


def test_entry_point_builds_the_torch_module():
    m = learnable_scattering.Scattering2D(2, (8, 8), frontend="torch", learnable=False)
    assert isinstance(m, Scattering2D) and not list(m.parameters())
    x = torch.rand(2, 8, 8)
    assert torch.equal(m.scattering(x), m(x))  # kymatio's method name


def test_empty_batches_and_their_gradients():
    m = Scattering2D(2, (16, 16), L=2, dtype=torch.float64)
    x = torch.zeros(0, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    y = m(x)
    assert y.shape == (0, 3, 9, 4, 4) and y.dtype == torch.float64
    y.sum().backward()
    assert x.grad.shape == x.shape
    for p in m.parameters():
        assert p.grad is not None and torch.equal(p.grad, torch.zeros_like(p))


def test_list_output():
    m = Scattering2D(2, (16, 16), L=2, out_type="list")
    x = torch.rand(2, 16, 16, requires_grad=True)
    out = m(x)
    a = Scattering2D(2, (16, 16), L=2)(x)
    ref = kymatio_numpy.Scattering2D(2, (16, 16), L=2, out_type="list")(x.detach().double().numpy())
    assert [(d["j"], d["n"], d["theta"]) for d in out] == \
        [(d["j"], d["n"], d["theta"]) for d in ref]
    for k, d in enumerate(out):
        assert torch.equal(d["coef"], a[..., k, :, :])
    sum(d["coef"].sum() for d in out).backward()
    assert x.grad is not None


def test_output_on_the_inputs_device():
    """The engine runs on the CPU; a CUDA input (where there is one) gets its output and its
    gradients on the GPU, the module's tensors moved with .to() as kymatio's."""
    if not torch.cuda.is_available():
        m = Scattering2D(2, (8, 8))
        assert m(torch.randn(8, 8)).device == torch.device("cpu")
        return
    m = Scattering2D(2, (8, 8)).to("cuda")
    x = torch.randn(2, 8, 8, device="cuda", requires_grad=True)
    y = m(x)
    assert y.device == x.device
    y.sum().backward()
    assert x.grad.device == x.device and m.xi.grad.device == x.device
    cpu = Scattering2D(2, (8, 8))
    assert torch.allclose(y.cpu(), cpu(x.detach().cpu()))


def test_pickle_and_deepcopy_keep_the_values_and_the_output():
    for parametrization in ["canonical", "pixelwise"]:
        m = Scattering2D(2, (16, 16), L=2, init="random", seed=2, parametrization=parametrization)
        x = torch.rand(2, 16, 16)
        for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
            for a, b in zip(clone.parameters(), m.parameters()):
                assert torch.equal(a, b)
            assert torch.equal(clone(x), m(x))


def test_bank_and_spectra_run_in_the_numpy_frontend(tmp_path):
    from learnable_scattering.numpy import Scattering2D as NumpyScattering
    m = Scattering2D(2, (16, 16), L=2, init="random", seed=3, dtype=torch.float64)
    x = torch.rand(2, 16, 16, dtype=torch.float64)
    m.bank().to_json(str(tmp_path / "bank.json"))
    np.testing.assert_allclose(NumpyScattering.from_json(tmp_path / "bank.json", (16, 16))(
        x.numpy()), m(x).detach().numpy(), rtol=1e-12)
    p = Scattering2D(2, (16, 16), L=2, parametrization="pixelwise", dtype=torch.float64)
    with torch.no_grad():
        p.pixels.mul_(1.1)
    np.testing.assert_allclose(NumpyScattering(2, (16, 16), L=2, bank=p.spectra())(x.numpy()),
                               p(x).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="pixelwise filters are not Morlet wavelets"):
        p.bank()


class ReferenceModel:
    """The paper's approach as benches/compare_torch.py builds it: Morlet spectra from torch
    parameters on kymatio's padded grid, kymatio 0.3.0's torch scattering core. It trains what the
    module trains: ln sigma, xi, theta, ln slant."""

    def __init__(self, reference, J, L, size, dtype):
        from kymatio.scattering2d.backend.torch_backend import backend
        from kymatio.scattering2d.core.scattering2d import scattering2d
        from kymatio.torch import Scattering2D as KymatioTorch
        self.ref, self.backend, self.core, self.J, self.L = reference, backend, scattering2d, J, L
        self.S = KymatioTorch(J=J, shape=(size, size), L=L)
        phi, self.psi_meta = self.S.load_filters()
        self.phi = {k: [t.to(dtype) for t in v] if isinstance(v, list) else v
                    for k, v in phi.items()}
        self.grid = reference.grid(self.S._M_padded, self.S._N_padded).to(dtype)
        theta, xi, sigma, slant = reference.tight_frame(J, L)
        self.params = [torch.nn.Parameter(p.detach().to(dtype))
                       for p in (sigma.log(), xi, theta, slant.log())]

    def __call__(self, x, params=None):
        log_sigma, xi, theta, log_slant = self.params if params is None else params
        spectra = self.ref.morlets(self.grid, theta, xi, log_sigma.exp(), log_slant.exp())
        psi = [{"j": meta["j"], "theta": meta["theta"],
                "levels": [self.ref.periodize(spectra[n], r).unsqueeze(-1)
                           for r in range(len(meta["levels"]))]}
               for n, meta in enumerate(self.psi_meta)]
        return self.core(x, self.S.pad, self.S.unpad, self.backend, self.J, self.L, self.phi, psi,
                         2, "array")


def explicit_basis_svd(a, full_matrices=True):
    """``torch.linalg.svd`` of the reference's ``(n, 1, 2)`` orientation rows ``(cos θ, sin θ)``:
    ``vh = [[cos θ, sin θ], [−sin θ, cos θ]]``, the same basis (up to signs, which the reference
    squares away) with the perpendicular written out, so that autograd sees all of ``∂/∂θ``
    (docs/design.md: the reference code's SVD drops part of it)."""
    c, s = a[:, 0, 0], a[:, 0, 1]
    vh = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], 1)
    return None, None, vh


def test_the_reference_svd_drops_part_of_the_theta_gradient(reference):
    """Why the side-by-side below writes the reference's perpendicular out: in float64, the
    reference's autograd gradient in θ differs from central differences of its own forward, the
    module's equals them (and both agree with each other in ln σ, ξ, ln slant)."""
    dtype = torch.float64
    ref = ReferenceModel(reference, 2, 4, 16, dtype)
    x = torch.rand(2, 16, 16, dtype=dtype, generator=torch.Generator().manual_seed(0))
    s = ref(x)
    w = torch.randn(s.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    (s * w).sum().backward()
    ours = Scattering2D(2, (16, 16), L=4, dtype=dtype)
    (ours(x) * w).sum().backward()
    for a, b in zip([ours.log_sigma, ours.xi, ours.log_slant], [ref.params[i] for i in (0, 1, 3)]):
        assert float((a.grad - b.grad).abs().max() / b.grad.abs().max()) < 1e-5
    h, n = 1e-6, 1
    with torch.no_grad():
        def loss(d):
            theta = ref.params[2].clone()
            theta[n] += d
            return float((ref(x, [ref.params[0], ref.params[1], theta, ref.params[3]]) * w).sum())
        fd = (loss(h) - loss(-h)) / (2 * h)
    assert abs(float(ours.theta.grad[n]) - fd) < 1e-5 * abs(fd)
    assert abs(float(ref.params[2].grad[n]) - fd) > 1e-2 * abs(fd)


def test_twenty_sgd_steps_side_by_side_with_the_paper_reference(reference, monkeypatch):
    """The same initial filters (tight frame), data and linear head, 20 SGD steps: the module and
    the reference model (Morlet filters from torch parameters on the padded grid, kymatio 0.3.0's
    torch scattering core; its θ-gradient completed, see the test above) reach the same losses
    and values to 1e-4 relative, in float32."""
    monkeypatch.setattr(torch.linalg, "svd", explicit_basis_svd)
    J, L, size, batch, classes, steps, lr = 2, 4, 16, 8, 3, 20, 0.05
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, size, size, generator=g)
    y = torch.randint(0, classes, (batch,), generator=g)
    K = 1 + J * L + L * L * J * (J - 1) // 2
    head0 = torch.nn.Linear(K * (size >> J) ** 2, classes)

    ref = ReferenceModel(reference, J, L, size, torch.float32)
    ref_head = torch.nn.Linear(head0.in_features, classes)
    ref_head.load_state_dict(head0.state_dict())
    ref_opt = torch.optim.SGD(ref.params + list(ref_head.parameters()), lr=lr)

    ours = Scattering2D(J, (size, size), L=L)
    head = torch.nn.Linear(head0.in_features, classes)
    head.load_state_dict(head0.state_dict())
    opt = torch.optim.SGD(list(ours.parameters()) + list(head.parameters()), lr=lr)

    def rel(a, b):
        return float((a - b).abs().max() / b.abs().max())

    for step in range(steps):
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(ref_head(ref(x).flatten(1)), y)
        ref_loss.backward()
        ref_opt.step()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(ours(x).flatten(1)), y)
        loss.backward()
        opt.step()
        assert rel(loss.detach(), ref_loss.detach()) < 1e-4, step
        for a, b, name in zip(ours.parameters(), ref.params, FAMILIES):
            assert rel(a.detach(), b.detach()) < 1e-4, (step, name)
        assert rel(head.weight.detach(), ref_head.weight.detach()) < 1e-4, step
    # The filters did move: the comparison is not between two untouched initialisations.
    moved = (ours.theta.detach() - torch.from_numpy(FilterBankParams.tight_frame(J, L).params()[:, 2])).abs()
    assert float(moved.max()) > 1e-4
