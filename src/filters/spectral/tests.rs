//! Unit tests of the closed form: alias radii, the windows against the full alias walk, the
//! sums against single terms, the VJP against central differences.

use std::f64::consts::PI;

use super::alias::*;
use super::*;
use crate::filters::KYMATIO_NORM_PI;

/// One un-periodised Gabor term `Ĝ(ω)` at angular frequency `(ω_row, ω_col)`.
///
/// The formula every spectrum of the crate sums over aliases (`GaborForm` evaluates it in
/// windows); the tests check the sums against it term by term.
fn gabor_hat(omega_row: f64, omega_col: f64, p: &MorletParams) -> f64 {
    (PI / KYMATIO_NORM_PI) * (-GaborForm::new(p).exponent(omega_row, omega_col)).exp()
}

/// The periodised Gabor `P[Ĝ](ω)`: the sum of [`gabor_hat`] over the aliases `ω + 2π(a, b)`,
/// `a, b ∈ −A..=A` with `A` = [`alias_radius`] (terms below `e^−50` skipped).
///
/// # Panics
/// If `p` needs more than [`MAX_ALIAS_RADIUS`] aliases.
fn gabor_hat_periodized(omega_row: f64, omega_col: f64, p: &MorletParams) -> f64 {
    let form = GaborForm::new(p);
    form.periodized(&form.row_windows(omega_row), omega_col)
}

#[test]
fn alias_radius_of_the_tight_frames() {
    let radii = |j: usize, l: usize| -> Vec<usize> {
        let bank = FilterBankParams::tight_frame(j, l).unwrap();
        (0..j)
            .map(|s| alias_radius(bank.wavelet(s, 0)).unwrap())
            .collect()
    };
    println!(
        "L=8: {:?}, L=2: {:?}, L=1: {:?}",
        radii(4, 8),
        radii(4, 2),
        radii(4, 1)
    );
    // The fixed ±2 of earlier versions for the finest scale at L = 8; fewer above it.
    assert_eq!(radii(4, 8), [2, 1, 1, 0]);
    assert_eq!(radii(4, 1), [8, 4, 2, 1]);
    // Slant 4/L: wide across the wave vector in frequency for L < 4.
    assert!(radii(4, 1)[0] > 2 && radii(4, 2)[0] > 2);
    let phi = FilterBankParams::tight_frame(3, 8).unwrap().low_pass();
    assert!(alias_radius(&phi).unwrap() <= 1);
    // Out of reach: a wavelet far narrower than a pixel.
    let needle = MorletParams {
        sigma: 1e-3,
        xi: 1.0,
        theta: 0.0,
        slant: 1.0,
    };
    assert_eq!(alias_radius(&needle), None);
}

#[test]
fn morlet_has_zero_mean_and_peaks_at_the_wave_vector() {
    let bank = FilterBankParams::tight_frame(2, 8).unwrap();
    // j = 0, θ = 0 (l = 3): peak at bin (15, 0) on a 40×40 grid (15/40·2π = 3π/4).
    let psi = morlet_spectrum(40, 40, bank.wavelet(0, 3));
    assert!(psi[[0, 0]].abs() < 1e-12);
    let (mut best, mut arg) = (f64::MIN, (0, 0));
    for ((k, l), &v) in psi.indexed_iter() {
        if v > best {
            best = v;
            arg = (k, l);
        }
    }
    assert_eq!(arg, (15, 0));
    // θ = −π/2 (l = 7): peak at bin (0, −15) = (0, 25).
    let psi = morlet_spectrum(40, 40, bank.wavelet(0, 7));
    assert!((psi[[0, 25]] - best).abs() < 1e-9);
}

#[test]
fn gaussian_low_pass_dc_carries_the_3_1415_fossil() {
    let bank = FilterBankParams::tight_frame(2, 8).unwrap();
    let phi = gabor_spectrum(40, 40, &bank.low_pass());
    // kymatio 0.3.0's phi_hat[0, 0] for 32×32, J = 2 is 1.0000294 = π/3.1415 to float32 (its
    // `filter_bank.py::gabor_2d` normalises by 2·3.1415·σ², not 2πσ²; the fixture file holds it).
    approx::assert_abs_diff_eq!(phi[[0, 0]], 1.0000294, epsilon = 1e-6);
}

