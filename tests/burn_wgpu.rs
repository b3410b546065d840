//! The burn layer on wgpu (features `wgpu`, `flex`): the cascade's device executor behind burn
//! (`nn` runs the whole cascade as one operation on every backend) against the CPU layer (the
//! host executor) in f32 for the forward and f64 for the gradients, kymatio's fixtures, launch
//! counts and reruns. CI runs it on Mesa's software Vulkan driver (lavapipe), which compiles every
//! kernel on first use and is slow, so the sizes stay small. The adapter is printed, so that a
//! GPU run of the suite is told apart from CI's.
//!
//! `XDG_RUNTIME_DIR=$(mktemp -d) cargo test --profile gpu-ci --features wgpu --test burn_wgpu`
#![cfg(all(feature = "wgpu", feature = "flex"))]

use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use learnable_scattering::filters::Parametrization;
use learnable_scattering::nn::{FilterInit, Scattering2d, Scattering2dConfig, Trainable};
use learnable_scattering::testing::device::{adapter_name, launches, wgpu_client};
use ndarray::{Array4, ArrayD};

mod support;
use support::kymatio::Fixtures;
use support::numeric::{max_rel, tensor4, to_vec, tolerance_use};

fn wgpu() -> Device {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let client = wgpu_client().unwrap_or_else(|e| panic!("these tests need wgpu: {e}"));
        println!("adapter: {}", adapter_name(&client));
    });
    Device::wgpu(Default::default())
}

/// The CPU layer's device: flex in f64 (configured once, before this binary's first use of it).
fn cpu() -> Device {
    static CPU: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    CPU.get_or_init(|| {
        let mut cpu = Device::flex();
        cpu.configure(FloatDType::F64).expect("flex in f64");
        cpu
    })
    .clone()
}

/// The launch counter is process-wide: the tests of this binary take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn image(shape: [usize; 4], seed: usize) -> Array4<f32> {
    Array4::from_shape_fn(shape, |(b, c, i, j)| {
        ((i * 7 + j * 3 + b * 5 + c + seed) % 11) as f32 / 11.0 + (i as f32 * 0.4).sin() * 0.3
    })
}

fn config(j: usize, size: [usize; 2], l: usize, order: usize) -> Scattering2dConfig {
    Scattering2dConfig::new(j, size)
        .with_num_orientations(l)
        .with_max_order(order)
}

/// The frozen layer's forward on wgpu (f32) against the CPU layer (f64, the same filters), at
/// every `J` from 1 to 4, non-square sizes, `L` = 1, 6, 8, orders 1 and 2: within 1e-5 of
/// `max|S|`.
#[test]
fn forward_matches_the_cpu_layer() {
    let _serial = serial();
    let (gpu, cpu) = (wgpu(), cpu());
    for (j, size, l, order, init) in [
        (1, [12, 20], 6, 2, FilterInit::TightFrame),
        (2, [16, 24], 8, 2, FilterInit::Random { seed: 3 }),
        (2, [20, 16], 1, 1, FilterInit::TightFrame),
        (3, [24, 32], 6, 2, FilterInit::TightFrame),
        (4, [32, 20], 1, 2, FilterInit::Random { seed: 5 }),
        (4, [16, 16], 8, 1, FilterInit::TightFrame),
    ] {
        let layer = |device: &Device| {
            config(j, size, l, order)
                .with_init(init.clone())
                .with_trainable(Trainable::none())
                .init(device)
        };
        let x = image([2, 2, size[0], size[1]], j + l);
        let got = to_vec(layer(&gpu).forward(tensor4(&x, &gpu)));
        let want = to_vec(layer(&cpu).forward(tensor4(&x, &cpu)));
        let dev = max_rel(&got, &want);
        println!("J={j} {size:?} L={l} order {order}: wgpu vs flex f64 max|d|/max|S| = {dev:.2e}");
        assert!(dev < 1e-5, "J={j} {size:?} L={l} order {order}: {dev:e}");
    }
}

/// `Σ w·S` and its gradients: the input's, then each trained family's (or the pixelwise
/// filters').
fn gradients(layer: &Scattering2d, x: Tensor<4>) -> Vec<(String, Vec<f64>)> {
    let x = x.require_grad();
    let s = layer.forward(x.clone());
    let n: usize = s.dims().iter().product();
    let w: Vec<f32> = (0..n)
        .map(|i| 0.5 + (i * 37 % 101) as f32 / 101.0)
        .collect();
    let weights = Tensor::<5>::from_data(TensorData::new(w, s.dims()), &s.device());
    let weights = weights.cast(s.dtype());
    let grads = (s * weights).sum().backward();
    let mut out = vec![("input".to_string(), to_vec(x.grad(&grads).unwrap()))];
    let f = &layer.filters;
    for (name, p) in [
        ("ln sigma", &f.log_sigma),
        ("xi", &f.xi),
        ("theta", &f.theta),
        ("ln slant", &f.log_slant),
    ] {
        if let Some(g) = p.val().grad(&grads) {
            out.push((name.to_string(), to_vec(g)));
        }
    }
    if let Some(p) = &f.pixels {
        out.push(("pixels".into(), to_vec(p.val().grad(&grads).unwrap())));
    }
    out
}

