//! Data sets for small-sample classification: readers for the on-disk formats, the paper's
//! class-balanced sampler and torchvision-style augmentation.
//!
//! Everything here is framework-free (no burn): images are kept as `u8` in an [`ImageDataset`]
//! of shape `[N, C, H, W]`, and [`augment::make_batch`] turns a list of indices into a
//! normalised `f32` batch.
//!
//! | module | data set | layout on disk |
//! |---|---|---|
//! | [`cifar`] | CIFAR-10, binary version | `cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin`, 3073-byte records |
//! | [`idx`] | Fashion-MNIST, MNIST | IDX files (`train-images-idx3-ubyte[.gz]`, ...) |
//! | [`kth`] | KTH-TIPS2-b | `KTH-TIPS2-b/<material>/sample_<a..d>/*.png` |
//! | [`folder`] | any | `root/<class>/*.{png,jpg,jpeg}` |
//!
//! [`sampler`] reproduces the paper's class-balanced subsets (NumPy's legacy
//! `RandomState(seed).permutation`, bit for bit); [`augment`] the random crop, flip,
//! normalisation and cutout of its training pipeline. With the `download` feature,
//! [`download`] fetches and verifies the CIFAR-10 and KTH-TIPS2-b archives (SHA-256 and MD5
//! checksums).
//!
//! # Limits
//!
//! No reader allocates what a header declares before checking it: a raw file's header is
//! compared with the file's length, and a declared size beyond a [`ReadLimits`] value is refused
//! with a typed error before anything of that size is allocated
//! ([`FileError::DeclaredTooLarge`], [`DataError::ImageTooLarge`]). The limits
//! ([`ReadLimits::default`]; the readers' `*_with_limits` variants take other ones):
//!
//! | limit | default | applies to |
//! |---|---|---|
//! | [`ReadLimits::max_file_bytes`] | 2 GiB | the payload of one IDX file (after gzip decompression), one CIFAR-10 batch file |
//! | [`ReadLimits::max_image_pixels`] | 2²⁶ (8192 × 8192) | one image: PNG/JPEG dimensions read from the header before decoding, the `rows × cols` of an IDX image file |
//! | [`ReadLimits::max_dataset_bytes`] | 8 GiB | the decoded `N × C × H × W` of an image folder or KTH-TIPS2-b, checked before its buffer is allocated |
//!
//! The defaults are far above the data sets of the paper (a CIFAR-10 batch is 30 MB, the
//! Fashion-MNIST training images 47 MB, KTH-TIPS2-b images 200 × 200) and far below what a
//! small hostile file could otherwise make the process allocate. Gzip streams are inflated
//! incrementally, never beyond the size their IDX header declares. Resizing with a centre crop
//! computes only the pixels kept (a 65535 × 1 image cropped to 200 × 200 resamples 200 × 200
//! pixels, not 13 million × 200).

pub mod augment;
#[cfg(any(feature = "download", feature = "train"))]
mod checksum;
pub mod cifar;
#[cfg(feature = "download")]
pub mod download;
mod error;
pub mod folder;
pub mod idx;
pub mod kth;
mod resample;
pub mod sampler;

#[cfg(feature = "download")]
pub(crate) use checksum::md5_file;
#[cfg(any(feature = "download", feature = "train"))]
pub(crate) use checksum::sha256_file;
pub use error::{DataError, DownloadError};

use crate::error::{FileError, Result, ScatterError, io_error};
use ndarray::{Array4, Axis};
use std::path::Path;

/// Default of [`ReadLimits::max_file_bytes`]: 2 GiB.
const DEFAULT_MAX_FILE_BYTES: u64 = 2 << 30;

/// Default of [`ReadLimits::max_image_pixels`]: 2²⁶ pixels (8192 × 8192, 201 MB as RGB).
const DEFAULT_MAX_IMAGE_PIXELS: u64 = 1 << 26;

/// Default of [`ReadLimits::max_dataset_bytes`]: 8 GiB.
const DEFAULT_MAX_DATASET_BYTES: u64 = 8 << 30;

