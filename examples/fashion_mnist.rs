//! Learnable vs fixed scattering on Fashion-MNIST (the one full 10-class set that Debian ships:
//! package `dataset-fashion-mnist`).
//!
//! ```sh
//! cargo run --release --example fashion_mnist -- --samples 100,500,1000 --seeds 10 --out runs/fashion
//! ```
//!
//! Runs the grid {learnable, fixed} × {tight frame, random} × heads × sizes × seeds with J = 2,
//! L = 8 on the 28×28 images and writes `summary.md` / `.csv` / `.json` and `runs.jsonl` into
//! `--out` (rerunning resumes). The paper did not use this data set, so the setting is this
//! crate's (see [`fashion_config`]); pass `--epochs`, `--lr`, ... to change it.

mod common;

use std::path::PathBuf;

use clap::Parser;
use common::{GridArgs, report};
use learnable_scattering::data::augment::Normalization;
use learnable_scattering::data::idx::load_fashion_mnist;
use learnable_scattering::train::TrainConfig;
use learnable_scattering::train::experiment::{CIFAR10_SEEDS, PaperDataset};

/// Where Debian's `dataset-fashion-mnist` installs the IDX files.
const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

#[derive(Parser, Debug)]
struct Cli {
    /// Folder with the four IDX files (`train-images-idx3-ubyte[.gz]`, ...).
    #[arg(long, default_value = DEBIAN_DIR)]
    data_dir: PathBuf,
    #[command(flatten)]
    grid: GridArgs,
}

/// This crate's Fashion-MNIST setting (the paper did not use the data set): a budget of about
/// 10 000 training images per run (`ceil(10000 / size)` epochs: 100 for 100 samples, 20 for 500,
/// 10 for 1000) so that the full grid runs on two CPU cores, mini-batches of 128, the paper's
/// optimiser with peak rates 0.1 for the head and for the filters, normalisation by the training
/// set's mean and standard deviation, no augmentation. The fixed filters' features are then
/// computed once per run ([`learnable_scattering::train::fit`]).
fn fashion_config(train_size: usize, normalization: &Normalization) -> TrainConfig {
    let mut config = TrainConfig::new(10_000usize.div_ceil(train_size.max(1)), 128, 0.1, 0.1);
    config.normalization = normalization.clone();
    config
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if cli.grid.summarize_only {
        let rows = common::summarize_recorded(&cli.grid.out, PaperDataset::Other)?;
        report(&rows, &cli.grid.out);
        return Ok(());
    }
    let (train, test) = load_fashion_mnist(&cli.data_dir).map_err(|e| {
        format!(
            "{e}\nFashion-MNIST is not at {}: install Debian's `dataset-fashion-mnist`, or download the four \
             files from https://github.com/zalandoresearch/fashion-mnist and pass --data-dir",
            cli.data_dir.display()
        )
    })?;
    let normalization = Normalization::from_dataset(&train);
    let rows = cli.grid.run(
        cli.grid.grid(&CIFAR10_SEEDS),
        2,
        [train.height(), train.width()],
        PaperDataset::Other,
        (&train, &test),
        &cli.grid.out,
        |cell| fashion_config(cell.train_size, &normalization),
    )?;
    report(&rows, &cli.grid.out);
    Ok(())
}
