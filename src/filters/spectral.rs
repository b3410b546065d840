//! Closed-form Fourier construction of the Morlet and Gaussian filters on a padded grid.
//!
//! Sampling in space periodises the spectrum, so the closed form sums the aliases
//! `ω + 2π·(a, b)`: kymatio samples a spatially periodised Gabor, whose spectrum holds *every*
//! alias, and the closed form equals it once the sum has converged (tested against the kymatio
//! fixtures and against [`super::spatial`]). Without the sum the finest wavelets would be off by
//! up to 84 %; with a fixed ±2 aliases, wavelets wide across their wave vector (kymatio's `L = 1`,
//! slant 4) are off by 3.7e-3. [`alias_radius`] sums as many aliases as each wavelet needs.
//!
//! ```text
//! Ĝ(ω; σ, ξ, θ, s) = (π / 3.1415) · exp(−σ²·u²/2 − σ²·v²/(2s²)),
//!                    u = (ω − ξe_θ)·e_θ,  v = (ω − ξe_θ)·e_θ⊥
//! P[Ĝ](ω)          = Σ_{a,b ∈ −A..=A} Ĝ(ω + 2π(a, b)),   A = alias_radius(σ, ξ, slant)
//! ψ̂(ω)             = P[Ĝ_ξ](ω) − κ·P[Ĝ_0](ω),  κ = P[Ĝ_ξ](0) / P[Ĝ_0](0)   (zero mean)
//! φ̂(ω)             = P[Ĝ(·; σ_φ, 0, 0, 1)](ω)                               (no correction)
//! ```
//!
//! Grids are in FFT order (DC at index 0, [`super::angular_frequencies`]), rows first; the FFT
//! convention is the unnormalised `e^{−iω·x}`.

use std::f64::consts::PI;

use ndarray::Array2;
use rayon::prelude::*;

use super::{FilterBankParams, KYMATIO_NORM_PI, MorletParams, angular_frequencies};

/// The alias sum is truncated where the neglected terms add up to at most this, relative to the
/// filter's peak (which is about 1): `2^−53`, the rounding of an `f64` value of that size. Filters
/// are stored in `f32` or `f64`, so nothing truncated is visible in a coefficient.
pub const ALIAS_TOLERANCE: f64 = f64::EPSILON / 2.0;

/// Largest alias radius [`alias_radius`] accepts (`(2·64 + 1)² = 16641` terms per frequency). A
/// wavelet that needs more is narrower than about 0.02 pixel across (or has `|ξ|` in the hundreds):
/// validation rejects it rather than spend minutes on its spectrum.
pub const MAX_ALIAS_RADIUS: usize = 64;

/// Exponents above `NEGLIGIBLE_EXPONENT` are skipped inside the alias sum: `e^−50 ≈ 2e-22`, so even
/// [`MAX_ALIAS_RADIUS`]'s 16641 skipped terms stay below [`ALIAS_TOLERANCE`] / 4.
const NEGLIGIBLE_EXPONENT: f64 = 50.0;

/// Largest `σ²·max(1, 1/slant²)` a wavelet may have: the coefficients of the Gabor's quadratic
/// form, `σ²/2` along and `σ²/(2·slant²)` across the wave vector, must stay finite where the burn
/// layer evaluates them in `f32` (largest value `3.4e38`), with room for the squared frequencies
/// (up to `(2π·65)²`) they multiply. Beyond it (`σ ≈ 1e15` pixels, or a slant of `1e-15`) the
/// spectrum would be `NaN` or a single spike.
pub const MAX_QUADRATIC_COEFFICIENT: f64 = 1e30;

/// Why a wavelet has no usable spectrum, if it has none: the parameter to blame and the reason,
/// for [`crate::ScatterError::InvalidWavelet`]. `None` for a usable wavelet.
pub fn spectrum_defect(p: &MorletParams) -> Option<(&'static str, f64, &'static str)> {
    let spread = p.sigma * p.sigma * (1.0 / (p.slant * p.slant)).max(1.0);
    if spread.is_nan() || spread > MAX_QUADRATIC_COEFFICIENT {
        return Some(if p.slant < 1.0 {
            (
                "slant",
                p.slant,
                "σ²/slant² exceeds 1e30: the spectrum is not finite in f32",
            )
        } else {
            (
                "sigma",
                p.sigma,
                "σ² exceeds 1e30: the spectrum is not finite in f32",
            )
        });
    }
    if alias_radius(p).is_none() {
        return Some(if p.xi.abs() > 100.0 {
            (
                "xi",
                p.xi,
                "|ξ| is so large that the spectrum needs more than 64 aliases per axis",
            )
        } else {
            (
                "sigma",
                p.sigma,
                "the wavelet is so narrow that its spectrum needs more than 64 aliases per axis",
            )
        });
    }
    None
}

