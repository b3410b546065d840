//! The learnable Morlet filter bank: `J·L` wavelets whose `σ`, `ξ`, `θ` and slant are burn
//! parameters, turned into Fourier spectra with tensor operations so that gradients reach them.
//!
//! The spectra follow the closed form of [`crate::filters::spectral`] (the framework-free source
//! of truth, kymatio-exact for the tight frame), term for term:
//!
//! ```text
//! u = ω'·e_θ − ξ,   v = ω'·e_θ⊥,   e_θ = (cos θ, sin θ),  e_θ⊥ = (−sin θ, cos θ)
//! ω' = ω + 2π(a, b),  a, b ∈ −A..=A, A = alias_radius(..)  (alias sum = spatial periodisation)
//! P_ξ(ω) = Σ_{a,b} exp(−σ²u²/2 − σ²v²/(2·slant²)),   P_0: the same with ξ = 0
//! ψ̂(ω) = (π / 3.1415)·(P_ξ(ω) − κ·P_0(ω)),  κ = P_ξ(0) / P_0(0)   (zero mean)
//! ```
//!
//! `e_θ⊥` is written out, not taken from an SVD, so `∂ψ̂/∂θ` is complete (the reference code's SVD
//! drops part of it). `σ` and the slant are stored as logarithms, which keeps them positive.

use std::f64::consts::PI;

use burn::config::Config;
use burn::module::{Content, DisplaySettings, Module, ModuleDisplay, Param};
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::error::ScatterError;
use crate::filters::diagnostics::aliased_energy;
use crate::filters::spectral::{MAX_ALIAS_RADIUS, alias_radius, bank_spectra, morlet_spectrum};
use crate::filters::{FilterBankParams, KYMATIO_NORM_PI, MorletParams, angular_frequencies};
use crate::geometry::ScatteringOptions;

/// How the filter bank is parametrised.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Parametrization {
    /// Four parameters per wavelet, `4·J·L` in all (the paper's main setting).
    Full,
    /// One `(σ, ξ, θ, slant)` per scale, `4·J` in all; wavelet `l` of scale `j` has orientation
    /// `θ_j − l·π/L` (the paper's `equivariant` variant).
    Equivariant,
    /// Free real Fourier filters of shape `[J·L, height, width]`, initialised from the Morlets (the
    /// paper's non-parametric ablation). The Morlet parameters are kept, frozen, as a record of the
    /// initialisation.
    Pixelwise,
}

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

/// The kind of a generated [`FilterInit`], without its seed: what experiment grids and run
/// records name (`TF`, `Rand`); [`InitKind::filter_init`] adds the seed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum InitKind {
    /// [`FilterInit::TightFrame`] (`TF`).
    TightFrame,
    /// [`FilterInit::Random`] (`Rand`).
    Random,
}

impl InitKind {
    /// `TF` or `Rand`, as in the paper's tables.
    pub fn label(self) -> &'static str {
        match self {
            InitKind::TightFrame => "TF",
            InitKind::Random => "Rand",
        }
    }

    /// The initialisation of this kind, random draws seeded with `seed`.
    pub fn filter_init(self, seed: u64) -> FilterInit {
        match self {
            InitKind::TightFrame => FilterInit::TightFrame,
            InitKind::Random => FilterInit::Random { seed },
        }
    }
}

impl FilterInit {
    /// The kind of this initialisation; `None` for an explicit bank.
    pub fn kind(&self) -> Option<InitKind> {
        match self {
            FilterInit::TightFrame => Some(InitKind::TightFrame),
            FilterInit::Random { .. } => Some(InitKind::Random),
            FilterInit::Explicit { .. } => None,
        }
    }
}

/// Which parameter families are trained. Frozen parameters get no gradient.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub struct Trainable {
    /// Train `σ` (stored as `ln σ`).
    #[config(default = true)]
    pub sigma: bool,
    /// Train `ξ`.
    #[config(default = true)]
    pub xi: bool,
    /// Train `θ`.
    #[config(default = true)]
    pub theta: bool,
    /// Train the slant (stored as `ln slant`).
    #[config(default = true)]
    pub slant: bool,
    /// Train the free Fourier filters of the pixelwise parametrisation.
    #[config(default = true)]
    pub pixels: bool,
}

