//! The scattering cascade (orders 0, 1, 2) and its adjoint: the crate's one engine, run on the CPU
//! by ndarray + rustfft + rayon, in `f32` or `f64`.
//!
//! A [`Scattering2dPlan`] is built once for an input size and `(J, L, max_order)` (FFT plans, the
//! low-pass, the padding and path tables: RustFFT's plan-once-execute-many) with a filter bank,
//! then runs on any number of batches, in parallel over planes with rayon:
//!
//! - [`Scattering2dPlan::transform`]: the fixed-filter transform with the plan's bank, kymatio
//!   0.3.0's `Scattering2D` numerically (same padding, filters, Fourier subsampling, path order);
//! - [`Scattering2dPlan::prepare`], [`Scattering2dPlan::forward`], [`Scattering2dPlan::backward`]:
//!   the learnable transform with any [`PreparedBank`] (a bank's spectra, prepared once per
//!   parameter update without re-planning), a forward that keeps a [`ScatteringTape`], the
//!   adjoint, and the gradient with respect to every wavelet's `(σ, ξ, θ, slant)`.
//!
//! The burn layer runs the same cascade on the CPU backends (`nn`), and the Python package's
//! frontends call it (`python/`).
//!
//! # The stages, one file each
//!
//! Per `height × width` plane, kymatio's algorithm (`docs/design.md`):
//!
//! ```text
//! X   = F(pad(x))                                        resolution 0
//! u1  = F^H(fold_{2^j1}(X · ψ̃_{j1,l1}))                   resolution j1
//! U1  = F(|u1|)            (two orientations per complex FFT, split by Hermitian symmetry)
//! u2  = F^H(fold_{2^(j2−j1)}(U1 · ψ̃_{j2,l2}[j1]))          resolution j2 > j1
//! S   = unpad(F^H(fold_{2^(J−r)}(F(U) · φ̃[r])))           resolution J, one pixel off each side
//! ```
//!
//! `F` is the unnormalised 2D DFT, `F^H` its adjoint (the unnormalised inverse), `fold_k` the sum
//! of the `k×k` aliases, and `ψ̃`, `φ̃` the filters pre-scaled by `1/(M_r·N_r)` of the grid they
//! multiply, which makes `F^H ∘ fold` kymatio's `ifft2 ∘ subsample_fourier`.
//!
//! - `plan`: what depends on the size and options only (FFT plans of every resolution, `φ̃`,
//!   padding tables, the channel of every path), and wavelet spectra prepared for it;
//! - `forward`: the stages above, per plane (`X` and `S0`; per pair of orientations `u1`, `Z`, `S1`;
//!   per first-order wavelet `u2`, `S2`);
//! - `adjoint`: the same stages backwards, every step replaced by its adjoint (`F ↔ F^H`,
//!   `fold_k(·ψ̃)` → `ψ̃·tile_k(·)` and `Re(conj(tile_k(ḡ))·src)` for the filter, the Hermitian split
//!   → its pack, `|u|` → `ḡ·u/|u|` (0 at `u = 0`, kymatio's `ModulusStable`), unpad → zero
//!   embedding, pad → scatter-add onto the source pixels), the filter gradient folded back onto the
//!   full padded grid through the crop indices of `crate::filters::periodize_rows`;
//! - `tape`: the intermediates a forward keeps (`X`, every `u1`, `u2`), read by the adjoint
//!   instead of recomputing the inverse FFTs that made them;
//! - `workspace`: per-thread buffers;
//! - `kernels`: the 2D FFT with a transposed spectral layout, the product fused with the fold and
//!   its adjoint, the packing of two real signals into one complex FFT.
//!
//! **Range.** Scattering is positively homogeneous, `S(c·x) = c·S(x)` for `c > 0`. A plane whose
//! largest magnitude exceeds `SAFE_MAGNITUDE` is scaled down by a power of two before the
//! cascade and its coefficients scaled back up (exact in floating point), so no intermediate
//! square overflows for any finite input.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! use learnable_scattering::{ScatteringOptions, cascade::Scattering2dPlan};
//! use ndarray::Array4;
//!
//! let plan = Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(2, 8)?)?;
//! let x = Array4::<f32>::from_shape_fn((4, 3, 32, 32), |(b, c, i, j)| ((b + c + i * j) as f32).sin());
//! let s = plan.transform(x.view())?;
//! assert_eq!(s.shape(), &[4, 3, 81, 8, 8]);
//! # Ok(()) }
//! ```

mod adjoint;
mod alloc;
#[cfg(feature = "wgpu")]
pub(crate) mod device;
mod forward;
pub(crate) mod kernels;
pub(crate) mod plan;
pub(crate) mod tape;
#[cfg(test)]
mod tests;
mod transform;
mod workspace;

pub use tape::ScatteringTape;
pub use transform::{PreparedBank, Scattering2dPlan, ScatteringGradients};

use rustfft::FftNum;

use crate::error::{Result, ScatterError};
use crate::geometry::{PaddedGeometry, ScatteringOptions};

/// Floating-point types the cascade runs in: `f32` and `f64` (sealed: no other type).
pub trait Float: FftNum + num_traits::Float + ndarray::ScalarOperand + sealed::Magnitude {}
impl Float for f32 {}
impl Float for f64 {}

pub(crate) mod sealed {
    /// The range limit behind [`super::Float`], out of the public API.
    pub trait Magnitude {
        /// Largest input magnitude the cascade takes as it is: a plane with a larger value is
        /// scaled down by a power of two first (and its coefficients back up), so that no square
        /// inside the cascade overflows. `2^40` for `f32` (squares stay below `2^80 · MpNp`
        /// against a range of `2^128`), `2^400` for `f64`.
        const SAFE_MAGNITUDE: f64;
    }
    impl Magnitude for f32 {
        const SAFE_MAGNITUDE: f64 = 1_099_511_627_776.0; // 2^40
    }
    impl Magnitude for f64 {
        // 2^400
        const SAFE_MAGNITUDE: f64 = 2.582_249_878_086_908_6e120;
    }
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
