//! The statistics of an experiment over seeds: mean and sample standard deviation, Student-t
//! quantiles and intervals, two-sided paired t-tests, and Holm's correction for a family of
//! tests. Distribution functions are [`statrs`]'s (regularised incomplete beta); the tests
//! compare them with SciPy (`tests/fixtures/gen_paired_t.py`).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean and sample standard deviation (divisor `n − 1`; 0 for one value) of `values`; NaN for
/// none.
pub(crate) fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = if values.len() > 1 {
        (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else if values.is_empty() {
        f64::NAN
    } else {
        0.0
    };
    (mean, std)
}

/// Student's t distribution with `df` degrees of freedom (`None` for `df = 0`).
fn students_t(df: usize) -> Option<StudentsT> {
    (df > 0).then(|| StudentsT::new(0.0, 1.0, df as f64).expect("positive degrees of freedom"))
}

/// The `p`-quantile of Student's t distribution with `df` degrees of freedom; NaN for `df = 0`
/// or `p` outside `(0, 1)`. (The tests compare it with SciPy and with the printed tables;
/// [`paired_t_test`] takes its interval from the same distribution.)
#[cfg(test)]
pub(crate) fn t_quantile(p: f64, df: usize) -> f64 {
    match students_t(df) {
        Some(t) if p > 0.0 && p < 1.0 => t.inverse_cdf(p),
        _ => f64::NAN,
    }
}

/// `t_{0.975, df}`, the quantile of a two-sided 95 % interval ([`t_quantile`]).
#[cfg(test)]
pub(crate) fn t_quantile_975(df: usize) -> f64 {
    t_quantile(0.975, df)
}

/// A two-sided one-sample t-test of `mean = 0` on paired differences (SciPy's `ttest_rel` on the
/// two samples, `ttest_1samp` on their differences).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PairedTest {
    /// Number of pairs.
    pub(crate) n: usize,
    /// Mean difference.
    pub(crate) mean: f64,
    /// Sample standard deviation of the differences.
    pub(crate) std: f64,
    /// Half-width of the 95 % t-interval of the mean; NaN for fewer than two pairs.
    pub(crate) half_width: f64,
    /// The t statistic `mean / (std / √n)` (±∞ for differences that are all equal and not 0;
    /// NaN when they are all 0 or there are fewer than two).
    pub(crate) t: f64,
    /// Two-sided p-value; NaN where `t` is.
    pub(crate) p_value: f64,
}

/// The paired t-test of `differences` ([`PairedTest`]).
pub(crate) fn paired_t_test(differences: &[f64]) -> PairedTest {
    let n = differences.len();
    let (mean, std) = mean_std(differences);
    let Some(dist) = students_t(n.saturating_sub(1)) else {
        return PairedTest {
            n,
            mean,
            std,
            half_width: f64::NAN,
            t: f64::NAN,
            p_value: f64::NAN,
        };
    };
    let se = std / (n as f64).sqrt();
    let t = mean / se;
    let p_value = if t.is_nan() {
        f64::NAN
    } else {
        (2.0 * dist.sf(t.abs())).min(1.0)
    };
    PairedTest {
        n,
        mean,
        std,
        half_width: dist.inverse_cdf(0.975) * se,
        t,
        p_value,
    }
}

