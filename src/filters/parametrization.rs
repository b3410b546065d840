//! What a learnable filter bank trains, and how the trained values become its wavelets: the
//! expansion of each [`Parametrization`] and its vector–Jacobian product, framework-free. The burn
//! layer's filter construction (`nn::construction`) and the Python package's torch module
//! (`python/`) both call these, so the expansion and its gradient exist once.
//!
//! # What is trained
//!
//! [`TrainedValues`]: `ln σ`, `ξ`, `θ` and `ln slant`. `σ` and the slant are trained as their
//! logarithms, so that no optimiser step can make them zero or negative (a Morlet wavelet needs
//! both positive) and a step moves them by a factor rather than by an amount, which suits widths
//! that span `0.8` to `6.4` pixels in one bank. The reference code of "Parametric Scattering
//! Networks" trains `σ` and the slant themselves; a learning rate therefore means something
//! slightly different here (the gradient in `ln σ` is `σ·∂L/∂σ`).
//!
//! # The three parametrisations (the paper's names)
//!
//! - [`Parametrization::Canonical`]: one value of each family per wavelet, `J·L` each; wavelet
//!   `n = j·L + l` is `(exp(ln σ_n), ξ_n, θ_n, exp(ln slant_n))`.
//! - [`Parametrization::Equivariant`]: one value of each family per scale, `J` each; wavelet
//!   `(j, l)` is that of scale `j` turned by `−l·π/L`: `θ_{j,l} = θ_j − l·π/L`.
//! - [`Parametrization::Pixelwise`]: the trained values are the wavelet spectra themselves,
//!   `[J·L, Mp, Np]` on the padded grid, initialised from the Morlet wavelets of the initial bank
//!   ([`super::spectral::wavelet_spectra`]); its Morlet values are one per wavelet, as canonical,
//!   and stay frozen.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! use learnable_scattering::filters::{FilterBankParams, Parametrization};
//!
//! let bank = FilterBankParams::tight_frame(2, 4)?;
//! let trained = Parametrization::Equivariant.trained_values(&bank);
//! assert_eq!(trained.xi.len(), 2); // one per scale
//! let wavelets = Parametrization::Equivariant.wavelets(2, 4, &trained)?;
//! assert_eq!(wavelets.len(), 8);
//! // The gradient with respect to each wavelet's (σ, ξ, θ, slant), carried back to the trained
//! // values: summed over the orientations of a scale, times σ (or the slant) for a logarithm.
//! let grad = vec![[1.0, 0.0, 0.0, 0.0]; 8];
//! let back = Parametrization::Equivariant.wavelets_vjp(2, 4, &trained, &grad)?;
//! assert!((back.log_sigma[1] - 4.0 * wavelets[4].sigma).abs() < 1e-12);
//! # Ok(()) }
//! ```

use std::f64::consts::PI;

use super::{FilterBankParams, MorletParams, Parametrization};
use crate::error::{Result, ScatterError};
use crate::geometry::ScatteringOptions;

/// The trained values of a Morlet filter bank, by family: `ln σ`, `ξ`, `θ`, `ln slant`, each of
/// [`Parametrization::trained_len`] values. Also the layout of their gradient
/// ([`Parametrization::wavelets_vjp`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedValues {
    /// `ln σ`.
    pub log_sigma: Vec<f64>,
    /// `ξ`, radians per pixel.
    pub xi: Vec<f64>,
    /// `θ`, radians.
    pub theta: Vec<f64>,
    /// `ln slant`.
    pub log_slant: Vec<f64>,
}

impl TrainedValues {
    /// The trained values of `wavelets`, one each: logarithms of `σ` and the slant.
    pub(crate) fn of_wavelets(wavelets: &[MorletParams]) -> Self {
        Self {
            log_sigma: wavelets.iter().map(|p| p.sigma.ln()).collect(),
            xi: wavelets.iter().map(|p| p.xi).collect(),
            theta: wavelets.iter().map(|p| p.theta).collect(),
            log_slant: wavelets.iter().map(|p| p.slant.ln()).collect(),
        }
    }

    /// The four families in the order `ln σ`, `ξ`, `θ`, `ln slant`.
    pub fn families(&self) -> [&[f64]; 4] {
        [&self.log_sigma, &self.xi, &self.theta, &self.log_slant]
    }

