//! The kymatio golden fixtures: `tests/fixtures/kymatio_scattering2d.npz`, written by
//! `tests/fixtures/gen_fixtures.py` (pinned kymatio 0.3.0), with its case table.

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
