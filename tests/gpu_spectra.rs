//! The device executor's Morlet spectra and their vector–Jacobian product (`cascade::device`'s
//! `DeviceSpectra`) against `filters::spectral` in `f64`, on wgpu's default adapter (Mesa's
//! lavapipe in CI; the first line of output names it), and the whole learnable step on the
//! device: spectra, forward, backward and VJP against the host's `(σ, ξ, θ, slant)` gradients.
//!
//! `XDG_RUNTIME_DIR=$(mktemp -d) CUBECL_AUTOTUNE_LEVEL=minimal \
//!  cargo test --profile gpu-ci --features wgpu --test gpu_spectra -- --nocapture`

use learnable_scattering::filters::spectral::{morlet_spectrum, morlet_spectrum_vjp};
use learnable_scattering::testing::device::{
    Buffer, DeviceError, DevicePlan, DeviceSpectra, launches,
};
use learnable_scattering::{
    FilterBankParams, MorletParams, ScatterError, Scattering2dPlan, ScatteringOptions,
};
use ndarray::{ArrayD, ArrayView2, IxDyn};

mod support;
use support::device::{client, read64, rel_l2, same_bits, serial};

/// A cotangent with both signs on `len` values.
fn cotangent(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919) % 101) as f32 / 50.0 - 1.0) * (1.0 + (i % 5) as f32 * 0.1))
        .collect()
}

#[test]
fn spectra_and_vjp_match_the_host() {
    let _serial = serial();
    let client = client();
    let mut extra = FilterBankParams::random(2, 3, 17)
        .unwrap()
        .wavelets()
        .to_vec();
    // Wide (σ = 12.8, slant 0.5: where frequencies rounded to f32 would cost 1e-5) and
    // many-alias (L = 1 tight frame, finest scale: A = 8) wavelets.
    extra.push(MorletParams {
        sigma: 12.8,
        xi: 0.29,
        theta: 0.4,
        slant: 0.5,
    });
    extra.extend_from_slice(&FilterBankParams::tight_frame(2, 1).unwrap().wavelets()[..1]);
    let tight = FilterBankParams::tight_frame(3, 8)
        .unwrap()
        .wavelets()
        .to_vec();
    let banks = [
        ("tight J=3 L=8", tight, [40, 40]),
        ("random + wide + L=1", extra, [48, 36]),
    ];
    for (name, wavelets, [h, w]) in banks {
        let n = wavelets.len();
        let before = launches();
        let device = DeviceSpectra::new(&client, &wavelets, h, w).unwrap();
        let spectra = device.spectra();
        let spectra_launches = launches() - before;
        let got = read64(&client, &spectra);
        let mut worst = 0.0f64;
        for (i, p) in wavelets.iter().enumerate() {
            let want = morlet_spectrum(h, w, p);
            let peak = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = want
                .iter()
                .zip(&got[i * h * w..][..h * w])
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            worst = worst.max(err / peak);
        }
        // The VJP against the host's, with the same (f32) cotangent.
        let cot = cotangent(n * h * w);
        let cot_d = Buffer::upload(&client, &cot);
        let before = launches();
        let g = device.vjp(&cot_d).unwrap();
        let vjp_launches = launches() - before;
        let got = g.read(&client).unwrap();
        let again = device.vjp(&cot_d).unwrap().read(&client).unwrap();
        let mut vjp_worst = 0.0f64;
        for (i, p) in wavelets.iter().enumerate() {
            let c: Vec<f64> = cot[i * h * w..][..h * w]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let want = morlet_spectrum_vjp(h, w, p, ArrayView2::from_shape((h, w), &c).unwrap());
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (k, d) in want.iter().enumerate() {
                vjp_worst = vjp_worst.max((got[k * n + i] as f64 - d).abs() / scale);
            }
        }
        println!(
            "{name} ({n} wavelets, {h}x{w}): spectra max|d|/max|ψ̂| = {worst:.2e} \
             ({spectra_launches} launch), VJP max|d|/max|∇| per wavelet = {vjp_worst:.2e} \
             ({vjp_launches} launches)"
        );
        assert!(worst <= 1e-6, "{name}: spectra {worst:e}");
        assert!(vjp_worst <= 1e-4, "{name}: vjp {vjp_worst:e}");
        assert!(same_bits(&got, &again), "{name}: two VJPs differ");
        assert_eq!((spectra_launches, vjp_launches), (1, 2));
    }
}

