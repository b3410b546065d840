//! The fused filter product with Fourier subsampling ([`super::spectral::SpectralOps::mul_subsample`])
//! and its two gradients: host kernels for the CPU backends, burn tensor operations elsewhere.
//!
//! Shapes: spectra `x` `[Q, M, N]` (real and imaginary parts), real filters `psi` `[L, M, N]`,
//! output and output gradient `[Q, L, m, n]` with `m = M/k`, `n = N/k`. The fused form never
//! stores the `[Q, L, M, N]` product, which at `J = 2`, batch 128×3 is 39 M complex values for the
//! second order alone.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::{DType, Shape, TensorData, read_sync};
use num_traits::Float;
use rayon::prelude::*;

/// Number of plane blocks whose partial filter gradients are summed in a fixed order.
const FILTER_GRAD_BLOCKS: usize = 16;

fn dims3(shape: &Shape) -> [usize; 3] {
    [shape[0], shape[1], shape[2]]
}

/// Host kernels (flex, ndarray): the tensors go to host memory, rayon over the spectra.
pub(crate) mod host {
    use super::*;

    fn read<B: Backend>(t: FloatTensor<B>) -> TensorData {
        read_sync(B::float_into_data(t))
            .unwrap_or_else(|e| panic!("mul_subsample: reading a tensor failed: {e:?}"))
    }

    fn vec<T: burn::tensor::Element>(data: TensorData) -> Vec<T> {
        data.try_into_vec::<T>()
            .expect("mul_subsample: tensors of one dtype")
    }

    fn write<B: Backend, T: burn::tensor::Element>(
        v: Vec<T>,
        shape: [usize; 4],
        device: &<B as burn::backend::BackendTypes>::Device,
    ) -> FloatTensor<B> {
        B::float_from_data(TensorData::new(v, shape), device)
    }

    /// Runs `$body` with `$t` bound to the element type of `$dtype` (f32 or f64).
    macro_rules! with_float {
        ($dtype:expr, $t:ident => $body:expr) => {
            match $dtype {
                DType::F32 => {
                    type $t = f32;
                    $body
                }
                DType::F64 => {
                    type $t = f64;
                    $body
                }
                other => panic!("mul_subsample: expected f32 or f64 tensors, got {other:?}"),
            }
        };
    }

    pub(crate) fn mul_subsample<B: Backend>(
        x_re: FloatTensor<B>,
        x_im: FloatTensor<B>,
        psi: FloatTensor<B>,
        k: usize,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let [q, big_m, big_n] = dims3(&x_re.shape());
        let l = psi.shape()[0];
        let (device, dtype) = (x_re.device(), x_re.dtype());
        let (xr, xi, f) = (read::<B>(x_re), read::<B>(x_im), read::<B>(psi));
        let shape = [q, l, big_m / k, big_n / k];
        with_float!(dtype, T => {
            let (re, im) = forward::<T>(&vec(xr), &vec(xi), &vec(f), [q, l, big_m, big_n], k);
            (write::<B, T>(re, shape, &device), write::<B, T>(im, shape, &device))
        })
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
        let (device, dtype) = (g_re.device(), g_re.dtype());
        let (gr, gi, f) = (read::<B>(g_re), read::<B>(g_im), read::<B>(psi));
        let shape = [q, 1, big_m, big_n];
        let (re, im) = with_float!(dtype, T => {
            let (re, im) = input_grad::<T>(&vec(gr), &vec(gi), &vec(f), [q, l, big_m, big_n], k);
            (write::<B, T>(re, shape, &device), write::<B, T>(im, shape, &device))
        });
        let out = Shape::new([q, big_m, big_n]);
        (B::float_reshape(re, out.clone()), B::float_reshape(im, out))
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
        let (device, dtype) = (g_re.device(), g_re.dtype());
        let (gr, gi, xr, xi) = (
            read::<B>(g_re),
            read::<B>(g_im),
            read::<B>(x_re),
            read::<B>(x_im),
        );
        let out = with_float!(dtype, T => {
            let v = filter_grad::<T>(&vec(gr), &vec(gi), &vec(xr), &vec(xi), [q, l, big_m, big_n], k);
            write::<B, T>(v, [1, l, big_m, big_n], &device)
        });
        B::float_reshape(out, Shape::new([l, big_m, big_n]))
    }

    /// Calls `f(d, s)` for every run of `n` columns of the `M × N` plane: `s` is where the run
    /// starts in that plane and `d` where the row it folds onto starts in the `m × n` plane (row
    /// `I` folds onto `I mod m`, column block `b·n..(b + 1)·n` onto `0..n`). All three kernels
    /// walk the alias fold this way.
    fn for_each_run(
        [big_m, big_n]: [usize; 2],
        [m, n]: [usize; 2],
        mut f: impl FnMut(usize, usize),
    ) {
        for row in 0..big_m {
            let d = (row % m) * n;
            for block in 0..big_n / n {
                f(d, row * big_n + block * n);
            }
        }
    }

