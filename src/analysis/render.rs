//! Raster pictures: colour maps, an RGB canvas with fields and text, PNG output.
//!
//! Text is drawn with plotters' `ab_glyph` renderer and a subset of DejaVu Sans embedded in the
//! crate (`src/analysis/font/`, Bitstream Vera / Arev licence next to it), so pictures need no
//! system font at run time. The subset holds printable ASCII, the Greek letters and a few
//! symbols (`° ² · × – − … ‖ ∑ ≈ ≤ ≥`); other characters are skipped.

use crate::analysis::RenderError;
use std::path::Path;
use std::sync::OnceLock;

use ndarray::ArrayView2;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::{Result, ScatterError};

/// The embedded font: DejaVu Sans, subset (see the module docs).
const FONT_BYTES: &[u8] = include_bytes!("font/DejaVuSans-subset.ttf");

/// Family name under which the embedded font is registered with plotters (also registered as
/// `"sans-serif"`, plotters' default for axis labels).
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters once per process.
///
/// # Errors
/// [`RenderError::Plot`] if the font does not parse (a build defect).
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
            && register_font("serif", FontStyle::Normal, FONT_BYTES).is_ok()
            && register_font("monospace", FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ScatterError::Render(RenderError::Plot {
            what: "embedded font".into(),
            reason: "DejaVuSans-subset.ttf does not parse".into(),
        }))
    }
}

/// A colour map from `t ∈ [0, 1]` to 8-bit RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColorMap {
    /// Perceptually uniform dark blue → green → yellow (matplotlib's viridis), for magnitudes.
    Viridis,
    /// Diverging blue (`t = 0`) → white (`t = ½`) → red (`t = 1`) (ColorBrewer RdBu reversed), for
    /// signed values centred on 0.
    BlueRed,
}

impl ColorMap {
    /// Colour of `t`, clamped to `[0, 1]`; a NaN maps to mid grey.
    pub fn rgb(self, t: f64) -> [u8; 3] {
        if t.is_nan() {
            return [128, 128, 128];
        }
        let t = t.clamp(0.0, 1.0);
        let c = match self {
            ColorMap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            ColorMap::BlueRed => colorous::RED_BLUE.eval_continuous(1.0 - t),
        };
        [c.r, c.g, c.b]
    }

    /// Colour of `value` on the linear scale `range = (lo, hi)` (`lo ↦ 0`, `hi ↦ 1`); a degenerate
    /// range maps everything to the middle.
    pub fn map(self, value: f64, range: (f64, f64)) -> [u8; 3] {
        let span = range.1 - range.0;
        let t = if span > 0.0 {
            (value - range.0) / span
        } else {
            0.5
        };
        self.rgb(t)
    }
}

/// Categorical colours for line plots (d3's Category10), cycled by index.
pub(crate) fn category_color(index: usize) -> [u8; 3] {
    let c = colorous::CATEGORY10[index % colorous::CATEGORY10.len()];
    [c.r, c.g, c.b]
}

/// An 8-bit RGB picture, row-major, white when created.
#[derive(Clone, Debug)]
pub(crate) struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// Black.
pub(crate) const BLACK_RGB: [u8; 3] = [0, 0, 0];

