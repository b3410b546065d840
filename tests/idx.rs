//! The IDX reader (`data::idx`: MNIST, Fashion-MNIST), raw and gzip: files written here in the
//! exact on-disk format, the standard file names, errors naming the file, hostile headers and
//! streams (issue 12), and the full Fashion-MNIST where Debian's `dataset-fashion-mnist` package is
//! installed (`real_fashion_mnist`, ignored by default).
//!
//! Memory is bounded by the counting allocator of `support/capped_alloc.rs`, installed below;
//! every test takes `lock()` so that no other test allocates under a cap.

use std::path::Path;

use learnable_scattering::ScatterError;
use learnable_scattering::data::DataError;
use learnable_scattering::data::ReadLimits;
use learnable_scattering::data::augment::Normalization;
use learnable_scattering::data::idx;
use learnable_scattering::error::FileError;

mod support;
use support::capped_alloc::{MB, with_memory_cap};
use support::scratch::scratch;
use support::{lock, names_file};

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;

/// Magic number of an IDX file of `u8` images, `[N, rows, cols]` (the format's, not the crate's).
const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn image_idx(n: u32, h: u32, w: u32) -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..n * h * w).map(|i| (i * 7 % 251) as u8).collect();
    (idx_bytes(0x0803, &[n, h, w], &data), data)
}

// ------------------------------------------------------------------ files in the IDX format

#[test]
fn idx_raw_and_gzip_read_identically() {
    let _g = lock();
    let (_tmp, dir) = scratch("idx");
    let (img, data) = image_idx(3, 4, 5);
    let lab = idx_bytes(0x0801, &[3], &[2, 0, 1]);
    std::fs::write(dir.join("img"), &img).unwrap();
    std::fs::write(dir.join("img.gz"), gzip(&img)).unwrap();
    // gzip is detected by its magic bytes, not by the name
    std::fs::write(dir.join("img-compressed-no-suffix"), gzip(&img)).unwrap();
    std::fs::write(dir.join("lab.gz"), gzip(&lab)).unwrap();
    for name in ["img", "img.gz", "img-compressed-no-suffix"] {
        let x = idx::read_images(&dir.join(name)).unwrap();
        assert_eq!(x.shape(), &[3, 4, 5]);
        assert_eq!(x.as_slice().unwrap(), &data[..]);
    }
    assert_eq!(
        idx::read_labels(&dir.join("lab.gz")).unwrap(),
        vec![2, 0, 1]
    );
    let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let ds = idx::load_idx_dataset(&dir.join("img.gz"), &dir.join("lab.gz"), classes).unwrap();
    assert_eq!(ds.images.shape(), &[3, 1, 4, 5]);
    assert_eq!(ds.labels, vec![2, 0, 1]);
    assert_eq!(ds.images[[2, 0, 3, 4]], data[2 * 20 + 3 * 5 + 4]);
}

#[test]
fn idx_standard_names_raw_or_gz() {
    let _g = lock();
    let (_tmp, dir) = scratch("idx-std");
    let (img, _) = image_idx(4, 28, 28);
    let lab = idx_bytes(0x0801, &[4], &[9, 0, 3, 5]);
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip(&img)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), &lab).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &img).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gzip(&lab)).unwrap();
    let (train, test) = idx::load_fashion_mnist(&dir).unwrap();
    assert_eq!(
        (train.len(), test.len(), train.height(), train.channels()),
        (4, 4, 28, 1)
    );
    assert_eq!(train.classes[9], "Ankle boot");
    assert_eq!(train.images, test.images);
    let (train, _) = idx::load_mnist(&dir).unwrap();
    assert_eq!(train.classes[3], "3");
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let e = idx::load_mnist(&dir).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("t10k-labels-idx1-ubyte[.gz]"), "{e}");
}

