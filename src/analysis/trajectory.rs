//! Pictures of filter-parameter trajectories ([`FilterTrajectory`], recorded by `train::fit`).

use std::path::Path;

use super::plot::{LinePlot, Series, render_line_plots};
use super::render::category_color;
use crate::error::{Result, ScatterError};
use crate::trajectory::FilterTrajectory;

/// Size `(width, height)` in pixels of the PNG that [`render_trajectory`] writes: four
/// 560×380 panels in a 2×2 grid.
pub(crate) const TRAJECTORY_PNG_SIZE: (u32, u32) = (1120, 760);

/// Draws the parameter trajectories as four line plots (σ, ξ, θ, γ against the epoch), one line
/// per wavelet, coloured by its scale slot `j` (legend: one entry per `j`), and writes the PNG;
/// returns [`TRAJECTORY_PNG_SIZE`].
///
/// # Errors
/// [`RenderError::Plot`](super::RenderError::Plot) or [`RenderError::Image`](super::RenderError::Image) if drawing or writing
/// fails.
pub(crate) fn render_trajectory(
    path: impl AsRef<Path>,
    trajectory: &FilterTrajectory,
) -> Result<(u32, u32)> {
    let Some(first) = trajectory.first() else {
        return Err(ScatterError::InvalidParameter {
            name: "points",
            value: "[]".into(),
            reason: "a filter trajectory needs at least one point",
        });
    };
    let big_l = first.num_orientations();
    let count = first.wavelets().len();
    type Getter = fn(&crate::filters::MorletParams) -> f64;
    let params: [(&str, &str, Getter); 4] = [
        ("σ (envelope width)", "σ, pixels", |w| w.sigma),
        ("ξ (central frequency)", "ξ, rad/pixel", |w| w.xi),
        ("θ (orientation)", "θ, rad", |w| w.theta),
        ("γ (slant)", "γ", |w| w.slant),
    ];
    let panels: Vec<LinePlot> = params
        .iter()
        .map(|(title, y_label, get)| LinePlot {
            title: (*title).to_string(),
            x_label: "epoch".into(),
            y_label: (*y_label).to_string(),
            series: (0..count)
                .map(|n| Series {
                    label: (n % big_l == 0).then(|| format!("j = {}", n / big_l)),
                    points: trajectory
                        .points
                        .iter()
                        .filter_map(|p| p.bank.wavelets().get(n).map(|w| (p.epoch as f64, get(w))))
                        .collect(),
                    color: category_color(n / big_l),
                    dashed: false,
                })
                .collect(),
        })
        .collect();
    render_line_plots(
        path,
        &panels,
        2,
        (TRAJECTORY_PNG_SIZE.0 / 2, TRAJECTORY_PNG_SIZE.1 / 2),
    )
}
