//! Command-line pieces shared by the examples: the backend choice ([`Backend`], every example
//! that runs the burn layer), and with feature `train` the grid options and the run-and-report
//! glue of the classification examples (`cifar10`, `kth_tips2`, `fashion_mnist`) and the timing
//! of the cost examples (`cifar10_cost`, `kth_cost`).

#![allow(dead_code, unused_imports)] // each example uses a different part

mod backend;
#[cfg(feature = "train")]
mod grid;

pub use backend::Backend;
#[cfg(feature = "train")]
pub use grid::*;
