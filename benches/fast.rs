//! Criterion benchmarks of the fast fixed-filter path (`Scattering2dPlan`, f32).
//!
//! `cargo bench --bench fast`; a subset with `cargo bench --bench fast -- J2_L8_3x32x32_b128`.
//! Plans are built outside the timed loop; throughput is reported in images per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use learnable_scattering::ScatteringOptions;
use learnable_scattering::cascade::Scattering2dPlan;
use ndarray::Array4;

fn input(batch: usize, channels: usize, size: usize) -> Array4<f32> {
    Array4::from_shape_fn((batch, channels, size, size), |(b, c, i, j)| {
        (((b * 31 + c * 7 + i * 3 + j) % 97) as f32 * 0.37).sin()
    })
}

fn fast_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("scattering2d_fast");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    // (J, L, channels, size, batch)
    let cases = [
        (2, 8, 3, 32, 1),
        (2, 8, 3, 32, 128),
        (2, 8, 3, 32, 1024),
        (3, 8, 1, 64, 64),
        (4, 8, 1, 128, 64),
    ];
    for (j, l, channels, size, batch) in cases {
        let plan = Scattering2dPlan::<f32>::new(size, size, ScatteringOptions::new(j, l).unwrap())
            .unwrap();
        let x = input(batch, channels, size);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::new(
                "transform",
                format!("J{j}_L{l}_{channels}x{size}x{size}_b{batch}"),
            ),
            &x,
            |b, x| b.iter(|| black_box(plan.transform(x.view()).unwrap())),
        );
    }
    group.finish();
}

fn plan_construction(c: &mut Criterion) {
    let mut group = c.benchmark_group("scattering2d_plan");
    group.sample_size(10);
    for (j, size) in [(2, 32), (4, 128)] {
        group.bench_function(
            BenchmarkId::new("new", format!("J{j}_L8_{size}x{size}")),
            |b| {
                b.iter(|| {
                    Scattering2dPlan::<f32>::new(size, size, ScatteringOptions::new(j, 8).unwrap())
                        .unwrap()
                })
            },
        );
    }
    // The bank's spectra alone (the closed form with the aliases each wavelet needs): the tight
    // frame at L = 8 and at L = 1, whose slant 4 needs 8 aliases per side at j = 0.
    for (j, l, size) in [(2, 8, 32), (4, 8, 128), (2, 1, 32), (3, 1, 64)] {
        let bank = learnable_scattering::FilterBankParams::tight_frame(j, l).unwrap();
        let [mp, np] = learnable_scattering::PaddedGeometry::new(size, size, j)
            .unwrap()
            .padded_size();
        group.bench_function(
            BenchmarkId::new("bank_spectra", format!("J{j}_L{l}_{mp}x{np}")),
            |b| {
                b.iter(|| {
                    black_box(learnable_scattering::filters::spectral::bank_spectra(
                        &bank, mp, np,
                    ))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fast_path, plan_construction);
criterion_main!(benches);
