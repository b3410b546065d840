//! The adjoint: the backward of [`Cascade::forward`] for the input and the wavelet spectra, in
//! blocks of planes whose filter gradients are summed in a fixed order (bit-reproducible). Each
//! step's adjoint is listed in `docs/design.md` ("The adjoint"); the per-plane functions mirror
//! the forward's (`backward_plane`, `first_order_pair_adjoint`, `second_order_adjoint`).

use num_complex::Complex;
use rayon::prelude::*;

use super::Float;
use super::alloc::{Alloc, zeros};
use super::kernels::{
    modulus_adjoint, mul_subsample_adjoint, pack_moduli, unpack_spectra, unpack_spectra_adjoint,
};
use super::plan::{Cascade, NONE, PreparedFilters, pairs, pow2};
use super::tape::{TAPE_POOL, Tape};
use super::workspace::Workspace;
use crate::filters::periodize_rows;

/// Number of plane blocks whose filter gradients are summed in a fixed order, so that the result
/// does not depend on the thread count or on work stealing (bit-reproducible training).
const FILTER_GRAD_BLOCKS: usize = 16;

/// The input gradient and the gradient of the full-resolution wavelet spectra, each if asked for.
type Gradients<T> = (Option<Vec<T>>, Option<Vec<T>>);

/// What every step of one plane's adjoint reads.
#[derive(Clone, Copy)]
struct AdjointInputs<'a, T> {
    filters: &'a PreparedFilters<T>,
    /// The plane's output gradient `[K][ho][wo]`.
    grad: &'a [T],
    /// `2^e`, the plane's scale (see [`Cascade::backward_plane`]).
    gscale: T,
    tape: Option<&'a [Complex<T>]>,
}

