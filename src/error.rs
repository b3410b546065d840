//! The crate's errors, split by domain.
//!
//! [`ScatterError`] is what every fallible function returns. Its own variants are the core ones:
//! configuration, shapes, filter banks and sizes (the fast path, the filters and the layer). Errors
//! of a domain that only some users compile sit in a nested enum of their own, reached through one
//! variant: [`FileError`] (bytes of a file: `.npy` and the data-set readers), `DataError` (data
//! sets, feature `data`), `DownloadError` (archives and downloads, feature `data`),
//! `TrainingError` (settings and data a run cannot start with, feature `train`), `CheckpointError`
//! (training checkpoints, feature `train`) and `RenderError` (pictures,
//! feature `analysis`). This follows linfa (a crate-level error wrapping per-domain errors) and
//! keeps one `Result` type: `?` converts a domain error into a [`ScatterError`].
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

    /// A fast-path plan (or the burn layer's cascade) would need more memory for its filters and
    /// tables than [`crate::fast::MAX_PLAN_BYTES`].
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
    Training(#[from] TrainingError),

    /// A file's bytes are not what its format (or header) says.
    #[error(transparent)]
    File(#[from] FileError),

    /// A data set cannot be read or sampled.
    #[cfg(feature = "data")]
    #[error(transparent)]
    Data(#[from] DataError),

    /// An archive cannot be downloaded, checked or extracted.
    #[cfg(feature = "data")]
    #[error(transparent)]
    Download(#[from] DownloadError),

    /// A training checkpoint cannot be written, read or resumed.
    #[cfg(feature = "train")]
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),

    /// A picture cannot be drawn or written.
    #[cfg(feature = "analysis")]
    #[error(transparent)]
    Render(#[from] RenderError),
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

/// Errors of data sets: their folders, labels, images and class-balanced subsets.
#[cfg(feature = "data")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file of fixed-size records (CIFAR-10 binary batches) has a size that is not a positive
    /// multiple of the record size.
    #[error(
        "{path}: file size {size} bytes is not a positive multiple of the {record}-byte record"
    )]
    RecordSize {
        /// The file.
        path: PathBuf,
        /// Size of the file in bytes.
        size: u64,
        /// Size of one record in bytes.
        record: usize,
    },

    /// A class folder whose name is not one of the data set's classes.
    #[error("{path}: unknown class `{name}`, expected one of: {expected}")]
    UnknownClass {
        /// The folder.
        path: PathBuf,
        /// Its name.
        name: String,
        /// The known class names, comma-separated.
        expected: String,
    },

    /// A class (or sample) folder holds no image file.
    #[error("{path}: no image file found (png, jpg or jpeg)")]
    EmptyClass {
        /// The folder.
        path: PathBuf,
    },

    /// A label stored in a data file is not a valid class index.
    #[error("{path}: record {index} has label {label}, expected 0..{num_classes}")]
    InvalidLabel {
        /// The file.
        path: PathBuf,
        /// Index of the record (image) in the file.
        index: usize,
        /// The label found.
        label: usize,
        /// Number of classes.
        num_classes: usize,
    },

    /// An image file could not be decoded.
    #[error("{path}: cannot decode image: {source}")]
    ImageDecode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },

    /// Images of one data set differ in size and no resize was requested.
    #[error(
        "{path}: image is {}x{} (height x width), the data set's first image is {}x{}; \
         pass a size to resize",
        got.0, got.1, expected.0, expected.1
    )]
    ImageSize {
        /// The file.
        path: PathBuf,
        /// `(height, width)` of the data set's first image.
        expected: (usize, usize),
        /// `(height, width)` of this image.
        got: (usize, usize),
    },

    /// An image's dimensions, read from its header before decoding, exceed the pixel limit
    /// ([`crate::data::ReadLimits::max_image_pixels`]). Nothing was decoded.
    #[error(
        "{path}: image is {height}x{width} (height x width) = {} pixels, more than the limit of \
         {max_pixels} pixels",
        u128::from(*height) * u128::from(*width)
    )]
    ImageTooLarge {
        /// The file.
        path: PathBuf,
        /// Image height from the header.
        height: u64,
        /// Image width from the header.
        width: u64,
        /// The limit in force.
        max_pixels: u64,
    },

    /// An IDX image file and its label file hold different numbers of items.
    #[error("{images_path} holds {images} images but {labels_path} holds {labels} labels")]
    IdxCountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },

    /// An in-memory data set was built with inconsistent images, labels and classes.
    #[error("invalid data set: {reason}")]
    InvalidDataset {
        /// What is inconsistent, in words.
        reason: String,
    },

    /// A class-balanced subset cannot be drawn with the requested size.
    #[error(
        "cannot draw a class-balanced subset of {total} images from {num_classes} classes \
         (smallest class: {smallest_class} images): {reason}"
    )]
    InvalidSubset {
        /// Requested subset size.
        total: usize,
        /// Number of classes.
        num_classes: usize,
        /// Number of images of the smallest class.
        smallest_class: usize,
        /// Why it cannot be drawn.
        reason: &'static str,
    },

    /// A file or folder name is not valid UTF-8 where the crate needs it as text (class names).
    #[error("{path}: name is not valid UTF-8 (class folder names must be UTF-8 text)")]
    NonUtf8Name {
        /// The file or folder.
        path: PathBuf,
    },
}

