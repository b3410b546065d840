//! Does learning the filters help? The analysis around the Fashion-MNIST grid of the `fashion_mnist`
//! example (`docs/results.md`):
//!
//! ```sh
//! # converged baselines: standardised features -> multinomial logistic regression (L-BFGS),
//! # the L2 strength chosen by 5-fold cross-validation inside each training subset
//! cargo run --release --features full --example fashion_study -- baselines --samples 100,500,1000 --seeds 10 \
//!     --out runs/fashion-paper
//! # tables and pictures from runs.jsonl (+ baselines.jsonl, + an augmented grid)
//! cargo run --release --features full --example fashion_study -- report --runs runs/fashion-paper \
//!     --augmented runs/fashion-paper-aug
//! ```
//!
//! `baselines` scores two feature sets per subset (the same class-balanced subsets, drawn with the
//! paper's sampler and seeds, as the grid): fixed tight-frame scattering (J = 2, L = 8, the fast
//! path, 81 × 7 × 7 = 3969 features) and raw pixels (784), both after the grid's normalisation.
//! It appends one JSON line per (features, size, seed) to `baselines.jsonl`; rerunning resumes.
//!
//! `report` writes `report.md` and `learning_curve.png` into the runs folder: the grid's table with
//! the baselines beside it, the paired differences `LS − S`, train accuracy and loss at the end,
//! how far the filters moved (Hungarian matching), their aliasing and frame bounds, the test
//! accuracy every 250 epochs of TF LS against TF S at 100 images, and the augmented grid if given.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};
use learnable_scattering::ScatteringOptions;
use learnable_scattering::analysis::distance::{arc_distance, bank_distance};
use learnable_scattering::analysis::littlewood_paley::bank_frame_bounds;
use learnable_scattering::analysis::plot::{LinePlot, Series, render_line_plots};
use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::augment::{Augmentation, Normalization, make_batch};
use learnable_scattering::data::idx::load_fashion_mnist;
use learnable_scattering::data::sampler::balanced_subset;
use learnable_scattering::fast::Scattering2dPlan;
use learnable_scattering::filters::diagnostics::ALIASING_WARNING;
use learnable_scattering::train::baseline::{
    BaselineResult, CV_FOLDS, L2_GRID, converged_baseline,
};
use learnable_scattering::train::experiment::{
    CIFAR10_SEEDS, InitKind, PaperDataset, RunRecord, markdown_table, paired_differences,
    read_run_records, summarize,
};
use ndarray::Array2;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Converged logistic-regression baselines on scattering features and on pixels.
    Baselines {
        /// Folder with the four Fashion-MNIST IDX files.
        #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
        data_dir: PathBuf,
        /// Training-set sizes (class-balanced subsets).
        #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
        samples: Vec<usize>,
        /// Number of the paper's seeds, in order.
        #[arg(long, default_value_t = 10)]
        seeds: usize,
        /// Folder of the grid (`baselines.jsonl` is written there).
        #[arg(long)]
        out: PathBuf,
    },
    /// Tables and pictures from a grid's `runs.jsonl` and `baselines.jsonl`.
    Report {
        /// Folder of the grid run with `--protocol paper`.
        #[arg(long)]
        runs: PathBuf,
        /// Folder of the same grid run with `--augment` (optional).
        #[arg(long)]
        augmented: Option<PathBuf>,
    },
}

/// One baseline result.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct BaselineRecord {
    /// `scattering_tf` or `pixels`.
    features: String,
    train_size: usize,
    seed: u32,
    result: BaselineResult,
    wall_seconds: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Baselines {
            data_dir,
            samples,
            seeds,
            out,
        } => baselines(&data_dir, &samples, &CIFAR10_SEEDS[..seeds.min(10)], &out),
        Command::Report { runs, augmented } => report(&runs, augmented.as_deref()),
    }
}

