//! `.npy` input and output for NumPy users (`float32` and `float64`, any number of dimensions).
//!
//! Reading goes in steps, each checking before the next allocates: the prefix (magic string,
//! version, header length at most 10 000 bytes), the header dictionary (`header`, the
//! crate's linear-time parser), the dtype, the data length the header declares against the
//! file's length, then the data.

mod header;

use std::io::{BufReader, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyError, write_npy};

use crate::error::{FileError, Result, ScatterError};
use header::{NpyHeader, header_end, parse_header};

/// A real array read from a `.npy` file, in the file's own dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyArray {
    /// `float32` data.
    F32(ArrayD<f32>),
    /// `float64` data.
    F64(ArrayD<f64>),
}

impl NpyArray {
    /// Shape of the array.
    pub fn shape(&self) -> &[usize] {
        match self {
            Self::F32(a) => a.shape(),
            Self::F64(a) => a.shape(),
        }
    }
}

/// Longest header accepted, in bytes: NumPy's own default (`max_header_size=10000` of
/// `numpy.load`, `_MAX_HEADER_SIZE` in `numpy/lib/format.py`). A `float32`/`float64` header is
/// under 200 bytes.
pub(crate) const NPY_MAX_HEADER_LEN: usize = 10_000;

/// The magic string that starts every `.npy` file (`numpy/lib/format.py`, `MAGIC_PREFIX`).
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads a `float32` or `float64` `.npy` file (either byte order, C or Fortran order).
///
/// The header is parsed and checked against the file's length before the data is allocated:
/// a header that declares more (or fewer) elements than the file holds is refused, whatever
/// its dtype, so a small file cannot make the process allocate more than its own size.
///
/// # Errors
/// - [`FileError::UnsupportedDtype`] for any other dtype (integers, complex, ...),
/// - [`FileError::TruncatedFile`] / [`FileError::TrailingData`] when the data is shorter /
///   longer than the header declares,
/// - [`FileError::BadHeader`] for a header longer than NumPy's limit (10 000 bytes) or a header
///   dictionary that is not NumPy's (parsed by the crate in linear time),
/// - [`FileError::DeclaredTooLarge`] for a shape whose element count does not fit in memory
///   addresses,
/// - [`FileError::ReadNpy`] for a missing file, or a file that does not start with NumPy's
///   magic string and a known version;
///
/// each naming the file.
pub fn read_real_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let mut file = NpyFile::open(path)?;
    let header = file.header()?;
    let dtype = Dtype::of(&header).ok_or_else(|| {
        ScatterError::File(FileError::UnsupportedDtype {
            path: path.to_path_buf(),
        })
    })?;
    let data_bytes = file.check_length(&header, dtype)?;
    let data = file.read_data(data_bytes)?;
    // Every axis fits in usize: their non-zero product does (checked by `check_length`).
    let axes: Vec<usize> = header.shape.iter().map(|&d| d as usize).collect();
    let shape = IxDyn(&axes);
    let shape = if header.fortran_order {
        shape.f()
    } else {
        shape.into_shape_with_order()
    };
    let too_large = |_| file.declared_too_large(data_bytes);
    Ok(match dtype {
        Dtype { item: 4, little } => NpyArray::F32(
            ArrayD::from_shape_vec(
                shape,
                decode(&data, little, f32::from_le_bytes, f32::from_be_bytes),
            )
            .map_err(too_large)?,
        ),
        Dtype { little, .. } => NpyArray::F64(
            ArrayD::from_shape_vec(
                shape,
                decode(&data, little, f64::from_le_bytes, f64::from_be_bytes),
            )
            .map_err(too_large)?,
        ),
    })
}

/// A `.npy` file being read: its length, and what has been read of it (the prefix: magic,
/// version, header length, header).
struct NpyFile<'a> {
    path: &'a Path,
    len: u64,
    reader: BufReader<std::fs::File>,
    prefix: Vec<u8>,
    /// End of the header in the file: where the data starts.
    header_end: usize,
}

/// A dtype the crate reads: `float32` or `float64`, either byte order.
#[derive(Clone, Copy)]
struct Dtype {
    /// Bytes per element, 4 or 8.
    item: usize,
    little: bool,
}