/// A learnable step with everything on the device (spectra, the crop of the bank, forward with
/// tape, backward, VJP) against the host's `f64` gradients of every wavelet parameter.
#[test]
fn the_learnable_step_on_the_device_gives_the_host_parameter_gradients() {
    let _serial = serial();
    let client = client();
    let (h, w, j, l, planes) = (20, 24, 2, 3, 2);
    let options = ScatteringOptions::new(j, l).unwrap();
    let bank = FilterBankParams::random(j, l, 21).unwrap();
    let host = Scattering2dPlan::<f64>::new(h, w, options).unwrap();
    let prepared = host.prepare(bank.clone()).unwrap();
    let x: Vec<f64> = (0..planes * h * w)
        .map(|i| ((i * 13 % 29) as f64 / 29.0) + (i as f64 * 0.21).sin() * 0.4)
        .collect();
    let xa = ArrayD::from_shape_vec(IxDyn(&[planes, h, w]), x.clone()).unwrap();
    let (s, _) = host.forward(&prepared, xa.view(), false).unwrap();
    let g: Vec<f64> = cotangent(s.len()).into_iter().map(f64::from).collect();
    let ga = ArrayD::from_shape_vec(IxDyn(s.shape()), g.clone()).unwrap();
    let want = host
        .backward(&prepared, xa.view(), None, ga.view(), false, true)
        .unwrap()
        .wavelets
        .unwrap();

    let plan = DevicePlan::new(&client, h, w, options).unwrap();
    let [mp, np] = plan.geometry().padded_size();
    let before = launches();
    let spectra = DeviceSpectra::new(&client, bank.wavelets(), mp, np).unwrap();
    let dbank = plan.prepare_spectra(&spectra.spectra()).unwrap();
    let to32 = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<_>>();
    let xd = Buffer::upload(&client, &to32(&x));
    let (_, tape) = plan.forward(&dbank, &xd, true).unwrap();
    let gd = Buffer::upload(&client, &to32(&g));
    let grads = plan
        .backward(&dbank, &xd, tape.as_ref(), &gd, false, true)
        .unwrap();
    assert!(grads.input.is_none());
    let params = spectra.vjp(grads.spectra.as_ref().unwrap()).unwrap();
    let step_launches = launches() - before;
    let got = read64(&client, &params);
    let n = j * l;
    for (k, name) in ["σ", "ξ", "θ", "slant"].iter().enumerate() {
        let family: Vec<f64> = want.iter().map(|d| d[k]).collect();
        let e = rel_l2(&got[k * n..][..n], &family);
        println!("{name}: ‖d‖/‖∇‖ = {e:.2e}");
        assert!(e <= 1e-4, "{name}: {e:e}");
    }
    println!("launches of the step: {step_launches}");
}

#[test]
fn bad_wavelets_and_cotangents_get_typed_errors() {
    let _serial = serial();
    let client = client();
    let mut wavelets = FilterBankParams::tight_frame(1, 2)
        .unwrap()
        .wavelets()
        .to_vec();
    wavelets[1].sigma = f64::NAN;
    match DeviceSpectra::new(&client, &wavelets, 8, 8).unwrap_err() {
        DeviceError::Scatter(ScatterError::InvalidWavelet { index, name, .. }) => {
            assert_eq!((index, name), (1, "sigma"));
        }
        other => panic!("expected InvalidWavelet, got {other:?}"),
    }
    wavelets[1].sigma = 1e-3; // far too narrow: more than 64 aliases per axis
    assert!(DeviceSpectra::new(&client, &wavelets, 8, 8).is_err());
    let ok = DeviceSpectra::new(&client, &wavelets[..1], 8, 8).unwrap();
    let wrong = Buffer::upload(&client, &[0.0; 63]);
    assert!(matches!(
        ok.vjp(&wrong).unwrap_err(),
        DeviceError::Scatter(ScatterError::InvalidShape { .. })
    ));
}
