//! Parameter distance between two filter banks, after an optimal one-to-one matching of their
//! wavelets ("Parametric Scattering Networks", `helpers.logComparison`).
//!
//! ```text
//! d(a, b) = ‖(ξ_a, σ_a, γ_a) − (ξ_b, σ_b, γ_b)‖₂ + arc(θ_a, θ_b)
//! arc(α, β) = min(δ, 2π − δ),  δ = |α − β| mod 2π        (in [0, π])
//! D(A, B) = min over permutations π of Σ_n d(a_n, b_π(n))   (Hungarian algorithm)
//! ```
//!
//! `γ` is the slant. The units are mixed, as in the reference: pixels (`σ`), radians per pixel
//! (`ξ`), none (`γ`) and radians (`θ`). θ is compared modulo 2π, not π, as in the reference: a
//! wavelet and its mirror `θ + π` count as different even though, on real signals, they give
//! the same modulus.

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::Path;

use ndarray::Array2;
use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};

use crate::error::{Result, ScatterError, io_error};
use crate::filters::{FilterBankParams, MorletParams};

/// Arc distance between two angles on the circle, `min(δ, 2π − δ)` with `δ = |α − β| mod 2π`;
/// in `[0, π]`, radians.
pub fn arc_distance(alpha: f64, beta: f64) -> f64 {
    let d = (alpha - beta).rem_euclid(2.0 * PI);
    d.min(2.0 * PI - d)
}

/// The two parts of the distance between two wavelets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterDistance {
    /// Euclidean distance on `(ξ, σ, γ)`.
    pub euclidean: f64,
    /// Arc distance on `θ` modulo 2π, radians.
    pub arc: f64,
}

impl FilterDistance {
    /// Between wavelets `a` and `b`.
    pub fn between(a: &MorletParams, b: &MorletParams) -> Self {
        let (dx, ds, dg) = (a.xi - b.xi, a.sigma - b.sigma, a.slant - b.slant);
        Self {
            euclidean: (dx * dx + ds * ds + dg * dg).sqrt(),
            arc: arc_distance(a.theta, b.theta),
        }
    }

    /// `euclidean + arc`.
    pub fn total(&self) -> f64 {
        self.euclidean + self.arc
    }
}

/// Distance `d(a, b) = ‖Δ(ξ, σ, γ)‖₂ + arc(θ_a, θ_b)` between two wavelets.
pub fn filter_distance(a: &MorletParams, b: &MorletParams) -> f64 {
    FilterDistance::between(a, b).total()
}

/// Total cost below which the integer costs of [`min_cost_assignment`] are kept: `2^52`, the
/// `f64` mantissa, far below `i64::MAX` so that the algorithm's sums of labels cannot overflow.
const INTEGER_COST_BUDGET: f64 = 4_503_599_627_370_496.0;

/// An assignment of rows to columns of a cost matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// `columns[r]`: the column assigned to row `r`, all distinct.
    pub columns: Vec<usize>,
    /// `Σ_r cost[r, columns[r]]`, computed in `f64` from the original costs.
    pub total: f64,
}

/// Minimum-cost assignment of every row of `cost` (shape `[rows, cols]`, `rows ≤ cols`) to a
/// distinct column, by the Hungarian (Kuhn–Munkres) algorithm, `O(n³)`.
///
/// The solver (`pathfinding::kuhn_munkres`) needs exactly ordered weights, so the costs are
/// rounded to integer multiples of `q = rows·max|cost| / 2^52` (about `2.2e-16·rows·max|cost|`);
/// the result is optimal for the rounded costs, hence within `rows·q` of the exact optimum, and
/// its total is recomputed from the exact costs.
///
/// # Errors
/// [`ScatterError::InvalidShape`] if `rows > cols`, [`ScatterError::InvalidParameter`] if a cost
/// is not finite.
pub fn min_cost_assignment(cost: &Array2<f64>) -> Result<Assignment> {
    let (rows, cols) = cost.dim();
    if rows > cols {
        return Err(ScatterError::InvalidShape {
            expected: vec![Some(rows), None],
            got: vec![rows, cols],
        });
    }
    if rows == 0 {
        return Ok(Assignment {
            columns: vec![],
            total: 0.0,
        });
    }
    if let Some(v) = cost.iter().find(|v| !v.is_finite()) {
        return Err(ScatterError::InvalidParameter {
            name: "cost",
            value: v.to_string(),
            reason: "assignment costs must be finite",
        });
    }
    let max = cost.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 {
        INTEGER_COST_BUDGET / (max * rows as f64)
    } else {
        1.0
    };
    let weights = Matrix::from_vec(
        rows,
        cols,
        cost.iter().map(|&v| (v * scale).round() as i64).collect(),
    )
    .expect("rows·cols values");
    let (_, columns) = kuhn_munkres_min(&weights);
    let total = columns.iter().enumerate().map(|(r, &c)| cost[[r, c]]).sum();
    Ok(Assignment { columns, total })
}

