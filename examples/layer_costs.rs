//! What learning the filters costs next to the fixed transform, side by side in one process.
//!
//! For each case (`1×28×28 J=2`, `3×32×32 J=2`, `1×64×64 J=3`, `1×128×128 J=4`; `L = 8`, batch
//! 128 by default)
//! it times `--repeats` runs after one warm-up (the warm-up's time is reported apart: on a GPU it
//! includes compiling the kernels), the device synchronised before each clock read, the upload
//! of the input and the download of what is read back inside the timed region (as a user pays
//! them); the table shows the best run, the JSON lines the best, the median and the warm-up:
//!
//! - **(a)** the plan's fixed transform ([`Scattering2dPlan::transform`]);
//! - **(b)** the burn layer's forward with frozen filters (on `--device`, flex by default, an
//!   autodiff device as in training);
//! - **(c)** the layer's forward + backward with learnable filters, loss `Σ w·S` with fixed
//!   weights `w`, gradients of every filter parameter read back;
//! - **(d)** the layer's forward + backward with frozen filters and a tracked input (the input
//!   gradient alone: no filter-gradient work).
//!
//! and prints a Markdown table with the ratios to (a) and the peak resident memory of (c) (the
//! process's high-water mark reset before it, Linux), then one JSON line per case.
//!
//! `cargo run --release --features full --example layer_costs [-- --batch 128 --repeats 5 --case 3x32x32]`
//!
//! With `--mode c --case 3x32x32` only that mode runs, and the peak resident memory printed at the
//! end is that of mode (c) alone. `--mode f` also prints the cost of the filter construction
//! alone (forward + backward). With the `wgpu` feature, `--device wgpu` times the layer on the GPU
//! (the fixed transform stays on the CPU): `benches/gpu.sh` runs that.

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use clap::Parser;
use learnable_scattering::ScatteringOptions;
use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::nn::{Scattering2dConfig, Trainable};
use ndarray::Array4;

mod common;
use common::DeviceKind;

#[derive(Parser, Debug)]
struct Args {
    /// Where the burn layer runs.
    #[arg(long, value_enum, default_value = "flex")]
    device: DeviceKind,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Timed repetitions per mode (after one warm-up); the best is reported.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Cases to run (`CxHxW`), default all four.
    #[arg(long, value_delimiter = ',')]
    case: Vec<String>,
    /// Modes to run (a, b, c, d), default all.
    #[arg(long, value_delimiter = ',')]
    mode: Vec<String>,
    /// Number of orientations `L`.
    #[arg(long = "l", default_value_t = 8)]
    l: usize,
    /// Recompute the intermediates in the backward instead of keeping them
    /// (`Scattering2dConfig::with_keep_intermediates(false)`).
    #[arg(long)]
    recompute: bool,
}

/// `(channels, size, J)` of the default cases: Fashion-MNIST, CIFAR-10, a 64×64 crop at `J = 3`,
/// and KTH-TIPS2-b's 128×128 crops at the paper's texture setting `J = 4`.
const CASES: [(usize, usize, usize); 4] = [(1, 28, 2), (3, 32, 2), (1, 64, 3), (1, 128, 4)];

/// Best time of `repeats` runs of `f` after one warm-up, the device synchronised before the clock
/// stops (asynchronous backends).
/// Seconds of a warm-up run and of `repeats` timed runs.
#[derive(Clone, Copy)]
struct Timing {
    warm_up: f64,
    best: f64,
    median: f64,
}

impl Timing {
    const NONE: Timing = Timing {
        warm_up: f64::NAN,
        best: f64::NAN,
        median: f64::NAN,
    };
}

fn time_of(device: &Device, mut f: impl FnMut()) -> f64 {
    device.sync().expect("device sync");
    let t = Instant::now();
    f();
    device.sync().expect("device sync");
    t.elapsed().as_secs_f64()
}

fn best_of(device: &Device, repeats: usize, mut f: impl FnMut()) -> Timing {
    let warm_up = time_of(device, &mut f);
    let mut runs: Vec<f64> = (0..repeats.max(1))
        .map(|_| time_of(device, &mut f))
        .collect();
    runs.sort_by(f64::total_cmp);
    let n = runs.len();
    let median = if n % 2 == 1 {
        runs[n / 2]
    } else {
        (runs[n / 2 - 1] + runs[n / 2]) / 2.0
    };
    Timing {
        warm_up,
        best: runs[0],
        median,
    }
}

