//! The forward cascade on the device: the host's `super::super::forward` (kymatio's algorithm),
//! with every `(plane, orientation, …)` of a stage in one launch.
//!
//! ```text
//! X   = F(pad(x·2^−e))                                        resolution 0       [P]
//! S0  = unpad(F^H(fold_{2^J}(X·φ̃[0])))·2^e
//! u1  = F^H(fold_{2^j1}(X·ψ̃_{j1,·}[0])),  Z1 = F(|u1|)          resolution j1      [P, L]
//! S1  = unpad(F^H(fold_{2^(J−j1)}(Z1·φ̃[j1])))·2^e
//! u2  = F^H(fold_{2^(j2−j1)}(Z1·ψ̃_{j2,·}[j1])), Z2 = F(|u2|)    resolution j2 > j1 [P, L, L]
//! S2  = unpad(F^H(fold_{2^(J−j2)}(Z2·φ̃[j2])))·2^e
//! ```
//!
//! One orientation per plane: the host's packing of two real signals into one complex FFT is a
//! CPU trick that the device does without (it also spares the backward the Hermitian split).

use cubecl::prelude::*;

use super::DeviceError;
use super::buffer::{Buffer, SplitComplex};
use super::fft::Direction;
use super::kernels::elementwise::{pad_reflect, plane_scales, unpad_store};
use super::kernels::fused::{FINISH_STORE, FINISH_UNPAD, LOAD_FOLD, LOAD_PAD};
use super::launch::{as_u32, count_launch, cube_count, elementwise, units_for};
use super::plan::{DeviceBank, DevicePlan};
use super::steps::{Fused, FusedArgs};
use super::tables::ChannelMap;
use super::tape::DeviceTape;
use crate::ScatterError;

/// The output of a forward: `[P, K, ho, wo]` with the range scales of its planes.
struct Output<'a> {
    out: &'a Buffer,
    planes: usize,
    scales: &'a Buffer,
}

impl DevicePlan {
    /// Scattering coefficients of the real planes `x` (`[P, height, width]` `f32`, `P ≥ 1`) with
    /// the wavelets of `bank`: a new buffer `[P, K, height/2^J, width/2^J]`, channels in the
    /// order of [`DevicePlan::paths`]. With `record`, also the tape of its intermediates for
    /// [`DevicePlan::backward`] (the same coefficients, bit for bit). Nothing is read back; the
    /// number of launches depends on `J`, the order and the FFT paths only.
    ///
    /// Non-finite inputs are not checked (that would read `x` back): they propagate into the
    /// coefficients of their planes.
    ///
    /// # Errors
    /// [`ScatterError::InvalidShape`] when `x` is not a whole number of `height × width` planes,
    /// [`ScatterError::EmptyBatch`] for no plane, [`ScatterError::InvalidParameter`] (`bank`) for
    /// a bank prepared by another plan, [`DeviceError::BatchTooLarge`] when a buffer of the call
    /// would exceed the device's largest (checked before anything is allocated). An allocation
    /// beyond the device's memory or a failed launch is reported by the runtime at the next read
    /// ([`Buffer::read`], [`DeviceError::Runtime`]).
    pub fn forward(
        &self,
        bank: &DeviceBank,
        x: &Buffer,
        record: bool,
    ) -> Result<(Buffer, Option<DeviceTape>), DeviceError> {
        self.check_bank(bank)?;
        let p = self.planes_of(x)?;
        let big_j = self.options.num_scales();
        let big_l = self.options.num_orientations();
        let out = Buffer::empty(&self.client, p * self.output_plane());
        let scales = self.plane_scales(x, p);
        let x_hat = self.padded_spectrum(x, p, &scales);
        let mut tape = record.then(|| DeviceTape::new(p, scales.clone(), x_hat.clone()));
        let dst = Output {
            out: &out,
            planes: p,
            scales: &scales,
        };
        self.low_pass(&x_hat, p, 0, ChannelMap::run(1, 0), &dst);
        for j1 in 0..big_j {
            let u1 = tape.as_ref().map(|_| self.signal_buffer(p * big_l, j1));
            let z1 = self.wavelet_modulus(&x_hat, p, bank.wavelets(j1, 0), (0, j1), u1.as_ref());
            self.low_pass(&z1, p * big_l, j1, self.maps.first[j1], &dst);
            let mut u2s = Vec::new();
            if self.options.max_order() >= 2 {
                for j2 in j1 + 1..big_j {
                    let u2 = tape
                        .as_ref()
                        .map(|_| self.signal_buffer(p * big_l * big_l, j2));
                    let filt = bank.wavelets(j2, j1);
                    let z2 = self.wavelet_modulus(&z1, p * big_l, filt, (j1, j2), u2.as_ref());
                    let map = self.maps.second[j1][j2 - j1 - 1];
                    self.low_pass(&z2, p * big_l * big_l, j2, map, &dst);
                    u2s.extend(u2);
                }
            }
            if let Some(t) = tape.as_mut() {
                t.push_stage(u1.expect("recorded"), u2s);
            }
        }
        Ok((out, tape))
    }

    /// [`DevicePlan::forward`] from and to host memory: `x` holds `P` planes of
    /// `height × width`, the result `P` planes of `K × ho × wo`.
    ///
    /// # Errors
    /// As [`DevicePlan::forward`] and [`Buffer::read`].
    pub fn transform(&self, bank: &DeviceBank, x: &[f32]) -> Result<Vec<f32>, DeviceError> {
        let (out, _) = self.forward(bank, &Buffer::upload(&self.client, x), false)?;
        out.read(&self.client)
    }

