//! The one backend choice of every example's command line (`--backend`, or `--device` where the
//! example already names it so).

use burn::tensor::Device;
use clap::ValueEnum;

/// Backend to run the burn layer on.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    /// burn-flex, burn's maintained pure-Rust CPU backend (the crate's default).
    Flex,
    /// burn-ndarray (deprecated in burn 0.22, removed in 0.23).
    Ndarray,
    /// burn-wgpu (GPU; build with `--features wgpu`).
    Wgpu,
}

impl Backend {
    /// The device of this backend (without autodiff; add `.autodiff()` to train).
    ///
    /// # Errors
    /// A message naming the feature to build with when this build lacks the backend.
    pub fn device(self) -> Result<Device, String> {
        Ok(match self {
            Backend::Flex => Device::flex(),
            #[allow(deprecated)]
            Backend::Ndarray => Device::ndarray(),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Device::wgpu(Default::default()),
            #[cfg(not(feature = "wgpu"))]
            Backend::Wgpu => {
                return Err(
                    "this build has no wgpu backend: rebuild with `--features wgpu`".into(),
                );
            }
        })
    }
}
