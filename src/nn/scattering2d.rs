//! The differentiable 2D scattering layer (orders 0, 1, 2), kymatio 0.3's algorithm on burn.
//!
//! ```text
//! x̂      = fft2(pad(x))                                        [P, Mp, Np]
//! U1     = |ifft2(sub_{2^j1}(x̂ · ψ̂_{j1,l1}))|                   at Mp/2^j1
//! U2     = |ifft2(sub_{2^(j2−j1)}(fft2(U1) · ψ̂_{j2,l2}[res j1]))|  at Mp/2^j2, j2 > j1
//! S_m    = unpad(ifft2(sub_{2^(J−j)}(fft2(U_m) · φ̂[res j])))   at Mp/2^J, minus one pixel a side
//! ```
//!
//! `sub_k` is kymatio's Fourier subsampling (mean of the `k×k` aliases, i.e. spatial decimation);
//! `[res r]` is the Fourier crop of a filter to resolution `2^−r` (kymatio's mask-then-sum, shared
//! with the cascade through [`crate::filters::periodize_rows`]). The padding rule and the path
//! table are [`PaddedGeometry`] and [`paths`], as in the cascade.

use burn::config::Config;
use burn::module::{Content, DisplaySettings, Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use super::filter_bank::{FilterInit, MorletFilterBank, MorletFilterBankConfig, Trainable};
use crate::cascade::Scattering2dPlan;
use crate::filters::Parametrization;
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath, paths};

/// Configuration of a [`Scattering2d`] layer, built with [`Scattering2dConfig::init`].
#[derive(Config, Debug)]
pub struct Scattering2dConfig {
    /// Number of scales `J`; the output is subsampled by `2^J`.
    pub num_scales: usize,
    /// Input size `[height, width]`.
    pub input_size: [usize; 2],
    /// Number of orientations `L`.
    #[config(default = 8)]
    pub num_orientations: usize,
    /// Highest scattering order, 1 or 2.
    #[config(default = 2)]
    pub max_order: usize,
    /// Parametrisation of the filter bank.
    #[config(default = "Parametrization::Canonical")]
    pub parametrization: Parametrization,
    /// Initial filter values.
    #[config(default = "FilterInit::TightFrame")]
    pub init: FilterInit,
    /// Trained parameter families ([`Trainable::none`] for fixed filters).
    #[config(default = "Trainable::all()")]
    pub trainable: Trainable,
    /// Keep the complex signals of every path for the backward (faster training steps; on wgpu
    /// in device memory) rather than recompute them (less memory: 133 MB less at batch
    /// 128 × 3 × 32 × 32, `J = 2`, `L = 8`). Measured in `docs/benchmarks.md`.
    #[config(default = true)]
    pub keep_intermediates: bool,
    /// Check every input for NaN and infinite values and panic at the first one, with its
    /// position ([`Scattering2d::forward`]). Off by default: the check reads the input back to
    /// the host, and without it a non-finite pixel turns the coefficients of its image (and every
    /// filter gradient) into NaN.
    #[config(default = false)]
    pub check_finite: bool,
}

impl Scattering2dConfig {
    /// Options and padded geometry, checked.
    ///
    /// # Errors
    /// [`crate::ScatterError::InvalidParameter`] for `J`, `L` or `max_order` out of range,
    /// [`crate::ScatterError::ScaleTooLarge`] if `2^J` exceeds the input size.
    pub fn geometry(&self) -> crate::error::Result<(ScatteringOptions, PaddedGeometry)> {
        let options = ScatteringOptions::with_max_order(
            self.num_scales,
            self.num_orientations,
            self.max_order,
        )?;
        let [h, w] = self.input_size;
        let geometry = PaddedGeometry::new(h, w, self.num_scales)?;
        Ok((options, geometry))
    }

    /// The configuration of the layer's filter bank (on the padded grid).
    ///
    /// # Panics
    /// As [`Scattering2dConfig::init`].
    pub(crate) fn filter_bank_config(&self) -> MorletFilterBankConfig {
        let (_, geometry) = self.geometry().unwrap_or_else(|e| panic!("{e}"));
        MorletFilterBankConfig::new(self.num_scales, geometry.padded_size())
            .with_num_orientations(self.num_orientations)
            .with_parametrization(self.parametrization)
            .with_init(self.init.clone())
            .with_trainable(self.trainable)
    }

