//! The experiment grid: its axes ([`Grid`]), one training run of it ([`Cell`]), what a run
//! records ([`RunRecord`]), and the loop that runs the cells not yet in a [`RunLog`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::runlog::RunLog;
use crate::error::Result;
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
    pub const ALL: [HeadKind; 3] = [HeadKind::Linear, HeadKind::Wrn, HeadKind::Mlp];

    /// `linear`, `wrn` or `mlp`.
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Linear => "linear",
            HeadKind::Wrn => "wrn",
            HeadKind::Mlp => "mlp",
        }
    }

    /// The suffix of the paper's row labels: `LL` for the linear head, else the name in capitals.
    pub fn label(self) -> &'static str {
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

/// The grid's axes; [`Grid::cells`] enumerates their product.
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

impl Grid {
    /// Every cell, seeds outermost (an interrupted grid has every setting for its first seeds),
    /// then sizes, heads, inits, learnable/fixed.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for &seed in &self.seeds {
            for &train_size in &self.train_sizes {
                for &head in &self.heads {
                    for &init in &self.inits {
                        for &learnable in &self.learnable {
                            cells.push(Cell {
                                learnable,
                                init,
                                head,
                                train_size,
                                seed,
                            });
                        }
                    }
                }
            }
        }
        cells
    }
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

/// Runs every cell of `grid` with `run`, appending each record as one JSON line to `results`
/// (a [`RunLog`], created if missing). Cells already recorded there are skipped, so an
/// interrupted grid resumes where it stopped. Returns all records of the grid's cells (old and
/// new), in grid order.
///
/// # Errors
/// Whatever `run` returns, and the errors of [`RunLog::open`] and [`RunLog::append`].
pub fn run_grid(
    grid: &Grid,
    results: &Path,
    mut run: impl FnMut(&Cell) -> Result<RunRecord>,
) -> Result<Vec<RunRecord>> {
    let mut log = RunLog::<RunRecord>::open(results)?;
    let mut out = Vec::new();
    for cell in grid.cells() {
        // The last record of a cell counts (as when the records were a map from cell to record).
        if let Some(record) = log.records().iter().rev().find(|r| r.cell == cell) {
            out.push(record.clone());
            continue;
        }
        let record = run(&cell)?;
        out.push(log.append(record)?.clone());
    }
    Ok(out)
}

/// Directory name of a cell's checkpoint, e.g. `linear-TF-LS-n100-seed491659600`.
pub fn cell_slug(cell: &Cell) -> String {
    format!(
        "{}-{}-{}-n{}-seed{}",
        cell.head,
        cell.init.label(),
        if cell.learnable { "LS" } else { "S" },
        cell.train_size,
        cell.seed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScatterError;

    #[test]
    fn grid_enumerates_the_product() {
        let grid = Grid {
            learnable: vec![true, false],
            inits: vec![InitKind::TightFrame, InitKind::Random],
            heads: vec![HeadKind::Linear],
            train_sizes: vec![100, 500],
            seeds: vec![1, 2, 3],
        };
        let cells = grid.cells();
        assert_eq!(cells.len(), 2 * 2 * 2 * 3);
        let unique: std::collections::HashSet<_> = cells.iter().collect();
        assert_eq!(unique.len(), cells.len());
    }

    #[test]
    fn run_grid_resumes_from_its_results_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("grid.jsonl");
        let grid = Grid {
            learnable: vec![true, false],
            inits: vec![InitKind::TightFrame],
            heads: vec![HeadKind::Linear],
            train_sizes: vec![10],
            seeds: vec![1, 2],
        };
        let mut calls = 0;
        let mut fail_after = 2;
        let run = |cell: &Cell, calls: &mut usize, fail_after: &mut usize| {
            if *calls == *fail_after {
                return Err(ScatterError::InvalidParameter {
                    name: "cell",
                    value: format!("{cell:?}"),
                    reason: "interrupted",
                });
            }
            *calls += 1;
            Ok(RunRecord {
                cell: cell.clone(),
                test_accuracy: 0.5,
                final_train_loss: 1.0,
                epochs: 1,
                wall_seconds: 0.0,
                final_train_accuracy: None,
                test_curve: vec![],
                initial_bank: None,
                final_bank: None,
                final_aliasing: None,
            })
        };
        assert!(run_grid(&grid, &path, |c| run(c, &mut calls, &mut fail_after)).is_err());
        assert_eq!(calls, 2);
        fail_after = usize::MAX;
        let all = run_grid(&grid, &path, |c| run(c, &mut calls, &mut fail_after)).unwrap();
        assert_eq!(calls, 4, "the two recorded cells are not run again");
        assert_eq!(all.len(), 4);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    }
}
