//! The training loop: mini-batch SGD under a one-cycle schedule, evaluation, checkpoints, resume.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

use super::checkpoint::CheckpointDir;
use super::config::{FitOptions, TrainConfig};
use super::model::Hybrid;
use super::optim::{OneCycle, ParamGroupOptimizer};
use super::report::{EpochStats, TrainReport};
use crate::data::ImageDataset;
use crate::data::augment::{Augmentation, Normalization, make_batch};
use crate::error::{Result, ScatterError};
use crate::filters::diagnostics::ALIASING_WARNING;
use crate::filters::trajectory::{FilterTrajectory, TrajectoryPoint};

/// Cached scattering features of a data set (for frozen filters without augmentation, where the
/// scattering of an image never changes during training).
struct FeatureCache {
    values: Vec<f32>,
    shape: [usize; 3],
}

impl FeatureCache {
    fn build(model: &Hybrid, ds: &ImageDataset, config: &TrainConfig, aug: &Augmentation) -> Self {
        let inference = model.valid();
        let device = inference.scattering.filters.xi.val().device();
        let mut values = Vec::new();
        let mut shape = [0; 3];
        let mut rng = ChaCha8Rng::seed_from_u64(0); // unused: `aug` is deterministic here
        let indices: Vec<usize> = (0..ds.len()).collect();
        for chunk in indices.chunks(config.eval_batch_size) {
            let images = batch_tensor(ds, chunk, aug, &config.normalization, &mut rng, &device);
            let f = inference.features(images);
            let [_, c, h, w] = f.dims();
            shape = [c, h, w];
            values.extend(
                f.into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .expect("f32"),
            );
        }
        Self { values, shape }
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        let per = self.shape.iter().product::<usize>();
        let mut data = Vec::with_capacity(per * indices.len());
        for &i in indices {
            data.extend_from_slice(&self.values[i * per..(i + 1) * per]);
        }
        let [c, h, w] = self.shape;
        Tensor::from_data(TensorData::new(data, [indices.len(), c, h, w]), device)
    }
}

