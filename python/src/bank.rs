//! What a plan runs with: `FilterBankParams` (Morlet parameters) and `WaveletSpectra` (free
//! spectra, the paper's pixelwise filters), each with its spectra prepared on first use for each
//! element type and plan geometry.

use std::sync::{Arc, Mutex};

use learnable_scattering::cascade::{Float, PreparedBank, Scattering2dPlan};
use learnable_scattering::filters::spectral::morlet_spectrum;
use learnable_scattering::{FilterBankParams, MorletParams, ScatterError};
use ndarray::{Array2, Array3};
use numpy::{IntoPyArray, PyArray2, PyArray3, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rayon::prelude::*;

use crate::errors::{run, to_py};

/// Prepared banks kept per object and element type: enough for a bank shared by a few plans
/// (sizes, orders), small enough not to hold stale spectra.
const PREPARED_ENTRIES: usize = 4;

/// What a prepared bank depends on besides the bank: the plan's padded grid and maximum order.
type Key = ([usize; 2], usize);

/// A bank's prepared spectra for the plans that ran it, most recent last.
pub(crate) struct PreparedCache<T: Float> {
    entries: Mutex<Vec<(Key, Arc<PreparedBank<T>>)>>,
}

impl<T: Float> Default for PreparedCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<T: Float> PreparedCache<T> {
    /// The bank prepared for `plan`, made by `make` unless a plan of the same padded grid and
    /// order prepared it before.
    pub(crate) fn get(
        &self,
        plan: &Scattering2dPlan<T>,
        make: impl FnOnce() -> Result<PreparedBank<T>, ScatterError>,
    ) -> Result<Arc<PreparedBank<T>>, ScatterError> {
        let key = (plan.geometry().padded_size(), plan.options().max_order());
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, bank)) = entries.iter().find(|(k, _)| *k == key) {
                return Ok(Arc::clone(bank));
            }
        }
        let bank = Arc::new(make()?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= PREPARED_ENTRIES {
            entries.remove(0);
        }
        entries.push((key, Arc::clone(&bank)));
        Ok(bank)
    }
}

/// A filter bank (the parameters of the `J·L` wavelets), its spectra prepared on first use for
/// each element type and plan geometry.
#[pyclass(
    name = "FilterBankParams",
    module = "learnable_scattering._native",
    frozen
)]
pub(crate) struct PyFilterBankParams {
    pub(crate) params: FilterBankParams,
    pub(crate) f32: PreparedCache<f32>,
    pub(crate) f64: PreparedCache<f64>,
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
                J.saturating_mul(L),
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
        params_array(&self.params).into_pyarray(py)
    }

    /// The wavelets' spectra on a `height × width` grid in FFT order, `(J·L, height, width)`
    /// float64 (`filters::spectral::morlet_spectrum` of each, the closed form the engine uses): on a
    /// plan's padded grid, the values a `WaveletSpectra` of these wavelets holds.
    #[pyo3(signature = (height, width))]
    fn spectra<'py>(
        &self,
        py: Python<'py>,
        height: usize,
        width: usize,
    ) -> PyResult<Bound<'py, PyArray3<f64>>> {
        if height == 0 || width == 0 {
            return Err(PyValueError::new_err(format!(
                "the grid must not be empty, got {height}x{width}"
            )));
        }
        let wavelets = self.params.wavelets();
        let shape = (wavelets.len(), height, width);
        let values = run(py, || {
            let n = (shape.0 as u128) * (height as u128) * (width as u128);
            let mut probe: Vec<f64> = Vec::new();
            probe
                .try_reserve_exact(usize::try_from(2 * n).unwrap_or(usize::MAX))
                .map_err(|_| ScatterError::OutOfMemory {
                    what: "the wavelet spectra",
                    bytes: 16 * n,
                })?;
            drop(probe);
            let planes: Vec<Array2<f64>> = wavelets
                .par_iter()
                .map(|p| morlet_spectrum(height, width, p))
                .collect();
            Ok(planes
                .iter()
                .flat_map(|p| p.iter().copied())
                .collect::<Vec<f64>>())
        })?;
        Ok(Array3::from_shape_vec(shape, values)
            .expect("J·L planes of height × width")
            .into_pyarray(py))
    }

    /// Pickling: the class and its constructor's arguments (prepared spectra are not kept).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let args = (me.J(), me.L(), me.params(py));
        (slf.get_type(), args).into_pyobject(py)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Self>()
            .is_ok_and(|o| o.get().params == self.params)
    }

    fn __repr__(&self) -> String {
        format!("FilterBankParams(J={}, L={})", self.J(), self.L())
    }
}

