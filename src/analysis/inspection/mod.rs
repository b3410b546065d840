//! Everything at once ([`render_all`], example `inspect_filters`): the pictures, numbers and
//! tables of the analysis for the tight frame, a seeded random bank and, when given, a training
//! checkpoint. The files it writes are listed in [`render_all`]'s documentation.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::deformation::{
    STABILITY_PNG_SIZE, StabilityCurve, baseline_distance, deformation_curve, render_stability,
    stability_csv, strength_levels,
};
use super::distance::{BankDistance, bank_distance};
use super::littlewood_paley::{
    FrameBounds, LittlewoodPaley, littlewood_paley_png_size, render_littlewood_paley,
};
use super::mosaic::{mosaic_png_size, render_filter_mosaic};
use super::trajectory::{TRAJECTORY_PNG_SIZE, render_trajectory};
use super::warp::{Deformation, deformed_window, load_gray, normalize_set, tiles};
use crate::cascade::Scattering2dPlan;
use crate::error::{Result, ScatterError, io_error};
use crate::filters::FilterBankParams;
use crate::geometry::{PaddedGeometry, ScatteringOptions};
use crate::trajectory::FilterTrajectory;

/// Settings of the deformation-stability part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeformationOptions {
    /// Side of the analysed square windows, pixels (≥ `2^J`).
    pub size: usize,
    /// Number of strength levels `n`: strengths `k·max/n`, `k = 0..n`, up to the reference's
    /// largest strength of each family (the reference uses 20).
    pub levels: usize,
    /// Number of windows that are deformed (the curve is their mean).
    pub deformed_images: usize,
    /// Number of unrelated windows for the baseline (at least 2).
    pub baseline_images: usize,
    /// Integer factor `f`: textures are warped at full resolution and box-downsampled by `f`,
    /// so that the blur of bilinear interpolation stays below the analysed resolution.
    pub downsample: usize,
}

impl Default for DeformationOptions {
    /// 64-pixel windows, 20 levels, 4 deformed and 8 baseline windows, textures downsampled by 2.
    fn default() -> Self {
        Self {
            size: 64,
            levels: 20,
            deformed_images: 4,
            baseline_images: 8,
            downsample: 2,
        }
    }
}

/// What [`render_all`] draws, and where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectionOptions {
    /// Output directory (created if missing).
    out_dir: PathBuf,
    /// Number of scales `J` of the tight-frame and random banks.
    pub num_scales: usize,
    /// Number of orientations `L` of the tight-frame and random banks.
    pub num_orientations: usize,
    /// Input side for the filter pictures and Littlewood–Paley sums: they use its padded grid
    /// (32 at `J = 2` → 40×40).
    pub size: usize,
    /// Seed of the random bank ([`FilterBankParams::random`]).
    pub seed: u64,
    /// A training checkpoint directory or its `filters.json` ([`FilterTrajectory::read_json`]).
    pub checkpoint: Option<PathBuf>,
    /// Directory of the texture images for the deformation curves (every `.png`, sorted by name;
    /// the crate ships `examples/data`).
    image_dir: PathBuf,
    /// Deformation settings.
    pub deformation: DeformationOptions,
}

impl InspectionOptions {
    /// Output into `out_dir` (created if missing), textures for the deformation curves from
    /// `image_dir` (every `.png`, sorted by name; the crate ships `examples/data`). Defaults:
    /// `J = 2`, `L = 8`, size 32, seed 0, no checkpoint, [`DeformationOptions::default`].
    pub fn new(out_dir: impl Into<PathBuf>, image_dir: impl Into<PathBuf>) -> Self {
        Self {
            out_dir: out_dir.into(),
            num_scales: 2,
            num_orientations: 8,
            size: 32,
            seed: 0,
            checkpoint: None,
            image_dir: image_dir.into(),
            deformation: DeformationOptions::default(),
        }
    }
}

/// A filter bank with a name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedBank {
    /// File-name-safe name (`tight_frame`, `random`, `checkpoint_learned`, ...).
    pub name: String,
    /// The bank.
    pub bank: FilterBankParams,
}

/// Frame bounds of one named bank.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct NamedFrameBounds<'a> {
    /// Name of the bank.
    bank: &'a str,
    /// Its bounds.
    bounds: FrameBounds,
}

/// One file written by [`render_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// Path of the file.
    pub path: PathBuf,
    /// For a PNG, its size `(width, height)` in pixels; `None` for other files.
    pub png_size: Option<(u32, u32)>,
}

