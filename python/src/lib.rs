//! `learnable_scattering._native`: the crate's cascade for Python.
//!
//! A thin layer over [`learnable_scattering::cascade::Scattering2dPlan`] and
//! [`learnable_scattering::filters::parametrization`]: the cascade, its adjoint, the
//! filter-parameter gradient and the expansion of trained values all run in the crate (one
//! engine); this module only converts arrays, releases the GIL while the engine runs on its
//! thread pool, and turns errors and panics into Python exceptions. The Python package
//! (`learnable_scattering.numpy`, `.torch`, `.sklearn`) builds the user-facing classes on it.
//!
//! - `errors`: crate errors and panics to Python exceptions, and the call into the engine;
//! - `pool`: the engine's thread pool, one per process (fork-safe), and its thread count;
//! - `bank`: `FilterBankParams` and `WaveletSpectra`, with their prepared spectra;
//! - `plan`: `Scattering2dPlan` and `ScatteringTape`;
//! - `parametrization`: `Parametrization`, the trained values and their expansion.

mod bank;
mod errors;
mod parametrization;
mod plan;
mod pool;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<plan::PyPlan>()?;
    m.add_class::<bank::PyFilterBankParams>()?;
    m.add_class::<bank::PyWaveletSpectra>()?;
    m.add_class::<parametrization::PyParametrization>()?;
    m.add_class::<plan::PyTape>()?;
    m.add_function(wrap_pyfunction!(errors::_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(pool::num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(pool::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(pool::_in_dataloader_worker, m)?)?;
    Ok(())
}
