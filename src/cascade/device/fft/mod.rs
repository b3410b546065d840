//! The batched 2-D FFT of the device executor: the planner ([`planner`], pure Rust), the
//! kernels ([`kernels`]) and their launches ([`DeviceFft`]): one launch per 2-D transform of a
//! whole batch when a plane fits in shared memory, one per pass otherwise; never one per plane.

pub(crate) mod kernels;
pub mod planner;
pub(crate) mod stages;
#[cfg(test)]
mod tests;

use cubecl::prelude::*;

use self::kernels::{fft_lines, fft_plane};
use self::planner::FftTables;
use super::DeviceError;
use super::buffer::{Buffer, SplitComplex};
use super::launch::{DeviceLimits, as_u32, count_launch, cube_count, units_for};

/// Transform direction. Both are unnormalised: `Inverse` has no `1/n` (as rustfft).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `e^{−2πi·kn/N}`.
    Forward,
    /// `e^{+2πi·kn/N}`.
    Inverse,
}

impl Direction {
    /// The sign the kernels multiply the imaginary part of every root by.
    pub(super) fn sign(self) -> f32 {
        match self {
            Self::Forward => 1.0,
            Self::Inverse => -1.0,
        }
    }
}

/// How [`DeviceFft::fft2`] transforms a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fft2Path {
    /// The whole plane in shared memory: one launch.
    Plane,
    /// Rows then columns, one launch each, through a temporary buffer.
    Lines,
}

/// Complex values a line-kernel cube aims to hold (16 KiB of shared memory with ping-pong).
const LINE_CUBE_TARGET: usize = 1024;

/// Bytes of shared memory per complex value of a transform: two buffers (ping-pong between the
/// Stockham stages) of real and imaginary `f32` parts.
pub(super) const SHARED_BYTES_PER_VALUE: usize = 16;

/// The plans of a set of lengths, uploaded once, and the launches of the batched transforms.
pub struct DeviceFft {
    client: Client,
    limits: DeviceLimits,
    tables: FftTables,
    words: Buffer,
    floats: Buffer,
}

