//! CubeCL kernels of the Morlet filter construction (`filters::spectral::morlet_spectrum`) and its
//! vector–Jacobian product (`morlet_spectrum_vjp`), for every wavelet of a bank in one launch.
//! Host side (tables, launches): [`super::DeviceSpectra`].
//!
//! Each wavelet `n` has two Gabor forms, the carrier `C` (`f = 2n`, its `ξ`) and the envelope
//! `E` (`f = 2n + 1`, `ξ = 0`); `ψ̂ = c·(ΣC − κ·ΣE)` with `c = π/3.1415` and `κ = C(0)/E(0)`
//! (computed on the host in f64). A form's alias sum at `(k, l)` adds `exp(−E)`,
//! `E = α·u² + β·v²`, `u = d_r·cos θ + d_c·sin θ`, `v = −d_r·sin θ + d_c·cos θ`, over the row
//! windows of `GaborForm::row_windows` (the row aliases `a` whose terms can exceed `e^−51`, with
//! the interval of column frequencies where they can) and the column aliases `b` of each window,
//! skipping `E ≥ 50` as the host does (`NEGLIGIBLE_EXPONENT`): the same terms as the host's sums,
//! in the same order. The offsets from the wave vector `d_r = ω_k + 2πa − ξ·cos θ` and
//! `d_c = ω_l + 2πb − ξ·sin θ` are tabulated on the host in `f64` and rounded once, so that `u`
//! and `v` carry a rounding relative to `|d|`, not to `|ω| ≈ π` (which would cost ~1e-5 of the
//! peak for wide wavelets, `σ ≥ 6`).
//!
//! Tables ([`form`] gives the record's layout): `words[f·form::WORDS..]` is form `f`'s record,
//! `words[ROW_START + k..=ROW_START + k + 1]` the range of its windows on row `k`,
//! `floats[WINDOWS + 3w..+3] = [d_r, lo, hi]` window `w`, `floats[COLS + l·(2A + 1) + b + A] =
//! d_c`, `floats[PARAMS..+7] = [α, β, cos θ, sin θ, ξ, σ, slant]`; `floats[5n..5n + 5] =
//! [κ, q_σ, q_ξ, q_θ, q_slant]` with `q = (∂C(0) − κ·∂E(0))/E(0)`; `omega = [ω_k (h)][ω_l (w)]`.

use cubecl::prelude::*;

use crate::cascade::device::kernels::position;

/// `π/3.1415` (kymatio's normalisation, [`crate::filters::KYMATIO_NORM_PI`]).
pub const NORM: f32 = (std::f64::consts::PI / crate::filters::KYMATIO_NORM_PI) as f32;

/// Layout of a form's record in the `u32` table.
pub mod form {
    /// Words per record.
    pub const WORDS: usize = 5;
    /// Word offset of the form's `h + 1` window starts, one per row and the end.
    pub const ROW_START: usize = 0;
    /// Float offset of its windows `[d_r, lo, hi]`.
    pub const WINDOWS: usize = 1;
    /// Float offset of its column offsets `d_c`, `2A + 1` per column.
    pub const COLS: usize = 2;
    /// Float offset of its parameters `[α, β, cos θ, sin θ, ξ, σ, slant]`.
    pub const PARAMS: usize = 3;
    /// Its alias radius `A`.
    pub const RADIUS: usize = 4;
    /// Floats of the parameters.
    pub const PARAM_FLOATS: usize = 7;
}
/// Floats per wavelet's constants (`κ`, `q`).
pub const WAVELET_CONSTS: usize = 5;
/// Values each VJP cube reduces: `Σ ḡ·∂C/∂(σ, ξ, θ, slant)`, `Σ ḡ·∂E/∂(σ, θ, slant)`, `Σ ḡ·E`.
pub const VJP_SUMS: usize = 8;

/// `1/(2π)`, from a column frequency to its alias index.
const INV_TWO_PI: f32 = (0.5 / std::f64::consts::PI) as f32;

/// Terms with an exponent at or above this are skipped, as on the host.
const NEGLIGIBLE_EXPONENT: f32 = crate::filters::spectral::NEGLIGIBLE_EXPONENT as f32;

