//! Line plots (plotters, bitmap backend, embedded font) written as PNG.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::RenderError;
use super::render::{Canvas, FONT_FAMILY, ensure_font};
use crate::error::{Result, ScatterError};

/// One line of a [`LinePlot`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Series {
    /// Legend text; `None` leaves the line out of the legend.
    pub(crate) label: Option<String>,
    /// Points `(x, y)` in drawing order; non-finite points are skipped.
    pub(crate) points: Vec<(f64, f64)>,
    /// Line colour, 8-bit RGB.
    pub(crate) color: [u8; 3],
    /// Dashed instead of solid.
    pub(crate) dashed: bool,
}

/// One panel: axes, title and lines.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LinePlot {
    /// Title above the panel.
    pub(crate) title: String,
    /// Label of the horizontal axis.
    pub(crate) x_label: String,
    /// Label of the vertical axis.
    pub(crate) y_label: String,
    /// The lines.
    pub(crate) series: Vec<Series>,
}

fn plot_error(what: &str) -> impl Fn(String) -> ScatterError + '_ {
    move |reason| {
        ScatterError::Render(RenderError::Plot {
            what: what.to_string(),
            reason,
        })
    }
}

/// A tick label: whole numbers without a decimal point (`500`, not `500.0`), others with the
/// fewest decimals (up to 4) that show them.
fn tick_label(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Data range of the finite points of all series, padded by 5 % (a flat range is widened by 1).
fn data_range(plot: &LinePlot) -> ((f64, f64), (f64, f64)) {
    let mut xr = (f64::INFINITY, f64::NEG_INFINITY);
    let mut yr = (f64::INFINITY, f64::NEG_INFINITY);
    for s in &plot.series {
        for &(x, y) in &s.points {
            if x.is_finite() && y.is_finite() {
                xr = (xr.0.min(x), xr.1.max(x));
                yr = (yr.0.min(y), yr.1.max(y));
            }
        }
    }
    let pad = |(lo, hi): (f64, f64), margin: f64| {
        if !lo.is_finite() {
            (0.0, 1.0)
        } else if hi - lo <= 1e-12 * lo.abs().max(1.0) {
            (lo - 0.5, hi + 0.5)
        } else {
            let m = margin * (hi - lo);
            (lo - m, hi + m)
        }
    };
    (pad(xr, 0.0), pad(yr, 0.05))
}

fn draw_panel(area: &DrawingArea<BitMapBackend<'_>, Shift>, plot: &LinePlot) -> Result<()> {
    let err = plot_error(&plot.title);
    let ((x0, x1), (y0, y1)) = data_range(plot);
    let mut chart = ChartBuilder::on(area)
        .caption(&plot.title, (FONT_FAMILY, 18))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .label_style((FONT_FAMILY, 13))
        .axis_desc_style((FONT_FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let mut any_label = false;
    for s in &plot.series {
        let color = RGBColor(s.color[0], s.color[1], s.color[2]);
        let style = color.stroke_width(2);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let anno = if s.dashed {
            chart.draw_series(DashedLineSeries::new(pts, 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(pts, style))
        }
        .map_err(|e| err(e.to_string()))?;
        if let Some(label) = &s.label {
            any_label = true;
            // Legend sample: two segments, with a gap when the line is dashed (coordinates
            // relative to the legend anchor).
            let gap = if s.dashed { 3 } else { 0 };
            anno.label(label.as_str()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (10 - gap, 0)], color.stroke_width(2))
                    + PathElement::new(vec![(10 + gap, 0), (20, 0)], color.stroke_width(2))
            });
        }
    }
    if any_label {
        chart
            .configure_series_labels()
            .label_font((FONT_FAMILY, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// Size in pixels `(width, height)` of the PNG that [`render_line_plots`] writes for `panels`
/// panels, `columns` per row, each `panel_size = (width, height)` pixels:
/// `(columns·width, ⌈panels / columns⌉·height)`.
fn line_plots_size(panels: usize, columns: usize, panel_size: (u32, u32)) -> (u32, u32) {
    let columns = columns.max(1).min(panels.max(1));
    let rows = panels.max(1).div_ceil(columns);
    (columns as u32 * panel_size.0, rows as u32 * panel_size.1)
}

/// Draws `panels` in a grid, `columns` per row, each `panel_size` pixels, and writes the PNG; returns
/// its size, [`line_plots_size`].
///
/// # Errors
/// [`RenderError::Plot`] if plotters fails, [`RenderError::Image`] if the PNG cannot be written.
pub(crate) fn render_line_plots(
    path: impl AsRef<Path>,
    panels: &[LinePlot],
    columns: usize,
    panel_size: (u32, u32),
) -> Result<(u32, u32)> {
    ensure_font()?;
    let path = path.as_ref();
    let (w, h) = line_plots_size(panels.len(), columns, panel_size);
    let columns = columns.max(1).min(panels.len().max(1));
    let rows = panels.len().max(1).div_ceil(columns);
    let mut canvas = Canvas::new(w, h);
    {
        let backend = BitMapBackend::with_buffer(canvas.pixels_mut(), (w, h));
        let root = backend.into_drawing_area();
        let areas = root.split_evenly((rows, columns));
        for (area, plot) in areas.iter().zip(panels) {
            draw_panel(area, plot)?;
        }
        root.present()
            .map_err(|e| plot_error(&path.display().to_string())(e.to_string()))?;
    }
    canvas.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_drop_needless_decimals() {
        assert_eq!(tick_label(500.0), "500");
        assert_eq!(tick_label(-3.0), "-3");
        assert_eq!(tick_label(72.5), "72.5");
        assert_eq!(tick_label(0.125), "0.125");
        assert_eq!(tick_label(1.0 / 3.0), "0.3333");
        assert_eq!(tick_label(1.00001), "1");
    }

    #[test]
    fn grid_size_formula() {
        assert_eq!(line_plots_size(4, 2, (300, 200)), (600, 400));
        assert_eq!(line_plots_size(3, 2, (300, 200)), (600, 400));
        assert_eq!(line_plots_size(1, 4, (300, 200)), (300, 200));
    }

    #[test]
    fn flat_and_empty_ranges_are_widened() {
        let plot = LinePlot {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                label: None,
                points: vec![(0.0, 2.0), (1.0, 2.0), (f64::NAN, 5.0)],
                color: [0, 0, 0],
                dashed: false,
            }],
        };
        let ((x0, x1), (y0, y1)) = data_range(&plot);
        assert_eq!((x0, x1), (0.0, 1.0));
        assert!(y0 < 2.0 && y1 > 2.0);
    }
}
