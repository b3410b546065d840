//! Fallible allocation of the buffers whose size comes from the caller: outputs, tapes, copies of
//! non-contiguous inputs, gradients, the workers' workspaces, and a plan's estimated memory. A
//! refused allocation is [`ScatterError::OutOfMemory`] naming the bytes asked for, never the
//! process abort of an infallible `Vec` allocation (`handle_alloc_error`).

use std::alloc::Layout;
use std::any::TypeId;
use std::borrow::Cow;

use ndarray::ArrayViewD;
use num_complex::Complex;

use super::Float;
use crate::error::ScatterError;

/// An allocation that failed: what it was for and its size. `Copy`, so that every worker that
/// could not start can report it and one [`ScatterError`] is made at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AllocFailure {
    pub(crate) what: &'static str,
    pub(crate) bytes: u128,
}

/// The result of a fallible allocation.
pub(crate) type Alloc<T> = Result<T, AllocFailure>;

impl From<AllocFailure> for ScatterError {
    fn from(f: AllocFailure) -> Self {
        ScatterError::OutOfMemory {
            what: f.what,
            bytes: f.bytes,
        }
    }
}

/// Integer types whose all-zero bit pattern is `0`: the tape's words and exponents, allocated
/// zeroed by [`zeroed`].
///
/// # Safety
/// Implementors must be plain data for which every zero byte pattern is a valid value.
pub(crate) unsafe trait Zeroable: Copy {}
// SAFETY: integers are valid for every bit pattern, zero included.
unsafe impl Zeroable for u64 {}
unsafe impl Zeroable for i32 {}

/// `len` elements of `T` times their size, in `u128` (no overflow).
pub(crate) fn bytes_of<T>(len: u128) -> u128 {
    len.saturating_mul(std::mem::size_of::<T>() as u128)
}

/// `a·b` elements, or the failure of a buffer of that many `T` (which cannot be addressed).
pub(crate) fn checked_len<T>(a: usize, b: usize, what: &'static str) -> Alloc<usize> {
    a.checked_mul(b)
        .filter(|&n| Layout::array::<T>(n).is_ok())
        .ok_or(AllocFailure {
            what,
            bytes: bytes_of::<T>(a as u128 * b as u128),
        })
}

/// A vector of `len` zeros, allocated zeroed (fresh pages from the kernel are not written), or
/// the failure.
pub(crate) fn zeroed<T: Zeroable>(len: usize, what: &'static str) -> Alloc<Vec<T>> {
    // SAFETY: `T: Zeroable`.
    unsafe { alloc_zeroed_vec(len, what) }
}

/// [`zeroed`] for the cascade's element type: `0.0` of `f32` and `f64` is the all-zero bit
/// pattern, which `vec![0.0; n]` also allocates zeroed; any other [`Float`] is filled.
pub(crate) fn zeros<T: Float>(len: usize, what: &'static str) -> Alloc<Vec<T>> {
    let id = TypeId::of::<T>();
    if id == TypeId::of::<f32>() || id == TypeId::of::<f64>() {
        // SAFETY: `T` is `f32` or `f64`, whose all-zero bit pattern is `0.0`.
        unsafe { alloc_zeroed_vec(len, what) }
    } else {
        filled(len, T::zero(), what)
    }
}

/// [`zeros`] for complex values of the cascade's element type (`0 + 0i` is all-zero bits too):
/// the workers' buffers, of which a call may use only some (a forward never touches the
/// backward's), stay untouched pages until used, as `vec![zero; n]` left them.
pub(crate) fn complex_zeros<T: Float>(len: usize, what: &'static str) -> Alloc<Vec<Complex<T>>> {
    let id = TypeId::of::<T>();
    if id == TypeId::of::<f32>() || id == TypeId::of::<f64>() {
        // SAFETY: `Complex<T>` is `repr(C)` of two `f32` or two `f64`, whose all-zero bit
        // pattern is `0 + 0i`.
        unsafe { alloc_zeroed_vec(len, what) }
    } else {
        filled(len, Complex::new(T::zero(), T::zero()), what)
    }
}

/// `len` zeroed elements of `T`.
///
/// # Safety
/// The all-zero bit pattern must be a valid `T`.
unsafe fn alloc_zeroed_vec<T>(len: usize, what: &'static str) -> Alloc<Vec<T>> {
    let failure = AllocFailure {
        what,
        bytes: bytes_of::<T>(len as u128),
    };
    let layout = Layout::array::<T>(len).map_err(|_| failure)?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(failure);
    }
    // SAFETY: `ptr` was allocated by the global allocator with `Layout::array::<T>(len)` (the
    // layout `Vec<T>` uses for capacity `len`), and its `len` elements are all-zero bits, a
    // valid `T` by the caller's promise.
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// A vector of `len` copies of `value`, reserved fallibly (then written: use [`zeroed`] for the
/// large integer buffers that should stay untouched pages until used).
pub(crate) fn filled<T: Clone>(len: usize, value: T, what: &'static str) -> Alloc<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| AllocFailure {
        what,
        bytes: bytes_of::<T>(len as u128),
    })?;
    v.resize(len, value);
    Ok(v)
}

/// The elements of `view` in row-major order: borrowed when it is C-contiguous already, else
/// copied into a buffer reserved fallibly (a broadcast view of a few bytes may stand for an
/// array of gigabytes). The copy goes through ndarray's `assign`, which loops over the innermost
/// axis with its stride (a broadcast gradient, all strides 0, copies at memory speed).
pub(crate) fn standard_layout<'a, T: Copy + num_traits::Zero>(
    view: &'a ArrayViewD<'_, T>,
    what: &'static str,
) -> Alloc<Cow<'a, [T]>> {
    if let Some(slice) = view.as_slice() {
        return Ok(Cow::Borrowed(slice));
    }
    let mut copy = filled(view.len(), T::zero(), what)?;
    ndarray::ArrayViewMutD::from_shape(view.raw_dim(), &mut copy)
        .expect("a buffer of the view's length")
        .assign(view);
    Ok(Cow::Owned(copy))
}

/// Checks that `bytes` can be reserved now, by reserving and releasing them: the estimate of a
/// plan's memory (made of many allocations inside the FFT library and `ndarray`, which cannot
/// fail gracefully) is asked for at once before any of them is made.
pub(crate) fn check_reservable(bytes: u128, what: &'static str) -> Alloc<()> {
    let failure = AllocFailure { what, bytes };
    let n = usize::try_from(bytes).map_err(|_| failure)?;
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(n).map_err(|_| failure)?;
    Ok(())
}
