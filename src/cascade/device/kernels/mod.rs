//! The cascade's CubeCL kernels (the FFT's are in `super::fft::kernels`):
//!
//! - [`elementwise`]: the forward's steps one value per unit (reflect padding, the filter product
//!   fused with the Fourier fold, the modulus, the unpadding into the output channels), the range
//!   reduction of each input plane, and the crop of a bank's spectra to every resolution;
//! - [`fused`]: the forward's steps around the shared-memory plane FFT, one launch per step;
//! - [`adjoint`]: the adjoint's steps one value per unit, and the filter gradient's reductions;
//! - [`adjoint_fused`]: the adjoint's steps around the shared-memory plane FFT.
//!
//! Every kernel covers all its planes in one launch, and every output value is written by one
//! unit with a fixed summation order (no atomics: WGSL has no float atomics), so results are
//! bit-reproducible. The fused kernels do the unfused kernels' arithmetic in the same order
//! (they share the `#[cube]` helpers), so both paths agree bit for bit.

pub(crate) mod adjoint;
pub(crate) mod adjoint_fused;
pub(crate) mod elementwise;
pub(crate) mod fused;

use cubecl::prelude::*;

/// The linear position of this unit over the launch grid (`super::launch::cube_count`).
#[cube]
pub(crate) fn position() -> usize {
    CUBE_POS * CUBE_DIM as usize + UNIT_POS as usize
}
