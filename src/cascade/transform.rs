//! The public face of the cascade: [`Scattering2dPlan`] (planned once per input size and options,
//! with a bank), [`PreparedBank`] (a bank's spectra prepared for a plan) and
//! [`ScatteringGradients`] (what a backward computed), with the checks every call makes before
//! the engine runs.
//!
//! The filter-parameter gradient chains the cascade's gradient with respect to the wavelet spectra
//! on the padded grid (`[J·L][Mp][Np]`) with [`spectral::morlet_spectrum_vjp`], the analytic
//! vector–Jacobian product of the one closed-form spectrum ([`spectral::morlet_spectrum`]).

use ndarray::{
    Array3, Array4, Array5, ArrayD, ArrayView3, ArrayView4, ArrayView5, ArrayViewD, IxDyn,
};

use super::alloc::{bytes_of, check_reservable, checked_len, standard_layout, zeros};
use super::plan::{Cascade, PreparedFilters};
use super::tape::ScatteringTape;
use super::{Float, check_plan_size};
use crate::error::{Result, ScatterError};
use crate::filters::{FilterBankParams, spectral};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};

/// The scattering cascade planned for one input size and `(J, L, max_order)`, with a filter bank.
///
/// Holds the FFT plans of every resolution `2^−r`, `r = 0..=J`, the low-pass `φ̂` at levels
/// `0..J`, the padding and path tables, and the bank's wavelet spectra at the resolutions they are
/// applied at: `ψ̂_{j,l}` at level 0 and at the levels `j1 < j` used by order 2.
///
/// - [`Scattering2dPlan::transform`] runs the fixed-filter transform with the plan's bank;
/// - [`Scattering2dPlan::prepare`] prepares another bank for this plan (no FFT is re-planned),
///   which [`Scattering2dPlan::forward`] and [`Scattering2dPlan::backward`] run with: the
///   learnable transform of a frontend with its own automatic differentiation (the Python
///   package's torch module).
///
/// The plan's own bank is checked when the plan is made and its spectra are prepared on the
/// first [`Scattering2dPlan::transform`] (or [`Scattering2dPlan::input_gradient`]): a plan used
/// only with banks of its caller's ([`Scattering2dPlan::prepare`]) never builds them.
///
/// `Send + Sync`: share it across threads freely.
pub struct Scattering2dPlan<T: Float = f32> {
    cascade: Cascade<T>,
    bank: FilterBankParams,
    prepared: std::sync::OnceLock<PreparedBank<T>>,
}

/// A filter bank's wavelet spectra prepared for one [`Scattering2dPlan`] (every resolution each
/// wavelet is applied at), with what they were built from: Morlet parameters
/// ([`Scattering2dPlan::prepare`]) or the spectra themselves ([`Scattering2dPlan::prepare_spectra`],
/// the paper's pixelwise filters). `Send + Sync`.
pub struct PreparedBank<T: Float = f32> {
    source: BankSource,
    filters: PreparedFilters<T>,
    padded_size: [usize; 2],
    max_order: usize,
}

/// What a [`PreparedBank`] was built from.
#[derive(Clone, Debug)]
enum BankSource {
    Morlet(FilterBankParams),
    Spectra {
        num_scales: usize,
        num_orientations: usize,
    },
}

/// What [`Scattering2dPlan::backward`] computed.
#[derive(Clone, Debug)]
pub struct ScatteringGradients<T> {
    /// `∂⟨grad_output, S⟩/∂input`, the input's shape `[..., height, width]`, if asked for.
    pub input: Option<ArrayD<T>>,
    /// `∂⟨grad_output, S⟩/∂(σ, ξ, θ, slant)` of wavelet `n = j·L + l`, in that order, summed over
    /// every image of the batch, if the filter gradient was asked for and the bank is made of
    /// Morlet parameters. Length `J·L`.
    pub wavelets: Option<Vec<[f64; 4]>>,
    /// `∂⟨grad_output, S⟩/∂ψ̂`, shape `[J·L, Mp, Np]` (the layout
    /// [`Scattering2dPlan::prepare_spectra`] takes), summed over every image of the batch, if the
    /// filter gradient was asked for and the bank was prepared from spectra.
    pub spectra: Option<Array3<T>>,
}

