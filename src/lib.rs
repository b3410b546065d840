#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "analysis")]
pub mod analysis;
#[cfg(feature = "data")]
pub mod data;
pub mod error;
#[cfg(feature = "experiment")]
pub mod experiment;
pub mod fast;
pub mod filters;
pub mod geometry;
#[cfg(feature = "burn")]
pub mod nn;
pub mod npy;
#[cfg(feature = "train")]
pub mod train;
pub mod trajectory;

pub use error::{Result, ScatterError};
pub use fast::Scattering2dPlan;
pub use filters::{FilterBankParams, MorletParams};
pub use geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};
#[cfg(feature = "burn")]
pub use nn::{MorletFilterBank, MorletFilterBankConfig, Scattering2d, Scattering2dConfig};
