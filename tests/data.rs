//! Data readers on files written here in the exact on-disk formats (CIFAR-10 binary batches,
//! IDX raw and gzip, a KTH-TIPS2-b tree, image folders), their error paths, the NumPy sampler
//! fixture, batches and augmentation, archive verification and extraction, and two real-data
//! smoke tests (20 CIFAR-10 test images shipped in `tests/fixtures/cifar10_foolbox`, and
//! Fashion-MNIST where Debian's `dataset-fashion-mnist` package is installed).

use learnable_scattering::ScatterError;
use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::augment::{Augmentation, Normalization, RandomCrop, make_batch};
use learnable_scattering::data::cifar::{self, CIFAR10_CLASSES, read_batch};
use learnable_scattering::data::folder::{Channels, load_image_folder};
use learnable_scattering::data::idx;
use learnable_scattering::data::kth::{self, KTH_TIPS2B_MATERIALS};
use learnable_scattering::data::sampler::{balanced_subset, numpy_permutation};
use learnable_scattering::error::{DataError, DownloadError, FileError};
use ndarray::Array4;
use rand::{SeedableRng, rngs::ChaCha8Rng};
use std::io::Write;
use std::path::{Path, PathBuf};

#[path = "support/scratch.rs"]
mod scratch;
use scratch::scratch;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Asserts that the error's message names `file` (by its file name).
fn names_file(e: &ScatterError, file: &Path) {
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(e.to_string().contains(&*name), "`{e}` does not name {name}");
}

// ---------------------------------------------------------------- CIFAR-10 binary

/// One CIFAR record: label byte, then the R, G and B planes (32x32 row-major each).
fn cifar_record(label: u8, pixel: impl Fn(usize, usize, usize) -> u8) -> Vec<u8> {
    let mut r = vec![label];
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                r.push(pixel(c, y, x));
            }
        }
    }
    r
}

#[test]
fn cifar_batch_round_trips_plane_order() {
    let (_tmp, dir) = scratch("cifar-rt");
    let path = dir.join("data_batch_1.bin");
    let mut bytes = Vec::new();
    for (i, label) in [3u8, 0, 9].into_iter().enumerate() {
        bytes.extend(cifar_record(label, |c, y, x| {
            (i * 71 + c * 29 + y * 5 + x * 3) as u8
        }));
    }
    assert_eq!(bytes.len(), 3 * 3073);
    std::fs::write(&path, &bytes).unwrap();
    let ds = read_batch(&path).unwrap();
    assert_eq!(ds.images.shape(), &[3, 3, 32, 32]);
    assert_eq!(ds.labels, vec![3, 0, 9]);
    assert_eq!(ds.classes, CIFAR10_CLASSES.map(String::from).to_vec());
    for ((i, c, y, x), &v) in ds.images.indexed_iter() {
        assert_eq!(v, (i * 71 + c * 29 + y * 5 + x * 3) as u8);
    }
    // byte 1 + 1024*c + 32*y + x of record i is channel c, row y, column x
    assert_eq!(ds.images[[1, 2, 3, 4]], bytes[3073 + 1 + 2048 + 96 + 4]);
}

#[test]
fn cifar10_loads_train_and_test_from_folder_or_parent() {
    let (_tmp, parent) = scratch("cifar-load");
    let dir = parent.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for (b, name) in cifar::CIFAR10_TRAIN_FILES.iter().enumerate() {
        let mut bytes = cifar_record(b as u8, |_, _, _| b as u8);
        bytes.extend(cifar_record(9, |_, _, _| 100 + b as u8));
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), cifar_record(7, |_, _, _| 200)).unwrap();
    std::fs::write(dir.join("batches.meta.txt"), CIFAR10_CLASSES.join("\n")).unwrap();
    for root in [&parent, &dir] {
        let (train, test) = cifar::load_cifar10(root).unwrap();
        assert_eq!(train.len(), 10);
        assert_eq!(train.labels, vec![0, 9, 1, 9, 2, 9, 3, 9, 4, 9]);
        assert_eq!(train.images[[4, 1, 31, 31]], 2);
        assert_eq!(train.images[[5, 0, 0, 0]], 102);
        assert_eq!(
            (test.len(), test.labels[0], test.images[[0, 2, 5, 5]]),
            (1, 7, 200)
        );
    }
}