#[test]
fn pointwise_formula_and_grid_agree() {
    let p = MorletParams {
        sigma: 0.9,
        xi: 2.0,
        theta: -0.3,
        slant: 0.6,
    };
    let grid = gabor_spectrum(12, 10, &p);
    let (rows, cols) = (angular_frequencies(12), angular_frequencies(10));
    let radius = alias_radius(&p).unwrap() as i32;
    for k in 0..12 {
        for l in 0..10 {
            let mut direct = 0.0;
            for a in -radius..=radius {
                for b in -radius..=radius {
                    direct += gabor_hat(
                        rows[k] + 2.0 * PI * a as f64,
                        cols[l] + 2.0 * PI * b as f64,
                        &p,
                    );
                }
            }
            assert!((grid[[k, l]] - direct).abs() <= 1e-15 * direct.max(1e-5));
            assert_eq!(grid[[k, l]], gabor_hat_periodized(rows[k], cols[l], &p));
        }
    }
}

#[test]
fn row_windows_keep_every_term_of_the_full_sum() {
    // Brute force: every alias a, b in -A..=A with the same skip rule, against the windowed
    // walk, over wavelets from narrow to wide, slanted both ways, any orientation.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = |lo: f64, hi: f64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        lo + (hi - lo) * (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..60 {
        let p = MorletParams {
            sigma: uniform(0.3, 12.0),
            xi: uniform(0.0, 3.0),
            theta: uniform(-4.0, 4.0),
            slant: uniform(0.2, 5.0),
        };
        let (h, w) = (14, 11);
        let form = GaborForm::new(&p);
        let r = form.radius;
        let grid = gabor_spectrum(h, w, &p);
        for (k, &wr) in angular_frequencies(h).iter().enumerate() {
            for (l, &wc) in angular_frequencies(w).iter().enumerate() {
                let mut sum = 0.0;
                for a in -r..=r {
                    for b in -r..=r {
                        let e = form.exponent(wr + 2.0 * PI * a as f64, wc + 2.0 * PI * b as f64);
                        if e < NEGLIGIBLE_EXPONENT {
                            sum += (-e).exp();
                        }
                    }
                }
                let full = (PI / KYMATIO_NORM_PI) * sum;
                assert!(
                    (grid[[k, l]] - full).abs() <= 1e-15 * full.max(1e-300),
                    "{p:?} at ({k}, {l}): windowed {} vs full {full}",
                    grid[[k, l]]
                );
            }
        }
    }
}

#[test]
fn vjp_matches_central_differences() {
    // Tight-frame-like, slanted, wide (many aliases), and far-from-origin wavelets.
    let cases = [
        (
            MorletParams {
                sigma: 0.8,
                xi: 2.356,
                theta: 0.39,
                slant: 0.5,
            },
            40,
            40,
        ),
        (
            MorletParams {
                sigma: 1.7,
                xi: 1.1,
                theta: -2.0,
                slant: 1.3,
            },
            24,
            18,
        ),
        (
            MorletParams {
                sigma: 0.5,
                xi: 2.9,
                theta: 1.0,
                slant: 4.0,
            },
            16,
            20,
        ),
        (
            MorletParams {
                sigma: 3.2,
                xi: 0.4,
                theta: 0.1,
                slant: 0.7,
            },
            30,
            30,
        ),
    ];
    for (p, h, w) in cases {
        let cot = Array2::from_shape_fn((h, w), |(k, l)| ((k * 7 + l * 3) % 11) as f64 - 5.0);
        let loss = |q: &MorletParams| (&morlet_spectrum(h, w, q) * &cot).sum();
        let got = morlet_spectrum_vjp(h, w, &p, cot.view());
        let step = 1e-6;
        for (i, &g) in got.iter().enumerate() {
            let shifted = |d: f64| {
                let mut q = p;
                match i {
                    0 => q.sigma += d,
                    1 => q.xi += d,
                    2 => q.theta += d,
                    _ => q.slant += d,
                }
                loss(&q)
            };
            let fd = (shifted(step) - shifted(-step)) / (2.0 * step);
            let scale = got.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            assert!(
                (g - fd).abs() <= 1e-6 * scale,
                "{p:?} {h}x{w}, parameter {i}: analytic {g}, central difference {fd}"
            );
        }
    }
}

#[test]
fn rotation_by_pi_mirrors_the_spectrum() {
    let p = MorletParams {
        sigma: 1.3,
        xi: 1.1,
        theta: 0.4,
        slant: 0.7,
    };
    let q = MorletParams {
        theta: p.theta + PI,
        ..p
    };
    let (a, b) = (morlet_spectrum(24, 24, &p), morlet_spectrum(24, 24, &q));
    for k in 0..24 {
        for l in 0..24 {
            let v = b[[(24 - k) % 24, (24 - l) % 24]];
            assert!((a[[k, l]] - v).abs() < 1e-12);
        }
    }
}
