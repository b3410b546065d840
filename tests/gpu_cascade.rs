//! The device executor's cascade (`cascade::device`) against the host's, on wgpu's default adapter
//! (Mesa's lavapipe in CI; the first line of output names it): the forward against
//! `Scattering2dPlan::<f32>`, the backward against `Scattering2dPlan::<f64>::backward` (the input
//! gradient, and the spectra gradient carried to `(σ, ξ, θ, slant)` by the host's VJP), the
//! launch counts, bit-reproducibility and the checks of bad input.
//!
//! `XDG_RUNTIME_DIR=$(mktemp -d) CUBECL_AUTOTUNE_LEVEL=minimal \
//!  cargo test --profile gpu-ci --features wgpu --test gpu_cascade -- --nocapture`

use cubecl::prelude::Client;
use learnable_scattering::filters::spectral::{morlet_spectrum, morlet_spectrum_vjp};
use learnable_scattering::testing::device::{
    Buffer, DeviceBank, DeviceError, DeviceLimits, DevicePlan, DeviceTape, launches,
};
use learnable_scattering::{FilterBankParams, ScatterError, Scattering2dPlan, ScatteringOptions};
use ndarray::{Array4, ArrayD, ArrayView2, IxDyn};

mod support;
use support::device::{client, read64, rel_l2, same_bits, serial};
use support::numeric::max_rel;

fn image(shape: [usize; 4]) -> Array4<f32> {
    Array4::from_shape_fn(shape, |(b, c, i, j)| {
        ((i * 7 + j * 3 + b * 5 + c) % 11) as f32 / 11.0
            + (i as f32 * 0.4 + j as f32 * 0.1).sin() * 0.3
    })
}

fn values(len: usize, seed: usize, scale: f64) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let t = (i * 7 + seed * 13) % 23;
            scale * ((t as f64 / 23.0 - 0.4) + ((i + seed) as f64 * 0.37).sin() * 0.3)
        })
        .collect()
}

fn to32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

fn bank(j: usize, l: usize, seed: Option<u64>) -> FilterBankParams {
    match seed {
        None => FilterBankParams::tight_frame(j, l).unwrap(),
        Some(s) => FilterBankParams::random(j, l, s).unwrap(),
    }
}

#[test]
fn forward_matches_the_host_cascade() {
    let _serial = serial();
    let client = client();
    // (height, width, J, L, max_order, random bank seed)
    let cases: [(usize, usize, usize, usize, usize, Option<u64>); 9] = [
        (12, 20, 1, 6, 2, None),
        (16, 16, 2, 8, 2, None),
        (20, 28, 2, 1, 2, None),
        (32, 24, 3, 6, 2, None),
        (16, 16, 4, 1, 2, None),
        (32, 32, 4, 8, 1, None),
        (24, 20, 2, 3, 2, Some(3)),
        (17, 23, 2, 2, 2, Some(5)),
        (64, 48, 2, 2, 2, None),
    ];
    for (h, w, j, l, order, seed) in cases {
        let options = ScatteringOptions::with_max_order(j, l, order).unwrap();
        let bank = bank(j, l, seed);
        let host = Scattering2dPlan::<f32>::with_filter_bank(h, w, options, bank.clone()).unwrap();
        let x = image([2, 1, h, w]);
        let want: Vec<f64> = host
            .transform(x.view())
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect();
        let mut plan = DevicePlan::new(&client, h, w, options).unwrap();
        let dbank = plan.prepare(&bank).unwrap();
        let xs = x.as_slice().unwrap();
        let before = launches();
        let got = plan.transform(&dbank, xs).unwrap();
        let fused = launches() - before;
        let dev = max_rel(&got.iter().map(|&v| v as f64).collect::<Vec<_>>(), &want);
        let again = plan.transform(&dbank, xs).unwrap();
        plan.set_fused(false);
        let before = launches();
        let unfused = plan.transform(&dbank, xs).unwrap();
        let unfused_launches = launches() - before;
        println!(
            "{h}x{w} J={j} L={l} order {order} bank {seed:?} (padded {:?}): max|d|/max|S| = \
             {dev:.2e}, launches fused {fused} / unfused {unfused_launches}",
            plan.geometry().padded_size()
        );
        assert!(dev <= 1e-5, "{h}x{w} J={j} L={l}: {dev:e}");
        assert!(
            same_bits(&got, &again),
            "{h}x{w} J={j} L={l}: two runs differ"
        );
        assert!(
            same_bits(&got, &unfused),
            "{h}x{w} J={j} L={l}: fused and unfused differ"
        );
    }
}

