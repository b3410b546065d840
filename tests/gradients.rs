//! Autodiff gradients of the scattering layer with respect to the filter parameters against
//! central finite differences, in f64 (this test binary configures its CPU devices to f64).
#![cfg(any(feature = "flex", feature = "ndarray"))]

use std::sync::OnceLock;

use burn::module::Param;
use burn::tensor::{DType, Device, FloatDType, Tensor, TensorData};
mod support;
use learnable_scattering::filters::Parametrization;
use learnable_scattering::nn::{FilterInit, Scattering2d, Scattering2dConfig, Trainable};
use support::numeric::to_vec;

/// The CPU devices compiled in, with f64 as their default float type.
fn devices() -> Vec<(&'static str, Device)> {
    static DEVICES: OnceLock<Vec<(&'static str, Device)>> = OnceLock::new();
    DEVICES
        .get_or_init(|| {
            let mut out: Vec<(&'static str, Device)> = Vec::new();
            #[cfg(feature = "flex")]
            out.push(("flex", Device::flex()));
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            out.push(("ndarray", Device::ndarray()));
            for (name, device) in &mut out {
                device
                    .configure(FloatDType::F64)
                    .unwrap_or_else(|e| panic!("{name}: cannot switch to f64: {e:?}"));
            }
            out.into_iter().map(|(n, d)| (n, d.autodiff())).collect()
        })
        .clone()
}

fn from_vec<const D: usize>(v: Vec<f64>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

const SIZE: [usize; 2] = [16, 16];

fn input(device: &Device) -> Tensor<4> {
    input_of([1, 1, SIZE[0], SIZE[1]], device)
}

/// A deterministic, non-symmetric image batch.
fn input_of(shape: [usize; 4], device: &Device) -> Tensor<4> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64 / 101.0 - 0.3).powi(2) + (i as f64 * 0.13).sin())
        .collect();
    from_vec(v, shape, device)
}

/// Which paths the loss reaches.
#[derive(Clone, Copy, Debug)]
enum Reach {
    FirstOrder,
    SecondOrder,
}

/// `Σ_k w_k·S_k` over the channels of one order, with fixed weights `w_k` in `[0.5, 1.5)`.
fn loss(layer: &Scattering2d, x: Tensor<4>, reach: Reach) -> Tensor<1> {
    weighted(layer.forward(x), layer, reach)
}

fn weighted(s: Tensor<5>, layer: &Scattering2d, reach: Reach) -> Tensor<1> {
    let [b, c, k, h, w] = s.dims();
    let first = 1 + layer.options().num_scales() * layer.options().num_orientations();
    let range = match reach {
        Reach::FirstOrder => 1..first,
        Reach::SecondOrder => first..k,
    };
    let n = range.len();
    let weights: Vec<f64> = (0..c * n)
        .map(|i| 0.5 + ((i * 7919) % 97) as f64 / 97.0)
        .collect();
    let device = s.device();
    let weights = from_vec(weights, [1, c, n, 1, 1], &device);
    (s.slice([0..b, 0..c, range, 0..h, 0..w]) * weights).sum()
}

fn scalar(t: Tensor<1>) -> f64 {
    to_vec(t)[0]
}

#[derive(Clone, Copy, Debug)]
enum Family {
    LogSigma,
    Xi,
    Theta,
    LogSlant,
}

fn param_mut(layer: &mut Scattering2d, family: Family) -> &mut Param<Tensor<1>> {
    let f = &mut layer.filters;
    match family {
        Family::LogSigma => &mut f.log_sigma,
        Family::Xi => &mut f.xi,
        Family::Theta => &mut f.theta,
        Family::LogSlant => &mut f.log_slant,
    }
}

/// Largest relative error of the autodiff gradient against central differences over the entries
/// of one parameter family, on an input of `channels` channels; entries whose gradient is below
/// 1e-3 of the family's largest are compared against that largest gradient instead of themselves.
fn check_family_with(
    layer: &Scattering2d,
    family: Family,
    reach: Reach,
    device: &Device,
    channels: usize,
) -> f64 {
    let g = layer.geometry();
    let x = input_of([1, channels, g.height, g.width], device);
    let grads = loss(layer, x.clone(), reach).backward();
    let mut probe = layer.clone();
    let values = to_vec(param_mut(&mut probe, family).val());
    let auto = to_vec(
        param_mut(&mut probe, family)
            .val()
            .grad(&grads)
            .unwrap_or_else(|| panic!("{family:?} has no gradient")),
    );
    let n = values.len();
    let step = 1e-5;
    let eval = |values: Vec<f64>| {
        let mut l = layer.clone();
        *param_mut(&mut l, family) = Param::from_tensor(from_vec(values, [n], device));
        scalar(loss(&l, x.clone(), reach))
    };
    let largest = auto.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(largest > 0.0, "{family:?}: zero gradient");
    let mut worst = 0.0f64;
    for i in 0..n {
        let mut plus = values.clone();
        plus[i] += step;
        let mut minus = values.clone();
        minus[i] -= step;
        let fd = (eval(plus) - eval(minus)) / (2.0 * step);
        let denom = auto[i].abs().max(1e-3 * largest);
        worst = worst.max((fd - auto[i]).abs() / denom);
    }
    worst
}

