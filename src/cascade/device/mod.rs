//! The device executor of the cascade: the same stages as the host's (`super`, see its docs and
//! `docs/design.md`, "The engine"), as CubeCL kernels on burn's wgpu runtime (feature `wgpu`),
//! in `f32` (WGSL has no `f64`).
//!
//! ```text
//! X   = F(pad(x·2^−e))                                         resolution 0
//! u1  = F^H(fold_{2^j1}(X · ψ̃_{j1,l1}))                         resolution j1
//! U1  = F(|u1|)                        (one orientation per plane: no packing of two signals)
//! u2  = F^H(fold_{2^(j2−j1)}(U1 · ψ̃_{j2,l2}[j1]))               resolution j2 > j1
//! S   = unpad(F^H(fold_{2^(J−r)}(F(U) · φ̃[r])))·2^e             resolution J
//! ```
//!
//! It reads the host's tables: the padding rule (`PaddedGeometry::source_row`, `source_col`),
//! the channel of every path ([`crate::geometry::paths`]), the Fourier crop
//! ([`crate::filters::periodize_rows`]), the low-pass and the closed form's alias radius and row
//! windows (`filters::spectral`); the filters are pre-scaled by `1/(M_r·N_r)` as on the host.
//!
//! # The stages, one file each
//!
//! - `plan`: [`DevicePlan`] (FFT plans, `φ̃`, padding and bank tables, uploaded once) and
//!   [`DeviceBank`] (a bank's spectra cropped to every resolution: from the host's `f64` spectra,
//!   or from `[J·L, Mp, Np]` spectra already on the device in one launch);
//! - `forward`, with `steps` (the forward's steps, shared with the backward's recomputation);
//! - `adjoint`: the backward, from the output gradient to the input and spectra gradients
//!   ([`DeviceGradients`]), with `tables` (its gather descriptors, built once per plan);
//! - `tape`: [`DeviceTape`], the intermediates a forward keeps on the device;
//! - `fft`: the batched mixed-radix 2-D FFT ([`DeviceFft`]) and its planner;
//! - `kernels`: the cascade's kernels (elementwise, fused around the plane FFT, adjoint);
//! - `spectra`: [`DeviceSpectra`], the Morlet spectra of a bank and their VJP;
//! - `buffer`, `launch`: device memory ([`Buffer`], [`SplitComplex`]), the launch counter and
//!   the device limits.
//!
//! # Launches
//!
//! Every `(image plane, orientation, …)` of a stage is one launch, so the number of launches
//! depends on `J`, the order, the FFT path of each resolution and what is asked for, never on
//! the batch or `L` (tested with [`launches`]). Where an output plane fits in workgroup memory
//! (`16·h·w` bytes: 40×40 on 32 KiB, 48×48 on 48 KiB) a step is one fused launch (load,
//! transform, finish in shared memory); otherwise its elementwise kernels run around a row and a
//! column launch of the FFT. With every plane fused, at order 2:
//!
//! | call | launches |
//! |---|---|
//! | forward (with or without tape) | `3 + 2J + J(J−1)` (`3 + 2J` at order 1) |
//! | backward with a tape, both gradients | `3 + (J−1) + J(J−1) + 2J` |
//! | backward recomputing | the above `+ 2 + J + J(J−1)/2` |
//! | [`DevicePlan::prepare_spectra`] | 1 |
//! | [`DeviceSpectra::spectra`], [`DeviceSpectra::vjp`] | 1, 2 |
//!
//! (16×20 at `J = 2`: 9, 10 and 15.) Nothing is read back to the host inside a forward or a
//! backward, and every reduction has a fixed order: two runs give the same bits.

mod adjoint;
mod buffer;
pub mod fft;
mod forward;
pub(crate) mod kernels;
mod launch;
mod plan;
pub mod spectra;
mod steps;
mod tables;
mod tape;

pub use adjoint::DeviceGradients;
pub use buffer::{Buffer, SplitComplex};
pub use fft::{DeviceFft, Direction, Fft2Path};
pub use launch::{DeviceLimits, launches};
pub use plan::{DeviceBank, DevicePlan};
pub use spectra::DeviceSpectra;
pub use tape::DeviceTape;

use cubecl::prelude::*;
use cubecl::wgpu::WgpuDeviceKind;

use crate::ScatterError;

/// Why the device executor cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The checks the host cascade makes too: options, sizes, shapes, banks, wavelets.
    #[error(transparent)]
    Scatter(#[from] ScatterError),

    /// No wgpu adapter answers the request (no GPU and no software Vulkan driver, or no Vulkan
    /// loader).
    #[error("no wgpu device for {requested}: {reason}")]
    Unavailable {
        /// The device asked for.
        requested: String,
        /// What the runtime said.
        reason: String,
    },

    /// A forward or backward of this many planes needs a buffer larger than the device allows.
    #[error(
        "{planes} planes need a buffer of {bytes} bytes ({what}), more than the {limit} bytes \
         {adapter} allows in one buffer: split the batch"
    )]
    BatchTooLarge {
        /// Image planes asked for.
        planes: usize,
        /// The buffer that does not fit.
        what: &'static str,
        /// Its size.
        bytes: u128,
        /// The largest buffer of the device ([`DeviceLimits::max_buffer_bytes`]).
        limit: u64,
        /// The adapter's name.
        adapter: String,
    },

    /// The device reported a failure of work already submitted (out of memory, a failed launch,
    /// a lost device), at a read.
    #[error("the device failed: {reason}")]
    Runtime {
        /// What the runtime said.
        reason: String,
    },

    /// An FFT line needs more workgroup memory than the device has.
    #[error(
        "an FFT of length {length} needs {needed} bytes of workgroup memory per line, more than \
         the {available} bytes of {adapter}"
    )]
    LineTooLong {
        /// The transform length (a padded height or width, or one of its halvings).
        length: usize,
        /// Bytes one line needs (`16` per complex value of the line, or of its Bluestein
        /// convolution).
        needed: usize,
        /// The device's workgroup memory.
        available: usize,
        /// The adapter's name.
        adapter: String,
    },
}

/// The compute client of wgpu's default adapter (the one burn's `Device::wgpu(Default::default())`
/// uses), initialised on first use.
///
/// # Errors
/// [`DeviceError::Unavailable`] when this machine has no adapter wgpu can use, instead of the
/// runtime's panic.
pub fn wgpu_client() -> Result<Client, DeviceError> {
    let kind = WgpuDeviceKind::default();
    let device = cubecl::Device::wgpu(kind.clone()).map_err(|e| DeviceError::Unavailable {
        requested: format!("wgpu {kind:?}"),
        reason: e.to_string(),
    })?;
    Ok(device.client())
}

/// The adapter `client` runs on, in words (for example `llvmpipe (LLVM 15.0.6, 256 bits)` on
/// Mesa's software Vulkan driver), with its runtime (`wgpu<wgsl>`).
pub fn adapter_name(client: &Client) -> String {
    format!("{} ({})", client.properties().identity.name, client.name())
}
