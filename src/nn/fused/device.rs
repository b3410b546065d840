//! The device executor of the fused operation (wgpu): burn's `CubeTensor`s are the device
//! executor's buffers (no copy), the forward keeps its tape on the device, and the backward is
//! `cascade::device`'s adjoint. Nothing is read back to the host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::tensor::DType;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::{Executor, Keep, Saved as AnySaved};
use crate::cascade::device::{Buffer, DeviceBank, DeviceError, DevicePlan, DeviceTape};
use crate::geometry::ScatteringOptions;

/// burn's CubeCL backend: wgpu here (feature `wgpu`; burn's `fusion` feature is off).
type Cube = burn::backend::Cube;

/// What the backward reads from a forward, on the device.
struct OnDevice {
    plan: Arc<DevicePlan>,
    bank: DeviceBank,
    x: Buffer,
    tape: Option<DeviceTape>,
    /// The input tensor, for its client and device (its buffer is `x`).
    like: CubeTensor,
    input_shape: [usize; 3],
    filter_shape: [usize; 3],
}

/// The saved forward of the device executor, shared by the autodiff node.
#[derive(Clone)]
pub(crate) struct Saved(Arc<OnDevice>);

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.0.tape.as_ref().map_or(0, DeviceTape::bytes);
        write!(f, "Saved {{ device, tape_bytes: {bytes} }}")
    }
}

/// The message of a device failure, as the burn layer's panics word it.
fn fail(e: DeviceError) -> ! {
    panic!("scattering2d: {e}")
}

/// A contiguous `f32` tensor's values as a device buffer (the same memory).
///
/// # Panics
/// For another dtype: WGSL has no `f64`, the device executor runs in `f32`.
fn buffer(t: &CubeTensor, what: &str) -> Buffer {
    assert!(
        t.dtype == DType::F32,
        "scattering2d: the wgpu device runs the cascade in f32 (WGSL has no f64), got {what} in \
         {:?}",
        t.dtype
    );
    Buffer::new(t.handle.clone(), t.shape().num_elements())
}

/// `values` as a contiguous tensor of `shape` on `like`'s device.
fn tensor(like: &CubeTensor, values: Buffer, shape: Vec<usize>) -> CubeTensor {
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape.into(),
        values.into_handle(),
        DType::F32,
    )
}

/// The device plan of `(device, height, width, options)`, planned on first use and shared.
fn cached_plan(
    like: &CubeTensor,
    h: usize,
    w: usize,
    options: &ScatteringOptions,
) -> Arc<DevicePlan> {
    type Cache = Mutex<HashMap<(String, usize, usize, ScatteringOptions), Arc<DevicePlan>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (format!("{:?}", like.device), h, w, *options);
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let plan = cache.entry(key).or_insert_with(|| {
        Arc::new(DevicePlan::new(&like.client, h, w, *options).unwrap_or_else(|e| fail(e)))
    });
    Arc::clone(plan)
}

impl Executor for Cube {
    fn forward_kept(
        x: FloatTensor<Self>,
        psi: FloatTensor<Self>,
        options: &ScatteringOptions,
        keep: Keep,
    ) -> (FloatTensor<Self>, Option<AnySaved>) {
        let (x, psi) = (into_contiguous(x), into_contiguous(psi));
        let [planes, h, w] = x.shape().dims();
        let filter_shape = psi.shape().dims();
        let plan = cached_plan(&x, h, w, options);
        let bank = plan
            .prepare_spectra(&buffer(&psi, "the wavelet spectra"))
            .unwrap_or_else(|e| fail(e));
        let input = buffer(&x, "the input");
        let (out, tape) = plan
            .forward(&bank, &input, keep == Keep::Intermediates)
            .unwrap_or_else(|e| fail(e));
        let [ho, wo] = plan.geometry().output_size();
        let out = tensor(&x, out, vec![planes, plan.paths().len(), ho, wo]);
        let saved = (keep != Keep::Nothing).then(|| {
            AnySaved::Device(Saved(Arc::new(OnDevice {
                plan,
                bank,
                x: input,
                tape,
                like: x,
                input_shape: [planes, h, w],
                filter_shape,
            })))
        });
        (out, saved)
    }

    fn backward(
        saved: &AnySaved,
        grad: FloatTensor<Self>,
        want_input: bool,
        want_filters: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        let AnySaved::Device(Saved(s)) = saved else {
            unreachable!("the wgpu backend saved host buffers")
        };
        if want_filters {
            crate::nn::construction::counter::note_filter_gradient_work();
        }
        let grad = into_contiguous(grad);
        let gradients = s
            .plan
            .backward(
                &s.bank,
                &s.x,
                s.tape.as_ref(),
                &buffer(&grad, "the output gradient"),
                want_input,
                want_filters,
            )
            .unwrap_or_else(|e| fail(e));
        let dx = gradients
            .input
            .map(|b| tensor(&s.like, b, s.input_shape.to_vec()));
        let dpsi = gradients
            .spectra
            .map(|b| tensor(&s.like, b, s.filter_shape.to_vec()));
        (dx, dpsi)
    }
}
