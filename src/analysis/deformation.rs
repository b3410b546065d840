//! Deformation stability: `‖S(x) − S(τx)‖ / ‖S(x)‖` against the strength of a deformation `τ`,
//! compared with the mean distance between unrelated images ("Parametric Scattering Networks",
//! `evaluate_deformed_representation.py`; reference §4.4). The warps are in `super::warp`.
//!
//! # Curves
//! For strengths `s_k = k·max/n`, `k = 0..n` (the reference's `torch.arange(0, max, max/n)`,
//! `n = 20`), the curve is the mean over the deformed images of `‖S(x) − S(τ_{s_k}x)‖ / ‖S(x)‖`,
//! with `S` the full scattering output (all orders) flattened and the Euclidean norm. The
//! baseline is the mean of `‖S(x) − S(y)‖ / ‖S(x)‖` over all ordered pairs `x ≠ y` of a set of
//! unrelated images.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::{Array2, Array4, Axis};
use serde::{Deserialize, Serialize};

use super::plot::{LinePlot, Series, render_line_plots};
use super::render::category_color;
use super::warp::{Deformation, deformed_window};
use crate::cascade::Scattering2dPlan;
use crate::error::{Result, ScatterError};

/// Scattering coefficients of each image, flattened: one `Vec` of length `K·h_out·w_out` per
/// image (images of the plan's size, scattered as one batch).
///
/// # Errors
/// As [`Scattering2dPlan::transform`].
fn scatter_flat(plan: &Scattering2dPlan<f64>, images: &[Array2<f64>]) -> Result<Vec<Vec<f64>>> {
    let (h, w) = (plan.geometry().height, plan.geometry().width);
    let mut batch = Array4::<f64>::zeros((images.len(), 1, h, w));
    for (mut dst, src) in batch.axis_iter_mut(Axis(0)).zip(images) {
        if src.dim() != (h, w) {
            return Err(ScatterError::InvalidShape {
                expected: vec![Some(h), Some(w)],
                got: src.shape().to_vec(),
            });
        }
        dst.index_axis_mut(Axis(0), 0).assign(src);
    }
    let out = plan.transform(batch.view())?;
    Ok(out
        .axis_iter(Axis(0))
        .map(|s| s.iter().copied().collect())
        .collect())
}

/// `‖a − b‖₂ / ‖a‖₂` (∞ if `a = 0` and `b ≠ a`, 0 if both are 0).
fn relative_distance(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = a.iter().map(|x| x * x).sum();
    if num == 0.0 { 0.0 } else { (num / den).sqrt() }
}

/// Mean of `‖S(x) − S(y)‖ / ‖S(x)‖` over all ordered pairs `x ≠ y` of `images` (each of the plan's
/// input size); 0 for fewer than two images.
///
/// # Errors
/// As [`scatter_flat`].
pub(crate) fn baseline_distance(
    plan: &Scattering2dPlan<f64>,
    images: &[Array2<f64>],
) -> Result<f64> {
    let s = scatter_flat(plan, images)?;
    let mut sum = 0.0;
    let mut count = 0usize;
    for (i, a) in s.iter().enumerate() {
        for (k, b) in s.iter().enumerate() {
            if i != k {
                sum += relative_distance(a, b);
                count += 1;
            }
        }
    }
    Ok(if count == 0 { 0.0 } else { sum / count as f64 })
}

