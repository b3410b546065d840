//! CIFAR-10, binary version (`cifar-10-binary.tar.gz`).
//!
//! The archive extracts to `cifar-10-batches-bin/` with `data_batch_1.bin` … `data_batch_5.bin`
//! (10 000 images each, the training set), `test_batch.bin` (10 000 images) and
//! `batches.meta.txt` (the class names, one a line). Each batch is a sequence of 3073-byte
//! records: 1 label byte (0-9), then 3072 pixel bytes, the red plane, then green, then blue,
//! each 32×32 row-major (<https://www.cs.toronto.edu/~kriz/cifar.html>, "Binary version").
//! That is exactly the `[3, 32, 32]` C-order layout of one [`ImageDataset`] image.

use super::{ImageDataset, ReadLimits};
use crate::data::DataError;
use crate::error::FileError;
use crate::error::io_error;
use crate::error::{Result, ScatterError};
use ndarray::Array4;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// CIFAR-10 class names, in label order (`batches.meta.txt`).
const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Image side (32).
const CIFAR10_SIZE: usize = 32;
/// Bytes per record: 1 label byte + 3·32·32 pixel bytes.
const CIFAR10_RECORD_BYTES: usize = 1 + 3 * CIFAR10_SIZE * CIFAR10_SIZE;
/// The folder the official archive extracts to.
const CIFAR10_BATCHES_DIR: &str = "cifar-10-batches-bin";
/// Training batch file names, in the order they are concatenated.
const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// Test batch file name.
const CIFAR10_TEST_FILE: &str = "test_batch.bin";

/// Reads one binary batch file into an `[N, 3, 32, 32]` data set with the CIFAR-10 classes
/// (`airplane`, `automobile`, `bird`, `cat`, `deer`, `dog`, `frog`, `horse`, `ship`, `truck`),
/// with the default [`ReadLimits`].
///
/// The file's size is checked first; records are then read one at a time into the data set's
/// own buffer, so the memory used is the file's size (not twice it).
///
/// # Errors
/// - [`FileError::MissingPath`] if the file does not exist,
/// - [`DataError::RecordSize`] if its size is not a positive multiple of 3073 bytes,
/// - [`FileError::DeclaredTooLarge`] if it is larger than [`ReadLimits::max_file_bytes`],
/// - [`DataError::InvalidLabel`] if a label byte is `>= 10`,
/// - [`FileError::TruncatedFile`] if it shrinks while being read,
/// - [`ScatterError::Io`] for other read failures;
///
/// each naming the file.
pub fn read_batch(path: &Path) -> Result<ImageDataset> {
    read_batch_with_limits(path, &ReadLimits::default())
}

/// As [`read_batch`], with explicit limits.
///
/// # Errors
/// As [`read_batch`].
pub fn read_batch_with_limits(path: &Path, limits: &ReadLimits) -> Result<ImageDataset> {
    if !path.is_file() {
        return Err(ScatterError::File(FileError::MissingPath {
            path: path.to_path_buf(),
            what: "CIFAR-10 batch file",
        }));
    }
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let size = file.metadata().map_err(io_error(path))?.len();
    let record = CIFAR10_RECORD_BYTES as u64;
    if size == 0 || size % record != 0 {
        return Err(ScatterError::Data(DataError::RecordSize {
            path: path.to_path_buf(),
            size,
            record: CIFAR10_RECORD_BYTES,
        }));
    }
    if size > limits.max_file_bytes {
        return Err(ScatterError::File(FileError::DeclaredTooLarge {
            path: path.to_path_buf(),
            what: "CIFAR-10 batch file",
            declared: u128::from(size),
            limit: limits.max_file_bytes,
        }));
    }
    let n = (size / record) as usize; // size <= max_file_bytes, and a record is 3073 bytes
    let pixels = CIFAR10_RECORD_BYTES - 1;
    let mut data = vec![0u8; n * pixels];
    let mut labels = Vec::with_capacity(n);
    let mut reader = BufReader::new(file);
    for (index, image) in data.chunks_exact_mut(pixels).enumerate() {
        let mut label = [0u8; 1];
        reader
            .read_exact(&mut label)
            .and_then(|()| reader.read_exact(image))
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    ScatterError::File(FileError::TruncatedFile {
                        path: path.to_path_buf(),
                        expected: size,
                        got: index as u64 * record,
                    })
                } else {
                    io_error(path)(e)
                }
            })?;
        let label = usize::from(label[0]);
        if label >= CIFAR10_CLASSES.len() {
            return Err(ScatterError::Data(DataError::InvalidLabel {
                path: path.to_path_buf(),
                index,
                label,
                num_classes: CIFAR10_CLASSES.len(),
            }));
        }
        labels.push(label);
    }
    let images = Array4::from_shape_vec((n, 3, CIFAR10_SIZE, CIFAR10_SIZE), data)
        .expect("record size checked");
    ImageDataset::new(images, labels, classes())
}