/// Number of aliases `A` the sum `Σ_{a,b ∈ −A..=A} Ĝ(ω + 2π(a, b))` needs on each axis for the
/// wavelet `p`, so that everything it leaves out adds up to at most [`ALIAS_TOLERANCE`] / 4 at
/// every frequency of any grid (the Morlet subtracts a multiple `κ ≤ 1` of a second such sum, and
/// the normalisation `π/3.1415` is about 1). `None` beyond [`MAX_ALIAS_RADIUS`].
///
/// Bound: the exponent `σ²u²/2 + σ²v²/(2s²)` is at least `½λ|d|²`, `λ = σ²·min(1, 1/s²)`, with
/// `d` the distance to the wave vector `ξe_θ`. Every alias `k` with `max(|a|, |b|) = m` lies at
/// `|d| ≥ r_m = 2πm − π − |ξ|` from it for every `ω ∈ [−π, π]²`, and there are `8m` of them; so
/// the terms left out by radius `A` add up to at most `Σ_{m > A} 8m·exp(−½λ·max(r_m, 0)²)`. The
/// same radius serves the envelope `Ĝ_0` (`ξ = 0`, closer to the origin).
pub fn alias_radius(p: &MorletParams) -> Option<usize> {
    let lambda = p.sigma * p.sigma * (1.0 / (p.slant * p.slant)).min(1.0);
    let reach = PI + p.xi.abs();
    if !(lambda > 0.0 && reach.is_finite()) {
        return None;
    }
    let budget = ALIAS_TOLERANCE / 4.0;
    // Terms of rings m = 1, 2, ... until they are negligible and fall at least geometrically:
    // t_{m+1}/t_m = ((m+1)/m)·exp(−λ(2π·r_m + 2π²)) ≤ 1/2 once λ(2π·r_m + 2π²) ≥ ln 4, so the
    // rest of the tail is at most the last term.
    let mut terms = Vec::new();
    for m in 1..=MAX_ALIAS_RADIUS + 1 {
        let r = (2.0 * PI * m as f64 - reach).max(0.0);
        let t = 8.0 * m as f64 * (-0.5 * lambda * r * r).exp();
        terms.push(t);
        if t < budget * 1e-6 && lambda * (2.0 * PI * r + 2.0 * PI * PI) >= 4f64.ln() {
            break;
        }
    }
    // The smallest A whose tail Σ_{m > A} fits the budget.
    let mut radius = terms.len();
    let mut tail = 0.0;
    while radius > 0 && tail + terms[radius - 1] <= budget {
        tail += terms[radius - 1];
        radius -= 1;
    }
    (radius <= MAX_ALIAS_RADIUS && terms.len() <= MAX_ALIAS_RADIUS).then_some(radius)
}

/// The quadratic form of one Gabor term, with its trigonometry evaluated once.
#[derive(Clone, Copy, Debug)]
struct GaborForm {
    cos_t: f64,
    sin_t: f64,
    sigma: f64,
    slant: f64,
    xi: f64,
    along: f64,
    across: f64,
    radius: i64,
}

impl GaborForm {
    /// # Panics
    /// If the wavelet needs more than [`MAX_ALIAS_RADIUS`] aliases (validated banks do not).
    fn new(p: &MorletParams) -> Self {
        let (sin_t, cos_t) = p.theta.sin_cos();
        let s2 = p.sigma * p.sigma;
        let radius = alias_radius(p).unwrap_or_else(|| {
            panic!("the spectrum of {p:?} needs more than {MAX_ALIAS_RADIUS} aliases per axis")
        });
        Self {
            cos_t,
            sin_t,
            sigma: p.sigma,
            slant: p.slant,
            xi: p.xi,
            along: 0.5 * s2,
            across: 0.5 * s2 / (p.slant * p.slant),
            radius: radius as i64,
        }
    }

