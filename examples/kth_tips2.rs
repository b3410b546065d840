//! Learnable vs fixed scattering on KTH-TIPS2-b with the paper's protocol: train on one physical
//! sample (a-d) of the 11 materials, test on the other three.
//!
//! ```sh
//! cargo run --release --features full --example kth_tips2 -- --train-samples a,b,c,d --seeds 4 --out runs/kth
//! ```
//!
//! Downloads the 200×200 colour archive from the official URL into `--data-dir` (default `data/`)
//! on first use (progress bar; the archive's published MD5 is checked, since no SHA-256 is
//! published for it), or uses an existing `KTH-TIPS2-b/` there. Images are loaded at 200×200;
//! training uses random 128 crops and flips, testing the centre crop, ImageNet normalisation,
//! and the paper's setting ([`TrainConfig::paper_kth`]: J = 3 by default, as the reference code's
//! README says; its experiment configs use J = 4). Each train sample is a separate experiment in
//! `--out/sample_<x>`; the combined table over all of them is `--out/summary.md`.

mod common;

use std::path::{Path, PathBuf};

use clap::Parser;
use common::{GridArgs, report};
use learnable_scattering::data::download::KTH_TIPS2B;
use learnable_scattering::data::kth::{KTH_TIPS2B_SIZE, load_kth_tips2b};
use learnable_scattering::experiment::{
    KTH_SEEDS, PaperDataset, RunRecord, read_jsonl, summarize, write_summaries,
};
use learnable_scattering::train::TrainConfig;

#[derive(Parser, Debug)]
struct Cli {
    /// Folder for the data set (downloaded there when missing).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Physical samples to train on, one experiment each.
    #[arg(long, value_delimiter = ',', default_value = "a")]
    train_samples: Vec<char>,
    #[command(flatten)]
    grid: GridArgs,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let mut records: Vec<RunRecord> = Vec::new();
    for &sample in &cli.train_samples {
        let out = cli.grid.out.join(format!("sample_{sample}"));
        if !cli.grid.summarize_only {
            run_sample(&cli, sample, &out)?;
        }
        records.extend(read_jsonl::<RunRecord>(out.join("runs.jsonl"))?);
    }
    let rows = summarize(&records, PaperDataset::KthTips2);
    write_summaries(&cli.grid.out, &rows)?;
    report(&rows, &cli.grid.out);
    Ok(())
}

/// Runs the grid with physical sample `sample` as the training set, into `out`.
fn run_sample(cli: &Cli, sample: char, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let dir = common::ensure_dataset_cli(&KTH_TIPS2B, &cli.data_dir)?;
    let (train, test) = load_kth_tips2b(&dir, sample, KTH_TIPS2B_SIZE)?;
    let mut grid = cli.grid.grid(&KTH_SEEDS);
    // The whole physical sample is the training set (1188 images).
    grid.train_sizes = vec![train.len()];
    cli.grid.run(
        grid,
        3,
        [128, 128],
        PaperDataset::KthTips2,
        (&train, &test),
        out,
        |cell| TrainConfig::paper_kth(cell.head),
    )?;
    Ok(())
}
