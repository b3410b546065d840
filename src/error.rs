//! The crate's errors, split by domain.
//!
//! [`ScatterError`] is what every fallible function returns. Its own variants are the core ones:
//! configuration, shapes, filter banks and sizes (the cascade, the filters and the layer). Errors
//! of a domain that only some users compile sit in a nested enum of their own, reached through one
//! variant, and is defined beside its domain: [`FileError`] here (bytes of a file: `.npy` and the
//! data-set readers), `data::DataError` (data sets) and `data::DownloadError` (archives and
//! downloads, feature `data`), `train::TrainingError` (settings and data a run cannot start with,
//! feature `train`), `train::checkpoint::CheckpointError` (training checkpoints, feature `train`)
//! and `analysis::RenderError` (pictures, feature `analysis`). This follows linfa (a crate-level
//! error wrapping per-domain errors) and keeps one `Result` type: `?` converts a domain error into
//! a [`ScatterError`].
//!
//! Burn layers panic with the [`Display`](std::fmt::Display) text of the same variants (burn
//! style), so a message is written once.

use std::path::{Path, PathBuf};

/// Errors returned by the crate's fallible constructors, transforms and file readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScatterError {
    /// A configuration value is outside its domain (for example `J = 0` or `L = 0`).
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Name of the parameter, as in the API (`num_scales`, `num_orientations`, ...).
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What the value must satisfy.
        reason: &'static str,
    },

    /// `2^J` is larger than the image's height or width (kymatio allows `2^J == size`).
    #[error("2^J = {} exceeds input size {height}x{width}", 1u128 << *j)]
    ScaleTooLarge {
        /// Number of scales `J`.
        j: usize,
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
    },

    /// The input array has the wrong number of dimensions.
    #[error("input has {got} dimensions, expected {expected}")]
    InvalidRank {
        /// What was expected, in words (`"4"`, `"at least 2"`).
        expected: &'static str,
        /// Number of dimensions of the input.
        got: usize,
    },

    /// The input's shape does not match what the plan was built for.
    #[error(
        "input shape mismatch: expected {}, got {got:?}",
        format_shape(expected)
    )]
    InvalidShape {
        /// Expected shape (`None` marks a free axis, shown as `_` in the message).
        expected: Vec<Option<usize>>,
        /// Shape of the input.
        got: Vec<usize>,
    },

    /// The input holds no image (a leading dimension is zero).
    #[error("empty batch: input of shape {shape:?} holds no image")]
    EmptyBatch {
        /// Shape of the input.
        shape: Vec<usize>,
    },

    /// The input holds a NaN or infinite value; `index` is the first such position in row-major order.
    #[error("non-finite input value {value} at index {index:?}")]
    NonFiniteInput {
        /// Multi-index of the first non-finite value.
        index: Vec<usize>,
        /// The value itself (NaN, +inf or -inf).
        value: f64,
    },

    /// An explicit filter bank has the wrong number of wavelets.
    #[error("filter bank has {got} wavelets, expected J*L = {expected}")]
    FilterCount {
        /// `J * L`.
        expected: usize,
        /// Number of wavelets given.
        got: usize,
    },

    /// A wavelet parameter is not finite or not positive where it must be.
    #[error("wavelet {index}: invalid `{name}` = {value} ({reason})")]
    InvalidWavelet {
        /// Index of the wavelet in the bank (`n = j·L + l`).
        index: usize,
        /// Parameter name (`sigma`, `xi`, `theta`, `slant`).
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },

    /// An input size whose padded plane exceeds [`crate::geometry::MAX_PADDED_PLANE`] values (or
    /// overflows `usize`).
    #[error(
        "input {height}x{width} at J = {num_scales} pads to {padded_height}x{padded_width}, more \
         than the limit of {limit} values per plane"
    )]
    InputTooLarge {
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Number of scales `J`.
        num_scales: usize,
        /// Padded height `Mp` (computed without overflow).
        padded_height: u128,
        /// Padded width `Np`.
        padded_width: u128,
        /// The limit in force.
        limit: usize,
    },

    /// A plan (the burn layer's too) would need more memory for its filters and
    /// tables than [`crate::cascade::MAX_PLAN_BYTES`].
    #[error(
        "a scattering plan for {height}x{width} inputs with J = {num_scales}, L = \
         {num_orientations} needs about {bytes} bytes, more than the limit of {limit} bytes"
    )]
    PlanTooLarge {
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Number of scales `J`.
        num_scales: usize,
        /// Number of orientations `L`.
        num_orientations: usize,
        /// Estimated bytes (saturated at `u128::MAX`).
        bytes: u128,
        /// The limit in force.
        limit: u64,
    },

    /// A buffer whose size follows from the caller's input (an output, a tape, a copy of a
    /// non-contiguous input, a gradient, a worker's workspace) or a plan's estimated memory could
    /// not be reserved: the allocator refused it. Nothing was computed; the process goes on.
    #[error(
        "cannot allocate {bytes} bytes ({} GiB) for {what}: the memory allocator refused it",
        format_gib(*bytes)
    )]
    OutOfMemory {
        /// What the buffer was for, in words (`"the scattering output"`, ...).
        what: &'static str,
        /// Bytes asked for (computed without overflow; saturated at `u128::MAX`).
        bytes: u128,
    },

    /// A JSON file could not be parsed or serialised.
    #[error("JSON {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// A line of a JSON-lines file (a run log) is not a record.
    #[cfg(feature = "experiment")]
    #[error("{path}, line {line}: {source}")]
    JsonLine {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// Any other I/O failure, with the file it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A training run or a baseline cannot start: a setting, or data that does not fit the model.
    #[cfg(feature = "train")]
    #[error(transparent)]
    Training(#[from] crate::train::TrainingError),

    /// A file's bytes are not what its format (or header) says.
    #[error(transparent)]
    File(#[from] FileError),

    /// A data set cannot be read or sampled.
    #[cfg(feature = "data")]
    #[error(transparent)]
    Data(#[from] crate::data::DataError),

    /// An archive cannot be downloaded, checked or extracted.
    #[cfg(feature = "data")]
    #[error(transparent)]
    Download(#[from] crate::data::DownloadError),

    /// A training checkpoint cannot be written, read or resumed.
    #[cfg(feature = "train")]
    #[error(transparent)]
    Checkpoint(#[from] crate::train::checkpoint::CheckpointError),

    /// A picture cannot be drawn or written.
    #[cfg(feature = "analysis")]
    #[error(transparent)]
    Render(#[from] crate::analysis::RenderError),
}

/// Errors in a file's bytes: `.npy` files and the data-set readers' formats (IDX, CIFAR-10).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A `.npy` file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadNpy {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ndarray_npy::ReadNpyError,
    },

    /// A `.npy` file could not be written.
    #[error("cannot write {path}: {source}")]
    WriteNpy {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ndarray_npy::WriteNpyError,
    },

    /// A `.npy` file holds a dtype other than `float32` or `float64`.
    #[error("{path}: unsupported dtype, expected float32 or float64")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
    },

    /// A data file is shorter than its header (or its format) says.
    #[error("{path}: truncated file: expected {expected} bytes, found {got}")]
    TruncatedFile {
        /// The file.
        path: PathBuf,
        /// Bytes the header or format requires (header included).
        expected: u64,
        /// Bytes present (after gzip decompression for a `.gz` file).
        got: u64,
    },

    /// A data file holds more bytes than its header declares.
    #[error("{path}: {got} bytes, but the header declares {expected}: trailing data")]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes the header declares (header included).
        expected: u64,
        /// Bytes present.
        got: u64,
    },

    /// A data file starts with the wrong magic number (wrong file type, or not decompressed).
    #[error("{path}: wrong magic number {got}, expected {expected}")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The expected magic number, formatted (`0x00000803`).
        expected: String,
        /// The magic number found, formatted.
        got: String,
    },

    /// A header field of a data file holds an impossible value.
    #[error("{path}: header field `{field}` = {value}: {reason}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The field (`"rows"`, `"header_len"`, `"descr"`, ...).
        field: &'static str,
        /// Its value, formatted.
        value: String,
        /// What it must satisfy.
        reason: &'static str,
    },

    /// A size declared by a file header (or implied by a request) exceeds a documented limit of
    /// the crate, or does not fit in memory addresses at all. Nothing of that size was allocated.
    #[error("{path}: {what} of {declared} bytes exceeds the limit of {limit} bytes")]
    DeclaredTooLarge {
        /// The file.
        path: PathBuf,
        /// What is too large (`"IDX payload"`, `".npy data"`, `"CIFAR-10 batch file"`, ...).
        what: &'static str,
        /// Bytes declared (saturated at `u128::MAX`).
        declared: u128,
        /// The limit in force.
        limit: u64,
    },

    /// A file or folder that a data set needs does not exist.
    #[error("{path}: missing {what}")]
    MissingPath {
        /// The path that was looked for.
        path: PathBuf,
        /// What it should have been (`"folder"`, `"CIFAR-10 batch file"`, ...).
        what: &'static str,
    },
}

/// `Result` with [`ScatterError`].
pub type Result<T> = std::result::Result<T, ScatterError>;

/// A shape for a message: a free axis (`None`) as `_`, e.g. `[_, _, 32, 32]`.
fn format_shape(shape: &[Option<usize>]) -> String {
    let axes: Vec<String> = shape
        .iter()
        .map(|n| n.map_or_else(|| "_".to_string(), |n| n.to_string()))
        .collect();
    format!("[{}]", axes.join(", "))
}

/// Bytes in GiB with two decimals, for [`ScatterError::OutOfMemory`].
fn format_gib(bytes: u128) -> String {
    format!("{:.2}", bytes as f64 / f64::from(1u32 << 30))
}

/// Wraps an I/O error with the path it concerns: `.map_err(io_error(path))`.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ScatterError + '_ {
    move |source| ScatterError::Io {
        path: path.to_path_buf(),
        source,
    }
}
