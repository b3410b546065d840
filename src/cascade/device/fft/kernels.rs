//! CubeCL kernels of the batched mixed-radix FFT (the algorithm and the tables they read are in
//! [`super::planner`], the stages in [`super::stages`]).
//!
//! - [`fft_plane()`]: one cube per plane, the whole `h × w` plane in shared memory; the row stages,
//!   then the column stages, in one launch (small planes: `16·h·w` bytes of shared memory).
//! - [`fft_lines()`]: `G` lines per cube (rows, or `G` adjacent columns so that loads coalesce),
//!   all the stages of a line in shared memory, Bluestein included; one launch per pass for
//!   planes too large for shared memory.
//!
//! Both transform every plane of a batch in one launch (the cube count covers the planes).

use cubecl::prelude::*;

use super::planner::desc;
use super::stages::{cmul, plane_stages, run_stages, twiddle};

/// Where the lines of one [`fft_lines()`] cube live: line `g` of the cube is line `first + g` of
/// the batch, `(l / per_plane, l mod per_plane)`, element `i` at
/// `plane·plane_len + (l mod per_plane)·line_step + i·elem_step`.
#[derive(CubeType)]
struct Lines {
    first: usize,
    count: usize,
    per_plane: usize,
    plane_len: usize,
    line_step: usize,
    elem_step: usize,
}

/// `(g, i)` of the `t`-th value of a cube's lines of `len` values: line-major for rows, so that
/// consecutive units read consecutive elements of a line; element-major for columns, so that
/// they read adjacent columns.
#[cube]
fn line_position(lines: &Lines, t: usize, len: usize) -> (usize, usize) {
    let mut g = t / len;
    let mut i = t - g * len;
    if lines.elem_step != 1 {
        i = t / lines.count;
        g = t - i * lines.count;
    }
    (g, i)
}

/// The global index of element `i` of line `g` of the cube.
#[cube]
fn line_index(lines: &Lines, g: usize, i: usize) -> usize {
    let l = lines.first + g;
    let plane = l / lines.per_plane;
    plane * lines.plane_len + (l - plane * lines.per_plane) * lines.line_step + i * lines.elem_step
}

/// The `line`'s descriptor as a cube reads it: length `n`, work length, Bluestein or not, chirp
/// offset, direction.
#[derive(CubeType)]
struct LineDesc {
    n: usize,
    work: usize,
    bluestein: bool,
    chirp: usize,
    dir: f32,
}

/// `v·chirp[i]` (direction `dir`) for Bluestein, `v` otherwise.
#[cube]
fn chirped(table: &[f32], d: &LineDesc, i: usize, v_re: f32, v_im: f32) -> (f32, f32) {
    let mut out_re = v_re;
    let mut out_im = v_im;
    if d.bluestein {
        let (c_re, c_im) = twiddle(table, d.chirp, i, d.dir);
        let (p_re, p_im) = cmul(v_re, v_im, c_re, c_im);
        out_re = p_re;
        out_im = p_im;
    }
    (out_re, out_im)
}

/// Loads the cube's lines into shared memory, zero-padded to the work length (times the chirp
/// for Bluestein); ends with a barrier.
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_lines(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    in_re: &[f32],
    in_im: &[f32],
    table: &[f32],
    lines: &Lines,
    d: &LineDesc,
    #[comptime] threads: usize,
) {
    let total = lines.count * d.work;
    let mut t = UNIT_POS as usize;
    while t < total {
        let (g, i) = line_position(lines, t, d.work);
        let mut v_re = 0.0f32;
        let mut v_im = 0.0f32;
        if i < d.n {
            let at = line_index(lines, g, i);
            let (a, b) = chirped(table, d, i, in_re[at], in_im[at]);
            v_re = a;
            v_im = b;
        }
        re[g * d.work + i] = v_re;
        im[g * d.work + i] = v_im;
        t += threads;
    }
    sync_cube();
}

/// Bluestein's product of the forward transforms at `cur` with the chirp filter's spectrum (at
/// `filter` of `table`, conjugated for the inverse); ends with a barrier.
#[cube]
#[allow(clippy::too_many_arguments)]
fn filter_product(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    cur: usize,
    table: &[f32],
    filter: usize,
    lines: &Lines,
    d: &LineDesc,
    #[comptime] threads: usize,
) {
    let total = lines.count * d.work;
    let mut t = UNIT_POS as usize;
    while t < total {
        let g = t / d.work;
        let i = t - g * d.work;
        let at = cur + t;
        let (f_re, f_im) = twiddle(table, filter, i, d.dir);
        let (p_re, p_im) = cmul(re[at], im[at], f_re, f_im);
        re[at] = p_re;
        im[at] = p_im;
        t += threads;
    }
    sync_cube();
}

