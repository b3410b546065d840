//! The experiment grid of the paper: {learnable, fixed} × {tight-frame, random init} × heads ×
//! training-set sizes × seeds, run cell by cell (resumable), summarised as mean ± std tables with
//! the paper's numbers beside ours where a row matches.

use crate::error::CheckpointError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use burn::tensor::Device;

use super::HeadKind;
use super::{FitOptions, HybridConfig, TrainConfig, fit};
use crate::data::ImageDataset;
use crate::data::sampler::balanced_subset;
use crate::error::{Result, ScatterError, io_error};
use crate::filters::FilterBankParams;
pub use crate::nn::InitKind;
use crate::nn::{Scattering2dConfig, Trainable};

/// The paper's CIFAR-10 seeds (the reference code's `experiments/cifar/**` scripts,
/// bentherien/parametricScatteringNetworks).
pub const CIFAR10_SEEDS: [u32; 10] = [
    491659600, 207715039, 737523103, 493572006, 827192296, 877498678, 1103100946, 1210393663,
    1277404878, 1377264326,
];
/// The paper's KTH-TIPS2-b seeds (§3.3).
pub const KTH_SEEDS: [u32; 4] = [1390666426, 432857963, 1378328753, 1118756524];

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
    /// ([`crate::filters::diagnostics::aliased_energy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_aliasing: Option<Vec<f64>>,
}

/// Runs every cell of `grid` with `run`, appending each record as one JSON line to `results`
/// (created if missing). Cells already recorded there are skipped, so an interrupted grid resumes
/// where it stopped. Returns all records of the grid's cells (old and new), in grid order.
///
/// # Errors
/// Whatever `run` returns, and I/O errors on `results`.
pub fn run_grid(
    grid: &Grid,
    results: &Path,
    mut run: impl FnMut(&Cell) -> Result<RunRecord>,
) -> Result<Vec<RunRecord>> {
    let mut done: BTreeMap<String, RunRecord> = BTreeMap::new();
    if results.exists() {
        for record in read_run_records(results)? {
            done.insert(cell_key(&record.cell), record);
        }
    }
    if let Some(parent) = results.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let mut out = Vec::new();
    for cell in grid.cells() {
        let key = cell_key(&cell);
        if let Some(record) = done.get(&key) {
            out.push(record.clone());
            continue;
        }
        let record = run(&cell)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(results)
            .map_err(io_error(results))?;
        let line = serde_json::to_string(&record).expect("records serialise");
        writeln!(file, "{line}").map_err(io_error(results))?;
        done.insert(key, record.clone());
        out.push(record);
    }
    Ok(out)
}

/// The records of a `runs.jsonl` file written by [`run_grid`] (blank lines skipped), for example
/// to summarise several partial grids concatenated into one file.
///
/// # Errors
/// [`ScatterError::Io`] if the file cannot be read; [`CheckpointError::Invalid`] naming the file
/// and line for a line that is not a record.
pub fn read_run_records(path: &Path) -> Result<Vec<RunRecord>> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| {
                ScatterError::Checkpoint(CheckpointError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("line {}: {e}", n + 1),
                })
            })
        })
        .collect()
}

fn cell_key(cell: &Cell) -> String {
    serde_json::to_string(cell).expect("cells serialise")
}

/// The data set a table is about, to look up the paper's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaperDataset {
    /// CIFAR-10, J = 2 (§4.1).
    Cifar10,
    /// KTH-TIPS2-b (§4.2; one physical sample for training, 1188 images).
    KthTips2,
    /// A data set the paper did not use (no reference numbers).
    Other,
}

/// One published number: test accuracy (mean, ±) in percent for a (data set, init, LS/S, head,
/// training-set size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperResult {
    /// The data set.
    pub dataset: PaperDataset,
    /// Filter initialisation.
    pub init: InitKind,
    /// Learnable (`LS`) or fixed (`S`).
    pub learnable: bool,
    /// The head.
    pub head: HeadKind,
    /// Training images (KTH-TIPS2-b: one physical sample, 1188 images).
    pub train_size: usize,
    /// Mean accuracy, percent.
    pub mean: f64,
    /// The ± of the table, percent.
    pub std: f64,
}

