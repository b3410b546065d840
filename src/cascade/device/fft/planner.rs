//! Planning of batched 1-D complex FFTs of any length for the device kernels: pure Rust, no device.
//!
//! A length `n` is transformed by one of two algorithms:
//!
//! - **Mixed radix** (Stockham autosort): `n` factored into radices 4, 2, 3, 5, 7, 11, 13
//!   ([`factorize`]); a stage of radix `R` reads the buffer at `j + r·n/R` and writes the
//!   natural-order partial transforms at `(j / Ns)·Ns·R + j mod Ns + q·Ns` (`Ns` = product of
//!   the earlier radices), so the result comes out in natural order with no digit reversal.
//!   Radices 2, 3, 4 and 5 are closed-form butterflies; 7, 11 and 13 a direct DFT (`R` complex
//!   multiply-adds per output, one twiddle look-up each).
//! - **Bluestein** (chirp z) when `n` has a prime factor above 13 ([`ODD_RADICES`]): the DFT is a
//!   circular convolution of length `m ≥ 2n − 1` ([`convolution_length`], 5-smooth) computed with
//!   the mixed-radix stages above: chirp, forward FFT of length `m`, product with the
//!   precomputed spectrum of the chirp filter, inverse FFT, chirp.
//!
//! Both directions are unnormalised (the inverse has no `1/n`, as rustfft).
//!
//! Everything the kernels read is packed into two tables ([`FftTables`]), built once per set of
//! lengths and uploaded once: an `f32` table (twiddles `e^{−2πi t/L}` for `t < L`, chirps and
//! Bluestein filter spectra, all computed in `f64` and rounded once) and a `u32` table of
//! descriptors, one per length ([`desc`] gives the layout). The unit tests (`fft/tests.rs`) run
//! the kernels' algorithm on the CPU in `f32` on those tables, so the planner and the index
//! arithmetic are tested without a device.
//!
//! Why runtime descriptors rather than comptime radix lists: one compiled kernel serves every
//! length (the 300-length sweep of the tests compiles a handful of variants); the comptime values
//! are only the shared-memory capacity and the units per cube.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use num_complex::Complex;

/// The odd radices of the stages, in the order [`factorize`] takes them (after the fours and a
/// two): 3 and 5 have closed-form butterflies, 7, 11 and 13 a direct DFT. A length with a larger
/// prime factor goes through Bluestein.
pub const ODD_RADICES: [usize; 5] = [3, 5, 7, 11, 13];

/// Layout of a length's descriptor in the `u32` table (offsets from the descriptor's start).
pub mod desc {
    /// The transform length `n`.
    pub const N: usize = 0;
    /// [`KIND_MIXED`] or [`KIND_BLUESTEIN`].
    pub const KIND: usize = 1;
    /// Complex values a line occupies in shared memory: `n`, or the Bluestein length `m`.
    pub const WORK: usize = 2;
    /// Number of stages of the (inner) mixed-radix transform of length `WORK`.
    pub const STAGES: usize = 3;
    /// Offset (in complex values) of the twiddles `e^{−2πi t/WORK}`, `t < WORK`, in the float
    /// table.
    pub const TWIDDLES: usize = 4;
    /// Offset (complex) of the chirp `e^{−iπ k²/n}`, `k < n` (Bluestein only).
    pub const CHIRP: usize = 5;
    /// Offset (complex) of the filter spectrum `FFT_m(b)/m`, `b[t] = e^{+iπ t²/n}` (Bluestein
    /// only).
    pub const FILTER: usize = 6;
    /// Stage `s` is the pair `(R, Ns)` at `STAGE0 + 2s`.
    pub const STAGE0: usize = 8;
    /// Plain mixed-radix transform.
    pub const KIND_MIXED: u32 = 0;
    /// Bluestein through a mixed-radix convolution.
    pub const KIND_BLUESTEIN: u32 = 1;
}

