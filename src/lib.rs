#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "analysis")]
pub mod analysis;
pub mod cascade;
#[cfg(feature = "data")]
pub mod data;
pub mod error;
#[cfg(feature = "experiment")]
pub mod experiment;
pub mod filters;
pub mod geometry;
#[cfg(feature = "burn")]
pub mod nn;
pub mod npy;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "train")]
pub mod train;
pub mod trajectory;

pub use cascade::Scattering2dPlan;
pub use error::{Result, ScatterError};
pub use filters::{FilterBankParams, MorletParams};
pub use geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};
#[cfg(feature = "burn")]
pub use nn::{MorletFilterBank, Scattering2d, Scattering2dConfig};
