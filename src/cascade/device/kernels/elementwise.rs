//! Elementwise kernels of the forward cascade (one unit per output value, the position
//! `CUBE_POS·CUBE_DIM + UNIT_POS` over a grid from `launch::cube_count`), the range reduction of
//! the input planes, and the crop of a bank's spectra.

use cubecl::prelude::*;

use super::position;

/// Marks an index table entry with no source (the crop's inverse, `filter_grad_unprepare`).
pub(crate) const NO_INDEX: u32 = u32::MAX;

/// Reflect padding of real planes `x` (`[P, m, n]`) into complex planes (`[P, mp, np]`,
/// imaginary part 0): `out[p, i, j] = x[p, tables[i], tables[mp + j]]·scales[p]` with the source
/// tables of `PaddedGeometry::source_row` and `source_col` (rows, then columns, in one buffer)
/// and the plane's range scale `2^−e` ([`plane_scales()`]).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn pad_reflect(
    x: &[f32],
    tables: &[u32],
    scales: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    m: u32,
    n: u32,
    mp: u32,
    np: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (m, n, mp, np) = (m as usize, n as usize, mp as usize, np as usize);
    let plane = idx / (mp * np);
    let o = idx - plane * mp * np;
    let i = o / np;
    let j = o - i * np;
    let src = plane * m * n + tables[i] as usize * n + tables[mp + j] as usize;
    out_re[idx] = x[src] * scales[plane];
    out_im[idx] = 0.0;
}

/// The filter product folded by `k` at `(i, j)` of plane `f` of the `md × nd` output of source
/// plane `q`: `Σ_{a<k} Σ_{b<k} src[q, a·md + i, b·nd + j]·filt[f, a·md + i, b·nd + j]`, `src`
/// `[Q, k·md, k·nd]` complex, the real filters `[F, k·md, k·nd]` from `filt_offset`. Summed `a`
/// first, then `b`.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fold_value(
    src_re: &[f32],
    src_im: &[f32],
    filt: &[f32],
    filt_offset: usize,
    q: usize,
    f: usize,
    i: usize,
    j: usize,
    md: usize,
    nd: usize,
    k: usize,
) -> (f32, f32) {
    let (ms, ns) = (k * md, k * nd);
    let src_base = q * ms * ns;
    let filt_base = filt_offset + f * ms * ns;
    let mut acc_re = 0.0f32;
    let mut acc_im = 0.0f32;
    for a in 0..k {
        let row = (a * md + i) * ns + j;
        for b in 0..k {
            let s = row + b * nd;
            let g = filt[filt_base + s];
            acc_re += src_re[src_base + s] * g;
            acc_im += src_im[src_base + s] * g;
        }
    }
    (acc_re, acc_im)
}

/// The filter product fused with Fourier subsampling by `k` (kymatio's `cdgmm` then
/// `subsample_fourier`, natural layout), [`fold_value()`] at every value of `out`
/// (`[Q, F, md, nd]`); the filters are pre-scaled by the `1/(k·md·k·nd)` of kymatio's mean and
/// the inverse FFT that follows.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn mul_fold(
    src_re: &[f32],
    src_im: &[f32],
    filt: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    filt_offset: u32,
    num_filters: u32,
    md: u32,
    nd: u32,
    k: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (md, nd) = (md as usize, nd as usize);
    let plane_out = md * nd;
    let qf = idx / plane_out;
    let o = idx - qf * plane_out;
    let q = qf / num_filters as usize;
    let f = qf - q * num_filters as usize;
    let i = o / nd;
    let j = o - i * nd;
    let (re, im) = fold_value(
        src_re,
        src_im,
        filt,
        filt_offset as usize,
        q,
        f,
        i,
        j,
        md,
        nd,
        k as usize,
    );
    out_re[idx] = re;
    out_im[idx] = im;
}

/// kymatio's Fourier crop of wavelet spectra to every grid they multiply, pre-scaled, in one
/// launch over the `total` values of a bank. Block `b` (`table[6b..6b + 6] = [start, j, rows,
/// cols, md, nd]`, increasing `start`) holds the `L` wavelets of scale `j` at one resolution:
/// `out[start + (l·md + i)·nd + k] = psi[j·L + l, crop[rows + i], crop[cols + k]]·scales[b]`,
/// with the crop indices of `filters::periodize_rows` at `rows` and `cols` of `crop` and
/// `scales[b] = 1/(md·nd)`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn crop_scale(
    psi: &[f32],
    table: &[u32],
    crop: &[u32],
    scales: &[f32],
    out: &mut [f32],
    blocks: u32,
    num_orientations: u32,
    mp: u32,
    np: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let mut blk = 0usize;
    for b in 1..blocks as usize {
        if idx >= table[6 * b] as usize {
            blk = b;
        }
    }
    let start = table[6 * blk] as usize;
    let j = table[6 * blk + 1] as usize;
    let rows = table[6 * blk + 2] as usize;
    let cols = table[6 * blk + 3] as usize;
    let md = table[6 * blk + 4] as usize;
    let nd = table[6 * blk + 5] as usize;
    let rel = idx - start;
    let plane = md * nd;
    let l = rel / plane;
    let o = rel - l * plane;
    let i = o / nd;
    let k = o - i * nd;
    let si = crop[rows + i] as usize;
    let sk = crop[cols + k] as usize;
    let src = ((j * num_orientations as usize + l) * mp as usize + si) * np as usize + sk;
    out[idx] = psi[src] * scales[blk];
}

/// `sqrt(re² + im²)`, as the host cascade's modulus.
#[cube]
pub(crate) fn modulus_value(re: f32, im: f32) -> f32 {
    let m = re * re + im * im;
    m.sqrt()
}

