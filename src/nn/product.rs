//! The filter product with Fourier subsampling ([`super::spectral::SpectralOps::mul_subsample`])
//! and its two gradients as burn tensor operations: the tensor-op composition of the layer (what
//! wgpu runs). The CPU engine has its own kernels for the same fold (`cascade::kernels`).
//!
//! Shapes: spectra `x` `[Q, M, N]` (real and imaginary parts), real filters `psi` `[L, M, N]`,
//! output and output gradient `[Q, L, m, n]` with `m = M/k`, `n = N/k`. The hand-written backward
//! (`nn::spectral`) keeps burn's autodiff from storing the `[Q, L, M, N]` product.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::Shape;

fn dims3(shape: &Shape) -> [usize; 3] {
    [shape[0], shape[1], shape[2]]
}

/// The three operations composed of backend tensor operations (any backend; wgpu runs them).
pub(crate) mod composed {
    use super::*;

    fn reshape<B: Backend, const D: usize>(t: FloatTensor<B>, shape: [usize; D]) -> FloatTensor<B> {
        B::float_reshape(t, Shape::new(shape))
    }

    fn expand<B: Backend, const D: usize>(t: FloatTensor<B>, shape: [usize; D]) -> FloatTensor<B> {
        B::float_expand(t, Shape::new(shape))
    }

    /// `[Q, L, m, n]` to `[Q, L, M, N]` by tiling `k×k` (the adjoint of the alias sum).
    fn tile<B: Backend>(g: FloatTensor<B>, k: usize) -> FloatTensor<B> {
        B::float_repeat_dim(B::float_repeat_dim(g, 3, k), 2, k)
    }

    fn scale<B: Backend>(t: FloatTensor<B>, k: usize) -> FloatTensor<B> {
        B::float_mul_scalar(t, (1.0 / (k * k) as f64).into())
    }

    pub(crate) fn mul_subsample<B: Backend>(
        x_re: FloatTensor<B>,
        x_im: FloatTensor<B>,
        psi: FloatTensor<B>,
        k: usize,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let [q, big_m, big_n] = dims3(&x_re.shape());
        let l = psi.shape()[0];
        let (m, n) = (big_m / k, big_n / k);
        let full = [q, l, big_m, big_n];
        let f = expand::<B, 4>(reshape::<B, 4>(psi, [1, l, big_m, big_n]), full);
        let fold = |x: FloatTensor<B>| {
            let x = expand::<B, 4>(reshape::<B, 4>(x, [q, 1, big_m, big_n]), full);
            let p = reshape::<B, 6>(B::float_mul(x, f.clone()), [q, l, k, m, k, n]);
            let p = B::float_sum_dim(B::float_sum_dim(p, 4), 2);
            scale::<B>(reshape::<B, 4>(p, [q, l, m, n]), k)
        };
        (fold(x_re), fold(x_im))
    }

    pub(crate) fn grad_input<B: Backend>(
        g_re: FloatTensor<B>,
        g_im: FloatTensor<B>,
        psi: FloatTensor<B>,
        k: usize,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let gs = g_re.shape();
        let (q, l) = (gs[0], gs[1]);
        let [_, big_m, big_n] = dims3(&psi.shape());
        let full = [q, l, big_m, big_n];
        let f = expand::<B, 4>(reshape::<B, 4>(psi, [1, l, big_m, big_n]), full);
        let one = |g: FloatTensor<B>| {
            let p = B::float_sum_dim(B::float_mul(tile::<B>(g, k), f.clone()), 1);
            scale::<B>(reshape::<B, 3>(p, [q, big_m, big_n]), k)
        };
        (one(g_re), one(g_im))
    }

    pub(crate) fn grad_filter<B: Backend>(
        g_re: FloatTensor<B>,
        g_im: FloatTensor<B>,
        x_re: FloatTensor<B>,
        x_im: FloatTensor<B>,
        k: usize,
    ) -> FloatTensor<B> {
        let l = g_re.shape()[1];
        let [q, big_m, big_n] = dims3(&x_re.shape());
        let full = [q, l, big_m, big_n];
        let part = |g: FloatTensor<B>, x: FloatTensor<B>| {
            let x = expand::<B, 4>(reshape::<B, 4>(x, [q, 1, big_m, big_n]), full);
            B::float_mul(tile::<B>(g, k), x)
        };
        let sum = B::float_add(part(g_re, x_re), part(g_im, x_im));
        let sum = B::float_sum_dim(sum, 0);
        scale::<B>(reshape::<B, 3>(sum, [l, big_m, big_n]), k)
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use burn::backend::Dispatch;
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::nn::test_util::{devices, to_vec};

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Pseudo-random values of `shape`, different for each `seed`, as a backend tensor.
    fn tensor<const D: usize>(
        seed: usize,
        shape: [usize; D],
        device: &Device,
    ) -> FloatTensor<Dispatch> {
        let len = shape.iter().product();
        let values: Vec<f64> = (0..len)
            .map(|i| (i as f64 * 0.7 + seed as f64).sin())
            .collect();
        Tensor::<D>::from_data(TensorData::new(values, shape), device).into_dispatch()
    }

    /// The two gradients are the adjoints of the product, which is linear in the spectra and in
    /// the filters: `⟨P(x, ψ), g⟩ = ⟨x, grad_input(g, ψ)⟩ = ⟨ψ, grad_filter(g, x)⟩`.
    #[test]
    fn gradients_are_the_adjoints_of_the_product() {
        let (q, l, m, n) = (2, 3, 12, 8);
        for (name, device) in devices() {
            for k in [1, 2, 4] {
                let t3 = |seed: usize, shape: [usize; 3]| tensor(seed, shape, &device);
                let t4 = |seed: usize| tensor(seed, [q, l, m / k, n / k], &device);
                let (x_re, x_im, psi) = (t3(1, [q, m, n]), t3(2, [q, m, n]), t3(3, [l, m, n]));
                let (g_re, g_im) = (t4(4), t4(5));
                let v3 = |t| to_vec(Tensor::<3>::from_dispatch(t));
                let v4 = |t| to_vec(Tensor::<4>::from_dispatch(t));
                let (y_re, y_im) =
                    composed::mul_subsample::<Dispatch>(x_re.clone(), x_im.clone(), psi.clone(), k);
                let forward = dot(&v4(y_re), &v4(g_re.clone())) + dot(&v4(y_im), &v4(g_im.clone()));
                let (gx_re, gx_im) =
                    composed::grad_input::<Dispatch>(g_re.clone(), g_im.clone(), psi.clone(), k);
                let input = dot(&v3(x_re.clone()), &v3(gx_re)) + dot(&v3(x_im.clone()), &v3(gx_im));
                let g_psi = composed::grad_filter::<Dispatch>(g_re, g_im, x_re, x_im, k);
                let filter = dot(&v3(psi), &v3(g_psi));
                let scale = forward.abs().max(1.0);
                assert!(
                    (input - forward).abs() < 1e-5 * scale,
                    "{name} k={k}: {input} vs {forward}"
                );
                assert!(
                    (filter - forward).abs() < 1e-5 * scale,
                    "{name} k={k}: {filter} vs {forward}"
                );
            }
        }
    }
}
