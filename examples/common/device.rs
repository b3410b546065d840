//! The one device choice of every example's command line: `--device flex|ndarray|wgpu`, where
//! the burn layer runs (burn's backends are chosen at run time through the device).

use burn::tensor::Device;
use clap::ValueEnum;

/// Where to run the burn layer: one value per burn backend this crate supports.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeviceKind {
    /// burn-flex, burn's maintained pure-Rust CPU backend (the crate's default).
    Flex,
    /// burn-ndarray (deprecated in burn 0.22, removed in 0.23).
    Ndarray,
    /// burn-wgpu (GPU; build with `--features wgpu`).
    Wgpu,
}

impl DeviceKind {
    /// The burn device (without autodiff; add `.autodiff()` to train).
    ///
    /// # Errors
    /// A message naming the feature to build with when this build lacks the backend.
    pub fn device(self) -> Result<Device, String> {
        Ok(match self {
            DeviceKind::Flex => Device::flex(),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceKind::Ndarray => Device::ndarray(),
            #[cfg(not(feature = "ndarray"))]
            DeviceKind::Ndarray => {
                return Err(
                    "this build has no ndarray backend: rebuild with `--features ndarray`".into(),
                );
            }
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Device::wgpu(Default::default()),
            #[cfg(not(feature = "wgpu"))]
            DeviceKind::Wgpu => {
                return Err(
                    "this build has no wgpu backend: rebuild with `--features wgpu`".into(),
                );
            }
        })
    }
}
