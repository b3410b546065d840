//! The burn layer's outputs and gradients for each parametrisation, in f64, on a fixed input:
//! `tests/fixtures/rust_layer_parametrizations.json`, which the Python package's torch module
//! is checked against (`python/tests/test_parametrizations.py`; the Python package has no burn).
//!
//! This test recomputes every value and compares it with the committed file, so the fixture
//! cannot drift from the layer. To regenerate it after a deliberate change:
//!
//! ```sh
//! LS_WRITE_FIXTURES=1 cargo test --test rust_layer_fixture
//! ```
#![cfg(feature = "flex")]

use std::sync::OnceLock;

use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use learnable_scattering::filters::Parametrization;
use learnable_scattering::nn::{FilterInit, Scattering2d, Scattering2dConfig};
use serde_json::{Value, json};

mod support;
use support::numeric::{max_rel, to_vec};

const FIXTURE: &str = "rust_layer_parametrizations.json";
/// `J`, `L`, input `[batch, channels, height, width]` and the seed of the random initial bank.
const J: usize = 2;
const L: usize = 4;
const INPUT: [usize; 4] = [2, 1, 12, 16];
const SEED: u64 = 3;

/// flex with f64 as its default float type (configured once per process), with autodiff.
fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let mut device = Device::flex();
            device
                .configure(FloatDType::F64)
                .expect("flex computes in f64");
            device.autodiff()
        })
        .clone()
}

/// A deterministic, non-symmetric image batch (as `tests/gradients.rs`).
fn input_values() -> Vec<f64> {
    let n: usize = INPUT.iter().product();
    (0..n)
        .map(|i| ((i * 37 % 101) as f64 / 101.0 - 0.3).powi(2) + (i as f64 * 0.13).sin())
        .collect()
}

/// Weights `w` of the loss `Σ w·S`, one per output value.
fn weight_values(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 + ((i * 7919) % 97) as f64 / 97.0 - 0.6 * ((i % 5) as f64 / 4.0))
        .collect()
}

fn layer(parametrization: Parametrization, device: &Device) -> Scattering2d {
    Scattering2dConfig::new(J, [INPUT[2], INPUT[3]])
        .with_num_orientations(L)
        .with_parametrization(parametrization)
        .with_init(FilterInit::Random { seed: SEED })
        .init(device)
}

/// Everything the Python test compares, for one parametrisation.
fn case(parametrization: Parametrization) -> Value {
    let device = device();
    let layer = layer(parametrization, &device);
    let x = Tensor::<4>::from_data(TensorData::new(input_values(), INPUT), &device).require_grad();
    let s = layer.forward(x.clone());
    let shape = s.dims();
    let w = weight_values(shape.iter().product());
    let w = Tensor::<5>::from_data(TensorData::new(w, shape), &device);
    let loss = (s.clone() * w).sum();
    let grads = loss.clone().backward();
    let f = &layer.filters;
    let values = to_vec::<1>;
    let grad = |t: Tensor<1>| -> Value { t.grad(&grads).map_or(Value::Null, |g| json!(to_vec(g))) };
    let pixels = f.pixels.as_ref().map(|p| p.val());
    json!({
        "parametrization": parametrization.name(),
        "output_shape": shape,
        "output": to_vec(s),
        "loss": to_vec(loss)[0],
        "input_grad": to_vec(x.grad(&grads).expect("input gradient")),
        "trained": {
            "log_sigma": values(f.log_sigma.val()),
            "xi": values(f.xi.val()),
            "theta": values(f.theta.val()),
            "log_slant": values(f.log_slant.val()),
        },
        "trained_grad": {
            "log_sigma": grad(f.log_sigma.val()),
            "xi": grad(f.xi.val()),
            "theta": grad(f.theta.val()),
            "log_slant": grad(f.log_slant.val()),
        },
        "pixels_shape": pixels.as_ref().map(|p| p.dims().to_vec()),
        "pixels_grad": pixels
            .map(|p| p.grad(&grads).map(to_vec))
            .map_or(Value::Null, |g| json!(g)),
    })
}

