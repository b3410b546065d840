//! How to train: [`TrainConfig`] (optimiser, schedule, data pipeline, evaluation and checkpoint
//! cadence, with the paper's presets) and [`FitOptions`] (where and how [`super::fit`] reports and
//! saves). Plain data, read by the training loop and recorded in checkpoints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::augment::{Augmentation, Normalization};
use crate::error::Result;
use crate::experiment::HeadKind;
use crate::train::TrainingError;

/// Weight decay of the head parameters (paper §3.2); the filters get none.
pub(crate) const HEAD_WEIGHT_DECAY: f64 = 5e-4;

/// Peak learning rate of the filters in every experiment of the paper.
pub(crate) const PAPER_FILTER_LR: f64 = 0.1;

/// One line of the paper's CIFAR-10 schedule ([`PAPER_CIFAR10`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PaperSchedule {
    /// The head.
    pub head: HeadKind,
    /// The line applies to training sets of at most this many images (after the previous line).
    pub up_to: usize,
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Peak learning rate of the head.
    pub head_max_lr: f64,
}

/// The paper's CIFAR-10 schedules (the reference code's `experiments/cifar/**` scripts,
/// bentherien/parametricScatteringNetworks), by head and training-set size:
///
/// | head | ≤ 100 | ≤ 500 | ≤ 1000 | more |
/// |---|---|---|---|---|
/// | linear | 5000 ep, bs 128, lr 0.06 | 1000, 500, 0.13 | 500, 1000, 0.2 | 500, 1024, 0.2 |
/// | wrn | 3000, 128, 0.1 | 2000, 128, 0.1 | 1000, 128, 0.1 | 500, 1024, 0.1 |
///
/// The MLP head, which the paper did not publish, takes the linear head's lines.
pub(crate) const PAPER_CIFAR10: &[PaperSchedule] = &{
    const fn s(
        head: HeadKind,
        up_to: usize,
        epochs: usize,
        batch_size: usize,
        lr: f64,
    ) -> PaperSchedule {
        PaperSchedule {
            head,
            up_to,
            epochs,
            batch_size,
            head_max_lr: lr,
        }
    }
    use HeadKind::{Linear, Mlp, Wrn};
    [
        s(Linear, 100, 5000, 128, 0.06),
        s(Linear, 500, 1000, 500, 0.13),
        s(Linear, 1000, 500, 1000, 0.2),
        s(Linear, usize::MAX, 500, 1024, 0.2),
        s(Wrn, 100, 3000, 128, 0.1),
        s(Wrn, 500, 2000, 128, 0.1),
        s(Wrn, 1000, 1000, 128, 0.1),
        s(Wrn, usize::MAX, 500, 1024, 0.1),
        s(Mlp, 100, 5000, 128, 0.06),
        s(Mlp, 500, 1000, 500, 0.13),
        s(Mlp, 1000, 500, 1000, 0.2),
        s(Mlp, usize::MAX, 500, 1024, 0.2),
    ]
};

/// How to train: optimiser, schedule, data pipeline, evaluation and checkpoint cadence.
///
/// Defaults for the paper's settings come from [`TrainConfig::paper_cifar10`] and
/// [`TrainConfig::paper_kth`]; any field can be changed afterwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Number of epochs; the reported accuracy is the test accuracy after the last one.
    pub epochs: usize,
    /// Mini-batch size (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Peak learning rate of the head (PyTorch `OneCycleLR` `max_lr`).
    pub head_max_lr: f64,
    /// Peak learning rate of the filter parameters (see `OneCycle::with_peak`).
    pub filter_lr: f64,
    /// Weight decay of the head (the filters always get 0).
    pub weight_decay: f64,
    /// Seed of the batch order and the augmentation (the model's own initialisation is seeded by
    /// whoever builds it).
    pub seed: u64,
    /// Training-time augmentation.
    pub augmentation: Augmentation,
    /// Test-time transform (for example a centre crop).
    pub test_augmentation: Augmentation,
    /// Per-channel normalisation applied to every image.
    pub normalization: Normalization,
    /// Evaluate on the test set every this many epochs (the paper: 25); the last epoch always is.
    pub eval_every: Option<usize>,
    /// Batch size for evaluation and feature caching.
    pub eval_batch_size: usize,
    /// Write a checkpoint every this many epochs (and after the last one) when a checkpoint
    /// directory is given.
    pub checkpoint_every: usize,
}

impl TrainConfig {
    /// A configuration with the paper's optimiser constants and no augmentation.
    pub fn new(epochs: usize, batch_size: usize, head_max_lr: f64, filter_lr: f64) -> Self {
        Self {
            epochs,
            batch_size,
            head_max_lr,
            filter_lr,
            weight_decay: HEAD_WEIGHT_DECAY,
            seed: 0,
            augmentation: Augmentation::default(),
            test_augmentation: Augmentation::default(),
            normalization: Normalization::identity(1),
            eval_every: None,
            eval_batch_size: 256,
            checkpoint_every: 1,
        }
    }

