//! Tables of converged baselines ([`converged_baseline`](super::converged_baseline)) run over
//! training-set sizes and seeds: one [`BaselineRecord`] per (features, size, seed) in a run log
//! ([`RunLog`](crate::experiment::RunLog)), summarised as Markdown beside the grid's tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{BaselineResult, CV_FOLDS};
use crate::experiment::stats::mean_std;

/// One baseline fit: which features, how many training images, which seed, what it found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineRecord {
    /// Name of the feature set (for example `scattering_tf` or `pixels`).
    pub features: String,
    /// Training images (a class-balanced subset).
    pub train_size: usize,
    /// Seed of the subset and of the cross-validation folds.
    pub seed: u32,
    /// What the fit found.
    pub result: BaselineResult,
    /// Wall time of the fit, seconds.
    pub wall_seconds: f64,
}

impl std::fmt::Display for BaselineRecord {
    /// One line: features, size, seed, test accuracy, chosen strength, iterations, convergence
    /// and wall time.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.result;
        write!(
            f,
            "{} n={} seed={}: test {:.2} %, λ = {:e}, {} iterations, converged {} ({:.1} s)",
            self.features,
            self.train_size,
            self.seed,
            100.0 * r.test_accuracy,
            r.l2,
            r.iterations,
            r.converged,
            self.wall_seconds
        )
    }
}

/// Markdown tables of `records` for the feature sets `features` (`(name, description)`, in
/// table order) at `sizes`: test accuracy mean ± std (runs) per size, then per (features, size)
/// the chosen L2 strengths, the cross-validated accuracy of the chosen strength, how many final
/// fits converged, the mean L-BFGS iterations and the training accuracy. Empty without records.
/// The text describes fits made as [`converged_baseline`](super::converged_baseline) makes them
/// with [`CV_FOLDS`] folds and the tolerance of `LogisticOptions::new`
/// (the records do not keep those settings).
pub fn baseline_tables(
    records: &[BaselineRecord],
    features: &[(&str, &str)],
    sizes: &[usize],
) -> String {
    let mut md = String::new();
    let baselines = records;
    let tolerance = super::LogisticOptions::new(0.0).tolerance;
    if !baselines.is_empty() {
        let _ = writeln!(
            md,
            "\n### Converged baselines: test accuracy (%), mean ± sample std (runs)\n"
        );
        let _ = write!(md, "| features | classifier |");
        for s in sizes {
            let _ = write!(md, " {s} |");
        }
        let _ = writeln!(md, "\n|---|---|{}", "---|".repeat(sizes.len()));
        for &(name, label) in features {
            let _ = write!(
                md,
                "| {label} | logistic regression, L-BFGS, λ by {CV_FOLDS}-fold CV |"
            );
            for &s in sizes {
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
             that met the gradient tolerance {tolerance:e}, mean L-BFGS iterations:\n"
        );
        let _ = writeln!(
            md,
            "| features | size | λ chosen | CV accuracy (%) | converged | iterations | train accuracy (%) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for &(name, _) in features {
            for &s in sizes {
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
    md
}
