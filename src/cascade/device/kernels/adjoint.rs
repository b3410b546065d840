//! CubeCL kernels of the cascade's adjoint, one value per unit (the backward; host side in
//! `super::super::adjoint`; the fused plane kernel in [`super::adjoint_fused`]).
//!
//! Every step of the forward is replaced by its adjoint for the real inner product
//! `⟨a, b⟩ = Re Σ conj(a)·b` (the table of `docs/design.md`, "The adjoint"):
//!
//! | forward | adjoint (here) |
//! |---|---|
//! | `S = Re unpad(v)·2^e` | [`embed_value()`]: `v̄ = embed(S̄·2^e)` (zero border) |
//! | `d = fold_k(s·f)` | [`gather_value()`]: `s̄ = Σ_terms f·tile_k(d̄)` (every consumer of `s`) |
//! | | [`filter_grad_partial()`]: `f̄ = Σ_planes Re(conj(tile_k(d̄))·s)` (blocks of planes) |
//! | `U = |u|` | [`modulus_adjoint_value()`]: `ū = Ū·u/|u|`, 0 where `u = 0` |
//! | `X = F(pad(x·2^−e))` | [`pad_adjoint()`]: `x̄ = 2^−e·Σ_{reflections} Re F^H(X̄)` (a gather) |
//! | crop, `1/(M_r·N_r)` | [`filter_grad_unprepare()`]: `ψ̄[crop_r(ω)] += f̄_r(ω)/(M_r·N_r)` |
//!
//! (`docs/design.md`, "The adjoint", has the host's table: the same steps, with the host's
//! Hermitian packing of two orientations, which the device does not use.)
//!
//! No atomics anywhere: every output value is written by one unit with a fixed summation order,
//! so results are bit-reproducible; the sum over planes of the filter gradient is a blocked sum
//! (fixed blocks of [`FILTER_GRAD_BLOCK`] planes, then the blocks in order).
//!
//! The `#[cube]` helpers are shared by the elementwise kernels here and the fused
//! [`super::adjoint_fused::adjoint_plane()`] kernel, so the fused and unfused paths agree bit for
//! bit.

use cubecl::prelude::*;

use super::elementwise::NO_INDEX;
use super::position;

/// Image planes per block of the filter gradient's first reduction.
pub const FILTER_GRAD_BLOCK: usize = 16;

/// Layout of a gather descriptor in the `u32` gather table (offsets from its start). A gather
/// computes, for target plane `q` at resolution `r` (`h × w`) and position `(y, x)`:
///
/// ```text
/// s̄ = φ̃_r(y, x)·E[p, c](y mod MJ, x mod NJ)
///   + Σ_t Σ_{i<COUNT} f_t[i](y, x)·D[P·BLOCK_t + ((q·COUNT + i)·h_t + y mod h_t)·w_t + x mod w_t]
/// ```
///
/// with `q = (p·A + a)·B + b` (`A·B = PER_PLANE`, `B = INNER`), `c = C0 + a·SA + b` the channel
/// of the low-pass whose gradient `E` (`[P, CHANNELS, MJ, NJ]`, the spectra of the embedded
/// output gradient) feeds the plane, `φ̃_r` at `PHI_OFFSET` of the low-pass buffer, and for each
/// term `t` a block of the buffer `D` (`[P, …, COUNT, h_t, w_t]` starting `P·BLOCK_t` values in)
/// with its filters `f_t` (`[COUNT, h, w]` at `FILT_t` of the bank buffer).
pub mod gather {
    /// Offset of `φ̃_r` in the low-pass buffer.
    pub const PHI_OFFSET: usize = 0;
    /// `A·B`: target planes per image plane.
    pub const PER_PLANE: usize = 1;
    /// `B`.
    pub const INNER: usize = 2;
    /// First channel.
    pub const C0: usize = 3;
    /// Channel step of `a`.
    pub const SA: usize = 4;
    /// `K`, channels of the output.
    pub const CHANNELS: usize = 5;
    /// Rows of the coarsest grid.
    pub const MJ: usize = 6;
    /// Columns of the coarsest grid.
    pub const NJ: usize = 7;
    /// Sub-planes per term and target plane (`L`).
    pub const COUNT: usize = 8;
    /// Number of terms.
    pub const TERMS: usize = 9;
    /// First term: `[BLOCK (per image plane), h_t, w_t, FILT]`.
    pub const TERM0: usize = 10;
    /// Words per term.
    pub const TERM_WORDS: usize = 4;
}

