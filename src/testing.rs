//! Hooks for the crate's own integration tests and benchmarks: feature `testing`, which only the
//! crate's dev-dependency on itself turns on (`Cargo.toml`), so `cargo test` and `cargo bench`
//! see it and a downstream crate never does. Not part of the public API (`.ci/public-api` counts
//! `--features full`, without it).

/// How many filter gradients this thread has computed: the cascade's gradient with respect to the
/// spectra and the construction's vector–Jacobian product each count one (frozen filters must
/// cost none).
#[cfg(feature = "burn")]
pub fn filter_gradient_work() -> usize {
    crate::nn::construction::counter::filter_gradient_work()
}

/// The cascade's device executor (`cascade::device`: CubeCL kernels on wgpu), for the GPU tests
/// (`tests/gpu_*.rs`), until the burn layer runs it.
#[cfg(feature = "wgpu")]
pub mod device {
    pub use crate::cascade::device::fft::planner::{Algorithm, LinePlan, factorize};
    pub use crate::cascade::device::{
        Buffer, DeviceBank, DeviceError, DeviceFft, DeviceGradients, DeviceLimits, DevicePlan,
        DeviceSpectra, DeviceTape, Direction, Fft2Path, SplitComplex, adapter_name, launches,
        wgpu_client,
    };
}

/// The checkpoint manifest's reader and checks and the checkpoint's file names, for the fuzz
/// target of checkpoints (`tests/fuzz`).
#[cfg(feature = "train")]
pub mod checkpoint {
    use std::path::Path;

    use crate::train::checkpoint as names;

    /// The files a manifest records.
    pub const DATA_FILES: [&str; 4] = names::DATA_FILES;
    /// The model's file name.
    pub const MODEL_FILE: &str = names::MODEL_FILE;
    /// The manifest's file name.
    pub const STATE_FILE: &str = names::STATE_FILE;

    /// Reads `dir`'s `state.json` and checks every file it records against its size and digest:
    /// the checks a resume makes before it loads anything. `Ok(None)` when the manifest does not
    /// read; `Ok(Some(result))` with the files' check otherwise.
    pub fn read_and_verify(dir: &Path) -> Option<crate::Result<()>> {
        let manifest = crate::train::checkpoint::CheckpointManifest::read(dir).ok()?;
        Some(manifest.verify_files(dir))
    }
}

/// kymatio's literal spatial construction of the filters (`filters::spatial`): the oracle that
/// ties the closed form to kymatio in the golden and property tests.
pub mod spatial {
    pub use crate::filters::spatial::{morlet_2d, morlet_spectrum_by_fft};
}
