//! IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.
//!
//! Format (<http://yann.lecun.com/exdb/mnist/>, "FILE FORMATS"): a big-endian `u32` magic
//! number whose third byte is the element type (`0x08` = unsigned byte) and fourth byte the
//! number of dimensions, then one big-endian `u32` per dimension, then the data, row-major.
//! Images are `0x00000803` (`u8`, `[N, rows, cols]`), labels `0x00000801` (`u8`, `[N]`).
//!
//! Compressed files are recognised by the gzip magic bytes `1f 8b`, whatever their name, and
//! inflated as a stream: the header is checked first and no more than the declared payload is
//! inflated (see [`ReadLimits`] for the limits on what a header may declare).

use super::{ImageDataset, ReadLimits};
use crate::data::DataError;
use crate::error::FileError;
use crate::error::io_error;
use crate::error::{Result, ScatterError};
use flate2::read::MultiGzDecoder;
use ndarray::{Array3, Array4};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Magic number of an IDX file of `u8` images, `[N, rows, cols]`.
const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels, `[N]`.
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Fashion-MNIST class names, in label order
/// (<https://github.com/zalandoresearch/fashion-mnist#labels>).
const FASHION_MNIST_CLASSES: [&str; 10] = [
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
const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Standard file names (without `.gz`): train images, train labels, test images, test labels.
const IDX_FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Reads an IDX image file into `[N, rows, cols]` with the default [`ReadLimits`].
///
/// # Errors
/// [`FileError::BadMagic`] (not `0x00000803`), [`FileError::TruncatedFile`] (header or
/// data shorter than declared), [`FileError::TrailingData`], [`FileError::BadHeader`]
/// (`rows` or `cols` zero), [`DataError::ImageTooLarge`] (`rows × cols` above the pixel
/// limit), [`FileError::DeclaredTooLarge`] (payload above the byte limit),
/// [`FileError::MissingPath`] or [`ScatterError::Io`] (also for a corrupt gzip stream), each
/// naming the file.
pub fn read_images(path: &Path) -> Result<Array3<u8>> {
    read_images_with_limits(path, &ReadLimits::default())
}

/// As [`read_images`], with explicit limits.
///
/// # Errors
/// As [`read_images`].
pub fn read_images_with_limits(path: &Path, limits: &ReadLimits) -> Result<Array3<u8>> {
    let (dims, data) = read_idx(path, IDX_IMAGES_MAGIC, limits)?;
    Ok(Array3::from_shape_vec((dims[0], dims[1], dims[2]), data)
        .expect("dimensions checked against the payload and the pixel limit"))
}

/// Reads an IDX label file with the default [`ReadLimits`].
///
/// # Errors
/// As [`read_images`], with magic `0x00000801`.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    read_labels_with_limits(path, &ReadLimits::default())
}

/// As [`read_labels`], with explicit limits.
///
/// # Errors
/// As [`read_labels`].
pub fn read_labels_with_limits(path: &Path, limits: &ReadLimits) -> Result<Vec<u8>> {
    Ok(read_idx(path, IDX_LABELS_MAGIC, limits)?.1)
}

/// Reads an image file and a label file into a one-channel data set `[N, 1, rows, cols]`.
///
/// # Errors
/// The errors of [`read_images`] and [`read_labels`];
/// [`DataError::IdxCountMismatch`] if the counts differ; [`DataError::InvalidLabel`]
/// (naming the label file) if a label is `>= classes.len()`.
pub fn load_idx_dataset(
    images: &Path,
    labels: &Path,
    classes: Vec<String>,
) -> Result<ImageDataset> {
    load_idx_dataset_with_limits(images, labels, classes, &ReadLimits::default())
}

/// As [`load_idx_dataset`], with explicit limits.
fn load_idx_dataset_with_limits(
    images: &Path,
    labels: &Path,
    classes: Vec<String>,
    limits: &ReadLimits,
) -> Result<ImageDataset> {
    let x = read_images_with_limits(images, limits)?;
    let y = read_labels_with_limits(labels, limits)?;
    if x.shape()[0] != y.len() {
        return Err(ScatterError::Data(DataError::IdxCountMismatch {
            images_path: images.to_path_buf(),
            labels_path: labels.to_path_buf(),
            images: x.shape()[0],
            labels: y.len(),
        }));
    }
    let labels_usize: Vec<usize> = y.iter().map(|&l| usize::from(l)).collect();
    if let Some((index, &label)) = labels_usize
        .iter()
        .enumerate()
        .find(|(_, l)| **l >= classes.len())
    {
        return Err(ScatterError::Data(DataError::InvalidLabel {
            path: labels.to_path_buf(),
            index,
            label,
            num_classes: classes.len(),
        }));
    }
    let (n, h, w) = x.dim();
    // An owned standard-layout array: reshaped in place, not copied.
    let x: Array4<u8> = x.into_shape_with_order((n, 1, h, w)).expect("same size");
    ImageDataset::new(x, labels_usize, classes)
}