/// The paper's results: the reference code's README tables (bentherien/parametricScatteringNetworks,
/// unchanged since 2021-08-09; PapersWithCode lists the same CIFAR-10 numbers). CIFAR-10 at J = 2
/// with 100, 500 and 1000 images; KTH-TIPS2-b trained on one sample.
pub const PAPER_RESULTS: &[PaperResult] = &{
    use HeadKind::{Linear, Wrn};
    use InitKind::{Random, TightFrame};
    use PaperDataset::{Cifar10, KthTips2};
    const fn r(
        dataset: PaperDataset,
        init: InitKind,
        learnable: bool,
        head: HeadKind,
        train_size: usize,
        mean: f64,
        std: f64,
    ) -> PaperResult {
        PaperResult {
            dataset,
            init,
            learnable,
            head,
            train_size,
            mean,
            std,
        }
    }
    [
        r(Cifar10, TightFrame, true, Linear, 100, 37.84, 0.57),
        r(Cifar10, TightFrame, true, Linear, 500, 52.68, 0.31),
        r(Cifar10, TightFrame, true, Linear, 1000, 57.43, 0.17),
        r(Cifar10, TightFrame, false, Linear, 100, 36.01, 0.55),
        r(Cifar10, TightFrame, false, Linear, 500, 48.12, 0.25),
        r(Cifar10, TightFrame, false, Linear, 1000, 53.25, 0.24),
        r(Cifar10, Random, true, Linear, 100, 34.81, 0.60),
        r(Cifar10, Random, true, Linear, 500, 49.60, 0.39),
        r(Cifar10, Random, true, Linear, 1000, 55.72, 0.39),
        r(Cifar10, Random, false, Linear, 100, 29.77, 0.47),
        r(Cifar10, Random, false, Linear, 500, 41.85, 0.41),
        r(Cifar10, Random, false, Linear, 1000, 46.30, 0.37),
        r(Cifar10, TightFrame, true, Wrn, 100, 43.60, 0.87),
        r(Cifar10, TightFrame, true, Wrn, 500, 63.13, 0.29),
        r(Cifar10, TightFrame, true, Wrn, 1000, 70.14, 0.26),
        r(Cifar10, TightFrame, false, Wrn, 100, 43.16, 0.78),
        r(Cifar10, TightFrame, false, Wrn, 500, 61.66, 0.32),
        r(Cifar10, TightFrame, false, Wrn, 1000, 68.16, 0.27),
        r(Cifar10, Random, true, Wrn, 100, 41.42, 0.65),
        r(Cifar10, Random, true, Wrn, 500, 59.84, 0.40),
        r(Cifar10, Random, true, Wrn, 1000, 67.40, 0.28),
        r(Cifar10, Random, false, Wrn, 100, 32.08, 0.46),
        r(Cifar10, Random, false, Wrn, 500, 46.84, 0.21),
        r(Cifar10, Random, false, Wrn, 1000, 52.76, 0.33),
        r(KthTips2, TightFrame, true, Linear, 1188, 66.83, 0.94),
        r(KthTips2, TightFrame, false, Linear, 1188, 63.91, 0.57),
        r(KthTips2, Random, true, Linear, 1188, 65.98, 0.73),
        r(KthTips2, Random, false, Linear, 1188, 60.42, 0.34),
        r(KthTips2, TightFrame, true, Wrn, 1188, 66.46, 1.09),
        r(KthTips2, TightFrame, false, Wrn, 1188, 63.77, 0.59),
        r(KthTips2, Random, true, Wrn, 1188, 67.35, 0.51),
        r(KthTips2, Random, false, Wrn, 1188, 65.05, 0.38),
    ]
};

/// The paper's result (mean, ±) for a row, in percent ([`PAPER_RESULTS`]); on KTH-TIPS2-b any
/// training-set size matches (the paper trains on one physical sample).
pub fn paper_result(
    dataset: PaperDataset,
    learnable: bool,
    init: InitKind,
    head: HeadKind,
    train_size: usize,
) -> Option<(f64, f64)> {
    PAPER_RESULTS
        .iter()
        .find(|r| {
            r.dataset == dataset
                && r.learnable == learnable
                && r.init == init
                && r.head == head
                && (dataset == PaperDataset::KthTips2 || r.train_size == train_size)
        })
        .map(|r| (r.mean, r.std))
}

/// One row of a results table: the seeds of one (init, learnable, head, size) combination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Filter initialisation.
    pub init: InitKind,
    /// Learnable or fixed scattering.
    pub learnable: bool,
    /// Head name.
    pub head: HeadKind,
    /// Training-set size.
    pub train_size: usize,
    /// Number of seeds.
    pub runs: usize,
    /// Mean test accuracy, percent.
    pub mean: f64,
    /// Sample standard deviation over the seeds (n − 1), percent; 0 for one run.
    pub std: f64,
    /// Mean wall time per run, seconds.
    pub mean_wall_seconds: f64,
    /// The paper's mean and ± for this row, when it has one.
    pub paper: Option<(f64, f64)>,
}

impl SummaryRow {
    /// `TF LS+LL`-style architecture label of the paper's tables.
    pub fn label(&self) -> String {
        format!(
            "{} {}+{}",
            self.init.label(),
            if self.learnable { "LS" } else { "S" },
            self.head.label()
        )
    }
}

