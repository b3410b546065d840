//! The tape: the intermediates a forward keeps for its backward (`X` and every complex `u1`, `u2`
//! of each plane, with the plane's power-of-two scale), in buffers pooled between steps.

use num_complex::Complex;

use super::Float;
use super::alloc::{Alloc, checked_len, zeroed};
use super::plan::Cascade;
use crate::error::Result;

/// Intermediates of a forward pass kept for the backward: per plane `X` and every `u1`, `u2`,
/// and the power-of-two scale applied to the plane.
///
/// The values live in a buffer taken from [`TAPE_POOL`] and given back on drop: a training step
/// needs a tape of the same size at every step (133 MB at batch 128 × 3 × 32 × 32, `J = 2`), and a
/// fresh allocation of that size is mapped and page-faulted in anew each time.
pub(crate) struct Tape<T> {
    /// `u64` words, viewed as `Complex<T>` (8 or 16 bytes, alignment ≤ 8).
    words: Vec<u64>,
    pub(super) exponents: Vec<i32>,
    plane_len: usize,
    element: std::marker::PhantomData<T>,
}

impl<T> std::fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("planes", &self.exponents.len())
            .field("plane_len", &self.plane_len)
            .finish()
    }
}

#[cfg_attr(not(feature = "burn"), allow(dead_code))] // the burn layer keeps tapes
impl<T: Float> Tape<T> {
    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    pub(super) fn values(&self) -> &[Complex<T>] {
        let n = self.words.len() * 8 / std::mem::size_of::<Complex<T>>();
        // SAFETY: `Complex<T>` for `T = f32 | f64` is `repr(C)`, 8 or 16 bytes with alignment 4
        // or 8, every bit pattern is a valid value, and the words are 8-aligned and `n` values long.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), n) }
    }

    /// The values and the per-plane exponents, both writable.
    pub(super) fn parts_mut(&mut self) -> (&mut [Complex<T>], &mut [i32]) {
        let n = self.words.len() * 8 / std::mem::size_of::<Complex<T>>();
        // SAFETY: as in `values`; the result borrows the words exclusively for the lifetime of
        // `&mut self`, and the exponents are a separate field.
        let values = unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), n) };
        (values, &mut self.exponents)
    }
}

impl<T> Drop for Tape<T> {
    fn drop(&mut self) {
        TAPE_POOL.give_back(std::mem::take(&mut self.words));
    }
}

/// Tape buffers kept for reuse, at most [`TapePool::MAX_BYTES`] in all.
pub(crate) static TAPE_POOL: TapePool = TapePool {
    buffers: std::sync::Mutex::new(Vec::new()),
};

/// A small pool of word buffers (see [`Tape`]).
pub(crate) struct TapePool {
    buffers: std::sync::Mutex<Vec<Vec<u64>>>,
}

impl TapePool {
    /// Largest total size kept between steps: 8 GiB. A step of the paper's KTH-TIPS2-b setting
    /// (batch 128 × 3 × 128 × 128, `J = 4`, f32) keeps a 3.1 GB tape; with a smaller limit that
    /// tape was mapped and page-faulted in anew at every step, a fifth of the step's time
    /// (measured, `docs/benchmarks.md`). The pool only ever holds buffers a step has used, so
    /// what it keeps is at most the last step's peak.
    const MAX_BYTES: usize = 8 << 30;

    /// A buffer of `words` words; its contents are unspecified (the forward writes every word
    /// before the backward reads it; filter-gradient accumulators are zeroed by their owner).
    /// A new buffer is reserved fallibly: the failure names `what` and the bytes.
    pub(super) fn take(&self, words: usize, what: &'static str) -> Alloc<Vec<u64>> {
        let mut pool = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        // The smallest buffer that is large enough, else the largest (grown).
        let pick = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= words)
            .min_by_key(|&i| pool[i].capacity())
            .or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].capacity()));
        let mut buf = pick.map(|i| pool.swap_remove(i)).unwrap_or_default();
        drop(pool);
        if buf.capacity() < words {
            // Zeroed allocations come from the kernel as untouched pages: no memset. The old
            // buffer is released first, so that the two never need to fit at once.
            drop(buf);
            buf = zeroed(words, what)?;
        }
        buf.resize(words, 0);
        Ok(buf)
    }

    pub(super) fn give_back(&self, buf: Vec<u64>) {
        if buf.capacity() == 0 {
            return;
        }
        let mut pool = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        let held: usize = pool.iter().map(|b| b.capacity() * 8).sum();
        if held + buf.capacity() * 8 <= Self::MAX_BYTES {
            pool.push(buf);
        }
    }
}

impl<T: Float> Cascade<T> {
    /// An empty tape for `planes` planes, reserved fallibly.
    ///
    /// # Errors
    /// [`ScatterError::OutOfMemory`] when the tape cannot be allocated (or addressed).
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    pub(crate) fn new_tape(&self, planes: usize) -> Result<Tape<T>> {
        const WHAT: &str = "the intermediates of the forward (its tape)";
        let len = checked_len::<Complex<T>>(planes, self.tape_len, WHAT)?;
        let words = len * std::mem::size_of::<Complex<T>>() / 8;
        Ok(Tape {
            words: TAPE_POOL.take(words, WHAT)?,
            exponents: zeroed(planes, WHAT)?,
            plane_len: self.tape_len,
            element: std::marker::PhantomData,
        })
    }
}

/// The intermediates of one [`Scattering2dPlan::forward`](super::Scattering2dPlan::forward) (the
/// padded input spectrum and every complex first- and second-order signal of each plane), read by
/// [`Scattering2dPlan::backward`](super::Scattering2dPlan::backward) instead of recomputing them.
/// About `(1 + J·L + …)·Mp·Np` complex values per plane: 133 MB at batch 128 × 3 × 32 × 32,
/// `J = 2`.
pub struct ScatteringTape<T: Float = f32> {
    tape: Tape<T>,
    shape: Vec<usize>,
}

impl<T: Float> std::fmt::Debug for ScatteringTape<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScatteringTape")
            .field("shape", &self.shape)
            .field("bytes", &self.tape.bytes())
            .finish()
    }
}

impl<T: Float> ScatteringTape<T> {
    pub(super) fn new(tape: Tape<T>, shape: Vec<usize>) -> Self {
        Self { tape, shape }
    }

    /// Bytes held by the recorded intermediates.
    pub fn bytes(&self) -> usize {
        self.tape.bytes()
    }

    /// The shape of the input it was recorded on.
    pub(super) fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub(super) fn tape(&self) -> &Tape<T> {
        &self.tape
    }
}
