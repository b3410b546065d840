//! Fast fixed-filter 2D scattering on the CPU: ndarray + rustfft + rayon, `f32` or `f64`.
//!
//! A [`Scattering2dPlan`] is built once for an input size and a filter bank (FFT plans and filter
//! spectra cached, RustFFT's plan-once-execute-many), then [`Scattering2dPlan::transform`] runs on
//! any number of batches, in parallel over images with rayon. Numerically it is kymatio 0.3.0's
//! `Scattering2D` (same padding, filters, Fourier subsampling and path order), with two
//! exact reorganisations: spectra are stored transposed (one transpose per 2D FFT), and two real
//! signals share one complex FFT (moduli before their forward transform, outputs before their
//! inverse one).
//!
//! # Example
//! ```
//! # fn main() -> Result<(), learnable_scattering::ScatterError> {
//! use learnable_scattering::{ScatteringOptions, fast::Scattering2dPlan};
//! use ndarray::Array4;
//!
//! let plan = Scattering2dPlan::<f32>::new(32, 32, ScatteringOptions::new(2, 8)?)?;
//! let x = Array4::<f32>::from_shape_fn((4, 3, 32, 32), |(b, c, i, j)| ((b + c + i * j) as f32).sin());
//! let s = plan.transform(x.view())?;
//! assert_eq!(s.shape(), &[4, 3, 81, 8, 8]);
//! # Ok(()) }
//! ```

pub(crate) mod kernels;

use ndarray::{Array5, ArrayD, ArrayView4, ArrayViewD, IxDyn};
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{FftNum, FftPlanner};

use crate::error::{Result, ScatterError};
use crate::filters::{FilterBankParams, periodize, spectral};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath, paths};
use kernels::{Fft2, mul_subsample, pack_moduli, unpack_spectra};

/// Floating-point types the fast path runs in: `f32` and `f64`.
pub trait Float: FftNum + num_traits::Float + ndarray::ScalarOperand {}
impl Float for f32 {}
impl Float for f64 {}

/// A planned fixed-filter scattering transform for one input size.
///
/// Holds the FFT plans of every resolution `2^−r`, `r = 0..=J`, and the filter spectra at the
/// resolutions they are applied at: `ψ̂_{j,l}` at level 0 and at the levels `j1 < j` used by
/// order 2, `φ̂` at levels `0..J`. `Send + Sync`: share it across threads freely.
pub struct Scattering2dPlan<T: Float = f32> {
    options: ScatteringOptions,
    geometry: PaddedGeometry,
    bank: FilterBankParams,
    paths: Vec<ScatteringPath>,
    /// FFT plans, index = resolution `r`.
    ffts: Vec<Fft2<T>>,
    /// `psi[n][r]`: wavelet `n` at resolution `r` (transposed layout, every value twice, scaled
    /// by `1/(h·w)` of that resolution).
    psi: Vec<Vec<Vec<T>>>,
    /// `phi[r]`: low-pass at resolution `r`, `r < J`, stored as `psi`.
    phi: Vec<Vec<T>>,
    /// Source row / column of every padded row / column (reflect padding).
    src_rows: Vec<usize>,
    src_cols: Vec<usize>,
    scratch_len: usize,
}

impl<T: Float> std::fmt::Debug for Scattering2dPlan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scattering2dPlan")
            .field("options", &self.options)
            .field("geometry", &self.geometry)
            .finish_non_exhaustive()
    }
}

impl<T: Float> Scattering2dPlan<T> {
    /// Plan with kymatio's tight-frame bank ([`FilterBankParams::tight_frame`]).
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for invalid options, [`ScatterError::ScaleTooLarge`] if
    /// `2^J` exceeds `height` or `width`.
    pub fn new(height: usize, width: usize, options: ScatteringOptions) -> Result<Self> {
        options.validate()?;
        let bank = FilterBankParams::tight_frame(options.num_scales, options.num_orientations)?;
        Self::with_filter_bank(height, width, options.max_order, bank)
    }