    /// Builds the layer on `device`.
    ///
    /// # Panics
    /// On an invalid configuration, with the [`crate::ScatterError`] message, for example
    /// `2^J = 64 exceeds input size 32x32` or `invalid parameter max_order = 3: ...`.
    pub fn init(&self, device: &Device) -> Scattering2d {
        let (options, geometry) = self.geometry().unwrap_or_else(|e| panic!("{e}"));
        let filters = self.filter_bank_config().init(device);
        Scattering2d {
            filters,
            options,
            geometry,
            keep_intermediates: self.keep_intermediates,
            check_finite: self.check_finite,
        }
    }
}

/// Differentiable 2D scattering with a learnable Morlet filter bank; build it with
/// [`Scattering2dConfig::init`].
///
/// The same module serves the learnable and the fixed filter bank: a fixed bank is this layer with
/// every parameter frozen ([`Trainable::none`]), not a second code path.
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct Scattering2d {
    /// The wavelets.
    pub filters: MorletFilterBank,
    #[module(skip)]
    options: ScatteringOptions,
    #[module(skip)]
    geometry: PaddedGeometry,
    #[module(skip)]
    keep_intermediates: bool,
    #[module(skip)]
    check_finite: bool,
}

impl ModuleDisplay for Scattering2d {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let g = &self.geometry;
        let [ho, wo] = g.output_size();
        content
            .add("J", &self.options.num_scales())
            .add("L", &self.options.num_orientations())
            .add("max_order", &self.options.max_order())
            .add("K", &self.num_paths())
            .add("input", &format!("{}x{}", g.height, g.width))
            .add("padded", &format!("{}x{}", g.padded_height, g.padded_width))
            .add("output", &format!("{ho}x{wo}"))
            .add("filters", &self.filters)
            .optional()
    }
}

impl Scattering2d {
    /// Scattering options (`J`, `L`, `max_order`).
    pub fn options(&self) -> ScatteringOptions {
        self.options
    }

    /// Input size, padding and output size.
    pub fn geometry(&self) -> PaddedGeometry {
        self.geometry
    }

    /// The output channels in order (channel `k` of the output is `paths()[k]`), as in the cascade
    /// path and kymatio.
    pub fn paths(&self) -> Vec<ScatteringPath> {
        paths(&self.options)
    }

    /// Number of output channels `K` per input channel.
    pub fn num_paths(&self) -> usize {
        self.options.num_paths()
    }

    /// A plan with the current wavelet parameters, for inference on the CPU.
    ///
    /// # Errors
    /// As [`MorletFilterBank::to_params`] and [`Scattering2dPlan::with_filter_bank`].
    pub fn to_plan(&self) -> crate::error::Result<Scattering2dPlan<f32>> {
        let bank = self.filters.to_params()?;
        Scattering2dPlan::with_filter_bank(
            self.geometry.height,
            self.geometry.width,
            self.options,
            bank,
        )
    }

