//! The Morlet filter construction as one burn operation: the framework-free expansion and
//! closed form on the host forward, their analytic vector–Jacobian products backward.
//!
//! [`MorletOps::morlet_spectra`] takes the trained values of a bank (`ln σ`, `ξ`, `θ`, `ln slant`
//! under a [`Parametrization`]: [`crate::filters::parametrization`]) and returns the real spectra
//! `ψ̂_n` of its `J·L` wavelets on the padded grid: the wavelets by
//! [`Parametrization::wavelets`], their spectra by [`crate::filters::spectral::morlet_spectrum`]
//! in `f64` (the crate's one Morlet formula: the cascade's plans, the frozen layer and the trained layer
//! evaluate the same sums). Under autodiff the backward is
//! [`crate::filters::spectral::morlet_spectrum_vjp`] for every wavelet, the exact derivative of
//! those sums, then [`Parametrization::wavelets_vjp`] back to the trained values (the Python
//! package's torch module calls the same two), so no per-frequency tensor graph is recorded: the
//! construction costs two passes over the grid per step, whatever the number of aliases a wavelet
//! needs (`docs/benchmarks.md`).
//!
//! The parameters are a few hundred numbers: they are read to the host and expanded there on
//! every backend. The spectra and their gradient are the host's closed form in `f64` on the CPU
//! backends and the device executor's kernels on wgpu (`host::SpectraExecutor`), whose tables
//! the host builds from the same closed form (`device`); there the spectra never leave the
//! device, and the backward reads back the `4·J·L` per-wavelet gradients only.

// burn 0.22 deprecates its ndarray backend; it stays supported here (see `nn::cpu_device`).
#![allow(deprecated)]

#[cfg(feature = "wgpu")]
mod device;
mod host;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::Tensor;

use crate::filters::Parametrization;

/// What the trained values of a bank are: their parametrisation and `(J, L)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainedLayout {
    /// The parametrisation ([`Parametrization::wavelets`]).
    pub parametrization: Parametrization,
    /// `J`.
    pub num_scales: usize,
    /// `L`.
    pub num_orientations: usize,
}

/// The filter construction a backend supplies to [`super::MorletFilterBank`].
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(feature = "wgpu"),
    Autodiff,
)]
pub trait MorletOps: Backend {
    /// Spectra `[J·L, height, width]` (FFT order) of the wavelets whose trained values `ln σ`,
    /// `ξ`, `θ`, `ln slant` are the tensors `log_sigma`, `xi`, `theta`, `log_slant` (each of
    /// [`Parametrization::trained_len`] values) under `layout`.
    fn morlet_spectra(
        log_sigma: FloatTensor<Self>,
        xi: FloatTensor<Self>,
        theta: FloatTensor<Self>,
        log_slant: FloatTensor<Self>,
        layout: TrainedLayout,
        height: usize,
        width: usize,
    ) -> FloatTensor<Self>;
}

/// The spectra `[J·L, height, width]` of the wavelets that the trained values
/// `[ln σ, ξ, θ, ln slant]` give under `layout` ([`Parametrization::wavelets`]), by the closed
/// form, differentiable with respect to all four.
///
/// # Shapes
/// - `trained`: four `[n]` tensors, `n` = [`Parametrization::trained_len`]
/// - output: `[J·L, height, width]`
///
/// # Panics
/// If the four tensors differ in length or do not hold `n` values, a dtype is not f32 or f64, a
/// value is not finite, or a wavelet needs more than `MAX_ALIAS_RADIUS` (64) aliases per axis
/// (naming the wavelet).
pub fn morlet_spectra(
    trained: [Tensor<1>; 4],
    layout: TrainedLayout,
    [height, width]: [usize; 2],
) -> Tensor<3> {
    let n = trained[0].dims()[0];
    assert!(
        trained.iter().all(|p| p.dims() == [n]),
        "morlet_spectra: expected four [n] parameter tensors, got {:?}",
        trained.iter().map(|p| p.dims()).collect::<Vec<_>>()
    );
    let [log_sigma, xi, theta, log_slant] = trained.map(Tensor::into_dispatch);
    let out = <Dispatch as MorletOps>::morlet_spectra(
        log_sigma, xi, theta, log_slant, layout, height, width,
    );
    Tensor::from_dispatch(out)
}

/// Counts, per thread, the filter-gradient computations of the layer's backward, so that tests
/// can check that frozen filters cost none (read through `crate::testing`).
pub(crate) mod counter {
    use std::cell::Cell;

    thread_local! {
        static FILTER_GRADIENT_WORK: Cell<usize> = const { Cell::new(0) };
    }

    /// How many filter gradients this thread has computed: the cascade's gradient with respect to
    /// the spectra and the construction's vector–Jacobian product each count one.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub fn filter_gradient_work() -> usize {
        FILTER_GRADIENT_WORK.with(Cell::get)
    }

    pub(crate) fn note_filter_gradient_work() {
        FILTER_GRADIENT_WORK.with(|c| c.set(c.get() + 1));
    }
}

/// Every backend expands the trained values on the host; the spectra follow its
/// [`SpectraExecutor`].
macro_rules! morlet_ops {
    ($feature:literal, $backend:ty) => {
        #[cfg(feature = $feature)]
        impl MorletOps for $backend {
            fn morlet_spectra(
                log_sigma: FloatTensor<Self>,
                xi: FloatTensor<Self>,
                theta: FloatTensor<Self>,
                log_slant: FloatTensor<Self>,
                layout: TrainedLayout,
                height: usize,
                width: usize,
            ) -> FloatTensor<Self> {
                let trained = [log_sigma, xi, theta, log_slant];
                host::forward::<Self>(trained, layout, [height, width], true).0
            }
        }
    };
}