impl<T: Float> std::fmt::Debug for Scattering2dPlan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scattering2dPlan")
            .field("options", self.options())
            .field("geometry", self.geometry())
            .finish_non_exhaustive()
    }
}

impl<T: Float> std::fmt::Debug for PreparedBank<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBank")
            .field("source", &self.source)
            .field("padded_size", &self.padded_size)
            .finish_non_exhaustive()
    }
}

impl<T: Float> PreparedBank<T> {
    /// The Morlet parameters the spectra were built from; `None` for a bank prepared from
    /// spectra ([`Scattering2dPlan::prepare_spectra`]).
    pub fn filter_bank(&self) -> Option<&FilterBankParams> {
        match &self.source {
            BankSource::Morlet(bank) => Some(bank),
            BankSource::Spectra { .. } => None,
        }
    }

    /// `(J, L)` of the bank.
    fn scales_and_orientations(&self) -> (usize, usize) {
        match &self.source {
            BankSource::Morlet(bank) => (bank.num_scales(), bank.num_orientations()),
            BankSource::Spectra {
                num_scales,
                num_orientations,
            } => (*num_scales, *num_orientations),
        }
    }
}

impl<T: Float> Scattering2dPlan<T> {
    /// Plans with kymatio's tight-frame bank ([`FilterBankParams::tight_frame`]).
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for invalid options, [`ScatterError::ScaleTooLarge`] if
    /// `2^J` exceeds `height` or `width`, [`ScatterError::InputTooLarge`] beyond
    /// [`MAX_PADDED_PLANE`](crate::geometry::MAX_PADDED_PLANE),
    /// [`ScatterError::PlanTooLarge`] beyond [`MAX_PLAN_BYTES`](super::MAX_PLAN_BYTES); all checked
    /// before the filter bank or any buffer is built. [`ScatterError::OutOfMemory`] when the
    /// plan's estimated memory cannot be reserved.
    pub fn new(height: usize, width: usize, options: ScatteringOptions) -> Result<Self> {
        options.validate()?;
        check_plan_size::<T>(
            &options,
            &PaddedGeometry::new(height, width, options.num_scales())?,
        )?;
        let bank = FilterBankParams::tight_frame(options.num_scales(), options.num_orientations())?;
        Self::with_filter_bank(height, width, options, bank)
    }

    /// Plans with an explicit bank, for example learned parameters exported from the burn layer.
    /// `options` gives `J`, `L` and the maximum order, as for [`Scattering2dPlan::new`]; the
    /// bank must have the same `J` and `L`.
    ///
    /// # Errors
    /// As [`Scattering2dPlan::new`] (the size limits are checked before the spectra are
    /// computed), plus the bank's own checks (`FilterBankParams::validate`) and
    /// [`ScatterError::InvalidParameter`] (`filter_bank`) when the bank's `J` or `L` differs from
    /// the options'.
    pub fn with_filter_bank(
        height: usize,
        width: usize,
        options: ScatteringOptions,
        bank: FilterBankParams,
    ) -> Result<Self> {
        options.validate()?;
        check_bank(&options, &bank)?;
        check_plan_size::<T>(
            &options,
            &PaddedGeometry::new(height, width, options.num_scales())?,
        )?;
        let cascade = Cascade::new(height, width, options)?;
        Ok(Self {
            cascade,
            bank,
            prepared: std::sync::OnceLock::new(),
        })
    }

    /// The plan's own bank, prepared on first use.
    fn own_bank(&self) -> Result<&PreparedBank<T>> {
        if let Some(bank) = self.prepared.get() {
            return Ok(bank);
        }
        let bank = prepare(&self.cascade, self.bank.clone())?;
        Ok(self.prepared.get_or_init(|| bank))
    }

    /// The options (`J`, `L`, `max_order`).
    pub fn options(&self) -> &ScatteringOptions {
        self.cascade.options()
    }

    /// Padding and output geometry.
    pub fn geometry(&self) -> &PaddedGeometry {
        self.cascade.geometry()
    }

