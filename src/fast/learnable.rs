//! The fast path with filters that change: a forward that keeps its intermediates, the cascade's
//! analytic adjoint, and the gradient with respect to every wavelet's `(σ, ξ, θ, slant)`.
//!
//! For frontends that run their own automatic differentiation (the Python package's torch module
//! in `python/`): the same [`Cascade`] as [`super::Scattering2dPlan`] and the burn layer, with the
//! filters held apart from the plan, so that a bank is prepared once per parameter update (no FFT
//! is re-planned) and a forward and its backward share the bank they ran with.
//!
//! The filter-parameter gradient chains the cascade's gradient with respect to the wavelet
//! spectra on the padded grid (`[J·L][Mp][Np]`) with
//! [`spectral::morlet_spectrum_vjp`], the analytic vector–Jacobian product of the one closed-form
//! spectrum ([`spectral::morlet_spectrum`]).

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::cascade::{Cascade, PreparedFilters, Tape};
use super::{Float, check_bank, check_finite, check_input_shape, check_plan_size, wavelet_spectra};
use crate::error::{Result, ScatterError};
use crate::filters::{FilterBankParams, spectral};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};

/// A planned cascade for one input size and `(J, L, max_order)`, without filters: the filters
/// come as a [`PreparedBank`] with every call. `Send + Sync`.
pub struct LearnableScattering2d<T: Float = f32> {
    cascade: Cascade<T>,
}

/// A filter bank's wavelet spectra prepared for one [`LearnableScattering2d`] (every resolution
/// each wavelet is applied at), with the parameters they were built from. `Send + Sync`.
pub struct PreparedBank<T: Float = f32> {
    bank: FilterBankParams,
    filters: PreparedFilters<T>,
    padded_size: [usize; 2],
    max_order: usize,
}

/// The intermediates of one [`LearnableScattering2d::forward`] (the padded input spectrum and
/// every complex first- and second-order signal of each plane), read by
/// [`LearnableScattering2d::backward`] instead of recomputing them. About
/// `(1 + J·L + …)·Mp·Np` complex values per plane: 133 MB at batch 128 × 3 × 32 × 32, `J = 2`.
pub struct ScatteringTape<T: Float = f32> {
    tape: Tape<T>,
    shape: Vec<usize>,
}

impl<T: Float> std::fmt::Debug for ScatteringTape<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScatteringTape")
            .field("shape", &self.shape)
            .field("bytes", &self.tape.bytes())
            .finish()
    }
}

impl<T: Float> std::fmt::Debug for PreparedBank<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBank")
            .field("bank", &self.bank)
            .field("padded_size", &self.padded_size)
            .finish_non_exhaustive()
    }
}

impl<T: Float> ScatteringTape<T> {
    /// Bytes held by the recorded intermediates.
    pub fn bytes(&self) -> usize {
        self.tape.bytes()
    }
}

impl<T: Float> PreparedBank<T> {
    /// The parameters the spectra were built from.
    pub fn filter_bank(&self) -> &FilterBankParams {
        &self.bank
    }
}

/// What [`LearnableScattering2d::backward`] computed.
#[derive(Clone, Debug)]
pub struct ScatteringGradients<T> {
    /// `∂⟨grad_output, S⟩/∂input`, the input's shape `[..., height, width]`, if asked for.
    pub input: Option<ArrayD<T>>,
    /// `∂⟨grad_output, S⟩/∂(σ, ξ, θ, slant)` of wavelet `n = j·L + l`, in that order, summed over
    /// every image of the batch, if asked for. Length `J·L`.
    pub wavelets: Option<Vec<[f64; 4]>>,
}

impl<T: Float> std::fmt::Debug for LearnableScattering2d<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LearnableScattering2d")
            .field("options", self.cascade.options())
            .field("geometry", self.cascade.geometry())
            .finish_non_exhaustive()
    }
}

impl<T: Float> LearnableScattering2d<T> {
    /// Plans the cascade for `height × width` inputs.
    ///
    /// # Errors
    /// As [`super::Scattering2dPlan::new`]: invalid options, `2^J` above the input size, and the
    /// size limits, all checked before anything is allocated.
    pub fn new(height: usize, width: usize, options: ScatteringOptions) -> Result<Self> {
        options.validate()?;
        check_plan_size::<T>(
            &options,
            &PaddedGeometry::new(height, width, options.num_scales())?,
        )?;
        Ok(Self {
            cascade: Cascade::new(height, width, options)?,
        })
    }

