//! Deformation stability: `‖S(x) − S(τx)‖ / ‖S(x)‖` against the strength of a deformation `τ`,
//! compared with the mean distance between unrelated images ("Parametric Scattering Networks",
//! `evaluate_deformed_representation.py`; reference §4.4).
//!
//! # Warps
//! A deformed image is `τx(p) = x(p − τ(p))`: each output pixel `p` reads the input at a source
//! position, by bilinear interpolation. The output is a `height × width` window centred in the
//! (possibly larger) input, so a margin around the window avoids boundary effects; beyond the
//! input's edge, samples are mirrored (kymatio's `reflect`, `crate::geometry::reflect_index`).
//! Positions are measured from the window's centre `c = ((height − 1)/2, (width − 1)/2)`, rows
//! down, columns right.
//!
//! | deformation | strength `s` | source of output pixel `p = (r, c)` (centred) | reference range |
//! |---|---|---|---|
//! | rotation | degrees, counter-clockwise on screen | `R(−s)·p` | `0..10°` |
//! | translation | pixels, to the right | `(r, c − s)` | `0..0.1·height` |
//! | shear | degrees, horizontal shear angle | `(r, c − tan(s)·r)` | `0..10°` |
//! | Mallat1 | `max_u ‖∇τ(u)‖₂` (spectral norm) | `u − v·(0.5u₀ + 0.3u₁², 0.3u₁)` | `v ∈ [0, 1)` |
//!
//! Images are warped at a finer resolution than the one analysed and then box-downsampled
//! ([`deformed_window`]), so that the blur of bilinear interpolation stays below the analysed
//! resolution.
//!
//! For Mallat1, `u = (u₀, u₁) = (c / ((width − 1)/2), r / ((height − 1)/2)) ∈ [−1, 1]²` (u₀ the
//! horizontal coordinate, as the reference's `grid_sample` grid), and the displacement is scaled
//! back to pixels. Its strength is measured as in the reference: the maximum spectral norm of
//! the Jacobian of `τ` over a 128×128 grid on `[−1, 1]²`, which is `v·`[`MALLAT1_JACOBIAN_NORM`].
//!
//! # Curves
//! For strengths `s_k = k·max/n`, `k = 0..n` (the reference's `torch.arange(0, max, max/n)`,
//! `n = 20`), the curve is the mean over the deformed images of `‖S(x) − S(τ_{s_k}x)‖ / ‖S(x)‖`,
//! with `S` the full scattering output (all orders) flattened and the Euclidean norm. The
//! baseline is the mean of `‖S(x) − S(y)‖ / ‖S(x)‖` over all ordered pairs `x ≠ y` of a set of
//! unrelated images.

use crate::analysis::RenderError;
use std::fmt::Write as _;
use std::path::Path;

use ndarray::{Array2, Array4, ArrayView2, Axis, s};
use serde::{Deserialize, Serialize};

use super::plot::{LinePlot, Series, render_line_plots};
use super::render::category_color;
use crate::cascade::Scattering2dPlan;
use crate::error::{Result, ScatterError};
use crate::geometry::reflect_index;

/// A family of deformations, each with a scalar strength (see the module docs for units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Deformation {
    /// Rotation about the window's centre; strength in degrees.
    Rotation,
    /// Horizontal translation; strength in pixels.
    Translation,
    /// Horizontal shear about the centre row; strength = shear angle in degrees.
    Shear,
    /// The reference's "Mallat1" diffeomorphism `τ(u) = v·(0.5u₀ + 0.3u₁², 0.3u₁)`; strength =
    /// `max ‖∇τ‖₂ = v·`[`MALLAT1_JACOBIAN_NORM`].
    Mallat1,
}

/// `max_u ‖∇τ(u)‖₂` of the Mallat1 field at `v = 1` over the 128×128 grid on `[−1, 1]²`:
/// `∇τ = [[0.5, 0.6u₁], [0, 0.3]]`, largest at `|u₁| = 1`: `√(0.35 + √0.1) ≈ 0.81623`. Computed by
/// [`mallat1_jacobian_norm`]; this constant is its value, checked in the tests.
pub const MALLAT1_JACOBIAN_NORM: f64 = 0.816_227_766_016_837_9;

/// Number of grid points per axis on which the reference measures the Mallat1 Jacobian.
pub const MALLAT1_GRID: usize = 128;