/// The embedded output gradient at `(y, x)` of plane `q = p·K + c` of the coarsest grid: the
/// gradient of channel `c` (`grad`: `[P, K, ho, wo]`) in the window `[1, 1 + ho) × [1, 1 + wo)`
/// times the plane's range scale `2^e` (`scales[num_images + p]`), 0 elsewhere.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn embed_value(
    grad: &[f32],
    scales: &[f32],
    q: usize,
    y: usize,
    x: usize,
    channels: usize,
    ho: usize,
    wo: usize,
    num_images: usize,
) -> f32 {
    let mut v = 0.0f32;
    if y >= 1 && y <= ho && x >= 1 && x <= wo {
        let p = q / channels;
        v = grad[(q * ho + y - 1) * wo + x - 1] * scales[num_images + p];
    }
    v
}

/// The gather of the descriptor at `g0` (see [`gather`]) at `(y, x)` of target plane `q` of an
/// `h × w` grid: `(re, im)`.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gather_value(
    e_re: &[f32],
    e_im: &[f32],
    d_re: &[f32],
    d_im: &[f32],
    phi: &[f32],
    filt: &[f32],
    table: &[u32],
    g0: usize,
    q: usize,
    y: usize,
    x: usize,
    h: usize,
    w: usize,
    num_images: usize,
) -> (f32, f32) {
    let per_plane = table[g0 + gather::PER_PLANE] as usize;
    let inner = table[g0 + gather::INNER] as usize;
    let channels = table[g0 + gather::CHANNELS] as usize;
    let mj = table[g0 + gather::MJ] as usize;
    let nj = table[g0 + gather::NJ] as usize;
    let p = q / per_plane;
    let rest = q - p * per_plane;
    let a = rest / inner;
    let b = rest - a * inner;
    let c = table[g0 + gather::C0] as usize + a * table[g0 + gather::SA] as usize + b;
    let e = ((p * channels + c) * mj + y % mj) * nj + x % nj;
    let g = phi[table[g0 + gather::PHI_OFFSET] as usize + y * w + x];
    let mut acc_re = e_re[e] * g;
    let mut acc_im = e_im[e] * g;
    let terms = table[g0 + gather::TERMS] as usize;
    let count = table[g0 + gather::COUNT] as usize;
    for t in 0..terms {
        let o = g0 + gather::TERM0 + t * gather::TERM_WORDS;
        let base = num_images * table[o] as usize;
        let ht = table[o + 1] as usize;
        let wt = table[o + 2] as usize;
        let fo = table[o + 3] as usize;
        let yy = y % ht;
        let xx = x % wt;
        for i in 0..count {
            let s = base + ((q * count + i) * ht + yy) * wt + xx;
            let f = filt[fo + (i * h + y) * w + x];
            acc_re += d_re[s] * f;
            acc_im += d_im[s] * f;
        }
    }
    (acc_re, acc_im)
}

/// The modulus' adjoint at one value: `g·u/|u|`, and 0 where `|u| = 0` (kymatio's
/// `ModulusStable`), as the CPU's `modulus_adjoint`.
#[cube]
pub(crate) fn modulus_adjoint_value(g: f32, u_re: f32, u_im: f32) -> (f32, f32) {
    let m = (u_re * u_re + u_im * u_im).sqrt();
    let mut s = 0.0f32;
    if m > 0.0 {
        s = g / m;
    }
    (u_re * s, u_im * s)
}