    /// The options (`J`, `L`, `max_order`).
    pub fn options(&self) -> &ScatteringOptions {
        self.cascade.options()
    }

    /// Padding and output geometry.
    pub fn geometry(&self) -> &PaddedGeometry {
        self.cascade.geometry()
    }

    /// Output channels in order: channel `k` is `paths()[k]`.
    pub fn paths(&self) -> &[ScatteringPath] {
        self.cascade.paths()
    }

    /// Builds the wavelet spectra of `bank` on the padded grid ([`spectral::morlet_spectrum`])
    /// and prepares them for this cascade.
    ///
    /// # Errors
    /// The bank's checks ([`FilterBankParams::validate`]) and [`ScatterError::InvalidParameter`]
    /// (`filter_bank`) when its `J` or `L` differs from the options'.
    pub fn prepare(&self, bank: FilterBankParams) -> Result<PreparedBank<T>> {
        check_bank(self.options(), &bank)?;
        let [mp, np] = self.geometry().padded_size();
        let filters = self
            .cascade
            .prepare_filters(&wavelet_spectra(&bank, mp, np));
        Ok(PreparedBank {
            bank,
            filters,
            padded_size: [mp, np],
            max_order: self.options().max_order(),
        })
    }

    /// Scattering coefficients of `input` with the wavelets of `bank`; with `record`, also the
    /// intermediates for [`LearnableScattering2d::backward`].
    ///
    /// # Shapes
    /// - input: `[..., height, width]` (at least 2 dimensions)
    /// - output: `[..., K, height / 2^J, width / 2^J]`, channels in the order of
    ///   [`LearnableScattering2d::paths`]
    ///
    /// # Errors
    /// [`ScatterError::InvalidRank`], [`ScatterError::InvalidShape`],
    /// [`ScatterError::EmptyBatch`] and [`ScatterError::NonFiniteInput`] as
    /// [`super::Scattering2dPlan::transform_dyn`]; [`ScatterError::InvalidParameter`] (`bank`) for
    /// a bank prepared by a cascade of another size or order, or a tape too large to address.
    pub fn forward(
        &self,
        bank: &PreparedBank<T>,
        input: ArrayViewD<'_, T>,
        record: bool,
    ) -> Result<(ArrayD<T>, Option<ScatteringTape<T>>)> {
        self.check_prepared(bank)?;
        let shape = input.shape().to_vec();
        check_input_shape(self.geometry(), &shape)?;
        let x = input.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        check_finite(x, &shape)?;
        let planes = x.len() / self.cascade.input_plane();
        let mut tape = record.then(|| self.cascade.new_tape(planes)).transpose()?;
        let mut out = vec![T::zero(); planes * self.cascade.output_plane()];
        self.cascade
            .forward(&bank.filters, x, &mut out, tape.as_mut());
        let out_shape = self.output_shape(&shape);
        let out = ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("output length");
        Ok((out, tape.map(|tape| ScatteringTape { tape, shape })))
    }