/// Recomputes [`MALLAT1_JACOBIAN_NORM`]: the largest spectral norm of `∇τ` (at `v = 1`) over
/// `MALLAT1_GRID × MALLAT1_GRID` points `linspace(−1, 1)` on each axis.
pub fn mallat1_jacobian_norm() -> f64 {
    let n = MALLAT1_GRID;
    let mut best = 0.0f64;
    for i in 0..n {
        let u1 = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
        // The Jacobian does not depend on u₀.
        let (a, b, c, d) = (0.5, 0.6 * u1, 0.0, 0.3);
        let fro2: f64 = a * a + b * b + c * c + d * d;
        let det: f64 = a * d - b * c;
        let top = (0.5 * (fro2 + (fro2 * fro2 - 4.0 * det * det).max(0.0).sqrt())).sqrt();
        best = best.max(top);
    }
    best
}

impl Deformation {
    /// The four families, in report order.
    pub const ALL: [Deformation; 4] = [
        Deformation::Rotation,
        Deformation::Translation,
        Deformation::Shear,
        Deformation::Mallat1,
    ];

    /// Lower-case name, used in file names (`rotation`, `translation`, `shear`, `mallat1`).
    pub fn name(self) -> &'static str {
        match self {
            Deformation::Rotation => "rotation",
            Deformation::Translation => "translation",
            Deformation::Shear => "shear",
            Deformation::Mallat1 => "mallat1",
        }
    }

    /// The strength's unit, for axis labels.
    pub fn unit(self) -> &'static str {
        match self {
            Deformation::Rotation | Deformation::Shear => "degrees",
            Deformation::Translation => "pixels",
            Deformation::Mallat1 => "max ‖∇τ‖",
        }
    }

    /// The reference's largest strength for a window `height` pixels high: 10°, `0.1·height`
    /// pixels, 10°, and [`MALLAT1_JACOBIAN_NORM`] (`v = 1`).
    pub fn reference_max_strength(self, height: usize) -> f64 {
        match self {
            Deformation::Rotation | Deformation::Shear => 10.0,
            Deformation::Translation => 0.1 * height as f64,
            Deformation::Mallat1 => MALLAT1_JACOBIAN_NORM,
        }
    }

    /// Source position `(row, col)`, centred coordinates, of the output pixel at centred `(r, c)`
    /// in a `height × width` window.
    pub fn source(self, strength: f64, r: f64, c: f64, height: usize, width: usize) -> (f64, f64) {
        match self {
            Deformation::Rotation => {
                // Counter-clockwise on screen (rows down): the output at p reads R(−s)·p.
                let (sin, cos) = strength.to_radians().sin_cos();
                (cos * r + sin * c, -sin * r + cos * c)
            }
            Deformation::Translation => (r, c - strength),
            Deformation::Shear => (r, c - strength.to_radians().tan() * r),
            Deformation::Mallat1 => {
                let v = strength / MALLAT1_JACOBIAN_NORM;
                let (hr, hc) = (
                    ((height as f64 - 1.0) / 2.0).max(0.5),
                    ((width as f64 - 1.0) / 2.0).max(0.5),
                );
                let (u0, u1) = (c / hc, r / hr);
                let (t0, t1) = (v * (0.5 * u0 + 0.3 * u1 * u1), v * 0.3 * u1);
                (r - t1 * hr, c - t0 * hc)
            }
        }
    }
}

/// Bilinear sample of `image` at fractional `(row, col)`, mirrored beyond the edges.
pub fn bilinear(image: ArrayView2<'_, f64>, row: f64, col: f64) -> f64 {
    let (h, w) = image.dim();
    let (r0, c0) = (row.floor(), col.floor());
    let (fr, fc) = (row - r0, col - c0);
    let (r0, c0) = (r0 as isize, c0 as isize);
    let at = |r: isize, c: isize| image[[reflect_index(r, h), reflect_index(c, w)]];
    let top = if fc == 0.0 {
        at(r0, c0)
    } else {
        (1.0 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)
    };
    if fr == 0.0 {
        return top;
    }
    let bottom = if fc == 0.0 {
        at(r0 + 1, c0)
    } else {
        (1.0 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1)
    };
    (1.0 - fr) * top + fr * bottom
}

