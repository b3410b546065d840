//! The burn layer (`nn::Scattering2d`) on the CPU backends, as a user sees it: parity with the
//! fixed transform on the same filters, non-finite and huge inputs, gradients to the input,
//! output shapes, save and load. The parts (the fused operation, the filter construction,
//! configuration errors) are unit tests in `src/nn/`; the layer on wgpu is `burn_wgpu.rs`; the layer against kymatio is in `golden_kymatio.rs`. Inputs are made here.
#![cfg(any(feature = "flex", feature = "ndarray"))]

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::nn::{FilterInit, Scattering2dConfig, Trainable};
use ndarray::Array4;

mod support;
use support::numeric::{devices, max_rel, tensor4, to_vec, tolerance_use};

/// A deterministic pseudo-random image batch.
fn images(shape: [usize; 4], seed: u64) -> Array4<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array4::from_shape_simple_fn(shape, || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32) / (1u64 << 24) as f32
    })
}

// ------------------------------------------------------------------ parity with the fixed transform

/// The layer on frozen filters against the fixed transform on the same (exported) bank.
#[test]
fn layer_matches_the_fast_path_on_frozen_filters() {
    let cases: [(usize, usize, [usize; 2], usize, FilterInit); 4] = [
        (2, 8, [32, 32], 2, FilterInit::TightFrame),
        (3, 4, [20, 28], 2, FilterInit::Random { seed: 11 }),
        (2, 6, [17, 24], 1, FilterInit::TightFrame),
        (3, 3, [24, 16], 2, FilterInit::TightFrame),
    ];
    let mut worst = 0.0f64;
    for (name, device) in devices() {
        for (j, l, size, max_order, init) in &cases {
            let config = Scattering2dConfig::new(*j, *size)
                .with_num_orientations(*l)
                .with_max_order(*max_order)
                .with_init(init.clone())
                .with_trainable(Trainable::none());
            let layer = config.init(&device);
            let x = images([2, 3, size[0], size[1]], 5);
            let got = to_vec(layer.forward(tensor4(&x, &device)));
            let plan = layer.to_plan().unwrap();
            let want: Vec<f64> = plan
                .transform(x.view())
                .unwrap()
                .iter()
                .map(|&v| v as f64)
                .collect();
            let use_ = tolerance_use(&got, &want, 1e-4, 1e-6);
            println!(
                "{name} J={j} L={l} {size:?} order {max_order}: tolerance use {use_:.3}, max |d|/max|S| = {:.2e}",
                max_rel(&got, &want)
            );
            worst = worst.max(max_rel(&got, &want));
            assert!(use_ <= 1.0, "{name} J={j} L={l} {size:?}: {use_}");
        }
    }
    println!("largest deviation from the fixed transform: {worst:.2e} of max|S|");
}

#[test]
fn output_shape_and_path_table_follow_the_fast_path() {
    let device = &devices()[0].1;
    let layer = Scattering2dConfig::new(3, [32, 24])
        .with_num_orientations(4)
        .init(device);
    let out = layer.forward(Tensor::zeros([1, 2, 32, 24], device));
    assert_eq!(out.dims(), [1, 2, 1 + 3 * 4 + 16 * 3, 4, 3]);
    let plan = Scattering2dPlan::<f32>::new(
        32,
        24,
        learnable_scattering::ScatteringOptions::new(3, 4).unwrap(),
    )
    .unwrap();
    assert_eq!(layer.paths(), plan.paths());
}

// ------------------------------------------------------------------ inputs and gradients

/// Non-finite pixels: without the check they spoil their own image's coefficients only; with it
/// the layer panics naming the position. Huge finite pixels give finite coefficients.
#[test]
fn non_finite_and_huge_inputs() {
    for (name, device) in devices() {
        let layer = Scattering2dConfig::new(2, [16, 16])
            .with_num_orientations(4)
            .init(&device);
        let k = layer.num_paths();
        let mut x = images([2, 2, 16, 16], 3);
        x[[1, 0, 5, 7]] = f32::NAN;
        let s = to_vec(layer.forward(tensor4(&x, &device)));
        let plane = k * 16;
        let spoiled: Vec<usize> = (0..4)
            .filter(|p| s[p * plane..(p + 1) * plane].iter().any(|v| v.is_nan()))
            .collect();
        assert_eq!(spoiled, [2], "{name}: only image 1, channel 0 is NaN");
        x[[1, 0, 5, 7]] = f32::INFINITY;
        let s = to_vec(layer.forward(tensor4(&x, &device)));
        assert!(s[..2 * plane].iter().all(|v| v.is_finite()), "{name}");
        let huge = images([1, 1, 16, 16], 4).mapv(|v| v * 1e30);
        let s = to_vec(layer.forward(tensor4(&huge, &device)));
        assert!(s.iter().all(|v| v.is_finite()), "{name}: huge input");
    }
}

#[test]
#[should_panic(expected = "Scattering2d: non-finite input value inf at index [1, 0, 5, 7]")]
fn the_finite_check_names_the_first_bad_pixel() {
    let device = &devices()[0].1;
    let layer = Scattering2dConfig::new(2, [16, 16])
        .with_num_orientations(4)
        .with_check_finite(true)
        .init(device);
    let mut x = images([2, 2, 16, 16], 3);
    x[[1, 0, 5, 7]] = f32::INFINITY;
    x[[1, 1, 0, 0]] = f32::NAN;
    layer.forward(tensor4(&x, device));
}

#[test]
fn gradients_flow_to_the_input() {
    let device = devices()[0].1.clone().autodiff();
    let layer = Scattering2dConfig::new(2, [16, 16])
        .with_num_orientations(4)
        .init(&device);
    let x = Tensor::<4>::random([1, 1, 16, 16], Distribution::Default, &device).require_grad();
    let grads = layer.forward(x.clone()).sum().backward();
    let g = to_vec(x.grad(&grads).expect("input gradient"));
    assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0));
}

// ------------------------------------------------------------------ save and load

#[test]
fn layer_round_trips_through_a_record_and_its_config_through_json() {
    let tmp = tempfile::Builder::new()
        .prefix("ls-record-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let device = &devices()[0].1;
    let config = Scattering2dConfig::new(2, [24, 24])
        .with_num_orientations(4)
        .with_init(FilterInit::Random { seed: 9 });
    let trained = config.init(device);
    // "Train": move the parameters away from their initial values.
    let mut trained = trained;
    trained.filters.xi = trained.filters.xi.map(|t| t.add_scalar(0.05));
    let want = to_vec(trained.filters.spectra());

    let file = dir.join("layer.bpk");
    trained.clone().save_file(&file).unwrap();
    config.save(dir.join("config.json")).unwrap();
    let loaded_config = Scattering2dConfig::load(dir.join("config.json")).unwrap();
    assert_eq!(loaded_config.init, config.init);
    let fresh = loaded_config.init(device);
    assert!(max_rel(&to_vec(fresh.filters.spectra()), &want) > 1e-3);
    let loaded = fresh.load_file(&file);
    assert_eq!(to_vec(loaded.filters.spectra()), want);
    assert_eq!(
        loaded.filters.to_params().unwrap(),
        trained.filters.to_params().unwrap()
    );

    // An explicit bank survives the config's JSON exactly.
    let bank = trained.filters.to_params().unwrap();
    let explicit = config
        .clone()
        .with_init(FilterInit::Explicit { bank: bank.clone() });
    explicit.save(dir.join("explicit.json")).unwrap();
    let back = Scattering2dConfig::load(dir.join("explicit.json")).unwrap();
    assert_eq!(back.init, FilterInit::Explicit { bank });
}