    /// This plan, taking inputs already padded to the padded grid `Mp × Np`
    /// ([`PaddedGeometry::padded_size`]) instead of `height × width`: kymatio's `pre_pad=True`.
    /// Each padded plane is used as it is (no reflect padding of its own), the output keeps its
    /// size `[..., K, height / 2^J, width / 2^J]`, and the input gradient has the padded shape.
    /// On an input that [`PaddedGeometry`]'s reflect padding made, the output is the unpadded
    /// plan's on the unpadded input, exactly.
    pub fn with_padded_input(mut self) -> Self {
        self.cascade.use_padded_input();
        self
    }

    /// `[height, width]` of the input planes this plan takes: the image size, or the padded
    /// grid's after [`Scattering2dPlan::with_padded_input`].
    pub(crate) fn input_size(&self) -> [usize; 2] {
        self.cascade.input_size()
    }

    /// The filter bank the plan was built with.
    pub fn filter_bank(&self) -> &FilterBankParams {
        &self.bank
    }

    /// Output channels in order: channel `k` is `paths()[k]`.
    pub fn paths(&self) -> &[ScatteringPath] {
        self.cascade.paths()
    }

    /// Number of output channels `K`.
    pub fn num_paths(&self) -> usize {
        self.paths().len()
    }

    /// Scattering coefficients of a batch of multi-channel images, with the plan's bank.
    ///
    /// # Shapes
    /// - input: `[batch, channels, height, width]`
    /// - output: `[batch, channels, K, height / 2^J, width / 2^J]` (floor division), with
    ///   `K = 1 + J·L + L²·J(J−1)/2` (`1 + J·L` for `max_order = 1`), channels in the order of
    ///   [`Scattering2dPlan::paths`].
    ///
    /// # Errors
    /// [`ScatterError::InvalidShape`] if `height × width` differs from the plan's,
    /// [`ScatterError::EmptyBatch`] if `batch` or `channels` is 0,
    /// [`ScatterError::NonFiniteInput`] at the first NaN or infinite value,
    /// [`ScatterError::OutOfMemory`] when the output (or another buffer of the call) cannot be
    /// allocated.
    pub fn transform(&self, input: ArrayView4<'_, T>) -> Result<Array5<T>> {
        Ok(self
            .transform_dyn(input.into_dyn())?
            .into_dimensionality()
            .expect("transform_dyn keeps the two leading dimensions"))
    }

    /// Scattering coefficients of an array with any number of leading dimensions, as kymatio.
    ///
    /// # Shapes
    /// - input: `[..., height, width]` (at least 2 dimensions; `[height, width]` is one image)
    /// - output: `[..., K, height / 2^J, width / 2^J]`
    ///
    /// # Errors
    /// [`ScatterError::InvalidRank`] for fewer than 2 dimensions, otherwise as
    /// [`Scattering2dPlan::transform`].
    pub fn transform_dyn(&self, input: ArrayViewD<'_, T>) -> Result<ArrayD<T>> {
        Ok(self.forward(self.own_bank()?, input, false)?.0)
    }

    /// The gradient of `⟨grad_output, S(input)⟩` with respect to the input, with the plan's bank:
    /// the transform's vector–Jacobian product, by the cascade's adjoint (the backward the burn
    /// layer uses), for saliency maps, adversarial examples or whatever comes before the transform.
    ///
    /// # Shapes
    /// - input: `[batch, channels, height, width]`
    /// - grad_output: `[batch, channels, K, height / 2^J, width / 2^J]`, the shape of
    ///   [`Scattering2dPlan::transform`]'s output
    /// - output: `[batch, channels, height, width]`
    ///
    /// # Errors
    /// As [`Scattering2dPlan::transform`], plus [`ScatterError::InvalidShape`] if `grad_output`
    /// does not have the output's shape and [`ScatterError::NonFiniteInput`] for a non-finite
    /// value in it.
    pub fn input_gradient(
        &self,
        input: ArrayView4<'_, T>,
        grad_output: ArrayView5<'_, T>,
    ) -> Result<Array4<T>> {
        let x = input.into_dyn();
        let bank = self.own_bank()?;
        let grads = self.backward(bank, x, None, grad_output.into_dyn(), true, false)?;
        Ok(grads
            .input
            .expect("the input gradient was asked for")
            .into_dimensionality()
            .expect("input-shaped gradient"))
    }

