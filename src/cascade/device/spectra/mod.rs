//! Morlet spectra of a whole bank and their vector–Jacobian product on the device (kernels in
//! [`kernels`]): `filters::spectral::morlet_spectrum` and `morlet_spectrum_vjp` in `f32`, every
//! wavelet in one launch, so that a training step can keep the spectra and their gradient on the
//! device.
//!
//! The host computes, from the few parameters and in `f64`, what is per wavelet or per row, with
//! the closed form's own pieces: the alias radius and the row windows of each Gabor form
//! (`filters::spectral`'s `GaborForm`, `alias_radius`, `GaborForm::row_windows`), the offsets
//! from the wave vector `d_r`, `d_c`, the zero-mean constant `κ = C(0)/E(0)` and, for the VJP,
//! the derivatives at `ω = 0` (`GaborForm::periodized_with_derivatives`, as the host's VJP). The
//! device evaluates the `h·w` alias sums per wavelet and reduces the VJP's grid sums
//! deterministically (a fixed-order tree per cube, then the cubes in order).
//!
//! Launches: 1 for the spectra, 2 for the VJP (partial sums, then the blocks and the
//! combination), whatever the number of wavelets.

pub(crate) mod kernels;

use std::f64::consts::PI;

use cubecl::prelude::*;

use self::kernels::{
    VJP_SUMS, WAVELET_CONSTS, form, morlet_spectra, morlet_vjp_finish, morlet_vjp_partial,
};
use super::DeviceError;
use super::buffer::Buffer;
use super::launch::{DeviceLimits, as_u32, count_launch, cube_count, elementwise};
use crate::MorletParams;
use crate::filters::angular_frequencies;
use crate::filters::spectral::GaborForm;

/// Units per cube of the VJP's first pass (a power of two: its tree reduction halves it).
const VJP_UNITS: usize = 256;

/// The tables of one bank's wavelets on one grid, uploaded (layout in `kernels`): the
/// device's `filters::spectral` for that bank.
pub struct DeviceSpectra {
    client: Client,
    limits: DeviceLimits,
    count: usize,
    height: usize,
    width: usize,
    floats: Buffer,
    words: Buffer,
    omega: Buffer,
}

impl std::fmt::Debug for DeviceSpectra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSpectra")
            .field("wavelets", &self.count)
            .field("grid", &[self.height, self.width])
            .field("table_floats", &self.floats.len())
            .finish_non_exhaustive()
    }
}

/// The tables as they are built: floats (per-wavelet constants first), words (form records
/// first).
struct Tables {
    floats: Vec<f32>,
    words: Vec<u32>,
}

impl Tables {
    /// Appends the tables of `form` on the grid `rows × cols` (angular frequencies) and writes
    /// its record at `record`.
    fn push_form(&mut self, record: usize, form: &GaborForm, rows: &[f64], cols: &[f64]) {
        let params = self.floats.len();
        self.floats.extend(
            [
                form.along,
                form.across,
                form.cos_t,
                form.sin_t,
                form.xi,
                form.sigma,
                form.slant,
            ]
            .map(|v| v as f32),
        );
        debug_assert_eq!(self.floats.len() - params, form::PARAM_FLOATS);
        // Row windows: `d_r` of the row alias and the interval of its column frequencies.
        let windows = self.floats.len();
        let row_start = self.words.len();
        let mut count = 0;
        for &wr in rows {
            self.words.push(as_u32(count));
            for win in form.row_windows(wr) {
                let d = win.omega_row - form.xi * form.cos_t;
                self.floats.extend([d as f32, win.lo as f32, win.hi as f32]);
                count += 1;
            }
        }
        self.words.push(as_u32(count));
        // Column aliases: `d_c` of every `ω_l + 2πb`, `b ∈ −A..=A`.
        let col_table = self.floats.len();
        for &wc in cols {
            for b in -form.radius..=form.radius {
                let d = (wc + 2.0 * PI * b as f64) - form.xi * form.sin_t;
                self.floats.push(d as f32);
            }
        }
        let radius = usize::try_from(form.radius).expect("a radius is non-negative");
        let fields = [row_start, windows, col_table, params, radius];
        for (i, v) in fields.into_iter().enumerate() {
            self.words[record + i] = as_u32(v);
        }
    }
}