/// `out[p, c] = E` of [`embed_value()`] over `total = P·K·MJ·NJ` values (real part; imaginary 0).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn embed_grad(
    grad: &[f32],
    scales: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    mj: u32,
    nj: u32,
    channels: u32,
    ho: u32,
    wo: u32,
    num_images: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let plane = (mj * nj) as usize;
    let q = idx / plane;
    let o = idx - q * plane;
    let y = o / nj as usize;
    let x = o - y * nj as usize;
    out_re[idx] = embed_value(
        grad,
        scales,
        q,
        y,
        x,
        channels as usize,
        ho as usize,
        wo as usize,
        num_images as usize,
    );
    out_im[idx] = 0.0;
}

/// The gather of the descriptor at `g0` over `total` values of `h × w` target planes.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn gather_planes(
    e_re: &[f32],
    e_im: &[f32],
    d_re: &[f32],
    d_im: &[f32],
    phi: &[f32],
    filt: &[f32],
    table: &[u32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    g0: u32,
    h: u32,
    w: u32,
    num_images: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (h, w) = (h as usize, w as usize);
    let q = idx / (h * w);
    let o = idx - q * h * w;
    let y = o / w;
    let x = o - y * w;
    let (re, im) = gather_value(
        e_re,
        e_im,
        d_re,
        d_im,
        phi,
        filt,
        table,
        g0 as usize,
        q,
        y,
        x,
        h,
        w,
        num_images as usize,
    );
    out_re[idx] = re;
    out_im[idx] = im;
}

/// `ū = Re(w̄)·u/|u|` over `total` values (`u`: the taped complex signal).
#[cube(launch)]
pub fn modulus_adjoint(
    w_re: &[f32],
    u_re: &[f32],
    u_im: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (a, b) = modulus_adjoint_value(w_re[idx], u_re[idx], u_im[idx]);
    out_re[idx] = a;
    out_im[idx] = b;
}

/// The adjoint of the reflect padding: `dx[p, r, c] = 2^−e_p·Σ_{i: row(i) = r} Σ_{j: col(j) = c}
/// src[p, i, j]` (real parts of `[P, mp, np]`), over `total = P·height·width` values. `tables`
/// from `t0`: `[row_start (height + 1)][rows (mp)][col_start (width + 1)][cols (np)]`, the padded
/// rows of source row `r` being `rows[row_start[r]..row_start[r + 1]]` in increasing order.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn pad_adjoint(
    src_re: &[f32],
    tables: &[u32],
    scales: &[f32],
    dx: &mut [f32],
    t0: u32,
    height: u32,
    width: u32,
    mp: u32,
    np: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (height, width, mp, np) = (height as usize, width as usize, mp as usize, np as usize);
    let p = idx / (height * width);
    let o = idx - p * height * width;
    let r = o / width;
    let c = o - r * width;
    let t0 = t0 as usize;
    let rows = t0 + height + 1;
    let col_start = rows + mp;
    let cols = col_start + width + 1;
    let base = p * mp * np;
    let mut acc = 0.0f32;
    for ii in tables[t0 + r] as usize..tables[t0 + r + 1] as usize {
        let i = tables[rows + ii] as usize;
        for jj in tables[col_start + c] as usize..tables[col_start + c + 1] as usize {
            let j = tables[cols + jj] as usize;
            acc += src_re[base + i * np + j];
        }
    }
    dx[idx] = acc * scales[p];
}

