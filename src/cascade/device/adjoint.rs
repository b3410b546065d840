//! The backward of [`DevicePlan::forward`]: the host's `super::super::adjoint` in `f32`, with
//! every `(plane, orientation, …)` of a stage in one launch. Unpacked (one orientation per
//! plane), so every `Z = F(|u|)` has a real `|u|` and `Ū = Re F^H(Z̄)`.
//!
//! From the output gradient `Ḡ` (`[P, K, ho, wo]`):
//!
//! ```text
//! E[p, c]   = F(embed(Ḡ[p, c]·2^e))                              every channel: one launch
//! Z̄2        = φ̃[j2]·tile(E[c2])                                 (gather)
//! d̄2        = F(Re(F^H Z̄2)·u2/|u2|)                               one launch per (j1, j2)
//! Z̄1        = φ̃[j1]·tile(E[c1]) + Σ_{j2, l2} ψ̃_{j2,l2}[j1]·tile(d̄2)   (gather)
//! d̄1        = F(Re(F^H Z̄1)·u1/|u1|)                               one launch per j1
//! X̄         = φ̃[0]·tile(E[0]) + Σ_{j1, l1} ψ̃_{j1,l1}[0]·tile(d̄1)     (gather)
//! x̄         = 2^−e·pad^T(Re F^H X̄)                                one launch
//! ψ̄_{j,l}[r] = Σ_planes Re(conj(tile(d̄))·src)  (src = X at r = 0, Z1 at r = j1)
//! ψ̄_full    = Σ_r uncrop_r(ψ̄[r])/(M_r·N_r)                        one launch
//! ```
//!
//! **Gathers instead of scatters.** Each `Z̄1` sums, per frequency, its own low-pass term and
//! `ψ̃·tile(d̄2)` over every `j2 > j1`, `l2` in a fixed order (a descriptor per gather, built once
//! per plan: `super::tables`); `X̄` likewise over every `d̄1`; the padding's adjoint gathers each
//! source pixel's reflected copies. Each gather is fused with the transforms that follow it where
//! the plane fits in shared memory (`super::kernels::adjoint_fused`).
//!
//! **Filter gradient.** The sum over planes is blocked: blocks of `FILTER_GRAD_BLOCK` image
//! planes (one launch per `(scale, resolution)` use), then the blocks in order inside the
//! un-crop. The one slot used twice (order 2, scale `j ≥ 1` at resolution 0: from `X` and from
//! `Z1` of `j1 = 0`) is written by the first launch and added to by the second. The order
//! depends on `P` only, never on scheduling; nothing is read back to the host.

use cubecl::prelude::*;

use super::DeviceError;
use super::buffer::{Buffer, SplitComplex};
use super::fft::{Direction, plane_cap};
use super::kernels::adjoint::{
    FILTER_GRAD_BLOCK, embed_grad, filter_grad_partial, filter_grad_unprepare, gather_planes,
    modulus_adjoint, pad_adjoint,
};
use super::kernels::adjoint_fused::{
    FINISH_MODULUS_ADJOINT, FINISH_PAD_ADJOINT, FINISH_STORE, LOAD_EMBED, LOAD_GATHER,
    adjoint_plane,
};
use super::launch::{as_u32, count_launch, cube_count, elementwise, units_for};
use super::plan::{DeviceBank, DevicePlan};
use super::tape::DeviceTape;
use crate::ScatterError;

/// What [`DevicePlan::backward`] computed (device buffers, `f32`).
#[derive(Clone, Debug)]
pub struct DeviceGradients {
    /// `∂⟨Ḡ, S⟩/∂x`, `[P, height, width]`, if asked for.
    pub input: Option<Buffer>,
    /// `∂⟨Ḡ, S⟩/∂ψ̂`, the full-resolution wavelet spectra `[J·L, Mp, Np]` (summed over the
    /// planes), if asked for: the cotangent of [`DevicePlan::prepare_spectra`]'s input, which
    /// `super::spectra::DeviceSpectra::vjp` carries to `(σ, ξ, θ, slant)`.
    pub spectra: Option<Buffer>,
}

/// A block of a buffer `D` (`D1`, `D2`): where one gather's output goes.
struct Block<'a> {
    buf: &'a SplitComplex,
    /// Values into `buf`.
    offset: usize,
}

