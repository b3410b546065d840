//! Closed-form Fourier construction of the Morlet and Gaussian filters on a padded grid.
//!
//! Sampling in space periodises the spectrum, so the closed form sums the aliases
//! `ω + 2π·(a, b)`: with that sum it equals kymatio's spatial construction to float32 level
//! (kymatio-scattering2d.md §2.4; tested against the kymatio fixtures and against
//! [`super::spatial`]). Without it the finest wavelets would be off by up to 84 %.
//!
//! ```text
//! Ĝ(ω; σ, ξ, θ, s) = (π / 3.1415) · exp(−σ²·u²/2 − σ²·v²/(2s²)),
//!                    u = (ω − ξe_θ)·e_θ,  v = (ω − ξe_θ)·e_θ⊥
//! P[Ĝ](ω)          = Σ_{a,b ∈ −A..=A} Ĝ(ω + 2π(a, b)),   A = FREQUENCY_ALIASES
//! ψ̂(ω)             = P[Ĝ_ξ](ω) − κ·P[Ĝ_0](ω),  κ = P[Ĝ_ξ](0) / P[Ĝ_0](0)   (zero mean)
//! φ̂(ω)             = P[Ĝ(·; σ_φ, 0, 0, 1)](ω)                               (no correction)
//! ```
//!
//! Grids are in FFT order (DC at index 0, [`super::angular_frequencies`]), rows first; the FFT
//! convention is the unnormalised `e^{−iω·x}`.

use std::f64::consts::PI;

use ndarray::Array2;
use rayon::prelude::*;

use super::{FilterBankParams, KYMATIO_NORM_PI, MorletParams, angular_frequencies};

/// Aliases summed on each axis: `a, b ∈ −2..=2` (25 terms), the frequency-domain counterpart of
/// kymatio's 5×5 spatial periodisation. Three terms per axis already reach float32 level for the
/// tight frame; five keep narrow learned wavelets (small `σ`) accurate too.
pub const FREQUENCY_ALIASES: i32 = 2;

/// Exponents below `−NEGLIGIBLE_EXPONENT` are skipped in the alias sum: `e^−46 ≈ 1e-20`, far below
/// `f64` resolution of any coefficient that matters (the peak of a filter is about 1).
const NEGLIGIBLE_EXPONENT: f64 = 46.0;

/// The quadratic form of one Gabor term, with its trigonometry evaluated once.
#[derive(Clone, Copy, Debug)]
struct GaborForm {
    cos_t: f64,
    sin_t: f64,
    xi: f64,
    along: f64,
    across: f64,
}

impl GaborForm {
    fn new(p: &MorletParams) -> Self {
        let (sin_t, cos_t) = p.theta.sin_cos();
        let s2 = p.sigma * p.sigma;
        Self {
            cos_t,
            sin_t,
            xi: p.xi,
            along: 0.5 * s2,
            across: 0.5 * s2 / (p.slant * p.slant),
        }
    }

    /// `σ²·u²/2 + σ²·v²/(2s²)` at `(ω_row, ω_col)`.
    #[inline]
    fn exponent(&self, omega_row: f64, omega_col: f64) -> f64 {
        let d_row = omega_row - self.xi * self.cos_t;
        let d_col = omega_col - self.xi * self.sin_t;
        let u = d_row * self.cos_t + d_col * self.sin_t;
        let v = -d_row * self.sin_t + d_col * self.cos_t;
        self.along * u * u + self.across * v * v
    }

    /// `Σ_{a,b} exp(−exponent(ω + 2π(a, b)))`, negligible terms skipped.
    #[inline]
    fn periodized(&self, omega_row: f64, omega_col: f64) -> f64 {
        let mut sum = 0.0;
        for a in -FREQUENCY_ALIASES..=FREQUENCY_ALIASES {
            let w0 = omega_row + 2.0 * PI * a as f64;
            for b in -FREQUENCY_ALIASES..=FREQUENCY_ALIASES {
                let e = self.exponent(w0, omega_col + 2.0 * PI * b as f64);
                if e < NEGLIGIBLE_EXPONENT {
                    sum += (-e).exp();
                }
            }
        }
        (PI / KYMATIO_NORM_PI) * sum
    }
}

/// One un-periodised Gabor term `Ĝ(ω)` at angular frequency `(ω_row, ω_col)`.
///
/// This function is the formula; the burn layer reproduces it with tensor operations.
pub fn gabor_hat(omega_row: f64, omega_col: f64, p: &MorletParams) -> f64 {
    (PI / KYMATIO_NORM_PI) * (-GaborForm::new(p).exponent(omega_row, omega_col)).exp()
}

/// The periodised Gabor `P[Ĝ](ω)`: the sum of [`gabor_hat`] over the aliases `ω + 2π(a, b)`,
/// `a, b ∈ −A..=A` (terms below `e^−46` skipped).
pub fn gabor_hat_periodized(omega_row: f64, omega_col: f64, p: &MorletParams) -> f64 {
    GaborForm::new(p).periodized(omega_row, omega_col)
}

/// Periodised Gabor spectrum `P[Ĝ]` on a `height × width` grid (FFT order).
pub fn gabor_spectrum(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let rows = angular_frequencies(height);
    let cols = angular_frequencies(width);
    let form = GaborForm::new(p);
    Array2::from_shape_fn((height, width), |(k, l)| form.periodized(rows[k], cols[l]))
}

/// Zero-mean Morlet spectrum `ψ̂ = P[Ĝ_ξ] − κ·P[Ĝ_0]` on a `height × width` grid (FFT order);
/// `ψ̂(0) = 0` up to rounding.
pub fn morlet_spectrum(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let carrier = gabor_spectrum(height, width, p);
    let envelope = gabor_spectrum(height, width, &MorletParams { xi: 0.0, ..*p });
    let kappa = carrier[[0, 0]] / envelope[[0, 0]];
    carrier - envelope * kappa
}

/// Spectra of a whole bank at full resolution on the padded grid.
#[derive(Clone, Debug)]
pub struct BankSpectra {
    /// `ψ̂_n`, `n = j·L + l`, each of shape `[height, width]`.
    pub psi: Vec<Array2<f64>>,
    /// `φ̂`, shape `[height, width]`.
    pub phi: Array2<f64>,
}

/// `ψ̂_n` for every wavelet of `bank` and the low-pass `φ̂`, on a `height × width` grid.
pub fn bank_spectra(bank: &FilterBankParams, height: usize, width: usize) -> BankSpectra {
    BankSpectra {
        psi: bank
            .wavelets()
            .par_iter()
            .map(|p| morlet_spectrum(height, width, p))
            .collect(),
        phi: gabor_spectrum(height, width, &bank.low_pass()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // kymatio-scattering2d.md §2.1: phi_hat[0, 0] = 1.0000294 for 32×32, J = 2.
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
        for k in 0..12 {
            for l in 0..10 {
                let mut direct = 0.0;
                for a in -FREQUENCY_ALIASES..=FREQUENCY_ALIASES {
                    for b in -FREQUENCY_ALIASES..=FREQUENCY_ALIASES {
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
}
