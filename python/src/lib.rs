//! `learnable_scattering._native`: the crate's cascade for Python.
//!
//! A thin layer over [`learnable_scattering::cascade::Scattering2dPlan`]: the cascade, its
//! adjoint and the filter-parameter gradient all run in the crate (one engine); this module only
//! converts arrays, releases the GIL while the engine runs on rayon's pool, and turns errors and
//! panics into Python exceptions. The Python package (`learnable_scattering.numpy`,
//! `learnable_scattering.torch`) builds the user-facing classes on it.
//!
//! - `errors`: crate errors and panics to Python exceptions;
//! - `bank`: `FilterBankParams`, a bank's parameters with its prepared spectra;
//! - `plan`: `Scattering2dPlan` and `ScatteringTape`.

mod bank;
mod errors;
mod plan;

use pyo3::prelude::*;

/// The number of threads of rayon's global pool (the engine's parallelism).
#[pyfunction]
fn num_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<plan::PyPlan>()?;
    m.add_class::<bank::PyFilterBankParams>()?;
    m.add_class::<plan::PyTape>()?;
    m.add_function(wrap_pyfunction!(errors::_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    Ok(())
}