/// One matched pair of wavelets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchedPair {
    /// Index `n = j·L + l` of the wavelet in the first bank.
    pub index_a: usize,
    /// Index of its partner in the second bank.
    pub index_b: usize,
    /// The distance of the pair, split in its two parts.
    pub distance: FilterDistance,
}

/// The optimal matching of two banks and its cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BankDistance {
    /// One pair per wavelet of the first bank, in its slot order.
    pub pairs: Vec<MatchedPair>,
    /// `D(A, B) = Σ d` over the pairs: the minimum over all one-to-one matchings.
    pub total: f64,
}

impl BankDistance {
    /// Mean distance per matched pair, `total / pairs` (0 for no pair).
    pub fn mean(&self) -> f64 {
        if self.pairs.is_empty() {
            0.0
        } else {
            self.total / self.pairs.len() as f64
        }
    }

    /// CSV text: header `index_a,index_b,euclidean_xi_sigma_slant,arc_theta,distance`, one row per
    /// pair, then a row `total,,,,D`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("index_a,index_b,euclidean_xi_sigma_slant,arc_theta,distance\n");
        for p in &self.pairs {
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                p.index_a,
                p.index_b,
                p.distance.euclidean,
                p.distance.arc,
                p.distance.total()
            );
        }
        let _ = writeln!(out, "total,,,,{}", self.total);
        out
    }

    /// Writes [`BankDistance::to_csv`] to `path`.
    ///
    /// # Errors
    /// [`ScatterError::Io`] if the file cannot be written.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_csv()).map_err(io_error(path))
    }
}

/// Optimal one-to-one matching of the wavelets of `a` and `b` under [`filter_distance`], and its
/// total cost. The banks may differ in `J` and `L` but must hold as many wavelets.
///
/// # Errors
/// [`ScatterError::FilterCount`] if the banks hold different numbers of wavelets.
pub fn bank_distance(a: &FilterBankParams, b: &FilterBankParams) -> Result<BankDistance> {
    let (wa, wb) = (a.wavelets(), b.wavelets());
    if wa.len() != wb.len() {
        return Err(ScatterError::FilterCount {
            expected: wa.len(),
            got: wb.len(),
        });
    }
    let cost = Array2::from_shape_fn((wa.len(), wb.len()), |(i, k)| {
        filter_distance(&wa[i], &wb[k])
    });
    let assignment = min_cost_assignment(&cost)?;
    let pairs = assignment
        .columns
        .iter()
        .enumerate()
        .map(|(i, &k)| MatchedPair {
            index_a: i,
            index_b: k,
            distance: FilterDistance::between(&wa[i], &wb[k]),
        })
        .collect();
    Ok(BankDistance {
        pairs,
        total: assignment.total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_distance_wraps_around() {
        assert!((arc_distance(0.1, 2.0 * PI - 0.1) - 0.2).abs() < 1e-12);
        assert!((arc_distance(-0.1, 0.1) - 0.2).abs() < 1e-12);
        assert!((arc_distance(0.0, PI) - PI).abs() < 1e-12);
        assert!(arc_distance(1.0, 1.0 + 4.0 * PI).abs() < 1e-12);
        assert!((arc_distance(3.0, -3.0) - (2.0 * PI - 6.0)).abs() < 1e-12);
    }

    #[test]
    fn filter_distance_adds_both_parts() {
        let a = MorletParams {
            sigma: 1.0,
            xi: 1.0,
            theta: 0.0,
            slant: 1.0,
        };
        let b = MorletParams {
            sigma: 4.0,
            xi: 5.0,
            theta: 2.0 * PI - 0.5,
            slant: 1.0,
        };
        assert!((filter_distance(&a, &b) - (5.0 + 0.5)).abs() < 1e-12);
    }

    #[test]
    fn assignment_rejects_bad_input() {
        assert!(min_cost_assignment(&Array2::zeros((3, 2))).is_err());
        let mut c = Array2::zeros((2, 2));
        c[[1, 0]] = f64::NAN;
        assert!(min_cost_assignment(&c).is_err());
        let a = min_cost_assignment(&Array2::zeros((0, 0))).unwrap();
        assert!(a.columns.is_empty());
    }

    #[test]
    fn rectangular_assignment_picks_the_cheapest_columns() {
        let c = ndarray::array![[5.0, 1.0, 9.0], [1.0, 2.0, 9.0]];
        let a = min_cost_assignment(&c).unwrap();
        assert_eq!(a.columns, vec![1, 0]);
        assert_eq!(a.total, 2.0);
    }
}
