//! The construction's host side: the trained values read to the host, expanded to the wavelets
//! and checked there; the spectra and their gradient by the closed form on the host (CPU
//! backends) or by the device executor's kernels (wgpu, `super::device`).

use std::sync::{Arc, Mutex, OnceLock};

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::{DType, TensorData, read_sync};

use super::TrainedLayout;
use crate::filters::spectral::{
    MAX_ALIAS_RADIUS, alias_radius, wavelet_spectra, wavelet_spectra_vjp,
};
use crate::filters::{MorletParams, TrainedValues};

/// How a backend evaluates the wavelets' spectra and the gradient of `⟨grad, spectra⟩` with
/// respect to every wavelet's `(σ, ξ, θ, slant)`: on the host for the CPU backends (the closed
/// form in `f64`, [`crate::filters::spectral`]), on the device for wgpu (`cascade::device`'s
/// spectra kernels, `f32`, tables built on the host from the same closed form).
pub(crate) trait SpectraExecutor: Backend {
    /// The spectra `[n, height, width]` of `wavelets` on `like`'s device, in its dtype; `cached`:
    /// the wavelets do not change between calls (frozen filters).
    fn spectra(
        wavelets: &[MorletParams],
        grid: [usize; 2],
        like: &FloatTensor<Self>,
        cached: bool,
    ) -> FloatTensor<Self>;

    /// `∂⟨grad, spectra⟩/∂(σ, ξ, θ, slant)` of every wavelet (`grad`: `[n, height, width]`).
    fn spectra_vjp(
        wavelets: &[MorletParams],
        grid: [usize; 2],
        grad: FloatTensor<Self>,
    ) -> Vec<[f64; 4]>;
}

macro_rules! host_spectra_executor {
    ($feature:literal, $backend:ty) => {
        #[cfg(feature = $feature)]
        impl SpectraExecutor for $backend {
            fn spectra(
                wavelets: &[MorletParams],
                grid: [usize; 2],
                like: &FloatTensor<Self>,
                cached: bool,
            ) -> FloatTensor<Self> {
                let data = host_spectra(wavelets, grid, like.dtype(), cached);
                Self::float_from_data(data, &like.device())
            }

            fn spectra_vjp(
                wavelets: &[MorletParams],
                [h, w]: [usize; 2],
                grad: FloatTensor<Self>,
            ) -> Vec<[f64; 4]> {
                wavelet_spectra_vjp(wavelets, h, w, &read::<Self>(grad))
            }
        }
    };
}

host_spectra_executor!("flex", burn::backend::Flex);
host_spectra_executor!("ndarray", burn::backend::NdArray);

pub(super) fn read<B: Backend>(t: FloatTensor<B>) -> Vec<f64> {
    read_sync(B::float_into_data(t))
        .unwrap_or_else(|e| panic!("morlet_spectra: reading a tensor failed: {e:?}"))
        .convert::<f64>()
        .into_vec::<f64>()
        .unwrap_or_else(|e| panic!("morlet_spectra: unexpected tensor data: {e:?}"))
}

/// The spectra of the wavelets of the trained values (four `[n]` tensors) on the grid, the
/// trained values and the wavelets. `cached`: look the values up in (and add them to) a small
/// cache, for parameters that do not change between calls (frozen filters); trained ones
/// change at every step.
pub(super) fn forward<B: SpectraExecutor>(
    trained: [FloatTensor<B>; 4],
    layout: TrainedLayout,
    grid: [usize; 2],
    cached: bool,
) -> (FloatTensor<B>, TrainedValues, Vec<MorletParams>) {
    let like = trained[0].clone();
    let [log_sigma, xi, theta, log_slant] = trained.map(read::<B>);
    let trained = TrainedValues {
        log_sigma,
        xi,
        theta,
        log_slant,
    };
    let wavelets = wavelets(&trained, layout);
    let out = B::spectra(&wavelets, grid, &like, cached);
    (out, trained, wavelets)
}