/// `out = |z| + 0i` over `total` values (out of place: the forward's record mode keeps `z` on
/// its tape, and the backward recomputes `F(|u1|)` from a taped `u1`).
#[cube(launch)]
pub fn modulus_copy(re: &[f32], im: &[f32], out_re: &mut [f32], out_im: &mut [f32], total: u32) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    out_re[idx] = modulus_value(re[idx], im[idx]);
    out_im[idx] = 0.0;
}

/// `z ← |z| + 0i` in place over `total` values.
#[cube(launch)]
pub fn modulus(re: &mut [f32], im: &mut [f32], total: u32) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    re[idx] = modulus_value(re[idx], im[idx]);
    im[idx] = 0.0;
}

/// Where the unpadded planes of one low-pass go: plane `q = (p·A + a)·B + b` (`A·B =
/// per_plane`, `B = inner`) to channel `c0 + a·sa + b` of image plane `p` of an output with
/// `channels` channels of `ho × wo`.
#[derive(CubeType)]
pub(crate) struct Unpad {
    pub(crate) ho: usize,
    pub(crate) wo: usize,
    pub(crate) per_plane: usize,
    pub(crate) inner: usize,
    pub(crate) c0: usize,
    pub(crate) sa: usize,
    pub(crate) channels: usize,
}

/// `(image plane, channel)` of plane `q` under `map`.
#[cube]
pub(crate) fn unpad_target(map: &Unpad, q: usize) -> (usize, usize) {
    let p = q / map.per_plane;
    let rest = q - p * map.per_plane;
    let a = rest / map.inner;
    let b = rest - a * map.inner;
    (p, map.c0 + a * map.sa + b)
}

/// The unpadding of low-passed planes into output channels: the window `[1, 1 + ho) ×
/// [1, 1 + wo)` of plane `q` of `src_re` (`[Q, mj, nj]`, the real part of the coarsest grid;
/// `geometry::UNPAD_OFFSET`) lands in the channel of [`unpad_target()`] of image plane `p` of
/// `out` (`[P, channels, ho, wo]`), times the plane's range scale `2^e` (`scales[P + p]`,
/// [`plane_scales()`]).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn unpad_store(
    src_re: &[f32],
    scales: &[f32],
    out: &mut [f32],
    mj: u32,
    nj: u32,
    ho: u32,
    wo: u32,
    per_plane: u32,
    inner: u32,
    c0: u32,
    sa: u32,
    channels: u32,
    num_images: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let map = Unpad {
        ho: ho as usize,
        wo: wo as usize,
        per_plane: per_plane as usize,
        inner: inner as usize,
        c0: c0 as usize,
        sa: sa as usize,
        channels: channels as usize,
    };
    let (mj, nj) = (mj as usize, nj as usize);
    let window = map.ho * map.wo;
    let q = idx / window;
    let o = idx - q * window;
    let i = o / map.wo;
    let j = o - i * map.wo;
    let (p, c) = unpad_target(&map, q);
    out[((p * map.channels + c) * map.ho + i) * map.wo + j] =
        src_re[q * mj * nj + (1 + i) * nj + 1 + j] * scales[num_images as usize + p];
}

/// Range of each input plane (`x`: `num_planes` planes of `plane_len` values), as the host
/// cascade's `scale_exponent` (`cascade::sealed::Magnitude::SAFE_MAGNITUDE` `= 2^40` for `f32`):
/// with `m` the largest `|x|` of the plane (NaN ignored) and `ratio = m·2^−40`,
/// `e = ⌈log2 ratio⌉` if `1 < ratio < ∞`, else 0. Writes `2^−e` to `scales[p]` and `2^e` to
/// `scales[num_planes + p]` (exact powers of two; `e ≤ 88` for finite `f32`, by exact halvings).
/// One cube per plane, a fixed-order tree reduction of the cube's units (a power of two).
#[cube(launch)]
pub fn plane_scales(
    x: &[f32],
    scales: &mut [f32],
    plane_len: u32,
    num_planes: u32,
    #[comptime] threads: usize,
) {
    let p = CUBE_POS;
    if p >= num_planes as usize {
        terminate!();
    }
    let mut sh = Shared::new_slice(threads);
    let len = plane_len as usize;
    let base = p * len;
    let mut m = 0.0f32;
    let mut t = UNIT_POS as usize;
    while t < len {
        let v = x[base + t];
        let mut a = v;
        if v < 0.0 {
            a = 0.0 - v;
        }
        if a > m {
            m = a;
        }
        t += threads;
    }
    let u = UNIT_POS as usize;
    sh[u] = m;
    sync_cube();
    // Loop bounds from runtime values: a mutable initialised from a comptime value breaks the
    // WGSL of cubecl 0.11.
    let mut s = CUBE_DIM as usize / 2;
    while s > 0 {
        if u < s {
            let other = sh[u + s];
            let mine = sh[u];
            if other > mine {
                sh[u] = other;
            }
        }
        sync_cube();
        s /= 2;
    }
    if u == 0 {
        // m·2^−40, exact.
        let largest = sh[0];
        let mut ratio =
            largest * 0.0009765625f32 * 0.0009765625f32 * 0.0009765625f32 * 0.0009765625f32;
        let mut down = 1.0f32;
        let mut up = 1.0f32;
        // Finite and above 1: halve until at most 1 (exact), e halvings (e ≤ 88).
        if ratio > 1.0 && ratio <= 3.402_823_5e38f32 {
            while ratio > 1.0 {
                ratio *= 0.5;
                down *= 0.5;
                up *= 2.0;
            }
        }
        scales[p] = down;
        scales[num_planes as usize + p] = up;
    }
}