    /// Builds the wavelet spectra of `bank` on the padded grid ([`spectral::morlet_spectrum`])
    /// and prepares them for this plan, for [`Scattering2dPlan::forward`] and
    /// [`Scattering2dPlan::backward`].
    ///
    /// # Errors
    /// The bank's checks (`FilterBankParams::validate`), [`ScatterError::InvalidParameter`]
    /// (`filter_bank`) when its `J` or `L` differs from the options', and
    /// [`ScatterError::OutOfMemory`] when the spectra cannot be allocated.
    pub fn prepare(&self, bank: FilterBankParams) -> Result<PreparedBank<T>> {
        prepare(&self.cascade, bank)
    }

    /// Prepares free wavelet spectra for this plan: `spectra[n]` is the real spectrum `ψ̂_n` of
    /// wavelet `n = j·L + l` on the padded grid `Mp × Np` ([`Scattering2dPlan::geometry`]'s
    /// `padded_size`), in FFT order (DC at `[n, 0, 0]`), as `spectral::wavelet_spectra` lays
    /// out the spectra of Morlet wavelets. The paper's pixelwise parametrisation trains these
    /// values; [`Scattering2dPlan::backward`] then gives the gradient with respect to them
    /// ([`ScatteringGradients::spectra`]).
    ///
    /// # Errors
    /// [`ScatterError::InvalidShape`] unless the shape is `[J·L, Mp, Np]`,
    /// [`ScatterError::InvalidParameter`] (`spectra`) for a non-finite value, naming its index,
    /// and [`ScatterError::OutOfMemory`] when the prepared spectra cannot be allocated.
    pub fn prepare_spectra(&self, spectra: ArrayView3<'_, f64>) -> Result<PreparedBank<T>> {
        let options = self.options();
        let (big_j, big_l) = (options.num_scales(), options.num_orientations());
        let [mp, np] = self.geometry().padded_size();
        let expected = [big_j * big_l, mp, np];
        if spectra.shape() != expected {
            return Err(ScatterError::InvalidShape {
                expected: expected.into_iter().map(Some).collect(),
                got: spectra.shape().to_vec(),
            });
        }
        if let Some(((n, i, k), v)) = spectra.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(ScatterError::InvalidParameter {
                name: "spectra",
                value: format!("{v} at index [{n}, {i}, {k}]"),
                reason: "wavelet spectra must be finite",
            });
        }
        let view = spectra.into_dyn();
        let values = standard_layout(&view, "a copy of the wavelet spectra")?;
        Ok(PreparedBank {
            source: BankSource::Spectra {
                num_scales: big_j,
                num_orientations: big_l,
            },
            filters: self.cascade.prepare_filters(&values)?,
            padded_size: [mp, np],
            max_order: options.max_order(),
        })
    }

    /// Scattering coefficients of `input` with the wavelets of `bank`; with `record`, also the
    /// intermediates for [`Scattering2dPlan::backward`].
    ///
    /// # Shapes
    /// - input: `[..., height, width]` (at least 2 dimensions)
    /// - output: `[..., K, height / 2^J, width / 2^J]`, channels in the order of
    ///   [`Scattering2dPlan::paths`]
    ///
    /// # Errors
    /// As [`Scattering2dPlan::transform_dyn`]; [`ScatterError::InvalidParameter`] (`bank`) for a
    /// bank prepared by a plan of another size or order; [`ScatterError::OutOfMemory`] when a
    /// buffer cannot be allocated: the output, the tape, a C-contiguous copy of a non-contiguous
    /// (for example broadcast) input, or a worker's workspace. Every one of them is reserved
    /// fallibly, so running out of memory is this error, not an abort.
    pub fn forward(
        &self,
        bank: &PreparedBank<T>,
        input: ArrayViewD<'_, T>,
        record: bool,
    ) -> Result<(ArrayD<T>, Option<ScatteringTape<T>>)> {
        self.check_prepared(bank)?;
        let shape = input.shape().to_vec();
        check_input_shape(self.input_size(), &shape)?;
        let planes = input.len() / self.cascade.input_plane();
        // The output is reserved first: its size is known before the input is read.
        let what = "the scattering output";
        let out_len = checked_len::<T>(planes, self.cascade.output_plane(), what)?;
        let mut out = zeros::<T>(out_len, what)?;
        let x = standard_layout(&input, "a C-contiguous copy of the input")?;
        check_finite(&x, &shape)?;
        let mut tape = record.then(|| self.cascade.new_tape(planes)).transpose()?;
        self.cascade
            .forward(&bank.filters, &x, &mut out, tape.as_mut())?;
        let out_shape = self.output_shape(&shape);
        let out = ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("output length");
        Ok((out, tape.map(|tape| ScatteringTape::new(tape, shape))))
    }

    /// The vector–Jacobian products of the transform at `input` with the wavelets of `bank`:
    /// the gradient of `⟨grad_output, S(input)⟩` with respect to the input (`want_input`) and to
    /// what defines the filters (`want_filters`): each wavelet's `(σ, ξ, θ, slant)`
    /// ([`ScatteringGradients::wavelets`]) for a bank of Morlet parameters, the spectra
    /// ([`ScatteringGradients::spectra`]) for a bank prepared from spectra. `tape`, when given,
    /// must come from [`Scattering2dPlan::forward`] on this same input and bank (its shape is
    /// checked, its values are trusted); without it the intermediates are recomputed.
    ///
    /// # Shapes
    /// - input: `[..., height, width]`
    /// - grad_output: `[..., K, height / 2^J, width / 2^J]`, the forward's output shape
    ///
    /// # Errors
    /// As [`Scattering2dPlan::forward`], plus [`ScatterError::InvalidShape`] when `grad_output`
    /// or the tape does not match the input, [`ScatterError::NonFiniteInput`] for a non-finite
    /// value in `grad_output`, and [`ScatterError::OutOfMemory`] when a gradient, a copy of a
    /// non-contiguous argument, a worker's workspace or a filter-gradient accumulator cannot be
    /// allocated.
    pub fn backward(
        &self,
        bank: &PreparedBank<T>,
        input: ArrayViewD<'_, T>,
        tape: Option<&ScatteringTape<T>>,
        grad_output: ArrayViewD<'_, T>,
        want_input: bool,
        want_filters: bool,
    ) -> Result<ScatteringGradients<T>> {
        self.check_prepared(bank)?;
        let shape = input.shape().to_vec();
        check_input_shape(self.input_size(), &shape)?;
        let expected = self.output_shape(&shape);
        if grad_output.shape() != expected.as_slice() {
            return Err(ScatterError::InvalidShape {
                expected: expected.into_iter().map(Some).collect(),
                got: grad_output.shape().to_vec(),
            });
        }
        if let Some(t) = tape
            && t.shape() != shape.as_slice()
        {
            return Err(ScatterError::InvalidShape {
                expected: t.shape().iter().copied().map(Some).collect(),
                got: shape,
            });
        }
        if !want_input && !want_filters {
            return Ok(ScatteringGradients {
                input: None,
                wavelets: None,
                spectra: None,
            });
        }
        let x = standard_layout(&input, "a C-contiguous copy of the input")?;
        check_finite(&x, &shape)?;
        let grad = standard_layout(&grad_output, "a C-contiguous copy of the output gradient")?;
        check_finite(&grad, grad_output.shape())?;
        let (dx, dpsi) = self.cascade.backward(
            &bank.filters,
            &x,
            tape.map(ScatteringTape::tape),
            &grad,
            want_input,
            want_filters,
        )?;
        let input = dx.map(|dx| ArrayD::from_shape_vec(IxDyn(&shape), dx).expect("input shape"));
        let [mp, np] = bank.padded_size;
        let (wavelets, spectra) = match (dpsi, &bank.source) {
            (None, _) => (None, None),
            (Some(dpsi), BankSource::Morlet(params)) => (
                Some(spectral::wavelet_spectra_vjp(
                    params.wavelets(),
                    mp,
                    np,
                    &dpsi,
                )),
                None,
            ),
            (Some(dpsi), BankSource::Spectra { .. }) => {
                let n = dpsi.len() / (mp * np);
                let spectra = Array3::from_shape_vec((n, mp, np), dpsi).expect("[J·L, Mp, Np]");
                (None, Some(spectra))
            }
        };
        Ok(ScatteringGradients {
            input,
            wavelets,
            spectra,
        })
    }

    /// `[..., K, ho, wo]` for an input `[..., height, width]`.
    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let [ho, wo] = self.geometry().output_size();
        let mut out = input[..input.len() - 2].to_vec();
        out.extend([self.paths().len(), ho, wo]);
        out
    }

    /// [`ScatterError::InvalidParameter`] (`bank`) for a bank prepared by another plan.
    fn check_prepared(&self, bank: &PreparedBank<T>) -> Result<()> {
        let (big_j, big_l) = bank.scales_and_orientations();
        let same = bank.padded_size == self.geometry().padded_size()
            && bank.max_order == self.options().max_order()
            && big_j == self.options().num_scales()
            && big_l == self.options().num_orientations();
        if same {
            return Ok(());
        }
        Err(ScatterError::InvalidParameter {
            name: "bank",
            value: format!(
                "prepared for a {:?} padded grid, J = {big_j}, L = {big_l}, max_order = {}",
                bank.padded_size, bank.max_order
            ),
            reason: "a bank must be prepared by the plan that runs it",
        })
    }
}

