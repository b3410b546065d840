//! Balanced sampling (`data::sampler`) against NumPy: `numpy_permutation` and `balanced_subset`
//! reproduce NumPy's `RandomState` permutations of the paper's balanced sampler, checked on
//! `tests/fixtures/numpy_sampler.json` (written by `tests/fixtures/gen_sampler_fixture.py`).

use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::sampler::{balanced_subset, numpy_permutation};
use ndarray::Array4;

mod support;
use support::fixtures;

#[test]
fn sampler_matches_numpy_fixture() {
    let text = std::fs::read_to_string(fixtures().join("numpy_sampler.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
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

#[test]
fn balanced_subset_selects_a_balanced_dataset() {
    let labels: Vec<usize> = (0..300).map(|i| (i * 7 + i / 13) % 3).collect();
    let images = Array4::from_shape_fn((300, 1, 1, 1), |(i, ..)| i as u8);
    let ds = ImageDataset::new(images, labels, vec!["a".into(), "b".into(), "c".into()]).unwrap();
    let idx = balanced_subset(&ds.labels, 3, 30, 491_659_600).unwrap();
    let sub = ds.select(&idx);
    assert_eq!(sub.labels, [vec![0; 10], vec![1; 10], vec![2; 10]].concat());
    let mut unique = idx.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 30);
    assert_ne!(
        idx,
        balanced_subset(&ds.labels, 3, 30, 207_715_039).unwrap()
    );
}