/// Loads Fashion-MNIST (train 60 000, test 10 000, 28×28 gray; classes `T-shirt/top`, `Trouser`,
/// `Pullover`, `Dress`, `Coat`, `Sandal`, `Shirt`, `Sneaker`, `Bag`, `Ankle boot`) from `dir`,
/// which holds the four standard files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), each raw or with `.gz` (for example Debian's `dataset-fashion-mnist`
/// package: `/usr/share/datasets/fashion-mnist`).
///
/// # Errors
/// [`FileError::MissingPath`] naming a missing file, and the errors of
/// [`load_idx_dataset`].
pub fn load_fashion_mnist(dir: &Path) -> Result<(ImageDataset, ImageDataset)> {
    load_standard(dir, &FASHION_MNIST_CLASSES)
}

/// Loads MNIST from `dir` (classes `0` to `9`), laid out as for [`load_fashion_mnist`].
///
/// # Errors
/// As [`load_fashion_mnist`].
pub fn load_mnist(dir: &Path) -> Result<(ImageDataset, ImageDataset)> {
    load_standard(dir, &MNIST_CLASSES)
}

fn load_standard(dir: &Path, classes: &[&str]) -> Result<(ImageDataset, ImageDataset)> {
    let [tri, trl, tei, tel] = IDX_FILE_NAMES.map(|name| find_file(dir, name));
    let classes: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    let limits = ReadLimits::default();
    let train = load_idx_dataset_with_limits(&tri?, &trl?, classes.clone(), &limits)?;
    let test = load_idx_dataset_with_limits(&tei?, &tel?, classes, &limits)?;
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
    Err(ScatterError::File(FileError::MissingPath {
        path: dir.join(format!("{name}[.gz]")),
        what: "IDX file",
    }))
}

/// Parses an IDX file of `u8` with the given magic; returns the dimensions and the data.
///
/// A gzip file (recognised by its magic bytes) is inflated as a stream, every member in turn
/// (RFC 1952 §2.2 allows several; `gzip -d` and Python's `gzip` read them all): the header is
/// checked first, then exactly the declared payload is inflated, growing the buffer only as
/// bytes arrive, then whatever follows is counted (not stored) to report trailing data. A raw
/// file's declared size is compared with its length before anything is allocated.
fn read_idx(path: &Path, magic: u32, limits: &ReadLimits) -> Result<(Vec<usize>, Vec<u8>)> {
    if !path.is_file() {
        return Err(ScatterError::File(FileError::MissingPath {
            path: path.to_path_buf(),
            what: "IDX file",
        }));
    }
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let file_len = file.metadata().map_err(io_error(path))?.len();
    let mut buffered = BufReader::new(file);
    let gzip = buffered
        .fill_buf()
        .map_err(io_error(path))?
        .starts_with(&super::GZIP_MAGIC);
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let truncated = |expected: u64, got: u64| {
        ScatterError::File(FileError::TruncatedFile {
            path: path.to_path_buf(),
            expected,
            got,
        })
    };

    let mut word = [0u8; 4];
    let n = read_full(&mut reader, &mut word).map_err(io_error(path))?;
    if n < 4 {
        return Err(truncated(4, n as u64));
    }
    let got = u32::from_be_bytes(word);
    if got != magic {
        return Err(ScatterError::File(FileError::BadMagic {
            path: path.to_path_buf(),
            expected: format!("0x{magic:08x}"),
            got: format!("0x{got:08x}"),
        }));
    }
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    let mut dims = Vec::with_capacity(ndim);
    for k in 0..ndim {
        let n = read_full(&mut reader, &mut word).map_err(io_error(path))?;
        if n < 4 {
            return Err(truncated(header as u64, (4 + 4 * k + n) as u64));
        }
        dims.push(u64::from(u32::from_be_bytes(word)));
    }
    if magic == IDX_IMAGES_MAGIC {
        check_image_dims(path, dims[1], dims[2], limits)?;
    }
    // At most 3 factors below 2^32: no overflow in u128.
    let payload: u128 = dims.iter().map(|&d| u128::from(d)).product();
    if payload > u128::from(limits.max_file_bytes) {
        return Err(ScatterError::File(FileError::DeclaredTooLarge {
            path: path.to_path_buf(),
            what: "IDX payload",
            declared: payload,
            limit: limits.max_file_bytes,
        }));
    }
    let payload = payload as u64; // <= max_file_bytes
    let expected = header as u64 + payload;
    if !gzip {
        if file_len < expected {
            return Err(truncated(expected, file_len));
        }
        if file_len > expected {
            return Err(ScatterError::File(FileError::TrailingData {
                path: path.to_path_buf(),
                expected,
                got: file_len,
            }));
        }
    }
    // A raw file holds exactly the payload (checked above): one allocation of that size.
    let reserve = if gzip { 0 } else { payload };
    let data = read_bounded(&mut reader, payload, reserve).map_err(io_error(path))?;
    if (data.len() as u64) < payload {
        return Err(truncated(expected, header as u64 + data.len() as u64));
    }
    // Trailing data: counted as a stream (bounded memory), so a gzip file reports its size after
    // decompression, as `TruncatedFile` does.
    let extra = std::io::copy(&mut reader, &mut std::io::sink()).map_err(io_error(path))?;
    if extra > 0 {
        return Err(ScatterError::File(FileError::TrailingData {
            path: path.to_path_buf(),
            expected,
            got: expected.saturating_add(extra),
        }));
    }
    let dims = dims.into_iter().map(|d| d as usize).collect();
    Ok((dims, data))
}

