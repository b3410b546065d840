//! Geometry shared by every scattering implementation: padding, output size, and the path table.
//!
//! All of it follows kymatio 0.3.0 (`scattering2d/utils.py`, `frontend/base_frontend.py`,
//! `core/scattering2d.py`); the cascade and the burn layer both read it from here.

use serde::{Deserialize, Serialize};

use crate::error::{Result, ScatterError};

/// Validated scattering configuration: `J` scales, `L` orientations, maximum order 1 or 2.
///
/// The fields are private, so every value went through [`ScatteringOptions::with_max_order`]'s
/// checks: built by [`new`](ScatteringOptions::new) / [`with_max_order`](ScatteringOptions::with_max_order),
/// or deserialised (serde goes through the same checks and refuses values outside the ranges).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawScatteringOptions")]
pub struct ScatteringOptions {
    /// Number of dyadic scales `J` (at least 1). The output is subsampled by `2^J`.
    num_scales: usize,
    /// Number of orientations `L` per scale (at least 1).
    num_orientations: usize,
    /// Highest scattering order computed: 1 or 2.
    max_order: usize,
}

/// The serialised form of [`ScatteringOptions`] before its checks (same field names).
#[derive(Deserialize)]
struct RawScatteringOptions {
    num_scales: usize,
    num_orientations: usize,
    max_order: usize,
}

impl TryFrom<RawScatteringOptions> for ScatteringOptions {
    type Error = ScatterError;

    fn try_from(raw: RawScatteringOptions) -> Result<Self> {
        Self::with_max_order(raw.num_scales, raw.num_orientations, raw.max_order)
    }
}

impl ScatteringOptions {
    /// Options for `J` scales and `L` orientations up to order 2, validated.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] if `J` or `L` is 0, `J > 30` or
    /// `L > `[`MAX_ORIENTATIONS`].
    pub fn new(num_scales: usize, num_orientations: usize) -> Result<Self> {
        Self::with_max_order(num_scales, num_orientations, 2)
    }

    /// Options with an explicit maximum order (1 or 2), validated.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] if `J` or `L` is 0, `J > 30`, `L >`
    /// [`MAX_ORIENTATIONS`], or `max_order` is not 1 or 2.
    pub fn with_max_order(
        num_scales: usize,
        num_orientations: usize,
        max_order: usize,
    ) -> Result<Self> {
        let options = Self {
            num_scales,
            num_orientations,
            max_order,
        };
        options.validate()?;
        Ok(options)
    }

    /// Options as given, without the checks: for the unit tests that make sure the plans and the
    /// path count stay safe even so.
    #[cfg(test)]
    pub(crate) fn unchecked(num_scales: usize, num_orientations: usize, max_order: usize) -> Self {
        Self {
            num_scales,
            num_orientations,
            max_order,
        }
    }

    /// Number of dyadic scales `J` (1 to `MAX_SCALES`). The output is subsampled by `2^J`.
    pub fn num_scales(&self) -> usize {
        self.num_scales
    }

    /// Number of orientations `L` per scale (1 to [`MAX_ORIENTATIONS`]).
    pub fn num_orientations(&self) -> usize {
        self.num_orientations
    }

    /// Highest scattering order computed: 1 or 2.
    pub fn max_order(&self) -> usize {
        self.max_order
    }

    /// Checks the invariants. The constructors and deserialisation call it, so a value of this
    /// type always passes; the plans call it again as a second line of defence.
    ///
    /// # Errors
    /// As [`ScatteringOptions::with_max_order`].
    pub(crate) fn validate(&self) -> Result<()> {
        check_num_scales(self.num_scales)?;
        if self.num_orientations == 0 {
            return Err(invalid(
                "num_orientations",
                self.num_orientations,
                "L must be at least 1",
            ));
        }
        if self.num_orientations > MAX_ORIENTATIONS {
            return Err(invalid(
                "num_orientations",
                self.num_orientations,
                "L must be at most 1024",
            ));
        }
        if !(1..=2).contains(&self.max_order) {
            return Err(invalid("max_order", self.max_order, "must be 1 or 2"));
        }
        Ok(())
    }

