//! Evaluation and the feature cache: mean loss and accuracy of a model on a data set, batches
//! of images or cached scattering features as tensors. Read by the training loop
//! ([`fit`](super::fit)), which owns no tensor plumbing of its own.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use super::config::TrainConfig;
use super::model::Hybrid;
use crate::data::ImageDataset;
use crate::data::augment::{Augmentation, Normalization, make_batch};

/// Cached scattering features of a data set (for frozen filters without augmentation, where the
/// scattering of an image never changes during training).
pub(super) struct FeatureCache {
    values: Vec<f32>,
    shape: [usize; 3],
}

impl FeatureCache {
    pub(super) fn build(
        model: &Hybrid,
        ds: &ImageDataset,
        config: &TrainConfig,
        aug: &Augmentation,
    ) -> Self {
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

    pub(super) fn batch(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        let per = self.shape.iter().product::<usize>();
        let mut data = Vec::with_capacity(per * indices.len());
        for &i in indices {
            data.extend_from_slice(&self.values[i * per..(i + 1) * per]);
        }
        let [c, h, w] = self.shape;
        Tensor::from_data(TensorData::new(data, [indices.len(), c, h, w]), device)
    }
}

pub(super) fn batch_tensor(
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

pub(super) fn labels_tensor(
    ds: &ImageDataset,
    indices: &[usize],
    device: &Device,
) -> Tensor<1, Int> {
    let labels: Vec<i64> = indices.iter().map(|&i| ds.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(labels, [indices.len()]), device)
}

pub(super) fn is_identity(aug: &Augmentation) -> bool {
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
pub(super) fn evaluate_cached(
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
pub(super) fn loss_and_correct(logits: Tensor<2>, targets: Tensor<1, Int>) -> (Tensor<1>, usize) {
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