    /// `σ²·u²/2 + σ²·v²/(2s²)` at `(ω_row, ω_col)`.
    #[inline]
    fn exponent(&self, omega_row: f64, omega_col: f64) -> f64 {
        self.exponent_parts(omega_row, omega_col).0
    }

    /// The exponent `E` and its `u`, `v` at `(ω_row, ω_col)`.
    #[inline]
    fn exponent_parts(&self, omega_row: f64, omega_col: f64) -> (f64, f64, f64) {
        let d_row = omega_row - self.xi * self.cos_t;
        let d_col = omega_col - self.xi * self.sin_t;
        let u = d_row * self.cos_t + d_col * self.sin_t;
        let v = -d_row * self.sin_t + d_col * self.cos_t;
        (self.along * u * u + self.across * v * v, u, v)
    }

    /// The row aliases `ω_row + 2πa`, `a ∈ −A..=A`, on which some term of the alias sum can be
    /// above `e^−NEGLIGIBLE_EXPONENT`, each with the interval of `ω_col + 2πb` where it can.
    ///
    /// On a row the exponent is a quadratic in the column frequency `t`: with `d = ω_row − ξ·cos θ`
    /// and `t' = t − ξ·sin θ`, `E = a·t'² + 2b·t' + c`, `a = α·sin²θ + β·cos²θ`,
    /// `b = d·sinθ·cosθ·(α − β)`, and its minimum is `d²·α·β/a` (no cancellation) at `t' = −b/a`.
    /// The interval is where `E < NEGLIGIBLE_EXPONENT + 1`: the margin keeps every term that the
    /// `E < NEGLIGIBLE_EXPONENT` test inside the sums would keep, so restricting the columns to it
    /// only saves evaluating terms that are skipped anyway.
    fn row_windows(&self, omega_row: f64) -> Vec<RowWindow> {
        let limit = NEGLIGIBLE_EXPONENT + 1.0;
        let (s, c) = (self.sin_t, self.cos_t);
        let a = self.along * s * s + self.across * c * c;
        (-self.radius..=self.radius)
            .filter_map(|alias| {
                let w0 = omega_row + 2.0 * PI * alias as f64;
                let d = w0 - self.xi * c;
                let minimum = d * d * self.along * self.across / a;
                // NaN (a parameter out of range) keeps no row, as the per-term test keeps no term.
                if minimum.is_nan() || minimum >= limit {
                    return None;
                }
                let centre = self.xi * s - d * s * c * (self.along - self.across) / a;
                let half = ((limit - minimum) / a).sqrt();
                Some(RowWindow {
                    omega_row: w0,
                    lo: centre - half,
                    hi: centre + half,
                })
            })
            .collect()
    }

    /// Calls `f(E, u, v)` for every term of the alias sum at `ω_col` on the rows `windows` (of
    /// [`Self::row_windows`]) with `E < NEGLIGIBLE_EXPONENT`, in the order `a`, then `b`.
    #[inline]
    fn for_each_term(
        &self,
        windows: &[RowWindow],
        omega_col: f64,
        mut f: impl FnMut(f64, f64, f64),
    ) {
        let radius = self.radius as f64;
        for win in windows {
            let first = ((win.lo - omega_col) / (2.0 * PI)).ceil().max(-radius) as i64;
            let last = ((win.hi - omega_col) / (2.0 * PI)).floor().min(radius) as i64;
            for b in first..=last {
                let (e, u, v) = self.exponent_parts(win.omega_row, omega_col + 2.0 * PI * b as f64);
                if e < NEGLIGIBLE_EXPONENT {
                    f(e, u, v);
                }
            }
        }
    }

