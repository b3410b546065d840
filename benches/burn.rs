//! Criterion benchmarks of the burn layer: filter generation, forward (fixed and learnable
//! filters), forward + backward, and the any-size FFT (RustFFT extension vs dense DFT matmuls).
//!
//! `cargo bench --bench burn` (CPU backends); `cargo bench --bench burn --features wgpu` adds wgpu.
//! Every timed closure ends with `device.sync()` so asynchronous backends are really timed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use learnable_scattering::nn::spectral::{dft2, fft2};
use learnable_scattering::nn::{Scattering2dConfig, Trainable};

const J: usize = 2;
const L: usize = 8;
const SIZE: usize = 32;
const BATCH: usize = 128;
const CHANNELS: usize = 3;

fn devices() -> Vec<(&'static str, Device)> {
    #[allow(deprecated, unused_mut)] // ndarray is deprecated; `out` grows with the wgpu feature
    let mut out = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    #[cfg(feature = "wgpu")]
    out.push(("wgpu", Device::wgpu(Default::default())));
    out
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
}

/// Times `f` over `iters` runs, synchronising the device before stopping the clock.
fn timed(device: &Device, iters: u64, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    device.sync().expect("device sync");
    t.elapsed()
}

fn scattering(c: &mut Criterion) {
    let label = format!("J{J}_L{L}_{CHANNELS}x{SIZE}x{SIZE}_b{BATCH}");
    let mut group = c.benchmark_group("burn_scattering2d");
    configure(&mut group);
    for (name, base) in devices() {
        let device = base.autodiff();
        let config = Scattering2dConfig::new(J, [SIZE, SIZE]).with_num_orientations(L);
        let learnable = config.init(&device);
        let fixed = config
            .clone()
            .with_trainable(Trainable::none())
            .init(&device);
        let x = Tensor::<4>::random(
            [BATCH, CHANNELS, SIZE, SIZE],
            Distribution::Default,
            &device,
        );

        group.bench_function(BenchmarkId::new("filters_learnable", name), |b| {
            b.iter_custom(|iters| {
                timed(&device, iters, || {
                    drop(black_box(learnable.filters.spectra()))
                })
            })
        });
        group.bench_function(
            BenchmarkId::new(format!("fixed_forward_{label}"), name),
            |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || drop(black_box(fixed.forward(x.clone()))))
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(format!("learnable_forward_{label}"), name),
            |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        drop(black_box(learnable.forward(x.clone())))
                    })
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(format!("learnable_forward_backward_{label}"), name),
            |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        let grads = learnable.forward(x.clone()).sum().backward();
                        black_box(learnable.filters.xi.val().grad(&grads));
                    })
                })
            },
        );
    }
    group.finish();
}

/// The any-size FFT alone, forward + backward, on the layer's first transform:
/// `[BATCH·CHANNELS, 40, 40]`.
fn fft(c: &mut Criterion) {
    let mut group = c.benchmark_group("burn_fft2_40x40_b384_forward_backward");
    configure(&mut group);
    for (name, base) in devices() {
        let device = base.autodiff();
        let shape = [BATCH * CHANNELS, 40, 40];
        let re = Tensor::<3>::random(shape, Distribution::Default, &device).require_grad();
        let im = Tensor::<3>::random(shape, Distribution::Default, &device).require_grad();
        for method in ["extension", "dense_matmul"] {
            group.bench_function(BenchmarkId::new(method, name), |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        let (r, i) = if method == "extension" {
                            fft2(re.clone(), im.clone())
                        } else {
                            dft2(re.clone(), im.clone(), false)
                        };
                        let grads = (r.powi_scalar(2) + i).sum().backward();
                        black_box(re.grad(&grads));
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scattering, fft);
criterion_main!(benches);
