//! Helpers shared by the integration tests. Every test binary reaches them the same way, one line
//! at its top, then paths into the submodules:
//!
//! ```ignore
//! mod support;
//! use support::scratch::scratch;
//! ```
//!
//! Each binary compiles the whole folder and uses a part of it (hence `allow(dead_code)`); what
//! needs an optional dependency is behind its feature.
//!
//! - [`scratch`]: temporary folders, and a user's files to put in them.
//! - [`kymatio`]: the kymatio golden fixtures (`tests/fixtures/kymatio_scattering2d.npz`).
//! - [`numeric`]: comparison metrics; the CPU devices and tensor conversions of the burn tests.
//! - [`device`] (features `wgpu` and `testing`): the client, the adapter's name and readings of
//!   the device executor's tests.
//! - [`models`] (features `train` and `flex`): small hybrid models and the data to train them on.
//! - [`capped_alloc`]: a counting allocator with a memory cap. Compiled everywhere, installed only
//!   in the binaries that bound memory (the readers' hostile inputs, the fuzz smoke test), each
//!   with one `#[global_allocator]` declaration at its top (see the module).
//!
//! Here: [`lock`], which serialises the tests that touch process-wide state (the allocator's
//! counters, the working directory), the fixtures' folder, the `scatter_npy` example binary,
//! and the check that an error names a file.
#![allow(dead_code)]

pub mod capped_alloc;
#[cfg(all(feature = "wgpu", feature = "testing"))]
pub mod device;
pub mod kymatio;
#[cfg(all(feature = "train", feature = "flex"))]
pub mod models;
pub mod numeric;
pub mod scratch;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use learnable_scattering::ScatterError;

static LOCK: Mutex<()> = Mutex::new(());

/// Serialises the tests of a binary that take it: those that use the allocator's counters, or
/// change anything else process-wide, such as the working directory.
pub fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The folder of the committed fixtures, `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The `scatter_npy` example binary. `cargo test` builds the examples before running the tests;
/// the binary sits in `target/<profile>/examples/`, next to the test binary's `deps/` folder.
pub fn scatter_npy() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("scatter_npy{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} not built (run through `cargo test`)",
        path.display()
    );
    path
}

/// Asserts that the error's message names `file` (by its file name).
pub fn names_file(e: &ScatterError, file: &Path) {
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(e.to_string().contains(&*name), "`{e}` does not name {name}");
}