impl std::fmt::Debug for DeviceFft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFft")
            .field("limits", &self.limits)
            .field("lengths", &self.tables.lengths().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl DeviceFft {
    /// Plans `lengths` (each at least 1) and uploads their tables.
    ///
    /// # Errors
    /// [`DeviceError::LineTooLong`] when a line of some length (its Bluestein convolution for a
    /// length with a prime factor above 13) does not fit in the device's workgroup memory:
    /// lengths above 2048 (1024 for Bluestein) on 32 KiB.
    pub fn new(
        client: &Client,
        lengths: impl IntoIterator<Item = usize>,
    ) -> Result<Self, DeviceError> {
        let tables = FftTables::new(lengths);
        let limits = DeviceLimits::of(client);
        for n in tables.lengths() {
            let needed = SHARED_BYTES_PER_VALUE * tables.plan(n).expect("planned").work_len();
            if needed > limits.shared_bytes {
                return Err(DeviceError::LineTooLong {
                    length: n,
                    needed,
                    available: limits.shared_bytes,
                    adapter: client.properties().identity.name.clone(),
                });
            }
        }
        Ok(Self {
            client: client.clone(),
            limits,
            words: Buffer::upload_u32(client, &tables.words),
            floats: Buffer::upload(client, &tables.floats),
            tables,
        })
    }

    /// The plan tables (host copy).
    pub fn tables(&self) -> &FftTables {
        &self.tables
    }

    /// The device limits the launches are sized by.
    pub fn limits(&self) -> &DeviceLimits {
        &self.limits
    }

    /// The client the tables live on.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The descriptor table as a kernel argument.
    pub(super) fn words_arg(&self) -> BufferArg {
        self.words.arg()
    }

    /// The twiddle, chirp and filter table as a kernel argument.
    pub(super) fn floats_arg(&self) -> BufferArg {
        self.floats.arg()
    }

    /// The path [`DeviceFft::fft2`] takes for an `h × w` grid: [`Fft2Path::Plane`] when both
    /// lengths are mixed radix and the plane's two buffers fit in workgroup memory (40×40, 36×36
    /// and 48×40 at 32 KiB; 48×48 at 48 KiB; not 72×72).
    pub fn path(&self, h: usize, w: usize) -> Fft2Path {
        let plain = |n: usize| self.tables.plan(n).is_some_and(|p| !p.is_bluestein());
        if plain(h)
            && plain(w)
            && SHARED_BYTES_PER_VALUE * plane_cap(h, w) <= self.limits.shared_bytes
        {
            Fft2Path::Plane
        } else {
            Fft2Path::Lines
        }
    }

    /// 1-D transforms along the rows (`axis = 1`, length `w`) or the columns (`axis = 0`,
    /// length `h`) of every plane of `x` (`[planes, h, w]`) into `out` (same shape, another
    /// buffer), the output `out_offset` values into `out`: one launch.
    ///
    /// # Panics
    /// If a buffer is shorter than the planes, `axis` is not 0 or 1, or the length was not
    /// planned.
    pub fn lines(
        &self,
        x: &SplitComplex,
        (out, out_offset): (&SplitComplex, usize),
        [planes, h, w]: [usize; 3],
        axis: usize,
        dir: Direction,
    ) {
        let len = planes * h * w;
        assert!(
            x.len() >= len && out.len() >= out_offset + len,
            "buffers shorter than the planes"
        );
        if len == 0 {
            return;
        }
        let (n, lines_per_plane, line_step, elem_step) = match axis {
            1 => (w, h, w, 1),
            0 => (h, w, 1, w),
            _ => panic!("axis must be 0 (columns) or 1 (rows), got {axis}"),
        };
        let work = self.plan_work(n);
        let num_lines = planes * lines_per_plane;
        // Enough lines per cube to fill it; for columns at least 8 adjacent ones, so loads of
        // consecutive units hit consecutive addresses.
        let per_cube = (LINE_CUBE_TARGET / work)
            .max(if axis == 0 { 8 } else { 1 })
            .min(self.limits.shared_bytes / (SHARED_BYTES_PER_VALUE * work))
            .clamp(1, 64);
        let units = units_for(per_cube * work / 2, &self.limits);
        count_launch();
        fft_lines::launch(
            &self.client,
            cube_count(num_lines.div_ceil(per_cube), &self.limits),
            CubeDim::new_1d(units as u32),
            x.re.arg(),
            x.im.arg(),
            out.re.arg(),
            out.im.arg(),
            self.words_arg(),
            self.floats_arg(),
            self.tables.offset(n),
            as_u32(num_lines),
            as_u32(lines_per_plane),
            as_u32(h * w),
            as_u32(line_step),
            as_u32(elem_step),
            dir.sign(),
            as_u32(per_cube),
            as_u32(out_offset),
            self.line_cap(per_cube * work),
            units,
        );
    }

    /// Complex values a line of length `n` occupies in shared memory.
    fn plan_work(&self, n: usize) -> usize {
        self.tables
            .plan(n)
            .unwrap_or_else(|| panic!("FFT length {n} was not planned"))
            .work_len()
    }

    /// The shared capacity of a line cube holding `exact` values: rounded up (a power of two,
    /// else a multiple of 256) so that few kernel variants get compiled, exact when rounding
    /// would not fit.
    fn line_cap(&self, exact: usize) -> usize {
        [
            exact.next_power_of_two(),
            exact.next_multiple_of(256),
            exact,
        ]
        .into_iter()
        .find(|c| SHARED_BYTES_PER_VALUE * c <= self.limits.shared_bytes)
        .expect("one line fits (checked at planning)")
    }

    /// 2-D transform of every `h × w` plane of `x` into `out` (another buffer, same shape), the
    /// output `out_offset` values into `out` (a block of a larger buffer): one launch on the
    /// [`Fft2Path::Plane`] path, two on [`Fft2Path::Lines`] (through a temporary buffer),
    /// whatever the number of planes.
    ///
    /// # Panics
    /// If a buffer is shorter than the planes, or a length was not planned.
    pub fn fft2(
        &self,
        x: &SplitComplex,
        (out, out_offset): (&SplitComplex, usize),
        [planes, h, w]: [usize; 3],
        dir: Direction,
    ) -> Fft2Path {
        let len = planes * h * w;
        assert!(
            x.len() >= len && out.len() >= out_offset + len,
            "buffers shorter than the planes"
        );
        let path = self.path(h, w);
        if len == 0 {
            return path;
        }
        match path {
            Fft2Path::Plane => {
                let units = units_for(h * w / 2, &self.limits);
                count_launch();
                fft_plane::launch(
                    &self.client,
                    cube_count(planes, &self.limits),
                    CubeDim::new_1d(units as u32),
                    x.re.arg(),
                    x.im.arg(),
                    out.re.arg(),
                    out.im.arg(),
                    self.words_arg(),
                    self.floats_arg(),
                    self.tables.offset(w),
                    self.tables.offset(h),
                    as_u32(planes),
                    dir.sign(),
                    as_u32(out_offset),
                    plane_cap(h, w),
                    units,
                );
            }
            Fft2Path::Lines => {
                let tmp = SplitComplex::empty(&self.client, len);
                self.lines(x, (&tmp, 0), [planes, h, w], 1, dir);
                self.lines(&tmp, (out, out_offset), [planes, h, w], 0, dir);
            }
        }
        path
    }
}

/// Shared-memory capacity (complex values per buffer) of the plane kernels for `h × w`: rounded
/// up to a multiple of 64 so that nearby sizes share a compiled kernel.
pub(super) fn plane_cap(h: usize, w: usize) -> usize {
    (h * w).next_multiple_of(64)
}