/// The radices of a mixed-radix transform of length `n`, in stage order, or `None` if `n` has a
/// prime factor above 13 (`ODD_RADICES`). `n = 1` has no stage. Fours first, then a two if the
/// power of two is odd, then the odd primes in increasing order: `264 → [4, 2, 3, 11]`,
/// `160 → [4, 4, 2, 5]`.
pub fn factorize(n: usize) -> Option<Vec<usize>> {
    assert!(n > 0, "an FFT length is at least 1");
    let mut rest = n;
    let mut out = Vec::new();
    let twos = rest.trailing_zeros() as usize;
    rest >>= twos;
    out.extend(std::iter::repeat_n(4, twos / 2));
    if twos % 2 == 1 {
        out.push(2);
    }
    for p in ODD_RADICES {
        while rest.is_multiple_of(p) {
            out.push(p);
            rest /= p;
        }
    }
    (rest == 1).then_some(out)
}

/// The Bluestein convolution length for `n`: the smallest 5-smooth `m ≥ 2n − 1`.
pub fn convolution_length(n: usize) -> usize {
    let target = 2 * n - 1;
    (target..)
        .find(|&m| {
            let mut r = m;
            for p in [2, 3, 5] {
                while r.is_multiple_of(p) {
                    r /= p;
                }
            }
            r == 1
        })
        .expect("5-smooth numbers are unbounded")
}

/// How a length is transformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Stockham stages with these radices (empty for `n = 1`).
    MixedRadix {
        /// Stage radices, product `n`.
        radices: Vec<usize>,
    },
    /// Bluestein through a convolution of length `m`, itself transformed with `radices`.
    Bluestein {
        /// Convolution length, 5-smooth, at least `2n − 1`.
        m: usize,
        /// Stage radices of the length-`m` transforms.
        radices: Vec<usize>,
    },
}

/// The plan of one 1-D length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinePlan {
    /// Transform length.
    pub n: usize,
    /// Algorithm and factorisation.
    pub algorithm: Algorithm,
}

impl LinePlan {
    /// Plans length `n` (at least 1).
    pub fn new(n: usize) -> Self {
        let algorithm = match factorize(n) {
            Some(radices) => Algorithm::MixedRadix { radices },
            None => {
                let m = convolution_length(n);
                let radices = factorize(m).expect("5-smooth");
                Algorithm::Bluestein { m, radices }
            }
        };
        Self { n, algorithm }
    }

    /// The stage radices (of the convolution length for Bluestein).
    pub fn radices(&self) -> &[usize] {
        match &self.algorithm {
            Algorithm::MixedRadix { radices } | Algorithm::Bluestein { radices, .. } => radices,
        }
    }

    /// Whether the plan goes through Bluestein.
    pub fn is_bluestein(&self) -> bool {
        matches!(self.algorithm, Algorithm::Bluestein { .. })
    }

    /// Complex values one line occupies in shared memory: `n`, or `m` for Bluestein.
    pub fn work_len(&self) -> usize {
        match self.algorithm {
            Algorithm::MixedRadix { .. } => self.n,
            Algorithm::Bluestein { m, .. } => m,
        }
    }
}

/// The tables of a set of lengths, as uploaded to the device: `floats` (complex values as
/// interleaved `re, im` pairs) and `words` (descriptors), and each length's descriptor offset.
#[derive(Clone, Debug, Default)]
pub struct FftTables {
    /// Twiddles, chirps and filter spectra.
    pub floats: Vec<f32>,
    /// Descriptors (see [`desc`]).
    pub words: Vec<u32>,
    plans: BTreeMap<usize, (u32, LinePlan)>,
    twiddles: BTreeMap<usize, u32>,
}

impl FftTables {
    /// Tables of the given lengths (duplicates are planned once).
    pub fn new(lengths: impl IntoIterator<Item = usize>) -> Self {
        let mut t = Self::default();
        for n in lengths {
            t.add(n);
        }
        t
    }