/// Checks the `rows × cols` of an IDX image file: both positive, the product within the pixel
/// limit.
fn check_image_dims(path: &Path, rows: u64, cols: u64, limits: &ReadLimits) -> Result<()> {
    for (field, value) in [("rows", rows), ("cols", cols)] {
        if value == 0 {
            return Err(ScatterError::File(FileError::BadHeader {
                path: path.to_path_buf(),
                field,
                value: "0".into(),
                reason: "an image needs at least one row and one column",
            }));
        }
    }
    if u128::from(rows) * u128::from(cols) > u128::from(limits.max_image_pixels) {
        return Err(ScatterError::Data(DataError::ImageTooLarge {
            path: path.to_path_buf(),
            height: rows,
            width: cols,
            max_pixels: limits.max_image_pixels,
        }));
    }
    Ok(())
}

/// Fills `buf` as far as the stream allows; returns the number of bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads up to `limit` bytes into a buffer of `reserve` bytes that then grows with the bytes
/// that actually arrive (at most doubling, never beyond `limit`), so a header that declares more
/// than a stream holds costs nothing.
pub(crate) fn read_bounded(
    reader: &mut impl Read,
    limit: u64,
    reserve: u64,
) -> std::io::Result<Vec<u8>> {
    const FIRST_CHUNK: usize = 1 << 20;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut data: Vec<u8> = Vec::new();
    let reserve = usize::try_from(reserve).unwrap_or(usize::MAX).min(limit);
    data.try_reserve_exact(reserve)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::OutOfMemory, e))?;
    while data.len() < limit {
        if data.len() == data.capacity() {
            let grow = data.len().max(FIRST_CHUNK).min(limit - data.len());
            data.try_reserve_exact(grow)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::OutOfMemory, e))?;
        }
        let start = data.len();
        let room = (data.capacity() - start).min(limit - start);
        data.resize(start + room, 0);
        let n = read_full(reader, &mut data[start..])?;
        data.truncate(start + n);
        if n < room {
            break;
        }
    }
    Ok(data)
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
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let p = dir.join("x");
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[1; 12])).unwrap();
        assert_eq!(read_images(&p).unwrap().shape(), &[2, 2, 3]);
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[1; 11])).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::File(FileError::TruncatedFile {
                expected: 28,
                got: 27,
                ..
            }))
        ));
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[1; 13])).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::File(FileError::TrailingData { .. }))
        ));
        // header cut inside the dimensions
        std::fs::write(&p, &idx_bytes(IDX_IMAGES_MAGIC, &[2, 2, 3], &[])[..9]).unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::File(FileError::TruncatedFile {
                expected: 16,
                got: 9,
                ..
            }))
        ));
        // absurd dimensions do not overflow: refused before any allocation
        std::fs::write(
            &p,
            idx_bytes(IDX_IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]),
        )
        .unwrap();
        assert!(matches!(
            read_images(&p),
            Err(ScatterError::Data(DataError::ImageTooLarge { .. }))
        ));
        // a payload above the byte limit
        std::fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[1000, 10, 10], &[])).unwrap();
        let small = ReadLimits {
            max_file_bytes: 99_999,
            ..ReadLimits::default()
        };
        assert!(matches!(
            read_images_with_limits(&p, &small),
            Err(ScatterError::File(FileError::DeclaredTooLarge {
                declared: 100_000,
                limit: 99_999,
                ..
            }))
        ));
    }
}
