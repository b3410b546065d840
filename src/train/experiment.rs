//! Running the experiment grid ([`crate::experiment`]) with [`fit`]: per cell, the paper's
//! class-balanced subset, a model seeded by the cell, a checkpoint to resume an interrupted cell,
//! and one [`RunRecord`] appended to the run log; then the summary tables.

use std::path::Path;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::{FitOptions, HybridConfig, TrainConfig, fit};
use crate::data::ImageDataset;
use crate::data::sampler::balanced_subset;
use crate::error::{Result, io_error};
use crate::experiment::{
    Cell, Grid, PaperDataset, RunRecord, SummaryRow, cell_slug, run_grid, summarize,
    write_summaries,
};
use crate::nn::{Scattering2dConfig, Trainable};

/// What an experiment trains: the grid and the scattering shared by its cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSpec {
    /// The cells to run.
    pub grid: Grid,
    /// Number of scales `J`.
    pub num_scales: usize,
    /// Number of orientations `L`.
    pub num_orientations: usize,
    /// The model's input size `[height, width]` (after any crop of the data pipeline).
    pub input_size: [usize; 2],
    /// Which of the paper's tables to put beside ours.
    pub dataset: PaperDataset,
    /// Keep each cell's final checkpoint under `out/checkpoints/` (for `inspect_filters`).
    pub keep_checkpoints: bool,
}

/// Runs the experiment: for every cell, the paper's class-balanced subset of `train` of the cell's
/// size and seed (the whole set when the size equals its length), a model built on `device`
/// (an autodiff device) with the cell's seed (`device.seed`, and the random filter bank's seed),
/// the training configuration `config_for(cell)` (its `seed` is set to the cell's), and the test
/// accuracy on all of `test` after the final epoch.
///
/// Writes into `out`: `runs.jsonl` (one record per finished cell; rerunning skips them, and an
/// interrupted cell resumes from its checkpoint), `summary.md`, `summary.csv`, `summary.json`, and
/// with `keep_checkpoints` each cell's checkpoint under `checkpoints/<cell_slug>`.
///
/// # Errors
/// A cell's subset cannot be drawn ([`crate::data::sampler::balanced_subset`]), training fails ([`fit`]), or I/O on `out`.
pub fn run_experiment(
    spec: &ExperimentSpec,
    train: &ImageDataset,
    test: &ImageDataset,
    device: &Device,
    out: &Path,
    config_for: impl Fn(&Cell) -> TrainConfig,
    progress: bool,
) -> Result<Vec<SummaryRow>> {
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    let records = run_grid(&spec.grid, &out.join("runs.jsonl"), |cell| {
        let subset = if cell.train_size == train.len() {
            train.clone()
        } else {
            let idx = balanced_subset(
                &train.labels,
                train.num_classes(),
                cell.train_size,
                cell.seed,
            )?;
            train.select(&idx)
        };
        let init = cell.init.filter_init(u64::from(cell.seed));
        let scattering = Scattering2dConfig::new(spec.num_scales, spec.input_size)
            .with_num_orientations(spec.num_orientations)
            .with_init(init)
            .with_trainable(if cell.learnable {
                Trainable::all()
            } else {
                Trainable::none()
            });
        device.seed(u64::from(cell.seed));
        let model = HybridConfig::new(scattering, train.channels(), train.num_classes())
            .with_head(cell.head.config())
            .init(device);
        let mut config = config_for(cell);
        config.seed = u64::from(cell.seed);
        let checkpoint = out.join("checkpoints").join(cell_slug(cell));
        if progress {
            eprintln!(
                "{} ({} images, {} epochs)",
                cell_slug(cell),
                subset.len(),
                config.epochs
            );
        }
        let options = FitOptions {
            checkpoint_dir: Some(checkpoint.clone()),
            resume: true,
            progress,
            ..FitOptions::default()
        };
        let (_, report) = fit(model, &subset, test, &config, &options)?;
        if !spec.keep_checkpoints {
            // Only the checkpoint's own files: anything else in the folder stays.
            super::checkpoint::remove_checkpoint(&checkpoint)?;
        }
        let trajectory = &report.trajectory;
        Ok(RunRecord {
            cell: cell.clone(),
            test_accuracy: report.final_test_accuracy,
            final_train_loss: report.history.last().map_or(f64::NAN, |s| s.train_loss),
            epochs: report.history.len(),
            wall_seconds: report.wall_seconds,
            final_train_accuracy: report.history.last().map(|s| s.train_accuracy),
            test_curve: report
                .history
                .iter()
                .filter_map(|s| s.test_accuracy.map(|a| (s.epoch, a)))
                .collect(),
            initial_bank: trajectory.first().cloned(),
            final_bank: trajectory.last().cloned(),
            final_aliasing: trajectory.points.last().and_then(|p| p.aliasing.clone()),
        })
    })?;
    let rows = summarize(&records, spec.dataset);
    write_summaries(out, &rows)?;
    Ok(rows)
}