fn batch_tensor(
    ds: &ImageDataset,
    indices: &[usize],
    aug: &Augmentation,
    norm: &Normalization,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Tensor<4> {
    let (data, shape) = make_batch(ds, indices, aug, norm, rng);
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn labels_tensor(ds: &ImageDataset, indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let labels: Vec<i64> = indices.iter().map(|&i| ds.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(labels, [indices.len()]), device)
}

/// Seed of epoch `epoch`'s shuffle and augmentation: a pure function of the run seed and the
/// epoch, so that a resumed run draws exactly what an uninterrupted one draws.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

fn is_identity(aug: &Augmentation) -> bool {
    aug.random_crop.is_none() && !aug.horizontal_flip && aug.cutout.is_none()
}

/// Mean cross-entropy and accuracy of `model` on `ds` (inference mode: running batch-norm
/// statistics, no autodiff).
pub fn evaluate(
    model: &Hybrid,
    ds: &ImageDataset,
    aug: &Augmentation,
    norm: &Normalization,
    batch_size: usize,
) -> (f64, f64) {
    let inference = model.valid();
    let device = inference.scattering.filters.xi.val().device();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    mean_loss_and_accuracy(ds, batch_size, &device, |chunk| {
        inference.forward(batch_tensor(ds, chunk, aug, norm, &mut rng, &device))
    })
}

/// As [`evaluate`], with the scattering features of `ds` taken from `cache`.
fn evaluate_cached(
    model: &Hybrid,
    cache: &FeatureCache,
    ds: &ImageDataset,
    batch_size: usize,
) -> (f64, f64) {
    let inference = model.valid();
    let device = inference.scattering.filters.xi.val().device();
    let head = inference.head;
    mean_loss_and_accuracy(ds, batch_size, &device, |chunk| {
        head.forward(cache.batch(chunk, &device))
    })
}

/// Mean cross-entropy and accuracy over `ds` in batches of `batch_size`, `logits` giving the
/// logits of the images at the given indices.
fn mean_loss_and_accuracy(
    ds: &ImageDataset,
    batch_size: usize,
    device: &Device,
    mut logits: impl FnMut(&[usize]) -> Tensor<2>,
) -> (f64, f64) {
    let indices: Vec<usize> = (0..ds.len()).collect();
    let (mut loss, mut correct) = (0.0, 0usize);
    for chunk in indices.chunks(batch_size.max(1)) {
        let (l, c) = loss_and_correct(logits(chunk), labels_tensor(ds, chunk, device));
        loss += l.into_scalar::<f64>() * chunk.len() as f64;
        correct += c;
    }
    let n = ds.len().max(1) as f64;
    (loss / n, correct as f64 / n)
}

/// Mean cross-entropy (a scalar tensor, differentiable) and the number of correct predictions.
fn loss_and_correct(logits: Tensor<2>, targets: Tensor<1, Int>) -> (Tensor<1>, usize) {
    let device = logits.device();
    let [b, _] = logits.dims();
    let correct = logits
        .clone()
        .argmax(1)
        .reshape([b])
        .equal(targets.clone())
        .int()
        .sum()
        .into_scalar::<i64>() as usize;
    let loss = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(logits, targets);
    (loss, correct)
}

/// Trains `model` on `train` and evaluates on `test` with the protocol of the paper: SGD with
/// momentum, weight decay on the head only, a one-cycle schedule per group stepped per batch,
/// cross-entropy, final-epoch test accuracy.
///
/// `model` must live on an autodiff device (`device.autodiff()`); its filter families train or
/// stay frozen as its configuration says (frozen ones stay bit-identical). With frozen filters and
/// no training augmentation the scattering features are computed once and cached (same numbers,
/// much less work).
///
/// With `options.checkpoint_dir`, a checkpoint is written every `config.checkpoint_every` epochs
/// and after the last; with `options.resume`, training continues from the checkpoint found there
/// (which must have been written with the same `config`; `model` must be built from the same
/// model configuration). A resumed run gives the same result as an uninterrupted one on CPU: the
/// batch order and augmentation of epoch `e` depend only on `(config.seed, e)`.
///
/// Pass a model of its own: burn shares batch-norm running statistics between clones of a module,
/// so training a clone also moves the statistics of the original. Build a fresh model (or load
/// one from a record) for each run.
///
/// # Errors
/// [`ScatterError::InvalidTraining`], before the first step, for an invalid configuration, empty
/// data sets, or data that does not fit the model: another channel count, an image size that the
/// augmentation does not bring to the model's input size (or a crop that does not fit the
/// images), a label outside the model's classes, a normalisation for another channel count.
/// For checkpoints (see [`checkpoint`](super::checkpoint)): [`CheckpointError::Path`](crate::error::CheckpointError::Path) and
/// [`CheckpointError::ForeignEntry`](crate::error::CheckpointError::ForeignEntry) for a directory the crate may not write into (checked
/// before training); [`CheckpointError::Invalid`](crate::error::CheckpointError::Invalid), [`CheckpointError::Checksum`](crate::error::CheckpointError::Checksum),
/// [`CheckpointError::Model`](crate::error::CheckpointError::Model) and [`CheckpointError::Epochs`](crate::error::CheckpointError::Epochs) for a checkpoint that
/// cannot be resumed (another configuration or model, corrupted or swapped files, counters out of
/// range); [`ScatterError::Io`] when one cannot be written.
pub fn fit(
    model: Hybrid,
    train: &ImageDataset,
    test: &ImageDataset,
    config: &TrainConfig,
    options: &FitOptions,
) -> Result<(Hybrid, TrainReport)> {
    let mut trainer = Trainer::new(&model, train, test, config, options)?;
    let model = trainer.resume(model)?;
    trainer.cache_features(&model);
    trainer.run(model)
}

/// One run of [`fit`]: the data, the configuration and everything the run accumulates, with one
/// method per step. The model under training is not part of it: burn's optimisers take a module
/// by value and hand back the updated one, so the steps that change the model take it and return
/// it, the others borrow it.
///
/// The order of the steps is [`fit`]'s: [`new`](Self::new) (which [`validate`](Self::validate)s
/// and claims the checkpoint directory), [`resume`](Self::resume),
/// [`cache_features`](Self::cache_features), then [`run`](Self::run), which per epoch calls
/// [`run_epoch`](Self::run_epoch), [`evaluate`](Self::evaluate), [`record`](Self::record) and
/// [`checkpoint`](Self::checkpoint).
struct Trainer<'a> {
    train: &'a ImageDataset,
    test: &'a ImageDataset,
    config: &'a TrainConfig,
    options: &'a FitOptions,
    /// The model's device (an autodiff one).
    device: Device,
    /// Whether any filter family trains (else the filter optimiser never steps).
    learnable: bool,
    /// Mini-batches per epoch.
    batches: usize,
    head_opt: ParamGroupOptimizer,
    filter_opt: ParamGroupOptimizer,
    /// The claimed checkpoint directory, when one was given.
    checkpoint: Option<CheckpointDir>,
    /// Scattering features of the training and test sets, when they never change.
    cache: Option<(FeatureCache, FeatureCache)>,
    /// First epoch this call runs (after a resume, the one after the checkpoint's).
    first_epoch: usize,
    history: Vec<EpochStats>,
    trajectory: FilterTrajectory,
    warnings: Vec<String>,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl<'a> Trainer<'a> {
    /// Validates the run ([`Trainer::validate`]), claims the checkpoint directory and builds the
    /// two optimisers with their one-cycle schedules over all epochs; nothing is trained yet.
    fn new(
        model: &Hybrid,
        train: &'a ImageDataset,
        test: &'a ImageDataset,
        config: &'a TrainConfig,
        options: &'a FitOptions,
    ) -> Result<Self> {
        let batches = Self::validate(model, train, test, config)?;
        let total_steps = config.epochs * batches; // checked by `validate`
        let started = Instant::now();
        // The checkpoint directory is checked (and claimed) before any training.
        let checkpoint = options
            .checkpoint_dir
            .as_deref()
            .map(|dir| CheckpointDir::open(dir, options.overwrite))
            .transpose()?;
        Ok(Self {
            train,
            test,
            config,
            options,
            device: model.scattering.filters.xi.val().device(),
            learnable: model.filters_trainable(),
            batches,
            head_opt: ParamGroupOptimizer::new(
                OneCycle::new(total_steps, config.head_max_lr),
                config.weight_decay,
            ),
            filter_opt: ParamGroupOptimizer::new(
                OneCycle::with_peak(total_steps, config.head_max_lr, config.filter_lr),
                0.0,
            ),
            checkpoint,
            cache: None,
            first_epoch: 1,
            history: Vec::new(),
            trajectory: FilterTrajectory { points: Vec::new() },
            warnings: Vec::new(),
            bar: None,
            started,
        })
    }

    /// Checks everything that can be checked before the first step: the configuration, data sets
    /// that are not empty and fit the model ([`check_data`]), an autodiff device, and a step
    /// count that a `usize` holds. Returns the number of mini-batches per epoch.
    ///
    /// # Errors
    /// [`ScatterError::InvalidTraining`], naming what does not fit.
    fn validate(
        model: &Hybrid,
        train: &ImageDataset,
        test: &ImageDataset,
        config: &TrainConfig,
    ) -> Result<usize> {
        config.check()?;
        if train.is_empty() || test.is_empty() {
            return Err(ScatterError::InvalidTraining(format!(
                "empty data set: {} training and {} test images",
                train.len(),
                test.len()
            )));
        }
        if train.channels() != model.in_channels() || test.channels() != model.in_channels() {
            return Err(ScatterError::InvalidTraining(format!(
                "the model expects {} channels, the data sets have {} (train) and {} (test)",
                model.in_channels(),
                train.channels(),
                test.channels()
            )));
        }
        check_data(model, train, "training", &config.augmentation, config)?;
        check_data(model, test, "test", &config.test_augmentation, config)?;
        if !model.scattering.filters.xi.val().device().is_autodiff() {
            return Err(ScatterError::InvalidTraining(
                "the model must live on an autodiff device (`device.autodiff()`)".into(),
            ));
        }
        let batches = train.len().div_ceil(config.batch_size);
        config.epochs.checked_mul(batches).ok_or_else(|| {
            ScatterError::InvalidTraining(format!(
                "{} epochs of {batches} batches is more optimiser steps than a usize can count",
                config.epochs
            ))
        })?;
        Ok(batches)
    }

    /// Continues from the checkpoint when asked to and one exists: the model, both optimisers'
    /// state, the history and the trajectory are the checkpoint's, and training starts at the
    /// epoch after it. Then starts the trajectory at the filters of `model` if it is empty.
    ///
    /// # Errors
    /// As [`CheckpointDir::load`], for a checkpoint that cannot be resumed.
    fn resume(&mut self, mut model: Hybrid) -> Result<Hybrid> {
        if let (Some(checkpoint), true) = (&self.checkpoint, self.options.resume)
            && checkpoint.has_checkpoint()
        {
            let resumed = checkpoint.load(model, self.config, &self.head_opt, &self.filter_opt)?;
            model = resumed.model;
            self.head_opt.optimizer = resumed.head_optimizer;
            self.filter_opt.optimizer = resumed.filter_optimizer;
            self.trajectory = resumed.trajectory;
            self.history = resumed.history;
            self.first_epoch = resumed.epochs_done + 1;
        }
        if self.trajectory.points.is_empty()
            && let Some(point) = trajectory_point(&model, 0)
        {
            self.trajectory.points.push(point);
        }
        Ok(model)
    }

    /// With frozen filters and no training augmentation the scattering of an image never
    /// changes: computes the features of both sets once (same numbers, much less work).
    fn cache_features(&mut self, model: &Hybrid) {
        let config = self.config;
        self.cache = (!self.learnable && is_identity(&config.augmentation)).then(|| {
            (
                FeatureCache::build(model, self.train, config, &config.augmentation),
                FeatureCache::build(model, self.test, config, &config.test_augmentation),
            )
        });
    }

    /// Trains from the first epoch to the last (or to `options.stop_after`), evaluating, recording
    /// and checkpointing as the configuration says, and returns the trained model and the report.
    ///
    /// # Errors
    /// As [`Trainer::checkpoint`].
    fn run(mut self, mut model: Hybrid) -> Result<(Hybrid, TrainReport)> {
        let config = self.config;
        let last_epoch = self
            .options
            .stop_after
            .map_or(config.epochs, |s| s.min(config.epochs));
        self.bar = progress_bar(
            self.options.progress,
            config,
            self.batches,
            self.first_epoch,
        );
        for epoch in self.first_epoch..=last_epoch {
            let (trained, train_loss, train_accuracy) = self.run_epoch(model, epoch);
            model = trained;
            let (test_loss, test_accuracy) = self.evaluate(&model, epoch);
            let stats = EpochStats {
                epoch,
                train_loss,
                train_accuracy,
                test_accuracy,
                test_loss,
            };
            self.record(&model, stats);
            self.checkpoint(&model, epoch, last_epoch)?;
        }
        Ok((model, self.finish()))
    }

    /// One epoch of mini-batch SGD: the training set in the order of a shuffle drawn from the
    /// epoch's own generator ([`epoch_rng`]), which then draws the batches' augmentation. Returns
    /// the model and the epoch's mean loss and accuracy over the training set.
    fn run_epoch(&mut self, mut model: Hybrid, epoch: usize) -> (Hybrid, f64, f64) {
        let mut rng = epoch_rng(self.config.seed, epoch);
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for (b, chunk) in order.chunks(self.config.batch_size).enumerate() {
            let step = (epoch - 1) * self.batches + b;
            let (trained, loss, c) = self.train_step(model, step, chunk, &mut rng);
            model = trained;
            loss_sum += loss * chunk.len() as f64;
            correct += c;
            if let Some(bar) = &self.bar {
                bar.inc(1);
            }
        }
        let n = self.train.len() as f64;
        (model, loss_sum / n, correct as f64 / n)
    }

    /// Optimiser step `step` on the training images `chunk` (augmented with `rng` unless their
    /// features are cached): forward, cross-entropy, backward, then one step of each parameter
    /// group (the filters' only when they train). Returns the model, the batch's mean loss and
    /// its number of correct predictions.
    fn train_step(
        &mut self,
        model: Hybrid,
        step: usize,
        chunk: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> (Hybrid, f64, usize) {
        let (config, device) = (self.config, &self.device);
        let features = match &self.cache {
            Some((train_cache, _)) => train_cache.batch(chunk, device),
            None => model.features(batch_tensor(
                self.train,
                chunk,
                &config.augmentation,
                &config.normalization,
                rng,
                device,
            )),
        };
        let logits = model.head.forward(features);
        let (loss, correct) = loss_and_correct(logits, labels_tensor(self.train, chunk, device));
        let mut grads = loss.backward();
        let loss = loss.into_scalar::<f64>();
        let head_grads = GradientsParams::from_module(&mut grads, &model.head);
        let filter_grads = self
            .learnable
            .then(|| GradientsParams::from_module(&mut grads, &model.scattering));
        let Hybrid {
            scattering,
            head,
            in_channels,
        } = model;
        let head = self.head_opt.step(step, head, head_grads);
        let scattering = match filter_grads {
            Some(g) => self.filter_opt.step(step, scattering, g),
            None => scattering,
        };
        let model = Hybrid {
            scattering,
            head,
            in_channels,
        };
        (model, loss, correct)
    }

    /// Test loss and accuracy after `epoch` when it is due (every `config.eval_every` epochs and
    /// after the last epoch of the configuration), from the cached features when there are some.
    fn evaluate(&self, model: &Hybrid, epoch: usize) -> (Option<f64>, Option<f64>) {
        let config = self.config;
        let due =
            epoch == config.epochs || config.eval_every.is_some_and(|k| epoch.is_multiple_of(k));
        if !due {
            return (None, None);
        }
        let (loss, accuracy) = match &self.cache {
            Some((_, test_cache)) => {
                evaluate_cached(model, test_cache, self.test, config.eval_batch_size)
            }
            None => evaluate(
                model,
                self.test,
                &config.test_augmentation,
                &config.normalization,
                config.eval_batch_size,
            ),
        };
        (Some(loss), Some(accuracy))
    }

    /// Records a finished epoch: its statistics on the progress bar and in the history, and the
    /// filters in the trajectory, with the run's aliasing warning the first time a wavelet
    /// crosses [`ALIASING_WARNING`].
    fn record(&mut self, model: &Hybrid, stats: EpochStats) {
        let epoch = stats.epoch;
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "epoch {epoch}/{} loss {:.4} train acc {:.1}%{}",
                self.config.epochs,
                stats.train_loss,
                100.0 * stats.train_accuracy,
                stats
                    .test_accuracy
                    .map_or(String::new(), |a| format!(" test acc {:.1}%", 100.0 * a))
            ));
        }
        self.history.push(stats);
        if let Some(point) = trajectory_point(model, epoch) {
            if self.warnings.is_empty()
                && let Some(warning) = aliasing_warning(&self.trajectory, &point)
            {
                // Once per run, above the progress bar (or in the report alone without one).
                if let Some(bar) = &self.bar {
                    bar.println(&warning);
                }
                self.warnings.push(warning);
            }
            self.trajectory.points.push(point);
        }
    }

    /// Writes a checkpoint after `epoch` when there is a checkpoint directory and the epoch is a
    /// multiple of `config.checkpoint_every` or the last this call runs.
    ///
    /// # Errors
    /// As [`CheckpointDir::write`].
    fn checkpoint(&self, model: &Hybrid, epoch: usize, last_epoch: usize) -> Result<()> {
        match &self.checkpoint {
            Some(checkpoint)
                if epoch.is_multiple_of(self.config.checkpoint_every) || epoch == last_epoch =>
            {
                checkpoint.write(
                    model,
                    &self.head_opt,
                    &self.filter_opt,
                    self.config,
                    &self.history,
                    &self.trajectory,
                )
            }
            _ => Ok(()),
        }
    }

    /// Closes the progress bar and assembles the report: the final accuracy is the last epoch's
    /// test accuracy (NaN when the run stopped before an evaluation).
    fn finish(self) -> TrainReport {
        if let Some(bar) = self.bar {
            bar.finish();
        }
        let final_test_accuracy = self
            .history
            .last()
            .and_then(|s| s.test_accuracy)
            .unwrap_or(f64::NAN);
        TrainReport {
            history: self.history,
            final_test_accuracy,
            trajectory: self.trajectory,
            wall_seconds: self.started.elapsed().as_secs_f64(),
            warnings: self.warnings,
        }
    }
}

