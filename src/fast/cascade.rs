//! The scattering cascade (orders 0, 1, 2) and its adjoint on the CPU: the crate's one engine.
//!
//! [`Cascade`] holds what depends on the input size and `(J, L, max_order)` only: FFT plans of every
//! resolution, the low-pass `φ̂` at the resolutions it is applied at, the reflect-padding tables and
//! the channel of every path (read from [`crate::geometry::paths`], the one path table). The
//! wavelets come separately as [`PreparedFilters`], built from their full-resolution spectra, so
//! the same cascade serves the fixed-filter fast path ([`super::Scattering2dPlan`]) and the burn
//! layer, whose filters change at every step.
//!
//! **Forward** (per `height × width` plane, kymatio's algorithm; see `docs/design.md`):
//!
//! ```text
//! X   = F(pad(x))                                        resolution 0
//! u1  = F^H(fold_{2^j1}(X · ψ̃_{j1,l1}))                   resolution j1
//! U1  = F(|u1|)            (two orientations per complex FFT, split by Hermitian symmetry)
//! u2  = F^H(fold_{2^(j2−j1)}(U1 · ψ̃_{j2,l2}[j1]))          resolution j2 > j1
//! S   = unpad(F^H(fold_{2^(J−r)}(F(U) · φ̃[r])))           resolution J, one pixel off each side
//! ```
//!
//! `F` is the unnormalised 2D DFT, `F^H` its adjoint (the unnormalised inverse), `fold_k` the sum
//! of the `k×k` aliases, and `ψ̃`, `φ̃` the filters pre-scaled by `1/(M_r·N_r)` of the grid they
//! multiply, which makes `F^H ∘ fold` kymatio's `ifft2 ∘ subsample_fourier`.
//!
//! **Adjoint.** Every step is linear but the modulus, so the backward applies the adjoints in
//! reverse order: `F ↔ F^H`, `fold_k(· ψ̃)` → `ψ̃ · tile_k(·)` (and `Re(conj(tile_k(ḡ))·src)` for the
//! filter), the Hermitian split → its Hermitian pack, `|u|` → `ḡ·u/|u|` (0 at `u = 0`, kymatio's
//! `ModulusStable`), unpad → zero embedding, pad → scatter-add onto the source pixels. The filter
//! gradient of a plane lands at every resolution where a wavelet is applied and is folded back
//! onto the full padded grid through the crop indices of [`crate::filters::periodize_rows`].
//!
//! **Intermediates.** With a [`Tape`] the forward keeps `X` and every complex `u1`, `u2` of each
//! plane, and the backward reads them instead of recomputing the inverse FFTs that made them
//! (`docs/benchmarks.md` has the measured trade-off).
//!
//! **Range.** Scattering is positively homogeneous, `S(c·x) = c·S(x)` for `c > 0`. A plane whose
//! largest magnitude exceeds [`Float::SAFE_MAGNITUDE`] is scaled down by a power of two before the
//! cascade and its coefficients scaled back up (exact in floating point), so no intermediate
//! square overflows for any finite input.

use num_complex::Complex;
use rayon::prelude::*;
use rustfft::FftPlanner;

use super::Float;
use super::kernels::{
    Fft2, modulus_adjoint, mul_subsample, mul_subsample_adjoint, pack_moduli, unpack_spectra,
    unpack_spectra_adjoint,
};
use crate::error::{Result, ScatterError};
use crate::filters::{FilterBankParams, periodize, periodize_rows, spectral::gabor_spectrum};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath, paths};

/// Number of plane blocks whose filter gradients are summed in a fixed order, so that the result
/// does not depend on the thread count or on work stealing (bit-reproducible training).
const FILTER_GRAD_BLOCKS: usize = 16;

/// Marks a table entry with no path.
const NONE: usize = usize::MAX;

/// A planned cascade for one input size and `(J, L, max_order)`. `Send + Sync`.
pub(crate) struct Cascade<T: Float> {
    options: ScatteringOptions,
    geometry: PaddedGeometry,
    paths: Vec<ScatteringPath>,
    /// Output channel of `First { j1, l1 }`, index `n1 = j1·L + l1`.
    first_channel: Vec<usize>,
    /// Output channel of `Second { .. }`, index `n1·(J·L) + n2`; [`NONE`] where `j2 ≤ j1`.
    second_channel: Vec<usize>,
    /// FFT plans, index = resolution `r`.
    ffts: Vec<Fft2<T>>,
    /// `φ̃[r]`, `r < J`: transposed layout, every value twice, scaled by `1/(M_r·N_r)`.
    phi: Vec<Vec<T>>,
    src_rows: Vec<usize>,
    src_cols: Vec<usize>,
    scratch_len: usize,
    /// Tape offset of the complex `u` whose modulus feeds channel `c` (first and second order).
    u_offset: Vec<usize>,
    tape_len: usize,
}

/// Wavelet spectra prepared for a [`Cascade`]: `psi[n][r]` is wavelet `n` at resolution `r`
/// (every resolution it is applied at), laid out as the low-pass in [`Cascade`].
pub(crate) struct PreparedFilters<T> {
    psi: Vec<Vec<Vec<T>>>,
}

/// Intermediates of a forward pass kept for the backward: per plane `X` and every `u1`, `u2`,
/// and the power-of-two scale applied to the plane.
///
/// The values live in a buffer taken from [`TAPE_POOL`] and given back on drop: a training step
/// needs a tape of the same size at every step (133 MB at batch 128 × 3 × 32 × 32, `J = 2`), and a
/// fresh allocation of that size is mapped and page-faulted in anew each time.
pub(crate) struct Tape<T> {
    /// `u64` words, viewed as `Complex<T>` (8 or 16 bytes, alignment ≤ 8).
    words: Vec<u64>,
    exponents: Vec<i32>,
    plane_len: usize,
    element: std::marker::PhantomData<T>,
}

impl<T> std::fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("planes", &self.exponents.len())
            .field("plane_len", &self.plane_len)
            .finish()
    }
}

#[cfg_attr(not(feature = "burn"), allow(dead_code))] // the burn layer keeps tapes
impl<T: Float> Tape<T> {
    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    fn values(&self) -> &[Complex<T>] {
        let n = self.words.len() * 8 / std::mem::size_of::<Complex<T>>();
        // SAFETY: `Complex<T>` for `T = f32 | f64` is `repr(C)`, 8 or 16 bytes with alignment 4
        // or 8, every bit pattern is a valid value, and the words are 8-aligned and `n` values long.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), n) }
    }