impl<T: Float> Cascade<T> {
    /// The adjoint of [`Cascade::forward`] at `x` applied to the output gradient `grad`
    /// (`[P][K][ho][wo]`): the input gradient `[P][height][width]` if `want_input`, and the
    /// gradient with respect to the full-resolution wavelet spectra `[J·L][Mp][Np]` (summed over
    /// planes) if `want_filters`. Reads `tape` (from a forward on the same `x` and filters) when
    /// given, otherwise recomputes the intermediates.
    ///
    /// # Errors
    /// The failure of a buffer reserved fallibly: the input gradient, a worker's [`Workspace`],
    /// a block's filter-gradient accumulator or the filter gradient itself.
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
    ) -> Alloc<Gradients<T>> {
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
        let mut dx = match want_input {
            true => Some(zeros(x.len(), "the input gradient")?),
            false => None,
        };
        // Blocks of planes: the input gradient of a block is its own slice; its filter gradient
        // is a partial sum, added to the others in block order below.
        let run_block = |ws: &mut Alloc<Workspace<T>>,
                         b: usize,
                         mut dx_block: Option<&mut [T]>|
         -> Alloc<Option<FilterGrads<T>>> {
            let ws = ws.as_mut().map_err(|f| *f)?;
            let mut acc = match want_filters {
                true => Some(FilterGrads::zeros(filters)?),
                false => None,
            };
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
            Ok(acc)
        };
        let workspace = || Workspace::new(self);
        let partials: Alloc<Vec<Option<FilterGrads<T>>>> = match dx.as_mut() {
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
        let partials = partials?;
        let dpsi = match want_filters {
            true => {
                let mut partials: Vec<FilterGrads<T>> = partials.into_iter().flatten().collect();
                let (sum, rest) = partials.split_first_mut().expect("at least one plane");
                sum.add_all(rest);
                Some(self.unprepare(sum)?)
            }
            false => None,
        };
        Ok((dx, dpsi))
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
        let zero = Complex::new(T::zero(), T::zero());
        // The cascade ran on x·2^−e; with the output gradient scaled by 2^e, the filter gradient
        // is exact and the input gradient needs a factor 2^−e at the end.
        let inputs = AdjointInputs {
            filters,
            grad,
            gscale: pow2::<T>(e),
            tape,
        };
        let n0 = self.ffts[0].len();
        let mut bufs = std::mem::take(&mut ws.signals);
        let (x_buf, rest) = bufs.split_first_mut().expect("eleven signal buffers");
        let rest: &mut [Vec<Complex<T>>; 10] = rest.try_into().expect("eleven signal buffers");
        let x_hat: &[Complex<T>] = match tape {
            Some(t) => &t[..n0],
            None => {
                self.padded_spectrum(x, e, &mut ws.spatial, x_buf, &mut ws.scratch);
                &x_buf[..n0]
            }
        };
        let mut x_bar = std::mem::take(&mut ws.x_bar);
        x_bar[..n0].fill(zero);
        let s0 = self.channel(grad, 0);
        self.low_pass_adjoint(s0, None, inputs.gscale, 0, &mut x_bar, ws);
        for j1 in 0..self.options.num_scales() {
            for pair in pairs(j1, self.options.num_orientations()) {
                let acc = acc.as_deref_mut();
                self.first_order_pair_adjoint(&inputs, j1, pair, x_hat, &mut x_bar, rest, acc, ws);
            }
        }
        if let Some(dx) = dx {
            // x̄_pad = Re(F^H X̄), scattered back onto the source pixels of the reflect padding.
            let f0 = &self.ffts[0];
            f0.inverse(&mut x_bar[..n0], &mut ws.spatial[..n0], &mut ws.scratch);
            let down = pow2::<T>(-e);
            let w = self.input_size[1];
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

    /// The adjoint of [`Cascade::first_order_pair`] for the orientations `(na, nb)` of scale `j1`:
    /// `Z̄` from the gradient of the pair's `S1`, plus (order 2) the Hermitian pack of the
    /// gradients of the split spectra from [`Cascade::second_order_adjoint`]; then `w̄ = F^H Z̄ = Ūa +
    /// i·Ūb` through both moduli and wavelet products onto `X̄` (`x_bar`) and the filter gradient.
    #[allow(clippy::too_many_arguments)]
    fn first_order_pair_adjoint(
        &self,
        inputs: &AdjointInputs<'_, T>,
        j1: usize,
        (na, nb): (usize, Option<usize>),
        x_hat: &[Complex<T>],
        x_bar: &mut [Complex<T>],
        bufs: &mut [Vec<Complex<T>>; 10],
        mut acc: Option<&mut FilterGrads<T>>,
        ws: &mut Workspace<T>,
    ) {
        let AdjointInputs {
            filters,
            grad,
            gscale,
            tape,
        } = *inputs;
        let zero = Complex::new(T::zero(), T::zero());
        let [
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
        ] = bufs;
        let f1 = &self.ffts[j1];
        let len1 = f1.len();
        let (ca, cb) = (self.first_channel[na], nb.map(|n| self.first_channel[n]));
        let filt_a = &filters.psi[na][0];
        let ua = self.recorded_or_recomputed(tape, ca, x_hat, 0, j1, filt_a, ua_buf, ws);
        let ub = nb.map(|n| {
            let c = self.first_channel[n];
            let filt = &filters.psi[n][0];
            self.recorded_or_recomputed(tape, c, x_hat, 0, j1, filt, ub_buf, ws)
        });
        z_bar[..len1].fill(zero);
        let g_b = cb.map(|c| self.channel(grad, c));
        self.low_pass_adjoint(self.channel(grad, ca), g_b, gscale, j1, z_bar, ws);

        if self.options.max_order() >= 2 && j1 + 1 < self.options.num_scales() {
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
                let u2 = [&mut *u2a_buf, &mut *u2b_buf];
                let acc = acc.as_deref_mut();
                self.second_order_adjoint(inputs, j1, n1, src, src_bar, u2, z2_bar, acc, ws);
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
            let filt = &filters.psi[n][0];
            self.wavelet_adjoint(&w_bar, imag, u, (0, j1), filt, x_hat, x_bar, acc, ws);
        }
        ws.w_bar = w_bar;
    }

    /// The adjoint of [`Cascade::second_order`] from the first-order wavelet `n1` of scale `j1`:
    /// for every `j2 > j1` and pair `(ma, mb)`, `Z̄2` from the gradient of the pair's `S2`, `w̄2 =
    /// F^H Z̄2 = Ū2a + i·Ū2b`, through both moduli and wavelet products onto `src_bar` (the
    /// gradient of the modulus spectrum `src`) and the filter gradient at resolution `j1`.
    #[allow(clippy::too_many_arguments)]
    fn second_order_adjoint(
        &self,
        inputs: &AdjointInputs<'_, T>,
        j1: usize,
        n1: usize,
        src: &[Complex<T>],
        src_bar: &mut [Complex<T>],
        [u2a_buf, u2b_buf]: [&mut Vec<Complex<T>>; 2],
        z2_bar: &mut [Complex<T>],
        mut acc: Option<&mut FilterGrads<T>>,
        ws: &mut Workspace<T>,
    ) {
        let AdjointInputs {
            filters,
            grad,
            gscale,
            tape,
        } = *inputs;
        let zero = Complex::new(T::zero(), T::zero());
        let (big_j, big_l) = (self.options.num_scales(), self.options.num_orientations());
        let count = big_j * big_l;
        for j2 in j1 + 1..big_j {
            let f2 = &self.ffts[j2];
            let len2 = f2.len();
            for (ma, mb) in pairs(j2, big_l) {
                let c2a = self.second_channel[n1 * count + ma];
                let c2b = mb.map(|m| self.second_channel[n1 * count + m]);
                let filt_a = &filters.psi[ma][j1];
                let u2a = self.recorded_or_recomputed(tape, c2a, src, j1, j2, filt_a, u2a_buf, ws);
                let u2b = mb.zip(c2b).map(|(m, c)| {
                    let filt = &filters.psi[m][j1];
                    self.recorded_or_recomputed(tape, c, src, j1, j2, filt, u2b_buf, ws)
                });
                // Z̄2 from S2, then w̄2 = F^H Z̄2 = Ū2a + i·Ū2b.
                z2_bar[..len2].fill(zero);
                let g_b = c2b.map(|c| self.channel(grad, c));
                let g_a = self.channel(grad, c2a);
                self.low_pass_adjoint(g_a, g_b, gscale, j2, z2_bar, ws);
                f2.inverse(&mut z2_bar[..len2], &mut ws.w_bar[..len2], &mut ws.scratch);
                let w_bar = std::mem::take(&mut ws.w_bar);
                for (m, u, imag) in [(ma, Some(u2a), false), (mb.unwrap_or(NONE), u2b, true)] {
                    let Some(u) = u else { continue };
                    let acc = acc.as_deref_mut().map(|a| a.slot_mut(m, j1));
                    let filt = &filters.psi[m][j1];
                    self.wavelet_adjoint(&w_bar, imag, u, (j1, j2), filt, src, src_bar, acc, ws);
                }
                ws.w_bar = w_bar;
            }
        }
    }

    /// The gradient with respect to the full-resolution spectra `[J·L][Mp][Np]`: each resolution's
    /// transposed, pre-scaled entries put back at their crop indices.
    fn unprepare(&self, grads: &FilterGrads<T>) -> Alloc<Vec<T>> {
        let [mp, np] = self.geometry.padded_size();
        let what = "the gradient of the wavelet spectra";
        let mut out = zeros(self.num_wavelets() * mp * np, what)?;
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
        Ok(out)
    }
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
    fn zeros(like: &PreparedFilters<T>) -> Alloc<Self> {
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
        let words = (len * std::mem::size_of::<T>()).div_ceil(8);
        let mut words = TAPE_POOL.take(words, "a filter-gradient accumulator")?;
        words.fill(0);
        Ok(Self {
            words,
            slots,
            len,
            element: std::marker::PhantomData,
        })
    }

    fn values(&self) -> &[T] {
        // SAFETY: `T` is `f32` or `f64` (the cascade's `Float`): 4 or 8 bytes, alignment ≤ 8,
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
