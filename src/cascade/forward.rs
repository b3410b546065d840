//! The forward: one plane at a time, in parallel over planes, each thread with its own
//! [`Workspace`]. Per plane: the padded spectrum `X` and `S0`; per pair of first-order
//! orientations the moduli `|u1|`, their packed spectrum `Z` and `S1`; per first-order wavelet the
//! second-order moduli `|u2|` and `S2` (see the module docs of [`super`]).

use num_complex::Complex;
use rayon::prelude::*;

use super::Float;
use super::alloc::Alloc;
use super::kernels::{mul_subsample, pack_moduli, unpack_spectra};
use super::plan::{Cascade, NONE, PreparedFilters, pairs, pow2};
use super::tape::Tape;
use super::workspace::Workspace;

impl<T: Float> Cascade<T> {
    /// Scattering coefficients of the planes in `x` (`[P][height][width]`) into `out`
    /// (`[P][K][ho][wo]`), in parallel over planes; with `tape`, keeps the intermediates.
    ///
    /// # Errors
    /// The failure of a worker's [`Workspace`] (reserved fallibly); `out` is then unspecified.
    ///
    /// # Panics
    /// If the lengths disagree (callers check first).
    pub(crate) fn forward(
        &self,
        filters: &PreparedFilters<T>,
        x: &[T],
        out: &mut [T],
        tape: Option<&mut Tape<T>>,
    ) -> Alloc<()> {
        let (plane_in, plane_out) = (self.input_plane(), self.output_plane());
        assert_eq!(
            x.len() / plane_in,
            out.len() / plane_out,
            "planes in and out"
        );
        let work = out.par_chunks_mut(plane_out).zip(x.par_chunks(plane_in));
        // A worker whose workspace cannot be allocated stops the loop with the failure.
        match tape {
            Some(tape) => {
                assert_eq!(tape.exponents.len(), x.len() / plane_in, "tape planes");
                let (values, exponents) = tape.parts_mut();
                work.zip(values.par_chunks_mut(self.tape_len))
                    .zip(exponents.par_iter_mut())
                    .try_for_each_init(
                        || Workspace::new(self),
                        |ws, (((dst, src), t), e)| {
                            let ws = ws.as_mut().map_err(|f| *f)?;
                            *e = self.forward_plane(filters, src, dst, ws, Some(t));
                            Ok(())
                        },
                    )
            }
            None => work.try_for_each_init(
                || Workspace::new(self),
                |ws, (dst, src)| {
                    let ws = ws.as_mut().map_err(|f| *f)?;
                    self.forward_plane(filters, src, dst, ws, None);
                    Ok(())
                },
            ),
        }
    }

