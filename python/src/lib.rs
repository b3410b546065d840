//! `learnable_scattering._native`: the crate's fast CPU path for Python.
//!
//! A thin layer over [`learnable_scattering::fast::LearnableScattering2d`]: the cascade, its
//! adjoint and the filter-parameter gradient all run in the crate (one engine); this module only
//! converts arrays, releases the GIL while the engine runs on rayon's pool, and turns errors and
//! panics into Python exceptions. The Python package (`learnable_scattering.numpy`,
//! `learnable_scattering.torch`) builds the user-facing classes on it.
//!
//! Errors: [`ScatterError`] becomes `ValueError` (shapes, parameters, JSON content), `OSError`
//! (files) or `TypeError` (dtypes), with the crate's message; a panic becomes a `RuntimeError`
//! naming it, never an abort or pyo3's `PanicException` (a `BaseException`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use learnable_scattering::fast::{
    Float, LearnableScattering2d, PreparedBank, ScatteringGradients, ScatteringTape,
};
use learnable_scattering::trajectory::FilterTrajectory;
use learnable_scattering::{FilterBankParams, MorletParams, ScatterError, ScatteringOptions};
use learnable_scattering::{ScatteringPath, error::FileError};
use ndarray::{Array2, ArrayD, ArrayViewD};
use numpy::{
    IntoPyArray, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray2, PyReadonlyArrayDyn,
};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The Python exception of a crate error, with the crate's message.
fn to_py(e: ScatterError) -> PyErr {
    let message = e.to_string();
    match e {
        ScatterError::Io { .. } => PyOSError::new_err(message),
        ScatterError::File(FileError::UnsupportedDtype { .. }) => PyTypeError::new_err(message),
        ScatterError::File(_) => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// Runs `f` without the GIL, catching a panic (of this thread or, re-raised by rayon, of a worker)
/// as a `RuntimeError` with its message.
fn run<R: Send>(py: Python<'_>, f: impl FnOnce() -> Result<R, ScatterError> + Send) -> PyResult<R> {
    py.detach(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(|payload| {
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            PyRuntimeError::new_err(format!(
                "internal error in learnable_scattering (a Rust panic, please report it): {text}"
            ))
        })?
        .map_err(to_py)
}

/// The two element types, with the engine's objects of each.
trait Element: Float + numpy::Element {
    const NAME: &'static str;
    fn layer(engine: &Engine) -> &OnceLock<LearnableScattering2d<Self>>;
    fn prepared(bank: &Bank) -> &OnceLock<PreparedBank<Self>>;
    fn wrap(tape: ScatteringTape<Self>) -> TapeInner;
    fn unwrap(tape: &TapeInner) -> Option<&ScatteringTape<Self>>;
}

impl Element for f32 {
    const NAME: &'static str = "float32";
    fn layer(engine: &Engine) -> &OnceLock<LearnableScattering2d<f32>> {
        &engine.f32
    }
    fn prepared(bank: &Bank) -> &OnceLock<PreparedBank<f32>> {
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
    fn layer(engine: &Engine) -> &OnceLock<LearnableScattering2d<f64>> {
        &engine.f64
    }
    fn prepared(bank: &Bank) -> &OnceLock<PreparedBank<f64>> {
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

/// A planned cascade for one input size and `(J, L, max_order)`, in float32 and float64 (each
/// planned on first use).
#[pyclass(module = "learnable_scattering._native", frozen)]
struct Engine {
    height: usize,
    width: usize,
    options: ScatteringOptions,
    f32: OnceLock<LearnableScattering2d<f32>>,
    f64: OnceLock<LearnableScattering2d<f64>>,
}

/// A filter bank (the parameters of the `J·L` wavelets), its spectra prepared on first use for
/// each element type.
#[pyclass(module = "learnable_scattering._native", frozen)]
struct Bank {
    params: FilterBankParams,
    f32: OnceLock<PreparedBank<f32>>,
    f64: OnceLock<PreparedBank<f64>>,
}

/// The intermediates of a recorded forward, for the backward on the same input and bank.
#[pyclass(module = "learnable_scattering._native", frozen)]
struct Tape {
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

impl Engine {
    fn layer<T: Element>(&self) -> Result<&LearnableScattering2d<T>, ScatterError> {
        get_or_make(T::layer(self), || {
            LearnableScattering2d::new(self.height, self.width, self.options)
        })
    }

    fn prepared<'a, T: Element>(
        &self,
        bank: &'a Bank,
    ) -> Result<&'a PreparedBank<T>, ScatterError> {
        get_or_make(T::prepared(bank), || {
            self.layer::<T>()?.prepare(bank.params.clone())
        })
    }

    fn forward_t<'py, T: Element>(
        &self,
        py: Python<'py>,
        bank: &Bank,
        x: PyReadonlyArrayDyn<'py, T>,
        record: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<Tape>)> {
        let view = x.as_array();
        let (out, tape) = run(py, || {
            let layer = self.layer::<T>()?;
            layer.forward(self.prepared::<T>(bank)?, view, record)
        })?;
        let tape = tape.map(|t| Tape { inner: T::wrap(t) });
        Ok((out.into_pyarray(py).into_any(), tape))
    }

    #[allow(clippy::too_many_arguments)]
    fn backward_t<'py, T: Element>(
        &self,
        py: Python<'py>,
        bank: &Bank,
        x: PyReadonlyArrayDyn<'py, T>,
        tape: Option<&Tape>,
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
            let layer = self.layer::<T>()?;
            let bank = self.prepared::<T>(bank)?;
            layer.backward(bank, xv, tape, gv, want_input, want_wavelets)
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

type Gradients<'py> = (Option<Bound<'py, PyAny>>, Option<Bound<'py, PyArray2<f64>>>);

#[pymethods]
impl Engine {
    /// Plans nothing yet: the cascade of each dtype is planned on first use. Checks the options
    /// and the geometry now (`ValueError`).
    #[new]
    #[pyo3(signature = (height, width, J, L, max_order))]
    #[allow(non_snake_case)]
    fn new(height: usize, width: usize, J: usize, L: usize, max_order: usize) -> PyResult<Self> {
        let options = ScatteringOptions::with_max_order(J, L, max_order).map_err(to_py)?;
        // The geometry and size checks of the planner, without planning.
        learnable_scattering::PaddedGeometry::new(height, width, J).map_err(to_py)?;
        let engine = Self {
            height,
            width,
            options,
            f32: OnceLock::new(),
            f64: OnceLock::new(),
        };
        Ok(engine)
    }

    /// `(K, height / 2^J, width / 2^J)`.
    fn output_shape(&self) -> PyResult<(usize, usize, usize)> {
        let g = learnable_scattering::PaddedGeometry::new(
            self.height,
            self.width,
            self.options.num_scales(),
        )
        .map_err(to_py)?;
        let [ho, wo] = g.output_size();
        Ok((self.options.num_paths(), ho, wo))
    }

    /// `(Mp, Np)`, the padded grid the wavelet spectra live on.
    fn padded_shape(&self) -> PyResult<(usize, usize)> {
        let g = learnable_scattering::PaddedGeometry::new(
            self.height,
            self.width,
            self.options.num_scales(),
        )
        .map_err(to_py)?;
        let [mp, np] = g.padded_size();
        Ok((mp, np))
    }

    /// The output channels as rows `(order, j1, l1, j2, l2)`, -1 where a path has no such entry.
    fn paths<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<i64>> {
        let rows: Vec<[i64; 5]> = learnable_scattering::geometry::paths(&self.options)
            .iter()
            .map(|p| match *p {
                ScatteringPath::Zeroth => [0, -1, -1, -1, -1],
                ScatteringPath::First { j1, l1 } => [1, j1 as i64, l1 as i64, -1, -1],
                ScatteringPath::Second { j1, l1, j2, l2 } => {
                    [2, j1 as i64, l1 as i64, j2 as i64, l2 as i64]
                }
            })
            .collect();
        let n = rows.len();
        Array2::from_shape_vec((n, 5), rows.into_iter().flatten().collect())
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
        bank: &Bank,
        x: &Bound<'py, PyAny>,
        record: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<Tape>)> {
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
        bank: &Bank,
        x: &Bound<'py, PyAny>,
        tape: Option<&Tape>,
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
impl Bank {
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

    /// Reads the JSON the crate writes: a `FilterBankParams` object, or a training checkpoint's
    /// filter trajectory (`filters.json` or its directory), of which the last point is taken.
    /// `OSError` if the file cannot be read, `ValueError` if it is not such JSON.
    #[staticmethod]
    fn from_json(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let params = run(py, || {
            let file = FilterTrajectory::resolve(&path);
            let text = std::fs::read_to_string(&file).map_err(|source| ScatterError::Io {
                path: file.clone(),
                source,
            })?;
            let json_error = |source| ScatterError::Json {
                path: file.clone(),
                source,
            };
            let value: serde_json::Value = serde_json::from_str(&text).map_err(json_error)?;
            if value.get("points").is_some() {
                let trajectory = FilterTrajectory::read_json(&file)?;
                let last = trajectory.points.last().expect("validated: not empty");
                return Ok(last.bank.clone());
            }
            let bank: FilterBankParams = serde_json::from_value(value).map_err(json_error)?;
            bank.validate()?;
            Ok(bank)
        })?;
        Ok(Self::from_params(params))
    }

    /// Writes the bank as the crate's `FilterBankParams` JSON (read by `from_json`, by the Rust
    /// `scatter_npy` example and by `Scattering2dPlan::with_filter_bank`).
    fn to_json(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        run(py, || {
            let text = serde_json::to_string_pretty(&self.params).map_err(|source| {
                ScatterError::Json {
                    path: path.clone(),
                    source,
                }
            })?;
            std::fs::write(&path, text).map_err(|source| ScatterError::Io {
                path: path.clone(),
                source,
            })
        })
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

impl Bank {
    fn from_params(params: FilterBankParams) -> Self {
        Self {
            params,
            f32: OnceLock::new(),
            f64: OnceLock::new(),
        }
    }
}

#[pymethods]
impl Tape {
    /// Bytes held by the recorded intermediates.
    #[getter]
    fn nbytes(&self) -> usize {
        match &self.inner {
            TapeInner::F32(t) => t.bytes(),
            TapeInner::F64(t) => t.bytes(),
        }
    }
}

/// Panics inside the extension, for the test that a panic becomes a `RuntimeError` (on this
/// thread, or on a rayon worker with `in_pool`).
#[pyfunction]
#[pyo3(signature = (message, in_pool=false))]
fn _panic_for_test(py: Python<'_>, message: String, in_pool: bool) -> PyResult<()> {
    run(py, || {
        if in_pool {
            use rayon::prelude::*;
            (0..4).into_par_iter().for_each(|i| {
                if i == 3 {
                    panic!("{message}");
                }
            });
        } else {
            panic!("{message}");
        }
        Ok(())
    })
}

/// The number of threads of rayon's global pool (the engine's parallelism).
#[pyfunction]
fn num_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Bank>()?;
    m.add_class::<Tape>()?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    Ok(())
}