/// The spectra of `bank` prepared for `cascade`, after the bank's checks.
fn prepare<T: Float>(cascade: &Cascade<T>, bank: FilterBankParams) -> Result<PreparedBank<T>> {
    check_bank(cascade.options(), &bank)?;
    let [mp, np] = cascade.geometry().padded_size();
    // `wavelet_spectra` holds every spectrum twice at its peak (the planes, then the flat copy).
    let values = bank.wavelets().len() as u128 * mp as u128 * np as u128;
    check_reservable(2 * bytes_of::<f64>(values), "the wavelet spectra")?;
    let spectra = spectral::wavelet_spectra(bank.wavelets(), mp, np);
    Ok(PreparedBank {
        filters: cascade.prepare_filters(&spectra)?,
        source: BankSource::Morlet(bank),
        padded_size: [mp, np],
        max_order: cascade.options().max_order(),
    })
}

/// Checks an input of shape `[..., height, width]` against the plan's input size:
/// [`ScatterError::InvalidRank`] for fewer than 2 dimensions, [`ScatterError::InvalidShape`] for
/// another image size, [`ScatterError::EmptyBatch`] for a zero leading dimension.
fn check_input_shape([height, width]: [usize; 2], shape: &[usize]) -> Result<()> {
    if shape.len() < 2 {
        return Err(ScatterError::InvalidRank {
            expected: "at least 2",
            got: shape.len(),
        });
    }
    let (lead, spatial) = shape.split_at(shape.len() - 2);
    if spatial != [height, width] {
        let mut expected = vec![None; lead.len()];
        expected.extend([Some(height), Some(width)]);
        return Err(ScatterError::InvalidShape {
            expected,
            got: shape.to_vec(),
        });
    }
    if lead.contains(&0) {
        return Err(ScatterError::EmptyBatch {
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

/// The bank's own checks ([`FilterBankParams::validate`]) and [`ScatterError::InvalidParameter`]
/// (`filter_bank`) when its `J` or `L` differs from the options'.
pub(super) fn check_bank(options: &ScatteringOptions, bank: &FilterBankParams) -> Result<()> {
    bank.validate()?;
    let (bank_j, bank_l) = (bank.num_scales(), bank.num_orientations());
    if (bank_j, bank_l) != (options.num_scales(), options.num_orientations()) {
        return Err(ScatterError::InvalidParameter {
            name: "filter_bank",
            value: format!(
                "J = {bank_j}, L = {bank_l} (the options expect J = {}, L = {})",
                options.num_scales(),
                options.num_orientations()
            ),
            reason: "the bank's J and L must equal the options'",
        });
    }
    Ok(())
}

/// [`ScatterError::NonFiniteInput`] at the first NaN or infinite value, in row-major order.
fn check_finite<T: Float>(x: &[T], shape: &[usize]) -> Result<()> {
    let Some(flat) = x.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let mut index = vec![0; shape.len()];
    let mut rest = flat;
    for (i, &n) in shape.iter().enumerate().rev() {
        index[i] = rest % n;
        rest /= n;
    }
    Err(ScatterError::NonFiniteInput {
        index,
        value: x[flat].to_f64().unwrap_or(f64::NAN),
    })
}
