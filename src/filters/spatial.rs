//! kymatio's literal spatial construction (`filter_bank.py`: `gabor_2d`, `morlet_2d`), in `f64`.
//!
//! Slow (25 shifted copies of the grid per filter) and kept as the oracle that ties the closed
//! form of [`super::spectral`] to kymatio: the two agree to float32 level, and tests hold both
//! against the kymatio fixtures.

use ndarray::{Array2, Axis};
use num_complex::Complex64;
use rustfft::FftPlanner;

use super::{KYMATIO_NORM_PI, MorletParams};

/// Spatial tiles summed on each side: `ex, ey ∈ −2..=2` (kymatio's 5×5 periodisation).
pub(crate) const SPATIAL_TILES: i64 = 2;

/// kymatio `gabor_2d(M, N, sigma, theta, xi, slant)`: a Gabor filter periodised over 5×5 tiles
/// of the `height × width` grid, normalised by `2·3.1415·σ²/slant`.
pub fn gabor_2d(height: usize, width: usize, p: &MorletParams) -> Array2<Complex64> {
    let (sin_t, cos_t) = p.theta.sin_cos();
    // curv = R·diag(1, slant²)·R⁻¹ / (2σ²)
    let s2 = p.slant * p.slant;
    let scale = 1.0 / (2.0 * p.sigma * p.sigma);
    let c00 = (cos_t * cos_t + s2 * sin_t * sin_t) * scale;
    let c01 = (cos_t * sin_t - s2 * sin_t * cos_t) * scale;
    let c11 = (sin_t * sin_t + s2 * cos_t * cos_t) * scale;
    let (m, n) = (height as i64, width as i64);
    let mut out = Array2::from_shape_fn((height, width), |(x, y)| {
        let mut acc = Complex64::new(0.0, 0.0);
        for ex in -SPATIAL_TILES..=SPATIAL_TILES {
            for ey in -SPATIAL_TILES..=SPATIAL_TILES {
                let xx = (x as i64 + ex * m) as f64;
                let yy = (y as i64 + ey * n) as f64;
                let quad = c00 * xx * xx + 2.0 * c01 * xx * yy + c11 * yy * yy;
                let phase = p.xi * (xx * cos_t + yy * sin_t);
                acc += Complex64::from_polar((-quad).exp(), phase);
            }
        }
        acc
    });
    let norm = 2.0 * KYMATIO_NORM_PI * p.sigma * p.sigma / p.slant;
    out.mapv_inplace(|z| z / norm);
    out
}

/// kymatio `morlet_2d`: `ψ = gabor(ξ) − κ·gabor(0)` with `κ = Σ gabor(ξ) / Σ gabor(0)`.
pub fn morlet_2d(height: usize, width: usize, p: &MorletParams) -> Array2<Complex64> {
    let wv = gabor_2d(height, width, p);
    let wv0 = gabor_2d(height, width, &MorletParams { xi: 0.0, ..*p });
    let kappa = wv.sum() / wv0.sum();
    wv - wv0 * kappa
}

/// Unnormalised 2D FFT (`e^{−iω·x}`), in place.
pub fn fft2(data: &mut Array2<Complex64>) {
    let mut planner = FftPlanner::new();
    for axis in [1, 0] {
        let fft = planner.plan_fft_forward(data.len_of(Axis(axis)));
        let mut line = vec![Complex64::new(0.0, 0.0); data.len_of(Axis(axis))];
        for mut lane in data.lanes_mut(Axis(axis)) {
            line.iter_mut().zip(lane.iter()).for_each(|(d, s)| *d = *s);
            fft.process(&mut line);
            lane.iter_mut().zip(line.iter()).for_each(|(d, s)| *d = *s);
        }
    }
}

/// kymatio's stored wavelet spectrum: `Re(fft2(morlet_2d(..)))`.
pub fn morlet_spectrum_by_fft(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let mut psi = morlet_2d(height, width, p);
    fft2(&mut psi);
    psi.mapv(|z| z.re)
}

/// kymatio's stored low-pass spectrum: `Re(fft2(gabor_2d(..)))` (no zero-mean correction).
#[cfg(test)]
pub fn gabor_spectrum_by_fft(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let mut g = gabor_2d(height, width, p);
    fft2(&mut g);
    g.mapv(|z| z.re)
}

#[cfg(test)]
mod tests {
    use super::super::{FilterBankParams, spectral};
    use super::*;

