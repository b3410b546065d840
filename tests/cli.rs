//! The command line: the `scatter_npy` example, run as a NumPy user would run it, on `.npy` files
//! written here; what it writes, and what it refuses without writing anything.
//!
//! `cargo test` builds the examples before running the tests (`support::scatter_npy`).

use std::path::Path;
use std::process::Command;

use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::npy::{NpyArray, read_real_npy, write_real_npy};
use learnable_scattering::{FilterBankParams, ScatteringOptions};
use ndarray::{ArrayD, IxDyn};

mod support;
use support::scratch::{scratch, scratch as temp_dir};
use support::{lock, scatter_npy, scatter_npy as example};

fn run(args: &[&Path]) -> std::process::Output {
    Command::new(example()).args(args).output().unwrap()
}

#[test]
fn scatters_f64_with_leading_dimensions_and_writes_paths() {
    let (_tmp, dir) = temp_dir("f64");
    let input = dir.join("x64.npy");
    let x = ArrayD::from_shape_fn(IxDyn(&[2, 2, 3, 20, 24]), |i| {
        ((i[3] * i[4] + i[2]) as f64 * 0.3).sin()
    });
    write_real_npy(&input, &NpyArray::F64(x.clone())).unwrap();
    let (output, paths) = (dir.join("s64.npy"), dir.join("paths.json"));
    let out = Command::new(example())
        .arg(&input)
        .arg(&output)
        .args(["--j", "2", "--l", "6", "--max-order", "2", "--paths"])
        .arg(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let NpyArray::F64(s) = read_real_npy(&output).unwrap() else {
        panic!("dtype changed")
    };
    let plan = Scattering2dPlan::<f64>::new(20, 24, ScatteringOptions::new(2, 6).unwrap()).unwrap();
    assert_eq!(s, plan.transform_dyn(x.view()).unwrap());
    assert_eq!(s.shape(), &[2, 2, 3, 1 + 12 + 36, 5, 6]);
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&paths).unwrap()).unwrap();
    let table = table.as_array().unwrap();
    assert_eq!(table.len(), 49);
    assert_eq!(table[0]["order"], 0);
    assert_eq!(table[13]["order"], 2);
    assert_eq!(table[13]["j2"], 1);
    let theta = table[1]["theta1"].as_f64().unwrap();
    assert!((theta - std::f64::consts::PI / 3.0).abs() < 1e-12); // L = 6: θ_0 = (3 − 1)·π/6
}

#[test]
fn f32_order_one_with_an_explicit_filter_bank() {
    let (_tmp, dir) = temp_dir("bank");
    let input = dir.join("x.npy");
    let x = ArrayD::from_shape_fn(IxDyn(&[16, 16]), |i| (i[0] as f32 - i[1] as f32) * 0.1);
    write_real_npy(&input, &NpyArray::F32(x.clone())).unwrap();
    let bank = FilterBankParams::random(3, 4, 9).unwrap();
    let bank_path = dir.join("bank.json");
    std::fs::write(&bank_path, serde_json::to_string(&bank).unwrap()).unwrap();
    let output = dir.join("s.npy");
    let out = Command::new(example())
        .arg(&input)
        .arg(&output)
        .args(["--j", "3", "--l", "4", "--max-order", "1", "--filter-bank"])
        .arg(&bank_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let NpyArray::F32(s) = read_real_npy(&output).unwrap() else {
        panic!("dtype changed")
    };
    let options = ScatteringOptions::with_max_order(3, 4, 1).unwrap();
    let plan = Scattering2dPlan::<f32>::with_filter_bank(16, 16, options, bank).unwrap();
    assert_eq!(s, plan.transform_dyn(x.view()).unwrap());
    // A bank for other J / L is refused.
    let out = Command::new(example())
        .arg(&input)
        .arg(&output)
        .args(["--j", "2", "--l", "4", "--filter-bank"])
        .arg(&bank_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must match --j and --l"));
}

#[test]
fn bad_input_fails_with_a_message_naming_the_problem() {
    let (_tmp, dir) = temp_dir("bad");
    let input = dir.join("x.npy");
    write_real_npy(&input, &NpyArray::F32(ArrayD::zeros(IxDyn(&[8, 8])))).unwrap();
    let output = dir.join("s.npy");
    let cases: [(&[&str], &str); 3] = [
        (&["--j", "4"], "2^J = 16 exceeds input size 8x8"),
        (&["--j", "0"], "J must be at least 1"),
        (&["--j", "1", "--max-order", "3"], "max_order"),
    ];
    for (args, message) in cases {
        let out = Command::new(example())
            .arg(&input)
            .arg(&output)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = run(&[
        &dir.join("absent.npy"),
        &output,
        Path::new("--j"),
        Path::new("1"),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.npy"));
    // The paths file cannot be written: an I/O error naming it.
    let out = run(&[
        &input,
        &output,
        Path::new("--j"),
        Path::new("1"),
        Path::new("--paths"),
        &dir.join("nodir/p.json"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nodir/p.json"));
}

#[test]
fn scatter_npy_writes_nothing_when_the_paths_folder_is_missing() {
    let _g = lock();
    let (_tmp, dir) = scratch("cli-paths");
    let input = dir.join("x.npy");
    learnable_scattering::npy::write_real_npy(
        &input,
        &learnable_scattering::npy::NpyArray::F32(ArrayD::zeros(IxDyn(&[8, 8]))),
    )
    .unwrap();
    let output = dir.join("s.npy");
    let out = std::process::Command::new(scatter_npy())
        .arg(&input)
        .arg(&output)
        .args(["--j", "1", "--paths"])
        .arg(dir.join("nodir/p.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nodir/p.json"));
    assert!(!output.exists(), "the output was written anyway");
}