impl Dtype {
    /// The dtype of a header's `descr`, `None` for any other than `<f4`, `>f4`, `<f8`, `>f8`.
    fn of(header: &NpyHeader) -> Option<Self> {
        let (item, little) = match header.descr.as_deref()? {
            "<f4" => (4, true),
            ">f4" => (4, false),
            "<f8" => (8, true),
            ">f8" => (8, false),
            _ => return None,
        };
        Some(Self { item, little })
    }
}

impl<'a> NpyFile<'a> {
    /// Opens `path` and reads its prefix: at most [`NPY_MAX_HEADER_LEN`] bytes of header after
    /// the magic string, the version and the length field.
    fn open(path: &'a Path) -> Result<Self> {
        let wrap = |e| read_error(path, ReadNpyError::Io(e));
        let file = std::fs::File::open(path).map_err(wrap)?;
        let len = file.metadata().map_err(wrap)?.len();
        let mut reader = BufReader::new(file);
        let mut prefix = Vec::new();
        (&mut reader)
            .take((12 + NPY_MAX_HEADER_LEN) as u64)
            .read_to_end(&mut prefix)
            .map_err(wrap)?;
        let header_end = match header_end(&prefix) {
            Some(Ok(end)) => end,
            Some(Err(len)) => {
                return Err(ScatterError::File(FileError::BadHeader {
                    path: path.to_path_buf(),
                    field: "header_len",
                    value: len.to_string(),
                    reason: "longer than NumPy's limit of 10000 bytes",
                }));
            }
            // Short, wrong magic or unknown version: ndarray-npy names the problem, reading no
            // more than the bytes it is given.
            None => {
                let e = Header::from_reader(&mut &prefix[..])
                    .err()
                    .map_or(ReadNpyError::MissingData, ReadNpyError::from);
                return Err(read_error(path, e));
            }
        };
        if prefix.len() < header_end {
            return Err(ScatterError::File(FileError::TruncatedFile {
                path: path.to_path_buf(),
                expected: header_end as u64,
                got: len,
            }));
        }
        Ok(Self {
            path,
            len,
            reader,
            prefix,
            header_end,
        })
    }

    /// The header dictionary, parsed ([`header::parse_header`]).
    fn header(&self) -> Result<NpyHeader> {
        let field_len = if self.prefix[6] == 1 { 2 } else { 4 };
        let text = &self.prefix[8 + field_len..self.header_end];
        parse_header(text).map_err(|(reason, at)| {
            ScatterError::File(FileError::BadHeader {
                path: self.path.to_path_buf(),
                field: "header",
                value: format!("byte {at} of {:?}", String::from_utf8_lossy(text)),
                reason,
            })
        })
    }

    /// The number of data bytes the header declares, checked against the file's length before
    /// anything is allocated (and against what ndarray can address).
    fn check_length(&self, header: &NpyHeader, dtype: Dtype) -> Result<u128> {
        // ndarray's own condition: the product of the non-zero axis lengths fits in `isize`.
        let nonzero: u128 = header
            .shape
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
            .unwrap_or(u128::MAX);
        let elements: u128 = if header.shape.contains(&0) {
            0
        } else {
            nonzero
        };
        let data_bytes = elements.saturating_mul(dtype.item as u128);
        if nonzero > isize::MAX as u128 {
            return Err(self.declared_too_large(data_bytes));
        }
        let expected_bytes = (self.header_end as u128).saturating_add(data_bytes);
        let (path, got) = (self.path.to_path_buf(), self.len);
        let expected = u64::try_from(expected_bytes).unwrap_or(u64::MAX);
        match u128::from(self.len).cmp(&expected_bytes) {
            std::cmp::Ordering::Less => Err(ScatterError::File(FileError::TruncatedFile {
                path,
                expected,
                got,
            })),
            std::cmp::Ordering::Greater => Err(ScatterError::File(FileError::TrailingData {
                path,
                expected,
                got,
            })),
            std::cmp::Ordering::Equal => Ok(data_bytes),
        }
    }

