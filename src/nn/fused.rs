//! The whole scattering cascade as one burn operation on the CPU backends, with an analytic
//! backward.
//!
//! [`ScatteringOps::scattering2d`] takes the input planes and the full-resolution wavelet spectra
//! and returns every coefficient, computed by the crate's one cascade (`crate::cascade`, the engine
//! of [`crate::cascade::Scattering2dPlan`] too). Under autodiff the forward keeps its intermediates
//! (`X`, every `u1` and `u2`) on the host and the backward applies the cascade's adjoint: the input
//! gradient if the input is tracked, the gradient with respect to the spectra if they are
//! (frozen filters cost no filter-gradient work). burn's own autodiff carries the spectra's
//! gradient on to the wavelet parameters through the closed-form construction
//! ([`super::MorletFilterBank::spectra`]).
//!
//! The tensors cross into host memory once per call (`into_data` / `from_data`); everything in
//! between runs on plain buffers with rayon over planes.

// burn 0.22 deprecates its ndarray backend; it stays supported here (see `nn::cpu_device`).
#![allow(deprecated)]

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, TensorMetadata, backend_extension};
use burn::tensor::{DType, Device, Tensor, TensorData, read_sync};

use crate::cascade::Float;
use crate::cascade::plan::{Cascade, PreparedFilters};
use crate::cascade::tape::Tape;
use crate::geometry::ScatteringOptions;

/// The fused scattering operation a CPU backend supplies to the layer.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
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

/// Whether `device` runs [`scattering2d`] (flex and ndarray, with or without autodiff); other
/// backends use the tensor-op composition of [`super::Scattering2d`].
pub fn supports_fused(device: &Device) -> bool {
    let inner = device.clone().without_autodiff();
    match inner.as_dispatch() {
        #[cfg(feature = "flex")]
        DispatchDevice::Flex(_) => true,
        #[cfg(feature = "ndarray")]
        DispatchDevice::NdArray(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Scattering coefficients of `x` with the wavelet spectra `psi`, by the fused CPU operation,
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
/// not supported), if the device is not a CPU backend ([`supports_fused`]), or when second-order
/// derivatives are requested.
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
    assert!(
        x.dtype() == psi.dtype(),
        "scattering2d: input ({:?}) and wavelet spectra ({:?}) must have the same dtype",
        x.dtype(),
        psi.dtype()
    );
    check_dtype(x.dtype());
    assert!(
        supports_fused(&x.device()),
        "scattering2d: the fused operation runs on the flex and ndarray backends, got {:?}",
        x.device()
    );
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

fn check_dtype(dtype: DType) {
    assert!(
        matches!(dtype, DType::F32 | DType::F64),
        "scattering2d: expected f32 or f64 tensors, got {dtype:?} (half precision is not supported)"
    );
}

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
                host::forward::<Self>(x, psi, &options, host::Keep::Nothing).0
            }
        }
    };
}

fused_ops!("flex", burn::backend::Flex);
fused_ops!("ndarray", burn::backend::NdArray);

fn options(num_scales: usize, num_orientations: usize, max_order: usize) -> ScatteringOptions {
    ScatteringOptions::with_max_order(num_scales, num_orientations, max_order)
        .unwrap_or_else(|e| panic!("scattering2d: {e}"))
}

type CascadeCache =
    Mutex<HashMap<(TypeId, usize, usize, ScatteringOptions), Arc<dyn Any + Send + Sync>>>;

/// The cascade for one input size and options, planned once per process and shared.
fn cached_cascade<T: Float>(h: usize, w: usize, options: &ScatteringOptions) -> Arc<Cascade<T>> {
    static CACHE: OnceLock<CascadeCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    let entry = map
        .entry((TypeId::of::<T>(), h, w, *options))
        .or_insert_with(|| {
            Arc::new(
                Cascade::<T>::new(h, w, *options).unwrap_or_else(|e| panic!("scattering2d: {e}")),
            )
        });
    Arc::clone(entry)
        .downcast::<Cascade<T>>()
        .expect("the cache key holds the element type")
}

/// Host side: tensors to buffers and back, the forward with its tape, the backward.
mod host {
    use super::*;

    /// What the backward needs from a forward, for one element type.
    pub(super) struct SavedAs<T: Float> {
        cascade: Arc<Cascade<T>>,
        filters: PreparedFilters<T>,
        x: Vec<T>,
        tape: Option<Tape<T>>,
        input_shape: [usize; 3],
        filter_shape: [usize; 3],
    }

    /// The saved forward, shared by the autodiff node (cloning it is cheap).
    #[derive(Clone)]
    pub(super) enum Saved {
        F32(Arc<SavedAs<f32>>),
        F64(Arc<SavedAs<f64>>),
    }

