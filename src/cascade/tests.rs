//! Unit tests of the cascade: the adjoint against central differences in the input and in the
//! spectra, taped and recomputed backwards, the power-of-two scaling of huge planes; the plan's
//! learnable forward and backward against the fixed transform and central differences.

use ndarray::{Array, ArrayD, Dimension, IxDyn};

use super::Scattering2dPlan;
use super::plan::{Cascade, PreparedFilters};
use crate::error::ScatterError;
use crate::filters::{FilterBankParams, MorletParams};
use crate::geometry::ScatteringOptions;

/// A deterministic plane batch.
fn planes(count: usize, h: usize, w: usize) -> Vec<f64> {
    (0..count * h * w)
        .map(|i| ((i * 37 % 101) as f64 / 101.0 - 0.3) + (i as f64 * 0.21).sin())
        .collect()
}

fn cascade(h: usize, w: usize, j: usize, l: usize) -> (Cascade<f64>, PreparedFilters<f64>) {
    let cascade = Cascade::<f64>::new(h, w, ScatteringOptions::new(j, l).unwrap()).unwrap();
    let bank = FilterBankParams::random(j, l, 3).unwrap();
    let [mp, np] = cascade.geometry().padded_size();
    let spectra = crate::filters::spectral::bank_spectra(&bank, mp, np);
    let flat: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
    let filters = cascade.prepare_filters(&flat).unwrap();
    (cascade, filters)
}

#[test]
fn backward_from_the_tape_equals_backward_by_recomputation() {
    let (c, f) = cascade(20, 12, 3, 3);
    let x = planes(3, 20, 12);
    let mut out = vec![0.0; 3 * c.output_plane()];
    let mut tape = c.new_tape(3).unwrap();
    c.forward(&f, &x, &mut out, Some(&mut tape)).unwrap();
    let grad: Vec<f64> = (0..out.len())
        .map(|i| ((i % 13) as f64 - 6.0) / 7.0)
        .collect();
    let with = c.backward(&f, &x, Some(&tape), &grad, true, true).unwrap();
    let without = c.backward(&f, &x, None, &grad, true, true).unwrap();
    assert_eq!(with.0, without.0);
    assert_eq!(with.1, without.1);
    // Asking for less computes less, not something else.
    assert_eq!(
        c.backward(&f, &x, Some(&tape), &grad, true, false)
            .unwrap()
            .0,
        with.0
    );
    assert_eq!(
        c.backward(&f, &x, None, &grad, false, true).unwrap().1,
        with.1
    );
}

/// `⟨J·v, g⟩ = ⟨v, Jᵀ·g⟩` for the linearisation `J` of the cascade at `x`, with `J·v` by
/// central differences: the backward is the adjoint of the forward.
/// The filter gradient against a directional derivative in the spectra, at `J = 3` (order 2 at
/// two resolutions) with a tape; a second backward (pooled accumulators reused) gives the
/// same values.
#[test]
fn filter_gradient_is_the_adjoint_of_the_forward_in_the_spectra() {
    let (h, w, j, l) = (16, 24, 3, 3);
    let cascade = Cascade::<f64>::new(h, w, ScatteringOptions::new(j, l).unwrap()).unwrap();
    let bank = FilterBankParams::random(j, l, 3).unwrap();
    let [mp, np] = cascade.geometry().padded_size();
    let spectra = crate::filters::spectral::bank_spectra(&bank, mp, np);
    let psi: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
    let dir: Vec<f64> = (0..psi.len())
        .map(|i| ((i * 11) % 7) as f64 - 3.0)
        .collect();
    let x = planes(3, h, w);
    let grad: Vec<f64> = (0..3 * cascade.output_plane())
        .map(|i| ((i * 5) % 9) as f64 - 4.0)
        .collect();
    let run = |t: f64| {
        let moved: Vec<f64> = psi.iter().zip(&dir).map(|(a, b)| a + t * b).collect();
        let mut out = vec![0.0; grad.len()];
        cascade
            .forward(
                &cascade.prepare_filters(&moved).unwrap(),
                &x,
                &mut out,
                None,
            )
            .unwrap();
        out
    };
    // The spectra enter quadratically and more (the moduli): the central difference's
    // truncation error is 8e-6 relative at a step of 1e-6, 8e-9 at 1e-7 (measured).
    let step = 1e-7;
    let (plus, minus) = (run(step), run(-step));
    let jv_g: f64 = plus
        .iter()
        .zip(&minus)
        .zip(&grad)
        .map(|((p, m), g)| (p - m) / (2.0 * step) * g)
        .sum();
    let filters = cascade.prepare_filters(&psi).unwrap();
    let mut tape = cascade.new_tape(3).unwrap();
    let mut out = vec![0.0; grad.len()];
    cascade
        .forward(&filters, &x, &mut out, Some(&mut tape))
        .unwrap();
    let backward = || {
        cascade
            .backward(&filters, &x, Some(&tape), &grad, false, true)
            .unwrap()
            .1
            .expect("filter gradient")
    };
    let dpsi = backward();
    let v_jtg: f64 = dir.iter().zip(&dpsi).map(|(a, b)| a * b).sum();
    assert!(
        (jv_g - v_jtg).abs() <= 1e-7 * v_jtg.abs(),
        "{jv_g} vs {v_jtg}"
    );
    assert_eq!(backward(), dpsi, "a second backward differs");
}

