//! The learnable scattering layer on burn (feature `burn`, turned on by each backend feature).
//!
//! - [`MorletFilterBankConfig`] → [`MorletFilterBank`]: `J·L` Morlet wavelets with trainable
//!   `σ`, `ξ`, `θ`, slant (full, equivariant or pixelwise parametrisation; tight-frame, random or
//!   explicit initialisation; any family frozen).
//! - [`Scattering2dConfig`] → [`Scattering2d`]: orders 0, 1, 2 on `[batch, channels, H, W]`,
//!   numerically kymatio 0.3 on frozen tight-frame filters, differentiable with respect to the
//!   input and the filter parameters.
//! - [`spectral`]: the any-size differentiable 2D FFT behind it (RustFFT on the CPU backends, DFT
//!   matrices on wgpu).
//!
//! # Devices
//!
//! The layer runs on every backend compiled in: [`burn::tensor::Device::flex`] (feature `flex`),
//! `Device::ndarray()` (feature `ndarray`, deprecated by burn 0.22 and removed in 0.23) and
//! `Device::wgpu(..)` (feature `wgpu`). Wrap a device with `.autodiff()` to train. [`cpu_device`]
//! is the CPU backend this crate recommends, chosen on measured speed (`docs/benchmarks.md`).

pub mod complex;
pub mod construction;
mod filter_bank;
pub mod fused;
mod product;
mod scattering2d;
pub mod spectral;

pub use filter_bank::{
    FilterInit, MorletFilterBank, MorletFilterBankConfig, Parametrization, Trainable,
};
pub use scattering2d::{Scattering2d, Scattering2dConfig};

use burn::tensor::Device;

/// The recommended CPU device: flex when the `flex` feature is on (burn's maintained CPU backend),
/// else ndarray.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub fn cpu_device() -> Device {
    #[cfg(feature = "flex")]
    {
        Device::flex()
    }
    #[cfg(not(feature = "flex"))]
    #[allow(deprecated)]
    {
        Device::ndarray()
    }
}