    /// The number of `height × width` planes in `x`, checked against the device's largest
    /// buffer ([`DevicePlan::check_batch`]).
    ///
    /// # Errors
    /// [`ScatterError::InvalidShape`] for a partial plane, [`ScatterError::EmptyBatch`] for none,
    /// [`DeviceError::BatchTooLarge`].
    pub(super) fn planes_of(&self, x: &Buffer) -> Result<usize, DeviceError> {
        let (h, w) = (self.geometry.height, self.geometry.width);
        let plane = h * w;
        if !x.len().is_multiple_of(plane) {
            return Err(ScatterError::InvalidShape {
                expected: vec![None, Some(h), Some(w)],
                got: vec![x.len()],
            }
            .into());
        }
        if x.is_empty() {
            return Err(ScatterError::EmptyBatch {
                shape: vec![0, h, w],
            }
            .into());
        }
        let planes = x.len() / plane;
        self.check_batch(planes)?;
        Ok(planes)
    }

    /// The range scales of `p` input planes (`[2p]`: `2^−e`, then `2^e`; see
    /// `super::kernels::elementwise::plane_scales`): one launch.
    pub(super) fn plane_scales(&self, x: &Buffer, p: usize) -> Buffer {
        let plane = self.input_plane();
        let scales = Buffer::empty(&self.client, 2 * p);
        let units = units_for(plane, &self.limits);
        count_launch();
        plane_scales::launch(
            &self.client,
            cube_count(p, &self.limits),
            CubeDim::new_1d(units as u32),
            x.arg(),
            scales.arg(),
            as_u32(plane),
            as_u32(p),
            units,
        );
        scales
    }

    /// `X = F(pad(x)·2^−e)` of `p` real planes: `[p, Mp, Np]`.
    pub(super) fn padded_spectrum(&self, x: &Buffer, p: usize, scales: &Buffer) -> SplitComplex {
        let (m, n) = (self.geometry.height, self.geometry.width);
        let [mp, np] = self.geometry.padded_size();
        let len0 = p * mp * np;
        let x_hat = SplitComplex::empty(&self.client, len0);
        if self.fuses(0) {
            self.launch_fused(
                &Fused {
                    load: LOAD_PAD,
                    finish: FINISH_STORE,
                    shape: [p, mp, np],
                    dir: Direction::Forward,
                    load_params: [m, n, 0],
                    unpad: [0; 7],
                    images: p,
                },
                FusedArgs {
                    src: [x.arg(), self.dummy_arg()],
                    aux: Some(&self.pad_tables),
                    filters: None,
                    scales: Some(scales),
                    out: x_hat.args(),
                    record: None,
                },
            );
            return x_hat;
        }
        let padded = SplitComplex::empty(&self.client, len0);
        let (count, dim) = elementwise(len0, &self.limits);
        count_launch();
        pad_reflect::launch(
            &self.client,
            count,
            dim,
            x.arg(),
            self.pad_tables.arg(),
            scales.arg(),
            padded.re.arg(),
            padded.im.arg(),
            as_u32(m),
            as_u32(n),
            as_u32(mp),
            as_u32(np),
            as_u32(len0),
        );
        self.fft
            .fft2(&padded, (&x_hat, 0), [p, mp, np], Direction::Forward);
        x_hat
    }

    /// `unpad(F^H(fold_{2^(J−r)}(src·φ̃[r])))·2^e` of `q` planes at resolution `r`, into the
    /// channels of `map` of the output.
    fn low_pass(&self, src: &SplitComplex, q: usize, r: usize, map: ChannelMap, dst: &Output<'_>) {
        let big_j = self.options.num_scales();
        let [mj, nj] = self.grid(big_j);
        let [ho, wo] = self.geometry.output_size();
        let phi = self.phi(r);
        let out_arg = || dst.out.arg();
        if self.fuses(big_j) {
            self.launch_fused(
                &Fused {
                    load: LOAD_FOLD,
                    finish: FINISH_UNPAD,
                    shape: [q, mj, nj],
                    dir: Direction::Inverse,
                    load_params: [phi.offset, 1, 1 << (big_j - r)],
                    unpad: [
                        ho,
                        wo,
                        map.outer * map.inner,
                        map.inner,
                        map.c0,
                        map.sa,
                        self.paths.len(),
                    ],
                    images: dst.planes,
                },
                FusedArgs {
                    src: src.args(),
                    aux: None,
                    filters: Some(phi.buffer),
                    scales: Some(dst.scales),
                    out: [out_arg(), self.dummy_arg()],
                    record: None,
                },
            );
            return;
        }
        let folded = self.fold(src, q, phi, r, big_j);
        let coarse = SplitComplex::empty(&self.client, folded.len());
        self.fft
            .fft2(&folded, (&coarse, 0), [q, mj, nj], Direction::Inverse);
        let total = q * ho * wo;
        let (count, dim) = elementwise(total, &self.limits);
        count_launch();
        unpad_store::launch(
            &self.client,
            count,
            dim,
            coarse.re.arg(),
            dst.scales.arg(),
            out_arg(),
            as_u32(mj),
            as_u32(nj),
            as_u32(ho),
            as_u32(wo),
            as_u32(map.outer * map.inner),
            as_u32(map.inner),
            as_u32(map.c0),
            as_u32(map.sa),
            as_u32(self.paths.len()),
            as_u32(dst.planes),
            as_u32(total),
        );
    }
}
