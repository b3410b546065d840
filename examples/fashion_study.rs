//! Does learning the filters help? The analysis around the Fashion-MNIST grid of the
//! `fashion_mnist` example (`docs/results.md`):
//!
//! ```sh
//! cargo run --release --features full --example fashion_study -- baselines --samples 100,500,1000 \
//!     --seeds 10 --out runs/fashion-paper
//! cargo run --release --features full --example fashion_study -- summarize --runs runs/fashion-paper \
//!     --augmented runs/fashion-paper-aug
//! ```
//!
//! `baselines`: converged logistic regression (`train::baseline`) on fixed tight-frame scattering
//! and on pixels, for the grid's subsets and seeds, one line per fit in `baselines.jsonl`
//! (rerunning resumes). `summarize`: `summary.md` and `learning_curve.png` in the runs folder: the
//! grid's table, the baselines, paired differences `LS − S` with t-tests and Holm's correction
//! (`experiment`), and the filter diagnostics (`analysis::diagnostics_table` and
//! `analysis::learning_curve`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use learnable_scattering::analysis::{diagnostics_table, learning_curve};
use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::augment::{Augmentation, Normalization, make_batch};
use learnable_scattering::data::idx::load_fashion_mnist;
use learnable_scattering::data::sampler::balanced_subset;
use learnable_scattering::experiment::{
    CIFAR10_SEEDS, HeadKind, PaperDataset, RunLog, RunRecord, markdown_table, paired_differences,
    paired_table, read_jsonl, summarize,
};
use learnable_scattering::filters::InitKind;
use learnable_scattering::train::baseline::{
    BaselineRecord, CV_FOLDS, L2_GRID, baseline_tables, converged_baseline,
};
use learnable_scattering::{Scattering2dPlan, ScatteringOptions};
use ndarray::{Array2, Array4};
use rand::SeedableRng;

type Error = Box<dyn std::error::Error>;

#[derive(clap::Args, Debug)]
struct Baselines {
    /// Folder with the four Fashion-MNIST IDX files.
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    data_dir: PathBuf,
    /// Training-set sizes (class-balanced subsets).
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
    samples: Vec<usize>,
    /// Number of the paper's seeds, in order (at most 10).
    #[arg(long, default_value_t = 10)]
    seeds: usize,
    /// Folder of the grid (`baselines.jsonl` is written there).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Parser, Debug)]
enum Command {
    /// Converged logistic-regression baselines on scattering features and on pixels.
    Baselines(Baselines),
    /// Tables and pictures from a grid's `runs.jsonl` and `baselines.jsonl`.
    Summarize {
        /// Folder of the grid run with `--protocol paper`.
        #[arg(long)]
        runs: PathBuf,
        /// Folder of the same grid run with `--augment` (optional).
        #[arg(long)]
        augmented: Option<PathBuf>,
    },
}

/// The two feature sets of the baselines, in table order.
const FEATURES: [(&str, &str); 2] = [
    ("scattering_tf", "TF scattering (fixed), standardised"),
    ("pixels", "pixels, standardised"),
];

fn main() -> Result<(), Error> {
    match Command::parse() {
        Command::Baselines(args) => baselines(&args),
        Command::Summarize { runs, augmented } => summarize_grid(&runs, augmented.as_deref()),
    }
}

/// Normalised images of `indices`, `[n, C, H, W]` (the grid's normalisation, no augmentation).
fn images(ds: &ImageDataset, indices: &[usize], norm: &Normalization) -> Array4<f32> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0); // unused: no augmentation
    let (values, shape) = make_batch(ds, indices, &Augmentation::default(), norm, &mut rng);
    Array4::from_shape_vec(shape, values).expect("[n, C, H, W] batch")
}

/// Feature set `name` of the images `indices` as rows `[n, d]`: the fixed tight-frame scattering
/// of `plan` (J = 2, L = 8, 81 × 7 × 7 = 3969 features) or the pixels (784).
fn features(
    plan: &Scattering2dPlan<f32>,
    (ds, norm): (&ImageDataset, &Normalization),
    indices: &[usize],
    name: &str,
) -> Array2<f64> {
    let rows: Vec<f64> = (indices.chunks(1000))
        .flat_map(|chunk| {
            let x = images(ds, chunk, norm);
            match name {
                "pixels" => x.into_dyn(),
                _ => plan.transform(x.view()).expect("finite input").into_dyn(),
            }
            .mapv(f64::from)
            .into_iter()
        })
        .collect();
    let shape = (indices.len(), rows.len() / indices.len());
    Array2::from_shape_vec(shape, rows).expect("[n, features]")
}

