//! Unit tests of the learnable filter bank: its spectra against the framework-free closed form on
//! every CPU device (plain and autodiff), the alias sums of few orientations, the equivariant
//! offsets, the aliasing diagnostic and penalty, and a non-finite parameter named in the panic.

use burn::tensor::{Tensor, TensorData};

use super::*;
use crate::filters::spectral::bank_spectra;
use crate::nn::Scattering2dConfig;
use crate::nn::test_util::{devices, max_rel, to_vec};

#[test]
fn spectra_match_the_framework_free_filters_to_f32_precision() {
    let grid = [40, 36];
    let inits = [
        ("tight frame", FilterInit::TightFrame),
        ("random", FilterInit::Random { seed: 7 }),
    ];
    // On a plain device the (untracked) spectra come from the cached closed form; on an
    // autodiff device the trained ones go through the tracked construction. Both are checked.
    let devices: Vec<(String, Device)> = devices()
        .into_iter()
        .flat_map(|(n, d)| {
            [
                (n.to_string(), d.clone()),
                (format!("{n} autodiff"), d.autodiff()),
            ]
        })
        .collect();
    for (name, device) in devices {
        for (label, init) in &inits {
            for parametrization in [
                Parametrization::Canonical,
                Parametrization::Equivariant,
                Parametrization::Pixelwise,
            ] {
                let config = MorletFilterBankConfig::new(3, grid)
                    .with_num_orientations(6)
                    .with_init(init.clone())
                    .with_parametrization(parametrization);
                let bank = config.initial_bank().unwrap();
                let reference = bank_spectra(&bank, grid[0], grid[1]);
                let want: Vec<f64> = reference
                    .psi
                    .iter()
                    .flat_map(|p| p.iter().copied())
                    .collect();
                let module = config.init(&device);
                let got = to_vec(module.spectra());
                let dev = max_rel(&got, &want);
                println!("{name} {label} {parametrization:?}: max |d| / max|psi| = {dev:.2e}");
                assert!(dev < 2e-6, "{name} {label} {parametrization:?}: {dev:e}");
                if parametrization != Parametrization::Pixelwise {
                    let exported = module.to_params().unwrap();
                    for (a, b) in exported.wavelets().iter().zip(bank.wavelets()) {
                        for (x, y) in [
                            (a.sigma, b.sigma),
                            (a.xi, b.xi),
                            (a.theta, b.theta),
                            (a.slant, b.slant),
                        ] {
                            assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{x} vs {y}");
                        }
                    }
                }
            }
        }
    }
}

/// Wavelets wide across their wave vector (kymatio's `L = 1` and `L = 2`, slant 4 and 2) need
/// many more aliases than the usual ±2: the tracked construction sums what each wavelet needs,
/// by the rule of the framework-free closed form.
#[test]
fn spectra_of_few_orientations_sum_every_alias_they_need() {
    for (name, device) in devices() {
        let device = device.autodiff();
        for l in [1, 2] {
            let config = MorletFilterBankConfig::new(3, [40, 48]).with_num_orientations(l);
            let bank = config.initial_bank().unwrap();
            let radii: Vec<usize> = bank
                .wavelets()
                .iter()
                .map(|p| crate::filters::spectral::alias_radius(p).unwrap())
                .collect();
            assert!(radii.iter().any(|&r| r > 2), "L = {l}: radii {radii:?}");
            let reference = bank_spectra(&bank, 40, 48);
            let want: Vec<f64> = reference
                .psi
                .iter()
                .flat_map(|p| p.iter().copied())
                .collect();
            let module = config.init(&device);
            assert!(module.xi.val().is_require_grad());
            let dev = max_rel(&to_vec(module.spectra()), &want);
            println!("{name} L = {l}, radii {radii:?}: max |d| / max|psi| = {dev:.2e}");
            assert!(dev < 2e-6, "{name} L = {l}: {dev:e}");
        }
    }
}

#[test]
fn equivariant_orientations_are_offset_by_pi_over_l() {
    let config = MorletFilterBankConfig::new(2, [16, 16])
        .with_num_orientations(4)
        .with_parametrization(Parametrization::Equivariant)
        .with_init(FilterInit::Random { seed: 3 });
    let bank = config.initial_bank().unwrap();
    for j in 0..2 {
        let base = bank.wavelet(j, 0);
        for l in 0..4 {
            let w = bank.wavelet(j, l);
            assert_eq!((w.sigma, w.xi, w.slant), (base.sigma, base.xi, base.slant));
            let want = base.theta - l as f64 * std::f64::consts::PI / 4.0;
            assert!((w.theta - want).abs() < 1e-12);
        }
    }
    let module = config.init(&devices()[0].1);
    assert_eq!(module.log_sigma.val().dims(), [2]);
    // The tight-frame equivariant bank is the tight frame itself.
    let tf = MorletFilterBankConfig::new(3, [16, 16])
        .with_parametrization(Parametrization::Equivariant)
        .initial_bank()
        .unwrap();
    let reference = FilterBankParams::tight_frame(3, 8).unwrap();
    for (a, b) in tf.wavelets().iter().zip(reference.wavelets()) {
        assert!((a.theta - b.theta).abs() < 1e-12 && a.sigma == b.sigma && a.xi == b.xi);
    }
}

/// The aliasing diagnostic of the layer's bank equals the framework-free one, and the penalty is
/// its mean, differentiable with respect to every parameter family.
#[test]
fn aliasing_diagnostic_and_penalty() {
    for (name, device) in devices() {
        let device = device.autodiff();
        let config = MorletFilterBankConfig::new(2, [36, 40])
            .with_num_orientations(4)
            .with_init(FilterInit::Random { seed: 2 });
        let module = config.init(&device);
        let ours = module.aliasing();
        let reference = config.initial_bank().unwrap().aliasing(36, 40);
        for (a, b) in ours.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-6, "{name}: {a} vs {b}");
        }
        let penalty = module.aliasing_penalty();
        let mean = ours.iter().sum::<f64>() / ours.len() as f64;
        assert!((to_vec(penalty.clone())[0] - mean).abs() < 1e-6, "{name}");
        let grads = penalty.backward();
        for p in [
            &module.log_sigma,
            &module.xi,
            &module.theta,
            &module.log_slant,
        ] {
            let g = to_vec(p.val().grad(&grads).expect("penalty gradient"));
            assert!(
                g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0),
                "{name}"
            );
        }
    }
}

/// A parameter that training (or a user) made NaN is named as such, with its wavelet.
#[test]
#[should_panic(expected = "MorletFilterBank: wavelet 5 has a non-finite ξ = NaN")]
fn a_nan_filter_parameter_is_named() {
    let device = devices()[0].1.clone().autodiff();
    let mut layer = Scattering2dConfig::new(2, [16, 16])
        .with_num_orientations(4)
        .init(&device);
    let mut xi = to_vec(layer.filters.xi.val());
    xi[5] = f64::NAN;
    let n = xi.len();
    layer.filters.xi = burn::module::Param::from_tensor(
        Tensor::<1>::from_data(TensorData::new(xi, [n]), &device).require_grad(),
    );
    let _ = layer.forward(Tensor::<4>::zeros([1, 1, 16, 16], &device));
}