    /// The data: what is left of the prefix, then the rest of the file, whose length
    /// [`NpyFile::check_length`] checked (a file that changes while it is read is refused).
    fn read_data(&mut self, data_bytes: u128) -> Result<Vec<u8>> {
        let mut data = self.prefix.split_off(self.header_end);
        self.reader
            .read_to_end(&mut data)
            .map_err(|e| read_error(self.path, ReadNpyError::Io(e)))?;
        if data.len() as u128 != data_bytes {
            let expected = (self.header_end as u128).saturating_add(data_bytes);
            return Err(ScatterError::File(FileError::TruncatedFile {
                path: self.path.to_path_buf(),
                expected: u64::try_from(expected).unwrap_or(u64::MAX),
                got: (self.header_end + data.len()) as u64,
            }));
        }
        Ok(data)
    }

    fn declared_too_large(&self, data_bytes: u128) -> ScatterError {
        ScatterError::File(FileError::DeclaredTooLarge {
            path: self.path.to_path_buf(),
            what: ".npy array",
            declared: data_bytes,
            limit: isize::MAX as u64,
        })
    }
}

/// [`FileError::ReadNpy`] naming `path`.
fn read_error(path: &Path, source: ReadNpyError) -> ScatterError {
    ScatterError::File(FileError::ReadNpy {
        path: path.to_path_buf(),
        source,
    })
}

/// Elements of `N` bytes each from `bytes`, in the given byte order.
fn decode<T, const N: usize>(
    bytes: &[u8],
    little: bool,
    from_le: fn([u8; N]) -> T,
    from_be: fn([u8; N]) -> T,
) -> Vec<T> {
    let convert = if little { from_le } else { from_be };
    bytes
        .chunks_exact(N)
        .map(|c| convert(c.try_into().expect("chunks of N bytes")))
        .collect()
}

/// Writes an array as `.npy` in its own dtype.
///
/// # Errors
/// [`FileError::WriteNpy`], naming the file.
pub fn write_real_npy(path: impl AsRef<Path>, array: &NpyArray) -> Result<()> {
    let path = path.as_ref();
    match array {
        NpyArray::F32(a) => write_npy(path, a),
        NpyArray::F64(a) => write_npy(path, a),
    }
    .map_err(|source| {
        ScatterError::File(FileError::WriteNpy {
            path: path.to_path_buf(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 1.0 `.npy` file with the given header fields and raw data.
    fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let fortran = if fortran { "True" } else { "False" };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn big_endian_and_fortran_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("x.npy");
        // 2x3 in Fortran order: memory holds column 0, then 1, then 2.
        let values = [0.0f64, 10.0, 1.0, 11.0, 2.0, 12.0];
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        std::fs::write(&path, npy_bytes(">f8", true, "(2, 3)", &data)).unwrap();
        let NpyArray::F64(a) = read_real_npy(&path).unwrap() else {
            panic!("dtype")
        };
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!((a[[0, 2]], a[[1, 0]], a[[1, 2]]), (2.0, 10.0, 12.0));
        // A zero-sized array and a zero-dimensional one.
        std::fs::write(&path, npy_bytes("<f4", false, "(0, 5)", &[])).unwrap();
        assert_eq!(read_real_npy(&path).unwrap().shape(), &[0, 5]);
        std::fs::write(&path, npy_bytes("<f4", false, "()", &1.5f32.to_le_bytes())).unwrap();
        assert_eq!(
            read_real_npy(&path).unwrap(),
            NpyArray::F32(ArrayD::from_elem(vec![], 1.5))
        );
        // One byte too many, one too few.
        std::fs::write(&path, npy_bytes("<f4", false, "(1,)", &[0; 5])).unwrap();
        assert!(matches!(
            read_real_npy(&path),
            Err(ScatterError::File(FileError::TrailingData { .. }))
        ));
        std::fs::write(&path, npy_bytes("<f4", false, "(1,)", &[0; 3])).unwrap();
        assert!(matches!(
            read_real_npy(&path),
            Err(ScatterError::File(FileError::TruncatedFile { .. }))
        ));
    }

    #[test]
    fn round_trip_keeps_the_dtype() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let a = NpyArray::F64(ArrayD::from_shape_fn(vec![2, 3, 4], |i| i[2] as f64 * 0.5));
        write_real_npy(dir.join("a.npy"), &a).unwrap();
        assert_eq!(read_real_npy(dir.join("a.npy")).unwrap(), a);
        let b = NpyArray::F32(ArrayD::from_elem(vec![5], 1.5f32));
        write_real_npy(dir.join("b.npy"), &b).unwrap();
        assert_eq!(read_real_npy(dir.join("b.npy")).unwrap(), b);
    }
}
