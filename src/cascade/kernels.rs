//! Inner kernels of the host cascade: 2D FFTs with a transposed spectral layout, Fourier subsampling
//! fused with the filter product, packing of two real signals into one complex FFT.
//!
//! **Layouts.** A spatial plane of `h × w` is row-major `[h][w]`. Its spectrum is stored
//! *transposed*, `[w][h]` (`spec[l·h + k] = X[k, l]`), so that each 2D transform needs one
//! transpose instead of two; filter spectra are stored in the same transposed layout.

use std::sync::Arc;

use num_complex::Complex;
use rustfft::{Fft, FftNum, FftPlanner};

/// Forward and inverse plans for one `h × w` grid.
pub(crate) struct Fft2<T: FftNum> {
    pub h: usize,
    pub w: usize,
    row_fwd: Arc<dyn Fft<T>>,
    row_inv: Arc<dyn Fft<T>>,
    col_fwd: Arc<dyn Fft<T>>,
    col_inv: Arc<dyn Fft<T>>,
}

impl<T: FftNum> Fft2<T> {
    pub fn new(planner: &mut FftPlanner<T>, h: usize, w: usize) -> Self {
        Self {
            h,
            w,
            row_fwd: planner.plan_fft_forward(w),
            row_inv: planner.plan_fft_inverse(w),
            col_fwd: planner.plan_fft_forward(h),
            col_inv: planner.plan_fft_inverse(h),
        }
    }

    pub fn len(&self) -> usize {
        self.h * self.w
    }

    /// Scratch length needed by every plan of this grid.
    pub fn scratch_len(&self) -> usize {
        [&self.row_fwd, &self.row_inv, &self.col_fwd, &self.col_inv]
            .iter()
            .map(|f| f.get_outofplace_scratch_len())
            .max()
            .unwrap_or(0)
    }

    /// Unnormalised forward transform: spatial `[h][w]` in `x` to spectrum `[w][h]` in `out`.
    /// `x` is used as working memory and left unspecified.
    pub fn forward(
        &self,
        x: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        two_pass(
            &self.row_fwd,
            &self.col_fwd,
            x,
            out,
            [self.h, self.w],
            scratch,
        );
    }

    /// Unnormalised inverse transform: spectrum `[w][h]` in `spec` to spatial `[h][w]` in `out`.
    /// `spec` is used as working memory and left unspecified. The caller folds the `1/(h·w)`
    /// factor into an earlier product.
    pub fn inverse(
        &self,
        spec: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        two_pass(
            &self.col_inv,
            &self.row_inv,
            spec,
            out,
            [self.w, self.h],
            scratch,
        );
    }
}

/// A separable 2D transform of a row-major `rows × cols` plane in `a`: `first` along its rows,
/// one transpose, `second` along the rows of the transposed plane; the result, `cols × rows`,
/// lands in `b` and `a` is overwritten. Out of place throughout: RustFFT's in-place calls copy
/// through scratch internally.
fn two_pass<T: FftNum>(
    first: &Arc<dyn Fft<T>>,
    second: &Arc<dyn Fft<T>>,
    a: &mut [Complex<T>],
    b: &mut [Complex<T>],
    [rows, cols]: [usize; 2],
    scratch: &mut [Complex<T>],
) {
    debug_assert_eq!(a.len(), rows * cols);
    first.process_outofplace_with_scratch(a, b, scratch);
    transpose(b, a, rows, cols);
    second.process_outofplace_with_scratch(a, b, scratch);
}

/// `dst[c][r] = src[r][c]` for a row-major `rows × cols` source.
fn transpose<C: Copy>(src: &[C], dst: &mut [C], rows: usize, cols: usize) {
    transpose::transpose(src, dst, cols, rows);
}

/// Views a complex slice as its interleaved `[re, im, re, im, ...]` scalars.
fn as_scalars<T: FftNum>(z: &[Complex<T>]) -> &[T] {
    // SAFETY: `Complex<T>` is `#[repr(C)] struct { re: T, im: T }`, so a slice of `n` complex
    // values is `2n` contiguous, aligned `T` values; the lifetime and mutability are inherited.
    unsafe { std::slice::from_raw_parts(z.as_ptr().cast::<T>(), 2 * z.len()) }
}

