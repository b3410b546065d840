//! Training on wgpu (features `wgpu`, `train`, `flex`): `fit` with the linear, MLP and WRN heads
//! on the device executor, and checkpoints that move between the GPU and the CPU: a checkpoint
//! written on one loads on the other with bit-identical parameters, and five further steps on
//! either device agree within f32 rounding. Small models on small images: CI runs this on Mesa's
//! software Vulkan driver.
//!
//! `XDG_RUNTIME_DIR=$(mktemp -d) cargo test --profile gpu-ci --features wgpu,train --test gpu_training`
#![cfg(all(feature = "wgpu", feature = "train", feature = "flex"))]

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnable_scattering::data::ImageDataset;
use learnable_scattering::nn::Scattering2dConfig;
use learnable_scattering::testing::device::{adapter_name, wgpu_client};
use learnable_scattering::train::{FitOptions, HeadConfig, Hybrid, HybridConfig, TrainConfig, fit};
use ndarray::Array4;

mod support;
use support::numeric::{max_rel, to_vec};

/// Images per data set: five optimiser steps per epoch at [`BATCH`].
const IMAGES: usize = 10;
const BATCH: usize = 2;
const SIDE: usize = 16;

fn gpu() -> Device {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let client = wgpu_client().unwrap_or_else(|e| panic!("these tests need wgpu: {e}"));
        println!("adapter: {}", adapter_name(&client));
    });
    Device::wgpu(Default::default()).autodiff()
}

fn cpu() -> Device {
    Device::flex().autodiff()
}

/// Grey images of two classes whose pixels depend on the class.
fn data() -> ImageDataset {
    let images = Array4::from_shape_fn((IMAGES, 1, SIDE, SIDE), |(n, _, y, x)| {
        let class = n % 2;
        ((n * 37 + y * (11 + 6 * class) + x * (5 + 3 * class)) % 256) as u8
    });
    let labels = (0..IMAGES).map(|n| n % 2).collect();
    ImageDataset::new(images, labels, vec!["a".into(), "b".into()]).unwrap()
}

/// `J = 1`, `L = 2` on 16x16 grey images, two classes, learnable filters; the device seeded.
fn model(device: &Device, head: HeadConfig) -> Hybrid {
    device.seed(1);
    let scattering = Scattering2dConfig::new(1, [SIDE, SIDE]).with_num_orientations(2);
    HybridConfig::new(scattering, 1, 2)
        .with_head(head)
        .init(device)
}

fn config(epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::new(epochs, BATCH, 0.05, 0.1);
    c.seed = 2;
    c.eval_batch_size = 4;
    c
}

/// The filter parameters `ln σ`, `ξ`, `θ`, `ln slant`, in that order.
fn filters(model: &Hybrid) -> Vec<Vec<f64>> {
    let f = &model.scattering.filters;
    [&f.log_sigma, &f.xi, &f.theta, &f.log_slant]
        .iter()
        .map(|p| to_vec(p.val()))
        .collect()
}

/// The logits of the first four images, computed on the CPU (the model moved there first), so
/// that two models with the same parameters give the same bits.
fn logits_on_cpu(model: &Hybrid) -> Vec<f64> {
    let cpu = Device::flex();
    let model = model.clone().to_device(&cpu.clone().autodiff());
    let x: Vec<f32> = data()
        .images
        .iter()
        .take(4 * SIDE * SIDE)
        .map(|&v| v as f32 / 255.0)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(x, [4, 1, SIDE, SIDE]), &cpu.autodiff());
    to_vec(model.forward(x))
}

fn options(dir: &Path, resume: bool, stop_after: Option<usize>) -> FitOptions {
    FitOptions {
        checkpoint_dir: Some(dir.to_path_buf()),
        resume,
        stop_after,
        ..FitOptions::default()
    }
}

#[test]
fn fit_runs_on_wgpu_with_every_head() {
    let ds = data();
    for head in [
        HeadConfig::Linear,
        HeadConfig::Mlp { hidden: vec![8] },
        HeadConfig::Wrn {
            width: 1,
            blocks: 1,
        },
    ] {
        let name = head.name();
        let start = model(&gpu(), head.clone());
        let before = filters(&start);
        let (trained, report) = fit(start, &ds, &ds, &config(1), &FitOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let epoch = &report.history[0];
        println!(
            "{name} on wgpu: train loss {:.4}, test accuracy {:.2}",
            epoch.train_loss, report.final_test_accuracy
        );
        assert!(epoch.train_loss.is_finite(), "{name}: {epoch:?}");
        assert!((0.0..=1.0).contains(&report.final_test_accuracy), "{name}");
        let after = filters(&trained);
        assert!(
            before.iter().zip(&after).any(|(a, b)| a != b),
            "{name}: the learnable filters did not move"
        );
    }
}

/// One direction: a checkpoint written after one epoch on `write`, loaded on `read` (bit-identical
/// parameters: the same filter values and, evaluated on the CPU, the same logits), then one more
/// epoch (five steps) from it on each device: the filters and the logits agree to 1e-4 of their
/// largest value.
fn move_checkpoint(write: &Device, read: &Device, label: &str) {
    let ds = data();
    let scratch = tempfile::tempdir().unwrap();
    let (dir, copy) = (scratch.path().join("a"), scratch.path().join("b"));
    let head = HeadConfig::Mlp { hidden: vec![8] };
    let (written, _) = fit(
        model(write, head.clone()),
        &ds,
        &ds,
        &config(2),
        &options(&dir, false, Some(1)),
    )
    .unwrap();
    let (loaded, _) = fit(
        model(read, head.clone()),
        &ds,
        &ds,
        &config(2),
        &options(&dir, true, Some(1)),
    )
    .unwrap();
    assert_eq!(filters(&written), filters(&loaded), "{label}: filters");
    assert_eq!(
        logits_on_cpu(&written),
        logits_on_cpu(&loaded),
        "{label}: logits"
    );
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let further = |device: &Device, dir: &Path| {
        let opts = options(dir, true, None);
        fit(model(device, head.clone()), &ds, &ds, &config(2), &opts)
            .unwrap()
            .0
    };
    let (on_write, on_read) = (further(write, &dir), further(read, &copy));
    for (i, (a, b)) in filters(&on_write)
        .iter()
        .zip(&filters(&on_read))
        .enumerate()
    {
        let dev = max_rel(a, b);
        println!("{label}: filter family {i} after five more steps: {dev:.2e}");
        assert!(dev < 1e-4, "{label}: family {i}: {dev:e}");
    }
    let dev = max_rel(&logits_on_cpu(&on_write), &logits_on_cpu(&on_read));
    println!("{label}: logits after five more steps: {dev:.2e}");
    assert!(dev < 1e-4, "{label}: logits {dev:e}");
}

#[test]
fn checkpoints_move_between_the_gpu_and_the_cpu() {
    move_checkpoint(&gpu(), &cpu(), "written on wgpu, read on flex");
    move_checkpoint(&cpu(), &gpu(), "written on flex, read on wgpu");
}
