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
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::complex::ComplexTensor;
use super::filter_bank::{FilterInit, MorletFilterBank, MorletFilterBankConfig, Trainable};
use crate::cascade::Scattering2dPlan;
use crate::filters::Parametrization;
use crate::filters::{FilterBankParams, periodize_rows, spectral::gabor_spectrum};
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
    /// On the CPU backends, keep the complex signals of every path for the backward (faster
    /// training steps) rather than recompute them (less memory: 133 MB less at batch
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
        let [ph, pw] = geometry.padded_size();
        let low_pass = FilterBankParams::tight_frame(self.num_scales, self.num_orientations)
            .expect("options validated above")
            .low_pass();
        let phi_full = gabor_spectrum(ph, pw, &low_pass);
        let phi = (0..self.num_scales)
            .map(|res| {
                let rows = periodize_rows(ph, res);
                let cols = periodize_rows(pw, res);
                let values: Vec<f64> = rows
                    .iter()
                    .flat_map(|&r| cols.iter().map(move |&c| (r, c)))
                    .map(|(r, c)| phi_full[[r, c]])
                    .collect();
                Tensor::<2>::from_data(TensorData::new(values, [rows.len(), cols.len()]), device)
            })
            .collect();
        Scattering2d {
            filters,
            phi,
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
    /// The fixed low-pass `φ̂` at resolutions `0..J`, shapes `[Mp/2^r, Np/2^r]`; constant.
    phi: Vec<Tensor<2>>,
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
    /// On the CPU backends (flex, ndarray) the whole cascade is one fused operation with an
    /// analytic backward (the crate's [`cascade`](crate::cascade)); elsewhere (wgpu) it is a
    /// composition of burn tensor operations. Both give the same numbers and gradients.
    ///
    /// # Shapes
    /// - input: `[batch, channels, height, width]` (the configured `input_size`)
    /// - output: `[batch, channels, K, height / 2^J, width / 2^J]`, `K = 1 + J·L + L²·J(J−1)/2`
    ///   (`1 + J·L` for `max_order = 1`), channels in the order of [`Scattering2d::paths`]
    ///
    /// # Non-finite values
    /// Finite inputs of any magnitude give finite coefficients on the CPU backends (planes beyond
    /// `2^40` in f32 are scaled by a power of two inside the cascade). A NaN or infinite pixel
    /// makes the coefficients of its image NaN, and every filter gradient of the batch; other
    /// images are unaffected. With [`Scattering2dConfig::check_finite`] the layer panics instead.
    ///
    /// # Panics
    /// If `height × width` is not the configured input size, or `batch` or `channels` is 0; on the
    /// CPU backends also for a dtype other than f32 or f64 (half precision is not supported);
    /// with `check_finite`, at the first NaN or infinite input value, naming its position
    /// (`Scattering2d: non-finite input value NaN at index [b, c, i, j]`). Gradients of gradients
    /// (second-order derivatives) are not available: the backward produces untracked tensors.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<5> {
        let [batch, channels, h, w] = self.check_input(&input);
        let x = input.reshape([batch * channels, h, w]);
        let psi = self.filters.spectra(); // [J·L, Mp, Np]
        let out = if super::fused::supports_fused(&x.device()) {
            super::fused::scattering2d(x, psi, &self.options, self.keep_intermediates)
        } else {
            self.composed(x, psi)
        };
        let [_, k, oh, ow] = out.dims();
        out.reshape([batch, channels, k, oh, ow])
    }

    /// [`Scattering2d::forward`] as a composition of burn tensor operations (the FFT and the fused
    /// filter product of `nn::spectral`), differentiated by burn's autodiff: what the layer runs on
    /// wgpu, available on every backend as a reference for the crate's tests (feature `testing`).
    ///
    /// # Shapes
    /// As [`Scattering2d::forward`].
    ///
    /// # Panics
    /// As [`Scattering2d::forward`].
    #[cfg(feature = "testing")]
    pub fn forward_composed(&self, input: Tensor<4>) -> Tensor<5> {
        let [batch, channels, h, w] = self.check_input(&input);
        let out = self.composed(
            input.reshape([batch * channels, h, w]),
            self.filters.spectra(),
        );
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

    /// The cascade in tensor operations: planes `[P, H, W]` and spectra `[J·L, Mp, Np]` to
    /// `[P, K, ho, wo]`. Blocks are computed scale by scale and put in the order of
    /// [`crate::geometry::paths`] at the end.
    fn composed(&self, x: Tensor<3>, psi: Tensor<3>) -> Tensor<4> {
        let device = x.device();
        let [planes, _, _] = x.dims();
        let g = &self.geometry;
        let (big_j, big_l) = (self.options.num_scales(), self.options.num_orientations());
        let x_hat = ComplexTensor::fft2_real(pad(x, g, &device));
        let psi_j = |j: usize, res: usize| -> Tensor<3> {
            let full = psi.clone().narrow(0, j * big_l, big_l);
            crop(full, res)
        };

        // Blocks in computation order, with the path of every channel they hold.
        let mut blocks: Vec<Tensor<4>> = Vec::new(); // each [planes, k, out_h, out_w]
        let mut order: Vec<ScatteringPath> = Vec::new();
        blocks.push(self.low_pass(x_hat.clone(), 0).unsqueeze_dim(1));
        order.push(ScatteringPath::Zeroth);
        let mut first = Vec::with_capacity(big_j);
        for j1 in 0..big_j {
            let u1 = wavelet_step(&x_hat, psi_j(j1, 0), 1 << j1); // [P·L, m, n]
            let u1_hat = ComplexTensor::fft2_real(u1);
            let s1 = self.low_pass(u1_hat.clone(), j1);
            let [_, oh, ow] = s1.dims();
            blocks.push(s1.reshape([planes, big_l, oh, ow]));
            order.extend((0..big_l).map(|l1| ScatteringPath::First { j1, l1 }));
            first.push(u1_hat);
        }
        if self.options.max_order() >= 2 {
            for (j1, u1_hat) in first.iter().enumerate() {
                // Stack the j2 blocks on a middle axis: (l1, j2, l2) within j1.
                let mut per_j2 = Vec::new();
                for j2 in j1 + 1..big_j {
                    let u2 = wavelet_step(u1_hat, psi_j(j2, j1), 1 << (j2 - j1));
                    let s2 = self.low_pass(ComplexTensor::fft2_real(u2), j2);
                    let [_, oh, ow] = s2.dims();
                    per_j2.push(s2.reshape([planes, big_l, 1, big_l * oh * ow]));
                }
                if per_j2.is_empty() {
                    continue;
                }
                let n2 = per_j2.len();
                let [oh, ow] = g.output_size();
                blocks.push(Tensor::cat(per_j2, 2).reshape([planes, big_l * n2 * big_l, oh, ow]));
                for l1 in 0..big_l {
                    for j2 in j1 + 1..big_j {
                        order.extend((0..big_l).map(|l2| ScatteringPath::Second {
                            j1,
                            l1,
                            j2,
                            l2,
                        }));
                    }
                }
            }
        }
        let out = Tensor::cat(blocks, 1);
        let position: std::collections::HashMap<ScatteringPath, usize> =
            order.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let wanted: Vec<i64> = self.paths().iter().map(|p| position[p] as i64).collect();
        if wanted.iter().enumerate().all(|(i, &p)| p == i as i64) {
            return out;
        }
        let n = wanted.len();
        out.select(
            1,
            Tensor::<1, Int>::from_data(TensorData::new(wanted, [n]), &device),
        )
    }

    /// `unpad(Re ifft2(sub_{2^(J−res)}(û · φ̂[res])))`: `[Q, m, n]` at resolution `res` to
    /// `[Q, out_h, out_w]`.
    fn low_pass(&self, u_hat: ComplexTensor<3>, res: usize) -> Tensor<3> {
        let big_j = self.options.num_scales();
        let phi = self.phi[res].clone().unsqueeze_dim::<3>(0);
        let s = u_hat.mul_subsample(phi, 1 << (big_j - res)).ifft2().re;
        let [q, _, sh, sw] = s.dims();
        let [rows, cols] = self.geometry.unpad_window();
        s.reshape([q, sh, sw]).slice([0..q, rows, cols])
    }
}

