//! Littlewood–Paley sums of any filter bank, their frame bounds, and heat-map pictures.
//!
//! The sums are those of [`crate::filters::diagnostics`] on the padded grid of the transform,
//! with the spectra of [`crate::filters::spectral::bank_spectra`]:
//!
//! ```text
//! plain      LP(ω) = Σ_n |ψ̂_n(ω)|² + |φ̂(ω)|²
//! symmetric  LP(ω) = ½ Σ_n (|ψ̂_n(ω)|² + |ψ̂_n(−ω)|²) + |φ̂(ω)|²
//! ```
//!
//! The frame bounds are `A = min_ω LP(ω)` and `B = max_ω LP(ω)`: for a real signal `x`,
//! `A‖x‖² ≤ ‖x ⋆ φ‖² + Σ_n ‖x ⋆ ψ_n‖² ≤ B‖x‖²` holds with the symmetric sum's bounds.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::render::{BLACK_RGB, Canvas, ColorMap, fftshift, fmt_num};
use crate::error::Result;
use crate::filters::FilterBankParams;
use crate::filters::diagnostics::{frame_bounds, littlewood_paley, littlewood_paley_symmetric};
use crate::filters::spectral::bank_spectra;

/// Lower and upper frame bound of one Littlewood–Paley sum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// `A = min_ω LP(ω)`.
    pub lower: f64,
    /// `B = max_ω LP(ω)`.
    pub upper: f64,
}

impl Bounds {
    fn of(lp: &Array2<f64>) -> Self {
        let (lower, upper) = frame_bounds(lp);
        Self { lower, upper }
    }
}

/// Frame bounds of a bank on one padded grid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameBounds {
    /// Padded grid height (the grid the spectra are sampled on).
    pub height: usize,
    /// Padded grid width.
    pub width: usize,
    /// Bounds of the plain sum `Σ_n |ψ̂_n|² + |φ̂|²`.
    pub plain: Bounds,
    /// Bounds of the symmetrised sum (the frame of real signals).
    pub symmetric: Bounds,
}

/// Both Littlewood–Paley sums of a bank on a padded grid, FFT order, each `[height, width]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LittlewoodPaley {
    /// Plain sum `Σ_n |ψ̂_n(ω)|² + |φ̂(ω)|²`, shape `[height, width]`, FFT order.
    pub(crate) plain: Array2<f64>,
    /// Symmetrised sum, shape `[height, width]`, FFT order.
    pub(crate) symmetric: Array2<f64>,
}

impl LittlewoodPaley {
    /// Both sums of `bank` on a `height × width` grid (the padded grid of the transform).
    pub(crate) fn compute(bank: &FilterBankParams, height: usize, width: usize) -> Self {
        let spectra = bank_spectra(bank, height, width);
        Self {
            plain: littlewood_paley(&spectra),
            symmetric: littlewood_paley_symmetric(&spectra),
        }
    }

    /// Minimum and maximum of both sums.
    pub(crate) fn bounds(&self) -> FrameBounds {
        let (height, width) = self.plain.dim();
        FrameBounds {
            height,
            width,
            plain: Bounds::of(&self.plain),
            symmetric: Bounds::of(&self.symmetric),
        }
    }
}

/// Frame bounds of `bank` on a `height × width` padded grid.
pub(crate) fn bank_frame_bounds(
    bank: &FilterBankParams,
    height: usize,
    width: usize,
) -> FrameBounds {
    LittlewoodPaley::compute(bank, height, width).bounds()
}

/// Target size in pixels of the longer side of one heat-map panel.
const HEATMAP_TARGET: usize = 240;
const LP_MARGIN: u32 = 16;
const LP_TITLE: u32 = 30;
const LP_PANEL_TITLE: u32 = 22;
const LP_FOOTER: u32 = 74;

/// Pixels per frequency bin in the heat map of a `height × width` grid:
/// `s = max(1, ⌈240 / max(height, width)⌉)`.
fn heatmap_scale(height: usize, width: usize) -> u32 {
    HEATMAP_TARGET.div_ceil(height.max(width).max(1)).max(1) as u32
}

/// Size `(width, height)` in pixels of the PNG that [`render_littlewood_paley`] writes for a
/// `height × width` grid, with `s` = [`heatmap_scale`]: `(3·16 + 2·s·width, 30 + 22 + s·height + 74)`.
pub(crate) fn littlewood_paley_png_size(height: usize, width: usize) -> (u32, u32) {
    let s = heatmap_scale(height, width);
    (
        3 * LP_MARGIN + 2 * s * width as u32,
        LP_TITLE + LP_PANEL_TITLE + s * height as u32 + LP_FOOTER,
    )
}

