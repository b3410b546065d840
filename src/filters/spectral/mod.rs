//! Closed-form Fourier construction of the Morlet and Gaussian filters on a padded grid.
//!
//! Sampling in space periodises the spectrum, so the closed form sums the aliases
//! `ω + 2π·(a, b)`: kymatio samples a spatially periodised Gabor, whose spectrum holds *every*
//! alias, and the closed form equals it once the sum has converged (tested against the kymatio
//! fixtures and against `super::spatial`). Without the sum the finest wavelets would be off by
//! up to 84 %; with a fixed ±2 aliases, wavelets wide across their wave vector (kymatio's `L = 1`,
//! slant 4) are off by 3.7e-3. `alias_radius` sums as many aliases as each wavelet needs.
//!
//! ```text
//! Ĝ(ω; σ, ξ, θ, s) = (π / 3.1415) · exp(−σ²·u²/2 − σ²·v²/(2s²)),
//!                    u = (ω − ξe_θ)·e_θ,  v = (ω − ξe_θ)·e_θ⊥
//! P[Ĝ](ω)          = Σ_{a,b ∈ −A..=A} Ĝ(ω + 2π(a, b)),   A = alias_radius(σ, ξ, slant)
//! ψ̂(ω)             = P[Ĝ_ξ](ω) − κ·P[Ĝ_0](ω),  κ = P[Ĝ_ξ](0) / P[Ĝ_0](0)   (zero mean)
//! φ̂(ω)             = P[Ĝ(·; σ_φ, 0, 0, 1)](ω)                               (no correction)
//! ```
//!
//! Grids are in FFT order (DC at index 0, `super::angular_frequencies`), rows first; the FFT
//! convention is the unnormalised `e^{−iω·x}`.

use ndarray::Array2;
use rayon::prelude::*;

mod alias;
#[cfg(test)]
mod tests;

#[cfg(not(feature = "wgpu"))]
use alias::GaborForm;
pub(crate) use alias::spectrum_defect;
// The burn layer's construction checks the radius of every wavelet it is handed.
#[cfg(feature = "burn")]
pub(crate) use alias::MAX_ALIAS_RADIUS;
#[cfg(any(feature = "burn", test))]
pub(crate) use alias::alias_radius;
// The device executor's spectra (`cascade::device::spectra`) tabulate the same forms, row
// windows and skipped terms.
#[cfg(feature = "wgpu")]
pub(crate) use alias::{GaborForm, NEGLIGIBLE_EXPONENT};

use super::{FilterBankParams, MorletParams, angular_frequencies};

/// Periodised Gabor spectrum `P[Ĝ]` on a `height × width` grid (FFT order).
pub(crate) fn gabor_spectrum(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let rows = angular_frequencies(height);
    let cols = angular_frequencies(width);
    let form = GaborForm::new(p);
    let mut out = Array2::zeros((height, width));
    for (mut row, &omega_row) in out.rows_mut().into_iter().zip(&rows) {
        let windows = form.row_windows(omega_row);
        for (v, &omega_col) in row.iter_mut().zip(&cols) {
            *v = form.periodized(&windows, omega_col);
        }
    }
    out
}

/// Zero-mean Morlet spectrum `ψ̂ = P[Ĝ_ξ] − κ·P[Ĝ_0]` on a `height × width` grid (FFT order);
/// `ψ̂(0) = 0` up to rounding.
pub fn morlet_spectrum(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let carrier = gabor_spectrum(height, width, p);
    let envelope = gabor_spectrum(height, width, &MorletParams { xi: 0.0, ..*p });
    let kappa = carrier[[0, 0]] / envelope[[0, 0]];
    carrier - envelope * kappa
}

