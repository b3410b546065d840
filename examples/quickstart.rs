//! Quick start: learnable vs fixed scattering on a small real data set shipped with the crate.
//!
//! ```sh
//! cargo run --release --features full --example quickstart
//! ```
//!
//! Trains two hybrid models with a linear head on 1000 Fashion-MNIST images (100 per class,
//! `examples/data/fashion-mnist-small`, MIT licence) and tests them on 1000 others: scattering
//! with J = 2, L = 8 and kymatio's tight-frame Morlet filters, once with the filters' σ, ξ, θ and
//! slant learned together with the head, once with the filters fixed. Both use the paper's
//! optimiser (SGD, one-cycle schedule, weight decay on the head only) and the same seed. Prints
//! both test accuracies and how far the filters moved; the checkpoints (with the filter
//! trajectory for `inspect_filters --checkpoint`) go to `--out` (default `runs/quickstart`).
//! `--device wgpu` trains on a GPU (build with `--features train,wgpu`); the models start from
//! the same initial values on every device.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use clap::Parser;
use learnable_scattering::data::augment::Normalization;
use learnable_scattering::data::idx::load_fashion_mnist;
use learnable_scattering::nn::{Scattering2dConfig, Trainable, cpu_device};
use learnable_scattering::train::{FitOptions, HybridConfig, TrainConfig, fit};

#[path = "common/device.rs"]
mod device;
use device::DeviceKind;

#[derive(Parser)]
struct Args {
    /// Epochs per model.
    #[arg(long, default_value_t = 25)]
    epochs: usize,
    /// Where to write the two checkpoints.
    #[arg(long, default_value = "runs/quickstart")]
    out: PathBuf,
    /// Seed of the head initialisation and the batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the layer runs.
    #[arg(long, value_enum, default_value = "flex")]
    device: DeviceKind,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/fashion-mnist-small");
    let (train, test) = load_fashion_mnist(&data)?;
    println!(
        "Fashion-MNIST subset: {} training and {} test images, {}x{}, {} classes",
        train.len(),
        test.len(),
        train.height(),
        train.width(),
        train.num_classes()
    );

    let mut config = TrainConfig::new(args.epochs, 128, 0.1, 0.1);
    config.normalization = Normalization::from_dataset(&train);
    config.seed = args.seed;
    let device = args.device.device()?.autodiff();
    let cpu = cpu_device().autodiff();

    let mut results = Vec::new();
    for (name, trainable) in [
        ("learnable", Trainable::all()),
        ("fixed", Trainable::none()),
    ] {
        // Initialised on the CPU and forked to the device (leaves there, trainable as they were):
        // burn's random streams differ between backends, so a seed gives the same initial model
        // on every device. burn initialises parameters lazily, and a parameter forked before its
        // first use would be initialised on the device it is forked to; one that a clone shares
        // is initialised where it was made, then moved. Hence the clone.
        cpu.seed(args.seed);
        let scattering = Scattering2dConfig::new(2, [28, 28]).with_trainable(trainable);
        let on_cpu = HybridConfig::new(scattering, 1, train.num_classes()).init(&cpu);
        let model = on_cpu.clone().fork(&device);
        drop(on_cpu);
        let initial = model.scattering.filters.to_params()?;
        let options = FitOptions {
            checkpoint_dir: Some(args.out.join(name)),
            progress: true,
            ..FitOptions::default()
        };
        let t = Instant::now();
        let (model, report) = fit(model, &train, &test, &config, &options)?;
        let learned = model.scattering.filters.to_params()?;
        let moved = initial
            .wavelets()
            .iter()
            .zip(learned.wavelets())
            .map(|(a, b)| {
                ((a.sigma - b.sigma).abs() / a.sigma)
                    .max((a.xi - b.xi).abs() / a.xi)
                    .max((a.slant - b.slant).abs() / a.slant)
            })
            .fold(0.0, f64::max);
        results.push((
            name,
            report.final_test_accuracy,
            t.elapsed().as_secs_f64(),
            moved,
        ));
    }
    println!();
    for (name, accuracy, seconds, moved) in &results {
        println!(
            "{name:>9} scattering + linear head: test accuracy {:.1}%  ({seconds:.0} s, largest relative change of σ, ξ or slant: {:.1}%)",
            100.0 * accuracy,
            100.0 * moved
        );
    }
    println!(
        "checkpoints: {} (see `cargo run --release --features full --example inspect_filters -- --out DIR --checkpoint {}`)",
        args.out.display(),
        args.out.join("learnable").display()
    );
    Ok(())
}
