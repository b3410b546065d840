//! The CIFAR-10 binary reader (`data::cifar`): batches written here in the exact on-disk format,
//! the data set's folder layout, errors naming the file, memory bounded by the file's size
//! (issue 12), and the 20 real CIFAR-10 test images shipped in `tests/fixtures/cifar10_foolbox`
//! through the binary format and through the image-folder reader.
//!
//! Memory is bounded by the counting allocator of `support/capped_alloc.rs`, installed below;
//! every test takes `lock()` so that no other test allocates under a cap.

use std::path::{Path, PathBuf};

use learnable_scattering::ScatterError;
use learnable_scattering::data::DataError;
use learnable_scattering::data::ReadLimits;
use learnable_scattering::data::cifar::{self, read_batch, read_batch_with_limits};
use learnable_scattering::data::folder::{Channels, load_image_folder};
use learnable_scattering::error::FileError;

mod support;
use support::capped_alloc::with_memory_cap;
use support::scratch::scratch;
use support::{fixtures, lock, names_file};

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;

/// CIFAR-10 class names, in label order (`batches.meta.txt`).
const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// The training batch files, in the order they are concatenated.
const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];

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

// ------------------------------------------------------------------ batches written here

#[test]
fn cifar_batch_round_trips_plane_order() {
    let _g = lock();
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
    let _g = lock();
    let (_tmp, parent) = scratch("cifar-load");
    let dir = parent.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for (b, name) in CIFAR10_TRAIN_FILES.iter().enumerate() {
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
    let _g = lock();
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
    for name in CIFAR10_TRAIN_FILES {
        std::fs::write(b.join(name), cifar_record(0, |_, _, _| 0)).unwrap();
    }
    let e = cifar::load_cifar10(&dir).unwrap_err();
    names_file(&e, Path::new("test_batch.bin"));
}

// ------------------------------------------------------------------ bounded memory (issue 12)

#[test]
fn a_cifar_file_takes_its_own_size_in_memory_not_twice() {
    let _g = lock();
    let (_tmp, dir) = scratch("cifar");
    let path = dir.join("data_batch_1.bin");
    let records = 1000;
    let bytes: Vec<u8> = (0..records * 3073)
        .map(|i| {
            if i % 3073 == 0 {
                (i / 3073 % 10) as u8
            } else {
                (i % 256) as u8
            }
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    drop(bytes);
    let size = records * 3073;
    let (result, peak) = with_memory_cap(size * 3 / 2, || {
        read_batch_with_limits(&path, &ReadLimits::default())
    });
    let ds = result.unwrap();
    assert_eq!(ds.len(), records);
    println!("peak {peak} bytes for a file of {size} bytes");
    assert!(
        peak < size * 3 / 2,
        "peak {peak} for a file of {size} bytes"
    );
    let small = ReadLimits {
        max_file_bytes: 3073 * 10,
        ..ReadLimits::default()
    };
    let e = read_batch_with_limits(&path, &small).unwrap_err();
    assert!(
        matches!(e, ScatterError::File(FileError::DeclaredTooLarge { .. })),
        "{e}"
    );
}

// ------------------------------------------------------------------ real CIFAR-10 images

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
    let _g = lock();
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
