//! Converged baselines for the small-sample experiments: standardised features, multinomial
//! logistic regression with an L2 penalty trained to convergence by L-BFGS, the penalty chosen by
//! cross-validation inside the training set.
//!
//! They tell an under-trained SGD schedule apart from the representation: on fixed scattering
//! features the paper's linear head (batch norm + linear layer, SGD, a fixed number of steps) is
//! a regularised multinomial logistic regression stopped early, and this module solves the same
//! kind of model to its optimum.
//!
//! ```text
//! f(W, b) = (1/n)·Σ_i [log Σ_k exp(z_ik) − z_i,y_i] + (λ/2)·‖W‖²,   z = X·W + b
//! ∇_W f = Xᵀ·(P − Y)/n + λ·W,   ∇_b f = Σ_i (P_i − Y_i)/n,   P = softmax(z)
//! ```
//!
//! The solver is argmin's L-BFGS with a Moré–Thuente line search: a well-kept implementation,
//! small in dependencies, on plain `Vec<f64>` parameters.

use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::train::TrainingError;

mod standardize;
mod tables;

pub(crate) use standardize::Standardizer;
pub use tables::{BaselineRecord, baseline_tables};

/// How to train one model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct LogisticOptions {
    /// L2 strength `λ` on the weights (not on the biases).
    pub l2: f64,
    /// Stop when the gradient's Euclidean norm is below this.
    pub tolerance: f64,
    /// Iteration limit.
    pub max_iterations: u64,
}

impl LogisticOptions {
    /// `λ = l2`, gradient tolerance `1e-6`, at most 5000 iterations.
    pub fn new(l2: f64) -> Self {
        Self {
            l2,
            tolerance: 1e-6,
            max_iterations: 5000,
        }
    }
}

/// A trained multinomial logistic regression.
#[derive(Clone, Debug)]
pub(crate) struct LogisticModel {
    /// Weights `[d, classes]`.
    pub weights: Array2<f64>,
    /// Biases `[classes]`.
    pub biases: Vec<f64>,
    /// L-BFGS iterations run.
    pub iterations: u64,
    /// Norm of the gradient at the solution.
    pub gradient_norm: f64,
    /// Whether the gradient tolerance was reached (otherwise the iteration limit, or the line
    /// search could make no further progress).
    pub converged: bool,
}

impl LogisticModel {
    /// Trains on `x` (`[n, d]`) with labels `y` in `0..classes`.
    ///
    /// # Errors
    /// [`TrainingError`] for mismatched sizes, a label out of range, no sample,
    /// or a non-finite feature; the solver's own failure, as the same variant.
    pub fn fit(
        x: ArrayView2<'_, f64>,
        y: &[usize],
        classes: usize,
        options: &LogisticOptions,
    ) -> Result<Self> {
        check_data(x, y, classes, "training features")?;
        if !(options.l2.is_finite() && options.l2 >= 0.0) {
            return Err(TrainingError::Setting {
                name: "l2".into(),
                expected: "finite and non-negative",
                given: options.l2.to_string(),
            }
            .into());
        }
        let d = x.ncols();
        let problem = Objective {
            x,
            y,
            classes,
            l2: options.l2,
            last: Mutex::new(None),
        };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
            .with_tolerance_grad(options.tolerance)
            .and_then(|s| s.with_tolerance_cost(0.0))
            .map_err(|e| TrainingError::Solver(e.to_string()))?;
        let result = Executor::new(problem, solver)
            .configure(|state| {
                state
                    .param(vec![0.0; (d + 1) * classes])
                    .max_iters(options.max_iterations)
            })
            .run()
            .map_err(|e| TrainingError::Solver(e.to_string()))?;
        let state = result.state();
        let param = state
            .get_best_param()
            .or(state.get_param())
            .cloned()
            .ok_or_else(|| TrainingError::Solver("returned no solution".into()))?;
        let (_, gradient) = result
            .problem
            .problem
            .as_ref()
            .map_or_else(|| (f64::NAN, vec![]), |p| p.evaluate(&param));
        let gradient_norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
        let converged = matches!(
            state.get_termination_reason(),
            Some(TerminationReason::SolverConverged)
        ) || gradient_norm < options.tolerance;
        let weights = Array2::from_shape_vec((d, classes), param[..d * classes].to_vec())
            .expect("d·k weights");
        Ok(Self {
            weights,
            biases: param[d * classes..].to_vec(),
            iterations: state.get_iter(),
            gradient_norm,
            converged,
        })
    }

    /// The most likely class of every row of `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Vec<usize> {
        let z = x.dot(&self.weights);
        z.rows()
            .into_iter()
            .map(|row| {
                row.iter()
                    .zip(&self.biases)
                    .map(|(a, b)| a + b)
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |best, (k, v)| {
                        if v > best.1 { (k, v) } else { best }
                    })
                    .0
            })
            .collect()
    }

    /// Fraction of rows of `x` predicted as their label.
    pub fn accuracy(&self, x: ArrayView2<'_, f64>, y: &[usize]) -> f64 {
        let p = self.predict(x);
        p.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len().max(1) as f64
    }
}

