//! Download, verify and extract the official archives (feature `download`).
//!
//! [`ensure_dataset`] returns the extracted folder, downloading only when neither the folder
//! nor the archive is already in the data directory. Downloads go to `<file_name>.part` with a
//! progress bar on stderr (bytes, rate, ETA), are verified against the published checksums,
//! then renamed and extracted (tar or gzip-compressed tar, recognised by their magic bytes).
//!
//! # Checksums
//!
//! - CIFAR-10 binary (`cifar-10-binary.tar.gz`, 170 052 171 bytes): MD5
//!   `c32a1d4ab5d03f1284b67883e8d87530`, published by the data set's authors on
//!   <https://www.cs.toronto.edu/~kriz/cifar.html>; SHA-256
//!   `c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd`, not published by the
//!   authors but used identically by independent projects (`gomlx/gomlx`
//!   `examples/cifar/cifar.go`, `ankane/torchvision-ruby`'s CIFAR-10 loader, and TFDS-based
//!   download scripts that give the same size). Both are checked.
//! - KTH-TIPS2-b (`kth-tips2-b_col_200x200.tar`): no SHA-256 is published anywhere we could
//!   find; the MD5 `00470a104a57f5a5be22cc8a0f234c4e` is the one DeepMind's NEVIS'22 benchmark
//!   pins for this URL (`google-deepmind/dm_nevis`,
//!   `dm_nevis/datasets_storage/handlers/kth_tips.py`, checked with `hashlib.md5` in
//!   `download_util.py`). It is checked; the SHA-256 is `None` and the computed one is printed.

use super::{md5_file, sha256_file};
use crate::data::DownloadError;
use crate::error::FileError;
use crate::error::io_error;
use crate::error::{Result, ScatterError};
use std::fs;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An archive on the web, its published checksums, and the folder it extracts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteArchive {
    /// Human-readable name (`"CIFAR-10 (binary)"`).
    pub name: &'static str,
    /// Official URL.
    pub url: &'static str,
    /// SHA-256 of the archive, lower-case hex, where one is known.
    pub sha256: Option<&'static str>,
    /// MD5 of the archive, lower-case hex, where one is published.
    pub md5: Option<&'static str>,
    /// File name of the archive in the data directory.
    pub file_name: &'static str,
    /// The top-level folder the archive extracts to.
    pub extracted_dir: &'static str,
}

