//! Classification heads on scattering coefficients: linear, the WRN hybrid CNN and an MLP.
//!
//! Every head takes the scattering output reshaped to `[batch, C·K, H', W']` (colour channels
//! times paths, at `H/2^J × W/2^J`) and returns logits `[batch, classes]`. The architectures are
//! the ones of "Parametric Scattering Networks" (Gauthier et al., CVPR 2022; reference code
//! `parametricSN/models/sn_top_models.py`, bentherien/parametricScatteringNetworks):
//!
//! - **linear** (`LL`): `BatchNorm2d(C·K)` (affine) → flatten → `Linear(C·K·H'·W', classes)`;
//! - **WRN** (kymatio's `cifar_small_sample` hybrid as the paper used it, `sn_CNN(k = 8, n = 4)`):
//!   `BN(C·K)` → [`BN(C·K)` without affine → conv3×3 → `16k` → BN → ReLU] → `n` post-activation
//!   basic blocks at `32k` → `n` at `64k` (all stride 1) → adaptive average pool to 2×2 →
//!   `Linear(4·64k, classes)`;
//! - **MLP**: `BN(C·K)` → flatten → (`Linear` → ReLU) per hidden width → `Linear(classes)`. The
//!   reference `sn_MLP` cannot run (it reads an attribute before setting it), so this head has no
//!   published counterpart.

use burn::config::Config;
use burn::module::Module;
use burn::nn::pool::AdaptiveAvgPool2dConfig;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::experiment::HeadKind;

mod linear;
mod wrn;

pub(crate) use linear::LinearHead;
use linear::norm_then_linear;
use wrn::conv3x3;
pub(crate) use wrn::{BasicBlock, PlainBatchNorm, WrnHead};

impl HeadKind {
    /// The architecture of this head.
    pub fn config(self) -> HeadConfig {
        match self {
            HeadKind::Linear => HeadConfig::Linear,
            HeadKind::Wrn => HeadConfig::wrn(),
            HeadKind::Mlp => HeadConfig::Mlp { hidden: vec![512] },
        }
    }
}

/// Which head to put on the scattering coefficients.
#[derive(Config, Debug, PartialEq)]
pub enum HeadConfig {
    /// Batch norm then one linear layer (the paper's `LL`).
    Linear,
    /// The paper's "WRN" hybrid CNN: widths `16k`, `32k`, `64k`, `blocks` basic blocks per stage.
    Wrn {
        /// Width factor `k` (paper: 8).
        width: usize,
        /// Basic blocks per stage `n` (paper: 4).
        blocks: usize,
    },
    /// Batch norm, hidden `Linear` + ReLU layers of the given widths, then the classifier.
    Mlp {
        /// Hidden layer widths, in order.
        hidden: Vec<usize>,
    },
}

impl HeadConfig {
    /// The paper's WRN head: `k = 8`, `n = 4` (4 blocks at 256 and 4 at 512 channels).
    pub fn wrn() -> Self {
        HeadConfig::Wrn {
            width: 8,
            blocks: 4,
        }
    }

    /// Short name used in tables and file names: `linear`, `wrn`, `mlp`.
    pub fn name(&self) -> &'static str {
        match self {
            HeadConfig::Linear => "linear",
            HeadConfig::Wrn { .. } => "wrn",
            HeadConfig::Mlp { .. } => "mlp",
        }
    }

    /// Builds the head for inputs `[batch, channels, height, width]` and `num_classes` outputs.
    ///
    /// # Panics
    /// If a size is zero (`channels`, `height`, `width`, `num_classes`, a hidden width, `k`, `n`).
    pub(crate) fn init(
        &self,
        channels: usize,
        [height, width]: [usize; 2],
        num_classes: usize,
        device: &Device,
    ) -> Head {
        assert!(
            channels > 0 && height > 0 && width > 0 && num_classes > 0,
            "head sizes must be positive: channels {channels}, spatial {height}x{width}, classes {num_classes}"
        );
        match self {
            HeadConfig::Linear => Head::Linear(LinearHead {
                norm: BatchNormConfig::new(channels).init(device),
                linear: LinearConfig::new(channels * height * width, num_classes).init(device),
                input: [channels, height, width],
            }),
            HeadConfig::Mlp { hidden } => {
                assert!(
                    hidden.iter().all(|&h| h > 0),
                    "MLP hidden widths must be positive, got {hidden:?}"
                );
                let mut layers = Vec::with_capacity(hidden.len() + 1);
                let mut d_in = channels * height * width;
                for &h in hidden {
                    layers.push(LinearConfig::new(d_in, h).init(device));
                    d_in = h;
                }
                layers.push(LinearConfig::new(d_in, num_classes).init(device));
                Head::Mlp(MlpHead {
                    norm: BatchNormConfig::new(channels).init(device),
                    layers,
                    input: [channels, height, width],
                })
            }
            &HeadConfig::Wrn { width: k, blocks } => {
                assert!(
                    k > 0 && blocks > 0,
                    "WRN width and blocks must be positive, got k = {k}, n = {blocks}"
                );
                let stem = 16 * k;
                let stage = |inplanes: usize, planes: usize| {
                    (0..blocks)
                        .map(|b| {
                            BasicBlock::new(if b == 0 { inplanes } else { planes }, planes, device)
                        })
                        .collect::<Vec<_>>()
                };
                Head::Wrn(WrnHead {
                    norm: BatchNormConfig::new(channels).init(device),
                    stem_norm: PlainBatchNorm::new(channels, device),
                    stem_conv: conv3x3(channels, stem, device),
                    stem_bn: BatchNormConfig::new(stem).init(device),
                    stage2: stage(stem, 32 * k),
                    stage3: stage(32 * k, 64 * k),
                    pool: AdaptiveAvgPool2dConfig::new([2, 2]).init(),
                    fc: LinearConfig::new(4 * 64 * k, num_classes).init(device),
                    channels,
                })
            }
        }
    }
}

