//! `Scattering2dPlan`: the crate's plan for one input size and `(J, L, max_order)`, in float32 and
//! float64 (each planned on first use), and `ScatteringTape`, the intermediates of a recorded
//! forward.

use std::sync::OnceLock;

use learnable_scattering::cascade::{
    Float, PreparedBank, Scattering2dPlan, ScatteringGradients, ScatteringTape,
};
use learnable_scattering::geometry::paths;
use learnable_scattering::{PaddedGeometry, ScatterError, ScatteringOptions};
use ndarray::{Array2, ArrayD, ArrayViewD};
use numpy::{IntoPyArray, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::bank::PyFilterBankParams;
use crate::errors::{run, to_py};

/// The two element types, with the plan's objects of each.
trait Element: Float + numpy::Element {
    const NAME: &'static str;
    fn plan(plan: &PyPlan) -> &OnceLock<Scattering2dPlan<Self>>;
    fn prepared(bank: &PyFilterBankParams) -> &OnceLock<PreparedBank<Self>>;
    fn wrap(tape: ScatteringTape<Self>) -> TapeInner;
    fn unwrap(tape: &TapeInner) -> Option<&ScatteringTape<Self>>;
}

impl Element for f32 {
    const NAME: &'static str = "float32";
    fn plan(plan: &PyPlan) -> &OnceLock<Scattering2dPlan<f32>> {
        &plan.f32
    }
    fn prepared(bank: &PyFilterBankParams) -> &OnceLock<PreparedBank<f32>> {
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
    fn prepared(bank: &PyFilterBankParams) -> &OnceLock<PreparedBank<f64>> {
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

/// The value of a [`OnceLock`], made by `make` on first use.
fn get_or_make<T>(
    cell: &OnceLock<T>,
    make: impl FnOnce() -> Result<T, ScatterError>,
) -> Result<&T, ScatterError> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = make()?;
    Ok(cell.get_or_init(|| v))
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

type Gradients<'py> = (Option<Bound<'py, PyAny>>, Option<Bound<'py, PyArray2<f64>>>);

impl PyPlan {
    fn plan<T: Element>(&self) -> Result<&Scattering2dPlan<T>, ScatterError> {
        get_or_make(T::plan(self), || {
            Scattering2dPlan::new(self.height, self.width, self.options)
        })
    }

    fn prepared<'a, T: Element>(
        &self,
        bank: &'a PyFilterBankParams,
    ) -> Result<&'a PreparedBank<T>, ScatterError> {
        get_or_make(T::prepared(bank), || {
            self.plan::<T>()?.prepare(bank.params.clone())
        })
    }

    fn geometry(&self) -> PyResult<PaddedGeometry> {
        PaddedGeometry::new(self.height, self.width, self.options.num_scales()).map_err(to_py)
    }

    fn forward_t<'py, T: Element>(
        &self,
        py: Python<'py>,
        bank: &PyFilterBankParams,
        x: PyReadonlyArrayDyn<'py, T>,
        record: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<PyTape>)> {
        let view = x.as_array();
        let (out, tape) = run(py, || {
            let plan = self.plan::<T>()?;
            plan.forward(self.prepared::<T>(bank)?, view, record)
        })?;
        let tape = tape.map(|t| PyTape { inner: T::wrap(t) });
        Ok((out.into_pyarray(py).into_any(), tape))
    }

    #[allow(clippy::too_many_arguments)]
    fn backward_t<'py, T: Element>(
        &self,
        py: Python<'py>,
        bank: &PyFilterBankParams,
        x: PyReadonlyArrayDyn<'py, T>,
        tape: Option<&PyTape>,
        grad: &Bound<'py, PyAny>,
        want_input: bool,
        want_wavelets: bool,
    ) -> PyResult<Gradients<'py>> {
        let grad = grad
            .cast::<PyArrayDyn<T>>()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "grad_output must be a {} numpy array, like the input",
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
        let ScatteringGradients { input, wavelets } = run(py, || {
            let plan = self.plan::<T>()?;
            let bank = self.prepared::<T>(bank)?;
            plan.backward(bank, xv, tape, gv, want_input, want_wavelets)
        })?;
        let wavelets = wavelets.map(|w| {
            let rows = w.len();
            let flat: Vec<f64> = w.into_iter().flatten().collect();
            Array2::from_shape_vec((rows, 4), flat)
                .expect("four parameters per wavelet")
                .into_pyarray(py)
        });
        Ok((
            input.map(|a: ArrayD<T>| a.into_pyarray(py).into_any()),
            wavelets,
        ))
    }
}

#[pymethods]
impl PyPlan {
    /// Plans nothing yet: the plan of each dtype is made on first use. Checks the options and the
    /// geometry now (`ValueError`).
    #[new]
    #[pyo3(signature = (height, width, J, L, max_order))]
    #[allow(non_snake_case)]
    fn new(height: usize, width: usize, J: usize, L: usize, max_order: usize) -> PyResult<Self> {
        let options = ScatteringOptions::with_max_order(J, L, max_order).map_err(to_py)?;
        // The geometry and size checks of the planner, without planning.
        PaddedGeometry::new(height, width, J).map_err(to_py)?;
        Ok(Self {
            height,
            width,
            options,
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
    /// not copied when C-contiguous) with the wavelets of `bank`; with `record`, also the tape
    /// for `backward`, else `None`.
    #[pyo3(signature = (bank, x, record=false))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        bank: &PyFilterBankParams,
        x: &Bound<'py, PyAny>,
        record: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<PyTape>)> {
        match input(x, "x")? {
            Input::F32(a) => self.forward_t(py, bank, a, record),
            Input::F64(a) => self.forward_t(py, bank, a, record),
        }
    }

    /// The vector–Jacobian products at `x` for the output gradient `grad`: the input gradient
    /// (`x`'s shape and dtype) if `want_input`, and the `(J·L, 4)` float64 gradient with respect
    /// to each wavelet's `(sigma, xi, theta, slant)` if `want_wavelets`; `None` for what was not
    /// asked. `tape` must come from `forward(bank, x, record=True)` on the same `x`.
    #[pyo3(signature = (bank, x, tape, grad, want_input=true, want_wavelets=true))]
    #[allow(clippy::too_many_arguments)]
    fn backward<'py>(
        &self,
        py: Python<'py>,
        bank: &PyFilterBankParams,
        x: &Bound<'py, PyAny>,
        tape: Option<&PyTape>,
        grad: &Bound<'py, PyAny>,
        want_input: bool,
        want_wavelets: bool,
    ) -> PyResult<Gradients<'py>> {
        match input(x, "x")? {
            Input::F32(a) => self.backward_t(py, bank, a, tape, grad, want_input, want_wavelets),
            Input::F64(a) => self.backward_t(py, bank, a, tape, grad, want_input, want_wavelets),
        }
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
