//! The hybrid model: a [`Scattering2d`] layer followed by a classification [`Head`].

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::heads::{Head, HeadConfig};
use crate::nn::{Scattering2d, Scattering2dConfig};

/// Configuration of a [`Hybrid`] model, built with [`HybridConfig::init`].
///
/// ```no_run
/// # use learnable_scattering::{nn::{Scattering2dConfig, Trainable}, train::{HeadConfig, HybridConfig}};
/// let device = learnable_scattering::nn::cpu_device().autodiff();
/// // Learnable tight-frame scattering (J = 2, L = 8) on 32×32 RGB images, linear head, 10 classes.
/// let model = HybridConfig::new(Scattering2dConfig::new(2, [32, 32]), 3, 10).init(&device);
/// // The fixed baseline: the same model with every filter parameter frozen.
/// let fixed = HybridConfig::new(
///     Scattering2dConfig::new(2, [32, 32]).with_trainable(Trainable::none()), 3, 10,
/// )
/// .with_head(HeadConfig::wrn())
/// .init(&device);
/// # let _ = (model, fixed);
/// ```
#[derive(Config, Debug)]
pub struct HybridConfig {
    /// The scattering layer (scales, input size, orientations, initialisation, trainable families).
    pub scattering: Scattering2dConfig,
    /// Image channels `C` (1 for grey, 3 for RGB); the head sees `C·K` feature maps.
    pub in_channels: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// The classification head.
    #[config(default = "HeadConfig::Linear")]
    pub head: HeadConfig,
}

impl HybridConfig {
    /// Shape of the features the head receives: `[C·K, H/2^J, W/2^J]`.
    ///
    /// # Panics
    /// On an invalid scattering configuration (the [`crate::ScatterError`] message).
    pub(crate) fn feature_shape(&self) -> [usize; 3] {
        let (options, geometry) = self.scattering.geometry().unwrap_or_else(|e| panic!("{e}"));
        let [h, w] = geometry.output_size();
        [self.in_channels * options.num_paths(), h, w]
    }

    /// Builds the model on `device` (use an autodiff device to train).
    ///
    /// # Panics
    /// On an invalid scattering configuration, or zero channels or classes.
    pub fn init(&self, device: &Device) -> Hybrid {
        let [c, h, w] = self.feature_shape();
        Hybrid {
            scattering: self.scattering.init(device),
            head: self.head.init(c, [h, w], self.num_classes, device),
            in_channels: self.in_channels,
        }
    }
}

/// Scattering followed by a head: images `[batch, C, H, W]` → logits `[batch, classes]`.
#[derive(Module, Debug)]
pub struct Hybrid {
    /// The (learnable or frozen) scattering layer.
    pub scattering: Scattering2d,
    /// The classification head.
    pub(crate) head: Head,
    #[module(skip)]
    pub(crate) in_channels: usize,
}

impl Hybrid {
    /// Scattering features for the head.
    ///
    /// # Shapes
    /// - input: `[batch, C, H, W]`
    /// - output: `[batch, C·K, H/2^J, W/2^J]`, channel `c·K + k` = colour `c`, path `k`
    ///
    /// # Panics
    /// If `C` differs from the configured `in_channels`, or as [`Scattering2d::forward`].
    pub(crate) fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let [_, c, _, _] = images.dims();
        assert!(
            c == self.in_channels,
            "Hybrid: expected {} input channels, got {c} (input shape {:?})",
            self.in_channels,
            images.dims()
        );
        self.scattering.forward(images).flatten(1, 2)
    }

    /// Logits `[batch, classes]` from images `[batch, C, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.features(images))
    }

    /// Number of image channels the model expects.
    pub(crate) fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Image size `[height, width]` the model expects.
    pub(crate) fn input_size(&self) -> [usize; 2] {
        let g = self.scattering.geometry();
        [g.height, g.width]
    }

    /// Number of classes of the head.
    pub fn num_classes(&self) -> usize {
        self.head.num_classes()
    }

    /// Whether any filter parameter requires a gradient (false for the fixed-scattering baseline,
    /// and on a device without autodiff).
    pub(crate) fn filters_trainable(&self) -> bool {
        let f = &self.scattering.filters;
        [&f.log_sigma, &f.xi, &f.theta, &f.log_slant]
            .iter()
            .any(|p| p.val().is_require_grad())
            || f.pixels.as_ref().is_some_and(|p| p.val().is_require_grad())
    }
}

/// Number of trainable scalars of a module on an autodiff device: the parameters that require a
/// gradient (frozen filter families and batch-norm running statistics excluded; burn's own
/// `num_params` counts the running statistics too). On a device without autodiff it is 0.
#[cfg(test)]
pub(crate) fn num_trainable_params<M: Module>(module: &M) -> usize {
    struct Count(usize);
    impl burn::module::ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let value = param.val();
            if value.is_require_grad() {
                self.0 += value.shape().num_elements();
            }
        }
    }
    let mut count = Count(0);
    module.visit(&mut count);
    count.0
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use burn::tensor::{Device, Tensor};

    use super::*;
    use crate::nn::Trainable;

    #[test]
    #[should_panic(expected = "Hybrid: expected 1 input channels, got 3")]
    fn hybrid_rejects_other_channel_counts() {
        let device = Device::flex();
        let model = HybridConfig::new(
            Scattering2dConfig::new(1, [8, 8]).with_num_orientations(2),
            1,
            3,
        )
        .init(&device);
        let _ = model.forward(Tensor::<4>::ones([2, 3, 8, 8], &device));
    }

    /// The shape `feature_shape` announces is the shape `features` returns, and the accessors give
    /// the configuration back.
    #[test]
    fn feature_shape_and_accessors_follow_the_configuration() {
        let device = Device::flex();
        let config = HybridConfig::new(
            Scattering2dConfig::new(2, [16, 12]).with_num_orientations(3),
            2,
            5,
        );
        let model = config.init(&device);
        let features = model.features(Tensor::<4>::zeros([3, 2, 16, 12], &device));
        assert_eq!(features.dims()[1..], config.feature_shape());
        assert_eq!(
            model
                .forward(Tensor::<4>::zeros([3, 2, 16, 12], &device))
                .dims(),
            [3, 5]
        );
        assert_eq!(
            (model.in_channels(), model.input_size(), model.num_classes()),
            (2, [16, 12], 5)
        );
    }

    /// Filters are trainable on an autodiff device unless every family is frozen; freezing `θ`
    /// removes one parameter per wavelet (`J·L`) from the trainable count.
    #[test]
    fn frozen_families_leave_the_trainable_filters_and_count() {
        let (j, l) = (2, 4);
        let hybrid = |trainable: Trainable, device: &Device| {
            HybridConfig::new(
                Scattering2dConfig::new(j, [16, 16])
                    .with_num_orientations(l)
                    .with_trainable(trainable),
                1,
                3,
            )
            .init(device)
        };
        let autodiff = Device::flex().autodiff();
        let all = hybrid(Trainable::all(), &autodiff);
        let no_theta = hybrid(
            Trainable {
                theta: false,
                ..Trainable::all()
            },
            &autodiff,
        );
        assert!(all.filters_trainable() && no_theta.filters_trainable());
        assert!(!hybrid(Trainable::none(), &autodiff).filters_trainable());
        assert!(!hybrid(Trainable::all(), &Device::flex()).filters_trainable());
        assert_eq!(
            num_trainable_params(&all) - num_trainable_params(&no_theta),
            j * l
        );
    }
}