    /// The periodised term and its derivatives with respect to `(σ, ξ, θ, slant)`, each the alias
    /// sum of `Ĝ·(−∂E/∂p)` with `E` the [exponent](Self::exponent), over the same terms as
    /// [`Self::periodized`] (so the value is bit-identical to it). With `u = ω·e_θ − ξ`,
    /// `v = ω·e_θ⊥`: `∂E/∂σ = 2E/σ`, `∂E/∂ξ = −σ²u`, `∂E/∂θ = 2v·(αu − β(u + ξ))`,
    /// `∂E/∂slant = −2βv²/slant`, where `α = σ²/2` and `β = σ²/(2·slant²)` are `along` and
    /// `across` (`du/dθ = v`, `dv/dθ = −(u + ξ)`).
    #[inline]
    fn periodized_with_derivatives(
        &self,
        windows: &[RowWindow],
        omega_col: f64,
    ) -> (f64, [f64; 4]) {
        let (mut sum, mut e_sum, mut u_sum, mut theta_sum, mut v2_sum) = (0.0, 0.0, 0.0, 0.0, 0.0);
        self.for_each_term(windows, omega_col, |e, u, v| {
            let g = (-e).exp();
            sum += g;
            e_sum += g * e;
            u_sum += g * u;
            theta_sum += g * v * (self.along * u - self.across * (u + self.xi));
            v2_sum += g * v * v;
        });
        let c = PI / KYMATIO_NORM_PI;
        (
            c * sum,
            [
                -c * 2.0 * e_sum / self.sigma,
                c * 2.0 * self.along * u_sum,
                -c * 2.0 * theta_sum,
                c * 2.0 * self.across * v2_sum / self.slant,
            ],
        )
    }

    /// `Σ_{a,b} exp(−exponent(ω + 2π(a, b)))` over `a, b ∈ −A..=A` at `ω_col` on the rows
    /// `windows`, negligible terms skipped.
    #[inline]
    fn periodized(&self, windows: &[RowWindow], omega_col: f64) -> f64 {
        let mut sum = 0.0;
        self.for_each_term(windows, omega_col, |e, _, _| sum += (-e).exp());
        (PI / KYMATIO_NORM_PI) * sum
    }
}

/// One row alias of the sum and the column frequencies where its terms can matter
/// ([`GaborForm::row_windows`]).
#[derive(Clone, Copy, Debug)]
struct RowWindow {
    omega_row: f64,
    lo: f64,
    hi: f64,
}

/// One un-periodised Gabor term `Ĝ(ω)` at angular frequency `(ω_row, ω_col)`.
///
/// This function is the formula; every spectrum of the crate sums it over aliases.
pub fn gabor_hat(omega_row: f64, omega_col: f64, p: &MorletParams) -> f64 {
    (PI / KYMATIO_NORM_PI) * (-GaborForm::new(p).exponent(omega_row, omega_col)).exp()
}

/// The periodised Gabor `P[Ĝ](ω)`: the sum of [`gabor_hat`] over the aliases `ω + 2π(a, b)`,
/// `a, b ∈ −A..=A` with `A` = [`alias_radius`] (terms below `e^−50` skipped).
///
/// # Panics
/// If `p` needs more than [`MAX_ALIAS_RADIUS`] aliases.
pub fn gabor_hat_periodized(omega_row: f64, omega_col: f64, p: &MorletParams) -> f64 {
    let form = GaborForm::new(p);
    form.periodized(&form.row_windows(omega_row), omega_col)
}

/// Periodised Gabor spectrum `P[Ĝ]` on a `height × width` grid (FFT order).
pub fn gabor_spectrum(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let rows = angular_frequencies(height);
    let cols = angular_frequencies(width);
    let form = GaborForm::new(p);
    let mut out = Array2::zeros((height, width));
    for (mut row, &omega_row) in out.rows_mut().into_iter().zip(&rows) {
        let windows = form.row_windows(omega_row);
        for (v, &omega_col) in row.iter_mut().zip(&cols) {
            *v = form.periodized(&windows, omega_col);
        }
    }
    out
}

/// Zero-mean Morlet spectrum `ψ̂ = P[Ĝ_ξ] − κ·P[Ĝ_0]` on a `height × width` grid (FFT order);
/// `ψ̂(0) = 0` up to rounding.
pub fn morlet_spectrum(height: usize, width: usize, p: &MorletParams) -> Array2<f64> {
    let carrier = gabor_spectrum(height, width, p);
    let envelope = gabor_spectrum(height, width, &MorletParams { xi: 0.0, ..*p });
    let kappa = carrier[[0, 0]] / envelope[[0, 0]];
    carrier - envelope * kappa
}