    /// The values and the per-plane exponents, both writable.
    fn parts_mut(&mut self) -> (&mut [Complex<T>], &mut [i32]) {
        let n = self.words.len() * 8 / std::mem::size_of::<Complex<T>>();
        // SAFETY: as in `values`; the result borrows the words exclusively for the lifetime of
        // `&mut self`, and the exponents are a separate field.
        let values = unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), n) };
        (values, &mut self.exponents)
    }
}

impl<T> Drop for Tape<T> {
    fn drop(&mut self) {
        TAPE_POOL.give_back(std::mem::take(&mut self.words));
    }
}

/// Tape buffers kept for reuse, at most [`TapePool::MAX_BYTES`] in all.
pub(crate) static TAPE_POOL: TapePool = TapePool {
    buffers: std::sync::Mutex::new(Vec::new()),
};

/// A small pool of word buffers (see [`Tape`]).
pub(crate) struct TapePool {
    buffers: std::sync::Mutex<Vec<Vec<u64>>>,
}

impl TapePool {
    /// Largest total size kept between steps: 8 GiB. A step of the paper's KTH-TIPS2-b setting
    /// (batch 128 × 3 × 128 × 128, `J = 4`, f32) keeps a 3.1 GB tape; with a smaller limit that
    /// tape was mapped and page-faulted in anew at every step, a fifth of the step's time
    /// (measured, `docs/benchmarks.md`). The pool only ever holds buffers a step has used, so
    /// what it keeps is at most the last step's peak.
    const MAX_BYTES: usize = 8 << 30;

    /// A buffer of `words` words; its contents are unspecified (the forward writes every word
    /// before the backward reads it; filter-gradient accumulators are zeroed by their owner).
    fn take(&self, words: usize) -> Vec<u64> {
        let mut pool = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        // The smallest buffer that is large enough, else the largest (grown).
        let pick = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= words)
            .min_by_key(|&i| pool[i].capacity())
            .or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].capacity()));
        let mut buf = pick.map(|i| pool.swap_remove(i)).unwrap_or_default();
        drop(pool);
        if buf.capacity() < words {
            // Zeroed allocations come from the kernel as untouched pages: no memset.
            buf = vec![0; words];
        }
        buf.resize(words, 0);
        buf
    }

    fn give_back(&self, buf: Vec<u64>) {
        if buf.capacity() == 0 {
            return;
        }
        let mut pool = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        let held: usize = pool.iter().map(|b| b.capacity() * 8).sum();
        if held + buf.capacity() * 8 <= Self::MAX_BYTES {
            pool.push(buf);
        }
    }
}

impl<T: Float> Cascade<T> {
    /// Plans the cascade for an `height × width` input.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for invalid options, [`ScatterError::ScaleTooLarge`] if
    /// `2^J` exceeds `height` or `width`, [`ScatterError::InputTooLarge`] or
    /// [`ScatterError::PlanTooLarge`] for sizes beyond the documented limits.
    pub(crate) fn new(height: usize, width: usize, options: ScatteringOptions) -> Result<Self> {
        options.validate()?;
        let big_j = options.num_scales();
        let geometry = PaddedGeometry::new(height, width, big_j)?;
        super::check_plan_size::<T>(&options, &geometry)?;
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
            .collect();

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

    /// Values per input plane, `height·width`.
    pub(crate) fn input_plane(&self) -> usize {
        self.geometry.height * self.geometry.width
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

    fn num_wavelets(&self) -> usize {
        self.options.num_scales() * self.options.num_orientations()
    }

    /// Resolutions at which wavelet `n` is applied: 0 (order 1, and order 2 from `j1 = 0`) and
    /// every `j1 < j` (order 2).
    fn resolutions(&self, n: usize) -> usize {
        let j = n / self.options.num_orientations();
        if self.options.max_order() >= 2 {
            j.max(1)
        } else {
            1
        }
    }

    /// Prepares wavelet spectra `[J·L][Mp][Np]` (row-major, FFT order) for the cascade.
    ///
    /// # Panics
    /// If `psi` does not hold [`Cascade::filter_len`] values (callers check first).
    pub(crate) fn prepare_filters<S: Copy + Into<f64>>(&self, psi: &[S]) -> PreparedFilters<T> {
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
                    .collect()
            })
            .collect();
        PreparedFilters { psi }
    }

    /// An empty tape for `planes` planes.
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    pub(crate) fn new_tape(&self, planes: usize) -> Result<Tape<T>> {
        let len = planes
            .checked_mul(self.tape_len)
            .ok_or(ScatterError::InvalidParameter {
                name: "planes",
                value: planes.to_string(),
                reason: "the intermediates of this many planes do not fit in memory",
            })?;
        let words = len * std::mem::size_of::<Complex<T>>() / 8;
        Ok(Tape {
            words: TAPE_POOL.take(words),
            exponents: vec![0; planes],
            plane_len: self.tape_len,
            element: std::marker::PhantomData,
        })
    }

    /// Scattering coefficients of the planes in `x` (`[P][height][width]`) into `out`
    /// (`[P][K][ho][wo]`), in parallel over planes; with `tape`, keeps the intermediates.
    ///
    /// # Panics
    /// If the lengths disagree (callers check first).
    pub(crate) fn forward(
        &self,
        filters: &PreparedFilters<T>,
        x: &[T],
        out: &mut [T],
        tape: Option<&mut Tape<T>>,
    ) {
        let (plane_in, plane_out) = (self.input_plane(), self.output_plane());
        assert_eq!(
            x.len() / plane_in,
            out.len() / plane_out,
            "planes in and out"
        );
        let work = out.par_chunks_mut(plane_out).zip(x.par_chunks(plane_in));
        match tape {
            Some(tape) => {
                assert_eq!(tape.exponents.len(), x.len() / plane_in, "tape planes");
                let (values, exponents) = tape.parts_mut();
                work.zip(values.par_chunks_mut(self.tape_len))
                    .zip(exponents.par_iter_mut())
                    .for_each_init(
                        || Workspace::new(self),
                        |ws, (((dst, src), t), e)| {
                            *e = self.forward_plane(filters, src, dst, ws, Some(t));
                        },
                    );
            }
            None => work.for_each_init(
                || Workspace::new(self),
                |ws, (dst, src)| {
                    self.forward_plane(filters, src, dst, ws, None);
                },
            ),
        }
    }