/// Errors of archives: downloads, checksums and extraction.
#[cfg(feature = "data")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// A downloaded or local archive does not have the published checksum.
    #[error("{path}: {algorithm} checksum mismatch: expected {expected}, got {got}")]
    ChecksumMismatch {
        /// The archive.
        path: PathBuf,
        /// `"sha256"` or `"md5"`.
        algorithm: &'static str,
        /// The published digest (lower-case hex).
        expected: String,
        /// The digest of the file (lower-case hex).
        got: String,
    },

    /// An archive is neither a tar nor a gzip-compressed tar file.
    #[error("{path}: not a tar or tar.gz archive ({reason})")]
    UnknownArchive {
        /// The archive.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },

    /// A path the crate needs for its own files is taken by something it did not write; nothing
    /// was removed.
    #[error("{path}: already exists and was not written by this crate: {reason}")]
    PathInUse {
        /// The path.
        path: PathBuf,
        /// What the crate uses it for.
        reason: &'static str,
    },

    /// A download failed (network unreachable, DNS failure, HTTP error).
    #[error(
        "cannot download {url}: {reason}. This machine looks offline or the server is \
         unreachable: download {url} on another machine and put the archive, or the folder \
         `{extracted_dir}` it extracts to, in the data directory"
    )]
    Unreachable {
        /// The URL.
        url: String,
        /// The underlying error, formatted.
        reason: String,
        /// The folder the archive extracts to.
        extracted_dir: String,
    },
}

