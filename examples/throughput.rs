//! Times the fixed transform on a `.npy` batch and prints one JSON line: images per second (best of
//! `--repeats`), peak resident memory, and optionally writes the coefficients.
//!
//! Used by `benches/compare_kymatio.py`, which runs kymatio 0.3.0 on the same input in the same
//! run. By hand:
//! `cargo run --release --example throughput -- INPUT.npy --j 2 --l 8 --repeats 5`

use learnable_scattering::error::FileError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::npy::{NpyArray, read_real_npy, write_real_npy};
use learnable_scattering::{Result, ScatterError, ScatteringOptions};

#[derive(Parser, Debug)]
struct Args {
    /// Input `.npy` (float32), shape `[batch, ..., H, W]`.
    input: PathBuf,
    /// Number of scales `J`.
    #[arg(long = "j")]
    j: usize,
    /// Number of orientations `L`.
    #[arg(long = "l", default_value_t = 8)]
    l: usize,
    /// Timed repetitions; the best one is reported.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Write the coefficients of the last run here.
    #[arg(long)]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let NpyArray::F32(x) = read_real_npy(&args.input)? else {
        return Err(ScatterError::File(FileError::UnsupportedDtype {
            path: args.input,
        }));
    };
    let shape = x.shape().to_vec();
    if shape.len() < 3 {
        return Err(ScatterError::InvalidRank {
            expected: "at least 3",
            got: shape.len(),
        });
    }
    let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    let plan = Scattering2dPlan::<f32>::new(h, w, ScatteringOptions::new(args.j, args.l)?)?;
    let mut best = f64::INFINITY;
    let mut out: Option<ndarray::ArrayD<f32>> = None;
    for _ in 0..args.repeats.max(1) {
        drop(out.take()); // free the previous result first: peak memory is that of one transform
        let t = Instant::now();
        let s = plan.transform_dyn(x.view())?;
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(s);
    }
    if let (Some(path), Some(s)) = (&args.output, out) {
        write_real_npy(path, &NpyArray::F32(s))?;
    }
    println!(
        "{{\"images\": {}, \"seconds\": {best:.6}, \"images_per_second\": {:.1}, \"threads\": {}, \"peak_rss_mb\": {}}}",
        shape[0],
        shape[0] as f64 / best,
        rayon::current_num_threads(),
        peak_rss_mb().map_or("null".to_string(), |m| format!("{m:.1}"))
    );
    Ok(())
}

/// Peak resident set size of this process (`VmHWM` in `/proc/self/status`), Linux only.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
