//! Image folders, `root/<class>/*.{png,jpg,jpeg}`, like torchvision's `ImageFolder`.
//!
//! Classes are the sorted names of the sub-folders of `root` (hidden ones skipped); images are
//! the files with a `png`, `jpg` or `jpeg` extension (any case), sorted by name; other files
//! are ignored. Images are decoded by content (the `image` crate), not by extension.
//!
//! Resizing uses the `image` crate's `Triangle` filter: bilinear interpolation whose support
//! widens with the scale factor when shrinking, so it antialiases like torchvision's
//! `Resize(antialias=True)` bilinear (the values are close, not bit-identical). An image
//! already at the target size is not resampled. The crate computes only the output pixels it
//! keeps, with the `image` crate's arithmetic (`image` 0.25, `imageops/sample.rs`:
//! `vertical_sample`, then `horizontal_sample`), so the result is bit-identical to
//! `imageops::resize` followed by a crop, without the full-size intermediate.
//!
//! Every image's dimensions are read from its header and checked against
//! [`ReadLimits::max_image_pixels`] before it is decoded, and the whole data set's size against
//! [`ReadLimits::max_dataset_bytes`] before its buffer is allocated.

use super::resample::{Decoded, Resize, apply_resize};
use super::{ImageDataset, ReadLimits, require_dir, sorted_subdirs};
use crate::data::DataError;
use crate::error::FileError;
use crate::error::io_error;
use crate::error::{Result, ScatterError};
use ndarray::Array4;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Colour model of the loaded images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channels {
    /// One channel (luma, ITU-R BT.709 weights as in the `image` crate).
    Gray,
    /// Three channels, red, green, blue (alpha dropped).
    Rgb,
}

impl Channels {
    /// Number of channels (1 or 3).
    pub(crate) fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }
}

/// Loads `root/<class>/*.{png,jpg,jpeg}` with the default [`ReadLimits`].
///
/// With `size = Some((height, width))` every image is resized to exactly that size (aspect
/// ratio not kept; see the module docs for the filter). With `None` all images must have the
/// size of the first one.
///
/// # Errors
/// - [`FileError::MissingPath`] if `root` is not a folder,
/// - [`DataError::EmptyClass`] naming `root` if it has no class folder, or the class folder
///   that holds no image,
/// - [`DataError::NonUtf8Name`] naming a class folder whose name is not UTF-8,
/// - [`DataError::ImageDecode`] naming a file that cannot be decoded,
/// - [`DataError::ImageTooLarge`] naming an image above the pixel limit (checked on its
///   header, before decoding),
/// - [`FileError::DeclaredTooLarge`] if the decoded data set would exceed
///   [`ReadLimits::max_dataset_bytes`],
/// - [`DataError::ImageSize`] naming the first image whose size differs (without `size`),
/// - [`ScatterError::InvalidParameter`] if `size` has a zero side.
pub fn load_image_folder(
    root: &Path,
    channels: Channels,
    size: Option<(usize, usize)>,
) -> Result<ImageDataset> {
    load_image_folder_with_limits(root, channels, size, &ReadLimits::default())
}

/// As [`load_image_folder`], with explicit limits.
///
/// # Errors
/// As [`load_image_folder`].
pub fn load_image_folder_with_limits(
    root: &Path,
    channels: Channels,
    size: Option<(usize, usize)>,
    limits: &ReadLimits,
) -> Result<ImageDataset> {
    if let Some((h, w)) = size
        && (h == 0 || w == 0)
    {
        return Err(ScatterError::InvalidParameter {
            name: "size",
            value: format!("({h}, {w})"),
            reason: "both sides must be positive",
        });
    }
    require_dir(root)?;
    let classes = sorted_subdirs(root)?;
    if classes.is_empty() {
        return Err(ScatterError::Data(DataError::EmptyClass {
            path: root.to_path_buf(),
        }));
    }
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = root.join(class);
        let images = list_images(&dir)?;
        if images.is_empty() {
            return Err(ScatterError::Data(DataError::EmptyClass { path: dir }));
        }
        labels.extend(std::iter::repeat_n(label, images.len()));
        files.extend(images);
    }
    let resize = match size {
        Some((h, w)) => Resize::Exact(h, w),
        None => Resize::None,
    };
    let images = decode_all(root, &files, channels, resize, limits)?;
    ImageDataset::new(images, labels, classes)
}

/// Image files (`png`, `jpg`, `jpeg`, any case) directly in `dir`, sorted by file name.
pub(crate) fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let is_image = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["png", "jpg", "jpeg"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        });
        if is_image && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Decodes `files` in parallel into `[N, C, H, W]`, in order, straight into the data set's