/// `(J·L, 4)`: `(sigma, xi, theta, slant)` of each wavelet.
pub(crate) fn params_array(params: &FilterBankParams) -> Array2<f64> {
    let w = params.wavelets();
    Array2::from_shape_fn((w.len(), 4), |(n, k)| {
        let p = &w[n];
        [p.sigma, p.xi, p.theta, p.slant][k]
    })
}

impl PyFilterBankParams {
    pub(crate) fn from_params(params: FilterBankParams) -> Self {
        Self {
            params,
            f32: PreparedCache::default(),
            f64: PreparedCache::default(),
        }
    }
}

/// Free wavelet spectra (the paper's pixelwise filters): `(J·L, Mp, Np)` float64, the real
/// spectrum of wavelet `n = j·L + l` on a plan's padded grid in FFT order, prepared on first use
/// for each element type and maximum order.
#[pyclass(
    name = "WaveletSpectra",
    module = "learnable_scattering._native",
    frozen
)]
pub(crate) struct PyWaveletSpectra {
    pub(crate) num_scales: usize,
    pub(crate) num_orientations: usize,
    pub(crate) values: Array3<f64>,
    pub(crate) f32: PreparedCache<f32>,
    pub(crate) f64: PreparedCache<f64>,
}

#[pymethods]
impl PyWaveletSpectra {
    /// Spectra `(J·L, Mp, Np)` (copied). `ValueError` unless there are `J·L` of them; the plan
    /// that runs them checks their grid and values.
    #[new]
    #[pyo3(signature = (J, L, spectra))]
    #[allow(non_snake_case)]
    fn new(J: usize, L: usize, spectra: PyReadonlyArray3<'_, f64>) -> PyResult<Self> {
        let values = spectra.as_array();
        if J == 0 || L == 0 || values.shape()[0] != J.saturating_mul(L) {
            return Err(PyValueError::new_err(format!(
                "spectra must have shape (J*L, Mp, Np) with J*L = {} (J = {J}, L = {L}), got {:?}",
                J.saturating_mul(L),
                values.shape()
            )));
        }
        Ok(Self {
            num_scales: J,
            num_orientations: L,
            values: values.to_owned(),
            f32: PreparedCache::default(),
            f64: PreparedCache::default(),
        })
    }

    /// `J`.
    #[getter]
    #[allow(non_snake_case)]
    fn J(&self) -> usize {
        self.num_scales
    }

    /// `L`.
    #[getter]
    #[allow(non_snake_case)]
    fn L(&self) -> usize {
        self.num_orientations
    }

    /// The spectra, `(J·L, Mp, Np)` float64 (a copy).
    fn spectra<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray3<f64>> {
        self.values.clone().into_pyarray(py)
    }

    /// Pickling: the class and its constructor's arguments.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let me = slf.get();
        let args = (me.J(), me.L(), me.spectra(py));
        (slf.get_type(), args).into_pyobject(py)
    }

    fn __repr__(&self) -> String {
        let [_, mp, np] = [0, 1, 2].map(|a| self.values.shape()[a]);
        format!(
            "WaveletSpectra(J={}, L={}, padded grid {mp}x{np})",
            self.num_scales, self.num_orientations
        )
    }
}

/// Either kind of bank, as a plan's `forward` and `backward` take it.
pub(crate) enum Filters<'a> {
    Morlet(&'a PyFilterBankParams),
    Spectra(&'a PyWaveletSpectra),
}

impl<'a> Filters<'a> {
    /// `bank` as a `FilterBankParams` or `WaveletSpectra`; `TypeError` naming what was given.
    pub(crate) fn extract(bank: &'a Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(b) = bank.cast::<PyFilterBankParams>() {
            return Ok(Filters::Morlet(b.get()));
        }
        if let Ok(b) = bank.cast::<PyWaveletSpectra>() {
            return Ok(Filters::Spectra(b.get()));
        }
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "bank must be a FilterBankParams or a WaveletSpectra, got {}",
            bank.get_type().name()?
        )))
    }
}
