//! Helpers shared by the integration tests: the kymatio fixture file and comparison metrics.
#![allow(dead_code)] // each test binary uses a subset

use std::fs::File;

use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use serde::Deserialize;

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/kymatio_scattering2d.npz"
);

#[derive(Deserialize)]
pub struct Meta {
    pub kymatio: String,
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
pub struct Case {
    pub name: String,
    pub height: usize,
    pub width: usize,
    pub J: usize,
    pub L: usize,
    pub max_order: usize,
    pub dtype: String,
    pub filters: bool,
    pub psi_levels: usize,
    pub phi_levels: usize,
}

pub struct Fixtures {
    pub npz: NpzReader<File>,
    pub meta: Meta,
}

impl Fixtures {
    pub fn open() -> Self {
        let mut npz = NpzReader::new(File::open(FIXTURES).expect("fixture file")).unwrap();
        let bytes: ndarray::Array1<u8> = npz.by_name("meta_json").unwrap();
        let meta: Meta = serde_json::from_slice(bytes.as_slice().unwrap()).unwrap();
        assert_eq!(meta.kymatio, "0.3.0");
        Self { npz, meta }
    }

    pub fn f64_array(&mut self, key: &str, dtype: &str) -> ArrayD<f64> {
        if dtype == "float64" {
            self.npz
                .by_name::<ndarray::OwnedRepr<f64>, ndarray::IxDyn>(key)
                .unwrap()
        } else {
            self.npz
                .by_name::<ndarray::OwnedRepr<f32>, ndarray::IxDyn>(key)
                .unwrap()
                .mapv(f64::from)
        }
    }
}

/// Largest `|a − b|` relative to `max|b|`.
pub fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// `|a − b| ≤ rtol·|b| + atol·max|b|` everywhere; returns the largest use of that tolerance.
pub fn tolerance_use(a: &[f64], b: &[f64], rtol: f64, atol: f64) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (rtol * y.abs() + atol * scale))
        .fold(0.0, f64::max)
}

/// A tensor's values as `f64`.
#[cfg(feature = "burn")]
pub fn to_vec<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()
}

/// An `f32` array as a tensor on `device`.
#[cfg(feature = "burn")]
pub fn tensor4(x: &ndarray::Array4<f32>, device: &burn::tensor::Device) -> burn::tensor::Tensor<4> {
    let shape: [usize; 4] = x.shape().try_into().unwrap();
    let values: Vec<f32> = x.iter().copied().collect();
    burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(values, shape), device)
}