/// A classification head; build it with [`HeadConfig::init`].
// A model holds one head, built once: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub(crate) enum Head {
    /// See [`HeadConfig::Linear`].
    Linear(LinearHead),
    /// See [`HeadConfig::Wrn`].
    Wrn(WrnHead),
    /// See [`HeadConfig::Mlp`].
    Mlp(MlpHead),
}

impl Head {
    /// Number of classes (the width of the logits; 0 for an MLP head without layers).
    pub fn num_classes(&self) -> usize {
        // burn's `Linear` weight is `[d_input, d_output]`.
        let classifier = match self {
            Head::Linear(h) => Some(&h.linear),
            Head::Wrn(h) => Some(&h.fc),
            Head::Mlp(h) => h.layers.last(),
        };
        classifier.map_or(0, |c| c.weight.dims()[1])
    }

    /// Logits `[batch, classes]` from features `[batch, channels, height, width]`.
    ///
    /// # Panics
    /// If the feature shape differs from the one the head was built for (message names both).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Head::Linear(h) => h.forward(x),
            Head::Wrn(h) => h.forward(x),
            Head::Mlp(h) => h.forward(x),
        }
    }
}

fn check_input(x: &Tensor<4>, expected: [usize; 3], head: &str) {
    let [_, c, h, w] = x.dims();
    assert!(
        [c, h, w] == expected,
        "{head} head: expected features [batch, {}, {}, {}], got [batch, {c}, {h}, {w}]",
        expected[0],
        expected[1],
        expected[2]
    );
}

/// `BatchNorm2d` → flatten → (`Linear` → ReLU)* → `Linear`.
#[derive(Module, Debug)]
pub struct MlpHead {
    /// Batch norm over the `C·K` scattering channels.
    pub norm: BatchNorm,
    /// Hidden layers, then the classifier (last).
    pub layers: Vec<Linear>,
    #[module(skip)]
    input: [usize; 3],
}

impl MlpHead {
    /// `[batch, C·K, H', W']` → `[batch, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        check_input(&x, self.input, "MLP");
        let mut h = norm_then_linear(&self.norm, &self.layers[0], x);
        for layer in &self.layers[1..] {
            h = layer.forward(relu(h));
        }
        h
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use burn::module::Module;
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::nn::{Scattering2dConfig, Trainable};
    use crate::train::HybridConfig;
    use crate::train::model::num_trainable_params;

    #[test]
    fn head_parameter_counts_match_the_paper() {
        // The reference code's logged parameter counts (parametricSN/models/sn_top_models.py): CIFAR
        // J=2 → 243 channels at 8×8, 10 classes.
        let device = Device::flex().autodiff();
        let linear = HeadConfig::Linear.init(243, [8, 8], 10, &device);
        assert_eq!(num_trainable_params(&linear), 156_016);
        let wrn = HeadConfig::wrn().init(243, [8, 8], 10, &device);
        assert_eq!(num_trainable_params(&wrn), 22_597_232);
        // The whole hybrid adds the 64 filter parameters (J = 2, L = 8), or none when frozen.
        let hybrid = |t| {
            HybridConfig::new(
                Scattering2dConfig::new(2, [32, 32]).with_trainable(t),
                3,
                10,
            )
            .init(&device)
        };
        assert_eq!(
            num_trainable_params(&hybrid(Trainable::all())),
            156_016 + 64
        );
        assert_eq!(num_trainable_params(&hybrid(Trainable::none())), 156_016);
    }

