//! Typed filter-bank parameters: tight-frame, seeded random, or explicit.

use std::f64::consts::PI;

use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use serde::{Deserialize, Serialize};

use super::{
    LOW_PASS_SIGMA0, RANDOM_SIGMA_EXP_RANGE, RANDOM_SLANT_RANGE, RANDOM_THETA_RANGE,
    RANDOM_XI_RANGE, TIGHT_FRAME_SIGMA0, TIGHT_FRAME_SLANT_NUMERATOR, TIGHT_FRAME_XI0,
};
use crate::error::{Result, ScatterError};
use crate::geometry::{ScatteringOptions, ScatteringPath};

/// Parameters of one Morlet wavelet.
///
/// Spatial form (before periodisation and normalisation):
/// `ψ(u) = exp(−(u∥² + slant²·u⊥²) / (2σ²)) · (exp(i·ξ·u∥) − κ)`, with `u∥ = u·e_θ`,
/// `u⊥ = u·e_θ⊥`, `e_θ = (cos θ, sin θ)`, `e_θ⊥ = (−sin θ, cos θ)` in (row, column) coordinates
/// and `κ` the zero-mean correction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MorletParams {
    /// Gaussian width `σ` along the wave vector, in pixels (> 0).
    pub sigma: f64,
    /// Central frequency `ξ`, radians per pixel.
    pub xi: f64,
    /// Orientation `θ` of the wave vector, radians.
    pub theta: f64,
    /// Aspect ratio `slant` (> 0): the envelope is `σ / slant` wide across the wave vector.
    pub slant: f64,
}

impl MorletParams {
    /// [`ScatterError::InvalidWavelet`] naming wavelet `index` for a non-finite value, a
    /// non-positive `σ` or `slant`, or a spectrum that is not finite or cannot be built.
    pub(crate) fn check(&self, index: usize) -> Result<()> {
        let bad = |name, value, reason| ScatterError::InvalidWavelet {
            index,
            name,
            value,
            reason,
        };
        for (name, value) in [
            ("sigma", self.sigma),
            ("xi", self.xi),
            ("theta", self.theta),
            ("slant", self.slant),
        ] {
            if !value.is_finite() {
                return Err(bad(name, value, "must be finite"));
            }
        }
        if self.sigma <= 0.0 {
            return Err(bad("sigma", self.sigma, "must be positive"));
        }
        if self.slant <= 0.0 {
            return Err(bad("slant", self.slant, "must be positive"));
        }
        if let Some((name, value, reason)) = super::spectral::spectrum_defect(self) {
            return Err(bad(name, value, reason));
        }
        Ok(())
    }
}

/// Tight-frame orientation of index `l` among `L`: `θ_l = (⌊L − L/2 − 1⌋ − l)·π/L` (kymatio
/// `filter_bank.py`; `int()` truncates toward zero, so odd `L` gives `⌊L/2 − 1⌋` rounded toward 0).
pub(crate) fn tight_frame_theta(l: usize, num_orientations: usize) -> f64 {
    let big_l = num_orientations as f64;
    let start = (big_l - big_l / 2.0 - 1.0).trunc();
    (start - l as f64) * PI / big_l
}

/// The `J·L` wavelets of a filter bank (index `n = j·L + l`) and its fixed low-pass.
///
/// Slot `j` decides at which resolution a wavelet is applied (the cascade and the burn layer
/// subsample by `2^j` after it), whatever its `σ` and `ξ`: a learned or random wavelet in slot `j`
/// whose band reaches past the slot's Nyquist frequency aliases, as in the reference code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterBankParams {
    num_scales: usize,
    num_orientations: usize,
    wavelets: Vec<MorletParams>,
}

impl FilterBankParams {
    /// kymatio's tight frame: `σ_j = 0.8·2^j`, `ξ_j = (3π/4)·2^(−j)`, `slant = 4/L`,
    /// `θ_l` from `tight_frame_theta`.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] if `J` or `L` is 0 or `J > 30`.
    pub fn tight_frame(num_scales: usize, num_orientations: usize) -> Result<Self> {
        ScatteringOptions::new(num_scales, num_orientations)?;
        let slant = TIGHT_FRAME_SLANT_NUMERATOR / num_orientations as f64;
        let wavelets = (0..num_scales)
            .flat_map(|j| {
                (0..num_orientations).map(move |l| MorletParams {
                    sigma: TIGHT_FRAME_SIGMA0 * 2f64.powi(j as i32),
                    xi: TIGHT_FRAME_XI0 / 2f64.powi(j as i32),
                    theta: tight_frame_theta(l, num_orientations),
                    slant,
                })
            })
            .collect();
        Ok(Self {
            num_scales,
            num_orientations,
            wavelets,
        })
    }