#[test]
fn idx_errors_name_the_file() {
    let _g = lock();
    let (_tmp, dir) = scratch("idx-err");
    let (img, _) = image_idx(2, 3, 3);
    let lab = idx_bytes(0x0801, &[2], &[0, 1]);
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // wrong magic: a label file read as images, and the reverse
    let p = write("labels-as-images", &lab);
    let e = idx::read_images(&p).unwrap_err();
    assert!(
        matches!(&e, ScatterError::File(FileError::BadMagic { expected, got, .. })
            if expected == "0x00000803" && got == "0x00000801"),
        "{e}"
    );
    names_file(&e, &p);
    let p = write("images-as-labels", &img);
    assert!(matches!(
        idx::read_labels(&p),
        Err(ScatterError::File(FileError::BadMagic { .. }))
    ));
    // truncated data, raw and inside gzip
    let p = write("short", &img[..img.len() - 1]);
    let e = idx::read_images(&p).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::File(FileError::TruncatedFile {
                expected: 34,
                got: 33,
                ..
            })
        ),
        "{e}"
    );
    names_file(&e, &p);
    let p = write("short.gz", &gzip(&img[..20]));
    let e = idx::read_images(&p).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::File(FileError::TruncatedFile { got: 20, .. })
        ),
        "{e}"
    );
    names_file(&e, &p);
    // truncated header, and a file shorter than the magic number
    let p = write("header", &img[..10]);
    assert!(matches!(
        idx::read_images(&p),
        Err(ScatterError::File(FileError::TruncatedFile {
            expected: 16,
            ..
        }))
    ));
    let p = write("tiny", &[0, 0]);
    assert!(matches!(
        idx::read_images(&p),
        Err(ScatterError::File(FileError::TruncatedFile {
            expected: 4,
            ..
        }))
    ));
    // a gzip stream cut in the middle
    let gz = gzip(&img);
    let p = write("cut.gz", &gz[..gz.len() - 6]);
    let e = idx::read_images(&p).unwrap_err();
    names_file(&e, &p);
    // trailing data
    let mut long = img.clone();
    long.push(0);
    let p = write("long", &long);
    assert!(matches!(
        idx::read_images(&p),
        Err(ScatterError::File(FileError::TrailingData { .. }))
    ));
    // image/label count mismatch and out-of-range labels
    let imgs = write("imgs", &img);
    let three = write("three", &idx_bytes(0x0801, &[3], &[0, 1, 0]));
    let e = idx::load_idx_dataset(&imgs, &three, vec!["a".into(), "b".into()]).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Data(DataError::IdxCountMismatch {
                images: 2,
                labels: 3,
                ..
            })
        ),
        "{e}"
    );
    names_file(&e, &three);
    let labs = write("labs", &lab);
    let e = idx::load_idx_dataset(&imgs, &labs, vec!["a".into()]).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Data(DataError::InvalidLabel {
                index: 1,
                label: 1,
                ..
            })
        ),
        "{e}"
    );
    names_file(&e, &labs);
}

// ------------------------------------------------------------------ hostile files (issue 12)

#[test]
fn a_16_byte_idx_file_with_absurd_dimensions_is_an_error_not_a_panic() {
    let _g = lock();
    let (_tmp, dir) = scratch("idx16");
    let path = dir.join("images");
    for dims in [
        [u32::MAX, u32::MAX, 0],
        [0, u32::MAX, u32::MAX],
        [0, 1 << 31, 1 << 31],
        [u32::MAX, u32::MAX, u32::MAX],
    ] {
        std::fs::write(&path, idx_bytes(IDX_IMAGES_MAGIC, &dims, &[])).unwrap();
        let (result, _) = with_memory_cap(4 * MB, || idx::read_images(&path));
        let e = result.unwrap_err();
        assert!(
            matches!(
                e,
                ScatterError::Data(DataError::ImageTooLarge { .. })
                    | ScatterError::File(FileError::BadHeader { .. })
            ),
            "{dims:?}: {e}"
        );
    }
    std::fs::write(&path, idx_bytes(IDX_IMAGES_MAGIC, &[3, 0, 28], &[])).unwrap();
    let e = idx::read_images(&path).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::File(FileError::BadHeader { field: "rows", .. })
        ),
        "{e}"
    );
}