#[test]
fn forward_launches_depend_on_neither_batch_nor_orientations() {
    let _serial = serial();
    let client = client();
    // 16×20 runs every step fused; 64×64 (72×72 padded) runs resolution 0 on the row/column
    // FFT.
    for (h, w, j, fused) in [(16, 20, 2, Some(9)), (64, 64, 2, None)] {
        let mut counts = Vec::new();
        for l in [1, 8] {
            let options = ScatteringOptions::new(j, l).unwrap();
            let plan = DevicePlan::new(&client, h, w, options).unwrap();
            let dbank = plan.prepare(&bank(j, l, None)).unwrap();
            for batch in [1, 5] {
                let x = image([batch, 1, h, w]);
                let before = launches();
                plan.transform(&dbank, x.as_slice().unwrap()).unwrap();
                counts.push(((l, batch), launches() - before));
            }
        }
        println!("{h}x{w} J={j}: launches per forward ((L, batch), count): {counts:?}");
        assert!(counts.iter().all(|c| c.1 == counts[0].1), "{counts:?}");
        if let Some(n) = fused {
            // 3 + 2J + J(J−1) at order 2 (`cascade::device`'s table).
            assert_eq!(counts[0].1, n);
        }
    }
}

#[test]
fn spectra_cropped_on_the_device_give_the_host_prepared_coefficients() {
    let _serial = serial();
    let client = client();
    let (h, w, j, l) = (20, 28, 2, 4);
    let options = ScatteringOptions::new(j, l).unwrap();
    let bank = bank(j, l, Some(11));
    let plan = DevicePlan::new(&client, h, w, options).unwrap();
    let [mp, np] = plan.geometry().padded_size();
    let psi: Vec<f32> = bank
        .wavelets()
        .iter()
        .flat_map(|p| morlet_spectrum(mp, np, p).into_iter().map(|v| v as f32))
        .collect();
    let before = launches();
    let on_device = plan
        .prepare_spectra(&Buffer::upload(&client, &psi))
        .unwrap();
    assert_eq!(launches() - before, 1);
    let on_host = plan.prepare(&bank).unwrap();
    let x = image([3, 1, h, w]);
    let a = plan.transform(&on_device, x.as_slice().unwrap()).unwrap();
    let b = plan.transform(&on_host, x.as_slice().unwrap()).unwrap();
    let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
    let dev = max_rel(&to64(&a), &to64(&b));
    println!("device-cropped vs host-cropped bank: {dev:.2e}");
    assert!(dev <= 1e-6, "{dev:e}");
}

/// A backward case: size, `J`, `L`, order, planes and the random bank's seed.
struct Case {
    hw: [usize; 2],
    j: usize,
    l: usize,
    order: usize,
    planes: usize,
    seed: Option<u64>,
}

/// The host's `f64` gradients: the input's, and each wavelet's `(σ, ξ, θ, slant)`.
fn host_gradients(c: &Case, x: &[f64], g: &[f64]) -> (Vec<f64>, Vec<[f64; 4]>) {
    let [h, w] = c.hw;
    let options = ScatteringOptions::with_max_order(c.j, c.l, c.order).unwrap();
    let host = Scattering2dPlan::<f64>::new(h, w, options).unwrap();
    let prepared = host.prepare(bank(c.j, c.l, c.seed)).unwrap();
    let xa = ArrayD::from_shape_vec(IxDyn(&[c.planes, h, w]), x.to_vec()).unwrap();
    let [ho, wo] = host.geometry().output_size();
    let shape = [c.planes, host.num_paths(), ho, wo];
    let ga = ArrayD::from_shape_vec(IxDyn(&shape), g.to_vec()).unwrap();
    let want = host
        .backward(&prepared, xa.view(), None, ga.view(), true, true)
        .unwrap();
    (
        want.input.unwrap().iter().copied().collect(),
        want.wavelets.unwrap(),
    )
}

/// `(σ, ξ, θ, slant)` of every wavelet from the device's spectra gradient, by the host's VJP.
fn wavelet_gradients(bank: &FilterBankParams, [mp, np]: [usize; 2], dpsi: &[f64]) -> Vec<[f64; 4]> {
    let plane = mp * np;
    bank.wavelets()
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let cot = ArrayView2::from_shape((mp, np), &dpsi[n * plane..][..plane]).unwrap();
            morlet_spectrum_vjp(mp, np, p, cot)
        })
        .collect()
}