/// Stores the first `n` values of each line at `cur` (times the chirp for Bluestein), the output
/// shifted by `out_offset` values.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_lines(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    cur: usize,
    out_re: &mut [f32],
    out_im: &mut [f32],
    out_offset: usize,
    table: &[f32],
    lines: &Lines,
    d: &LineDesc,
    #[comptime] threads: usize,
) {
    let total = lines.count * d.n;
    let mut t = UNIT_POS as usize;
    while t < total {
        let (g, i) = line_position(lines, t, d.n);
        let at = cur + g * d.work + i;
        let (v_re, v_im) = chirped(table, d, i, re[at], im[at]);
        let o = out_offset + line_index(lines, g, i);
        out_re[o] = v_re;
        out_im[o] = v_im;
        t += threads;
    }
}

/// Batched 1-D FFT of `num_lines` lines, `G = lines_per_cube` lines per cube.
///
/// Line `l` is `(l / lines_per_plane, l mod lines_per_plane)`: element `i` sits at
/// `plane·plane_len + (l mod lines_per_plane)·line_step + i·elem_step` in the input and output
/// buffers (rows of `[planes, h, w]`: `line_step = w`, `elem_step = 1`; columns: `line_step = 1`,
/// `elem_step = w`), the output shifted by `out_offset` values. Forward for `dir = 1`, inverse
/// (unnormalised) for `dir = −1`. Handles both descriptor kinds (mixed radix and Bluestein:
/// chirp on load, forward stages, product with the filter spectrum, inverse stages, chirp on
/// store); `cap ≥ G·work` complex values.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn fft_lines(
    in_re: &[f32],
    in_im: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    words: &[u32],
    table: &[f32],
    desc_offset: u32,
    num_lines: u32,
    lines_per_plane: u32,
    plane_len: u32,
    line_step: u32,
    elem_step: u32,
    dir: f32,
    lines_per_cube: u32,
    out_offset: u32,
    #[comptime] cap: usize,
    #[comptime] threads: usize,
) {
    let lines_per_cube = lines_per_cube as usize;
    let first = CUBE_POS * lines_per_cube;
    let num_lines = num_lines as usize;
    if first >= num_lines {
        terminate!();
    }
    let mut re = Shared::new_slice(comptime!(2 * cap));
    let mut im = Shared::new_slice(comptime!(2 * cap));
    let dd = desc_offset as usize;
    let d = LineDesc {
        n: words[dd + desc::N] as usize,
        work: words[dd + desc::WORK] as usize,
        bluestein: words[dd + desc::KIND] == desc::KIND_BLUESTEIN,
        chirp: words[dd + desc::CHIRP] as usize,
        dir,
    };
    let mut count = num_lines - first;
    if count > lines_per_cube {
        count = lines_per_cube;
    }
    let lines = Lines {
        first,
        count,
        per_plane: lines_per_plane as usize,
        plane_len: plane_len as usize,
        line_step: line_step as usize,
        elem_step: elem_step as usize,
    };
    load_lines(&mut re, &mut im, in_re, in_im, table, &lines, &d, threads);
    let mut cur = 0usize;
    if d.bluestein {
        cur = run_stages(
            &mut re, &mut im, cur, count, d.work, 1, words, dd, table, 1.0, cap, threads,
        );
        let filter = words[dd + desc::FILTER] as usize;
        filter_product(&mut re, &mut im, cur, table, filter, &lines, &d, threads);
        cur = run_stages(
            &mut re, &mut im, cur, count, d.work, 1, words, dd, table, -1.0, cap, threads,
        );
    } else {
        cur = run_stages(
            &mut re, &mut im, cur, count, d.work, 1, words, dd, table, dir, cap, threads,
        );
    }
    let offset = out_offset as usize;
    store_lines(
        &mut re, &mut im, cur, out_re, out_im, offset, table, &lines, &d, threads,
    );
}

/// Batched 2-D FFT with the whole `h × w` plane of each cube in shared memory: rows (descriptor
/// `desc_rows`, length `w`), then columns (`desc_cols`, length `h`), both mixed radix. One cube
/// per plane; `cap ≥ h·w`; the output starts `out_offset` values into `out_re`, `out_im`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn fft_plane(
    in_re: &[f32],
    in_im: &[f32],
    out_re: &mut [f32],
    out_im: &mut [f32],
    words: &[u32],
    table: &[f32],
    desc_rows: u32,
    desc_cols: u32,
    num_planes: u32,
    dir: f32,
    out_offset: u32,
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
    let base = plane * len;
    let mut t = UNIT_POS as usize;
    while t < len {
        re[t] = in_re[base + t];
        im[t] = in_im[base + t];
        t += threads;
    }
    sync_cube();
    let cur = plane_stages(
        &mut re, &mut im, 0, h, w, words, dr, dc, table, dir, cap, threads,
    );
    let out_base = out_offset as usize + base;
    let mut t = UNIT_POS as usize;
    while t < len {
        out_re[out_base + t] = re[cur + t];
        out_im[out_base + t] = im[cur + t];
        t += threads;
    }
}