#[test]
fn backward_is_the_adjoint_of_the_forward() {
    let (c, f) = cascade(16, 24, 2, 3);
    let x = planes(2, 16, 24);
    let v: Vec<f64> = (0..x.len()).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
    let grad: Vec<f64> = (0..2 * c.output_plane())
        .map(|i| ((i * 3) % 7) as f64 - 3.0)
        .collect();
    let run = |t: f64| {
        let xt: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + t * b).collect();
        let mut out = vec![0.0; grad.len()];
        c.forward(&f, &xt, &mut out, None).unwrap();
        out
    };
    let h = 1e-6;
    let (plus, minus) = (run(h), run(-h));
    let jv_g: f64 = plus
        .iter()
        .zip(&minus)
        .zip(&grad)
        .map(|((p, m), g)| (p - m) / (2.0 * h) * g)
        .sum();
    let (dx, _) = c.backward(&f, &x, None, &grad, true, false).unwrap();
    let v_jtg: f64 = v.iter().zip(dx.unwrap()).map(|(a, b)| a * b).sum();
    assert!(
        (jv_g - v_jtg).abs() <= 1e-7 * v_jtg.abs(),
        "{jv_g} vs {v_jtg}"
    );
}

/// Scattering is positively homogeneous; planes beyond `SAFE_MAGNITUDE` are scaled by a
/// power of two and give exactly the scaled coefficients and gradients, where an unscaled
/// cascade would overflow in `re² + im²`.
#[test]
fn huge_planes_are_scaled_exactly() {
    let (c, f) = cascade(16, 16, 2, 4);
    let x = planes(1, 16, 16);
    let factor = 2f64.powi(600); // far beyond 2^400 and sqrt(f64::MAX) = 2^512
    let big: Vec<f64> = x.iter().map(|v| v * factor).collect();
    let mut out = vec![0.0; c.output_plane()];
    let mut out_big = out.clone();
    c.forward(&f, &x, &mut out, None).unwrap();
    c.forward(&f, &big, &mut out_big, None).unwrap();
    assert!(out_big.iter().all(|v| v.is_finite()));
    for (a, b) in out.iter().zip(&out_big) {
        assert_eq!(a * factor, *b);
    }
    let grad: Vec<f64> = (0..out.len()).map(|i| (i % 5) as f64 - 2.0).collect();
    let (dx, dpsi) = c.backward(&f, &x, None, &grad, true, true).unwrap();
    let (dx_big, dpsi_big) = c.backward(&f, &big, None, &grad, true, true).unwrap();
    assert_eq!(dx, dx_big);
    for (a, b) in dpsi.unwrap().iter().zip(dpsi_big.unwrap()) {
        assert_eq!(a * factor, b);
    }
}