    /// The adjoint of [`Cascade::forward`] at `x` applied to the output gradient `grad`
    /// (`[P][K][ho][wo]`): the input gradient `[P][height][width]` if `want_input`, and the
    /// gradient with respect to the full-resolution wavelet spectra `[J·L][Mp][Np]` (summed over
    /// planes) if `want_filters`. Reads `tape` (from a forward on the same `x` and filters) when
    /// given, otherwise recomputes the intermediates.
    ///
    /// # Panics
    /// If the lengths disagree (callers check first).
    pub(crate) fn backward(
        &self,
        filters: &PreparedFilters<T>,
        x: &[T],
        tape: Option<&Tape<T>>,
        grad: &[T],
        want_input: bool,
        want_filters: bool,
    ) -> (Option<Vec<T>>, Option<Vec<T>>) {
        let (plane_in, plane_out) = (self.input_plane(), self.output_plane());
        let planes = x.len() / plane_in;
        assert_eq!(grad.len(), planes * plane_out, "gradient planes");
        if let Some(t) = tape {
            assert_eq!(t.exponents.len(), planes, "tape planes");
        }
        // Without a filter gradient every plane is independent: blocks of one plane each, as
        // finely divided as the forward. With one, a fixed number of blocks (see below).
        let block = if want_filters {
            planes.div_ceil(FILTER_GRAD_BLOCKS).max(1)
        } else {
            1
        };
        let mut dx = want_input.then(|| vec![T::zero(); x.len()]);
        // Blocks of planes: the input gradient of a block is its own slice; its filter gradient
        // is a partial sum, added to the others in block order below.
        let run_block = |ws: &mut Workspace<T>,
                         b: usize,
                         mut dx_block: Option<&mut [T]>|
         -> Option<FilterGrads<T>> {
            let mut acc = want_filters.then(|| FilterGrads::zeros(filters));
            for p in b * block..((b + 1) * block).min(planes) {
                let local = p - b * block;
                let (t, e) = match tape {
                    Some(t) => (
                        Some(&t.values()[p * self.tape_len..][..self.tape_len]),
                        t.exponents[p],
                    ),
                    None => (None, self.scale_exponent(&x[p * plane_in..][..plane_in])),
                };
                self.backward_plane(
                    filters,
                    &x[p * plane_in..][..plane_in],
                    &grad[p * plane_out..][..plane_out],
                    t,
                    e,
                    dx_block
                        .as_deref_mut()
                        .map(|d| &mut d[local * plane_in..][..plane_in]),
                    acc.as_mut(),
                    ws,
                );
            }
            acc
        };
        let workspace = || Workspace::new(self);
        let partials: Vec<Option<FilterGrads<T>>> = match dx.as_mut() {
            Some(dx) => dx
                .par_chunks_mut(block * plane_in)
                .enumerate()
                .map_init(workspace, |ws, (b, d)| run_block(ws, b, Some(d)))
                .collect(),
            None => (0..planes.div_ceil(block))
                .into_par_iter()
                .map_init(workspace, |ws, b| run_block(ws, b, None))
                .collect(),
        };
        let dpsi = want_filters.then(|| {
            let mut partials: Vec<FilterGrads<T>> = partials.into_iter().flatten().collect();
            let (sum, rest) = partials.split_first_mut().expect("at least one plane");
            sum.add_all(rest);
            self.unprepare(sum)
        });
        (dx, dpsi)
    }

    /// Power-of-two exponent `e` such that the plane scaled by `2^−e` stays below
    /// [`Float::SAFE_MAGNITUDE`]; 0 for ordinary data.
    fn scale_exponent(&self, x: &[T]) -> i32 {
        let largest = x.iter().fold(T::zero(), |m, v| m.max(v.abs()));
        let ratio = largest.to_f64().unwrap_or(0.0) / T::SAFE_MAGNITUDE;
        // A non-finite plane is left as it is: its coefficients are NaN either way.
        if ratio > 1.0 && ratio.is_finite() {
            ratio.log2().ceil() as i32
        } else {
            0
        }
    }

    /// `X = F(pad(x)·2^−e)` into `x_hat`.
    fn padded_spectrum(
        &self,
        x: &[T],
        e: i32,
        spatial: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let f0 = &self.ffts[0];
        let scale = pow2::<T>(-e);
        let w = self.geometry.width;
        for (r, &sr) in self.src_rows.iter().enumerate() {
            let row = &mut spatial[r * f0.w..(r + 1) * f0.w];
            for (d, &sc) in row.iter_mut().zip(&self.src_cols) {
                *d = Complex::new(x[sr * w + sc] * scale, T::zero());
            }
        }
        f0.forward(&mut spatial[..f0.len()], &mut out[..f0.len()], scratch);
    }

