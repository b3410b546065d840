//! Quick start: scatter two real textures shipped with the crate and show what the coefficients
//! say about them.
//!
//! `cargo run --release --features full --example textures [-- --save DIR]`
//!
//! Reads `examples/data/{brick,grass}.png` (512×512 gray, CC0, from scikit-image), runs a J = 3,
//! L = 8, order-2 scattering (kymatio's tight frame, fast CPU path), and prints the output shape,
//! the energy per order, and each texture's orientation profile (mean first-order coefficient per
//! scale and angle). With `--save DIR` it writes the coefficients (`scattering.npy`,
//! `[2, 1, K, 64, 64]`) and the channel table (`paths.json`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use learnable_scattering::analysis::load_gray;
use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::npy::{NpyArray, write_real_npy};
use learnable_scattering::{ScatteringOptions, ScatteringPath};
use ndarray::{Array4, Axis, s};

#[derive(Parser)]
struct Args {
    /// Also write the coefficients and the channel table into this folder.
    #[arg(long)]
    save: Option<PathBuf>,
}

const TEXTURES: [&str; 2] = ["brick", "grass"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let mut x = Array4::<f32>::zeros((TEXTURES.len(), 1, 512, 512));
    for (i, name) in TEXTURES.iter().enumerate() {
        let path = data.join(format!("{name}.png"));
        let image = load_gray(&path)?;
        if image.dim() != (512, 512) {
            let msg = format!(
                "{}: expected 512x512, got {:?}",
                path.display(),
                image.dim()
            );
            return Err(msg.into());
        }
        x.slice_mut(s![i, 0, .., ..])
            .assign(&image.mapv(|v| v as f32));
    }

    let options = ScatteringOptions::new(3, 8)?;
    let t = Instant::now();
    let plan = Scattering2dPlan::<f32>::new(512, 512, options)?;
    let planned = t.elapsed();
    let t = Instant::now();
    let coeffs = plan.transform(x.view())?;
    let ran = t.elapsed();

    println!(
        "Scattering J = 3, L = 8, max_order = 2 on {} textures of 512x512 (kymatio tight frame)",
        TEXTURES.len()
    );
    println!(
        "  input {:?} -> output {:?}: K = {} channels (1 + J·L + L²·J(J−1)/2), 64x64 each",
        x.shape(),
        coeffs.shape(),
        plan.num_paths()
    );
    println!(
        "  plan built in {:.1} ms, transform in {:.1} ms on {} threads",
        planned.as_secs_f64() * 1e3,
        ran.as_secs_f64() * 1e3,
        rayon::current_num_threads()
    );

    for (i, name) in TEXTURES.iter().enumerate() {
        let c = coeffs.slice(s![i, 0, .., .., ..]);
        let mut energy = [0.0f64; 3];
        for (path, channel) in plan.paths().iter().zip(c.axis_iter(Axis(0))) {
            energy[path.order()] += channel.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
        }
        let total: f64 = energy.iter().sum();
        println!(
            "\n{name}: energy by order  S0 {:.1} %  S1 {:.2} %  S2 {:.3} %",
            100.0 * energy[0] / total,
            100.0 * energy[1] / total,
            100.0 * energy[2] / total
        );
        println!("  orientation profile (mean S1, bar scaled per scale):");
        let big_l = options.num_orientations();
        for j1 in 0..options.num_scales() {
            let means: Vec<f64> = (0..big_l)
                .map(|l1| {
                    let k = plan
                        .paths()
                        .iter()
                        .position(|p| *p == ScatteringPath::First { j1, l1 })
                        .unwrap();
                    c.index_axis(Axis(0), k).mean().map_or(0.0, f64::from)
                })
                .collect();
            let peak = means.iter().cloned().fold(f64::MIN, f64::max);
            for (l1, m) in means.iter().enumerate() {
                let theta = plan.filter_bank().wavelet(j1, l1).theta.to_degrees();
                let bar = "#".repeat((30.0 * m / peak).round() as usize);
                println!("    j1={j1} θ={theta:>6.1}°  {m:.4}  {bar}");
            }
        }
    }

    if let Some(dir) = args.save {
        std::fs::create_dir_all(&dir)?;
        write_real_npy(
            dir.join("scattering.npy"),
            &NpyArray::F32(coeffs.into_dyn()),
        )?;
        let table = plan.filter_bank().paths_json(plan.paths());
        std::fs::write(
            dir.join("paths.json"),
            serde_json::to_string_pretty(&table)?,
        )?;
        println!(
            "\nwrote {0}/scattering.npy and {0}/paths.json",
            dir.display()
        );
    }
    Ok(())
}