/// Sizes the readers refuse to allocate on the word of a header (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest payload of one data file in bytes: an IDX file's data after gzip decompression,
    /// a CIFAR-10 batch file.
    pub max_file_bytes: u64,
    /// Largest image in pixels (`height × width`), checked on the header before decoding: PNG
    /// and JPEG files, and the `rows × cols` of an IDX image file.
    pub max_image_pixels: u64,
    /// Largest decoded image data set in bytes (`N × C × H × W`), checked before its buffer
    /// is allocated: compressed image files can decode to far more than their size on disk.
    pub max_dataset_bytes: u64,
}

impl Default for ReadLimits {
    /// 2 GiB per file, 2²⁶ pixels per image (8192 × 8192, 201 MB as RGB), 8 GiB per decoded
    /// data set.
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_image_pixels: DEFAULT_MAX_IMAGE_PIXELS,
            max_dataset_bytes: DEFAULT_MAX_DATASET_BYTES,
        }
    }
}

/// Images as `u8`, shape `[N, C, H, W]`, with labels in `0..classes.len()`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageDataset {
    /// Pixels, shape `[N, C, H, W]` (C = 1 gray, 3 RGB), row-major, values 0-255.
    pub images: Array4<u8>,
    /// Class index of each image, length `N`.
    pub labels: Vec<usize>,
    /// Class names; `labels[i]` indexes this list.
    pub classes: Vec<String>,
}

impl ImageDataset {
    /// Builds a data set, checking that there is one label per image and every label indexes
    /// `classes`.
    ///
    /// # Errors
    /// [`DataError::InvalidDataset`] if `labels.len() != images.shape()[0]` or a label is
    /// `>= classes.len()`.
    pub fn new(images: Array4<u8>, labels: Vec<usize>, classes: Vec<String>) -> Result<Self> {
        let n = images.shape()[0];
        if labels.len() != n {
            return Err(ScatterError::Data(DataError::InvalidDataset {
                reason: format!("{n} images but {} labels", labels.len()),
            }));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| **l >= classes.len())
        {
            return Err(ScatterError::Data(DataError::InvalidDataset {
                reason: format!(
                    "label {l} of image {i} is out of range for {} classes",
                    classes.len()
                ),
            }));
        }
        Ok(Self {
            images,
            labels,
            classes,
        })
    }

    /// Concatenates data sets with identical classes and image shapes, in order.
    ///
    /// # Errors
    /// [`DataError::InvalidDataset`] if `parts` is empty or the parts differ in classes,
    /// channels, height or width.
    pub(crate) fn concat(parts: &[ImageDataset]) -> Result<Self> {
        let first = parts.first().ok_or_else(|| {
            ScatterError::Data(DataError::InvalidDataset {
                reason: "nothing to concatenate".into(),
            })
        })?;
        for p in &parts[1..] {
            if p.classes != first.classes || p.images.shape()[1..] != first.images.shape()[1..] {
                return Err(ScatterError::Data(DataError::InvalidDataset {
                    reason: format!(
                        "cannot concatenate images {:?} ({} classes) with {:?} ({} classes)",
                        &first.images.shape()[1..],
                        first.classes.len(),
                        &p.images.shape()[1..],
                        p.classes.len()
                    ),
                }));
            }
        }
        let views: Vec<_> = parts.iter().map(|p| p.images.view()).collect();
        let images = ndarray::concatenate(Axis(0), &views).expect("shapes checked above");
        let labels = parts
            .iter()
            .flat_map(|p| p.labels.iter().copied())
            .collect();
        Ok(Self {
            images,
            labels,
            classes: first.classes.clone(),
        })
    }

    /// Number of images `N`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the data set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes (`classes.len()`, also counting classes without an image).
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Number of channels `C` (1 gray, 3 RGB).
    pub fn channels(&self) -> usize {
        self.images.shape()[1]
    }

    /// Image height `H`.
    pub fn height(&self) -> usize {
        self.images.shape()[2]
    }

    /// Image width `W`.
    pub fn width(&self) -> usize {
        self.images.shape()[3]
    }

