//! `Scattering2dPlan`: the crate's plan for one input size and `(J, L, max_order)`, in float32 and
//! float64 (each planned on first use), and `ScatteringTape`, the intermediates of a recorded
//! forward.
//!
//! Every array the engine makes (outputs, gradients) is allocated by the crate fallibly
//! (`ScatterError::OutOfMemory`, raised as `MemoryError`) and handed to numpy without a copy
//! (`IntoPyArray` moves the buffer into a numpy array that owns it).

use std::sync::{Arc, OnceLock};

use learnable_scattering::cascade::{
    Float, PreparedBank, Scattering2dPlan, ScatteringGradients, ScatteringTape,
};
use learnable_scattering::geometry::paths;
use learnable_scattering::{PaddedGeometry, ScatterError, ScatteringOptions};
use ndarray::{Array2, ArrayViewD};
use numpy::{IntoPyArray, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::bank::{Filters, PreparedCache, PyFilterBankParams, PyWaveletSpectra};
use crate::errors::{run, to_py};

/// The two element types, with the plan's and the banks' objects of each.
trait Element: Float + numpy::Element {
    const NAME: &'static str;
    fn plan(plan: &PyPlan) -> &OnceLock<Scattering2dPlan<Self>>;
    fn morlet(bank: &PyFilterBankParams) -> &PreparedCache<Self>;
    fn spectra(bank: &PyWaveletSpectra) -> &PreparedCache<Self>;
    fn wrap(tape: ScatteringTape<Self>) -> TapeInner;
    fn unwrap(tape: &TapeInner) -> Option<&ScatteringTape<Self>>;
}

impl Element for f32 {
    const NAME: &'static str = "float32";
    fn plan(plan: &PyPlan) -> &OnceLock<Scattering2dPlan<f32>> {
        &plan.f32
    }
    fn morlet(bank: &PyFilterBankParams) -> &PreparedCache<f32> {
        &bank.f32
    }
    fn spectra(bank: &PyWaveletSpectra) -> &PreparedCache<f32> {
        &bank.f32
    }
    fn wrap(tape: ScatteringTape<f32>) -> TapeInner {
        TapeInner::F32(tape)
    }
    fn unwrap(tape: &TapeInner) -> Option<&ScatteringTape<f32>> {
        match tape {
            TapeInner::F32(t) => Some(t),
            TapeInner::F64(_) => None,
        }
    }
}

impl Element for f64 {
    const NAME: &'static str = "float64";
    fn plan(plan: &PyPlan) -> &OnceLock<Scattering2dPlan<f64>> {
        &plan.f64
    }
    fn morlet(bank: &PyFilterBankParams) -> &PreparedCache<f64> {
        &bank.f64
    }
    fn spectra(bank: &PyWaveletSpectra) -> &PreparedCache<f64> {
        &bank.f64
    }
    fn wrap(tape: ScatteringTape<f64>) -> TapeInner {
        TapeInner::F64(tape)
    }
    fn unwrap(tape: &TapeInner) -> Option<&ScatteringTape<f64>> {
        match tape {
            TapeInner::F64(t) => Some(t),
            TapeInner::F32(_) => None,
        }
    }
}

/// A plan for one input size and `(J, L, max_order)`, in float32 and float64 (each planned on
/// first use).
#[pyclass(
    name = "Scattering2dPlan",
    module = "learnable_scattering._native",
    frozen
)]
pub(crate) struct PyPlan {
    height: usize,
    width: usize,
    options: ScatteringOptions,
    padded_input: bool,
    f32: OnceLock<Scattering2dPlan<f32>>,
    f64: OnceLock<Scattering2dPlan<f64>>,
}

/// The intermediates of a recorded forward, for the backward on the same input and bank.
#[pyclass(
    name = "ScatteringTape",
    module = "learnable_scattering._native",
    frozen
)]
pub(crate) struct PyTape {
    inner: TapeInner,
}

enum TapeInner {
    F32(ScatteringTape<f32>),
    F64(ScatteringTape<f64>),
}

/// A float32 or float64 array, borrowed read-only (no copy).
enum Input<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

fn input<'py>(x: &Bound<'py, PyAny>, what: &str) -> PyResult<Input<'py>> {
    if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        return Ok(Input::F32(a.try_readonly()?));
    }
    if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        return Ok(Input::F64(a.try_readonly()?));
    }
    let dtype = x
        .getattr("dtype")
        .map(|d| d.to_string())
        .unwrap_or_else(|_| x.get_type().to_string());
    Err(PyTypeError::new_err(format!(
        "{what} must be a float32 or float64 numpy array, got {dtype}"
    )))
}

