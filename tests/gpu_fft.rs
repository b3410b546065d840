//! The device executor's batched mixed-radix FFT (`cascade::device`) against rustfft in `f64`, on
//! wgpu's default adapter (Mesa's lavapipe in CI; the first line of output names it), and its
//! planner.
//!
//! `XDG_RUNTIME_DIR=$(mktemp -d) CUBECL_AUTOTUNE_LEVEL=minimal \
//!  cargo test --profile gpu-ci --features wgpu --test gpu_fft -- --nocapture`

use learnable_scattering::testing::device::{
    Algorithm, DeviceError, DeviceFft, Direction, Fft2Path, LinePlan, SplitComplex, factorize,
    launches, wgpu_client,
};
use num_complex::Complex;
use rustfft::FftPlanner;

mod support;
use support::device::{client, serial};

/// Relative L2 error allowed against rustfft: `f32` arithmetic gives about 2e-7.
const TOL: f64 = 1e-5;

fn signal(len: usize, seed: usize) -> (Vec<f32>, Vec<f32>) {
    let f = |i: usize, a: f32| (((i * 7919 + seed * 104_729) % 1000) as f32 * a).sin();
    (
        (0..len).map(|i| f(i, 0.0137)).collect(),
        (0..len).map(|i| f(i, 0.0291) - 0.1).collect(),
    )
}

/// Relative L2 error of `got` against the `f64` reference.
fn rel_l2(got: (&[f32], &[f32]), want: &[Complex<f64>]) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for (i, w) in want.iter().enumerate() {
        let d = Complex::new(got.0[i] as f64, got.1[i] as f64) - w;
        num += d.norm_sqr();
        den += w.norm_sqr();
    }
    (num / den.max(1e-300)).sqrt()
}

/// rustfft (`f64`) along each of `axes` (1: rows, 0: columns) of `[planes, h, w]`.
fn reference(
    x: &(Vec<f32>, Vec<f32>),
    [planes, h, w]: [usize; 3],
    axes: &[usize],
    dir: Direction,
) -> Vec<Complex<f64>> {
    let mut data: Vec<Complex<f64>> =
        x.0.iter()
            .zip(&x.1)
            .map(|(a, b)| Complex::new(*a as f64, *b as f64))
            .collect();
    let mut planner = FftPlanner::<f64>::new();
    for &axis in axes {
        let n = if axis == 1 { w } else { h };
        let fft = match dir {
            Direction::Forward => planner.plan_fft_forward(n),
            Direction::Inverse => planner.plan_fft_inverse(n),
        };
        let mut line = vec![Complex::new(0.0, 0.0); n];
        for p in 0..planes {
            for l in 0..if axis == 1 { h } else { w } {
                let at = |i: usize| {
                    if axis == 1 {
                        p * h * w + l * w + i
                    } else {
                        p * h * w + i * w + l
                    }
                };
                for (i, v) in line.iter_mut().enumerate() {
                    *v = data[at(i)];
                }
                fft.process(&mut line);
                for (i, v) in line.iter().enumerate() {
                    data[at(i)] = *v;
                }
            }
        }
    }
    data
}

/// Rows of `[3, 2, n]` and columns of `[2, n, 3]`, both directions: the worst error.
fn check_lines(fft: &DeviceFft, n: usize) -> f64 {
    let client = fft.client();
    let mut worst = 0.0f64;
    for (shape, axis) in [([3, 2, n], 1), ([2, n, 3], 0)] {
        let len = shape.iter().product();
        let x = signal(len, n + axis);
        let xd = SplitComplex::upload(client, &x.0, &x.1);
        let out = SplitComplex::empty(client, len);
        for dir in [Direction::Forward, Direction::Inverse] {
            fft.lines(&xd, (&out, 0), shape, axis, dir);
            let (re, im) = out.read(client).unwrap();
            let e = rel_l2((&re, &im), &reference(&x, shape, &[axis], dir));
            assert!(
                e <= TOL,
                "n={n} axis={axis} {dir:?}: relative L2 error {e:e}"
            );
            worst = worst.max(e);
        }
    }
    worst
}