    /// Plan with an explicit bank, for example learned parameters exported from the burn layer.
    ///
    /// # Errors
    /// As [`Scattering2dPlan::new`], plus the bank's own checks
    /// ([`FilterBankParams::validate`]).
    pub fn with_filter_bank(
        height: usize,
        width: usize,
        max_order: usize,
        bank: FilterBankParams,
    ) -> Result<Self> {
        bank.validate()?;
        let options = ScatteringOptions::with_max_order(
            bank.num_scales(),
            bank.num_orientations(),
            max_order,
        )?;
        let geometry = PaddedGeometry::new(height, width, options.num_scales)?;
        let big_j = options.num_scales;
        let [mp, np] = geometry.padded_size();

        let mut planner = FftPlanner::new();
        let ffts: Vec<Fft2<T>> = (0..=big_j)
            .map(|r| Fft2::new(&mut planner, mp >> r, np >> r))
            .collect();
        let scratch_len = ffts.iter().map(Fft2::scratch_len).max().unwrap_or(0);

        let spectra = spectral::bank_spectra(&bank, mp, np);
        // A filter at level r always multiplies a spectrum of the level-r grid, and the inverse
        // FFT that follows (after subsampling) needs 1/(h·w) of that grid: store it pre-scaled.
        let to_transposed = |a: ndarray::Array2<f64>| -> Vec<T> {
            let scale = 1.0 / a.len() as f64;
            a.t()
                .iter()
                .flat_map(|&v| [T::from_f64(v * scale).unwrap(); 2])
                .collect()
        };
        let psi = spectra
            .psi
            .iter()
            .enumerate()
            .map(|(n, full)| {
                let j = n / options.num_orientations;
                (0..j.max(1))
                    .map(|r| to_transposed(periodize(full.view(), r)))
                    .collect()
            })
            .collect();
        let phi = (0..big_j)
            .map(|r| to_transposed(periodize(spectra.phi.view(), r)))
            .collect();

        Ok(Self {
            src_rows: (0..mp).map(|i| geometry.source_row(i)).collect(),
            src_cols: (0..np).map(|i| geometry.source_col(i)).collect(),
            paths: paths(&options),
            options,
            geometry,
            bank,
            ffts,
            psi,
            phi,
            scratch_len,
        })
    }

    /// The options (`J`, `L`, `max_order`).
    pub fn options(&self) -> &ScatteringOptions {
        &self.options
    }

    /// Padding and output geometry.
    pub fn geometry(&self) -> &PaddedGeometry {
        &self.geometry
    }

    /// The filter bank the plan was built from.
    pub fn filter_bank(&self) -> &FilterBankParams {
        &self.bank
    }

    /// Output channels in order: channel `k` is `paths()[k]`.
    pub fn paths(&self) -> &[ScatteringPath] {
        &self.paths
    }

    /// Number of output channels `K`.
    pub fn num_paths(&self) -> usize {
        self.paths.len()
    }

    /// Scattering coefficients of a batch of multi-channel images.
    ///
    /// # Shapes
    /// - input: `[batch, channels, height, width]`
    /// - output: `[batch, channels, K, height / 2^J, width / 2^J]` (floor division), with
    ///   `K = 1 + J·L + L²·J(J−1)/2` (`1 + J·L` for `max_order = 1`), channels in the order of
    ///   [`Scattering2dPlan::paths`].
    ///
    /// # Errors
    /// [`ScatterError::InvalidShape`] if `height × width` differs from the plan's,
    /// [`ScatterError::EmptyBatch`] if `batch` or `channels` is 0,
    /// [`ScatterError::NonFiniteInput`] at the first NaN or infinite value.
    pub fn transform(&self, input: ArrayView4<'_, T>) -> Result<Array5<T>> {
        Ok(self
            .transform_dyn(input.into_dyn())?
            .into_dimensionality()
            .expect("transform_dyn keeps the two leading dimensions"))
    }

    /// Scattering coefficients of an array with any number of leading dimensions, as kymatio.
    ///
    /// # Shapes
    /// - input: `[..., height, width]` (at least 2 dimensions; `[height, width]` is one image)
    /// - output: `[..., K, height / 2^J, width / 2^J]`
    ///
    /// # Errors
    /// [`ScatterError::InvalidRank`] for fewer than 2 dimensions, otherwise as
    /// [`Scattering2dPlan::transform`].
    pub fn transform_dyn(&self, input: ArrayViewD<'_, T>) -> Result<ArrayD<T>> {
        let shape = input.shape().to_vec();
        if shape.len() < 2 {
            return Err(ScatterError::InvalidRank {
                expected: "at least 2",
                got: shape.len(),
            });
        }
        let (lead, spatial) = shape.split_at(shape.len() - 2);
        if spatial != [self.geometry.height, self.geometry.width] {
            let mut expected = vec![usize::MAX; lead.len()];
            expected.extend([self.geometry.height, self.geometry.width]);
            return Err(ScatterError::InvalidShape {
                expected,
                got: shape,
            });
        }
        if lead.contains(&0) {
            return Err(ScatterError::EmptyBatch { shape });
        }
        let standard = input.as_standard_layout();
        let x = standard.as_slice().expect("standard layout is contiguous");
        check_finite(x, &shape)?;
        let [ho, wo] = self.geometry.output_size();
        let plane_in = self.geometry.height * self.geometry.width;
        let plane_out = self.num_paths() * ho * wo;
        let planes = x.len() / plane_in;

        let mut out = vec![T::zero(); planes * plane_out];
        out.par_chunks_mut(plane_out)
            .zip(x.par_chunks(plane_in))
            .for_each_init(
                || Workspace::new(self),
                |ws, (dst, src)| self.scatter_plane(src, dst, ws),
            );

        let mut out_shape = lead.to_vec();
        out_shape.extend([self.num_paths(), ho, wo]);
        Ok(ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("output length matches shape"))
    }

