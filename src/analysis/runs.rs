//! Diagnostics of an experiment's runs from their records ([`RunRecord`]): how far learned
//! filters moved, how much they alias, their frame bounds, and the test-accuracy curves.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use super::distance::{arc_distance, bank_distance};
use super::littlewood_paley::bank_frame_bounds;
use super::plot::{LinePlot, Series, render_line_plots};
use crate::error::Result;
use crate::experiment::stats::mean_std;
use crate::experiment::{HeadKind, RunRecord};
use crate::filters::diagnostics::ALIASING_WARNING;
use crate::filters::{FilterBankParams, InitKind};

/// Appends the diagnostics of `records` at `sizes` to `md` (Markdown, means over seeds): per
/// (init, LS/S, head, size) the test and final training accuracy and loss; for learnable filters
/// the Hungarian distance between the learned and the initial bank ([`BankDistance`]), the mean
/// absolute change of each parameter family between matched wavelets, the largest aliasing
/// fraction and the number of wavelets above [`ALIASING_WARNING`], and the symmetrised
/// Littlewood–Paley frame bounds ([`FrameBounds`]) on the layer's padded grid
/// `[height, width]` (`Mp × Np`, for example 36 × 36 for 28 × 28 images at `J = 2`).
///
/// [`BankDistance`]: super::BankDistance
/// [`FrameBounds`]: super::FrameBounds
pub fn diagnostics_table(
    md: &mut String,
    records: &[RunRecord],
    sizes: &[usize],
    padded: [usize; 2],
) {
    write_header(md, padded);
    let heads: BTreeSet<HeadKind> = records.iter().map(|r| r.cell.head).collect();
    let mut rows = Vec::new();
    for init in InitKind::ALL {
        for learnable in [true, false] {
            rows.extend(heads.iter().map(|&head| (init, learnable, head)));
        }
    }
    for (init, learnable, head) in rows {
        for &size in sizes {
            let group: Vec<&RunRecord> = records
                .iter()
                .filter(|r| {
                    r.cell.init == init
                        && r.cell.learnable == learnable
                        && r.cell.head == head
                        && r.cell.train_size == size
                })
                .collect();
            if group.is_empty() {
                continue;
            }
            let mut cells = training_cells(&group);
            if learnable {
                cells.extend(filter_cells(&group, padded));
            } else {
                cells.extend(std::iter::repeat_n("–".to_string(), 9));
            }
            let _ = writeln!(
                md,
                "| {} | {}+{} | {size} | {} |",
                init.label(),
                if learnable { "LS" } else { "S" },
                head.label(),
                cells.join(" | ")
            );
        }
    }
}

/// The heading, the paragraph that explains the columns, and the table's header rows.
fn write_header(md: &mut String, [mp, np]: [usize; 2]) {
    let _ = writeln!(
        md,
        "\n### Diagnostics (means over seeds)\n\nTrain accuracy and loss of the final epoch; for \
         learnable filters, the Hungarian distance between the learned and the initial bank \
         (per filter), the mean absolute change of each parameter family between matched \
         wavelets, the largest aliasing fraction of a learned wavelet and the number of wavelets \
         above {:.0} % (summed over seeds), and the symmetrised Littlewood–Paley frame bounds of \
         the learned banks on the {mp}×{np} padded grid (initial banks in parentheses).\n",
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
}

/// Mean of the values present (None when there is none).
fn average(values: &mut dyn Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// A table cell: the value with `digits` decimals, `–` for none.
fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

/// Test accuracy, final training accuracy and loss of a group of runs (means over the runs).
fn training_cells(group: &[&RunRecord]) -> Vec<String> {
    let mean = |f: &dyn Fn(&RunRecord) -> Option<f64>| average(&mut group.iter().map(|r| f(r)));
    let test = mean(&|r| Some(100.0 * r.test_accuracy));
    let train = mean(&|r| r.final_train_accuracy.map(|a| 100.0 * a));
    let loss = mean(&|r| Some(r.final_train_loss));
    vec![fmt(test, 2), fmt(train, 2), fmt(loss, 4)]
}

/// How far a run's learned bank moved from its initial one: the Hungarian distance per filter,
/// then the mean absolute change of σ, ξ, θ (arc) and the slant between matched wavelets.
fn movement(r: &RunRecord) -> Option<[f64; 5]> {
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
}

/// The filter columns of a group of learnable runs: movement, aliasing, and the frame bounds of
/// the learned banks beside those of the initial ones, on the `padded` grid.
fn filter_cells(group: &[&RunRecord], [mp, np]: [usize; 2]) -> Vec<String> {
    let mean = |f: &dyn Fn(&RunRecord) -> Option<f64>| average(&mut group.iter().map(|r| f(r)));
    let mut cells = Vec::new();
    // One matching (and one pair of frame bounds) per record, read by several columns.
    let moved: Vec<Option<[f64; 5]>> = group.iter().map(|r| movement(r)).collect();
    for i in 0..5 {
        cells.push(fmt(average(&mut moved.iter().map(|m| m.map(|m| m[i]))), 3));
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
    let bounds = |bank: &Option<FilterBankParams>| {
        bank.as_ref()
            .map(|b| bank_frame_bounds(b, mp, np).symmetric)
    };
    let learned: Vec<_> = group.iter().map(|r| bounds(&r.final_bank)).collect();
    let initial: Vec<_> = group.iter().map(|r| bounds(&r.initial_bank)).collect();
    let lower = average(&mut learned.iter().map(|b| b.map(|b| b.lower)));
    let lower0 = average(&mut initial.iter().map(|b| b.map(|b| b.lower)));
    let upper = average(&mut learned.iter().map(|b| b.map(|b| b.upper)));
    let upper0 = average(&mut initial.iter().map(|b| b.map(|b| b.upper)));
    cells.push(format!("{} ({})", fmt(lower, 4), fmt(lower0, 4)));
    cells.push(format!("{} ({})", fmt(upper, 4), fmt(upper0, 4)));
    cells
}

/// Test accuracy against the epoch, learnable against fixed filters for the runs of one
/// initialisation, head and training-set size (`(init, head, train_size)`; mean and mean ± std
/// over seeds), titled `title` and written as a PNG to `path`; `false` (nothing written) when
/// the records hold no such curves (records keep one with `TrainConfig::eval_every`).
///
/// # Errors
/// [`RenderError::Plot`](super::RenderError::Plot) or
/// [`RenderError::Image`](super::RenderError::Image) if drawing or writing fails.
pub fn learning_curve(
    records: &[RunRecord],
    (init, head, train_size): (InitKind, HeadKind, usize),
    title: &str,
    path: &Path,
) -> Result<bool> {
    let mut series = Vec::new();
    for (learnable, color) in [(true, [200, 60, 40]), (false, [40, 90, 200])] {
        let curves: Vec<&Vec<(usize, f64)>> = records
            .iter()
            .filter(|r| {
                r.cell.init == init
                    && r.cell.head == head
                    && r.cell.learnable == learnable
                    && r.cell.train_size == train_size
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
        let arch = if learnable { "LS" } else { "S" };
        let name = format!("{} {arch}+{}", init.label(), head.label());
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
        title: title.into(),
        x_label: "epoch".into(),
        y_label: "test accuracy (%)".into(),
        series,
    };
    render_line_plots(path, &[plot], 1, (900, 520))?;
    Ok(true)
}
