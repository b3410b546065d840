//! File digests for archive verification (`download`) and checkpoint manifests (`train`):
//! SHA-256 (`sha2`) and MD5 (`md-5`), both RustCrypto.
//!
//! MD5 is here because the only checksum published for the KTH-TIPS2-b archive is an MD5; it
//! detects corruption, not tampering.

use crate::error::Result;
use crate::error::io_error;
use sha2::Digest;
use std::io::Read;
use std::path::Path;

const CHUNK: usize = 1 << 20;

/// Lower-case hex SHA-256 of a file, read in 1 MiB chunks.
///
/// # Errors
/// [`ScatterError::Io`](crate::ScatterError::Io) naming the file.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    digest_file::<sha2::Sha256>(path)
}

/// Lower-case hex MD5 of a file, read in 1 MiB chunks.
///
/// # Errors
/// [`ScatterError::Io`](crate::ScatterError::Io) naming the file.
#[cfg(feature = "download")]
pub(crate) fn md5_file(path: &Path) -> Result<String> {
    digest_file::<md5::Md5>(path)
}

fn digest_file<D: Digest>(path: &Path) -> Result<String> {
    let mut hasher = D::new();
    let mut file = std::fs::File::open(path).map_err(io_error(path))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(all(test, feature = "download"))]
mod tests {
    use super::*;

    #[test]
    fn file_digests_match_published_test_vectors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("abc.txt");
        std::fs::write(&path, b"abc").unwrap();
        // RFC 1321 appendix A.5.
        assert_eq!(md5_file(&path).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
        // FIPS 180-2 appendix B.1.
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Longer than one read chunk.
        let big = dir.join("big.bin");
        std::fs::write(&big, vec![b'a'; CHUNK + 17]).unwrap();
        assert_eq!(sha256_file(&big).unwrap().len(), 64);
        let missing = dir.join("missing.bin");
        let e = sha256_file(&missing).unwrap_err();
        assert!(e.to_string().contains("missing.bin"), "{e}");
    }
}