/// What every stage of one backward reads.
struct Run<'a> {
    bank: &'a DeviceBank,
    tape: Option<&'a DeviceTape>,
    p: usize,
    scales: Buffer,
    x_hat: SplitComplex,
    /// `E`: the embedded output gradient of every channel, transformed.
    e: SplitComplex,
    /// `D1 = [j1][P, L, M_j1, N_j1]`.
    d1: SplitComplex,
    /// The filter gradient's partial sums, `[blocks, bank]`, when the spectra are wanted.
    partial: Option<Buffer>,
}

/// One gather fused with its transforms (`adjoint_plane`), or its unfused kernels.
struct AdjointLaunch {
    load: u32,
    finish: u32,
    /// `[planes, h, w]` of the transformed planes.
    shape: [usize; 3],
    dir: Direction,
    /// `p0..p2` of [`adjoint_plane()`].
    params: [usize; 3],
    /// Image planes `P`.
    images: usize,
    out_offset: usize,
}

/// The buffers an [`adjoint_plane()`] launch binds (`None`: the plan's one-value dummy).
struct AdjointArgs<'a> {
    src: [BufferArg; 2],
    d: Option<&'a SplitComplex>,
    bank: Option<&'a DeviceBank>,
    scales: Option<&'a Buffer>,
    u: Option<&'a SplitComplex>,
    out: [BufferArg; 2],
}

impl DevicePlan {
    /// The adjoint of [`DevicePlan::forward`] at `x` (`[P, height, width]`) with the wavelets of
    /// `bank`, applied to the output gradient `grad` (`[P, K, ho, wo]`): the input gradient
    /// (`want_input`) and the gradient with respect to the full-resolution wavelet spectra
    /// (`want_spectra`), as the host plan's `backward` (which goes on to `(σ, ξ, θ, slant)`).
    ///
    /// Reads `tape` (from [`DevicePlan::forward`] with `record` on the same `x` and bank; its
    /// values are trusted) when given; otherwise recomputes `X`, `u1` and `u2` with the
    /// forward's kernels (the values a tape holds, bit for bit, so both give the same
    /// gradients). The number of launches depends on `J`, the order, the FFT paths and what is
    /// wanted, never on `P` or `L`; nothing is read back. Bit-reproducible run to run.
    ///
    /// # Errors
    /// As [`DevicePlan::forward`], plus [`ScatterError::InvalidShape`] when `grad` or the tape
    /// does not match `x`.
    pub fn backward(
        &self,
        bank: &DeviceBank,
        x: &Buffer,
        tape: Option<&DeviceTape>,
        grad: &Buffer,
        want_input: bool,
        want_spectra: bool,
    ) -> Result<DeviceGradients, DeviceError> {
        self.check_bank(bank)?;
        let p = self.planes_of(x)?;
        let [ho, wo] = self.geometry.output_size();
        if grad.len() != p * self.output_plane() {
            let shape = [p, self.paths.len(), ho, wo];
            return Err(ScatterError::InvalidShape {
                expected: shape.into_iter().map(Some).collect(),
                got: vec![grad.len()],
            }
            .into());
        }
        if let Some(t) = tape.filter(|t| t.planes != p) {
            return Err(ScatterError::InvalidShape {
                expected: vec![Some(p)],
                got: vec![t.planes],
            }
            .into());
        }
        if !(want_input || want_spectra) {
            return Ok(DeviceGradients {
                input: None,
                spectra: None,
            });
        }
        let (scales, x_hat) = match tape {
            Some(t) => (t.scales.clone(), t.x_hat.clone()),
            None => {
                let s = self.plane_scales(x, p);
                let xh = self.padded_spectrum(x, p, &s);
                (s, xh)
            }
        };
        let blocks = p.div_ceil(FILTER_GRAD_BLOCK);
        let run = Run {
            bank,
            tape,
            p,
            e: self.low_pass_adjoint(grad, p, &scales),
            d1: SplitComplex::empty(&self.client, p * self.adjoint.d1_len),
            partial: want_spectra.then(|| Buffer::empty(&self.client, blocks * self.layout.len)),
            scales,
            x_hat,
        };
        for j1 in 0..self.options.num_scales() {
            self.stage_adjoint(&run, j1);
        }
        Ok(DeviceGradients {
            input: want_input.then(|| self.input_adjoint(&run)),
            spectra: run
                .partial
                .as_ref()
                .map(|partial| self.uncrop(partial, blocks)),
        })
    }

