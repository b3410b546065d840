//! Warps of images by a family of deformations ([`Deformation`]), and the image helpers of the
//! deformation-stability curves (`super::deformation`): reading a picture as grey levels, box
//! downsampling, tiling, normalising a set.
//!
//! # Warps
//! A deformed image is `τx(p) = x(p − τ(p))`: each output pixel `p` reads the input at a source
//! position, by bilinear interpolation. The output is a `height × width` window centred in the
//! (possibly larger) input, so a margin around the window avoids boundary effects; beyond the
//! input's edge, samples are mirrored (kymatio's `reflect`, [`crate::geometry::reflect_index`]).
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

use std::path::Path;

use ndarray::{Array2, ArrayView2, s};
use serde::{Deserialize, Serialize};

use super::RenderError;
use crate::error::{Result, ScatterError};
use crate::geometry::reflect_index;

/// A family of deformations, each with a scalar strength (its unit: [`Deformation::unit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Deformation {
    /// Rotation about the window's centre; strength in degrees.
    Rotation,
    /// Horizontal translation; strength in pixels.
    Translation,
    /// Horizontal shear about the centre row; strength = shear angle in degrees.
    Shear,
    /// The reference's "Mallat1" diffeomorphism `τ(u) = v·(0.5u₀ + 0.3u₁², 0.3u₁)`; strength =
    /// `max ‖∇τ‖₂ = v·√(0.35 + √0.1) ≈ 0.81623·v`.
    Mallat1,
}

/// `max_u ‖∇τ(u)‖₂` of the Mallat1 field at `v = 1` over the 128×128 grid on `[−1, 1]²`:
/// `∇τ = [[0.5, 0.6u₁], [0, 0.3]]`, largest at `|u₁| = 1`: `√(0.35 + √0.1) ≈ 0.81623`. Computed by
/// `mallat1_jacobian_norm` (in the tests); this constant is its value.
const MALLAT1_JACOBIAN_NORM: f64 = 0.816_227_766_016_837_9;

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
    pub(crate) fn reference_max_strength(self, height: usize) -> f64 {
        match self {
            Deformation::Rotation | Deformation::Shear => 10.0,
            Deformation::Translation => 0.1 * height as f64,
            Deformation::Mallat1 => MALLAT1_JACOBIAN_NORM,
        }
    }

    /// Source position `(row, col)`, centred coordinates, of the output pixel at centred `(r, c)`
    /// in a `height × width` window.
    fn source(self, strength: f64, r: f64, c: f64, height: usize, width: usize) -> (f64, f64) {
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
fn bilinear(image: ArrayView2<'_, f64>, row: f64, col: f64) -> f64 {
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
pub(crate) fn warp(
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
pub(crate) fn downsample(image: ArrayView2<'_, f64>, factor: usize) -> Array2<f64> {
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
pub(crate) fn tiles(image: ArrayView2<'_, f64>, side: usize) -> Vec<Array2<f64>> {
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
pub(crate) fn normalize_set(images: &mut [Array2<f64>]) {
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

/// The deformed window of `source` seen at a resolution `factor` times coarser: the
/// `height·factor × width·factor` window centred in `source` is warped at the source's resolution
/// (translations in output pixels are `factor` source pixels; angles and the Mallat1 field are
/// resolution-free), then box-downsampled by `factor` to `height × width`. Warping before
/// downsampling keeps the blur of bilinear interpolation below the analysed resolution. At
/// strength 0 it is the downsampled centre crop.
///
/// # Panics
/// As [`warp`], for the `factor`-times larger window.
pub(crate) fn deformed_window(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> Array2<f64> {
        Array2::from_shape_fn((h, w), |(r, c)| {
            ((r * 7 + c * 3) % 11) as f64 + 0.1 * r as f64
        })
    }

    /// Number of grid points per axis on which the reference measures the Mallat1 Jacobian.
    const MALLAT1_GRID: usize = 128;

    /// Recomputes [`MALLAT1_JACOBIAN_NORM`]: the largest spectral norm of `∇τ` (at `v = 1`) over
    /// `MALLAT1_GRID × MALLAT1_GRID` points `linspace(−1, 1)` on each axis.
    fn mallat1_jacobian_norm() -> f64 {
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
}