fn baselines(args: &Baselines) -> Result<(), Error> {
    let (train, test) = load_fashion_mnist(&args.data_dir)?;
    let norm = Normalization::from_dataset(&train);
    let plan = Scattering2dPlan::new(train.height(), train.width(), ScatteringOptions::new(2, 8)?)?;
    let mut log = RunLog::<BaselineRecord>::open(args.out.join("baselines.jsonl"))?;
    let test_x: Vec<Array2<f64>> = FEATURES
        .iter()
        .map(|(name, _)| features(&plan, (&test, &norm), &Vec::from_iter(0..test.len()), name))
        .collect();
    for &seed in &CIFAR10_SEEDS[..args.seeds.min(10)] {
        for &size in &args.samples {
            let indices = balanced_subset(&train.labels, train.num_classes(), size, seed)?;
            let labels: Vec<usize> = indices.iter().map(|&i| train.labels[i]).collect();
            for ((name, _), test_x) in FEATURES.iter().zip(&test_x) {
                let done = |r: &BaselineRecord| {
                    r.features == *name && r.train_size == size && r.seed == seed
                };
                if log.records().iter().any(done) {
                    continue;
                }
                let t = Instant::now();
                let train_x = features(&plan, (&train, &norm), &indices, name);
                let result = converged_baseline(
                    train_x.view(),
                    &labels,
                    test_x.view(),
                    &test.labels,
                    train.num_classes(),
                    &L2_GRID,
                    CV_FOLDS,
                    u64::from(seed),
                )?;
                let r = log.append(BaselineRecord {
                    features: name.to_string(),
                    train_size: size,
                    seed,
                    result,
                    wall_seconds: t.elapsed().as_secs_f64(),
                })?;
                eprintln!("{r}");
            }
        }
    }
    Ok(())
}

fn summarize_grid(runs: &Path, augmented: Option<&Path>) -> Result<(), Error> {
    let records: Vec<RunRecord> = read_jsonl(runs.join("runs.jsonl"))?;
    let path = runs.join("baselines.jsonl");
    let baselines: Vec<BaselineRecord> = if path.exists() {
        read_jsonl(path)?
    } else {
        vec![]
    };
    let sizes: BTreeSet<usize> = records.iter().map(|r| r.cell.train_size).collect();
    let sizes: Vec<usize> = sizes.into_iter().collect();
    let mut md = String::from("### Test accuracy (%), mean ± sample std (runs)\n\n");
    md.push_str(&markdown_table(&summarize(&records, PaperDataset::Other)));
    md.push_str(&baseline_tables(&baselines, &FEATURES, &sizes));
    let comparisons = |md: &mut String, records: &[RunRecord], title: &str, sizes: &[usize]| {
        md.push_str(&paired_table(&paired_differences(records), title));
        diagnostics_table(md, records, sizes, [36, 36]); // 28 × 28 padded at J = 2
    };
    comparisons(&mut md, &records, "Paired differences LS − S", &sizes);
    let curve = (InitKind::TightFrame, HeadKind::Linear, 100);
    let title = "Fashion-MNIST, 100 training images, paper's linear-head protocol";
    if learning_curve(&records, curve, title, &runs.join("learning_curve.png"))? {
        md.push_str("\n![test accuracy every 250 epochs, TF LS vs TF S](learning_curve.png)\n");
    }
    if let Some(dir) = augmented {
        let aug: Vec<RunRecord> = read_jsonl(dir.join("runs.jsonl"))?;
        md.push_str("\n### With augmentation (random crop, padding 2, and horizontal flip)\n\n");
        md.push_str(&markdown_table(&summarize(&aug, PaperDataset::Other)));
        comparisons(
            &mut md,
            &aug,
            "Paired differences LS − S, augmented",
            &[100],
        );
    }
    let path = runs.join("summary.md");
    std::fs::write(&path, &md)?;
    println!("{md}\nwritten: {}", path.display());
    Ok(())
}
