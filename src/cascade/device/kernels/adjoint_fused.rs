//! The adjoint's steps fused around the shared-memory plane FFT ([`adjoint_plane()`]): a load (the
//! embedded output gradient, or a gather), the 2-D transform, and a finish (store; the modulus'
//! adjoint and the forward transform; the reflect padding's adjoint into the input gradient).
//! The arithmetic of the unfused kernels of [`super::adjoint`] in the same order.

use cubecl::prelude::*;

use super::adjoint::{embed_value, gather_value, modulus_adjoint_value};
use super::fused::store_shared;
use crate::cascade::device::fft::planner::desc;
use crate::cascade::device::fft::stages::plane_stages;

/// `load` of [`adjoint_plane()`]: the embedded output gradient ([`embed_value()`]).
pub const LOAD_EMBED: u32 = 0;
/// `load` of [`adjoint_plane()`]: a gather ([`gather_value()`]).
pub const LOAD_GATHER: u32 = 1;

/// `finish` of [`adjoint_plane()`]: store the transformed plane at `out_offset + plane·h·w`.
pub const FINISH_STORE: u32 = 0;
/// `finish`: `ū = Re(·)·u/|u|` with `u` the taped plane, forward transform, store.
pub const FINISH_MODULUS_ADJOINT: u32 = 1;
/// `finish`: the reflect padding's adjoint (with the range scale `2^−e`) into `[P, H, W]`.
pub const FINISH_PAD_ADJOINT: u32 = 2;

/// `ū = Re(w̄)·u/|u|` over the `len` values of shared memory at `cur`, `u` plane `plane` of
/// `u_re`, `u_im`; ends with a barrier.
#[cube]
#[allow(clippy::too_many_arguments)]
fn modulus_adjoint_shared(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    cur: usize,
    u_re: &[f32],
    u_im: &[f32],
    plane: usize,
    len: usize,
    #[comptime] threads: usize,
) {
    let base = plane * len;
    let mut t = UNIT_POS as usize;
    while t < len {
        let (a, b) = modulus_adjoint_value(re[cur + t], u_re[base + t], u_im[base + t]);
        re[cur + t] = a;
        im[cur + t] = b;
        t += threads;
    }
    sync_cube();
}

/// The reflect padding's adjoint of the real part of the padded plane at `cur` (`w` columns)
/// into `dx` (`[P, height, width]`), times `2^−e` (`scales[plane]`): the loop of
/// `super::adjoint::pad_adjoint` on shared memory, with its tables at `t0` of `aux`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_pad_adjoint(
    re: &Shared<[f32]>,
    cur: usize,
    h: usize,
    w: usize,
    aux: &[u32],
    t0: usize,
    height: usize,
    width: usize,
    scales: &[f32],
    dx: &mut [f32],
    plane: usize,
    #[comptime] threads: usize,
) {
    let rows = t0 + height + 1;
    let col_start = rows + h;
    let cols = col_start + width + 1;
    let down = scales[plane];
    let area = height * width;
    let mut t = UNIT_POS as usize;
    while t < area {
        let r = t / width;
        let c = t - r * width;
        let mut acc = 0.0f32;
        for ii in aux[t0 + r] as usize..aux[t0 + r + 1] as usize {
            let i = aux[rows + ii] as usize;
            for jj in aux[col_start + c] as usize..aux[col_start + c + 1] as usize {
                let j = aux[cols + jj] as usize;
                acc += re[cur + i * w + j];
            }
        }
        dx[plane * area + t] = acc * down;
        t += threads;
    }
}

/// One `h × w` plane per cube through a step of the adjoint, in shared memory:
///
/// - `load`: [`LOAD_EMBED`] (plane `q = p·K + c` of the embedded gradient `src_re`; `p0..p2` =
///   `K, ho, wo`) or [`LOAD_GATHER`] (the gather of the descriptor at `p0` of `aux`,
///   [`gather_value()`]);
/// - the 2-D transform in direction `dir`;
/// - `finish`: [`FINISH_STORE`], [`FINISH_MODULUS_ADJOINT`] (`ū = Re(·)·u/|u|` with `u` plane
///   `plane` of `u_re`, `u_im`, then the forward transform, then store), or
///   [`FINISH_PAD_ADJOINT`] (the reflect padding's adjoint of the real part, times `2^−e`, into
///   `out_re` `[P, height, width]`; `p1, p2` = `height, width`, the padding's tables at `pad0` of
///   `aux`).
///
/// `aux` is the plan's table of gather descriptors and padding tables. Stores go to
/// `out_offset + plane·h·w`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn adjoint_plane(
    src_re: &[f32],
    src_im: &[f32],
    d_re: &[f32],
    d_im: &[f32],
    phi: &[f32],
    filt: &[f32],
    aux: &[u32],
    scales: &[f32],
    u_re: &[f32],
    u_im: &[f32],
    words: &[u32],
    table: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    desc_rows: u32,
    desc_cols: u32,
    num_planes: u32,
    num_images: u32,
    dir: f32,
    p0: u32,
    p1: u32,
    p2: u32,
    pad0: u32,
    out_offset: u32,
    #[comptime] load: u32,
    #[comptime] finish: u32,
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
    let images = num_images as usize;
    let (p0, p1, p2) = (p0 as usize, p1 as usize, p2 as usize);

    let mut t = UNIT_POS as usize;
    while t < len {
        let y = t / w;
        let x = t - y * w;
        if comptime![load == LOAD_EMBED] {
            re[t] = embed_value(src_re, scales, plane, y, x, p0, p1, p2, images);
            im[t] = 0.0;
        } else {
            let (a, b) = gather_value(
                src_re, src_im, d_re, d_im, phi, filt, aux, p0, plane, y, x, h, w, images,
            );
            re[t] = a;
            im[t] = b;
        }
        t += threads;
    }
    sync_cube();

    let mut cur = plane_stages(
        &mut re, &mut im, 0, h, w, words, dr, dc, table, dir, cap, threads,
    );

    if comptime![finish == FINISH_MODULUS_ADJOINT] {
        modulus_adjoint_shared(&mut re, &mut im, cur, u_re, u_im, plane, len, threads);
        cur = plane_stages(
            &mut re, &mut im, cur, h, w, words, dr, dc, table, 1.0, cap, threads,
        );
    }

    if comptime![finish == FINISH_PAD_ADJOINT] {
        let t0 = pad0 as usize;
        store_pad_adjoint(
            &re, cur, h, w, aux, t0, p1, p2, scales, out_re, plane, threads,
        );
    } else {
        let base = out_offset as usize + plane * len;
        store_shared(&re, &im, cur, out_re, out_im, base, len, threads);
    }
}
