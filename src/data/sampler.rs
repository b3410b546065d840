//! The class-balanced subsets of "Parametric Scattering Networks" (CVPR 2022), bit-identical to
//! the reference code.
//!
//! The reference (`parametricSN/data_loading/SmallSampleController.py`) draws
//! `RP = numpy.random.RandomState(seed).permutation(min_class_count)` once, and for every class
//! `c` takes `where(targets == c)[0][RP[:N / num_classes]]`: the same permutation positions
//! in every class's ascending index list, classes concatenated in label order.
//!
//! `numpy_permutation` reproduces NumPy's *legacy* `RandomState` stream (frozen by NEP 19,
//! so identical in every NumPy release): MT19937 seeded with `init_genrand(seed)`, then the
//! Fisher-Yates shuffle of `numpy/random/mtrand.pyx` (`_shuffle_raw`) drawing each swap
//! position with `random_interval` (`numpy/random/src/legacy/legacy-distributions.c`,
//! `distributions.c`): a bit mask above the bound and rejection of 32-bit draws that exceed it.
//! `tests/fixtures/gen_sampler_fixture.py` pins the result against NumPy itself.

use crate::data::DataError;
use crate::error::{Result, ScatterError};
use rand_mt::Mt;

/// NumPy's `RandomState(seed).permutation(n)` (legacy stream), as `usize`; for example
/// `numpy.random.RandomState(0).permutation(10)` is `[2, 8, 4, 9, 1, 6, 7, 3, 0, 5]`.
fn numpy_permutation(seed: u32, n: usize) -> Vec<usize> {
    let mut mt = Mt::new(seed);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = random_interval(&mut mt, i as u64) as usize;
        p.swap(i, j);
    }
    p
}

/// A uniform integer in `0..=max` by masked rejection, as NumPy's legacy `random_interval`.
fn random_interval(mt: &mut Mt, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let mut mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    if max <= 0xffff_ffff {
        loop {
            let v = u64::from(mt.next_u32()) & mask;
            if v <= max {
                return v;
            }
        }
    }
    loop {
        // NumPy's 64-bit draw: two 32-bit outputs, high word first.
        let hi = u64::from(mt.next_u32());
        let lo = u64::from(mt.next_u32());
        let v = ((hi << 32) | lo) & mask;
        if v <= max {
            return v;
        }
    }
}