/// What [`render_all`] computed and wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    /// The banks analysed, in order.
    pub banks: Vec<NamedBank>,
    /// Frame bounds of each bank (same order), on the padded grid of `size × size`.
    pub frame_bounds: Vec<FrameBounds>,
    /// The compared pairs `(name, distance)`, e.g. `("tight_frame_vs_random", ..)`.
    pub distances: Vec<(String, BankDistance)>,
    /// Deformation curves, per family then per bank.
    pub curves: Vec<StabilityCurve>,
    /// Every file written.
    pub files: Vec<WrittenFile>,
}

impl Inspection {
    /// The frame bounds of the bank called `name`.
    pub fn bounds_of(&self, name: &str) -> Option<&FrameBounds> {
        self.banks
            .iter()
            .position(|b| b.name == name)
            .map(|i| &self.frame_bounds[i])
    }
}

fn write_text(files: &mut Vec<WrittenFile>, path: PathBuf, text: &str) -> Result<()> {
    std::fs::write(&path, text).map_err(io_error(&path))?;
    files.push(WrittenFile {
        path,
        png_size: None,
    });
    Ok(())
}

/// Texture sources for the deformation curves: every `.png` of `dir` (sorted by name), as grey
/// levels at full resolution, cut into non-overlapping `2·size·f` tiles (`f =
/// options.downsample`; the analysed window is their centre seen `f` times coarser, see
/// [`deformed_window`], the rest is margin for the warps), interleaved across images (first
/// tile of each image, then second, ...) and normalised together ([`normalize_set`]). Each
/// source has shape `[2·size·f, 2·size·f]`.
///
/// # Errors
/// [`ScatterError::Io`] if `dir` cannot be listed, [`RenderError::Image`](super::RenderError::Image)
/// for an unreadable image, [`ScatterError::InvalidParameter`] if fewer than 2 windows result.
fn texture_windows(dir: &Path, options: &DeformationOptions) -> Result<Vec<Array2<f64>>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
        .collect();
    paths.sort();
    let mut per_image = Vec::new();
    for p in &paths {
        let img = load_gray(p)?;
        per_image.push(tiles(
            img.view(),
            2 * options.size * options.downsample.max(1),
        ));
    }
    let most = per_image.iter().map(Vec::len).max().unwrap_or(0);
    let mut windows = Vec::new();
    for k in 0..most {
        for t in &per_image {
            if let Some(w) = t.get(k) {
                windows.push(w.clone());
            }
        }
    }
    if windows.len() < 2 {
        return Err(ScatterError::InvalidParameter {
            name: "image_dir",
            value: dir.display().to_string(),
            reason: "needs PNG textures that give at least 2 windows of 2·size pixels",
        });
    }
    normalize_set(&mut windows);
    Ok(windows)
}

/// Stability curves of every bank under every [`Deformation`] family, on texture windows
/// ([`texture_windows`]): the first `deformed_images` windows are deformed, the centres of the
/// first `baseline_images` give the baseline. Order: per family, then per bank.
///
/// # Errors
/// As [`texture_windows`], [`Scattering2dPlan::with_filter_bank`] and [`deformation_curve`].
fn stability_curves(
    banks: &[NamedBank],
    image_dir: &Path,
    options: &DeformationOptions,
) -> Result<Vec<StabilityCurve>> {
    let windows = texture_windows(image_dir, options)?;
    let (n, f) = (options.size, options.downsample.max(1));
    let deformed = &windows[..options.deformed_images.clamp(1, windows.len())];
    let unrelated: Vec<Array2<f64>> = windows[..options.baseline_images.clamp(2, windows.len())]
        .iter()
        .map(|w| deformed_window(w.view(), (n, n), f, Deformation::Rotation, 0.0))
        .collect();
    let mut plans = Vec::new();
    for b in banks {
        let scattering = ScatteringOptions::new(b.bank.num_scales(), b.bank.num_orientations())?;
        let plan = Scattering2dPlan::<f64>::with_filter_bank(n, n, scattering, b.bank.clone())?;
        let baseline = baseline_distance(&plan, &unrelated)?;
        plans.push((plan, baseline));
    }
    let mut curves = Vec::new();
    for deformation in Deformation::ALL {
        let strengths =
            strength_levels(deformation.reference_max_strength(n), options.levels.max(2));
        for (b, (plan, baseline)) in banks.iter().zip(&plans) {
            curves.push(StabilityCurve {
                bank: b.name.clone(),
                deformation,
                distances: deformation_curve(plan, deformed, f, deformation, &strengths)?,
                strengths: strengths.clone(),
                baseline: *baseline,
            });
        }
    }
    Ok(curves)
}

