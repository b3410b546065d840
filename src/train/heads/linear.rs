//! The paper's linear head (`LL`): batch norm then one linear layer, computed without forming
//! the normalised features.

use burn::module::{Module, RunningState};
use burn::nn::{BatchNorm, Linear};
use burn::tensor::Tensor;

use super::check_input;

/// `BatchNorm2d` (affine) → flatten → `Linear`.
#[derive(Module, Debug)]
pub struct LinearHead {
    /// Batch norm over the `C·K` scattering channels.
    pub norm: BatchNorm,
    /// `[C·K·H'·W'] → [classes]`.
    pub linear: Linear,
    #[module(skip)]
    pub(super) input: [usize; 3],
}

impl LinearHead {
    /// `[batch, C·K, H', W']` → `[batch, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        check_input(&x, self.input, "linear");
        norm_then_linear(&self.norm, &self.linear, x)
    }
}

/// `linear(flatten(norm(x)))` for `x` of shape `[batch, C, H, W]`, without writing `norm(x)`:
/// with `σ²`, `μ` per channel (the batch's in training, the running ones otherwise),
/// `linear(flatten(norm(x))) = flatten(x − μ)·W' + Σ_c β_c·Σ_p W[c, p, ·] + b` where
/// `W'[c, p, ·] = W[c, p, ·]·γ_c/√(σ²_c + ε)`. The same numbers as burn's `BatchNorm` followed by
/// `Linear` up to rounding, with the same running-statistics update and the same choice of mode
/// (training on an autodiff device with the layer enabled), but the big `[batch, C, H, W]`
/// intermediate of the normalisation is never formed: on cached features (a constant input) a
/// training step is then one pass for the statistics and two matrix products.
pub(super) fn norm_then_linear(norm: &BatchNorm, linear: &Linear, x: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = x.dims();
    let hw = h * w;
    let [d_in, k] = linear.weight.val().dims();
    assert_eq!(
        d_in,
        c * hw,
        "head: {c}x{h}x{w} features for a linear layer of {d_in} inputs"
    );
    let device = x.device();
    let x3 = x.reshape([b, c, hw]);
    let (centered, var) = if device.is_autodiff() && norm.training.is_enabled() {
        let mean = x3.clone().mean_dim(2).mean_dim(0); // [1, C, 1]
        let centered = x3 - mean.clone();
        let var = (centered.clone() * centered.clone())
            .mean_dim(2)
            .mean_dim(0);
        let m = norm.momentum;
        let update = |state: &RunningState<Tensor<1>>, batch: Tensor<3>| {
            let old = state.value_sync().to_device(&device);
            state.update((old * (1.0 - m) + batch.detach().reshape([c]) * m).detach());
        };
        update(&norm.running_mean, mean);
        update(&norm.running_var, var.clone());
        (centered, var)
    } else {
        let mean = norm
            .running_mean
            .value()
            .to_device(&device)
            .reshape([1, c, 1]);
        let var = norm
            .running_var
            .value()
            .to_device(&device)
            .reshape([1, c, 1]);
        (x3 - mean, var)
    };
    let scale = norm.gamma.val().reshape([1, c, 1]) / var.add_scalar(norm.epsilon).sqrt();
    let weight = linear.weight.val().reshape([c, hw, k]);
    let scaled = (weight.clone() * scale.reshape([c, 1, 1])).reshape([c * hw, k]);
    // Σ_c β_c·Σ_p W[c, p, ·]: [1, C] · [C, K].
    let shift = norm
        .beta
        .val()
        .reshape([1, c])
        .matmul(weight.sum_dim(1).reshape([c, k]));
    let logits = centered.reshape([b, c * hw]).matmul(scaled) + shift;
    match &linear.bias {
        Some(bias) => logits + bias.val().reshape([1, k]),
        None => logits,
    }
}