    #[test]
    fn heads_give_logits_for_any_backend_input() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([3, 6, 5, 4], &device);
        for head in [
            HeadConfig::Linear,
            HeadConfig::Wrn {
                width: 1,
                blocks: 2,
            },
            HeadConfig::Mlp {
                hidden: vec![16, 8],
            },
        ] {
            let h = head.init(6, [5, 4], 7, &device);
            assert_eq!(h.forward(x.clone()).dims(), [3, 7], "{head:?}");
        }
    }

    #[test]
    #[should_panic(
        expected = "linear head: expected features [batch, 6, 5, 4], got [batch, 6, 4, 4]"
    )]
    fn linear_head_rejects_other_feature_shapes() {
        let device = Device::flex();
        let h = HeadConfig::Linear.init(6, [5, 4], 2, &device);
        let _ = h.forward(Tensor::<4>::ones([1, 6, 4, 4], &device));
    }

    /// The linear head never forms the normalised features, but gives what burn's `BatchNorm`
    /// followed by `Linear` give: outputs and every gradient in training mode, outputs in inference
    /// mode, and the same running statistics.
    /// The test's linear head on 5 channels of 3 × 2, 4 classes, with γ and β moved away from 1
    /// and 0 so that they matter.
    fn moved_linear_head(device: &Device) -> LinearHead {
        let Head::Linear(mut head) = HeadConfig::Linear.init(5, [3, 2], 4, device) else {
            unreachable!()
        };
        head.norm.gamma = head
            .norm
            .gamma
            .map(|g| g.mul_scalar(1.5).add_scalar(0.2).detach().require_grad());
        head.norm.beta = head
            .norm
            .beta
            .map(|b| b.add_scalar(0.3).detach().require_grad());
        head
    }

    /// The logits, and the gradients of `⟨logits, w⟩` (a fixed `w`) with respect to the head's
    /// weight, bias, γ, β and the input `x`.
    fn logits_and_gradients(
        head: &LinearHead,
        logits: Tensor<2>,
        x: &Tensor<4>,
    ) -> (Vec<f32>, Vec<Vec<f32>>) {
        let values = |t: Tensor<1>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let out = values(logits.clone().flatten::<1>(0, 1));
        let w: Vec<f32> = (0..24).map(|i| (i % 7) as f32 - 3.0).collect();
        let weights = Tensor::<2>::from_data(TensorData::new(w, [6, 4]), &logits.device());
        let grads = (logits * weights).sum().backward();
        let grad = |t: Tensor<1>| values(t.grad(&grads).unwrap());
        let weight = head.linear.weight.val().grad(&grads).unwrap();
        let gradients = vec![
            values(weight.flatten::<1>(0, 1)),
            grad(head.linear.bias.as_ref().unwrap().val()),
            grad(head.norm.gamma.val()),
            grad(head.norm.beta.val()),
            values(x.grad(&grads).unwrap().flatten::<1>(0, 3)),
        ];
        (out, gradients)
    }

    /// `a` within 1e-5 of `max|b|` of `b`, element by element.
    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * scale, "{what}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn linear_head_equals_batch_norm_then_linear() {
        let device = Device::flex().autodiff();
        let values: Vec<f32> = (0..6 * 5 * 3 * 2)
            .map(|i| ((i * 37 % 23) as f32 - 9.0) / 7.0 + (i % 5) as f32)
            .collect();
        let head = moved_linear_head(&device);
        let x = || {
            Tensor::<4>::from_data(TensorData::new(values.clone(), [6, 5, 3, 2]), &device)
                .require_grad()
        };
        let x1 = x();
        let fused = logits_and_gradients(&head, head.forward(x1.clone()), &x1);
        let fused_mean: Vec<f32> = head
            .norm
            .running_mean
            .value_sync()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let x2 = x();
        let composed = head
            .linear
            .forward(head.norm.forward(x2.clone()).flatten::<2>(1, 3));
        let reference = logits_and_gradients(&head, composed, &x2);
        assert_close(&fused.0, &reference.0, "logits");
        for (i, (a, b)) in fused.1.iter().zip(&reference.1).enumerate() {
            assert_close(a, b, &format!("gradient {i}"));
        }
        // The running mean after one training step: 0.9·0 + 0.1·(batch mean per channel).
        for c in 0..5 {
            let values = &values;
            let mean: f32 = (0..6)
                .flat_map(|b| (0..6).map(move |p| values[b * 30 + c * 6 + p]))
                .sum::<f32>()
                / 36.0;
            assert!(
                (fused_mean[c] - 0.1 * mean).abs() < 1e-6,
                "channel {c}: {} vs {}",
                fused_mean[c],
                0.1 * mean
            );
        }
        // Inference mode (no autodiff): running statistics.
        let plain = Device::flex();
        let head_plain = head.clone().valid();
        let xp = Tensor::<4>::from_data(TensorData::new(values.clone(), [6, 5, 3, 2]), &plain);
        let a: Vec<f32> = head_plain
            .forward(xp.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b: Vec<f32> = head_plain
            .linear
            .forward(head_plain.norm.forward(xp).flatten::<2>(1, 3))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_close(&a, &b, "inference logits");
    }

    /// Each kind parses from its name, displays and serialises as it, and builds the head of that
    /// name.
    #[test]
    fn head_kinds_round_trip_through_their_names() {
        for kind in HeadKind::ALL {
            assert_eq!(kind.name().parse::<HeadKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), kind.name());
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
            assert_eq!(kind.config().name(), kind.name());
        }
    }
}