fn flat(v: &[[f64; 4]]) -> Vec<f64> {
    v.iter().flatten().copied().collect()
}

/// The device's gradients: `(input, spectra)` with a tape, and whether recomputing and a rerun
/// give the same bits.
fn device_gradients(client: &Client, c: &Case, x: &[f64], g: &[f64]) -> (Vec<f64>, Vec<f64>, bool) {
    let [h, w] = c.hw;
    let options = ScatteringOptions::with_max_order(c.j, c.l, c.order).unwrap();
    let plan = DevicePlan::new(client, h, w, options).unwrap();
    let dbank = plan.prepare(&bank(c.j, c.l, c.seed)).unwrap();
    let xd = Buffer::upload(client, &to32(x));
    let gd = Buffer::upload(client, &to32(g));
    let (_, tape) = plan.forward(&dbank, &xd, true).unwrap();
    let tape = tape.unwrap();
    let read = |gr: &learnable_scattering::testing::device::DeviceGradients| {
        let dx = gr.input.as_ref().unwrap().read(client).unwrap();
        let dpsi = gr.spectra.as_ref().unwrap().read(client).unwrap();
        (dx, dpsi)
    };
    let taped = read(
        &plan
            .backward(&dbank, &xd, Some(&tape), &gd, true, true)
            .unwrap(),
    );
    let recomputed = read(&plan.backward(&dbank, &xd, None, &gd, true, true).unwrap());
    let again = read(
        &plan
            .backward(&dbank, &xd, Some(&tape), &gd, true, true)
            .unwrap(),
    );
    let identical = same_bits(&taped.0, &recomputed.0)
        && same_bits(&taped.1, &recomputed.1)
        && same_bits(&taped.0, &again.0)
        && same_bits(&taped.1, &again.1);
    let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
    (to64(&taped.0), to64(&taped.1), identical)
}

#[test]
fn backward_matches_the_host_adjoint_in_f64() {
    let _serial = serial();
    let client = client();
    let cases = [
        Case {
            hw: [12, 20],
            j: 1,
            l: 3,
            order: 2,
            planes: 20,
            seed: None,
        },
        Case {
            hw: [16, 20],
            j: 2,
            l: 8,
            order: 2,
            planes: 2,
            seed: None,
        },
        Case {
            hw: [20, 28],
            j: 2,
            l: 1,
            order: 2,
            planes: 3,
            seed: Some(4),
        },
        Case {
            hw: [17, 23],
            j: 2,
            l: 6,
            order: 2,
            planes: 2,
            seed: Some(5),
        },
        Case {
            hw: [24, 20],
            j: 3,
            l: 3,
            order: 2,
            planes: 2,
            seed: None,
        },
        Case {
            hw: [32, 24],
            j: 3,
            l: 8,
            order: 1,
            planes: 2,
            seed: Some(6),
        },
        Case {
            hw: [16, 16],
            j: 4,
            l: 1,
            order: 2,
            planes: 2,
            seed: None,
        },
    ];
    for c in &cases {
        let [h, w] = c.hw;
        let options = ScatteringOptions::with_max_order(c.j, c.l, c.order).unwrap();
        let k = options.num_paths();
        let x = values(c.planes * h * w, 1, 1.0);
        let [ho, wo] = learnable_scattering::PaddedGeometry::new(h, w, c.j)
            .unwrap()
            .output_size();
        let g = values(c.planes * k * ho * wo, 2, 1.0);
        let (want_dx, want_w) = host_gradients(c, &x, &g);
        let (dx, dpsi, identical) = device_gradients(&client, c, &x, &g);
        let padded = learnable_scattering::PaddedGeometry::new(h, w, c.j)
            .unwrap()
            .padded_size();
        let got_w = wavelet_gradients(&bank(c.j, c.l, c.seed), padded, &dpsi);
        let family = |v: &[[f64; 4]], i: usize| v.iter().map(|d| d[i]).collect::<Vec<f64>>();
        let families: [f64; 4] =
            std::array::from_fn(|i| rel_l2(&family(&got_w, i), &family(&want_w, i)));
        let (e_dx, e_w) = (rel_l2(&dx, &want_dx), rel_l2(&flat(&got_w), &flat(&want_w)));
        println!(
            "{h}x{w} J={} L={} order {} P={} bank {:?}: input {e_dx:.2e}, wavelets {e_w:.2e} \
             (σ, ξ, θ, slant {:.1e} {:.1e} {:.1e} {:.1e}), taped == recomputed == rerun: \
             {identical}",
            c.j, c.l, c.order, c.planes, c.seed, families[0], families[1], families[2], families[3]
        );
        assert!(e_dx <= 1e-4, "input gradient {e_dx:e}");
        assert!(e_w <= 1e-4, "wavelet gradient {e_w:e}");
        assert!(families.iter().all(|&e| e <= 1e-4), "{families:?}");
        assert!(identical, "taped, recomputed and rerun backwards differ");
    }
}

