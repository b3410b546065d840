//! Golden tests against kymatio 0.3.0 `Scattering2D` (numpy frontend).
//!
//! Fixtures: `tests/fixtures/kymatio_scattering2d.npz`, written by `tests/fixtures/gen_fixtures.py`
//! (pinned kymatio 0.3.0, scipy < 1.17). Tolerance: `|ours − kymatio| ≤ atol + rtol·|kymatio|`
//! with `rtol = 1e-5`, `atol = 1e-6·max|S|`. kymatio keeps its filters in float32, which leaves
//! deviations near 1e-7 of `max|S|` (each test prints the largest), so the bound is tight
//! without being brittle.
//!
//! The burn layer on frozen tight-frame filters is held to the same fixtures (`mod layer`, with
//! `rtol` relaxed to 1e-4 for its f32 filter construction).

use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::filters::{FilterBankParams, periodize, spectral};
use learnable_scattering::testing::spatial;
use learnable_scattering::{PaddedGeometry, ScatteringOptions};
use ndarray::{Array2, Array3, ArrayD, Axis};

const RTOL: f64 = 1e-5;
const ATOL_REL: f64 = 1e-6;
mod support;
use support::kymatio::{Case, Fixtures};

/// Largest `|a − b| / (atol + rtol·|b|)`; the check passes when it is at most 1. Also returns the
/// largest deviation relative to `max|b|`.
fn deviation(a: &ArrayD<f64>, b: &ArrayD<f64>) -> (f64, f64) {
    assert_eq!(a.shape(), b.shape());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let atol = ATOL_REL * scale;
    let mut ratio = 0.0f64;
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        ratio = ratio.max(d / (atol + RTOL * y.abs()));
        worst = worst.max(d / scale);
    }
    (ratio, worst)
}

#[test]
fn scattering_output_matches_kymatio() {
    let mut fx = Fixtures::open();
    let cases = std::mem::take(&mut fx.meta.cases);
    let mut worst_all = 0.0f64;
    for case in &cases {
        let options = ScatteringOptions::with_max_order(case.J, case.L, case.max_order).unwrap();
        let expected = fx.f64_array(&format!("{}_S", case.name), &case.dtype);
        let got: ArrayD<f64> = if case.dtype == "float64" {
            let x: ArrayD<f64> = fx.npz.by_name(&format!("{}_x", case.name)).unwrap();
            let plan = Scattering2dPlan::<f64>::new(case.height, case.width, options).unwrap();
            plan.transform_dyn(x.view()).unwrap()
        } else {
            let x: ArrayD<f32> = fx.npz.by_name(&format!("{}_x", case.name)).unwrap();
            let plan = Scattering2dPlan::<f32>::new(case.height, case.width, options).unwrap();
            plan.transform_dyn(x.view()).unwrap().mapv(f64::from)
        };
        let (ratio, worst) = deviation(&got, &expected);
        println!(
            "{:<22} J={} L={} order={} {:>7}: max |d|/max|S| = {worst:.2e}, tolerance use {ratio:.3}",
            case.name, case.J, case.L, case.max_order, case.dtype
        );
        assert!(ratio <= 1.0, "{}: deviation {ratio} x tolerance", case.name);
        worst_all = worst_all.max(worst);
    }
    println!(
        "largest deviation over {} cases: {worst_all:.2e} of max|S|",
        cases.len()
    );
}

#[test]
fn path_table_matches_kymatio_list_output() {
    let mut fx = Fixtures::open();
    let cases = std::mem::take(&mut fx.meta.cases);
    for case in &cases {
        let options = ScatteringOptions::with_max_order(case.J, case.L, case.max_order).unwrap();
        let plan = Scattering2dPlan::<f32>::new(case.height, case.width, options).unwrap();
        let expected: Array2<i32> = fx.npz.by_name(&format!("{}_paths", case.name)).unwrap();
        assert_eq!(expected.nrows(), plan.num_paths(), "{}", case.name);
        for (k, (row, path)) in expected.outer_iter().zip(plan.paths()).enumerate() {
            let ours: Vec<i64> = path.as_row().to_vec();
            let theirs: Vec<i64> = row.iter().map(|&v| v as i64).collect();
            assert_eq!(ours, theirs, "{} channel {k}", case.name);
        }
    }
}