impl Canvas {
    /// A white `width × height` canvas (pixels).
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            pixels: vec![255; width as usize * height as usize * 3],
        }
    }

    /// The RGB bytes, row-major, length `3·width·height`.
    #[cfg(test)]
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Sets one pixel; coordinates outside the canvas are ignored.
    pub fn put(&mut self, x: i64, y: i64, rgb: [u8; 3]) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.pixels[i..i + 3].copy_from_slice(&rgb);
    }

    /// Fills the rectangle with top-left corner `(x, y)` and size `w × h` (clipped).
    pub fn fill_rect(&mut self, x: i64, y: i64, w: u32, h: u32, rgb: [u8; 3]) {
        for yy in y..y + h as i64 {
            for xx in x..x + w as i64 {
                self.put(xx, yy, rgb);
            }
        }
    }

    /// Draws a one-pixel rectangle outline.
    pub fn outline_rect(&mut self, x: i64, y: i64, w: u32, h: u32, rgb: [u8; 3]) {
        let (w, h) = (w as i64, h as i64);
        for xx in x..x + w {
            self.put(xx, y, rgb);
            self.put(xx, y + h - 1, rgb);
        }
        for yy in y..y + h {
            self.put(x, yy, rgb);
            self.put(x + w - 1, yy, rgb);
        }
    }

    /// Draws `field` (shape `[rows, cols]`) with its top-left corner at `(x, y)`, each value as a
    /// `scale × scale` block coloured by `map` on `range`: it covers `cols·scale × rows·scale`
    /// pixels.
    pub fn draw_field(
        &mut self,
        x: i64,
        y: i64,
        field: ArrayView2<'_, f64>,
        scale: u32,
        map: ColorMap,
        range: (f64, f64),
    ) {
        let s = scale as i64;
        for ((r, c), &v) in field.indexed_iter() {
            let rgb = map.map(v, range);
            self.fill_rect(x + c as i64 * s, y + r as i64 * s, scale, scale, rgb);
        }
    }

    /// A colour bar `w × h` pixels at `(x, y)`: low values on the left, high on the right.
    pub fn colorbar(&mut self, x: i64, y: i64, w: u32, h: u32, map: ColorMap) {
        for i in 0..w {
            let t = if w > 1 {
                i as f64 / (w - 1) as f64
            } else {
                0.5
            };
            self.fill_rect(x + i as i64, y, 1, h, map.rgb(t));
        }
        self.outline_rect(x - 1, y - 1, w + 2, h + 2, BLACK_RGB);
    }

    /// Writes `text` with its top-left corner near `(x, y)`, `size` pixels high, in `rgb`.
    ///
    /// # Errors
    /// [`RenderError::Plot`] if plotters fails to draw the text.
    pub fn text(&mut self, x: i32, y: i32, text: &str, size: f64, rgb: [u8; 3]) -> Result<()> {
        ensure_font()?;
        let (w, h) = (self.width, self.height);
        let backend = BitMapBackend::with_buffer(&mut self.pixels, (w, h));
        let area = backend.into_drawing_area();
        let color = RGBColor(rgb[0], rgb[1], rgb[2]);
        let style = TextStyle::from((FONT_FAMILY, size).into_font()).color(&color);
        area.draw_text(text, &style, (x, y)).map_err(|e| {
            ScatterError::Render(RenderError::Plot {
                what: format!("text {text:?}"),
                reason: e.to_string(),
            })
        })?;
        area.present().map_err(|e| {
            ScatterError::Render(RenderError::Plot {
                what: format!("text {text:?}"),
                reason: e.to_string(),
            })
        })
    }

    /// Width in pixels that [`Canvas::text`] uses for `text` at `size`.
    ///
    /// # Errors
    /// [`RenderError::Plot`] if the font cannot lay the text out.
    pub fn text_width(text: &str, size: f64) -> Result<u32> {
        ensure_font()?;
        let font = (FONT_FAMILY, size).into_font();
        let ((x0, _), (x1, _)) = font.layout_box(text).map_err(|e| {
            ScatterError::Render(RenderError::Plot {
                what: format!("text {text:?}"),
                reason: e.to_string(),
            })
        })?;
        Ok((x1 - x0).max(0) as u32)
    }

    /// Mutable access to the raw RGB bytes (row-major, `3·width·height`), for drawing with plotters
    /// (`BitMapBackend::with_buffer`).
    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }

    /// Encodes the canvas as an 8-bit RGB PNG; returns `(width, height)`.
    ///
    /// # Errors
    /// [`RenderError::Image`] if encoding or writing fails.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<(u32, u32)> {
        let path = path.as_ref();
        image::save_buffer_with_format(
            path,
            &self.pixels,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
            image::ImageFormat::Png,
        )
        .map_err(|source| {
            ScatterError::Render(RenderError::Image {
                path: path.to_path_buf(),
                source,
            })
        })?;
        Ok((self.width, self.height))
    }
}

/// Moves the zero frequency of an FFT-ordered array to the centre (numpy's `fftshift`): output
/// index `k` holds input index `(k + n − ⌊n/2⌋) mod n` on each axis, so index 0 moves to `⌊n/2⌋`.
pub(crate) fn fftshift(a: ArrayView2<'_, f64>) -> ndarray::Array2<f64> {
    let (h, w) = a.dim();
    ndarray::Array2::from_shape_fn((h, w), |(k, l)| {
        a[[(k + h - h / 2) % h, (l + w - w / 2) % w]]
    })
}

/// The largest absolute value of `a` (0 for an empty array).
pub(crate) fn max_abs(a: ArrayView2<'_, f64>) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Formats `v` with `digits` significant decimals, without a trailing `-0`.
pub(crate) fn fmt_num(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_endpoints() {
        // viridis: #440154 at 0, #fde725 at 1.
        assert_eq!(ColorMap::Viridis.rgb(0.0), [0x44, 0x01, 0x54]);
        assert_eq!(ColorMap::Viridis.rgb(1.0), [0xfd, 0xe7, 0x25]);
        assert_eq!(ColorMap::Viridis.rgb(-3.0), ColorMap::Viridis.rgb(0.0));
        assert_eq!(ColorMap::Viridis.rgb(7.0), ColorMap::Viridis.rgb(1.0));
        // BlueRed: blue at 0, red at 1, near-white in the middle.
        let [r, _, b] = ColorMap::BlueRed.rgb(0.0);
        assert!(b > 80 && r < 20, "{r} {b}");
        let [r, _, b] = ColorMap::BlueRed.rgb(1.0);
        assert!(r > 80 && b < 40, "{r} {b}");
        let mid = ColorMap::BlueRed.map(0.0, (-2.0, 2.0));
        assert!(mid.iter().all(|&c| c > 230), "{mid:?}");
        assert_eq!(ColorMap::Viridis.rgb(f64::NAN), [128, 128, 128]);
    }

    #[test]
    fn fftshift_centres_dc() {
        let a = ndarray::Array2::from_shape_fn((4, 5), |(i, j)| (i * 10 + j) as f64);
        let s = fftshift(a.view());
        assert_eq!(s[[2, 2]], 0.0);
        assert_eq!(s[[3, 3]], 11.0);
        assert_eq!(s[[0, 0]], a[[2, 3]]);
    }

    #[test]
    fn text_draws_dark_pixels_without_system_fonts() {
        let mut c = Canvas::new(120, 30);
        c.text(2, 2, "σ=0.80 ξ θ γ", 16.0, BLACK_RGB).unwrap();
        let dark = c.pixels().chunks(3).filter(|p| p[0] < 128).count();
        assert!(dark > 30, "{dark}");
        assert!(Canvas::text_width("abc", 16.0).unwrap() > 10);
    }

    #[test]
    fn fmt_num_drops_negative_zero() {
        assert_eq!(fmt_num(-0.0001, 2), "0.00");
        assert_eq!(fmt_num(-1.5, 2), "-1.50");
    }
}