    /// The vector–Jacobian products of the transform at `input` with the wavelets of `bank`:
    /// the gradient of `⟨grad_output, S(input)⟩` with respect to the input (`want_input`) and to
    /// each wavelet's `(σ, ξ, θ, slant)` (`want_wavelets`). `tape`, when given, must come from
    /// [`LearnableScattering2d::forward`] on this same input and bank (its shape is checked, its
    /// values are trusted); without it the intermediates are recomputed.
    ///
    /// # Shapes
    /// - input: `[..., height, width]`
    /// - grad_output: `[..., K, height / 2^J, width / 2^J]`, the forward's output shape
    ///
    /// # Errors
    /// As [`LearnableScattering2d::forward`], plus [`ScatterError::InvalidShape`] when
    /// `grad_output` or the tape does not match the input, and [`ScatterError::NonFiniteInput`]
    /// for a non-finite value in `grad_output`.
    pub fn backward(
        &self,
        bank: &PreparedBank<T>,
        input: ArrayViewD<'_, T>,
        tape: Option<&ScatteringTape<T>>,
        grad_output: ArrayViewD<'_, T>,
        want_input: bool,
        want_wavelets: bool,
    ) -> Result<ScatteringGradients<T>> {
        self.check_prepared(bank)?;
        let shape = input.shape().to_vec();
        check_input_shape(self.geometry(), &shape)?;
        let expected = self.output_shape(&shape);
        if grad_output.shape() != expected.as_slice() {
            return Err(ScatterError::InvalidShape {
                expected: expected.into_iter().map(Some).collect(),
                got: grad_output.shape().to_vec(),
            });
        }
        if let Some(t) = tape
            && t.shape != shape
        {
            return Err(ScatterError::InvalidShape {
                expected: t.shape.iter().copied().map(Some).collect(),
                got: shape,
            });
        }
        if !want_input && !want_wavelets {
            return Ok(ScatteringGradients {
                input: None,
                wavelets: None,
            });
        }
        let x = input.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        check_finite(x, &shape)?;
        let grad = grad_output.as_standard_layout();
        let grad = grad.as_slice().expect("standard layout is contiguous");
        check_finite(grad, grad_output.shape())?;
        let (dx, dpsi) = self.cascade.backward(
            &bank.filters,
            x,
            tape.map(|t| &t.tape),
            grad,
            want_input,
            want_wavelets,
        );
        let input = dx.map(|dx| ArrayD::from_shape_vec(IxDyn(&shape), dx).expect("input shape"));
        let [mp, np] = bank.padded_size;
        let wavelets =
            dpsi.map(|dpsi| spectral::wavelet_spectra_vjp(bank.bank.wavelets(), mp, np, &dpsi));
        Ok(ScatteringGradients { input, wavelets })
    }

