//! The kernels' algorithm run on the CPU in `f32` on the uploaded tables (`simulate`), against
//! rustfft: the planner and the index arithmetic of `super::kernels`, tested without a device.

use num_complex::Complex;
use rustfft::FftPlanner;

use super::planner::{COS_72, COS_144, FftTables, SIN_60, SIN_72, SIN_144, desc};

/// Runs the kernels' algorithm on the CPU, in `f32`, on the uploaded tables: transforms `lines`
/// lines of length `n` in place (`line ℓ`, element `i` at `data[ℓ·line_stride + i·elem_stride]`),
/// forward (`inverse = false`) or inverse, unnormalised. A reference for the index arithmetic of
/// the GPU kernels (`super::kernels`), which follow it step by step.
fn simulate(
    tables: &FftTables,
    n: usize,
    inverse: bool,
    data: &mut [Complex<f32>],
    lines: usize,
    line_stride: usize,
    elem_stride: usize,
) {
    let d = tables.offset(n) as usize;
    let w = &tables.words;
    let work = w[d + desc::WORK] as usize;
    let bluestein = w[d + desc::KIND] == desc::KIND_BLUESTEIN;
    let dir = if inverse { -1.0f32 } else { 1.0 };
    let table = |off: u32, i: usize| {
        let k = 2 * (off as usize + i);
        Complex::new(tables.floats[k], tables.floats[k + 1])
    };
    // Direction applied to a stored (forward) table value: conjugate for the inverse.
    let directed = |c: Complex<f32>, dir: f32| Complex::new(c.re, c.im * dir);
    for line in 0..lines {
        // Shared memory: two buffers of `work` values (ping-pong).
        let mut buf = [
            vec![Complex::new(0.0f32, 0.0); work],
            vec![Complex::new(0.0f32, 0.0); work],
        ];
        for i in 0..work {
            buf[0][i] = if i < n {
                let x = data[line * line_stride + i * elem_stride];
                if bluestein {
                    x * directed(table(w[d + desc::CHIRP], i), dir)
                } else {
                    x
                }
            } else {
                Complex::new(0.0, 0.0)
            };
        }
        let mut cur = 0;
        let stages = |buf: &mut [Vec<Complex<f32>>; 2], cur: &mut usize, dir: f32| {
            for s in 0..w[d + desc::STAGES] as usize {
                let r = w[d + desc::STAGE0 + 2 * s] as usize;
                let ns = w[d + desc::STAGE0 + 2 * s + 1] as usize;
                let (a, b) = buf.split_at_mut(1);
                let (src, dst) = if *cur == 0 {
                    (&a[0], &mut b[0])
                } else {
                    (&b[0], &mut a[0])
                };
                for j in 0..work / r {
                    radix_butterfly(
                        src,
                        dst,
                        work,
                        r,
                        ns,
                        j,
                        |t| table(w[d + desc::TWIDDLES], t),
                        dir,
                    );
                }
                *cur = 1 - *cur;
            }
        };
        stages(&mut buf, &mut cur, if bluestein { 1.0 } else { dir });
        if bluestein {
            for (k, v) in buf[cur].iter_mut().enumerate() {
                *v *= directed(table(w[d + desc::FILTER], k), dir);
            }
            stages(&mut buf, &mut cur, -1.0);
        }
        for i in 0..n {
            let v = buf[cur][i];
            data[line * line_stride + i * elem_stride] = if bluestein {
                v * directed(table(w[d + desc::CHIRP], i), dir)
            } else {
                v
            };
        }
    }
}