    /// Adds length `n` (no-op if present) and returns its descriptor offset.
    pub fn add(&mut self, n: usize) -> u32 {
        if let Some((off, _)) = self.plans.get(&n) {
            return *off;
        }
        let plan = LinePlan::new(n);
        let work = plan.work_len();
        let tw = self.twiddles_of(work);
        let (kind, chirp, filter) = match plan.algorithm {
            Algorithm::MixedRadix { .. } => (desc::KIND_MIXED, 0, 0),
            Algorithm::Bluestein { m, .. } => {
                let (chirp, filter) = bluestein_tables(n, m);
                (
                    desc::KIND_BLUESTEIN,
                    self.push_complex(&chirp),
                    self.push_complex(&filter),
                )
            }
        };
        let off = u32::try_from(self.words.len()).expect("descriptor table below 4 G words");
        let to_u32 = |v: usize| u32::try_from(v).expect("FFT length below 2^32");
        self.words.extend([
            to_u32(n),
            kind,
            to_u32(work),
            to_u32(plan.radices().len()),
            tw,
            chirp,
            filter,
            0,
        ]);
        let mut ns = 1;
        for &r in plan.radices() {
            self.words.extend([to_u32(r), to_u32(ns)]);
            ns *= r;
        }
        debug_assert_eq!(ns, work);
        self.plans.insert(n, (off, plan));
        off
    }

    /// Descriptor offset of length `n`.
    ///
    /// # Panics
    /// If `n` was not planned.
    pub fn offset(&self, n: usize) -> u32 {
        self.plans
            .get(&n)
            .unwrap_or_else(|| panic!("FFT length {n} was not planned"))
            .0
    }

    /// The planned lengths, in increasing order.
    pub fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.plans.keys().copied()
    }

    /// The plan of length `n`, if planned.
    pub fn plan(&self, n: usize) -> Option<&LinePlan> {
        self.plans.get(&n).map(|(_, p)| p)
    }

    /// Twiddle offset (complex) for work length `len`, shared by every length that needs it.
    fn twiddles_of(&mut self, len: usize) -> u32 {
        if let Some(off) = self.twiddles.get(&len) {
            return *off;
        }
        let values: Vec<Complex<f64>> = (0..len).map(|t| root(t as u128, len as u128)).collect();
        let off = self.push_complex(&values);
        self.twiddles.insert(len, off);
        off
    }

    fn push_complex(&mut self, values: &[Complex<f64>]) -> u32 {
        let off = u32::try_from(self.floats.len() / 2).expect("float table below 4 G values");
        for v in values {
            self.floats.push(v.re as f32);
            self.floats.push(v.im as f32);
        }
        off
    }
}

/// `e^{−2πi·num/den}` in `f64`, with `num` reduced modulo `den` first (exact arguments).
fn root(num: u128, den: u128) -> Complex<f64> {
    let a = -2.0 * PI * ((num % den) as f64) / den as f64;
    Complex::new(a.cos(), a.sin())
}

/// The chirp `c[k] = e^{−iπ k²/n}` (`k < n`) and the filter spectrum `FFT_m(b)/m` with
/// `b[t] = conj c[|t|]` for `|t| < n`, wrapped modulo `m` (zero elsewhere), in `f64`.
fn bluestein_tables(n: usize, m: usize) -> (Vec<Complex<f64>>, Vec<Complex<f64>>) {
    // e^{−iπ k²/n} = e^{−2πi (k² mod 2n) / 2n}.
    let chirp: Vec<Complex<f64>> = (0..n)
        .map(|k| root((k as u128) * (k as u128), 2 * n as u128))
        .collect();
    let mut b = vec![Complex::new(0.0, 0.0); m];
    for (k, c) in chirp.iter().enumerate() {
        b[k] = c.conj();
        if k > 0 {
            b[m - k] = c.conj();
        }
    }
    let mut planner = rustfft::FftPlanner::<f64>::new();
    planner.plan_fft_forward(m).process(&mut b);
    let scale = 1.0 / m as f64;
    b.iter_mut().for_each(|v| *v *= scale);
    (chirp, b)
}

/// `sin(π/3)` rounded to `f32`: the radix-3 butterfly (`W_3 = −1/2 ∓ i·sin(π/3)`).
pub const SIN_60: f32 = 0.8660254;
/// `cos(2π/5)` rounded to `f32`: the radix-5 butterfly.
pub const COS_72: f32 = 0.309017;
/// `cos(4π/5)`.
pub const COS_144: f32 = -0.809017;
/// `sin(2π/5)`.
pub const SIN_72: f32 = 0.95105654;
/// `sin(4π/5)`.
pub const SIN_144: f32 = 0.58778524;