/// Normalised images of `indices` as rows `[n, H·W]` (the grid's normalisation).
fn pixels(ds: &ImageDataset, indices: &[usize], norm: &Normalization) -> Array2<f32> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0); // unused: no augmentation
    let (values, shape) = make_batch(ds, indices, &Augmentation::default(), norm, &mut rng);
    let per: usize = shape[1..].iter().product();
    Array2::from_shape_vec((indices.len(), per), values).expect("[n, C·H·W] batch")
}

/// Fixed tight-frame scattering of the normalised images, flattened: `[n, K·H'·W']`.
fn scattering(
    plan: &Scattering2dPlan<f32>,
    ds: &ImageDataset,
    indices: &[usize],
    norm: &Normalization,
) -> Array2<f32> {
    let mut rows = Vec::new();
    for chunk in indices.chunks(1000) {
        let x = pixels(ds, chunk, norm);
        let [c, h, w] = [ds.channels(), ds.height(), ds.width()];
        let x = x
            .into_shape_with_order((chunk.len(), c, h, w))
            .expect("image batch");
        let s = plan
            .transform(x.view())
            .expect("validated plan and finite input");
        let per = s.len() / chunk.len();
        rows.extend(s);
        debug_assert_eq!(rows.len() % per, 0);
    }
    let per = rows.len() / indices.len();
    Array2::from_shape_vec((indices.len(), per), rows).expect("[n, features]")
}