/// The gradient of `⟨cotangent, morlet_spectrum(height, width, p)⟩` with respect to the wavelet's
/// `(σ, ξ, θ, slant)`, in that order: the vector–Jacobian product of [`morlet_spectrum`], exact
/// for the same alias sum (the derivative of every term it keeps, nothing else).
///
/// With `C = P[Ĝ_ξ]`, `E = P[Ĝ_0]` and `κ = C(0)/E(0)`, `ψ̂ = C − κE`, so
/// `∂ψ̂/∂p = ∂C/∂p − κ·∂E/∂p − E·(∂C(0)/∂p − κ·∂E(0)/∂p)/E(0)` (the envelope has `ξ = 0` fixed:
/// `∂E/∂ξ = 0`). One pass over the grid evaluates every alias term once for both sums.
///
/// # Shapes
/// - `cotangent`: `[height, width]`, FFT order (the gradient of a loss with respect to the spectrum)
///
/// # Panics
/// If `cotangent` is not `height × width`, or `p` needs more than [`MAX_ALIAS_RADIUS`] aliases.
pub fn morlet_spectrum_vjp(
    height: usize,
    width: usize,
    p: &MorletParams,
    cotangent: ndarray::ArrayView2<'_, f64>,
) -> [f64; 4] {
    assert_eq!(
        cotangent.dim(),
        (height, width),
        "morlet_spectrum_vjp: the cotangent must be {height}x{width}"
    );
    let rows = angular_frequencies(height);
    let cols = angular_frequencies(width);
    let carrier = GaborForm::new(p);
    let envelope = GaborForm::new(&MorletParams { xi: 0.0, ..*p });
    // Σ ḡ·∂C/∂p, Σ ḡ·∂E/∂p, Σ ḡ·E, and the values and derivatives at ω = 0.
    let (mut gc, mut ge, mut g_env) = ([0.0; 4], [0.0; 4], 0.0);
    let (mut c0, mut dc0, mut e0, mut de0) = (0.0, [0.0; 4], 0.0, [0.0; 4]);
    for (k, &wr) in rows.iter().enumerate() {
        let (carrier_rows, envelope_rows) = (carrier.row_windows(wr), envelope.row_windows(wr));
        for (l, &wc) in cols.iter().enumerate() {
            let (c, dc) = carrier.periodized_with_derivatives(&carrier_rows, wc);
            let (e, mut de) = envelope.periodized_with_derivatives(&envelope_rows, wc);
            de[1] = 0.0;
            if k == 0 && l == 0 {
                (c0, dc0, e0, de0) = (c, dc, e, de);
            }
            let g = cotangent[[k, l]];
            for i in 0..4 {
                gc[i] += g * dc[i];
                ge[i] += g * de[i];
            }
            g_env += g * e;
        }
    }
    let kappa = c0 / e0;
    std::array::from_fn(|i| gc[i] - kappa * ge[i] - g_env * (dc0[i] - kappa * de0[i]) / e0)
}

/// The spectra of `wavelets` on a `height × width` grid, flat `[n][height][width]` (row-major,
/// FFT order): [`morlet_spectrum`] of each, in parallel. What the cascade and the burn layer's
/// construction take.
pub fn wavelet_spectra(wavelets: &[MorletParams], height: usize, width: usize) -> Vec<f64> {
    let spectra: Vec<Array2<f64>> = wavelets
        .par_iter()
        .map(|p| morlet_spectrum(height, width, p))
        .collect();
    spectra.iter().flat_map(|p| p.iter().copied()).collect()
}

/// [`morlet_spectrum_vjp`] of every wavelet, in parallel: `cotangents` is the gradient with
/// respect to [`wavelet_spectra`]'s output (same flat layout, any float type), and the result is
/// each wavelet's `[∂L/∂σ, ∂L/∂ξ, ∂L/∂θ, ∂L/∂slant]`.
///
/// # Panics
/// If `cotangents` does not hold `wavelets.len()` planes of `height × width`.
pub fn wavelet_spectra_vjp<S: num_traits::ToPrimitive + Sync>(
    wavelets: &[MorletParams],
    height: usize,
    width: usize,
    cotangents: &[S],
) -> Vec<[f64; 4]> {
    let plane = height * width;
    assert_eq!(
        cotangents.len(),
        wavelets.len() * plane,
        "wavelet_spectra_vjp: expected {} planes of {height}x{width}",
        wavelets.len()
    );
    wavelets
        .par_iter()
        .zip(cotangents.par_chunks(plane))
        .map(|(p, c)| {
            let c: Vec<f64> = c.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect();
            let c = ndarray::ArrayView2::from_shape((height, width), &c).expect("one plane");
            morlet_spectrum_vjp(height, width, p, c)
        })
        .collect()
}