    /// One plane to its `[K, ho, wo]` coefficients; returns the plane's scale exponent.
    fn forward_plane(
        &self,
        filters: &PreparedFilters<T>,
        x: &[T],
        dst: &mut [T],
        ws: &mut Workspace<T>,
        mut tape: Option<&mut [Complex<T>]>,
    ) -> i32 {
        let (big_j, big_l) = (self.options.num_scales(), self.options.num_orientations());
        let count = big_j * big_l;
        let e = self.scale_exponent(x);
        let mut bufs = std::mem::take(&mut ws.signals);
        let [x_hat, ua, ub, u2a, u2b, xa, xb, ..] = &mut bufs;
        self.padded_spectrum(x, e, &mut ws.spatial, x_hat, &mut ws.scratch);
        let n0 = self.ffts[0].len();
        if let Some(t) = tape.as_deref_mut() {
            t[..n0].copy_from_slice(&x_hat[..n0]);
        }
        self.low_pass(&x_hat[..n0], 0, ws);
        self.write_pair(&ws.coarse, 0, None, dst);

        for j1 in 0..big_j {
            let f1 = &self.ffts[j1];
            let len1 = f1.len();
            for (na, nb) in pairs(j1, big_l) {
                for (n, u) in [(na, &mut *ua), (nb.unwrap_or(NONE), &mut *ub)] {
                    if n == NONE {
                        continue;
                    }
                    let filt = &filters.psi[n][0];
                    self.modulus_input(x_hat, 0, j1, filt, &mut ws.spec, u, &mut ws.scratch);
                    if let Some(t) = tape.as_deref_mut() {
                        let off = self.u_offset[self.first_channel[n]];
                        t[off..off + len1].copy_from_slice(&u[..len1]);
                    }
                }
                let has_b = nb.is_some();
                pack_moduli(
                    &ua[..len1],
                    has_b.then(|| &ub[..len1]),
                    &mut ws.spatial[..len1],
                );
                f1.forward(&mut ws.spatial[..len1], &mut ws.z1[..len1], &mut ws.scratch);
                let z1 = std::mem::take(&mut ws.z1);
                self.low_pass(&z1[..len1], j1, ws);
                let channels = (self.first_channel[na], nb.map(|n| self.first_channel[n]));
                self.write_pair(&ws.coarse, channels.0, channels.1, dst);
                if self.options.max_order() >= 2 && j1 + 1 < big_j {
                    unpack_spectra(&z1[..len1], f1.w, f1.h, xa, xb);
                    for (n1, src) in [(na, &*xa), (nb.unwrap_or(NONE), &*xb)] {
                        if n1 == NONE {
                            continue;
                        }
                        for j2 in j1 + 1..big_j {
                            let f2 = &self.ffts[j2];
                            let len2 = f2.len();
                            for (ma, mb) in pairs(j2, big_l) {
                                for (m, u) in [(ma, &mut *u2a), (mb.unwrap_or(NONE), &mut *u2b)] {
                                    if m == NONE {
                                        continue;
                                    }
                                    let filt = &filters.psi[m][j1];
                                    self.modulus_input(
                                        &src[..len1],
                                        j1,
                                        j2,
                                        filt,
                                        &mut ws.spec,
                                        u,
                                        &mut ws.scratch,
                                    );
                                    if let Some(t) = tape.as_deref_mut() {
                                        let off =
                                            self.u_offset[self.second_channel[n1 * count + m]];
                                        t[off..off + len2].copy_from_slice(&u[..len2]);
                                    }
                                }
                                let has_b = mb.is_some();
                                pack_moduli(
                                    &u2a[..len2],
                                    has_b.then(|| &u2b[..len2]),
                                    &mut ws.spatial[..len2],
                                );
                                f2.forward(
                                    &mut ws.spatial[..len2],
                                    &mut ws.z2[..len2],
                                    &mut ws.scratch,
                                );
                                let z2 = std::mem::take(&mut ws.z2);
                                self.low_pass(&z2[..len2], j2, ws);
                                ws.z2 = z2;
                                let ca = self.second_channel[n1 * count + ma];
                                let cb = mb.map(|m| self.second_channel[n1 * count + m]);
                                self.write_pair(&ws.coarse, ca, cb, dst);
                            }
                        }
                    }
                }
                ws.z1 = z1;
            }
        }
        ws.signals = bufs;
        if e != 0 {
            let up = pow2::<T>(e);
            dst.iter_mut().for_each(|v| *v = *v * up);
        }
        e
    }

    /// `out = F^H(fold_{2^(to−from)}(src · filt))`: the complex signal whose modulus is the next
    /// `U`, from a spectrum `src` at resolution `from` to resolution `to`.
    #[allow(clippy::too_many_arguments)]
    fn modulus_input(
        &self,
        src: &[Complex<T>],
        from: usize,
        to: usize,
        filt: &[T],
        spec: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let (fs, ft) = (&self.ffts[from], &self.ffts[to]);
        let n = ft.len();
        mul_subsample(
            &src[..fs.len()],
            filt,
            fs.w,
            fs.h,
            1 << (to - from),
            &mut spec[..n],
        );
        ft.inverse(&mut spec[..n], &mut out[..n], scratch);
    }

    /// `coarse = F^H(fold_{2^(J−r)}(spec · φ̃[r]))` on the coarsest grid.
    fn low_pass(&self, spec: &[Complex<T>], r: usize, ws: &mut Workspace<T>) {
        let big_j = self.options.num_scales();
        let (fr, fj) = (&self.ffts[r], &self.ffts[big_j]);
        let n = fj.len();
        let (small, coarse) = (&mut ws.small[..n], &mut ws.coarse[..n]);
        mul_subsample(
            &spec[..fr.len()],
            &self.phi[r],
            fr.w,
            fr.h,
            1 << (big_j - r),
            small,
        );
        fj.inverse(small, coarse, &mut ws.scratch);
    }

    /// Adjoint of [`Cascade::low_pass`] followed by the unpadding: adds to `acc` (a spectrum at
    /// resolution `r`) the gradient of the coefficients `g_re + i·g_im` (`[ho][wo]`), times `scale`.
    #[allow(clippy::too_many_arguments)]
    fn low_pass_adjoint(
        &self,
        g_re: &[T],
        g_im: Option<&[T]>,
        scale: T,
        r: usize,
        acc: &mut [Complex<T>],
        ws: &mut Workspace<T>,
    ) {
        let big_j = self.options.num_scales();
        let (fr, fj) = (&self.ffts[r], &self.ffts[big_j]);
        let n = fj.len();
        let [rows, cols] = self.geometry.unpad_window();
        let wo = cols.len();
        let small = &mut ws.small[..n];
        small.fill(Complex::new(T::zero(), T::zero()));
        for (row, dst_row) in rows.enumerate() {
            let d = &mut small[dst_row * fj.w + cols.start..][..wo];
            let re = &g_re[row * wo..][..wo];
            match g_im {
                Some(g_im) => {
                    let im = &g_im[row * wo..][..wo];
                    for ((d, a), b) in d.iter_mut().zip(re).zip(im) {
                        *d = Complex::new(*a * scale, *b * scale);
                    }
                }
                None => {
                    for (d, a) in d.iter_mut().zip(re) {
                        *d = Complex::new(*a * scale, T::zero());
                    }
                }
            }
        }
        fj.forward(small, &mut ws.coarse[..n], &mut ws.scratch);
        mul_subsample_adjoint(
            &ws.coarse[..n],
            &self.phi[r],
            &[],
            [fr.w, fr.h],
            1 << (big_j - r),
            &mut acc[..fr.len()],
            None,
        );
    }