#[test]
fn cifar_errors_name_the_file() {
    let (_tmp, dir) = scratch("cifar-err");
    // size not a multiple of the record
    for len in [3072usize, 3074, 2 * 3073 + 1, 0] {
        let p = dir.join(format!("bad_{len}.bin"));
        std::fs::write(&p, vec![0u8; len]).unwrap();
        let e = read_batch(&p).unwrap_err();
        assert!(
            matches!(&e, ScatterError::Data(DataError::RecordSize { size, record: 3073, .. }) if *size == len as u64),
            "{e}"
        );
        names_file(&e, &p);
    }
    // label byte >= 10
    let p = dir.join("label.bin");
    let mut bytes = cifar_record(1, |_, _, _| 0);
    bytes.extend(cifar_record(10, |_, _, _| 0));
    std::fs::write(&p, bytes).unwrap();
    let e = read_batch(&p).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Data(DataError::InvalidLabel {
                index: 1,
                label: 10,
                num_classes: 10,
                ..
            })
        ),
        "{e}"
    );
    names_file(&e, &p);
    // missing file and missing folder
    let e = read_batch(&dir.join("nope.bin")).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    names_file(&e, Path::new("nope.bin"));
    let e = cifar::load_cifar10(&dir.join("absent")).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    names_file(&e, Path::new("cifar-10-batches-bin"));
    // a batch folder without its test batch
    let b = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&b).unwrap();
    for name in cifar::CIFAR10_TRAIN_FILES {
        std::fs::write(b.join(name), cifar_record(0, |_, _, _| 0)).unwrap();
    }
    let e = cifar::load_cifar10(&dir).unwrap_err();
    names_file(&e, Path::new("test_batch.bin"));
}

// ---------------------------------------------------------------- IDX

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn image_idx(n: u32, h: u32, w: u32) -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..n * h * w).map(|i| (i * 7 % 251) as u8).collect();
    (idx_bytes(0x0803, &[n, h, w], &data), data)
}

#[test]
fn idx_raw_and_gzip_read_identically() {
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

/// Debian's `dataset-fashion-mnist` installs the real data set here.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The full data set, from the Debian package. Ignored by default, because it needs the package;
/// `.ci/run` installs it and runs this test with `--ignored`, and without the files it fails
/// (rather than passing without having checked anything).
#[test]
#[ignore = "needs dataset-fashion-mnist: apt install dataset-fashion-mnist; run with --ignored"]
fn real_fashion_mnist() {
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

// ---------------------------------------------------------------- KTH-TIPS2-b

fn write_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)))
        .save(path)
        .unwrap();
}

/// `root/KTH-TIPS2-b/<material>/sample_<s>/` with two 6x4 (width x height) PNGs per sample;
/// red = material index, green = sample index, blue = 10 * image + column.
fn kth_tree(root: &Path) -> PathBuf {
    let base = root.join("KTH-TIPS2-b");
    for (m, material) in KTH_TIPS2B_MATERIALS.iter().enumerate() {
        for (s, letter) in ['a', 'b', 'c', 'd'].into_iter().enumerate() {
            let dir = base.join(material).join(format!("sample_{letter}"));
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..2u8 {
                let name = format!("{}{letter}-scale_{i}_im_1_col.png", m + 1);
                write_png(&dir.join(name), 6, 4, |x, _| {
                    [m as u8, s as u8, 10 * i + x as u8]
                });
            }
        }
    }
    base
}

#[test]
fn kth_protocol_train_one_sample_test_three() {
    let (_tmp, root) = scratch("kth");
    let base = kth_tree(&root);
    std::fs::write(base.join("README.txt"), "not a folder").unwrap();
    for (dir, sample) in [(&root, 'b'), (&base, 'D')] {
        let (train, test) = kth::load_kth_tips2b(dir, sample, 4).unwrap();
        assert_eq!(train.images.shape(), &[22, 3, 4, 4]);
        assert_eq!(test.images.shape(), &[66, 3, 4, 4]);
        assert_eq!(
            train.classes,
            KTH_TIPS2B_MATERIALS.map(String::from).to_vec()
        );
        let s_train = ['a', 'b', 'c', 'd']
            .iter()
            .position(|&c| c == sample.to_ascii_lowercase())
            .unwrap() as u8;
        for i in 0..train.len() {
            assert_eq!(train.labels[i], i / 2);
            assert_eq!(train.images[[i, 0, 0, 0]], (i / 2) as u8);
            assert_eq!(train.images[[i, 1, 0, 0]], s_train);
            // shorter side already 4: centre crop only, columns 1..5
            let im = (i % 2) as u8;
            assert_eq!(train.images[[i, 2, 3, 0]], 10 * im + 1);
            assert_eq!(train.images[[i, 2, 0, 3]], 10 * im + 4);
        }
        for i in 0..test.len() {
            assert_eq!(test.labels[i], i / 6);
            assert_ne!(test.images[[i, 1, 0, 0]], s_train);
        }
    }
    // resizing: shorter side 4 -> 2, then 2x2 centre crop
    let (train, _) = kth::load_kth_tips2b(&root, 'a', 2).unwrap();
    assert_eq!(train.images.shape(), &[22, 3, 2, 2]);
    assert!(
        train.images.iter().step_by(12).all(|&v| v <= 10),
        "red is the material"
    );
}

