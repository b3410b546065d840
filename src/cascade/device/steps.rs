//! The forward's steps on a batch of planes, each one launch when its output plane fits in shared
//! memory (`super::kernels::fused`) and its own kernels around the 2-D FFT otherwise: the filter
//! product folded to a coarser grid, the inverse FFT, the modulus and the forward FFT. Shared by
//! the forward (`super::forward`) and the adjoint's recomputation of what a tape would hold
//! (`super::adjoint`), which therefore reproduces the forward's values bit for bit.

use cubecl::prelude::*;

use super::buffer::{Buffer, SplitComplex};
use super::fft::{Direction, plane_cap};
use super::kernels::elementwise::{modulus, modulus_copy, mul_fold};
use super::kernels::fused::{
    FINISH_MODULUS_FFT, FINISH_STORE, LOAD_FOLD, LOAD_MODULUS, fused_plane,
};
use super::launch::{as_u32, count_launch, cube_count, elementwise, units_for};
use super::plan::DevicePlan;

/// `count` real filters of one grid, from `offset` of `buffer` (a bank's wavelets of one
/// `(scale, resolution)`, or the low-pass of one resolution).
#[derive(Clone, Copy)]
pub(super) struct Filters<'a> {
    pub(super) buffer: &'a Buffer,
    pub(super) offset: usize,
    pub(super) count: usize,
}

/// What a [`fused_plane()`] launch does (see `super::kernels::fused`).
pub(super) struct Fused {
    pub(super) load: u32,
    pub(super) finish: u32,
    /// `[planes, h, w]` of the transformed planes.
    pub(super) shape: [usize; 3],
    pub(super) dir: Direction,
    /// `p0..p2` of the load.
    pub(super) load_params: [usize; 3],
    /// `ho, wo, per_plane, inner, c0, sa, channels` of `FINISH_UNPAD`.
    pub(super) unpad: [usize; 7],
    /// Image planes whose range scales `scales` holds (0 where no scale is read).
    pub(super) images: usize,
}

/// The buffers a [`fused_plane()`] launch binds.
pub(super) struct FusedArgs<'a> {
    pub(super) src: [BufferArg; 2],
    /// The padding tables (`LOAD_PAD`).
    pub(super) aux: Option<&'a Buffer>,
    pub(super) filters: Option<&'a Buffer>,
    pub(super) scales: Option<&'a Buffer>,
    pub(super) out: [BufferArg; 2],
    /// Receives the transformed planes of a `FINISH_MODULUS_FFT` launch (the tape's `u`).
    pub(super) record: Option<&'a SplitComplex>,
}