    /// Random bank with the ranges of "Parametric Scattering Networks" (`create_filters_params_random`),
    /// drawn per wavelet in slot order from a ChaCha8 generator seeded with `seed` (portable across
    /// platforms and versions): `θ ~ U[0, 2π)`, `slant ~ U[0.5, 1.5]`, `ξ ~ U[0.5, 1]`,
    /// `σ = ln s` with `s ~ U[e, e⁵]`.
    ///
    /// # Errors
    /// As [`FilterBankParams::tight_frame`].
    pub fn random(num_scales: usize, num_orientations: usize, seed: u64) -> Result<Self> {
        ScatteringOptions::new(num_scales, num_orientations)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (s_lo, s_hi) = (
            RANDOM_SIGMA_EXP_RANGE.0.exp(),
            RANDOM_SIGMA_EXP_RANGE.1.exp(),
        );
        let wavelets = (0..num_scales * num_orientations)
            .map(|_| {
                let theta = rng.random_range(RANDOM_THETA_RANGE.0..RANDOM_THETA_RANGE.1);
                let slant = rng.random_range(RANDOM_SLANT_RANGE.0..=RANDOM_SLANT_RANGE.1);
                let xi = rng.random_range(RANDOM_XI_RANGE.0..=RANDOM_XI_RANGE.1);
                let sigma = rng.random_range(s_lo..=s_hi).ln();
                MorletParams {
                    sigma,
                    xi,
                    theta,
                    slant,
                }
            })
            .collect();
        Ok(Self {
            num_scales,
            num_orientations,
            wavelets,
        })
    }

    /// A bank from explicit wavelets in slot order `n = j·L + l`, for example learned parameters.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for bad `J` / `L`, [`ScatterError::FilterCount`] if
    /// `wavelets.len() != J·L`, [`ScatterError::InvalidWavelet`] for a non-finite value, a
    /// non-positive `σ` or `slant`, or a wavelet whose spectrum is not finite or cannot be built
    /// (`crate::filters::spectral::spectrum_defect`), naming the wavelet.
    pub fn from_wavelets(
        num_scales: usize,
        num_orientations: usize,
        wavelets: Vec<MorletParams>,
    ) -> Result<Self> {
        ScatteringOptions::new(num_scales, num_orientations)?;
        let expected = num_scales * num_orientations;
        if wavelets.len() != expected {
            return Err(ScatterError::FilterCount {
                expected,
                got: wavelets.len(),
            });
        }
        for (index, w) in wavelets.iter().enumerate() {
            w.check(index)?;
        }
        Ok(Self {
            num_scales,
            num_orientations,
            wavelets,
        })
    }

    /// Re-checks a bank obtained by deserialisation, which bypasses the constructors.
    ///
    /// # Errors
    /// As [`FilterBankParams::from_wavelets`].
    pub(crate) fn validate(&self) -> Result<()> {
        Self::from_wavelets(
            self.num_scales,
            self.num_orientations,
            self.wavelets.clone(),
        )
        .map(|_| ())
    }

    /// Number of scales `J`.
    pub fn num_scales(&self) -> usize {
        self.num_scales
    }

    /// Number of orientations `L`.
    pub fn num_orientations(&self) -> usize {
        self.num_orientations
    }

    /// All wavelets, index `n = j·L + l`, length `J·L`.
    pub fn wavelets(&self) -> &[MorletParams] {
        &self.wavelets
    }

    /// The wavelet of slot `(j, l)`.
    ///
    /// # Panics
    /// If `j ≥ J` or `l ≥ L`.
    pub fn wavelet(&self, j: usize, l: usize) -> &MorletParams {
        assert!(
            j < self.num_scales && l < self.num_orientations,
            "wavelet ({j}, {l}) out of range for J = {}, L = {}",
            self.num_scales,
            self.num_orientations
        );
        &self.wavelets[j * self.num_orientations + l]
    }