/// The input gradient and the filter gradient: `(J·L, 4)` float64 for a `FilterBankParams`,
/// `(J·L, Mp, Np)` of the input's dtype for a `WaveletSpectra`.
type Gradients<'py> = (Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>);

impl PyPlan {
    fn plan<T: Element>(&self) -> Result<&Scattering2dPlan<T>, ScatterError> {
        let cell = T::plan(self);
        if let Some(p) = cell.get() {
            return Ok(p);
        }
        let mut plan = Scattering2dPlan::new(self.height, self.width, self.options)?;
        if self.padded_input {
            plan = plan.with_padded_input();
        }
        Ok(cell.get_or_init(|| plan))
    }

    fn prepared<T: Element>(
        &self,
        filters: &Filters<'_>,
    ) -> Result<Arc<PreparedBank<T>>, ScatterError> {
        let plan = self.plan::<T>()?;
        match filters {
            Filters::Morlet(b) => T::morlet(b).get(plan, || plan.prepare(b.params.clone())),
            Filters::Spectra(s) => {
                T::spectra(s).get(plan, || plan.prepare_spectra(s.values.view()))
            }
        }
    }

    fn geometry(&self) -> PyResult<PaddedGeometry> {
        PaddedGeometry::new(self.height, self.width, self.options.num_scales()).map_err(to_py)
    }

    fn forward_t<'py, T: Element>(
        &self,
        py: Python<'py>,
        filters: &Filters<'_>,
        x: PyReadonlyArrayDyn<'py, T>,
        record: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<PyTape>)> {
        let view = x.as_array();
        let (out, tape) = run(py, || {
            let plan = self.plan::<T>()?;
            let bank = self.prepared::<T>(filters)?;
            plan.forward(&bank, view, record)
        })?;
        let tape = tape.map(|t| PyTape { inner: T::wrap(t) });
        Ok((out.into_pyarray(py).into_any(), tape))
    }

    #[allow(clippy::too_many_arguments)]
    fn backward_t<'py, T: Element>(
        &self,
        py: Python<'py>,
        filters: &Filters<'_>,
        x: PyReadonlyArrayDyn<'py, T>,
        tape: Option<&PyTape>,
        grad: &Bound<'py, PyAny>,
        want_input: bool,
        want_filters: bool,
    ) -> PyResult<Gradients<'py>> {
        let grad = grad
            .cast::<PyArrayDyn<T>>()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "grad must be a {} numpy array, like the input",
                    T::NAME
                ))
            })?
            .try_readonly()?;
        let tape = match tape {
            Some(t) => Some(T::unwrap(&t.inner).ok_or_else(|| {
                PyTypeError::new_err(format!("the tape was not recorded in {}", T::NAME))
            })?),
            None => None,
        };
        let (xv, gv): (ArrayViewD<'_, T>, ArrayViewD<'_, T>) = (x.as_array(), grad.as_array());
        let ScatteringGradients {
            input,
            wavelets,
            spectra,
        } = run(py, || {
            let plan = self.plan::<T>()?;
            let bank = self.prepared::<T>(filters)?;
            plan.backward(&bank, xv, tape, gv, want_input, want_filters)
        })?;
        let filters = match (wavelets, spectra) {
            (Some(w), _) => {
                let rows = w.len();
                let flat: Vec<f64> = w.into_iter().flatten().collect();
                let a = Array2::from_shape_vec((rows, 4), flat).expect("four values per wavelet");
                Some(a.into_pyarray(py).into_any())
            }
            (None, Some(s)) => Some(s.into_pyarray(py).into_any()),
            (None, None) => None,
        };
        Ok((input.map(|a| a.into_pyarray(py).into_any()), filters))
    }
}

