//! The forward's steps fused around the shared-memory plane FFT: when an output plane fits in
//! shared memory, one cube per plane loads it (reflect padding of the real input, the modulus of
//! a complex plane, or the filter product folded from a larger spectrum), transforms it in shared
//! memory, and finishes it there (stores the spectrum, or takes the modulus and the forward
//! transform, or writes the unpadded real part into the output channels). One launch per cascade
//! step, one global read of the source and one write of the result.
//!
//! The arithmetic is the unfused kernels' ([`super::elementwise`], the FFT's `run_stages`) in the
//! same order, through the same helpers, so the fused and unfused paths agree bit for bit.

use cubecl::prelude::*;

use super::elementwise::{Unpad, fold_value, modulus_value, unpad_target};
use crate::cascade::device::fft::planner::desc;
use crate::cascade::device::fft::stages::plane_stages;

/// `load`: reflect padding of real planes (`src_re` `[P, m, n]`, tables `aux = rows ++ cols`),
/// times the range scale `2^−e`, as `pad_reflect`.
pub const LOAD_PAD: u32 = 0;
/// `load`: filter product folded by `k` from `src` (`[Q, k·h, k·w]`), as `mul_fold`.
pub const LOAD_FOLD: u32 = 1;
/// `load`: the modulus `|src| + 0i` of complex planes (`[planes, h, w]`), as `modulus_copy`.
pub const LOAD_MODULUS: u32 = 2;

/// `finish`: store the transformed plane (complex) to `out_re`, `out_im` (`[planes, h, w]`).
pub const FINISH_STORE: u32 = 0;
/// `finish`: modulus, forward transform, store the spectrum.
pub const FINISH_MODULUS_FFT: u32 = 1;
/// `finish`: the window `[1, 1 + ho) × [1, 1 + wo)` of the real part to the output channels, as
/// `unpad_store`.
pub const FINISH_UNPAD: u32 = 2;

/// `LOAD_PAD` of plane `plane` into shared memory (`h × w` of the padded grid, from `m × n`).
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_pad(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    src: &[f32],
    aux: &[u32],
    scales: &[f32],
    plane: usize,
    h: usize,
    w: usize,
    m: usize,
    n: usize,
    #[comptime] threads: usize,
) {
    let base = plane * m * n;
    let down = scales[plane];
    let mut t = UNIT_POS as usize;
    while t < h * w {
        let i = t / w;
        let j = t - i * w;
        re[t] = src[base + aux[i] as usize * n + aux[h + j] as usize] * down;
        im[t] = 0.0;
        t += threads;
    }
}

/// `LOAD_MODULUS` of plane `plane` (`len` values) into shared memory.
#[cube]
fn load_modulus(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    src_re: &[f32],
    src_im: &[f32],
    plane: usize,
    len: usize,
    #[comptime] threads: usize,
) {
    let base = plane * len;
    let mut t = UNIT_POS as usize;
    while t < len {
        re[t] = modulus_value(src_re[base + t], src_im[base + t]);
        im[t] = 0.0;
        t += threads;
    }
}

/// `LOAD_FOLD` of plane `plane = q·F + f` into shared memory (`F = num_filters`).
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_fold(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    src_re: &[f32],
    src_im: &[f32],
    filt: &[f32],
    plane: usize,
    h: usize,
    w: usize,
    filt_offset: usize,
    num_filters: usize,
    k: usize,
    #[comptime] threads: usize,
) {
    let q = plane / num_filters;
    let f = plane - q * num_filters;
    let mut t = UNIT_POS as usize;
    while t < h * w {
        let i = t / w;
        let j = t - i * w;
        let (a, b) = fold_value(src_re, src_im, filt, filt_offset, q, f, i, j, h, w, k);
        re[t] = a;
        im[t] = b;
        t += threads;
    }
}

/// `z ← |z| + 0i` over the `len` values of shared memory at `cur`; ends with a barrier.
#[cube]
pub(crate) fn modulus_shared(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    cur: usize,
    len: usize,
    #[comptime] threads: usize,
) {
    let mut t = UNIT_POS as usize;
    while t < len {
        re[cur + t] = modulus_value(re[cur + t], im[cur + t]);
        im[cur + t] = 0.0;
        t += threads;
    }
    sync_cube();
}

/// Stores the `len` values of shared memory at `cur` to `out` from `base`.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn store_shared(
    re: &Shared<[f32]>,
    im: &Shared<[f32]>,
    cur: usize,
    out_re: &mut [f32],
    out_im: &mut [f32],
    base: usize,
    len: usize,
    #[comptime] threads: usize,
) {
    let mut t = UNIT_POS as usize;
    while t < len {
        out_re[base + t] = re[cur + t];
        out_im[base + t] = im[cur + t];
        t += threads;
    }
}

