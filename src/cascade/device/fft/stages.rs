//! The Stockham stages of the device FFT in shared memory (the algorithm and the tables they
//! read are in [`super::planner`]): one butterfly per radix (2, 3, 4, 5 in closed form; 7, 11, 13
//! as a direct DFT), a stage over every line of a cube ([`radix_pass()`]), every stage of a
//! descriptor ([`run_stages()`]) and the 2-D transform of a plane ([`plane_stages()`]).
//!
//! Shared memory holds two buffers (ping-pong between stages) of real and imaginary parts; `cap`
//! (comptime) is the size of one buffer in complex values. [`run_stages()`] and [`plane_stages()`]
//! serve the FFT's kernels ([`super::kernels`]) and the fused kernels of the cascade
//! (`super::super::kernels`), so a fused step and its unfused kernels transform with the same
//! arithmetic.

use cubecl::prelude::*;

use super::planner::{COS_72, COS_144, SIN_60, SIN_72, SIN_144, desc};

/// `(a_re + i·a_im)·(b_re + i·b_im)`.
#[cube]
pub(crate) fn cmul(a_re: f32, a_im: f32, b_re: f32, b_im: f32) -> (f32, f32) {
    (a_re * b_re - a_im * b_im, a_re * b_im + a_im * b_re)
}

/// Entry `t` of the complex table at `tw` (twiddles `e^{−2πi t/L}`, chirps, filter spectra),
/// conjugated if `dir = −1`.
#[cube]
pub(crate) fn twiddle(table: &[f32], tw: usize, t: usize, dir: f32) -> (f32, f32) {
    let k = 2 * (tw + t);
    (table[k], table[k + 1] * dir)
}

/// Input `q` of butterfly `j` (`src[j + q·n/R]`, at `sb + (j + q·stride)·elem_stride`) times its
/// twiddle `W^{q·k·step}`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn twiddled(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    at: usize,
    q: usize,
    k: usize,
    step: usize,
    table: &[f32],
    tw: usize,
    dir: f32,
) -> (f32, f32) {
    let (w_re, w_im) = twiddle(table, tw, q * k * step, dir);
    cmul(re[at], im[at], w_re, w_im)
}

/// Where butterfly `j` of a stage reads and writes: input `q` at `sb + (j + q·stride)·es`,
/// output `q` at `db + (out + q·ns)·es`.
#[derive(CubeType)]
struct Butterfly {
    sb: usize,
    db: usize,
    j: usize,
    k: usize,
    out: usize,
    stride: usize,
    step: usize,
    ns: usize,
    es: usize,
}

/// Radix 2.
#[cube]
fn butterfly_2(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    b: &Butterfly,
    table: &[f32],
    tw: usize,
    dir: f32,
) {
    let i0 = b.sb + b.j * b.es;
    let i1 = b.sb + (b.j + b.stride) * b.es;
    let (b_re, b_im) = twiddled(re, im, i1, 1, b.k, b.step, table, tw, dir);
    let (a_re, a_im) = (re[i0], im[i0]);
    let o0 = b.db + b.out * b.es;
    let o1 = b.db + (b.out + b.ns) * b.es;
    re[o0] = a_re + b_re;
    im[o0] = a_im + b_im;
    re[o1] = a_re - b_re;
    im[o1] = a_im - b_im;
}

/// Radix 3: `W_3 = −1/2 + s·i·sin(π/3)` with `s = −dir`.
#[cube]
fn butterfly_3(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    b: &Butterfly,
    table: &[f32],
    tw: usize,
    dir: f32,
) {
    let s = 0.0 - dir;
    let i0 = b.sb + b.j * b.es;
    let (a_re, a_im) = (re[i0], im[i0]);
    let i1 = b.sb + (b.j + b.stride) * b.es;
    let (b_re, b_im) = twiddled(re, im, i1, 1, b.k, b.step, table, tw, dir);
    let i2 = b.sb + (b.j + 2 * b.stride) * b.es;
    let (c_re, c_im) = twiddled(re, im, i2, 2, b.k, b.step, table, tw, dir);
    let t_re = b_re + c_re;
    let t_im = b_im + c_im;
    // u = s·i·(b − c)·sin 60°
    let u_re = (c_im - b_im) * s * SIN_60;
    let u_im = (b_re - c_re) * s * SIN_60;
    let m_re = a_re - t_re * 0.5;
    let m_im = a_im - t_im * 0.5;
    let o0 = b.db + b.out * b.es;
    let o1 = b.db + (b.out + b.ns) * b.es;
    let o2 = b.db + (b.out + 2 * b.ns) * b.es;
    re[o0] = a_re + t_re;
    im[o0] = a_im + t_im;
    re[o1] = m_re + u_re;
    im[o1] = m_im + u_im;
    re[o2] = m_re - u_re;
    im[o2] = m_im - u_im;
}