#[test]
fn the_planner_factors_padded_lengths_and_sends_large_primes_to_bluestein() {
    assert_eq!(factorize(264), Some(vec![4, 2, 3, 11]));
    assert_eq!(factorize(160), Some(vec![4, 4, 2, 5]));
    assert_eq!(factorize(40), Some(vec![4, 2, 5]));
    assert_eq!(factorize(1), Some(vec![]));
    assert_eq!(factorize(13 * 7 * 9), Some(vec![3, 3, 7, 13]));
    assert_eq!(factorize(257), None);
    assert_eq!(
        LinePlan::new(257).algorithm,
        Algorithm::Bluestein {
            m: 540,
            radices: vec![4, 3, 3, 3, 5]
        }
    );
    assert_eq!(LinePlan::new(1009).work_len(), 2025);
    assert!(LinePlan::new(1).radices().is_empty());
}

#[test]
fn one_dimensional_lengths_match_rustfft() {
    let _serial = serial();
    let client = client();
    let lengths = [
        // every radix alone, then mixed
        1, 2, 3, 4, 5, 7, 11, 13, 8, 16, 6, 12, 15, 60, 77, 143, 9, 25, 49, 121, 169, 1024,
        // kymatio's padded lengths of the examples and their halvings
        36, 40, 80, 160, 264, 18, 20, 10, 132, 66, 33,
        // Bluestein: primes and a length with a large prime factor
        17, 257, 293, 38,
    ];
    let fft = DeviceFft::new(&client, lengths).unwrap();
    for n in lengths {
        let plan = fft.tables().plan(n).unwrap();
        let e = check_lines(&fft, n);
        println!("n={n:4} {:?}: {e:.2e}", plan.algorithm);
    }
}

#[test]
fn two_dimensional_shapes_match_rustfft() {
    let _serial = serial();
    let client = client();
    let shapes = [
        [40, 40],
        [160, 160],
        [264, 264],
        [40, 24],
        [20, 20],
        [36, 36],
        [520, 520],
        [17, 30],
    ];
    let fft = DeviceFft::new(&client, shapes.iter().flatten().copied()).unwrap();
    for [h, w] in shapes {
        let shape = [2, h, w];
        let x = signal(2 * h * w, h * 1000 + w);
        let xd = SplitComplex::upload(&client, &x.0, &x.1);
        let out = SplitComplex::empty(&client, x.0.len());
        for dir in [Direction::Forward, Direction::Inverse] {
            let path = fft.fft2(&xd, (&out, 0), shape, dir);
            let (re, im) = out.read(&client).unwrap();
            let e = rel_l2((&re, &im), &reference(&x, shape, &[1, 0], dir));
            println!("{h}x{w} {dir:?} via {path:?}: {e:.2e}");
            assert!(e <= TOL, "{h}x{w} {dir:?}: relative L2 error {e:e}");
        }
    }
    // Planes larger than workgroup memory take the row/column path.
    assert_eq!(fft.path(40, 40), Fft2Path::Plane);
    assert_eq!(fft.path(520, 520), Fft2Path::Lines);
}

#[test]
fn launches_do_not_depend_on_the_batch() {
    let _serial = serial();
    let client = client();
    let fft = DeviceFft::new(&client, [40, 24, 520]).unwrap();
    for [h, w] in [[40, 40], [40, 24], [520, 520]] {
        let mut counts = Vec::new();
        for planes in [1, 7] {
            let len = planes * h * w;
            let x = signal(len, 3);
            let xd = SplitComplex::upload(&client, &x.0, &x.1);
            let out = SplitComplex::empty(&client, len);
            let before = launches();
            fft.fft2(&xd, (&out, 0), [planes, h, w], Direction::Forward);
            counts.push(launches() - before);
        }
        println!(
            "{h}x{w}: launches per fft2 {counts:?} ({:?})",
            fft.path(h, w)
        );
        assert_eq!(counts[0], counts[1], "{h}x{w}");
        let expected = if fft.path(h, w) == Fft2Path::Plane {
            1
        } else {
            2
        };
        assert_eq!(counts[0], expected, "{h}x{w}");
    }
}

