//! Local archives and downloads (`data::download`, feature `download`): tar and tar.gz archives
//! made here are verified against their checksums and extracted, a local archive is used before
//! any download, an unreachable server gives the offline error, and an extraction folder the crate
//! did not make is kept (issue 12). The only URL is a closed local port.

use std::io::Write;
use std::path::Path;

use learnable_scattering::ScatterError;
use learnable_scattering::data::DownloadError;
use learnable_scattering::data::download::{RemoteArchive, ensure_dataset, install_archive};
use learnable_scattering::data::{md5_file, sha256_file};
use learnable_scattering::error::FileError;

mod support;
use support::scratch::{assert_user_files, scratch, user_files};
use support::{lock, names_file};

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
fn install_verifies_and_extracts_tar_gz_and_tar() {
    for gz in [true, false] {
        let (_tmp, dir) = scratch(if gz { "arch-gz" } else { "arch-tar" });
        let archive = dir.join("a.bin");
        make_archive(&archive, "top", gz);
        let a = spec(
            Some(sha256_file(&archive).unwrap()),
            Some(md5_file(&archive).unwrap()),
            "top",
        );
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let out = install_archive(&a, &archive, &data_dir).unwrap();
        assert_eq!(out, data_dir.join("top"));
        assert_eq!(
            std::fs::read(out.join("inner/hello.txt")).unwrap(),
            b"hello"
        );
        assert_eq!(std::fs::read(out.join("data.bin")).unwrap(), [1, 2, 3]);
        // no temporary folder left behind
        let left: Vec<_> = std::fs::read_dir(&data_dir).unwrap().collect();
        assert_eq!(left.len(), 1);
        // present now: ensure_dataset returns it without touching the (unreachable) URL
        assert_eq!(ensure_dataset(&a, &data_dir).unwrap(), out);
    }
}

#[test]
fn install_rejects_bad_checksums_and_bad_archives() {
    let (_tmp, dir) = scratch("arch-bad");
    let archive = dir.join("a.tgz");
    make_archive(&archive, "top", true);
    let sha = sha256_file(&archive).unwrap();
    let wrong = "0".repeat(64);
    let e = install_archive(&spec(Some(wrong.clone()), None, "top"), &archive, &dir).unwrap_err();
    assert!(
        matches!(&e, ScatterError::Download(DownloadError::ChecksumMismatch { algorithm: "sha256", expected, got, .. })
            if *expected == wrong && *got == sha),
        "{e}"
    );
    assert!(e.to_string().contains(&sha) && e.to_string().contains(&wrong));
    names_file(&e, &archive);
    assert!(!dir.join("top").exists());
    let e = install_archive(
        &spec(Some(sha.clone()), Some("0".repeat(32)), "top"),
        &archive,
        &dir,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Download(DownloadError::ChecksumMismatch {
                algorithm: "md5",
                ..
            })
        ),
        "{e}"
    );
    // the archive does not hold the expected folder
    let e = install_archive(&spec(Some(sha), None, "other"), &archive, &dir).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    // not an archive at all
    let junk = dir.join("junk.tar");
    std::fs::write(&junk, vec![7u8; 600]).unwrap();
    let e = install_archive(&spec(None, None, "top"), &junk, &dir).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Download(DownloadError::UnknownArchive { .. })
        ),
        "{e}"
    );
    names_file(&e, &junk);
}

#[test]
fn ensure_dataset_uses_a_local_archive_before_downloading() {
    let (_tmp, dir) = scratch("arch-local");
    let archive = dir.join("test.tar.gz");
    make_archive(&archive, "top", true);
    let a = spec(Some(sha256_file(&archive).unwrap()), None, "top");
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

#[test]
fn an_extraction_folder_the_crate_did_not_make_is_kept() {
    let _g = lock();
    let (_tmp, dir) = scratch("extract");
    let archive = dir.join("a.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&archive).unwrap());
        let mut h = tar::Header::new_ustar();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "top/hello.txt", &b"hello"[..])
            .unwrap();
        b.finish().unwrap();
    }
    let spec = RemoteArchive {
        name: "test archive",
        url: "http://127.0.0.1:9/a.tar",
        sha256: Some(sha256_file(&archive).unwrap().leak()),
        md5: None,
        file_name: "a.tar",
        extracted_dir: "top",
    };
    // A user's folder with the name the crate extracts through: refused, kept.
    user_files(&dir.join(".top.extracting"));
    let e = install_archive(&spec, &archive, &dir).unwrap_err();
    assert!(
        matches!(e, ScatterError::Download(DownloadError::PathInUse { .. })),
        "{e}"
    );
    assert_user_files(&dir.join(".top.extracting"));
    std::fs::remove_dir_all(dir.join(".top.extracting")).unwrap();
    // The crate's own leftover (an interrupted extraction, with the crate's marker file) is
    // replaced.
    let leftover = dir.join(".top.extracting");
    std::fs::create_dir_all(leftover.join("top")).unwrap();
    std::fs::write(leftover.join(".learnable-scattering-extraction"), "").unwrap();
    std::fs::write(leftover.join("top/hel"), "half").unwrap();
    install_archive(&spec, &archive, &dir).unwrap();
    assert!(!dir.join("top/hel").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("top/hello.txt")).unwrap(),
        "hello"
    );
    assert!(!dir.join(".top.extracting").exists());
}