fn check_data(
    x: ArrayView2<'_, f64>,
    y: &[usize],
    classes: usize,
    set: &'static str,
) -> Result<()> {
    if x.nrows() != y.len() || y.is_empty() || classes == 0 {
        return Err(TrainingError::Features {
            rows: x.nrows(),
            labels: y.len(),
            classes,
        }
        .into());
    }
    if let Some((index, &label)) = y.iter().enumerate().find(|&(_, &l)| l >= classes) {
        return Err(TrainingError::LabelOutOfRange {
            set,
            index,
            label,
            classes,
        }
        .into());
    }
    if let Some(((row, column), &value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(TrainingError::NonFiniteFeature { row, column, value }.into());
    }
    Ok(())
}

/// The objective of the module documentation, with the last evaluation kept (argmin asks for the
/// cost and the gradient at the same point separately).
struct Objective<'a> {
    x: ArrayView2<'a, f64>,
    y: &'a [usize],
    classes: usize,
    l2: f64,
    last: Mutex<Option<Evaluation>>,
}

/// A point, the objective there and its gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

impl Objective<'_> {
    fn evaluate(&self, param: &[f64]) -> (f64, Vec<f64>) {
        if let Some((p, c, g)) = self.last.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && p.as_slice() == param
        {
            return (*c, g.clone());
        }
        let (n, d, k) = (self.x.nrows(), self.x.ncols(), self.classes);
        let w = ArrayView2::from_shape((d, k), &param[..d * k]).expect("d·k weights");
        let b = &param[d * k..];
        let mut z = self.x.dot(&w);
        let mut loss = 0.0;
        for (mut row, &label) in z.rows_mut().into_iter().zip(self.y) {
            row.iter_mut().zip(b).for_each(|(v, bias)| *v += bias);
            let max = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
            let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
            loss += max + sum.ln() - row[label];
            // Row becomes P − Y.
            row.iter_mut().for_each(|v| *v = (*v - max).exp() / sum);
            row[label] -= 1.0;
        }
        let inv_n = 1.0 / n as f64;
        let mut grad_w = self.x.t().dot(&z);
        grad_w.zip_mut_with(&w, |g, wv| *g = *g * inv_n + self.l2 * wv);
        let grad_b = z.sum_axis(Axis(0)).mapv(|v| v * inv_n);
        let cost = loss * inv_n + 0.5 * self.l2 * w.iter().map(|v| v * v).sum::<f64>();
        let mut grad: Vec<f64> = grad_w.into_iter().collect();
        grad.extend(grad_b.iter());
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((param.to_vec(), cost, grad.clone()));
        (cost, grad)
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, param: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.evaluate(param).0)
    }
}

impl Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, param: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(param).1)
    }
}

/// The L2 strengths tried by [`converged_baseline`]: `10^−5, 10^−4, …, 10^0`.
pub const L2_GRID: [f64; 6] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0];

/// Folds of the cross-validation of [`converged_baseline`].
pub const CV_FOLDS: usize = 5;

/// What [`converged_baseline`] found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineResult {
    /// The L2 strength chosen by cross-validation.
    pub l2: f64,
    /// Mean validation accuracy of every strength tried, in the order of the grid.
    pub cv_accuracy: Vec<(f64, f64)>,
    /// Accuracy on the training set of the model refitted on all of it.
    pub train_accuracy: f64,
    /// Accuracy on the test set.
    pub test_accuracy: f64,
    /// L-BFGS iterations of the final fit, the gradient norm it reached, and whether it met the
    /// tolerance.
    pub iterations: u64,
    /// Norm of the final fit's gradient.
    pub gradient_norm: f64,
    /// Whether the final fit met the gradient tolerance.
    pub converged: bool,
}

