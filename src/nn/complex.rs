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