#[test]
fn f32_planes_of_any_finite_magnitude_give_finite_coefficients() {
    let cascade = Cascade::<f32>::new(16, 16, ScatteringOptions::new(2, 4).unwrap()).unwrap();
    let bank = FilterBankParams::tight_frame(2, 4).unwrap();
    let spectra = crate::filters::spectral::bank_spectra(&bank, 24, 24);
    let flat: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
    let f = cascade.prepare_filters(&flat).unwrap();
    for scale in [1.0f32, 1e20, 1e30, 1e36] {
        let x: Vec<f32> = planes(1, 16, 16)
            .iter()
            .map(|v| *v as f32 * scale)
            .collect();
        let mut out = vec![0.0f32; cascade.output_plane()];
        cascade.forward(&f, &x, &mut out, None).unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "scale {scale:e}");
    }
}

fn input(shape: &[usize]) -> ArrayD<f64> {
    Array::from_shape_fn(IxDyn(shape), |i| {
        let s: usize = i
            .as_array_view()
            .iter()
            .enumerate()
            .map(|(k, v)| (k + 3) * v)
            .sum();
        ((s as f64) * 0.37).sin() + 0.1 * (i[i.ndim() - 1] as f64)
    })
}

#[test]
fn forward_equals_the_fixed_filter_plan() {
    let options = ScatteringOptions::new(2, 4).unwrap();
    let bank = FilterBankParams::random(2, 4, 7).unwrap();
    let fixed = Scattering2dPlan::<f64>::with_filter_bank(16, 20, options, bank.clone()).unwrap();
    let plan = Scattering2dPlan::<f64>::new(16, 20, options).unwrap();
    let prepared = plan.prepare(bank).unwrap();
    let x = input(&[2, 1, 16, 20]);
    let (s, tape) = plan.forward(&prepared, x.view(), true).unwrap();
    assert!(tape.is_some());
    assert_eq!(s, fixed.transform_dyn(x.view()).unwrap());
}

