//! The engine's threads: one rayon pool per process, made again after a `fork()`.
//!
//! rayon's global pool cannot be used in a forked child once the parent has started it: the
//! child inherits the pool's state but none of its threads, and its first parallel call waits
//! forever (rayon-rs/rayon#708). PyTorch's `DataLoader` workers, `multiprocessing`'s "fork"
//! context and gunicorn-style pre-fork servers all fork. So the engine runs on a pool of its own,
//! owned by the process id that built it: a call from another process (a forked child) builds a
//! new pool there, and the parent's handle, whose threads do not exist in the child, is leaked
//! rather than dropped (dropping it would signal and join threads that are gone).
//!
//! Thread count, first that applies: [`set_num_threads`] (in this process or, inherited, in its
//! parent before the fork); one thread in a PyTorch `DataLoader` worker (the frontends call
//! `_in_dataloader_worker`, as PyTorch itself sets `torch.set_num_threads(1)` there), so that
//! `num_workers` workers do not each start one thread per core; the `RAYON_NUM_THREADS`
//! environment variable; the CPUs this process may run on (`std::thread::available_parallelism`,
//! which follows `sched_getaffinity` and cgroup quotas).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// Threads asked for by `set_num_threads`; 0 for none.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);
/// Set in a PyTorch `DataLoader` worker: one thread unless `set_num_threads` says otherwise.
static IN_WORKER: AtomicBool = AtomicBool::new(false);

/// The pool of the process that built it, and the thread count it was built for (0: rayon's
/// default).
struct Owned {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<Owned>> = Mutex::new(None);

/// Threads the next pool is built with; 0 leaves the choice to rayon (`RAYON_NUM_THREADS`, else
/// `available_parallelism`).
fn requested() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 if IN_WORKER.load(Ordering::Relaxed) => 1,
        n => n,
    }
}

/// This process's pool, built on first use, after a fork, or after the thread count changed.
///
/// # Errors
/// `RuntimeError` when the threads cannot be started (for example under a tight address-space
/// limit: each thread maps its stack).
pub(crate) fn pool() -> PyResult<Arc<ThreadPool>> {
    let pid = std::process::id();
    let threads = requested();
    {
        let mut owned = POOL.lock().unwrap_or_else(|e| e.into_inner());
        match owned.take() {
            Some(o) if o.pid == pid && o.threads == threads => {
                let pool = Arc::clone(&o.pool);
                *owned = Some(o);
                return Ok(pool);
            }
            // Forked: the parent's threads are not in this process.
            Some(o) if o.pid != pid => std::mem::forget(o.pool),
            // Another thread count: the old pool ends when its last running call returns.
            Some(o) => drop(o),
            None => {}
        }
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("learnable-scattering-{i}"))
        .build()
        .map_err(|e| {
            let count = if threads == 0 {
                "the default number of".to_string()
            } else {
                threads.to_string()
            };
            PyRuntimeError::new_err(format!(
                "learnable_scattering cannot start {count} threads: {e}"
            ))
        })?;
    let pool = Arc::new(pool);
    let mut owned = POOL.lock().unwrap_or_else(|e| e.into_inner());
    *owned = Some(Owned {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    Ok(pool)
}

/// The number of threads the engine runs on in this process (its pool is started if it was
/// not).
#[pyfunction]
pub(crate) fn num_threads() -> PyResult<usize> {
    Ok(pool()?.current_num_threads())
}

/// Sets the number of threads of the engine in this process (and in processes forked from it
/// afterwards); `None` goes back to the default (`RAYON_NUM_THREADS`, else the CPUs this process
/// may run on; one in a PyTorch `DataLoader` worker). `ValueError` for 0.
#[pyfunction]
#[pyo3(signature = (n))]
pub(crate) fn set_num_threads(n: Option<usize>) -> PyResult<()> {
    match n {
        Some(0) => Err(PyValueError::new_err(
            "set_num_threads expects at least 1 thread (or None for the default), got 0",
        )),
        Some(n) => {
            REQUESTED.store(n, Ordering::Relaxed);
            Ok(())
        }
        None => {
            REQUESTED.store(0, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// Marks this process as a PyTorch `DataLoader` worker: one thread by default (called by the
/// frontends when `torch.utils.data.get_worker_info()` is set).
#[pyfunction]
pub(crate) fn _in_dataloader_worker() {
    IN_WORKER.store(true, Ordering::Relaxed);
}