    /// Number of output channels `K = 1 + J·L` (order 1) or `1 + J·L + L²·J(J−1)/2` (order 2).
    ///
    /// Validated options give at most `1 + 30·1024 + 1024²·435` channels, far from overflowing;
    /// the count is computed in `u128` and saturates at `usize::MAX` all the same.
    pub fn num_paths(&self) -> usize {
        let (j, l) = (self.num_scales as u128, self.num_orientations as u128);
        let first = 1 + j * l;
        let k = if self.max_order == 1 {
            first
        } else {
            // j·(j−1)/2 is exact before the multiplication by L².
            first.saturating_add((l * l).saturating_mul(j * j.saturating_sub(1) / 2))
        };
        usize::try_from(k).unwrap_or(usize::MAX)
    }
}

/// Largest supported `J`: `2^J` must fit any image size expressible in `usize`.
pub(crate) const MAX_SCALES: usize = 30;

/// Coarse-grid pixels dropped before the output window on each axis: the padding is
/// `2^J` pixels a side at full resolution, one pixel at resolution `2^J` (kymatio's `unpad`).
pub(crate) const UNPAD_OFFSET: usize = 1;

/// The one range check of `J` (every constructor that takes `J` calls it).
fn check_num_scales(num_scales: usize) -> Result<()> {
    if num_scales == 0 {
        return Err(invalid("num_scales", num_scales, "J must be at least 1"));
    }
    if num_scales > MAX_SCALES {
        return Err(invalid("num_scales", num_scales, "J must be at most 30"));
    }
    Ok(())
}

/// Largest supported `L`, 1024: far above the 8 of kymatio's default and of the paper, and
/// small enough that the path count `K` (about `L²·J²/2`) and the path tables stay far from
/// overflow. Memory is bounded separately, by the size check of the cascade's plan
/// ([`crate::cascade::MAX_PLAN_BYTES`]).
pub const MAX_ORIENTATIONS: usize = 1024;

/// Largest padded plane `Mp·Np` accepted by [`PaddedGeometry::new`]: 2²⁸ values (for example
/// 16384 × 16384), 2 GiB per complex `f32` plane. Every buffer of the cascade is a multiple of
/// it, so larger inputs are refused before anything is allocated.
pub const MAX_PADDED_PLANE: usize = 1 << 28;

fn invalid(name: &'static str, value: usize, reason: &'static str) -> ScatterError {
    ScatterError::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}

/// Padded grid and output size for an `height × width` input at `J` scales.
///
/// kymatio `compute_padding`: `Mp = (⌊M / 2^J⌋ + 2)·2^J`; pads `[(Mp−M)/2, (Mp−M+1)/2]`, so an odd
/// total puts the extra pixel at the bottom / right. The output is `⌊M / 2^J⌋ × ⌊N / 2^J⌋`, the
/// `Mp / 2^J` grid with one pixel removed on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaddedGeometry {
    /// Number of scales `J`.
    pub num_scales: usize,
    /// Input height `M`.
    pub height: usize,
    /// Input width `N`.
    pub width: usize,
    /// Padded height `Mp`, a multiple of `2^J`.
    pub padded_height: usize,
    /// Padded width `Np`, a multiple of `2^J`.
    pub padded_width: usize,
    /// Rows added above the image.
    pub(crate) pad_top: usize,
    /// Rows added below the image.
    pub(crate) pad_bottom: usize,
    /// Columns added left of the image.
    pub(crate) pad_left: usize,
    /// Columns added right of the image.
    pub(crate) pad_right: usize,
}