morlet_ops!("flex", burn::backend::Flex);
morlet_ops!("ndarray", burn::backend::NdArray);
morlet_ops!("wgpu", burn::backend::Cube);

mod autodiff {
    use super::host::{self, SpectraExecutor};
    use super::{MorletOps, TrainedLayout};
    use crate::filters::{MorletParams, TrainedValues};
    use burn::backend::autodiff::{
        Autodiff,
        checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
        grads::Gradients,
        ops::{Backward, Ops, OpsKind},
    };
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Backend, TensorMetadata};
    use burn::tensor::{DType, TensorData};

    #[derive(Debug)]
    struct MorletBackward;

    /// The trained values, their wavelets and layout, the grid and the parameters' dtype.
    type State = (
        TrainedValues,
        Vec<MorletParams>,
        TrainedLayout,
        [usize; 2],
        DType,
    );

    impl<B: Backend + SpectraExecutor> Backward<B, 4> for MorletBackward {
        type State = State;

        fn backward(
            self,
            ops: Ops<Self::State, 4>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let (trained, wavelets, layout, grid, dtype) = ops.state;
            let grad = grads.consume::<B>(&ops.node);
            let device = grad.device();
            let n = trained.xi.len();
            let partials = host::vjp::<B>(&trained, &wavelets, layout, grid, grad);
            for (node, values) in ops.parents.into_iter().zip(partials) {
                if let Some(node) = node {
                    let data = TensorData::new(values, [n]).convert_dtype(dtype);
                    grads.register::<B>(node.id, B::float_from_data(data, &device));
                }
            }
        }
    }

    impl<B: Backend + MorletOps + SpectraExecutor, C: CheckpointStrategy> MorletOps for Autodiff<B, C> {
        fn morlet_spectra(
            log_sigma: FloatTensor<Self>,
            xi: FloatTensor<Self>,
            theta: FloatTensor<Self>,
            log_slant: FloatTensor<Self>,
            layout: TrainedLayout,
            height: usize,
            width: usize,
        ) -> FloatTensor<Self> {
            let guards = [log_sigma.node(), xi.node(), theta.node(), log_slant.node()];
            let params = [log_sigma, xi, theta, log_slant].map(|t| t.into_primitive());
            let dtype = params[0].dtype();
            let grid = [height, width];
            match MorletBackward
                .prepare::<C>(guards)
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (out, trained, wavelets) = host::forward::<B>(params, layout, grid, false);
                    prep.finish((trained, wavelets, layout, grid, dtype), out)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(host::forward::<B>(params, layout, grid, true).0)
                }
            }
        }
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::filters::spectral::morlet_spectrum;
    use crate::filters::{FilterBankParams, MorletParams};
    use crate::nn::test_util::{devices, max_rel, to_vec};

    /// The operation's value is the framework-free closed form, and its gradient with respect to
    /// each of `ln σ`, `ξ`, `θ`, `ln slant` (in that order) is the central difference of that
    /// form.
    #[test]
    fn value_and_gradients_follow_the_closed_form() {
        let (h, w) = (16, 12);
        let p = FilterBankParams::tight_frame(2, 4).unwrap().wavelets()[5];
        let weights: Vec<f64> = (0..h * w)
            .map(|i| ((i * 7 % 13) as f64 - 6.0) / 6.0)
            .collect();
        let loss = |q: &MorletParams| -> f64 {
            let s = morlet_spectrum(h, w, q);
            s.iter().zip(&weights).map(|(a, b)| a * b).sum()
        };
        let eps = 1e-6;
        let central = |set: fn(&mut MorletParams, f64), v: f64| {
            let (mut plus, mut minus) = (p, p);
            set(&mut plus, v + eps);
            set(&mut minus, v - eps);
            (loss(&plus) - loss(&minus)) / (2.0 * eps)
        };
        let want = [
            central(|q, v| q.sigma = v.exp(), p.sigma.ln()),
            central(|q, v| q.xi = v, p.xi),
            central(|q, v| q.theta = v, p.theta),
            central(|q, v| q.slant = v.exp(), p.slant.ln()),
        ];
        let layout = TrainedLayout {
            parametrization: Parametrization::Canonical,
            num_scales: 1,
            num_orientations: 1,
        };
        for (name, device) in devices() {
            let device = device.autodiff();
            let param = |v: f64| {
                Tensor::<1>::from_data(TensorData::new(vec![v], [1]), &device).require_grad()
            };
            let params = [
                param(p.sigma.ln()),
                param(p.xi),
                param(p.theta),
                param(p.slant.ln()),
            ];
            let spectra = morlet_spectra(params.clone(), layout, [h, w]);
            let reference: Vec<f64> = morlet_spectrum(h, w, &p).iter().copied().collect();
            assert!(
                max_rel(&to_vec(spectra.clone()), &reference) < 1e-6,
                "{name}: value"
            );
            let weights =
                Tensor::<3>::from_data(TensorData::new(weights.clone(), [1, h, w]), &device);
            let grads = (spectra * weights).sum().backward();
            for (i, (t, want)) in params.iter().zip(want).enumerate() {
                let got = to_vec(t.grad(&grads).expect("gradient"))[0];
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1e-2),
                    "{name}, parameter {i}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    #[should_panic(
        expected = "morlet_spectra: expected four [n] parameter tensors, got [[2], [2], [3], [2]]"
    )]
    fn parameters_of_other_lengths_panic() {
        let device = &devices()[0].1;
        let t = |n: usize| Tensor::<1>::ones([n], device);
        let layout = TrainedLayout {
            parametrization: Parametrization::Canonical,
            num_scales: 1,
            num_orientations: 2,
        };
        morlet_spectra([t(2), t(2), t(3), t(2)], layout, [8, 8]);
    }
}
