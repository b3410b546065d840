//! Planning: what a cascade needs for one input size and `(J, L, max_order)` ([`Cascade`]), and
//! wavelet spectra prepared for it ([`PreparedFilters`]).
//!
//! A [`Cascade`] holds the FFT plans of every resolution `2^−r`, `r = 0..=J`, the low-pass `φ̃` at
//! the resolutions it is applied at, the reflect-padding tables and the channel of every path (read
//! from [`crate::geometry::paths`], the one path table), and where each path's complex signal sits
//! on a [`Tape`](super::tape::Tape). Preparing a bank puts each wavelet at every resolution it is
//! applied at, in the layout the products of [`super::kernels`] read: transposed, every value
//! twice, pre-scaled by `1/(M_r·N_r)` of its grid.

use rustfft::FftPlanner;

use super::Float;
use super::alloc::{Alloc, AllocFailure, bytes_of, check_reservable};
use super::kernels::Fft2;
use crate::error::Result;
use crate::filters::{FilterBankParams, periodize, spectral::gabor_spectrum};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath, paths};

/// Marks a table entry with no path.
pub(super) const NONE: usize = usize::MAX;

/// A planned cascade for one input size and `(J, L, max_order)`. `Send + Sync`.
pub(crate) struct Cascade<T: Float> {
    pub(super) options: ScatteringOptions,
    pub(super) geometry: PaddedGeometry,
    pub(super) paths: Vec<ScatteringPath>,
    /// Output channel of `First { j1, l1 }`, index `n1 = j1·L + l1`.
    pub(super) first_channel: Vec<usize>,
    /// Output channel of `Second { .. }`, index `n1·(J·L) + n2`; [`NONE`] where `j2 ≤ j1`.
    pub(super) second_channel: Vec<usize>,
    /// FFT plans, index = resolution `r`.
    pub(super) ffts: Vec<Fft2<T>>,
    /// `φ̃[r]`, `r < J`: transposed layout, every value twice, scaled by `1/(M_r·N_r)`.
    pub(super) phi: Vec<Vec<T>>,
    /// `[height, width]` of an input plane: the image's, or the padded grid's when the input
    /// comes padded ([`Cascade::use_padded_input`]).
    pub(super) input_size: [usize; 2],
    /// The input row (column) each padded row (column) is read from: kymatio's reflect padding,
    /// or the identity for a padded input.
    pub(super) src_rows: Vec<usize>,
    pub(super) src_cols: Vec<usize>,
    pub(super) scratch_len: usize,
    /// Tape offset of the complex `u` whose modulus feeds channel `c` (first and second order).
    pub(super) u_offset: Vec<usize>,
    pub(super) tape_len: usize,
}

/// Wavelet spectra prepared for a [`Cascade`]: `psi[n][r]` is wavelet `n` at resolution `r`
/// (every resolution it is applied at), laid out as the low-pass in [`Cascade`].
pub(crate) struct PreparedFilters<T> {
    pub(super) psi: Vec<Vec<Vec<T>>>,
}

impl<T: Float> Cascade<T> {
    /// Plans the cascade for an `height × width` input.
    ///
    /// # Errors
    /// [`crate::ScatterError::InvalidParameter`] for invalid options, [`crate::ScatterError::ScaleTooLarge`] if
    /// `2^J` exceeds `height` or `width`, [`crate::ScatterError::InputTooLarge`] or
    /// [`crate::ScatterError::PlanTooLarge`] for sizes beyond the documented limits.
    pub(crate) fn new(height: usize, width: usize, options: ScatteringOptions) -> Result<Self> {
        options.validate()?;
        let big_j = options.num_scales();
        let geometry = PaddedGeometry::new(height, width, big_j)?;
        super::check_plan_size::<T>(&options, &geometry)?;
        // The FFT library and ndarray allocate infallibly: the plan's estimated peak is reserved
        // (and released) first, so that a plan that cannot fit is an error, not an abort.
        check_reservable(
            super::plan_bytes::<T>(&options, &geometry),
            "a scattering plan (its estimated peak memory)",
        )?;
        let [mp, np] = geometry.padded_size();
        let mut planner = FftPlanner::new();
        let ffts: Vec<Fft2<T>> = (0..=big_j)
            .map(|r| Fft2::new(&mut planner, mp >> r, np >> r))
            .collect();
        let scratch_len = ffts.iter().map(Fft2::scratch_len).max().unwrap_or(0);
        // The low-pass is fixed by J (kymatio's φ, also in the learnable setting of the paper).
        let low_pass = FilterBankParams::tight_frame(big_j, 1)?.low_pass();
        let phi_full = gabor_spectrum(mp, np, &low_pass);
        let phi = (0..big_j)
            .map(|r| prepare(&periodize(phi_full.view(), r)))
            .collect::<Alloc<_>>()?;

        let paths = paths(&options);
        let count = big_j * options.num_orientations();
        let mut first_channel = vec![NONE; count];
        let mut second_channel = vec![NONE; count * count];
        let mut u_offset = vec![NONE; paths.len()];
        let res_len = |r: usize| ffts[r].len();
        let mut tape_len = res_len(0);
        let wavelet = |j: usize, l: usize| j * options.num_orientations() + l;
        for (c, path) in paths.iter().enumerate() {
            match *path {
                ScatteringPath::Zeroth => {}
                ScatteringPath::First { j1, l1 } => {
                    first_channel[wavelet(j1, l1)] = c;
                    u_offset[c] = tape_len;
                    tape_len += res_len(j1);
                }
                ScatteringPath::Second { j1, l1, j2, l2 } => {
                    second_channel[wavelet(j1, l1) * count + wavelet(j2, l2)] = c;
                    u_offset[c] = tape_len;
                    tape_len += res_len(j2);
                }
            }
        }
        Ok(Self {
            input_size: [height, width],
            src_rows: (0..mp).map(|i| geometry.source_row(i)).collect(),
            src_cols: (0..np).map(|i| geometry.source_col(i)).collect(),
            options,
            geometry,
            paths,
            first_channel,
            second_channel,
            ffts,
            phi,
            scratch_len,
            u_offset,
            tape_len,
        })
    }

