//! Errors of pictures ([`RenderError`]), reached from [`ScatterError`](crate::ScatterError)
//! through its `Render` variant.

use std::path::PathBuf;

/// Errors of pictures (filter mosaics, plots, inspections).
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