impl PaddedGeometry {
    /// Geometry of an `height × width` image at `J` scales.
    ///
    /// # Errors
    /// [`ScatterError::InvalidParameter`] for `J = 0` or `J > 30`;
    /// [`ScatterError::ScaleTooLarge`] if `2^J > height` or `2^J > width`;
    /// [`ScatterError::InputTooLarge`] if the padded plane `Mp·Np` exceeds
    /// [`MAX_PADDED_PLANE`] (which also rules out any overflow).
    pub fn new(height: usize, width: usize, num_scales: usize) -> Result<Self> {
        check_num_scales(num_scales)?;
        let step = 1usize << num_scales;
        if step > height || step > width {
            return Err(ScatterError::ScaleTooLarge {
                j: num_scales,
                height,
                width,
            });
        }
        // In u128 first: `(usize::MAX / step + 2)·step` overflows usize.
        let padded = |n: usize| (n / step) as u128 * step as u128 + 2 * step as u128;
        let (ph, pw) = (padded(height), padded(width));
        if ph
            .checked_mul(pw)
            .is_none_or(|n| n > MAX_PADDED_PLANE as u128)
        {
            return Err(ScatterError::InputTooLarge {
                height,
                width,
                num_scales,
                padded_height: ph,
                padded_width: pw,
                limit: MAX_PADDED_PLANE,
            });
        }
        let (padded_height, padded_width) = (ph as usize, pw as usize);
        Ok(Self {
            num_scales,
            height,
            width,
            padded_height,
            padded_width,
            pad_top: (padded_height - height) / 2,
            pad_bottom: (padded_height - height).div_ceil(2),
            pad_left: (padded_width - width) / 2,
            pad_right: (padded_width - width).div_ceil(2),
        })
    }

    /// The output window on the coarse (`Mp/2^J × Np/2^J`) grid, `[rows, cols]`: kymatio's unpad
    /// (`unpad` in `kymatio/scattering2d/backend/numpy_backend.py`, `x[..., 1:-1, 1:-1]`) keeps
    /// [`UNPAD_OFFSET`]` + 0 .. `[`UNPAD_OFFSET`]` + output_size` of each axis. Every transform
    /// and adjoint of the host cascade unpads through this window; the device executor's kernels
    /// unpad the same window (`cascade::device`'s `unpad_store`, tested against the host).
    pub(crate) fn unpad_window(&self) -> [std::ops::Range<usize>; 2] {
        let [ho, wo] = self.output_size();
        [
            UNPAD_OFFSET..UNPAD_OFFSET + ho,
            UNPAD_OFFSET..UNPAD_OFFSET + wo,
        ]
    }

    /// Output spatial size `[⌊M / 2^J⌋, ⌊N / 2^J⌋]`.
    pub fn output_size(&self) -> [usize; 2] {
        [
            self.height >> self.num_scales,
            self.width >> self.num_scales,
        ]
    }

    /// Padded size `[Mp, Np]`.
    pub fn padded_size(&self) -> [usize; 2] {
        [self.padded_height, self.padded_width]
    }

    /// Source row of padded row `i` (`0 ≤ i < Mp`) under reflect padding.
    pub fn source_row(&self, i: usize) -> usize {
        reflect_index(i as isize - self.pad_top as isize, self.height)
    }

    /// Source column of padded column `i` (`0 ≤ i < Np`) under reflect padding.
    pub fn source_col(&self, i: usize) -> usize {
        reflect_index(i as isize - self.pad_left as isize, self.width)
    }
}

/// Source index of position `i` (which may lie outside `[0, n)`) under reflect padding without
/// repeating the edge (`a b c d` padded by 2 gives `c b | a b c d | c b`), reflecting as often as
/// needed: numpy's `mode='reflect'`, which kymatio's numpy backend uses, also when the pad is as
/// wide as the image (`2^J == size`).
///
/// For `n == 1` every position maps to 0.
pub(crate) fn reflect_index(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let r = i.rem_euclid(period);
    if r < n as isize {
        r as usize
    } else {
        (period - r) as usize
    }
}

