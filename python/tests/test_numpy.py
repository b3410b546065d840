"""The numpy frontend against kymatio 0.3.0's numpy Scattering2D, computed live."""
import json

import numpy as np
import pytest

kymatio_numpy = pytest.importorskip("kymatio.numpy")
from learnable_scattering import FilterBankParams
from learnable_scattering.numpy import Scattering2D

TOL = 1e-5  # of max|S|, the criterion


def rel_err(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


@pytest.mark.parametrize("J, shape, L, max_order, lead", [
    (1, (16, 16), 8, 2, (2,)),
    (2, (32, 32), 8, 2, (2, 3)),
    (3, (32, 40), 8, 2, (1,)),
    (2, (24, 36), 6, 2, (2, 1, 2)),
    (2, (32, 32), 4, 1, (3,)),
    (2, (20, 28), 3, 2, ()),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_kymatio(J, shape, L, max_order, lead, dtype):
    x = np.random.default_rng(J * 100 + L).standard_normal(lead + shape).astype(dtype)
    ours = Scattering2D(J, shape, L=L, max_order=max_order)(x)
    ref = kymatio_numpy.Scattering2D(J, shape, L=L, max_order=max_order)(x.astype(np.float64))
    assert ours.dtype == dtype
    assert ours.shape == ref.shape
    assert rel_err(ours, ref) < TOL


def test_list_output_equals_kymatio():
    x = np.random.default_rng(0).standard_normal((2, 16, 24))
    ours = Scattering2D(2, (16, 24), L=4, out_type="list")(x)
    ref = kymatio_numpy.Scattering2D(2, (16, 24), L=4, out_type="list")(x)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert (a["j"], a["n"], a["theta"]) == (b["j"], b["n"], b["theta"])
        assert a["coef"].shape == b["coef"].shape
        assert rel_err(a["coef"], b["coef"]) < TOL


def test_path_table_matches_kymatio_list_order():
    S = Scattering2D(3, (32, 32), L=2)
    table = S.paths()
    ref = kymatio_numpy.Scattering2D(3, (32, 32), L=2, out_type="list")(np.zeros((32, 32)))
    assert table.shape == (len(ref), 5)
    for (order, j1, l1, j2, l2), r in zip(table.tolist(), ref):
        assert order == len(r["j"])
        assert tuple(r["j"]) == tuple(j for j in (j1, j2) if j >= 0)
        assert tuple(r["theta"]) == tuple(l for l in (l1, l2) if l >= 0)


def test_explicit_and_json_parameters(tmp_path):
    """A random bank: from explicit values, through the crate's JSON and a trajectory file, the
    same transform; and a different one from the tight frame's."""
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
    tight = json.loads((tmp_path / "bank.json").read_text())
    first = dict(tight, wavelets=[dict(w, sigma=1.0) for w in tight["wavelets"]])
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "filters.json").write_text(json.dumps(
        {"points": [{"epoch": 0, "bank": first}, {"epoch": 1, "bank": tight}]}))
    d = Scattering2D.from_json(tmp_path / "ckpt", (32, 32))(x)
    np.testing.assert_array_equal(a, d)
    assert rel_err(Scattering2D(2, (32, 32), L=4)(x), a) > 1e-2
    np.testing.assert_array_equal(FilterBankParams.from_json(str(path)).params(), params)


def test_input_is_not_copied_and_any_layout_works():
    """A non-contiguous view gives the same result as its contiguous copy; the input is left
    untouched."""
    x = np.random.default_rng(2).standard_normal((4, 32, 64))
    keep = x.copy()
    S = Scattering2D(2, (32, 32), L=4)
    view = x[:, :, ::2]
    np.testing.assert_array_equal(S(view), S(np.ascontiguousarray(view)))
    np.testing.assert_array_equal(x, keep)


def test_threads_run_concurrently_without_the_gil():
    """Two Python threads calling the transform give the results of sequential calls."""
    import threading
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


def test_pickle_keeps_the_bank():
    import pickle
    S = Scattering2D(2, (16, 16), L=2, bank=FilterBankParams.random(2, 2, 4), out_type="list")
    T = pickle.loads(pickle.dumps(S))
    x = np.random.default_rng(3).standard_normal((16, 16))
    assert T.out_type == "list"
    for a, b in zip(S(x), T(x)):
        np.testing.assert_array_equal(a["coef"], b["coef"])