#[test]
fn kth_errors_name_the_folder_or_file() {
    let (_tmp, root) = scratch("kth-err");
    let base = kth_tree(&root);
    // unknown material folder
    let extra = base.join("plastic");
    std::fs::create_dir_all(&extra).unwrap();
    let e = kth::load_kth_tips2b(&root, 'a', 4).unwrap_err();
    assert!(
        matches!(&e, ScatterError::Data(DataError::UnknownClass { name, .. }) if name == "plastic"),
        "{e}"
    );
    names_file(&e, &extra);
    std::fs::remove_dir_all(&extra).unwrap();
    // undecodable image
    let bad = base.join("cork/sample_c/broken.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n but not really").unwrap();
    let e = kth::load_kth_tips2b(&root, 'a', 4).unwrap_err();
    assert!(
        matches!(e, ScatterError::Data(DataError::ImageDecode { .. })),
        "{e}"
    );
    names_file(&e, &bad);
    std::fs::remove_file(&bad).unwrap();
    // empty sample folder
    let sample = base.join("wool/sample_d");
    for f in std::fs::read_dir(&sample).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let e = kth::load_kth_tips2b(&root, 'a', 4).unwrap_err();
    assert!(
        matches!(e, ScatterError::Data(DataError::EmptyClass { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("wool/sample_d"), "{e}");
    // missing sample folder, missing material folder, missing data set
    std::fs::remove_dir_all(&sample).unwrap();
    let e = kth::load_kth_tips2b(&root, 'a', 4).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("wool/sample_d"), "{e}");
    std::fs::remove_dir_all(base.join("linen")).unwrap();
    let e = kth::load_kth_tips2b(&root, 'a', 4).unwrap_err();
    assert!(e.to_string().contains("KTH-TIPS2-b/linen"), "{e}");
    let e = kth::load_kth_tips2b(&root.join("elsewhere"), 'a', 4).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    // bad sample letter
    let e = kth::load_kth_tips2b(&root, 'x', 4).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::InvalidParameter {
                name: "train_sample",
                ..
            }
        ),
        "{e}"
    );
}

// ---------------------------------------------------------------- image folders

#[test]
fn image_folder_png_and_jpeg_gray_and_rgb() {
    let (_tmp, root) = scratch("folder");
    std::fs::create_dir_all(root.join("zebra")).unwrap();
    std::fs::create_dir_all(root.join("apple")).unwrap();
    std::fs::create_dir_all(root.join(".hidden")).unwrap();
    write_png(&root.join("zebra/b.png"), 5, 3, |x, y| {
        [x as u8 * 40, y as u8 * 60, 7]
    });
    write_png(&root.join("zebra/a.PNG"), 5, 3, |_, _| [255, 255, 255]);
    image::RgbImage::from_pixel(5, 3, image::Rgb([200, 40, 90]))
        .save(root.join("apple/one.jpg"))
        .unwrap();
    std::fs::write(root.join("apple/notes.txt"), "ignored").unwrap();
    let ds = load_image_folder(&root, Channels::Rgb, None).unwrap();
    assert_eq!(ds.classes, vec!["apple", "zebra"]);
    assert_eq!(ds.labels, vec![0, 1, 1]);
    assert_eq!(ds.images.shape(), &[3, 3, 3, 5]);
    // JPEG is lossy: a flat colour decodes within a few levels
    for (c, want) in [200i32, 40, 90].into_iter().enumerate() {
        assert!((i32::from(ds.images[[0, c, 1, 2]]) - want).abs() <= 3);
    }
    assert!(
        ds.images
            .slice(ndarray::s![1, .., .., ..])
            .iter()
            .all(|&v| v == 255)
    );
    assert_eq!(ds.images[[2, 0, 2, 4]], 160);
    assert_eq!(ds.images[[2, 1, 2, 4]], 120);
    let gray = load_image_folder(&root, Channels::Gray, None).unwrap();
    assert_eq!(gray.images.shape(), &[3, 1, 3, 5]);
    assert_eq!(gray.images[[1, 0, 0, 0]], 255);
    let resized = load_image_folder(&root, Channels::Rgb, Some((6, 4))).unwrap();
    assert_eq!(resized.images.shape(), &[3, 3, 6, 4]);
    assert!(
        resized
            .images
            .slice(ndarray::s![1, .., .., ..])
            .iter()
            .all(|&v| v == 255)
    );
}

