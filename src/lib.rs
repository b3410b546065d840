#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod analysis;
pub mod data;
pub mod error;
pub mod fast;
pub mod filters;
pub mod geometry;
#[cfg(feature = "burn")]
pub mod nn;
pub mod npy;
#[cfg(feature = "burn")]
pub mod train;

pub use error::{Result, ScatterError};
pub use filters::{FilterBankParams, MorletParams};
pub use geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};
