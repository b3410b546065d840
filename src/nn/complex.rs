//! A complex tensor as separate real and imaginary parts, with the few operations scattering needs.

use burn::tensor::Tensor;

use super::spectral::{fft2_real, ifft2, mul_subsample};

/// Squared moduli below this are treated as zero by [`ComplexTensor::modulus`]: the forward value
/// moves by at most `√MODULUS_FLOOR = 1e-15`, and the gradient at `z = 0` is 0 instead of
/// infinite (kymatio's `ModulusStable` sets it to 0 as well).
pub const MODULUS_FLOOR: f64 = 1e-30;

/// `re + i·im`, both of the same shape.
#[derive(Clone, Debug)]
pub struct ComplexTensor<const D: usize> {
    /// Real part.
    pub re: Tensor<D>,
    /// Imaginary part.
    pub im: Tensor<D>,
}

impl<const D: usize> ComplexTensor<D> {
    /// The 2D DFT of a real tensor over its last two dimensions ([`fft2_real`]).
    pub fn fft2_real(x: Tensor<D>) -> Self {
        let (re, im) = fft2_real(x);
        Self { re, im }
    }

    /// The inverse 2D DFT over the last two dimensions ([`ifft2`]).
    pub fn ifft2(self) -> Self {
        let (re, im) = ifft2(self.re, self.im);
        Self { re, im }
    }

    /// `|z|`, with a zero gradient where `z = 0` (see [`MODULUS_FLOOR`]).
    pub fn modulus(self) -> Tensor<D> {
        (self.re.clone() * self.re + self.im.clone() * self.im)
            .clamp_min(MODULUS_FLOOR)
            .sqrt()
    }
}

impl ComplexTensor<3> {
    /// Product with the real filters `psi` `[L, M, N]` fused with kymatio's Fourier subsampling
    /// by `k` ([`mul_subsample`]): `[Q, M, N]` spectra to `[Q, L, M/k, N/k]`.
    pub fn mul_subsample(self, psi: Tensor<3>, k: usize) -> ComplexTensor<4> {
        let (re, im) = mul_subsample(self.re, self.im, psi, k);
        ComplexTensor { re, im }
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::nn::test_util::{devices, max_rel, to_vec};

    /// `|z|` is `hypot(re, im)`; its gradient is `z / |z|`, and 0 at `z = 0` instead of NaN.
    #[test]
    fn modulus_is_the_absolute_value_with_a_zero_gradient_at_zero() {
        let re_v = [3.0, 0.0, -1.5, 0.0, 1e-3];
        let im_v = [4.0, -2.0, 2.0, 0.0, -2e-3];
        let abs: Vec<f64> = re_v
            .iter()
            .zip(&im_v)
            .map(|(a, b)| f64::hypot(*a, *b))
            .collect();
        let unit = |v: &[f64; 5]| -> Vec<f64> {
            v.iter()
                .zip(&abs)
                .map(|(x, r)| if *r == 0.0 { 0.0 } else { x / r })
                .collect()
        };
        for (name, device) in devices() {
            let device = device.autodiff();
            let t = |v: &[f64; 5]| {
                Tensor::<1>::from_data(TensorData::new(v.to_vec(), [5]), &device).require_grad()
            };
            let (re, im) = (t(&re_v), t(&im_v));
            let modulus = ComplexTensor {
                re: re.clone(),
                im: im.clone(),
            }
            .modulus();
            let got = to_vec(modulus.clone());
            assert!(max_rel(&got, &abs) < 1e-6, "{name}: {got:?} vs {abs:?}");
            let grads = modulus.sum().backward();
            let g_re = to_vec(re.grad(&grads).expect("gradient"));
            let g_im = to_vec(im.grad(&grads).expect("gradient"));
            assert!(max_rel(&g_re, &unit(&re_v)) < 1e-5, "{name}: {g_re:?}");
            assert!(max_rel(&g_im, &unit(&im_v)) < 1e-5, "{name}: {g_im:?}");
            assert_eq!((g_re[3], g_im[3]), (0.0, 0.0), "{name}: gradient at z = 0");
        }
    }

    /// `fft2_real` then `ifft2` gives the real input back, with a zero imaginary part.
    #[test]
    fn fft2_real_then_ifft2_gives_the_input_back() {
        let (h, w) = (6, 5);
        let x: Vec<f64> = (0..2 * h * w)
            .map(|i| ((i * 11 % 17) as f64 - 8.0) / 5.0)
            .collect();
        for (name, device) in devices() {
            let t = Tensor::<3>::from_data(TensorData::new(x.clone(), [2, h, w]), &device);
            let back = ComplexTensor::fft2_real(t).ifft2();
            assert!(max_rel(&to_vec(back.re), &x) < 1e-6, "{name}: real part");
            let im = to_vec(back.im);
            assert!(im.iter().all(|v| v.abs() < 1e-5), "{name}: {im:?}");
        }
    }
}
