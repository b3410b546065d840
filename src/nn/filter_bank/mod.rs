//! The learnable Morlet filter bank: `J·L` wavelets whose `σ`, `ξ`, `θ` and slant are burn
//! parameters, turned into Fourier spectra by one differentiable operation
//! ([`super::construction`]) so that gradients reach them.
//!
//! The spectra are the closed form of [`crate::filters::spectral`] (the framework-free source of
//! truth, kymatio-exact for the tight frame), and their backward its analytic derivative:
//!
//! ```text
//! u = ω'·e_θ − ξ,   v = ω'·e_θ⊥,   e_θ = (cos θ, sin θ),  e_θ⊥ = (−sin θ, cos θ)
//! ω' = ω + 2π(a, b),  a, b ∈ −A..=A, A = alias_radius(..)  (alias sum = spatial periodisation)
//! P_ξ(ω) = Σ_{a,b} exp(−σ²u²/2 − σ²v²/(2·slant²)),   P_0: the same with ξ = 0
//! ψ̂(ω) = (π / 3.1415)·(P_ξ(ω) − κ·P_0(ω)),  κ = P_ξ(0) / P_0(0)   (zero mean)
//! ```
//!
//! `e_θ⊥` is written out, not taken from an SVD, so `∂ψ̂/∂θ` is complete (the reference code's SVD
//! drops part of it). `σ` and the slant are stored as logarithms, which keeps them positive; the
//! trained values become wavelets (and, equivariant, one value per scale becomes `L`) by the
//! framework-free expansion of [`crate::filters::parametrization`], whose vector–Jacobian product
//! carries the gradient back to them.

use burn::config::Config;
use burn::module::{Content, DisplaySettings, Module, ModuleDisplay, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::construction::{TrainedLayout, morlet_spectra};
use crate::error::ScatterError;
use crate::filters::diagnostics::aliased_energy;
use crate::filters::spectral::bank_spectra;
use crate::filters::{FilterBankParams, Parametrization, TrainedValues};
use crate::geometry::ScatteringOptions;

/// Initial values of the wavelet parameters.
#[derive(Config, Debug, PartialEq)]
pub enum FilterInit {
    /// kymatio's tight frame ([`FilterBankParams::tight_frame`]).
    TightFrame,
    /// The paper's random draws ([`FilterBankParams::random`]), from a seeded ChaCha8 generator.
    /// The equivariant parametrisation draws one wavelet per scale.
    Random {
        /// Seed of the generator.
        seed: u64,
    },
    /// Explicit values, for example a learned bank. The equivariant parametrisation takes the
    /// `l = 0` wavelet of each scale.
    Explicit {
        /// The `J·L` wavelets.
        bank: FilterBankParams,
    },
}

// The experiment grid (feature `train`) names an initialisation by its kind and seed.
#[cfg(feature = "train")]
impl crate::filters::InitKind {
    /// The initialisation of this kind, random draws seeded with `seed`.
    pub(crate) fn filter_init(self, seed: u64) -> FilterInit {
        match self {
            Self::TightFrame => FilterInit::TightFrame,
            Self::Random => FilterInit::Random { seed },
        }
    }
}

/// Which parameter families are trained. Frozen parameters get no gradient. Plain data:
/// start from [`Trainable::all`] or [`Trainable::none`] and change single families with struct
/// update syntax, `Trainable { theta: false, ..Trainable::all() }`; a missing field deserialises
/// as trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Trainable {
    /// Train `σ` (stored as `ln σ`).
    pub sigma: bool,
    /// Train `ξ`.
    pub xi: bool,
    /// Train `θ`.
    pub theta: bool,
    /// Train the slant (stored as `ln slant`).
    pub slant: bool,
    /// Train the free Fourier filters of the pixelwise parametrisation.
    pub pixels: bool,
}

impl Default for Trainable {
    /// Every family trained.
    fn default() -> Self {
        Self::all()
    }
}

impl Trainable {
    /// Every family trained.
    pub fn all() -> Self {
        Self {
            sigma: true,
            xi: true,
            theta: true,
            slant: true,
            pixels: true,
        }
    }