impl DevicePlan {
    /// The low-pass `φ̃` at resolution `r`.
    pub(super) fn phi(&self, r: usize) -> Filters<'_> {
        Filters {
            buffer: &self.phi,
            offset: self.phi_offset[r],
            count: 1,
        }
    }

    /// Uninitialised complex planes: `q` planes at resolution `r`.
    pub(super) fn signal_buffer(&self, q: usize, r: usize) -> SplitComplex {
        let [mp, np] = self.geometry.padded_size();
        SplitComplex::empty(&self.client, q * (mp >> r) * (np >> r))
    }

    /// `[M_r, N_r]`.
    pub(super) fn grid(&self, r: usize) -> [usize; 2] {
        let [mp, np] = self.geometry.padded_size();
        [mp >> r, np >> r]
    }

    /// `F(|F^H(fold(src·ψ̃))|)`: the spectra of the moduli of `filt` applied to the `q` spectra
    /// `src` at resolution `from`, at resolution `to`: `[q, filters, M_to, N_to]`. With `record`,
    /// the complex signals `F^H(fold(src·ψ̃))` are also written there.
    pub(super) fn wavelet_modulus(
        &self,
        src: &SplitComplex,
        q: usize,
        filt: Filters<'_>,
        (from, to): (usize, usize),
        record: Option<&SplitComplex>,
    ) -> SplitComplex {
        if !self.fuses(to) {
            let u = self.fold(src, q, filt, from, to);
            return self.modulus_spectrum(u, q * filt.count, to, record);
        }
        self.fold_fused(src, q, filt, (from, to), FINISH_MODULUS_FFT, record)
    }

    /// `u = F^H(fold(src·ψ̃))` of `filt` applied to the `q` spectra `src` at resolution `from`:
    /// `[q, filters, M_to, N_to]` (what the forward records; the backward's recomputation).
    pub(super) fn wavelet_signal(
        &self,
        src: &SplitComplex,
        q: usize,
        filt: Filters<'_>,
        (from, to): (usize, usize),
    ) -> SplitComplex {
        if !self.fuses(to) {
            let [md, nd] = self.grid(to);
            let folded = self.fold(src, q, filt, from, to);
            let u = SplitComplex::empty(&self.client, folded.len());
            let shape = [q * filt.count, md, nd];
            self.fft.fft2(&folded, (&u, 0), shape, Direction::Inverse);
            return u;
        }
        self.fold_fused(src, q, filt, (from, to), FINISH_STORE, None)
    }

    /// One fused launch over the `q · filters` planes at resolution `to`: the filter product
    /// folded from resolution `from`, the inverse FFT, then `finish` (`FINISH_STORE`: `u`;
    /// `FINISH_MODULUS_FFT`: `F(|u|)`, with `u` written to `record` when given).
    fn fold_fused(
        &self,
        src: &SplitComplex,
        q: usize,
        filt: Filters<'_>,
        (from, to): (usize, usize),
        finish: u32,
        record: Option<&SplitComplex>,
    ) -> SplitComplex {
        let [md, nd] = self.grid(to);
        let out = SplitComplex::empty(&self.client, q * filt.count * md * nd);
        self.launch_fused(
            &Fused {
                load: LOAD_FOLD,
                finish,
                shape: [q * filt.count, md, nd],
                dir: Direction::Inverse,
                load_params: [filt.offset, filt.count, 1 << (to - from)],
                unpad: [0; 7],
                images: 0,
            },
            FusedArgs {
                src: src.args(),
                aux: None,
                filters: Some(filt.buffer),
                scales: None,
                out: out.args(),
                record,
            },
        );
        out
    }

    /// `F(|u|)` of `q` complex planes at resolution `r` (the spectra the forward computed from
    /// the `u` it recorded, bit for bit).
    pub(super) fn modulus_of(&self, u: &SplitComplex, q: usize, r: usize) -> SplitComplex {
        let [md, nd] = self.grid(r);
        let out = SplitComplex::empty(&self.client, q * md * nd);
        if q == 0 {
            return out;
        }
        if !self.fuses(r) {
            let m = SplitComplex::empty(&self.client, u.len());
            self.launch_modulus_copy(u, &m);
            self.fft
                .fft2(&m, (&out, 0), [q, md, nd], Direction::Forward);
            return out;
        }
        self.launch_fused(
            &Fused {
                load: LOAD_MODULUS,
                finish: FINISH_STORE,
                shape: [q, md, nd],
                dir: Direction::Forward,
                load_params: [0; 3],
                unpad: [0; 7],
                images: 0,
            },
            FusedArgs {
                src: u.args(),
                aux: None,
                filters: None,
                scales: None,
                out: out.args(),
                record: None,
            },
        );
        out
    }

    /// One [`fused_plane()`] launch over `f.shape[0]` planes.
    pub(super) fn launch_fused(&self, f: &Fused, args: FusedArgs<'_>) {
        let [planes, h, w] = f.shape;
        let units = units_for(h * w / 2, &self.limits);
        let [ho, wo, per_plane, inner, c0, sa, channels] = f.unpad.map(as_u32);
        let [tape_re, tape_im] = match args.record {
            Some(t) => {
                assert!(t.len() >= planes * h * w, "tape buffer too short");
                t.args()
            }
            None => [self.dummy_arg(), self.dummy_arg()],
        };
        let or_dummy = |b: Option<&Buffer>| b.map_or_else(|| self.dummy_arg(), Buffer::arg);
        let [src_re, src_im] = args.src;
        let [out_re, out_im] = args.out;
        count_launch();
        fused_plane::launch(
            &self.client,
            cube_count(planes, &self.limits),
            CubeDim::new_1d(units as u32),
            src_re,
            src_im,
            or_dummy(args.aux),
            or_dummy(args.filters),
            or_dummy(args.scales),
            self.fft.words_arg(),
            self.fft.floats_arg(),
            out_re,
            out_im,
            tape_re,
            tape_im,
            self.fft.tables().offset(w),
            self.fft.tables().offset(h),
            as_u32(planes),
            f.dir.sign(),
            as_u32(f.load_params[0]),
            as_u32(f.load_params[1]),
            as_u32(f.load_params[2]),
            ho,
            wo,
            per_plane,
            inner,
            c0,
            sa,
            channels,
            as_u32(f.images),
            f.load,
            f.finish,
            args.record.is_some(),
            plane_cap(h, w),
            units,
        );
    }

    /// The spectrum `src` (`q` planes at resolution `from`) times `filt`, folded to resolution
    /// `to`: `[q, filters, M_to, N_to]`.
    pub(super) fn fold(
        &self,
        src: &SplitComplex,
        q: usize,
        filt: Filters<'_>,
        from: usize,
        to: usize,
    ) -> SplitComplex {
        let [md, nd] = self.grid(to);
        debug_assert_eq!(src.len(), q * self.grid(from)[0] * self.grid(from)[1]);
        let total = q * filt.count * md * nd;
        let out = SplitComplex::empty(&self.client, total);
        let (count, dim) = elementwise(total, &self.limits);
        count_launch();
        mul_fold::launch(
            &self.client,
            count,
            dim,
            src.re.arg(),
            src.im.arg(),
            filt.buffer.arg(),
            out.re.arg(),
            out.im.arg(),
            as_u32(filt.offset),
            as_u32(filt.count),
            as_u32(md),
            as_u32(nd),
            1u32 << (to - from),
            as_u32(total),
        );
        out
    }

    /// `m = |u| + 0i`, out of place.
    fn launch_modulus_copy(&self, u: &SplitComplex, m: &SplitComplex) {
        let (count, dim) = elementwise(u.len(), &self.limits);
        count_launch();
        modulus_copy::launch(
            &self.client,
            count,
            dim,
            u.re.arg(),
            u.im.arg(),
            m.re.arg(),
            m.im.arg(),
            as_u32(u.len()),
        );
    }

    /// `F(|F^H(u)|)` of `q` planes at resolution `r`; with `record`, `F^H(u)` is written there.
    fn modulus_spectrum(
        &self,
        u: SplitComplex,
        q: usize,
        r: usize,
        record: Option<&SplitComplex>,
    ) -> SplitComplex {
        let [md, nd] = self.grid(r);
        let shape = [q, md, nd];
        let spectrum = SplitComplex::empty(&self.client, u.len());
        if let Some(t) = record {
            // The complex signal goes to the tape, its modulus to a buffer of its own.
            self.fft.fft2(&u, (t, 0), shape, Direction::Inverse);
            let m = SplitComplex::empty(&self.client, u.len());
            self.launch_modulus_copy(t, &m);
            self.fft.fft2(&m, (&spectrum, 0), shape, Direction::Forward);
            return spectrum;
        }
        let signal = SplitComplex::empty(&self.client, u.len());
        self.fft.fft2(&u, (&signal, 0), shape, Direction::Inverse);
        drop(u);
        let (count, dim) = elementwise(signal.len(), &self.limits);
        count_launch();
        modulus::launch(
            &self.client,
            count,
            dim,
            signal.re.arg(),
            signal.im.arg(),
            as_u32(signal.len()),
        );
        self.fft
            .fft2(&signal, (&spectrum, 0), shape, Direction::Forward);
        spectrum
    }
}