/// Mutable counterpart of [`as_scalars`].
fn as_scalars_mut<T: FftNum>(z: &mut [Complex<T>]) -> &mut [T] {
    // SAFETY: as in `as_scalars`; the exclusive borrow of `z` is moved into the result.
    unsafe { std::slice::from_raw_parts_mut(z.as_mut_ptr().cast::<T>(), 2 * z.len()) }
}

/// Filter product fused with Fourier subsampling by `k` (kymatio `cdgmm` then
/// `subsample_fourier`), in the transposed layout:
/// `dst[n][m] = Σ_{a,b<k} src[b·W/k + n][a·H/k + m] · filt[b·W/k + n][a·H/k + m]`,
/// with `src` of `W × H` (`src_w` rows of `src_h`) and `dst` of `W/k × H/k`.
///
/// `filt` is the real filter with every value written twice (`[f, f, g, g, ...]`), so that the
/// product with the interleaved complex spectrum is one contiguous real multiply that the compiler
/// vectorises. kymatio's `1/k²` and the `1/(h·w)` of the inverse FFT that follows are
/// pre-multiplied into the stored filter.
pub(crate) fn mul_subsample<T: FftNum>(
    src: &[Complex<T>],
    filt: &[T],
    src_w: usize,
    src_h: usize,
    k: usize,
    dst: &mut [Complex<T>],
) {
    let (dw, dh) = (src_w / k, src_h / k);
    debug_assert_eq!(dst.len(), dw * dh);
    debug_assert_eq!(src.len(), src_w * src_h);
    debug_assert_eq!(filt.len(), 2 * src.len());
    let (src, dst) = (as_scalars(src), as_scalars_mut(dst));
    let (row_len, chunk) = (2 * src_h, 2 * dh);
    if k == 2 {
        // The common case (order 2 and most low-passes): four aliases summed in registers,
        // each output written once.
        for n in 0..dw {
            let (r0, r1) = (n * row_len, (dw + n) * row_len);
            let (s0, s1) = (&src[r0..r0 + row_len], &src[r1..r1 + row_len]);
            let (f0, f1) = (&filt[r0..r0 + row_len], &filt[r1..r1 + row_len]);
            let (s00, s01) = s0.split_at(chunk);
            let (s10, s11) = s1.split_at(chunk);
            let (f00, f01) = f0.split_at(chunk);
            let (f10, f11) = f1.split_at(chunk);
            // Equal lengths stated up front, so the loop below has no bounds checks.
            let (s00, s01, s10, s11) = (&s00[..chunk], &s01[..chunk], &s10[..chunk], &s11[..chunk]);
            let (f00, f01, f10, f11) = (&f00[..chunk], &f01[..chunk], &f10[..chunk], &f11[..chunk]);
            let drow = &mut dst[n * chunk..(n + 1) * chunk];
            for i in 0..chunk {
                drow[i] = s00[i] * f00[i] + s01[i] * f01[i] + s10[i] * f10[i] + s11[i] * f11[i];
            }
        }
        return;
    }
    dst.fill(T::zero());
    fold_runs(src_w, src_h, k, |d, s, len| {
        let (drow, s, f) = (&mut dst[d..d + len], &src[s..s + len], &filt[s..s + len]);
        for ((d, s), f) in drow.iter_mut().zip(s).zip(f) {
            *d = *d + *s * *f;
        }
    });
}

/// The alias fold of Fourier subsampling by `k`, in interleaved scalars of the transposed layout:
/// calls `f(d, s, len)` for every run of `len` scalars that starts at `s` in the `src_w × src_h`
/// source and folds onto `d` in the `src_w/k × src_h/k` destination. [`mul_subsample`] and both of
/// its adjoints walk the fold this way, so there is one fold.
fn fold_runs(src_w: usize, src_h: usize, k: usize, mut f: impl FnMut(usize, usize, usize)) {
    let (dw, dh) = (src_w / k, src_h / k);
    let (row_len, chunk) = (2 * src_h, 2 * dh);
    for n in 0..dw {
        for b in 0..k {
            let row = (b * dw + n) * row_len;
            for a in 0..k {
                f(n * chunk, row + a * chunk, chunk);
            }
        }
    }
}