    /// Stage `j1` of the backward: `d̄2` of every `j2 > j1` (order 2), then `d̄1`, with their
    /// filter-gradient sums.
    fn stage_adjoint(&self, run: &Run<'_>, j1: usize) {
        let big_j = self.options.num_scales();
        let big_l = self.options.num_orientations();
        let second = self.options.max_order() >= 2;
        let (p, t) = (run.p, &self.adjoint);
        let u1 = match run.tape {
            Some(tape) => tape.u1[j1].clone(),
            None => self.wavelet_signal(&run.x_hat, p, run.bank.wavelets(j1, 0), (0, j1)),
        };
        let d2 =
            (second && j1 + 1 < big_j).then(|| SplitComplex::empty(&self.client, p * t.d2_len[j1]));
        if let Some(d2) = &d2 {
            let z1 = (run.tape.is_none() || run.partial.is_some())
                .then(|| self.modulus_of(&u1, p * big_l, j1));
            for j2 in j1 + 1..big_j {
                let k = j2 - j1 - 1;
                let u2 = match run.tape {
                    Some(tape) => tape.u2[j1][k].clone(),
                    None => {
                        let z1 = z1.as_ref().expect("recomputed");
                        self.wavelet_signal(z1, p * big_l, run.bank.wavelets(j2, j1), (j1, j2))
                    }
                };
                let out = Block {
                    buf: d2,
                    offset: p * t.d2_block[j1][k],
                };
                let q = p * big_l * big_l;
                self.wavelet_adjoint(t.gather_z2[j1][k], j2, q, run, None, &u2, &out);
                if let Some(partial) = &run.partial {
                    let z1 = z1.as_ref().expect("computed for the filter gradient");
                    let slot = self.layout.offset[j2][j1];
                    self.filter_grad_partial(&out, z1, (j1, j2), big_l, p, (partial, slot), false);
                }
            }
        }
        let out = Block {
            buf: &run.d1,
            offset: p * t.d1_block[j1],
        };
        self.wavelet_adjoint(t.gather_z1[j1], j1, p * big_l, run, d2.as_ref(), &u1, &out);
        if let Some(partial) = &run.partial {
            // At order 2 the slot of (j1, resolution 0) already holds the sums from `Z1` of
            // scale 0 (the first stage) when j1 ≥ 1.
            let add = second && j1 >= 1;
            let slot = self.layout.offset[j1][0];
            self.filter_grad_partial(&out, &run.x_hat, (0, j1), 1, p, (partial, slot), add);
        }
    }

    /// `E[p, c] = F(embed(Ḡ[p, c]·2^e))` for every channel: `[P·K, MJ, NJ]`.
    fn low_pass_adjoint(&self, grad: &Buffer, p: usize, scales: &Buffer) -> SplitComplex {
        let big_j = self.options.num_scales();
        let [mj, nj] = self.grid(big_j);
        let [ho, wo] = self.geometry.output_size();
        let k = self.paths.len();
        let q = p * k;
        let e = SplitComplex::empty(&self.client, q * mj * nj);
        if self.fuses(big_j) {
            self.launch_adjoint(
                &AdjointLaunch {
                    load: LOAD_EMBED,
                    finish: FINISH_STORE,
                    shape: [q, mj, nj],
                    dir: Direction::Forward,
                    params: [k, ho, wo],
                    images: p,
                    out_offset: 0,
                },
                AdjointArgs {
                    src: [grad.arg(), self.dummy_arg()],
                    d: None,
                    bank: None,
                    scales: Some(scales),
                    u: None,
                    out: e.args(),
                },
            );
            return e;
        }
        let embedded = SplitComplex::empty(&self.client, e.len());
        let (count, dim) = elementwise(e.len(), &self.limits);
        count_launch();
        embed_grad::launch(
            &self.client,
            count,
            dim,
            grad.arg(),
            scales.arg(),
            embedded.re.arg(),
            embedded.im.arg(),
            as_u32(mj),
            as_u32(nj),
            as_u32(k),
            as_u32(ho),
            as_u32(wo),
            as_u32(p),
            as_u32(e.len()),
        );
        self.fft
            .fft2(&embedded, (&e, 0), [q, mj, nj], Direction::Forward);
        e
    }

