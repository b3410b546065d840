//! Planning on the device: what a cascade needs for one input size and `(J, L, max_order)`
//! ([`DevicePlan`], uploaded once), and wavelet spectra prepared for it ([`DeviceBank`]): the
//! device's `super::super::plan` (`Cascade`, `PreparedFilters`), from the same tables.
//!
//! A [`DevicePlan`] holds the FFT plans of every resolution `2^−r`, `r = 0..=J`, the low-pass
//! `φ̃` at the resolutions it is applied at, the reflect-padding tables
//! (`PaddedGeometry::source_row`, `source_col`), the channel of every path (read from
//! [`crate::geometry::paths`]), the bank layout with the crop indices of
//! [`crate::filters::periodize_rows`], and the adjoint's tables (`super::tables`). Unlike the
//! host's, filters keep the natural `[h][w]` layout (the host's transposed layout saves it a
//! transpose; here the column pass reads strided) and are stored once, not twice.

use cubecl::prelude::*;

use super::DeviceError;
use super::buffer::Buffer;
use super::fft::{DeviceFft, Fft2Path};
use super::kernels::adjoint::FILTER_GRAD_BLOCK;
use super::kernels::elementwise::crop_scale;
use super::launch::{DeviceLimits, as_u32, count_launch, elementwise};
use super::steps::Filters;
use super::tables::{AdjointTables, ChannelMaps};
use crate::cascade::check_plan_size;
use crate::cascade::transform::check_bank;
use crate::filters::spectral::{gabor_spectrum, wavelet_spectra};
use crate::filters::{FilterBankParams, periodize, periodize_rows};
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath, paths};

/// The cascade planned on a device for one input size and `(J, L, max_order)`: FFT plans of every
/// resolution, the padding tables, the low-pass at every resolution and the adjoint's tables,
/// uploaded once. The wavelets come separately as a [`DeviceBank`] (the learnable layer's filters
/// change at every step), as the host's `Scattering2dPlan` and its `PreparedBank`.
///
/// [`DevicePlan::forward`] and [`DevicePlan::backward`] (`super::forward`, `super::adjoint`) run
/// it on any number of planes, with a launch count that depends on neither that number nor `L`.
pub struct DevicePlan {
    pub(super) client: Client,
    pub(super) limits: DeviceLimits,
    pub(super) options: ScatteringOptions,
    pub(super) geometry: PaddedGeometry,
    pub(super) paths: Vec<ScatteringPath>,
    pub(super) fft: DeviceFft,
    /// Reflect-padding source rows (`Mp`), then columns (`Np`).
    pub(super) pad_tables: Buffer,
    /// One value, bound where a launch leaves a buffer argument unused.
    pub(super) dummy: Buffer,
    /// Whether steps whose plane fits in shared memory run fused (`super::kernels::fused`).
    pub(super) fused: bool,
    /// `φ̃[r]`, `r < J`, cropped and pre-scaled, `[M_r, N_r]` each, at `phi_offset[r]`.
    pub(super) phi: Buffer,
    pub(super) phi_offset: Vec<usize>,
    /// The output channels of every low-pass.
    pub(super) maps: ChannelMaps,
    /// Where each `(scale, resolution)` block sits in every [`DeviceBank`] of this plan.
    pub(super) layout: BankLayout,
    crop: CropTables,
    pub(super) adjoint: AdjointTables,
}

/// The layout of a plan's banks: `offset[j][r]` of the `[L, M_r, N_r]` block of scale `j` at
/// resolution `r` (`r < levels(j)`), and the bank's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BankLayout {
    pub(super) offset: Vec<Vec<usize>>,
    pub(super) len: usize,
}

/// The tables of [`crop_scale()`]: one `[start, j, rows, cols, M_r, N_r]` record per block of the
/// bank, the crop indices of every level (`periodize_rows(Mp, r)` at `rows`, `(Np, r)` at
/// `cols`), and each block's scale `1/(M_r·N_r)`.
struct CropTables {
    blocks: Buffer,
    indices: Buffer,
    scales: Buffer,
    count: usize,
}

/// Wavelet spectra prepared for a [`DevicePlan`]: the `L` wavelets of each scale `j`, cropped to
/// every resolution `r` they multiply (0, and every `j1 < j` for order 2) and pre-scaled by
/// `1/(M_r·N_r)`, in one device buffer.
pub struct DeviceBank {
    pub(super) filters: Buffer,
    layout: BankLayout,
    options: ScatteringOptions,
    padded_size: [usize; 2],
}

