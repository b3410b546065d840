//! What one run of the paper's KTH-TIPS2-b linear-head protocol costs on this machine, measured
//! on stand-in images cut from the two real textures the crate ships (`examples/data`, CC0), and
//! extrapolated to the full run.
//!
//! ```sh
//! cargo run --release --features full --example kth_cost -- --epochs 2
//! ```
//!
//! KTH-TIPS2-b is not reachable from the machines this crate is built on, so the run is timed on
//! data of its shape: 1188 training and 3564 test images (one physical sample against the other
//! three), 200×200 RGB, 11 classes, cut at seeded positions from `brick.png` and `grass.png`
//! (grey, copied to the three channels; labels `i mod 11`: the labels do not change the cost). It
//! trains `--epochs` epochs of the paper's setting (`TrainConfig::paper_kth(HeadKind::Linear)`:
//! `J = 4` on the 128×128 crops, batches of 128, random crop + flip, ImageNet normalisation;
//! evaluation only at the end) for learnable and fixed tight-frame scattering, then prints the
//! measured seconds per epoch and per evaluation of the 3564 test images, and the
//! **extrapolation** to the paper's 100 epochs with an evaluation every 25.

use std::path::Path;

use burn::tensor::Device;
use clap::Parser;
use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::kth::KTH_TIPS2B_SIZE;
use learnable_scattering::experiment::HeadKind;
use learnable_scattering::nn::{Scattering2dConfig, Trainable};
use learnable_scattering::train::{HeadConfig, HybridConfig, TrainConfig};
use ndarray::{Array2, Array4};

mod common;

/// KTH-TIPS2-b: 11 materials × 108 images per physical sample.
const CLASSES: usize = 11;
const TRAIN_IMAGES: usize = CLASSES * 108;
const TEST_IMAGES: usize = 3 * TRAIN_IMAGES;

#[derive(Parser, Debug)]
struct Args {
    /// Epochs to time (of the paper's 100).
    #[arg(long, default_value_t = 2)]
    epochs: usize,
}

/// A shipped texture as grey pixels `[height, width]`.
fn texture(name: &str) -> Result<Array2<u8>, Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name);
    let img = image::open(&path)?.to_luma8();
    let (w, h) = img.dimensions();
    Ok(Array2::from_shape_vec(
        (h as usize, w as usize),
        img.into_raw(),
    )?)
}

/// `n` RGB images of `KTH_TIPS2B_SIZE²` cut from the textures at seeded positions.
fn stand_in(
    textures: &[Array2<u8>],
    n: usize,
    seed: u64,
) -> Result<ImageDataset, Box<dyn std::error::Error>> {
    let size = KTH_TIPS2B_SIZE;
    let mut state = seed;
    let mut next = |bound: usize| {
        // SplitMix64: a fixed, documented sequence of crop positions.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % bound as u64) as usize
    };
    let origins: Vec<(usize, usize, usize)> = (0..n)
        .map(|i| {
            let t = &textures[i % textures.len()];
            let (h, w) = t.dim();
            (i % textures.len(), next(h - size + 1), next(w - size + 1))
        })
        .collect();
    let images = Array4::from_shape_fn((n, 3, size, size), |(i, _, y, x)| {
        let (t, oy, ox) = origins[i];
        textures[t][[oy + y, ox + x]]
    });
    let labels = (0..n).map(|i| i % CLASSES).collect();
    Ok(ImageDataset::new(
        images,
        labels,
        (0..CLASSES).map(|c| c.to_string()).collect(),
    )?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let textures = [texture("brick.png")?, texture("grass.png")?];
    let train = stand_in(&textures, TRAIN_IMAGES, 1)?;
    let test = stand_in(&textures, TEST_IMAGES, 2)?;
    let device = Device::flex().autodiff();
    let mut config = TrainConfig::paper_kth(HeadKind::Linear);
    let (paper_epochs, every) = (config.epochs, config.eval_every.unwrap_or(config.epochs));
    config.epochs = args.epochs;
    println!(
        "paper's KTH-TIPS2-b linear-head protocol: {paper_epochs} epochs of batches of {} over \
         {TRAIN_IMAGES} images, J = 4 on 3×128×128 crops, head peak rate {}, filter peak rate {}; \
         timing {} epochs on stand-in images cut from the shipped textures\n",
        config.batch_size, config.head_max_lr, config.filter_lr, args.epochs
    );
    for learnable in [true, false] {
        let scattering = Scattering2dConfig::new(4, [128, 128]).with_trainable(if learnable {
            Trainable::all()
        } else {
            Trainable::none()
        });
        let model = HybridConfig::new(scattering, 3, CLASSES)
            .with_head(HeadConfig::Linear)
            .init(&device);
        let cost = common::time_training(model, &train, &test, &config)?;
        let (per_epoch, eval) = (cost.per_epoch, cost.evaluation);
        let evaluations = paper_epochs / every;
        let extrapolated = per_epoch * paper_epochs as f64 + evaluations as f64 * eval;
        println!(
            "{} scattering: measured {per_epoch:.1} s per epoch ({} epochs, {:.1} s), {eval:.1} s \
             per evaluation of {TEST_IMAGES} test images; EXTRAPOLATED to {paper_epochs} epochs \
             and {evaluations} evaluations: {extrapolated:.0} s = {:.2} h per run, {:.1} h for \
             the paper's 16 runs (4 training samples × 4 seeds)",
            if learnable { "learnable" } else { "fixed" },
            args.epochs,
            cost.report.wall_seconds,
            extrapolated / 3600.0,
            16.0 * extrapolated / 3600.0
        );
    }
    Ok(())
}