impl DeviceSpectra {
    /// Builds and uploads the tables of `wavelets` on a `height × width` grid (FFT order).
    ///
    /// # Errors
    /// [`crate::ScatterError::InvalidWavelet`] naming the first wavelet with a non-finite or
    /// non-positive parameter, or whose spectrum cannot be built (more than `MAX_ALIAS_RADIUS`
    /// aliases): the checks of `FilterBankParams::from_wavelets`.
    pub fn new(
        client: &Client,
        wavelets: &[MorletParams],
        height: usize,
        width: usize,
    ) -> Result<Self, DeviceError> {
        for (n, p) in wavelets.iter().enumerate() {
            p.check(n)?;
        }
        let count = wavelets.len();
        let rows = angular_frequencies(height);
        let cols = angular_frequencies(width);
        let mut tables = Tables {
            floats: vec![0.0; WAVELET_CONSTS * count],
            words: vec![0; 2 * count * form::WORDS],
        };
        for (n, p) in wavelets.iter().enumerate() {
            let carrier = GaborForm::new(p);
            let envelope = GaborForm::new(&MorletParams { xi: 0.0, ..*p });
            for (f, form) in [&carrier, &envelope].into_iter().enumerate() {
                tables.push_form((2 * n + f) * form::WORDS, form, &rows, &cols);
            }
            // κ and the derivatives at ω = 0, as `morlet_spectrum_vjp` takes them.
            let (c0, dc0) = carrier.periodized_with_derivatives(&carrier.row_windows(0.0), 0.0);
            let (e0, mut de0) =
                envelope.periodized_with_derivatives(&envelope.row_windows(0.0), 0.0);
            de0[1] = 0.0;
            let kappa = c0 / e0;
            let consts = &mut tables.floats[n * WAVELET_CONSTS..][..WAVELET_CONSTS];
            consts[0] = kappa as f32;
            for i in 0..4 {
                consts[1 + i] = ((dc0[i] - kappa * de0[i]) / e0) as f32;
            }
        }
        let omega: Vec<f32> = rows.iter().chain(&cols).map(|&v| v as f32).collect();
        Ok(Self {
            client: client.clone(),
            limits: DeviceLimits::of(client),
            count,
            height,
            width,
            floats: Buffer::upload(client, &tables.floats),
            words: Buffer::upload_u32(client, &tables.words),
            omega: Buffer::upload(client, &omega),
        })
    }

    /// Number of wavelets.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The spectra `[n, height, width]` (`f32`, FFT order): one launch.
    pub fn spectra(&self) -> Buffer {
        let total = self.count * self.height * self.width;
        let out = Buffer::empty(&self.client, total);
        if total == 0 {
            return out;
        }
        let (cubes, dim) = elementwise(total, &self.limits);
        count_launch();
        morlet_spectra::launch(
            &self.client,
            cubes,
            dim,
            self.floats.arg(),
            self.words.arg(),
            self.omega.arg(),
            out.arg(),
            as_u32(self.height),
            as_u32(self.width),
            as_u32(total),
        );
        out
    }

    /// The gradient of `⟨cot, spectra⟩` with respect to every wavelet's `(σ, ξ, θ, slant)`:
    /// `[4, n]` (row `i` = parameter `i` of every wavelet), from the cotangent `cot`
    /// (`[n, height, width]`). Two launches, deterministic.
    ///
    /// # Errors
    /// [`crate::ScatterError::InvalidShape`] when `cot` does not hold `n·height·width` values.
    pub fn vjp(&self, cot: &Buffer) -> Result<Buffer, DeviceError> {
        let plane = self.height * self.width;
        if cot.len() != self.count * plane {
            return Err(crate::ScatterError::InvalidShape {
                expected: vec![Some(self.count), Some(self.height), Some(self.width)],
                got: vec![cot.len()],
            }
            .into());
        }
        let out = Buffer::empty(&self.client, 4 * self.count);
        if self.count == 0 {
            return Ok(out);
        }
        let blocks = plane.div_ceil(VJP_UNITS);
        let cubes = self.count * blocks;
        let partial = Buffer::empty(&self.client, cubes * VJP_SUMS);
        count_launch();
        morlet_vjp_partial::launch(
            &self.client,
            cube_count(cubes, &self.limits),
            CubeDim::new_1d(VJP_UNITS as u32),
            self.floats.arg(),
            self.words.arg(),
            self.omega.arg(),
            cot.arg(),
            partial.arg(),
            as_u32(self.height),
            as_u32(self.width),
            as_u32(blocks),
            as_u32(cubes),
            VJP_UNITS,
        );
        let (finish_cubes, dim) = elementwise(4 * self.count, &self.limits);
        count_launch();
        morlet_vjp_finish::launch(
            &self.client,
            finish_cubes,
            dim,
            self.floats.arg(),
            partial.arg(),
            out.arg(),
            as_u32(self.count),
            as_u32(blocks),
        );
        Ok(out)
    }
}
