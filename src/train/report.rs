//! What training produces: per-epoch [`EpochStats`] and the run's [`TrainReport`]. Plain data,
//! written by the training loop and recorded in checkpoints.

use serde::{Deserialize, Serialize};

use crate::filters::trajectory::FilterTrajectory;

/// Statistics of one finished epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training cross-entropy over the epoch's samples.
    pub train_loss: f64,
    /// Training accuracy over the epoch (augmented samples, training-mode batch norm), in [0, 1].
    pub train_accuracy: f64,
    /// Test accuracy after this epoch, when it was evaluated.
    pub test_accuracy: Option<f64>,
    /// Test cross-entropy after this epoch, when it was evaluated.
    pub test_loss: Option<f64>,
}

/// What a training run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Per-epoch statistics, from epoch 1 (including epochs run before a resume).
    pub history: Vec<EpochStats>,
    /// Test accuracy after the final epoch (the paper's metric).
    pub final_test_accuracy: f64,
    /// Filter parameters at initialisation and after every epoch (empty for pixelwise filters).
    pub trajectory: FilterTrajectory,
    /// Wall time of this call, in seconds (a resumed run counts only its own part).
    pub wall_seconds: f64,
    /// Warnings raised while training, each also printed above the progress bar: at most one,
    /// when a wavelet starts aliasing more than
    /// [`ALIASING_WARNING`](crate::filters::diagnostics::ALIASING_WARNING) of its energy.
    #[serde(default)]
    pub warnings: Vec<String>,
}
