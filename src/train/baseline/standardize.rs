//! Per-feature standardisation, fitted on a training set and applied to any set.

use ndarray::{Array2, ArrayView2, Axis};

/// Per-feature standardisation fitted on a training set: `(x − mean) / std`, with `std = 1` for
/// constant features (which then become 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Standardizer {
    /// Mean and (population) standard deviation of every column of `x` (`[n, d]`).
    pub fn fit(x: ArrayView2<'_, f64>) -> Self {
        let n = x.nrows().max(1) as f64;
        let mean: Vec<f64> = x.sum_axis(Axis(0)).iter().map(|s| s / n).collect();
        let std = x
            .axis_iter(Axis(1))
            .zip(&mean)
            .map(|(col, m)| {
                let var = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
                if var > 0.0 { var.sqrt() } else { 1.0 }
            })
            .collect();
        Self { mean, std }
    }

    /// `x` standardised with the fitted statistics.
    ///
    /// # Panics
    /// If `x` has another number of columns than the fitted data.
    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            x.ncols(),
            self.mean.len(),
            "standardiser fitted on other features"
        );
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
        out
    }
}