/// The deformed `out = (height, width)` window centred in `image` (shape `[H, W]`,
/// `H ≥ height`, `W ≥ width`; the window starts at `((H − height)/2, (W − width)/2)`, rounded
/// down). At strength 0 it is exactly that crop.
///
/// # Panics
/// If the window is larger than the image, or `image` has a side of 1 or less.
pub fn warp(
    image: ArrayView2<'_, f64>,
    out: (usize, usize),
    deformation: Deformation,
    strength: f64,
) -> Array2<f64> {
    let (big_h, big_w) = image.dim();
    let (h, w) = out;
    assert!(
        h <= big_h && w <= big_w && big_h > 1 && big_w > 1,
        "warp: window {h}x{w} does not fit in image {big_h}x{big_w}"
    );
    let (or, oc) = ((big_h - h) / 2, (big_w - w) / 2);
    let (cr, cc) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    Array2::from_shape_fn((h, w), |(i, j)| {
        if strength == 0.0 {
            return image[[or + i, oc + j]];
        }
        let (sr, sc) = deformation.source(strength, i as f64 - cr, j as f64 - cc, h, w);
        bilinear(image, sr + cr + or as f64, sc + cc + oc as f64)
    })
}

/// Reads an image file as grey levels in `[0, 1]`, shape `[height, width]` (colour images are
/// converted to luma).
///
/// # Errors
/// [`RenderError::Image`] if the file cannot be read or decoded.
pub fn load_gray(path: impl AsRef<Path>) -> Result<Array2<f64>> {
    let path = path.as_ref();
    let img = image::open(path)
        .map_err(|source| {
            ScatterError::Render(RenderError::Image {
                path: path.to_path_buf(),
                source,
            })
        })?
        .into_luma16();
    let (w, h) = img.dimensions();
    Ok(Array2::from_shape_fn((h as usize, w as usize), |(r, c)| {
        img.get_pixel(c as u32, r as u32)[0] as f64 / 65535.0
    }))
}

/// Averages `factor × factor` blocks (box downsampling); trailing rows/columns that do not fill a
/// block are dropped. Shape `[H / factor, W / factor]`.
pub fn downsample(image: ArrayView2<'_, f64>, factor: usize) -> Array2<f64> {
    let f = factor.max(1);
    let (h, w) = (image.nrows() / f, image.ncols() / f);
    Array2::from_shape_fn((h, w), |(r, c)| {
        image
            .slice(s![r * f..(r + 1) * f, c * f..(c + 1) * f])
            .sum()
            / (f * f) as f64
    })
}

/// Cuts every non-overlapping `side × side` tile of `image`, row by row.
pub fn tiles(image: ArrayView2<'_, f64>, side: usize) -> Vec<Array2<f64>> {
    let mut out = Vec::new();
    for r in 0..image.nrows() / side {
        for c in 0..image.ncols() / side {
            out.push(
                image
                    .slice(s![r * side..(r + 1) * side, c * side..(c + 1) * side])
                    .to_owned(),
            );
        }
    }
    out
}

/// Affine normalisation of a set of images with the set's pixel mean and standard deviation (as
/// a dataset's `Normalize`), in place; a constant set is only centred.
pub fn normalize_set(images: &mut [Array2<f64>]) {
    let n: usize = images.iter().map(|a| a.len()).sum();
    if n == 0 {
        return;
    }
    let mean = images.iter().map(|a| a.sum()).sum::<f64>() / n as f64;
    let var = images
        .iter()
        .map(|a| a.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>())
        .sum::<f64>()
        / n as f64;
    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
    for a in images {
        a.mapv_inplace(|v| (v - mean) / std);
    }
}