    fn max_rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter()
            .zip(b.iter())
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / scale
    }

    #[test]
    fn closed_form_equals_spatial_construction() {
        for (h, w, j, l) in [(40, 40, 2, 8), (36, 52, 2, 5), (24, 24, 1, 4)] {
            let bank = FilterBankParams::tight_frame(j, l).unwrap();
            for p in bank.wavelets() {
                let err = max_rel(
                    &spectral::morlet_spectrum(h, w, p),
                    &morlet_spectrum_by_fft(h, w, p),
                );
                assert!(err < 1e-9, "{h}x{w} {p:?}: {err}");
            }
            let phi = bank.low_pass();
            let err = max_rel(
                &spectral::gabor_spectrum(h, w, &phi),
                &gabor_spectrum_by_fft(h, w, &phi),
            );
            assert!(err < 1e-9, "phi {h}x{w}: {err}");
        }
    }

    /// Banks at the edges of what learning reaches: narrow wavelets (small σ, a wide spectrum),
    /// large slants (narrow across the wave vector in space, wide in frequency: kymatio's `L = 1`
    /// and beyond), ξ near π, many orientations. The closed form sums the aliases each wavelet
    /// needs ([`super::super::spectral::alias_radius`], up to 34 per axis here) and meets kymatio's
    /// spatial construction to 1e-9: each Gabor relative to its own maximum, each Morlet relative
    /// to the maximum of its Gabor. (The zero-mean correction nearly cancels the Gabor of a
    /// wavelet much narrower than a pixel, σ = 0.35 and slant 8 leave a Morlet of 2.5e-8; its own
    /// maximum is then no scale for rounding errors of the ~1 terms it is the difference of.)
    #[test]
    fn closed_form_equals_spatial_construction_on_extreme_banks() {
        let mut wavelets = Vec::new();
        for (i, sigma) in [0.35, 0.5, 0.65, 0.9, 1.14].into_iter().enumerate() {
            for (k, slant) in [0.3, 1.0, 2.25, 4.0, 8.0].into_iter().enumerate() {
                for xi in [0.4, 2.8, 3.1] {
                    let theta = 0.37 * (i * 5 + k) as f64 - 1.0;
                    wavelets.push(MorletParams {
                        sigma,
                        xi,
                        theta,
                        slant,
                    });
                }
            }
        }
        let (mut worst_gabor, mut worst_morlet) = (0.0f64, 0.0f64);
        for (h, w) in [(24, 20), (17, 30)] {
            for p in &wavelets {
                let radius = super::super::spectral::alias_radius(p).unwrap();
                let closed = spectral::gabor_spectrum(h, w, p);
                let err = max_rel(&closed, &gabor_spectrum_by_fft(h, w, p));
                assert!(
                    err < 1e-9,
                    "Gabor {h}x{w} {p:?} (alias radius {radius}): {err:e}"
                );
                worst_gabor = worst_gabor.max(err);
                let scale = closed.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let (a, b) = (
                    spectral::morlet_spectrum(h, w, p),
                    morlet_spectrum_by_fft(h, w, p),
                );
                let err = a
                    .iter()
                    .zip(&b)
                    .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
                    / scale;
                assert!(
                    err < 1e-9,
                    "Morlet {h}x{w} {p:?} (alias radius {radius}): {err:e}"
                );
                worst_morlet = worst_morlet.max(err);
            }
        }
        println!(
            "closed form vs spatial on {} extreme wavelets: Gabor {worst_gabor:.2e}, Morlet {worst_morlet:.2e}",
            wavelets.len()
        );
    }

    #[test]
    fn fft2_matches_a_naive_dft() {
        let x = Array2::from_shape_fn((3, 4), |(i, j)| {
            Complex64::new((i * 4 + j) as f64, (i as f64) - 0.5 * j as f64)
        });
        let mut y = x.clone();
        fft2(&mut y);
        for k in 0..3 {
            for l in 0..4 {
                let mut acc = Complex64::new(0.0, 0.0);
                for i in 0..3 {
                    for j in 0..4 {
                        let ang = -2.0
                            * std::f64::consts::PI
                            * ((k * i) as f64 / 3.0 + (l * j) as f64 / 4.0);
                        acc += x[[i, j]] * Complex64::from_polar(1.0, ang);
                    }
                }
                assert!((acc - y[[k, l]]).norm() < 1e-12);
            }
        }
    }
}