fn main() {
    let args = Args::parse();
    let device = args
        .device
        .device()
        .unwrap_or_else(|e| panic!("--device {:?}: {e}", args.device))
        .autodiff();
    let wants = |m: &str| args.mode.is_empty() || args.mode.iter().any(|x| x == m);
    println!(
        "layer on {:?}, intermediates {}\n",
        args.device,
        if args.recompute { "recomputed" } else { "kept" }
    );
    println!(
        "| case | (a) fixed transform | (b) layer, frozen | (c) layer + backward, learnable | (d) layer + backward, frozen (input gradient) | b/a | c/a | d/a | peak RSS of (c) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut lines = Vec::new();
    for (c, size, j) in CASES {
        let name = format!("{c}x{size}x{size}");
        if !args.case.is_empty() && !args.case.contains(&name) {
            continue;
        }
        let shape = [args.batch, c, size, size];
        let x = Array4::<f32>::from_shape_fn(shape, |(b, ch, i, k)| {
            (((b * 31 + ch * 7 + i * 13 + k * 5) % 97) as f32 / 97.0)
                + ((i * k) as f32 * 0.01).sin()
        });
        let values: Vec<f32> = x.iter().copied().collect();
        // The upload, inside every timed closure.
        let xt = || {
            Tensor::<4>::from_data(
                burn::tensor::TensorData::new(values.clone(), shape),
                &device,
            )
        };
        let config = Scattering2dConfig::new(j, [size, size])
            .with_num_orientations(args.l)
            .with_keep_intermediates(!args.recompute);
        let mut times = [Timing::NONE; 4];

        if wants("a") {
            let options = ScatteringOptions::new(j, args.l).expect("valid options");
            let plan = Scattering2dPlan::<f32>::new(size, size, options).expect("valid plan");
            times[0] = best_of(&device, args.repeats, || {
                std::hint::black_box(plan.transform(x.view()).expect("transform"));
            });
        }
        if wants("b") {
            let frozen = config
                .clone()
                .with_trainable(Trainable::none())
                .init(&device);
            times[1] = best_of(&device, args.repeats, || {
                let s = frozen.forward(xt());
                std::hint::black_box(s.into_data());
            });
        }
        let k = config.init(&device).num_paths();
        let [ho, wo] = [size >> j, size >> j];
        let weights =
            Tensor::<5>::random([1, c, k, ho, wo], Distribution::Uniform(0.5, 1.5), &device);
        let mut learnable_rss = None;
        if wants("c") {
            reset_peak_rss();
            let learnable = config.init(&device);
            times[2] = best_of(&device, args.repeats, || {
                let loss = (learnable.forward(xt()) * weights.clone()).sum();
                let grads = loss.backward();
                let f = &learnable.filters;
                for p in [&f.log_sigma, &f.xi, &f.theta, &f.log_slant] {
                    let g = p.val().grad(&grads).expect("filter gradient");
                    std::hint::black_box(g.into_data());
                }
            });
            learnable_rss = peak_rss_mb();
        }
        if wants("d") {
            let frozen = config
                .clone()
                .with_trainable(Trainable::none())
                .init(&device);
            times[3] = best_of(&device, args.repeats, || {
                let input = xt().require_grad();
                let loss = (frozen.forward(input.clone()) * weights.clone()).sum();
                let grads = loss.backward();
                let g = input.grad(&grads).expect("input gradient");
                std::hint::black_box(g.into_data());
            });
        }
        if wants("f") {
            let learnable = config.init(&device);
            let psi_shape = learnable.filters.spectra().dims();
            let w = Tensor::<3>::random(psi_shape, Distribution::Uniform(0.5, 1.5), &device);
            let t = best_of(&device, args.repeats, || {
                let grads = (learnable.filters.spectra() * w.clone()).sum().backward();
                let g = learnable
                    .filters
                    .xi
                    .val()
                    .grad(&grads)
                    .expect("xi gradient");
                std::hint::black_box(g.into_data());
            });
            eprintln!(
                "{name}: filter construction forward + backward {:.1} ms",
                t.best * 1e3
            );
            let t = best_of(&device, args.repeats, || {
                std::hint::black_box(learnable.filters.spectra().into_data());
            });
            eprintln!("{name}: filter construction forward {:.1} ms", t.best * 1e3);
        }
        let [a, b, cc, d] = times.map(|t| t.best);
        let cell = |t: f64| {
            if t.is_nan() {
                "–".to_string()
            } else {
                format!("{:.1} ms ({:.0} img/s)", t * 1e3, args.batch as f64 / t)
            }
        };
        let ratio = |t: f64| {
            if t.is_nan() || a.is_nan() {
                "–".to_string()
            } else {
                format!("{:.2}×", t / a)
            }
        };
        println!(
            "| {name} J={j} L={} b{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            args.l,
            args.batch,
            cell(a),
            cell(b),
            cell(cc),
            cell(d),
            ratio(b),
            ratio(cc),
            ratio(d),
            learnable_rss.map_or("–".to_string(), |mb| format!("{mb:.0} MB"))
        );
        let json = |t: f64| {
            if t.is_nan() {
                "null".to_string()
            } else {
                format!("{t:.5}")
            }
        };
        let stats = |t: Timing| {
            format!(
                "{{\"best_s\": {}, \"median_s\": {}, \"warm_up_s\": {}}}",
                json(t.best),
                json(t.median),
                json(t.warm_up)
            )
        };
        lines.push(format!(
            "{{\"device\": \"{:?}\", \"case\": \"{name}\", \"J\": {j}, \"L\": {}, \"batch\": {}, \"repeats\": {}, \"fixed_transform\": {}, \"frozen_forward\": {}, \"learnable_step\": {}, \"input_grad_step\": {}, \"learnable_peak_rss_mb\": {}}}",
            args.device,
            args.l,
            args.batch,
            args.repeats,
            stats(times[0]),
            stats(times[1]),
            stats(times[2]),
            stats(times[3]),
            learnable_rss.map_or("null".to_string(), |mb| format!("{mb:.0}"))
        ));
    }
    println!();
    for line in lines {
        println!("{line}");
    }
    if let Some(mb) = peak_rss_mb() {
        println!("peak resident memory of this process: {mb:.0} MB");
    }
}

/// Resets the peak resident set size of this process to its current size (Linux: writing `5` to
/// `/proc/self/clear_refs`); elsewhere the peak stays the process's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size of this process (`VmHWM` in `/proc/self/status`), Linux only.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