/// Loads the CIFAR-10 training set (the five training batches, concatenated in order, 50 000
/// images) and test set (10 000 images), with the default [`ReadLimits`].
///
/// `dir` is either the `cifar-10-batches-bin` folder or the folder that contains it.
///
/// # Errors
/// [`FileError::MissingPath`] naming the first missing folder or file, and the errors of
/// [`read_batch`].
pub fn load_cifar10(dir: &Path) -> Result<(ImageDataset, ImageDataset)> {
    load_cifar10_with_limits(dir, &ReadLimits::default())
}

/// As [`load_cifar10`], with explicit limits (applied to each batch file).
fn load_cifar10_with_limits(
    dir: &Path,
    limits: &ReadLimits,
) -> Result<(ImageDataset, ImageDataset)> {
    let root = batches_dir(dir)?;
    let train = CIFAR10_TRAIN_FILES
        .iter()
        .map(|f| read_batch_with_limits(&root.join(f), limits))
        .collect::<Result<Vec<_>>>()?;
    let train = ImageDataset::concat(&train)?;
    let test = read_batch_with_limits(&root.join(CIFAR10_TEST_FILE), limits)?;
    Ok((train, test))
}

/// The batch folder: `dir` itself if it holds `data_batch_1.bin`, else
/// `dir/cifar-10-batches-bin`.
fn batches_dir(dir: &Path) -> Result<PathBuf> {
    if dir.join(CIFAR10_TRAIN_FILES[0]).is_file() {
        return Ok(dir.to_path_buf());
    }
    let nested = dir.join(CIFAR10_BATCHES_DIR);
    if nested.is_dir() {
        return Ok(nested);
    }
    if dir.is_dir() && dir.file_name().is_some_and(|n| n == CIFAR10_BATCHES_DIR) {
        // The right folder, with the batches missing: name the missing file.
        return Ok(dir.to_path_buf());
    }
    Err(ScatterError::File(FileError::MissingPath {
        path: nested,
        what: "CIFAR-10 folder (extract cifar-10-binary.tar.gz there)",
    }))
}

fn classes() -> Vec<String> {
    CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout_constants() {
        assert_eq!(CIFAR10_RECORD_BYTES, 3073);
        assert_eq!(CIFAR10_CLASSES.len(), 10);
    }

    #[test]
    fn batch_round_trip_in_memory_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("b.bin");
        let mut bytes = vec![7u8];
        // pixel value encodes (channel, row, col) so the plane order is visible
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    bytes.push((c * 80 + y * 2 + x % 2) as u8);
                }
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let ds = read_batch(&path).unwrap();
        assert_eq!(ds.images.shape(), &[1, 3, 32, 32]);
        assert_eq!(ds.labels, vec![7]);
        assert_eq!(ds.images[[0, 2, 5, 1]], (160 + 10 + 1) as u8);
        assert_eq!(ds.images[[0, 1, 31, 0]], (80 + 62) as u8);
    }
}
