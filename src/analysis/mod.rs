//! Filter-bank analysis: pictures, frame bounds, parameter distances and deformation stability.
//!
//! Framework-free (no burn): it reads filter parameters ([`FilterBankParams`], or a training
//! checkpoint's [`FilterTrajectory`](crate::trajectory::FilterTrajectory)) and uses the fast path for
//! scattering.
//!
//! - [`filter_grid`]: every wavelet of a bank as a PNG tile grid (spatial real and imaginary
//!   parts, Fourier modulus, `σ, ξ, θ, γ` per tile).
//! - [`littlewood_paley`]: Littlewood–Paley sums as heat maps, and frame bounds of any bank.
//! - [`trajectory`]: line plots of the per-epoch parameters recorded by training
//!   ([`FilterTrajectory`](crate::trajectory::FilterTrajectory)).
//! - [`distance`]: parameter distance between banks after an optimal (Hungarian) matching.
//! - [`runs`]: diagnostics of an experiment's run records (filter movement, aliasing, frame
//!   bounds, learning curves).
//! - [`deformation`]: warps and `‖S(x) − S(τx)‖ / ‖S(x)‖` curves against deformation strength.
//! - [`report`]: all of the above into one directory ([`report::render_all`], example
//!   `inspect_filters`).
//! - `render` (crate-internal), [`plot`]: colour maps, an RGB canvas with text (embedded font, no system font
//!   needed), line plots, PNG output.
//!
//! ```no_run
//! use learnable_scattering::analysis::report::{ReportOptions, render_all};
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! let report = render_all(&ReportOptions::new("/tmp/inspect", "examples/data"))?;
//! let tf = report.bounds_of("tight_frame").unwrap();
//! println!("tight frame: A = {}, B = {}", tf.symmetric.lower, tf.symmetric.upper);
//! # Ok(()) }
//! ```
//!
//! [`FilterBankParams`]: crate::FilterBankParams

pub mod deformation;
pub mod distance;
pub mod filter_grid;
pub mod littlewood_paley;
pub mod plot;
mod render;
pub mod report;
pub mod runs;
pub mod trajectory;

pub use distance::{BankDistance, bank_distance, filter_distance};
pub use littlewood_paley::{FrameBounds, LittlewoodPaley};