/// The wavelet gradient against central differences of `⟨g, S(x; p)⟩` in each of the four
/// parameters of two wavelets, and the input gradient from the tape against the one
/// recomputed without it.
#[test]
fn wavelet_gradient_matches_central_differences() {
    let (h, w) = (16, 16);
    let options = ScatteringOptions::new(2, 2).unwrap();
    let plan = Scattering2dPlan::<f64>::new(h, w, options).unwrap();
    let mut bank = FilterBankParams::tight_frame(2, 2).unwrap();
    // Off the tight frame's symmetric values, so no derivative vanishes by symmetry.
    let wavelets: Vec<MorletParams> = bank
        .wavelets()
        .iter()
        .enumerate()
        .map(|(n, p)| MorletParams {
            theta: p.theta + 0.1 * n as f64,
            slant: p.slant * 0.9,
            ..*p
        })
        .collect();
    bank = FilterBankParams::from_wavelets(2, 2, wavelets).unwrap();
    let x = input(&[2, h, w]);
    let prepared = plan.prepare(bank.clone()).unwrap();
    let (s, tape) = plan.forward(&prepared, x.view(), true).unwrap();
    let g = input(s.shape()).mapv(|v| v.cos());
    let taped = plan
        .backward(&prepared, x.view(), tape.as_ref(), g.view(), true, true)
        .unwrap();
    let recomputed = plan
        .backward(&prepared, x.view(), None, g.view(), true, true)
        .unwrap();
    let (dx, dx2) = (taped.input.unwrap(), recomputed.input.unwrap());
    assert!((&dx - &dx2).iter().all(|d| d.abs() < 1e-12));
    let grads = taped.wavelets.unwrap();
    assert_eq!(grads, recomputed.wavelets.unwrap());
    let loss = |b: &FilterBankParams| {
        let p = plan.prepare(b.clone()).unwrap();
        (&plan.forward(&p, x.view(), false).unwrap().0 * &g).sum()
    };
    let step = 1e-5;
    for n in [0, 3] {
        for k in 0..4 {
            let shifted = |d: f64| {
                let mut ws = bank.wavelets().to_vec();
                let p = &mut ws[n];
                *[&mut p.sigma, &mut p.xi, &mut p.theta, &mut p.slant][k] += d;
                FilterBankParams::from_wavelets(2, 2, ws).unwrap()
            };
            let fd = (loss(&shifted(step)) - loss(&shifted(-step))) / (2.0 * step);
            let an = grads[n][k];
            assert!(
                (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                "wavelet {n}, parameter {k}: analytic {an}, central difference {fd}"
            );
        }
    }
}

#[test]
fn mismatched_banks_tapes_and_gradients_are_errors() {
    let options = ScatteringOptions::new(2, 2).unwrap();
    let a = Scattering2dPlan::<f32>::new(16, 16, options).unwrap();
    let b = Scattering2dPlan::<f32>::new(32, 16, options).unwrap();
    let bank = FilterBankParams::tight_frame(2, 2).unwrap();
    let prepared_b = b.prepare(bank.clone()).unwrap();
    let x = ArrayD::<f32>::ones(IxDyn(&[1, 16, 16]));
    assert!(matches!(
        a.forward(&prepared_b, x.view(), false),
        Err(ScatterError::InvalidParameter { name: "bank", .. })
    ));
    let wrong_l = FilterBankParams::tight_frame(2, 3).unwrap();
    assert!(a.prepare(wrong_l).is_err());
    let prepared = a.prepare(bank).unwrap();
    let (s, tape) = a.forward(&prepared, x.view(), true).unwrap();
    let x2 = ArrayD::<f32>::ones(IxDyn(&[2, 16, 16]));
    let g2 = ArrayD::<f32>::ones(IxDyn(&[2, s.shape()[1], 4, 4]));
    assert!(matches!(
        a.backward(&prepared, x2.view(), tape.as_ref(), g2.view(), true, false),
        Err(ScatterError::InvalidShape { .. })
    ));
    let g_bad = ArrayD::<f32>::ones(IxDyn(&[1, 3, 4, 4]));
    assert!(matches!(
        a.backward(&prepared, x.view(), None, g_bad.view(), true, false),
        Err(ScatterError::InvalidShape { .. })
    ));
}

/// A unit test because integration tests cannot build options outside the validated range: a
/// plan checks its options again before planning anything.
#[test]
fn plans_refuse_unchecked_options() {
    let zero_scales = ScatteringOptions::unchecked(0, 8, 2);
    assert!(matches!(
        Scattering2dPlan::<f32>::new(32, 32, zero_scales),
        Err(ScatterError::InvalidParameter { .. })
    ));
    let huge_l = ScatteringOptions::unchecked(2, 1_000_000, 2);
    assert!(Scattering2dPlan::<f32>::new(32, 32, huge_l).is_err());
}

/// kymatio's `pre_pad=True`: the padded plan on the reflect-padded input gives the unpadded
/// plan's output exactly, and its input gradient, summed back onto the source pixels of the
/// padding, is the unpadded plan's input gradient.
#[test]
fn a_padded_input_plan_equals_the_plan_on_the_padded_image() {
    let options = ScatteringOptions::new(2, 3).unwrap();
    let (h, w) = (13, 18);
    let plan = Scattering2dPlan::<f64>::new(h, w, options).unwrap();
    let padded = Scattering2dPlan::<f64>::new(h, w, options)
        .unwrap()
        .with_padded_input();
    let g = *plan.geometry();
    let [mp, np] = g.padded_size();
    assert_eq!(padded.input_size(), [mp, np]);
    assert_eq!(plan.input_size(), [h, w]);
    let x = input(&[2, h, w]);
    let xp = Array::from_shape_fn(IxDyn(&[2, mp, np]), |i| {
        x[[i[0], g.source_row(i[1]), g.source_col(i[2])]]
    });
    let bank = plan
        .prepare(FilterBankParams::random(2, 3, 4).unwrap())
        .unwrap();
    let (s, _) = plan.forward(&bank, x.view(), false).unwrap();
    // A bank prepared by the unpadded plan fits the padded one (the same grid).
    let (sp, tape) = padded.forward(&bank, xp.view(), true).unwrap();
    assert_eq!(s, sp);
    let gout = input(s.shape()).mapv(|v| v.cos());
    let dx = plan
        .backward(&bank, x.view(), None, gout.view(), true, true)
        .unwrap();
    let dxp = padded
        .backward(&bank, xp.view(), tape.as_ref(), gout.view(), true, true)
        .unwrap();
    let dxp_input = dxp.input.unwrap();
    assert_eq!(dxp_input.shape(), &[2, mp, np]);
    let mut folded = ArrayD::<f64>::zeros(IxDyn(&[2, h, w]));
    for ((b, r, c), v) in dxp_input
        .view()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap()
        .indexed_iter()
    {
        folded[[b, g.source_row(r), g.source_col(c)]] += *v;
    }
    let dx_input = dx.input.unwrap();
    assert!((&folded - &dx_input).iter().all(|d| d.abs() < 1e-12));
    assert_eq!(dx.wavelets, dxp.wavelets);
    // The padded plan wants the padded size, and names it.
    let e = padded.forward(&bank, x.view(), false).unwrap_err();
    assert!(
        e.to_string().contains(&format!("expected [_, {mp}, {np}]")),
        "{e}"
    );
}

/// Spectra given as values (the paper's pixelwise filters): the Morlet bank's own spectra give its
/// output, and the spectra gradient is the central difference of `⟨g, S⟩` in a few entries.
#[test]
fn a_bank_prepared_from_spectra_runs_and_has_the_spectra_gradient() {
    let options = ScatteringOptions::new(2, 2).unwrap();
    let plan = Scattering2dPlan::<f64>::new(12, 16, options).unwrap();
    let [mp, np] = plan.geometry().padded_size();
    let bank = FilterBankParams::random(2, 2, 9).unwrap();
    let values = crate::filters::spectral::wavelet_spectra(bank.wavelets(), mp, np);
    let spectra = ndarray::Array3::from_shape_vec((4, mp, np), values).unwrap();
    let morlet = plan.prepare(bank).unwrap();
    let free = plan.prepare_spectra(spectra.view()).unwrap();
    assert!(free.filter_bank().is_none() && morlet.filter_bank().is_some());
    let x = input(&[2, 12, 16]);
    let (s, tape) = plan.forward(&free, x.view(), true).unwrap();
    assert_eq!(s, plan.forward(&morlet, x.view(), false).unwrap().0);
    let g = input(s.shape()).mapv(|v| v.sin());
    let grads = plan
        .backward(&free, x.view(), tape.as_ref(), g.view(), false, true)
        .unwrap();
    assert!(grads.wavelets.is_none() && grads.input.is_none());
    let dpsi = grads.spectra.unwrap();
    assert_eq!(dpsi.shape(), &[4, mp, np]);
    let loss = |sp: &ndarray::Array3<f64>| {
        let p = plan.prepare_spectra(sp.view()).unwrap();
        (&plan.forward(&p, x.view(), false).unwrap().0 * &g).sum()
    };
    let step = 1e-6;
    for (n, i, k) in [(0, 0, 1), (1, 3, 5), (3, mp - 1, 2), (2, 7, np - 3)] {
        let mut plus = spectra.clone();
        plus[[n, i, k]] += step;
        let mut minus = spectra.clone();
        minus[[n, i, k]] -= step;
        let fd = (loss(&plus) - loss(&minus)) / (2.0 * step);
        let an = dpsi[[n, i, k]];
        assert!(
            (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
            "[{n}, {i}, {k}]: {an} vs {fd}"
        );
    }
    // Wrong shapes and non-finite values are refused, naming what was expected.
    let e = plan
        .prepare_spectra(spectra.slice(ndarray::s![..3, .., ..]))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("expected [4, {mp}, {np}], got [3, {mp}, {np}]")),
        "{e}"
    );
    let mut bad = spectra.clone();
    bad[[1, 2, 3]] = f64::NAN;
    let e = plan.prepare_spectra(bad.view()).unwrap_err();
    assert!(e.to_string().contains("NaN at index [1, 2, 3]"), "{e}");
}