    /// Unpads the coarse grid in `spatial` (one pixel per side) into channel `re` (real part) and
    /// optionally channel `im` (imaginary part) of `dst`.
    fn write_pair(&self, spatial: &[Complex<T>], re: usize, im: Option<usize>, dst: &mut [T]) {
        let fj = &self.ffts[self.options.num_scales()];
        let [rows, cols] = self.geometry.unpad_window();
        let wo = cols.len();
        let plane = rows.len() * wo;
        for (r, row) in rows.enumerate() {
            let src = &spatial[row * fj.w + cols.start..][..wo];
            let d = &mut dst[re * plane + r * wo..][..wo];
            d.iter_mut().zip(src).for_each(|(d, s)| *d = s.re);
            if let Some(im) = im {
                let d = &mut dst[im * plane + r * wo..][..wo];
                d.iter_mut().zip(src).for_each(|(d, s)| *d = s.im);
            }
        }
    }

    /// The output gradient of channel `c` of one plane, `[ho][wo]`.
    fn channel<'a>(&self, grad: &'a [T], c: usize) -> &'a [T] {
        let [ho, wo] = self.geometry.output_size();
        &grad[c * ho * wo..][..ho * wo]
    }

    /// The complex signal `u` feeding channel `c`: read from the plane's tape, or recomputed into
    /// `buf` from the spectrum `src` (as [`Cascade::modulus_input`]).
    #[allow(clippy::too_many_arguments)]
    fn recorded_or_recomputed<'a>(
        &self,
        tape: Option<&'a [Complex<T>]>,
        c: usize,
        src: &[Complex<T>],
        from: usize,
        to: usize,
        filt: &[T],
        buf: &'a mut [Complex<T>],
        ws: &mut Workspace<T>,
    ) -> &'a [Complex<T>] {
        let len = self.ffts[to].len();
        match tape {
            Some(t) => &t[self.u_offset[c]..][..len],
            None => {
                self.modulus_input(src, from, to, filt, &mut ws.spec, buf, &mut ws.scratch);
                &buf[..len]
            }
        }
    }

    /// Through the modulus and the wavelet product of one `u`: `ū = ḡ·u/|u|` with `ḡ` the real
    /// or imaginary part of `w_bar`, `d̄ = F(ū)` at resolution `to`; then `src_bar += ψ̃·tile(d̄)`
    /// and, with `acc`, `acc += Re(conj(tile(d̄))·src)` (`src`, `src_bar` at resolution `from`).
    #[allow(clippy::too_many_arguments)]
    fn wavelet_adjoint(
        &self,
        w_bar: &[Complex<T>],
        imag: bool,
        u: &[Complex<T>],
        (from, to): (usize, usize),
        filt: &[T],
        src: &[Complex<T>],
        src_bar: &mut [Complex<T>],
        acc: Option<&mut [T]>,
        ws: &mut Workspace<T>,
    ) {
        let (fs, ft) = (&self.ffts[from], &self.ffts[to]);
        let (ls, lt) = (fs.len(), ft.len());
        let k = 1 << (to - from);
        modulus_adjoint(&w_bar[..lt], imag, u, &mut ws.u_bar[..lt]);
        ft.forward(&mut ws.u_bar[..lt], &mut ws.d_bar[..lt], &mut ws.scratch);
        mul_subsample_adjoint(
            &ws.d_bar[..lt],
            filt,
            &src[..ls],
            [fs.w, fs.h],
            k,
            &mut src_bar[..ls],
            acc,
        );
    }

    /// The adjoint for one plane: adds the input gradient to `dx` and the filter gradient (at the
    /// resolutions of [`PreparedFilters`]) to `acc`.
    #[allow(clippy::too_many_arguments)]
    fn backward_plane(
        &self,
        filters: &PreparedFilters<T>,
        x: &[T],
        grad: &[T],
        tape: Option<&[Complex<T>]>,
        e: i32,
        dx: Option<&mut [T]>,
        mut acc: Option<&mut FilterGrads<T>>,
        ws: &mut Workspace<T>,
    ) {
        let (big_j, big_l) = (self.options.num_scales(), self.options.num_orientations());
        let count = big_j * big_l;
        let zero = Complex::new(T::zero(), T::zero());
        // The cascade ran on x·2^−e; with the output gradient scaled by 2^e, the filter gradient
        // is exact and the input gradient needs a factor 2^−e at the end.
        let gscale = pow2::<T>(e);
        let n0 = self.ffts[0].len();
        let mut bufs = std::mem::take(&mut ws.signals);
        let [
            x_buf,
            ua_buf,
            ub_buf,
            u2a_buf,
            u2b_buf,
            xa,
            xb,
            xa_bar,
            xb_bar,
            z_bar,
            z2_bar,
        ] = &mut bufs;
        let x_hat: &[Complex<T>] = match tape {
            Some(t) => &t[..n0],
            None => {
                self.padded_spectrum(x, e, &mut ws.spatial, x_buf, &mut ws.scratch);
                &x_buf[..n0]
            }
        };
        let mut x_bar = std::mem::take(&mut ws.x_bar);
        x_bar[..n0].fill(zero);
        self.low_pass_adjoint(self.channel(grad, 0), None, gscale, 0, &mut x_bar, ws);

        for j1 in 0..big_j {
            let f1 = &self.ffts[j1];
            let len1 = f1.len();
            let order2 = self.options.max_order() >= 2 && j1 + 1 < big_j;
            for (na, nb) in pairs(j1, big_l) {
                let (ca, cb) = (self.first_channel[na], nb.map(|n| self.first_channel[n]));
                let ua = self.recorded_or_recomputed(
                    tape,
                    ca,
                    x_hat,
                    0,
                    j1,
                    &filters.psi[na][0],
                    ua_buf,
                    ws,
                );
                let ub = nb.map(|n| {
                    let c = self.first_channel[n];
                    let filt = &filters.psi[n][0];
                    self.recorded_or_recomputed(tape, c, x_hat, 0, j1, filt, ub_buf, ws)
                });
                z_bar[..len1].fill(zero);
                let g_b = cb.map(|c| self.channel(grad, c));
                self.low_pass_adjoint(self.channel(grad, ca), g_b, gscale, j1, z_bar, ws);

                if order2 {
                    // The spectra U1 of both moduli (the order-2 input).
                    pack_moduli(ua, ub, &mut ws.spatial[..len1]);
                    f1.forward(&mut ws.spatial[..len1], &mut ws.z1[..len1], &mut ws.scratch);
                    unpack_spectra(&ws.z1[..len1], f1.w, f1.h, xa, xb);
                    xa_bar[..len1].fill(zero);
                    xb_bar[..len1].fill(zero);
                    for (n1, src, src_bar) in [
                        (na, &*xa, &mut *xa_bar),
                        (nb.unwrap_or(NONE), &*xb, &mut *xb_bar),
                    ] {
                        if n1 == NONE {
                            continue;
                        }
                        for j2 in j1 + 1..big_j {
                            let f2 = &self.ffts[j2];
                            let len2 = f2.len();
                            for (ma, mb) in pairs(j2, big_l) {
                                let c2a = self.second_channel[n1 * count + ma];
                                let c2b = mb.map(|m| self.second_channel[n1 * count + m]);
                                let u2a = self.recorded_or_recomputed(
                                    tape,
                                    c2a,
                                    src,
                                    j1,
                                    j2,
                                    &filters.psi[ma][j1],
                                    u2a_buf,
                                    ws,
                                );
                                let u2b = mb.zip(c2b).map(|(m, c)| {
                                    let filt = &filters.psi[m][j1];
                                    self.recorded_or_recomputed(
                                        tape, c, src, j1, j2, filt, u2b_buf, ws,
                                    )
                                });
                                // Z̄2 from S2, then w̄2 = F^H Z̄2 = Ū2a + i·Ū2b.
                                z2_bar[..len2].fill(zero);
                                let g_b = c2b.map(|c| self.channel(grad, c));
                                let g_a = self.channel(grad, c2a);
                                self.low_pass_adjoint(g_a, g_b, gscale, j2, z2_bar, ws);
                                f2.inverse(
                                    &mut z2_bar[..len2],
                                    &mut ws.w_bar[..len2],
                                    &mut ws.scratch,
                                );
                                let w_bar = std::mem::take(&mut ws.w_bar);
                                for (m, u, imag) in
                                    [(ma, Some(u2a), false), (mb.unwrap_or(NONE), u2b, true)]
                                {
                                    let Some(u) = u else { continue };
                                    let acc = acc.as_deref_mut().map(|a| a.slot_mut(m, j1));
                                    self.wavelet_adjoint(
                                        &w_bar,
                                        imag,
                                        u,
                                        (j1, j2),
                                        &filters.psi[m][j1],
                                        src,
                                        src_bar,
                                        acc,
                                        ws,
                                    );
                                }
                                ws.w_bar = w_bar;
                            }
                        }
                    }
                    let xb_bar = nb.is_some().then(|| &xb_bar[..len1]);
                    unpack_spectra_adjoint(&xa_bar[..len1], xb_bar, f1.w, f1.h, &mut z_bar[..len1]);
                }
                // w̄ = F^H Z̄ = Ūa + i·Ūb, then through the moduli and the wavelet products.
                f1.inverse(&mut z_bar[..len1], &mut ws.w_bar[..len1], &mut ws.scratch);
                let w_bar = std::mem::take(&mut ws.w_bar);
                for (n, u, imag) in [(na, Some(ua), false), (nb.unwrap_or(NONE), ub, true)] {
                    let Some(u) = u else { continue };
                    let acc = acc.as_deref_mut().map(|a| a.slot_mut(n, 0));
                    self.wavelet_adjoint(
                        &w_bar,
                        imag,
                        u,
                        (0, j1),
                        &filters.psi[n][0],
                        x_hat,
                        &mut x_bar,
                        acc,
                        ws,
                    );
                }
                ws.w_bar = w_bar;
            }
        }
        if let Some(dx) = dx {
            // x̄_pad = Re(F^H X̄), scattered back onto the source pixels of the reflect padding.
            let f0 = &self.ffts[0];
            f0.inverse(&mut x_bar[..n0], &mut ws.spatial[..n0], &mut ws.scratch);
            let down = pow2::<T>(-e);
            let w = self.geometry.width;
            for (r, &sr) in self.src_rows.iter().enumerate() {
                let row = &ws.spatial[r * f0.w..(r + 1) * f0.w];
                for (v, &sc) in row.iter().zip(&self.src_cols) {
                    dx[sr * w + sc] = dx[sr * w + sc] + v.re * down;
                }
            }
        }
        ws.x_bar = x_bar;
        ws.signals = bufs;
    }

    /// The gradient with respect to the full-resolution spectra `[J·L][Mp][Np]`: each resolution's
    /// transposed, pre-scaled entries put back at their crop indices.
    fn unprepare(&self, grads: &FilterGrads<T>) -> Vec<T> {
        let [mp, np] = self.geometry.padded_size();
        let mut out = vec![T::zero(); self.num_wavelets() * mp * np];
        let wavelets = out.par_chunks_mut(mp * np).zip(&grads.slots).enumerate();
        wavelets.for_each(|(n, (full, per_res))| {
            for r in 0..per_res.len() {
                let g = grads.slot(n, r);
                let (rows, cols) = (periodize_rows(mp, r), periodize_rows(np, r));
                let scale = T::from_f64(1.0 / (rows.len() * cols.len()) as f64).expect("finite");
                // Transposed layout: entry (row i, column c) sits at c·h + i.
                for (c, &col) in cols.iter().enumerate() {
                    for (i, &row) in rows.iter().enumerate() {
                        let v = g[c * rows.len() + i] * scale;
                        full[row * np + col] = full[row * np + col] + v;
                    }
                }
            }
        });
        out
    }
}