/// Gradients with respect to the input and every trained family on wgpu (f32) against the CPU
/// layer in f64, for the three parametrisations, with and without the tape: each within 1e-4 of
/// the family's largest f64 gradient.
#[test]
fn gradients_match_the_f64_cpu_layer() {
    let _serial = serial();
    let (gpu, cpu) = (wgpu().autodiff(), cpu().autodiff());
    for (j, size, l, parametrization, keep) in [
        (2, [16, 20], 3, Parametrization::Canonical, true),
        (3, [24, 20], 2, Parametrization::Canonical, false),
        (2, [20, 16], 4, Parametrization::Equivariant, true),
        (2, [12, 16], 2, Parametrization::Pixelwise, true),
    ] {
        let layer = |device: &Device| {
            config(j, size, l, 2)
                .with_parametrization(parametrization)
                .with_init(FilterInit::Random { seed: 11 })
                .with_keep_intermediates(keep)
                .init(device)
        };
        let x = image([2, 1, size[0], size[1]], 7);
        let got = gradients(&layer(&gpu), tensor4(&x, &gpu));
        let want = gradients(&layer(&cpu), tensor4(&x, &cpu));
        assert_eq!(got.len(), want.len());
        for ((name, g), (_, w)) in got.iter().zip(&want) {
            let dev = max_rel(g, w);
            println!("{parametrization:?} J={j} {size:?} L={l} tape {keep}: {name} {dev:.2e}");
            assert!(dev < 1e-4, "{parametrization:?} J={j}: {name} {dev:e}");
        }
    }
}

/// The frozen tight-frame layer on wgpu against kymatio 0.3.0's float32 fixtures, to the CPU
/// layer's tolerance (`rtol = 1e-4`, `atol = 1e-6·max|S|`).
#[test]
fn layer_matches_kymatio_fixtures() {
    let _serial = serial();
    let device = wgpu();
    let mut fx = Fixtures::open();
    let cases = std::mem::take(&mut fx.meta.cases);
    let mut checked = 0;
    for case in cases.iter().filter(|c| c.dtype == "float32") {
        let x: ArrayD<f32> = fx.npz.by_name(&format!("{}_x", case.name)).unwrap();
        let want = fx.f64_array(&format!("{}_S", case.name), &case.dtype);
        let lead: usize = x.shape()[..x.ndim() - 2].iter().product();
        let x4 = x
            .into_shape_with_order([lead, 1, case.height, case.width])
            .unwrap();
        let layer = config(case.J, [case.height, case.width], case.L, case.max_order)
            .with_trainable(Trainable::none())
            .init(&device);
        let got = to_vec(layer.forward(tensor4(&x4, &device)));
        let want: Vec<f64> = want.iter().copied().collect();
        let use_ = tolerance_use(&got, &want, 1e-4, 1e-6);
        println!(
            "wgpu {}: max |d|/max|S| = {:.2e}, tolerance use {use_:.3}",
            case.name,
            max_rel(&got, &want)
        );
        assert!(use_ <= 1.0, "{}: {use_}", case.name);
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} cases checked");
}

/// A learnable step (spectra, forward with its tape, backward, the spectra's gradient): the
/// device executor's launches, and the step's gradients bit for bit.
fn step(batch: usize, l: usize) -> (usize, Vec<Vec<u32>>) {
    let device = wgpu().autodiff();
    let layer = config(2, [16, 20], l, 2)
        .with_init(FilterInit::Random { seed: 2 })
        .init(&device);
    let x = tensor4(&image([batch, 1, 16, 20], 1), &device);
    let before = launches();
    let grads = gradients(&layer, x);
    device.sync().expect("sync");
    let count = launches() - before;
    let bits = grads
        .into_iter()
        .map(|(_, g)| g.into_iter().map(|v| (v as f32).to_bits()).collect())
        .collect();
    (count, bits)
}

/// The number of the device executor's launches in a learnable step does not depend on the batch
/// or on `L`, and two runs of a step give the same bits.
#[test]
fn launches_do_not_grow_with_the_batch_or_l_and_reruns_are_bit_identical() {
    let _serial = serial();
    let (first, bits) = step(1, 2);
    assert!(first > 0, "no device launch counted");
    for (batch, l) in [(1, 2), (3, 2), (2, 5)] {
        let (count, again) = step(batch, l);
        println!("batch {batch}, L = {l}: {count} launches");
        assert_eq!(count, first, "batch {batch}, L = {l}");
        if (batch, l) == (1, 2) {
            assert_eq!(again, bits, "a second run differs");
        }
    }
}

/// f64 tensors are refused on wgpu with a message that says why.
#[test]
#[should_panic(
    expected = "the wgpu device runs the cascade in f32 (WGSL has no f64), got input F64"
)]
fn f64_is_refused() {
    let _serial = serial();
    let device = wgpu();
    let layer = config(1, [8, 8], 2, 1)
        .with_trainable(Trainable::none())
        .init(&device);
    layer.forward(tensor4(&image([1, 1, 8, 8], 0), &device).cast(FloatDType::F64));
}
