//! `.npy` input and output for NumPy users (`float32` and `float64`, any number of dimensions).

use std::io::{BufReader, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyError, write_npy};

use crate::error::{Result, ScatterError};

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
pub const NPY_MAX_HEADER_LEN: usize = 10_000;

/// The magic string that starts every `.npy` file (`numpy/lib/format.py`, `MAGIC_PREFIX`).
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads a `float32` or `float64` `.npy` file (either byte order, C or Fortran order).
///
/// The header is parsed and checked against the file's length before the data is allocated:
/// a header that declares more (or fewer) elements than the file holds is refused, whatever
/// its dtype, so a small file cannot make the process allocate more than its own size.
///
/// # Errors
/// - [`ScatterError::UnsupportedDtype`] for any other dtype (integers, complex, ...),
/// - [`ScatterError::TruncatedFile`] / [`ScatterError::TrailingData`] when the data is shorter /
///   longer than the header declares,
/// - [`ScatterError::BadHeader`] for a header longer than [`NPY_MAX_HEADER_LEN`],
/// - [`ScatterError::DeclaredTooLarge`] for a shape whose element count does not fit in memory
///   addresses,
/// - [`ScatterError::ReadNpy`] for a missing file or a malformed header;
///
/// each naming the file.
pub fn read_real_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let wrap = |source: ReadNpyError| ScatterError::ReadNpy {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|e| wrap(ReadNpyError::Io(e)))?;
    let file_len = file
        .metadata()
        .map_err(|e| wrap(ReadNpyError::Io(e)))?
        .len();
    let mut reader = BufReader::new(file);

    // The prefix: magic, version, header length, header (at most NPY_MAX_HEADER_LEN bytes).
    let mut prefix = Vec::new();
    (&mut reader)
        .take((12 + NPY_MAX_HEADER_LEN) as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| wrap(ReadNpyError::Io(e)))?;
    let header_end = match header_end(&prefix) {
        Some(Ok(end)) => end,
        Some(Err(len)) => {
            return Err(ScatterError::BadHeader {
                path: path.to_path_buf(),
                field: "header_len",
                value: len.to_string(),
                reason: "longer than NumPy's limit of 10000 bytes",
            });
        }
        // Short, wrong magic or unknown version: ndarray-npy names the problem, reading no more
        // than the bytes it is given.
        None => {
            let e = Header::from_reader(&mut &prefix[..])
                .err()
                .map_or(ReadNpyError::MissingData, ReadNpyError::from);
            return Err(wrap(e));
        }
    };
    if prefix.len() < header_end {
        return Err(ScatterError::TruncatedFile {
            path: path.to_path_buf(),
            expected: header_end as u64,
            got: file_len,
        });
    }
    let header = Header::from_reader(&mut &prefix[..header_end]).map_err(|e| wrap(e.into()))?;
    let (item, little) = match header.type_descriptor.as_string().map(String::as_str) {
        Some("<f4") => (4usize, true),
        Some(">f4") => (4, false),
        Some("<f8") => (8, true),
        Some(">f8") => (8, false),
        _ => {
            return Err(ScatterError::UnsupportedDtype {
                path: path.to_path_buf(),
            });
        }
    };
    // ndarray's own condition: the product of the non-zero axis lengths fits in `isize`.
    let nonzero: u128 = header
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    let elements: u128 = if header.shape.contains(&0) {
        0
    } else {
        nonzero
    };
    let data_bytes = elements.saturating_mul(item as u128);
    if nonzero > isize::MAX as u128 {
        return Err(ScatterError::DeclaredTooLarge {
            path: path.to_path_buf(),
            what: ".npy array",
            declared: data_bytes,
            limit: isize::MAX as u64,
        });
    }
    let expected = (header_end as u128).saturating_add(data_bytes);
    let expected_u64 = u64::try_from(expected).unwrap_or(u64::MAX);
    if u128::from(file_len) < expected {
        return Err(ScatterError::TruncatedFile {
            path: path.to_path_buf(),
            expected: expected_u64,
            got: file_len,
        });
    }
    if u128::from(file_len) > expected {
        return Err(ScatterError::TrailingData {
            path: path.to_path_buf(),
            expected: expected_u64,
            got: file_len,
        });
    }
    // The data: what is left of the prefix, then the rest of the file (its length is checked).
    let mut data = prefix.split_off(header_end);
    reader
        .read_to_end(&mut data)
        .map_err(|e| wrap(ReadNpyError::Io(e)))?;
    if data.len() as u128 != data_bytes {
        // The file changed while it was read.
        return Err(ScatterError::TruncatedFile {
            path: path.to_path_buf(),
            expected: expected_u64,
            got: (header_end + data.len()) as u64,
        });
    }
    let shape = IxDyn(&header.shape);
    let shape = if header.layout.is_fortran() {
        shape.f()
    } else {
        shape.into_shape_with_order()
    };
    let too_large = |_| ScatterError::DeclaredTooLarge {
        path: path.to_path_buf(),
        what: ".npy array",
        declared: data_bytes,
        limit: isize::MAX as u64,
    };
    Ok(match item {
        4 => NpyArray::F32(
            ArrayD::from_shape_vec(
                shape,
                decode(&data, little, f32::from_le_bytes, f32::from_be_bytes),
            )
            .map_err(too_large)?,
        ),
        _ => NpyArray::F64(
            ArrayD::from_shape_vec(
                shape,
                decode(&data, little, f64::from_le_bytes, f64::from_be_bytes),
            )
            .map_err(too_large)?,
        ),
    })
}