/// The orientations of scale `j` in pairs `(n_a, Some(n_b))`, the last one alone for odd `L`.
fn pairs(j: usize, big_l: usize) -> impl Iterator<Item = (usize, Option<usize>)> {
    (0..big_l)
        .step_by(2)
        .map(move |l| (j * big_l + l, (l + 1 < big_l).then_some(j * big_l + l + 1)))
}

/// `2^e` in `T`.
fn pow2<T: Float>(e: i32) -> T {
    T::from_f64(2f64.powi(e)).expect("a power of two in range")
}

/// A spectrum in the cascade's filter layout: transposed, every value twice (the product with an
/// interleaved complex spectrum is one real multiply), scaled by `1/(h·w)` of its grid (the
/// product is always followed by a fold and an unnormalised inverse FFT, whose factors multiply
/// to that).
fn prepare<T: Float>(a: &ndarray::Array2<f64>) -> Vec<T> {
    let scale = 1.0 / a.len() as f64;
    a.t()
        .iter()
        .flat_map(|&v| [T::from_f64(v * scale).expect("finite"); 2])
        .collect()
}

/// Filter-gradient accumulator, laid out as [`PreparedFilters`] but with one value per position
/// (the prepared filters hold each value twice): `slot(n, r)` is wavelet `n` at resolution `r`.
///
/// A backward needs one per block of planes, each the size of every wavelet at every resolution
/// it is applied at (3.7 MB at `J = 4`, `L = 8` on a 160 × 160 grid in f32), at every step: the
/// values live in a buffer from [`TAPE_POOL`], given back on drop, so that they are not mapped
/// and page-faulted in anew each time.
struct FilterGrads<T> {
    /// `u64` words, viewed as `T` (4 or 8 bytes, alignment ≤ 8).
    words: Vec<u64>,
    /// `(start, len)` of `slot(n, r)`, in `T`.
    slots: Vec<Vec<(usize, usize)>>,
    len: usize,
    element: std::marker::PhantomData<T>,
}

