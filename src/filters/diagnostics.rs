//! Frame diagnostics of a filter bank: the Littlewood–Paley sum and its bounds.

use ndarray::Array2;

use super::spectral::BankSpectra;

/// Plain Littlewood–Paley sum `Σ_n |ψ̂_n(ω)|² + |φ̂(ω)|²`, shape `[height, width]`.
///
/// For kymatio's bank (orientations over a half circle only) it peaks near 2, not 1; see
/// [`littlewood_paley_symmetric`].
pub fn littlewood_paley(spectra: &BankSpectra) -> Array2<f64> {
    let mut sum = spectra.phi.mapv(|v| v * v);
    for psi in &spectra.psi {
        sum.zip_mut_with(psi, |s, &v| *s += v * v);
    }
    sum
}

/// Symmetrised sum `½ Σ_n (|ψ̂_n(ω)|² + |ψ̂_n(−ω)|²) + |φ̂(ω)|²`, shape `[height, width]`: the frame
/// of a real signal, where `ψ_n` and its mirror `ψ_n(−·)` carry the same information.
pub fn littlewood_paley_symmetric(spectra: &BankSpectra) -> Array2<f64> {
    let (h, w) = spectra.phi.dim();
    let mut sum = spectra.phi.mapv(|v| v * v);
    for psi in &spectra.psi {
        for ((k, l), s) in sum.indexed_iter_mut() {
            let mirror = psi[[(h - k) % h, (w - l) % w]];
            *s += 0.5 * (psi[[k, l]] * psi[[k, l]] + mirror * mirror);
        }
    }
    sum
}

/// Frame bounds `(A, B)`: the minimum and maximum of a Littlewood–Paley sum over all frequencies.
pub fn frame_bounds(lp: &Array2<f64>) -> (f64, f64) {
    lp.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

#[cfg(test)]
mod tests {
    use super::super::{FilterBankParams, spectral::bank_spectra};
    use super::*;

    #[test]
    fn tight_frame_bounds_match_the_reference_values() {
        // style.md §6 (computed from kymatio's bank): the plain sum peaks at 1.80 (32×32, J=2),
        // the symmetrised one at 1.00006 and dips to 0.123.
        let bank = FilterBankParams::tight_frame(2, 8).unwrap();
        let spectra = bank_spectra(&bank, 40, 40);
        let (_, hi) = frame_bounds(&littlewood_paley(&spectra));
        assert!((hi - 1.80).abs() < 0.01, "{hi}");
        let (lo, hi) = frame_bounds(&littlewood_paley_symmetric(&spectra));
        assert!((hi - 1.00006).abs() < 1e-4, "{hi}");
        assert!(lo > 0.1 && lo < 0.15, "{lo}");
    }
}