    /// Nothing trained: the fixed filter bank (for example the fixed tight-frame baseline).
    pub fn none() -> Self {
        Self {
            sigma: false,
            xi: false,
            theta: false,
            slant: false,
            pixels: false,
        }
    }
}

/// Configuration of a [`MorletFilterBank`], built with [`MorletFilterBankConfig::init`] (by
/// [`Scattering2dConfig::init`](super::Scattering2dConfig::init), which gives it the padded size).
#[derive(Config, Debug)]
pub(crate) struct MorletFilterBankConfig {
    /// Number of scales `J` (slots `j = 0..J`).
    pub num_scales: usize,
    /// `[Mp, Np]`, the padded size of the scattering input, on which the spectra are evaluated
    /// ([`crate::PaddedGeometry::padded_size`]).
    pub padded_size: [usize; 2],
    /// Number of orientations `L` per scale.
    #[config(default = 8)]
    pub num_orientations: usize,
    /// Parametrisation.
    #[config(default = "Parametrization::Canonical")]
    pub parametrization: Parametrization,
    /// Initial values.
    #[config(default = "FilterInit::TightFrame")]
    pub init: FilterInit,
    /// Trained parameter families.
    #[config(default = "Trainable::all()")]
    pub trainable: Trainable,
}

impl MorletFilterBankConfig {
    /// The initial wavelets as a framework-free bank, checked.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for `J` or `L` out of range or an empty grid;
    /// [`ScatterError::FilterCount`] / [`ScatterError::InvalidWavelet`] for an explicit bank of the
    /// wrong size or with bad values.
    pub(crate) fn initial_bank(&self) -> crate::error::Result<FilterBankParams> {
        ScatteringOptions::new(self.num_scales, self.num_orientations)?;
        if self.padded_size.contains(&0) {
            return Err(ScatterError::InvalidParameter {
                name: "padded_size",
                value: format!("{:?}", self.padded_size),
                reason: "the Fourier grid must not be empty",
            });
        }
        let (big_j, big_l) = (self.num_scales, self.num_orientations);
        let parametrization = self.parametrization;
        let bank = match &self.init {
            FilterInit::TightFrame => FilterBankParams::tight_frame(big_j, big_l)?,
            FilterInit::Random { seed } => parametrization.random_bank(big_j, big_l, *seed)?,
            FilterInit::Explicit { bank } => {
                bank.validate()?;
                if bank.num_scales() != big_j || bank.num_orientations() != big_l {
                    return Err(ScatterError::FilterCount {
                        expected: big_j * big_l,
                        got: bank.wavelets().len(),
                    });
                }
                bank.clone()
            }
        };
        match parametrization {
            // The bank the trained values give: the l = 0 wavelet of each scale, turned.
            Parametrization::Equivariant => {
                parametrization.bank(big_j, big_l, &parametrization.trained_values(&bank))
            }
            Parametrization::Canonical | Parametrization::Pixelwise => Ok(bank),
        }
    }

    /// Builds the filter bank on `device`.
    ///
    /// # Panics
    /// On an invalid configuration, with the message of the [`ScatterError`] that
    /// [`MorletFilterBankConfig::initial_bank`] returns (for example
    /// `invalid parameter num_scales = 0: J must be in 1..=30`).
    pub fn init(&self, device: &Device) -> MorletFilterBank {
        let bank = self.initial_bank().unwrap_or_else(|e| panic!("{e}"));
        let (big_j, big_l) = (self.num_scales, self.num_orientations);
        // The trained values: one per wavelet, or one per scale (equivariant).
        let trained = self.parametrization.trained_values(&bank);
        let pixelwise = self.parametrization == Parametrization::Pixelwise;
        let t = &self.trainable;
        let param = |values: &[f64], train: bool| {
            let n = values.len();
            let data = TensorData::new(values.to_vec(), [n]);
            Param::from_tensor(Tensor::<1>::from_data(data, device))
                .set_require_grad(train && !pixelwise)
        };
        let pixels = pixelwise.then(|| {
            let [h, w] = self.padded_size;
            let spectra = bank_spectra(&bank, h, w);
            let values: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
            let n = spectra.psi.len();
            Param::from_tensor(Tensor::<3>::from_data(
                TensorData::new(values, [n, h, w]),
                device,
            ))
            .set_require_grad(t.pixels)
        });
        MorletFilterBank {
            log_sigma: param(&trained.log_sigma, t.sigma),
            xi: param(&trained.xi, t.xi),
            theta: param(&trained.theta, t.theta),
            log_slant: param(&trained.log_slant, t.slant),
            pixels,
            num_scales: big_j,
            num_orientations: big_l,
            padded_size: self.padded_size,
            parametrization: self.parametrization,
        }
    }
}