    /// The paper's CIFAR-10 setting for `head` and a training-set size (`PAPER_CIFAR10`):
    /// epochs, batch size and learning rates, CIFAR normalisation, random crop 32 with padding 4,
    /// horizontal flip and 16-pixel cutout (the reference code also applies AutoAugment, which
    /// this crate does not implement); evaluation every 25 epochs.
    pub fn paper_cifar10(head: HeadKind, train_size: usize) -> Self {
        let s = PAPER_CIFAR10
            .iter()
            .find(|s| s.head == head && train_size <= s.up_to)
            .or_else(|| PAPER_CIFAR10.iter().rev().find(|s| s.head == head))
            .unwrap_or(&PAPER_CIFAR10[0]);
        let mut config = Self::new(s.epochs, s.batch_size, s.head_max_lr, PAPER_FILTER_LR);
        config.normalization = Normalization::cifar10();
        config.augmentation = Augmentation::cifar10_train();
        config.eval_every = Some(25);
        config
    }

    /// The paper's KTH-TIPS2-b setting: linear 100 epochs, WRN 50, batch 128, head learning rate
    /// 0.001, filter rate 0.1, ImageNet normalisation, random crop 128 and flip for training,
    /// centre crop 128 for testing (the reference's ±10° rotation is not implemented).
    pub fn paper_kth(head: HeadKind) -> Self {
        let epochs = if head == HeadKind::Wrn { 50 } else { 100 };
        let mut config = Self::new(epochs, 128, 0.001, PAPER_FILTER_LR);
        config.normalization = Normalization::imagenet();
        config.augmentation = Augmentation::kth_train();
        config.test_augmentation = Augmentation::kth_test();
        config.eval_every = Some(25);
        config
    }

    pub(super) fn check(&self) -> Result<()> {
        let bad = |name: &str, expected: &'static str, given: String| {
            Err(TrainingError::Setting {
                name: name.to_string(),
                expected,
                given,
            }
            .into())
        };
        let at_least_one = [
            ("epochs", Some(self.epochs)),
            ("batch_size", Some(self.batch_size)),
            ("eval_batch_size", Some(self.eval_batch_size)),
            ("checkpoint_every", Some(self.checkpoint_every)),
            ("eval_every", self.eval_every),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v == Some(0)) {
            return bad(name, "at least 1", "0".into());
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        for (name, rate) in [
            ("head_max_lr", self.head_max_lr),
            ("filter_lr", self.filter_lr),
        ] {
            if !positive(rate) {
                return bad(name, "a finite positive rate", rate.to_string());
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            let given = self.weight_decay.to_string();
            return bad("weight_decay", "finite and non-negative", given);
        }
        let norm = &self.normalization;
        if norm.mean.len() != norm.std.len() {
            return Err(TrainingError::NormalizationLengths {
                means: norm.mean.len(),
                stds: norm.std.len(),
            }
            .into());
        }
        if let Some(c) = norm.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            let name = format!("normalization.std[{c}]");
            return bad(&name, "finite and positive", norm.std[c].to_string());
        }
        if let Some(c) = norm.mean.iter().position(|m| !m.is_finite()) {
            let name = format!("normalization.mean[{c}]");
            return bad(&name, "finite", norm.mean[c].to_string());
        }
        Ok(())
    }
}

/// Where and how [`super::fit`] reports and saves.
#[derive(Clone, Debug, Default)]
pub struct FitOptions {
    /// Directory for checkpoints, one of its own (layout, ownership rules and verification:
    /// [`checkpoint`](super::checkpoint)); none: no checkpoints. It must be new, empty, or hold
    /// a checkpoint of this crate and nothing else (see `overwrite`); `.`, `..` and roots are
    /// refused.
    pub checkpoint_dir: Option<PathBuf>,
    /// Write checkpoints into `checkpoint_dir` even though it holds entries this crate did not
    /// write: files with the checkpoint's names (`state.json`, `model.bpk`, `optim_head.bpk`,
    /// `optim_filters.bpk`, `filters.json`) are replaced, every other entry is left as it is.
    /// Off by default: such a directory is refused before training starts.
    pub overwrite: bool,
    /// Continue from the checkpoint in `checkpoint_dir` when one exists.
    pub resume: bool,
    /// Stop after this many epochs in total (the run can later be resumed); none: all epochs.
    pub stop_after: Option<usize>,
    /// Show a progress bar with loss and accuracy on stderr.
    pub progress: bool,
}
