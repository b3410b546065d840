//! Framework-free Morlet filter maths: the single source of truth for the wavelet formula.
//!
//! Everything here is plain `f64` on `ndarray` arrays. Every spectrum the crate uses comes from
//! [`spectral`]: the cascade's plans ([`crate::cascade`]) and the burn layer's filter construction
//! (one operation on every backend whose forward is [`spectral::morlet_spectrum`] and whose
//! backward is [`spectral::morlet_spectrum_vjp`]). `spatial` is kymatio's literal construction
//! (5×5 spatial periodisation, FFT, real part), kept as the oracle that ties the closed form to
//! kymatio.
//!
//! # Parameters
//!
//! A wavelet is a [`MorletParams`] `{ sigma, xi, theta, slant }`: Gaussian width `σ` along the wave
//! vector (`σ / slant` across it), central frequency `ξ` in radians per pixel, orientation `θ` of
//! the wave vector `ξ·(cos θ, sin θ)` in (row, column) coordinates, and aspect ratio `slant`.
//! A [`FilterBankParams`] holds `J·L` of them, index `n = j·L + l`, plus the fixed low-pass
//! `φ` of width `σ_φ = 0.8·2^(J−1)`.

mod bank;
pub mod diagnostics;
mod parametrization;
// The oracle of the tests (feature `testing`) and the spatial panels of `analysis`.
#[cfg_attr(not(any(feature = "analysis", feature = "testing")), allow(dead_code))]
pub(crate) mod spatial;
pub mod spectral;

pub use bank::{FilterBankParams, InitKind, MorletParams, Parametrization};
pub use parametrization::TrainedValues;

use std::f64::consts::PI;

/// kymatio's normalisation uses the literal `3.1415`, not `π` (`filter_bank.py`, `gabor_2d`:
/// `gab /= 2 * 3.1415 * sigma**2 / slant`).
///
/// A deliberate compatibility fossil: with `π` every coefficient moves by `3.1415/π` per filter
/// application (2.95e-5 relative for `S0`, 8.8e-5 for `S2`), which fails the kymatio golden tests.
/// Used only in the filter normalisation.
#[allow(clippy::approx_constant)] // deliberately not π: see above
pub const KYMATIO_NORM_PI: f64 = 3.1415;

/// Tight-frame scale of the finest wavelet, `σ_j = 0.8·2^j` (kymatio `filter_bank.py`).
pub(crate) const TIGHT_FRAME_SIGMA0: f64 = 0.8;

/// Tight-frame central frequency of the finest wavelet, `ξ_j = (3π/4)·2^(−j)` (kymatio `filter_bank.py`).
pub(crate) const TIGHT_FRAME_XI0: f64 = 0.75 * PI;

/// Tight-frame aspect ratio is `slant = 4 / L` (kymatio `filter_bank.py`).
pub(crate) const TIGHT_FRAME_SLANT_NUMERATOR: f64 = 4.0;

/// Width of the low-pass `φ` is `σ_φ = 0.8·2^(J−1)` (kymatio `filter_bank.py`).
pub(crate) const LOW_PASS_SIGMA0: f64 = 0.8;

/// Range of the random orientation `θ ~ U[0, 2π)` ("Parametric Scattering Networks",
/// `create_filters_params_random`).
pub(crate) const RANDOM_THETA_RANGE: (f64, f64) = (0.0, 2.0 * PI);
/// Range of the random aspect ratio `slant ~ U[0.5, 1.5]` (same source).
pub(crate) const RANDOM_SLANT_RANGE: (f64, f64) = (0.5, 1.5);
/// Range of the random central frequency `ξ ~ U[0.5, 1.0]` (same source).
pub(crate) const RANDOM_XI_RANGE: (f64, f64) = (0.5, 1.0);
/// Range of the log-uniform draw for the scale: `σ = ln(s)`, `s ~ U[e, e⁵]`, so `σ ∈ [1, 5]`
/// (same source).
pub(crate) const RANDOM_SIGMA_EXP_RANGE: (f64, f64) = (1.0, 5.0);

/// Angular frequencies `2π·fftfreq(n)` in FFT order (DC at index 0; for even `n` the Nyquist bin
/// is `−π`), as numpy's `fftfreq`.
pub(crate) fn angular_frequencies(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let signed = if k <= (n - 1) / 2 {
                k as f64
            } else {
                k as f64 - n as f64
            };
            2.0 * PI * signed / n as f64
        })
        .collect()
}

/// Source indices of kymatio's Fourier crop (`periodize_filter_fft`) along one axis of length
/// `len` at resolution `2^−res`: `[0, m/2) ∪ [len − m/2, len)` with `m = len / 2^res`.
///
/// kymatio masks the high frequencies and then sums the `2^res` aliases; after the mask only one
/// alias is non-zero, so the result is exactly this crop. The cascade ([`periodize`]) and the
/// burn layer both use these indices.
///
/// # Panics
/// If `res > 0` and `len` is not divisible by `2^(res+1)` (padded sizes always are: they are
/// multiples of `2^J` and `res < J`).
pub(crate) fn periodize_rows(len: usize, res: usize) -> Vec<usize> {
    if res == 0 {
        return (0..len).collect();
    }
    let step = 1usize << res;
    assert!(
        len.is_multiple_of(2 * step),
        "periodize: length {len} is not divisible by 2^(res+1) = {}",
        2 * step
    );
    let m = len / step;
    (0..m)
        .map(|k| if k < m / 2 { k } else { k + len - m })
        .collect()
}

/// Fourier crop of a spectrum to resolution `2^−res` (kymatio `periodize_filter_fft`), along both
/// axes with the indices of `periodize_rows`.
///
/// # Panics
/// As `periodize_rows`.
pub fn periodize(spectrum: ndarray::ArrayView2<'_, f64>, res: usize) -> ndarray::Array2<f64> {
    let (big_m, big_n) = spectrum.dim();
    let rows = periodize_rows(big_m, res);
    let cols = periodize_rows(big_n, res);
    ndarray::Array2::from_shape_fn((rows.len(), cols.len()), |(k, l)| {
        spectrum[[rows[k], cols[l]]]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angular_frequencies_follow_fftfreq() {
        let w = angular_frequencies(4);
        let expected = [0.0, 0.5 * PI, -PI, -0.5 * PI];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15);
        }
        let w = angular_frequencies(5);
        assert!((w[2] - 2.0 * PI * 2.0 / 5.0).abs() < 1e-15);
        assert!((w[3] + 2.0 * PI * 2.0 / 5.0).abs() < 1e-15);
    }

    #[test]
    fn periodize_is_a_crop_of_low_frequencies() {
        let x = ndarray::Array2::from_shape_fn((8, 8), |(i, j)| (i * 8 + j) as f64);
        let c = periodize(x.view(), 1);
        assert_eq!(c.dim(), (4, 4));
        // rows kept: 0, 1, 6, 7; same columns.
        assert_eq!(c[[0, 0]], 0.0);
        assert_eq!(c[[1, 1]], 9.0);
        assert_eq!(c[[2, 0]], 48.0);
        assert_eq!(c[[3, 3]], 63.0);
        let c2 = periodize(x.view(), 2);
        assert_eq!(c2, ndarray::array![[0.0, 7.0], [56.0, 63.0]]);
    }
}
