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
    /// The 2D DFT of a real tensor over its last two dimensions ([`fft2`]).
    pub fn fft2_real(x: Tensor<D>) -> Self {
        let (re, im) = fft2_real(x);
        Self { re, im }
    }

    /// The inverse 2D DFT over the last two dimensions ([`ifft2`]).
    pub fn ifft2(self) -> Self {
        let (re, im) = ifft2(self.re, self.im);
        Self { re, im }
    }

    /// Product with a real tensor (broadcast).
    pub fn mul_real(self, other: Tensor<D>) -> Self {
        Self {
            re: self.re * other.clone(),
            im: self.im * other,
        }
    }

    /// Product with the real filters `psi` `[L, M, N]` fused with kymatio's Fourier subsampling
    /// by `k` ([`mul_subsample`]): `[Q, M, N]` spectra to `[Q, L, M/k, N/k]`.
    pub fn mul_subsample(self, psi: Tensor<3>, k: usize) -> ComplexTensor<4>
    where
        Self: Into<ComplexTensor<3>>,
    {
        let z: ComplexTensor<3> = self.into();
        let (re, im) = mul_subsample(z.re, z.im, psi, k);
        ComplexTensor { re, im }
    }

    /// Inserts a dimension of size 1 at `dim`.
    pub fn unsqueeze_dim<const D2: usize>(self, dim: usize) -> ComplexTensor<D2> {
        ComplexTensor {
            re: self.re.unsqueeze_dim(dim),
            im: self.im.unsqueeze_dim(dim),
        }
    }

    /// kymatio's Fourier subsampling by `k` over the last two dimensions: the mean of the `k×k`
    /// aliases, `y[i, j] = (1/k²)·Σ_{a,b<k} x[a·M/k + i, b·N/k + j]`, which is the spectrum of the
    /// spatial decimation `x[k·i, k·j]` at `(M/k) × (N/k)`.
    ///
    /// # Panics
    /// If the last two sizes are not divisible by `k`.
    pub fn subsample(self, k: usize) -> Self {
        if k == 1 {
            return self;
        }
        Self {
            re: subsample_real(self.re, k),
            im: subsample_real(self.im, k),
        }
    }

    /// `|z|`, with a zero gradient where `z = 0` (see [`MODULUS_FLOOR`]).
    pub fn modulus(self) -> Tensor<D> {
        (self.re.clone() * self.re + self.im.clone() * self.im)
            .clamp_min(MODULUS_FLOOR)
            .sqrt()
    }
}

fn subsample_real<const D: usize>(x: Tensor<D>, k: usize) -> Tensor<D> {
    let dims = x.dims();
    let (m, n) = (dims[D - 2], dims[D - 1]);
    assert!(
        m % k == 0 && n % k == 0,
        "subsample: a {m}x{n} spectrum cannot be subsampled by {k}"
    );
    let lead: usize = dims[..D - 2].iter().product();
    let folded = x
        .reshape([lead, k, m / k, k, n / k])
        .sum_dim(3)
        .sum_dim(1)
        .mul_scalar(1.0 / (k * k) as f64);
    let mut out = dims;
    out[D - 2] = m / k;
    out[D - 1] = n / k;
    folded.reshape(out)
}
