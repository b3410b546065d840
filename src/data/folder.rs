//! Image folders, `root/<class>/*.{png,jpg,jpeg}`, like torchvision's `ImageFolder`.
//!
//! Classes are the sorted names of the sub-folders of `root` (hidden ones skipped); images are
//! the files with a `png`, `jpg` or `jpeg` extension (any case), sorted by name; other files
//! are ignored. Images are decoded by content (the `image` crate), not by extension.
//!
//! Resizing uses the `image` crate's `Triangle` filter: bilinear interpolation whose support
//! widens with the scale factor when shrinking, so it antialiases like torchvision's
//! `Resize(antialias=True)` bilinear (the values are close, not bit-identical). An image
//! already at the target size is not resampled.

use super::{ImageDataset, require_dir, sorted_subdirs};
use crate::error::io_error;
use crate::{Result, ScatterError};
use image::imageops::{self, FilterType};
use image::{ImageBuffer, Pixel};
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
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }
}

/// How decoded images are brought to a common size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resize {
    /// Keep the decoded size (all images must agree).
    None,
    /// Resample to exactly `(height, width)`.
    Exact(usize, usize),
    /// Resample so that the shorter side is `size` (the longer one `⌊long·size/short⌋`, as
    /// torchvision's `Resize(int)`), then crop the central `size × size` square (offsets as
    /// torchvision's `CenterCrop`: `round((side − size) / 2)`, half to even).
    ShorterThenCenterCrop(usize),
}

/// A decoded image: pixels `[C, H, W]` row-major, height, width.
pub(crate) struct Decoded {
    pub(crate) chw: Vec<u8>,
    pub(crate) height: usize,
    pub(crate) width: usize,
}

/// Loads `root/<class>/*.{png,jpg,jpeg}`.
///
/// With `size = Some((height, width))` every image is resized to exactly that size (aspect
/// ratio not kept; see the module docs for the filter). With `None` all images must have the
/// size of the first one.
///
/// # Errors
/// - [`ScatterError::MissingPath`] if `root` is not a folder,
/// - [`ScatterError::EmptyClass`] naming `root` if it has no class folder, or the class folder
///   that holds no image,
/// - [`ScatterError::ImageDecode`] naming a file that cannot be decoded,
/// - [`ScatterError::ImageSize`] naming the first image whose size differs (without `size`),
/// - [`ScatterError::InvalidParameter`] if `size` has a zero side.
pub fn load_image_folder(
    root: &Path,
    channels: Channels,
    size: Option<(usize, usize)>,
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
        return Err(ScatterError::EmptyClass {
            path: root.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = root.join(class);
        let images = list_images(&dir)?;
        if images.is_empty() {
            return Err(ScatterError::EmptyClass { path: dir });
        }
        labels.extend(std::iter::repeat_n(label, images.len()));
        files.extend(images);
    }
    let resize = match size {
        Some((h, w)) => Resize::Exact(h, w),
        None => Resize::None,
    };
    let images = decode_all(&files, channels, resize)?;
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

/// Decodes `files` in parallel into `[N, C, H, W]`, in order.
pub(crate) fn decode_all(
    files: &[PathBuf],
    channels: Channels,
    resize: Resize,
) -> Result<Array4<u8>> {
    let decoded = files
        .par_iter()
        .map(|f| decode_image(f, channels, resize))
        .collect::<Result<Vec<_>>>()?;
    let c = channels.count();
    let (h, w) = decoded.first().map_or((0, 0), |d| (d.height, d.width));
    let mut data = Vec::with_capacity(decoded.len() * c * h * w);
    for (d, f) in decoded.iter().zip(files) {
        if (d.height, d.width) != (h, w) {
            return Err(ScatterError::ImageSize {
                path: f.clone(),
                expected: (h, w),
                got: (d.height, d.width),
            });
        }
        data.extend_from_slice(&d.chw);
    }
    Ok(Array4::from_shape_vec((decoded.len(), c, h, w), data).expect("sizes checked"))
}

/// Decodes one image file (format guessed from its content), converts it to `channels` and
/// resizes it.
///
/// # Errors
/// [`ScatterError::ImageDecode`] or [`ScatterError::Io`], naming the file.
pub(crate) fn decode_image(path: &Path, channels: Channels, resize: Resize) -> Result<Decoded> {
    let decode_err = |source| ScatterError::ImageDecode {
        path: path.to_path_buf(),
        source,
    };
    let img = image::ImageReader::open(path)
        .map_err(io_error(path))?
        .with_guessed_format()
        .map_err(io_error(path))?
        .decode()
        .map_err(decode_err)?;
    Ok(match channels {
        Channels::Gray => to_chw(&apply_resize(img.to_luma8(), resize)),
        Channels::Rgb => to_chw(&apply_resize(img.to_rgb8(), resize)),
    })
}

type Buffer<P> = ImageBuffer<P, Vec<<P as Pixel>::Subpixel>>;

fn apply_resize<P: Pixel<Subpixel = u8> + 'static>(img: Buffer<P>, resize: Resize) -> Buffer<P> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    match resize {
        Resize::None => img,
        Resize::Exact(th, tw) => resample(img, th, tw),
        Resize::ShorterThenCenterCrop(size) => {
            let (rh, rw) = if h <= w {
                (size, w * size / h)
            } else {
                (h * size / w, size)
            };
            // A side can round down below `size` only for a degenerate (0-sized) image.
            let (rh, rw) = (rh.max(size), rw.max(size));
            let img = resample(img, rh, rw);
            let top = center_offset(rh, size);
            let left = center_offset(rw, size);
            imageops::crop_imm(&img, left as u32, top as u32, size as u32, size as u32).to_image()
        }
    }
}