/// The paper's class-balanced subset: dataset indices of `total / num_classes` images per
/// class, in class-major order (`c = 0..num_classes`), within a class in the order of
/// `RP = numpy.random.RandomState(seed).permutation(smallest class size)` (NumPy's legacy
/// stream, bit for bit).
///
/// `labels[i]` is the class of image `i`; the same `RP` positions are used for every class.
///
/// # Errors
/// [`DataError::InvalidSubset`] if `num_classes == 0`, `total` is zero or not a multiple
/// of `num_classes`, or `total / num_classes` exceeds the smallest class (every class in
/// `0..num_classes` counts, including an empty one); [`DataError::InvalidDataset`] if a
/// label is `>= num_classes`.
pub fn balanced_subset(
    labels: &[usize],
    num_classes: usize,
    total: usize,
    seed: u32,
) -> Result<Vec<usize>> {
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= num_classes) {
        return Err(ScatterError::Data(DataError::InvalidDataset {
            reason: format!("label {l} of image {i} is out of range for {num_classes} classes"),
        }));
    }
    let per_class = super::class_indices(labels, num_classes);
    let smallest = per_class.iter().map(Vec::len).min().unwrap_or(0);
    let err = |reason| {
        ScatterError::Data(DataError::InvalidSubset {
            total,
            num_classes,
            smallest_class: smallest,
            reason,
        })
    };
    if num_classes == 0 {
        return Err(err("there is no class"));
    }
    if total == 0 || !total.is_multiple_of(num_classes) {
        return Err(err(
            "the size must be a positive multiple of the number of classes",
        ));
    }
    let k = total / num_classes;
    if k > smallest {
        return Err(err("more images per class than the smallest class holds"));
    }
    let rp = numpy_permutation(seed, smallest);
    Ok(per_class
        .iter()
        .flat_map(|idx| rp[..k].iter().map(move |&r| idx[r]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_permutations_match_numpy() {
        // Written out from NumPy 2.4.6:
        // numpy.random.RandomState(0).permutation(10), RandomState(1).permutation(2),
        // RandomState(5).permutation(7).
        assert_eq!(numpy_permutation(0, 10), vec![2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        assert_eq!(numpy_permutation(1, 2), vec![0, 1]);
        assert_eq!(numpy_permutation(5, 7), vec![6, 2, 4, 1, 0, 5, 3]);
        assert!(numpy_permutation(9, 0).is_empty());
        assert_eq!(numpy_permutation(9, 1), vec![0]);
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = numpy_permutation(491_659_600, 5000);
        p.sort_unstable();
        assert!(p.iter().enumerate().all(|(i, &v)| i == v));
    }

    #[test]
    fn random_interval_respects_bound() {
        let mut mt = Mt::new(3);
        for max in [1u64, 2, 5, 255, 256, 1 << 33] {
            for _ in 0..200 {
                assert!(random_interval(&mut mt, max) <= max);
            }
        }
        assert_eq!(random_interval(&mut mt, 0), 0);
    }

    #[test]
    fn balanced_subset_takes_same_positions_in_every_class() {
        // class 0 at 0,2,4,6; class 1 at 1,3,5,7,8
        let labels = [0, 1, 0, 1, 0, 1, 0, 1, 1];
        let rp = numpy_permutation(11, 4);
        let got = balanced_subset(&labels, 2, 4, 11).unwrap();
        let c0 = [0, 2, 4, 6];
        let c1 = [1, 3, 5, 7, 8];
        assert_eq!(got, vec![c0[rp[0]], c0[rp[1]], c1[rp[0]], c1[rp[1]]]);
    }

    #[test]
    fn balanced_subset_errors() {
        let labels = [0, 1, 0, 1, 1];
        let msg = |r: Result<Vec<usize>>| r.unwrap_err().to_string();
        assert!(msg(balanced_subset(&labels, 2, 3, 0)).contains("positive multiple"));
        assert!(msg(balanced_subset(&labels, 2, 0, 0)).contains("positive multiple"));
        assert!(msg(balanced_subset(&labels, 2, 6, 0)).contains("smallest class: 2 images"));
        assert!(msg(balanced_subset(&labels, 3, 3, 0)).contains("smallest class: 0 images"));
        assert!(msg(balanced_subset(&labels, 0, 3, 0)).contains("out of range"));
        assert!(msg(balanced_subset(&[], 0, 3, 0)).contains("no class"));
        assert_eq!(balanced_subset(&labels, 2, 4, 0).unwrap().len(), 4);
    }

    /// Against NumPy itself: `tests/fixtures/numpy_sampler.json`, written by
    /// `tests/fixtures/gen_sampler_fixture.py`.
    #[test]
    fn sampler_matches_numpy_fixture() {
        let text = include_str!("../../tests/fixtures/numpy_sampler.json");
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let perms = json["permutations"].as_array().unwrap();
        assert!(perms.len() >= 8);
        let mut seen_paper_seeds = 0;
        for case in perms {
            let seed = case["seed"].as_u64().unwrap() as u32;
            let n = case["n"].as_u64().unwrap() as usize;
            let p = numpy_permutation(seed, n);
            let first: Vec<usize> = case["first"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(&p[..first.len()], &first[..], "seed {seed}, n {n}");
            let weighted: u128 = p.iter().enumerate().map(|(i, &v)| (i * v) as u128).sum();
            assert_eq!(
                weighted,
                u128::from(case["weighted_sum"].as_u64().unwrap()),
                "seed {seed}"
            );
            if n == 5000 && (seed == 491_659_600 || seed == 207_715_039) {
                seen_paper_seeds += 1;
            }
        }
        assert_eq!(seen_paper_seeds, 2);
        for case in json["balanced_subsets"].as_array().unwrap() {
            let labels: Vec<usize> = case["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let want: Vec<usize> = case["indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let got = balanced_subset(
                &labels,
                case["num_classes"].as_u64().unwrap() as usize,
                case["total"].as_u64().unwrap() as usize,
                case["seed"].as_u64().unwrap() as u32,
            )
            .unwrap();
            assert_eq!(got, want);
        }
    }
}