/// The alias sums of form `f` at `(k, l)` (`w` columns): `(Σg, Σg·E, Σg·u, Σg·v·(αu − β(u + ξ)),
/// Σg·v²)`, `g = exp(−E)`; the last four only with `derivatives`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn alias_sums(
    floats: &[f32],
    words: &[u32],
    omega: &[f32],
    f: usize,
    k: usize,
    l: usize,
    h: usize,
    #[comptime] derivatives: bool,
) -> (f32, f32, f32, f32, f32) {
    let rec = f * form::WORDS;
    let row_start = words[rec + form::ROW_START] as usize;
    let windows = words[rec + form::WINDOWS] as usize;
    let cols = words[rec + form::COLS] as usize;
    let par = words[rec + form::PARAMS] as usize;
    let radius = words[rec + form::RADIUS] as usize;
    let alpha = floats[par];
    let beta = floats[par + 1];
    let cos_t = floats[par + 2];
    let sin_t = floats[par + 3];
    let xi = floats[par + 4];
    let span = 2 * radius + 1;
    let wc = omega[h + l];
    let radius_f = f32::cast_from(radius);
    let mut sum = 0.0f32;
    let mut e_sum = 0.0f32;
    let mut u_sum = 0.0f32;
    let mut t_sum = 0.0f32;
    let mut v2_sum = 0.0f32;
    for win in words[row_start + k] as usize..words[row_start + k + 1] as usize {
        let r = windows + 3 * win;
        let d_row = floats[r];
        let lo = floats[r + 1];
        let hi = floats[r + 2];
        let mut first = ((lo - wc) * INV_TWO_PI).ceil();
        let mut last = ((hi - wc) * INV_TWO_PI).floor();
        if first < 0.0 - radius_f {
            first = 0.0 - radius_f;
        }
        if first > radius_f + 1.0 {
            first = radius_f + 1.0;
        }
        if last > radius_f {
            last = radius_f;
        }
        if last < 0.0 - radius_f - 1.0 {
            last = 0.0 - radius_f - 1.0;
        }
        // Column aliases as offsets from −A: b + A in [b0, b1].
        let b0 = i32::cast_from(first + radius_f);
        let b1 = i32::cast_from(last + radius_f);
        let mut b = b0;
        while b <= b1 {
            let d_col = floats[cols + l * span + usize::cast_from(b)];
            let u = d_row * cos_t + d_col * sin_t;
            let v = d_col * cos_t - d_row * sin_t;
            let e = alpha * u * u + beta * v * v;
            if e < NEGLIGIBLE_EXPONENT {
                let g = (0.0 - e).exp();
                sum += g;
                if comptime![derivatives] {
                    e_sum += g * e;
                    u_sum += g * u;
                    t_sum += g * v * (alpha * u - beta * (u + xi));
                    v2_sum += g * v * v;
                }
            }
            b += 1;
        }
    }
    (sum, e_sum, u_sum, t_sum, v2_sum)
}

/// `out[n, k, l] = c·(ΣC − κ_n·ΣE)` for `total = n·h·w` values: every wavelet in one launch.
#[cube(launch)]
pub fn morlet_spectra(
    floats: &[f32],
    words: &[u32],
    omega: &[f32],
    out: &mut [f32],
    h: u32,
    w: u32,
    total: u32,
) {
    let idx = position();
    if idx >= total as usize {
        terminate!();
    }
    let (h, w) = (h as usize, w as usize);
    let n = idx / (h * w);
    let o = idx - n * h * w;
    let k = o / w;
    let l = o - k * w;
    let (c, _, _, _, _) = alias_sums(floats, words, omega, 2 * n, k, l, h, false);
    let (e, _, _, _, _) = alias_sums(floats, words, omega, 2 * n + 1, k, l, h, false);
    let kappa = floats[n * WAVELET_CONSTS];
    out[idx] = NORM * (c - kappa * e);
}