/// The filter bank and its aliasing fractions after `epoch` (none for pixelwise filters, which
/// have no Morlet parameters).
fn trajectory_point(model: &Hybrid, epoch: usize) -> Option<TrajectoryPoint> {
    let filters = &model.scattering.filters;
    let bank = filters.to_params().ok()?;
    // The framework-free closed form of the same spectra: no tensor graph, a millisecond.
    let [h, w] = filters.grid_size();
    let aliasing = bank.aliasing(h, w);
    Some(TrajectoryPoint {
        epoch,
        bank,
        aliasing: Some(aliasing),
    })
}

/// A warning when a wavelet of `point` aliases more than [`ALIASING_WARNING`] of its energy while
/// it did not at the start of the trajectory (kymatio's own `L = 1` frame starts above it).
fn aliasing_warning(trajectory: &FilterTrajectory, point: &TrajectoryPoint) -> Option<String> {
    let start = trajectory.points.first()?.aliasing.as_ref()?;
    let now = point.aliasing.as_ref()?;
    let (n, fraction) = now.iter().enumerate().find(|&(n, &f)| {
        f > ALIASING_WARNING && start.get(n).is_some_and(|&s| s <= ALIASING_WARNING)
    })?;
    let big_l = point.bank.num_orientations();
    Some(format!(
        "warning: after epoch {}, wavelet {n} (j = {}, l = {}) aliases {:.0} % of its spectral energy \
         (more than {:.0} %, from {:.0} % at the start): learning moved it out of the band its \
         scale keeps (see MorletFilterBank::aliasing, aliasing_penalty); reported once per run",
        point.epoch,
        n / big_l,
        n % big_l,
        100.0 * fraction,
        100.0 * ALIASING_WARNING,
        100.0 * start[n],
    ))
}