/// Mean over `sources` of `‖S(x) − S(τx)‖ / ‖S(x)‖` at each strength, where `x` and `τx` are
/// [`deformed_window`]s of the plan's input size, `factor` times coarser than the sources.
///
/// # Errors
/// As [`scatter_flat`]; [`ScatterError::InvalidShape`] if a source is smaller than the
/// `factor`-times larger window.
pub(crate) fn deformation_curve(
    plan: &Scattering2dPlan<f64>,
    sources: &[Array2<f64>],
    factor: usize,
    deformation: Deformation,
    strengths: &[f64],
) -> Result<Vec<f64>> {
    let (h, w) = (plan.geometry().height, plan.geometry().width);
    let f = factor.max(1);
    if let Some(src) = sources
        .iter()
        .find(|a| a.nrows() < h * f || a.ncols() < w * f)
    {
        return Err(ScatterError::InvalidShape {
            expected: vec![Some(h * f), Some(w * f)],
            got: src.shape().to_vec(),
        });
    }
    let window = |a: &Array2<f64>, s: f64| deformed_window(a.view(), (h, w), f, deformation, s);
    let clean: Vec<Array2<f64>> = sources.iter().map(|a| window(a, 0.0)).collect();
    let reference = scatter_flat(plan, &clean)?;
    strengths
        .iter()
        .map(|&s| {
            let deformed: Vec<Array2<f64>> = sources.iter().map(|a| window(a, s)).collect();
            let sd = scatter_flat(plan, &deformed)?;
            Ok(reference
                .iter()
                .zip(&sd)
                .map(|(a, b)| relative_distance(a, b))
                .sum::<f64>()
                / sources.len().max(1) as f64)
        })
        .collect()
}

/// The reference's strength levels `k·max/n`, `k = 0..n` (`torch.arange(0, max, max/n)`; `max`
/// itself excluded).
pub(crate) fn strength_levels(max: f64, n: usize) -> Vec<f64> {
    (0..n).map(|k| k as f64 * max / n as f64).collect()
}

/// The stability curve of one filter bank under one deformation family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StabilityCurve {
    /// Name of the filter bank (legend and CSV column).
    pub bank: String,
    /// The deformation family.
    pub deformation: Deformation,
    /// Strengths, in the family's unit ([`Deformation::unit`]).
    pub strengths: Vec<f64>,
    /// Mean `‖S(x) − S(τx)‖ / ‖S(x)‖` at each strength.
    pub distances: Vec<f64>,
    /// Mean `‖S(x) − S(y)‖ / ‖S(x)‖` over unrelated pairs.
    pub baseline: f64,
}

/// CSV text of curves of one family that share their strengths: header
/// `strength,<bank>,...,<bank>_baseline,...`, one row per strength.
///
/// # Panics
/// If the curves do not share the strengths of the first one.
pub(crate) fn stability_csv(curves: &[StabilityCurve]) -> String {
    let mut out = String::from("strength");
    for c in curves {
        let _ = write!(out, ",{}", c.bank);
    }
    for c in curves {
        let _ = write!(out, ",{}_baseline", c.bank);
    }
    out.push('\n');
    let strengths = curves
        .first()
        .map(|c| c.strengths.clone())
        .unwrap_or_default();
    for (k, s) in strengths.iter().enumerate() {
        let _ = write!(out, "{s}");
        for c in curves {
            assert_eq!(c.strengths, strengths, "curves with different strengths");
            let _ = write!(out, ",{}", c.distances[k]);
        }
        for c in curves {
            let _ = write!(out, ",{}", c.baseline);
        }
        out.push('\n');
    }
    out
}

/// Size `(width, height)` in pixels of the PNG that [`render_stability`] writes: `(720, 480)`.
pub(crate) const STABILITY_PNG_SIZE: (u32, u32) = (720, 480);

