//! Times one training step of the learnable layer (filter generation, forward, backward to the
//! filter parameters) and prints one JSON line per mode.
//!
//! Used by `benches/compare_torch.py`, which runs the PyTorch reference approach in the same run.
//! By hand:
//! `cargo run --release --features full --example train_step -- --device flex --batch 128 --steps 5`
//!
//! Modes: `fixed_forward` (all parameters frozen), `learnable_forward` (filters regenerated),
//! `learnable_step` (forward + backward). The loss is `Σ S`, as in the reference script.
//!
//! With `--head linear,wrn,mlp`, also `hybrid_step_<head>`: the hybrid model (learnable scattering
//! and that head, 10 classes) forward, cross-entropy on random labels and backward to every
//! parameter, which is what one training batch costs before the optimiser update:
//! `cargo run --release --features full --example train_step -- --channels 1 --size 28 --step-only --head linear,wrn`

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Int;
use burn::tensor::{Distribution, Tensor};
use clap::Parser;
use learnable_scattering::experiment::HeadKind;
use learnable_scattering::nn::{Scattering2dConfig, Trainable};
use learnable_scattering::train::HybridConfig;

mod common;
use common::DeviceKind;

#[derive(Parser, Debug)]
struct Args {
    /// Where the burn layer runs.
    #[arg(long, value_enum, default_value = "flex")]
    device: DeviceKind,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Channels per image.
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Image side.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Number of scales `J`.
    #[arg(long = "j", default_value_t = 2)]
    j: usize,
    /// Number of orientations `L`.
    #[arg(long = "l", default_value_t = 8)]
    l: usize,
    /// Timed steps per mode (after one warm-up); the best and the median are reported.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Only the forward + backward step (and the hybrid steps of `--head`).
    #[arg(long)]
    step_only: bool,
    /// Also time a training step of the hybrid model with these heads (linear, wrn, mlp).
    #[arg(long, value_delimiter = ',')]
    head: Vec<HeadKind>,
}

/// One timed operation.
type Step = Box<dyn Fn()>;

fn main() {
    let args = Args::parse();
    let device = args
        .device
        .device()
        .unwrap_or_else(|e| panic!("--device {:?}: {e}", args.device))
        .autodiff();
    let shape = [args.batch, args.channels, args.size, args.size];
    let x = Tensor::<4>::random(shape, Distribution::Default, &device);
    let config =
        Scattering2dConfig::new(args.j, [args.size, args.size]).with_num_orientations(args.l);
    let learnable = config.init(&device);
    let fixed = config
        .clone()
        .with_trainable(Trainable::none())
        .init(&device);

    let mut modes: Vec<(String, Step)> = Vec::new();
    if !args.step_only {
        let (fixed, x1) = (fixed.clone(), x.clone());
        modes.push((
            "fixed_forward".into(),
            Box::new(move || {
                let _ = fixed.forward(x1.clone()).sum().into_scalar::<f32>();
            }),
        ));
        let (layer, x2) = (learnable.clone(), x.clone());
        modes.push((
            "learnable_forward".into(),
            Box::new(move || {
                let _ = layer.forward(x2.clone()).sum().into_scalar::<f32>();
            }),
        ));
    }
    let (layer, x3) = (learnable.clone(), x.clone());
    modes.push((
        "learnable_step".into(),
        Box::new(move || {
            let grads = layer.forward(x3.clone()).sum().backward();
            let g = layer.filters.xi.val().grad(&grads).expect("xi gradient");
            let _ = g.sum().into_scalar::<f32>();
        }),
    ));
    let num_classes = 10;
    let labels = Tensor::<1, Int>::from_data(
        (0..args.batch)
            .map(|i| (i % num_classes) as i64)
            .collect::<Vec<_>>()
            .as_slice(),
        &device,
    );
    for &kind in &args.head {
        let (name, head) = (kind.name(), kind.config());
        let model = HybridConfig::new(config.clone(), args.channels, num_classes)
            .with_head(head)
            .init(&device);
        let loss = CrossEntropyLossConfig::new().init(&device);
        let (x4, y) = (x.clone(), labels.clone());
        modes.push((
            format!("hybrid_step_{name}"),
            Box::new(move || {
                let grads = loss
                    .forward(model.forward(x4.clone()), y.clone())
                    .backward();
                let g = model.scattering.filters.xi.val().grad(&grads);
                let _ = g.expect("xi gradient").sum().into_scalar::<f32>();
            }),
        ));
    }
    for (name, f) in modes {
        f(); // warm-up: plans, kernels, allocations
        let mut times: Vec<f64> = (0..args.steps.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                device.sync().expect("device sync");
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{{\"device\": \"{:?}\", \"mode\": \"{name}\", \"batch\": {}, \"channels\": {}, \"size\": {}, \"J\": {}, \"L\": {}, \"best_s\": {:.5}, \"median_s\": {:.5}, \"threads\": {}}}",
            args.device,
            args.batch,
            args.channels,
            args.size,
            args.j,
            args.l,
            times[0],
            times[times.len() / 2],
            rayon::current_num_threads()
        );
    }
}