fn layer(parametrization: Parametrization, init: FilterInit, device: &Device) -> Scattering2d {
    Scattering2dConfig::new(2, SIZE)
        .with_num_orientations(4)
        .with_parametrization(parametrization)
        .with_init(init)
        .init(device)
}

#[test]
fn devices_compute_in_f64() {
    for (name, device) in devices() {
        let t = input(&device);
        assert_eq!(t.dtype(), DType::F64, "{name}");
        let layer = layer(Parametrization::Canonical, FilterInit::TightFrame, &device);
        assert_eq!(layer.forward(t).dtype(), DType::F64, "{name}");
    }
}

/// Every family, for losses reaching order 1 and order 2.
fn check_layer(label: &str, layer: &Scattering2d, device: &Device) {
    check_layer_with(label, layer, device, 2);
}

/// [`check_layer`] on an input of `channels` channels.
fn check_layer_with(label: &str, layer: &Scattering2d, device: &Device, channels: usize) {
    for reach in [Reach::FirstOrder, Reach::SecondOrder] {
        for family in [
            Family::LogSigma,
            Family::Xi,
            Family::Theta,
            Family::LogSlant,
        ] {
            let err = check_family_with(layer, family, reach, device, channels);
            println!("{label} {reach:?} {family:?}: max rel error {err:.2e}");
            assert!(err < 1e-3, "{label} {reach:?} {family:?}: {err:e}");
        }
    }
}

#[test]
fn full_parametrization_gradients_match_finite_differences() {
    for (name, device) in devices() {
        for init in [FilterInit::TightFrame, FilterInit::Random { seed: 4 }] {
            let layer = layer(Parametrization::Canonical, init.clone(), &device);
            check_layer(&format!("{name} full {init:?}"), &layer, &device);
        }
    }
}

#[test]
fn equivariant_parametrization_gradients_match_finite_differences() {
    let (name, device) = devices()[0].clone();
    let layer = layer(
        Parametrization::Equivariant,
        FilterInit::Random { seed: 2 },
        &device,
    );
    assert_eq!(layer.filters.xi.val().dims(), [2]);
    check_layer(&format!("{name} equivariant"), &layer, &device);
}

#[test]
fn pixelwise_gradients_match_finite_differences() {
    let (name, device) = devices()[0].clone();
    let layer = layer(Parametrization::Pixelwise, FilterInit::TightFrame, &device);
    let pixels = layer.filters.pixels.as_ref().expect("pixelwise filters");
    let shape = pixels.val().dims();
    let values = to_vec(pixels.val());
    let x = input(&device);
    for reach in [Reach::FirstOrder, Reach::SecondOrder] {
        let grads = loss(&layer, x.clone(), reach).backward();
        let auto = to_vec(pixels.val().grad(&grads).expect("pixel gradient"));
        let largest = auto.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // The 8 entries with the largest gradients and 8 spread over the bank.
        let mut order: Vec<usize> = (0..auto.len()).collect();
        order.sort_by(|&a, &b| auto[b].abs().total_cmp(&auto[a].abs()));
        let picks: Vec<usize> = order[..8]
            .iter()
            .copied()
            .chain((0..8).map(|i| (i * 2711 + 5) % auto.len()))
            .collect();
        let step = 1e-5;
        let mut worst = 0.0f64;
        for &i in &picks {
            let eval = |delta: f64| {
                let mut v = values.clone();
                v[i] += delta;
                let mut l = layer.clone();
                l.filters.pixels = Some(Param::from_tensor(from_vec(v, shape, &device)));
                scalar(loss(&l, x.clone(), reach))
            };
            let fd = (eval(step) - eval(-step)) / (2.0 * step);
            worst = worst.max((fd - auto[i]).abs() / auto[i].abs().max(1e-3 * largest));
        }
        println!(
            "{name} pixelwise {reach:?}: max rel error {worst:.2e} over {} entries",
            picks.len()
        );
        assert!(worst < 1e-3, "{reach:?}: {worst:e}");
    }
}

