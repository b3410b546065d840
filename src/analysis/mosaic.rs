//! Pictures of a filter bank: one tile per wavelet, one row per scale slot `j`, one column per
//! orientation slot `l`.
//!
//! Each tile shows three panels of the `height × width` padded grid, all centred (`fftshift`):
//! the spatial real part `Re ψ`, the spatial imaginary part `Im ψ` (both on a blue–white–red map,
//! symmetric range `±max|ψ|` of that wavelet, the central part of the grid enlarged by
//! [`spatial_zoom`]) and the Fourier modulus `|ψ̂|` (viridis, `0..max`, whole grid),
//! and under them its `σ, ξ, θ, γ` (γ = slant) and `α`, the fraction of its energy the subsampling after it aliases (`crate::filters::diagnostics::aliased_energy`). The spatial filter is the inverse FFT of the
//! spectrum the transform multiplies by ([`crate::filters::spectral::morlet_spectrum`]), so the
//! picture shows exactly what is applied, aliasing included.

use std::path::Path;

use ndarray::Array2;
use num_complex::Complex64;

use super::render::{BLACK_RGB, Canvas, ColorMap, fftshift, fmt_num, max_abs};
use crate::error::Result;
use crate::filters::spatial::fft2;
use crate::filters::spectral::morlet_spectrum;
use crate::filters::{FilterBankParams, MorletParams};

/// The three centred images of one wavelet, each `[height, width]`.
#[derive(Clone, Debug, PartialEq)]
struct FilterImages {
    /// `Re ψ(u)`, spatial, zero displacement at `(⌊height/2⌋, ⌊width/2⌋)`.
    real: Array2<f64>,
    /// `Im ψ(u)`, spatial, same layout.
    imag: Array2<f64>,
    /// `|ψ̂(ω)|`, zero frequency at `(⌊height/2⌋, ⌊width/2⌋)`.
    fourier_modulus: Array2<f64>,
}

/// The spatial and Fourier images of wavelet `p` on a `height × width` grid: `ψ = IFFT(ψ̂)` with
/// the crate's normalisation (`1/(height·width)` on the inverse), all centred.
fn filter_images(p: &MorletParams, height: usize, width: usize) -> FilterImages {
    let spectrum = morlet_spectrum(height, width, p);
    // ψ̂ is real, so IFFT(ψ̂) = conj(FFT(ψ̂)) / (h·w).
    let mut z = spectrum.mapv(|v| Complex64::new(v, 0.0));
    fft2(&mut z);
    let n = (height * width) as f64;
    let real = z.mapv(|c| c.re / n);
    let imag = z.mapv(|c| -c.im / n);
    FilterImages {
        real: fftshift(real.view()),
        imag: fftshift(imag.view()),
        fourier_modulus: fftshift(spectrum.mapv(f64::abs).view()),
    }
}

/// Zoom `z` of the spatial panels for `bank` on a `height × width` grid: the panels show the
/// central `height/z × width/z` pixels, each grid pixel `z` times larger, where
/// `z = clamp(⌊min(height, width) / (5·e + 1)⌋, 1, 4)` and `e = max_n max(σ_n, σ_n/γ_n)` is the
/// widest envelope of the bank (so ±2.5 envelope widths stay visible).
fn spatial_zoom(bank: &FilterBankParams, height: usize, width: usize) -> usize {
    let extent = bank
        .wavelets()
        .iter()
        .map(|p| p.sigma.max(p.sigma / p.slant))
        .fold(0.0f64, f64::max);
    let z = (height.min(width) as f64 / (5.0 * extent + 1.0)).floor();
    if z.is_finite() {
        (z as usize).clamp(1, 4)
    } else {
        1
    }
}

/// The central `1/z` of a centred image, each pixel repeated `z` times (same shape).
fn zoom_centre(a: &Array2<f64>, z: usize) -> Array2<f64> {
    let (h, w) = a.dim();
    let z = z.max(1) as isize;
    let (ch, cw) = ((h / 2) as isize, (w / 2) as isize);
    Array2::from_shape_fn((h, w), |(r, c)| {
        let rr = ch + (r as isize - ch).div_euclid(z);
        let cc = cw + (c as isize - cw).div_euclid(z);
        a[[
            rr.clamp(0, h as isize - 1) as usize,
            cc.clamp(0, w as isize - 1) as usize,
        ]]
    })
}

/// Target size in pixels of the longer side of one panel.
const PANEL_TARGET: usize = 64;
const PANEL_GAP: u32 = 3;
const TILE_GAP: u32 = 10;
const LEGEND_LINE: u32 = 15;
const LEFT: u32 = 40;
const RIGHT: u32 = 10;
const TITLE: u32 = 26;
const HEADER: u32 = 18;
const FOOTER: u32 = 46;
const MIN_WIDTH: u32 = 760;