/// Writes the curves of one family as a PNG line plot: one solid line per bank, its baseline as
/// a dashed horizontal line of the same colour. Returns [`STABILITY_PNG_SIZE`].
///
/// # Errors
/// [`RenderError::Plot`](super::RenderError::Plot) or [`RenderError::Image`](super::RenderError::Image) if drawing or writing fails.
pub(crate) fn render_stability(
    path: impl AsRef<Path>,
    curves: &[StabilityCurve],
) -> Result<(u32, u32)> {
    let deformation = curves
        .first()
        .map_or(Deformation::Rotation, |c| c.deformation);
    let mut series = Vec::new();
    for (i, c) in curves.iter().enumerate() {
        let color = category_color(i);
        series.push(Series {
            label: Some(c.bank.clone()),
            points: c
                .strengths
                .iter()
                .copied()
                .zip(c.distances.iter().copied())
                .collect(),
            color,
            dashed: false,
        });
        let (lo, hi) = (
            c.strengths.first().copied().unwrap_or(0.0),
            c.strengths.last().copied().unwrap_or(1.0),
        );
        series.push(Series {
            label: Some(format!("{} baseline (unrelated images)", c.bank)),
            points: vec![(lo, c.baseline), (hi, c.baseline)],
            color,
            dashed: true,
        });
    }
    let plot = LinePlot {
        title: format!("deformation stability: {}", deformation.name()),
        x_label: format!("strength ({})", deformation.unit()),
        y_label: "‖S(x) − S(τx)‖ / ‖S(x)‖".into(),
        series,
    };
    render_line_plots(path, &[plot], 1, STABILITY_PNG_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::warp::{downsample, load_gray, warp};
    use crate::filters::FilterBankParams;
    use crate::geometry::ScatteringOptions;

    #[test]
    fn levels_follow_arange() {
        assert_eq!(strength_levels(10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn relative_distance_edge_cases() {
        assert_eq!(relative_distance(&[0.0, 0.0], &[0.0, 0.0]), 0.0);
        assert_eq!(relative_distance(&[3.0, 4.0], &[3.0, 4.0]), 0.0);
        assert!((relative_distance(&[3.0, 4.0], &[0.0, 0.0]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn csv_layout() {
        let c = |bank: &str, b| StabilityCurve {
            bank: bank.into(),
            deformation: Deformation::Shear,
            strengths: vec![0.0, 1.0],
            distances: vec![0.0, 0.5],
            baseline: b,
        };
        let csv = stability_csv(&[c("fixed", 1.0), c("learned", 2.0)]);
        assert_eq!(
            csv,
            "strength,fixed,learned,fixed_baseline,learned_baseline\n0,0,0,1,2\n1,0.5,0.5,1,2\n"
        );
    }

    /// The central 256x256 window of the brick texture, normalised: analysed 2x coarser, a 64x64
    /// window with a 32-pixel margin.
    fn brick() -> Array2<f64> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/brick.png");
        let img = load_gray(path).unwrap();
        let w = img.slice(ndarray::s![128..384, 128..384]).to_owned();
        let (m, s) = (w.mean().unwrap(), w.std(0.0));
        w.mapv(|v| (v - m) / s)
    }

    #[test]
    fn zero_deformation_gives_zero_distance_and_curves_grow_on_a_real_image() {
        let src = vec![brick()];
        for bank in [
            FilterBankParams::tight_frame(2, 8).unwrap(),
            FilterBankParams::random(2, 8, 0).unwrap(),
        ] {
            let options = ScatteringOptions::new(2, 8).unwrap();
            let plan = Scattering2dPlan::<f64>::with_filter_bank(64, 64, options, bank).unwrap();
            for d in Deformation::ALL {
                let max = d.reference_max_strength(64);
                let strengths = [0.0, 0.25 * max, 0.5 * max, max];
                let curve = deformation_curve(&plan, &src, 2, d, &strengths).unwrap();
                assert_eq!(curve[0], 0.0, "{d:?}");
                for k in 1..curve.len() {
                    assert!(curve[k] > curve[k - 1], "{d:?}: {curve:?}");
                }
                assert!(curve[3] > 1e-3, "{d:?}: {curve:?}");
            }
        }
        // The warp itself is the identity at strength 0, and the window a plain downsampled crop.
        let b = brick();
        assert_eq!(warp(b.view(), (256, 256), Deformation::Mallat1, 0.0), b);
        let crop = downsample(b.slice(ndarray::s![64..192, 64..192]), 2);
        assert_eq!(
            deformed_window(b.view(), (64, 64), 2, Deformation::Shear, 0.0),
            crop
        );
    }
}