#[test]
fn filters_match_kymatio_at_every_level() {
    let mut fx = Fixtures::open();
    let cases: Vec<Case> = std::mem::take(&mut fx.meta.cases)
        .into_iter()
        .filter(|c| c.filters)
        .collect();
    assert!(cases.len() >= 4);
    let mut worst = 0.0f64;
    for case in &cases {
        let geometry = PaddedGeometry::new(case.height, case.width, case.J).unwrap();
        let [mp, np] = geometry.padded_size();
        let bank = FilterBankParams::tight_frame(case.J, case.L).unwrap();
        let spectra = spectral::bank_spectra(&bank, mp, np);
        for r in 0..case.psi_levels {
            let key = format!("{}_psi_level{r}", case.name);
            let expected: Array3<f32> = fx.npz.by_name(&key).unwrap();
            let index: ndarray::Array1<i32> = fx.npz.by_name(&format!("{key}_index")).unwrap();
            for (row, &n) in expected.axis_iter(Axis(0)).zip(&index) {
                let ours = periodize(spectra.psi[n as usize].view(), r);
                let (ratio, w) = deviation(&ours.into_dyn(), &row.mapv(f64::from).into_dyn());
                assert!(ratio <= 1.0, "{key} psi {n}: {ratio}");
                worst = worst.max(w);
            }
        }
        for r in 0..case.phi_levels {
            let key = format!("{}_phi_level{r}", case.name);
            let expected: Array2<f32> = fx.npz.by_name(&key).unwrap();
            let ours = periodize(spectra.phi.view(), r);
            let (ratio, w) = deviation(&ours.into_dyn(), &expected.mapv(f64::from).into_dyn());
            assert!(ratio <= 1.0, "{key}: {ratio}");
            worst = worst.max(w);
        }
        // kymatio's literal spatial construction, level 0.
        let expected: Array3<f32> = fx
            .npz
            .by_name(&format!("{}_psi_level0", case.name))
            .unwrap();
        for (n, row) in expected.axis_iter(Axis(0)).enumerate() {
            let ours = spatial::morlet_spectrum_by_fft(mp, np, &bank.wavelets()[n]);
            let (ratio, _) = deviation(&ours.into_dyn(), &row.mapv(f64::from).into_dyn());
            assert!(ratio <= 1.0, "{} spatial psi {n}: {ratio}", case.name);
        }
    }
    println!("filters: largest deviation {worst:.2e} of max|filter|");
}

#[test]
fn reflect_padding_matches_kymatio() {
    let mut fx = Fixtures::open();
    let cases: Vec<Case> = std::mem::take(&mut fx.meta.cases)
        .into_iter()
        .filter(|c| c.filters)
        .collect();
    for case in &cases {
        let x = fx.f64_array(&format!("{}_x", case.name), &case.dtype);
        let first = x
            .to_shape((
                x.len() / (case.height * case.width),
                case.height,
                case.width,
            ))
            .unwrap()
            .index_axis(Axis(0), 0)
            .to_owned();
        let expected: Array2<f32> = fx.npz.by_name(&format!("{}_x_padded", case.name)).unwrap();
        let g = PaddedGeometry::new(case.height, case.width, case.J).unwrap();
        assert_eq!(
            expected.dim(),
            (g.padded_height, g.padded_width),
            "{}",
            case.name
        );
        for ((i, j), &v) in expected.indexed_iter() {
            assert_eq!(
                first[[g.source_row(i), g.source_col(j)]],
                f64::from(v),
                "{} ({i},{j})",
                case.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The burn layer

#[cfg(any(feature = "flex", feature = "ndarray"))]
mod layer {
    use super::*;
    use learnable_scattering::nn::{Scattering2dConfig, Trainable};
    use support::numeric::{devices, max_rel, tensor4, to_vec, tolerance_use};

    /// Frozen tight-frame layer against kymatio 0.3.0 on every float32 fixture; tolerance as the
    /// fixed transform's golden test (`rtol = 1e-5`, `atol = 1e-6·max|S|`) with `rtol` relaxed to 1e-4 for
    /// the layer's f32 filter construction.
    #[test]
    fn layer_matches_kymatio_fixtures() {
        let mut fx = Fixtures::open();
        let cases = std::mem::take(&mut fx.meta.cases);
        let mut checked = 0;
        for (name, device) in devices() {
            for case in cases.iter().filter(|c| c.dtype == "float32") {
                let x: ArrayD<f32> = fx.npz.by_name(&format!("{}_x", case.name)).unwrap();
                let want = fx.f64_array(&format!("{}_S", case.name), &case.dtype);
                let lead: usize = x.shape()[..x.ndim() - 2].iter().product();
                let x4 = x
                    .into_shape_with_order([lead, 1, case.height, case.width])
                    .unwrap();
                let layer = Scattering2dConfig::new(case.J, [case.height, case.width])
                    .with_num_orientations(case.L)
                    .with_max_order(case.max_order)
                    .with_trainable(Trainable::none())
                    .init(&device);
                let got = to_vec(layer.forward(tensor4(&x4, &device)));
                let want: Vec<f64> = want.iter().copied().collect();
                let use_ = tolerance_use(&got, &want, 1e-4, 1e-6);
                println!(
                    "{name} {}: max |d|/max|S| = {:.2e}, tolerance use {use_:.3}",
                    case.name,
                    max_rel(&got, &want)
                );
                assert!(use_ <= 1.0, "{name} {}: {use_}", case.name);
                checked += 1;
            }
        }
        assert!(
            checked >= devices().len() * 5,
            "only {checked} cases checked"
        );
    }
}