fn resample<P: Pixel<Subpixel = u8> + 'static>(img: Buffer<P>, h: usize, w: usize) -> Buffer<P> {
    if (img.height() as usize, img.width() as usize) == (h, w) {
        img
    } else {
        imageops::resize(&img, w as u32, h as u32, FilterType::Triangle)
    }
}

/// torchvision's `CenterCrop` offset `int(round((side - size) / 2.0))`, Python's round half to
/// even.
pub(crate) fn center_offset(side: usize, size: usize) -> usize {
    let d = side.saturating_sub(size);
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

fn to_chw<P: Pixel<Subpixel = u8>>(img: &Buffer<P>) -> Decoded {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let c = usize::from(P::CHANNEL_COUNT);
    let raw = img.as_raw();
    let mut chw = vec![0u8; c * h * w];
    for (i, px) in raw.chunks_exact(c).enumerate() {
        for (ch, &v) in px.iter().enumerate() {
            chw[ch * h * w + i] = v;
        }
    }
    Decoded {
        chw,
        height: h,
        width: w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_offset_matches_python_round() {
        // int(round((side - size) / 2.0)) in Python 3
        for (side, size, want) in [
            (200, 200, 0),
            (201, 200, 0),
            (202, 200, 1),
            (203, 200, 2),
            (205, 200, 2),
            (207, 200, 4),
            (266, 200, 33),
        ] {
            assert_eq!(center_offset(side, size), want, "side {side}");
        }
    }

    #[test]
    fn resize_shorter_then_crop_shapes() {
        let img: Buffer<image::Rgb<u8>> =
            ImageBuffer::from_fn(30, 20, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let out = apply_resize(img.clone(), Resize::ShorterThenCenterCrop(10));
        assert_eq!(out.dimensions(), (10, 10));
        // same size: no resampling, centre crop only
        let out = apply_resize(img, Resize::ShorterThenCenterCrop(20));
        assert_eq!(out.dimensions(), (20, 20));
        assert_eq!(out.get_pixel(0, 0).0, [5, 0, 7]);
    }

    #[test]
    fn chw_layout() {
        let img: Buffer<image::Rgb<u8>> =
            ImageBuffer::from_fn(3, 2, |x, y| image::Rgb([x as u8, 10 + y as u8, 100]));
        let d = to_chw(&img);
        assert_eq!((d.height, d.width), (2, 3));
        assert_eq!(&d.chw[..6], &[0, 1, 2, 0, 1, 2]);
        assert_eq!(&d.chw[6..12], &[10, 10, 10, 11, 11, 11]);
        assert!(d.chw[12..].iter().all(|&v| v == 100));
    }
}