impl std::fmt::Debug for DeviceBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBank")
            .field("values", &self.layout.len)
            .field("padded_size", &self.padded_size)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DevicePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevicePlan")
            .field("options", &self.options)
            .field("geometry", &self.geometry)
            .field("fft", &self.fft)
            .finish_non_exhaustive()
    }
}

/// Resolutions at which the wavelets of scale `j` are applied: 0 (order 1, and order 2 from
/// `j1 = 0`) and every `j1 < j` (order 2); the host plan's `Cascade::resolutions`.
pub(super) fn levels(options: &ScatteringOptions, j: usize) -> usize {
    if options.max_order() >= 2 {
        j.max(1)
    } else {
        1
    }
}

impl DevicePlan {
    /// Plans the cascade for `height × width` inputs on `client`'s device.
    ///
    /// # Errors
    /// As the host plan (`Scattering2dPlan::new`): invalid options, `2^J` above the input size,
    /// a padded plane or a plan beyond the crate's limits; and [`DeviceError::LineTooLong`] when
    /// a padded length needs more workgroup memory than the device has.
    pub fn new(
        client: &Client,
        height: usize,
        width: usize,
        options: ScatteringOptions,
    ) -> Result<Self, DeviceError> {
        options.validate()?;
        let big_j = options.num_scales();
        let geometry = PaddedGeometry::new(height, width, big_j)?;
        check_plan_size::<f32>(&options, &geometry)?;
        let [mp, np] = geometry.padded_size();
        let fft = DeviceFft::new(client, (0..=big_j).flat_map(|r| [mp >> r, np >> r]))?;
        // The low-pass is fixed by J (kymatio's φ, also in the paper's learnable setting), as in
        // the host plan.
        let low_pass = FilterBankParams::tight_frame(big_j, 1)?.low_pass();
        let phi_full = gabor_spectrum(mp, np, &low_pass);
        let mut phi = Vec::new();
        let phi_offset: Vec<usize> = (0..big_j)
            .map(|r| push_prepared(&mut phi, &periodize(phi_full.view(), r)))
            .collect();
        let pad: Vec<u32> = (0..mp)
            .map(|i| as_u32(geometry.source_row(i)))
            .chain((0..np).map(|i| as_u32(geometry.source_col(i))))
            .collect();
        let layout = BankLayout::new(&options, [mp, np]);
        let paths = paths(&options);
        let maps = ChannelMaps::new(&options, &paths);
        let adjoint = AdjointTables::new(
            client,
            &options,
            &geometry,
            (&paths, &maps),
            &phi_offset,
            &layout,
        );
        Ok(Self {
            client: client.clone(),
            limits: DeviceLimits::of(client),
            crop: CropTables::new(client, &options, [mp, np], &layout),
            options,
            geometry,
            paths,
            fft,
            pad_tables: Buffer::upload_u32(client, &pad),
            dummy: Buffer::zeros(client, 1),
            fused: true,
            phi: Buffer::upload(client, &phi),
            phi_offset,
            maps,
            layout,
            adjoint,
        })
    }

    /// The spectra of `bank`, built on the host by `filters::spectral` in `f64`, cropped and
    /// scaled there (rounded to `f32` once, as the host plan prepares them), and uploaded.
    ///
    /// # Errors
    /// The bank's own checks and [`crate::ScatterError::InvalidParameter`] (`filter_bank`) for a
    /// bank of another `J` or `L`, as the host plan's `prepare`.
    pub fn prepare(&self, bank: &FilterBankParams) -> Result<DeviceBank, DeviceError> {
        check_bank(&self.options, bank)?;
        let [mp, np] = self.geometry.padded_size();
        let psi = wavelet_spectra(bank.wavelets(), mp, np);
        let plane = mp * np;
        let big_l = self.options.num_orientations();
        let mut floats = Vec::with_capacity(self.layout.len);
        for j in 0..self.options.num_scales() {
            for r in 0..levels(&self.options, j) {
                debug_assert_eq!(floats.len(), self.layout.offset[j][r]);
                for l in 0..big_l {
                    let n = j * big_l + l;
                    let full =
                        ndarray::ArrayView2::from_shape((mp, np), &psi[n * plane..][..plane])
                            .expect("one plane of the padded grid");
                    push_prepared(&mut floats, &periodize(full, r));
                }
            }
        }
        Ok(self.bank(Buffer::upload(&self.client, &floats)))
    }