fn baselines(
    data_dir: &Path,
    samples: &[usize],
    seeds: &[u32],
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let (train, test) = load_fashion_mnist(data_dir)?;
    let norm = Normalization::from_dataset(&train);
    let plan =
        Scattering2dPlan::<f32>::new(train.height(), train.width(), ScatteringOptions::new(2, 8)?)?;
    std::fs::create_dir_all(out)?;
    let path = out.join("baselines.jsonl");
    let mut done: Vec<BaselineRecord> = if path.exists() {
        std::fs::read_to_string(&path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let all_test: Vec<usize> = (0..test.len()).collect();
    let test_labels: Vec<usize> = test.labels.clone();
    let t = Instant::now();
    let test_features = [
        ("scattering_tf", scattering(&plan, &test, &all_test, &norm)),
        ("pixels", pixels(&test, &all_test, &norm)),
    ];
    eprintln!("test features in {:.1} s", t.elapsed().as_secs_f64());
    for &seed in seeds {
        for &size in samples {
            let indices = balanced_subset(&train.labels, train.num_classes(), size, seed)?;
            let labels: Vec<usize> = indices.iter().map(|&i| train.labels[i]).collect();
            for (name, test_x) in &test_features {
                if done
                    .iter()
                    .any(|r| r.features == *name && r.train_size == size && r.seed == seed)
                {
                    continue;
                }
                let t = Instant::now();
                let train_x = match *name {
                    "scattering_tf" => scattering(&plan, &train, &indices, &norm),
                    _ => pixels(&train, &indices, &norm),
                };
                let result = converged_baseline(
                    train_x.mapv(f64::from).view(),
                    &labels,
                    test_x.mapv(f64::from).view(),
                    &test_labels,
                    train.num_classes(),
                    &L2_GRID,
                    CV_FOLDS,
                    u64::from(seed),
                )?;
                let record = BaselineRecord {
                    features: name.to_string(),
                    train_size: size,
                    seed,
                    result,
                    wall_seconds: t.elapsed().as_secs_f64(),
                };
                eprintln!(
                    "{name} n={size} seed={seed}: test {:.2} %, λ = {:e}, {} iterations, converged {} ({:.1} s)",
                    100.0 * record.result.test_accuracy,
                    record.result.l2,
                    record.result.iterations,
                    record.result.converged,
                    record.wall_seconds
                );
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?;
                writeln!(file, "{}", serde_json::to_string(&record)?)?;
                done.push(record);
            }
        }
    }
    Ok(())
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, std)
}

fn report(runs: &Path, augmented: Option<&Path>) -> Result<(), Box<dyn std::error::Error>> {
    let records = read_run_records(&runs.join("runs.jsonl"))?;
    let baselines: Vec<BaselineRecord> = match std::fs::read_to_string(runs.join("baselines.jsonl"))
    {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?,
        Err(_) => Vec::new(),
    };
    let sizes: Vec<usize> = {
        let mut s: Vec<usize> = records.iter().map(|r| r.cell.train_size).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let mut md = String::new();
    let _ = writeln!(md, "### Test accuracy (%), mean ± sample std (runs)\n");
    md.push_str(&markdown_table(&summarize(&records, PaperDataset::Other)));
    if !baselines.is_empty() {
        let _ = writeln!(
            md,
            "\n### Converged baselines: test accuracy (%), mean ± sample std (runs)\n"
        );
        let _ = write!(md, "| features | classifier |");
        for s in &sizes {
            let _ = write!(md, " {s} |");
        }
        let _ = writeln!(md, "\n|---|---|{}", "---|".repeat(sizes.len()));
        for (name, label) in [
            ("scattering_tf", "TF scattering (fixed), standardised"),
            ("pixels", "pixels, standardised"),
        ] {
            let _ = write!(
                md,
                "| {label} | logistic regression, L-BFGS, λ by 5-fold CV |"
            );
            for &s in &sizes {
                let acc: Vec<f64> = baselines
                    .iter()
                    .filter(|b| b.features == name && b.train_size == s)
                    .map(|b| 100.0 * b.result.test_accuracy)
                    .collect();
                if acc.is_empty() {
                    let _ = write!(md, " – |");
                } else {
                    let (m, sd) = mean_std(&acc);
                    let _ = write!(md, " {m:.2} ± {sd:.2} ({}) |", acc.len());
                }
            }
            let _ = writeln!(md);
        }
        let _ = writeln!(
            md,
            "\nChosen λ (count over seeds), cross-validated accuracy of the chosen λ, final fits \
             that met the gradient tolerance 1e-6, mean L-BFGS iterations:\n"
        );
        let _ = writeln!(
            md,
            "| features | size | λ chosen | CV accuracy (%) | converged | iterations | train accuracy (%) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for name in ["scattering_tf", "pixels"] {
            for &s in &sizes {
                let group: Vec<&BaselineRecord> = baselines
                    .iter()
                    .filter(|b| b.features == name && b.train_size == s)
                    .collect();
                if group.is_empty() {
                    continue;
                }
                let mut lambdas: BTreeMap<String, usize> = BTreeMap::new();
                for b in &group {
                    *lambdas.entry(format!("{:e}", b.result.l2)).or_default() += 1;
                }
                let cv: Vec<f64> = group
                    .iter()
                    .map(|b| {
                        100.0
                            * b.result
                                .cv_accuracy
                                .iter()
                                .find(|(l, _)| *l == b.result.l2)
                                .map_or(f64::NAN, |c| c.1)
                    })
                    .collect();
                let converged = group.iter().filter(|b| b.result.converged).count();
                let iterations = group
                    .iter()
                    .map(|b| b.result.iterations as f64)
                    .sum::<f64>()
                    / group.len() as f64;
                let train: Vec<f64> = group
                    .iter()
                    .map(|b| 100.0 * b.result.train_accuracy)
                    .collect();
                let _ = writeln!(
                    md,
                    "| {name} | {s} | {} | {:.2} | {converged}/{} | {iterations:.0} | {:.2} |",
                    lambdas
                        .iter()
                        .map(|(l, c)| format!("{l} ×{c}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    mean_std(&cv).0,
                    group.len(),
                    mean_std(&train).0
                );
            }
        }
    }
    paired_section(&mut md, &records, "Paired differences LS − S");
    diagnostics_section(&mut md, &records, &sizes);
    let curve = runs.join("learning_curve.png");
    if learning_curve(&records, &curve)? {
        let _ = writeln!(
            md,
            "\n![test accuracy every 250 epochs, TF LS vs TF S, 100 images]({})",
            curve
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("learning_curve.png")
        );
    }
    if let Some(aug) = augmented {
        let aug_records = read_run_records(&aug.join("runs.jsonl"))?;
        let _ = writeln!(
            md,
            "\n### With augmentation (random crop, padding 2, and horizontal flip)\n"
        );
        md.push_str(&markdown_table(&summarize(
            &aug_records,
            PaperDataset::Other,
        )));
        paired_section(
            &mut md,
            &aug_records,
            "Paired differences LS − S, augmented",
        );
        diagnostics_section(&mut md, &aug_records, &[100]);
    }
    let path = runs.join("report.md");
    std::fs::write(&path, &md)?;
    println!("{md}\nwritten: {}", path.display());
    Ok(())
}

fn paired_section(md: &mut String, records: &[RunRecord], title: &str) {
    let _ = writeln!(
        md,
        "\n### {title} (percentage points, paired by seed: same subset, same initial filters and head)\n"
    );
    let _ = writeln!(
        md,
        "| init | size | pairs | mean | 95 % t-interval | LS better | per seed |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for r in paired_differences(records) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:+.2} | [{:+.2}, {:+.2}] | {}/{} | {} |",
            r.init.label(),
            r.train_size,
            r.differences.len(),
            r.mean,
            r.mean - r.half_width,
            r.mean + r.half_width,
            r.wins,
            r.differences.len(),
            r.differences
                .iter()
                .map(|(_, d)| format!("{d:+.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}

fn diagnostics_section(md: &mut String, records: &[RunRecord], sizes: &[usize]) {
    let _ = writeln!(
        md,
        "\n### Diagnostics (means over seeds)\n\nTrain accuracy and loss of the final epoch; for \
         learnable filters, the Hungarian distance between the learned and the initial bank \
         (per filter), the mean absolute change of each parameter family between matched \
         wavelets, the largest aliasing fraction of a learned wavelet and the number of wavelets \
         above {:.0} % (summed over seeds), and the symmetrised Littlewood–Paley frame bounds of \
         the learned banks on the 36×36 padded grid (initial banks in parentheses).\n",
        100.0 * ALIASING_WARNING
    );
    let _ = writeln!(
        md,
        "| init | arch | size | test (%) | train (%) | train loss | distance | Δσ | Δξ | Δθ | Δslant | max aliasing | > {:.0} % | A | B |",
        100.0 * ALIASING_WARNING
    );
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for init in [InitKind::TightFrame, InitKind::Random] {
        for learnable in [true, false] {
            for &size in sizes {
                let group: Vec<&RunRecord> = records
                    .iter()
                    .filter(|r| {
                        r.cell.init == init
                            && r.cell.learnable == learnable
                            && r.cell.train_size == size
                    })
                    .collect();
                if group.is_empty() {
                    continue;
                }
                let mean = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Option<f64> {
                    let v: Vec<f64> = group.iter().filter_map(|r| f(r)).collect();
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                };
                let fmt = |v: Option<f64>, digits: usize| {
                    v.map_or("–".to_string(), |v| format!("{v:.digits$}"))
                };
                let test = mean(&|r| Some(100.0 * r.test_accuracy));
                let train = mean(&|r| r.final_train_accuracy.map(|a| 100.0 * a));
                let loss = mean(&|r| Some(r.final_train_loss));
                let mut cells = vec![fmt(test, 2), fmt(train, 2), fmt(loss, 4)];
                if learnable {
                    let moved = |r: &RunRecord| -> Option<[f64; 5]> {
                        let (a, b) = (r.initial_bank.as_ref()?, r.final_bank.as_ref()?);
                        let d = bank_distance(a, b).ok()?;
                        let mut fam = [0.0; 4];
                        for p in &d.pairs {
                            let (x, y) = (&a.wavelets()[p.index_a], &b.wavelets()[p.index_b]);
                            fam[0] += (x.sigma - y.sigma).abs();
                            fam[1] += (x.xi - y.xi).abs();
                            fam[2] += arc_distance(x.theta, y.theta);
                            fam[3] += (x.slant - y.slant).abs();
                        }
                        let n = d.pairs.len() as f64;
                        Some([d.mean(), fam[0] / n, fam[1] / n, fam[2] / n, fam[3] / n])
                    };
                    for i in 0..5 {
                        cells.push(fmt(mean(&|r| moved(r).map(|m| m[i])), 3));
                    }
                    let worst = mean(&|r| {
                        r.final_aliasing
                            .as_ref()
                            .map(|a| 100.0 * a.iter().fold(0.0f64, |m, v| m.max(*v)))
                    });
                    cells.push(fmt(worst, 1).to_string() + " %");
                    let above: usize = group
                        .iter()
                        .filter_map(|r| r.final_aliasing.as_ref())
                        .map(|a| a.iter().filter(|&&v| v > ALIASING_WARNING).count())
                        .sum();
                    cells.push(above.to_string());
                    let bounds = |r: &RunRecord, initial: bool| {
                        let bank = if initial {
                            &r.initial_bank
                        } else {
                            &r.final_bank
                        };
                        bank.as_ref()
                            .map(|b| bank_frame_bounds(b, 36, 36).symmetric)
                    };
                    let lower = mean(&|r| bounds(r, false).map(|b| b.lower));
                    let lower0 = mean(&|r| bounds(r, true).map(|b| b.lower));
                    let upper = mean(&|r| bounds(r, false).map(|b| b.upper));
                    let upper0 = mean(&|r| bounds(r, true).map(|b| b.upper));
                    cells.push(format!("{} ({})", fmt(lower, 4), fmt(lower0, 4)));
                    cells.push(format!("{} ({})", fmt(upper, 4), fmt(upper0, 4)));
                } else {
                    cells.extend(std::iter::repeat_n("–".to_string(), 9));
                }
                let _ = writeln!(
                    md,
                    "| {} | {}+LL | {size} | {} |",
                    init.label(),
                    if learnable { "LS" } else { "S" },
                    cells.join(" | ")
                );
            }
        }
    }
}

/// Test accuracy against the epoch, TF LS and TF S at 100 images (mean and mean ± std over
/// seeds); `false` when the records hold no such curves.
fn learning_curve(records: &[RunRecord], path: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let mut series = Vec::new();
    for (learnable, color) in [(true, [200, 60, 40]), (false, [40, 90, 200])] {
        let curves: Vec<&Vec<(usize, f64)>> = records
            .iter()
            .filter(|r| {
                r.cell.init == InitKind::TightFrame
                    && r.cell.learnable == learnable
                    && r.cell.train_size == 100
                    && r.test_curve.len() > 1
            })
            .map(|r| &r.test_curve)
            .collect();
        if curves.is_empty() {
            return Ok(false);
        }
        let mut by_epoch: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for c in &curves {
            for &(e, a) in c.iter() {
                by_epoch.entry(e).or_default().push(100.0 * a);
            }
        }
        let stats: Vec<(f64, f64, f64)> = by_epoch
            .iter()
            .map(|(&e, v)| {
                let (m, s) = mean_std(v);
                (e as f64, m, s)
            })
            .collect();
        let name = if learnable { "TF LS+LL" } else { "TF S+LL" };
        series.push(Series {
            label: Some(format!("{name}, mean of {} seeds", curves.len())),
            points: stats.iter().map(|&(e, m, _)| (e, m)).collect(),
            color,
            dashed: false,
        });
        for sign in [-1.0, 1.0] {
            series.push(Series {
                label: (sign > 0.0).then(|| format!("{name}, mean +/- std")),
                points: stats.iter().map(|&(e, m, s)| (e, m + sign * s)).collect(),
                color,
                dashed: true,
            });
        }
    }
    let plot = LinePlot {
        title: "Fashion-MNIST, 100 training images, paper's linear-head protocol".into(),
        x_label: "epoch (one batch of 100 images each)".into(),
        y_label: "test accuracy (%)".into(),
        series,
    };
    render_line_plots(path, &[plot], 1, (900, 520))?;
    Ok(true)
}