    /// The images at `indices`, in that order (repeats allowed), with their labels; the
    /// classes are kept.
    ///
    /// # Panics
    /// If an index is `>= self.len()`; the message names the index and the length.
    pub fn select(&self, indices: &[usize]) -> ImageDataset {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            panic!(
                "ImageDataset::select: index {bad} out of range for a data set of {} images",
                self.len()
            );
        }
        ImageDataset {
            images: self.images.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
        }
    }

    /// For each class `c` in `0..num_classes()`, the dataset indices of its images in ascending
    /// order (empty for a class without images).
    pub fn class_indices(&self) -> Vec<Vec<usize>> {
        class_indices(&self.labels, self.num_classes())
    }
}

/// The first two bytes of a gzip stream (RFC 1952, §2.3.1).
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Per class, the ascending positions of `labels` equal to it; labels `>= num_classes` are
/// ignored.
pub(crate) fn class_indices(labels: &[usize], num_classes: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        if l < num_classes {
            out[l].push(i);
        }
    }
    out
}

/// Checks that `path` is an existing directory.
pub(crate) fn require_dir(path: &Path) -> Result<()> {
    if path.is_dir() {
        Ok(())
    } else {
        Err(ScatterError::File(FileError::MissingPath {
            path: path.to_path_buf(),
            what: "folder",
        }))
    }
}

/// Sorted names of the sub-folders of `dir` (hidden ones, starting with `.`, skipped).
///
/// # Errors
/// [`DataError::NonUtf8Name`] naming a sub-folder whose name is not UTF-8 (a class name
/// must be text; a lossy conversion would name a folder that does not exist),
/// [`ScatterError::Io`].
pub(crate) fn sorted_subdirs(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let name = name
            .into_string()
            .map_err(|_| ScatterError::Data(DataError::NonUtf8Name { path: path.clone() }))?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> ImageDataset {
        let images = Array4::from_shape_fn((5, 1, 2, 3), |(n, _, y, x)| (n * 10 + y * 3 + x) as u8);
        ImageDataset::new(
            images,
            vec![1, 0, 1, 2, 0],
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    #[test]
    fn accessors_and_class_indices() {
        let ds = toy();
        assert_eq!(
            (
                ds.len(),
                ds.num_classes(),
                ds.channels(),
                ds.height(),
                ds.width()
            ),
            (5, 3, 1, 2, 3)
        );
        assert!(!ds.is_empty());
        assert_eq!(ds.class_indices(), vec![vec![1, 4], vec![0, 2], vec![3]]);
    }

    #[test]
    fn select_keeps_order_and_labels() {
        let ds = toy();
        let s = ds.select(&[3, 0, 3]);
        assert_eq!(s.labels, vec![2, 1, 2]);
        assert_eq!(s.images[[0, 0, 1, 2]], 35);
        assert_eq!(s.images[[1, 0, 0, 1]], 1);
        assert_eq!(s.classes, ds.classes);
    }

    #[test]
    #[should_panic(expected = "index 5 out of range for a data set of 5 images")]
    fn select_out_of_range_panics() {
        toy().select(&[0, 5]);
    }

    #[test]
    fn new_rejects_inconsistent_inputs() {
        let images = Array4::<u8>::zeros((2, 1, 1, 1));
        let e = ImageDataset::new(images.clone(), vec![0], vec!["a".into()]).unwrap_err();
        assert!(e.to_string().contains("2 images but 1 labels"), "{e}");
        let e = ImageDataset::new(images, vec![0, 1], vec!["a".into()]).unwrap_err();
        assert!(e.to_string().contains("label 1 of image 1"), "{e}");
    }

    #[test]
    fn concat_appends_and_checks_shapes() {
        let ds = toy();
        let c = ImageDataset::concat(&[ds.clone(), ds.select(&[4])]).unwrap();
        assert_eq!(c.len(), 6);
        assert_eq!(c.labels[5], 0);
        assert_eq!(
            c.images.index_axis(Axis(0), 5),
            ds.images.index_axis(Axis(0), 4)
        );
        let other =
            ImageDataset::new(Array4::zeros((1, 3, 2, 3)), vec![0], ds.classes.clone()).unwrap();
        assert!(ImageDataset::concat(&[ds, other]).is_err());
        assert!(ImageDataset::concat(&[]).is_err());
    }
}
