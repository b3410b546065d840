//! The host executor of the fused operation (flex, ndarray): tensors to host buffers and back,
//! the crate's host cascade forward with its tape, and its adjoint.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::{DType, TensorData, read_sync};

use super::{Keep, check_dtype};
use crate::cascade::Float;
use crate::cascade::plan::{Cascade, PreparedFilters};
use crate::cascade::tape::Tape;
use crate::geometry::ScatteringOptions;

/// What the backward needs from a forward, for one element type.
pub(crate) struct SavedAs<T: Float> {
    cascade: Arc<Cascade<T>>,
    filters: PreparedFilters<T>,
    x: Vec<T>,
    tape: Option<Tape<T>>,
    input_shape: [usize; 3],
    filter_shape: [usize; 3],
}

/// The saved forward, shared by the autodiff node (cloning it is cheap).
#[derive(Clone)]
pub(crate) enum Saved {
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

/// Cascades by element type, input size and options.
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
