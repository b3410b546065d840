//! The grid options every classification example takes, the run-and-report glue around
//! [`learnable_scattering::train::experiment::run_experiment`], and the timing of a short run for
//! the cost examples (`cifar10_cost`, `kth_cost`).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use learnable_scattering::data::ImageDataset;
use learnable_scattering::experiment::{
    Cell, Grid, HeadKind, PaperDataset, RunRecord, SummaryRow, markdown_table, read_jsonl,
    summarize, write_summaries,
};
use learnable_scattering::filters::InitKind;
use learnable_scattering::train::TrainConfig;
use learnable_scattering::train::experiment::{ExperimentSpec, run_experiment};

use super::DeviceKind;

/// Learnable, fixed, or both.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Mode {
    /// Learnable filters (`LS`).
    Learnable,
    /// Fixed filters (`S`).
    Fixed,
    /// Both.
    Both,
}

/// `tf` or `random` ([`InitKind::name`]), listed in `--help`.
fn init_kind() -> impl clap::builder::TypedValueParser<Value = InitKind> {
    use clap::builder::TypedValueParser as _;
    let names = InitKind::ALL.map(InitKind::name);
    clap::builder::PossibleValuesParser::new(names).map(|name| name.parse().expect("listed name"))
}

/// The grid options every classification example takes.
#[derive(Args, Debug)]
pub struct GridArgs {
    /// Training-set sizes (class-balanced subsets), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    pub samples: Vec<usize>,
    /// Number of seeds (the paper's seeds for the data set, in order).
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Explicit seeds, comma-separated (instead of `--seeds`).
    #[arg(long, value_delimiter = ',')]
    pub seed_list: Vec<u32>,
    /// Heads: linear, wrn, mlp (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "linear")]
    pub head: Vec<HeadKind>,
    /// Filter initialisations (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "tf,random", value_parser = init_kind())]
    pub init: Vec<InitKind>,
    /// Learnable or fixed scattering.
    #[arg(long, value_enum, default_value = "both")]
    pub mode: Mode,
    /// Where the burn layer runs (`--device flex|ndarray|wgpu`).
    #[arg(long, value_enum, default_value = "flex")]
    pub device: DeviceKind,
    /// Override the number of epochs of the paper's setting.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override the head's peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Override the filters' peak learning rate.
    #[arg(long)]
    pub filter_lr: Option<f64>,
    /// Override the batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Number of scales J.
    #[arg(long = "j")]
    pub j: Option<usize>,
    /// Number of orientations L.
    #[arg(long = "l", default_value_t = 8)]
    pub l: usize,
    /// Output folder (runs.jsonl, summary tables, checkpoints); rerunning resumes.
    #[arg(long, default_value = "runs")]
    pub out: PathBuf,
    /// Keep every run's final checkpoint (for `inspect_filters --checkpoint`).
    #[arg(long)]
    pub keep_checkpoints: bool,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Train nothing: summarise the runs already recorded in `--out/runs.jsonl` (for example
    /// several partial grids concatenated) into the summary tables.
    #[arg(long)]
    pub summarize_only: bool,
}

impl GridArgs {
    /// The grid, with `default_seeds` (the paper's for the data set) when no list is given.
    pub fn grid(&self, default_seeds: &[u32]) -> Grid {
        let seeds = if self.seed_list.is_empty() {
            default_seeds
                .iter()
                .copied()
                .cycle()
                .take(self.seeds)
                .collect()
        } else {
            self.seed_list.clone()
        };
        Grid {
            learnable: match self.mode {
                Mode::Learnable => vec![true],
                Mode::Fixed => vec![false],
                Mode::Both => vec![true, false],
            },
            inits: self.init.clone(),
            heads: self.head.clone(),
            train_sizes: self.samples.clone(),
            seeds,
        }
    }

