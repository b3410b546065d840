//! Comparison metrics, and for the burn tests the CPU devices compiled in and conversions between
//! tensors and plain values.

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

/// Every CPU backend compiled in.
#[cfg(any(feature = "flex", feature = "ndarray"))]
#[allow(clippy::vec_init_then_push)] // each push depends on a feature
pub fn devices() -> Vec<(&'static str, burn::tensor::Device)> {
    let mut out = Vec::new();
    #[cfg(feature = "flex")]
    out.push(("flex", burn::tensor::Device::flex()));
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    out.push(("ndarray", burn::tensor::Device::ndarray()));
    out
}