/// Why a training run (`train::fit`) or a baseline (`train::baseline`) cannot run; each variant
/// says what was expected and what was given. `fit` checks everything before its first step, so
/// that no batch can fail half-way through a run; a baseline checks its data and settings first,
/// and reports its solver's failure as [`TrainingError::Solver`].
#[cfg(feature = "train")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainingError {
    /// A setting is outside its domain (a `TrainConfig` field, a normalisation channel, a
    /// cutout, a baseline's L2 strength, folds or grid).
    #[error("invalid training setting `{name}` = {given}: expected {expected}")]
    Setting {
        /// The setting, as in the API (`epochs`, `head_max_lr`, `normalization.std[2]`, ...).
        name: String,
        /// What it must satisfy.
        expected: &'static str,
        /// The value given, formatted.
        given: String,
    },
    /// The normalisation's means and standard deviations differ in number.
    #[error(
        "the normalisation has {means} means and {stds} standard deviations: expected one of each per channel"
    )]
    NormalizationLengths {
        /// Number of means.
        means: usize,
        /// Number of standard deviations.
        stds: usize,
    },
    /// A data set holds no image.
    #[error(
        "empty data set: {train} training and {test} test images, expected at least one of each"
    )]
    EmptyData {
        /// Training images.
        train: usize,
        /// Test images.
        test: usize,
    },
    /// The data sets have another channel count than the model.
    #[error(
        "the model expects {expected} channels, the data sets have {train} (train) and {test} (test)"
    )]
    Channels {
        /// The model's channels.
        expected: usize,
        /// The training set's.
        train: usize,
        /// The test set's.
        test: usize,
    },
    /// A data set has another number of labels than images.
    #[error("the {set} set has {images} images but {labels} labels")]
    LabelCount {
        /// `training` or `test`.
        set: &'static str,
        /// Images.
        images: usize,
        /// Labels.
        labels: usize,
    },
    /// A label is not one of the model's classes.
    #[error(
        "{set} sample {index} has label {label}, but the model has {classes} classes (labels 0..{classes})"
    )]
    LabelOutOfRange {
        /// `training` or `test` (images of `fit`), `training features` or `test features` (rows
        /// of a baseline).
        set: &'static str,
        /// The image (or feature row).
        index: usize,
        /// Its label.
        label: usize,
        /// The model's classes.
        classes: usize,
    },
    /// The normalisation is for another channel count than the images.
    #[error("the normalisation has {given} channels, the {set} images have {expected}")]
    NormalizationChannels {
        /// `training` or `test`.
        set: &'static str,
        /// The images' channels.
        expected: usize,
        /// The normalisation's.
        given: usize,
    },
    /// A crop of the augmentation does not fit the images.
    #[error("the {set} {crop} does not fit {height}x{width} images")]
    CropDoesNotFit {
        /// `training` or `test`.
        set: &'static str,
        /// The crop, in words (`centre crop 12`, `random crop 28 with padding 2`).
        crop: String,
        /// Image height at that point of the pipeline.
        height: usize,
        /// Image width.
        width: usize,
    },
    /// The augmentation does not bring the images to the model's input size.
    #[error(
        "the {set} images are {}x{}{}, the model expects {}x{}",
        given[0],
        given[1],
        cropped.map_or(String::new(), |[h, w]| format!(" ({h}x{w} after cropping)")),
        expected[0],
        expected[1]
    )]
    ImageSize {
        /// `training` or `test`.
        set: &'static str,
        /// The images' `[height, width]`.
        given: [usize; 2],
        /// Their size after the augmentation's crops, when it differs.
        cropped: Option<[usize; 2]>,
        /// The model's input size.
        expected: [usize; 2],
    },
    /// The model is on a device without autodiff.
    #[error(
        "the model must live on an autodiff device (`device.autodiff()`), it lives on {device}"
    )]
    NotAutodiff {
        /// The device, formatted.
        device: String,
    },
    /// More optimiser steps than a `usize` counts.
    #[error("{epochs} epochs of {batches} batches is more optimiser steps than a usize can count")]
    TooManySteps {
        /// Epochs.
        epochs: usize,
        /// Batches per epoch.
        batches: usize,
    },
    /// A baseline's features and labels do not match.
    #[error(
        "{rows} feature rows, {labels} labels, {classes} classes: expected one label per row, at \
         least one row and one class"
    )]
    Features {
        /// Feature rows.
        rows: usize,
        /// Labels.
        labels: usize,
        /// Classes.
        classes: usize,
    },
    /// A baseline feature is NaN or infinite.
    #[error("feature ({row}, {column}) is {value}, expected a finite value")]
    NonFiniteFeature {
        /// Row.
        row: usize,
        /// Column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// A class has fewer samples than cross-validation folds.
    #[error("class {class} has {samples} samples, fewer than the {folds} folds")]
    TooFewSamples {
        /// The class.
        class: usize,
        /// Its samples.
        samples: usize,
        /// The folds.
        folds: usize,
    },
    /// The L-BFGS solver failed.
    #[error("L-BFGS: {0}")]
    Solver(String),
}

/// Errors of training checkpoints (see `train::checkpoint`).
#[cfg(feature = "train")]
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

/// Errors of pictures (filter grids, plots, reports).
#[cfg(feature = "analysis")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// An image could not be read, decoded, encoded or written.
    #[error("image {path}: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: image::ImageError,
    },

    /// A plot could not be drawn (the plotting library's error, formatted).
    #[error("cannot draw {what}: {reason}")]
    Plot {
        /// What was being drawn (the output file, or a part of the picture).
        what: String,
        /// The plotting library's message.
        reason: String,
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

/// Wraps an I/O error with the path it concerns: `.map_err(io_error(path))`.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ScatterError + '_ {
    move |source| ScatterError::Io {
        path: path.to_path_buf(),
        source,
    }
}