    /// Fraction of each wavelet's spectral energy that the subsampling after it aliases, on an
    /// `height × width` Fourier grid (the padded grid of the input): see
    /// `crate::filters::diagnostics::aliased_energy`. Index `n = j·L + l`.
    ///
    /// # Panics
    /// If the grid is not divisible by `2^J` (padded grids always are).
    pub fn aliasing(&self, height: usize, width: usize) -> Vec<f64> {
        let spectra = super::spectral::bank_spectra(self, height, width);
        super::diagnostics::aliasing_fractions(&spectra, self.num_orientations)
    }

    /// The channel table `paths` as JSON, one object per output channel:
    /// `{"channel", "order", "j1", "l1", "theta1", "j2", "l2", "theta2"}`, with `null` for entries a
    /// path does not use and the angles (radians) of this bank's wavelets.
    ///
    /// # Panics
    /// If a path refers to a wavelet outside the bank (paths built for another `J` or `L`).
    pub fn paths_json(&self, paths: &[ScatteringPath]) -> serde_json::Value {
        let theta = |j: usize, l: usize| self.wavelet(j, l).theta;
        serde_json::Value::Array(
            paths
                .iter()
                .enumerate()
                .map(|(channel, p)| {
                    // The row (order, j1, l1, j2, l2), -1 where unused (`ScatteringPath::as_row`).
                    let [order, j1, l1, j2, l2] = p.as_row().map(|v| usize::try_from(v).ok());
                    serde_json::json!({
                        "channel": channel,
                        "order": order,
                        "j1": j1, "l1": l1, "theta1": j1.zip(l1).map(|(j, l)| theta(j, l)),
                        "j2": j2, "l2": l2, "theta2": j2.zip(l2).map(|(j, l)| theta(j, l)),
                    })
                })
                .collect(),
        )
    }

    /// Width of the fixed low-pass, `σ_φ = 0.8·2^(J−1)`.
    pub(crate) fn low_pass_sigma(&self) -> f64 {
        LOW_PASS_SIGMA0 * 2f64.powi(self.num_scales as i32 - 1)
    }

    /// The low-pass as a (plain Gaussian, no zero-mean correction) parameter set:
    /// `σ = σ_φ, ξ = 0, θ = 0, slant = 1`.
    pub(crate) fn low_pass(&self) -> MorletParams {
        MorletParams {
            sigma: self.low_pass_sigma(),
            xi: 0.0,
            theta: 0.0,
            slant: 1.0,
        }
    }
}

/// How a filter bank is initialised, without the seed: kymatio's tight frame or the paper's
/// random draws. What experiment grids, run records and command lines name (`TF`, `Rand`;
/// `tf`, `random`); with a burn backend, `InitKind::filter_init` adds the seed to give the
/// layer's `FilterInit`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum InitKind {
    /// kymatio's tight frame ([`FilterBankParams::tight_frame`], `TF`).
    TightFrame,
    /// The paper's random draws ([`FilterBankParams::random`], `Rand`).
    Random,
}

impl InitKind {
    /// `TF` or `Rand`, as in the paper's tables.
    pub(crate) fn label(self) -> &'static str {
        match self {
            InitKind::TightFrame => "TF",
            InitKind::Random => "Rand",
        }
    }

    /// Both kinds, tight frame first (the paper's table order).
    pub const ALL: [InitKind; 2] = [InitKind::TightFrame, InitKind::Random];

    /// `tf` or `random`: the name on command lines and in file names.
    pub fn name(self) -> &'static str {
        match self {
            InitKind::TightFrame => "tf",
            InitKind::Random => "random",
        }
    }
}

impl std::fmt::Display for InitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for InitKind {
    type Err = crate::error::ScatterError;

    /// `tf` or `random` ([`InitKind::name`]), or the table labels `TF` and `Rand`.
    fn from_str(name: &str) -> crate::error::Result<Self> {
        InitKind::ALL
            .into_iter()
            .find(|k| k.name() == name || k.label() == name)
            .ok_or_else(|| crate::error::ScatterError::InvalidParameter {
                name: "init",
                value: name.to_string(),
                reason: "expected tf or random",
            })
    }
}