#[test]
fn fused_and_unfused_backwards_agree_bit_for_bit() {
    let _serial = serial();
    let client = client();
    // 24×28 → 32×36 padded: every resolution fused, or none.
    let (h, w, j, l, planes) = (24, 28, 2, 3, 3);
    let options = ScatteringOptions::new(j, l).unwrap();
    let mut plan = DevicePlan::new(&client, h, w, options).unwrap();
    let dbank = plan.prepare(&bank(j, l, Some(9))).unwrap();
    let xd = Buffer::upload(&client, &to32(&values(planes * h * w, 3, 1.0)));
    let gd = Buffer::upload(
        &client,
        &to32(&values(planes * plan.output_plane(), 4, 1.0)),
    );
    let mut results = Vec::new();
    for fused in [true, false] {
        plan.set_fused(fused);
        let before = launches();
        let grads = plan.backward(&dbank, &xd, None, &gd, true, true).unwrap();
        let count = launches() - before;
        println!("fused {fused}: {count} launches per backward (recomputing the tape)");
        results.push((
            grads.input.unwrap().read(&client).unwrap(),
            grads.spectra.unwrap().read(&client).unwrap(),
        ));
    }
    assert!(
        same_bits(&results[0].0, &results[1].0),
        "input gradients differ"
    );
    assert!(
        same_bits(&results[0].1, &results[1].1),
        "spectra gradients differ"
    );
}

/// A tape handed over as its buffers (how the burn layer keeps it as tensors) and rebuilt gives
/// the same gradients, bit for bit; buffers that do not match the plan are refused.
#[test]
fn a_tape_round_trips_through_its_buffers() {
    let _serial = serial();
    let client = client();
    let (h, w, j, l, planes) = (16, 20, 3, 2, 2);
    let options = ScatteringOptions::new(j, l).unwrap();
    let plan = DevicePlan::new(&client, h, w, options).unwrap();
    let dbank = plan.prepare(&bank(j, l, Some(1))).unwrap();
    let xd = Buffer::upload(&client, &to32(&values(planes * h * w, 3, 1.0)));
    let gd = Buffer::upload(
        &client,
        &to32(&values(planes * plan.output_plane(), 4, 1.0)),
    );
    let (_, tape) = plan.forward(&dbank, &xd, true).unwrap();
    let tape = tape.unwrap();
    println!("tape of {} planes: {} bytes", tape.planes(), tape.bytes());
    let direct = plan
        .backward(&dbank, &xd, Some(&tape), &gd, true, true)
        .unwrap();
    let buffers = tape.into_buffers();
    // scales, X, and per stage u1 and every u2: 1 + 2·(1 + J + J(J−1)/2).
    assert_eq!(buffers.len(), 1 + 2 * (1 + j + j * (j - 1) / 2));
    let mut short = buffers.clone();
    short.pop();
    assert!(DeviceTape::from_buffers(&plan, planes, short).is_err());
    assert!(DeviceTape::from_buffers(&plan, planes + 1, buffers.clone()).is_err());
    let rebuilt = DeviceTape::from_buffers(&plan, planes, buffers).unwrap();
    let again = plan
        .backward(&dbank, &xd, Some(&rebuilt), &gd, true, true)
        .unwrap();
    for (a, b) in [
        (&direct.input, &again.input),
        (&direct.spectra, &again.spectra),
    ] {
        let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        assert!(same_bits(
            &a.read(&client).unwrap(),
            &b.read(&client).unwrap()
        ));
    }
}

