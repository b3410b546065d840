//! Local archives and downloads (`data::download`, feature `download`) through the public API: a
//! local archive is used before any download, and an unreachable server gives the offline error.
//! The only URL is a closed local port. Verifying and extracting archives (tar and tar.gz, bad
//! checksums, an extraction folder the crate did not make, issue 12) is tested beside the code,
//! in `src/data/download.rs`.

use std::io::Write;
use std::path::Path;

use learnable_scattering::ScatterError;
use learnable_scattering::data::DownloadError;
use learnable_scattering::data::download::{RemoteArchive, ensure_dataset};
use sha2::Digest;

mod support;
use support::scratch::scratch;

/// Lower-case hex SHA-256 of a file.
fn sha256_file(path: &Path) -> String {
    format!("{:x}", sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A tar(.gz) holding `top/inner/hello.txt` and `top/data.bin`.
fn make_archive(path: &Path, top: &str, gz: bool) {
    let file = std::fs::File::create(path).unwrap();
    let write = |w: &mut dyn Write| {
        let mut b = tar::Builder::new(w);
        for (name, data) in [
            (format!("{top}/inner/hello.txt"), b"hello".to_vec()),
            (format!("{top}/data.bin"), vec![1u8, 2, 3]),
        ] {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, &data[..]).unwrap();
        }
        b.finish().unwrap();
    };
    if gz {
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        write(&mut enc);
        enc.finish().unwrap();
    } else {
        let mut f = file;
        write(&mut f);
    }
}

fn spec(sha256: Option<String>, md5: Option<String>, extracted_dir: &'static str) -> RemoteArchive {
    RemoteArchive {
        name: "test archive",
        url: "http://127.0.0.1:9/test.tar.gz",
        sha256: sha256.map(|s| &*s.leak()),
        md5: md5.map(|s| &*s.leak()),
        file_name: "test.tar.gz",
        extracted_dir,
    }
}

#[test]
fn ensure_dataset_uses_a_local_archive_before_downloading() {
    let (_tmp, dir) = scratch("arch-local");
    let archive = dir.join("test.tar.gz");
    make_archive(&archive, "top", true);
    let a = spec(Some(sha256_file(&archive)), None, "top");
    let out = ensure_dataset(&a, &dir).unwrap();
    assert_eq!(
        std::fs::read(out.join("inner/hello.txt")).unwrap(),
        b"hello"
    );
}

#[test]
fn unreachable_server_gives_the_offline_error() {
    let (_tmp, dir) = scratch("arch-offline");
    let a = spec(Some("0".repeat(64)), None, "top");
    let e = ensure_dataset(&a, &dir).unwrap_err();
    assert!(
        matches!(e, ScatterError::Download(DownloadError::Unreachable { .. })),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("offline") && msg.contains("data directory") && !msg.contains("--"),
        "{msg}"
    );
    assert!(msg.contains("http://127.0.0.1:9/test.tar.gz"), "{msg}");
    assert!(!dir.join("test.tar.gz.part").exists());
    assert!(!dir.join("test.tar.gz").exists());
}
