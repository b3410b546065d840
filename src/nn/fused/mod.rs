//! The whole scattering cascade as one burn operation on every backend, with an analytic
//! backward.
//!
//! [`ScatteringOps::scattering2d`] takes the input planes and the full-resolution wavelet spectra
//! and returns every coefficient, computed by the crate's one cascade (`crate::cascade`, the engine
//! of [`crate::cascade::Scattering2dPlan`] too). Under autodiff the forward keeps its intermediates
//! (`X`, every `u1` and `u2`) and the backward applies the cascade's adjoint: the input gradient if
//! the input is tracked, the gradient with respect to the spectra if they are (frozen filters cost
//! no filter-gradient work). burn's own autodiff carries the spectra's gradient on to the wavelet
//! parameters through the closed-form construction ([`super::MorletFilterBank::spectra`]).
//!
//! Who runs the cascade is one trait, `Executor`, with two implementations: `host` (flex,
//! ndarray: the tensors cross into host memory once per call, `into_data` / `from_data`, and
//! the host cascade runs on plain buffers with rayon over planes) and `device` (wgpu: burn's
//! `CubeTensor`s are the buffers of `cascade::device`, the tape stays on the device, nothing is
//! read back).

// burn 0.22 deprecates its ndarray backend; it stays supported here (see `nn::cpu_device`).
#![allow(deprecated)]

#[cfg(feature = "wgpu")]
mod device;
mod host;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::{DType, Tensor};

use crate::geometry::ScatteringOptions;

/// The fused scattering operation every backend supplies to the layer: the crate's cascade, run
/// by its host executor on flex and ndarray and by its device executor on wgpu.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(feature = "wgpu"),
    Autodiff,
)]
pub trait ScatteringOps: Backend {
    /// Scattering coefficients of the planes `x` (`[P, H, W]`) with the wavelet spectra `psi`
    /// (`[J·L, Mp, Np]` on the padded grid of `H × W`, FFT order): `[P, K, H/2^J, W/2^J]`, channels
    /// in the order of [`crate::geometry::paths`].
    ///
    /// Under autodiff, `keep_intermediates` keeps `X` and every `u1`, `u2` for the backward (faster
    /// backward, more memory); otherwise the backward recomputes them.
    fn scattering2d(
        x: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        num_scales: usize,
        num_orientations: usize,
        max_order: usize,
        keep_intermediates: bool,
    ) -> FloatTensor<Self>;
}

/// Scattering coefficients of `x` with the wavelet spectra `psi`, by the fused operation,
/// differentiable with respect to both.
///
/// When a backward will follow, `keep_intermediates` keeps the complex signals of every path for
/// it (`X`, every `u1` and `u2`: 133 MB at batch 128 × 3 × 32 × 32, `J = 2`, `L = 8`, f32), which
/// makes the step faster; `false` has the backward recompute them, for large inputs where memory
/// counts (measured in `docs/benchmarks.md`).
///
/// # Shapes
/// - `x`: `[planes, height, width]`
/// - `psi`: `[J·L, Mp, Np]`, the padded grid of `height × width` ([`crate::PaddedGeometry`])
/// - output: `[planes, K, height / 2^J, width / 2^J]`
///
/// # Panics
/// If `psi` is not on the padded grid of `x` or does not hold `J·L` spectra, if `x` holds no plane,
/// if the two tensors have different dtypes or a dtype other than f32 or f64 (f16 and bf16 are
/// not supported; wgpu runs f32 only: WGSL has no f64), when the device executor cannot run
/// (its message: a batch larger than the device's largest buffer, a failed device), or when
/// second-order derivatives are requested.
pub fn scattering2d(
    x: Tensor<3>,
    psi: Tensor<3>,
    options: &ScatteringOptions,
    keep_intermediates: bool,
) -> Tensor<4> {
    let [planes, h, w] = x.dims();
    let geometry = crate::geometry::PaddedGeometry::new(h, w, options.num_scales())
        .unwrap_or_else(|e| panic!("scattering2d: {e}"));
    let count = options.num_scales() * options.num_orientations();
    let [mp, np] = geometry.padded_size();
    assert!(
        planes > 0,
        "scattering2d: expected at least one plane, got {:?}",
        x.dims()
    );
    assert!(
        psi.dims() == [count, mp, np],
        "scattering2d: expected wavelet spectra [J·L, Mp, Np] = [{count}, {mp}, {np}] for a \
         {h}x{w} input at J = {}, L = {}, got {:?}",
        options.num_scales(),
        options.num_orientations(),
        psi.dims()
    );
    #[cfg(feature = "wgpu")]
    if matches!(
        x.device().without_autodiff().as_dispatch(),
        burn::backend::DispatchDevice::Cube(_)
    ) {
        assert!(
            x.dtype() == DType::F32 && psi.dtype() == DType::F32,
            "scattering2d: the wgpu device runs the cascade in f32 (WGSL has no f64), got input \
             {:?} and wavelet spectra {:?}",
            x.dtype(),
            psi.dtype()
        );
    }
    assert!(
        x.dtype() == psi.dtype(),
        "scattering2d: input ({:?}) and wavelet spectra ({:?}) must have the same dtype",
        x.dtype(),
        psi.dtype()
    );
    check_dtype(x.dtype());
    let out = <Dispatch as ScatteringOps>::scattering2d(
        x.into_dispatch(),
        psi.into_dispatch(),
        options.num_scales(),
        options.num_orientations(),
        options.max_order(),
        keep_intermediates,
    );
    Tensor::from_dispatch(out)
}