/// Renders the pictures, numbers and tables of the analysis into the options' output
/// directory, and returns what it computed.
///
/// Banks: `tight_frame`, `random` (seed `seed`), and with a checkpoint `checkpoint_initial`
/// (first point) and `checkpoint_learned` (last point). With a checkpoint, `J` and `L` are the
/// checkpoint's (the options' `num_scales` / `num_orientations` are ignored), so that every
/// comparison is between banks of one shape. Distances: tight frame vs random, and with a
/// checkpoint learned vs tight frame, learned vs initial. Deformation curves: tight frame,
/// random, and learned.
///
/// | file | content |
/// |---|---|
/// | `filters_<bank>.png` | every wavelet of the bank on the padded grid of a `size × size` input: real and imaginary parts in space, Fourier modulus, `σ, ξ, θ, γ` and the aliased fraction per tile |
/// | `littlewood_paley_<bank>.png` | the plain and symmetrised Littlewood–Paley sums as heat maps, one colour range for all banks |
/// | `frame_bounds.json` | `[{ "bank", "bounds": FrameBounds }]` |
/// | `distance_<a>_vs_<b>.csv` | the matched pairs: `index_a,index_b,euclidean_xi_sigma_slant,arc_theta,distance`, then `total,,,,D` |
/// | `distances.csv` | `pair,total,mean` per compared pair |
/// | `trajectory.csv`, `trajectory.png` | checkpoint only: the [`FilterTrajectory`] as CSV (one row per epoch and wavelet) and as line plots of `σ, ξ, θ, γ` against the epoch |
/// | `deformation_<family>.csv`, `.png` | per [`Deformation`] family: strengths, one curve per bank and its baseline |
///
/// Every PNG's size is in its [`WrittenFile::png_size`].
///
/// # Errors
/// [`ScatterError::Io`] if the directory or a file cannot be written, the checkpoint's read
/// errors ([`FilterTrajectory::read_json`]), bad `J`/`L`/`size` ([`ScatterError::InvalidParameter`],
/// [`ScatterError::ScaleTooLarge`]), and the drawing and image errors of the renderers
/// ([`RenderError`](super::RenderError)).
pub fn render_all(options: &InspectionOptions) -> Result<Inspection> {
    let out = &options.out_dir;
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    let trajectory = options
        .checkpoint
        .as_ref()
        .map(FilterTrajectory::read_json)
        .transpose()?;
    let banks = banks_to_compare(options, trajectory.as_ref())?;
    let big_j = banks[0].bank.num_scales();
    let [ph, pw] = PaddedGeometry::new(options.size, options.size, big_j)?.padded_size();
    let mut files = Vec::new();
    filter_pictures(out, &banks, [ph, pw], &mut files)?;
    let frame_bounds = frame_bound_pictures(out, &banks, [ph, pw], &mut files)?;
    if let Some(t) = &trajectory {
        trajectory_files(out, t, &mut files)?;
    }
    let distances = distance_files(out, &banks, trajectory.is_some(), &mut files)?;
    let curves = deformation_files(out, &banks, options, &mut files)?;
    Ok(Inspection {
        banks,
        frame_bounds,
        distances,
        curves,
        files,
    })
}

/// The tight frame, a random bank and, with a checkpoint, its initial and learned banks (the
/// checkpoint's `J` and `L` then decide those of the others).
fn banks_to_compare(
    options: &InspectionOptions,
    trajectory: Option<&FilterTrajectory>,
) -> Result<Vec<NamedBank>> {
    let (big_j, big_l) = match trajectory.and_then(FilterTrajectory::last) {
        Some(b) => (b.num_scales(), b.num_orientations()),
        None => (options.num_scales, options.num_orientations),
    };
    let mut banks = vec![
        NamedBank {
            name: "tight_frame".into(),
            bank: FilterBankParams::tight_frame(big_j, big_l)?,
        },
        NamedBank {
            name: "random".into(),
            bank: FilterBankParams::random(big_j, big_l, options.seed)?,
        },
    ];
    if let Some((first, last)) = trajectory.and_then(|t| t.first().zip(t.last())) {
        banks.push(NamedBank {
            name: "checkpoint_initial".into(),
            bank: first.clone(),
        });
        banks.push(NamedBank {
            name: "checkpoint_learned".into(),
            bank: last.clone(),
        });
    }
    Ok(banks)
}

/// Figure 1: `filters_<bank>.png`: the filter mosaic of every bank.
fn filter_pictures(
    out: &Path,
    banks: &[NamedBank],
    [ph, pw]: [usize; 2],
    files: &mut Vec<WrittenFile>,
) -> Result<()> {
    for b in banks {
        let path = out.join(format!("filters_{}.png", b.name));
        let size = render_filter_mosaic(&path, &b.bank, ph, pw, &b.name.replace('_', " "))?;
        debug_assert_eq!(
            size,
            mosaic_png_size(b.bank.num_scales(), b.bank.num_orientations(), ph, pw)
        );
        files.push(WrittenFile {
            path,
            png_size: Some(size),
        });
    }
    Ok(())
}

