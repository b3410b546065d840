//! The engine's buffers are reserved fallibly: under a memory cap (the counting allocator of
//! `support/capped_alloc.rs`, installed below), a call that needs more memory than the cap leaves
//! returns [`ScatterError::OutOfMemory`] naming what it was for and the bytes asked for, instead of
//! aborting the process ("memory allocation of N bytes failed"), and the same plan works again
//! afterwards. Each buffer is driven to fail on its own: the output, a copy of a broadcast input,
//! the tape, the input gradient, a worker's workspace, a plan and a bank's spectra.

use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::{FilterBankParams, ScatterError, ScatteringOptions};
use ndarray::{Array2, ArrayD, ArrayViewD, IxDyn};

mod support;
use support::capped_alloc::{MB, with_memory_cap};
use support::lock;

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;

/// One image, broadcast (stride 0) to `planes` planes: a few kilobytes standing for `planes`
/// images.
fn broadcast(image: &Array2<f32>, planes: usize) -> ArrayViewD<'_, f32> {
    let (h, w) = image.dim();
    image.broadcast(IxDyn(&[planes, h, w])).unwrap()
}

fn image(h: usize, w: usize) -> Array2<f32> {
    Array2::from_shape_fn((h, w), |(i, j)| ((i * 7 + j * 3) as f32 * 0.1).sin())
}

/// The error is `OutOfMemory` for `what`, with `bytes` asked for, and its message names both.
#[track_caller]
fn assert_out_of_memory<T: std::fmt::Debug>(
    result: Result<T, ScatterError>,
    what: &str,
    bytes: u128,
) {
    match result {
        Err(ScatterError::OutOfMemory { what: w, bytes: b }) => {
            assert_eq!((w, b), (what, bytes));
            let message = ScatterError::OutOfMemory { what: w, bytes: b }.to_string();
            assert!(
                message.starts_with(&format!("cannot allocate {bytes} bytes (")),
                "{message}"
            );
            assert!(message.contains(what), "{message}");
        }
        other => panic!("expected OutOfMemory for {what}, got {other:?}"),
    }
}

/// 32 × 32 at `J = 2`, `L = 8`: `K = 81` channels of 8 × 8 per plane.
fn plan_32() -> Scattering2dPlan<f32> {
    Scattering2dPlan::new(32, 32, ScatteringOptions::new(2, 8).unwrap()).unwrap()
}

#[test]
fn an_output_too_large_for_memory_is_an_error() {
    let _guard = lock();
    let plan = plan_32();
    let one = image(32, 32);
    // 200 000 broadcast images: the output alone is 200 000 · 81 · 64 · 4 bytes = 4.1 GB.
    let x = broadcast(&one, 200_000);
    let (result, peak) = with_memory_cap(64 * MB, || plan.transform_dyn(x.clone()));
    assert_out_of_memory(result, "the scattering output", 200_000 * 81 * 64 * 4);
    assert!(
        peak < MB,
        "nothing large was allocated before the refusal: {peak} bytes"
    );
    // The plan goes on working.
    let small = plan.transform_dyn(broadcast(&one, 2)).unwrap();
    assert_eq!(small.shape(), &[2, 81, 8, 8]);
}

#[test]
fn a_copy_of_a_broadcast_input_too_large_for_memory_is_an_error() {
    let _guard = lock();
    // J = 1, L = 1: K = 2 channels of 16 × 16 per 32 × 32 plane, so the output (2 KiB per
    // plane) fits where the contiguous copy of the input (4 KiB per plane) does not.
    let plan = Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(1, 1).unwrap()).unwrap();
    let one = image(32, 32);
    let planes = 20_000; // output 41 MB, copy 82 MB
    let x = broadcast(&one, planes);
    let (result, _) = with_memory_cap(64 * MB, || plan.transform_dyn(x.clone()));
    assert_out_of_memory(
        result,
        "a C-contiguous copy of the input",
        (planes * 32 * 32 * 4) as u128,
    );
    // With room for both, the same broadcast input gives every image the one image's output.
    let two = plan.transform_dyn(broadcast(&one, 3)).unwrap();
    let single = plan.transform_dyn(one.view().into_dyn()).unwrap();
    for p in 0..3 {
        assert_eq!(two.index_axis(ndarray::Axis(0), p), single);
    }
}