    /// `d̄ = F(Re(F^H(gather))·u/|u|)` of the `q` planes of the gather descriptor `g0` at
    /// resolution `r` (its terms read `d`), into `out`.
    #[allow(clippy::too_many_arguments)]
    fn wavelet_adjoint(
        &self,
        g0: usize,
        r: usize,
        q: usize,
        run: &Run<'_>,
        d: Option<&SplitComplex>,
        u: &SplitComplex,
        out: &Block<'_>,
    ) {
        let [h, w] = self.grid(r);
        assert!(u.len() >= q * h * w, "signal buffer too short");
        if self.fuses(r) {
            self.launch_adjoint(
                &AdjointLaunch {
                    load: LOAD_GATHER,
                    finish: FINISH_MODULUS_ADJOINT,
                    shape: [q, h, w],
                    dir: Direction::Inverse,
                    params: [g0, 0, 0],
                    images: run.p,
                    out_offset: out.offset,
                },
                AdjointArgs {
                    src: run.e.args(),
                    d,
                    bank: Some(run.bank),
                    scales: None,
                    u: Some(u),
                    out: out.buf.args(),
                },
            );
            return;
        }
        let gathered = SplitComplex::empty(&self.client, q * h * w);
        self.launch_gather(g0, [h, w], run, d, &gathered);
        let signal = SplitComplex::empty(&self.client, gathered.len());
        self.fft
            .fft2(&gathered, (&signal, 0), [q, h, w], Direction::Inverse);
        drop(gathered);
        let u_bar = SplitComplex::empty(&self.client, signal.len());
        let (count, dim) = elementwise(signal.len(), &self.limits);
        count_launch();
        modulus_adjoint::launch(
            &self.client,
            count,
            dim,
            signal.re.arg(),
            u.re.arg(),
            u.im.arg(),
            u_bar.re.arg(),
            u_bar.im.arg(),
            as_u32(signal.len()),
        );
        self.fft
            .fft2(&u_bar, (out.buf, out.offset), [q, h, w], Direction::Forward);
    }

    /// `x̄ = 2^−e·pad^T(Re F^H(X̄))`, `X̄` the gather of `E[0]` and every `d̄1`: `[P, H, W]`.
    fn input_adjoint(&self, run: &Run<'_>) -> Buffer {
        let [mp, np] = self.geometry.padded_size();
        let (h, w) = (self.geometry.height, self.geometry.width);
        let (p, t) = (run.p, &self.adjoint);
        let dx = Buffer::empty(&self.client, p * h * w);
        if self.fuses(0) {
            self.launch_adjoint(
                &AdjointLaunch {
                    load: LOAD_GATHER,
                    finish: FINISH_PAD_ADJOINT,
                    shape: [p, mp, np],
                    dir: Direction::Inverse,
                    params: [t.gather_x, h, w],
                    images: p,
                    out_offset: 0,
                },
                AdjointArgs {
                    src: run.e.args(),
                    d: Some(&run.d1),
                    bank: Some(run.bank),
                    scales: Some(&run.scales),
                    u: None,
                    out: [dx.arg(), self.dummy_arg()],
                },
            );
            return dx;
        }
        let gathered = SplitComplex::empty(&self.client, p * mp * np);
        self.launch_gather(t.gather_x, [mp, np], run, Some(&run.d1), &gathered);
        let signal = SplitComplex::empty(&self.client, gathered.len());
        self.fft
            .fft2(&gathered, (&signal, 0), [p, mp, np], Direction::Inverse);
        let total = p * h * w;
        let (count, dim) = elementwise(total, &self.limits);
        count_launch();
        pad_adjoint::launch(
            &self.client,
            count,
            dim,
            signal.re.arg(),
            t.table.arg(),
            run.scales.arg(),
            dx.arg(),
            as_u32(t.pad0),
            as_u32(h),
            as_u32(w),
            as_u32(mp),
            as_u32(np),
            as_u32(total),
        );
        dx
    }

    /// The gather of descriptor `g0` into `out` (`[q, h, w]`), its terms reading `d`.
    fn launch_gather(
        &self,
        g0: usize,
        [h, w]: [usize; 2],
        run: &Run<'_>,
        d: Option<&SplitComplex>,
        out: &SplitComplex,
    ) {
        let [d_re, d_im] =
            d.map_or_else(|| [self.dummy_arg(), self.dummy_arg()], SplitComplex::args);
        let (count, dim) = elementwise(out.len(), &self.limits);
        count_launch();
        gather_planes::launch(
            &self.client,
            count,
            dim,
            run.e.re.arg(),
            run.e.im.arg(),
            d_re,
            d_im,
            self.phi.arg(),
            run.bank.filters.arg(),
            self.adjoint.table.arg(),
            out.re.arg(),
            out.im.arg(),
            as_u32(g0),
            as_u32(h),
            as_u32(w),
            as_u32(run.p),
            as_u32(out.len()),
        );
    }

