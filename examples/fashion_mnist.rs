//! Learnable vs fixed scattering on Fashion-MNIST (the one full 10-class set that Debian ships:
//! package `dataset-fashion-mnist`).
//!
//! ```sh
//! cargo run --release --features full --example fashion_mnist -- --samples 100,500,1000 --seeds 10 --out runs/fashion
//! cargo run --release --features full --example fashion_mnist -- --protocol paper --samples 100,500,1000 --seeds 10 \
//!     --out runs/fashion-paper
//! ```
//!
//! Runs the grid {learnable, fixed} × {tight frame, random} × heads × sizes × seeds with J = 2,
//! L = 8 on the 28×28 images and writes `summary.md` / `.csv` / `.json` and `runs.jsonl` into
//! `--out` (rerunning resumes). The paper did not use this data set: `--protocol budget` (the
//! default) is this crate's cheap setting, `--protocol paper` the paper's linear-head schedule for
//! CIFAR-10 at these sizes (see [`fashion_config`]); `--augment` adds a random crop (padding 2) and
//! a horizontal flip. `--epochs`, `--lr`, ... override either.

mod common;

use std::path::PathBuf;

use clap::Parser;
use common::{GridArgs, report};
use learnable_scattering::data::augment::{Augmentation, Normalization, RandomCrop};
use learnable_scattering::data::idx::load_fashion_mnist;
use learnable_scattering::experiment::HeadKind;
use learnable_scattering::experiment::{CIFAR10_SEEDS, PaperDataset};
use learnable_scattering::train::TrainConfig;

/// Where Debian's `dataset-fashion-mnist` installs the IDX files.
const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

#[derive(Parser, Debug)]
struct Cli {
    /// Folder with the four IDX files (`train-images-idx3-ubyte[.gz]`, ...).
    #[arg(long, default_value = DEBIAN_DIR)]
    data_dir: PathBuf,
    /// Training schedule.
    #[arg(long, value_enum, default_value = "budget")]
    protocol: Protocol,
    /// Train with a random crop (zero padding 2) and a horizontal flip.
    #[arg(long)]
    augment: bool,
    #[command(flatten)]
    grid: GridArgs,
}

/// The training schedule of a run.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Protocol {
    /// About 10 000 training images per run, batches of 128, peak rates 0.1 (this crate's cheap
    /// setting, `docs/results.md`).
    Budget,
    /// The paper's linear-head schedule (`TrainConfig::paper_cifar10(HeadKind::Linear, size)`): 5000
    /// epochs of batches of 128 for 100 images, 1000 of 500 for 500, 500 of 1000 for 1000; head
    /// peak rates 0.06 / 0.13 / 0.2, filter peak rate 0.1; the test set evaluated (and a
    /// checkpoint written) every 250 epochs.
    Paper,
}

/// The Fashion-MNIST setting of a run (the paper did not use the data set): the optimiser is the
/// paper's (SGD with momentum, weight decay 5e-4 on the head, one-cycle per batch), the images are
/// normalised by the training set's mean and standard deviation, and the schedule is `protocol`'s.
/// Without augmentation, fixed filters' features are computed once per run
/// ([`learnable_scattering::train::fit`]).
fn fashion_config(
    train_size: usize,
    normalization: &Normalization,
    protocol: Protocol,
    augment: bool,
) -> TrainConfig {
    let mut config = match protocol {
        Protocol::Budget => {
            TrainConfig::new(10_000usize.div_ceil(train_size.max(1)), 128, 0.1, 0.1)
        }
        Protocol::Paper => {
            let paper = TrainConfig::paper_cifar10(HeadKind::Linear, train_size);
            let mut config = TrainConfig::new(
                paper.epochs,
                paper.batch_size,
                paper.head_max_lr,
                paper.filter_lr,
            );
            config.eval_every = Some(250);
            config
        }
    };
    config.normalization = normalization.clone();
    if augment {
        config.augmentation = Augmentation {
            random_crop: Some(RandomCrop {
                size: 28,
                padding: 2,
            }),
            horizontal_flip: true,
            ..Augmentation::default()
        };
    }
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
        |cell| fashion_config(cell.train_size, &normalization, cli.protocol, cli.augment),
    )?;
    report(&rows, &cli.grid.out);
    Ok(())
}
