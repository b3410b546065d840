//! Filter-bank pictures and diagnostics into one directory: filter mosaics, Littlewood–Paley heat
//! maps and frame bounds, parameter trajectories, parameter distances and deformation-stability
//! curves, for the tight frame, a seeded random bank and, when given, a training checkpoint.
//!
//! ```sh
//! cargo run --release --features full --example inspect_filters -- --out DIR [--checkpoint CKPT] \
//!     [--j 2] [--l 8] [--size 32] [--seed 0]
//! ```
//!
//! `CKPT` is a checkpoint directory holding `filters.json` (a `FilterTrajectory`) or that file
//! itself; its `J` and `L` then replace `--j` / `--l`. Needs no burn feature. The files written
//! are listed in the documentation of `learnable_scattering::analysis::render_all`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use learnable_scattering::analysis::{
    Deformation, DeformationOptions, InspectionOptions, render_all,
};
use learnable_scattering::filters::diagnostics::ALIASING_WARNING;

/// Render filter pictures, frame bounds, distances and deformation curves.
#[derive(Parser, Debug)]
#[command(about)]
struct Args {
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Training checkpoint: a directory with `filters.json`, or the file.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of scales J (ignored with --checkpoint).
    #[arg(long, default_value_t = 2)]
    j: usize,
    /// Number of orientations L (ignored with --checkpoint).
    #[arg(long, default_value_t = 8)]
    l: usize,
    /// Input side whose padded grid the filter pictures and frame bounds use.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Seed of the random bank.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Side of the texture windows for the deformation curves.
    #[arg(long, default_value_t = 64)]
    deformation_size: usize,
    /// Number of strength levels per deformation (the reference uses 20).
    #[arg(long, default_value_t = 20)]
    levels: usize,
    /// Directory of texture PNGs for the deformation curves.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data"))]
    images: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let start = Instant::now();
    let mut options = InspectionOptions::new(&args.out, &args.images);
    options.num_scales = args.j;
    options.num_orientations = args.l;
    options.size = args.size;
    options.seed = args.seed;
    options.checkpoint = args.checkpoint.clone();
    options.deformation = DeformationOptions {
        size: args.deformation_size,
        levels: args.levels,
        ..DeformationOptions::default()
    };
    let inspection = render_all(&options)?;

    let first = &inspection.banks[0].bank;
    println!(
        "J = {}, L = {}, filters on the {}x{} padded grid of a {}x{} input",
        first.num_scales(),
        first.num_orientations(),
        inspection.frame_bounds[0].height,
        inspection.frame_bounds[0].width,
        args.size,
        args.size
    );
    println!("\nframe bounds (A = min, B = max of the Littlewood–Paley sum):");
    println!(
        "  {:<20} {:>12} {:>12} {:>12} {:>12}",
        "bank", "plain A", "plain B", "symm. A", "symm. B"
    );
    for (b, f) in inspection.banks.iter().zip(&inspection.frame_bounds) {
        println!(
            "  {:<20} {:>12.6} {:>12.6} {:>12.6} {:>12.6}",
            b.name, f.plain.lower, f.plain.upper, f.symmetric.lower, f.symmetric.upper
        );
    }
    println!(
        "\naliasing (fraction of each wavelet's energy beyond the Nyquist frequency of its scale; \
         warning level {:.0} %):",
        100.0 * ALIASING_WARNING
    );
    let [h, w] = [
        inspection.frame_bounds[0].height,
        inspection.frame_bounds[0].width,
    ];
    for b in &inspection.banks {
        let fractions = b.bank.aliasing(h, w);
        let (n, worst) = fractions
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0f64), |m, (n, f)| if f > m.1 { (n, f) } else { m });
        let above = fractions.iter().filter(|&&f| f > ALIASING_WARNING).count();
        let big_l = b.bank.num_orientations();
        println!(
            "  {:<20} largest {:>5.1} % (wavelet {n}: j = {}, l = {}), {above} above the level",
            b.name,
            100.0 * worst,
            n / big_l,
            n % big_l
        );
    }
    println!("\nparameter distances (Hungarian matching; Euclidean on (ξ, σ, γ) + arc on θ):");
    for (name, d) in &inspection.distances {
        println!(
            "  {name:<40} total {:>10.4}   mean per filter {:>8.4}",
            d.total,
            d.mean()
        );
    }
    println!("\ndeformation stability at the largest strength (mean ‖S(x) − S(τx)‖ / ‖S(x)‖):");
    for deformation in Deformation::ALL {
        for c in inspection
            .curves
            .iter()
            .filter(|c| c.deformation == deformation)
        {
            println!(
                "  {:<12} {:<20} s = {:>7.3} {:<10} {:.4}   baseline {:.4}",
                deformation.name(),
                c.bank,
                c.strengths.last().copied().unwrap_or(0.0),
                deformation.unit(),
                c.distances.last().copied().unwrap_or(0.0),
                c.baseline
            );
        }
    }
    println!(
        "\nwrote {} files into {} in {:.1} s",
        inspection.files.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    for f in &inspection.files {
        match f.png_size {
            Some((w, h)) => println!("  {} ({w}x{h})", f.path.display()),
            None => println!("  {}", f.path.display()),
        }
    }
    Ok(())
}
