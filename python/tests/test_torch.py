"""The torch module: kymatio parity when frozen, gradcheck, the device error, and 20 SGD steps side
by side with the paper's reference PyTorch model (benches/compare_torch.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
kymatio_numpy = pytest.importorskip("kymatio.numpy")
from learnable_scattering import FilterBankParams
from learnable_scattering.torch import Scattering2D, _Scattering


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_frozen_forward_equals_kymatio(dtype):
    x = torch.randn(2, 3, 32, 24, dtype=dtype, generator=torch.Generator().manual_seed(0))
    m = Scattering2D(2, (32, 24), L=6, learnable=False)
    assert [n for n, _ in m.named_parameters()] == []
    assert sorted(n for n, _ in m.named_buffers()) == ["sigma", "slant", "theta", "xi"]
    s = m(x)
    ref = kymatio_numpy.Scattering2D(2, (32, 24), L=6)(x.double().numpy())
    assert s.dtype == dtype and s.shape == ref.shape
    assert float(np.abs(s.double().numpy() - ref).max() / np.abs(ref).max()) < 1e-5


def test_parameters_and_inits():
    m = Scattering2D(2, (16, 16), L=4)
    assert [n for n, _ in m.named_parameters()] == ["sigma", "xi", "theta", "slant"]
    assert all(isinstance(p, torch.nn.Parameter) and p.shape == (8,) for p in m.parameters())
    np.testing.assert_allclose(torch.stack([m.sigma, m.xi, m.theta, m.slant], 1).detach(),
                               FilterBankParams.tight_frame(2, 4).params(), rtol=1e-7)
    r = Scattering2D(2, (16, 16), L=4, init="random", seed=5, dtype=torch.float64)
    np.testing.assert_array_equal(torch.stack([r.sigma, r.xi, r.theta, r.slant], 1).detach(),
                                  FilterBankParams.random(2, 4, 5).params())
    with pytest.raises(ValueError, match="init"):
        Scattering2D(2, (16, 16), init="kaiming")


def test_gradcheck_float64():
    """Input and all four parameter families, off the tight frame's symmetric point."""
    m = Scattering2D(2, (16, 16), L=2, init="random", seed=1, dtype=torch.float64)
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64, requires_grad=True,
                   generator=torch.Generator().manual_seed(3))

    def f(x, sigma, xi, theta, slant):
        return _Scattering.apply(x, sigma, xi, theta, slant, m._plan, m._cache, True)

    assert torch.autograd.gradcheck(f, (x, m.sigma, m.xi, m.theta, m.slant), eps=1e-6,
                                    atol=1e-7, rtol=1e-4)


def test_module_backward_fills_every_gradient():
    m = Scattering2D(2, (16, 16), L=2, dtype=torch.float64)
    x = torch.rand(2, 16, 16, dtype=torch.float64, requires_grad=True)
    m(x).square().sum().backward()
    for t in (x, m.sigma, m.xi, m.theta, m.slant):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_non_cpu_tensors_are_refused_with_the_supported_devices():
    """The 'meta' device stands in for CUDA (none here): the same check refuses any non-CPU
    device. With CUDA available, a CUDA tensor is tried too."""
    m = Scattering2D(2, (16, 16), L=2)
    with pytest.raises(RuntimeError, match="device 'meta'.*supported devices: cpu"):
        m(torch.empty(1, 16, 16, device="meta"))
    if torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="device 'cuda:0'.*supported devices: cpu"):
            m(torch.zeros(1, 16, 16, device="cuda"))
    with pytest.raises(TypeError, match="float32 or float64"):
        m(torch.zeros(1, 16, 16, dtype=torch.int32))


def test_bad_input_is_a_value_error_with_the_crate_message():
    m = Scattering2D(2, (16, 16), L=2)
    with pytest.raises(ValueError, match="expected \\[_, 16, 16\\], got \\[1, 16, 15\\]"):
        m(torch.zeros(1, 16, 15))
    x = torch.zeros(2, 16, 16, requires_grad=True)
    with pytest.raises(ValueError, match="non-finite input value inf at index \\[1, 0, 3\\]"):
        m(x.detach().index_put((torch.tensor([1]), torch.tensor([0]), torch.tensor([3])),
                               torch.tensor(float("inf"))))


class ReferenceModel:
    """The paper's approach as benches/compare_torch.py builds it: Morlet spectra from torch
    parameters on kymatio's padded grid, kymatio 0.3.0's torch scattering core."""

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
        self.params = [torch.nn.Parameter(p.detach().to(dtype)) for p in (sigma, xi, theta, slant)]

    def __call__(self, x, params=None):
        sigma, xi, theta, slant = self.params if params is None else params
        spectra = self.ref.morlets(self.grid, theta, xi, sigma, slant)
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
    module's equals them (and both agree with each other in σ, ξ, slant)."""
    dtype = torch.float64
    ref = ReferenceModel(reference, 2, 4, 16, dtype)
    x = torch.rand(2, 16, 16, dtype=dtype, generator=torch.Generator().manual_seed(0))
    s = ref(x)
    w = torch.randn(s.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    (s * w).sum().backward()
    ours = Scattering2D(2, (16, 16), L=4, dtype=dtype)
    (ours(x) * w).sum().backward()
    for a, b in zip([ours.sigma, ours.xi, ours.slant], [ref.params[i] for i in (0, 1, 3)]):
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
    and parameters to 1e-4 relative, in float32."""
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
        for a, b, name in zip(ours.parameters(), ref.params, ["sigma", "xi", "theta", "slant"]):
            assert rel(a.detach(), b.detach()) < 1e-4, (step, name)
        assert rel(head.weight.detach(), ref_head.weight.detach()) < 1e-4, step
    # The filters did move: the comparison is not between two untouched initialisations.
    moved = (ours.theta.detach() - torch.from_numpy(FilterBankParams.tight_frame(J, L).params()[:, 2])).abs()
    assert float(moved.max()) > 1e-4


def test_pickle_and_deepcopy_keep_the_parameters_and_the_output():
    import copy
    import pickle
    m = Scattering2D(2, (16, 16), L=2, init="random", seed=2)
    x = torch.rand(2, 16, 16)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert torch.equal(clone.theta, m.theta)
        assert torch.equal(clone(x), m(x))