fn progress_bar(
    show: bool,
    config: &TrainConfig,
    batches: usize,
    first_epoch: usize,
) -> Option<ProgressBar> {
    show.then(|| {
        let bar = ProgressBar::new((config.epochs * batches) as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} steps (eta {eta}) {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_position(((first_epoch - 1) * batches) as u64);
        bar
    })
}

/// Checks that `ds` fits `model` under `aug` and the configuration's normalisation, so that
/// no batch of it can panic: labels within the model's classes and one per image, a
/// normalisation per channel, crops that fit the images, and images that `aug` brings to the
/// model's input size.
fn check_data(
    model: &Hybrid,
    ds: &ImageDataset,
    which: &str,
    aug: &Augmentation,
    config: &TrainConfig,
) -> Result<()> {
    let bad = |message: String| Err(ScatterError::InvalidTraining(message));
    let (c, h, w) = (ds.channels(), ds.height(), ds.width());
    if ds.labels.len() != ds.images.shape()[0] {
        return bad(format!(
            "the {which} set has {} images but {} labels",
            ds.images.shape()[0],
            ds.labels.len()
        ));
    }
    let classes = model.num_classes();
    if let Some((i, &label)) = ds.labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return bad(format!(
            "{which} image {i} has label {label}, but the model has {classes} classes (labels 0..{classes})"
        ));
    }
    if config.normalization.mean.len() != c {
        return bad(format!(
            "the normalisation has {} channels, the {which} images {c}",
            config.normalization.mean.len()
        ));
    }
    let (mut ch, mut cw) = (h, w);
    if let Some(s) = aug.center_crop {
        if s == 0 || s > h || s > w {
            return bad(format!(
                "the {which} centre crop {s} does not fit {h}x{w} images"
            ));
        }
        (ch, cw) = (s, s);
    }
    if let Some(rc) = aug.random_crop {
        let fits = |side: usize| side.checked_add(rc.padding.saturating_mul(2));
        if rc.size == 0
            || fits(ch).is_none_or(|s| rc.size > s)
            || fits(cw).is_none_or(|s| rc.size > s)
        {
            return bad(format!(
                "the {which} random crop {} with padding {} does not fit {ch}x{cw} images",
                rc.size, rc.padding
            ));
        }
    }
    if aug.cutout == Some(0) {
        return bad(format!("the {which} cutout size must be positive"));
    }
    let (oh, ow) = aug.output_size(h, w);
    let [mh, mw] = model.input_size();
    if (oh, ow) != (mh, mw) {
        return bad(format!(
            "the {which} images are {h}x{w}{}, the model expects {mh}x{mw}",
            if (oh, ow) == (h, w) {
                String::new()
            } else {
                format!(" ({oh}x{ow} after cropping)")
            }
        ));
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: usize, aliasing: Vec<f64>) -> TrajectoryPoint {
        TrajectoryPoint {
            epoch,
            bank: crate::filters::FilterBankParams::tight_frame(1, 3).unwrap(),
            aliasing: Some(aliasing),
        }
    }

    #[test]
    fn aliasing_warns_when_a_wavelet_crosses_the_level() {
        let trajectory = FilterTrajectory {
            points: vec![point(0, vec![0.1, 0.2, 0.7])],
        };
        // Wavelet 2 started above the level: not a crossing.
        assert_eq!(
            aliasing_warning(&trajectory, &point(1, vec![0.1, 0.3, 0.9])),
            None
        );
        let w = aliasing_warning(&trajectory, &point(2, vec![0.1, 0.6, 0.9])).unwrap();
        assert!(
            w.contains("epoch 2, wavelet 1 (j = 0, l = 1) aliases 60 %"),
            "{w}"
        );
        // Nothing recorded at the start: nothing to compare with.
        let bare = FilterTrajectory {
            points: vec![TrajectoryPoint {
                aliasing: None,
                ..point(0, vec![])
            }],
        };
        assert_eq!(
            aliasing_warning(&bare, &point(1, vec![0.9, 0.9, 0.9])),
            None
        );
    }
}
