//! The learnable scattering layer on burn (feature `burn`, turned on by each backend feature).
//!
//! - [`MorletFilterBank`]: `J·L` Morlet wavelets with trainable
//!   `σ`, `ξ`, `θ`, slant (full, equivariant or pixelwise parametrisation; tight-frame, random or
//!   explicit initialisation; any family frozen).
//! - [`Scattering2dConfig`] → [`Scattering2d`]: orders 0, 1, 2 on `[batch, channels, H, W]`,
//!   numerically kymatio 0.3 on frozen tight-frame filters, differentiable with respect to the
//!   input and the filter parameters.
//!
//! Implementation, private: the filter construction as one burn operation on every backend
//! (`construction`) and the whole cascade as one operation (`fused`): the crate's `cascade`,
//! its host executor on the CPU backends and its device executor on wgpu.
//!
//! # Devices
//!
//! The layer runs on every backend compiled in: [`burn::tensor::Device::flex`] (feature `flex`),
//! `Device::ndarray()` (feature `ndarray`, deprecated by burn 0.22 and removed in 0.23) and
//! `Device::wgpu(..)` (feature `wgpu`). Wrap a device with `.autodiff()` to train. [`cpu_device`]
//! is the CPU backend this crate recommends, chosen on measured speed (`docs/benchmarks.md`).

pub(crate) mod construction;
mod filter_bank;
mod fused;
mod scattering2d;

pub use filter_bank::{FilterInit, MorletFilterBank, Trainable};
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

/// Helpers of the unit tests of `nn` (the integration tests have theirs in `tests/support`).
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
pub(crate) mod test_util {
    use burn::tensor::{Device, Tensor};

    /// Every CPU backend compiled in.
    #[allow(clippy::vec_init_then_push)] // each push depends on a feature
    pub fn devices() -> Vec<(&'static str, Device)> {
        let mut out = Vec::new();
        #[cfg(feature = "flex")]
        out.push(("flex", Device::flex()));
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        out.push(("ndarray", Device::ndarray()));
        out
    }

    /// Largest `|a − b|` relative to `max|b|`.
    pub fn max_rel(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / scale
    }

    /// A tensor's values as `f64`.
    pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .unwrap()
    }
}