/// The gradient of `⟨cotangent, morlet_spectrum(height, width, p)⟩` with respect to the wavelet's
/// `(σ, ξ, θ, slant)`, in that order: the vector–Jacobian product of [`morlet_spectrum`], exact
/// for the same alias sum (the derivative of every term it keeps, nothing else).
///
/// With `C = P[Ĝ_ξ]`, `E = P[Ĝ_0]` and `κ = C(0)/E(0)`, `ψ̂ = C − κE`, so
/// `∂ψ̂/∂p = ∂C/∂p − κ·∂E/∂p − E·(∂C(0)/∂p − κ·∂E(0)/∂p)/E(0)` (the envelope has `ξ = 0` fixed:
/// `∂E/∂ξ = 0`). One pass over the grid evaluates every alias term once for both sums.
///
/// # Shapes
/// - `cotangent`: `[height, width]`, FFT order (the gradient of a loss with respect to the spectrum)
///
/// # Panics
/// If `cotangent` is not `height × width`, or `p` needs more than `MAX_ALIAS_RADIUS` aliases.
pub fn morlet_spectrum_vjp(
    height: usize,
    width: usize,
    p: &MorletParams,
    cotangent: ndarray::ArrayView2<'_, f64>,
) -> [f64; 4] {
    assert_eq!(
        cotangent.dim(),
        (height, width),
        "morlet_spectrum_vjp: the cotangent must be {height}x{width}"
    );
    let rows = angular_frequencies(height);
    let cols = angular_frequencies(width);
    let carrier = GaborForm::new(p);
    let envelope = GaborForm::new(&MorletParams { xi: 0.0, ..*p });
    // Σ ḡ·∂C/∂p, Σ ḡ·∂E/∂p, Σ ḡ·E, and the values and derivatives at ω = 0.
    let (mut gc, mut ge, mut g_env) = ([0.0; 4], [0.0; 4], 0.0);
    let (mut c0, mut dc0, mut e0, mut de0) = (0.0, [0.0; 4], 0.0, [0.0; 4]);
    for (k, &wr) in rows.iter().enumerate() {
        let (carrier_rows, envelope_rows) = (carrier.row_windows(wr), envelope.row_windows(wr));
        for (l, &wc) in cols.iter().enumerate() {
            let (c, dc) = carrier.periodized_with_derivatives(&carrier_rows, wc);
            let (e, mut de) = envelope.periodized_with_derivatives(&envelope_rows, wc);
            de[1] = 0.0;
            if k == 0 && l == 0 {
                (c0, dc0, e0, de0) = (c, dc, e, de);
            }
            let g = cotangent[[k, l]];
            for i in 0..4 {
                gc[i] += g * dc[i];
                ge[i] += g * de[i];
            }
            g_env += g * e;
        }
    }
    let kappa = c0 / e0;
    std::array::from_fn(|i| gc[i] - kappa * ge[i] - g_env * (dc0[i] - kappa * de0[i]) / e0)
}

/// The spectra of `wavelets` on a `height × width` grid, flat `[n][height][width]` (row-major,
/// FFT order): [`morlet_spectrum`] of each, in parallel. What the cascade and the burn layer's
/// construction take.
pub(crate) fn wavelet_spectra(wavelets: &[MorletParams], height: usize, width: usize) -> Vec<f64> {
    let spectra: Vec<Array2<f64>> = wavelets
        .par_iter()
        .map(|p| morlet_spectrum(height, width, p))
        .collect();
    spectra.iter().flat_map(|p| p.iter().copied()).collect()
}

/// [`morlet_spectrum_vjp`] of every wavelet, in parallel: `cotangents` is the gradient with
/// respect to [`wavelet_spectra`]'s output (same flat layout, any float type), and the result is
/// each wavelet's `[∂L/∂σ, ∂L/∂ξ, ∂L/∂θ, ∂L/∂slant]`.
///
/// # Panics
/// If `cotangents` does not hold `wavelets.len()` planes of `height × width`.
pub(crate) fn wavelet_spectra_vjp<S: num_traits::ToPrimitive + Sync>(
    wavelets: &[MorletParams],
    height: usize,
    width: usize,
    cotangents: &[S],
) -> Vec<[f64; 4]> {
    let plane = height * width;
    assert_eq!(
        cotangents.len(),
        wavelets.len() * plane,
        "wavelet_spectra_vjp: expected {} planes of {height}x{width}",
        wavelets.len()
    );
    wavelets
        .par_iter()
        .zip(cotangents.par_chunks(plane))
        .map(|(p, c)| {
            let c: Vec<f64> = c.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect();
            let c = ndarray::ArrayView2::from_shape((height, width), &c).expect("one plane");
            morlet_spectrum_vjp(height, width, p, c)
        })
        .collect()
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
