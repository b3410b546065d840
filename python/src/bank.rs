//! `FilterBankParams`: a bank's parameters, with its spectra prepared on first use for each
//! element type and plan.

use std::sync::OnceLock;

use learnable_scattering::cascade::PreparedBank;
use learnable_scattering::{FilterBankParams, MorletParams};
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{run, to_py};

/// A filter bank (the parameters of the `J·L` wavelets), its spectra prepared on first use for
/// each element type.
#[pyclass(
    name = "FilterBankParams",
    module = "learnable_scattering._native",
    frozen
)]
pub(crate) struct PyFilterBankParams {
    pub(crate) params: FilterBankParams,
    pub(crate) f32: OnceLock<PreparedBank<f32>>,
    pub(crate) f64: OnceLock<PreparedBank<f64>>,
}

#[pymethods]
impl PyFilterBankParams {
    /// A bank from `(J·L, 4)` float64 parameters `(sigma, xi, theta, slant)`, rows in slot order
    /// `n = j·L + l`. `ValueError` for a wrong count or an invalid wavelet (named by its index).
    #[new]
    #[pyo3(signature = (J, L, params))]
    #[allow(non_snake_case)]
    fn new(J: usize, L: usize, params: PyReadonlyArray2<'_, f64>) -> PyResult<Self> {
        let a = params.as_array();
        if a.ncols() != 4 {
            return Err(PyValueError::new_err(format!(
                "params must have shape (J*L, 4) = ({}, 4) (sigma, xi, theta, slant), got {:?}",
                J * L,
                a.shape()
            )));
        }
        let wavelets = a
            .rows()
            .into_iter()
            .map(|r| MorletParams {
                sigma: r[0],
                xi: r[1],
                theta: r[2],
                slant: r[3],
            })
            .collect();
        let params = FilterBankParams::from_wavelets(J, L, wavelets).map_err(to_py)?;
        Ok(Self::from_params(params))
    }

    /// kymatio's tight frame.
    #[staticmethod]
    #[pyo3(signature = (J, L))]
    #[allow(non_snake_case)]
    fn tight_frame(J: usize, L: usize) -> PyResult<Self> {
        Ok(Self::from_params(
            FilterBankParams::tight_frame(J, L).map_err(to_py)?,
        ))
    }

    /// The random bank of "Parametric Scattering Networks", from a ChaCha8 stream seeded with
    /// `seed` (the crate's `FilterBankParams::random`: the same bank as the Rust layer's).
    #[staticmethod]
    #[pyo3(signature = (J, L, seed))]
    #[allow(non_snake_case)]
    fn random(J: usize, L: usize, seed: u64) -> PyResult<Self> {
        Ok(Self::from_params(
            FilterBankParams::random(J, L, seed).map_err(to_py)?,
        ))
    }

    /// Reads a bank file the crate writes, or a training checkpoint's filter trajectory
    /// (`filters.json` or its directory), of which the last point is taken
    /// (`FilterBankParams::read_json`). `OSError` if the file cannot be read, `ValueError` if it
    /// is not such JSON.
    #[staticmethod]
    fn from_json(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let params = run(py, || FilterBankParams::read_json(&path))?;
        Ok(Self::from_params(params))
    }

    /// Writes the bank file (`FilterBankParams::write_json`), read by `from_json`, by the Rust
    /// `scatter_npy` example and by `FilterBankParams::read_json`.
    fn to_json(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        run(py, || self.params.write_json(&path))
    }

    /// `J`.
    #[getter]
    #[allow(non_snake_case)]
    fn J(&self) -> usize {
        self.params.num_scales()
    }

    /// `L`.
    #[getter]
    #[allow(non_snake_case)]
    fn L(&self) -> usize {
        self.params.num_orientations()
    }

    /// The `(J·L, 4)` float64 parameters `(sigma, xi, theta, slant)`, rows `n = j·L + l`.
    fn params<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let w = self.params.wavelets();
        Array2::from_shape_fn((w.len(), 4), |(n, k)| {
            let p = &w[n];
            [p.sigma, p.xi, p.theta, p.slant][k]
        })
        .into_pyarray(py)
    }
}

impl PyFilterBankParams {
    pub(crate) fn from_params(params: FilterBankParams) -> Self {
        Self {
            params,
            f32: OnceLock::new(),
            f64: OnceLock::new(),
        }
    }
}