/// What is trained, in the paper's names (`parameterization` in the reference code); the trained
/// values and their expansion into wavelets are in `super::parametrization`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Parametrization {
    /// Four parameters per wavelet, `4·J·L` in all (the paper's `canonical`, its main setting).
    Canonical,
    /// One `(σ, ξ, θ, slant)` per scale, `4·J` in all; wavelet `l` of scale `j` has orientation
    /// `θ_j − l·π/L` (the paper's `equivariant`).
    Equivariant,
    /// Free real Fourier filters of shape `[J·L, Mp, Np]` on the padded grid, initialised from the
    /// Morlets (the paper's `pixelwise`, its non-parametric ablation).
    Pixelwise,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tight_frame_angles_follow_kymatio() {
        // L = 8: 3π/8, π/4, π/8, 0, −π/8, −π/4, −3π/8, −π/2.
        let got: Vec<f64> = (0..8).map(|l| tight_frame_theta(l, 8) * 8.0 / PI).collect();
        for (g, e) in got.iter().zip([3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0]) {
            assert!((g - e).abs() < 1e-12);
        }
        // L = 3: int(3 − 1.5 − 1) = int(0.5) = 0 → 0, −π/3, −2π/3.
        assert_eq!(tight_frame_theta(0, 3), 0.0);
        assert!((tight_frame_theta(2, 3) + 2.0 * PI / 3.0).abs() < 1e-12);
        // L = 1: int(1 − 0.5 − 1) = int(−0.5) = 0 (truncation toward zero).
        assert_eq!(tight_frame_theta(0, 1), 0.0);
    }

    #[test]
    fn tight_frame_scale_table() {
        let bank = FilterBankParams::tight_frame(4, 8).unwrap();
        for (j, (sigma, xi)) in [(0.8, 2.356), (1.6, 1.178), (3.2, 0.589), (6.4, 0.295)]
            .into_iter()
            .enumerate()
        {
            let w = bank.wavelet(j, 5);
            assert!((w.sigma - sigma).abs() < 1e-12);
            assert!((w.xi - xi).abs() < 1e-3);
            assert_eq!(w.slant, 0.5);
        }
        assert_eq!(bank.low_pass_sigma(), 6.4);
    }

    #[test]
    fn random_bank_is_seeded_and_in_range() {
        let a = FilterBankParams::random(3, 8, 7).unwrap();
        let b = FilterBankParams::random(3, 8, 7).unwrap();
        let c = FilterBankParams::random(3, 8, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        for w in a.wavelets() {
            assert!((0.0..2.0 * PI).contains(&w.theta));
            assert!((0.5..=1.5).contains(&w.slant));
            assert!((0.5..=1.0).contains(&w.xi));
            assert!((1.0..=5.0).contains(&w.sigma));
        }
        assert!(FilterBankParams::from_wavelets(3, 8, a.wavelets().to_vec()).is_ok());
    }

    #[test]
    fn explicit_banks_are_checked() {
        let tf = FilterBankParams::tight_frame(2, 4).unwrap();
        let mut w = tf.wavelets().to_vec();
        assert!(matches!(
            FilterBankParams::from_wavelets(2, 4, w[..7].to_vec()),
            Err(ScatterError::FilterCount {
                expected: 8,
                got: 7
            })
        ));
        w[3].sigma = -1.0;
        assert!(matches!(
            FilterBankParams::from_wavelets(2, 4, w.clone()),
            Err(ScatterError::InvalidWavelet {
                index: 3,
                name: "sigma",
                ..
            })
        ));
        w[3].sigma = 1.0;
        w[5].theta = f64::NAN;
        let e = FilterBankParams::from_wavelets(2, 4, w).unwrap_err();
        assert!(e.to_string().contains("wavelet 5: invalid `theta`"), "{e}");
    }

    #[test]
    fn json_round_trip() {
        let bank = FilterBankParams::random(2, 6, 1).unwrap();
        let text = serde_json::to_string(&bank).unwrap();
        let back: FilterBankParams = serde_json::from_str(&text).unwrap();
        assert_eq!(bank, back);
        back.validate().unwrap();
    }
}