    /// Full-resolution wavelet spectra already on the device (`psi`: `[J·L, Mp, Np]` `f32`, FFT
    /// order, for example the buffer of a burn tensor), cropped and scaled by one launch.
    ///
    /// # Errors
    /// [`crate::ScatterError::InvalidShape`] when `psi` does not hold `J·L·Mp·Np` values.
    pub fn prepare_spectra(&self, psi: &Buffer) -> Result<DeviceBank, DeviceError> {
        let [mp, np] = self.geometry.padded_size();
        let wavelets = self.options.num_scales() * self.options.num_orientations();
        if psi.len() != wavelets * mp * np {
            return Err(crate::ScatterError::InvalidShape {
                expected: vec![Some(wavelets), Some(mp), Some(np)],
                got: vec![psi.len()],
            }
            .into());
        }
        let filters = Buffer::empty(&self.client, self.layout.len);
        let total = self.layout.len;
        let (count, dim) = elementwise(total, &self.limits);
        count_launch();
        crop_scale::launch(
            &self.client,
            count,
            dim,
            psi.arg(),
            self.crop.blocks.arg(),
            self.crop.indices.arg(),
            self.crop.scales.arg(),
            filters.arg(),
            as_u32(self.crop.count),
            as_u32(self.options.num_orientations()),
            as_u32(mp),
            as_u32(np),
            as_u32(total),
        );
        Ok(self.bank(filters))
    }

    fn bank(&self, filters: Buffer) -> DeviceBank {
        DeviceBank {
            filters,
            layout: self.layout.clone(),
            options: self.options,
            padded_size: self.geometry.padded_size(),
        }
    }

    /// [`crate::ScatterError::InvalidParameter`] (`bank`) for a bank prepared by another plan.
    pub(super) fn check_bank(&self, bank: &DeviceBank) -> Result<(), DeviceError> {
        if bank.padded_size == self.geometry.padded_size()
            && bank.options == self.options
            && bank.layout == self.layout
        {
            return Ok(());
        }
        Err(crate::ScatterError::InvalidParameter {
            name: "bank",
            value: format!(
                "prepared for a {:?} padded grid with {:?}",
                bank.padded_size, bank.options
            ),
            reason: "a bank must be prepared by the plan that runs it",
        }
        .into())
    }

    /// The options.
    pub fn options(&self) -> &ScatteringOptions {
        &self.options
    }

    /// The padding geometry.
    pub fn geometry(&self) -> &PaddedGeometry {
        &self.geometry
    }

    /// Output channels in order ([`crate::geometry::paths`]).
    pub fn paths(&self) -> &[ScatteringPath] {
        &self.paths
    }

    /// The FFT plans of every resolution.
    pub fn fft(&self) -> &DeviceFft {
        &self.fft
    }

    /// The client the plan lives on.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Values per input plane, `height·width`.
    pub fn input_plane(&self) -> usize {
        self.geometry.height * self.geometry.width
    }

    /// Values per output plane, `K·⌊height/2^J⌋·⌊width/2^J⌋`.
    pub fn output_plane(&self) -> usize {
        let [ho, wo] = self.geometry.output_size();
        self.paths.len() * ho * wo
    }