    /// Runs `grid` on the chosen backend into `out` (resuming what is recorded there): J from
    /// `--j` or `default_j`, each cell's configuration from `preset` with the command-line
    /// overrides applied.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        grid: Grid,
        default_j: usize,
        input_size: [usize; 2],
        dataset: PaperDataset,
        (train, test): (&ImageDataset, &ImageDataset),
        out: &Path,
        preset: impl Fn(&Cell) -> TrainConfig,
    ) -> Result<Vec<SummaryRow>, Box<dyn std::error::Error>> {
        let spec = ExperimentSpec {
            grid,
            num_scales: self.j.unwrap_or(default_j),
            num_orientations: self.l,
            input_size,
            dataset,
            keep_checkpoints: self.keep_checkpoints,
        };
        let device = self.device.device()?.autodiff();
        let config_for = |cell: &Cell| {
            let mut config = preset(cell);
            self.apply(&mut config);
            config
        };
        Ok(run_experiment(
            &spec,
            train,
            test,
            &device,
            out,
            config_for,
            !self.quiet,
        )?)
    }

    /// Applies the command-line overrides to a training configuration.
    pub fn apply(&self, config: &mut TrainConfig) {
        if let Some(e) = self.epochs {
            config.epochs = e;
        }
        if let Some(lr) = self.lr {
            config.head_max_lr = lr;
        }
        if let Some(lr) = self.filter_lr {
            config.filter_lr = lr;
        }
        if let Some(b) = self.batch_size {
            config.batch_size = b;
        }
    }
}

/// With `--summarize-only`: the summary of the records in `out/runs.jsonl`, written next to it.
pub fn summarize_recorded(
    out: &Path,
    dataset: PaperDataset,
) -> Result<Vec<SummaryRow>, Box<dyn std::error::Error>> {
    let records: Vec<RunRecord> = read_jsonl(out.join("runs.jsonl"))?;
    let rows = summarize(&records, dataset);
    write_summaries(out, &rows)?;
    Ok(rows)
}

/// Prints the summary table and where the files are.
pub fn report(rows: &[SummaryRow], out: &Path) {
    println!("{}", markdown_table(rows));
    println!(
        "results: {} (summary.md, summary.csv, summary.json, runs.jsonl)",
        out.display()
    );
}

/// [`ensure_dataset`](learnable_scattering::data::download::ensure_dataset) for a command line with
/// a `--data-dir` flag: when the download fails, the error says which flag points at a copy
/// fetched elsewhere (the library's own message names no flag).
#[allow(dead_code)] // used by the examples that download (cifar10, kth_tips2)
pub fn ensure_dataset_cli(
    spec: &learnable_scattering::data::download::RemoteArchive,
    data_dir: &Path,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    use learnable_scattering::ScatterError;
    use learnable_scattering::data::DownloadError;
    learnable_scattering::data::download::ensure_dataset(spec, data_dir).map_err(|e| match e {
        ScatterError::Download(DownloadError::Unreachable { .. }) => format!(
            "{e}\n(the data directory is --data-dir, here {})",
            data_dir.display()
        )
        .into(),
        other => other.into(),
    })
}

/// What a timed run of [`time_training`] measured.
pub struct RunCost {
    /// Seconds per training epoch (the run's wall time less one evaluation, over its epochs).
    pub per_epoch: f64,
    /// Seconds of one evaluation of the test set.
    pub evaluation: f64,
    /// The run's report.
    pub report: learnable_scattering::train::TrainReport,
}

/// Trains `model` for `config.epochs` epochs with an evaluation only at the end, then evaluates the
/// trained model once more on its own to time an evaluation: the cost examples extrapolate the
/// paper's runs from these two figures.
pub fn time_training(
    model: learnable_scattering::train::Hybrid,
    train: &ImageDataset,
    test: &ImageDataset,
    config: &TrainConfig,
) -> Result<RunCost, Box<dyn std::error::Error>> {
    use learnable_scattering::train::{FitOptions, evaluate, fit};
    let mut config = config.clone();
    config.eval_every = None;
    let t = std::time::Instant::now();
    let (model, report) = fit(model, train, test, &config, &FitOptions::default())?;
    let total = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let _ = evaluate(
        &model,
        test,
        &config.test_augmentation,
        &config.normalization,
        config.eval_batch_size,
    );
    let evaluation = t.elapsed().as_secs_f64();
    Ok(RunCost {
        per_epoch: (total - evaluation) / config.epochs as f64,
        evaluation,
        report,
    })
}