/// First reduction of a filter gradient over planes: for block `b` of [`FILTER_GRAD_BLOCK`]
/// image planes, filter `f < count` and position `(y, x)` of the `h × w` grid,
///
/// `out[b·stride + out_offset + (f·h + y)·w + x] = Σ_{p in b} Σ_{a < inner}
///  Re(conj(d̄[s·count + f](y mod hd, x mod wd))·src[s](y, x))`, `s = p·inner + a`,
///
/// with `d̄` (`[S, count, hd, wd]`) starting `d_offset` values into `d_re`, `d_im`, and `src`
/// `[S, h, w]`. Over `total = blocks·count·h·w` values.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn filter_grad_partial(
    d_re: &[f32],
    d_im: &[f32],
    src_re: &[f32],
    src_im: &[f32],
    out: &mut [f32],
    d_offset: u32,
    h: u32,
    w: u32,
    hd: u32,
    wd: u32,
    count: u32,
    inner: u32,
    num_images: u32,
    out_offset: u32,
    stride: u32,
    accumulate: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (h, w, hd, wd) = (h as usize, w as usize, hd as usize, wd as usize);
    let (count, inner) = (count as usize, inner as usize);
    let per_block = count * h * w;
    let b = idx / per_block;
    let rest = idx - b * per_block;
    let f = rest / (h * w);
    let o = rest - f * h * w;
    let y = o / w;
    let x = o - y * w;
    let p0 = b * FILTER_GRAD_BLOCK;
    let mut p1 = p0 + FILTER_GRAD_BLOCK;
    if p1 > num_images as usize {
        p1 = num_images as usize;
    }
    let dpos = (y % hd) * wd + x % wd;
    let d0 = d_offset as usize;
    let mut acc = 0.0f32;
    for p in p0..p1 {
        for a in 0..inner {
            let s = p * inner + a;
            let dv = d0 + (s * count + f) * hd * wd + dpos;
            let sv = s * h * w + o;
            acc += d_re[dv] * src_re[sv] + d_im[dv] * src_im[sv];
        }
    }
    let at = b * stride as usize + out_offset as usize + rest;
    if accumulate == 1u32 {
        out[at] += acc;
    } else {
        out[at] = acc;
    }
}

/// Layout of the un-crop table of [`filter_grad_unprepare()`] (offsets in words):
/// `[off(j, r) at j·max_levels + r][levels(j) at LEVELS + j][per level r at INFO + 4r:
/// M_r, N_r, the offset of inv_rows_r (Mp words), of inv_cols_r (Np words)][the inverse tables]`,
/// `inv_rows_r[Y] = i` where `filters::periodize_rows(Mp, r)[i] = Y`, else `NO_INDEX`.
pub mod uncrop {
    /// Words per level record.
    pub const LEVEL_WORDS: usize = 4;
}

/// Second reduction and un-crop of the filter gradient: for wavelet `n = j·L + l` and position
/// `(Y, X)` of the full `mp × np` grid, `out[n, Y, X] = Σ_{r < levels(j)} [(Y, X) = crop_r(i, k)]
/// (Σ_{b < blocks} partial[b·stride + off(j, r) + (l·M_r + i)·N_r + k])·scale_r`, with
/// `levels(j)` the resolutions at which scale `j` is applied, `crop_r` the indices of
/// `filters::periodize_rows` and `scale_r = 1/(M_r·N_r)`; the table's layout in [`uncrop`]
/// (`levels_at`, `info_at` the offsets of its `levels` and level records). The levels in
/// increasing order, the blocks in order: the sum depends on the number of planes only.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn filter_grad_unprepare(
    partial: &[f32],
    tables: &[u32],
    scale: &[f32],
    out: &mut [f32],
    mp: u32,
    np: u32,
    num_orientations: u32,
    max_levels: u32,
    levels_at: u32,
    info_at: u32,
    blocks: u32,
    stride: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (mp, np) = (mp as usize, np as usize);
    let big_l = num_orientations as usize;
    let n = idx / (mp * np);
    let o = idx - n * mp * np;
    let yy = o / np;
    let xx = o - yy * np;
    let j = n / big_l;
    let l = n - j * big_l;
    let levels = tables[levels_at as usize + j] as usize;
    let mut acc = 0.0f32;
    for r in 0..levels {
        let info = info_at as usize + uncrop::LEVEL_WORDS * r;
        let md = tables[info] as usize;
        let nd = tables[info + 1] as usize;
        let i = tables[tables[info + 2] as usize + yy];
        let k = tables[tables[info + 3] as usize + xx];
        if i != NO_INDEX && k != NO_INDEX {
            let at = tables[j * max_levels as usize + r] as usize
                + (l * md + i as usize) * nd
                + k as usize;
            let mut g = 0.0f32;
            for b in 0..blocks as usize {
                g += partial[b * stride as usize + at];
            }
            acc += g * scale[r];
        }
    }
    out[idx] = acc;
}