/// CIFAR-10, binary version (see the module docs for the checksums' sources).
pub const CIFAR10_BINARY: RemoteArchive = RemoteArchive {
    name: "CIFAR-10 (binary version)",
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    sha256: Some("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
    md5: Some("c32a1d4ab5d03f1284b67883e8d87530"),
    file_name: "cifar-10-binary.tar.gz",
    extracted_dir: "cifar-10-batches-bin",
};

/// KTH-TIPS2-b, 200×200 colour (see the module docs: MD5 only).
pub const KTH_TIPS2B: RemoteArchive = RemoteArchive {
    name: "KTH-TIPS2-b (200x200 colour)",
    url: "https://www.csc.kth.se/cvap/databases/kth-tips/kth-tips2-b_col_200x200.tar",
    sha256: None,
    md5: Some("00470a104a57f5a5be22cc8a0f234c4e"),
    file_name: "kth-tips2-b_col_200x200.tar",
    extracted_dir: "KTH-TIPS2-b",
};

/// The file that marks an extraction folder as this crate's own (see `extract`).
const EXTRACTING_MARKER: &str = ".learnable-scattering-extraction";

/// Time allowed to open the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Returns `data_dir/<extracted_dir>`, downloading, verifying and extracting the archive
/// first if that folder does not exist. An archive already at `data_dir/<file_name>` is
/// verified and extracted without downloading.
///
/// # Errors
/// - [`DownloadError::Unreachable`] when the download fails (its message says the machine looks
///   offline and where to put a copy fetched elsewhere),
/// - [`DownloadError::ChecksumMismatch`] with both digests (a downloaded `.part` file is
///   deleted; an archive that was already there is left in place),
/// - [`DownloadError::UnknownArchive`], [`FileError::MissingPath`] (the archive does not hold
///   `extracted_dir`), [`ScatterError::Io`].
pub fn ensure_dataset(archive: &RemoteArchive, data_dir: &Path) -> Result<PathBuf> {
    let target = data_dir.join(archive.extracted_dir);
    if target.is_dir() {
        return Ok(target);
    }
    fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
    let archive_path = data_dir.join(archive.file_name);
    if !archive_path.is_file() {
        let part = data_dir.join(format!("{}.part", archive.file_name));
        download(archive, &part)?;
        if let Err(e) = verify_archive(archive, &part) {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
        fs::rename(&part, &archive_path).map_err(io_error(&archive_path))?;
        return extract(archive, &archive_path, data_dir);
    }
    install_archive(archive, &archive_path, data_dir)
}

/// Verifies a local archive against `archive`'s checksums and extracts it into `data_dir`;
/// returns `data_dir/<extracted_dir>`.
///
/// # Errors
/// As [`ensure_dataset`], without the download.
fn install_archive(
    archive: &RemoteArchive,
    archive_path: &Path,
    data_dir: &Path,
) -> Result<PathBuf> {
    verify_archive(archive, archive_path)?;
    extract(archive, archive_path, data_dir)
}

/// Checks `path` against every checksum `archive` declares. With no checksum at all, prints
/// the file's SHA-256 to stderr (unverified) and accepts it.
///
/// # Errors
/// [`DownloadError::ChecksumMismatch`] naming the file and both digests; [`ScatterError::Io`].
fn verify_archive(archive: &RemoteArchive, path: &Path) -> Result<()> {
    let mismatch = |algorithm, expected: &str, got: String| {
        ScatterError::Download(DownloadError::ChecksumMismatch {
            path: path.to_path_buf(),
            algorithm,
            expected: expected.to_string(),
            got,
        })
    };
    if let Some(expected) = archive.sha256 {
        let got = sha256_file(path)?;
        if !got.eq_ignore_ascii_case(expected) {
            return Err(mismatch("sha256", expected, got));
        }
    }
    if let Some(expected) = archive.md5 {
        let got = md5_file(path)?;
        if !got.eq_ignore_ascii_case(expected) {
            return Err(mismatch("md5", expected, got));
        }
    }
    if archive.sha256.is_none() {
        eprintln!(
            "{}: sha256 {} ({})",
            path.display(),
            sha256_file(path)?,
            if archive.md5.is_some() {
                "md5 verified, no published sha256"
            } else {
                "UNVERIFIED: no published checksum"
            }
        );
    }
    Ok(())
}

/// Streams `archive.url` into `dest` with a progress bar.
fn download(archive: &RemoteArchive, dest: &Path) -> Result<()> {
    let offline = |reason: String| {
        ScatterError::Download(DownloadError::Unreachable {
            url: archive.url.to_string(),
            reason,
            extracted_dir: archive.extracted_dir.to_string(),
        })
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .build()
        .into();
    let response = agent
        .get(archive.url)
        .call()
        .map_err(|e| offline(e.to_string()))?;
    let total = response.body().content_length();
    let mut reader = response.into_body().into_reader();
    let file = fs::File::create(dest).map_err(io_error(dest))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let bar = progress_bar(archive, total);
    let mut buf = vec![0u8; 1 << 16];
    let result = (|| -> Result<()> {
        loop {
            let n = reader.read(&mut buf).map_err(|e| offline(e.to_string()))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(io_error(dest))?;
            bar.inc(n as u64);
        }
        out.flush().map_err(io_error(dest))
    })();
    bar.finish_and_clear();
    if result.is_err() {
        let _ = fs::remove_file(dest);
    }
    result
}

fn progress_bar(archive: &RemoteArchive, total: Option<u64>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}")
                .expect("valid template"),
        ),
    };
    bar.with_message(format!("downloading {}", archive.name))
}