/// End of the header (magic, version, length field and header) from the start of a file:
/// `Some(Ok(end))`, `Some(Err(header_len))` for a header above [`NPY_MAX_HEADER_LEN`], or `None`
/// when the magic or the version is not NumPy's (or the prefix is too short to say).
fn header_end(prefix: &[u8]) -> Option<std::result::Result<usize, usize>> {
    if prefix.len() < 8 || &prefix[..6] != NPY_MAGIC {
        return None;
    }
    let (len, field) = match prefix[6..8] {
        [1, 0] => (
            usize::from(u16::from_le_bytes(prefix.get(8..10)?.try_into().ok()?)),
            2,
        ),
        [2, 0] | [3, 0] => (
            u32::from_le_bytes(prefix.get(8..12)?.try_into().ok()?) as usize,
            4,
        ),
        _ => return None,
    };
    if len > NPY_MAX_HEADER_LEN {
        return Some(Err(len));
    }
    Some(Ok(8 + field + len))
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
/// [`ScatterError::WriteNpy`], naming the file.
pub fn write_real_npy(path: impl AsRef<Path>, array: &NpyArray) -> Result<()> {
    let path = path.as_ref();
    match array {
        NpyArray::F32(a) => write_npy(path, a),
        NpyArray::F64(a) => write_npy(path, a),
    }
    .map_err(|source| ScatterError::WriteNpy {
        path: path.to_path_buf(),
        source,
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
        let dir = std::env::temp_dir().join(format!("ls-npy-order-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
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
            Err(ScatterError::TrailingData { .. })
        ));
        std::fs::write(&path, npy_bytes("<f4", false, "(1,)", &[0; 3])).unwrap();
        assert!(matches!(
            read_real_npy(&path),
            Err(ScatterError::TruncatedFile { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_keeps_the_dtype() {
        let dir = std::env::temp_dir().join(format!("ls-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = NpyArray::F64(ArrayD::from_shape_fn(vec![2, 3, 4], |i| i[2] as f64 * 0.5));
        write_real_npy(dir.join("a.npy"), &a).unwrap();
        assert_eq!(read_real_npy(dir.join("a.npy")).unwrap(), a);
        let b = NpyArray::F32(ArrayD::from_elem(vec![5], 1.5f32));
        write_real_npy(dir.join("b.npy"), &b).unwrap();
        assert_eq!(read_real_npy(dir.join("b.npy")).unwrap(), b);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