/// One output channel of the scattering transform.
///
/// Orientation indices `l` refer to the bank's wavelet `n = j·L + l`; the angle of the tight-frame
/// bank is `θ_l = (⌊L − L/2 − 1⌋ − l)·π/L` ([`FilterBankParams::tight_frame`](crate::FilterBankParams::tight_frame)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScatteringPath {
    /// `S0 = x ⋆ φ_J`.
    Zeroth,
    /// `S1 = |x ⋆ ψ_{j1,l1}| ⋆ φ_J`.
    First {
        /// Scale of the first wavelet.
        j1: usize,
        /// Orientation index of the first wavelet.
        l1: usize,
    },
    /// `S2 = ||x ⋆ ψ_{j1,l1}| ⋆ ψ_{j2,l2}| ⋆ φ_J`, with `j2 > j1`.
    Second {
        /// Scale of the first wavelet.
        j1: usize,
        /// Orientation index of the first wavelet.
        l1: usize,
        /// Scale of the second wavelet.
        j2: usize,
        /// Orientation index of the second wavelet.
        l2: usize,
    },
}

impl ScatteringPath {
    /// Scattering order: 0, 1 or 2.
    pub fn order(&self) -> usize {
        match self {
            Self::Zeroth => 0,
            Self::First { .. } => 1,
            Self::Second { .. } => 2,
        }
    }

    /// The row `(order, j1, l1, j2, l2)` with `-1` for unused entries, as in the kymatio fixtures.
    pub fn as_row(&self) -> [i64; 5] {
        match *self {
            Self::Zeroth => [0, -1, -1, -1, -1],
            Self::First { j1, l1 } => [1, j1 as i64, l1 as i64, -1, -1],
            Self::Second { j1, l1, j2, l2 } => [2, j1 as i64, l1 as i64, j2 as i64, l2 as i64],
        }
    }
}