impl Trainable {
    /// Every family trained.
    pub fn all() -> Self {
        Self::new()
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

/// Configuration of a [`MorletFilterBank`], built with [`MorletFilterBankConfig::init`].
#[derive(Config, Debug)]
pub struct MorletFilterBankConfig {
    /// Number of scales `J` (slots `j = 0..J`).
    pub num_scales: usize,
    /// Fourier grid `[height, width]` on which spectra are evaluated: the padded size of the
    /// scattering input ([`crate::PaddedGeometry::padded_size`]).
    pub grid_size: [usize; 2],
    /// Number of orientations `L` per scale.
    #[config(default = 8)]
    pub num_orientations: usize,
    /// Parametrisation.
    #[config(default = "Parametrization::Full")]
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
    pub fn initial_bank(&self) -> crate::Result<FilterBankParams> {
        ScatteringOptions::new(self.num_scales, self.num_orientations)?;
        if self.grid_size.contains(&0) {
            return Err(ScatterError::InvalidParameter {
                name: "grid_size",
                value: format!("{:?}", self.grid_size),
                reason: "the Fourier grid must not be empty",
            });
        }
        let (big_j, big_l) = (self.num_scales, self.num_orientations);
        let bank = match &self.init {
            FilterInit::TightFrame => FilterBankParams::tight_frame(big_j, big_l)?,
            FilterInit::Random { seed } => match self.parametrization {
                Parametrization::Equivariant => {
                    let per_scale = FilterBankParams::random(big_j, 1, *seed)?;
                    equivariant_bank(big_j, big_l, per_scale.wavelets())?
                }
                _ => FilterBankParams::random(big_j, big_l, *seed)?,
            },
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
        match self.parametrization {
            Parametrization::Equivariant => {
                let per_scale: Vec<MorletParams> =
                    (0..big_j).map(|j| *bank.wavelet(j, 0)).collect();
                equivariant_bank(big_j, big_l, &per_scale)
            }
            _ => Ok(bank),
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
        // Per-parameter values: one per wavelet, or one per scale (equivariant).
        let per_param: Vec<MorletParams> = match self.parametrization {
            Parametrization::Equivariant => (0..big_j).map(|j| *bank.wavelet(j, 0)).collect(),
            _ => bank.wavelets().to_vec(),
        };
        let pixelwise = self.parametrization == Parametrization::Pixelwise;
        let t = &self.trainable;
        let param = |f: fn(&MorletParams) -> f64, train: bool| {
            let values: Vec<f64> = per_param.iter().map(f).collect();
            let n = values.len();
            Param::from_tensor(Tensor::<1>::from_data(TensorData::new(values, [n]), device))
                .set_require_grad(train && !pixelwise)
        };
        let pixels = pixelwise.then(|| {
            let [h, w] = self.grid_size;
            let spectra = bank_spectra(&bank, h, w);
            let values: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
            let n = spectra.psi.len();
            Param::from_tensor(Tensor::<3>::from_data(
                TensorData::new(values, [n, h, w]),
                device,
            ))
            .set_require_grad(t.pixels)
        });
        let [h, w] = self.grid_size;
        let offsets: Vec<f64> = (0..big_j * big_l)
            .map(|n| match self.parametrization {
                Parametrization::Equivariant => -((n % big_l) as f64) * PI / big_l as f64,
                _ => 0.0,
            })
            .collect();
        MorletFilterBank {
            log_sigma: param(|p| p.sigma.ln(), t.sigma),
            xi: param(|p| p.xi, t.xi),
            theta: param(|p| p.theta, t.theta),
            log_slant: param(|p| p.slant.ln(), t.slant),
            pixels,
            omega_row: grid(&angular_frequencies(h), [1, 1, h, 1], device),
            omega_col: grid(&angular_frequencies(w), [1, 1, 1, w], device),
            theta_offset: grid(&offsets, [big_j * big_l, 1, 1, 1], device),
            num_scales: big_j,
            num_orientations: big_l,
            grid_size: self.grid_size,
            parametrization: self.parametrization,
        }
    }
}

/// `J·L` wavelets from one per scale, orientations `θ_j − l·π/L`.
fn equivariant_bank(
    big_j: usize,
    big_l: usize,
    per_scale: &[MorletParams],
) -> crate::Result<FilterBankParams> {
    let wavelets = (0..big_j * big_l)
        .map(|n| {
            let p = per_scale[n / big_l];
            MorletParams {
                theta: p.theta - (n % big_l) as f64 * PI / big_l as f64,
                ..p
            }
        })
        .collect();
    FilterBankParams::from_wavelets(big_j, big_l, wavelets)
}

fn int_index(values: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = values.iter().map(|&i| i as i64).collect();
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// Spectra of frozen wavelets, by the framework-free closed form, cached per parameter values and
/// grid (a small cache: a frozen bank asks for the same spectra at every step).
fn host_spectra(wavelets: &[MorletParams], [h, w]: [usize; 2], device: &Device) -> Tensor<3> {
    type Key = ([usize; 2], Vec<u64>);
    type Entries = Vec<(Key, Arc<Vec<f64>>)>;
    static CACHE: OnceLock<Mutex<Entries>> = OnceLock::new();
    const ENTRIES: usize = 8;
    let key: Key = (
        [h, w],
        wavelets
            .iter()
            .flat_map(|p| [p.sigma, p.xi, p.theta, p.slant].map(f64::to_bits))
            .collect(),
    );
    let cache = CACHE.get_or_init(Default::default);
    let hit = {
        let entries = cache.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| Arc::clone(v))
    };
    let values = hit.unwrap_or_else(|| {
        let spectra: Vec<Vec<f64>> = wavelets
            .par_iter()
            .map(|p| morlet_spectrum(h, w, p).into_iter().collect())
            .collect();
        let values = Arc::new(spectra.concat());
        let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= ENTRIES {
            entries.remove(0);
        }
        entries.push((key, Arc::clone(&values)));
        values
    });
    let n = wavelets.len();
    Tensor::from_data(TensorData::new(values.to_vec(), [n, h, w]), device)
}

fn grid<const D: usize>(values: &[f64], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A bank of `J·L` Morlet wavelets with trainable `σ`, `ξ`, `θ` and slant; build it with
/// [`MorletFilterBankConfig::init`].
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
    /// Row angular frequencies `[1, 1, height, 1]` (FFT order); constant.
    omega_row: Tensor<4>,
    /// Column angular frequencies `[1, 1, 1, width]`; constant.
    omega_col: Tensor<4>,
    /// Orientation offsets `[J·L, 1, 1, 1]` (`−l·π/L` when equivariant, else 0); constant.
    theta_offset: Tensor<4>,
    num_scales: usize,
    num_orientations: usize,
    #[module(skip)]
    grid_size: [usize; 2],
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
        let [h, w] = self.grid_size;
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
            .add("grid", &format!("{h}x{w}"))
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

    /// The Fourier grid `[height, width]`.
    pub fn grid_size(&self) -> [usize; 2] {
        self.grid_size
    }

    /// The parametrisation.
    pub fn parametrization(&self) -> Parametrization {
        self.parametrization
    }

    /// Per-wavelet `(σ, ξ, θ, slant)`, each of shape `[J·L, 1, 1, 1]` (equivariant parameters
    /// expanded to every orientation).
    fn per_wavelet(&self) -> [Tensor<4>; 4] {
        let count = self.num_scales * self.num_orientations;
        let expand = |t: Tensor<1>| -> Tensor<4> {
            let t = if t.dims()[0] == count {
                t
            } else {
                // One value per scale: repeat it for the L orientations of that scale.
                t.reshape([self.num_scales, 1])
                    .repeat_dim(1, self.num_orientations)
                    .reshape([count])
            };
            t.reshape([count, 1, 1, 1])
        };
        [
            expand(self.log_sigma.val()).exp(),
            expand(self.xi.val()),
            expand(self.theta.val()) + self.theta_offset.clone(),
            expand(self.log_slant.val()).exp(),
        ]
    }

    /// Real Fourier spectra `ψ̂_n` of every wavelet on the full grid, recomputed from the
    /// parameters.
    ///
    /// When a parameter family is trained the spectra are burn tensor operations, differentiable
    /// with respect to `ln σ`, `ξ`, `θ` and `ln slant`, each wavelet summing the aliases its
    /// parameters need ([`alias_radius`], the rule of the framework-free closed form). When none
    /// is (frozen filters, or a device without autodiff), they are the framework-free closed form
    /// itself ([`crate::filters::spectral`], in `f64`), computed once per parameter values and
    /// cached, since no gradient is needed.
    ///
    /// # Shapes
    /// - output: `[J·L, height, width]`, FFT order (DC at `[.., 0, 0]`)
    ///
    /// # Panics
    /// If a wavelet has drifted to values whose spectrum needs more than
    /// [`crate::filters::spectral::MAX_ALIAS_RADIUS`] aliases per axis (narrower than about 0.02
    /// pixel, or `|ξ|` in the hundreds), naming the wavelet.
    pub fn spectra(&self) -> Tensor<3> {
        if let Some(pixels) = &self.pixels {
            return pixels.val();
        }
        let wavelets = self.wavelet_values();
        let radii: Vec<usize> = wavelets
            .iter()
            .enumerate()
            .map(|(n, p)| {
                alias_radius(p).unwrap_or_else(|| {
                    panic!(
                        "MorletFilterBank: wavelet {n} ({p:?}) needs more than {MAX_ALIAS_RADIUS} \
                         aliases per axis; its spectrum cannot be built"
                    )
                })
            })
            .collect();
        let device = self.xi.val().device();
        let trained = [&self.log_sigma, &self.xi, &self.theta, &self.log_slant]
            .iter()
            .any(|p| p.val().is_require_grad());
        if !trained {
            return host_spectra(&wavelets, self.grid_size, &device);
        }
        let params = self.per_wavelet();
        let mut distinct = radii.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if let [radius] = distinct[..] {
            return self.spectra_with_radius(params, radius);
        }
        // One block per radius, then back to wavelet order.
        let mut blocks = Vec::with_capacity(distinct.len());
        let mut order: Vec<usize> = Vec::with_capacity(radii.len());
        for radius in distinct {
            let members: Vec<usize> = (0..radii.len()).filter(|&n| radii[n] == radius).collect();
            let index = int_index(&members, &device);
            let group = params.clone().map(|t| t.select(0, index.clone()));
            blocks.push(self.spectra_with_radius(group, radius));
            order.extend(members);
        }
        let mut inverse = vec![0; order.len()];
        for (position, &n) in order.iter().enumerate() {
            inverse[n] = position;
        }
        Tensor::cat(blocks, 0).select(0, int_index(&inverse, &device))
    }

    /// The closed form in tensor operations for wavelets whose `(σ, ξ, θ, slant)` are `params`
    /// (each `[n, 1, 1, 1]`), summing the aliases `a, b ∈ −radius..=radius`: `[n, height, width]`.
    fn spectra_with_radius(&self, params: [Tensor<4>; 4], radius: usize) -> Tensor<3> {
        let [h, w] = self.grid_size;
        let [sigma, xi, theta, slant] = params;
        let count = sigma.dims()[0];
        let floor = exponent_floor(sigma.dtype());
        let device = sigma.device();
        let (cos, sin) = (theta.clone().cos(), theta.sin());
        // Negated coefficients of the quadratic form: −σ²/2 along e_θ, −σ²/(2·slant²) across.
        let sigma2 = sigma.clone() * sigma;
        let along = sigma2.clone().mul_scalar(-0.5);
        let across = (sigma2 / (slant.clone() * slant)).mul_scalar(-0.5);
        // Column part of u and v with the column alias b on axis 1: [n, 2·radius + 1, 1, w].
        let radius = radius as i64;
        let shifts: Vec<f64> = (-radius..=radius).map(|b| 2.0 * PI * b as f64).collect();
        let shifts = grid(&shifts, [1, shifts.len(), 1, 1], &device);
        let col = self.omega_col.clone() + shifts;
        let (u_col, v_col) = (col.clone() * sin.clone(), col * cos.clone());
        let mut carrier: Option<Tensor<4>> = None;
        let mut envelope: Option<Tensor<4>> = None;
        for a in -radius..=radius {
            // Row part with the row alias a: [n, 1, h, 1].
            let row = self.omega_row.clone().add_scalar(2.0 * PI * a as f64);
            let u0 = row.clone() * cos.clone() + u_col.clone(); // ω'·e_θ, [n, 2r + 1, h, w]
            let v = v_col.clone() - row * sin.clone(); // ω'·e_θ⊥
            let across_v2 = across.clone() * (v.clone() * v);
            let u = u0.clone() - xi.clone();
            let g_xi = exp_floored(along.clone() * (u.clone() * u) + across_v2.clone(), floor);
            let g_0 = exp_floored(along.clone() * (u0.clone() * u0) + across_v2, floor);
            carrier = Some(add_opt(carrier, g_xi.sum_dim(1)));
            envelope = Some(add_opt(envelope, g_0.sum_dim(1)));
        }
        let carrier = carrier.expect("at least one alias").reshape([count, h, w]);
        let envelope = envelope.expect("at least one alias").reshape([count, h, w]);
        let dc = |t: &Tensor<3>| t.clone().slice([0..count, 0..1, 0..1]);
        let kappa = dc(&carrier) / dc(&envelope);
        (carrier - envelope * kappa).mul_scalar(PI / KYMATIO_NORM_PI)
    }

    /// The current `(σ, ξ, θ, slant)` of every wavelet, read back from the device (equivariant
    /// parameters expanded), unchecked.
    fn wavelet_values(&self) -> Vec<MorletParams> {
        let [sigma, xi, theta, slant] = self.per_wavelet().map(|t| {
            t.into_data()
                .convert::<f64>()
                .try_into_vec::<f64>()
                .expect("converted to f64")
        });
        (0..sigma.len())
            .map(|n| MorletParams {
                sigma: sigma[n],
                xi: xi[n],
                theta: theta[n],
                slant: slant[n],
            })
            .collect()
    }

    /// Fraction of each wavelet's spectral energy that the subsampling after it aliases (reads
    /// the spectra back): [`crate::filters::diagnostics::aliased_energy`] of wavelet `n = j·L + l`
    /// at resolution `j`. Any parametrisation, pixelwise included.
    pub fn aliasing(&self) -> Vec<f64> {
        let [h, w] = self.grid_size;
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
        let [h, w] = self.grid_size;
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
    /// example to build a fast-path plan ([`crate::fast::Scattering2dPlan::with_filter_bank`]) for
    /// inference or to save them as JSON.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for the pixelwise parametrisation, whose filters are not
    /// Morlet wavelets; [`ScatterError::InvalidWavelet`] if training made a value non-finite.
    pub fn to_params(&self) -> crate::Result<FilterBankParams> {
        if self.pixels.is_some() {
            return Err(ScatterError::InvalidParameter {
                name: "parametrization",
                value: "Pixelwise".into(),
                reason: "pixelwise filters are not Morlet wavelets and have no parameters to export",
            });
        }
        FilterBankParams::from_wavelets(
            self.num_scales,
            self.num_orientations,
            self.wavelet_values(),
        )
    }
}

/// `exp(max(e, floor))`. Terms below the floor are zero to the element type's precision
/// (`e^−87 ≈ 1.6e-38` in f32, `e^−700` in f64); the floor keeps `exp` off its slow underflow path,
/// which costs more than the rest of the filter construction together.
fn exp_floored(e: Tensor<4>, floor: f64) -> Tensor<4> {
    e.clamp_min(floor).exp()
}

/// The exponent floor of [`exp_floored`] for a dtype.
fn exponent_floor(dtype: burn::tensor::DType) -> f64 {
    match dtype {
        burn::tensor::DType::F64 => -700.0,
        _ => -87.0,
    }
}

fn add_opt(acc: Option<Tensor<4>>, term: Tensor<4>) -> Tensor<4> {
    match acc {
        Some(acc) => acc + term,
        None => term,
    }
}