/// buffer (allocated once, after checking its size against [`ReadLimits::max_dataset_bytes`]).
/// `root` names the data set in that error. Errors are reported for the first failing file in
/// order.
pub(crate) fn decode_all(
    root: &Path,
    files: &[PathBuf],
    channels: Channels,
    resize: Resize,
    limits: &ReadLimits,
) -> Result<Array4<u8>> {
    let c = channels.count();
    let (h, w) = match (resize, files.first()) {
        (Resize::Exact(h, w), _) => (h, w),
        (Resize::ShorterThenCenterCrop(s), _) => (s, s),
        (Resize::None, Some(first)) => {
            let (_, height, width) = open_checked(first, limits)?;
            (height, width)
        }
        (Resize::None, None) => (0, 0),
    };
    let plane = u128::from(c as u64) * h as u128 * w as u128;
    let total = plane * files.len() as u128;
    if total > u128::from(limits.max_dataset_bytes) {
        return Err(ScatterError::File(FileError::DeclaredTooLarge {
            path: root.to_path_buf(),
            what: "decoded image data set",
            declared: total,
            limit: limits.max_dataset_bytes,
        }));
    }
    let (plane, total) = (plane as usize, total as usize); // <= max_dataset_bytes
    let mut data = Vec::new();
    data.try_reserve_exact(total).map_err(|_| {
        ScatterError::File(FileError::DeclaredTooLarge {
            path: root.to_path_buf(),
            what: "decoded image data set (allocation failed)",
            declared: total as u128,
            limit: limits.max_dataset_bytes,
        })
    })?;
    data.resize(total, 0u8);
    if plane > 0 {
        let results: Vec<Result<()>> = data
            .par_chunks_mut(plane)
            .zip(files.par_iter())
            .map(|(dst, f)| {
                let d = decode_image(f, channels, resize, limits)?;
                if (d.height, d.width) != (h, w) {
                    return Err(ScatterError::Data(DataError::ImageSize {
                        path: f.clone(),
                        expected: (h, w),
                        got: (d.height, d.width),
                    }));
                }
                dst.copy_from_slice(&d.chw);
                Ok(())
            })
            .collect();
        results.into_iter().collect::<Result<()>>()?;
    }
    Ok(Array4::from_shape_vec((files.len(), c, h, w), data).expect("sizes checked"))
}

/// Opens an image file and reads its header: the decoder, and `(height, width)` checked against
/// the pixel limit.
///
/// # Errors
/// [`ScatterError::Io`], [`DataError::ImageDecode`] (an unknown format or a corrupt header),
/// [`DataError::ImageTooLarge`], each naming the file.
fn open_checked(
    path: &Path,
    limits: &ReadLimits,
) -> Result<(impl image::ImageDecoder, usize, usize)> {
    let decode_err = |source| {
        ScatterError::Data(DataError::ImageDecode {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut reader = image::ImageReader::open(path)
        .map_err(io_error(path))?
        .with_guessed_format()
        .map_err(io_error(path))?;
    // The decoders' own allocation cap, as a second guard: the largest image allowed, at 8 bytes
    // per pixel (RGBA, 16 bits), and never below the `image` crate's default of 512 MiB.
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(
        limits
            .max_image_pixels
            .saturating_mul(8)
            .max(image::Limits::default().max_alloc.unwrap_or(0)),
    );
    reader.limits(decoder_limits);
    let decoder = reader.into_decoder().map_err(decode_err)?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if u64::from(width) * u64::from(height) > limits.max_image_pixels {
        return Err(ScatterError::Data(DataError::ImageTooLarge {
            path: path.to_path_buf(),
            height: u64::from(height),
            width: u64::from(width),
            max_pixels: limits.max_image_pixels,
        }));
    }
    Ok((decoder, height as usize, width as usize))
}

/// Decodes one image file (format guessed from its content), converts it to `channels` and
/// resizes it.
///
/// # Errors
/// [`DataError::ImageDecode`], [`DataError::ImageTooLarge`] or [`ScatterError::Io`],
/// naming the file.
pub(crate) fn decode_image(
    path: &Path,
    channels: Channels,
    resize: Resize,
    limits: &ReadLimits,
) -> Result<Decoded> {
    let (decoder, height, width) = open_checked(path, limits)?;
    if height == 0 || width == 0 {
        return Err(ScatterError::File(FileError::BadHeader {
            path: path.to_path_buf(),
            field: "dimensions",
            value: format!("{height}x{width}"),
            reason: "an image needs at least one row and one column",
        }));
    }
    let img = image::DynamicImage::from_decoder(decoder).map_err(|source| {
        ScatterError::Data(DataError::ImageDecode {
            path: path.to_path_buf(),
            source,
        })
    })?;
    Ok(match channels {
        Channels::Gray => {
            let img = img.into_luma8();
            apply_resize(img.as_raw(), 1, height, width, resize)
        }
        Channels::Rgb => {
            let img = img.into_rgb8();
            apply_resize(img.as_raw(), 3, height, width, resize)
        }
    })
}
