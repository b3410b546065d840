//! Fast fixed-filter 2D scattering on the CPU: ndarray + rustfft + rayon, `f32` or `f64`.
//!
//! A [`Scattering2dPlan`] is built once for an input size and a filter bank (FFT plans and filter
//! spectra cached, RustFFT's plan-once-execute-many), then [`Scattering2dPlan::transform`] runs on
//! any number of batches, in parallel over images with rayon. Numerically it is kymatio 0.3.0's
//! `Scattering2D` (same padding, filters, Fourier subsampling and path order), with two
//! exact reorganisations: spectra are stored transposed (one transpose per 2D FFT), and two real
//! signals share one complex FFT (moduli before their forward transform, outputs before their
//! inverse one).
//!
//! # Example
//! ```
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! use learnable_scattering::{ScatteringOptions, fast::Scattering2dPlan};
//! use ndarray::Array4;
//!
//! let plan = Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(2, 8)?)?;
//! let x = Array4::<f32>::from_shape_fn((4, 3, 32, 32), |(b, c, i, j)| ((b + c + i * j) as f32).sin());
//! let s = plan.transform(x.view())?;
//! assert_eq!(s.shape(), &[4, 3, 81, 8, 8]);
//! # Ok(()) }
//! ```

pub(crate) mod cascade;
pub(crate) mod kernels;
mod learnable;

pub use learnable::{LearnableScattering2d, PreparedBank, ScatteringGradients, ScatteringTape};

use ndarray::{Array5, ArrayD, ArrayView4, ArrayViewD};
use rustfft::FftNum;

use crate::error::{Result, ScatterError};
use crate::filters::{FilterBankParams, spectral};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};

/// Floating-point types the fast path runs in: `f32` and `f64`.
pub trait Float: FftNum + num_traits::Float + ndarray::ScalarOperand {
    /// Largest input magnitude the cascade takes as it is: a plane with a larger value is scaled
    /// down by a power of two first (and its coefficients back up), so that no square inside the
    /// cascade overflows. `2^40` for `f32` (squares stay below `2^80 · MpNp` against a range of
    /// `2^128`), `2^400` for `f64`.
    const SAFE_MAGNITUDE: f64;
}
impl Float for f32 {
    const SAFE_MAGNITUDE: f64 = 1_099_511_627_776.0; // 2^40
}
impl Float for f64 {
    // 2^400
    const SAFE_MAGNITUDE: f64 = 2.582_249_878_086_908_6e120;
}

/// Largest memory a plan may need, by the estimate of [`plan_bytes`]: 16 GiB. A plan for
/// 32 × 32 inputs at `J = 2`, `L = 8` needs about 1 MB, one for 1024 × 1024 about 550 MB; larger
/// sizes are refused with [`ScatterError::PlanTooLarge`] before anything is allocated. The burn
/// layer's cascade is held to the same limit (its `forward` panics with that message).
pub const MAX_PLAN_BYTES: u64 = 16 << 30;

/// Estimated peak memory, in bytes, of planning a transform for `geometry` and `options` in
/// element type `T`: the filter spectra as computed (`f64`, one plane per wavelet, plus the
/// flattened copy handed to the cascade), the prepared wavelet and low-pass spectra (complex
/// `T`, every resolution they are applied at: at most 4/3 of a full plane each), the path
/// tables (`(J·L)²` entries for order 2) and one worker's workspace (a few full planes).
/// Computed in `u128`, without overflow for any validated options and geometry.
pub fn plan_bytes<T: Float>(options: &ScatteringOptions, geometry: &PaddedGeometry) -> u128 {
    let [mp, np] = geometry.padded_size();
    let plane = mp as u128 * np as u128;
    let complex = 2 * std::mem::size_of::<T>() as u128;
    let wavelets = options.num_scales() as u128 * options.num_orientations() as u128;
    let spectra_f64 = 2 * 8 * wavelets * plane + 8 * plane;
    let prepared = complex * (wavelets + 1) * plane * 4 / 3;
    let tables =
        8 * wavelets * wavelets + 64 * options.num_paths() as u128 + 16 * (mp + np) as u128;
    let workspace = 8 * complex * plane;
    spectra_f64 + prepared + tables + workspace
}

/// [`ScatterError::PlanTooLarge`] when [`plan_bytes`] exceeds [`MAX_PLAN_BYTES`].
pub(crate) fn check_plan_size<T: Float>(
    options: &ScatteringOptions,
    geometry: &PaddedGeometry,
) -> Result<()> {
    let bytes = plan_bytes::<T>(options, geometry);
    if bytes > u128::from(MAX_PLAN_BYTES) {
        return Err(ScatterError::PlanTooLarge {
            height: geometry.height,
            width: geometry.width,
            num_scales: options.num_scales(),
            num_orientations: options.num_orientations(),
            bytes,
            limit: MAX_PLAN_BYTES,
        });
    }
    Ok(())
}

/// A planned fixed-filter scattering transform for one input size.
///
/// Holds the scattering cascade (FFT plans of every resolution `2^−r`, `r = 0..=J`, the low-pass
/// `φ̂` at levels `0..J`, the padding tables) and the bank's wavelet spectra at the resolutions
/// they are applied at: `ψ̂_{j,l}` at level 0 and at the levels `j1 < j` used by order 2. The same
/// cascade runs the burn layer on the CPU. `Send + Sync`: share it across threads freely.
///
/// A [`LearnableScattering2d`] with one [`PreparedBank`] fixed at planning.
pub struct Scattering2dPlan<T: Float = f32> {
    layer: LearnableScattering2d<T>,
    bank: PreparedBank<T>,
}