/// The wavelets of the trained values, each checked: finite, and within the alias sum's
/// reach.
fn wavelets(trained: &TrainedValues, layout: TrainedLayout) -> Vec<MorletParams> {
    let TrainedLayout {
        parametrization,
        num_scales,
        num_orientations,
    } = layout;
    let wavelets = parametrization
        .wavelets(num_scales, num_orientations, trained)
        .unwrap_or_else(|e| panic!("MorletFilterBank: {e}"));
    for (n, p) in wavelets.iter().enumerate() {
        check(n, p);
    }
    wavelets
}

/// Panics, naming wavelet `n`, if `p` has a non-finite value or needs more aliases than
/// [`MAX_ALIAS_RADIUS`].
fn check(n: usize, p: &MorletParams) {
    let values = [
        ("σ", p.sigma),
        ("ξ", p.xi),
        ("θ", p.theta),
        ("slant", p.slant),
    ];
    if let Some((name, value)) = values.iter().find(|(_, v)| !v.is_finite()) {
        panic!(
            "MorletFilterBank: wavelet {n} has a non-finite {name} = {value} ({p:?}); \
             training diverged or a parameter was set to a non-finite value"
        );
    }
    if alias_radius(p).is_none() {
        panic!(
            "MorletFilterBank: wavelet {n} ({p:?}) needs more than {MAX_ALIAS_RADIUS} \
             aliases per axis; its spectrum cannot be built"
        );
    }
}

/// The spectra as tensor data of `dtype`, by the closed form in `f64` on the host, cached per
/// parameter values and grid (a small cache: frozen filters ask for the same spectra at every
/// step).
fn host_spectra(
    wavelets: &[MorletParams],
    [h, w]: [usize; 2],
    dtype: DType,
    cached: bool,
) -> TensorData {
    assert!(
        matches!(dtype, DType::F32 | DType::F64),
        "morlet_spectra: expected f32 or f64 parameters, got {dtype:?}"
    );
    let compute = || wavelet_spectra(wavelets, h, w);
    let n = wavelets.len();
    if !cached {
        return TensorData::new(compute(), [n, h, w]).convert_dtype(dtype);
    }
    type Key = ([usize; 2], Vec<u64>);
    type Entries = Vec<(Key, Arc<Vec<f64>>)>;
    static CACHE: OnceLock<Mutex<Entries>> = OnceLock::new();
    const ENTRIES: usize = 8;
    let key: Key = (
        [h, w],
        wavelets
            .iter()
            .flat_map(|p| [p.sigma, p.xi, p.theta, p.slant].map(f64::to_bits))
            .collect(),
    );
    let cache = CACHE.get_or_init(Default::default);
    let hit = {
        let entries = cache.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| Arc::clone(v))
    };
    let values = hit.unwrap_or_else(|| {
        let values = Arc::new(compute());
        let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= ENTRIES {
            entries.remove(0);
        }
        entries.push((key, Arc::clone(&values)));
        values
    });
    TensorData::new(values.to_vec(), [n, h, w]).convert_dtype(dtype)
}

/// `[∂L/∂ln σ, ∂L/∂ξ, ∂L/∂θ, ∂L/∂ln slant]`, each of the trained values' length, from the
/// spectra's gradient: through every wavelet's spectrum, then the expansion.
pub(super) fn vjp<B: SpectraExecutor>(
    trained: &TrainedValues,
    wavelets: &[MorletParams],
    layout: TrainedLayout,
    [h, w]: [usize; 2],
    grad: FloatTensor<B>,
) -> [Vec<f64>; 4] {
    super::counter::note_filter_gradient_work();
    let per_wavelet = B::spectra_vjp(wavelets, [h, w], grad);
    let TrainedValues {
        log_sigma,
        xi,
        theta,
        log_slant,
    } = layout
        .parametrization
        .wavelets_vjp(
            layout.num_scales,
            layout.num_orientations,
            trained,
            &per_wavelet,
        )
        .unwrap_or_else(|e| panic!("MorletFilterBank: {e}"));
    [log_sigma, xi, theta, log_slant]
}