    pub(crate) fn options(&self) -> &ScatteringOptions {
        &self.options
    }

    pub(crate) fn geometry(&self) -> &PaddedGeometry {
        &self.geometry
    }

    pub(crate) fn paths(&self) -> &[ScatteringPath] {
        &self.paths
    }

    /// Values per input plane, `height·width` (`Mp·Np` for a padded input).
    pub(crate) fn input_plane(&self) -> usize {
        self.input_size[0] * self.input_size[1]
    }

    /// `[height, width]` of an input plane.
    pub(crate) fn input_size(&self) -> [usize; 2] {
        self.input_size
    }

    /// Takes inputs already padded to the padded grid (kymatio's `pre_pad=True`): each plane is
    /// used as it is, with no padding of its own.
    pub(crate) fn use_padded_input(&mut self) {
        let [mp, np] = self.geometry.padded_size();
        self.input_size = [mp, np];
        self.src_rows = (0..mp).collect();
        self.src_cols = (0..np).collect();
    }

    /// Values per output plane, `K·⌊height/2^J⌋·⌊width/2^J⌋`.
    pub(crate) fn output_plane(&self) -> usize {
        let [ho, wo] = self.geometry.output_size();
        self.paths.len() * ho * wo
    }

    /// Values of the full-resolution wavelet spectra the cascade takes, `J·L·Mp·Np`.
    pub(crate) fn filter_len(&self) -> usize {
        let [mp, np] = self.geometry.padded_size();
        self.num_wavelets() * mp * np
    }

    pub(super) fn num_wavelets(&self) -> usize {
        self.options.num_scales() * self.options.num_orientations()
    }

    /// Resolutions at which wavelet `n` is applied: 0 (order 1, and order 2 from `j1 = 0`) and
    /// every `j1 < j` (order 2).
    pub(super) fn resolutions(&self, n: usize) -> usize {
        let j = n / self.options.num_orientations();
        if self.options.max_order() >= 2 {
            j.max(1)
        } else {
            1
        }
    }

    /// Prepares wavelet spectra `[J·L][Mp][Np]` (row-major, FFT order) for the cascade.
    ///
    /// # Errors
    /// The failure of a prepared spectrum's buffer (reserved fallibly).
    ///
    /// # Panics
    /// If `psi` does not hold [`Cascade::filter_len`] values (callers check first).
    pub(crate) fn prepare_filters<S: Copy + Into<f64>>(
        &self,
        psi: &[S],
    ) -> Alloc<PreparedFilters<T>> {
        assert_eq!(
            psi.len(),
            self.filter_len(),
            "wavelet spectra of the wrong size"
        );
        let [mp, np] = self.geometry.padded_size();
        let plane = mp * np;
        let psi = (0..self.num_wavelets())
            .map(|n| {
                let full = ndarray::ArrayView2::from_shape((mp, np), &psi[n * plane..][..plane])
                    .expect("plane of Mp·Np values")
                    .mapv(Into::into);
                (0..self.resolutions(n))
                    .map(|r| prepare(&periodize(full.view(), r)))
                    .collect::<Alloc<Vec<_>>>()
            })
            .collect::<Alloc<_>>()?;
        Ok(PreparedFilters { psi })
    }
}

/// The orientations of scale `j` in pairs `(n_a, Some(n_b))`, the last one alone for odd `L`.
pub(super) fn pairs(j: usize, big_l: usize) -> impl Iterator<Item = (usize, Option<usize>)> {
    (0..big_l)
        .step_by(2)
        .map(move |l| (j * big_l + l, (l + 1 < big_l).then_some(j * big_l + l + 1)))
}

/// `2^e` in `T`.
pub(super) fn pow2<T: Float>(e: i32) -> T {
    T::from_f64(2f64.powi(e)).expect("a power of two in range")
}

/// A spectrum in the cascade's filter layout: transposed, every value twice (the product with an
/// interleaved complex spectrum is one real multiply), scaled by `1/(h·w)` of its grid (the
/// product is always followed by a fold and an unnormalised inverse FFT, whose factors multiply
/// to that).
fn prepare<T: Float>(a: &ndarray::Array2<f64>) -> Alloc<Vec<T>> {
    let scale = 1.0 / a.len() as f64;
    let mut out = Vec::new();
    out.try_reserve_exact(2 * a.len())
        .map_err(|_| AllocFailure {
            what: "the prepared wavelet spectra",
            bytes: bytes_of::<T>(2 * a.len() as u128),
        })?;
    out.extend(
        a.t()
            .iter()
            .flat_map(|&v| [T::from_f64(v * scale).expect("finite"); 2]),
    );
    Ok(out)
}