#[test]
fn trainable_parameters_get_gradients_and_frozen_ones_none() {
    let (_, device) = devices()[0].clone();
    let x = input(&device);
    let frozen_theta = Trainable {
        theta: false,
        slant: false,
        ..Trainable::all()
    };
    let layer = Scattering2dConfig::new(2, SIZE)
        .with_num_orientations(4)
        .with_trainable(frozen_theta)
        .init(&device);
    let grads = layer.forward(x.clone()).sum().backward();
    let f = &layer.filters;
    assert!(f.log_sigma.val().grad(&grads).is_some());
    assert!(f.xi.val().grad(&grads).is_some());
    assert!(f.theta.val().grad(&grads).is_none());
    assert!(f.log_slant.val().grad(&grads).is_none());

    let fixed = Scattering2dConfig::new(2, SIZE)
        .with_num_orientations(4)
        .with_trainable(Trainable::none())
        .init(&device);
    let x = x.require_grad();
    let grads = fixed.forward(x.clone()).sum().backward();
    let f = &fixed.filters;
    for p in [&f.log_sigma, &f.xi, &f.theta, &f.log_slant] {
        assert!(p.val().grad(&grads).is_none());
    }
    assert!(x.grad(&grads).is_some(), "the input still gets a gradient");

    // Pixelwise: the free filters train, the recorded Morlet parameters do not.
    let pixelwise = layer_with(Parametrization::Pixelwise, &device);
    let grads = pixelwise.forward(input(&device)).sum().backward();
    let f = &pixelwise.filters;
    assert!(f.pixels.as_ref().unwrap().val().grad(&grads).is_some());
    for p in [&f.log_sigma, &f.xi, &f.theta, &f.log_slant] {
        assert!(p.val().grad(&grads).is_none());
    }
}

fn layer_with(parametrization: Parametrization, device: &Device) -> Scattering2d {
    layer(parametrization, FilterInit::TightFrame, device)
}

#[test]
fn all_zero_input_gives_finite_gradients() {
    for (name, device) in devices() {
        for parametrization in [Parametrization::Canonical, Parametrization::Equivariant] {
            let layer = layer_with(parametrization, &device);
            let x = Tensor::<4>::zeros([1, 2, SIZE[0], SIZE[1]], &device).require_grad();
            let s = layer.forward(x.clone());
            assert!(to_vec(s.clone()).iter().all(|v| v.abs() < 1e-12));
            let grads = s.sum().backward();
            let f = &layer.filters;
            for (label, g) in [
                ("log_sigma", f.log_sigma.val().grad(&grads)),
                ("xi", f.xi.val().grad(&grads)),
                ("theta", f.theta.val().grad(&grads)),
                ("log_slant", f.log_slant.val().grad(&grads)),
                ("input", x.grad(&grads).map(|g| g.flatten(0, 3))),
            ] {
                let g = to_vec(g.unwrap_or_else(|| panic!("{name}: no gradient for {label}")));
                assert!(
                    g.iter().all(|v| v.is_finite()),
                    "{name} {parametrization:?}: non-finite gradient for {label}"
                );
            }
        }
    }
}

/// `J = 3` (the second order applied at resolution 1 and 2), a non-square input, an odd `L` (an
/// unpaired orientation) and two channels: every family against finite differences.
#[test]
fn three_scales_non_square_gradients_match_finite_differences() {
    for (name, device) in devices() {
        for init in [FilterInit::TightFrame, FilterInit::Random { seed: 5 }] {
            let layer = Scattering2dConfig::new(3, [24, 20])
                .with_num_orientations(3)
                .with_init(init.clone())
                .init(&device);
            check_layer(&format!("{name} J=3 24x20 {init:?}"), &layer, &device);
        }
    }
}

/// Frozen filters cost no filter-gradient work (neither the cascade's gradient with respect to the
/// spectra nor the construction's backward), also when the input is tracked; learnable ones do.
#[test]
fn frozen_filters_do_no_filter_gradient_work() {
    use learnable_scattering::testing::filter_gradient_work;
    for (name, device) in devices() {
        let config = Scattering2dConfig::new(3, [24, 20]).with_num_orientations(2);
        let frozen = config
            .clone()
            .with_trainable(Trainable::none())
            .init(&device);
        let x = input_of([2, 1, 24, 20], &device).require_grad();
        let before = filter_gradient_work();
        let grads = frozen.forward(x.clone()).sum().backward();
        assert!(x.grad(&grads).is_some(), "{name}: input gradient");
        assert_eq!(
            filter_gradient_work(),
            before,
            "{name}: frozen filters did filter work"
        );
        let learnable = config.init(&device);
        let grads = learnable.forward(x.clone()).sum().backward();
        assert!(learnable.filters.xi.val().grad(&grads).is_some());
        assert_eq!(
            filter_gradient_work(),
            before + 2,
            "{name}: one cascade filter gradient and one construction backward per step"
        );
    }
}

