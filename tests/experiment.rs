//! Experiment bookkeeping (`experiment`): the paired table built from run records, against SciPy
//! (`tests/fixtures/paired_t.json`, written by `tests/fixtures/gen_paired_t.py`, including the
//! per-seed differences printed in docs/results.md). The statistics themselves (Student-t
//! quantiles, paired t-tests, Holm's correction) are crate-internal and tested against the same
//! fixture in `src/experiment/stats.rs`.

use learnable_scattering::experiment::{
    Cell, HeadKind, RunRecord, paired_differences, paired_table,
};
use learnable_scattering::filters::InitKind;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/paired_t.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64, rtol: f64) -> bool {
    (a - b).abs() <= rtol * b.abs().max(1e-300)
}

fn floats(v: &Value) -> Vec<f64> {
    let values = v.as_array().unwrap().iter();
    values.map(|x| x.as_f64().unwrap()).collect()
}

fn record(learnable: bool, init: InitKind, seed: u32, accuracy: f64) -> RunRecord {
    RunRecord {
        cell: Cell {
            learnable,
            init,
            head: HeadKind::Linear,
            train_size: 100,
            seed,
        },
        test_accuracy: accuracy,
        final_train_loss: 0.1,
        epochs: 1,
        wall_seconds: 1.0,
        final_train_accuracy: None,
        test_curve: vec![],
        initial_bank: None,
        final_bank: None,
        final_aliasing: None,
    }
}

/// The docs/results.md p-values come from `paired_differences`: records whose differences are
/// the table's give SciPy's p-values and Holm adjustments, in the table's row order.
#[test]
fn paired_differences_carry_p_values_and_holm_over_the_table() {
    let f = fixture();
    let mut published = f["families"].as_array().unwrap().iter();
    let published = published.find(|f| f["name"] == "docs/results.md").unwrap();
    let mut records = Vec::new();
    let mut expected = Vec::new();
    for row in published["rows"].as_array().unwrap() {
        let label = row["label"].as_str().unwrap();
        let init = if label.starts_with("TF") {
            InitKind::TightFrame
        } else {
            InitKind::Random
        };
        let size: usize = label.split(' ').nth(1).unwrap().parse().unwrap();
        for (seed, d) in floats(&row["differences"]).into_iter().enumerate() {
            let mut fixed = record(false, init, seed as u32, 0.8);
            fixed.cell.train_size = size;
            let mut learned = fixed.clone();
            learned.cell.learnable = true;
            // Accuracies in [0, 1]; differences in points.
            learned.test_accuracy = 0.8 + d / 100.0;
            records.extend([fixed, learned]);
        }
        expected.push((
            init,
            size,
            row["p_value"].as_f64().unwrap(),
            row["holm"].as_f64().unwrap(),
        ));
    }
    let rows = paired_differences(&records);
    assert_eq!(rows.len(), expected.len());
    for (init, size, p, holm) in expected {
        let r = rows
            .iter()
            .find(|r| r.init == init && r.train_size == size)
            .unwrap();
        assert!(
            close(r.p_value, p, 1e-6),
            "{init:?} {size}: p {} vs {p}",
            r.p_value
        );
        assert!(
            close(r.holm_p_value, holm, 1e-6),
            "{init:?} {size}: Holm {}",
            r.holm_p_value
        );
    }
    let md = paired_table(&rows, "Paired differences LS − S");
    assert!(
        md.contains("| Rand | 500 | 10 | +0.38 | [+0.20, +0.55] | 10/10 | 0.0009 | 0.0051 |"),
        "{md}"
    );
}