    /// Scattering coefficients up to `max_order`, differentiable with respect to the input and the
    /// filter parameters.
    ///
    /// The whole cascade is one operation with an analytic backward, run by the crate's
    /// [`cascade`](crate::cascade): its host executor on the CPU backends (flex, ndarray), its
    /// device executor (CubeCL kernels) on wgpu. Both give the same numbers and gradients, within
    /// f32 rounding.
    ///
    /// # Shapes
    /// - input: `[batch, channels, height, width]` (the configured `input_size`)
    /// - output: `[batch, channels, K, height / 2^J, width / 2^J]`, `K = 1 + J·L + L²·J(J−1)/2`
    ///   (`1 + J·L` for `max_order = 1`), channels in the order of [`Scattering2d::paths`]
    ///
    /// # Non-finite values
    /// Finite inputs of any magnitude give finite coefficients on every backend (planes beyond
    /// `2^40` in f32 are scaled by a power of two inside the cascade, on the host and on the
    /// device). A NaN or infinite pixel
    /// makes the coefficients of its image NaN, and every filter gradient of the batch; other
    /// images are unaffected. With [`Scattering2dConfig::check_finite`] the layer panics instead.
    ///
    /// # Panics
    /// If `height × width` is not the configured input size, or `batch` or `channels` is 0; on the
    /// CPU backends also for a dtype other than f32 or f64 (half precision is not supported), on
    /// wgpu for a dtype other than f32 (WGSL has no f64) and for a batch whose buffers exceed the
    /// device's largest binding (the message names the buffer, its size and the limit: split the
    /// batch); with `check_finite`, at the first NaN or infinite input value, naming its position
    /// (`Scattering2d: non-finite input value NaN at index [b, c, i, j]`). Gradients of gradients
    /// (second-order derivatives) are not available: the backward produces untracked tensors.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<5> {
        let [batch, channels, h, w] = self.check_input(&input);
        let x = input.reshape([batch * channels, h, w]);
        let psi = self.filters.spectra(); // [J·L, Mp, Np]
        let out = super::fused::scattering2d(x, psi, &self.options, self.keep_intermediates);
        let [_, k, oh, ow] = out.dims();
        out.reshape([batch, channels, k, oh, ow])
    }

    fn check_input(&self, input: &Tensor<4>) -> [usize; 4] {
        let dims = input.dims();
        let [batch, channels, h, w] = dims;
        let g = &self.geometry;
        assert!(
            [h, w] == [g.height, g.width] && batch > 0 && channels > 0,
            "Scattering2d: expected input [batch > 0, channels > 0, {}, {}], got {:?}",
            g.height,
            g.width,
            dims
        );
        if self.check_finite {
            let values = input
                .clone()
                .into_data()
                .convert::<f64>()
                .try_into_vec::<f64>()
                .expect("converted to f64");
            if let Some(flat) = values.iter().position(|v| !v.is_finite()) {
                let index = vec![
                    flat / (channels * h * w),
                    flat / (h * w) % channels,
                    flat / w % h,
                    flat % w,
                ];
                let e = crate::error::ScatterError::NonFiniteInput {
                    index,
                    value: values[flat],
                };
                panic!("Scattering2d: {e}");
            }
        }
        dims
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use burn::tensor::Tensor;

    use super::*;
    use crate::filters::FilterBankParams;
    use crate::nn::test_util::devices;
    use crate::nn::{FilterInit, Trainable};

    // Configuration errors: panics at init naming the bad value.

    #[test]
    #[should_panic(expected = "2^J = 64 exceeds input size 32x32")]
    fn scale_larger_than_the_image_is_rejected() {
        Scattering2dConfig::new(6, [32, 32]).init(&devices()[0].1);
    }

    #[test]
    #[should_panic(expected = "invalid parameter `num_orientations` = 0")]
    fn zero_orientations_are_rejected() {
        Scattering2dConfig::new(2, [32, 32])
            .with_num_orientations(0)
            .init(&devices()[0].1);
    }

    #[test]
    #[should_panic(expected = "invalid parameter `max_order` = 3")]
    fn order_three_is_rejected() {
        Scattering2dConfig::new(2, [32, 32])
            .with_max_order(3)
            .init(&devices()[0].1);
    }

    #[test]
    #[should_panic(expected = "wavelet 3: invalid `sigma` = -1")]
    fn negative_sigma_in_an_explicit_bank_is_rejected() {
        let mut wavelets = FilterBankParams::tight_frame(2, 4)
            .unwrap()
            .wavelets()
            .to_vec();
        wavelets[3].sigma = -1.0;
        // Deserialisation bypasses the constructor's checks; init re-checks.
        let json =
            serde_json::json!({"num_scales": 2, "num_orientations": 4, "wavelets": wavelets});
        let bank: FilterBankParams = serde_json::from_value(json).unwrap();
        Scattering2dConfig::new(2, [32, 32])
            .with_num_orientations(4)
            .with_init(FilterInit::Explicit { bank })
            .init(&devices()[0].1);
    }

    #[test]
    #[should_panic(expected = "filter bank has 16 wavelets, expected J*L = 32")]
    fn explicit_bank_of_the_wrong_size_is_rejected() {
        let bank = FilterBankParams::tight_frame(2, 8).unwrap();
        Scattering2dConfig::new(4, [32, 32])
            .with_init(FilterInit::Explicit { bank })
            .init(&devices()[0].1);
    }

    #[test]
    #[should_panic(
        expected = "expected input [batch > 0, channels > 0, 32, 32], got [2, 1, 32, 30]"
    )]
    fn wrong_input_size_panics_with_both_shapes() {
        let device = &devices()[0].1;
        let layer = Scattering2dConfig::new(2, [32, 32]).init(device);
        layer.forward(Tensor::zeros([2, 1, 32, 30], device));
    }

    // Display.

    #[test]
    fn display_shows_the_configuration() {
        let device = devices()[0].1.clone().autodiff();
        let layer = Scattering2dConfig::new(2, [32, 28])
            .with_num_orientations(4)
            .with_trainable(Trainable {
                theta: false,
                ..Trainable::all()
            })
            .init(&device);
        let text = format!("{layer}");
        println!("{text}");
        for part in [
            "Scattering2d {J: 2, L: 4, max_order: 2, K: 25, input: 32x28, padded: 40x36, output: 8x7",
            "MorletFilterBank {J: 2, L: 4, padded: 40x36, parametrization: Canonical, trained: [sigma, xi, slant]",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }
}