/// Every output channel in kymatio's order: `S0`; then order 1 with `n1 = j1·L + l1`; then order 2
/// in lexicographic order of `(j1, l1, j2, l2)` with `j2 > j1`. Channel `k` of the output is
/// `paths(..)[k]`.
pub fn paths(options: &ScatteringOptions) -> Vec<ScatteringPath> {
    let (big_j, big_l) = (options.num_scales, options.num_orientations);
    let mut out = Vec::with_capacity(options.num_paths());
    out.push(ScatteringPath::Zeroth);
    for j1 in 0..big_j {
        for l1 in 0..big_l {
            out.push(ScatteringPath::First { j1, l1 });
        }
    }
    if options.max_order >= 2 {
        for j1 in 0..big_j {
            for l1 in 0..big_l {
                for j2 in j1 + 1..big_j {
                    for l2 in 0..big_l {
                        out.push(ScatteringPath::Second { j1, l1, j2, l2 });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_table_of_the_reference() {
        // (M, J, Mp, top, bottom) as kymatio 0.3.0 pads (`scattering2d/utils.py::compute_padding`);
        // the padded fixtures of tests/golden_kymatio.rs check the rule against kymatio itself.
        for (m, j, mp, top, bottom) in [
            (32, 2, 40, 4, 4),
            (64, 3, 80, 8, 8),
            (128, 4, 160, 16, 16),
            (32, 4, 64, 16, 16),
            (32, 5, 96, 32, 32),
            (30, 2, 36, 3, 3),
            (45, 2, 52, 3, 4),
        ] {
            let g = PaddedGeometry::new(m, m, j).unwrap();
            assert_eq!(
                (g.padded_height, g.pad_top, g.pad_bottom),
                (mp, top, bottom),
                "M={m} J={j}"
            );
            assert_eq!(g.pad_left + g.pad_right + g.width, g.padded_width);
        }
        let g = PaddedGeometry::new(30, 45, 2).unwrap();
        assert_eq!(g.padded_size(), [36, 52]);
        assert_eq!(g.output_size(), [7, 11]);
    }

    #[test]
    fn reflect_index_matches_numpy_reflect() {
        // np.pad([0,1,2,3], 2, mode='reflect') == [2,1,0,1,2,3,2,1]
        let got: Vec<usize> = (-2..6).map(|i| reflect_index(i, 4)).collect();
        assert_eq!(got, [2, 1, 0, 1, 2, 3, 2, 1]);
        // Repeated reflection: np.pad([0,1], 3, mode='reflect') == [1,0,1,0,1,0,1,0]
        let got: Vec<usize> = (-3..5).map(|i| reflect_index(i, 2)).collect();
        assert_eq!(got, [1, 0, 1, 0, 1, 0, 1, 0]);
        assert_eq!(reflect_index(-5, 1), 0);
    }

    #[test]
    fn path_count_matches_the_formula_and_table() {
        for (j, l, k) in [
            (2, 8, 81),
            (3, 8, 217),
            (4, 8, 417),
            (5, 8, 681),
            (2, 4, 25),
        ] {
            let o = ScatteringOptions::new(j, l).unwrap();
            assert_eq!(o.num_paths(), k);
            assert_eq!(paths(&o).len(), k);
        }
        let o = ScatteringOptions::with_max_order(3, 8, 1).unwrap();
        assert_eq!(paths(&o).len(), 25);
        assert!(
            paths(&ScatteringOptions::new(1, 8).unwrap())
                .iter()
                .all(|p| p.order() < 2)
        );
    }

    #[test]
    fn order_one_table_is_a_prefix_of_order_two() {
        let o1 = ScatteringOptions::with_max_order(3, 6, 1).unwrap();
        let o2 = ScatteringOptions::new(3, 6).unwrap();
        assert_eq!(paths(&o1), paths(&o2)[..o1.num_paths()]);
    }

    #[test]
    fn invalid_options_are_rejected() {
        assert!(matches!(
            ScatteringOptions::new(0, 8),
            Err(ScatterError::InvalidParameter {
                name: "num_scales",
                ..
            })
        ));
        assert!(matches!(
            ScatteringOptions::new(2, 0),
            Err(ScatterError::InvalidParameter {
                name: "num_orientations",
                ..
            })
        ));
        assert!(matches!(
            ScatteringOptions::with_max_order(2, 8, 3),
            Err(ScatterError::InvalidParameter {
                name: "max_order",
                ..
            })
        ));
        assert!(matches!(
            ScatteringOptions::new(2, MAX_ORIENTATIONS + 1),
            Err(ScatterError::InvalidParameter {
                name: "num_orientations",
                ..
            })
        ));
        assert!(ScatteringOptions::new(2, MAX_ORIENTATIONS).is_ok());
        let e = PaddedGeometry::new(32, 32, 6).unwrap_err();
        assert_eq!(e.to_string(), "2^J = 64 exceeds input size 32x32");
        assert!(PaddedGeometry::new(32, 32, 5).is_ok());
        assert!(PaddedGeometry::new(32, 31, 5).is_err());
    }

    #[test]
    fn deserialised_options_are_validated() {
        let o = ScatteringOptions::with_max_order(3, 6, 1).unwrap();
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(
            json,
            r#"{"num_scales":3,"num_orientations":6,"max_order":1}"#
        );
        assert_eq!(serde_json::from_str::<ScatteringOptions>(&json).unwrap(), o);
        for bad in [
            r#"{"num_scales":0,"num_orientations":8,"max_order":2}"#,
            r#"{"num_scales":2,"num_orientations":1000000,"max_order":2}"#,
            r#"{"num_scales":2,"num_orientations":8,"max_order":3}"#,
        ] {
            let e = serde_json::from_str::<ScatteringOptions>(bad).unwrap_err();
            assert!(e.to_string().contains("invalid parameter"), "{bad}: {e}");
        }
    }

    /// A unit test because integration tests cannot build options outside the validated range.
    #[test]
    fn path_count_saturates_instead_of_wrapping() {
        let wide = ScatteringOptions::unchecked(2, 1 << 32, 2);
        assert_eq!(wide.num_paths(), usize::MAX);
        assert!(wide.validate().is_err());
    }
}