#[test]
fn more_planes_than_one_grid_dimension_holds() {
    let _serial = serial();
    let client = client();
    let (planes, h, w) = (70_000, 4, 3);
    let fft = DeviceFft::new(&client, [h, w]).unwrap();
    let len = planes * h * w;
    let x = signal(len, 9);
    let xd = SplitComplex::upload(&client, &x.0, &x.1);
    let out = SplitComplex::empty(&client, len);
    let path = fft.fft2(&xd, (&out, 0), [planes, h, w], Direction::Forward);
    assert_eq!(path, Fft2Path::Plane);
    let (re, im) = out.read(&client).unwrap();
    let want = reference(&x, [planes, h, w], &[1, 0], Direction::Forward);
    let e = rel_l2((&re, &im), &want);
    println!("{planes} planes of {h}x{w} (a grid of two rows of cubes): {e:.2e}");
    assert!(e <= TOL);
}

#[test]
fn a_line_beyond_workgroup_memory_is_refused_with_its_length() {
    let _serial = serial();
    let client = client();
    // 4096 (mixed radix) needs 64 KiB per line, 4099 (prime: a Bluestein convolution of 8200)
    // 128 KiB; every wgpu device has less.
    for n in [4096, 4099] {
        match DeviceFft::new(&client, [16, n]) {
            Err(DeviceError::LineTooLong { length, needed, .. }) => {
                assert_eq!(length, n);
                assert!(needed >= 16 * n);
            }
            other => panic!("length {n}: expected LineTooLong, got {other:?}"),
        }
    }
    let message = DeviceFft::new(&client, [4096]).unwrap_err().to_string();
    println!("{message}");
    assert!(message.contains("4096") && message.contains("workgroup memory"));
}

/// Set for the child process of [`a_missing_adapter_is_a_typed_error`].
const NO_DRIVER_CHILD: &str = "LEARNABLE_SCATTERING_NO_DRIVER_CHILD";

/// Run by [`a_missing_adapter_is_a_typed_error`] in a process that sees no graphics driver; does
/// nothing elsewhere.
#[test]
#[ignore = "run by a_missing_adapter_is_a_typed_error in a process without drivers"]
fn no_driver_child() {
    if std::env::var_os(NO_DRIVER_CHILD).is_none() {
        return;
    }
    match wgpu_client() {
        Err(e @ DeviceError::Unavailable { .. }) => println!("typed error: {e}"),
        Err(e) => panic!("expected DeviceError::Unavailable, got {e:?}"),
        Ok(client) => println!(
            "adapter found all the same: {}",
            client.properties().identity.name
        ),
    }
}

/// Without a driver (Vulkan's and EGL's loaders pointed at nothing), asking for the default
/// adapter is a [`DeviceError::Unavailable`] that says what was asked for, not the runtime's
/// panic. Where the machine still shows an adapter (a driver found some other way) the check
/// has nothing to see and says so.
#[test]
fn a_missing_adapter_is_a_typed_error() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_driver_child", "--ignored", "--nocapture"])
        .env(NO_DRIVER_CHILD, "1")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("typed error") || l.starts_with("adapter found"))
        .unwrap_or_else(|| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            panic!("the child test did not report: {stdout}\n{stderr}")
        });
    println!("{line}");
    assert!(out.status.success(), "{stdout}");
}

#[test]
#[ignore = "every length 1..=300 on the device: run before landing a change of the FFT"]
fn every_length_up_to_300() {
    let _serial = serial();
    let client = client();
    let fft = DeviceFft::new(&client, 1..=300).unwrap();
    let mut worst = (0.0, 0);
    for n in 1..=300 {
        let e = check_lines(&fft, n);
        if e > worst.0 {
            worst = (e, n);
        }
    }
    println!("worst relative L2 error {:.2e} at n = {}", worst.0, worst.1);
}