/// First pass of the VJP: cube `n·blocks + b` reduces, over positions `b·threads..` of wavelet
/// `n`'s grid, the [`VJP_SUMS`] sums of `cot·∂ψ̂-parts` (fixed-order tree in shared memory) into
/// `partial[(n·blocks + b)·8..]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub fn morlet_vjp_partial(
    floats: &[f32],
    words: &[u32],
    omega: &[f32],
    cot: &[f32],
    partial: &mut [f32],
    h: u32,
    w: u32,
    blocks: u32,
    num_cubes: u32,
    #[comptime] threads: usize,
) {
    let cube = CUBE_POS;
    if cube >= num_cubes as usize {
        terminate!();
    }
    let mut sh = Shared::new_slice(comptime!(VJP_SUMS * threads));
    let (h, w) = (h as usize, w as usize);
    let blocks = blocks as usize;
    let n = cube / blocks;
    let b = cube - n * blocks;
    let u = UNIT_POS as usize;
    let pos = b * threads + u;
    let mut v0 = 0.0f32;
    let mut v1 = 0.0f32;
    let mut v2 = 0.0f32;
    let mut v3 = 0.0f32;
    let mut v4 = 0.0f32;
    let mut v5 = 0.0f32;
    let mut v6 = 0.0f32;
    let mut v7 = 0.0f32;
    if pos < h * w {
        let k = pos / w;
        let l = pos - k * w;
        let g = cot[n * h * w + pos];
        let cp = words[2 * n * form::WORDS + form::PARAMS] as usize;
        let alpha = floats[cp];
        let beta = floats[cp + 1];
        let sigma = floats[cp + 5];
        let slant = floats[cp + 6];
        let (_c, ce, cu, ct, cv) = alias_sums(floats, words, omega, 2 * n, k, l, h, true);
        let (e, ee, _eu, et, ev) = alias_sums(floats, words, omega, 2 * n + 1, k, l, h, true);
        let gn = g * NORM;
        v0 = gn * (0.0 - 2.0 * ce / sigma);
        v1 = gn * (2.0 * alpha * cu);
        v2 = gn * (0.0 - 2.0 * ct);
        v3 = gn * (2.0 * beta * cv / slant);
        v4 = gn * (0.0 - 2.0 * ee / sigma);
        v5 = gn * (0.0 - 2.0 * et);
        v6 = gn * (2.0 * beta * ev / slant);
        v7 = gn * e;
    }
    sh[u] = v0;
    sh[threads + u] = v1;
    sh[2 * threads + u] = v2;
    sh[3 * threads + u] = v3;
    sh[4 * threads + u] = v4;
    sh[5 * threads + u] = v5;
    sh[6 * threads + u] = v6;
    sh[7 * threads + u] = v7;
    sync_cube();
    let mut s = CUBE_DIM as usize / 2;
    while s > 0 {
        if u < s {
            for i in 0..VJP_SUMS {
                let other = sh[i * threads + u + s];
                let mine = sh[i * threads + u];
                sh[i * threads + u] = mine + other;
            }
        }
        sync_cube();
        s /= 2;
    }
    if u < VJP_SUMS {
        partial[cube * VJP_SUMS + u] = sh[u * threads];
    }
}

/// Second pass: for wavelet `n` and parameter `i` (`σ, ξ, θ, slant`), the blocks' sums in order,
/// then `out[i·count + n] = Σ ḡ∂C_i − κ·Σ ḡ∂E_i − Σ ḡE·q_i` (`∂E/∂ξ = 0`).
#[cube(launch)]
pub fn morlet_vjp_finish(
    floats: &[f32],
    partial: &[f32],
    out: &mut [f32],
    count: u32,
    blocks: u32,
) {
    let idx = position();
    let count = count as usize;
    if idx >= 4 * count {
        terminate!();
    }
    let i = idx / count;
    let n = idx - i * count;
    let blocks = blocks as usize;
    let mut env_index = 4usize;
    if i == 2 {
        env_index = 5;
    }
    if i == 3 {
        env_index = 6;
    }
    let mut gc = 0.0f32;
    let mut ge = 0.0f32;
    let mut genv = 0.0f32;
    for b in 0..blocks {
        let at = (n * blocks + b) * VJP_SUMS;
        gc += partial[at + i];
        if i != 1 {
            ge += partial[at + env_index];
        }
        genv += partial[at + 7];
    }
    let kappa = floats[n * WAVELET_CONSTS];
    let q = floats[n * WAVELET_CONSTS + 1 + i];
    out[i * count + n] = gc - kappa * ge - genv * q;
}