/// `FINISH_UNPAD` of plane `plane` (the real part of the `h × w` plane at `cur`, `w` columns)
/// under `map`, times the range scale `2^e` of its image plane.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_unpadded(
    re: &Shared<[f32]>,
    cur: usize,
    w: usize,
    out: &mut [f32],
    map: &Unpad,
    scales: &[f32],
    num_images: usize,
    plane: usize,
    #[comptime] threads: usize,
) {
    let (p, c) = unpad_target(map, plane);
    let up = scales[num_images + p];
    let window = map.ho * map.wo;
    let mut t = UNIT_POS as usize;
    while t < window {
        let i = t / map.wo;
        let j = t - i * map.wo;
        out[((p * map.channels + c) * map.ho + i) * map.wo + j] =
            re[cur + (1 + i) * w + 1 + j] * up;
        t += threads;
    }
}

/// One `h × w` plane per cube (`h`, `w` the lengths of the descriptors `desc_cols`, `desc_rows`):
/// load (`load`), 2-D transform in direction `dir`, finish (`finish`). `p0..p2` parameterise
/// the load (`LOAD_PAD`: `m, n`; `LOAD_FOLD`: `filt_offset, num_filters, k`), `ho..channels`
/// the unpadding (`FINISH_UNPAD` only; see `unpad_store`). `scales` holds the range scales of
/// the `num_images` image planes (`2^−e` then `2^e`, `plane_scales`), applied by `LOAD_PAD` and
/// `FINISH_UNPAD`. With `record` (`FINISH_MODULUS_FFT` only) the transformed plane (the complex
/// `u` before its modulus) is also written to `tape_re`, `tape_im` (`[planes, h, w]`).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn fused_plane(
    src_re: &[f32],
    src_im: &[f32],
    aux: &[u32],
    filt: &[f32],
    scales: &[f32],
    words: &[u32],
    table: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    tape_re: &mut [f32],
    tape_im: &mut [f32],
    desc_rows: u32,
    desc_cols: u32,
    num_planes: u32,
    dir: f32,
    p0: u32,
    p1: u32,
    p2: u32,
    ho: u32,
    wo: u32,
    per_plane: u32,
    inner: u32,
    c0: u32,
    sa: u32,
    channels: u32,
    num_images: u32,
    #[comptime] load: u32,
    #[comptime] finish: u32,
    #[comptime] record: bool,
    #[comptime] cap: usize,
    #[comptime] threads: usize,
) {
    let plane = CUBE_POS;
    if plane >= num_planes as usize {
        terminate!();
    }
    let mut re = Shared::new_slice(comptime!(2 * cap));
    let mut im = Shared::new_slice(comptime!(2 * cap));
    let dr = desc_rows as usize;
    let dc = desc_cols as usize;
    let w = words[dr + desc::N] as usize;
    let h = words[dc + desc::N] as usize;
    let len = h * w;
    let (p0, p1, p2) = (p0 as usize, p1 as usize, p2 as usize);

    if comptime![load == LOAD_PAD] {
        load_pad(
            &mut re, &mut im, src_re, aux, scales, plane, h, w, p0, p1, threads,
        );
    } else if comptime![load == LOAD_MODULUS] {
        load_modulus(&mut re, &mut im, src_re, src_im, plane, len, threads);
    } else {
        load_fold(
            &mut re, &mut im, src_re, src_im, filt, plane, h, w, p0, p1, p2, threads,
        );
    }
    sync_cube();

    let mut cur = plane_stages(
        &mut re, &mut im, 0, h, w, words, dr, dc, table, dir, cap, threads,
    );

    if comptime![finish == FINISH_MODULUS_FFT] {
        if comptime![record] {
            store_shared(&re, &im, cur, tape_re, tape_im, plane * len, len, threads);
        }
        modulus_shared(&mut re, &mut im, cur, len, threads);
        cur = plane_stages(
            &mut re, &mut im, cur, h, w, words, dr, dc, table, 1.0, cap, threads,
        );
    }

    if comptime![finish == FINISH_UNPAD] {
        let map = Unpad {
            ho: ho as usize,
            wo: wo as usize,
            per_plane: per_plane as usize,
            inner: inner as usize,
            c0: c0 as usize,
            sa: sa as usize,
            channels: channels as usize,
        };
        let images = num_images as usize;
        store_unpadded(&re, cur, w, out_re, &map, scales, images, plane, threads);
    } else {
        store_shared(&re, &im, cur, out_re, out_im, plane * len, len, threads);
    }
}
