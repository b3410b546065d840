//! Training checkpoints: the directory layout, ownership, atomic writing and verification.
//!
//! # Layout
//!
//! A checkpoint lives in a directory of its own, `DIR` ([`FitOptions::checkpoint_dir`]):
//!
//! ```text
//! DIR/
//!   state.json              the manifest, replaced last: format and version, the training
//!                           configuration, the model's signature (parameter shapes, which ones
//!                           train), epochs_done, the history, and the size and SHA-256 of each
//!                           file below
//!   model.bpk               the model (burnpack)
//!   optim_head.bpk          the head optimiser's state (momentum buffers)
//!   optim_filters.bpk       the filter optimiser's state
//!   filters.json            the filter trajectory (FilterTrajectory; inspect_filters reads it)
//!   .checkpoint-staging/    only while a checkpoint is written: the next one's files
//!   .checkpoint-commit/     only while a written checkpoint replaces the previous one
//! ```
//!
//! # What the crate touches
//!
//! The crate writes into `DIR` only when it is new, empty, or holds a checkpoint of this crate
//! and nothing else; any other entry is refused with
//! [`CheckpointError::ForeignEntry`] before training starts, unless
//! [`FitOptions::overwrite`] asks to write beside it (entries with the checkpoint's names are
//! then replaced, every other entry is left as it is). `.`, `..`, roots, the empty path and
//! existing files are refused ([`CheckpointError::Path`]). Nothing outside `DIR` is
//! created, renamed or deleted, and inside it only the names above: no directory is ever
//! removed recursively.
//!
//! # Atomic replacement
//!
//! A checkpoint is written into `.checkpoint-staging/` (each file synced to disk), the staging
//! folder is renamed to `.checkpoint-commit/` once it is complete, then each file is renamed
//! over its predecessor in `DIR`, `state.json` last. An interrupted write therefore leaves
//! either an incomplete staging folder (discarded next time; the previous checkpoint is intact)
//! or a complete commit folder, which the next [`fit`](super::fit) finishes moving before it
//! reads anything. A checkpoint never mixes files of two epochs, and one that does (a copy made
//! mid-write, a file replaced by hand) fails its checksums.
//!
//! # Verification
//!
//! Resuming checks, before loading anything: the format and version, every file's size and
//! SHA-256 against `state.json` (corrupted or swapped files), the training configuration, the
//! model's signature (architecture, parameter shapes, frozen or trainable families), and that
//! `epochs_done` lies in `1..=epochs` with one history entry per epoch. Each failure is a typed
//! error naming the checkpoint.
//!
//! [`FitOptions::checkpoint_dir`]: super::FitOptions::checkpoint_dir
//! [`FitOptions::overwrite`]: super::FitOptions::overwrite

mod directory;
mod error;
mod manifest;

pub(crate) use directory::CheckpointDir;
pub use directory::remove_checkpoint;
pub use error::CheckpointError;
pub(crate) use manifest::CheckpointManifest;

use std::path::Path;

use crate::error::{Result, ScatterError};
use crate::trajectory::CHECKPOINT_FILTERS_FILE;

/// The `format` field of every checkpoint manifest this crate writes.
pub(crate) const CHECKPOINT_FORMAT: &str = "learnable-scattering checkpoint";
/// The manifest version written and read by this version of the crate.
pub(crate) const CHECKPOINT_VERSION: u32 = 2;

/// The manifest's file name.
pub(crate) const STATE_FILE: &str = "state.json";
/// The model's file name.
pub(crate) const MODEL_FILE: &str = "model.bpk";
/// The head optimiser's file name.
pub(crate) const OPTIM_HEAD_FILE: &str = "optim_head.bpk";
/// The filter optimiser's file name.
pub(crate) const OPTIM_FILTERS_FILE: &str = "optim_filters.bpk";
/// The files a manifest records, in the order they are moved into place (the manifest itself
/// comes last).
pub(crate) const DATA_FILES: [&str; 4] = [
    MODEL_FILE,
    OPTIM_HEAD_FILE,
    OPTIM_FILTERS_FILE,
    CHECKPOINT_FILTERS_FILE,
];
/// The folder a checkpoint is written into before it replaces the previous one.
pub(crate) const STAGING_DIR: &str = ".checkpoint-staging";
/// The staging folder once complete, while its files replace the previous checkpoint's.
pub(crate) const COMMIT_DIR: &str = ".checkpoint-commit";

/// Longest manifest read, in bytes (a manifest of a 5000-epoch run is about 1.5 MB).
const MAX_STATE_BYTES: u64 = 64 << 20;

fn checkpoint_err(path: &Path, reason: impl ToString) -> ScatterError {
    ScatterError::Checkpoint(CheckpointError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    })
}

/// Runs a burn record operation on `path`; its error, or a panic inside burn, becomes
/// [`CheckpointError::Invalid`] naming the file.
fn guarded<T>(
    path: &Path,
    load: impl FnOnce() -> std::result::Result<T, burn::store::RecordError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(checkpoint_err(path, e)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(checkpoint_err(
                path,
                format!("burn cannot load this record: {message}"),
            ))
        }
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    crate::data::sha256_file(path)
}
