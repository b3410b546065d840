//! Scratch folders for the integration tests.

use std::path::PathBuf;

use tempfile::TempDir;

/// A fresh, empty folder `ls-<name>-XXXXXX` under the system temp dir, removed when the returned
/// [`TempDir`] drops: bind it for the whole test (`let (_tmp, dir) = scratch(..)`), not to `_`.
pub fn scratch(name: &str) -> (TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("ls-{name}-"))
        .tempdir()
        .unwrap();
    let dir = tmp.path().to_path_buf();
    (tmp, dir)
}
