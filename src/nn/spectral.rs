//! A differentiable 2D discrete Fourier transform of any size, on every backend.
//!
//! burn 0.22.1's FFT (`burn-signal`) takes powers of two only and has no ndarray kernel, while
//! kymatio's padded grids are multiples of `2^J` (40×40 for a 32×32 image at `J = 2`). This module
//! is a backend extension ([`SpectralOps`]) with one operation, the complex 2D transform over the
//! last two dimensions:
//!
//! - **CPU backends** (ndarray, flex): RustFFT (mixed radix, any length), planned once per grid
//!   and cached, rayon over the planes. The tensor crosses into host memory and back
//!   (`into_data` / `from_data`).
//! - **CubeCL backends** (wgpu): dense DFT matrices, `X ↦ F_M·X·F_N` as batched matmuls.
//! - **Autodiff**: a hand-written backward. The unnormalised forward DFT `F` has the adjoint
//!   `F^H = M·N·F⁻¹`, so the backward of [`fft2`] is [`ifft2`] times `M·N`, and the backward of
//!   [`ifft2`] is [`fft2`] divided by `M·N`.
//!
//! Convention (numpy's): `fft2` is `X[k, l] = Σ x[m, n]·e^{−2πi(km/M + ln/N)}`, unnormalised;
//! `ifft2` is the exact inverse, with the `1/(M·N)` factor. The design and the measured cost of the
//! alternatives are in `docs/design.md`.

// burn 0.22 deprecates its ndarray backend; it stays supported here (see `nn::cpu_device`).
#![allow(deprecated)]

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Tensor, TensorData, read_sync};
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{FftNum, FftPlanner};

use super::product::composed;
use crate::cascade::kernels::{Fft2, natural_in_place};

