//! The WRN hybrid head of the paper and its parts: post-activation basic blocks and batch norm
//! without affine parameters (see the [module documentation](super)).

use burn::module::{Module, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::AdaptiveAvgPool2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// The WRN hybrid head (see the module documentation).
#[derive(Module, Debug)]
pub struct WrnHead {
    /// `bn0`: affine batch norm over the `C·K` input channels.
    pub norm: BatchNorm,
    /// Batch norm without affine parameters (PyTorch `affine=False`) before the stem convolution.
    pub stem_norm: PlainBatchNorm,
    /// 3×3 convolution `C·K → 16k`, no bias.
    pub stem_conv: Conv2d,
    /// Batch norm after the stem convolution.
    pub stem_bn: BatchNorm,
    /// `n` basic blocks at `32k` channels.
    pub stage2: Vec<BasicBlock>,
    /// `n` basic blocks at `64k` channels.
    pub stage3: Vec<BasicBlock>,
    /// Adaptive average pool to 2×2.
    pub pool: AdaptiveAvgPool2d,
    /// `Linear(4·64k, classes)`.
    pub fc: Linear,
    #[module(skip)]
    pub(super) channels: usize,
}

impl WrnHead {
    /// `[batch, C·K, H', W']` → `[batch, classes]` (any `H'`, `W'`: the pool makes it 2×2).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [_, c, _, _] = x.dims();
        assert!(
            c == self.channels,
            "WRN head: expected {} feature channels, got {c}",
            self.channels
        );
        let x = self.norm.forward(x);
        let x = self.stem_norm.forward(x);
        let mut x = relu(self.stem_bn.forward(self.stem_conv.forward(x)));
        for block in self.stage2.iter().chain(&self.stage3) {
            x = block.forward(x);
        }
        self.fc.forward(self.pool.forward(x).flatten(1, 3))
    }
}

pub(super) fn conv3x3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device)
}

/// Post-activation basic block: conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut
/// (1×1 conv + BN when the width changes), then ReLU. Stride 1.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// First 3×3 convolution.
    pub conv1: Conv2d,
    /// Batch norm after `conv1`.
    pub bn1: BatchNorm,
    /// Second 3×3 convolution.
    pub conv2: Conv2d,
    /// Batch norm after `conv2`.
    pub bn2: BatchNorm,
    /// 1×1 projection and batch norm when the input and output widths differ.
    pub shortcut: Option<(Conv2d, BatchNorm)>,
}

impl BasicBlock {
    pub(super) fn new(inplanes: usize, planes: usize, device: &Device) -> Self {
        let shortcut = (inplanes != planes).then(|| {
            (
                Conv2dConfig::new([inplanes, planes], [1, 1])
                    .with_bias(false)
                    .init(device),
                BatchNormConfig::new(planes).init(device),
            )
        });
        Self {
            conv1: conv3x3(inplanes, planes, device),
            bn1: BatchNormConfig::new(planes).init(device),
            conv2: conv3x3(planes, planes, device),
            bn2: BatchNormConfig::new(planes).init(device),
            shortcut,
        }
    }

    /// `[batch, in, H, W]` → `[batch, out, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.bn1.forward(self.conv1.forward(x.clone())));
        let out = self.bn2.forward(self.conv2.forward(out));
        let residual = match &self.shortcut {
            Some((conv, bn)) => bn.forward(conv.forward(x)),
            None => x,
        };
        relu(out + residual)
    }
}

/// Batch norm without affine parameters (PyTorch's `BatchNorm2d(affine=False)`): normalises with
/// the batch statistics while training (autodiff device) and with running statistics otherwise.
#[derive(Module, Debug)]
pub struct PlainBatchNorm {
    running_mean: RunningState<Tensor<1>>,
    running_var: RunningState<Tensor<1>>,
    #[module(skip)]
    momentum: f64,
    #[module(skip)]
    epsilon: f64,
}

impl PlainBatchNorm {
    pub(super) fn new(channels: usize, device: &Device) -> Self {
        Self {
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }

    /// `[batch, channels, ...]` → same shape.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        let [channels] = self.running_mean.value().dims();
        let ones = Tensor::<1>::ones([channels], &device);
        let zeros = Tensor::<1>::zeros([channels], &device);
        if device.is_autodiff() {
            let out = burn::tensor::module::batch_norm_train(x, ones, zeros, self.epsilon);
            let m = self.momentum;
            let mean = self.running_mean.value_sync().to_device(&device);
            let var = self.running_var.value_sync().to_device(&device);
            self.running_mean
                .update((mean * (1.0 - m) + out.mean.detach() * m).detach());
            self.running_var
                .update((var * (1.0 - m) + out.variance.detach() * m).detach());
            out.output
        } else {
            let mean = self.running_mean.value().to_device(&device);
            let var = self.running_var.value().to_device(&device);
            burn::tensor::module::batch_norm(x, ones, zeros, mean, var, self.epsilon)
        }
    }
}
