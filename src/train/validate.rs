//! What [`fit`](super::fit) checks before the first step: the configuration, and data sets
//! that fit the model (channels, labels, normalisation, crops, sizes), so that no batch can
//! panic half-way through a run.

use super::config::TrainConfig;
use super::model::Hybrid;
use crate::data::ImageDataset;
use crate::data::augment::Augmentation;
use crate::error::Result;
use crate::train::TrainingError;

/// Checks everything that can be checked before the first step: the configuration, data sets
/// that are not empty and fit the model ([`check_data`]), an autodiff device, and a step
/// count that a `usize` holds. Returns the number of mini-batches per epoch.
///
/// # Errors
/// [`TrainingError`], naming what does not fit.
pub(super) fn validate(
    model: &Hybrid,
    train: &ImageDataset,
    test: &ImageDataset,
    config: &TrainConfig,
) -> Result<usize> {
    config.check()?;
    if train.is_empty() || test.is_empty() {
        return Err(TrainingError::EmptyData {
            train: train.len(),
            test: test.len(),
        }
        .into());
    }
    if train.channels() != model.in_channels() || test.channels() != model.in_channels() {
        return Err(TrainingError::Channels {
            expected: model.in_channels(),
            train: train.channels(),
            test: test.channels(),
        }
        .into());
    }
    check_data(model, train, "training", &config.augmentation, config)?;
    check_data(model, test, "test", &config.test_augmentation, config)?;
    let device = model.scattering.filters.xi.val().device();
    if !device.is_autodiff() {
        return Err(TrainingError::NotAutodiff {
            device: format!("{device:?}"),
        }
        .into());
    }
    let batches = train.len().div_ceil(config.batch_size);
    config
        .epochs
        .checked_mul(batches)
        .ok_or(TrainingError::TooManySteps {
            epochs: config.epochs,
            batches,
        })?;
    Ok(batches)
}

/// Checks that `ds` fits `model` under `aug` and the configuration's normalisation, so that
/// no batch of it can panic: labels within the model's classes and one per image, a
/// normalisation per channel, crops that fit the images, and images that `aug` brings to the
/// model's input size.
fn check_data(
    model: &Hybrid,
    ds: &ImageDataset,
    set: &'static str,
    aug: &Augmentation,
    config: &TrainConfig,
) -> Result<()> {
    let (c, h, w) = (ds.channels(), ds.height(), ds.width());
    if ds.labels.len() != ds.images.shape()[0] {
        return Err(TrainingError::LabelCount {
            set,
            images: ds.images.shape()[0],
            labels: ds.labels.len(),
        }
        .into());
    }
    let classes = model.num_classes();
    if let Some((index, &label)) = ds.labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(TrainingError::LabelOutOfRange {
            set,
            index,
            label,
            classes,
        }
        .into());
    }
    if config.normalization.mean.len() != c {
        return Err(TrainingError::NormalizationChannels {
            set,
            expected: c,
            given: config.normalization.mean.len(),
        }
        .into());
    }
    let crop_error = |crop: String, height, width| TrainingError::CropDoesNotFit {
        set,
        crop,
        height,
        width,
    };
    let (mut ch, mut cw) = (h, w);
    if let Some(s) = aug.center_crop {
        if s == 0 || s > h || s > w {
            return Err(crop_error(format!("centre crop {s}"), h, w).into());
        }
        (ch, cw) = (s, s);
    }
    if let Some(rc) = aug.random_crop {
        let fits = |side: usize| side.checked_add(rc.padding.saturating_mul(2));
        if rc.size == 0
            || fits(ch).is_none_or(|s| rc.size > s)
            || fits(cw).is_none_or(|s| rc.size > s)
        {
            let crop = format!("random crop {} with padding {}", rc.size, rc.padding);
            return Err(crop_error(crop, ch, cw).into());
        }
    }
    if aug.cutout == Some(0) {
        return Err(TrainingError::Setting {
            name: format!("{set} cutout"),
            expected: "a positive size",
            given: "0".into(),
        }
        .into());
    }
    let (oh, ow) = aug.output_size(h, w);
    let expected = model.input_size();
    if [oh, ow] != expected {
        return Err(TrainingError::ImageSize {
            set,
            given: [h, w],
            cropped: ((oh, ow) != (h, w)).then_some([oh, ow]),
            expected,
        }
        .into());
    }
    Ok(())
}