#[test]
fn image_folder_errors_name_the_file() {
    let (_tmp, root) = scratch("folder-err");
    let e = load_image_folder(&root.join("absent"), Channels::Rgb, None).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::MissingPath { .. })),
        "{e}"
    );
    let e = load_image_folder(&root, Channels::Rgb, None).unwrap_err();
    assert!(
        matches!(e, ScatterError::Data(DataError::EmptyClass { .. })),
        "{e}"
    );
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::create_dir_all(root.join("b")).unwrap();
    write_png(&root.join("a/x.png"), 4, 4, |_, _| [1, 2, 3]);
    let e = load_image_folder(&root, Channels::Rgb, None).unwrap_err();
    assert!(
        matches!(e, ScatterError::Data(DataError::EmptyClass { .. })),
        "{e}"
    );
    names_file(&e, &root.join("b"));
    let odd = root.join("b/odd.png");
    write_png(&odd, 5, 4, |_, _| [1, 2, 3]);
    let e = load_image_folder(&root, Channels::Rgb, None).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Data(DataError::ImageSize {
                expected: (4, 4),
                got: (4, 5),
                ..
            })
        ),
        "{e}"
    );
    names_file(&e, &odd);
    assert_eq!(
        load_image_folder(&root, Channels::Rgb, Some((4, 4)))
            .unwrap()
            .len(),
        2
    );
    let bad = root.join("b/bad.jpeg");
    std::fs::write(&bad, [0xff, 0xd8, 0xff, 0x00, 0x01]).unwrap();
    let e = load_image_folder(&root, Channels::Rgb, Some((4, 4))).unwrap_err();
    assert!(
        matches!(e, ScatterError::Data(DataError::ImageDecode { .. })),
        "{e}"
    );
    names_file(&e, &bad);
    assert!(load_image_folder(&root, Channels::Rgb, Some((0, 4))).is_err());
}

// ---------------------------------------------------------------- real CIFAR-10 images

/// The 20 foolbox PNGs: (label from the file name, decoded RGB image), in test-set order.
fn foolbox_images() -> Vec<(u8, image::RgbImage)> {
    let dir = fixtures().join("cifar10_foolbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 20);
    files
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let stem = p.file_stem().unwrap().to_str().unwrap();
            let parts: Vec<&str> = stem.split('_').collect();
            assert_eq!(parts[0], "cifar10");
            assert_eq!(parts[1].parse::<usize>().unwrap(), i);
            let label: u8 = parts[2].parse().unwrap();
            (label, image::open(p).unwrap().to_rgb8())
        })
        .collect()
}