/// Holm's step-down adjustment of a family of p-values (Holm 1979): sorted ascending, the `i`-th
/// smallest (from 0) is multiplied by `m − i`, made non-decreasing and capped at 1; returned in the
/// order given. Reject at level α where the adjusted value is ≤ α: the family-wise error rate is
/// at most α. NaN p-values (tests that could not be run) stay NaN and are not counted in `m`.
pub(crate) fn holm_adjusted(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len())
        .filter(|&i| !p_values[i].is_nan())
        .collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p_values.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        assert_eq!(mean_std(&[30.0, 40.0, 50.0]), (40.0, 10.0));
        assert_eq!(mean_std(&[2.5]), (2.5, 0.0));
        assert!(mean_std(&[]).0.is_nan());
    }

    #[test]
    fn quantiles_agree_with_the_printed_tables() {
        // Two-sided 95 % quantiles as printed (three decimals) in standard t tables.
        for (df, printed) in [
            (1, 12.706),
            (2, 4.303),
            (9, 2.262),
            (30, 2.042),
            (1000, 1.962),
        ] {
            assert!(
                (t_quantile_975(df) - printed).abs() < 5e-4,
                "df {df}: {}",
                t_quantile_975(df)
            );
        }
        assert!(t_quantile_975(0).is_nan() && t_quantile(1.0, 3).is_nan());
    }

    #[test]
    fn degenerate_paired_tests() {
        let one = paired_t_test(&[1.0]);
        assert!(one.half_width.is_nan() && one.p_value.is_nan() && one.std == 0.0);
        let equal = paired_t_test(&[0.5, 0.5, 0.5]);
        assert_eq!((equal.t, equal.p_value), (f64::INFINITY, 0.0));
        assert!(paired_t_test(&[0.0, 0.0]).p_value.is_nan());
    }

    #[test]
    fn holm_steps_down_and_keeps_the_order() {
        // m = 4: 0.01·4 = 0.04, 0.02·3 = 0.06, 0.03·2 = 0.06, 0.5·1 = 0.5.
        let adjusted = holm_adjusted(&[0.03, 0.5, 0.01, f64::NAN, 0.02]);
        let want = [0.06, 0.5, 0.04, f64::NAN, 0.06];
        for (a, w) in adjusted.iter().zip(want) {
            assert!(
                (a - w).abs() < 1e-15 || (a.is_nan() && w.is_nan()),
                "{adjusted:?}"
            );
        }
        assert_eq!(holm_adjusted(&[0.9, 0.8]), vec![1.0, 1.0]);
    }

    // Against SciPy (`tests/fixtures/paired_t.json`, written by `tests/fixtures/gen_paired_t.py`:
    // Student-t quantiles, paired t-tests, Holm's correction, including the per-seed differences
    // printed in docs/results.md).

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/fixtures/paired_t.json")).unwrap()
    }

    fn close(a: f64, b: f64, rtol: f64) -> bool {
        (a - b).abs() <= rtol * b.abs().max(1e-300)
    }

    fn floats(v: &serde_json::Value) -> Vec<f64> {
        let values = v.as_array().unwrap().iter();
        values.map(|x| x.as_f64().unwrap()).collect()
    }

    #[test]
    fn t_quantiles_match_scipy() {
        for q in fixture()["quantiles"].as_array().unwrap() {
            let (p, df) = (q["p"].as_f64().unwrap(), q["df"].as_u64().unwrap() as usize);
            let (got, want) = (t_quantile(p, df), q["value"].as_f64().unwrap());
            assert!(close(got, want, 1e-9), "t_{p}, {df}: {got} vs scipy {want}");
        }
    }

    #[test]
    fn paired_t_tests_and_holm_match_scipy() {
        for family in fixture()["families"].as_array().unwrap() {
            let rows = family["rows"].as_array().unwrap();
            let tests: Vec<_> = rows
                .iter()
                .map(|r| paired_t_test(&floats(&r["differences"])))
                .collect();
            let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
            for ((row, test), holm) in rows.iter().zip(&tests).zip(holm_adjusted(&p)) {
                let label = row["label"].as_str().unwrap();
                for (name, got, key) in [
                    ("t", test.t, "t"),
                    ("p", test.p_value, "p_value"),
                    ("half-width", test.half_width, "half_width"),
                    ("Holm p", holm, "holm"),
                ] {
                    let want = row[key].as_f64().unwrap();
                    assert!(
                        close(got, want, 1e-8),
                        "{label}: {name} {got} vs scipy {want}"
                    );
                }
            }
        }
    }
}
