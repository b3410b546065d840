//! Criterion benchmarks of the burn layer next to the fixed transform, for the three cases of
//! `examples/layer_costs` (`1×28×28 J=2`, `3×32×32 J=2`, `1×64×64 J=3`; `L = 8`, batch 128):
//!
//! - `fast_path`: [`Scattering2dPlan::transform`], fixed tight frame (the reference cost);
//! - `frozen_forward`: the layer's forward with frozen filters (autodiff device, as in training);
//! - `learnable_step`: forward + backward with learnable filters, loss `Σ w·S`;
//! - `input_gradient_step`: forward + backward with frozen filters and a tracked input. Next to
//!   `learnable_step` it shows what the filter gradient costs: frozen filters run no
//!   filter-gradient kernel at all;
//! - `filters_step`: the filter construction alone, forward + backward.
//!
//! `cargo bench --bench burn` (CPU backends); `cargo bench --bench burn --features wgpu` adds wgpu
//! (the device executor). Every timed closure ends
//! with `device.sync()` so asynchronous backends are really timed. The side-by-side table with
//! ratios is `cargo run --release --features full --example layer_costs`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use learnable_scattering::ScatteringOptions;
use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::nn::{Scattering2dConfig, Trainable};
use ndarray::Array4;

const L: usize = 8;
const BATCH: usize = 128;
/// `(channels, size, J)`.
const CASES: [(usize, usize, usize); 3] = [(1, 28, 2), (3, 32, 2), (1, 64, 3)];

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

fn images(channels: usize, size: usize) -> Array4<f32> {
    Array4::from_shape_fn((BATCH, channels, size, size), |(b, c, i, j)| {
        (((b * 31 + c * 7 + i * 3 + j) % 97) as f32 * 0.37).sin()
    })
}

fn scattering(c: &mut Criterion) {
    let mut group = c.benchmark_group("scattering2d_layer");
    configure(&mut group);
    for (channels, size, j) in CASES {
        let label = format!("J{j}_L{L}_{channels}x{size}x{size}_b{BATCH}");
        let x = images(channels, size);
        let options = ScatteringOptions::new(j, L).expect("valid options");
        let plan = Scattering2dPlan::<f32>::new(size, size, options).expect("valid plan");
        group.bench_function(BenchmarkId::new("fast_path", &label), |b| {
            b.iter(|| black_box(plan.transform(x.view()).unwrap()))
        });
        for (name, base) in devices() {
            let device = base.autodiff();
            let id = |mode: &str| BenchmarkId::new(format!("{mode}_{name}"), &label);
            let xt = Tensor::<4>::from_data(
                TensorData::new(x.iter().copied().collect(), [BATCH, channels, size, size]),
                &device,
            );
            let config = Scattering2dConfig::new(j, [size, size]).with_num_orientations(L);
            let learnable = config.init(&device);
            let frozen = config
                .clone()
                .with_trainable(Trainable::none())
                .init(&device);
            let weights = Tensor::<5>::random(
                [1, channels, learnable.num_paths(), size >> j, size >> j],
                Distribution::Uniform(0.5, 1.5),
                &device,
            );
            group.bench_function(id("frozen_forward"), |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        drop(black_box(frozen.forward(xt.clone())))
                    })
                })
            });
            group.bench_function(id("learnable_step"), |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        let grads = (learnable.forward(xt.clone()) * weights.clone())
                            .sum()
                            .backward();
                        black_box(learnable.filters.xi.val().grad(&grads));
                    })
                })
            });
            group.bench_function(id("input_gradient_step"), |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        let input = xt.clone().require_grad();
                        let grads = (frozen.forward(input.clone()) * weights.clone())
                            .sum()
                            .backward();
                        black_box(input.grad(&grads));
                    })
                })
            });
            let spectra_weights = Tensor::<3>::random(
                learnable.filters.spectra().dims(),
                Distribution::Uniform(0.5, 1.5),
                &device,
            );
            group.bench_function(id("filters_step"), |b| {
                b.iter_custom(|iters| {
                    timed(&device, iters, || {
                        let grads = (learnable.filters.spectra() * spectra_weights.clone())
                            .sum()
                            .backward();
                        black_box(learnable.filters.xi.val().grad(&grads));
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scattering);
criterion_main!(benches);
