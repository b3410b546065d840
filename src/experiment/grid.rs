//! The experiment grid: its axes ([`Grid`]), one training run of it ([`Cell`]) and what a run
//! records ([`RunRecord`]); the loop over the cells is in `super::run`.

use serde::{Deserialize, Serialize};

use crate::filters::{FilterBankParams, InitKind};

/// The paper's named heads, as they appear in experiment grids, run records and command lines
/// (`linear`, `wrn`, `mlp`); with feature `train`, `HeadKind::config` gives the architecture.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// Batch norm and one linear layer (the paper's `LL`).
    Linear,
    /// The paper's WRN hybrid, `k = 8`, `n = 4` (`HeadConfig::wrn` with feature `train`).
    Wrn,
    /// Batch norm, one hidden layer of 512 with ReLU, the classifier.
    Mlp,
}

impl HeadKind {
    /// Every kind, in the order of the paper's tables.
    pub(crate) const ALL: [HeadKind; 3] = [HeadKind::Linear, HeadKind::Wrn, HeadKind::Mlp];

    /// `linear`, `wrn` or `mlp`.
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Linear => "linear",
            HeadKind::Wrn => "wrn",
            HeadKind::Mlp => "mlp",
        }
    }

    /// The suffix of the paper's row labels: `LL` for the linear head, else the name in capitals.
    pub(crate) fn label(self) -> &'static str {
        match self {
            HeadKind::Linear => "LL",
            HeadKind::Wrn => "WRN",
            HeadKind::Mlp => "MLP",
        }
    }
}

impl std::fmt::Display for HeadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for HeadKind {
    type Err = crate::error::ScatterError;

    fn from_str(name: &str) -> crate::error::Result<Self> {
        HeadKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| crate::error::ScatterError::InvalidParameter {
                name: "head",
                value: name.to_string(),
                reason: "expected linear, wrn or mlp",
            })
    }
}

/// One training run of the grid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// Learnable (`LS`) or fixed (`S`) scattering.
    pub learnable: bool,
    /// Filter initialisation.
    pub init: InitKind,
    /// The head.
    pub head: HeadKind,
    /// Number of training images (class-balanced).
    pub train_size: usize,
    /// Seed of the subset, the filter and head initialisation, and the batch order.
    pub seed: u32,
}

/// The grid's axes; a grid runs every cell of their product (seeds outermost, then sizes,
/// heads, inits, learnable/fixed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Learnable and/or fixed.
    pub learnable: Vec<bool>,
    /// Initialisations.
    pub inits: Vec<InitKind>,
    /// Heads.
    pub heads: Vec<HeadKind>,
    /// Training-set sizes.
    pub train_sizes: Vec<usize>,
    /// Seeds.
    pub seeds: Vec<u32>,
}

/// The outcome of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The cell.
    pub cell: Cell,
    /// Test accuracy after the final epoch, in [0, 1].
    pub test_accuracy: f64,
    /// Mean training loss of the final epoch.
    pub final_train_loss: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Training accuracy of the final epoch (over its batches, in training mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_train_accuracy: Option<f64>,
    /// `(epoch, test accuracy)` at every evaluated epoch (`TrainConfig::eval_every` and the last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_curve: Vec<(usize, f64)>,
    /// The filter bank at initialisation (absent for pixelwise filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_bank: Option<FilterBankParams>,
    /// The filter bank after the final epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_bank: Option<FilterBankParams>,
    /// Aliasing fraction of every wavelet after the final epoch
    /// (`crate::filters::diagnostics::aliased_energy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_aliasing: Option<Vec<f64>>,
}
