//! Errors of the data domain: data sets ([`DataError`]) and archives and downloads
//! ([`DownloadError`]), reached from [`ScatterError`](crate::ScatterError) through its `Data` and
//! `Download` variants (`?` converts them).

use std::path::PathBuf;

/// Errors of data sets: their folders, labels, images and class-balanced subsets.
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