impl<T: Float> FilterGrads<T> {
    fn zeros(like: &PreparedFilters<T>) -> Self {
        let mut len = 0;
        let slots = like
            .psi
            .iter()
            .map(|per_res| {
                per_res
                    .iter()
                    .map(|v| {
                        let slot = (len, v.len() / 2);
                        len += v.len() / 2;
                        slot
                    })
                    .collect()
            })
            .collect();
        let mut words = TAPE_POOL.take((len * std::mem::size_of::<T>()).div_ceil(8));
        words.fill(0);
        Self {
            words,
            slots,
            len,
            element: std::marker::PhantomData,
        }
    }

    fn values(&self) -> &[T] {
        // SAFETY: `T` is `f32` or `f64` (the fast path's `Float`): 4 or 8 bytes, alignment ≤ 8,
        // every bit pattern valid; the words are 8-aligned and hold at least `len` values.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), self.len) }
    }

    fn values_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `values`, borrowed exclusively through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.len) }
    }

    fn slot(&self, n: usize, r: usize) -> &[T] {
        let (start, len) = self.slots[n][r];
        &self.values()[start..start + len]
    }

    fn slot_mut(&mut self, n: usize, r: usize) -> &mut [T] {
        let (start, len) = self.slots[n][r];
        &mut self.values_mut()[start..start + len]
    }

    /// Adds `others` in their order, element by element: every value is the same sum whatever
    /// the thread count (the elements are divided among threads, never the order of a sum).
    fn add_all(&mut self, others: &[Self]) {
        const CHUNK: usize = 1 << 14;
        self.values_mut()
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| {
                for other in others {
                    let part = &other.values()[i * CHUNK..][..chunk.len()];
                    chunk.iter_mut().zip(part).for_each(|(x, y)| *x = *x + *y);
                }
            });
    }
}

impl<T> Drop for FilterGrads<T> {
    fn drop(&mut self) {
        TAPE_POOL.give_back(std::mem::take(&mut self.words));
    }
}

/// Per-thread buffers, sized for the full-resolution grid.
struct Workspace<T> {
    spatial: Vec<Complex<T>>,
    spec: Vec<Complex<T>>,
    z1: Vec<Complex<T>>,
    z2: Vec<Complex<T>>,
    small: Vec<Complex<T>>,
    coarse: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    /// `[X, ua, ub, u2a, u2b, Xa, Xb, X̄a, X̄b, Z̄, Z̄2]`: the signals a plane's forward and
    /// backward hold at once (taken out while in use).
    signals: [Vec<Complex<T>>; 11],
    // Backward only.
    x_bar: Vec<Complex<T>>,
    w_bar: Vec<Complex<T>>,
    u_bar: Vec<Complex<T>>,
    d_bar: Vec<Complex<T>>,
}

