//! Properties of the fixed transform checked directly, without fixtures.

use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::filters::{FilterBankParams, diagnostics, spectral};
use learnable_scattering::geometry::{ScatteringPath, paths};
use learnable_scattering::{PaddedGeometry, ScatteringOptions};
use ndarray::{Array2, Array3, Axis, s};

/// A reproducible test image with structure at several scales and orientations.
fn test_image(h: usize, w: usize, seed: u64) -> Array2<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    Array2::from_shape_fn((h, w), |(i, j)| {
        let (x, y) = (i as f64, j as f64);
        (0.7 * x + 0.3 * y).sin() + (0.21 * x - 0.5 * y).cos() * 0.8 + noise()
    })
}

fn scatter(plan: &Scattering2dPlan<f64>, x: &Array2<f64>) -> Array3<f64> {
    plan.transform_dyn(x.view().into_dyn())
        .unwrap()
        .into_dimensionality()
        .unwrap()
}

/// Spatial mean of every channel.
fn channel_means(s: &Array3<f64>) -> Vec<f64> {
    s.axis_iter(Axis(0)).map(|c| c.mean().unwrap()).collect()
}

fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

#[test]
fn wavelets_have_zero_mean_for_every_bank() {
    for bank in [
        FilterBankParams::tight_frame(3, 8).unwrap(),
        FilterBankParams::tight_frame(2, 5).unwrap(),
        FilterBankParams::random(3, 6, 42).unwrap(),
    ] {
        let spectra = spectral::bank_spectra(&bank, 48, 40);
        for (n, psi) in spectra.psi.iter().enumerate() {
            let peak = psi.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                psi[[0, 0]].abs() <= 1e-12 * peak,
                "psi {n}: {}",
                psi[[0, 0]]
            );
        }
    }
}

#[test]
fn littlewood_paley_sum_is_bounded() {
    // Bounds of the tight frame measured on the actual bank (kymatio's own values,
    // tests/fixtures/frame_bounds.json): the symmetrised sum
    // stays within (0, 1.05] for J = 2..4; the plain one below 2.05.
    for (size, j) in [(32, 2), (64, 3), (128, 4)] {
        let g = PaddedGeometry::new(size, size, j).unwrap();
        let [mp, np] = g.padded_size();
        let bank = FilterBankParams::tight_frame(j, 8).unwrap();
        let spectra = spectral::bank_spectra(&bank, mp, np);
        let (lo, hi) =
            diagnostics::frame_bounds(&diagnostics::littlewood_paley_symmetric(&spectra));
        assert!(lo > 0.1 && hi < 1.05, "J={j}: [{lo}, {hi}]");
        let (_, hi) = diagnostics::frame_bounds(&diagnostics::littlewood_paley(&spectra));
        assert!(hi < 2.05, "J={j}: {hi}");
    }
}

#[test]
fn s0_and_s1_are_nearly_invariant_to_circular_shifts() {
    let (h, w, j) = (64, 64, 2);
    let options = ScatteringOptions::with_max_order(j, 8, 1).unwrap();
    let plan = Scattering2dPlan::<f64>::new(h, w, options).unwrap();
    let x = test_image(h, w, 1);
    let base = channel_means(&scatter(&plan, &x));
    for shift in [4usize, 8, 20] {
        let mut shifted = x.clone();
        for i in 0..h {
            for k in 0..w {
                shifted[[(i + shift) % h, (k + 2 * shift) % w]] = x[[i, k]];
            }
        }
        let moved = channel_means(&scatter(&plan, &shifted));
        let d = rel_diff(&moved, &base);
        assert!(d < 0.03, "shift {shift}: relative change {d}");
    }
    // An unrelated image of the same statistics is much further away: the test can fail.
    let other = channel_means(&scatter(&plan, &test_image(h, w, 2).t().to_owned()));
    assert!(rel_diff(&other, &base) > 0.1);
}