#[test]
fn a_gzip_idx_is_checked_on_its_header_before_it_is_inflated() {
    let _g = lock();
    let (_tmp, dir) = scratch("gz");
    let path = dir.join("images.gz");
    // A wrong magic number in front of 64 MB of zeros.
    let mut payload = idx_bytes(0x0000_0900, &[65_536, 32, 32], &[]);
    payload.resize(payload.len() + 64 * MB, 0);
    std::fs::write(&path, gzip(&payload)).unwrap();
    let (result, peak) = with_memory_cap(16 * MB, || idx::read_images(&path));
    let e = result.unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::BadMagic { .. })),
        "{e}"
    );
    println!("peak {peak} bytes");
    assert!(peak < 2 * MB, "peak {peak}");
    // A right header declaring one image, then 64 MB more than it: counted, not stored.
    let mut payload = idx_bytes(IDX_IMAGES_MAGIC, &[1, 28, 28], &[7; 784]);
    payload.resize(payload.len() + 64 * MB, 0);
    std::fs::write(&path, gzip(&payload)).unwrap();
    let (result, peak) = with_memory_cap(16 * MB, || idx::read_images(&path));
    let e = result.unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::TrailingData { expected: 800, got, .. }) if got == 800 + 64 * MB as u64),
        "{e}"
    );
    println!("peak {peak} bytes");
    assert!(peak < 2 * MB, "peak {peak}");
    // A header declaring 2^20 images over a stream of one: the buffer follows the stream.
    let payload = idx_bytes(IDX_IMAGES_MAGIC, &[1 << 20, 28, 28], &[7; 784]);
    std::fs::write(&path, gzip(&payload)).unwrap();
    let (result, peak) = with_memory_cap(16 * MB, || idx::read_images(&path));
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::File(FileError::TruncatedFile { got: 800, .. })
        ),
        "{e}"
    );
    println!("peak {peak} bytes");
    assert!(peak < 4 * MB, "peak {peak}");
    // A declaration above the byte limit is refused outright.
    let small = ReadLimits {
        max_file_bytes: 1000,
        ..ReadLimits::default()
    };
    let e = idx::read_images_with_limits(&path, &small).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::File(FileError::DeclaredTooLarge { limit: 1000, .. })
        ),
        "{e}"
    );
}

#[test]
fn a_second_gzip_member_is_read_as_gzip_does() {
    let _g = lock();
    let (_tmp, dir) = scratch("members");
    let path = dir.join("images.gz");
    let bytes = idx_bytes(IDX_IMAGES_MAGIC, &[2, 3, 4], &[5; 24]);
    let mut two = gzip(&bytes[..10]);
    two.extend(gzip(&bytes[10..]));
    std::fs::write(&path, two).unwrap();
    let x = idx::read_images(&path).unwrap();
    assert_eq!(x.shape(), &[2, 3, 4]);
    assert!(x.iter().all(|&v| v == 5));
    // Garbage after the last member is a corrupt stream, named as such.
    let mut junk = gzip(&bytes);
    junk.extend_from_slice(b"junk after the member");
    std::fs::write(&path, junk).unwrap();
    let e = idx::read_images(&path).unwrap_err();
    assert!(matches!(e, ScatterError::Io { .. }), "{e}");
}

// ------------------------------------------------------------------ the full Fashion-MNIST

/// Debian's `dataset-fashion-mnist` installs the real data set here.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The full data set, from the Debian package. Ignored by default, because it needs the package;
/// `.ci/run` installs it and runs this test with `--ignored`, and without the files it fails
/// (rather than passing without having checked anything).
#[test]
#[ignore = "needs dataset-fashion-mnist: apt install dataset-fashion-mnist; run with --ignored"]
fn real_fashion_mnist() {
    let _g = lock();
    let dir = Path::new(DEBIAN_FASHION_MNIST);
    assert!(
        dir.is_dir(),
        "{DEBIAN_FASHION_MNIST} is absent: install Debian's dataset-fashion-mnist \
         (apt-get install dataset-fashion-mnist) to run this test"
    );
    let (train, test) = idx::load_fashion_mnist(dir).unwrap();
    assert_eq!(train.images.shape(), &[60000, 1, 28, 28]);
    assert_eq!(test.images.shape(), &[10000, 1, 28, 28]);
    // Fashion-MNIST is balanced: 6000 / 1000 images per class.
    assert!(train.class_indices().iter().all(|c| c.len() == 6000));
    assert!(test.class_indices().iter().all(|c| c.len() == 1000));
    // The first training label of Fashion-MNIST is 9 (ankle boot), the first test label 9.
    assert_eq!((train.labels[0], test.labels[0]), (9, 9));
    let n = Normalization::from_dataset(&train);
    // 0.2860 / 0.3530: the published statistics of the training set
    assert!(
        (n.mean[0] - 0.2860).abs() < 1e-3 && (n.std[0] - 0.3530).abs() < 1e-3,
        "{n:?}"
    );
}
