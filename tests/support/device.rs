//! The device executor's tests (`tests/gpu_*.rs`, features `wgpu` and `testing`): the client of
//! wgpu's default adapter, named once per test binary so that a GPU run of the suite is told
//! apart from CI's (Mesa's lavapipe), a lock for the tests that count launches, and readings.

use cubecl::prelude::Client;
use learnable_scattering::testing::device::{Buffer, DeviceLimits, adapter_name, wgpu_client};

/// The client of wgpu's default adapter; the first call prints the adapter and its limits.
pub fn client() -> Client {
    let client = wgpu_client().unwrap_or_else(|e| panic!("the GPU tests need a wgpu adapter: {e}"));
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        println!(
            "adapter: {}, limits {:?}",
            adapter_name(&client),
            DeviceLimits::of(&client)
        );
    });
    client
}

/// The launch counter is process-wide: every test of a binary that counts launches and uses the
/// device holds this lock, so that a test counting launches sees only its own.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A buffer's values as `f64`.
pub fn read64(client: &Client, b: &Buffer) -> Vec<f64> {
    b.read(client).unwrap().into_iter().map(f64::from).collect()
}

/// Whether two `f32` sequences are the same bits.
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// `‖got − want‖ / ‖want‖`.
pub fn rel_l2(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let num: f64 = got.iter().zip(want).map(|(a, b)| (a - b).powi(2)).sum();
    let den: f64 = want.iter().map(|b| b * b).sum();
    (num / den.max(1e-300)).sqrt()
}
