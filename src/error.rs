//! The crate's one error type.
//!
//! Fallible constructors and the fast path return [`Result`]; burn layers panic with the
//! [`Display`](std::fmt::Display) text of the same variants (burn style), so a message is written
//! once.

use std::path::PathBuf;

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
    #[error("input shape mismatch: expected {expected:?}, got {got:?}")]
    InvalidShape {
        /// Expected shape (`usize::MAX` marks a free axis).
        expected: Vec<usize>,
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

    /// A `.npy` file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadNpy {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ndarray_npy::ReadNpyError,
    },

    /// A `.npy` file holds a dtype other than `float32` or `float64`.
    #[error("{path}: unsupported dtype, expected float32 or float64")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
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

    /// Any other I/O failure, with the file it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`ScatterError`].
pub type Result<T> = std::result::Result<T, ScatterError>;
