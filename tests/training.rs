//! Training (`train::fit`): the loop lowers the loss and moves the filters on real data (the
//! committed Fashion-MNIST subset, `examples/data/fashion-mnist-small`), frozen filters stay
//! bit-identical, bad settings and data that do not fit the model are refused before the first
//! step, and the paper's presets. The optimiser against PyTorch and the heads are unit tests of
//! `train::optim`, `train::heads` and `train::model`; checkpoints and resume are in `checkpoint.rs`.
#![cfg(feature = "flex")]

use burn::tensor::Device;
use learnable_scattering::ScatterError;
use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::augment::{Augmentation, RandomCrop};
use learnable_scattering::nn::{FilterInit, Scattering2dConfig, Trainable};
use learnable_scattering::train::TrainingError;
use learnable_scattering::train::{FitOptions, Hybrid, HybridConfig, TrainConfig, fit};

mod support;
use support::models::fashion::{params, tiny_config, tiny_data, tiny_model};

/// The filter bank's spectra, flattened.
fn spectra(model: &Hybrid) -> Vec<f32> {
    let spectra = model.scattering.filters.spectra().into_data();
    spectra.convert::<f32>().try_into_vec().unwrap()
}

// ------------------------------------------------------------------ training on real data

#[test]
fn training_lowers_the_loss_and_moves_the_filters() {
    let (train, test) = tiny_data();
    let model = tiny_model(Trainable::all(), FilterInit::TightFrame);
    let before = params(&model);
    let mut config = tiny_config();
    config.epochs = 6;
    let (trained, report) = fit(model, &train, &test, &config, &FitOptions::default()).unwrap();
    let losses: Vec<f64> = report.history.iter().map(|s| s.train_loss).collect();
    assert!(
        losses[5] < 0.7 * losses[0],
        "training loss did not drop: {losses:?}"
    );
    let after = params(&trained);
    for (name, (b, a)) in ["log_sigma", "xi", "theta", "log_slant"]
        .iter()
        .zip(before.iter().zip(&after))
    {
        let moved = b
            .iter()
            .zip(a)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 1e-5, "{name} did not move (max change {moved})");
    }
    let acc = report.final_test_accuracy;
    assert!((0.0..=1.0).contains(&acc));
    // The trajectory holds the initial bank and one bank per epoch, the last one the model's.
    assert_eq!(report.trajectory.points.len(), 7);
    assert_eq!(
        report.trajectory.points.last().unwrap().bank,
        trained.scattering.filters.to_params().unwrap()
    );
}

#[test]
fn frozen_filters_stay_bit_identical_with_and_without_augmentation() {
    let (train, test) = tiny_data();
    for augmented in [false, true] {
        let model = tiny_model(Trainable::none(), FilterInit::Random { seed: 5 });
        let before = params(&model);
        let spectra_before = spectra(&model);
        let mut config = tiny_config();
        config.epochs = 2;
        if augmented {
            config.augmentation = Augmentation {
                random_crop: Some(RandomCrop {
                    size: 28,
                    padding: 2,
                }),
                horizontal_flip: true,
                cutout: Some(6),
                ..Augmentation::default()
            };
        }
        let (trained, report) = fit(model, &train, &test, &config, &FitOptions::default()).unwrap();
        assert_eq!(params(&trained), before, "augmented: {augmented}");
        let spectra_after = spectra(&trained);
        assert_eq!(spectra_after, spectra_before);
        assert!(report.history.len() == 2 && report.final_test_accuracy.is_finite());
    }
}

// ------------------------------------------------------------------ settings and data refused before the first step

#[test]
fn fit_rejects_bad_settings_with_typed_errors() {
    let (train, test) = tiny_data();
    let mut config = tiny_config();
    config.epochs = 0;
    let err = fit(
        tiny_model(Trainable::all(), FilterInit::TightFrame),
        &train,
        &test,
        &config,
        &FitOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ScatterError::Training(_)), "{err}");
    assert!(
        matches!(&err, ScatterError::Training(TrainingError::Setting { name, given, .. })
            if name == "epochs" && given == "0"),
        "{err:?}"
    );
    // A model on a device without autodiff cannot train.
    let device = Device::flex();
    let model = HybridConfig::new(
        Scattering2dConfig::new(2, [28, 28]).with_num_orientations(4),
        1,
        10,
    )
    .init(&device);
    let err = fit(model, &train, &test, &tiny_config(), &FitOptions::default()).unwrap_err();
    assert!(err.to_string().contains("autodiff"), "{err}");
    assert!(
        matches!(
            err,
            ScatterError::Training(TrainingError::NotAutodiff { .. })
        ),
        "{err:?}"
    );
    // RGB data for a grey model.
    let rgb = ImageDataset::new(
        ndarray::Array4::zeros((2, 3, 28, 28)),
        vec![0, 1],
        (0..10).map(|c| c.to_string()).collect(),
    )
    .unwrap();
    let err = fit(
        tiny_model(Trainable::all(), FilterInit::TightFrame),
        &rgb,
        &test,
        &tiny_config(),
        &FitOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("channels"), "{err}");
    assert!(
        matches!(
            err,
            ScatterError::Training(TrainingError::Channels {
                expected: 1,
                train: 3,
                test: 1
            })
        ),
        "{err:?}"
    );
}

