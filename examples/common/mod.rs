//! Command-line pieces shared by the examples: the device choice ([`DeviceKind`], every example
//! that runs the burn layer), and with feature `train` the grid options and the run-and-report
//! glue of the classification examples (`cifar10`, `kth_tips2`, `fashion_mnist`) and the timing
//! of the cost examples (`cifar10_cost`, `kth_cost`).

#![allow(dead_code, unused_imports)] // each example uses a different part

mod device;
#[cfg(feature = "train")]
mod grid;

pub use device::DeviceKind;
#[cfg(feature = "train")]
pub use grid::*;
