//! What training produces: per-epoch [`EpochStats`] and the run's [`TrainReport`] (plain data,
//! written by the training loop and recorded in checkpoints), and the report's one warning: a
//! wavelet that starts to alias during training.

use serde::{Deserialize, Serialize};

use crate::filters::diagnostics::ALIASING_WARNING;
use crate::trajectory::{FilterTrajectory, TrajectoryPoint};

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

/// A warning when a wavelet of `point` aliases more than [`ALIASING_WARNING`] of its energy while
/// it did not at the start of the trajectory (kymatio's own `L = 1` frame starts above it).
pub(super) fn aliasing_warning(
    trajectory: &FilterTrajectory,
    point: &TrajectoryPoint,
) -> Option<String> {
    let start = trajectory.points.first()?.aliasing.as_ref()?;
    let now = point.aliasing.as_ref()?;
    let (n, fraction) = now.iter().enumerate().find(|&(n, &f)| {
        f > ALIASING_WARNING && start.get(n).is_some_and(|&s| s <= ALIASING_WARNING)
    })?;
    let big_l = point.bank.num_orientations();
    Some(format!(
        "warning: after epoch {}, wavelet {n} (j = {}, l = {}) aliases {:.0} % of its spectral energy \
         (more than {:.0} %, from {:.0} % at the start): learning moved it out of the band its \
         scale keeps (see MorletFilterBank::aliasing, aliasing_penalty); reported once per run",
        point.epoch,
        n / big_l,
        n % big_l,
        100.0 * fraction,
        100.0 * ALIASING_WARNING,
        100.0 * start[n],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: usize, aliasing: Vec<f64>) -> TrajectoryPoint {
        TrajectoryPoint {
            epoch,
            bank: crate::filters::FilterBankParams::tight_frame(1, 3).unwrap(),
            aliasing: Some(aliasing),
        }
    }

    #[test]
    fn aliasing_warns_when_a_wavelet_crosses_the_level() {
        let trajectory = FilterTrajectory {
            points: vec![point(0, vec![0.1, 0.2, 0.7])],
        };
        // Wavelet 2 started above the level: not a crossing.
        assert_eq!(
            aliasing_warning(&trajectory, &point(1, vec![0.1, 0.3, 0.9])),
            None
        );
        let w = aliasing_warning(&trajectory, &point(2, vec![0.1, 0.6, 0.9])).unwrap();
        assert!(
            w.contains("epoch 2, wavelet 1 (j = 0, l = 1) aliases 60 %"),
            "{w}"
        );
        // Nothing recorded at the start: nothing to compare with.
        let bare = FilterTrajectory {
            points: vec![TrajectoryPoint {
                aliasing: None,
                ..point(0, vec![])
            }],
        };
        assert_eq!(
            aliasing_warning(&bare, &point(1, vec![0.9, 0.9, 0.9])),
            None
        );
    }
}