    /// `out[q, l, i, j] = (1/k²)·Σ_{a,b} x[q, a·m + i, b·n + j]·psi[l, a·m + i, b·n + j]`.
    fn forward<T: Float + Send + Sync>(
        xr: &[T],
        xi: &[T],
        psi: &[T],
        [q, l, big_m, big_n]: [usize; 4],
        k: usize,
    ) -> (Vec<T>, Vec<T>) {
        let (m, n) = (big_m / k, big_n / k);
        let (plane, small) = (big_m * big_n, m * n);
        let scale = T::from(1.0 / (k * k) as f64).expect("finite");
        let mut out_re = vec![T::zero(); q * l * small];
        let mut out_im = vec![T::zero(); q * l * small];
        out_re
            .par_chunks_mut(l * small)
            .zip(out_im.par_chunks_mut(l * small))
            .enumerate()
            .for_each(|(qi, (ore, oim))| {
                let (xr, xi) = (&xr[qi * plane..][..plane], &xi[qi * plane..][..plane]);
                for li in 0..l {
                    let f = &psi[li * plane..][..plane];
                    let (ore, oim) = (
                        &mut ore[li * small..][..small],
                        &mut oim[li * small..][..small],
                    );
                    for_each_run([big_m, big_n], [m, n], |d, s| {
                        let (ore, oim) = (&mut ore[d..d + n], &mut oim[d..d + n]);
                        let (xr, xi, f) = (&xr[s..s + n], &xi[s..s + n], &f[s..s + n]);
                        for j in 0..n {
                            ore[j] = ore[j] + xr[j] * f[j];
                            oim[j] = oim[j] + xi[j] * f[j];
                        }
                    });
                    ore.iter_mut()
                        .chain(oim.iter_mut())
                        .for_each(|v| *v = *v * scale);
                }
            });
        (out_re, out_im)
    }

    /// `x̄[q, I, J] = (1/k²)·Σ_l g[q, l, I mod m, J mod n]·psi[l, I, J]`.
    fn input_grad<T: Float + Send + Sync>(
        gr: &[T],
        gi: &[T],
        psi: &[T],
        [q, l, big_m, big_n]: [usize; 4],
        k: usize,
    ) -> (Vec<T>, Vec<T>) {
        let (m, n) = (big_m / k, big_n / k);
        let (plane, small) = (big_m * big_n, m * n);
        let scale = T::from(1.0 / (k * k) as f64).expect("finite");
        let mut out_re = vec![T::zero(); q * plane];
        let mut out_im = vec![T::zero(); q * plane];
        out_re
            .par_chunks_mut(plane)
            .zip(out_im.par_chunks_mut(plane))
            .enumerate()
            .for_each(|(qi, (ore, oim))| {
                for li in 0..l {
                    let base = (qi * l + li) * small;
                    let (gr, gi) = (&gr[base..][..small], &gi[base..][..small]);
                    let f = &psi[li * plane..][..plane];
                    for_each_run([big_m, big_n], [m, n], |d, s| {
                        let (gr, gi, f) = (&gr[d..d + n], &gi[d..d + n], &f[s..s + n]);
                        let (ore, oim) = (&mut ore[s..s + n], &mut oim[s..s + n]);
                        for j in 0..n {
                            ore[j] = ore[j] + gr[j] * f[j];
                            oim[j] = oim[j] + gi[j] * f[j];
                        }
                    });
                }
                ore.iter_mut()
                    .chain(oim.iter_mut())
                    .for_each(|v| *v = *v * scale);
            });
        (out_re, out_im)
    }

    /// `psī[l, I, J] = (1/k²)·Σ_q g_re[q, l, i, j]·x_re[q, I, J] + g_im[q, l, i, j]·x_im[q, I, J]`.
    fn filter_grad<T: Float + Send + Sync>(
        gr: &[T],
        gi: &[T],
        xr: &[T],
        xi: &[T],
        [q, l, big_m, big_n]: [usize; 4],
        k: usize,
    ) -> Vec<T> {
        let (m, n) = (big_m / k, big_n / k);
        let (plane, small) = (big_m * big_n, m * n);
        let scale = T::from(1.0 / (k * k) as f64).expect("finite");
        // Partial sums over fixed blocks of planes, added in block order: the result does not
        // depend on the thread count or on work stealing (bit-reproducible training, exact
        // resume), unlike a rayon fold/reduce.
        let block = q.div_ceil(FILTER_GRAD_BLOCKS).max(1);
        let partials: Vec<Vec<T>> = (0..q.div_ceil(block))
            .into_par_iter()
            .map(|b| {
                let mut acc = vec![T::zero(); l * plane];
                for qi in b * block..((b + 1) * block).min(q) {
                    let (xr, xi) = (&xr[qi * plane..][..plane], &xi[qi * plane..][..plane]);
                    for li in 0..l {
                        let base = (qi * l + li) * small;
                        let (gr, gi) = (&gr[base..][..small], &gi[base..][..small]);
                        let acc = &mut acc[li * plane..][..plane];
                        for_each_run([big_m, big_n], [m, n], |d, s| {
                            let (gr, gi) = (&gr[d..d + n], &gi[d..d + n]);
                            let (xr, xi) = (&xr[s..s + n], &xi[s..s + n]);
                            let acc = &mut acc[s..s + n];
                            for j in 0..n {
                                acc[j] = acc[j] + gr[j] * xr[j] + gi[j] * xi[j];
                            }
                        });
                    }
                }
                acc
            })
            .collect();
        let mut sum = vec![T::zero(); l * plane];
        for partial in partials {
            sum.iter_mut().zip(partial).for_each(|(x, y)| *x = *x + y);
        }
        sum.into_iter().map(|v| v * scale).collect()
    }
}

/// The same three operations composed of backend tensor operations (any backend; wgpu runs them).
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
