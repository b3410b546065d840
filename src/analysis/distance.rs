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

use ndarray::Array2;
use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};

use crate::error::{Result, ScatterError};
use crate::filters::{FilterBankParams, MorletParams};

/// Arc distance between two angles on the circle, `min(δ, 2π − δ)` with `δ = |α − β| mod 2π`;
/// in `[0, π]`, radians.
pub(crate) fn arc_distance(alpha: f64, beta: f64) -> f64 {
    let d = (alpha - beta).rem_euclid(2.0 * PI);
    d.min(2.0 * PI - d)
}

/// The two parts of the distance between two wavelets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FilterDistance {
    /// Euclidean distance on `(ξ, σ, γ)`.
    euclidean: f64,
    /// Arc distance on `θ` modulo 2π, radians.
    arc: f64,
}

impl FilterDistance {
    /// Between wavelets `a` and `b`.
    fn between(a: &MorletParams, b: &MorletParams) -> Self {
        let (dx, ds, dg) = (a.xi - b.xi, a.sigma - b.sigma, a.slant - b.slant);
        Self {
            euclidean: (dx * dx + ds * ds + dg * dg).sqrt(),
            arc: arc_distance(a.theta, b.theta),
        }
    }

    /// `euclidean + arc`.
    fn total(&self) -> f64 {
        self.euclidean + self.arc
    }
}

/// Distance `d(a, b) = ‖Δ(ξ, σ, γ)‖₂ + arc(θ_a, θ_b)` between two wavelets.
fn filter_distance(a: &MorletParams, b: &MorletParams) -> f64 {
    FilterDistance::between(a, b).total()
}

/// Total cost below which the integer costs of [`min_cost_assignment`] are kept: `2^52`, the
/// `f64` mantissa, far below `i64::MAX` so that the algorithm's sums of labels cannot overflow.
const INTEGER_COST_BUDGET: f64 = 4_503_599_627_370_496.0;

/// An assignment of rows to columns of a cost matrix.
#[derive(Clone, Debug, PartialEq)]
struct Assignment {
    /// `columns[r]`: the column assigned to row `r`, all distinct.
    columns: Vec<usize>,
    /// `Σ_r cost[r, columns[r]]`, computed in `f64` from the original costs.
    total: f64,
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
fn min_cost_assignment(cost: &Array2<f64>) -> Result<Assignment> {
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
pub(crate) struct MatchedPair {
    /// Index `n = j·L + l` of the wavelet in the first bank.
    pub(crate) index_a: usize,
    /// Index of its partner in the second bank.
    pub(crate) index_b: usize,
    /// The distance of the pair, split in its two parts.
    pub(crate) distance: FilterDistance,
}

/// The optimal (Hungarian) matching of the wavelets of two filter banks and its cost, under
/// the distance `d(a, b) = ‖(ξ_a, σ_a, γ_a) − (ξ_b, σ_b, γ_b)‖₂ + arc(θ_a, θ_b)` (θ modulo 2π).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BankDistance {
    /// One pair per wavelet of the first bank, in its slot order.
    pub(crate) pairs: Vec<MatchedPair>,
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
    pub(crate) fn to_csv(&self) -> String {
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
}

/// Optimal one-to-one matching of the wavelets of `a` and `b` under [`filter_distance`], and its
/// total cost. The banks may differ in `J` and `L` but must hold as many wavelets.
///
/// # Errors
/// [`ScatterError::FilterCount`] if the banks hold different numbers of wavelets.
pub(crate) fn bank_distance(a: &FilterBankParams, b: &FilterBankParams) -> Result<BankDistance> {
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

    fn brute_force_min(cost: &Array2<f64>) -> f64 {
        fn rec(cost: &Array2<f64>, row: usize, used: &mut Vec<bool>) -> f64 {
            if row == cost.nrows() {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for c in 0..cost.ncols() {
                if !used[c] {
                    used[c] = true;
                    best = best.min(cost[[row, c]] + rec(cost, row + 1, used));
                    used[c] = false;
                }
            }
            best
        }
        rec(cost, 0, &mut vec![false; cost.ncols()])
    }

    #[test]
    fn hungarian_finds_the_known_optimum() {
        // Greedy row by row takes (0,0)=1, (1,2)=2, (2,1)=7: 10. The six permutations cost
        // 19, 10, 14, 7, 18, 20: the unique optimum is columns [1, 2, 0], 2 + 2 + 3 = 7.
        let cost = ndarray::array![[1.0, 2.0, 8.0], [3.0, 9.0, 2.0], [3.0, 7.0, 9.0]];
        let a = min_cost_assignment(&cost).unwrap();
        assert_eq!(a.columns, vec![1, 2, 0]);
        assert_eq!(a.total, 7.0);
        assert_eq!(brute_force_min(&cost), 7.0);

        // Non-integer costs: a seeded pseudo-random 6x6 against brute force.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let cost = Array2::from_shape_fn((6, 6), |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f64 / 997.0
        });
        let a = min_cost_assignment(&cost).unwrap();
        assert!((a.total - brute_force_min(&cost)).abs() < 1e-12);
        let mut cols = a.columns.clone();
        cols.sort_unstable();
        assert_eq!(cols, (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn a_bank_is_at_distance_zero_from_a_permutation_of_itself() {
        let bank = FilterBankParams::random(2, 8, 11).unwrap();
        let mut permuted: Vec<MorletParams> = bank.wavelets().to_vec();
        permuted.reverse();
        permuted.swap(0, 5);
        // θ is compared modulo 2π.
        permuted[3].theta += 2.0 * PI;
        permuted[7].theta -= 4.0 * PI;
        let other = FilterBankParams::from_wavelets(2, 8, permuted.clone()).unwrap();
        let d = bank_distance(&bank, &other).unwrap();
        assert!(d.total.abs() < 1e-12, "{}", d.total);
        for p in &d.pairs {
            let (a, b) = (&bank.wavelets()[p.index_a], &permuted[p.index_b]);
            assert_eq!((a.sigma, a.xi, a.slant), (b.sigma, b.xi, b.slant));
        }
        // And a known non-zero case: the tight frame against itself with one ξ moved by 0.5 and one
        // θ by 0.25 costs exactly 0.75 (moving them is cheaper than any re-matching).
        let tf = FilterBankParams::tight_frame(2, 4).unwrap();
        let mut w = tf.wavelets().to_vec();
        w[2].xi += 0.5;
        w[5].theta += 0.25;
        let moved = FilterBankParams::from_wavelets(2, 4, w).unwrap();
        let d = bank_distance(&tf, &moved).unwrap();
        assert!((d.total - 0.75).abs() < 1e-12, "{}", d.total);
        assert_eq!(d.pairs[2].index_b, 2);
        assert_eq!(d.pairs[5].index_b, 5);
        // Different sizes are rejected.
        assert!(bank_distance(&tf, &bank).is_err());
    }
}