#[test]
fn s1_shifts_with_the_input_away_from_the_borders() {
    // A circular shift by a multiple of 2^J moves the coefficients by whole output pixels away
    // from the borders and the wrap seam. Exactly (to rounding) for S0 and the j1 = 0 channels;
    // for j1 ≥ 1 only to ~1e-5, because kymatio's Fourier crop of φ̂ at the coarser resolution
    // truncates the Gaussian at the coarse Nyquist frequency (φ̂ ≈ 0.04 there for J = 2), which
    // gives the coarse low-pass a slowly decaying spatial tail. The crate keeps kymatio's crop.
    let (h, w, j, l) = (96, 96, 2, 8);
    let options = ScatteringOptions::with_max_order(j, l, 1).unwrap();
    let plan = Scattering2dPlan::<f64>::new(h, w, options).unwrap();
    let x = test_image(h, w, 3);
    let shift = 8; // 2 output pixels
    let mut shifted = x.clone();
    for i in 0..h {
        for k in 0..w {
            shifted[[(i + shift) % h, k]] = x[[i, k]];
        }
    }
    let (a, b) = (scatter(&plan, &x), scatter(&plan, &shifted));
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // Output rows 8..16 of `a` are input rows 32..64, >= 24 px from the borders and the seam.
    let worst = |channels: std::ops::Range<usize>| {
        let ours = b.slice(s![channels.clone(), 10..18, 6..18]);
        let theirs = a.slice(s![channels, 8..16, 6..18]);
        ours.iter()
            .zip(theirs.iter())
            .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
            / scale
    };
    let fine = worst(0..1 + l);
    let coarse = worst(1 + l..1 + j * l);
    assert!(fine < 1e-12, "S0 and j1 = 0: {fine}");
    assert!(coarse < 1e-4, "j1 = 1: {coarse}");
    // Compared without the shift, the coefficients differ: the test can fail.
    let unshifted = b.slice(s![.., 8..16, 6..18]);
    let theirs = a.slice(s![.., 8..16, 6..18]);
    let d = unshifted
        .iter()
        .zip(theirs.iter())
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
    assert!(d > 1e-2 * scale);
}

#[test]
fn rotating_by_90_degrees_permutes_orientations() {
    // θ_l = (L/2 − 1 − l)·π/L, so a 90° rotation maps orientation l to l ± L/2 (mod L, and
    // |x ⋆ ψ_{θ+π}| = |x ⋆ ψ_θ| for real x). Channel means must follow that permutation.
    for (l_count, j, size) in [(8, 2, 64), (4, 3, 64)] {
        let options = ScatteringOptions::new(j, l_count).unwrap();
        let plan = Scattering2dPlan::<f64>::new(size, size, options).unwrap();
        let x = test_image(size, size, 5);
        let mut rotated = x.clone();
        for i in 0..size {
            for k in 0..size {
                rotated[[i, k]] = x[[k, size - 1 - i]]; // numpy rot90
            }
        }
        let a = channel_means(&scatter(&plan, &x));
        let b = channel_means(&scatter(&plan, &rotated));
        let table = paths(&options);
        let index = |p: &ScatteringPath| table.iter().position(|q| q == p).unwrap();
        let half = l_count / 2;
        let rot = |l: usize| (l + half) % l_count;
        let permuted: Vec<f64> = table
            .iter()
            .map(|p| match *p {
                ScatteringPath::Zeroth => a[0],
                ScatteringPath::First { j1, l1 } => {
                    a[index(&ScatteringPath::First { j1, l1: rot(l1) })]
                }
                ScatteringPath::Second { j1, l1, j2, l2 } => {
                    a[index(&ScatteringPath::Second {
                        j1,
                        l1: rot(l1),
                        j2,
                        l2: rot(l2),
                    })]
                }
            })
            .collect();
        let d = rel_diff(&b, &permuted);
        assert!(d < 0.02, "L={l_count}: permuted difference {d}");
        // Without the permutation the orientation channels disagree: the test can fail.
        let first = 1..1 + j * l_count;
        let d_id = rel_diff(&b[first.clone()], &a[first.clone()]);
        let d_perm = rel_diff(&b[first.clone()], &permuted[first]);
        assert!(d_id > 5.0 * d_perm, "identity {d_id} vs permuted {d_perm}");
    }
}

