//! Inner kernels of the fast path: 2D FFTs with a transposed spectral layout, Fourier subsampling
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
            .map(|f| f.get_inplace_scratch_len())
            .max()
            .unwrap_or(0)
    }

    /// Unnormalised forward transform: spatial `[h][w]` in `x` (overwritten) to spectrum `[w][h]`
    /// in `out`.
    pub fn forward(
        &self,
        x: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        self.row_fwd.process_with_scratch(x, scratch);
        transpose(x, out, self.h, self.w);
        self.col_fwd.process_with_scratch(out, scratch);
    }

    /// Unnormalised inverse transform: spectrum `[w][h]` in `spec` (overwritten) to spatial
    /// `[h][w]` in `out`. The caller folds the `1/(h·w)` factor into an earlier product.
    pub fn inverse(
        &self,
        spec: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        self.col_inv.process_with_scratch(spec, scratch);
        transpose(spec, out, self.w, self.h);
        self.row_inv.process_with_scratch(out, scratch);
    }
}

/// `dst[c][r] = src[r][c]` for a row-major `rows × cols` source.
fn transpose<C: Copy>(src: &[C], dst: &mut [C], rows: usize, cols: usize) {
    const BLOCK: usize = 16;
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..cols).step_by(BLOCK) {
            for r in r0..(r0 + BLOCK).min(rows) {
                for c in c0..(c0 + BLOCK).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// Filter product fused with Fourier subsampling by `k` (kymatio `cdgmm` then
/// `subsample_fourier`), in the transposed layout:
/// `dst[n][m] = scale · Σ_{a,b<k} src[b·W/k + n][a·H/k + m] · filt[b·W/k + n][a·H/k + m]`,
/// with `src` and `filt` of `W × H` (`src_w` rows of `src_h`) and `dst` of `W/k × H/k`.
///
/// `scale` carries kymatio's `1/k²` and the inverse FFT's `1/(h·w)` that follows.
pub(crate) fn mul_subsample<T: FftNum>(
    src: &[Complex<T>],
    filt: &[T],
    src_w: usize,
    src_h: usize,
    k: usize,
    scale: T,
    dst: &mut [Complex<T>],
) {
    let (dw, dh) = (src_w / k, src_h / k);
    debug_assert_eq!(dst.len(), dw * dh);
    if k == 1 {
        for ((d, s), f) in dst.iter_mut().zip(src).zip(filt) {
            *d = *s * (*f * scale);
        }
        return;
    }
    dst.iter_mut()
        .for_each(|d| *d = Complex::new(T::zero(), T::zero()));
    for b in 0..k {
        for n in 0..dw {
            let row = (b * dw + n) * src_h;
            let drow = &mut dst[n * dh..(n + 1) * dh];
            for a in 0..k {
                let off = row + a * dh;
                let s = &src[off..off + dh];
                let f = &filt[off..off + dh];
                for ((d, s), f) in drow.iter_mut().zip(s).zip(f) {
                    *d = *d + *s * *f;
                }
            }
        }
    }
    dst.iter_mut().for_each(|d| *d = *d * scale);
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
                *o = Complex::new(x.norm(), y.norm());
            }
        }
        None => {
            for (o, x) in out.iter_mut().zip(a) {
                *o = Complex::new(x.norm(), T::zero());
            }
        }
    }
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
    for l in 0..w {
        let lm = (w - l) % w;
        for k in 0..h {
            let km = (h - k) % h;
            let zk = z[l * h + k];
            let zm = z[lm * h + km].conj();
            xa[l * h + k] = (zk + zm) * half;
            let d = zk - zm;
            // d / (2i) = −i·d/2 = (d.im, −d.re) / 2
            xb[l * h + k] = Complex::new(d.im * half, -d.re * half);
        }
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
        mul_subsample(&spec, &ones, w, h, k, 1.0 / (k * k) as f64, &mut sub);
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
