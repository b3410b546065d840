//! Device memory as the executor's kernels read it: [`Buffer`] (`f32` values, or `u32` tables)
//! and [`SplitComplex`] (complex values as two `f32` buffers).
//!
//! **Split planes.** Complex data are one buffer of real parts and one of imaginary parts, each
//! `[planes, h, w]` row-major, rather than interleaved pairs: consecutive units then touch
//! consecutive words (loads and stores coalesce without vector types), shared memory has no
//! two-word stride, and a pair of burn float tensors (`re`, `im`) is the natural host-side type.

use cubecl::prelude::*;
use cubecl::server::Handle;

use super::DeviceError;
use super::launch::buffer_arg;

/// `len` 4-byte values in device memory: `f32` data (inputs, outputs, filters, gradients) or a
/// `u32` table. A burn `CubeTensor` of `f32` is one: its (contiguous) handle and its element
/// count.
#[derive(Clone, Debug)]
pub struct Buffer {
    handle: Handle,
    len: usize,
}

impl Buffer {
    /// `len` values at `handle`, for example a contiguous `CubeTensor`'s.
    ///
    /// # Panics
    /// If the handle holds fewer than `len` 4-byte values.
    pub fn new(handle: Handle, len: usize) -> Self {
        let bytes = handle.size_in_used();
        assert!(
            (len as u64).saturating_mul(4) <= bytes,
            "a buffer of {len} values on {bytes} bytes"
        );
        Self { handle, len }
    }

    /// Uploads `values`.
    pub fn upload(client: &Client, values: &[f32]) -> Self {
        Self::upload_words(client, f32::as_bytes(values), values.len())
    }

    /// Uploads a `u32` table.
    pub(super) fn upload_u32(client: &Client, values: &[u32]) -> Self {
        Self::upload_words(client, u32::as_bytes(values), values.len())
    }

    fn upload_words(client: &Client, bytes: &[u8], len: usize) -> Self {
        // At least one word: an empty binding is invalid.
        let handle = if len == 0 {
            client.create_from_slice(u32::as_bytes(&[0]))
        } else {
            client.create_from_slice(bytes)
        };
        Self { handle, len }
    }

    /// `len` uninitialised values (at least one word is allocated).
    pub(super) fn empty(client: &Client, len: usize) -> Self {
        #[cfg(feature = "testing")]
        if poison_uninitialised() {
            return Self::upload(client, &vec![f32::NAN; len]);
        }
        Self {
            handle: client.empty(4 * len.max(1)),
            len,
        }
    }

    /// `len` zeros.
    pub(super) fn zeros(client: &Client, len: usize) -> Self {
        Self::upload(client, &vec![0.0; len])
    }

    /// Reads the values back to the host (waits for the device).
    ///
    /// # Errors
    /// [`DeviceError::Runtime`] when the work that should have written them failed: the runtime
    /// reports an allocation beyond the device's memory, or a failed launch, on the buffers it
    /// left unwritten, at the next read.
    pub fn read(&self, client: &Client) -> Result<Vec<f32>, DeviceError> {
        let bytes = client
            .read_one(self.handle.clone())
            .map_err(|e| DeviceError::Runtime {
                reason: format!("reading {} values back from the device: {e}", self.len),
            })?;
        Ok(f32::from_bytes(&bytes)[..self.len].to_vec())
    }

    /// The device memory.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The device memory, for a `CubeTensor` of [`Buffer::len`] values.
    pub fn into_handle(self) -> Handle {
        self.handle
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer as a kernel argument.
    pub(super) fn arg(&self) -> BufferArg {
        buffer_arg(&self.handle, self.len)
    }
}

/// Complex values in device memory as two `f32` buffers of the same length (real parts,
/// imaginary parts): the layout every kernel of the executor reads.
#[derive(Clone, Debug)]
pub struct SplitComplex {
    pub(super) re: Buffer,
    pub(super) im: Buffer,
}

impl SplitComplex {
    /// The complex values `re + i·im`.
    ///
    /// # Panics
    /// If the parts differ in length.
    pub fn new(re: Buffer, im: Buffer) -> Self {
        assert_eq!(
            re.len(),
            im.len(),
            "real and imaginary parts differ in length"
        );
        Self { re, im }
    }

    /// The real and imaginary parts.
    pub fn into_parts(self) -> (Buffer, Buffer) {
        (self.re, self.im)
    }

    /// Uploads `re` and `im`.
    ///
    /// # Panics
    /// If they differ in length.
    pub fn upload(client: &Client, re: &[f32], im: &[f32]) -> Self {
        assert_eq!(
            re.len(),
            im.len(),
            "real and imaginary parts differ in length"
        );
        Self {
            re: Buffer::upload(client, re),
            im: Buffer::upload(client, im),
        }
    }

    /// `len` uninitialised values.
    pub fn empty(client: &Client, len: usize) -> Self {
        Self {
            re: Buffer::empty(client, len),
            im: Buffer::empty(client, len),
        }
    }

    /// Number of complex values.
    pub fn len(&self) -> usize {
        self.re.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.re.is_empty()
    }

    /// Reads both parts back (waits for the device).
    ///
    /// # Errors
    /// As [`Buffer::read`].
    pub fn read(&self, client: &Client) -> Result<(Vec<f32>, Vec<f32>), DeviceError> {
        Ok((self.re.read(client)?, self.im.read(client)?))
    }

    /// `[re, im]` as kernel arguments.
    pub(super) fn args(&self) -> [BufferArg; 2] {
        [self.re.arg(), self.im.arg()]
    }
}

/// Test builds only (feature `testing`): with `LS_POISON_DEVICE_BUFFERS=1` every buffer the
/// executor allocates without initialising is filled with NaN, so that a kernel reading memory
/// no kernel wrote shows as NaN in the tests, whatever the memory pool held before.
#[cfg(feature = "testing")]
fn poison_uninitialised() -> bool {
    static POISON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *POISON.get_or_init(|| std::env::var_os("LS_POISON_DEVICE_BUFFERS").is_some_and(|v| v == "1"))
}