/// Spectra of a whole bank at full resolution on the padded grid.
#[derive(Clone, Debug)]
pub struct BankSpectra {
    /// `ψ̂_n`, `n = j·L + l`, each of shape `[height, width]`.
    pub psi: Vec<Array2<f64>>,
    /// `φ̂`, shape `[height, width]`.
    pub phi: Array2<f64>,
}

/// `ψ̂_n` for every wavelet of `bank` and the low-pass `φ̂`, on a `height × width` grid.
pub fn bank_spectra(bank: &FilterBankParams, height: usize, width: usize) -> BankSpectra {
    BankSpectra {
        psi: bank
            .wavelets()
            .par_iter()
            .map(|p| morlet_spectrum(height, width, p))
            .collect(),
        phi: gabor_spectrum(height, width, &bank.low_pass()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_radius_of_the_tight_frames() {
        let radii = |j: usize, l: usize| -> Vec<usize> {
            let bank = FilterBankParams::tight_frame(j, l).unwrap();
            (0..j)
                .map(|s| alias_radius(bank.wavelet(s, 0)).unwrap())
                .collect()
        };
        println!(
            "L=8: {:?}, L=2: {:?}, L=1: {:?}",
            radii(4, 8),
            radii(4, 2),
            radii(4, 1)
        );
        // The fixed ±2 of earlier versions for the finest scale at L = 8; fewer above it.
        assert_eq!(radii(4, 8), [2, 1, 1, 0]);
        assert_eq!(radii(4, 1), [8, 4, 2, 1]);
        // Slant 4/L: wide across the wave vector in frequency for L < 4.
        assert!(radii(4, 1)[0] > 2 && radii(4, 2)[0] > 2);
        let phi = FilterBankParams::tight_frame(3, 8).unwrap().low_pass();
        assert!(alias_radius(&phi).unwrap() <= 1);
        // Out of reach: a wavelet far narrower than a pixel.
        let needle = MorletParams {
            sigma: 1e-3,
            xi: 1.0,
            theta: 0.0,
            slant: 1.0,
        };
        assert_eq!(alias_radius(&needle), None);
    }

    #[test]
    fn morlet_has_zero_mean_and_peaks_at_the_wave_vector() {
        let bank = FilterBankParams::tight_frame(2, 8).unwrap();
        // j = 0, θ = 0 (l = 3): peak at bin (15, 0) on a 40×40 grid (15/40·2π = 3π/4).
        let psi = morlet_spectrum(40, 40, bank.wavelet(0, 3));
        assert!(psi[[0, 0]].abs() < 1e-12);
        let (mut best, mut arg) = (f64::MIN, (0, 0));
        for ((k, l), &v) in psi.indexed_iter() {
            if v > best {
                best = v;
                arg = (k, l);
            }
        }
        assert_eq!(arg, (15, 0));
        // θ = −π/2 (l = 7): peak at bin (0, −15) = (0, 25).
        let psi = morlet_spectrum(40, 40, bank.wavelet(0, 7));
        assert!((psi[[0, 25]] - best).abs() < 1e-9);
    }

    #[test]
    fn gaussian_low_pass_dc_carries_the_3_1415_fossil() {
        let bank = FilterBankParams::tight_frame(2, 8).unwrap();
        let phi = gabor_spectrum(40, 40, &bank.low_pass());
        // kymatio 0.3.0's phi_hat[0, 0] for 32×32, J = 2 is 1.0000294 = π/3.1415 to float32 (its
        // `filter_bank.py::gabor_2d` normalises by 2·3.1415·σ², not 2πσ²; the fixture file holds it).
        approx::assert_abs_diff_eq!(phi[[0, 0]], 1.0000294, epsilon = 1e-6);
    }

    #[test]
    fn pointwise_formula_and_grid_agree() {
        let p = MorletParams {
            sigma: 0.9,
            xi: 2.0,
            theta: -0.3,
            slant: 0.6,
        };
        let grid = gabor_spectrum(12, 10, &p);
        let (rows, cols) = (angular_frequencies(12), angular_frequencies(10));
        let radius = alias_radius(&p).unwrap() as i32;
        for k in 0..12 {
            for l in 0..10 {
                let mut direct = 0.0;
                for a in -radius..=radius {
                    for b in -radius..=radius {
                        direct += gabor_hat(
                            rows[k] + 2.0 * PI * a as f64,
                            cols[l] + 2.0 * PI * b as f64,
                            &p,
                        );
                    }
                }
                assert!((grid[[k, l]] - direct).abs() <= 1e-15 * direct.max(1e-5));
                assert_eq!(grid[[k, l]], gabor_hat_periodized(rows[k], cols[l], &p));
            }
        }
    }

    #[test]
    fn row_windows_keep_every_term_of_the_full_sum() {
        // Brute force: every alias a, b in -A..=A with the same skip rule, against the windowed
        // walk, over wavelets from narrow to wide, slanted both ways, any orientation.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = |lo: f64, hi: f64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            lo + (hi - lo) * (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..60 {
            let p = MorletParams {
                sigma: uniform(0.3, 12.0),
                xi: uniform(0.0, 3.0),
                theta: uniform(-4.0, 4.0),
                slant: uniform(0.2, 5.0),
            };
            let (h, w) = (14, 11);
            let form = GaborForm::new(&p);
            let r = form.radius;
            let grid = gabor_spectrum(h, w, &p);
            for (k, &wr) in angular_frequencies(h).iter().enumerate() {
                for (l, &wc) in angular_frequencies(w).iter().enumerate() {
                    let mut sum = 0.0;
                    for a in -r..=r {
                        for b in -r..=r {
                            let e =
                                form.exponent(wr + 2.0 * PI * a as f64, wc + 2.0 * PI * b as f64);
                            if e < NEGLIGIBLE_EXPONENT {
                                sum += (-e).exp();
                            }
                        }
                    }
                    let full = (PI / KYMATIO_NORM_PI) * sum;
                    assert!(
                        (grid[[k, l]] - full).abs() <= 1e-15 * full.max(1e-300),
                        "{p:?} at ({k}, {l}): windowed {} vs full {full}",
                        grid[[k, l]]
                    );
                }
            }
        }
    }

    #[test]
    fn vjp_matches_central_differences() {
        // Tight-frame-like, slanted, wide (many aliases), and far-from-origin wavelets.
        let cases = [
            (
                MorletParams {
                    sigma: 0.8,
                    xi: 2.356,
                    theta: 0.39,
                    slant: 0.5,
                },
                40,
                40,
            ),
            (
                MorletParams {
                    sigma: 1.7,
                    xi: 1.1,
                    theta: -2.0,
                    slant: 1.3,
                },
                24,
                18,
            ),
            (
                MorletParams {
                    sigma: 0.5,
                    xi: 2.9,
                    theta: 1.0,
                    slant: 4.0,
                },
                16,
                20,
            ),
            (
                MorletParams {
                    sigma: 3.2,
                    xi: 0.4,
                    theta: 0.1,
                    slant: 0.7,
                },
                30,
                30,
            ),
        ];
        for (p, h, w) in cases {
            let cot = Array2::from_shape_fn((h, w), |(k, l)| ((k * 7 + l * 3) % 11) as f64 - 5.0);
            let loss = |q: &MorletParams| (&morlet_spectrum(h, w, q) * &cot).sum();
            let got = morlet_spectrum_vjp(h, w, &p, cot.view());
            let step = 1e-6;
            for (i, &g) in got.iter().enumerate() {
                let shifted = |d: f64| {
                    let mut q = p;
                    match i {
                        0 => q.sigma += d,
                        1 => q.xi += d,
                        2 => q.theta += d,
                        _ => q.slant += d,
                    }
                    loss(&q)
                };
                let fd = (shifted(step) - shifted(-step)) / (2.0 * step);
                let scale = got.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                assert!(
                    (g - fd).abs() <= 1e-6 * scale,
                    "{p:?} {h}x{w}, parameter {i}: analytic {g}, central difference {fd}"
                );
            }
        }
    }

    #[test]
    fn rotation_by_pi_mirrors_the_spectrum() {
        let p = MorletParams {
            sigma: 1.3,
            xi: 1.1,
            theta: 0.4,
            slant: 0.7,
        };
        let q = MorletParams {
            theta: p.theta + PI,
            ..p
        };
        let (a, b) = (morlet_spectrum(24, 24, &p), morlet_spectrum(24, 24, &q));
        for k in 0..24 {
            for l in 0..24 {
                let v = b[[(24 - k) % 24, (24 - l) % 24]];
                assert!((a[[k, l]] - v).abs() < 1e-12);
            }
        }
    }
}