pub(super) fn check_dtype(dtype: DType) {
    assert!(
        matches!(dtype, DType::F32 | DType::F64),
        "scattering2d: expected f32 or f64 tensors, got {dtype:?} (half precision is not supported)"
    );
}

/// What a forward keeps for the backward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Nothing: no backward follows.
    Nothing,
    /// The input and the filters; the backward recomputes the intermediates.
    Inputs,
    /// The input, the filters and the intermediates (the tape).
    Intermediates,
}

/// What a forward kept for its backward, by executor (cloning it is cheap: shared buffers).
#[derive(Clone, Debug)]
pub(crate) enum Saved {
    /// Host buffers of the CPU backends.
    Host(host::Saved),
    /// Device buffers of wgpu.
    #[cfg(feature = "wgpu")]
    Device(device::Saved),
}

/// How a backend runs the cascade: the forward, keeping what the backward reads as `keep` says,
/// and the backward. The host executor on flex and ndarray (`host`), the device executor on wgpu
/// (`device`); the autodiff node below is the same for both.
pub(crate) trait Executor: Backend {
    /// Coefficients `[P, K, ho, wo]` of `x` `[P, H, W]` with the spectra `psi`, and what the
    /// backward needs.
    fn forward_kept(
        x: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        options: &ScatteringOptions,
        keep: Keep,
    ) -> (FloatTensor<Self>, Option<Saved>);

    /// The input gradient (if `want_input`) and the spectra's gradient (if `want_filters`) from
    /// the output gradient `grad`.
    fn backward(
        saved: &Saved,
        grad: FloatTensor<Self>,
        want_input: bool,
        want_filters: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>);
}

macro_rules! host_executor {
    ($feature:literal, $backend:ty) => {
        #[cfg(feature = $feature)]
        impl Executor for $backend {
            fn forward_kept(
                x: FloatTensor<Self>,
                psi: FloatTensor<Self>,
                options: &ScatteringOptions,
                keep: Keep,
            ) -> (FloatTensor<Self>, Option<Saved>) {
                let (out, saved) = host::forward::<Self>(x, psi, options, keep);
                (out, saved.map(Saved::Host))
            }

            fn backward(
                saved: &Saved,
                grad: FloatTensor<Self>,
                want_input: bool,
                want_filters: bool,
            ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
                match saved {
                    Saved::Host(s) => host::backward::<Self>(s, grad, want_input, want_filters),
                    #[cfg(feature = "wgpu")]
                    Saved::Device(_) => unreachable!("a host backend saved device buffers"),
                }
            }
        }
    };
}

host_executor!("flex", burn::backend::Flex);
host_executor!("ndarray", burn::backend::NdArray);

macro_rules! fused_ops {
    ($feature:literal, $backend:ty) => {
        #[cfg(feature = $feature)]
        impl ScatteringOps for $backend {
            fn scattering2d(
                x: FloatTensor<Self>,
                psi: FloatTensor<Self>,
                num_scales: usize,
                num_orientations: usize,
                max_order: usize,
                _keep_intermediates: bool,
            ) -> FloatTensor<Self> {
                let options = options(num_scales, num_orientations, max_order);
                Self::forward_kept(x, psi, &options, Keep::Nothing).0
            }
        }
    };
}

fused_ops!("flex", burn::backend::Flex);
fused_ops!("ndarray", burn::backend::NdArray);
fused_ops!("wgpu", burn::backend::Cube);

pub(super) fn options(
    num_scales: usize,
    num_orientations: usize,
    max_order: usize,
) -> ScatteringOptions {
    ScatteringOptions::with_max_order(num_scales, num_orientations, max_order)
        .unwrap_or_else(|e| panic!("scattering2d: {e}"))
}

