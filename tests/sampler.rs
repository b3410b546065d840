//! Balanced sampling (`data::sampler`) through the public API: a class-balanced subset selects
//! a balanced data set, and another seed another one. The NumPy fixture
//! (`tests/fixtures/numpy_sampler.json`, written by `tests/fixtures/gen_sampler_fixture.py`) is
//! checked beside the sampler, in `src/data/sampler.rs`, where NumPy's permutation is visible.

use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::sampler::balanced_subset;
use ndarray::Array4;

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
