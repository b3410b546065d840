//! Errors of training checkpoints ([`CheckpointError`]), reached from
//! [`ScatterError`](crate::ScatterError) through its `Checkpoint` variant.

use std::path::PathBuf;

/// Errors of training checkpoints (see `train::checkpoint`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A training checkpoint cannot be written, read or resumed (missing file, a configuration
    /// that differs from the one the checkpoint was written with, a corrupt record).
    #[error("checkpoint {path}: {reason}")]
    Invalid {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// A checkpoint directory path that the crate refuses to write into (`.`, `..`, a root, an
    /// empty path, an existing file).
    #[error("{path}: not usable as a checkpoint directory: {reason}")]
    Path {
        /// The path given.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A checkpoint directory holds an entry that is not part of a checkpoint written by this
    /// crate; nothing was written or deleted.
    #[error(
        "checkpoint directory {path} holds {entry}, which is not part of a checkpoint written by \
         this crate: use a new or empty directory, or allow writing beside foreign files"
    )]
    ForeignEntry {
        /// The checkpoint directory.
        path: PathBuf,
        /// The first foreign entry found.
        entry: PathBuf,
    },

    /// A checkpoint file does not match the size or SHA-256 recorded in the checkpoint's state
    /// file (corrupted, replaced, swapped, or an interrupted write).
    #[error(
        "checkpoint file {path}: {found_bytes} bytes with sha256 {found_sha256}, but the state \
         file records {expected_bytes} bytes with sha256 {expected_sha256}"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Size recorded in the state file.
        expected_bytes: u64,
        /// SHA-256 recorded in the state file (lower-case hex).
        expected_sha256: String,
        /// Size of the file.
        found_bytes: u64,
        /// SHA-256 of the file.
        found_sha256: String,
    },

    /// A checkpoint was written for another model: another architecture, other parameter
    /// shapes, or other trainable parameter families (for example a learnable checkpoint resumed
    /// into a frozen model).
    #[error(
        "checkpoint {path}: written for another model: {what}: checkpoint has {found}, the model {expected}"
    )]
    Model {
        /// The checkpoint directory.
        path: PathBuf,
        /// What differs (`"parameter count"`, `"trainable parameters"`, ...).
        what: &'static str,
        /// What the model given to `fit` has.
        expected: String,
        /// What the checkpoint records.
        found: String,
    },

    /// A checkpoint's epoch counter is outside `1..=epochs` of its configuration, or disagrees
    /// with its history.
    #[error(
        "checkpoint {path}: epochs_done = {epochs_done} with {history} epochs of history, \
         expected 1..={epochs} epochs and one history entry per epoch"
    )]
    Epochs {
        /// The state file.
        path: PathBuf,
        /// The recorded counter.
        epochs_done: u64,
        /// Entries in the recorded history.
        history: usize,
        /// Epochs of the configuration.
        epochs: usize,
    },
}
