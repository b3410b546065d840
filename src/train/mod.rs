//! Small-sample classification on scattering features: heads, the hybrid model, the paper's
//! optimiser and schedule, the training loop with checkpoints, and the experiment grid.
//!
//! ```text
//! HybridConfig ──init(&device)──▶ Hybrid = Scattering2d ─▶ [B, C·K, H/2^J, W/2^J] ─▶ Head ─▶ logits
//! fit(model, &train, &test, &TrainConfig, &FitOptions) ─▶ (trained model, TrainReport)
//! ```

pub mod baseline;
pub mod checkpoint;
mod config;
mod error;
mod eval;
pub mod experiment;
mod fit;
mod heads;
mod model;
mod optim;
mod report;
mod validate;

pub use config::{FitOptions, TrainConfig};
pub use error::TrainingError;
pub use eval::evaluate;
pub use fit::fit;
pub use heads::HeadConfig;
pub use model::{Hybrid, HybridConfig};
pub use report::{EpochStats, TrainReport};