/// `J = 4`, the paper's texture setting (order 2 applied at resolutions 0 to 2, three alias radii
/// among the wavelets), on a non-square input with one and with three channels: every family
/// against finite differences.
#[test]
fn four_scales_non_square_gradients_match_finite_differences() {
    for (name, device) in devices() {
        for (channels, init) in [
            (1, FilterInit::TightFrame),
            (3, FilterInit::Random { seed: 19 }),
        ] {
            let layer = Scattering2dConfig::new(4, [20, 36])
                .with_num_orientations(2)
                .with_init(init.clone())
                .init(&device);
            let label = format!("{name} J=4 20x36 C={channels} {init:?}");
            check_layer_with(&label, &layer, &device, channels);
        }
    }
}

/// The input gradient against finite differences at 12 pixels, corners and edges included (the
/// reflect padding folds several padded pixels onto them).
#[test]
fn input_gradient_matches_finite_differences() {
    let shape = [1, 2, 24, 20];
    let pixels: Vec<usize> = [0, 19, 20 * 23, 24 * 20 - 1, 7 * 20 + 3, 12 * 20 + 19]
        .into_iter()
        .flat_map(|p| [p, 24 * 20 + (p * 7 + 11) % (24 * 20)])
        .collect();
    for (name, device) in devices() {
        let layer = Scattering2dConfig::new(3, [24, 20])
            .with_num_orientations(3)
            .with_init(FilterInit::Random { seed: 8 })
            .with_trainable(Trainable::none())
            .init(&device);
        let x0 = to_vec(input_of(shape, &device));
        for reach in [Reach::FirstOrder, Reach::SecondOrder] {
            let x = from_vec(x0.clone(), shape, &device).require_grad();
            let grads = loss(&layer, x.clone(), reach).backward();
            let auto = to_vec(x.grad(&grads).expect("input gradient").flatten::<1>(0, 3));
            let largest = auto.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let step = 1e-5;
            let mut worst = 0.0f64;
            for &p in &pixels {
                let eval = |delta: f64| {
                    let mut v = x0.clone();
                    v[p] += delta;
                    scalar(loss(&layer, from_vec(v, shape, &device), reach))
                };
                let fd = (eval(step) - eval(-step)) / (2.0 * step);
                worst = worst.max((fd - auto[p]).abs() / auto[p].abs().max(1e-3 * largest));
            }
            println!("{name} input {reach:?}: max rel error {worst:.2e}");
            assert!(worst < 1e-3, "{name} input {reach:?}: {worst:e}");
        }
    }
}

#[test]
fn constant_input_gives_finite_gradients() {
    for (name, device) in devices() {
        let layer = Scattering2dConfig::new(3, [24, 20])
            .with_num_orientations(3)
            .init(&device);
        let x = Tensor::<4>::ones([1, 2, 24, 20], &device)
            .mul_scalar(0.7)
            .require_grad();
        let s = layer.forward(x.clone());
        let grads = weighted(s.clone(), &layer, Reach::SecondOrder).backward();
        let f = &layer.filters;
        for (label, g) in [
            ("log_sigma", f.log_sigma.val().grad(&grads)),
            ("xi", f.xi.val().grad(&grads)),
            ("theta", f.theta.val().grad(&grads)),
            ("log_slant", f.log_slant.val().grad(&grads)),
            ("input", x.grad(&grads).map(|g| g.flatten(0, 3))),
        ] {
            let g = to_vec(g.unwrap_or_else(|| panic!("{name}: no gradient for {label}")));
            assert!(
                g.iter().all(|v| v.is_finite()),
                "{name}: non-finite gradient for {label}"
            );
        }
        // S0 of a constant image is the constant times φ̂(0); the wavelet channels vanish.
        let s = to_vec(s);
        assert!(s.iter().all(|v| v.is_finite()));
    }
}

/// Recomputing the intermediates in the backward gives the same gradients, bit for bit.
#[test]
fn recomputed_intermediates_give_the_same_gradients() {
    let (_, device) = devices()[0].clone();
    let x = input_of([2, 2, 24, 20], &device);
    let grads = |keep: bool| -> Vec<Vec<f64>> {
        let layer = Scattering2dConfig::new(3, [24, 20])
            .with_num_orientations(3)
            .with_keep_intermediates(keep)
            .init(&device);
        let x = x.clone().require_grad();
        let grads = weighted(layer.forward(x.clone()), &layer, Reach::SecondOrder).backward();
        let f = &layer.filters;
        let mut out: Vec<Vec<f64>> = [&f.log_sigma, &f.xi, &f.theta, &f.log_slant]
            .iter()
            .map(|p| to_vec(p.val().grad(&grads).expect("filter gradient")))
            .collect();
        out.push(to_vec(
            x.grad(&grads).expect("input gradient").flatten::<1>(0, 3),
        ));
        out
    };
    assert_eq!(grads(true), grads(false));
}