/// Radix 4: `W_4 = s·i` with `s = −dir`.
#[cube]
fn butterfly_4(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    b: &Butterfly,
    table: &[f32],
    tw: usize,
    dir: f32,
) {
    let s = 0.0 - dir;
    let i0 = b.sb + b.j * b.es;
    let (a_re, a_im) = (re[i0], im[i0]);
    let i1 = b.sb + (b.j + b.stride) * b.es;
    let (b_re, b_im) = twiddled(re, im, i1, 1, b.k, b.step, table, tw, dir);
    let i2 = b.sb + (b.j + 2 * b.stride) * b.es;
    let (c_re, c_im) = twiddled(re, im, i2, 2, b.k, b.step, table, tw, dir);
    let i3 = b.sb + (b.j + 3 * b.stride) * b.es;
    let (d_re, d_im) = twiddled(re, im, i3, 3, b.k, b.step, table, tw, dir);
    let t0_re = a_re + c_re;
    let t0_im = a_im + c_im;
    let t1_re = a_re - c_re;
    let t1_im = a_im - c_im;
    let t2_re = b_re + d_re;
    let t2_im = b_im + d_im;
    // t3 = s·i·(b − d)
    let t3_re = (d_im - b_im) * s;
    let t3_im = (b_re - d_re) * s;
    let o0 = b.db + b.out * b.es;
    let o1 = b.db + (b.out + b.ns) * b.es;
    let o2 = b.db + (b.out + 2 * b.ns) * b.es;
    let o3 = b.db + (b.out + 3 * b.ns) * b.es;
    re[o0] = t0_re + t2_re;
    im[o0] = t0_im + t2_im;
    re[o1] = t1_re + t3_re;
    im[o1] = t1_im + t3_im;
    re[o2] = t0_re - t2_re;
    im[o2] = t0_im - t2_im;
    re[o3] = t1_re - t3_re;
    im[o3] = t1_im - t3_im;
}

/// Radix 5, with the real and imaginary parts of `W_5` and `W_5²` (`s = −dir`).
#[cube]
fn butterfly_5(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    b: &Butterfly,
    table: &[f32],
    tw: usize,
    dir: f32,
) {
    let s = 0.0 - dir;
    let i0 = b.sb + b.j * b.es;
    let (a_re, a_im) = (re[i0], im[i0]);
    let i1 = b.sb + (b.j + b.stride) * b.es;
    let (b_re, b_im) = twiddled(re, im, i1, 1, b.k, b.step, table, tw, dir);
    let i2 = b.sb + (b.j + 2 * b.stride) * b.es;
    let (c_re, c_im) = twiddled(re, im, i2, 2, b.k, b.step, table, tw, dir);
    let i3 = b.sb + (b.j + 3 * b.stride) * b.es;
    let (d_re, d_im) = twiddled(re, im, i3, 3, b.k, b.step, table, tw, dir);
    let i4 = b.sb + (b.j + 4 * b.stride) * b.es;
    let (e_re, e_im) = twiddled(re, im, i4, 4, b.k, b.step, table, tw, dir);
    let t1_re = b_re + e_re;
    let t1_im = b_im + e_im;
    let t2_re = c_re + d_re;
    let t2_im = c_im + d_im;
    let u1_re = b_re - e_re;
    let u1_im = b_im - e_im;
    let u2_re = c_re - d_re;
    let u2_im = c_im - d_im;
    let m1_re = a_re + t1_re * COS_72 + t2_re * COS_144;
    let m1_im = a_im + t1_im * COS_72 + t2_im * COS_144;
    let m2_re = a_re + t1_re * COS_144 + t2_re * COS_72;
    let m2_im = a_im + t1_im * COS_144 + t2_im * COS_72;
    // v1 = s·i·(u1·sin 72° + u2·sin 144°), v2 = s·i·(u1·sin 144° − u2·sin 72°)
    let p1_re = u1_re * SIN_72 + u2_re * SIN_144;
    let p1_im = u1_im * SIN_72 + u2_im * SIN_144;
    let p2_re = u1_re * SIN_144 - u2_re * SIN_72;
    let p2_im = u1_im * SIN_144 - u2_im * SIN_72;
    let v1_re = (0.0 - p1_im) * s;
    let v1_im = p1_re * s;
    let v2_re = (0.0 - p2_im) * s;
    let v2_im = p2_re * s;
    let o0 = b.db + b.out * b.es;
    let o1 = b.db + (b.out + b.ns) * b.es;
    let o2 = b.db + (b.out + 2 * b.ns) * b.es;
    let o3 = b.db + (b.out + 3 * b.ns) * b.es;
    let o4 = b.db + (b.out + 4 * b.ns) * b.es;
    re[o0] = a_re + t1_re + t2_re;
    im[o0] = a_im + t1_im + t2_im;
    re[o1] = m1_re + v1_re;
    im[o1] = m1_im + v1_im;
    re[o2] = m2_re + v2_re;
    im[o2] = m2_im + v2_im;
    re[o3] = m2_re - v2_re;
    im[o3] = m2_im - v2_im;
    re[o4] = m1_re - v1_re;
    im[o4] = m1_im - v1_im;
}

