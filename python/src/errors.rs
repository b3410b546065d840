//! Errors and panics to Python exceptions, and the one way the engine is called.
//!
//! [`ScatterError`] becomes `MemoryError` (a buffer the allocator refused, with its size),
//! `ValueError` (shapes, parameters, JSON content), `OSError` (files) or `TypeError` (dtypes),
//! with the crate's message; a panic becomes a `RuntimeError` naming it, never an abort or
//! pyo3's `PanicException` (a `BaseException`).

use std::panic::{AssertUnwindSafe, catch_unwind};

use learnable_scattering::ScatterError;
use learnable_scattering::error::FileError;
use pyo3::exceptions::{PyMemoryError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::pool::pool;

/// The Python exception of a crate error, with the crate's message.
pub(crate) fn to_py(e: ScatterError) -> PyErr {
    let message = e.to_string();
    match e {
        ScatterError::OutOfMemory { .. } => PyMemoryError::new_err(message),
        ScatterError::Io { .. } => PyOSError::new_err(message),
        ScatterError::File(FileError::UnsupportedDtype { .. }) => PyTypeError::new_err(message),
        ScatterError::File(_) => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// Runs `f` without the GIL on this process's thread pool ([`crate::pool`]), catching a panic
/// (of this thread or, re-raised by rayon, of a worker) as a `RuntimeError` with its message.
pub(crate) fn run<R: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<R, ScatterError> + Send,
) -> PyResult<R> {
    let pool = pool()?;
    py.detach(|| catch_unwind(AssertUnwindSafe(|| pool.install(f))))
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

/// Panics inside the extension, for the test that a panic becomes a `RuntimeError` (on this
/// thread, or on a worker of the pool with `in_pool`).
#[pyfunction]
#[pyo3(signature = (message, in_pool=false))]
pub(crate) fn _panic_for_test(py: Python<'_>, message: String, in_pool: bool) -> PyResult<()> {
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
