//! Scratch folders for the integration tests, and a user's files to put in them (tests that no
//! user file is lost).

use std::path::{Path, PathBuf};

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

/// A user's files: `notes.txt` and `data/keep.bin` under `dir`.
pub fn user_files(dir: &Path) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("notes.txt"), "my notes").unwrap();
    std::fs::write(dir.join("data/keep.bin"), [1u8, 2, 3]).unwrap();
}

/// Asserts that the files of [`user_files`] are still there, unchanged.
pub fn assert_user_files(dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "my notes"
    );
    assert_eq!(std::fs::read(dir.join("data/keep.bin")).unwrap(), [1, 2, 3]);
}