/// Scattering coefficients of each image, flattened: one `Vec` of length `K·h_out·w_out` per
/// image (images of the plan's size, scattered as one batch).
///
/// # Errors
/// As [`Scattering2dPlan::transform`].
pub fn scatter_flat(plan: &Scattering2dPlan<f64>, images: &[Array2<f64>]) -> Result<Vec<Vec<f64>>> {
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
pub fn relative_distance(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = a.iter().map(|x| x * x).sum();
    if num == 0.0 { 0.0 } else { (num / den).sqrt() }
}

/// Mean of `‖S(x) − S(y)‖ / ‖S(x)‖` over all ordered pairs `x ≠ y` of `images` (each of the plan's
/// input size); 0 for fewer than two images.
///
/// # Errors
/// As [`scatter_flat`].
pub fn baseline_distance(plan: &Scattering2dPlan<f64>, images: &[Array2<f64>]) -> Result<f64> {
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

/// The deformed window of `source` seen at a resolution `factor` times coarser: the
/// `height·factor × width·factor` window centred in `source` is warped at the source's resolution
/// (translations in output pixels are `factor` source pixels; angles and the Mallat1 field are
/// resolution-free), then box-downsampled by `factor` to `height × width`. Warping before
/// downsampling keeps the blur of bilinear interpolation below the analysed resolution. At
/// strength 0 it is the downsampled centre crop.
///
/// # Panics
/// As [`warp`], for the `factor`-times larger window.
pub fn deformed_window(
    source: ArrayView2<'_, f64>,
    out: (usize, usize),
    factor: usize,
    deformation: Deformation,
    strength: f64,
) -> Array2<f64> {
    let f = factor.max(1);
    let fine = match deformation {
        Deformation::Translation => strength * f as f64,
        _ => strength,
    };
    let big = warp(source, (out.0 * f, out.1 * f), deformation, fine);
    if f == 1 {
        big
    } else {
        downsample(big.view(), f)
    }
}

/// Mean over `sources` of `‖S(x) − S(τx)‖ / ‖S(x)‖` at each strength, where `x` and `τx` are
/// [`deformed_window`]s of the plan's input size, `factor` times coarser than the sources.
///
/// # Errors
/// As [`scatter_flat`]; [`ScatterError::InvalidShape`] if a source is smaller than the
/// `factor`-times larger window.
pub fn deformation_curve(
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
pub fn strength_levels(max: f64, n: usize) -> Vec<f64> {
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
pub fn stability_csv(curves: &[StabilityCurve]) -> String {
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
pub const STABILITY_PNG_SIZE: (u32, u32) = (720, 480);

/// Writes the curves of one family as a PNG line plot: one solid line per bank, its baseline as
/// a dashed horizontal line of the same colour. Returns [`STABILITY_PNG_SIZE`].
///
/// # Errors
/// [`RenderError::Plot`] or [`RenderError::Image`] if drawing or writing fails.
pub fn render_stability(path: impl AsRef<Path>, curves: &[StabilityCurve]) -> Result<(u32, u32)> {
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

    fn ramp(h: usize, w: usize) -> Array2<f64> {
        Array2::from_shape_fn((h, w), |(r, c)| {
            ((r * 7 + c * 3) % 11) as f64 + 0.1 * r as f64
        })
    }

    #[test]
    fn warp_is_the_identity_at_strength_zero() {
        let img = ramp(20, 24);
        for d in Deformation::ALL {
            assert_eq!(warp(img.view(), (20, 24), d, 0.0), img);
            let crop = warp(img.view(), (10, 12), d, 0.0);
            assert_eq!(crop, img.slice(s![5..15, 6..18]).to_owned());
            // A vanishing strength is continuous with the identity.
            let tiny = warp(img.view(), (10, 12), d, 1e-9);
            assert!((&tiny - &crop).iter().all(|v| v.abs() < 1e-6), "{d:?}");
        }
    }

    #[test]
    fn integer_translation_shifts_and_full_turns_are_exact() {
        let img = ramp(16, 16);
        let t = warp(img.view(), (8, 8), Deformation::Translation, 2.0);
        for r in 0..8 {
            for c in 0..8 {
                assert_eq!(t[[r, c]], img[[r + 4, c + 4 - 2]]);
            }
        }
        let rot = warp(img.view(), (8, 8), Deformation::Rotation, 90.0);
        // 90° counter-clockwise: output (r, c) reads the input at centred (c, −r).
        let (cr, cc) = (3.5, 3.5);
        for r in 0..8 {
            for c in 0..8 {
                let (sr, sc) = (c as f64 - cc + cr, -(r as f64 - cr) + cc);
                let want = img[[sr.round() as usize + 4, sc.round() as usize + 4]];
                assert!((rot[[r, c]] - want).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn bilinear_interpolates_and_mirrors() {
        let img = ndarray::array![[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]];
        assert_eq!(bilinear(img.view(), 0.5, 0.5), 5.5);
        assert_eq!(bilinear(img.view(), 0.0, -1.0), 1.0); // reflect: −1 → 1
        assert_eq!(bilinear(img.view(), 0.0, 3.0), 1.0); // reflect: 3 → 1
    }

    #[test]
    fn mallat1_norm_constant_matches_the_grid_maximum() {
        assert!((mallat1_jacobian_norm() - MALLAT1_JACOBIAN_NORM).abs() < 1e-14);
        // At v = 1 the centre pixel does not move (τ(0) = 0) and the corners move inwards.
        let (r, c) = Deformation::Mallat1.source(MALLAT1_JACOBIAN_NORM, 0.0, 0.0, 33, 33);
        assert_eq!((r, c), (0.0, 0.0));
    }

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
}