/// Adjoint of [`mul_subsample`]: `src_bar[I] += filt[I]·dst_bar[i(I)]` for every source position
/// `I` and the position `i(I)` it folds onto (the filter is real, so no conjugate), and with
/// `filt_bar` the filter's gradient `filt_bar[I] += Re(conj(dst_bar[i(I)])·src[I])`, one value
/// per position (half the length of the doubled `filt`). Same layouts as [`mul_subsample`]; one
/// walk of the fold for both.
pub(crate) fn mul_subsample_adjoint<T: FftNum>(
    dst_bar: &[Complex<T>],
    filt: &[T],
    src: &[Complex<T>],
    [src_w, src_h]: [usize; 2],
    k: usize,
    src_bar: &mut [Complex<T>],
    filt_bar: Option<&mut [T]>,
) {
    debug_assert_eq!(dst_bar.len() * k * k, src_bar.len());
    debug_assert_eq!(filt.len(), 2 * src_bar.len());
    let (g, acc) = (as_scalars(dst_bar), as_scalars_mut(src_bar));
    match filt_bar {
        Some(filt_bar) => {
            debug_assert_eq!(2 * filt_bar.len(), filt.len());
            let src = as_scalars(src);
            fold_runs(src_w, src_h, k, |d, s, len| {
                let (g, f, x) = (&g[d..d + len], &filt[s..s + len], &src[s..s + len]);
                let a = &mut acc[s..s + len];
                let fb = &mut filt_bar[s / 2..(s + len) / 2];
                // Pairs (re, im): the filter holds each value twice, its gradient once.
                let pairs = a.chunks_exact_mut(2).zip(fb.iter_mut()).zip(
                    g.chunks_exact(2)
                        .zip(f.chunks_exact(2))
                        .zip(x.chunks_exact(2)),
                );
                for ((a, fb), ((g, f), x)) in pairs {
                    a[0] = a[0] + g[0] * f[0];
                    a[1] = a[1] + g[1] * f[1];
                    *fb = *fb + g[0] * x[0] + g[1] * x[1];
                }
            });
        }
        None => fold_runs(src_w, src_h, k, |d, s, len| {
            let (g, f, a) = (&g[d..d + len], &filt[s..s + len], &mut acc[s..s + len]);
            for i in 0..len {
                a[i] = a[i] + g[i] * f[i];
            }
        }),
    }
}

/// `out = |a| + i·|b|` (or `|a| + 0i` without `b`): two real moduli packed in one complex signal
/// so that one FFT transforms both.
pub(crate) fn pack_moduli<T: FftNum + num_traits::Float>(
    a: &[Complex<T>],
    b: Option<&[Complex<T>]>,
    out: &mut [Complex<T>],
) {
    match b {
        Some(b) => {
            for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
                *o = Complex::new(modulus(x), modulus(y));
            }
        }
        None => {
            for (o, x) in out.iter_mut().zip(a) {
                *o = Complex::new(modulus(x), T::zero());
            }
        }
    }
}

/// `|z| = sqrt(re² + im²)`: exact to rounding and vectorisable, unlike `hypot`; it overflows only
/// for `|z|` above `sqrt(T::MAX)` (1.8e19 in `f32`), far beyond any scattering coefficient of
/// image data.
#[inline]
fn modulus<T: num_traits::Float>(z: &Complex<T>) -> T {
    (z.re * z.re + z.im * z.im).sqrt()
}

/// Splits the spectrum `Z = X_a + i·X_b` of a packed pair of real signals (transposed layout,
/// `w` rows of `h`) into `X_a = (Z(ω) + conj Z(−ω)) / 2` and `X_b = (Z(ω) − conj Z(−ω)) / (2i)`.
pub(crate) fn unpack_spectra<T: FftNum>(
    z: &[Complex<T>],
    w: usize,
    h: usize,
    xa: &mut [Complex<T>],
    xb: &mut [Complex<T>],
) {
    let half = T::from_f64(0.5).unwrap();
    // Index of −k modulo n, without a division in the inner loop.
    let mirror = |k: usize, n: usize| if k == 0 { 0 } else { n - k };
    for l in 0..w {
        let row = &z[l * h..(l + 1) * h];
        let mrow = &z[mirror(l, w) * h..(mirror(l, w) + 1) * h];
        let (ra, rb) = (&mut xa[l * h..(l + 1) * h], &mut xb[l * h..(l + 1) * h]);
        for k in 0..h {
            let zk = row[k];
            let zm = mrow[mirror(k, h)].conj();
            ra[k] = (zk + zm) * half;
            let d = zk - zm;
            // d / (2i) = −i·d/2 = (d.im, −d.re) / 2
            rb[k] = Complex::new(d.im * half, -d.re * half);
        }
    }
}

