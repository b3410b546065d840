//! The fixed transform's errors (`ScatteringOptions`, `FilterBankParams`, `Scattering2dPlan`): every
//! variant is produced by bad input, with a message that says what was wrong; absurd sizes are
//! refused with a typed error and bounded memory (issue 12). Inputs are made here; the readers'
//! errors are in the readers' files (`npy.rs`, `idx.rs`, ...).
//!
//! Memory is bounded by the counting allocator of `support/capped_alloc.rs`, installed below;
//! every test takes `lock()` so that no other test allocates under a cap.

use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::geometry::{MAX_ORIENTATIONS, PaddedGeometry};
use learnable_scattering::{FilterBankParams, MorletParams, ScatterError, ScatteringOptions};
use ndarray::{Array4, ArrayD, IxDyn};

mod support;
use support::capped_alloc::{MB, with_memory_cap};
use support::lock;

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;

fn plan(h: usize, w: usize) -> Scattering2dPlan<f32> {
    Scattering2dPlan::new(h, w, ScatteringOptions::new(2, 8).unwrap()).unwrap()
}

#[test]
fn zero_scales_and_zero_orientations() {
    let _g = lock();
    let e = ScatteringOptions::new(0, 8).unwrap_err();
    assert!(matches!(
        e,
        ScatterError::InvalidParameter {
            name: "num_scales",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "invalid parameter `num_scales` = 0: J must be at least 1"
    );
    let e = ScatteringOptions::new(2, 0).unwrap_err();
    assert!(matches!(
        e,
        ScatterError::InvalidParameter {
            name: "num_orientations",
            ..
        }
    ));
    let e = ScatteringOptions::with_max_order(2, 8, 0).unwrap_err();
    assert!(matches!(
        e,
        ScatterError::InvalidParameter {
            name: "max_order",
            ..
        }
    ));
    assert!(FilterBankParams::tight_frame(0, 8).is_err());
    assert!(FilterBankParams::random(2, 0, 1).is_err());
    // Options cannot be built literally (private fields), and deserialised ones are validated
    // (that the plan refuses unchecked options is a unit test of `fast`).
    let e = serde_json::from_str::<ScatteringOptions>(
        r#"{"num_scales":0,"num_orientations":8,"max_order":2}"#,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid parameter `num_scales` = 0: J must be at least 1"),
        "{e}"
    );
}

#[test]
fn scale_larger_than_the_image() {
    let _g = lock();
    let e =
        Scattering2dPlan::<f32>::new(32, 30, ScatteringOptions::new(5, 8).unwrap()).unwrap_err();
    assert!(matches!(
        e,
        ScatterError::ScaleTooLarge {
            j: 5,
            height: 32,
            width: 30
        }
    ));
    assert_eq!(e.to_string(), "2^J = 32 exceeds input size 32x30");
    // 2^J == size is allowed, as in kymatio.
    assert!(Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(5, 8).unwrap()).is_ok());
}

#[test]
fn wrong_rank() {
    let _g = lock();
    let x = ArrayD::<f32>::zeros(IxDyn(&[32]));
    let e = plan(32, 32).transform_dyn(x.view()).unwrap_err();
    assert!(matches!(e, ScatterError::InvalidRank { got: 1, .. }));
    assert_eq!(e.to_string(), "input has 1 dimensions, expected at least 2");
}

#[test]
fn wrong_size() {
    let _g = lock();
    let x = Array4::<f32>::zeros((1, 1, 31, 32));
    let e = plan(32, 32).transform(x.view()).unwrap_err();
    match &e {
        ScatterError::InvalidShape { expected, got } => {
            assert_eq!(&expected[2..], &[Some(32), Some(32)]);
            assert_eq!(got, &vec![1, 1, 31, 32]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn empty_batch() {
    let _g = lock();
    for shape in [[0, 3, 32, 32], [2, 0, 32, 32]] {
        let x = Array4::<f32>::zeros(shape);
        let e = plan(32, 32).transform(x.view()).unwrap_err();
        assert!(matches!(e, ScatterError::EmptyBatch { .. }), "{e}");
    }
}

#[test]
fn nan_and_infinite_values_report_the_first_position() {
    let _g = lock();
    let mut x = Array4::<f32>::zeros((2, 3, 32, 32));
    x[[1, 2, 5, 7]] = f32::NAN;
    x[[1, 2, 6, 0]] = f32::INFINITY;
    let e = plan(32, 32).transform(x.view()).unwrap_err();
    match &e {
        ScatterError::NonFiniteInput { index, value } => {
            assert_eq!(index, &vec![1, 2, 5, 7]);
            assert!(value.is_nan());
        }
        other => panic!("unexpected {other:?}"),
    }
    x[[1, 2, 5, 7]] = 0.0;
    let e = plan(32, 32).transform(x.view()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "non-finite input value inf at index [1, 2, 6, 0]"
    );
    // Also for a non-contiguous view: the index refers to the view.
    let mut y = Array4::<f64>::zeros((32, 32, 1, 1));
    y[[3, 9, 0, 0]] = f64::NEG_INFINITY;
    let p64 = Scattering2dPlan::<f64>::new(32, 32, ScatteringOptions::new(2, 8).unwrap()).unwrap();
    let view = y.view().permuted_axes([2, 3, 0, 1]);
    let e = p64.transform(view).unwrap_err();
    assert!(
        matches!(e, ScatterError::NonFiniteInput { ref index, .. } if index == &vec![0, 0, 3, 9])
    );
}

#[test]
fn explicit_filter_banks() {
    let _g = lock();
    let tf = FilterBankParams::tight_frame(2, 8).unwrap();
    let e = FilterBankParams::from_wavelets(2, 8, tf.wavelets()[..15].to_vec()).unwrap_err();
    assert!(matches!(
        e,
        ScatterError::FilterCount {
            expected: 16,
            got: 15
        }
    ));
    let mut w = tf.wavelets().to_vec();
    w[4] = MorletParams { slant: 0.0, ..w[4] };
    let e = FilterBankParams::from_wavelets(2, 8, w).unwrap_err();
    assert_eq!(
        e.to_string(),
        "wavelet 4: invalid `slant` = 0 (must be positive)"
    );
    // A bank deserialised from bad JSON is caught by the plan.
    let mut json: serde_json::Value = serde_json::to_value(&tf).unwrap();
    json["wavelets"][0]["sigma"] = serde_json::json!(-2.0);
    let bad: FilterBankParams = serde_json::from_value(json).unwrap();
    assert!(matches!(
        Scattering2dPlan::<f32>::with_filter_bank(
            32,
            32,
            ScatteringOptions::new(2, 8).unwrap(),
            bad
        ),
        Err(ScatterError::InvalidWavelet {
            index: 0,
            name: "sigma",
            ..
        })
    ));
}

/// A plan's options and its explicit bank must agree on `J` and `L`; the error says both.
#[test]
fn bank_and_options_of_other_sizes() {
    let _g = lock();
    let bank = FilterBankParams::tight_frame(3, 8).unwrap();
    let e = Scattering2dPlan::<f32>::with_filter_bank(
        32,
        32,
        ScatteringOptions::new(2, 8).unwrap(),
        bank.clone(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::InvalidParameter {
                name: "filter_bank",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "invalid parameter `filter_bank` = J = 3, L = 8 (the options expect J = 2, L = 8): \
         the bank's J and L must equal the options'"
    );
    // Same number of wavelets, other shape: refused too.
    let swapped = FilterBankParams::tight_frame(4, 2).unwrap();
    assert!(
        Scattering2dPlan::<f32>::with_filter_bank(
            32,
            32,
            ScatteringOptions::new(2, 4).unwrap(),
            swapped
        )
        .is_err()
    );
    // Matching options: the same plan as before.
    let options = ScatteringOptions::with_max_order(3, 8, 1).unwrap();
    let plan = Scattering2dPlan::<f32>::with_filter_bank(32, 32, options, bank).unwrap();
    assert_eq!(plan.options(), &options);
}

/// Values that pass the sign checks but have no usable spectrum are refused, naming the wavelet.
#[test]
fn wavelets_without_a_usable_spectrum() {
    let _g = lock();
    let tf = FilterBankParams::tight_frame(2, 4).unwrap();
    for (index, change, name) in [
        (
            1,
            MorletParams {
                sigma: 1e200,
                ..tf.wavelets()[1]
            },
            "sigma",
        ),
        (
            2,
            MorletParams {
                slant: 1e-300,
                ..tf.wavelets()[2]
            },
            "slant",
        ),
        (
            3,
            MorletParams {
                sigma: 1e-4,
                ..tf.wavelets()[3]
            },
            "sigma",
        ),
        (
            5,
            MorletParams {
                xi: 1e6,
                ..tf.wavelets()[5]
            },
            "xi",
        ),
    ] {
        let mut w = tf.wavelets().to_vec();
        w[index] = change;
        let e = FilterBankParams::from_wavelets(2, 4, w).unwrap_err();
        println!("{e}");
        assert!(
            matches!(e, ScatterError::InvalidWavelet { index: i, name: n, .. } if i == index && n == name),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("wavelet {index}: invalid `{name}`")),
            "{e}"
        );
    }
}

/// No finite input overflows the fixed transform: planes beyond 2^40 (f32) are scaled by a power of
/// two inside the cascade. Non-finite values are refused with their position.
#[test]
fn huge_finite_inputs_give_finite_coefficients() {
    let _g = lock();
    let p = plan(32, 32);
    let base = Array4::from_shape_fn((1, 2, 32, 32), |(_, c, i, j)| {
        ((i * 3 + j * 5 + c) % 7) as f32 - 3.0
    });
    let s = p.transform(base.view()).unwrap();
    for scale in [1e20f32, 1e30, 3e37] {
        let big = base.mapv(|v| v * scale);
        let out = p.transform(big.view()).unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "scale {scale:e}");
        let rel = out
            .iter()
            .zip(s.iter())
            .map(|(a, b)| (a / scale - b).abs())
            .fold(0.0f32, f32::max)
            / s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(rel < 1e-5, "scale {scale:e}: {rel:e}");
    }
    let p64 = Scattering2dPlan::<f64>::new(32, 32, ScatteringOptions::new(2, 8).unwrap()).unwrap();
    let big = base.mapv(|v| f64::from(v) * 1e300);
    assert!(
        p64.transform(big.view())
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
}

// ------------------------------------------------------------------ absurd sizes (issue 12)

#[test]
fn plans_and_geometries_refuse_absurd_sizes_with_a_typed_error() {
    let _g = lock();
    let options = ScatteringOptions::new(2, 8).unwrap();
    let (result, peak) = with_memory_cap(16 * MB, || {
        Scattering2dPlan::<f32>::new(100_000, 100_000, options)
    });
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::InputTooLarge {
                height: 100_000,
                width: 100_000,
                ..
            }
        ),
        "{e}"
    );
    println!("peak {peak} bytes");
    assert!(peak < MB, "peak {peak}");
    // Within the plane limit, but a plan of about 70 GB.
    let (result, _) = with_memory_cap(16 * MB, || {
        Scattering2dPlan::<f32>::new(12_000, 12_000, options)
    });
    let e = result.unwrap_err();
    assert!(
        matches!(e, ScatterError::PlanTooLarge { height: 12_000, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("12000x12000"), "{e}");
    // L = 10^6: refused by the options, built or deserialised (the fields are private, so no
    // unchecked options reach a plan; that a plan refuses them anyway, and that the path count
    // saturates instead of wrapping, are unit tests of `fast` and `geometry`).
    assert!(matches!(
        ScatteringOptions::new(2, 1_000_000),
        Err(ScatterError::InvalidParameter {
            name: "num_orientations",
            ..
        })
    ));
    let (result, _) = with_memory_cap(16 * MB, || {
        serde_json::from_str::<ScatteringOptions>(
            r#"{"num_scales":2,"num_orientations":1000000,"max_order":2}"#,
        )
    });
    assert!(result.is_err());
    assert!(ScatteringOptions::new(2, MAX_ORIENTATIONS).is_ok());
    assert!(ScatteringOptions::new(2, 1 << 32).is_err());
    // Geometry: no overflow, no Ok for sizes no buffer can hold.
    for (h, w) in [
        (usize::MAX, usize::MAX),
        (usize::MAX, 32),
        (1 << 40, 1 << 40),
    ] {
        let e = PaddedGeometry::new(h, w, 2).unwrap_err();
        assert!(matches!(e, ScatterError::InputTooLarge { .. }), "{e}");
    }
}

#[test]
fn invalid_shape_shows_free_axes_as_underscores() {
    let _g = lock();
    let plan = Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(2, 4).unwrap()).unwrap();
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3, 16, 16]));
    let e = plan.transform_dyn(x.view()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input shape mismatch: expected [_, _, 32, 32], got [2, 3, 16, 16]"
    );
}