/// Writes both sums as heat maps side by side (plain left, symmetrised right), zero frequency in
/// the centre (`fftshift`), rows = `ω_row` from `−π` (top) to `π`, columns = `ω_col`; viridis on
/// the common scale `range = (lo, hi)` (e.g. `(0, 2)` to compare banks), with a colour bar and the
/// frame bounds printed under the panels. Returns the PNG size, [`littlewood_paley_png_size`].
///
/// # Errors
/// [`RenderError::Plot`](super::RenderError::Plot) if text cannot be drawn,
/// [`RenderError::Image`](super::RenderError::Image) if the PNG cannot be written.
pub(crate) fn render_littlewood_paley(
    path: impl AsRef<Path>,
    lp: &LittlewoodPaley,
    title: &str,
    range: (f64, f64),
) -> Result<(u32, u32)> {
    let (h, w) = lp.plain.dim();
    let s = heatmap_scale(h, w);
    let (cw, ch) = littlewood_paley_png_size(h, w);
    let mut canvas = Canvas::new(cw, ch);
    let bounds = lp.bounds();
    canvas.text(LP_MARGIN as i32, 6, title, 18.0, BLACK_RGB)?;
    let top = (LP_TITLE + LP_PANEL_TITLE) as i64;
    for (i, (name, sum, b)) in [
        ("Σ|ψ(ω)|² + |φ(ω)|² (Fourier)", &lp.plain, bounds.plain),
        (
            "symmetrised (real signals)",
            &lp.symmetric,
            bounds.symmetric,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let x = (LP_MARGIN + i as u32 * (s * w as u32 + LP_MARGIN)) as i64;
        canvas.text(x as i32, LP_TITLE as i32, name, 15.0, BLACK_RGB)?;
        canvas.draw_field(
            x,
            top,
            fftshift(sum.view()).view(),
            s,
            ColorMap::Viridis,
            range,
        );
        canvas.outline_rect(
            x - 1,
            top - 1,
            s * w as u32 + 2,
            s * h as u32 + 2,
            BLACK_RGB,
        );
        let label = format!(
            "A = min = {}   B = max = {}",
            fmt_num(b.lower, 5),
            fmt_num(b.upper, 5)
        );
        canvas.text(
            x as i32,
            (top + (s * h as u32) as i64 + 6) as i32,
            &label,
            14.0,
            BLACK_RGB,
        )?;
    }
    let bar_y = top + (s * h as u32) as i64 + 34;
    let bar_w = (cw - 2 * LP_MARGIN).min(300);
    canvas.text(
        LP_MARGIN as i32,
        bar_y as i32,
        &fmt_num(range.0, 2),
        13.0,
        BLACK_RGB,
    )?;
    let bar_x = LP_MARGIN as i64 + 40;
    canvas.colorbar(bar_x, bar_y + 2, bar_w, 12, ColorMap::Viridis);
    canvas.text(
        (bar_x + bar_w as i64 + 6) as i32,
        bar_y as i32,
        &format!("{}   grid {h}×{w}, DC centred", fmt_num(range.1, 2)),
        13.0,
        BLACK_RGB,
    )?;
    canvas.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::PaddedGeometry;

    /// `LittlewoodPaley::compute`, on the padded grid of a `height × width` input (kymatio's padding rule, e.g.
    /// 32×32 at `J = 2` → 40×40).
    ///
    fn for_input(bank: &FilterBankParams, height: usize, width: usize) -> Result<LittlewoodPaley> {
        let [h, w] = PaddedGeometry::new(height, width, bank.num_scales())?.padded_size();
        Ok(LittlewoodPaley::compute(bank, h, w))
    }

    #[test]
    fn bounds_of_the_tight_frame_follow_the_diagnostics() {
        let bank = FilterBankParams::tight_frame(2, 8).unwrap();
        let lp = for_input(&bank, 32, 32).unwrap();
        let b = lp.bounds();
        assert_eq!((b.height, b.width), (40, 40));
        assert!((b.plain.upper - 1.80).abs() < 0.01, "{b:?}");
        assert!((b.symmetric.upper - 1.00006).abs() < 1e-4, "{b:?}");
        assert!(b.symmetric.lower < b.symmetric.upper);
        assert_eq!(b, bank_frame_bounds(&bank, 40, 40));
    }

    #[test]
    fn png_size_formula() {
        assert_eq!(heatmap_scale(40, 40), 6);
        assert_eq!(
            littlewood_paley_png_size(40, 40),
            (48 + 480, 30 + 22 + 240 + 74)
        );
    }

    /// Our closed-form spectra agree with kymatio's spatial construction to ~1e-9 of each filter's
    /// peak (`filters::spatial` tests), so the sums agree to ~1e-9 absolute; 1e-5 relative plus
    /// 1e-8 absolute covers the smallest plain lower bound (7.8e-4) with a wide margin.
    #[test]
    fn tight_frame_bounds_match_the_kymatio_fixture() {
        let text = include_str!("../../tests/fixtures/frame_bounds.json");
        let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(fixture["kymatio"], "0.3.0");
        let cases = fixture["cases"].as_array().unwrap();
        assert!(cases.len() >= 2);
        for case in cases {
            let get = |k: &str| case[k].as_u64().unwrap() as usize;
            let (h, w, j, l) = (get("height"), get("width"), get("J"), get("L"));
            let ours = bank_frame_bounds(&FilterBankParams::tight_frame(j, l).unwrap(), h, w);
            assert_eq!((ours.height, ours.width), (h, w));
            for (sum, b) in [("plain", ours.plain), ("symmetric", ours.symmetric)] {
                for (edge, v) in [("lower", b.lower), ("upper", b.upper)] {
                    let want = case[sum][edge].as_f64().unwrap();
                    assert!(
                        (v - want).abs() <= 1e-5 * want.abs() + 1e-8,
                        "{h}x{w} J={j} L={l} {sum} {edge}: ours {v}, kymatio {want}"
                    );
                }
            }
        }
    }
}