    /// Power-of-two exponent `e` such that the plane scaled by `2^−e` stays below
    /// `SAFE_MAGNITUDE` (`sealed::Magnitude`); 0 for ordinary data.
    pub(super) fn scale_exponent(&self, x: &[T]) -> i32 {
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
    pub(super) fn padded_spectrum(
        &self,
        x: &[T],
        e: i32,
        spatial: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let f0 = &self.ffts[0];
        let scale = pow2::<T>(-e);
        let w = self.input_size[1];
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
        let e = self.scale_exponent(x);
        let mut bufs = std::mem::take(&mut ws.signals);
        let x_hat = &mut bufs[0];
        self.padded_spectrum(x, e, &mut ws.spatial, x_hat, &mut ws.scratch);
        let n0 = self.ffts[0].len();
        if let Some(t) = tape.as_deref_mut() {
            t[..n0].copy_from_slice(&x_hat[..n0]);
        }
        self.low_pass(&x_hat[..n0], 0, ws);
        self.write_pair(&ws.coarse, 0, None, dst);
        for j1 in 0..self.options.num_scales() {
            for pair in pairs(j1, self.options.num_orientations()) {
                self.first_order_pair(filters, j1, pair, &mut bufs, dst, ws, tape.as_deref_mut());
            }
        }
        ws.signals = bufs;
        if e != 0 {
            let up = pow2::<T>(e);
            dst.iter_mut().for_each(|v| *v = *v * up);
        }
        e
    }

    /// Order 1 for the orientations `(na, nb)` of scale `j1`, and order 2 from them: `u1 =
    /// F^H(fold(X·ψ̃))` for each, `Z = F(|u1_a| + i·|u1_b|)`, the pair of `S1` from `Z`, and the
    /// spectra of both moduli, split from `Z`, into [`Cascade::second_order`].
    #[allow(clippy::too_many_arguments)]
    fn first_order_pair(
        &self,
        filters: &PreparedFilters<T>,
        j1: usize,
        (na, nb): (usize, Option<usize>),
        bufs: &mut [Vec<Complex<T>>; 11],
        dst: &mut [T],
        ws: &mut Workspace<T>,
        mut tape: Option<&mut [Complex<T>]>,
    ) {
        let [x_hat, ua, ub, u2a, u2b, xa, xb, ..] = bufs;
        let f1 = &self.ffts[j1];
        let len1 = f1.len();
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
        if self.options.max_order() >= 2 && j1 + 1 < self.options.num_scales() {
            unpack_spectra(&z1[..len1], f1.w, f1.h, xa, xb);
            for (n1, src) in [(na, &*xa), (nb.unwrap_or(NONE), &*xb)] {
                if n1 != NONE {
                    let u2 = [&mut *u2a, &mut *u2b];
                    let t = tape.as_deref_mut();
                    self.second_order(filters, j1, n1, &src[..len1], u2, dst, ws, t);
                }
            }
        }
        ws.z1 = z1;
    }

    /// Order 2 from the first-order wavelet `n1` of scale `j1`, whose modulus has the spectrum
    /// `src`: for every `j2 > j1` and pair `(ma, mb)`, `u2 = F^H(fold(src·ψ̃[j1]))`, then the pair
    /// of `S2` from `F(|u2_a| + i·|u2_b|)`.
    #[allow(clippy::too_many_arguments)]
    fn second_order(
        &self,
        filters: &PreparedFilters<T>,
        j1: usize,
        n1: usize,
        src: &[Complex<T>],
        [u2a, u2b]: [&mut Vec<Complex<T>>; 2],
        dst: &mut [T],
        ws: &mut Workspace<T>,
        mut tape: Option<&mut [Complex<T>]>,
    ) {
        let (big_j, big_l) = (self.options.num_scales(), self.options.num_orientations());
        let count = big_j * big_l;
        for j2 in j1 + 1..big_j {
            let f2 = &self.ffts[j2];
            let len2 = f2.len();
            for (ma, mb) in pairs(j2, big_l) {
                for (m, u) in [(ma, &mut *u2a), (mb.unwrap_or(NONE), &mut *u2b)] {
                    if m == NONE {
                        continue;
                    }
                    let filt = &filters.psi[m][j1];
                    self.modulus_input(src, j1, j2, filt, &mut ws.spec, u, &mut ws.scratch);
                    if let Some(t) = tape.as_deref_mut() {
                        let off = self.u_offset[self.second_channel[n1 * count + m]];
                        t[off..off + len2].copy_from_slice(&u[..len2]);
                    }
                }
                let has_b = mb.is_some();
                pack_moduli(
                    &u2a[..len2],
                    has_b.then(|| &u2b[..len2]),
                    &mut ws.spatial[..len2],
                );
                f2.forward(&mut ws.spatial[..len2], &mut ws.z2[..len2], &mut ws.scratch);
                let z2 = std::mem::take(&mut ws.z2);
                self.low_pass(&z2[..len2], j2, ws);
                ws.z2 = z2;
                let ca = self.second_channel[n1 * count + ma];
                let cb = mb.map(|m| self.second_channel[n1 * count + m]);
                self.write_pair(&ws.coarse, ca, cb, dst);
            }
        }
    }

    /// `out = F^H(fold_{2^(to−from)}(src · filt))`: the complex signal whose modulus is the next
    /// `U`, from a spectrum `src` at resolution `from` to resolution `to`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn modulus_input(
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
    pub(super) fn low_pass(&self, spec: &[Complex<T>], r: usize, ws: &mut Workspace<T>) {
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
}
