//! What one run of the paper's 100-sample CIFAR-10 linear-head protocol costs on this machine,
//! measured on the 20 real CIFAR-10 test images the crate ships (`tests/fixtures/cifar10_foolbox`,
//! from the foolbox 3.3.4 wheel, MIT), and extrapolated to the full run.
//!
//! ```sh
//! cargo run --release --features full --example cifar10_cost -- --epochs 200
//! ```
//!
//! The real data set is not reachable from the machines this crate is built on, so the run is
//! timed on a stand-in of the same shape: the 20 images repeated to 100 training images (labels
//! `i mod 10`, since the 20 images miss two classes and the labels do not change the cost) and to
//! 1000 test images. It trains `--epochs` epochs of the paper's setting
//! (`TrainConfig::paper_cifar10(HeadKind::Linear, 100)`: batches of 100, crop + flip + cutout, CIFAR
//! normalisation; evaluation only at the end) for learnable and fixed tight-frame scattering, then
//! prints the measured seconds per epoch and per 1000 test images, and the **extrapolation** to
//! the paper's 5000 epochs with the 10 000 test images evaluated every 25 epochs.

use std::path::Path;

use burn::tensor::Device;
use clap::Parser;
use learnable_scattering::data::ImageDataset;
use learnable_scattering::experiment::HeadKind;
use learnable_scattering::nn::{Scattering2dConfig, Trainable};
use learnable_scattering::train::{HeadConfig, HybridConfig, TrainConfig};
use ndarray::Array4;

mod common;

#[derive(Parser, Debug)]
struct Args {
    /// Epochs to time (of the paper's 5000).
    #[arg(long, default_value_t = 200)]
    epochs: usize,
}

/// The 20 committed PNGs as `[20, 3, 32, 32]` pixels.
fn foolbox_pixels() -> Result<Array4<u8>, Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar10_foolbox");
    let mut names: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    names.sort();
    let mut out = Array4::<u8>::zeros((names.len(), 3, 32, 32));
    for (n, path) in names.iter().enumerate() {
        let img = image::open(path)?.to_rgb8();
        for (x, y, p) in img.enumerate_pixels() {
            for c in 0..3 {
                out[[n, c, y as usize, x as usize]] = p[c];
            }
        }
    }
    Ok(out)
}

fn repeated(pixels: &Array4<u8>, n: usize) -> Result<ImageDataset, Box<dyn std::error::Error>> {
    let images = Array4::from_shape_fn((n, 3, 32, 32), |(i, c, y, x)| {
        pixels[[i % pixels.shape()[0], c, y, x]]
    });
    let labels = (0..n).map(|i| i % 10).collect();
    Ok(ImageDataset::new(
        images,
        labels,
        (0..10).map(|c| c.to_string()).collect(),
    )?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let pixels = foolbox_pixels()?;
    let (train, test) = (repeated(&pixels, 100)?, repeated(&pixels, 1000)?);
    let device = Device::flex().autodiff();
    let mut config = TrainConfig::paper_cifar10(HeadKind::Linear, 100);
    let paper_epochs = config.epochs;
    config.epochs = args.epochs;
    println!(
        "paper's CIFAR-10 linear-head protocol at 100 images: {paper_epochs} epochs of batches of {}, \
         head peak rate {}, filter peak rate {}, crop + flip + cutout; timing {} epochs on a \
         stand-in of 100 training images (the 20 shipped test images repeated)\n",
        config.batch_size, config.head_max_lr, config.filter_lr, args.epochs
    );
    for learnable in [true, false] {
        let scattering = Scattering2dConfig::new(2, [32, 32]).with_trainable(if learnable {
            Trainable::all()
        } else {
            Trainable::none()
        });
        let model = HybridConfig::new(scattering, 3, 10)
            .with_head(HeadConfig::Linear)
            .init(&device);
        let cost = common::time_training(model, &train, &test, &config)?;
        let (per_epoch, eval_1000) = (cost.per_epoch, cost.evaluation);
        let evaluations = paper_epochs / 25;
        let extrapolated = per_epoch * paper_epochs as f64 + evaluations as f64 * 10.0 * eval_1000;
        println!(
            "{} scattering: measured {per_epoch:.3} s per epoch ({} epochs, {:.1} s), {eval_1000:.2} s \
             per 1000 test images; EXTRAPOLATED to {paper_epochs} epochs and {evaluations} \
             evaluations of 10 000 images: {:.0} s = {:.1} h per run (final accuracy on the \
             stand-in: {:.1} %)",
            if learnable { "learnable" } else { "fixed" },
            args.epochs,
            cost.report.wall_seconds,
            extrapolated,
            extrapolated / 3600.0,
            100.0 * cost.report.final_test_accuracy
        );
    }
    Ok(())
}
