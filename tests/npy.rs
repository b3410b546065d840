//! The `.npy` reader and writer (`npy`): bad files give typed errors naming the file, and hostile
//! headers (issue 12; the fuzzer's regressions in `tests/fuzz/regressions/npy`) are refused
//! quickly and without allocating what they declare. Files are written here.
//!
//! Memory is bounded by the counting allocator of `support/capped_alloc.rs`, installed below;
//! every test takes `lock()` so that no other test allocates under a cap.

use std::path::Path;

use learnable_scattering::ScatterError;
use learnable_scattering::error::FileError;
use learnable_scattering::npy::{NpyArray, read_real_npy, write_real_npy};
use ndarray::{Array1, Array2, ArrayD, IxDyn};

mod support;
use support::capped_alloc::{MB, with_memory_cap};
use support::scratch::{scratch, scratch as temp_dir};
use support::{lock, scatter_npy};

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;

// ------------------------------------------------------------------ errors naming the file

#[test]
fn unreadable_and_wrongly_typed_npy() {
    let _g = lock();
    let (_tmp, dir) = temp_dir("npy");
    let missing = dir.join("missing.npy");
    let e = read_real_npy(&missing).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::ReadNpy { ref path, .. }) if path == &missing)
    );
    assert!(e.to_string().contains("missing.npy"));

    let ints = dir.join("ints.npy");
    ndarray_npy::write_npy(&ints, &Array2::<i32>::zeros((4, 4))).unwrap();
    let e = read_real_npy(&ints).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::UnsupportedDtype { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("ints.npy: unsupported dtype"));

    let truncated = dir.join("truncated.npy");
    ndarray_npy::write_npy(&truncated, &Array1::<f32>::zeros(100)).unwrap();
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    assert!(matches!(
        read_real_npy(&truncated),
        Err(ScatterError::File(FileError::TruncatedFile { .. }))
    ));

    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, b"not a numpy file at all").unwrap();
    assert!(matches!(
        read_real_npy(&garbage),
        Err(ScatterError::File(FileError::ReadNpy { .. }))
    ));

    let unwritable = dir.join("no-such-dir").join("out.npy");
    let e = write_real_npy(&unwritable, &NpyArray::F32(ArrayD::zeros(IxDyn(&[2])))).unwrap_err();
    assert!(matches!(e, ScatterError::File(FileError::WriteNpy { .. })));
}

// ------------------------------------------------------------------ hostile headers (issue 12)

/// A version 1.0 `.npy` file of 128 bytes declaring `shape` of `descr`, without data.
fn npy_header_only(descr: &str, shape: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while 10 + header.len() + 1 < 128 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

#[test]
fn a_128_byte_npy_declaring_2_pow_40_elements_is_refused_without_allocating() {
    let _g = lock();
    let (_tmp, dir) = scratch("npy");
    let path = dir.join("huge.npy");
    for (descr, shape) in [
        ("<f4", "(1048576, 1048576)"),
        ("<f8", "(1048576, 1048576)"),
        ("<f4", "(4000000000,)"), // 16 GB
        ("<i4", "(1048576, 1048576)"),
    ] {
        let bytes = npy_header_only(descr, shape);
        assert_eq!(bytes.len(), 128);
        std::fs::write(&path, bytes).unwrap();
        let (result, peak) = with_memory_cap(4 * MB, || read_real_npy(&path));
        let e = result.unwrap_err();
        if descr == "<i4" {
            assert!(
                matches!(e, ScatterError::File(FileError::UnsupportedDtype { .. })),
                "{e}"
            );
        } else {
            assert!(
                matches!(
                    e,
                    ScatterError::File(FileError::TruncatedFile { got: 128, .. })
                ),
                "{descr} {shape}: {e}"
            );
        }
        println!("{descr} {shape}: peak {peak} bytes");
        assert!(peak < MB, "{descr} {shape}: peak {peak} bytes");
    }
    // A header length field of 4 GiB (version 2.0) is refused before it is read.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::MAX.to_le_bytes());
    v2.extend_from_slice(&[b' '; 116]);
    std::fs::write(&path, &v2).unwrap();
    let (result, _) = with_memory_cap(4 * MB, || read_real_npy(&path));
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::File(FileError::BadHeader {
                field: "header_len",
                ..
            })
        ),
        "{e}"
    );
    // Through the command-line example: exit status 1 with the message, no abort (134).
    std::fs::write(&path, npy_header_only("<f4", "(1048576, 1048576)")).unwrap();
    let out = std::process::Command::new(scatter_npy())
        .arg(&path)
        .arg(dir.join("out.npy"))
        .args(["--j", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("truncated file"), "{stderr}");
}

#[test]
fn an_npy_header_of_nested_braces_is_refused_as_a_bad_header() {
    // Found by fuzzing (tests/fuzz/regressions/npy/fuzz-slow-header-*): 128 bytes that
    // ndarray-npy's header parser took between 20 and 212 seconds to reject.
    let _g = lock();
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/regressions/npy");
    let mut seen = 0;
    for entry in std::fs::read_dir(&regressions).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("fuzz-slow-header-"))
        {
            let e = read_real_npy(&path).unwrap_err();
            assert!(
                matches!(
                    e,
                    ScatterError::File(FileError::BadHeader {
                        field: "header",
                        ..
                    })
                ),
                "{}: {e}",
                path.display()
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 3);
}