/// A direct DFT of odd radix `r` (7, 11, 13): output `q` is `Σ_kk x[j + kk·n/r]·W_n^{kk·p·step}`,
/// `p = k + q·ns` (the twiddle and the DFT root in one look-up).
#[cube]
#[allow(clippy::too_many_arguments)]
fn butterfly_direct(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    b: &Butterfly,
    n: usize,
    r: usize,
    table: &[f32],
    tw: usize,
    dir: f32,
) {
    for q in 0..r {
        let p = b.k + q * b.ns;
        let mut acc_re = 0.0f32;
        let mut acc_im = 0.0f32;
        for kk in 0..r {
            let i = b.sb + (b.j + kk * b.stride) * b.es;
            let (w_re, w_im) = twiddle(table, tw, (kk * p * b.step) % n, dir);
            let (v_re, v_im) = cmul(re[i], im[i], w_re, w_im);
            acc_re += v_re;
            acc_im += v_im;
        }
        let o = b.db + (b.out + q * b.ns) * b.es;
        re[o] = acc_re;
        im[o] = acc_im;
    }
}

/// One Stockham stage of radix `r` (earlier radices' product `ns`) over `lines` lines of `n`
/// values in shared memory: element `i` of line `l` of the source buffer is at
/// `src + l·line_stride + i·elem_stride`, likewise in the destination buffer at `dst`. The
/// butterflies are spread over the cube's `threads` units. Butterfly `j` reads `src[j + q·n/r]`,
/// twiddles input `q` by `W_{ns·r}^{q·(j mod ns)}` and writes output `q` at
/// `(j / ns)·ns·r + j mod ns + q·ns`: the result comes out in natural order.
#[cube]
#[allow(clippy::too_many_arguments)]
fn radix_pass(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    src: usize,
    dst: usize,
    lines: usize,
    line_stride: usize,
    elem_stride: usize,
    n: usize,
    r: usize,
    ns: usize,
    table: &[f32],
    tw: usize,
    dir: f32,
    #[comptime] threads: usize,
) {
    let stride = n / r;
    let step = n / (ns * r);
    let total = lines * stride;
    let mut t = UNIT_POS as usize;
    while t < total {
        let line = t / stride;
        let j = t - line * stride;
        let k = j % ns;
        let b = Butterfly {
            sb: src + line * line_stride,
            db: dst + line * line_stride,
            j,
            k,
            out: (j / ns) * ns * r + k,
            stride,
            step,
            ns,
            es: elem_stride,
        };
        if r == 2 {
            butterfly_2(re, im, &b, table, tw, dir);
        } else if r == 4 {
            butterfly_4(re, im, &b, table, tw, dir);
        } else if r == 3 {
            butterfly_3(re, im, &b, table, tw, dir);
        } else if r == 5 {
            butterfly_5(re, im, &b, table, tw, dir);
        } else {
            butterfly_direct(re, im, &b, n, r, table, tw, dir);
        }
        t += threads;
    }
}

/// All the stages of the (inner) mixed-radix transform of the descriptor at `d`, over `lines`
/// lines in shared memory, starting in the buffer at offset `cur` (0 or `cap`); returns the
/// offset of the buffer holding the result. Ends with a barrier.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_stages(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    cur: usize,
    lines: usize,
    line_stride: usize,
    elem_stride: usize,
    words: &[u32],
    d: usize,
    table: &[f32],
    dir: f32,
    #[comptime] cap: usize,
    #[comptime] threads: usize,
) -> usize {
    let n = words[d + desc::WORK] as usize;
    let stages = words[d + desc::STAGES] as usize;
    let tw = words[d + desc::TWIDDLES] as usize;
    let mut src = cur;
    for s in 0..stages {
        let r = words[d + desc::STAGE0 + 2 * s] as usize;
        let ns = words[d + desc::STAGE0 + 2 * s + 1] as usize;
        let dst = cap - src;
        radix_pass(
            re,
            im,
            src,
            dst,
            lines,
            line_stride,
            elem_stride,
            n,
            r,
            ns,
            table,
            tw,
            dir,
            threads,
        );
        sync_cube();
        src = dst;
    }
    src
}

/// The 2-D transform of the `h × w` plane in shared memory at `cur` (rows with the descriptor
/// `dr`, length `w`; then columns with `dc`, length `h`); returns the offset of the result.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn plane_stages(
    re: &mut Shared<[f32]>,
    im: &mut Shared<[f32]>,
    cur: usize,
    h: usize,
    w: usize,
    words: &[u32],
    dr: usize,
    dc: usize,
    table: &[f32],
    dir: f32,
    #[comptime] cap: usize,
    #[comptime] threads: usize,
) -> usize {
    let c = run_stages(re, im, cur, h, w, 1, words, dr, table, dir, cap, threads);
    run_stages(re, im, c, w, 1, w, words, dc, table, dir, cap, threads)
}