mod autodiff {
    use super::{Executor, Keep, Saved, ScatteringOps};
    use burn::backend::Backend;
    use burn::backend::autodiff::{
        Autodiff,
        checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
        grads::Gradients,
        ops::{Backward, Ops, OpsKind},
    };
    use burn::backend::tensor::FloatTensor;

    #[derive(Debug)]
    struct ScatteringBackward;

    impl<B: Backend + Executor> Backward<B, 2> for ScatteringBackward {
        type State = Saved;

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node_x, node_psi] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let (dx, dpsi) = B::backward(&ops.state, grad, node_x.is_some(), node_psi.is_some());
            if let (Some(node), Some(dx)) = (node_x, dx) {
                grads.register::<B>(node.id, dx);
            }
            if let (Some(node), Some(dpsi)) = (node_psi, dpsi) {
                grads.register::<B>(node.id, dpsi);
            }
        }
    }

    impl<B: Backend + ScatteringOps + Executor, C: CheckpointStrategy> ScatteringOps
        for Autodiff<B, C>
    {
        fn scattering2d(
            x: FloatTensor<Self>,
            psi: FloatTensor<Self>,
            num_scales: usize,
            num_orientations: usize,
            max_order: usize,
            keep_intermediates: bool,
        ) -> FloatTensor<Self> {
            let options = super::options(num_scales, num_orientations, max_order);
            let guards = [x.node(), psi.node()];
            let (x, psi) = (x.into_primitive(), psi.into_primitive());
            match ScatteringBackward
                .prepare::<C>(guards)
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let keep = if keep_intermediates {
                        Keep::Intermediates
                    } else {
                        Keep::Inputs
                    };
                    let (out, saved) = B::forward_kept(x, psi, &options, keep);
                    prep.finish(saved.expect("kept for the backward"), out)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::forward_kept(x, psi, &options, Keep::Nothing).0)
                }
            }
        }
    }
}

/// The operation's input checks name what they expected and what they got.
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use burn::tensor::{FloatDType, Tensor};

    use super::*;
    use crate::nn::test_util::devices;

    fn options() -> ScatteringOptions {
        ScatteringOptions::new(2, 4).unwrap()
    }

    #[test]
    #[should_panic(
        expected = "scattering2d: expected wavelet spectra [J·L, Mp, Np] = [8, 40, 40] for a 32x32 input at J = 2, L = 4, got [8, 32, 32]"
    )]
    fn spectra_on_another_grid() {
        let device = &devices()[0].1;
        scattering2d(
            Tensor::zeros([1, 32, 32], device),
            Tensor::zeros([8, 32, 32], device),
            &options(),
            true,
        );
    }

    #[test]
    #[should_panic(expected = "= [8, 40, 40] for a 32x32 input at J = 2, L = 4, got [16, 40, 40]")]
    fn wrong_number_of_wavelets() {
        let device = &devices()[0].1;
        scattering2d(
            Tensor::zeros([1, 32, 32], device),
            Tensor::zeros([16, 40, 40], device),
            &options(),
            true,
        );
    }

    #[test]
    #[should_panic(
        expected = "scattering2d: input (F64) and wavelet spectra (F32) must have the same dtype"
    )]
    fn mixed_dtypes() {
        let device = &devices()[0].1;
        scattering2d(
            Tensor::<3>::zeros([1, 32, 32], device).cast(FloatDType::F64),
            Tensor::zeros([8, 40, 40], device),
            &options(),
            true,
        );
    }

    #[test]
    #[should_panic(
        expected = "scattering2d: expected f32 or f64 tensors, got F16 (half precision is not supported)"
    )]
    fn half_precision() {
        let device = &devices()[0].1;
        scattering2d(
            Tensor::<3>::zeros([1, 32, 32], device).cast(FloatDType::F16),
            Tensor::<3>::zeros([8, 40, 40], device).cast(FloatDType::F16),
            &options(),
            true,
        );
    }

    #[test]
    #[should_panic(expected = "scattering2d: expected at least one plane, got [0, 32, 32]")]
    fn no_plane() {
        let device = &devices()[0].1;
        scattering2d(
            Tensor::zeros([0, 32, 32], device),
            Tensor::zeros([8, 40, 40], device),
            &options(),
            true,
        );
    }

    #[test]
    #[should_panic(expected = "scattering2d: 2^J = 64 exceeds input size 32x32")]
    fn scale_too_large() {
        let device = &devices()[0].1;
        scattering2d(
            Tensor::zeros([1, 32, 32], device),
            Tensor::zeros([8, 40, 40], device),
            &ScatteringOptions::new(6, 4).unwrap(),
            true,
        );
    }
}