    /// One `height × width` plane to its `[K, ho, wo]` coefficients.
    fn scatter_plane(&self, x: &[T], dst: &mut [T], ws: &mut Workspace<T>) {
        let big_j = self.options.num_scales;
        let big_l = self.options.num_orientations;
        let f0 = &self.ffts[0];

        // U0 = fft2(pad(x)).
        let w = self.geometry.width;
        for (r, &sr) in self.src_rows.iter().enumerate() {
            let row = &mut ws.spatial[r * f0.w..(r + 1) * f0.w];
            for (d, &sc) in row.iter_mut().zip(&self.src_cols) {
                *d = Complex::new(x[sr * w + sc], T::zero());
            }
        }
        f0.forward(&mut ws.spatial[..f0.len()], &mut ws.u0, &mut ws.scratch);

        // S0.
        let u0 = std::mem::take(&mut ws.u0);
        self.low_pass(&u0, 0, &mut ws.small, &mut ws.spatial, &mut ws.scratch);
        self.write_pair(&ws.spatial, 0, None, dst);

        let mut channel = 1;
        for j1 in 0..big_j {
            let f1 = &self.ffts[j1];
            let mut l1 = 0;
            while l1 < big_l {
                let pair = l1 + 1 < big_l;
                // Z = fft2(|u_a| + i|u_b|), u = ifft2(sub(U0 · ψ_{j1,l}, 2^j1)).
                let mut z1 = std::mem::take(&mut ws.z1);
                self.wavelet_pair(&u0, 0, j1, j1 * big_l + l1, pair, ws, &mut z1[..f1.len()]);
                self.low_pass(
                    &z1[..f1.len()],
                    j1,
                    &mut ws.small,
                    &mut ws.spatial,
                    &mut ws.scratch,
                );
                self.write_pair(&ws.spatial, channel, pair.then_some(channel + 1), dst);
                channel += 1 + pair as usize;

                if self.options.max_order >= 2 && j1 + 1 < big_j {
                    unpack_spectra(&z1[..f1.len()], f1.w, f1.h, &mut ws.xa, &mut ws.xb);
                    let xa = std::mem::take(&mut ws.xa);
                    let xb = std::mem::take(&mut ws.xb);
                    for (m, u1) in [&xa, &xb].into_iter().enumerate().take(1 + pair as usize) {
                        self.second_order(j1, l1 + m, &u1[..f1.len()], ws, dst);
                    }
                    ws.xa = xa;
                    ws.xb = xb;
                }
                ws.z1 = z1;
                l1 += 2;
            }
        }
        ws.u0 = u0;
    }

    /// All order-2 paths `(j1, l1, j2 > j1, l2)` from `U1 = fft2(|u1|)` at resolution `j1`.
    fn second_order(
        &self,
        j1: usize,
        l1: usize,
        u1: &[Complex<T>],
        ws: &mut Workspace<T>,
        dst: &mut [T],
    ) {
        let big_j = self.options.num_scales;
        let big_l = self.options.num_orientations;
        for j2 in j1 + 1..big_j {
            let f2 = &self.ffts[j2];
            let mut l2 = 0;
            while l2 < big_l {
                let pair = l2 + 1 < big_l;
                let mut z2 = std::mem::take(&mut ws.z2);
                self.wavelet_pair(u1, j1, j2, j2 * big_l + l2, pair, ws, &mut z2[..f2.len()]);
                self.low_pass(
                    &z2[..f2.len()],
                    j2,
                    &mut ws.small,
                    &mut ws.spatial,
                    &mut ws.scratch,
                );
                ws.z2 = z2;
                let c = self.second_index(j1, l1, j2, l2);
                self.write_pair(&ws.spatial, c, pair.then_some(c + 1), dst);
                l2 += 2;
            }
        }
    }

    /// `out = fft2(|u_a| + i·|u_b|)` with `u = ifft2(sub(src · ψ̂_n, 2^(to − from)))` for the
    /// wavelets `n = first` and, if `pair`, `n = first + 1` (otherwise `u_b = 0`): `src` and the
    /// filters at resolution `from`, `out` at resolution `to`. Both orders use this step.
    #[allow(clippy::too_many_arguments)]
    fn wavelet_pair(
        &self,
        src: &[Complex<T>],
        from: usize,
        to: usize,
        first: usize,
        pair: bool,
        ws: &mut Workspace<T>,
        out: &mut [Complex<T>],
    ) {
        let (fs, ft) = (&self.ffts[from], &self.ffts[to]);
        let n = ft.len();
        for (m, u) in [&mut ws.ua, &mut ws.ub]
            .into_iter()
            .enumerate()
            .take(1 + pair as usize)
        {
            let psi = &self.psi[first + m][from];
            mul_subsample(src, psi, fs.w, fs.h, 1 << (to - from), &mut ws.spec[..n]);
            ft.inverse(&mut ws.spec[..n], &mut u[..n], &mut ws.scratch);
        }
        pack_moduli(&ws.ua[..n], pair.then(|| &ws.ub[..n]), &mut ws.spatial[..n]);
        ft.forward(&mut ws.spatial[..n], out, &mut ws.scratch);
    }

