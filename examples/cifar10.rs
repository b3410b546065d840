//! Learnable vs fixed scattering on CIFAR-10 with the paper's protocol.
//!
//! ```sh
//! cargo run --release --features full --example cifar10 -- --samples 100 --seeds 10 --head linear --out runs/cifar10
//! ```
//!
//! Downloads the binary version from the official URL into `--data-dir` (default `data/`) on first
//! use, with a progress bar and a checksum check, or uses an existing copy there
//! (`cifar-10-batches-bin/`). Each run draws the paper's class-balanced subset for its seed, trains
//! with the paper's setting for the head and size ([`TrainConfig::paper_cifar10`]: SGD,
//! one-cycle, epochs, learning rates, crop/flip/cutout, CIFAR normalisation; no AutoAugment) and
//! reports the final-epoch accuracy on the 10 000 test images, beside the paper's numbers.
//! The paper's runs are long on a CPU (5000 epochs for 100 samples with the linear head): use
//! `--epochs` for a shorter look, or `--device wgpu` (build with `--features wgpu`).

mod common;

use std::path::PathBuf;

use clap::Parser;
use common::{GridArgs, report};
use learnable_scattering::data::cifar::load_cifar10;
use learnable_scattering::data::download::CIFAR10_BINARY;
use learnable_scattering::experiment::{CIFAR10_SEEDS, PaperDataset};
use learnable_scattering::train::TrainConfig;

#[derive(Parser, Debug)]
struct Cli {
    /// Folder for the data set (downloaded there when missing).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[command(flatten)]
    grid: GridArgs,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if cli.grid.summarize_only {
        let rows = common::summarize_recorded(&cli.grid.out, PaperDataset::Cifar10)?;
        report(&rows, &cli.grid.out);
        return Ok(());
    }
    let dir = common::ensure_dataset_cli(&CIFAR10_BINARY, &cli.data_dir)?;
    let (train, test) = load_cifar10(&dir)?;
    let rows = cli.grid.run(
        cli.grid.grid(&CIFAR10_SEEDS),
        2,
        [32, 32],
        PaperDataset::Cifar10,
        (&train, &test),
        &cli.grid.out,
        |cell| TrainConfig::paper_cifar10(cell.head, cell.train_size),
    )?;
    report(&rows, &cli.grid.out);
    Ok(())
}
