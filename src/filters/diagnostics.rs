//! Diagnostics of a filter bank: the Littlewood–Paley sum and its bounds, and how much of each
//! wavelet's energy the subsampling after it aliases.

use ndarray::{Array2, ArrayView2};

use super::periodize_rows;
use super::spectral::BankSpectra;

/// The aliasing fraction (`aliased_energy`) above which a wavelet is reported: one half, where
/// more of its energy is folded onto other frequencies than kept in place. kymatio's tight frame
/// itself aliases up to 0.304 of a wavelet's energy at `L ≥ 3` (0.358 at `L = 2`, 0.586 at
/// `L = 1`, `aliasing_of_the_tight_frame_stays_below_the_threshold`), and the paper's random banks
/// hardly at all: a wavelet that crosses one half while training has left the band its slot
/// keeps.
pub const ALIASING_WARNING: f64 = 0.5;

/// Fraction of a spectrum's energy `Σ|ψ̂|²` that lies outside the band a grid subsampled by
/// `2^res` keeps: the bins `ω ∈ [−π/2^res, π/2^res)²` on each axis (the crop indices of
/// [`periodize_rows`]). The scattering subsamples by `2^j` after every wavelet of slot `j` (and
/// crops it to resolution `j1` first when order 2 applies it to `|x ⋆ ψ_{j1}|`), so this energy
/// is folded onto other frequencies, or dropped. 0 for a zero spectrum.
///
/// # Panics
/// As [`periodize_rows`] (a grid not divisible by `2^(res+1)`).
pub(crate) fn aliased_energy(spectrum: ArrayView2<'_, f64>, res: usize) -> f64 {
    let total: f64 = spectrum.iter().map(|v| v * v).sum();
    if total == 0.0 {
        return 0.0;
    }
    let (h, w) = spectrum.dim();
    let (rows, cols) = (periodize_rows(h, res), periodize_rows(w, res));
    let kept: f64 = rows
        .iter()
        .flat_map(|&r| cols.iter().map(move |&c| spectrum[[r, c]]))
        .map(|v| v * v)
        .sum();
    ((total - kept) / total).max(0.0)
}

/// [`aliased_energy`] of every wavelet of a bank at its slot's resolution (`n = j·L + l`
/// subsampled by `2^j`).
pub(crate) fn aliasing_fractions(spectra: &BankSpectra, num_orientations: usize) -> Vec<f64> {
    spectra
        .psi
        .iter()
        .enumerate()
        .map(|(n, psi)| aliased_energy(psi.view(), n / num_orientations))
        .collect()
}

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
    fn aliasing_of_the_tight_frame_stays_below_the_threshold() {
        let largest = |j: usize, l: usize, size: usize| -> f64 {
            let bank = FilterBankParams::tight_frame(j, l).unwrap();
            let grid = crate::geometry::PaddedGeometry::new(size, size, j)
                .unwrap()
                .padded_size();
            let fractions = aliasing_fractions(&bank_spectra(&bank, grid[0], grid[1]), l);
            // Slot 0 is never subsampled.
            assert!(fractions[..l].iter().all(|&f| f == 0.0));
            fractions.iter().fold(0.0f64, |m, f| m.max(*f))
        };
        // Measured: 0.304 for L ≥ 3 at every J, 0.358 at L = 2, 0.586 at L = 1.
        for (j, l, size) in [
            (2, 8, 32),
            (3, 8, 64),
            (4, 8, 128),
            (3, 4, 48),
            (5, 6, 64),
            (3, 2, 48),
        ] {
            let m = largest(j, l, size);
            assert!(m > 0.25 && m < ALIASING_WARNING, "J={j} L={l}: {m}");
        }
        assert!(largest(2, 1, 32) > ALIASING_WARNING);
        // The paper's random banks sit at low frequencies: hardly any aliasing.
        let bank = FilterBankParams::random(2, 8, 3).unwrap();
        let f = aliasing_fractions(&bank_spectra(&bank, 40, 40), 8);
        assert!(f.iter().all(|&f| f < 0.2), "{f:?}");
    }

    #[test]
    fn tight_frame_bounds_match_the_reference_values() {
        // Values of kymatio 0.3.0's own bank (`tests/fixtures/gen_frame_bounds.py` computes them with
        // kymatio; `tests/analysis.rs` checks all five grids): the plain sum peaks at 1.80 (32×32, J=2),
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
