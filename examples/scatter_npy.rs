//! Scatter a `.npy` array with the CPU cascade, as kymatio's numpy `Scattering2D` would.
//!
//! ```text
//! cargo run --release --example scatter_npy -- INPUT.npy OUTPUT.npy --j J --l L --max-order 1|2 \
//!     [--paths PATHS.json] [--filter-bank BANK.json]
//! ```
//!
//! INPUT is `float32` or `float64` of shape `[..., H, W]`; OUTPUT has the same dtype and shape
//! `[..., K, H / 2^J, W / 2^J]` (kymatio's layout). `--paths` writes the channel table
//! (order, j1, l1, θ1, j2, l2, θ2 per channel) as JSON. `--filter-bank` takes a bank file
//! (`FilterBankParams::write_json`, the Python package's `FilterBankParams.to_json`) or a training
//! checkpoint (its directory or `filters.json`: the last bank), read by
//! `FilterBankParams::read_json`; `--j` and `--l` must then match it.

use learnable_scattering::error::FileError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use learnable_scattering::cascade::{Float, Scattering2dPlan};
use learnable_scattering::npy::{NpyArray, read_real_npy, write_real_npy};
use learnable_scattering::{FilterBankParams, Result, ScatterError, ScatteringOptions};
use ndarray::ArrayD;

#[derive(Parser, Debug)]
#[command(about = "Scattering coefficients of a .npy array (kymatio-compatible layout)")]
struct Args {
    /// Input `.npy`, float32 or float64, shape `[..., H, W]`.
    input: PathBuf,
    /// Output `.npy`, same dtype, shape `[..., K, H / 2^J, W / 2^J]`.
    output: PathBuf,
    /// Number of scales `J`.
    #[arg(long = "j")]
    j: usize,
    /// Number of orientations `L`.
    #[arg(long = "l", default_value_t = 8)]
    l: usize,
    /// Highest scattering order, 1 or 2.
    #[arg(long, default_value_t = 2)]
    max_order: usize,
    /// Write the channel → path table as JSON here.
    #[arg(long)]
    paths: Option<PathBuf>,
    /// Use this bank (a bank file or a checkpoint) instead of kymatio's tight frame.
    #[arg(long)]
    filter_bank: Option<PathBuf>,
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
    // Both destinations are checked before anything is computed or written, so that a run that
    // fails leaves no output behind.
    for path in std::iter::once(&args.output).chain(&args.paths) {
        require_parent_dir(path)?;
    }
    let options = ScatteringOptions::with_max_order(args.j, args.l, args.max_order)?;
    let bank = match &args.filter_bank {
        Some(path) => {
            let bank = FilterBankParams::read_json(path)?;
            if (bank.num_scales(), bank.num_orientations()) != (args.j, args.l) {
                return Err(ScatterError::InvalidParameter {
                    name: "filter_bank",
                    value: format!("J={}, L={}", bank.num_scales(), bank.num_orientations()),
                    reason: "must match --j and --l",
                });
            }
            bank
        }
        None => FilterBankParams::tight_frame(options.num_scales(), options.num_orientations())?,
    };

    let input = read_real_npy(&args.input)?;
    let shape = input.shape().to_vec();
    if shape.len() < 2 {
        return Err(ScatterError::InvalidRank {
            expected: "at least 2",
            got: shape.len(),
        });
    }
    let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    let (output, plan_paths) = match input {
        NpyArray::F32(x) => {
            let (s, p) = scatter::<f32>(&x, h, w, options, bank.clone())?;
            (NpyArray::F32(s), p)
        }
        NpyArray::F64(x) => {
            let (s, p) = scatter::<f64>(&x, h, w, options, bank.clone())?;
            (NpyArray::F64(s), p)
        }
    };
    // The paths table first: it is small, and if it cannot be written the output is not.
    if let Some(path) = &args.paths {
        let json = bank.paths_json(&plan_paths);
        std::fs::write(
            path,
            serde_json::to_string_pretty(&json).expect("JSON value"),
        )
        .map_err(|source| ScatterError::Io {
            path: path.clone(),
            source,
        })?;
    }
    write_real_npy(&args.output, &output)?;
    eprintln!(
        "{}: {:?} -> {}: {:?}",
        args.input.display(),
        shape,
        args.output.display(),
        output.shape()
    );
    Ok(())
}

/// The folder `path` is to be written into must exist (the error names the file).
fn require_parent_dir(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.is_dir() {
        Ok(())
    } else {
        Err(ScatterError::File(FileError::MissingPath {
            path: path.to_path_buf(),
            what: "folder to write this file into",
        }))
    }
}

fn scatter<T: Float>(
    x: &ArrayD<T>,
    h: usize,
    w: usize,
    options: ScatteringOptions,
    bank: FilterBankParams,
) -> Result<(ArrayD<T>, Vec<learnable_scattering::ScatteringPath>)> {
    let plan = Scattering2dPlan::<T>::with_filter_bank(h, w, options, bank)?;
    Ok((plan.transform_dyn(x.view())?, plan.paths().to_vec()))
}
