//! Filter-bank analysis: pictures, frame bounds, parameter distances and deformation stability.
//!
//! Framework-free (no burn): it reads filter parameters ([`FilterBankParams`], or a training
//! checkpoint's [`FilterTrajectory`](crate::trajectory::FilterTrajectory)) and uses the cascade for
//! scattering.
//!
//! The public surface is small: [`render_all`] draws everything below into one directory (example
//! `inspect_filters`) and returns what it computed ([`Inspection`]); [`diagnostics_table`] and
//! [`learning_curve`] summarise an experiment's run records (example `fashion_study`);
//! [`load_gray`] reads a picture as grey levels (example `textures`). Inside, one room per
//! concern:
//!
//! - `mosaic`: every wavelet of a bank as a PNG mosaic of tiles (spatial real and imaginary
//!   parts, Fourier modulus, `σ, ξ, θ, γ` per tile).
//! - `littlewood_paley`: Littlewood–Paley sums as heat maps, and frame bounds of any bank
//!   ([`FrameBounds`]).
//! - `trajectory`: line plots of the per-epoch parameters recorded by training
//!   ([`FilterTrajectory`](crate::trajectory::FilterTrajectory)).
//! - `distance`: parameter distance between banks after an optimal (Hungarian) matching
//!   ([`BankDistance`]).
//! - `runs`: diagnostics of an experiment's run records (filter movement, aliasing, frame
//!   bounds, learning curves).
//! - `warp`, `deformation`: warps ([`Deformation`]) and `‖S(x) − S(τx)‖ / ‖S(x)‖` curves against
//!   deformation strength ([`StabilityCurve`]).
//! - `inspection`: all of the above into one directory ([`render_all`]).
//! - `render`, `plot`: colour maps, an RGB canvas with text (embedded font, no system font
//!   needed), line plots, PNG output.
//!
//! ```no_run
//! use learnable_scattering::analysis::{InspectionOptions, render_all};
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! let inspection = render_all(&InspectionOptions::new("/tmp/inspect", "examples/data"))?;
//! let tf = inspection.bounds_of("tight_frame").unwrap();
//! println!("tight frame: A = {}, B = {}", tf.symmetric.lower, tf.symmetric.upper);
//! # Ok(()) }
//! ```
//!
//! [`FilterBankParams`]: crate::FilterBankParams

mod deformation;
mod distance;
mod error;
mod inspection;
mod littlewood_paley;
mod mosaic;
mod plot;
mod render;
mod runs;
mod trajectory;
mod warp;

pub use deformation::StabilityCurve;
pub use distance::BankDistance;
pub use error::RenderError;
pub use inspection::{
    DeformationOptions, Inspection, InspectionOptions, NamedBank, WrittenFile, render_all,
};
pub use littlewood_paley::{Bounds, FrameBounds};
pub use runs::{diagnostics_table, learning_curve};
pub use warp::{Deformation, load_gray};
