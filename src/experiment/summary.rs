//! Tables of an experiment: mean ± std over seeds per architecture and size beside the paper's
//! numbers ([`summarize`], [`markdown_table`], [`csv_table`]), and the paired comparison of
//! learnable and fixed filters with t-intervals, p-values and Holm's correction
//! ([`paired_differences`], [`paired_table`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::grid::{HeadKind, RunRecord};
use super::paper::{PaperDataset, paper_result};
use super::stats::{holm_adjusted, mean_std, paired_t_test};
use crate::error::{Result, io_error};
use crate::filters::InitKind;

/// One row of a results table: the seeds of one (init, learnable, head, size) combination
/// (mean ± std and the paper's number), as [`markdown_table`] and [`write_summaries`] print it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Filter initialisation.
    pub(crate) init: InitKind,
    /// Learnable or fixed scattering.
    pub(crate) learnable: bool,
    /// Head name.
    pub(crate) head: HeadKind,
    /// Training-set size.
    pub(crate) train_size: usize,
    /// Number of seeds.
    pub(crate) runs: usize,
    /// Mean test accuracy, percent.
    pub(crate) mean: f64,
    /// Sample standard deviation over the seeds (n − 1), percent; 0 for one run.
    pub(crate) std: f64,
    /// Mean wall time per run, seconds.
    pub(crate) mean_wall_seconds: f64,
    /// The paper's mean and ± for this row, when it has one.
    pub(crate) paper: Option<(f64, f64)>,
}

impl SummaryRow {
    /// `TF LS+LL`-style architecture label of the paper's tables.
    pub(crate) fn label(&self) -> String {
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
            let (mean, std) = mean_std(&acc);
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
fn csv_table(rows: &[SummaryRow]) -> String {
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

/// Learnable minus fixed, paired by seed, for one initialisation, head and size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedRow {
    /// Initialisation.
    pub init: InitKind,
    /// Head name.
    pub(crate) head: HeadKind,
    /// Training-set size.
    pub train_size: usize,
    /// `(seed, LS accuracy − S accuracy)` in percentage points, for every seed with both runs.
    pub(crate) differences: Vec<(u32, f64)>,
    /// Mean difference (points).
    pub(crate) mean: f64,
    /// Half-width of the 95 % t-interval of the mean (points); NaN for fewer than two pairs.
    pub(crate) half_width: f64,
    /// Pairs where learning the filters gave the higher accuracy.
    pub(crate) wins: usize,
    /// Two-sided p-value of the paired t-test of a zero mean difference (Student's t over the
    /// per-seed differences); NaN for fewer than two pairs.
    pub p_value: f64,
    /// `p_value` adjusted by Holm's step-down method over the rows [`paired_differences`]
    /// returned with it that have a p-value (the family of comparisons of one table; rows with
    /// fewer than two pairs have none and are not counted).
    pub holm_p_value: f64,
}

/// The paired comparison `LS − S` of every (init, head, size) that has both kinds of runs, pairs
/// matched by seed (same subset, same initial filters and head), with a paired t-test per row and
/// Holm's correction over the rows.
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
    let mut rows: Vec<PairedRow> = groups
        .into_iter()
        .filter_map(|((init, head, train_size), seeds)| {
            let differences: Vec<(u32, f64)> = seeds
                .into_iter()
                .filter_map(|(seed, [s, ls])| Some((seed, 100.0 * (ls? - s?))))
                .collect();
            if differences.is_empty() {
                return None;
            }
            let values: Vec<f64> = differences.iter().map(|d| d.1).collect();
            let test = paired_t_test(&values);
            let wins = values.iter().filter(|&&d| d > 0.0).count();
            Some(PairedRow {
                init,
                head,
                train_size,
                differences,
                mean: test.mean,
                half_width: test.half_width,
                wins,
                p_value: test.p_value,
                holm_p_value: f64::NAN,
            })
        })
        .collect();
    let p: Vec<f64> = rows.iter().map(|r| r.p_value).collect();
    for (row, adjusted) in rows.iter_mut().zip(holm_adjusted(&p)) {
        row.holm_p_value = adjusted;
    }
    rows
}

/// The paired comparison as a Markdown section under `title`: per row the number of pairs, the
/// mean difference and its 95 % t-interval, how often LS won, the p-value and its Holm
/// adjustment, and every pair's difference.
pub fn paired_table(rows: &[PairedRow], title: &str) -> String {
    let mut md = format!(
        "\n### {title} (percentage points, paired by seed: same subset, same initial filters and \
         head; two-sided paired t-tests, Holm's correction over the {} rows)\n\n",
        rows.len()
    );
    md.push_str(
        "| init | size | pairs | mean | 95 % t-interval | LS better | p | Holm p | per seed |\n",
    );
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:+.2} | [{:+.2}, {:+.2}] | {}/{} | {:.4} | {:.4} | {} |",
            r.init.label(),
            r.train_size,
            r.differences.len(),
            r.mean,
            r.mean - r.half_width,
            r.mean + r.half_width,
            r.wins,
            r.differences.len(),
            r.p_value,
            r.holm_p_value,
            r.differences
                .iter()
                .map(|(_, d)| format!("{d:+.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    md
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
    use crate::experiment::Cell;
    use crate::experiment::stats::t_quantile_975;

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
        // sd of (1, −2, 3) = 2.5166; t_{0.975, 2} = 4.303 (printed tables, three decimals);
        // half-width = t·2.5166/√3.
        assert!((r.half_width - t_quantile_975(2) * 2.516611478423583 / 3f64.sqrt()).abs() < 1e-9);
        assert!((t_quantile_975(2) - 4.303).abs() < 5e-4);
        assert!((t_quantile_975(9) - 2.262).abs() < 5e-4);
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
}