/// `|ifft2(sub_k(x̂ · ψ̂_l))|` for the `L` filters `psi` `[L, m, n]` and every plane of `x_hat`
/// `[Q, m, n]`: `[Q·L, m/k, n/k]`, plane index `q·L + l`.
fn wavelet_step(x_hat: &ComplexTensor<3>, psi: Tensor<3>, k: usize) -> Tensor<3> {
    let [q, m, n] = x_hat.re.dims();
    let l = psi.dims()[0];
    let prod = x_hat.clone().mul_subsample(psi, k).ifft2().modulus();
    prod.reshape([q * l, m / k, n / k])
}

/// Reflect padding of `[P, h, w]` to the padded grid, by gathering the source rows and columns of
/// [`PaddedGeometry::source_row`] / [`PaddedGeometry::source_col`].
fn pad(x: Tensor<3>, g: &PaddedGeometry, device: &Device) -> Tensor<3> {
    let index = |n: usize, f: &dyn Fn(usize) -> usize| {
        let v: Vec<i64> = (0..n).map(|i| f(i) as i64).collect();
        Tensor::<1, Int>::from_data(TensorData::new(v, [n]), device)
    };
    let rows = index(g.padded_height, &|i| g.source_row(i));
    let cols = index(g.padded_width, &|i| g.source_col(i));
    x.select(1, rows).select(2, cols)
}

/// Fourier crop of filters `[L, M, N]` to resolution `2^−res` (kymatio `periodize_filter_fft`),
/// with the indices of [`periodize_rows`].
fn crop(t: Tensor<3>, res: usize) -> Tensor<3> {
    if res == 0 {
        return t;
    }
    let [_, big_m, big_n] = t.dims();
    let device = t.device();
    let index = |len: usize| {
        let v: Vec<i64> = periodize_rows(len, res)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        let n = v.len();
        Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &device)
    };
    t.select(1, index(big_m)).select(2, index(big_n))
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