/// Standardises the features (statistics of `train` only), chooses `λ` in `grid` by
/// `folds`-fold cross-validation inside `train` (folds stratified by class, drawn with `seed`;
/// ties go to the larger `λ`), refits on all of `train` and scores on `test`.
///
/// # Errors
/// As `LogisticModel::fit`, and [`TrainingError`] if a class has fewer samples
/// than folds or the grid is empty.
#[allow(clippy::too_many_arguments)]
pub fn converged_baseline(
    train: ArrayView2<'_, f64>,
    train_labels: &[usize],
    test: ArrayView2<'_, f64>,
    test_labels: &[usize],
    classes: usize,
    grid: &[f64],
    folds: usize,
    seed: u64,
) -> Result<BaselineResult> {
    check_data(train, train_labels, classes, "training features")?;
    check_data(test, test_labels, classes, "test features")?;
    if grid.is_empty() || folds < 2 {
        let (name, expected, given) = if grid.is_empty() {
            ("grid", "at least one L2 strength", "[]".to_string())
        } else {
            ("folds", "at least 2", folds.to_string())
        };
        return Err(TrainingError::Setting {
            name: name.into(),
            expected,
            given,
        }
        .into());
    }
    let fold = stratified_folds(train_labels, classes, folds, seed)?;
    let scores: Vec<(f64, f64)> = grid
        .iter()
        .map(|&l2| {
            let accuracies: Vec<f64> = (0..folds)
                .into_par_iter()
                .map(|f| {
                    let fit_rows: Vec<usize> = (0..fold.len()).filter(|&i| fold[i] != f).collect();
                    let val_rows: Vec<usize> = (0..fold.len()).filter(|&i| fold[i] == f).collect();
                    let pick = |rows: &[usize]| -> (Array2<f64>, Vec<usize>) {
                        (
                            train.select(Axis(0), rows),
                            rows.iter().map(|&i| train_labels[i]).collect(),
                        )
                    };
                    let ((xf, yf), (xv, yv)) = (pick(&fit_rows), pick(&val_rows));
                    let scaler = Standardizer::fit(xf.view());
                    let model = LogisticModel::fit(
                        scaler.apply(xf.view()).view(),
                        &yf,
                        classes,
                        &LogisticOptions::new(l2),
                    )?;
                    Ok(model.accuracy(scaler.apply(xv.view()).view(), &yv))
                })
                .collect::<Result<_>>()?;
            Ok((l2, accuracies.iter().sum::<f64>() / folds as f64))
        })
        .collect::<Result<_>>()?;
    let (l2, _) = scores
        .iter()
        .copied()
        .fold((grid[0], f64::NEG_INFINITY), |best, (l2, acc)| {
            if acc >= best.1 { (l2, acc) } else { best }
        });
    let scaler = Standardizer::fit(train);
    let xt = scaler.apply(train);
    let model = LogisticModel::fit(xt.view(), train_labels, classes, &LogisticOptions::new(l2))?;
    Ok(BaselineResult {
        l2,
        cv_accuracy: scores,
        train_accuracy: model.accuracy(xt.view(), train_labels),
        test_accuracy: model.accuracy(scaler.apply(test).view(), test_labels),
        iterations: model.iterations,
        gradient_norm: model.gradient_norm,
        converged: model.converged,
    })
}

/// Fold of every sample: within each class, a seeded shuffle dealt round-robin.
fn stratified_folds(
    labels: &[usize],
    classes: usize,
    folds: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        if !members.is_empty() && members.len() < folds {
            return Err(TrainingError::TooFewSamples {
                class,
                samples: members.len(),
                folds,
            }
            .into());
        }
        members.shuffle(&mut rng);
        for (rank, &i) in members.iter().enumerate() {
            fold[i] = rank % folds;
        }
    }
    Ok(fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated Gaussian-ish clusters in 4 dimensions (deterministic).
    fn clusters(n_per: usize, offset: usize) -> (Array2<f64>, Vec<usize>) {
        let mut x = Array2::zeros((3 * n_per, 4));
        let mut y = Vec::new();
        for c in 0..3 {
            for i in 0..n_per {
                let r = c * n_per + i;
                for j in 0..4 {
                    let noise = (((r + offset) * 31 + j * 17) % 23) as f64 / 23.0 - 0.5;
                    x[[r, j]] = if j == c { 3.0 } else { 0.0 } + noise;
                }
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn the_solution_is_a_stationary_point_and_separates_clusters() {
        let (x, y) = clusters(20, 0);
        let model = LogisticModel::fit(x.view(), &y, 3, &LogisticOptions::new(1e-2)).unwrap();
        assert!(model.converged, "gradient norm {}", model.gradient_norm);
        assert!(model.gradient_norm < 1e-6);
        assert_eq!(model.accuracy(x.view(), &y), 1.0);
        // Central differences of the objective at the solution vanish too.
        let problem = Objective {
            x: x.view(),
            y: &y,
            classes: 3,
            l2: 1e-2,
            last: Mutex::new(None),
        };
        let mut p: Vec<f64> = model.weights.iter().copied().collect();
        p.extend(&model.biases);
        let (_, g) = problem.evaluate(&p);
        for i in [0, 5, 11, 13] {
            let h = 1e-6;
            let mut a = p.clone();
            a[i] += h;
            let mut b = p.clone();
            b[i] -= h;
            let fd = (problem.evaluate(&a).0 - problem.evaluate(&b).0) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6, "{i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn cross_validation_picks_a_strength_and_scores_the_test_set() {
        let (x, y) = clusters(10, 0);
        let (xt, yt) = clusters(10, 7);
        let r = converged_baseline(x.view(), &y, xt.view(), &yt, 3, &L2_GRID, 5, 1).unwrap();
        assert_eq!(r.cv_accuracy.len(), L2_GRID.len());
        assert!(L2_GRID.contains(&r.l2));
        assert!(r.test_accuracy > 0.9, "{r:?}");
        assert!(r.converged);
    }

    #[test]
    fn bad_data_is_refused() {
        let (x, mut y) = clusters(3, 0);
        y[0] = 7;
        assert!(LogisticModel::fit(x.view(), &y, 3, &LogisticOptions::new(0.1)).is_err());
        let (x, y) = clusters(3, 0);
        let e = converged_baseline(x.view(), &y, x.view(), &y, 3, &L2_GRID, 5, 0).unwrap_err();
        assert!(e.to_string().contains("fewer than the 5 folds"), "{e}");
    }
}