    /// `[..., K, ho, wo]` for an input `[..., height, width]`.
    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let [ho, wo] = self.geometry().output_size();
        let mut out = input[..input.len() - 2].to_vec();
        out.extend([self.paths().len(), ho, wo]);
        out
    }

    /// [`ScatterError::InvalidParameter`] (`bank`) for a bank prepared by another cascade.
    fn check_prepared(&self, bank: &PreparedBank<T>) -> Result<()> {
        let same = bank.padded_size == self.geometry().padded_size()
            && bank.max_order == self.options().max_order()
            && bank.bank.num_scales() == self.options().num_scales()
            && bank.bank.num_orientations() == self.options().num_orientations();
        if same {
            return Ok(());
        }
        Err(ScatterError::InvalidParameter {
            name: "bank",
            value: format!(
                "prepared for a {:?} padded grid, J = {}, L = {}, max_order = {}",
                bank.padded_size,
                bank.bank.num_scales(),
                bank.bank.num_orientations(),
                bank.max_order
            ),
            reason: "a bank must be prepared by the cascade that runs it",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::Scattering2dPlan;
    use crate::filters::MorletParams;
    use ndarray::{Array, ArrayD, Dimension};

    fn input(shape: &[usize]) -> ArrayD<f64> {
        Array::from_shape_fn(IxDyn(shape), |i| {
            let s: usize = i
                .as_array_view()
                .iter()
                .enumerate()
                .map(|(k, v)| (k + 3) * v)
                .sum();
            ((s as f64) * 0.37).sin() + 0.1 * (i[i.ndim() - 1] as f64)
        })
    }

    #[test]
    fn forward_equals_the_fixed_filter_plan() {
        let options = ScatteringOptions::new(2, 4).unwrap();
        let bank = FilterBankParams::random(2, 4, 7).unwrap();
        let plan =
            Scattering2dPlan::<f64>::with_filter_bank(16, 20, options, bank.clone()).unwrap();
        let layer = LearnableScattering2d::<f64>::new(16, 20, options).unwrap();
        let prepared = layer.prepare(bank).unwrap();
        let x = input(&[2, 1, 16, 20]);
        let (s, tape) = layer.forward(&prepared, x.view(), true).unwrap();
        assert!(tape.is_some());
        assert_eq!(s, plan.transform_dyn(x.view()).unwrap());
    }

    /// The wavelet gradient against central differences of `⟨g, S(x; p)⟩` in each of the four
    /// parameters of two wavelets, and the input gradient from the tape against the one
    /// recomputed without it.
    #[test]
    fn wavelet_gradient_matches_central_differences() {
        let (h, w) = (16, 16);
        let options = ScatteringOptions::new(2, 2).unwrap();
        let layer = LearnableScattering2d::<f64>::new(h, w, options).unwrap();
        let mut bank = FilterBankParams::tight_frame(2, 2).unwrap();
        // Off the tight frame's symmetric values, so no derivative vanishes by symmetry.
        let wavelets: Vec<MorletParams> = bank
            .wavelets()
            .iter()
            .enumerate()
            .map(|(n, p)| MorletParams {
                theta: p.theta + 0.1 * n as f64,
                slant: p.slant * 0.9,
                ..*p
            })
            .collect();
        bank = FilterBankParams::from_wavelets(2, 2, wavelets).unwrap();
        let x = input(&[2, h, w]);
        let prepared = layer.prepare(bank.clone()).unwrap();
        let (s, tape) = layer.forward(&prepared, x.view(), true).unwrap();
        let g = input(s.shape()).mapv(|v| v.cos());
        let taped = layer
            .backward(&prepared, x.view(), tape.as_ref(), g.view(), true, true)
            .unwrap();
        let recomputed = layer
            .backward(&prepared, x.view(), None, g.view(), true, true)
            .unwrap();
        let (dx, dx2) = (taped.input.unwrap(), recomputed.input.unwrap());
        assert!((&dx - &dx2).iter().all(|d| d.abs() < 1e-12));
        let grads = taped.wavelets.unwrap();
        assert_eq!(grads, recomputed.wavelets.unwrap());
        let loss = |b: &FilterBankParams| {
            let p = layer.prepare(b.clone()).unwrap();
            (&layer.forward(&p, x.view(), false).unwrap().0 * &g).sum()
        };
        let step = 1e-5;
        for n in [0, 3] {
            for k in 0..4 {
                let shifted = |d: f64| {
                    let mut ws = bank.wavelets().to_vec();
                    let p = &mut ws[n];
                    *[&mut p.sigma, &mut p.xi, &mut p.theta, &mut p.slant][k] += d;
                    FilterBankParams::from_wavelets(2, 2, ws).unwrap()
                };
                let fd = (loss(&shifted(step)) - loss(&shifted(-step))) / (2.0 * step);
                let an = grads[n][k];
                assert!(
                    (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                    "wavelet {n}, parameter {k}: analytic {an}, central difference {fd}"
                );
            }
        }
    }

    #[test]
    fn mismatched_banks_tapes_and_gradients_are_errors() {
        let options = ScatteringOptions::new(2, 2).unwrap();
        let a = LearnableScattering2d::<f32>::new(16, 16, options).unwrap();
        let b = LearnableScattering2d::<f32>::new(32, 16, options).unwrap();
        let bank = FilterBankParams::tight_frame(2, 2).unwrap();
        let prepared_b = b.prepare(bank.clone()).unwrap();
        let x = ArrayD::<f32>::ones(IxDyn(&[1, 16, 16]));
        assert!(matches!(
            a.forward(&prepared_b, x.view(), false),
            Err(ScatterError::InvalidParameter { name: "bank", .. })
        ));
        let wrong_l = FilterBankParams::tight_frame(2, 3).unwrap();
        assert!(a.prepare(wrong_l).is_err());
        let prepared = a.prepare(bank).unwrap();
        let (s, tape) = a.forward(&prepared, x.view(), true).unwrap();
        let x2 = ArrayD::<f32>::ones(IxDyn(&[2, 16, 16]));
        let g2 = ArrayD::<f32>::ones(IxDyn(&[2, s.shape()[1], 4, 4]));
        assert!(matches!(
            a.backward(&prepared, x2.view(), tape.as_ref(), g2.view(), true, false),
            Err(ScatterError::InvalidShape { .. })
        ));
        let g_bad = ArrayD::<f32>::ones(IxDyn(&[1, 3, 4, 4]));
        assert!(matches!(
            a.backward(&prepared, x.view(), None, g_bad.view(), true, false),
            Err(ScatterError::InvalidShape { .. })
        ));
    }
}
