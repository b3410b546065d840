//! The training loop: mini-batch SGD under a one-cycle schedule, evaluation when due,
//! checkpoints, resume. [`fit`] is four lines over a private [`Trainer`]; what it checks first is
//! in [`validate`](super::validate), the evaluation and the feature cache in
//! [`eval`](super::eval), the checkpoint files in [`checkpoint`](super::checkpoint).

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

use super::checkpoint::CheckpointDir;
use super::config::{FitOptions, TrainConfig};
use super::eval::{
    FeatureCache, batch_tensor, evaluate, evaluate_cached, is_identity, labels_tensor,
    loss_and_correct,
};
use super::model::Hybrid;
use super::optim::{OneCycle, ParamGroupOptimizer};
use super::report::{EpochStats, TrainReport, aliasing_warning};
use super::validate::validate;
use crate::data::ImageDataset;
use crate::error::Result;
use crate::trajectory::{FilterTrajectory, TrajectoryPoint};

/// Seed of epoch `epoch`'s shuffle and augmentation: a pure function of the run seed and the
/// epoch, so that a resumed run draws exactly what an uninterrupted one draws.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
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
/// [`TrainingError`](crate::train::TrainingError), before the first step, for an invalid configuration, empty
/// data sets, or data that does not fit the model: another channel count, an image size that the
/// augmentation does not bring to the model's input size (or a crop that does not fit the
/// images), a label outside the model's classes, a normalisation for another channel count.
/// For checkpoints (see [`checkpoint`](super::checkpoint)): [`CheckpointError::Path`](crate::train::checkpoint::CheckpointError::Path) and
/// [`CheckpointError::ForeignEntry`](crate::train::checkpoint::CheckpointError::ForeignEntry) for a directory the crate may not write into (checked
/// before training); [`CheckpointError::Invalid`](crate::train::checkpoint::CheckpointError::Invalid), [`CheckpointError::Checksum`](crate::train::checkpoint::CheckpointError::Checksum),
/// [`CheckpointError::Model`](crate::train::checkpoint::CheckpointError::Model) and [`CheckpointError::Epochs`](crate::train::checkpoint::CheckpointError::Epochs) for a checkpoint that
/// cannot be resumed (another configuration or model, corrupted or swapped files, counters out of
/// range); [`ScatterError::Io`](crate::error::ScatterError::Io) when one cannot be written.
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
/// The order of the steps is [`fit`]'s: [`new`](Self::new) (which [`validate`]s
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
    /// Validates the run ([`validate`]), claims the checkpoint directory and builds the
    /// two optimisers with their one-cycle schedules over all epochs; nothing is trained yet.
    fn new(
        model: &Hybrid,
        train: &'a ImageDataset,
        test: &'a ImageDataset,
        config: &'a TrainConfig,
        options: &'a FitOptions,
    ) -> Result<Self> {
        let batches = validate(model, train, test, config)?;
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
    /// crosses [`ALIASING_WARNING`](crate::filters::diagnostics::ALIASING_WARNING).
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
    let [h, w] = filters.padded_size();
    let aliasing = bank.aliasing(h, w);
    Some(TrajectoryPoint {
        epoch,
        bank,
        aliasing: Some(aliasing),
    })
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