    impl std::fmt::Debug for Saved {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let (dtype, bytes) = match self {
                Saved::F32(s) => ("f32", s.tape.as_ref().map_or(0, Tape::bytes)),
                Saved::F64(s) => ("f64", s.tape.as_ref().map_or(0, Tape::bytes)),
            };
            write!(f, "Saved {{ dtype: {dtype}, tape_bytes: {bytes} }}")
        }
    }

    fn read<B: Backend>(t: FloatTensor<B>) -> TensorData {
        read_sync(B::float_into_data(t))
            .unwrap_or_else(|e| panic!("scattering2d: reading a tensor failed: {e:?}"))
    }

    fn values<T: burn::tensor::Element>(data: TensorData) -> Vec<T> {
        data.try_into_vec::<T>()
            .unwrap_or_else(|e| panic!("scattering2d: unexpected tensor data: {e:?}"))
    }

    /// What a forward keeps for the backward.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Keep {
        /// Nothing: no backward follows.
        Nothing,
        /// The input and the filters; the backward recomputes the intermediates.
        Inputs,
        /// The input, the filters and the intermediates (the tape).
        Intermediates,
    }

    /// Runs the cascade, and returns what the backward needs as `keep` says.
    pub(super) fn forward<B: Backend>(
        x: FloatTensor<B>,
        psi: FloatTensor<B>,
        options: &ScatteringOptions,
        keep: Keep,
    ) -> (FloatTensor<B>, Option<Saved>) {
        let device = x.device();
        let dtype = x.dtype();
        check_dtype(dtype);
        let (xs, ps) = (x.shape(), psi.shape());
        let input_shape = [xs[0], xs[1], xs[2]];
        let filter_shape = [ps[0], ps[1], ps[2]];
        let (xd, pd) = (read::<B>(x), read::<B>(psi));
        fn run<T: Float + burn::tensor::Element + Into<f64>>(
            xd: TensorData,
            pd: TensorData,
            input_shape: [usize; 3],
            filter_shape: [usize; 3],
            options: &ScatteringOptions,
            keep: Keep,
        ) -> (TensorData, Option<Arc<SavedAs<T>>>) {
            let [planes, h, w] = input_shape;
            let cascade = cached_cascade::<T>(h, w, options);
            let x = values::<T>(xd);
            let fail = |e: crate::ScatterError| -> ! { panic!("scattering2d: {e}") };
            let filters = cascade
                .prepare_filters(&values::<T>(pd))
                .unwrap_or_else(|e| fail(e.into()));
            let mut out = vec![T::zero(); planes * cascade.output_plane()];
            let mut tape = (keep == Keep::Intermediates)
                .then(|| cascade.new_tape(planes).unwrap_or_else(|e| fail(e)));
            cascade
                .forward(&filters, &x, &mut out, tape.as_mut())
                .unwrap_or_else(|e| fail(e.into()));
            let [ho, wo] = cascade.geometry().output_size();
            let data = TensorData::new(out, [planes, cascade.paths().len(), ho, wo]);
            let saved = (keep != Keep::Nothing).then(|| {
                Arc::new(SavedAs {
                    cascade,
                    filters,
                    x,
                    tape,
                    input_shape,
                    filter_shape,
                })
            });
            (data, saved)
        }
        let (data, saved) = match dtype {
            DType::F32 => {
                let (d, s) = run::<f32>(xd, pd, input_shape, filter_shape, options, keep);
                (d, s.map(Saved::F32))
            }
            DType::F64 => {
                let (d, s) = run::<f64>(xd, pd, input_shape, filter_shape, options, keep);
                (d, s.map(Saved::F64))
            }
            other => unreachable!("dtype {other:?} checked above"),
        };
        (B::float_from_data(data, &device), saved)
    }

    /// The input and filter gradients from the output gradient `grad`.
    pub(super) fn backward<B: Backend>(
        saved: &Saved,
        grad: FloatTensor<B>,
        want_input: bool,
        want_filters: bool,
    ) -> (Option<FloatTensor<B>>, Option<FloatTensor<B>>) {
        let device = grad.device();
        if want_filters {
            crate::nn::construction::counter::note_filter_gradient_work();
        }
        let g = read::<B>(grad);
        fn run<T: Float + burn::tensor::Element>(
            s: &SavedAs<T>,
            g: TensorData,
            want_input: bool,
            want_filters: bool,
        ) -> (Option<TensorData>, Option<TensorData>) {
            let g = values::<T>(g);
            let (dx, dpsi) = s
                .cascade
                .backward(
                    &s.filters,
                    &s.x,
                    s.tape.as_ref(),
                    &g,
                    want_input,
                    want_filters,
                )
                .unwrap_or_else(|e| panic!("scattering2d: {}", crate::ScatterError::from(e)));
            (
                dx.map(|v| TensorData::new(v, s.input_shape)),
                dpsi.map(|v| TensorData::new(v, s.filter_shape)),
            )
        }
        let (dx, dpsi) = match saved {
            Saved::F32(s) => run(s, g.convert::<f32>(), want_input, want_filters),
            Saved::F64(s) => run(s, g.convert::<f64>(), want_input, want_filters),
        };
        let to = |d: TensorData| B::float_from_data(d, &device);
        (dx.map(to), dpsi.map(to))
    }
}

mod autodiff {
    use super::ScatteringOps;
    use super::host::{self, Keep, Saved};
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

    impl<B: Backend> Backward<B, 2> for ScatteringBackward {
        type State = Saved;

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node_x, node_psi] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let (dx, dpsi) =
                host::backward::<B>(&ops.state, grad, node_x.is_some(), node_psi.is_some());
            if let (Some(node), Some(dx)) = (node_x, dx) {
                grads.register::<B>(node.id, dx);
            }
            if let (Some(node), Some(dpsi)) = (node_psi, dpsi) {
                grads.register::<B>(node.id, dpsi);
            }
        }
    }

    impl<B: Backend + ScatteringOps, C: CheckpointStrategy> ScatteringOps for Autodiff<B, C> {
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
                    let (out, saved) = host::forward::<B>(x, psi, &options, keep);
                    prep.finish(saved.expect("kept for the backward"), out)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(host::forward::<B>(x, psi, &options, Keep::Nothing).0)
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