/// One butterfly `j` of a Stockham stage of radix `r` over a line of `n` values: reads
/// `src[j + k·n/r]`, twiddles input `k` by `W_{Ns·r}^{k·(j mod Ns)}`, takes the DFT of length `r`
/// and writes output `q` to `dst[(j / Ns)·Ns·r + j mod Ns + q·Ns]`. `dir` is 1 (forward) or −1
/// (inverse: every root conjugated). `tw(t)` is `e^{−2πi t/n}`.
#[allow(clippy::too_many_arguments)]
fn radix_butterfly(
    src: &[Complex<f32>],
    dst: &mut [Complex<f32>],
    n: usize,
    r: usize,
    ns: usize,
    j: usize,
    tw: impl Fn(usize) -> Complex<f32>,
    dir: f32,
) {
    let stride = n / r;
    let k = j % ns;
    let out = (j / ns) * ns * r + k;
    let step = n / (ns * r);
    let root = |t: usize| {
        let c = tw(t);
        Complex::new(c.re, c.im * dir)
    };
    // s·i·z with s = −dir: the closed forms below take W_r = e^{s·2πi/r}.
    let s = -dir;
    let rot = |z: Complex<f32>| Complex::new(-z.im * s, z.re * s);
    let x = |q: usize| {
        let v = src[j + q * stride];
        if q == 0 { v } else { v * root(q * k * step) }
    };
    match r {
        2 => {
            let (a, b) = (x(0), x(1));
            dst[out] = a + b;
            dst[out + ns] = a - b;
        }
        3 => {
            let (a, b, c) = (x(0), x(1), x(2));
            let t = b + c;
            let u = rot(b - c) * SIN_60;
            let m = a - t * 0.5;
            dst[out] = a + t;
            dst[out + ns] = m + u;
            dst[out + 2 * ns] = m - u;
        }
        4 => {
            let (a, b, c, e) = (x(0), x(1), x(2), x(3));
            let (t0, t1, t2) = (a + c, a - c, b + e);
            let t3 = rot(b - e);
            dst[out] = t0 + t2;
            dst[out + ns] = t1 + t3;
            dst[out + 2 * ns] = t0 - t2;
            dst[out + 3 * ns] = t1 - t3;
        }
        5 => {
            let (a, b, c, d, e) = (x(0), x(1), x(2), x(3), x(4));
            let (t1, t2, u1, u2) = (b + e, c + d, b - e, c - d);
            let m1 = a + t1 * COS_72 + t2 * COS_144;
            let m2 = a + t1 * COS_144 + t2 * COS_72;
            let v1 = rot(u1 * SIN_72 + u2 * SIN_144);
            let v2 = rot(u1 * SIN_144 - u2 * SIN_72);
            dst[out] = a + t1 + t2;
            dst[out + ns] = m1 + v1;
            dst[out + 2 * ns] = m2 + v2;
            dst[out + 3 * ns] = m2 - v2;
            dst[out + 4 * ns] = m1 - v1;
        }
        _ => {
            // Direct DFT: output q is Σ_k src[j + k·n/r]·W_n^{k·p·step} with p = k + q·Ns its
            // position in the block of Ns·r (the twiddle and the DFT root in one look-up).
            for q in 0..r {
                let p = k + q * ns;
                let mut acc = Complex::new(0.0f32, 0.0);
                for kk in 0..r {
                    acc += src[j + kk * stride] * root((kk * p * step) % n);
                }
                dst[out + q * ns] = acc;
            }
        }
    }
}

fn signal(n: usize, seed: usize) -> Vec<Complex<f32>> {
    (0..n)
        .map(|i| {
            let t = (i * 31 + seed * 17) as f32;
            Complex::new((t * 0.37).sin(), (t * 0.11).cos() - 0.2)
        })
        .collect()
}

fn rel_l2(a: &[Complex<f32>], b: &[Complex<f32>]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm_sqr() as f64)
        .sum();
    let den: f64 = b.iter().map(|y| y.norm_sqr() as f64).sum();
    (num / den.max(1e-300)).sqrt()
}

fn check_len(tables: &FftTables, planner: &mut FftPlanner<f32>, n: usize) -> f64 {
    let mut worst = 0.0f64;
    for inverse in [false, true] {
        let lines = 2;
        let x: Vec<Complex<f32>> = (0..lines).flat_map(|l| signal(n, l)).collect();
        let mut want = x.clone();
        let plan = if inverse {
            planner.plan_fft_inverse(n)
        } else {
            planner.plan_fft_forward(n)
        };
        plan.process(&mut want);
        let mut got = x.clone();
        simulate(tables, n, inverse, &mut got, lines, n, 1);
        worst = worst.max(rel_l2(&got, &want));
        // The same lines as columns of an `n × lines` plane.
        let mut cols = vec![Complex::new(0.0, 0.0); n * lines];
        for l in 0..lines {
            for i in 0..n {
                cols[i * lines + l] = x[l * n + i];
            }
        }
        simulate(tables, n, inverse, &mut cols, lines, 1, lines);
        for l in 0..lines {
            for i in 0..n {
                assert_eq!(cols[i * lines + l], got[l * n + i], "n={n}");
            }
        }
    }
    worst
}

#[test]
fn simulation_matches_rustfft_for_every_length_up_to_300() {
    let tables = FftTables::new(1..=300);
    let mut planner = FftPlanner::new();
    let mut worst = (0.0, 0);
    for n in 1..=300 {
        let e = check_len(&tables, &mut planner, n);
        assert!(e <= 1e-5, "n={n}: relative L2 error {e:e}");
        if e > worst.0 {
            worst = (e, n);
        }
    }
    println!("worst relative L2 error {:.2e} at n = {}", worst.0, worst.1);
}

#[test]
fn simulation_of_large_primes_and_padded_lengths() {
    let lens = [293, 257, 331, 520, 1009, 264 * 2, 1024, 997];
    let tables = FftTables::new(lens);
    let mut planner = FftPlanner::new();
    for n in lens {
        let e = check_len(&tables, &mut planner, n);
        println!("n={n} {:?}: {e:.2e}", tables.plan(n).unwrap().algorithm);
        assert!(e <= 1e-5, "n={n}: relative L2 error {e:e}");
    }
}

#[test]
fn tables_share_twiddles_and_descriptors() {
    let mut t = FftTables::new([40, 40, 20]);
    let before = (t.floats.len(), t.words.len());
    assert_eq!(t.add(40), t.offset(40));
    assert_eq!((t.floats.len(), t.words.len()), before);
    assert_eq!(t.floats.len(), 2 * (40 + 20));
}