    fn from_families([log_sigma, xi, theta, log_slant]: [Vec<f64>; 4]) -> Self {
        Self {
            log_sigma,
            xi,
            theta,
            log_slant,
        }
    }
}

impl Parametrization {
    /// Every parametrisation, in the paper's order.
    pub const ALL: [Parametrization; 3] = [
        Parametrization::Canonical,
        Parametrization::Equivariant,
        Parametrization::Pixelwise,
    ];

    /// The paper's name: `canonical`, `equivariant`, `pixelwise` (the reference code's
    /// `parameterization` values, and the Python module's `parametrization` argument).
    pub fn name(self) -> &'static str {
        match self {
            Parametrization::Canonical => "canonical",
            Parametrization::Equivariant => "equivariant",
            Parametrization::Pixelwise => "pixelwise",
        }
    }

    /// Values per trained family: `J` (equivariant) or `J·L`.
    pub fn trained_len(self, num_scales: usize, num_orientations: usize) -> usize {
        match self {
            Parametrization::Equivariant => num_scales,
            Parametrization::Canonical | Parametrization::Pixelwise => {
                num_scales * num_orientations
            }
        }
    }

    /// The trained values that start from `bank`: every wavelet's (canonical, pixelwise), or the
    /// `l = 0` wavelet of each scale (equivariant, whose other orientations follow from it).
    pub fn trained_values(self, bank: &FilterBankParams) -> TrainedValues {
        match self {
            Parametrization::Equivariant => {
                let first: Vec<MorletParams> = (0..bank.num_scales())
                    .map(|j| *bank.wavelet(j, 0))
                    .collect();
                TrainedValues::of_wavelets(&first)
            }
            Parametrization::Canonical | Parametrization::Pixelwise => {
                TrainedValues::of_wavelets(bank.wavelets())
            }
        }
    }

    /// The paper's random initialisation for this parametrisation, seeded with `seed`: every
    /// wavelet drawn ([`FilterBankParams::random`]) for canonical and pixelwise, one per scale
    /// (`FilterBankParams::random(J, 1, seed)`) turned into its `L` orientations for equivariant.
    ///
    /// # Errors
    /// As [`FilterBankParams::random`].
    pub fn random_bank(
        self,
        num_scales: usize,
        num_orientations: usize,
        seed: u64,
    ) -> Result<FilterBankParams> {
        match self {
            Parametrization::Equivariant => {
                ScatteringOptions::new(num_scales, num_orientations)?;
                let per_scale = FilterBankParams::random(num_scales, 1, seed)?;
                let trained = TrainedValues::of_wavelets(per_scale.wavelets());
                self.bank(num_scales, num_orientations, &trained)
            }
            Parametrization::Canonical | Parametrization::Pixelwise => {
                FilterBankParams::random(num_scales, num_orientations, seed)
            }
        }
    }

    /// The `J·L` wavelets (slot `n = j·L + l`) of `trained`, unchecked: values that training
    /// drove out of range are returned as they are ([`Parametrization::bank`] checks them).
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for `J` or `L` out of range, or a family that does not
    /// hold [`Parametrization::trained_len`] values (naming it).
    pub fn wavelets(
        self,
        num_scales: usize,
        num_orientations: usize,
        trained: &TrainedValues,
    ) -> Result<Vec<MorletParams>> {
        self.check(num_scales, num_orientations, trained)?;
        Ok((0..num_scales * num_orientations)
            .map(|n| {
                let (i, l) = self.source(n, num_orientations);
                MorletParams {
                    sigma: trained.log_sigma[i].exp(),
                    xi: trained.xi[i],
                    theta: trained.theta[i] - self.theta_offset(l, num_orientations),
                    slant: trained.log_slant[i].exp(),
                }
            })
            .collect())
    }

    /// [`Parametrization::wavelets`] as a checked bank ([`FilterBankParams::from_wavelets`]).
    ///
    /// # Errors
    /// As [`Parametrization::wavelets`], and [`ScatterError::InvalidWavelet`] for a wavelet out of
    /// range (for example a non-finite value, or one too narrow for its spectrum to be built).
    pub fn bank(
        self,
        num_scales: usize,
        num_orientations: usize,
        trained: &TrainedValues,
    ) -> Result<FilterBankParams> {
        let wavelets = self.wavelets(num_scales, num_orientations, trained)?;
        FilterBankParams::from_wavelets(num_scales, num_orientations, wavelets)
    }

    /// The vector–Jacobian product of [`Parametrization::wavelets`]: from the gradient with
    /// respect to each wavelet's `(σ, ξ, θ, slant)` (what
    /// `spectral::wavelet_spectra_vjp` and
    /// [`crate::cascade::ScatteringGradients::wavelets`] give) to the gradient with respect to the
    /// trained values: `∂L/∂ln σ = σ·∂L/∂σ` (likewise the slant), summed over the wavelets a
    /// trained value feeds (the `L` orientations of a scale, equivariant). The orientation offset
    /// is a constant: `∂L/∂θ_j = Σ_l ∂L/∂θ_{j,l}`.
    ///
    /// # Errors
    /// As [`Parametrization::wavelets`], and [`ScatterError::InvalidParameter`] (`gradient`) when
    /// `grad` does not hold `J·L` rows.
    pub fn wavelets_vjp(
        self,
        num_scales: usize,
        num_orientations: usize,
        trained: &TrainedValues,
        grad: &[[f64; 4]],
    ) -> Result<TrainedValues> {
        self.check(num_scales, num_orientations, trained)?;
        let count = num_scales * num_orientations;
        if grad.len() != count {
            return Err(ScatterError::InvalidParameter {
                name: "gradient",
                value: format!("{} rows", grad.len()),
                reason: "the gradient must hold one (σ, ξ, θ, slant) row per wavelet, J·L rows",
            });
        }
        let len = self.trained_len(num_scales, num_orientations);
        let mut out: [Vec<f64>; 4] = std::array::from_fn(|_| vec![0.0; len]);
        for (n, g) in grad.iter().enumerate() {
            let (i, _) = self.source(n, num_orientations);
            out[0][i] += g[0] * trained.log_sigma[i].exp();
            out[1][i] += g[1];
            out[2][i] += g[2];
            out[3][i] += g[3] * trained.log_slant[i].exp();
        }
        Ok(TrainedValues::from_families(out))
    }

    /// The trained value behind wavelet `n` and its orientation index `l`.
    fn source(self, n: usize, num_orientations: usize) -> (usize, usize) {
        let l = n % num_orientations;
        match self {
            Parametrization::Equivariant => (n / num_orientations, l),
            Parametrization::Canonical | Parametrization::Pixelwise => (n, l),
        }
    }

    /// What orientation `l` subtracts from the trained `θ`: `l·π/L` (equivariant), else 0.
    fn theta_offset(self, l: usize, num_orientations: usize) -> f64 {
        match self {
            Parametrization::Equivariant => l as f64 * PI / num_orientations as f64,
            Parametrization::Canonical | Parametrization::Pixelwise => 0.0,
        }
    }

    fn check(
        self,
        num_scales: usize,
        num_orientations: usize,
        trained: &TrainedValues,
    ) -> Result<()> {
        ScatteringOptions::new(num_scales, num_orientations)?;
        let len = self.trained_len(num_scales, num_orientations);
        let names = ["log_sigma", "xi", "theta", "log_slant"];
        for (name, family) in names.into_iter().zip(trained.families()) {
            if family.len() != len {
                return Err(ScatterError::InvalidParameter {
                    name,
                    value: format!("{} values", family.len()),
                    reason: match self {
                        Parametrization::Equivariant => {
                            "an equivariant bank trains one value per scale, J in all"
                        }
                        _ => {
                            "a canonical or pixelwise bank trains one value per wavelet, J·L in all"
                        }
                    },
                });
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Parametrization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Parametrization {
    type Err = ScatterError;

    /// `canonical`, `equivariant` or `pixelwise` ([`Parametrization::name`]).
    fn from_str(name: &str) -> Result<Self> {
        Parametrization::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ScatterError::InvalidParameter {
                name: "parametrization",
                value: name.to_string(),
                reason: "expected canonical, equivariant or pixelwise",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn trained_values_of_a_bank_expand_back_to_it() {
        let bank = FilterBankParams::random(3, 4, 5).unwrap();
        for p in [Parametrization::Canonical, Parametrization::Pixelwise] {
            let back = p.wavelets(3, 4, &p.trained_values(&bank)).unwrap();
            for (a, b) in back.iter().zip(bank.wavelets()) {
                assert!(close(a.sigma, b.sigma) && a.xi == b.xi && a.theta == b.theta);
                assert!(close(a.slant, b.slant));
            }
        }
        // Equivariant keeps the l = 0 wavelet of each scale and turns it by −l·π/4.
        let eq = Parametrization::Equivariant;
        let trained = eq.trained_values(&bank);
        assert_eq!(trained.theta.len(), 3);
        let w = eq.wavelets(3, 4, &trained).unwrap();
        for j in 0..3 {
            for l in 0..4 {
                let (a, b) = (&w[j * 4 + l], bank.wavelet(j, 0));
                assert!(close(a.sigma, b.sigma) && a.xi == b.xi && close(a.slant, b.slant));
                assert!(close(a.theta, b.theta - l as f64 * PI / 4.0));
            }
        }
        // The tight frame is equivariant: its expansion is the tight frame itself.
        let tf = FilterBankParams::tight_frame(3, 8).unwrap();
        let w = eq.wavelets(3, 8, &eq.trained_values(&tf)).unwrap();
        for (a, b) in w.iter().zip(tf.wavelets()) {
            assert!(close(a.theta, b.theta) && close(a.sigma, b.sigma));
        }
    }

    /// The product with a gradient equals the central difference of `⟨g, wavelets(t)⟩`.
    #[test]
    fn the_vjp_is_the_derivative_of_the_expansion() {
        let bank = FilterBankParams::random(2, 3, 1).unwrap();
        let g: Vec<[f64; 4]> = (0..6)
            .map(|n| std::array::from_fn(|k| ((n * 4 + k) as f64 * 0.37).sin()))
            .collect();
        for p in Parametrization::ALL {
            let trained = p.trained_values(&bank);
            let loss = |t: &TrainedValues| -> f64 {
                p.wavelets(2, 3, t)
                    .unwrap()
                    .iter()
                    .zip(&g)
                    .map(|(w, g)| g[0] * w.sigma + g[1] * w.xi + g[2] * w.theta + g[3] * w.slant)
                    .sum()
            };
            let vjp = p.wavelets_vjp(2, 3, &trained, &g).unwrap();
            for family in 0..4 {
                for i in 0..p.trained_len(2, 3) {
                    let h = 1e-6;
                    let shifted = |d: f64| {
                        let mut f = [
                            trained.log_sigma.clone(),
                            trained.xi.clone(),
                            trained.theta.clone(),
                            trained.log_slant.clone(),
                        ];
                        f[family][i] += d;
                        TrainedValues::from_families(f)
                    };
                    let fd = (loss(&shifted(h)) - loss(&shifted(-h))) / (2.0 * h);
                    let got = vjp.families()[family][i];
                    assert!(
                        (got - fd).abs() < 1e-7 * fd.abs().max(1.0),
                        "{p} {family} {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_and_names_are_errors() {
        let bank = FilterBankParams::tight_frame(2, 4).unwrap();
        let canonical = Parametrization::Canonical.trained_values(&bank);
        let e = Parametrization::Equivariant
            .wavelets(2, 4, &canonical)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("`log_sigma` = 8 values: an equivariant bank trains one value per scale"),
            "{e}"
        );
        let e = Parametrization::Canonical
            .wavelets_vjp(2, 4, &canonical, &[[0.0; 4]; 3])
            .unwrap_err();
        assert!(e.to_string().contains("`gradient` = 3 rows"), "{e}");
        assert!(
            Parametrization::Canonical
                .wavelets(0, 4, &canonical)
                .is_err()
        );
        for p in Parametrization::ALL {
            assert_eq!(p.name().parse::<Parametrization>().unwrap(), p);
        }
        let e = "full".parse::<Parametrization>().unwrap_err();
        assert!(
            e.to_string()
                .contains("expected canonical, equivariant or pixelwise")
        );
        let mut bad = canonical.clone();
        bad.xi[3] = f64::NAN;
        let e = Parametrization::Canonical.bank(2, 4, &bad).unwrap_err();
        assert!(e.to_string().contains("wavelet 3: invalid `xi`"), "{e}");
    }
}
