//! `Parametrization`: the crate's `filters::Parametrization` (the paper's `canonical`,
//! `equivariant` and `pixelwise`) with the expansion of trained values into wavelets and its
//! vector–Jacobian product (`filters::parametrization`), the same code the burn layer runs.
//!
//! Trained values travel as a `(4, n)` float64 array, rows `ln σ`, `ξ`, `θ`, `ln slant`.

use learnable_scattering::filters::{Parametrization, TrainedValues};
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::bank::PyFilterBankParams;
use crate::errors::to_py;

/// What a learnable bank trains, by the paper's name.
#[pyclass(
    name = "Parametrization",
    module = "learnable_scattering._native",
    frozen,
    eq
)]
#[derive(PartialEq)]
pub(crate) struct PyParametrization {
    inner: Parametrization,
}

/// `(4, n)` rows `ln σ`, `ξ`, `θ`, `ln slant` as trained values.
fn trained(values: PyReadonlyArray2<'_, f64>) -> PyResult<TrainedValues> {
    let a = values.as_array();
    if a.nrows() != 4 {
        return Err(PyValueError::new_err(format!(
            "trained values must have shape (4, n) (ln sigma, xi, theta, ln slant), got {:?}",
            a.shape()
        )));
    }
    let row = |k: usize| a.row(k).to_vec();
    Ok(TrainedValues {
        log_sigma: row(0),
        xi: row(1),
        theta: row(2),
        log_slant: row(3),
    })
}

fn rows(t: TrainedValues) -> Array2<f64> {
    let n = t.xi.len();
    let flat: Vec<f64> = t
        .families()
        .iter()
        .flat_map(|f| f.iter().copied())
        .collect();
    Array2::from_shape_vec((4, n), flat).expect("four families of n values")
}

#[pymethods]
impl PyParametrization {
    /// `'canonical'`, `'equivariant'` or `'pixelwise'`; `ValueError` naming the three otherwise.
    #[new]
    fn new(name: &str) -> PyResult<Self> {
        let inner = name.parse::<Parametrization>().map_err(to_py)?;
        Ok(Self { inner })
    }

    /// The paper's name.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// Values per trained family: `J` (equivariant) or `J·L`.
    #[pyo3(signature = (J, L))]
    #[allow(non_snake_case)]
    fn trained_len(&self, J: usize, L: usize) -> usize {
        self.inner.trained_len(J, L)
    }

    /// The `(4, n)` trained values that start from `bank`.
    fn trained_values<'py>(
        &self,
        py: Python<'py>,
        bank: &PyFilterBankParams,
    ) -> Bound<'py, PyArray2<f64>> {
        rows(self.inner.trained_values(&bank.params)).into_pyarray(py)
    }

    /// The checked bank of the trained values `(4, n)`: `ValueError` for a wrong shape or a
    /// wavelet out of range (named by its index).
    #[pyo3(signature = (J, L, trained_values))]
    #[allow(non_snake_case)]
    fn bank(
        &self,
        J: usize,
        L: usize,
        trained_values: PyReadonlyArray2<'_, f64>,
    ) -> PyResult<PyFilterBankParams> {
        let t = trained(trained_values)?;
        let bank = self.inner.bank(J, L, &t).map_err(to_py)?;
        Ok(PyFilterBankParams::from_params(bank))
    }

    /// The gradient `(4, n)` with respect to the trained values, from the gradient `(J·L, 4)`
    /// with respect to each wavelet's `(sigma, xi, theta, slant)`.
    #[pyo3(signature = (J, L, trained_values, grad))]
    #[allow(non_snake_case)]
    fn wavelets_vjp<'py>(
        &self,
        py: Python<'py>,
        J: usize,
        L: usize,
        trained_values: PyReadonlyArray2<'_, f64>,
        grad: PyReadonlyArray2<'_, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let t = trained(trained_values)?;
        let g = grad.as_array();
        if g.ncols() != 4 {
            return Err(PyValueError::new_err(format!(
                "grad must have shape (J*L, 4), got {:?}",
                g.shape()
            )));
        }
        let g: Vec<[f64; 4]> = g
            .rows()
            .into_iter()
            .map(|r| [r[0], r[1], r[2], r[3]])
            .collect();
        let out = self.inner.wavelets_vjp(J, L, &t, &g).map_err(to_py)?;
        Ok(rows(out).into_pyarray(py))
    }

    /// The paper's random initial bank for this parametrisation (equivariant: one wavelet drawn
    /// per scale, turned into its `L` orientations).
    #[pyo3(signature = (J, L, seed))]
    #[allow(non_snake_case)]
    fn random_bank(&self, J: usize, L: usize, seed: u64) -> PyResult<PyFilterBankParams> {
        let bank = self.inner.random_bank(J, L, seed).map_err(to_py)?;
        Ok(PyFilterBankParams::from_params(bank))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        (slf.get_type(), (slf.get().inner.name(),)).into_pyobject(slf.py())
    }

    fn __repr__(&self) -> String {
        format!("Parametrization({:?})", self.inner.name())
    }
}