/// Rates and normalisations that would train to NaN are refused before the first step.
#[test]
fn fit_rejects_non_finite_rates_and_zero_std() {
    let (train, test) = tiny_data();
    type Change = fn(&mut TrainConfig);
    // (label, the setting the error must name, the change)
    let cases: [(&str, &str, Change); 7] = [
        ("filter_lr = inf", "filter_lr", |c| {
            c.filter_lr = f64::INFINITY
        }),
        ("filter_lr = 0", "filter_lr", |c| c.filter_lr = 0.0),
        ("head_max_lr = NaN", "head_max_lr", |c| {
            c.head_max_lr = f64::NAN
        }),
        ("head_max_lr < 0", "head_max_lr", |c| c.head_max_lr = -0.1),
        ("weight_decay = inf", "weight_decay", |c| {
            c.weight_decay = f64::INFINITY
        }),
        ("std = 0", "normalization.std[0]", |c| {
            c.normalization.std = vec![0.0]
        }),
        ("mean = NaN", "normalization.mean[0]", |c| {
            c.normalization.mean = vec![f32::NAN]
        }),
    ];
    for (label, setting, change) in cases {
        let mut config = tiny_config();
        change(&mut config);
        let err = fit(
            tiny_model(Trainable::all(), FilterInit::TightFrame),
            &train,
            &test,
            &config,
            &FitOptions::default(),
        )
        .unwrap_err();
        println!("{label}: {err}");
        assert!(matches!(err, ScatterError::Training(_)), "{label}: {err}");
        assert!(
            matches!(&err, ScatterError::Training(TrainingError::Setting { name, .. })
                if name == setting),
            "{label}: {err:?}"
        );
    }
}

/// On 8x8 images made here (`support::models::synthetic`).
mod synthetic_data {
    use super::*;
    use support::lock;
    use support::models::synthetic::{tiny_config, tiny_data, tiny_model};

    #[test]
    fn fit_rejects_data_that_does_not_fit_the_model_before_the_first_step() {
        let _g = lock();
        let eight = tiny_data(8);
        let model = || tiny_model(Trainable::all());
        let config = tiny_config(1);
        let none = FitOptions::default();
        let invalid = |e: ScatterError, needle: &str| {
            assert!(matches!(e, ScatterError::Training(_)), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        };
        // 16x16 data into an 8x8 model.
        let sixteen = tiny_data(16);
        invalid(
            fit(model(), &sixteen, &eight, &config, &none).unwrap_err(),
            "16x16, the model expects 8x8",
        );
        invalid(
            fit(model(), &eight, &sixteen, &config, &none).unwrap_err(),
            "test images are 16x16",
        );
        // Labels beyond the model's 2 classes (the data set itself has 5).
        let five = ImageDataset::new(
            eight.images.clone(),
            vec![0, 1, 4, 1, 0, 1, 0, 1],
            (0..5).map(|c| c.to_string()).collect(),
        )
        .unwrap();
        invalid(
            fit(model(), &five, &eight, &config, &none).unwrap_err(),
            "label 4, but the model has 2 classes",
        );
        // A 3-channel normalisation on grey data.
        let mut rgb_norm = config.clone();
        rgb_norm.normalization = learnable_scattering::data::augment::Normalization::cifar10();
        invalid(
            fit(model(), &eight, &eight, &rgb_norm, &none).unwrap_err(),
            "normalisation has 3 channels",
        );
        // Crops that do not fit, and a crop that brings 16x16 data to the model's 8x8: accepted.
        let mut crop = config.clone();
        crop.test_augmentation.center_crop = Some(12);
        invalid(
            fit(model(), &eight, &eight, &crop, &none).unwrap_err(),
            "centre crop 12 does not fit 8x8",
        );
        let mut fits = config.clone();
        fits.augmentation.center_crop = Some(8);
        fits.test_augmentation.center_crop = Some(8);
        fit(model(), &sixteen, &sixteen, &fits, &none).unwrap();
        // More optimiser steps than a usize counts.
        let mut endless = config.clone();
        endless.epochs = usize::MAX;
        invalid(
            fit(model(), &eight, &eight, &endless, &none).unwrap_err(),
            "more optimiser steps",
        );
    }
}

// ------------------------------------------------------------------ presets

/// Heads are named by an enum (a misspelt name is an error, not the linear settings), and the
/// paper's presets come from its table.
#[test]
fn head_kinds_and_paper_presets() {
    use learnable_scattering::experiment::HeadKind;
    assert_eq!("wrn".parse::<HeadKind>().unwrap(), HeadKind::Wrn);
    let e = "wrm".parse::<HeadKind>().unwrap_err();
    assert!(e.to_string().contains("expected linear, wrn or mlp"), "{e}");
    assert_eq!(
        serde_json::to_string(&HeadKind::Linear).unwrap(),
        "\"linear\""
    );
    for (head, size, epochs, batch, lr) in [
        (HeadKind::Linear, 100, 5000, 128, 0.06),
        (HeadKind::Linear, 500, 1000, 500, 0.13),
        (HeadKind::Linear, 1000, 500, 1000, 0.2),
        (HeadKind::Linear, 50000, 500, 1024, 0.2),
        (HeadKind::Wrn, 100, 3000, 128, 0.1),
        (HeadKind::Wrn, 1000, 1000, 128, 0.1),
    ] {
        let c = TrainConfig::paper_cifar10(head, size);
        assert_eq!(
            (c.epochs, c.batch_size, c.head_max_lr, c.filter_lr),
            (epochs, batch, lr, 0.1),
            "{head} {size}"
        );
    }
    assert_eq!(TrainConfig::paper_kth(HeadKind::Wrn).epochs, 50);
}
