//! A counting allocator with a cap, for tests that bound memory: inside [`with_memory_cap`] an
//! allocation that would take the live total more than `cap` bytes above where it started fails
//! (which aborts the process with "memory allocation of N bytes failed"; fallible reservations
//! get an error), so a reader that allocates what a header claims fails at once instead of
//! thrashing the machine.
//!
//! Every test binary compiles this module; a binary installs the allocator with one declaration
//! at its top:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;
//! ```
//!
//! ([`with_memory_cap`] panics in a binary that did not.) The counters are global, rayon's
//! workers included: in such a binary every test takes [`super::lock`], so that no other test's
//! allocations count against a cap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The counting allocator: [`System`]'s allocations, counted and capped.
pub struct CappedAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Set by the allocations through [`CappedAlloc`]: the binary installed it.
static INSTALLED: AtomicBool = AtomicBool::new(false);

impl CappedAlloc {
    /// Counts `size` more bytes; false (nothing counted) if that passes the cap.
    fn grow(size: usize) -> bool {
        INSTALLED.store(true, Ordering::Relaxed);
        let live = LIVE.fetch_add(size, Ordering::SeqCst) + size;
        if live > CAP.load(Ordering::SeqCst) {
            LIVE.fetch_sub(size, Ordering::SeqCst);
            return false;
        }
        PEAK.fetch_max(live, Ordering::SeqCst);
        true
    }
}

// SAFETY: every call is forwarded to `System` with the same layout; only counters are added.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::grow(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::grow(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::grow(new_size - old) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                LIVE.fetch_sub(new_size - old, Ordering::SeqCst);
            }
        } else if new_size < old {
            LIVE.fetch_sub(old - new_size, Ordering::SeqCst);
        }
        p
    }
}

pub const MB: usize = 1 << 20;

/// Runs `f` with at most `cap` bytes allocated beyond what is live now; returns its result and
/// the peak it reached above that level.
///
/// # Panics
/// If this binary did not install [`CappedAlloc`] (see the module's documentation).
pub fn with_memory_cap<R>(cap: usize, f: impl FnOnce() -> R) -> (R, usize) {
    drop(std::hint::black_box(Box::new(0u8)));
    assert!(
        INSTALLED.load(Ordering::Relaxed),
        "with_memory_cap: this test binary does not install support::capped_alloc::CappedAlloc"
    );
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    CAP.store(base + cap, Ordering::SeqCst);
    let r = f();
    CAP.store(usize::MAX, Ordering::SeqCst);
    (r, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}