#[test]
fn a_tape_too_large_for_memory_is_an_error() {
    let _guard = lock();
    let plan = plan_32();
    let bank = plan
        .prepare(FilterBankParams::random(2, 8, 1).unwrap())
        .unwrap();
    let x = ArrayD::from_shape_fn(IxDyn(&[400, 32, 32]), |i| {
        ((i[1] + i[2] * i[0]) as f32).cos()
    });
    // Output 8.3 MB; the tape keeps X and every u1, u2 of each plane, 346 KB a plane (138 MB).
    let (result, _) = with_memory_cap(64 * MB, || plan.forward(&bank, x.view(), true));
    let Err(ScatterError::OutOfMemory { what, bytes }) = result else {
        panic!("expected OutOfMemory, got {result:?}");
    };
    assert_eq!(what, "the intermediates of the forward (its tape)");
    assert!(bytes > 100_000_000 && bytes % 400 == 0, "{bytes}");
    // Without the cap the tape is made, and its size is the bytes asked for.
    let (_, tape) = plan.forward(&bank, x.view(), true).unwrap();
    assert_eq!(tape.unwrap().bytes() as u128, bytes);
}

#[test]
fn an_input_gradient_too_large_for_memory_is_an_error() {
    let _guard = lock();
    // J = 1, L = 1 (2 KiB of output per plane): the input and the output gradient, contiguous
    // and made before the cap, take 82 MB and 41 MB; the input gradient (82 MB) is the first
    // buffer the backward then needs.
    let plan = Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(1, 1).unwrap()).unwrap();
    let bank = plan
        .prepare(FilterBankParams::tight_frame(1, 1).unwrap())
        .unwrap();
    let planes = 20_000;
    let x = ArrayD::from_shape_fn(IxDyn(&[planes, 32, 32]), |i| ((i[1] * i[2]) as f32).sin());
    let g = ArrayD::<f32>::ones(IxDyn(&[planes, 2, 16, 16]));
    let (result, _) = with_memory_cap(64 * MB, || {
        plan.backward(&bank, x.view(), None, g.view(), true, false)
    });
    assert_out_of_memory(result, "the input gradient", (planes * 32 * 32 * 4) as u128);
    let small = plan.backward(
        &bank,
        x.slice(ndarray::s![..2, .., ..]).into_dyn(),
        None,
        g.slice(ndarray::s![..2, .., .., ..]).into_dyn(),
        true,
        false,
    );
    assert_eq!(small.unwrap().input.unwrap().shape(), &[2, 32, 32]);
}

#[test]
fn a_workspace_too_large_for_memory_is_an_error() {
    let _guard = lock();
    // One 256 × 256 image at J = 2, L = 2: the output (9 · 64 · 64 · 4 bytes) is small, a
    // worker's buffers (fifteen 264 × 264 complex planes and smaller ones) are not.
    let plan =
        Scattering2dPlan::<f32>::new(256, 256, ScatteringOptions::new(2, 2).unwrap()).unwrap();
    let x = image(256, 256);
    // The plan's own spectra are prepared on its first transform, before the cap.
    let _ = plan.transform_dyn(x.view().into_dyn()).unwrap();
    let (result, _) = with_memory_cap(2 * MB, || plan.transform_dyn(x.view().into_dyn()));
    let Err(ScatterError::OutOfMemory { what, .. }) = result else {
        panic!("expected OutOfMemory, got {result:?}");
    };
    assert_eq!(what, "a worker's workspace");
    assert!(plan.transform_dyn(x.view().into_dyn()).is_ok());
}

#[test]
fn a_plan_or_bank_too_large_for_memory_is_an_error() {
    let _guard = lock();
    let options = ScatteringOptions::new(3, 8).unwrap();
    let (result, _) = with_memory_cap(64 * MB, || {
        Scattering2dPlan::<f32>::new(1024, 1024, options)
    });
    let Err(ScatterError::OutOfMemory { what, bytes }) = result else {
        panic!("expected OutOfMemory, got {result:?}");
    };
    assert_eq!(what, "a scattering plan (its estimated peak memory)");
    assert!(bytes > (64 * MB) as u128, "{bytes}");
    // A bank's spectra for a plan made without the cap: J·L planes of f64, twice.
    let plan =
        Scattering2dPlan::<f32>::new(128, 128, ScatteringOptions::new(3, 8).unwrap()).unwrap();
    let [mp, np] = plan.geometry().padded_size();
    let bank = FilterBankParams::random(3, 8, 2).unwrap();
    let (result, _) = with_memory_cap(MB, || plan.prepare(bank.clone()));
    assert_out_of_memory(
        result,
        "the wavelet spectra",
        2 * 24 * (mp * np) as u128 * 8,
    );
    assert!(plan.prepare(bank).is_ok());
}