/// Extracts a tar or tar.gz archive (by magic bytes) into `data_dir` through a temporary
/// folder, so that an interrupted extraction never leaves a half-filled `extracted_dir`. The
/// temporary folder, `.<extracted_dir>.extracting`, holds a marker file from its creation on;
/// a folder of that name without the marker is not this crate's and is refused, not removed.
fn extract(archive: &RemoteArchive, path: &Path, data_dir: &Path) -> Result<PathBuf> {
    // The first 262 bytes hold gzip's magic number or the ustar header.
    let mut magic = Vec::with_capacity(262);
    let f = fs::File::open(path).map_err(io_error(path))?;
    f.take(262)
        .read_to_end(&mut magic)
        .map_err(io_error(path))?;
    let n = magic.len();
    let gzip = magic.starts_with(&super::GZIP_MAGIC);
    let tar = n >= 262 && &magic[257..262] == b"ustar";
    if !gzip && !tar {
        return Err(ScatterError::Download(DownloadError::UnknownArchive {
            path: path.to_path_buf(),
            reason: if n < 262 {
                format!("only {n} bytes")
            } else {
                "no gzip magic bytes and no ustar header".into()
            },
        }));
    }
    let tmp = data_dir.join(format!(".{}.extracting", archive.extracted_dir));
    if tmp.exists() {
        // Only a folder this crate made (an interrupted extraction) is removed.
        if !tmp.join(EXTRACTING_MARKER).is_file() {
            return Err(ScatterError::Download(DownloadError::PathInUse {
                path: tmp,
                reason: "this crate extracts archives there, and it holds files it did not write",
            }));
        }
        fs::remove_dir_all(&tmp).map_err(io_error(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_error(&tmp))?;
    let marker = tmp.join(EXTRACTING_MARKER);
    fs::write(&marker, b"").map_err(io_error(&marker))?;
    let file = BufReader::new(fs::File::open(path).map_err(io_error(path))?);
    let unpacked = if gzip {
        tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(&tmp)
    } else {
        tar::Archive::new(file).unpack(&tmp)
    };
    let finish = (|| {
        unpacked.map_err(io_error(path))?;
        let inner = tmp.join(archive.extracted_dir);
        if !inner.is_dir() {
            return Err(ScatterError::File(FileError::MissingPath {
                path: inner,
                what: "folder in the archive",
            }));
        }
        let target = data_dir.join(archive.extracted_dir);
        fs::rename(&inner, &target).map_err(io_error(&target))?;
        Ok(target)
    })();
    let _ = fs::remove_dir_all(&tmp);
    finish
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_checksums_are_well_formed() {
        for a in [CIFAR10_BINARY, KTH_TIPS2B] {
            if let Some(s) = a.sha256 {
                assert_eq!(s.len(), 64);
                assert!(
                    s.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
            let m = a.md5.expect("both archives have a published md5");
            assert_eq!(m.len(), 32);
            assert!(a.url.starts_with("https://") && a.url.ends_with(a.file_name));
        }
    }

    // The local archives of `install_archive`, made here (tar and tar.gz) with their checksums.

    /// Asserts that the error's message names `file` (by its file name).
    fn names_file(e: &ScatterError, file: &Path) {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(e.to_string().contains(&*name), "`{e}` does not name {name}");
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

    fn spec(
        sha256: Option<String>,
        md5: Option<String>,
        extracted_dir: &'static str,
    ) -> RemoteArchive {
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
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
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
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let archive = dir.join("a.tgz");
        make_archive(&archive, "top", true);
        let sha = sha256_file(&archive).unwrap();
        let wrong = "0".repeat(64);
        let e =
            install_archive(&spec(Some(wrong.clone()), None, "top"), &archive, dir).unwrap_err();
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
            dir,
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
        let e = install_archive(&spec(Some(sha), None, "other"), &archive, dir).unwrap_err();
        assert!(
            matches!(e, ScatterError::File(FileError::MissingPath { .. })),
            "{e}"
        );
        // not an archive at all
        let junk = dir.join("junk.tar");
        std::fs::write(&junk, vec![7u8; 600]).unwrap();
        let e = install_archive(&spec(None, None, "top"), &junk, dir).unwrap_err();
        assert!(
            matches!(
                e,
                ScatterError::Download(DownloadError::UnknownArchive { .. })
            ),
            "{e}"
        );
        names_file(&e, &junk);
    }

    /// A user's files: `notes.txt` and `data/keep.bin` under `dir`.
    fn user_files(dir: &Path) {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("notes.txt"), "my notes").unwrap();
        std::fs::write(dir.join("data/keep.bin"), [1u8, 2, 3]).unwrap();
    }

    /// Asserts that the files of [`user_files`] are still there, unchanged.
    fn assert_user_files(dir: &Path) {
        assert_eq!(
            std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
            "my notes"
        );
        assert_eq!(std::fs::read(dir.join("data/keep.bin")).unwrap(), [1, 2, 3]);
    }

    #[test]
    fn an_extraction_folder_the_crate_did_not_make_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
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
        let e = install_archive(&spec, &archive, dir).unwrap_err();
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
        install_archive(&spec, &archive, dir).unwrap();
        assert!(!dir.join("top/hel").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("top/hello.txt")).unwrap(),
            "hello"
        );
        assert!(!dir.join(".top.extracting").exists());
    }
}