#[pymethods]
impl PyPlan {
    /// Plans nothing yet: the plan of each dtype is made on first use. Checks the options and the
    /// geometry now (`ValueError`). With `padded_input`, the plan takes inputs already padded to
    /// `padded_shape()` (kymatio's `pre_pad=True`).
    #[new]
    #[pyo3(signature = (height, width, J, L, max_order, padded_input=false))]
    #[allow(non_snake_case)]
    fn new(
        height: usize,
        width: usize,
        J: usize,
        L: usize,
        max_order: usize,
        padded_input: bool,
    ) -> PyResult<Self> {
        let options = ScatteringOptions::with_max_order(J, L, max_order).map_err(to_py)?;
        // The geometry and size checks of the planner, without planning.
        PaddedGeometry::new(height, width, J).map_err(to_py)?;
        Ok(Self {
            height,
            width,
            options,
            padded_input,
            f32: OnceLock::new(),
            f64: OnceLock::new(),
        })
    }

    /// `(K, height / 2^J, width / 2^J)`.
    fn output_shape(&self) -> PyResult<(usize, usize, usize)> {
        let [ho, wo] = self.geometry()?.output_size();
        Ok((self.options.num_paths(), ho, wo))
    }

    /// `(Mp, Np)`, the padded grid the wavelet spectra live on.
    fn padded_shape(&self) -> PyResult<(usize, usize)> {
        let [mp, np] = self.geometry()?.padded_size();
        Ok((mp, np))
    }

    /// `(height, width)` of the input planes: the image's, or the padded grid's.
    fn input_shape(&self) -> PyResult<(usize, usize)> {
        match self.padded_input {
            true => self.padded_shape(),
            false => Ok((self.height, self.width)),
        }
    }

    /// The output channels as rows `(order, j1, l1, j2, l2)`, -1 where a path has no such entry
    /// (`ScatteringPath::as_row`).
    fn paths<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<i64>> {
        let rows: Vec<i64> = paths(&self.options)
            .iter()
            .flat_map(|p| p.as_row())
            .collect();
        let n = rows.len() / 5;
        Array2::from_shape_vec((n, 5), rows)
            .expect("five entries per path")
            .into_pyarray(py)
    }

    /// Scattering coefficients `(..., K, M/2^J, N/2^J)` of `x` `(..., M, N)` (float32 or float64,
    /// not copied when C-contiguous) with the filters of `bank` (a `FilterBankParams` or a
    /// `WaveletSpectra`); with `record`, also the tape for `backward`, else `None`.
    #[pyo3(signature = (bank, x, record=false))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        bank: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        record: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<PyTape>)> {
        let filters = Filters::extract(bank)?;
        match input(x, "x")? {
            Input::F32(a) => self.forward_t(py, &filters, a, record),
            Input::F64(a) => self.forward_t(py, &filters, a, record),
        }
    }

    /// The vector–Jacobian products at `x` for the output gradient `grad`: the input gradient
    /// (`x`'s shape and dtype) if `want_input`, and the filter gradient if `want_filters`:
    /// `(J·L, 4)` float64 with respect to each wavelet's `(sigma, xi, theta, slant)` for a
    /// `FilterBankParams`, `(J·L, Mp, Np)` of `x`'s dtype with respect to the spectra for a
    /// `WaveletSpectra`; `None` for what was not asked. `tape` must come from
    /// `forward(bank, x, record=True)` on the same `x` and bank.
    #[pyo3(signature = (bank, x, tape, grad, want_input=true, want_filters=true))]
    #[allow(clippy::too_many_arguments)]
    fn backward<'py>(
        &self,
        py: Python<'py>,
        bank: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        tape: Option<&PyTape>,
        grad: &Bound<'py, PyAny>,
        want_input: bool,
        want_filters: bool,
    ) -> PyResult<Gradients<'py>> {
        let filters = Filters::extract(bank)?;
        match input(x, "x")? {
            Input::F32(a) => self.backward_t(py, &filters, a, tape, grad, want_input, want_filters),
            Input::F64(a) => self.backward_t(py, &filters, a, tape, grad, want_input, want_filters),
        }
    }

    /// Pickling: the class and its constructor's arguments (plans are made again on first use).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let me = slf.get();
        let o = &me.options;
        let args = (
            me.height,
            me.width,
            o.num_scales(),
            o.num_orientations(),
            o.max_order(),
            me.padded_input,
        );
        (slf.get_type(), args).into_pyobject(slf.py())
    }
}

#[pymethods]
impl PyTape {
    /// Bytes held by the recorded intermediates.
    #[getter]
    fn nbytes(&self) -> usize {
        match &self.inner {
            TapeInner::F32(t) => t.bytes(),
            TapeInner::F64(t) => t.bytes(),
        }
    }
}