/// Pixels per grid cell in the filter picture of a `height × width` grid:
/// `s = max(1, ⌈64 / max(height, width)⌉)`.
fn mosaic_scale(height: usize, width: usize) -> u32 {
    PANEL_TARGET.div_ceil(height.max(width).max(1)).max(1) as u32
}

fn tile_size(height: usize, width: usize) -> (u32, u32) {
    let s = mosaic_scale(height, width);
    (
        3 * s * width as u32 + 2 * PANEL_GAP,
        s * height as u32 + 2 * LEGEND_LINE + 4,
    )
}

/// Size `(width, height)` in pixels of the PNG that [`render_filter_mosaic`] writes for `J` scales,
/// `L` orientations on a `height × width` grid. With `s` = [`mosaic_scale`], a tile is
/// `tw = 3·s·width + 6` by `th = s·height + 34` pixels, and the picture is
/// `(max(760, 40 + L·tw + (L−1)·10 + 10), 26 + 18 + J·th + (J−1)·10 + 46)`.
pub(crate) fn mosaic_png_size(
    num_scales: usize,
    num_orientations: usize,
    height: usize,
    width: usize,
) -> (u32, u32) {
    let (tw, th) = tile_size(height, width);
    let (nl, nj) = (num_orientations as u32, num_scales as u32);
    (
        (LEFT + nl * tw + nl.saturating_sub(1) * TILE_GAP + RIGHT).max(MIN_WIDTH),
        TITLE + HEADER + nj * th + nj.saturating_sub(1) * TILE_GAP + FOOTER,
    )
}

/// Draws every wavelet of `bank` on a `height × width` grid (normally the padded grid of the
/// transform, e.g. 40×40 for a 32×32 input at `J = 2`) and writes the PNG; returns its size,
/// [`mosaic_png_size`].
///
/// # Errors
/// [`RenderError::Plot`](super::RenderError::Plot) if text cannot be drawn,
/// [`RenderError::Image`](super::RenderError::Image) if the PNG cannot be written.
pub(crate) fn render_filter_mosaic(
    path: impl AsRef<Path>,
    bank: &FilterBankParams,
    height: usize,
    width: usize,
    title: &str,
) -> Result<(u32, u32)> {
    let (big_j, big_l) = (bank.num_scales(), bank.num_orientations());
    let (tw, th) = tile_size(height, width);
    let (cw, ch) = mosaic_png_size(big_j, big_l, height, width);
    let ph = mosaic_scale(height, width) * height as u32;
    let zoom = spatial_zoom(bank, height, width);
    let aliasing = bank.aliasing(height, width);
    let mut canvas = Canvas::new(cw, ch);
    canvas.text(
        LEFT as i32,
        4,
        &format!(
            "{title}   (J = {big_j}, L = {big_l}, grid {height}×{width}; space panels: central {}×{} pixels)",
            height / zoom,
            width / zoom
        ),
        17.0,
        BLACK_RGB,
    )?;
    for l in 0..big_l {
        let x = LEFT + l as u32 * (tw + TILE_GAP);
        canvas.text(x as i32, TITLE as i32, &format!("l = {l}"), 13.0, BLACK_RGB)?;
    }
    for j in 0..big_j {
        let y = TITLE + HEADER + j as u32 * (th + TILE_GAP);
        canvas.text(
            4,
            (y + ph / 2 - 7) as i32,
            &format!("j = {j}"),
            13.0,
            BLACK_RGB,
        )?;
        for l in 0..big_l {
            let x = LEFT + l as u32 * (tw + TILE_GAP);
            let tile = Tile {
                corner: (x, y),
                grid: [height, width],
                zoom,
            };
            draw_tile(
                &mut canvas,
                &tile,
                bank.wavelet(j, l),
                aliasing[j * big_l + l],
            )?;
        }
    }
    draw_legend(&mut canvas, ch)?;
    canvas.save_png(path)
}

/// Where and how one wavelet's tile is drawn.
struct Tile {
    /// Top-left corner `(x, y)` of the tile, pixels.
    corner: (u32, u32),
    /// The `[height, width]` grid of the filters.
    grid: [usize; 2],
    /// Zoom of the spatial panels ([`spatial_zoom`]).
    zoom: usize,
}