/// Figure 2: `littlewood_paley_<bank>.png` on a common colour range, and `frame_bounds.json`.
fn frame_bound_pictures(
    out: &Path,
    banks: &[NamedBank],
    [ph, pw]: [usize; 2],
    files: &mut Vec<WrittenFile>,
) -> Result<Vec<FrameBounds>> {
    let sums: Vec<LittlewoodPaley> = banks
        .iter()
        .map(|b| LittlewoodPaley::compute(&b.bank, ph, pw))
        .collect();
    let frame_bounds: Vec<FrameBounds> = sums.iter().map(LittlewoodPaley::bounds).collect();
    let top = frame_bounds
        .iter()
        .map(|f| f.plain.upper.max(f.symmetric.upper))
        .fold(1.0f64, f64::max);
    for (b, lp) in banks.iter().zip(&sums) {
        let path = out.join(format!("littlewood_paley_{}.png", b.name));
        let title = format!("Littlewood–Paley sum: {}", b.name.replace('_', " "));
        let size = render_littlewood_paley(&path, lp, &title, (0.0, top))?;
        debug_assert_eq!(size, littlewood_paley_png_size(ph, pw));
        files.push(WrittenFile {
            path,
            png_size: Some(size),
        });
    }
    let named: Vec<NamedFrameBounds<'_>> = banks
        .iter()
        .zip(&frame_bounds)
        .map(|(b, f)| NamedFrameBounds {
            bank: &b.name,
            bounds: *f,
        })
        .collect();
    let path = out.join("frame_bounds.json");
    let json = serde_json::to_string_pretty(&named).map_err(|source| ScatterError::Json {
        path: path.clone(),
        source,
    })?;
    write_text(files, path, &json)?;
    Ok(frame_bounds)
}

/// Figure 3: `trajectory.csv` and `trajectory.png`.
fn trajectory_files(
    out: &Path,
    trajectory: &FilterTrajectory,
    files: &mut Vec<WrittenFile>,
) -> Result<()> {
    write_text(files, out.join("trajectory.csv"), &trajectory.to_csv())?;
    let path = out.join("trajectory.png");
    let size = render_trajectory(&path, trajectory)?;
    debug_assert_eq!(size, TRAJECTORY_PNG_SIZE);
    files.push(WrittenFile {
        path,
        png_size: Some(size),
    });
    Ok(())
}

/// Figure 4: `distance_<a>_vs_<b>.csv` per compared pair and `distances.csv`.
fn distance_files(
    out: &Path,
    banks: &[NamedBank],
    with_checkpoint: bool,
    files: &mut Vec<WrittenFile>,
) -> Result<Vec<(String, BankDistance)>> {
    let by_name = |name: &str| &banks.iter().find(|b| b.name == name).expect("bank").bank;
    let mut pairs = vec![("tight_frame", "random")];
    if with_checkpoint {
        pairs.push(("checkpoint_learned", "tight_frame"));
        pairs.push(("checkpoint_learned", "checkpoint_initial"));
    }
    let mut distances = Vec::new();
    let mut summary = String::from("pair,total,mean\n");
    for (a, b) in pairs {
        let name = format!("{a}_vs_{b}");
        let d = bank_distance(by_name(a), by_name(b))?;
        write_text(files, out.join(format!("distance_{name}.csv")), &d.to_csv())?;
        summary.push_str(&format!("{name},{},{}\n", d.total, d.mean()));
        distances.push((name, d));
    }
    write_text(files, out.join("distances.csv"), &summary)?;
    Ok(distances)
}

/// Figure 5: `deformation_<family>.csv` and `.png`: stability of the tight frame, the random and the
/// learned bank.
fn deformation_files(
    out: &Path,
    banks: &[NamedBank],
    options: &InspectionOptions,
    files: &mut Vec<WrittenFile>,
) -> Result<Vec<StabilityCurve>> {
    let compared: Vec<NamedBank> = banks
        .iter()
        .filter(|b| b.name != "checkpoint_initial")
        .cloned()
        .collect();
    let curves = stability_curves(&compared, &options.image_dir, &options.deformation)?;
    for deformation in Deformation::ALL {
        let family: Vec<StabilityCurve> = curves
            .iter()
            .filter(|c| c.deformation == deformation)
            .cloned()
            .collect();
        write_text(
            files,
            out.join(format!("deformation_{}.csv", deformation.name())),
            &stability_csv(&family),
        )?;
        let path = out.join(format!("deformation_{}.png", deformation.name()));
        let size = render_stability(&path, &family)?;
        debug_assert_eq!(size, STABILITY_PNG_SIZE);
        files.push(WrittenFile {
            path,
            png_size: Some(size),
        });
    }
    Ok(curves)
}

#[cfg(test)]
mod tests;
