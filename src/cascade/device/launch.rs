//! Launch bookkeeping shared by every kernel of the device executor: the launch counter, the
//! device limits that size the kernels, launch grids over any number of work items, and kernel
//! arguments checked against the buffers they bind.

use std::sync::atomic::{AtomicUsize, Ordering};

use cubecl::prelude::*;
use cubecl::server::Handle;

static LAUNCHES: AtomicUsize = AtomicUsize::new(0);

/// Kernel launches made by the device executor since the process started, on every thread (each
/// launch goes through `count_launch`). Tests read it before and after an operation to check
/// that the number of launches depends on neither the batch nor `L`.
pub fn launches() -> usize {
    LAUNCHES.load(Ordering::Relaxed)
}

/// Records one launch; called right before each `kernel::launch`.
pub(super) fn count_launch() {
    LAUNCHES.fetch_add(1, Ordering::Relaxed);
}

/// Units per cube of the elementwise kernels (one unit per output value).
pub(super) const UNITS: usize = 256;

/// The limits of a device that size the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceLimits {
    /// Workgroup (shared) memory per cube, bytes: wgpu's `max_compute_workgroup_storage_size`
    /// (32768 on Mesa's lavapipe, 49152 on the NVIDIA drivers).
    pub shared_bytes: usize,
    /// Units per cube: wgpu's `max_compute_invocations_per_workgroup`.
    pub units_per_cube: usize,
    /// Cubes per dimension of a launch grid.
    pub cubes_per_dim: u32,
    /// Bytes of the largest buffer: the runtime's page size (wgpu's `max_storage_buffer_binding_size`
    /// and `max_buffer_size`), and at most `2^32` values of 4 bytes (the kernels' `u32` indices).
    pub max_buffer_bytes: u64,
}

impl DeviceLimits {
    /// The limits `client` reports.
    pub fn of(client: &Client) -> Self {
        let hw = &client.properties().hardware;
        Self {
            shared_bytes: hw.max_shared_memory_size,
            units_per_cube: hw.max_units_per_cube as usize,
            cubes_per_dim: hw.max_cube_count.0.max(1),
            max_buffer_bytes: client.properties().memory.max_page_size.min(4 << 32),
        }
    }
}

/// A grid of at least `cubes` cubes (x first, then y); kernels linearise it with `CUBE_POS` and
/// return early past their work.
///
/// # Panics
/// Beyond `cubes_per_dim²` cubes (4.3·10⁹ on every wgpu device): larger than any buffer the
/// executor can address with `u32` indices ([`as_u32`]).
pub(super) fn cube_count(cubes: usize, limits: &DeviceLimits) -> CubeCount {
    let max = limits.cubes_per_dim as usize;
    let cubes = cubes.max(1);
    if cubes <= max {
        CubeCount::Static(cubes as u32, 1, 1)
    } else {
        let y = cubes.div_ceil(max);
        assert!(y <= max, "{cubes} cubes exceed the launch grid");
        CubeCount::Static(max as u32, y as u32, 1)
    }
}

/// The grid and cube of an elementwise kernel over `total` values: [`UNITS`] units per cube.
pub(super) fn elementwise(total: usize, limits: &DeviceLimits) -> (CubeCount, CubeDim) {
    (
        cube_count(total.div_ceil(UNITS), limits),
        CubeDim::new_1d(UNITS as u32),
    )
}

/// Units per cube for `work` independent items per barrier phase: a power of two from 32 to 256,
/// and at most the device's limit.
pub(super) fn units_for(work: usize, limits: &DeviceLimits) -> usize {
    work.next_power_of_two()
        .clamp(32, 256)
        .min(limits.units_per_cube.max(1))
}

/// `v` as a kernel's `u32` scalar.
///
/// # Panics
/// Above `u32::MAX`: the kernels index their buffers with `u32` scalars, so a buffer of more
/// than 2³² values (16 GiB of `f32`) is beyond them.
pub(super) fn as_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or_else(|_| {
        panic!("{v} is beyond the device kernels' u32 indices (buffers of at most 2^32 values)")
    })
}

/// `handle` bound as a kernel's buffer of `len` 4-byte values (`f32` or `u32`; at least one,
/// the binding of an empty buffer being invalid).
///
/// # Panics
/// If the handle holds fewer than `max(len, 1)` values: the one check between a length and the
/// memory a kernel may touch.
pub(super) fn buffer_arg(handle: &Handle, len: usize) -> BufferArg {
    let len = len.max(1);
    let bytes = handle.size_in_used();
    assert!(
        (len as u64).saturating_mul(4) <= bytes,
        "a kernel argument of {len} values bound to a buffer of {bytes} bytes"
    );
    // SAFETY: the handle holds at least `len` 4-byte values (checked above), so the kernel's
    // reads and writes at indices below `len` stay inside it.
    unsafe { BufferArg::from_raw_parts(handle.clone(), len) }
}