#[test]
fn order_one_output_is_a_prefix_of_order_two() {
    let x = test_image(40, 36, 9);
    let o2 = Scattering2dPlan::<f64>::new(40, 36, ScatteringOptions::new(3, 6).unwrap()).unwrap();
    let o1 =
        Scattering2dPlan::<f64>::new(40, 36, ScatteringOptions::with_max_order(3, 6, 1).unwrap())
            .unwrap();
    let (a, b) = (scatter(&o2, &x), scatter(&o1, &x));
    assert_eq!(a.slice(s![..b.dim().0, .., ..]), b);
}

#[test]
fn f32_and_f64_agree_and_batches_are_independent() {
    let x = ndarray::Array4::from_shape_fn((3, 2, 24, 20), |(b, c, i, k)| {
        ((b * 7 + c * 3 + i * k) as f64 * 0.1).sin()
    });
    let options = ScatteringOptions::new(2, 8).unwrap();
    let p64 = Scattering2dPlan::<f64>::new(24, 20, options).unwrap();
    let p32 = Scattering2dPlan::<f32>::new(24, 20, options).unwrap();
    let s64 = p64.transform(x.view()).unwrap();
    let s32 = p32.transform(x.mapv(|v| v as f32).view()).unwrap();
    let scale = s64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in s64.iter().zip(s32.iter()) {
        assert!((a - f64::from(*b)).abs() < 1e-5 * scale);
    }
    // Image (1, 1) alone gives the same coefficients as inside the batch.
    let single = p64.transform(x.slice(s![1..2, 1..2, .., ..])).unwrap();
    assert_eq!(
        single.slice(s![0, 0, .., .., ..]),
        s64.slice(s![1, 1, .., .., ..])
    );
}

#[test]
fn explicit_bank_plan_equals_tight_frame_plan() {
    let options = ScatteringOptions::new(2, 8).unwrap();
    let bank = FilterBankParams::from_wavelets(
        2,
        8,
        FilterBankParams::tight_frame(2, 8)
            .unwrap()
            .wavelets()
            .to_vec(),
    )
    .unwrap();
    let a = Scattering2dPlan::<f64>::new(32, 32, options).unwrap();
    let b = Scattering2dPlan::<f64>::with_filter_bank(32, 32, options, bank).unwrap();
    let x = test_image(32, 32, 11);
    assert_eq!(scatter(&a, &x), scatter(&b, &x));
    // A random bank gives other coefficients.
    let c = Scattering2dPlan::<f64>::with_filter_bank(
        32,
        32,
        options,
        FilterBankParams::random(2, 8, 0).unwrap(),
    )
    .unwrap();
    assert_ne!(scatter(&a, &x), scatter(&c, &x));
}

#[test]
fn plans_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Scattering2dPlan<f32>>();
    assert_send_sync::<Scattering2dPlan<f64>>();
    // And used from several threads at once, with identical results.
    let plan = Scattering2dPlan::<f64>::new(24, 24, ScatteringOptions::new(2, 4).unwrap()).unwrap();
    let x = test_image(24, 24, 13);
    let expected = scatter(&plan, &x);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| assert_eq!(scatter(&plan, &x), expected));
        }
    });
}