/// Adjoint of [`unpack_spectra`]: `z_bar += H(xa_bar) + i·H(xb_bar)` with
/// `H(G)(ω) = (G(ω) + conj G(−ω)) / 2` (same layout; `xb_bar = None` adds only the first term).
///
/// `X_a = (Z + C·Z)/2` and `X_b = −i·(Z − C·Z)/2` with the real-linear `(C·Z)(ω) = conj Z(−ω)`,
/// which is self-adjoint for the real inner product `Re⟨·,·⟩`; hence the two terms.
pub(crate) fn unpack_spectra_adjoint<T: FftNum>(
    xa_bar: &[Complex<T>],
    xb_bar: Option<&[Complex<T>]>,
    w: usize,
    h: usize,
    z_bar: &mut [Complex<T>],
) {
    let half = T::from_f64(0.5).unwrap();
    let mirror = |k: usize, n: usize| if k == 0 { 0 } else { n - k };
    for l in 0..w {
        let ml = mirror(l, w);
        let out = &mut z_bar[l * h..(l + 1) * h];
        let (ra, rma) = (&xa_bar[l * h..(l + 1) * h], &xa_bar[ml * h..(ml + 1) * h]);
        for k in 0..h {
            let ga = (ra[k] + rma[mirror(k, h)].conj()) * half;
            out[k] = out[k] + ga;
        }
        if let Some(xb) = xb_bar {
            let (rb, rmb) = (&xb[l * h..(l + 1) * h], &xb[ml * h..(ml + 1) * h]);
            for k in 0..h {
                let gb = (rb[k] + rmb[mirror(k, h)].conj()) * half;
                // + i·gb
                out[k] = out[k] + Complex::new(-gb.im, gb.re);
            }
        }
    }
}