/// Groups records by (head, init, learnable, size) and computes mean ± std over seeds.
pub fn summarize(records: &[RunRecord], dataset: PaperDataset) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<(HeadKind, InitKind, bool, usize), Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        let c = &r.cell;
        groups
            .entry((c.head, c.init, !c.learnable, c.train_size))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((head, init, fixed, train_size), runs)| {
            let acc: Vec<f64> = runs.iter().map(|r| 100.0 * r.test_accuracy).collect();
            let n = acc.len() as f64;
            let mean = acc.iter().sum::<f64>() / n;
            let std = if acc.len() > 1 {
                (acc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            SummaryRow {
                paper: paper_result(dataset, !fixed, init, head, train_size),
                init,
                learnable: !fixed,
                head,
                train_size,
                runs: acc.len(),
                mean,
                std,
                mean_wall_seconds: runs.iter().map(|r| r.wall_seconds).sum::<f64>() / n,
            }
        })
        .collect()
}

/// The summary as a Markdown table like the paper's: one row per architecture, one column per
/// training-set size, `mean ± std (runs)`, and the paper's value below when it has one.
pub fn markdown_table(rows: &[SummaryRow]) -> String {
    let mut sizes: Vec<usize> = rows.iter().map(|r| r.train_size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut labels: Vec<String> = Vec::new();
    for r in rows {
        if !labels.contains(&r.label()) {
            labels.push(r.label());
        }
    }
    let mut out = String::from("| init | arch |");
    for s in &sizes {
        let _ = write!(out, " {s} |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(sizes.len()));
    out.push('\n');
    let any_paper = rows.iter().any(|r| r.paper.is_some());
    for label in &labels {
        let (init, arch) = label.split_once(' ').expect("label has a space");
        let _ = write!(out, "| {init} | {arch} |");
        for s in &sizes {
            match rows
                .iter()
                .find(|r| &r.label() == label && r.train_size == *s)
            {
                Some(r) => {
                    let _ = write!(out, " {:.2} ± {:.2} ({}) |", r.mean, r.std, r.runs);
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
        if any_paper {
            let _ = write!(out, "| | *paper* |");
            for s in &sizes {
                match rows
                    .iter()
                    .find(|r| &r.label() == label && r.train_size == *s)
                    .and_then(|r| r.paper)
                {
                    Some((m, pm)) => {
                        let _ = write!(out, " *{m:.2} ± {pm:.2}* |");
                    }
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The summary as CSV (`init,learnable,head,train_size,runs,mean,std,mean_wall_seconds,paper_mean,paper_pm`).
pub fn csv_table(rows: &[SummaryRow]) -> String {
    let mut out = String::from(
        "init,learnable,head,train_size,runs,mean,std,mean_wall_seconds,paper_mean,paper_pm\n",
    );
    for r in rows {
        let (pm, pp) = r.paper.map_or((String::new(), String::new()), |(m, p)| {
            (m.to_string(), p.to_string())
        });
        let _ = writeln!(
            out,
            "{},{},{},{},{},{:.4},{:.4},{:.2},{pm},{pp}",
            r.init.label(),
            r.learnable,
            r.head,
            r.train_size,
            r.runs,
            r.mean,
            r.std,
            r.mean_wall_seconds
        );
    }
    out
}

/// Two-sided 95 % quantiles of Student's t distribution, `t_{0.975, df}` for `df = 1..=30`
/// (standard tables, three decimals); larger `df` use the normal quantile 1.960.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// `t_{0.975, df}` (the table `T_975`).
pub fn t_quantile_975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_975[df - 1],
        _ => 1.960,
    }
}

/// Learnable minus fixed, paired by seed, for one initialisation, head and size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedRow {
    /// Initialisation.
    pub init: InitKind,
    /// Head name.
    pub head: HeadKind,
    /// Training-set size.
    pub train_size: usize,
    /// `(seed, LS accuracy − S accuracy)` in percentage points, for every seed with both runs.
    pub differences: Vec<(u32, f64)>,
    /// Mean difference (points).
    pub mean: f64,
    /// Half-width of the 95 % t-interval of the mean (points); NaN for fewer than two pairs.
    pub half_width: f64,
    /// Pairs where learning the filters gave the higher accuracy.
    pub wins: usize,
}

/// The paired comparison `LS − S` of every (init, head, size) that has both kinds of runs, pairs
/// matched by seed (same subset, same initial filters and head).
pub fn paired_differences(records: &[RunRecord]) -> Vec<PairedRow> {
    // (init, head, size) -> seed -> [S accuracy, LS accuracy]
    type Pairs = BTreeMap<u32, [Option<f64>; 2]>;
    let mut groups: BTreeMap<(InitKind, HeadKind, usize), Pairs> = BTreeMap::new();
    for r in records {
        let c = &r.cell;
        let slot = groups
            .entry((c.init, c.head, c.train_size))
            .or_default()
            .entry(c.seed)
            .or_default();
        slot[usize::from(c.learnable)] = Some(r.test_accuracy);
    }
    groups
        .into_iter()
        .filter_map(|((init, head, train_size), seeds)| {
            let differences: Vec<(u32, f64)> = seeds
                .into_iter()
                .filter_map(|(seed, [s, ls])| Some((seed, 100.0 * (ls? - s?))))
                .collect();
            if differences.is_empty() {
                return None;
            }
            let n = differences.len();
            let mean = differences.iter().map(|d| d.1).sum::<f64>() / n as f64;
            let half_width = if n > 1 {
                let var = differences
                    .iter()
                    .map(|d| (d.1 - mean).powi(2))
                    .sum::<f64>()
                    / (n - 1) as f64;
                t_quantile_975(n - 1) * (var / n as f64).sqrt()
            } else {
                f64::NAN
            };
            let wins = differences.iter().filter(|d| d.1 > 0.0).count();
            Some(PairedRow {
                init,
                head,
                train_size,
                differences,
                mean,
                half_width,
                wins,
            })
        })
        .collect()
}

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

/// Writes `summary.md`, `summary.csv` and `summary.json` into `out`.
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_summaries(out: &Path, rows: &[SummaryRow]) -> Result<()> {
    let files = [
        ("summary.md", markdown_table(rows)),
        ("summary.csv", csv_table(rows)),
        (
            "summary.json",
            serde_json::to_string_pretty(rows).expect("rows serialise"),
        ),
    ];
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(io_error(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(learnable: bool, init: InitKind, size: usize, seed: u32, acc: f64) -> RunRecord {
        RunRecord {
            cell: Cell {
                learnable,
                init,
                head: HeadKind::Linear,
                train_size: size,
                seed,
            },
            test_accuracy: acc,
            final_train_loss: 0.1,
            epochs: 3,
            wall_seconds: 2.0,
            final_train_accuracy: None,
            test_curve: vec![],
            initial_bank: None,
            final_bank: None,
            final_aliasing: None,
        }
    }

    #[test]
    fn paired_differences_match_by_seed() {
        let records = vec![
            record(true, InitKind::TightFrame, 100, 1, 0.70),
            record(false, InitKind::TightFrame, 100, 1, 0.69),
            record(true, InitKind::TightFrame, 100, 2, 0.71),
            record(false, InitKind::TightFrame, 100, 2, 0.73),
            record(true, InitKind::TightFrame, 100, 3, 0.80),
            record(false, InitKind::TightFrame, 100, 3, 0.77),
            // No fixed partner: left out.
            record(true, InitKind::TightFrame, 100, 4, 0.99),
            record(false, InitKind::Random, 500, 1, 0.5),
        ];
        let rows = paired_differences(&records);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        let d: Vec<f64> = r.differences.iter().map(|d| d.1).collect();
        for (a, b) in d.iter().zip([1.0, -2.0, 3.0]) {
            assert!((a - b).abs() < 1e-9);
        }
        assert!((r.mean - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.wins, 2);
        // sd of (1, −2, 3) = 2.5166; t_{0.975, 2} = 4.303; half-width = 4.303·2.5166/√3.
        assert!((r.half_width - 4.303 * 2.516611478423583 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(t_quantile_975(9), 2.262);
    }

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
    fn summary_mean_and_sample_std() {
        let records = vec![
            record(true, InitKind::TightFrame, 100, 1, 0.30),
            record(true, InitKind::TightFrame, 100, 2, 0.40),
            record(true, InitKind::TightFrame, 100, 3, 0.50),
            record(false, InitKind::Random, 500, 1, 0.25),
        ];
        let rows = summarize(&records, PaperDataset::Cifar10);
        assert_eq!(rows.len(), 2);
        let ls = rows.iter().find(|r| r.learnable).unwrap();
        assert!((ls.mean - 40.0).abs() < 1e-9);
        assert!((ls.std - 10.0).abs() < 1e-9); // sample std of 30, 40, 50
        assert_eq!(ls.paper, Some((37.84, 0.57)));
        assert_eq!(ls.label(), "TF LS+LL");
        let s = rows.iter().find(|r| !r.learnable).unwrap();
        assert_eq!((s.runs, s.std), (1, 0.0));
        assert_eq!(s.paper, Some((41.85, 0.41)));
        let md = markdown_table(&rows);
        assert!(
            md.contains("| TF | LS+LL | 40.00 ± 10.00 (3) | – |"),
            "{md}"
        );
        assert!(md.contains("*37.84 ± 0.57*"), "{md}");
        let csv = csv_table(&rows);
        assert_eq!(csv.lines().count(), 3);
        assert!(
            summarize(&records, PaperDataset::Other)
                .iter()
                .all(|r| r.paper.is_none())
        );
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
                return Err(ScatterError::InvalidTraining("interrupted".into()));
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
