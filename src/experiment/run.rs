//! The loop of an experiment grid: every cell of a [`Grid`] not yet in its [`RunLog`], run and
//! appended as it finishes, and the names of the cells' checkpoints. It serves
//! `train::experiment::run_experiment`, hence the feature `train`.

use std::path::Path;

use super::grid::{Cell, Grid, RunRecord};
use super::runlog::RunLog;
use crate::error::Result;

impl Grid {
    /// Every cell, seeds outermost (an interrupted grid has every setting for its first seeds),
    /// then sizes, heads, inits, learnable/fixed.
    pub(crate) fn cells(&self) -> Vec<Cell> {
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

/// Runs every cell of `grid` with `run`, appending each record as one JSON line to `results`
/// (a [`RunLog`], created if missing). Cells already recorded there are skipped, so an
/// interrupted grid resumes where it stopped. Returns all records of the grid's cells (old and
/// new), in grid order.
///
/// # Errors
/// Whatever `run` returns, and the errors of [`RunLog::open`] and [`RunLog::append`].
pub(crate) fn run_grid(
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
pub(crate) fn cell_slug(cell: &Cell) -> String {
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
    use crate::experiment::HeadKind;
    use crate::filters::InitKind;

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