/// Adjoint of the modulus `|u|`: `u_bar = g·u/|u|`, with `g` the real (`imag = false`) or
/// imaginary part of `packed_bar`, and 0 where `u = 0` (kymatio's `ModulusStable`).
pub(crate) fn modulus_adjoint<T: FftNum + num_traits::Float>(
    packed_bar: &[Complex<T>],
    imag: bool,
    u: &[Complex<T>],
    u_bar: &mut [Complex<T>],
) {
    let n = u.len();
    let (g, u, out) = (
        &as_scalars(packed_bar)[..2 * n],
        as_scalars(u),
        &mut as_scalars_mut(u_bar)[..2 * n],
    );
    let off = usize::from(imag);
    // Written without branches over flat scalars so that it vectorises.
    for i in 0..n {
        let (re, im) = (u[2 * i], u[2 * i + 1]);
        let m = (re * re + im * im).sqrt();
        let s = g[2 * i + off] / m;
        let s = if m > T::zero() { s } else { T::zero() };
        out[2 * i] = re * s;
        out[2 * i + 1] = im * s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dft(x: &[Complex<f64>], h: usize, w: usize) -> Vec<Complex<f64>> {
        let mut out = vec![Complex::new(0.0, 0.0); h * w];
        for k in 0..h {
            for l in 0..w {
                let mut acc = Complex::new(0.0, 0.0);
                for r in 0..h {
                    for c in 0..w {
                        let ang = -2.0
                            * std::f64::consts::PI
                            * ((k * r) as f64 / h as f64 + (l * c) as f64 / w as f64);
                        acc += x[r * w + c] * Complex::from_polar(1.0, ang);
                    }
                }
                out[l * h + k] = acc; // transposed layout
            }
        }
        out
    }

    fn signal(n: usize) -> Vec<Complex<f64>> {
        (0..n)
            .map(|i| Complex::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos()))
            .collect()
    }

    #[test]
    fn forward_matches_naive_dft_and_inverse_round_trips() {
        let (h, w) = (6, 10);
        let mut planner = FftPlanner::new();
        let plan = Fft2::new(&mut planner, h, w);
        let x = signal(h * w);
        let mut buf = x.clone();
        let mut spec = vec![Complex::new(0.0, 0.0); h * w];
        let mut scratch = vec![Complex::new(0.0, 0.0); plan.scratch_len()];
        plan.forward(&mut buf, &mut spec, &mut scratch);
        for (a, b) in spec.iter().zip(naive_dft(&x, h, w)) {
            assert!((a - b).norm() < 1e-10);
        }
        let mut back = vec![Complex::new(0.0, 0.0); h * w];
        plan.inverse(&mut spec, &mut back, &mut scratch);
        for (a, b) in back.iter().zip(&x) {
            assert!((a / (h * w) as f64 - b).norm() < 1e-12);
        }
    }

    #[test]
    fn subsampling_equals_spatial_decimation() {
        // kymatio: subsample_fourier(fft2(x), k) == fft2(x[::k, ::k]).
        let (h, w, k) = (8, 12, 2);
        let mut planner = FftPlanner::new();
        let big = Fft2::new(&mut planner, h, w);
        let x = signal(h * w);
        let mut buf = x.clone();
        let mut spec = vec![Complex::new(0.0, 0.0); h * w];
        let mut scratch = vec![Complex::new(0.0, 0.0); 64];
        big.forward(&mut buf, &mut spec, &mut scratch);
        let ones = vec![1.0; h * w];
        let mut sub = vec![Complex::new(0.0, 0.0); h * w / (k * k)];
        let ones: Vec<f64> = ones.iter().flat_map(|v| [v / (k * k) as f64; 2]).collect();
        mul_subsample(&spec, &ones, w, h, k, &mut sub);
        let dec: Vec<_> = (0..h / k)
            .flat_map(|r| (0..w / k).map(move |c| (r, c)))
            .map(|(r, c)| x[r * k * w + c * k])
            .collect();
        let expected = naive_dft(&dec, h / k, w / k);
        for (a, b) in sub.iter().zip(expected) {
            assert!((a - b).norm() < 1e-10);
        }
    }

    #[test]
    fn fused_product_matches_a_naive_alias_sum() {
        let (w, h) = (12, 8);
        let src = signal(w * h);
        let filt: Vec<f64> = (0..w * h).map(|i| (i as f64 * 0.7).cos()).collect();
        let doubled: Vec<f64> = filt.iter().flat_map(|v| [*v; 2]).collect();
        for k in [1, 2, 4] {
            let (dw, dh) = (w / k, h / k);
            let mut dst = vec![Complex::new(0.0, 0.0); dw * dh];
            mul_subsample(&src, &doubled, w, h, k, &mut dst);
            for n in 0..dw {
                for m in 0..dh {
                    let mut acc = Complex::new(0.0, 0.0);
                    for b in 0..k {
                        for a in 0..k {
                            let i = (b * dw + n) * h + a * dh + m;
                            acc += src[i] * filt[i];
                        }
                    }
                    assert!((dst[n * dh + m] - acc).norm() < 1e-12, "k={k}");
                }
            }
        }
    }

    #[test]
    fn packed_pair_unpacks_to_the_two_spectra() {
        let (h, w) = (4, 6);
        let a: Vec<f64> = (0..h * w).map(|i| (i as f64).sin()).collect();
        let b: Vec<f64> = (0..h * w).map(|i| (i as f64 * 0.3).cos()).collect();
        let z: Vec<_> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| Complex::new(*x, *y))
            .collect();
        let zs = naive_dft(&z, h, w);
        let mut xa = vec![Complex::new(0.0, 0.0); h * w];
        let mut xb = xa.clone();
        unpack_spectra(&zs, w, h, &mut xa, &mut xb);
        let ca: Vec<_> = a.iter().map(|v| Complex::new(*v, 0.0)).collect();
        let cb: Vec<_> = b.iter().map(|v| Complex::new(*v, 0.0)).collect();
        for (x, y) in xa.iter().zip(naive_dft(&ca, h, w)) {
            assert!((x - y).norm() < 1e-10);
        }
        for (x, y) in xb.iter().zip(naive_dft(&cb, h, w)) {
            assert!((x - y).norm() < 1e-10);
        }
    }
}