/// Launches of a recorded forward, a backward with the tape, one recomputing and one with the
/// tape for the input gradient alone.
fn launch_counts(
    client: &Client,
    plan: &DevicePlan,
    dbank: &DeviceBank,
    batch: usize,
) -> [usize; 4] {
    let [h, w] = [plan.geometry().height, plan.geometry().width];
    let xd = Buffer::upload(client, &to32(&values(batch * h * w, 5, 1.0)));
    let gd = Buffer::upload(client, &to32(&values(batch * plan.output_plane(), 6, 1.0)));
    let before = launches();
    let (_, tape) = plan.forward(dbank, &xd, true).unwrap();
    let forward = launches() - before;
    let tape = tape.unwrap();
    let before = launches();
    let grads = plan
        .backward(dbank, &xd, Some(&tape), &gd, true, true)
        .unwrap();
    let taped = launches() - before;
    let before = launches();
    plan.backward(dbank, &xd, None, &gd, true, true).unwrap();
    let recomputed = launches() - before;
    let before = launches();
    plan.backward(dbank, &xd, Some(&tape), &gd, true, false)
        .unwrap();
    let input_only = launches() - before;
    // Wait for the work.
    grads.input.unwrap().read(client).unwrap();
    [forward, taped, recomputed, input_only]
}

#[test]
fn backward_launches_depend_on_neither_batch_nor_orientations() {
    let _serial = serial();
    let client = client();
    // (size, J, order, the counts when every plane is fused)
    let configurations = [
        ([16, 20], 2, 2, Some([9, 10, 15, 5])),
        ([16, 20], 3, 2, Some([15, 17, 25, 8])),
        ([16, 20], 2, 1, Some([7, 7, 11, 4])),
        ([64, 64], 2, 2, None),
    ];
    for ([h, w], j, order, expected) in configurations {
        let mut counts = Vec::new();
        for l in [1, 8] {
            let options = ScatteringOptions::with_max_order(j, l, order).unwrap();
            let plan = DevicePlan::new(&client, h, w, options).unwrap();
            let dbank = plan.prepare(&bank(j, l, None)).unwrap();
            for batch in [1, 5] {
                counts.push(((l, batch), launch_counts(&client, &plan, &dbank, batch)));
            }
        }
        println!(
            "{h}x{w} J={j} order {order}: launches ((L, batch), [recorded forward, backward with \
             tape, backward recomputing, input only with tape]): {counts:?}"
        );
        assert!(counts.iter().all(|c| c.1 == counts[0].1), "{counts:?}");
        if let Some(e) = expected {
            assert_eq!(counts[0].1, e);
        }
    }
}

/// Planes above `2^40` are scaled by a power of two on the device (a per-plane max-abs
/// reduction; the exponent never leaves the device): a batch of one plane at 1e30 and one at 1
/// gives the host's coefficients and gradients (`f64`, where nothing overflows).
#[test]
fn huge_inputs_are_rescaled_on_the_device() {
    let _serial = serial();
    let client = client();
    let c = Case {
        hw: [16, 20],
        j: 2,
        l: 3,
        order: 2,
        planes: 2,
        seed: Some(2),
    };
    let [h, w] = c.hw;
    let mut x = values(c.planes * h * w, 7, 1.0);
    x[..h * w].iter_mut().for_each(|v| *v *= 1e30);
    let options = ScatteringOptions::new(c.j, c.l).unwrap();
    let host =
        Scattering2dPlan::<f64>::with_filter_bank(h, w, options, bank(c.j, c.l, c.seed)).unwrap();
    let xa = ArrayD::from_shape_vec(IxDyn(&[c.planes, h, w]), x.clone()).unwrap();
    let want_s: Vec<f64> = host
        .transform_dyn(xa.view())
        .unwrap()
        .iter()
        .copied()
        .collect();
    let g = values(want_s.len(), 8, 1.0);
    let (want_dx, want_w) = host_gradients(&c, &x, &g);

    let plan = DevicePlan::new(&client, h, w, options).unwrap();
    let dbank = plan.prepare(&bank(c.j, c.l, c.seed)).unwrap();
    let xd = Buffer::upload(&client, &to32(&x));
    let (s, tape) = plan.forward(&dbank, &xd, true).unwrap();
    let gd = Buffer::upload(&client, &to32(&g));
    let grads = plan
        .backward(&dbank, &xd, tape.as_ref(), &gd, true, true)
        .unwrap();
    let s = read64(&client, &s);
    let dx = read64(&client, grads.input.as_ref().unwrap());
    let dpsi = read64(&client, grads.spectra.as_ref().unwrap());
    let got_w = flat(&wavelet_gradients(
        &bank(c.j, c.l, c.seed),
        plan.geometry().padded_size(),
        &dpsi,
    ));
    assert!(s.iter().chain(&dx).chain(&dpsi).all(|v| v.is_finite()));
    let per_plane = s.len() / c.planes;
    let mut worst = 0.0f64;
    for p in 0..c.planes {
        let e_s = rel_l2(
            &s[p * per_plane..][..per_plane],
            &want_s[p * per_plane..][..per_plane],
        );
        let e_dx = rel_l2(&dx[p * h * w..][..h * w], &want_dx[p * h * w..][..h * w]);
        println!("plane {p}: coefficients {e_s:.2e}, input gradient {e_dx:.2e}");
        worst = worst.max(e_s).max(e_dx);
    }
    let e_w = rel_l2(&got_w, &flat(&want_w));
    println!("wavelet gradient (both planes): {e_w:.2e}");
    assert!(worst <= 1e-4 && e_w <= 1e-4, "{worst:e} {e_w:e}");
}