impl<T: Float> std::fmt::Debug for Scattering2dPlan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scattering2dPlan")
            .field("options", self.options())
            .field("geometry", self.geometry())
            .finish_non_exhaustive()
    }
}

impl<T: Float> Scattering2dPlan<T> {
    /// Plan with kymatio's tight-frame bank ([`FilterBankParams::tight_frame`]).
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for invalid options, [`ScatterError::ScaleTooLarge`] if
    /// `2^J` exceeds `height` or `width`, [`ScatterError::InputTooLarge`] beyond
    /// [`MAX_PADDED_PLANE`](crate::geometry::MAX_PADDED_PLANE),
    /// [`ScatterError::PlanTooLarge`] beyond [`MAX_PLAN_BYTES`]; all checked before the filter
    /// bank or any buffer is built.
    pub fn new(height: usize, width: usize, options: ScatteringOptions) -> Result<Self> {
        options.validate()?;
        check_plan_size::<T>(
            &options,
            &PaddedGeometry::new(height, width, options.num_scales())?,
        )?;
        let bank = FilterBankParams::tight_frame(options.num_scales(), options.num_orientations())?;
        Self::with_filter_bank(height, width, options, bank)
    }

    /// Plan with an explicit bank, for example learned parameters exported from the burn layer.
    /// `options` gives `J`, `L` and the maximum order, as for [`Scattering2dPlan::new`]; the
    /// bank must have the same `J` and `L`.
    ///
    /// # Errors
    /// As [`Scattering2dPlan::new`] (the size limits are checked before the spectra are
    /// computed), plus the bank's own checks ([`FilterBankParams::validate`]) and
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
        let layer = LearnableScattering2d::new(height, width, options)?;
        let bank = layer.prepare(bank)?;
        Ok(Self { layer, bank })
    }

    /// The options (`J`, `L`, `max_order`).
    pub fn options(&self) -> &ScatteringOptions {
        self.layer.options()
    }

    /// Padding and output geometry.
    pub fn geometry(&self) -> &PaddedGeometry {
        self.layer.geometry()
    }

    /// The filter bank the plan was built from.
    pub fn filter_bank(&self) -> &FilterBankParams {
        self.bank.filter_bank()
    }

    /// Output channels in order: channel `k` is `paths()[k]`.
    pub fn paths(&self) -> &[ScatteringPath] {
        self.layer.paths()
    }

    /// Number of output channels `K`.
    pub fn num_paths(&self) -> usize {
        self.paths().len()
    }

    /// Scattering coefficients of a batch of multi-channel images.
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
    /// [`ScatterError::NonFiniteInput`] at the first NaN or infinite value.
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
        Ok(self.layer.forward(&self.bank, input, false)?.0)
    }

    /// The gradient of `⟨grad_output, S(input)⟩` with respect to the input: the transform's
    /// vector–Jacobian product, by the cascade's adjoint (the backward the burn layer uses), for
    /// saliency maps, adversarial examples or whatever comes before the transform.
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
        grad_output: ndarray::ArrayView5<'_, T>,
    ) -> Result<ndarray::Array4<T>> {
        let grads = self.layer.backward(
            &self.bank,
            input.into_dyn(),
            None,
            grad_output.into_dyn(),
            true,
            false,
        )?;
        Ok(grads
            .input
            .expect("the input gradient was asked for")
            .into_dimensionality()
            .expect("input-shaped gradient"))
    }
}

/// Checks an input of shape `[..., height, width]` against the plan's geometry:
/// [`ScatterError::InvalidRank`] for fewer than 2 dimensions, [`ScatterError::InvalidShape`] for
/// another image size, [`ScatterError::EmptyBatch`] for a zero leading dimension.
pub(crate) fn check_input_shape(geometry: &PaddedGeometry, shape: &[usize]) -> Result<()> {
    if shape.len() < 2 {
        return Err(ScatterError::InvalidRank {
            expected: "at least 2",
            got: shape.len(),
        });
    }
    let (lead, spatial) = shape.split_at(shape.len() - 2);
    if spatial != [geometry.height, geometry.width] {
        let mut expected = vec![None; lead.len()];
        expected.extend([Some(geometry.height), Some(geometry.width)]);
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
pub(crate) fn check_bank(options: &ScatteringOptions, bank: &FilterBankParams) -> Result<()> {
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

/// The bank's wavelet spectra `[J·L][height][width]` (row-major, FFT order), the layout
/// `Cascade::prepare_filters` takes ([`spectral::wavelet_spectra`]).
pub(crate) fn wavelet_spectra(bank: &FilterBankParams, height: usize, width: usize) -> Vec<f64> {
    spectral::wavelet_spectra(bank.wavelets(), height, width)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit test because integration tests cannot build options outside the validated range: a
    /// plan checks its options again before planning anything.
    #[test]
    fn plans_refuse_unchecked_options() {
        let zero_scales = ScatteringOptions::unchecked(0, 8, 2);
        assert!(matches!(
            Scattering2dPlan::<f32>::new(32, 32, zero_scales),
            Err(ScatterError::InvalidParameter { .. })
        ));
        let huge_l = ScatteringOptions::unchecked(2, 1_000_000, 2);
        assert!(Scattering2dPlan::<f32>::new(32, 32, huge_l).is_err());
    }
}