    /// Writes (or, with `accumulate`, adds) the blocked partial sums of
    /// `Σ Re(conj(tile(d̄))·src)` of the wavelets of scale `j` at resolution `r` to the slot at
    /// `partial.1` of `partial.0`: `d̄` in `d` (`[P·inner, L, M_j, N_j]`), `src`
    /// `[P·inner, M_r, N_r]`.
    #[allow(clippy::too_many_arguments)]
    fn filter_grad_partial(
        &self,
        d: &Block<'_>,
        src: &SplitComplex,
        (r, j): (usize, usize),
        inner: usize,
        p: usize,
        (partial, slot): (&Buffer, usize),
        accumulate: bool,
    ) {
        let big_l = self.options.num_orientations();
        let [h, w] = self.grid(r);
        let [hd, wd] = self.grid(j);
        let total = p.div_ceil(FILTER_GRAD_BLOCK) * big_l * h * w;
        let (count, dim) = elementwise(total, &self.limits);
        count_launch();
        filter_grad_partial::launch(
            &self.client,
            count,
            dim,
            d.buf.re.arg(),
            d.buf.im.arg(),
            src.re.arg(),
            src.im.arg(),
            partial.arg(),
            as_u32(d.offset),
            as_u32(h),
            as_u32(w),
            as_u32(hd),
            as_u32(wd),
            as_u32(big_l),
            as_u32(inner),
            as_u32(p),
            as_u32(slot),
            as_u32(self.layout.len),
            u32::from(accumulate),
            as_u32(total),
        );
    }

    /// The full-resolution spectra gradient `[J·L, Mp, Np]` from the partial sums.
    fn uncrop(&self, partial: &Buffer, blocks: usize) -> Buffer {
        let [mp, np] = self.geometry.padded_size();
        let big_l = self.options.num_orientations();
        let u = &self.adjoint.uncrop;
        let total = self.options.num_scales() * big_l * mp * np;
        let out = Buffer::empty(&self.client, total);
        let (count, dim) = elementwise(total, &self.limits);
        count_launch();
        filter_grad_unprepare::launch(
            &self.client,
            count,
            dim,
            partial.arg(),
            u.table.arg(),
            u.scales.arg(),
            out.arg(),
            as_u32(mp),
            as_u32(np),
            as_u32(big_l),
            as_u32(u.max_levels),
            as_u32(u.levels_at),
            as_u32(u.info_at),
            as_u32(blocks),
            as_u32(self.layout.len),
            as_u32(total),
        );
        out
    }

    /// One [`adjoint_plane()`] launch.
    fn launch_adjoint(&self, a: &AdjointLaunch, args: AdjointArgs<'_>) {
        let [planes, h, w] = a.shape;
        let units = units_for(h * w / 2, &self.limits);
        let pair = |c: Option<&SplitComplex>| {
            c.map_or_else(|| [self.dummy_arg(), self.dummy_arg()], SplitComplex::args)
        };
        let [d_re, d_im] = pair(args.d);
        let [u_re, u_im] = pair(args.u);
        let filt = args
            .bank
            .map_or_else(|| self.dummy_arg(), |b| b.filters.arg());
        let scales = args.scales.map_or_else(|| self.dummy_arg(), Buffer::arg);
        let [src_re, src_im] = args.src;
        let [out_re, out_im] = args.out;
        count_launch();
        adjoint_plane::launch(
            &self.client,
            cube_count(planes, &self.limits),
            CubeDim::new_1d(units as u32),
            src_re,
            src_im,
            d_re,
            d_im,
            self.phi.arg(),
            filt,
            self.adjoint.table.arg(),
            scales,
            u_re,
            u_im,
            self.fft.words_arg(),
            self.fft.floats_arg(),
            out_re,
            out_im,
            self.fft.tables().offset(w),
            self.fft.tables().offset(h),
            as_u32(planes),
            as_u32(a.images),
            a.dir.sign(),
            as_u32(a.params[0]),
            as_u32(a.params[1]),
            as_u32(a.params[2]),
            as_u32(self.adjoint.pad0),
            as_u32(a.out_offset),
            a.load,
            a.finish,
            plane_cap(h, w),
            units,
        );
    }
}