/// A bank of `J·L` Morlet wavelets with trainable `σ`, `ξ`, `θ` and slant; build it with
/// `MorletFilterBankConfig::init`.
///
/// Parameter shapes: `[J·L]` (full and pixelwise) or `[J]` (equivariant). Wavelet `n = j·L + l`
/// sits in scale slot `j`.
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct MorletFilterBank {
    /// `ln σ`, shape `[J·L]` or `[J]`.
    pub log_sigma: Param<Tensor<1>>,
    /// Central frequency `ξ` (radians per pixel), shape `[J·L]` or `[J]`.
    pub xi: Param<Tensor<1>>,
    /// Orientation `θ` (radians), shape `[J·L]` or `[J]`.
    pub theta: Param<Tensor<1>>,
    /// `ln slant`, shape `[J·L]` or `[J]`.
    pub log_slant: Param<Tensor<1>>,
    /// Free Fourier filters `[J·L, height, width]` (pixelwise parametrisation only).
    pub pixels: Option<Param<Tensor<3>>>,
    num_scales: usize,
    num_orientations: usize,
    #[module(skip)]
    padded_size: [usize; 2],
    #[module(skip)]
    parametrization: Parametrization,
}

impl ModuleDisplay for MorletFilterBank {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let [h, w] = self.padded_size;
        let trained: Vec<&str> = [
            ("sigma", &self.log_sigma),
            ("xi", &self.xi),
            ("theta", &self.theta),
            ("slant", &self.log_slant),
        ]
        .iter()
        .filter(|(_, p)| p.val().is_require_grad())
        .map(|(name, _)| *name)
        .chain(
            self.pixels
                .as_ref()
                .filter(|p| p.val().is_require_grad())
                .map(|_| "pixels"),
        )
        .collect();
        content
            .add("J", &self.num_scales)
            .add("L", &self.num_orientations)
            .add("padded", &format!("{h}x{w}"))
            .add("parametrization", &format!("{:?}", self.parametrization))
            .add("trained", &format!("[{}]", trained.join(", ")))
            .optional()
    }
}

impl MorletFilterBank {
    /// Number of scales `J`.
    pub fn num_scales(&self) -> usize {
        self.num_scales
    }

    /// Number of orientations `L`.
    pub fn num_orientations(&self) -> usize {
        self.num_orientations
    }

    /// The padded size `[Mp, Np]` on which the spectra are evaluated.
    pub fn padded_size(&self) -> [usize; 2] {
        self.padded_size
    }

    /// The parametrisation.
    pub fn parametrization(&self) -> Parametrization {
        self.parametrization
    }

    /// The trained values' layout: parametrisation, `J`, `L`.
    fn layout(&self) -> TrainedLayout {
        TrainedLayout {
            parametrization: self.parametrization,
            num_scales: self.num_scales,
            num_orientations: self.num_orientations,
        }
    }

    /// The trained values `[ln σ, ξ, θ, ln slant]`, each of shape `[J·L]` or `[J]`.
    fn trained(&self) -> [Tensor<1>; 4] {
        [
            self.log_sigma.val(),
            self.xi.val(),
            self.theta.val(),
            self.log_slant.val(),
        ]
    }