    /// Checks that every buffer a forward or backward of `planes` image planes allocates fits in
    /// one buffer of the device ([`DeviceLimits::max_buffer_bytes`]), before anything is
    /// allocated.
    ///
    /// # Errors
    /// [`DeviceError::BatchTooLarge`] naming the first buffer that does not.
    pub(super) fn check_batch(&self, planes: usize) -> Result<(), DeviceError> {
        let p = planes as u128;
        let blocks = planes.div_ceil(FILTER_GRAD_BLOCK) as u128;
        let partial = (
            "the filter gradient's partial sums",
            blocks * self.layout.len as u128,
        );
        let buffers = self
            .buffers_per_plane()
            .into_iter()
            .map(|(what, v)| (what, p * v as u128));
        for (what, values) in buffers.chain([partial]) {
            let bytes = 4 * values;
            if bytes > u128::from(self.limits.max_buffer_bytes) {
                return Err(DeviceError::BatchTooLarge {
                    planes,
                    what,
                    bytes,
                    limit: self.limits.max_buffer_bytes,
                    adapter: self.client.properties().identity.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The buffers of a forward and a backward, in values per image plane (each part of a complex
    /// buffer is a buffer of its own).
    fn buffers_per_plane(&self) -> Vec<(&'static str, usize)> {
        let big_l = self.options.num_orientations();
        let area = |r: usize| {
            let [m, n] = self.grid(r);
            m * n
        };
        let coarse = self.paths.len() * area(self.options.num_scales());
        let mut out = vec![
            ("the padded spectrum", area(0)),
            ("the first-order signals", big_l * area(0)),
            ("the coefficients", self.output_plane()),
            ("the output gradient's spectra", coarse),
            ("the first-order gradients", self.adjoint.d1_len),
        ];
        if self.options.max_order() >= 2 && self.options.num_scales() >= 2 {
            out.push(("the second-order signals", big_l * big_l * area(1)));
        }
        let d2 = self.adjoint.d2_len.iter().copied().max().unwrap_or(0);
        out.push(("the second-order gradients", d2));
        out
    }

    /// Runs the steps whose plane fits in shared memory fused (`true`, the default) or every
    /// step as its own kernel (`false`): the same results, bit for bit (tested).
    #[cfg(feature = "testing")]
    pub fn set_fused(&mut self, fused: bool) {
        self.fused = fused;
    }

    /// Whether the steps at resolution `r` run fused.
    pub(super) fn fuses(&self, r: usize) -> bool {
        let [mp, np] = self.geometry.padded_size();
        self.fused && self.fft.path(mp >> r, np >> r) == Fft2Path::Plane
    }

    /// The unused-argument buffer as a kernel argument.
    pub(super) fn dummy_arg(&self) -> BufferArg {
        self.dummy.arg()
    }
}

impl DeviceBank {
    /// The `L` wavelets of scale `j` at resolution `r`.
    pub(super) fn wavelets(&self, j: usize, r: usize) -> Filters<'_> {
        Filters {
            buffer: &self.filters,
            offset: self.layout.offset[j][r],
            count: self.options.num_orientations(),
        }
    }
}

impl BankLayout {
    fn new(options: &ScatteringOptions, [mp, np]: [usize; 2]) -> Self {
        let big_l = options.num_orientations();
        let mut len = 0;
        let offset = (0..options.num_scales())
            .map(|j| {
                (0..levels(options, j))
                    .map(|r| {
                        let start = len;
                        len += big_l * (mp >> r) * (np >> r);
                        start
                    })
                    .collect()
            })
            .collect();
        Self { offset, len }
    }
}

impl CropTables {
    fn new(
        client: &Client,
        options: &ScatteringOptions,
        [mp, np]: [usize; 2],
        layout: &BankLayout,
    ) -> Self {
        let max_levels = (0..options.num_scales())
            .map(|j| levels(options, j))
            .max()
            .unwrap_or(1);
        let mut indices = Vec::new();
        let at: Vec<[usize; 2]> = (0..max_levels)
            .map(|r| {
                let rows = indices.len();
                indices.extend(periodize_rows(mp, r).into_iter().map(as_u32));
                let cols = indices.len();
                indices.extend(periodize_rows(np, r).into_iter().map(as_u32));
                [rows, cols]
            })
            .collect();
        let mut blocks = Vec::new();
        let mut scales = Vec::new();
        for (j, per_res) in layout.offset.iter().enumerate() {
            for (r, &start) in per_res.iter().enumerate() {
                let [rows, cols] = at[r];
                blocks.extend([start, j, rows, cols, mp >> r, np >> r].map(as_u32));
                scales.push((1.0 / ((mp >> r) * (np >> r)) as f64) as f32);
            }
        }
        Self {
            count: scales.len(),
            blocks: Buffer::upload_u32(client, &blocks),
            indices: Buffer::upload_u32(client, &indices),
            scales: Buffer::upload(client, &scales),
        }
    }
}

/// Appends the spectrum `a`, scaled by `1/len` (the `1/(M_r·N_r)` of its grid, which makes
/// `F^H ∘ fold` kymatio's `ifft2 ∘ subsample_fourier`), as `f32` rounded once; returns its
/// offset.
fn push_prepared(floats: &mut Vec<f32>, a: &ndarray::Array2<f64>) -> usize {
    let off = floats.len();
    let scale = 1.0 / a.len() as f64;
    floats.extend(a.iter().map(|&v| (v * scale) as f32));
    off
}