#[test]
fn bad_input_gets_typed_errors() {
    let _serial = serial();
    let client = client();
    let (h, w) = (16, 20);
    let options = ScatteringOptions::new(2, 2).unwrap();
    let plan = DevicePlan::new(&client, h, w, options).unwrap();
    let dbank = plan.prepare(&bank(2, 2, None)).unwrap();
    let shape_error =
        |e: DeviceError| matches!(e, DeviceError::Scatter(ScatterError::InvalidShape { .. }));
    // A partial plane, no plane.
    let partial = Buffer::upload(&client, &vec![0.0; h * w + 3]);
    assert!(shape_error(
        plan.forward(&dbank, &partial, false).unwrap_err()
    ));
    let empty = Buffer::upload(&client, &[]);
    assert!(matches!(
        plan.forward(&dbank, &empty, false).unwrap_err(),
        DeviceError::Scatter(ScatterError::EmptyBatch { .. })
    ));
    // A bank of another plan.
    let other = DevicePlan::new(&client, h, w, ScatteringOptions::new(2, 3).unwrap()).unwrap();
    let other_bank = other.prepare(&bank(2, 3, None)).unwrap();
    let x = Buffer::upload(&client, &vec![0.5; 2 * h * w]);
    let e = plan.forward(&other_bank, &x, false).unwrap_err();
    println!("{e}");
    assert!(matches!(
        e,
        DeviceError::Scatter(ScatterError::InvalidParameter { name: "bank", .. })
    ));
    // A bank of another J or L, a gradient or a tape of another batch.
    assert!(plan.prepare(&bank(2, 3, None)).is_err());
    let (_, tape) = plan.forward(&dbank, &x, true).unwrap();
    let short = Buffer::upload(&client, &vec![0.0; plan.output_plane()]);
    assert!(shape_error(
        plan.backward(&dbank, &x, None, &short, true, true)
            .unwrap_err()
    ));
    let x3 = Buffer::upload(&client, &vec![0.5; 3 * h * w]);
    let g3 = Buffer::upload(&client, &vec![0.0; 3 * plan.output_plane()]);
    assert!(shape_error(
        plan.backward(&dbank, &x3, tape.as_ref(), &g3, true, false)
            .unwrap_err()
    ));
    // Spectra of the wrong size.
    assert!(shape_error(plan.prepare_spectra(&x).unwrap_err()));
    // A batch whose largest buffer (the first-order signals, L·Mp·Np values per plane) exceeds
    // the device's largest: refused before anything is allocated.
    let wide = ScatteringOptions::with_max_order(1, 1024, 1).unwrap();
    let wide_plan = DevicePlan::new(&client, h, h, wide).unwrap();
    let wide_bank = wide_plan.prepare(&bank(1, 1024, None)).unwrap();
    let [mp, np] = wide_plan.geometry().padded_size();
    let limit = DeviceLimits::of(&client).max_buffer_bytes as usize;
    let planes = limit / (4 * 1024 * mp * np) + 1;
    let x = Buffer::upload(&client, &vec![0.0; planes * h * h]);
    let e = wide_plan.forward(&wide_bank, &x, false).unwrap_err();
    println!("{e}");
    assert!(matches!(e, DeviceError::BatchTooLarge { planes: p, .. } if p == planes));
    // Padded lengths beyond workgroup memory: 4096 pads to 4100 at J = 1, whose half 2050 =
    // 2·5²·41 goes through a Bluestein convolution of 4320.
    let e =
        DevicePlan::new(&client, 4096, 4096, ScatteringOptions::new(1, 1).unwrap()).unwrap_err();
    println!("{e}");
    assert!(matches!(e, DeviceError::LineTooLong { length: 2050, .. }));
}