    /// Real Fourier spectra `ψ̂_n` of every wavelet on the full grid, recomputed from the
    /// parameters.
    ///
    /// The framework-free expansion ([`Parametrization::wavelets`]) and closed form
    /// ([`crate::filters::spectral::morlet_spectrum`], in `f64`, each wavelet summing the aliases
    /// its parameters need), as one operation whose backward is their analytic derivative,
    /// differentiable with respect to `ln σ`, `ξ`, `θ` and `ln slant`. Spectra are cached per
    /// parameter values, so frozen filters are computed once.
    ///
    /// # Shapes
    /// - output: `[J·L, height, width]`, FFT order (DC at `[.., 0, 0]`)
    ///
    /// # Panics
    /// If a parameter is not finite (`MorletFilterBank: wavelet 3 has a non-finite ξ = NaN ...`),
    /// or a wavelet has drifted to values whose spectrum needs more than
    /// `crate::filters::spectral::MAX_ALIAS_RADIUS` aliases per axis (narrower than about 0.02
    /// pixel, or `|ξ|` in the hundreds), naming the wavelet.
    pub fn spectra(&self) -> Tensor<3> {
        if let Some(pixels) = &self.pixels {
            return pixels.val();
        }
        morlet_spectra(self.trained(), self.layout(), self.padded_size)
    }

    /// The current trained values, read back from the device.
    fn trained_values(&self) -> TrainedValues {
        let [log_sigma, xi, theta, log_slant] = self.trained().map(|t| {
            t.into_data()
                .convert::<f64>()
                .try_into_vec::<f64>()
                .expect("converted to f64")
        });
        TrainedValues {
            log_sigma,
            xi,
            theta,
            log_slant,
        }
    }

    /// Fraction of each wavelet's spectral energy that the subsampling after it aliases (reads
    /// the spectra back): `crate::filters::diagnostics::aliased_energy` of wavelet `n = j·L + l`
    /// at resolution `j`. Any parametrisation, pixelwise included.
    pub fn aliasing(&self) -> Vec<f64> {
        let [h, w] = self.padded_size;
        let values = self
            .spectra()
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .expect("converted to f64");
        values
            .chunks(h * w)
            .enumerate()
            .map(|(n, plane)| {
                let view = ndarray::ArrayView2::from_shape((h, w), plane).expect("[h, w] plane");
                aliased_energy(view, n / self.num_orientations)
            })
            .collect()
    }

    /// A differentiable penalty on aliasing that users can add to their loss: the mean over the
    /// wavelets of the fraction of `Σ|ψ̂|²` outside the band of the wavelet's slot (as
    /// [`MorletFilterBank::aliasing`]). A scalar in `[0, 1]`; 0 when no wavelet aliases.
    ///
    /// # Shapes
    /// - output: `[1]`
    pub fn aliasing_penalty(&self) -> Tensor<1> {
        let [h, w] = self.padded_size;
        let count = self.num_scales * self.num_orientations;
        let energy = {
            let psi = self.spectra();
            psi.clone() * psi
        };
        // 1 outside the band kept at each wavelet's resolution, 0 inside.
        let mut mask = vec![1.0f64; count * h * w];
        for n in 0..count {
            let j = n / self.num_orientations;
            let cols = crate::filters::periodize_rows(w, j);
            for r in crate::filters::periodize_rows(h, j) {
                for &c in &cols {
                    mask[n * h * w + r * w + c] = 0.0;
                }
            }
        }
        let mask = Tensor::<3>::from_data(TensorData::new(mask, [count, h, w]), &energy.device());
        let outside = (energy.clone() * mask).sum_dim(2).sum_dim(1);
        let total = energy.sum_dim(2).sum_dim(1).clamp_min(f64::MIN_POSITIVE);
        (outside / total).mean().reshape([1])
    }

    /// The current wavelet parameters as a framework-free bank (reads the tensors back), for
    /// example to build a plan ([`crate::cascade::Scattering2dPlan::with_filter_bank`]) for
    /// inference or to save them as JSON.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for the pixelwise parametrisation, whose filters are not
    /// Morlet wavelets; [`ScatterError::InvalidWavelet`] if training made a value non-finite.
    pub fn to_params(&self) -> crate::error::Result<FilterBankParams> {
        if self.pixels.is_some() {
            return Err(ScatterError::InvalidParameter {
                name: "parametrization",
                value: "Pixelwise".into(),
                reason: "pixelwise filters are not Morlet wavelets and have no parameters to export",
            });
        }
        self.parametrization.bank(
            self.num_scales,
            self.num_orientations,
            &self.trained_values(),
        )
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests;