/// One tile: the three panels of wavelet `p` side by side and, under them, its parameters and
/// the fraction `aliasing` of its energy that the subsampling after it aliases.
fn draw_tile(canvas: &mut Canvas, tile: &Tile, p: &MorletParams, aliasing: f64) -> Result<()> {
    let [height, width] = tile.grid;
    let (x, y) = tile.corner;
    let s = mosaic_scale(height, width);
    let (pw, ph) = (s * width as u32, s * height as u32);
    let img = filter_images(p, height, width);
    let amp = max_abs(img.real.view()).max(max_abs(img.imag.view()));
    let fmax = max_abs(img.fourier_modulus.view());
    for (k, (field, map, range)) in [
        (
            zoom_centre(&img.real, tile.zoom),
            ColorMap::BlueRed,
            (-amp, amp),
        ),
        (
            zoom_centre(&img.imag, tile.zoom),
            ColorMap::BlueRed,
            (-amp, amp),
        ),
        (img.fourier_modulus, ColorMap::Viridis, (0.0, fmax)),
    ]
    .into_iter()
    .enumerate()
    {
        let px = (x + k as u32 * (pw + PANEL_GAP)) as i64;
        canvas.draw_field(px, y as i64, field.view(), s, map, range);
    }
    let ty = (y + ph + 3) as i32;
    canvas.text(
        x as i32,
        ty,
        &format!("σ={}  ξ={}", fmt_num(p.sigma, 3), fmt_num(p.xi, 3)),
        12.0,
        BLACK_RGB,
    )?;
    canvas.text(
        x as i32,
        ty + LEGEND_LINE as i32,
        &format!(
            "θ={}  γ={}  α={:.0}%",
            fmt_num(p.theta, 3),
            fmt_num(p.slant, 3),
            100.0 * aliasing
        ),
        12.0,
        BLACK_RGB,
    )?;
    Ok(())
}

/// The footer of a picture `ch` pixels high: the two colour maps and what the symbols mean.
fn draw_legend(canvas: &mut Canvas, ch: u32) -> Result<()> {
    let fy = (ch - FOOTER + 8) as i64;
    canvas.text(
        LEFT as i32,
        fy as i32,
        "per tile: Re ψ | Im ψ (space, −max|ψ|",
        12.0,
        BLACK_RGB,
    )?;
    let mut x =
        LEFT as i64 + Canvas::text_width("per tile: Re ψ | Im ψ (space, −max|ψ|", 12.0)? as i64 + 8;
    canvas.colorbar(x, fy + 3, 60, 9, ColorMap::BlueRed);
    x += 66;
    let mid = "+max|ψ|)  |  |FT ψ| (Fourier modulus, DC centred, 0";
    canvas.text(x as i32, fy as i32, mid, 12.0, BLACK_RGB)?;
    x += Canvas::text_width(mid, 12.0)? as i64 + 8;
    canvas.colorbar(x, fy + 3, 60, 9, ColorMap::Viridis);
    canvas.text((x + 66) as i32, fy as i32, "max)", 12.0, BLACK_RGB)?;
    canvas.text(
        LEFT as i32,
        (fy + 18) as i32,
        "σ: envelope width (px), ξ: frequency (rad/px), θ: orientation (rad), γ: slant, α: energy aliased by the 2^j subsampling",
        12.0,
        BLACK_RGB,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spatial_filter_is_centred_and_consistent_with_its_spectrum() {
        let bank = FilterBankParams::tight_frame(2, 8).unwrap();
        let p = bank.wavelet(1, 3);
        let img = filter_images(p, 40, 40);
        // |ψ| peaks at the centre (zero displacement), and the real part there is positive.
        let (mut best, mut arg) = (0.0, (0, 0));
        for ((i, j), &re) in img.real.indexed_iter() {
            let m = re.hypot(img.imag[[i, j]]);
            if m > best {
                best = m;
                arg = (i, j);
            }
        }
        assert_eq!(arg, (20, 20));
        // Zero mean: ψ̂(0) = 0, i.e. the spatial sum vanishes.
        assert!(img.real.sum().abs() < 1e-9 * best);
        // Parseval: Σ|ψ|² = Σ|ψ̂|² / (h·w).
        let space: f64 = img
            .real
            .iter()
            .zip(img.imag.iter())
            .map(|(a, b)| a * a + b * b)
            .sum();
        let freq: f64 = img.fourier_modulus.iter().map(|v| v * v).sum::<f64>() / 1600.0;
        assert!((space - freq).abs() < 1e-9 * freq);
    }

    #[test]
    fn zoom_keeps_the_centre() {
        let tf = FilterBankParams::tight_frame(2, 8).unwrap();
        // e = 1.6 / 0.5 = 3.2: ⌊40 / 17⌋ = 2.
        assert_eq!(spatial_zoom(&tf, 40, 40), 2);
        let a = Array2::from_shape_fn((6, 6), |(r, c)| (r * 6 + c) as f64);
        let z = zoom_centre(&a, 2);
        assert_eq!(z[[3, 3]], a[[3, 3]]);
        assert_eq!(z[[2, 2]], a[[2, 2]]);
        assert_eq!(z[[1, 1]], a[[2, 2]]);
        assert_eq!(z[[5, 5]], a[[4, 4]]);
        assert_eq!(zoom_centre(&a, 1), a);
    }

    #[test]
    fn size_formula() {
        assert_eq!(mosaic_scale(40, 40), 2);
        let (tw, th) = (3 * 80 + 6, 80 + 34);
        assert_eq!(
            mosaic_png_size(2, 8, 40, 40),
            (40 + 8 * tw + 70 + 10, 26 + 18 + 2 * th + 10 + 46)
        );
        assert_eq!(mosaic_png_size(1, 1, 40, 40).0, 760);
    }
}
