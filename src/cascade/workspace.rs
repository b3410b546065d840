//! Per-thread buffers of the forward and the adjoint: allocated once per thread per call, sized
//! for the full-resolution grid and reused for every plane the thread takes.

use num_complex::Complex;

use super::Float;
use super::alloc::{Alloc, complex_zeros};
use super::kernels::Fft2;
use super::plan::Cascade;

/// Per-thread buffers, sized for the full-resolution grid.
pub(super) struct Workspace<T> {
    pub(super) spatial: Vec<Complex<T>>,
    pub(super) spec: Vec<Complex<T>>,
    pub(super) z1: Vec<Complex<T>>,
    pub(super) z2: Vec<Complex<T>>,
    pub(super) small: Vec<Complex<T>>,
    pub(super) coarse: Vec<Complex<T>>,
    pub(super) scratch: Vec<Complex<T>>,
    /// `[X, ua, ub, u2a, u2b, Xa, Xb, X̄a, X̄b, Z̄, Z̄2]`: the signals a plane's forward and
    /// backward hold at once (taken out while in use).
    pub(super) signals: [Vec<Complex<T>>; 11],
    // Backward only.
    pub(super) x_bar: Vec<Complex<T>>,
    pub(super) w_bar: Vec<Complex<T>>,
    pub(super) u_bar: Vec<Complex<T>>,
    pub(super) d_bar: Vec<Complex<T>>,
}

impl<T: Float> Workspace<T> {
    /// A thread's buffers, reserved fallibly (their size follows from the plan's grid).
    pub(super) fn new(cascade: &Cascade<T>) -> Alloc<Self> {
        let full = cascade.ffts[0].len();
        let half = cascade.ffts.get(1).map_or(full, Fft2::len);
        let coarse = cascade.ffts[cascade.options.num_scales()].len();
        let buf = |n: usize| complex_zeros::<T>(n, "a worker's workspace");
        let sizes = [
            full, full, full, half, half, full, full, full, full, full, half,
        ];
        let mut signals: [Vec<Complex<T>>; 11] = Default::default();
        for (s, n) in signals.iter_mut().zip(sizes) {
            *s = buf(n)?;
        }
        Ok(Self {
            spatial: buf(full)?,
            spec: buf(full)?,
            z1: buf(full)?,
            z2: buf(half)?,
            small: buf(coarse)?,
            coarse: buf(coarse)?,
            scratch: buf(cascade.scratch_len)?,
            signals,
            x_bar: buf(full)?,
            w_bar: buf(full)?,
            u_bar: buf(full)?,
            d_bar: buf(full)?,
        })
    }
}