#[test]
fn real_cifar10_images_through_the_binary_format() {
    let images = foolbox_images();
    // The published first 20 CIFAR-10 test labels.
    let labels: Vec<u8> = images.iter().map(|(l, _)| *l).collect();
    assert_eq!(
        labels,
        [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
    );
    let (_tmp, dir) = scratch("foolbox-bin");
    let path = dir.join("test_batch.bin");
    let mut bytes = Vec::new();
    for (label, img) in &images {
        assert_eq!(img.dimensions(), (32, 32));
        bytes.extend(cifar_record(*label, |c, y, x| {
            img.get_pixel(x as u32, y as u32)[c]
        }));
    }
    std::fs::write(&path, &bytes).unwrap();
    let ds = read_batch(&path).unwrap();
    assert_eq!(ds.images.shape(), &[20, 3, 32, 32]);
    assert_eq!(
        ds.labels,
        labels.iter().map(|&l| usize::from(l)).collect::<Vec<_>>()
    );
    for (i, (_, img)) in images.iter().enumerate() {
        for (x, y, px) in img.enumerate_pixels() {
            for c in 0..3 {
                assert_eq!(ds.images[[i, c, y as usize, x as usize]], px[c]);
            }
        }
    }
    assert_eq!(ds.classes[ds.labels[0]], "cat");
    assert_eq!(ds.classes[ds.labels[1]], "ship");

    // The same PNGs through the folder loader (one folder per class name).
    let (_tmp, root) = scratch("foolbox-folder");
    for (i, (label, _)) in images.iter().enumerate() {
        let class = CIFAR10_CLASSES[usize::from(*label)];
        std::fs::create_dir_all(root.join(class)).unwrap();
        let src = fixtures().join(format!("cifar10_foolbox/cifar10_{i:02}_{label}.png"));
        std::fs::copy(&src, root.join(class).join(src.file_name().unwrap())).unwrap();
    }
    let folder = load_image_folder(&root, Channels::Rgb, None).unwrap();
    assert_eq!(folder.len(), 20);
    for (j, file_label) in folder.labels.iter().enumerate() {
        let name = &folder.classes[*file_label];
        let i = images_index_in_folder_order(&root, &folder.classes, j);
        assert_eq!(name, CIFAR10_CLASSES[usize::from(images[i].0)]);
        assert_eq!(
            folder.images.index_axis(ndarray::Axis(0), j),
            ds.images.index_axis(ndarray::Axis(0), i)
        );
    }
}

/// Test-set index of the `j`-th image of the folder data set (classes sorted, files sorted).
fn images_index_in_folder_order(root: &Path, classes: &[String], j: usize) -> usize {
    let mut names = Vec::new();
    for class in classes {
        let mut files: Vec<String> = std::fs::read_dir(root.join(class))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        names.extend(files);
    }
    names[j]["cifar10_".len().."cifar10_".len() + 2]
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------- sampler vs NumPy

#[test]
fn sampler_matches_numpy_fixture() {
    let text = std::fs::read_to_string(fixtures().join("numpy_sampler.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let perms = json["permutations"].as_array().unwrap();
    assert!(perms.len() >= 8);
    let mut seen_paper_seeds = 0;
    for case in perms {
        let seed = case["seed"].as_u64().unwrap() as u32;
        let n = case["n"].as_u64().unwrap() as usize;
        let p = numpy_permutation(seed, n);
        let first: Vec<usize> = case["first"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(&p[..first.len()], &first[..], "seed {seed}, n {n}");
        let weighted: u128 = p.iter().enumerate().map(|(i, &v)| (i * v) as u128).sum();
        assert_eq!(
            weighted,
            u128::from(case["weighted_sum"].as_u64().unwrap()),
            "seed {seed}"
        );
        if n == 5000 && (seed == 491_659_600 || seed == 207_715_039) {
            seen_paper_seeds += 1;
        }
    }
    assert_eq!(seen_paper_seeds, 2);
    for case in json["balanced_subsets"].as_array().unwrap() {
        let labels: Vec<usize> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let want: Vec<usize> = case["indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let got = balanced_subset(
            &labels,
            case["num_classes"].as_u64().unwrap() as usize,
            case["total"].as_u64().unwrap() as usize,
            case["seed"].as_u64().unwrap() as u32,
        )
        .unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn balanced_subset_selects_a_balanced_dataset() {
    let labels: Vec<usize> = (0..300).map(|i| (i * 7 + i / 13) % 3).collect();
    let images = Array4::from_shape_fn((300, 1, 1, 1), |(i, ..)| i as u8);
    let ds = ImageDataset::new(images, labels, vec!["a".into(), "b".into(), "c".into()]).unwrap();
    let idx = balanced_subset(&ds.labels, 3, 30, 491_659_600).unwrap();
    let sub = ds.select(&idx);
    assert_eq!(sub.labels, [vec![0; 10], vec![1; 10], vec![2; 10]].concat());
    let mut unique = idx.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 30);
    assert_ne!(
        idx,
        balanced_subset(&ds.labels, 3, 30, 207_715_039).unwrap()
    );
}

// ---------------------------------------------------------------- batches and augmentation

/// Random-looking pixels in 1..=250 (no zero, so zero padding is recognisable).
fn noisy(n: usize, c: usize, h: usize, w: usize) -> ImageDataset {
    let images = Array4::from_shape_fn((n, c, h, w), |(i, k, y, x)| {
        (1 + (i * 131 + k * 71 + y * 37 + x * 53 + y * x * 11) % 250) as u8
    });
    ImageDataset::new(images, vec![0; n], vec!["x".into()]).unwrap()
}

fn norm3() -> Normalization {
    Normalization {
        mean: vec![0.5, 0.25, 0.0],
        std: vec![0.5, 0.2, 1.0],
    }
}

fn normalised(ds: &ImageDataset, n: &Normalization, i: usize, k: usize, y: isize, x: isize) -> f32 {
    let v = if y < 0 || x < 0 || y as usize >= ds.height() || x as usize >= ds.width() {
        0.0
    } else {
        f32::from(ds.images[[i, k, y as usize, x as usize]])
    };
    (v / 255.0 - n.mean[k]) / n.std[k]
}

#[test]
fn plain_batch_is_the_normalised_pixels() {
    let ds = noisy(4, 3, 5, 6);
    let n = norm3();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (x, shape) = make_batch(&ds, &[2, 0], &Augmentation::default(), &n, &mut rng);
    assert_eq!(shape, [2, 3, 5, 6]);
    assert_eq!(x.len(), 2 * 3 * 30);
    for (b, i) in [2usize, 0].into_iter().enumerate() {
        for k in 0..3 {
            for y in 0..5 {
                for xx in 0..6 {
                    let got = x[((b * 3 + k) * 5 + y) * 6 + xx];
                    let want = normalised(&ds, &n, i, k, y as isize, xx as isize);
                    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
                }
            }
        }
    }
    // CIFAR-10 normalisation of a mid-grey pixel
    let grey = ImageDataset::new(
        Array4::from_elem((1, 3, 1, 1), 128u8),
        vec![0],
        vec!["x".into()],
    )
    .unwrap();
    let (g, _) = make_batch(
        &grey,
        &[0],
        &Augmentation::default(),
        &Normalization::cifar10(),
        &mut rng,
    );
    assert!((g[0] - (128.0 - 125.3) / 63.0).abs() < 1e-5);
}

/// The (dy, dx) shift that maps the output onto the zero-padded input, if any.
fn find_shift(
    x: &[f32],
    ds: &ImageDataset,
    n: &Normalization,
    p: isize,
    flip: bool,
) -> Option<(isize, isize)> {
    let (h, w) = (ds.height() as isize, ds.width() as isize);
    for dy in -p..=p {
        'dx: for dx in -p..=p {
            for k in 0..ds.channels() {
                for y in 0..h {
                    for xx in 0..w {
                        let sx = if flip { w - 1 - xx } else { xx };
                        let want = normalised(ds, n, 0, k, y + dy, sx + dx);
                        let got = x[((k as isize * h + y) * w + xx) as usize];
                        if (got - want).abs() > 1e-6 {
                            continue 'dx;
                        }
                    }
                }
            }
            return Some((dy, dx));
        }
    }
    None
}

#[test]
fn random_crop_with_padding_shifts_content_and_pads_with_zero() {
    let ds = noisy(1, 3, 8, 8);
    let n = norm3();
    let aug = Augmentation {
        random_crop: Some(RandomCrop {
            size: 8,
            padding: 2,
        }),
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut shifts = std::collections::HashSet::new();
    for _ in 0..60 {
        let (x, shape) = make_batch(&ds, &[0], &aug, &n, &mut rng);
        assert_eq!(shape, [1, 3, 8, 8]);
        let s = find_shift(&x, &ds, &n, 2, false).expect("output is a shifted, zero-padded input");
        shifts.insert(s);
    }
    // 25 possible windows; 60 draws hit many of them, including a corner or edge
    assert!(shifts.len() >= 10, "{shifts:?}");
    assert!(
        shifts
            .iter()
            .any(|&(dy, dx)| dy.abs() == 2 || dx.abs() == 2)
    );
    // a smaller crop without padding stays inside the image
    let aug = Augmentation {
        random_crop: Some(RandomCrop {
            size: 5,
            padding: 0,
        }),
        ..Default::default()
    };
    let (x, shape) = make_batch(&ds, &[0, 0], &aug, &Normalization::identity(3), &mut rng);
    assert_eq!(shape, [2, 3, 5, 5]);
    assert!(x.iter().all(|&v| v > 0.0));
}

#[test]
fn horizontal_flip_mirrors_about_half_the_time() {
    let ds = noisy(1, 3, 4, 7);
    let n = norm3();
    let aug = Augmentation {
        horizontal_flip: true,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut flipped, mut kept) = (0, 0);
    for _ in 0..200 {
        let (x, _) = make_batch(&ds, &[0], &aug, &n, &mut rng);
        if find_shift(&x, &ds, &n, 0, true).is_some() {
            flipped += 1;
        } else {
            assert!(find_shift(&x, &ds, &n, 0, false).is_some());
            kept += 1;
        }
    }
    assert!(
        (60..=140).contains(&flipped),
        "{flipped} flipped, {kept} kept"
    );
}

#[test]
fn cutout_fills_a_clipped_square_with_the_channel_mean() {
    let ds = noisy(1, 3, 12, 12);
    let n = norm3();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (clean, _) = make_batch(&ds, &[0], &Augmentation::default(), &n, &mut rng);
    let means: Vec<f32> = clean
        .chunks(144)
        .map(|p| p.iter().sum::<f32>() / 144.0)
        .collect();
    let aug = Augmentation {
        cutout: Some(4),
        ..Default::default()
    };
    let (mut full, mut clipped) = (0, 0);
    let mut rows = std::collections::HashSet::new();
    let mut cols = std::collections::HashSet::new();
    let mut off_diagonal = 0;
    for _ in 0..300 {
        let (x, _) = make_batch(&ds, &[0], &aug, &n, &mut rng);
        let mut changed = Vec::new();
        for k in 0..3 {
            for i in 0..144 {
                if x[k * 144 + i] != clean[k * 144 + i] {
                    assert!(
                        (x[k * 144 + i] - means[k]).abs() < 1e-5,
                        "filled with the mean"
                    );
                    if k == 0 {
                        changed.push((i / 12, i % 12));
                    }
                }
            }
        }
        let (y0, y1) = (
            changed.iter().map(|p| p.0).min().unwrap(),
            changed.iter().map(|p| p.0).max().unwrap(),
        );
        let (x0, x1) = (
            changed.iter().map(|p| p.1).min().unwrap(),
            changed.iter().map(|p| p.1).max().unwrap(),
        );
        let (hh, ww) = (y1 - y0 + 1, x1 - x0 + 1);
        assert_eq!(changed.len(), hh * ww, "a filled rectangle");
        assert!(hh <= 4 && ww <= 4 && hh >= 2 && ww >= 2);
        if hh * ww == 16 {
            full += 1;
        } else {
            clipped += 1;
        }
        rows.insert(y0);
        cols.insert(x0);
        if y0 != x0 {
            off_diagonal += 1;
        }
    }
    // centres are uniform over the 12x12 image: 9 x 9 of 144 give a full 4x4 square (0.5625)
    let frac = f64::from(full) / 300.0;
    assert!(
        (0.45..0.68).contains(&frac),
        "full squares {full}, clipped {clipped}"
    );
    // not confined to the diagonal (the reference code's bug puts left = top)
    assert!(rows.len() >= 8 && cols.len() >= 8);
    assert!(off_diagonal > 200, "{off_diagonal} of 300 off the diagonal");
}

#[test]
fn batches_are_deterministic_per_seed() {
    let ds = noisy(6, 3, 10, 10);
    let n = Normalization::cifar10();
    let aug = Augmentation {
        random_crop: Some(RandomCrop {
            size: 8,
            padding: 3,
        }),
        center_crop: None,
        horizontal_flip: true,
        cutout: Some(4),
    };
    let run = |seed| {
        make_batch(
            &ds,
            &[5, 1, 3, 3],
            &aug,
            &n,
            &mut ChaCha8Rng::seed_from_u64(seed),
        )
    };
    let (a, sa) = run(11);
    let (b, _) = run(11);
    let (c, _) = run(12);
    assert_eq!(sa, [4, 3, 8, 8]);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // the configuration round-trips through JSON
    let json = serde_json::to_string(&aug).unwrap();
    assert_eq!(serde_json::from_str::<Augmentation>(&json).unwrap(), aug);
}

// ---------------------------------------------------------------- archives

#[cfg(feature = "download")]
mod archives {
    use super::*;
    use learnable_scattering::data::download::{RemoteArchive, ensure_dataset, install_archive};
    use learnable_scattering::data::{md5_file, sha256_file};

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
        let e =
            install_archive(&spec(Some(wrong.clone()), None, "top"), &archive, &dir).unwrap_err();
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
}
