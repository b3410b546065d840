//! IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.
//!
//! Format (<http://yann.lecun.com/exdb/mnist/>, "FILE FORMATS"): a big-endian `u32` magic
//! number whose third byte is the element type (`0x08` = unsigned byte) and fourth byte the
//! number of dimensions, then one big-endian `u32` per dimension, then the data, row-major.
//! Images are `0x00000803` (`u8`, `[N, rows, cols]`), labels `0x00000801` (`u8`, `[N]`).
//!
//! Compressed files are recognised by the gzip magic bytes `1f 8b`, whatever their name.

use super::ImageDataset;
use crate::error::io_error;
use crate::{Result, ScatterError};
use ndarray::{Array3, Array4};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Magic number of an IDX file of `u8` images, `[N, rows, cols]`.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels, `[N]`.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Fashion-MNIST class names, in label order
/// (<https://github.com/zalandoresearch/fashion-mnist#labels>).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// MNIST class names: the digits.
pub const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Standard file names (without `.gz`): train images, train labels, test images, test labels.
pub const IDX_FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Reads an IDX image file into `[N, rows, cols]`.
///
/// # Errors
/// [`ScatterError::BadMagic`] (not `0x00000803`), [`ScatterError::TruncatedFile`] (header or
/// data shorter than declared), [`ScatterError::TrailingData`], [`ScatterError::MissingPath`]
/// or [`ScatterError::Io`] (also for a corrupt gzip stream), each naming the file.
pub fn read_images(path: &Path) -> Result<Array3<u8>> {
    let (dims, data) = read_idx(path, IDX_IMAGES_MAGIC)?;
    Ok(Array3::from_shape_vec((dims[0], dims[1], dims[2]), data).expect("size checked"))
}

/// Reads an IDX label file.
///
/// # Errors
/// As [`read_images`], with magic `0x00000801`.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(read_idx(path, IDX_LABELS_MAGIC)?.1)
}

/// Reads an image file and a label file into a one-channel data set `[N, 1, rows, cols]`.
///
/// # Errors
/// The errors of [`read_images`] and [`read_labels`];
/// [`ScatterError::IdxCountMismatch`] if the counts differ; [`ScatterError::InvalidLabel`]
/// (naming the label file) if a label is `>= classes.len()`.
pub fn load_idx_dataset(
    images: &Path,
    labels: &Path,
    classes: Vec<String>,
) -> Result<ImageDataset> {
    let x = read_images(images)?;
    let y = read_labels(labels)?;
    if x.shape()[0] != y.len() {
        return Err(ScatterError::IdxCountMismatch {
            images_path: images.to_path_buf(),
            labels_path: labels.to_path_buf(),
            images: x.shape()[0],
            labels: y.len(),
        });
    }
    let labels_usize: Vec<usize> = y.iter().map(|&l| usize::from(l)).collect();
    if let Some((index, &label)) = labels_usize
        .iter()
        .enumerate()
        .find(|(_, l)| **l >= classes.len())
    {
        return Err(ScatterError::InvalidLabel {
            path: labels.to_path_buf(),
            index,
            label,
            num_classes: classes.len(),
        });
    }
    let (n, h, w) = x.dim();
    let x = x.into_shape_with_order((n, 1, h, w)).expect("same size");
    let x: Array4<u8> = x.as_standard_layout().into_owned();
    ImageDataset::new(x, labels_usize, classes)
}

/// Loads Fashion-MNIST (train 60 000, test 10 000, 28×28 gray) from `dir`, which holds the
/// four standard files, each raw or with `.gz` (for example Debian's `dataset-fashion-mnist`
/// package: `/usr/share/datasets/fashion-mnist`).
///
/// # Errors
/// [`ScatterError::MissingPath`] naming a missing file, and the errors of
/// [`load_idx_dataset`].
pub fn load_fashion_mnist(dir: &Path) -> Result<(ImageDataset, ImageDataset)> {
    load_standard(dir, &FASHION_MNIST_CLASSES)
}

/// Loads MNIST from `dir`, laid out as for [`load_fashion_mnist`].
///
/// # Errors
/// As [`load_fashion_mnist`].
pub fn load_mnist(dir: &Path) -> Result<(ImageDataset, ImageDataset)> {
    load_standard(dir, &MNIST_CLASSES)
}

fn load_standard(dir: &Path, classes: &[&str]) -> Result<(ImageDataset, ImageDataset)> {
    let [tri, trl, tei, tel] = IDX_FILE_NAMES.map(|name| find_file(dir, name));
    let classes: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    let train = load_idx_dataset(&tri?, &trl?, classes.clone())?;
    let test = load_idx_dataset(&tei?, &tel?, classes)?;
    Ok((train, test))
}

/// `dir/name` if it exists, else `dir/name.gz`.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(ScatterError::MissingPath {
        path: dir.join(format!("{name}[.gz]")),
        what: "IDX file",
    })
}

/// Whole file, gunzipped when it starts with the gzip magic bytes.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    if !path.is_file() {
        return Err(ScatterError::MissingPath {
            path: path.to_path_buf(),
            what: "IDX file",
        });
    }
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    if bytes.starts_with(&super::GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(io_error(path))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses an IDX file of `u8` with the given magic; returns the dimensions and the data.
fn read_idx(path: &Path, magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut bytes = read_maybe_gzip(path)?;
    let truncated = |expected: u64, got: usize| ScatterError::TruncatedFile {
        path: path.to_path_buf(),
        expected,
        got: got as u64,
    };
    if bytes.len() < 4 {
        return Err(truncated(4, bytes.len()));
    }
    let got = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if got != magic {
        return Err(ScatterError::BadMagic {
            path: path.to_path_buf(),
            expected: format!("0x{magic:08x}"),
            got: format!("0x{got:08x}"),
        });
    }
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(truncated(header as u64, bytes.len()));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // Saturates on absurd dimensions, which then read as a truncated file.
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|payload| payload.checked_add(header as u64))
        .unwrap_or(u64::MAX);
    let len = bytes.len() as u64;
    if len < expected {
        return Err(truncated(expected, bytes.len()));
    }
    if len > expected {
        return Err(ScatterError::TrailingData {
            path: path.to_path_buf(),
            expected,
            got: len,
        });
    }
    bytes.drain(..header);
    Ok((dims, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = magic.to_be_bytes().to_vec();
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn parses_header_and_rejects_sizes() {
        let dir = std::env::temp_dir().join(format!("ls-idx-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x");
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[1; 12])).unwrap();
        assert_eq!(read_images(&p).unwrap().shape(), &[2, 2, 3]);
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[1; 11])).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::TruncatedFile {
                expected: 28,
                got: 27,
                ..
            })
        ));
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[1; 13])).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::TrailingData { .. })
        ));
        // header cut inside the dimensions
        std::fs::write(&p, &idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[])[..9]).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::TruncatedFile {
                expected: 16,
                got: 9,
                ..
            })
        ));
        // absurd dimensions do not overflow
        std::fs::write(
            &p,
            idx_bytes(IDX_IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]),
        )
        .unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::TruncatedFile { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
