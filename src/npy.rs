//! `.npy` input and output for NumPy users (`float32` and `float64`, any number of dimensions).

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, read_npy, write_npy};

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

/// Reads a `float32` or `float64` `.npy` file (either byte order, C or Fortran order).
///
/// # Errors
/// [`ScatterError::UnsupportedDtype`] for any other dtype (integers, complex, ...),
/// [`ScatterError::ReadNpy`] for a missing, truncated or malformed file; both name the file.
pub fn read_real_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let wrap = |source| ScatterError::ReadNpy {
        path: path.to_path_buf(),
        source,
    };
    match read_npy::<_, ArrayD<f32>>(path) {
        Ok(a) => return Ok(NpyArray::F32(a)),
        Err(ReadNpyError::WrongDescriptor(_)) => {}
        Err(e) => return Err(wrap(e)),
    }
    match read_npy::<_, ArrayD<f64>>(path) {
        Ok(a) => Ok(NpyArray::F64(a)),
        Err(ReadNpyError::WrongDescriptor(_)) => Err(ScatterError::UnsupportedDtype {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(wrap(e)),
    }
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