    /// Output channel of the order-2 path `(j1, l1, j2, l2)` (kymatio's lexicographic order).
    fn second_index(&self, j1: usize, l1: usize, j2: usize, l2: usize) -> usize {
        let big_j = self.options.num_scales;
        let big_l = self.options.num_orientations;
        // Paths before scale j1: for each j < j1, L first wavelets × L·(J−1−j) second ones.
        let before: usize = (0..j1).map(|j| big_l * big_l * (big_j - 1 - j)).sum();
        let per_l1 = big_l * (big_j - 1 - j1);
        1 + big_j * big_l + before + l1 * per_l1 + (j2 - j1 - 1) * big_l + l2
    }

    /// `spatial[..] = ifft2(sub(spec · φ_r, 2^(J−r)))` on the coarsest grid (unnormalised FFT,
    /// normalisation folded into the product).
    fn low_pass(
        &self,
        spec: &[Complex<T>],
        r: usize,
        small: &mut [Complex<T>],
        spatial: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let big_j = self.options.num_scales;
        let (fr, fj) = (&self.ffts[r], &self.ffts[big_j]);
        mul_subsample(
            spec,
            &self.phi[r],
            fr.w,
            fr.h,
            1 << (big_j - r),
            &mut small[..fj.len()],
        );
        fj.inverse(&mut small[..fj.len()], &mut spatial[..fj.len()], scratch);
    }

    /// Unpads the coarse grid in `spatial` (one pixel per side) into channel `re` (real part) and
    /// optionally channel `im` (imaginary part) of `dst`.
    fn write_pair(&self, spatial: &[Complex<T>], re: usize, im: Option<usize>, dst: &mut [T]) {
        let fj = &self.ffts[self.options.num_scales];
        let [ho, wo] = self.geometry.output_size();
        let plane = ho * wo;
        for r in 0..ho {
            let src = &spatial[(r + 1) * fj.w + 1..(r + 1) * fj.w + 1 + wo];
            let d = &mut dst[re * plane + r * wo..re * plane + (r + 1) * wo];
            d.iter_mut().zip(src).for_each(|(d, s)| *d = s.re);
            if let Some(im) = im {
                let d = &mut dst[im * plane + r * wo..im * plane + (r + 1) * wo];
                d.iter_mut().zip(src).for_each(|(d, s)| *d = s.im);
            }
        }
    }
}

/// Per-thread buffers, sized for the full-resolution grid.
struct Workspace<T: Float> {
    spatial: Vec<Complex<T>>,
    u0: Vec<Complex<T>>,
    spec: Vec<Complex<T>>,
    ua: Vec<Complex<T>>,
    ub: Vec<Complex<T>>,
    z1: Vec<Complex<T>>,
    xa: Vec<Complex<T>>,
    xb: Vec<Complex<T>>,
    small: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    /// Order-2 spectrum of a packed pair of moduli, at resolution ≥ 1.
    z2: Vec<Complex<T>>,
}

impl<T: Float> Workspace<T> {
    fn new(plan: &Scattering2dPlan<T>) -> Self {
        let zero = Complex::new(T::zero(), T::zero());
        let full = plan.ffts[0].len();
        let half = plan.ffts.get(1).map_or(full, Fft2::len);

        let buf = |n: usize| vec![zero; n];
        Self {
            spatial: buf(full),
            u0: buf(full),
            spec: buf(full),
            ua: buf(full),
            ub: buf(full),
            z1: buf(full),
            xa: buf(full),
            xb: buf(full),
            small: buf(plan.ffts[plan.options.num_scales].len()),
            scratch: buf(plan.scratch_len),
            z2: buf(half),
        }
    }
}

/// [`ScatterError::NonFiniteInput`] at the first NaN or infinite value, in row-major order.
fn check_finite<T: Float>(x: &[T], shape: &[usize]) -> Result<()> {
    let Some(flat) = x.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let mut index = vec![0; shape.len()];
    let mut rest = flat;
    for (i, &n) in shape.iter().enumerate().rev() {
        index[i] = rest % n;
        rest /= n;
    }
    Err(ScatterError::NonFiniteInput {
        index,
        value: x[flat].to_f64().unwrap_or(f64::NAN),
    })
}
