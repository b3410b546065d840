"""The numpy frontend against kymatio 0.3.0's committed outputs (tests/fixtures, so that these run
where kymatio cannot be imported: SciPy >= 1.17), and its kymatio behaviours that need no kymatio:
pre_pad, empty batches, the list output, explicit and learned banks, layouts and threads."""
import json
import pickle
import threading

import numpy as np
import pytest

import learnable_scattering
from learnable_scattering import FilterBankParams, WaveletSpectra
from learnable_scattering.numpy import Scattering2D

TOL = 1e-5  # of max|S|, the crate's kymatio criterion


def rel_err(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def test_the_installed_package_is_tested():
    """Run from python/, pytest would import the source folder (no compiled extension)."""
    assert "site-packages" in learnable_scattering.__file__ or "dist-packages" in \
        learnable_scattering.__file__, learnable_scattering.__file__


def test_every_golden_case_equals_kymatio(golden):
    for case in golden.cases():
        name = case["name"]
        x, ref = golden[f"{name}_x"], golden[f"{name}_S"]
        S = Scattering2D(case["J"], (case["height"], case["width"]), L=case["L"],
                         max_order=case["max_order"])
        ours = S(x)
        assert ours.dtype == x.dtype and ours.shape == ref.shape, name
        assert rel_err(ours, ref) < TOL, name
        # kymatio's channel order, from its out_type='list' (j, theta) keys.
        table = golden[f"{name}_paths"]
        np.testing.assert_array_equal(S.paths(), table)


def test_pre_pad_takes_kymatios_padded_input(golden):
    """kymatio's own padding of the first image of each case (x_padded, from kymatio's pad()),
    through pre_pad=True: kymatio's output for that image, and our unpadded output exactly."""
    cases = [c for c in golden.cases() if f"{c['name']}_x_padded" in golden.arrays]
    assert len(cases) >= 5
    for case in cases:
        name = case["name"]
        xp = golden[f"{name}_x_padded"]
        shape = (case["height"], case["width"])
        S = Scattering2D(case["J"], shape, L=case["L"], max_order=case["max_order"])
        P = Scattering2D(case["J"], shape, L=case["L"], max_order=case["max_order"],
                         pre_pad=True)
        assert xp.shape == (P._M_padded, P._N_padded), name
        x = golden[f"{name}_x"].reshape((-1,) + shape)[0]
        ref = golden[f"{name}_S"].reshape((-1,) + S.output_shape())[0]
        out = P(xp.astype(x.dtype))
        assert out.shape == ref.shape, name
        assert rel_err(out, ref) < TOL, name
        np.testing.assert_array_equal(out, S(x))


def test_pre_pad_uses_the_padded_values_as_given():
    """A padded input that is not a reflection (noise in the border) changes the output: the
    plan reads the border, it does not pad again."""
    P = Scattering2D(2, (16, 16), L=4, pre_pad=True)
    x = np.random.default_rng(0).standard_normal((2, P._M_padded, P._N_padded))
    y = x.copy()
    y[:, 0, :] += 1.0
    assert P(x).shape == (2, 25, 4, 4)
    assert np.abs(P(x) - P(y)).max() > 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batches_give_empty_outputs(dtype):
    """kymatio returns an empty output for an empty batch (any leading dimension 0)."""
    S = Scattering2D(2, (32, 32), L=8)
    for lead in [(0,), (2, 0), (0, 3)]:
        out = S(np.zeros(lead + (32, 32), dtype))
        assert out.shape == lead + (81, 8, 8) and out.dtype == dtype
    L = Scattering2D(2, (32, 32), L=2, out_type="list")(np.zeros((0, 32, 32), dtype))
    assert len(L) == 1 + 2 * 2 + 4 and L[0]["coef"].shape == (0, 8, 8)
    P = Scattering2D(2, (32, 32), L=8, pre_pad=True)
    assert P(np.zeros((0, P._M_padded, P._N_padded), dtype)).shape == (0, 81, 8, 8)


def test_list_output_is_kymatios_layout(golden):
    """out_type='list': one dict per channel in the array's order, 'coef' the channel's view,
    'j', 'n' = j*L + l and 'theta' as kymatio's (its order is the golden path table)."""
    case = next(c for c in golden.cases() if c["name"] == "s24_j3_l6")
    x = golden["s24_j3_l6_x"]
    A = Scattering2D(3, (24, 24), L=6)(x)
    out = Scattering2D(3, (24, 24), L=6, out_type="list")(x)
    assert len(out) == A.shape[-3]
    for k, (d, row) in enumerate(zip(out, golden["s24_j3_l6_paths"].tolist())):
        order, j1, l1, j2, l2 = row
        js = tuple(j for j in (j1, j2) if j >= 0)
        ls = tuple(l for l in (l1, l2) if l >= 0)
        assert (d["j"], d["theta"]) == (js, ls)
        assert d["n"] == tuple(j * case["L"] + l for j, l in zip(js, ls))
        np.testing.assert_array_equal(d["coef"], A[..., k, :, :])
    assert out[0]["j"] == () and out[1]["j"] == (0,) and out[-1]["j"] == (1, 2)


def test_integer_arguments_follow_operator_index():
    """kymatio's test data passes J as a 0-d int64 array and pre_pad as a 0-d bool array."""
    S = Scattering2D(np.array(2), (np.int64(16), 16), L=np.int32(4), max_order=np.array(1),
                     pre_pad=np.array(False))
    assert (S.J, S.L, S.max_order, S.shape, S.pre_pad) == (2, 4, 1, (16, 16), False)
    assert isinstance(S.J, int) and S(np.zeros((16, 16))).shape == (9, 4, 4)


def test_explicit_json_and_spectra_banks(tmp_path):
    """A random bank: from explicit values, through the crate's JSON and a trajectory file, and
    as its spectra (a WaveletSpectra), the same transform; and a different one from the tight
    frame's."""
    bank = FilterBankParams.random(2, 4, 3)
    params = bank.params()
    x = np.random.default_rng(1).standard_normal((2, 32, 32))
    a = Scattering2D.from_params(2, (32, 32), params, L=4)(x)
    b = Scattering2D.from_params(2, (32, 32), params.reshape(2, 4, 4))(x)
    path = tmp_path / "bank.json"
    bank.to_json(str(path))
    c = Scattering2D.from_json(path, (32, 32))(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    # A checkpoint's filters.json (FilterTrajectory): the last point is used.
    tight = json.loads(path.read_text())
    first = dict(tight, wavelets=[dict(w, sigma=1.0) for w in tight["wavelets"]])
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "filters.json").write_text(json.dumps(
        {"points": [{"epoch": 0, "bank": first}, {"epoch": 1, "bank": tight}]}))
    d = Scattering2D.from_json(tmp_path / "ckpt", (32, 32))(x)
    np.testing.assert_array_equal(a, d)
    assert rel_err(Scattering2D(2, (32, 32), L=4)(x), a) > 1e-2
    np.testing.assert_array_equal(FilterBankParams.from_json(str(path)).params(), params)
    S = Scattering2D(2, (32, 32), L=4)
    spectra = WaveletSpectra(2, 4, bank.spectra(S._M_padded, S._N_padded))
    np.testing.assert_array_equal(Scattering2D(2, (32, 32), L=4, bank=spectra)(x), a)


def test_one_bank_serves_plans_of_several_sizes_and_orders():
    """A bank's prepared spectra are kept per plan geometry: one FilterBankParams used by plans
    of two sizes and two orders, alternately, gives each plan's own result."""
    bank = FilterBankParams.random(2, 4, 5)
    rng = np.random.default_rng(4)
    plans = [Scattering2D(2, (16, 16), L=4, bank=bank), Scattering2D(2, (24, 20), L=4, bank=bank),
             Scattering2D(2, (16, 16), L=4, max_order=1, bank=bank)]
    fresh = [Scattering2D(2, (16, 16), L=4, bank=FilterBankParams.random(2, 4, 5)),
             Scattering2D(2, (24, 20), L=4, bank=FilterBankParams.random(2, 4, 5)),
             Scattering2D(2, (16, 16), L=4, max_order=1, bank=FilterBankParams.random(2, 4, 5))]
    for _ in range(2):
        for S, F in zip(plans, fresh):
            x = rng.standard_normal((2,) + S.shape)
            np.testing.assert_array_equal(S(x), F(x))


def test_any_layout_is_read_and_left_untouched():
    """A non-contiguous view, a broadcast view and a Fortran-ordered array give the result of
    their contiguous copies; the input is not modified."""
    x = np.random.default_rng(2).standard_normal((4, 32, 64))
    keep = x.copy()
    S = Scattering2D(2, (32, 32), L=4)
    view = x[:, :, ::2]
    np.testing.assert_array_equal(S(view), S(np.ascontiguousarray(view)))
    one = x[0, :, :32]
    wide = np.broadcast_to(one, (3, 32, 32))
    np.testing.assert_array_equal(S(wide), np.broadcast_to(S(one), (3, 25, 8, 8)))
    np.testing.assert_array_equal(S(np.asfortranarray(x[..., :32])),
                                  S(np.ascontiguousarray(x[..., :32])))
    np.testing.assert_array_equal(x, keep)


def test_python_threads_run_concurrently_without_the_gil():
    """Two Python threads calling the transform give the results of sequential calls."""
    S = Scattering2D(2, (32, 32))
    xs = [np.random.default_rng(i).standard_normal((8, 32, 32)) for i in range(2)]
    expected = [S(x) for x in xs]
    out = [None, None]

    def run(i):
        out[i] = S(xs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(out, expected):
        np.testing.assert_array_equal(a, b)


def test_pickle_keeps_the_bank_and_options():
    S = Scattering2D(2, (16, 16), L=2, bank=FilterBankParams.random(2, 2, 4), out_type="list",
                     pre_pad=True)
    T = pickle.loads(pickle.dumps(S))
    x = np.random.default_rng(3).standard_normal((S._M_padded, S._N_padded))
    assert (T.out_type, T.pre_pad, T.bank) == ("list", True, S.bank)
    for a, b in zip(S(x), T(x)):
        np.testing.assert_array_equal(a["coef"], b["coef"])
    spectra = WaveletSpectra(2, 2, S.bank.spectra(S._M_padded, S._N_padded))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(spectra)).spectra(),
                                  spectra.spectra())