/// The aliasing diagnostic of a learned-looking bank (narrow wavelets with high central
/// frequencies in the coarse slots, as learning drifts them) against an independent computation:
/// kymatio's spatial construction, a dense f64 DFT written out here, and the energy at signed
/// frequency indices outside `[−m/2, m/2)`, `m = size / 2^j`, on each axis.
#[test]
fn aliasing_diagnostic_equals_a_dense_dft_of_the_spatial_filters() {
    use learnable_scattering::MorletParams;
    use learnable_scattering::testing::spatial;
    let (h, w) = (24, 20);
    let wavelets: Vec<MorletParams> = (0..6)
        .map(|n| MorletParams {
            sigma: 0.65 + 0.1 * n as f64,
            xi: 2.8 - 0.35 * n as f64,
            theta: 0.9 * n as f64 - 1.3,
            slant: 0.7 + 0.3 * n as f64,
        })
        .collect();
    let bank = FilterBankParams::from_wavelets(2, 3, wavelets.clone()).unwrap();
    let diagnostic = bank.aliasing(h, w);
    for (n, p) in wavelets.iter().enumerate() {
        let j = n / 3;
        let psi = spatial::morlet_2d(h, w, p);
        let (mut total, mut outside) = (0.0f64, 0.0f64);
        for k in 0..h {
            for l in 0..w {
                let mut acc = num_complex::Complex64::new(0.0, 0.0);
                for r in 0..h {
                    for c in 0..w {
                        let angle = -2.0
                            * std::f64::consts::PI
                            * ((k * r) as f64 / h as f64 + (l * c) as f64 / w as f64);
                        acc += psi[[r, c]] * num_complex::Complex64::from_polar(1.0, angle);
                    }
                }
                let energy = acc.re * acc.re; // kymatio keeps the real part
                total += energy;
                let signed = |i: usize, len: usize| {
                    if 2 * i < len {
                        i as i64
                    } else {
                        i as i64 - len as i64
                    }
                };
                let kept = |f: i64, len: usize| {
                    let m = (len >> j) as i64;
                    -m / 2 <= f && f < m / 2
                };
                if !(kept(signed(k, h), h) && kept(signed(l, w), w)) {
                    outside += energy;
                }
            }
        }
        let independent = outside / total;
        println!(
            "wavelet {n} (slot {j}): diagnostic {:.6}, dense DFT {independent:.6}",
            diagnostic[n]
        );
        assert!(
            (diagnostic[n] - independent).abs() < 1e-9,
            "wavelet {n}: {} vs {independent}",
            diagnostic[n]
        );
        if j == 1 {
            assert!(
                independent > 0.05,
                "the test bank should alias: {independent}"
            );
        }
    }
}

/// The fixed transform's vector–Jacobian product against central differences, in f64, and its shape
/// checks.
#[test]
fn input_gradient_matches_finite_differences() {
    let plan = Scattering2dPlan::<f64>::new(20, 24, ScatteringOptions::new(3, 3).unwrap()).unwrap();
    let x = ndarray::Array4::from_shape_fn((1, 2, 20, 24), |(_, c, i, j)| {
        ((i * 7 + j * 3 + c * 5) % 11) as f64 / 11.0 + (i as f64 * 0.3).sin()
    });
    let s = plan.transform(x.view()).unwrap();
    let g = s.mapv(|v| v.signum() * 0.5)
        + ndarray::Array::from_shape_fn(s.raw_dim(), |(_, c, k, i, j)| {
            ((c + k * 3 + i + j) % 5) as f64 / 5.0
        });
    let dx = plan.input_gradient(x.view(), g.view()).unwrap();
    assert_eq!(dx.shape(), x.shape());
    let loss = |x: &ndarray::Array4<f64>| (plan.transform(x.view()).unwrap() * &g).sum();
    let step = 1e-6;
    let largest = dx.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for &(c, i, j) in &[(0, 0, 0), (1, 19, 23), (0, 7, 11), (1, 3, 0), (0, 19, 5)] {
        let mut plus = x.clone();
        plus[[0, c, i, j]] += step;
        let mut minus = x.clone();
        minus[[0, c, i, j]] -= step;
        let fd = (loss(&plus) - loss(&minus)) / (2.0 * step);
        let auto = dx[[0, c, i, j]];
        assert!(
            (fd - auto).abs() <= 1e-5 * largest,
            "({c}, {i}, {j}): {fd} vs {auto}"
        );
    }
    let wrong = ndarray::Array5::<f64>::zeros((1, 2, 5, 2, 3));
    assert!(matches!(
        plan.input_gradient(x.view(), wrong.view()),
        Err(learnable_scattering::ScatterError::InvalidShape { .. })
    ));
}
