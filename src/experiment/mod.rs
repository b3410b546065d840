//! Experiment bookkeeping, without burn: the grid of the paper ({learnable, fixed} ×
//! {tight-frame, random init} × heads × training-set sizes × seeds), one resumable JSON-lines
//! log of finished runs, the paper's seeds and published numbers, the statistics over seeds
//! (mean ± std, t-intervals, paired t-tests, Holm's correction) and the Markdown/CSV tables.
//! Training the cells is `train::experiment::run_experiment` (feature `train`); everything here
//! also reads and summarises logs written elsewhere.
//!
//! ```text
//! Grid ──cells──▶ Cell ──(train)──▶ RunRecord ──RunLog::append──▶ runs.jsonl
//! runs.jsonl ──read_jsonl──▶ [RunRecord] ──summarize / paired_differences──▶ tables
//! ```

mod grid;
mod paper;
#[cfg(feature = "train")]
mod run;
mod runlog;
pub(crate) mod stats;
mod summary;

pub use grid::{Cell, Grid, HeadKind, RunRecord};
pub use paper::{CIFAR10_SEEDS, KTH_SEEDS, PaperDataset};
#[cfg(feature = "train")]
pub(crate) use run::{cell_slug, run_grid};
pub use runlog::{RunLog, read_jsonl};
pub use summary::{
    PairedRow, SummaryRow, markdown_table, paired_differences, paired_table, summarize,
    write_summaries,
};