impl<T: Float> Workspace<T> {
    fn new(cascade: &Cascade<T>) -> Self {
        let zero = Complex::new(T::zero(), T::zero());
        let full = cascade.ffts[0].len();
        let half = cascade.ffts.get(1).map_or(full, Fft2::len);
        let coarse = cascade.ffts[cascade.options.num_scales()].len();
        let buf = |n: usize| vec![zero; n];
        Self {
            spatial: buf(full),
            spec: buf(full),
            z1: buf(full),
            z2: buf(half),
            small: buf(coarse),
            coarse: buf(coarse),
            scratch: buf(cascade.scratch_len),
            signals: [
                full, full, full, half, half, full, full, full, full, full, half,
            ]
            .map(buf),
            x_bar: buf(full),
            w_bar: buf(full),
            u_bar: buf(full),
            d_bar: buf(full),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic plane batch.
    fn planes(count: usize, h: usize, w: usize) -> Vec<f64> {
        (0..count * h * w)
            .map(|i| ((i * 37 % 101) as f64 / 101.0 - 0.3) + (i as f64 * 0.21).sin())
            .collect()
    }

    fn cascade(h: usize, w: usize, j: usize, l: usize) -> (Cascade<f64>, PreparedFilters<f64>) {
        let cascade = Cascade::<f64>::new(h, w, ScatteringOptions::new(j, l).unwrap()).unwrap();
        let bank = FilterBankParams::random(j, l, 3).unwrap();
        let [mp, np] = cascade.geometry().padded_size();
        let spectra = crate::filters::spectral::bank_spectra(&bank, mp, np);
        let flat: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
        let filters = cascade.prepare_filters(&flat);
        (cascade, filters)
    }

    #[test]
    fn backward_from_the_tape_equals_backward_by_recomputation() {
        let (c, f) = cascade(20, 12, 3, 3);
        let x = planes(3, 20, 12);
        let mut out = vec![0.0; 3 * c.output_plane()];
        let mut tape = c.new_tape(3).unwrap();
        c.forward(&f, &x, &mut out, Some(&mut tape));
        let grad: Vec<f64> = (0..out.len())
            .map(|i| ((i % 13) as f64 - 6.0) / 7.0)
            .collect();
        let with = c.backward(&f, &x, Some(&tape), &grad, true, true);
        let without = c.backward(&f, &x, None, &grad, true, true);
        assert_eq!(with.0, without.0);
        assert_eq!(with.1, without.1);
        // Asking for less computes less, not something else.
        assert_eq!(
            c.backward(&f, &x, Some(&tape), &grad, true, false).0,
            with.0
        );
        assert_eq!(c.backward(&f, &x, None, &grad, false, true).1, with.1);
    }

    /// `⟨J·v, g⟩ = ⟨v, Jᵀ·g⟩` for the linearisation `J` of the cascade at `x`, with `J·v` by
    /// central differences: the backward is the adjoint of the forward.
    /// The filter gradient against a directional derivative in the spectra, at `J = 3` (order 2 at
    /// two resolutions) with a tape; a second backward (pooled accumulators reused) gives the
    /// same values.
    #[test]
    fn filter_gradient_is_the_adjoint_of_the_forward_in_the_spectra() {
        let (h, w, j, l) = (16, 24, 3, 3);
        let cascade = Cascade::<f64>::new(h, w, ScatteringOptions::new(j, l).unwrap()).unwrap();
        let bank = FilterBankParams::random(j, l, 3).unwrap();
        let [mp, np] = cascade.geometry().padded_size();
        let spectra = crate::filters::spectral::bank_spectra(&bank, mp, np);
        let psi: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
        let dir: Vec<f64> = (0..psi.len())
            .map(|i| ((i * 11) % 7) as f64 - 3.0)
            .collect();
        let x = planes(3, h, w);
        let grad: Vec<f64> = (0..3 * cascade.output_plane())
            .map(|i| ((i * 5) % 9) as f64 - 4.0)
            .collect();
        let run = |t: f64| {
            let moved: Vec<f64> = psi.iter().zip(&dir).map(|(a, b)| a + t * b).collect();
            let mut out = vec![0.0; grad.len()];
            cascade.forward(&cascade.prepare_filters(&moved), &x, &mut out, None);
            out
        };
        // The spectra enter quadratically and more (the moduli): the central difference's
        // truncation error is 8e-6 relative at a step of 1e-6, 8e-9 at 1e-7 (measured).
        let step = 1e-7;
        let (plus, minus) = (run(step), run(-step));
        let jv_g: f64 = plus
            .iter()
            .zip(&minus)
            .zip(&grad)
            .map(|((p, m), g)| (p - m) / (2.0 * step) * g)
            .sum();
        let filters = cascade.prepare_filters(&psi);
        let mut tape = cascade.new_tape(3).unwrap();
        let mut out = vec![0.0; grad.len()];
        cascade.forward(&filters, &x, &mut out, Some(&mut tape));
        let backward = || {
            cascade
                .backward(&filters, &x, Some(&tape), &grad, false, true)
                .1
                .expect("filter gradient")
        };
        let dpsi = backward();
        let v_jtg: f64 = dir.iter().zip(&dpsi).map(|(a, b)| a * b).sum();
        assert!(
            (jv_g - v_jtg).abs() <= 1e-7 * v_jtg.abs(),
            "{jv_g} vs {v_jtg}"
        );
        assert_eq!(backward(), dpsi, "a second backward differs");
    }

    #[test]
    fn backward_is_the_adjoint_of_the_forward() {
        let (c, f) = cascade(16, 24, 2, 3);
        let x = planes(2, 16, 24);
        let v: Vec<f64> = (0..x.len()).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
        let grad: Vec<f64> = (0..2 * c.output_plane())
            .map(|i| ((i * 3) % 7) as f64 - 3.0)
            .collect();
        let run = |t: f64| {
            let xt: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + t * b).collect();
            let mut out = vec![0.0; grad.len()];
            c.forward(&f, &xt, &mut out, None);
            out
        };
        let h = 1e-6;
        let (plus, minus) = (run(h), run(-h));
        let jv_g: f64 = plus
            .iter()
            .zip(&minus)
            .zip(&grad)
            .map(|((p, m), g)| (p - m) / (2.0 * h) * g)
            .sum();
        let (dx, _) = c.backward(&f, &x, None, &grad, true, false);
        let v_jtg: f64 = v.iter().zip(dx.unwrap()).map(|(a, b)| a * b).sum();
        assert!(
            (jv_g - v_jtg).abs() <= 1e-7 * v_jtg.abs(),
            "{jv_g} vs {v_jtg}"
        );
    }

    /// Scattering is positively homogeneous; planes beyond `SAFE_MAGNITUDE` are scaled by a
    /// power of two and give exactly the scaled coefficients and gradients, where an unscaled
    /// cascade would overflow in `re² + im²`.
    #[test]
    fn huge_planes_are_scaled_exactly() {
        let (c, f) = cascade(16, 16, 2, 4);
        let x = planes(1, 16, 16);
        let factor = 2f64.powi(600); // far beyond 2^400 and sqrt(f64::MAX) = 2^512
        let big: Vec<f64> = x.iter().map(|v| v * factor).collect();
        let mut out = vec![0.0; c.output_plane()];
        let mut out_big = out.clone();
        c.forward(&f, &x, &mut out, None);
        c.forward(&f, &big, &mut out_big, None);
        assert!(out_big.iter().all(|v| v.is_finite()));
        for (a, b) in out.iter().zip(&out_big) {
            assert_eq!(a * factor, *b);
        }
        let grad: Vec<f64> = (0..out.len()).map(|i| (i % 5) as f64 - 2.0).collect();
        let (dx, dpsi) = c.backward(&f, &x, None, &grad, true, true);
        let (dx_big, dpsi_big) = c.backward(&f, &big, None, &grad, true, true);
        assert_eq!(dx, dx_big);
        for (a, b) in dpsi.unwrap().iter().zip(dpsi_big.unwrap()) {
            assert_eq!(a * factor, b);
        }
    }

    #[test]
    fn f32_planes_of_any_finite_magnitude_give_finite_coefficients() {
        let cascade = Cascade::<f32>::new(16, 16, ScatteringOptions::new(2, 4).unwrap()).unwrap();
        let bank = FilterBankParams::tight_frame(2, 4).unwrap();
        let spectra = crate::filters::spectral::bank_spectra(&bank, 24, 24);
        let flat: Vec<f64> = spectra.psi.iter().flat_map(|p| p.iter().copied()).collect();
        let f = cascade.prepare_filters(&flat);
        for scale in [1.0f32, 1e20, 1e30, 1e36] {
            let x: Vec<f32> = planes(1, 16, 16)
                .iter()
                .map(|v| *v as f32 * scale)
                .collect();
            let mut out = vec![0.0f32; cascade.output_plane()];
            cascade.forward(&f, &x, &mut out, None);
            assert!(out.iter().all(|v| v.is_finite()), "scale {scale:e}");
        }
    }
}
