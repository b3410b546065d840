//! Errors of training: a run or a baseline that cannot start ([`TrainingError`]), reached from
//! [`ScatterError`](crate::ScatterError) through its `Training` variant.

/// Why a training run (`train::fit`) or a baseline (`train::baseline`) cannot run; each variant
/// says what was expected and what was given. `fit` checks everything before its first step, so
/// that no batch can fail half-way through a run; a baseline checks its data and settings first,
/// and reports its solver's failure as [`TrainingError::Solver`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainingError {
    /// A setting is outside its domain (a `TrainConfig` field, a normalisation channel, a
    /// cutout, a baseline's L2 strength, folds or grid).
    #[error("invalid training setting `{name}` = {given}: expected {expected}")]
    Setting {
        /// The setting, as in the API (`epochs`, `head_max_lr`, `normalization.std[2]`, ...).
        name: String,
        /// What it must satisfy.
        expected: &'static str,
        /// The value given, formatted.
        given: String,
    },
    /// The normalisation's means and standard deviations differ in number.
    #[error(
        "the normalisation has {means} means and {stds} standard deviations: expected one of each per channel"
    )]
    NormalizationLengths {
        /// Number of means.
        means: usize,
        /// Number of standard deviations.
        stds: usize,
    },
    /// A data set holds no image.
    #[error(
        "empty data set: {train} training and {test} test images, expected at least one of each"
    )]
    EmptyData {
        /// Training images.
        train: usize,
        /// Test images.
        test: usize,
    },
    /// The data sets have another channel count than the model.
    #[error(
        "the model expects {expected} channels, the data sets have {train} (train) and {test} (test)"
    )]
    Channels {
        /// The model's channels.
        expected: usize,
        /// The training set's.
        train: usize,
        /// The test set's.
        test: usize,
    },
    /// A data set has another number of labels than images.
    #[error("the {set} set has {images} images but {labels} labels")]
    LabelCount {
        /// `training` or `test`.
        set: &'static str,
        /// Images.
        images: usize,
        /// Labels.
        labels: usize,
    },
    /// A label is not one of the model's classes.
    #[error(
        "{set} sample {index} has label {label}, but the model has {classes} classes (labels 0..{classes})"
    )]
    LabelOutOfRange {
        /// `training` or `test` (images of `fit`), `training features` or `test features` (rows
        /// of a baseline).
        set: &'static str,
        /// The image (or feature row).
        index: usize,
        /// Its label.
        label: usize,
        /// The model's classes.
        classes: usize,
    },
    /// The normalisation is for another channel count than the images.
    #[error("the normalisation has {given} channels, the {set} images have {expected}")]
    NormalizationChannels {
        /// `training` or `test`.
        set: &'static str,
        /// The images' channels.
        expected: usize,
        /// The normalisation's.
        given: usize,
    },
    /// A crop of the augmentation does not fit the images.
    #[error("the {set} {crop} does not fit {height}x{width} images")]
    CropDoesNotFit {
        /// `training` or `test`.
        set: &'static str,
        /// The crop, in words (`centre crop 12`, `random crop 28 with padding 2`).
        crop: String,
        /// Image height at that point of the pipeline.
        height: usize,
        /// Image width.
        width: usize,
    },
    /// The augmentation does not bring the images to the model's input size.
    #[error(
        "the {set} images are {}x{}{}, the model expects {}x{}",
        given[0],
        given[1],
        cropped.map_or(String::new(), |[h, w]| format!(" ({h}x{w} after cropping)")),
        expected[0],
        expected[1]
    )]
    ImageSize {
        /// `training` or `test`.
        set: &'static str,
        /// The images' `[height, width]`.
        given: [usize; 2],
        /// Their size after the augmentation's crops, when it differs.
        cropped: Option<[usize; 2]>,
        /// The model's input size.
        expected: [usize; 2],
    },
    /// The model is on a device without autodiff.
    #[error(
        "the model must live on an autodiff device (`device.autodiff()`), it lives on {device}"
    )]
    NotAutodiff {
        /// The device, formatted.
        device: String,
    },
    /// More optimiser steps than a `usize` counts.
    #[error("{epochs} epochs of {batches} batches is more optimiser steps than a usize can count")]
    TooManySteps {
        /// Epochs.
        epochs: usize,
        /// Batches per epoch.
        batches: usize,
    },
    /// A baseline's features and labels do not match.
    #[error(
        "{rows} feature rows, {labels} labels, {classes} classes: expected one label per row, at \
         least one row and one class"
    )]
    Features {
        /// Feature rows.
        rows: usize,
        /// Labels.
        labels: usize,
        /// Classes.
        classes: usize,
    },
    /// A baseline feature is NaN or infinite.
    #[error("feature ({row}, {column}) is {value}, expected a finite value")]
    NonFiniteFeature {
        /// Row.
        row: usize,
        /// Column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// A class has fewer samples than cross-validation folds.
    #[error("class {class} has {samples} samples, fewer than the {folds} folds")]
    TooFewSamples {
        /// The class.
        class: usize,
        /// Its samples.
        samples: usize,
        /// The folds.
        folds: usize,
    },
    /// The L-BFGS solver failed.
    #[error("L-BFGS: {0}")]
    Solver(String),
}