fn fixture() -> Value {
    json!({
        "generated_by": "tests/rust_layer_fixture.rs (LS_WRITE_FIXTURES=1 cargo test --test rust_layer_fixture)",
        "J": J,
        "L": L,
        "input_shape": INPUT,
        "init": {"random_seed": SEED},
        "input": input_values(),
        "loss": "sum(weights * output), weights as in weight_values()",
        "weights": weight_values(
            INPUT[0] * INPUT[1] * (1 + J * L + L * L * J * (J - 1) / 2)
                * (INPUT[2] >> J) * (INPUT[3] >> J)
        ),
        "cases": Parametrization::ALL.map(case),
    })
}

/// Every number of `got` within `tol` (relative to the largest of its array) of `want`, and the
/// same structure otherwise.
fn compare(path: &str, got: &Value, want: &Value, tol: f64) {
    match (got, want) {
        (Value::Array(a), Value::Array(b)) if a.iter().all(Value::is_number) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            let a: Vec<f64> = a.iter().map(|v| v.as_f64().unwrap()).collect();
            let b: Vec<f64> = b.iter().map(|v| v.as_f64().unwrap()).collect();
            if a.iter().any(|v| *v != 0.0) || b.iter().any(|v| *v != 0.0) {
                let err = max_rel(&a, &b);
                assert!(err <= tol, "{path}: max relative difference {err:e}");
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), x, y, tol);
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys = |m: &serde_json::Map<String, Value>| {
                let mut k: Vec<String> = m.keys().cloned().collect();
                k.sort();
                k
            };
            assert_eq!(keys(a), keys(b), "{path}: keys");
            for (k, x) in a {
                compare(&format!("{path}.{k}"), x, &b[k], tol);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= tol * b.abs().max(1e-300),
                "{path}: {a} vs {b}"
            );
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

#[test]
fn the_committed_fixture_is_what_the_layer_computes() {
    let path = support::fixtures().join(FIXTURE);
    let got = fixture();
    if std::env::var_os("LS_WRITE_FIXTURES").is_some() {
        let text = serde_json::to_string(&got).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate it: see this file's docs)",
            path.display()
        )
    });
    let want: Value = serde_json::from_str(&text).unwrap();
    // The layer is bit-reproducible on one machine; the tolerance leaves room for another
    // platform's libm.
    compare("fixture", &got, &want, 1e-10);
}

/// The fixture exercises what it claims: each parametrisation's trained values have their own
/// length, every trained family (and the pixelwise filters) gets a gradient, and the three
/// outputs differ.
#[test]
fn the_fixture_covers_each_parametrization() {
    let f = fixture();
    let cases = f["cases"].as_array().unwrap();
    let len = |c: &Value, k: &str| c["trained"][k].as_array().unwrap().len();
    assert_eq!(len(&cases[0], "xi"), J * L);
    assert_eq!(len(&cases[1], "xi"), J);
    assert_eq!(len(&cases[2], "xi"), J * L);
    for family in ["log_sigma", "xi", "theta", "log_slant"] {
        assert!(
            cases[0]["trained_grad"][family].is_array(),
            "canonical {family}"
        );
        assert!(
            cases[1]["trained_grad"][family].is_array(),
            "equivariant {family}"
        );
        // Pixelwise trains the spectra; its Morlet values are frozen.
        assert!(
            cases[2]["trained_grad"][family].is_null(),
            "pixelwise {family}"
        );
    }
    assert!(cases[2]["pixels_grad"].is_array());
    let out = |c: &Value| -> Vec<f64> {
        c["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    assert!(max_rel(&out(&cases[0]), &out(&cases[1])) > 1e-3);
    // Pixelwise filters start from the canonical bank's spectra: the same output at the start.
    assert!(max_rel(&out(&cases[2]), &out(&cases[0])) < 1e-12);
}
