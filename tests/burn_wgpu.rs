//! The burn layer on wgpu (feature `wgpu`). CI runs it on Mesa's software Vulkan driver (lavapipe),
//! which compiles every kernel on first use and is slow, so the sizes stay small.
//!
//! `XDG_RUNTIME_DIR=$(mktemp -d) cargo test --profile gpu-ci --features wgpu --test burn_wgpu`
#![cfg(all(feature = "wgpu", feature = "flex"))]

use burn::tensor::{Device, Tensor, TensorData};
use learnable_scattering::nn::{FilterInit, Scattering2dConfig, Trainable};
use learnable_scattering::testing::composed::{fft2, ifft2};
use ndarray::Array4;

mod support;
use support::numeric::{max_rel, tensor4, to_vec};

fn device() -> Device {
    Device::wgpu(Default::default())
}

fn image(shape: [usize; 4]) -> Array4<f32> {
    Array4::from_shape_fn(shape, |(b, c, i, j)| {
        ((i * 7 + j * 3 + b * 5 + c) % 11) as f32 / 11.0 + (i as f32 * 0.4).sin() * 0.3
    })
}

/// One test function, so the device and its kernels are set up once.
#[test]
fn layer_on_wgpu_matches_the_fast_path_and_differentiates() {
    let device = device();

    // The FFT of a non-power-of-two grid round-trips.
    let v: Vec<f64> = (0..2 * 6 * 10)
        .map(|i| ((i * 7 % 13) as f64) / 13.0)
        .collect();
    let t = |v: &Vec<f64>| Tensor::<3>::from_data(TensorData::new(v.clone(), [2, 6, 10]), &device);
    let (re, im) = fft2(t(&v), t(&v).mul_scalar(0.5));
    // DC bin of plane 0 is the plane's sum.
    let sum0: f64 = v[..60].iter().sum();
    assert!((to_vec(re.clone())[0] - sum0).abs() < 1e-4 * sum0);
    let (back, _) = ifft2(re, im);
    assert!(max_rel(&to_vec(back), &v) < 1e-5, "round trip");

    // Forward on frozen filters against the fast path (tight frame and a random bank).
    for (init, size, j, l) in [
        (FilterInit::TightFrame, [16, 16], 2, 4),
        (FilterInit::Random { seed: 3 }, [12, 20], 2, 3),
    ] {
        let layer = Scattering2dConfig::new(j, size)
            .with_num_orientations(l)
            .with_init(init)
            .with_trainable(Trainable::none())
            .init(&device);
        let x = image([1, 2, size[0], size[1]]);
        let got = to_vec(layer.forward(tensor4(&x, &device)));
        let plan = layer.to_plan().unwrap();
        let want: Vec<f64> = plan
            .transform(x.view())
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect();
        let dev = max_rel(&got, &want);
        println!("wgpu vs fast path {size:?} J={j} L={l}: max |d|/max|S| = {dev:.2e}");
        assert!(dev < 1e-4, "{size:?}: {dev:e}");
    }

    // Gradients reach every filter parameter and agree with the CPU backend's.
    let grads_on = |device: &Device| -> Vec<Vec<f64>> {
        let layer = Scattering2dConfig::new(2, [16, 16])
            .with_num_orientations(2)
            .init(device);
        let x = tensor4(&image([1, 1, 16, 16]), device);
        let grads = layer.forward(x).sum().backward();
        let f = &layer.filters;
        [&f.log_sigma, &f.xi, &f.theta, &f.log_slant]
            .iter()
            .map(|p| to_vec(p.val().grad(&grads).expect("filter gradient")))
            .collect()
    };
    let gpu = grads_on(&device.clone().autodiff());
    let cpu = grads_on(&Device::flex().autodiff());
    for (name, (g, c)) in ["log_sigma", "xi", "theta", "log_slant"]
        .iter()
        .zip(gpu.iter().zip(&cpu))
    {
        assert!(g.iter().all(|v| v.is_finite()), "{name}: {g:?}");
        let dev = max_rel(g, c);
        println!("wgpu vs flex gradient of {name}: max |d|/max|g| = {dev:.2e}");
        assert!(dev < 1e-3, "{name}: {g:?} vs {c:?}");
    }
}
