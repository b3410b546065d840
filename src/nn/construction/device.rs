//! The construction's device side (wgpu): the spectra by the device executor's kernels
//! (`cascade::device::DeviceSpectra`, one launch; tables built on the host from the closed form),
//! and their gradient by its deterministic two-launch reduction. The spectra stay on the device;
//! the backward reads back the `4·n` per-wavelet gradients, which the host carries on to the
//! trained values (`filters::parametrization`).

use std::sync::{Mutex, OnceLock};

use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::tensor::DType;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::host::SpectraExecutor;
use crate::cascade::device::{Buffer, DeviceSpectra};
use crate::filters::MorletParams;

/// burn's CubeCL backend: wgpu here.
type Cube = burn::backend::Cube;

/// Frozen filters ask for the same spectra at every step: the last few, by device, grid and
/// parameter values (the host executor keeps such a cache too).
type Cache = Mutex<Vec<((String, [usize; 2], Vec<u64>), CubeTensor)>>;

/// Spectra kept for frozen filters.
const CACHED_SPECTRA: usize = 8;

/// The tables of `wavelets` on `grid`, or the construction's panic naming the wavelet.
fn tables(like: &CubeTensor, wavelets: &[MorletParams], [h, w]: [usize; 2]) -> DeviceSpectra {
    DeviceSpectra::new(&like.client, wavelets, h, w)
        .unwrap_or_else(|e| panic!("MorletFilterBank: {e}"))
}

impl SpectraExecutor for Cube {
    fn spectra(
        wavelets: &[MorletParams],
        grid: [usize; 2],
        like: &FloatTensor<Self>,
        cached: bool,
    ) -> FloatTensor<Self> {
        assert!(
            like.dtype == DType::F32,
            "morlet_spectra: the wgpu device builds the spectra in f32 (WGSL has no f64), got {:?}",
            like.dtype
        );
        let key = (
            format!("{:?}", like.device),
            grid,
            wavelets
                .iter()
                .flat_map(|p| [p.sigma, p.xi, p.theta, p.slant].map(f64::to_bits))
                .collect::<Vec<u64>>(),
        );
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if cached {
            let entries = cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, t)) = entries.iter().find(|(k, _)| *k == key) {
                return t.clone();
            }
        }
        let values = tables(like, wavelets, grid).spectra();
        let [h, w] = grid;
        let out = CubeTensor::new_contiguous(
            like.client.clone(),
            like.device.clone(),
            vec![wavelets.len(), h, w].into(),
            values.into_handle(),
            DType::F32,
        );
        if cached {
            let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= CACHED_SPECTRA {
                entries.remove(0);
            }
            entries.push((key, out.clone()));
        }
        out
    }

    fn spectra_vjp(
        wavelets: &[MorletParams],
        grid: [usize; 2],
        grad: FloatTensor<Self>,
    ) -> Vec<[f64; 4]> {
        let grad = into_contiguous(grad);
        let cot = Buffer::new(grad.handle.clone(), grad.shape().num_elements());
        let per_param = tables(&grad, wavelets, grid)
            .vjp(&cot)
            .and_then(|g| g.read(&grad.client))
            .unwrap_or_else(|e| panic!("MorletFilterBank: {e}"));
        let n = wavelets.len();
        (0..n)
            .map(|k| std::array::from_fn(|i| f64::from(per_param[i * n + k])))
            .collect()
    }
}
