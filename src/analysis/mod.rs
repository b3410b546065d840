//! Filter-bank analysis: pictures, frame bounds, parameter distances and deformation stability.
//!
//! Framework-free (no burn): it reads filter parameters ([`FilterBankParams`], or a training
//! checkpoint's [`FilterTrajectory`](crate::trajectory::FilterTrajectory)) and uses the cascade for
//! scattering.
//!
//! - [`mosaic`]: every wavelet of a bank as a PNG mosaic of tiles (spatial real and imaginary
//!   parts, Fourier modulus, `σ, ξ, θ, γ` per tile).
//! - [`littlewood_paley`]: Littlewood–Paley sums as heat maps, and frame bounds of any bank.
//! - [`trajectory`]: line plots of the per-epoch parameters recorded by training
//!   ([`FilterTrajectory`](crate::trajectory::FilterTrajectory)).
//! - [`distance`]: parameter distance between banks after an optimal (Hungarian) matching.
//! - [`runs`]: diagnostics of an experiment's run records (filter movement, aliasing, frame
//!   bounds, learning curves).
//! - [`deformation`]: warps and `‖S(x) − S(τx)‖ / ‖S(x)‖` curves against deformation strength.
//! - [`inspection`]: all of the above into one directory ([`inspection::render_all`], example
//!   `inspect_filters`).
//! - `render` (crate-internal), [`plot`]: colour maps, an RGB canvas with text (embedded font, no system font
//!   needed), line plots, PNG output.
//!
//! ```no_run
//! use learnable_scattering::analysis::inspection::{InspectionOptions, render_all};
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! let inspection = render_all(&InspectionOptions::new("/tmp/inspect", "examples/data"))?;
//! let tf = inspection.bounds_of("tight_frame").unwrap();
//! println!("tight frame: A = {}, B = {}", tf.symmetric.lower, tf.symmetric.upper);
//! # Ok(()) }
//! ```
//!
//! [`FilterBankParams`]: crate::FilterBankParams

pub mod deformation;
pub mod distance;
mod error;
pub mod inspection;
pub mod littlewood_paley;
pub mod mosaic;
pub mod plot;
mod render;
pub mod runs;
pub mod trajectory;

pub use distance::{BankDistance, bank_distance, filter_distance};
pub use error::RenderError;
pub use littlewood_paley::{FrameBounds, LittlewoodPaley};
