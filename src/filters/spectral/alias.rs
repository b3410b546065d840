//! The alias sum: how many aliases `ω + 2π(a, b)` a wavelet needs ([`alias_radius`], with the
//! bound in `docs/design.md`, "How many aliases"), which wavelets have no usable spectrum
//! ([`spectrum_defect`]), and the Gabor's quadratic form with the windows of terms that count on
//! each row alias ([`GaborForm`], `GaborForm::row_windows`).

use std::f64::consts::PI;

use super::super::{KYMATIO_NORM_PI, MorletParams};

/// The alias sum is truncated where the neglected terms add up to at most this, relative to the
/// filter's peak (which is about 1): `2^−53`, the rounding of an `f64` value of that size. Filters
/// are stored in `f32` or `f64`, so nothing truncated is visible in a coefficient.
pub(crate) const ALIAS_TOLERANCE: f64 = f64::EPSILON / 2.0;

/// Largest alias radius [`alias_radius`] accepts (`(2·64 + 1)² = 16641` terms per frequency). A
/// wavelet that needs more is narrower than about 0.02 pixel across (or has `|ξ|` in the hundreds):
/// validation rejects it rather than spend minutes on its spectrum.
pub(crate) const MAX_ALIAS_RADIUS: usize = 64;

/// Exponents above `NEGLIGIBLE_EXPONENT` are skipped inside the alias sum: `e^−50 ≈ 2e-22`, so even
/// [`MAX_ALIAS_RADIUS`]'s 16641 skipped terms stay below [`ALIAS_TOLERANCE`] / 4.
pub(crate) const NEGLIGIBLE_EXPONENT: f64 = 50.0;

/// Largest `σ²·max(1, 1/slant²)` a wavelet may have: the coefficients of the Gabor's quadratic
/// form, `σ²/2` along and `σ²/(2·slant²)` across the wave vector, must stay finite where the burn
/// layer evaluates them in `f32` (largest value `3.4e38`), with room for the squared frequencies
/// (up to `(2π·65)²`) they multiply. Beyond it (`σ ≈ 1e15` pixels, or a slant of `1e-15`) the
/// spectrum would be `NaN` or a single spike.
pub(crate) const MAX_QUADRATIC_COEFFICIENT: f64 = 1e30;

/// Why a wavelet has no usable spectrum, if it has none: the parameter to blame and the reason,
/// for [`crate::ScatterError::InvalidWavelet`]. `None` for a usable wavelet.
pub(crate) fn spectrum_defect(p: &MorletParams) -> Option<(&'static str, f64, &'static str)> {
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
pub(crate) fn alias_radius(p: &MorletParams) -> Option<usize> {
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

/// The quadratic form of one Gabor term, with its trigonometry evaluated once. The device
/// executor's spectra (`cascade::device::spectra`) tabulate their constants and row windows from
/// it, so both evaluate the same terms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GaborForm {
    pub(crate) cos_t: f64,
    pub(crate) sin_t: f64,
    pub(crate) sigma: f64,
    pub(crate) slant: f64,
    pub(crate) xi: f64,
    /// `α = σ²/2`, the coefficient along the wave vector.
    pub(crate) along: f64,
    /// `β = σ²/(2·slant²)`, the coefficient across it.
    pub(crate) across: f64,
    pub(crate) radius: i64,
}

impl GaborForm {
    /// # Panics
    /// If the wavelet needs more than [`MAX_ALIAS_RADIUS`] aliases (validated banks do not).
    pub(crate) fn new(p: &MorletParams) -> Self {
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
    #[cfg(test)]
    pub(super) fn exponent(&self, omega_row: f64, omega_col: f64) -> f64 {
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
    pub(crate) fn row_windows(&self, omega_row: f64) -> Vec<RowWindow> {
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
    pub(super) fn for_each_term(
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
    pub(crate) fn periodized_with_derivatives(
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
    pub(super) fn periodized(&self, windows: &[RowWindow], omega_col: f64) -> f64 {
        let mut sum = 0.0;
        self.for_each_term(windows, omega_col, |e, _, _| sum += (-e).exp());
        (PI / KYMATIO_NORM_PI) * sum
    }
}

/// One row alias of the sum and the column frequencies where its terms can matter
/// ([`GaborForm::row_windows`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowWindow {
    /// The row alias `ω_row + 2πa`.
    pub(crate) omega_row: f64,
    /// The column frequencies `ω_col + 2πb` in `[lo, hi]` can hold a term that counts.
    pub(crate) lo: f64,
    pub(crate) hi: f64,
}