/// The spectral operations a backend supplies to the scattering layer.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(feature = "wgpu"),
    Autodiff,
)]
pub trait SpectralOps: Backend {
    /// Complex 2D DFT over the last two dimensions of `re + i·im` (same shape, rank ≥ 2).
    /// `inverse = false`: unnormalised forward transform; `inverse = true`: inverse transform
    /// including the `1/(M·N)` factor. Returns the real and imaginary parts.
    fn fft2(
        re: FloatTensor<Self>,
        im: FloatTensor<Self>,
        inverse: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Unnormalised forward 2D DFT of a real tensor over its last two dimensions (rank ≥ 2).
    /// Returns the real and imaginary parts of the full spectrum.
    fn fft2_real(x: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Product of complex spectra `x` (`[Q, M, N]`) with real filters `psi` (`[L, M, N]`) followed
    /// by kymatio's Fourier subsampling by `k` (mean of the `k×k` aliases):
    /// `out[q, l, i, j] = (1/k²)·Σ_{a,b<k} x[q, a·M/k + i, b·N/k + j]·psi[l, a·M/k + i, b·N/k + j]`,
    /// shape `[Q, L, M/k, N/k]`. Fused so that the `[Q, L, M, N]` product is never stored.
    fn mul_subsample(
        x_re: FloatTensor<Self>,
        x_im: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        k: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Gradient of [`SpectralOps::mul_subsample`] with respect to `x`, from the output gradient
    /// `g` (`[Q, L, M/k, N/k]`): `x̄[q, I, J] = (1/k²)·Σ_l g[q, l, I mod M/k, J mod N/k]·psi[l, I, J]`.
    fn mul_subsample_grad_input(
        g_re: FloatTensor<Self>,
        g_im: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        k: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Gradient of [`SpectralOps::mul_subsample`] with respect to the real `psi`:
    /// `psī[l, I, J] = (1/k²)·Σ_q Re(g[q, l, I mod M/k, J mod N/k])·x_re[q, I, J] + Im(..)·x_im[q, I, J]`.
    fn mul_subsample_grad_filter(
        g_re: FloatTensor<Self>,
        g_im: FloatTensor<Self>,
        x_re: FloatTensor<Self>,
        x_im: FloatTensor<Self>,
        k: usize,
    ) -> FloatTensor<Self>;
}

/// [`SpectralOps::mul_subsample`] on tensors: `x` `[Q, M, N]` (real and imaginary parts) times
/// the real filters `psi` `[L, M, N]`, subsampled by `k`: `[Q, L, M/k, N/k]`, differentiable.
///
/// # Panics
/// If the shapes disagree or `M`, `N` are not multiples of `k`.
pub fn mul_subsample(
    x_re: Tensor<3>,
    x_im: Tensor<3>,
    psi: Tensor<3>,
    k: usize,
) -> (Tensor<4>, Tensor<4>) {
    let [_, m, n] = x_re.dims();
    assert!(
        x_re.dims() == x_im.dims() && psi.dims()[1..] == [m, n],
        "mul_subsample: spectra {:?} / {:?} and filters {:?} must share the last two sizes",
        x_re.dims(),
        x_im.dims(),
        psi.dims()
    );
    assert!(
        k > 0 && m % k == 0 && n % k == 0,
        "mul_subsample: a {m}x{n} spectrum cannot be subsampled by {k}"
    );
    let (re, im) = <Dispatch as SpectralOps>::mul_subsample(
        x_re.into_dispatch(),
        x_im.into_dispatch(),
        psi.into_dispatch(),
        k,
    );
    (Tensor::from_dispatch(re), Tensor::from_dispatch(im))
}

/// Forward 2D DFT (unnormalised, `e^{−iω·x}`) over the last two dimensions of `re + i·im`.
///
/// # Shapes
/// - `re`, `im`: `[..., height, width]` (identical, rank `D ≥ 2`)
/// - output: the real and imaginary parts, `[..., height, width]`
///
/// # Panics
/// If `D < 2`, if the shapes differ, or if the tensors are on different devices.
pub fn fft2<const D: usize>(re: Tensor<D>, im: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
    transform(re, im, false)
}

/// Forward 2D DFT of a real tensor (as [`fft2`] with a zero imaginary part, without building it).
///
/// # Shapes
/// - `x`: `[..., height, width]` (rank `D ≥ 2`)
/// - output: the real and imaginary parts, `[..., height, width]`
///
/// # Panics
/// If `D < 2`.
pub fn fft2_real<const D: usize>(x: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
    assert!(
        D >= 2,
        "fft2_real: expected a tensor of rank >= 2, got rank {D}"
    );
    let (re, im) = <Dispatch as SpectralOps>::fft2_real(x.into_dispatch());
    (Tensor::from_dispatch(re), Tensor::from_dispatch(im))
}

/// Inverse 2D DFT (with the `1/(height·width)` factor) over the last two dimensions.
///
/// # Shapes
/// As [`fft2`].
///
/// # Panics
/// As [`fft2`].
pub fn ifft2<const D: usize>(re: Tensor<D>, im: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
    transform(re, im, true)
}

/// Alternatives kept for tests and benchmarks (through `crate::testing`): the dense DFT and the
/// tensor-op composition of the filter product, differentiable through burn's own autodiff.
pub(crate) mod alternatives {
    use super::*;

    /// [`mul_subsample`] composed of burn tensor operations (what the wgpu backend runs), on any
    /// backend and differentiable through burn's own autodiff; for tests and comparisons.
    pub fn mul_subsample_composed(
        x_re: Tensor<3>,
        x_im: Tensor<3>,
        psi: Tensor<3>,
        k: usize,
    ) -> (Tensor<4>, Tensor<4>) {
        let (re, im) = composed::mul_subsample::<Dispatch>(
            x_re.into_dispatch(),
            x_im.into_dispatch(),
            psi.into_dispatch(),
            k,
        );
        (Tensor::from_dispatch(re), Tensor::from_dispatch(im))
    }

    /// The transform of [`fft2`] (`inverse = false`) or [`ifft2`] (`inverse = true`) computed with
    /// dense DFT matrices on any backend, differentiable through burn's own matmul. It is what the
    /// wgpu backend runs; on the CPU it is the slower alternative measured in `docs/design.md`.
    ///
    /// # Shapes
    /// As [`fft2`].
    pub fn dft2<const D: usize>(
        re: Tensor<D>,
        im: Tensor<D>,
        inverse: bool,
    ) -> (Tensor<D>, Tensor<D>) {
        assert!(D >= 2, "dft2: expected a tensor of rank >= 2, got rank {D}");
        let (re, im) = dense_fft2::<Dispatch>(re.into_dispatch(), im.into_dispatch(), inverse);
        (Tensor::from_dispatch(re), Tensor::from_dispatch(im))
    }
}

fn transform<const D: usize>(
    re: Tensor<D>,
    im: Tensor<D>,
    inverse: bool,
) -> (Tensor<D>, Tensor<D>) {
    assert!(D >= 2, "fft2: expected a tensor of rank >= 2, got rank {D}");
    assert_eq!(
        re.dims(),
        im.dims(),
        "fft2: real part {:?} and imaginary part {:?} must have the same shape",
        re.dims(),
        im.dims()
    );
    let (re, im) = <Dispatch as SpectralOps>::fft2(re.into_dispatch(), im.into_dispatch(), inverse);
    (Tensor::from_dispatch(re), Tensor::from_dispatch(im))
}

// ---------------------------------------------------------------------------------------------
// CPU: RustFFT over host copies.

/// The CPU backends run [`host_fft2`] for the transforms; the filter product is the tensor-op
/// composition with its hand-written backward, as on wgpu (the layer itself runs the fused
/// cascade of [`super::fused`] on these backends).
macro_rules! host_spectral_ops {
    ($feature:literal, $backend:ty) => {
        #[cfg(feature = $feature)]
        impl SpectralOps for $backend {
            fn fft2(
                re: FloatTensor<Self>,
                im: FloatTensor<Self>,
                inverse: bool,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                host_fft2::<Self>(re, Some(im), inverse)
            }

            fn fft2_real(x: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>) {
                host_fft2::<Self>(x, None, false)
            }

            fn mul_subsample(
                x_re: FloatTensor<Self>,
                x_im: FloatTensor<Self>,
                psi: FloatTensor<Self>,
                k: usize,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                composed::mul_subsample::<Self>(x_re, x_im, psi, k)
            }

            fn mul_subsample_grad_input(
                g_re: FloatTensor<Self>,
                g_im: FloatTensor<Self>,
                psi: FloatTensor<Self>,
                k: usize,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                composed::grad_input::<Self>(g_re, g_im, psi, k)
            }

            fn mul_subsample_grad_filter(
                g_re: FloatTensor<Self>,
                g_im: FloatTensor<Self>,
                x_re: FloatTensor<Self>,
                x_im: FloatTensor<Self>,
                k: usize,
            ) -> FloatTensor<Self> {
                composed::grad_filter::<Self>(g_re, g_im, x_re, x_im, k)
            }
        }
    };
}

host_spectral_ops!("ndarray", burn::backend::NdArray);
host_spectral_ops!("flex", burn::backend::Flex);

/// The 2D transform of every `[M, N]` plane of `re + i·im`, computed with RustFFT on the host.
/// A missing imaginary part is zero.
fn host_fft2<B: Backend>(
    re: FloatTensor<B>,
    im: Option<FloatTensor<B>>,
    inverse: bool,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let shape = re.shape();
    let device = re.device();
    let dtype = re.dtype();
    let read = |t| {
        read_sync(B::float_into_data(t))
            .unwrap_or_else(|e| panic!("fft2: reading a tensor failed: {e:?}"))
    };
    let (re, im) = (read(re), im.map(read));
    let (out_re, out_im) = match dtype {
        DType::F32 => planes::<f32>(re, im, &shape, inverse),
        DType::F64 => planes::<f64>(re, im, &shape, inverse),
        other => panic!("fft2: expected an f32 or f64 tensor, got {other:?}"),
    };
    (
        B::float_from_data(out_re, &device),
        B::float_from_data(out_im, &device),
    )
}

fn planes<T: FftNum + burn::tensor::Element>(
    re: TensorData,
    im: Option<TensorData>,
    shape: &Shape,
    inverse: bool,
) -> (TensorData, TensorData) {
    let rank = shape.num_dims();
    let (h, w) = (shape[rank - 2], shape[rank - 1]);
    let re = re.try_into_vec::<T>().expect("fft2: dtype checked above");
    let mut z: Vec<Complex<T>> = match im {
        Some(im) => {
            let im = im.try_into_vec::<T>().expect("fft2: dtype checked above");
            re.iter()
                .zip(&im)
                .map(|(&a, &b)| Complex::new(a, b))
                .collect()
        }
        None => re.iter().map(|&a| Complex::new(a, T::zero())).collect(),
    };
    let plane = h * w;
    if plane > 0 {
        let fft = cached_plan::<T>(h, w);
        let scale = T::from_f64(1.0 / plane as f64).expect("finite");
        z.par_chunks_mut(plane).for_each_init(
            || {
                let zero = Complex::new(T::zero(), T::zero());
                (vec![zero; plane], vec![zero; fft.scratch_len()])
            },
            |(tmp, scratch), x| {
                natural_in_place(&fft, inverse, x, tmp, scratch);
                if inverse {
                    x.iter_mut().for_each(|v| *v = *v * scale);
                }
            },
        );
    }
    let (out_re, out_im): (Vec<T>, Vec<T>) = z.into_iter().map(|c| (c.re, c.im)).unzip();
    (
        TensorData::new(out_re, shape.clone()),
        TensorData::new(out_im, shape.clone()),
    )
}

type PlanCache = Mutex<HashMap<(TypeId, usize, usize), Arc<dyn Any + Send + Sync>>>;

/// RustFFT plans for an `h × w` grid, built once per process and shared (plan once, execute many).
fn cached_plan<T: FftNum>(h: usize, w: usize) -> Arc<Fft2<T>> {
    static CACHE: OnceLock<PlanCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    let entry = map
        .entry((TypeId::of::<T>(), h, w))
        .or_insert_with(|| Arc::new(Fft2::<T>::new(&mut FftPlanner::new(), h, w)));
    Arc::clone(entry)
        .downcast::<Fft2<T>>()
        .expect("the cache key holds the element type")
}

// ---------------------------------------------------------------------------------------------
// Any backend: dense DFT matrices (used for CubeCL, available to tests everywhere).

#[cfg(feature = "wgpu")]
impl SpectralOps for burn::backend::Cube {
    fn fft2(
        re: FloatTensor<Self>,
        im: FloatTensor<Self>,
        inverse: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        dense_fft2::<Self>(re, im, inverse)
    }

    fn fft2_real(x: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>) {
        dense_fft2_real::<Self>(x)
    }

    fn mul_subsample(
        x_re: FloatTensor<Self>,
        x_im: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        k: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::mul_subsample::<Self>(x_re, x_im, psi, k)
    }

    fn mul_subsample_grad_input(
        g_re: FloatTensor<Self>,
        g_im: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        k: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::grad_input::<Self>(g_re, g_im, psi, k)
    }

    fn mul_subsample_grad_filter(
        g_re: FloatTensor<Self>,
        g_im: FloatTensor<Self>,
        x_re: FloatTensor<Self>,
        x_im: FloatTensor<Self>,
        k: usize,
    ) -> FloatTensor<Self> {
        composed::grad_filter::<Self>(g_re, g_im, x_re, x_im, k)
    }
}

/// The 2D transform as two batched products with dense DFT matrices: `O(M·N·(M + N))` per plane,
/// all in backend kernels (no host round trip).
pub(crate) fn dense_fft2<B: Backend>(
    re: FloatTensor<B>,
    im: FloatTensor<B>,
    inverse: bool,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let shape = re.shape();
    let rank = shape.num_dims();
    let (h, w) = (shape[rank - 2], shape[rank - 1]);
    let batch = shape.num_elements() / (h * w).max(1);
    let flat = |t: FloatTensor<B>| B::float_reshape(t, Shape::new([batch, h, w]));
    let (re, im) = (flat(re), flat(im));
    // Along the last dimension, then along the rows (by transposing).
    let (re, im) = dft_last_dim::<B>(re, im, inverse);
    let swap = |t| B::float_swap_dims(t, 1, 2);
    let (re, im) = dft_last_dim::<B>(swap(re), swap(im), inverse);
    let (mut re, mut im) = (swap(re), swap(im));
    if inverse {
        let scale = 1.0 / (h * w) as f64;
        re = B::float_mul_scalar(re, scale.into());
        im = B::float_mul_scalar(im, scale.into());
    }
    (
        B::float_reshape(re, shape.clone()),
        B::float_reshape(im, shape),
    )
}

/// [`dense_fft2`] of a real tensor (zero imaginary part).
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
fn dense_fft2_real<B: Backend>(x: FloatTensor<B>) -> (FloatTensor<B>, FloatTensor<B>) {
    let im = B::float_zeros(x.shape(), &x.device(), x.dtype().into());
    dense_fft2::<B>(x, im, false)
}

/// `(re + i·im)·(C ∓ i·S)` along the last dimension, `C[k, n] = cos(2πkn/N)`,
/// `S[k, n] = sin(2πkn/N)` (symmetric): `re·C ± im·S` and `im·C ∓ re·S`.
fn dft_last_dim<B: Backend>(
    re: FloatTensor<B>,
    im: FloatTensor<B>,
    inverse: bool,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let shape = re.shape();
    let n = shape[2];
    let device = re.device();
    let dtype = re.dtype();
    let (cos, sin) = dft_matrices(n);
    let matrix = |v: Vec<f64>| {
        let data = TensorData::new(v, [1, n, n]).convert_dtype(dtype);
        B::float_from_data(data, &device)
    };
    let (c, s) = (matrix(cos), matrix(sin));
    let mm = |a: &FloatTensor<B>, b: &FloatTensor<B>| B::float_matmul(a.clone(), b.clone());
    let (rc, rs, ic, is) = (mm(&re, &c), mm(&re, &s), mm(&im, &c), mm(&im, &s));
    if inverse {
        (B::float_sub(rc, is), B::float_add(ic, rs))
    } else {
        (B::float_add(rc, is), B::float_sub(ic, rs))
    }
}

/// `cos(2πkn/N)` and `sin(2πkn/N)`, row-major `N × N`, with `kn mod N` reduced exactly.
fn dft_matrices(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut cos = Vec::with_capacity(n * n);
    let mut sin = Vec::with_capacity(n * n);
    for k in 0..n {
        for m in 0..n {
            let angle = 2.0 * std::f64::consts::PI * ((k * m) % n) as f64 / n as f64;
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    (cos, sin)
}

// ---------------------------------------------------------------------------------------------
// Autodiff: the backward of a linear map is its adjoint.

mod autodiff {
    use super::SpectralOps;
    use burn::backend::autodiff::{
        Autodiff,
        checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
        grads::Gradients,
        ops::{Backward, NodeGuard, Ops, OpsKind},
    };
    use burn::backend::ops::FloatTensorOps;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Backend, TensorMetadata};
    use burn::tensor::Slice;

    #[derive(Debug)]
    struct Fft2Backward;

    /// `(inverse, plane size M·N, output halves)`.
    type State = (bool, usize, Halves);

    impl<B: Backend + SpectralOps> Backward<B, 2> for Fft2Backward {
        type State = State;

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let (inverse, plane, halves) = ops.state;
            let [node_re, node_im] = ops.parents;
            let (grad_re, grad_im) = halves.split::<B>(grads.consume::<B>(&ops.node));
            // Adjoint of the unnormalised forward DFT: M·N·ifft2; of ifft2: fft2 / (M·N).
            let (re, im) = B::fft2(grad_re, grad_im, !inverse);
            let scale = if inverse {
                1.0 / plane as f64
            } else {
                plane as f64
            };
            if let Some(node) = node_re {
                grads.register::<B>(node.id, B::float_mul_scalar(re.clone(), scale.into()));
            }
            if let Some(node) = node_im {
                grads.register::<B>(node.id, B::float_mul_scalar(im, scale.into()));
            }
        }
    }

    #[derive(Debug)]
    struct Fft2RealBackward;

    impl<B: Backend + SpectralOps> Backward<B, 1> for Fft2RealBackward {
        type State = State;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let (_, plane, halves) = ops.state;
            let [node] = ops.parents;
            let (grad_re, grad_im) = halves.split::<B>(grads.consume::<B>(&ops.node));
            // The input is real: its gradient is the real part of the adjoint, M·N·ifft2.
            let (re, _) = B::fft2(grad_re, grad_im, true);
            if let Some(node) = node {
                grads.register::<B>(node.id, B::float_mul_scalar(re, (plane as f64).into()));
            }
        }
    }

    /// Where the real and imaginary halves sit in the stacked output of a two-output op.
    ///
    /// burn's autodiff tracks one output per node, so a complex result is stacked along
    /// dimension 0 into one tracked tensor and sliced apart again (burn-signal's pattern).
    #[derive(Clone, Debug)]
    struct Halves {
        re: Vec<Slice>,
        im: Vec<Slice>,
    }

    impl Halves {
        fn of(shape: &burn::tensor::Shape) -> Self {
            let re: Vec<Slice> = shape.iter().map(|&len| Slice::from(0..len)).collect();
            let mut im = re.clone();
            im[0] = Slice::from(shape[0]..2 * shape[0]);
            Self { re, im }
        }

        /// The gradient of the stacked node, split into its real and imaginary halves.
        fn split<B: Backend>(&self, grad: FloatTensor<B>) -> (FloatTensor<B>, FloatTensor<B>) {
            (
                B::float_slice(grad.clone(), &self.re),
                B::float_slice(grad, &self.im),
            )
        }
    }

    /// The real and imaginary parts of a complex result.
    type Pair<B> = (FloatTensor<B>, FloatTensor<B>);

    /// Records a two-output op: stacks `(re, im)` into one node whose backward is `backward` with
    /// the state `state(halves)`, and returns the two halves as autodiff tensors.
    fn record_pair<B, C, W, const N: usize>(
        backward: W,
        guards: [NodeGuard; N],
        (re, im): Pair<B>,
        state: impl FnOnce(Halves) -> W::State,
    ) -> Pair<Autodiff<B, C>>
    where
        B: Backend + SpectralOps,
        C: CheckpointStrategy,
        W: Backward<B, N>,
    {
        let halves = Halves::of(&re.shape());
        let both = B::float_cat(vec![re, im], 0);
        let both = match backward.prepare::<C>(guards).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(state(halves.clone()), both),
            OpsKind::UnTracked(prep) => prep.finish(both),
        };
        (
            Autodiff::<B, C>::float_slice(both.clone(), &halves.re),
            Autodiff::<B, C>::float_slice(both, &halves.im),
        )
    }

    fn plane_size(shape: &burn::tensor::Shape) -> usize {
        let rank = shape.num_dims();
        shape[rank - 2] * shape[rank - 1]
    }

    #[derive(Debug)]
    struct MulSubsampleBackward;

    /// `(k, output halves, x_re, x_im, psi)`.
    type ProductState<B> = (
        usize,
        Halves,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    impl<B: Backend + SpectralOps> Backward<B, 3> for MulSubsampleBackward {
        type State = ProductState<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 3>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let (k, halves, x_re, x_im, psi) = ops.state;
            let [node_re, node_im, node_psi] = ops.parents;
            let (g_re, g_im) = halves.split::<B>(grads.consume::<B>(&ops.node));
            if node_re.is_some() || node_im.is_some() {
                let (re, im) = B::mul_subsample_grad_input(g_re.clone(), g_im.clone(), psi, k);
                if let Some(node) = node_re {
                    grads.register::<B>(node.id, re);
                }
                if let Some(node) = node_im {
                    grads.register::<B>(node.id, im);
                }
            }
            if let Some(node) = node_psi {
                grads.register::<B>(
                    node.id,
                    B::mul_subsample_grad_filter(g_re, g_im, x_re, x_im, k),
                );
            }
        }
    }

    /// The gradient operations are not differentiated again.
    #[derive(Debug)]
    struct NoSecondOrder;

    impl<B: Backend, const N: usize> Backward<B, N> for NoSecondOrder {
        type State = ();

        fn backward(self, _: Ops<(), N>, _: &mut Gradients, _: &mut Checkpointer) {
            panic!("second-order derivatives of the scattering filter product are not implemented");
        }
    }

    fn untracked<B: Backend, C: CheckpointStrategy, const N: usize>(
        guards: [NodeGuard; N],
        out: FloatTensor<B>,
    ) -> FloatTensor<Autodiff<B, C>> {
        match NoSecondOrder
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    impl<B: Backend + SpectralOps, C: CheckpointStrategy> SpectralOps for Autodiff<B, C> {
        fn mul_subsample(
            x_re: FloatTensor<Self>,
            x_im: FloatTensor<Self>,
            psi: FloatTensor<Self>,
            k: usize,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let guards = [x_re.node(), x_im.node(), psi.node()];
            let (x_re, x_im, psi) = (
                x_re.into_primitive(),
                x_im.into_primitive(),
                psi.into_primitive(),
            );
            let out = B::mul_subsample(x_re.clone(), x_im.clone(), psi.clone(), k);
            record_pair::<B, C, _, 3>(MulSubsampleBackward, guards, out, |halves| {
                (k, halves, x_re, x_im, psi)
            })
        }

        fn mul_subsample_grad_input(
            g_re: FloatTensor<Self>,
            g_im: FloatTensor<Self>,
            psi: FloatTensor<Self>,
            k: usize,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let guards = || [g_re.node(), g_im.node(), psi.node()];
            let (re, im) = B::mul_subsample_grad_input(
                g_re.primitive().clone(),
                g_im.primitive().clone(),
                psi.primitive().clone(),
                k,
            );
            (
                untracked::<B, C, 3>(guards(), re),
                untracked::<B, C, 3>(guards(), im),
            )
        }

        fn mul_subsample_grad_filter(
            g_re: FloatTensor<Self>,
            g_im: FloatTensor<Self>,
            x_re: FloatTensor<Self>,
            x_im: FloatTensor<Self>,
            k: usize,
        ) -> FloatTensor<Self> {
            let guards = [g_re.node(), g_im.node(), x_re.node(), x_im.node()];
            let out = B::mul_subsample_grad_filter(
                g_re.into_primitive(),
                g_im.into_primitive(),
                x_re.into_primitive(),
                x_im.into_primitive(),
                k,
            );
            untracked::<B, C, 4>(guards, out)
        }

        fn fft2_real(x: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let plane = plane_size(&x.shape());
            let guards = [x.node()];
            let out = B::fft2_real(x.into_primitive());
            record_pair::<B, C, _, 1>(Fft2RealBackward, guards, out, |halves| {
                (false, plane, halves)
            })
        }

        fn fft2(
            re: FloatTensor<Self>,
            im: FloatTensor<Self>,
            inverse: bool,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let plane = plane_size(&re.shape());
            let guards = [re.node(), im.node()];
            let out = B::fft2(re.into_primitive(), im.into_primitive(), inverse);
            record_pair::<B, C, _, 2>(Fft2Backward, guards, out, |halves| (inverse, plane, halves))
        }
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use super::alternatives::{dft2, mul_subsample_composed};
    use super::*;
    use crate::nn::test_util::{devices, max_rel, to_vec};

    #[test]
    fn fft2_matches_a_naive_dft_for_any_size_on_every_backend() {
        let (h, w) = (5, 6);
        let n = 2 * h * w;
        let re_v: Vec<f64> = (0..n).map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0).collect();
        let im_v: Vec<f64> = (0..n).map(|i| ((i * 5 % 13) as f64 - 6.0) / 4.0).collect();
        // Naive 2D DFT of each of the two planes.
        let mut want_re = vec![0.0; n];
        let mut want_im = vec![0.0; n];
        for p in 0..2 {
            for k in 0..h {
                for l in 0..w {
                    let (mut sr, mut si) = (0.0, 0.0);
                    for m in 0..h {
                        for q in 0..w {
                            let a = -2.0
                                * std::f64::consts::PI
                                * ((k * m) as f64 / h as f64 + (l * q) as f64 / w as f64);
                            let (x, y) = (re_v[p * h * w + m * w + q], im_v[p * h * w + m * w + q]);
                            sr += x * a.cos() - y * a.sin();
                            si += x * a.sin() + y * a.cos();
                        }
                    }
                    want_re[p * h * w + k * w + l] = sr;
                    want_im[p * h * w + k * w + l] = si;
                }
            }
        }
        for (name, device) in devices() {
            let t = |v: &Vec<f64>| {
                Tensor::<3>::from_data(TensorData::new(v.clone(), [2, h, w]), &device)
            };
            for (label, (re, im)) in [
                ("rustfft", fft2(t(&re_v), t(&im_v))),
                ("dense", dft2(t(&re_v), t(&im_v), false)),
            ] {
                let (re, im) = (to_vec(re), to_vec(im));
                assert!(max_rel(&re, &want_re) < 1e-6, "{name} {label}: real part");
                assert!(
                    max_rel(&im, &want_im) < 1e-6,
                    "{name} {label}: imaginary part"
                );
            }
            let (rr, ri) = fft2_real(t(&re_v));
            let (zr, zi) = fft2(t(&re_v), t(&re_v).zeros_like());
            assert!(
                max_rel(&to_vec(rr), &to_vec(zr)) < 1e-7,
                "{name}: real-input FFT"
            );
            assert!(
                max_rel(&to_vec(ri), &to_vec(zi)) < 1e-7,
                "{name}: real-input FFT"
            );
            let (fr, fi) = fft2(t(&re_v), t(&im_v));
            let (br, bi) = ifft2(fr, fi);
            assert!(max_rel(&to_vec(br), &re_v) < 1e-6, "{name}: round trip");
            assert!(max_rel(&to_vec(bi), &im_v) < 1e-6, "{name}: round trip");
            let (fr, fi) = dft2(t(&re_v), t(&im_v), false);
            let (br, _) = dft2(fr, fi, true);
            assert!(
                max_rel(&to_vec(br), &re_v) < 1e-6,
                "{name}: dense round trip"
            );
        }
    }

    /// The filter product with subsampling as an extension op (its hand-written backward, what wgpu
    /// runs) against burn's autodiff of the same tensor-op composition.
    #[test]
    fn fused_product_matches_its_composition_and_autodiff() {
        let (q, l, m, n) = (3, 2, 12, 8);
        let values = |len: usize, seed: usize| -> Vec<f64> {
            (0..len)
                .map(|i| (((i * 31 + seed * 17) % 23) as f64 - 11.0) / 7.0)
                .collect()
        };
        for (name, base) in devices() {
            let device = base.autodiff();
            let t3 = |v: Vec<f64>, shape: [usize; 3]| {
                Tensor::<3>::from_data(TensorData::new(v, shape), &device).require_grad()
            };
            for k in [1, 2, 4] {
                let (xr, xi) = (
                    t3(values(q * m * n, 1), [q, m, n]),
                    t3(values(q * m * n, 2), [q, m, n]),
                );
                let psi = t3(values(l * m * n, 3), [l, m, n]);
                let weights = Tensor::<4>::from_data(
                    TensorData::new(values(q * l * (m / k) * (n / k), 4), [q, l, m / k, n / k]),
                    &device,
                );
                let run = |composed: bool| {
                    let (re, im) = if composed {
                        mul_subsample_composed(xr.clone(), xi.clone(), psi.clone(), k)
                    } else {
                        mul_subsample(xr.clone(), xi.clone(), psi.clone(), k)
                    };
                    let (vr, vi) = (to_vec(re.clone()), to_vec(im.clone()));
                    let loss = (re * weights.clone() + im.powi_scalar(2)).sum();
                    let grads = loss.backward();
                    let g = [&xr, &xi, &psi].map(|t| to_vec(t.grad(&grads).expect("gradient")));
                    (vr, vi, g)
                };
                let (fr, fi, fg) = run(false);
                let (cr, ci, cg) = run(true);
                assert!(
                    max_rel(&fr, &cr) < 1e-6 && max_rel(&fi, &ci) < 1e-6,
                    "{name} k={k}: forward"
                );
                for (a, b) in fg.iter().zip(&cg) {
                    assert!(
                        max_rel(a, b) < 1e-5,
                        "{name} k={k}: gradient {:e}",
                        max_rel(a, b)
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(
        expected = "fft2: real part [2, 4, 6] and imaginary part [2, 4, 5] must have the same shape"
    )]
    fn fft2_of_mismatched_parts_panics_with_both_shapes() {
        let device = &devices()[0].1;
        fft2(
            Tensor::<3>::zeros([2, 4, 6], device),
            Tensor::<3>::zeros([2, 4, 5], device),
        );
    }

    #[test]
    #[should_panic(expected = "mul_subsample: a 12x10 spectrum cannot be subsampled by 4")]
    fn subsampling_by_a_non_divisor_panics() {
        let device = &devices()[0].1;
        let x = Tensor::<3>::zeros([1, 12, 10], device);
        mul_subsample(x.clone(), x, Tensor::<3>::zeros([2, 12, 10], device), 4);
    }

    #[test]
    #[should_panic(
        expected = "mul_subsample: spectra [1, 12, 10] / [1, 12, 10] and filters [2, 12, 8] must share the last two sizes"
    )]
    fn filters_of_another_grid_panic() {
        let device = &devices()[0].1;
        let x = Tensor::<3>::zeros([1, 12, 10], device);
        mul_subsample(x.clone(), x, Tensor::<3>::zeros([2, 12, 8], device), 2);
    }
}
