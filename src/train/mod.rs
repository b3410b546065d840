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
pub mod optim;
mod report;
mod validate;

pub use config::{
    FitOptions, HEAD_WEIGHT_DECAY, PAPER_CIFAR10, PAPER_FILTER_LR, PaperSchedule, TrainConfig,
};
pub use error::TrainingError;
pub use eval::evaluate;
pub use fit::fit;
pub use heads::{BasicBlock, Head, HeadConfig, LinearHead, MlpHead, PlainBatchNorm, WrnHead};
pub use model::{Hybrid, HybridConfig, num_trainable_params};
pub use report::{EpochStats, TrainReport};
