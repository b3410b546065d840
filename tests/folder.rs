//! The image readers (`data::folder`, `data::kth`): class folders of PNG and JPEG files, grey and
//! RGB, resized or not, and the KTH-TIPS2-b tree with its one-sample training protocol; errors
//! naming the folder or file; hostile images (issue 12: image bombs refused on their header, a
//! 65535-pixel-wide image cropped in bounded memory, a non-UTF-8 class name). Every image is
//! written here.
//!
//! Memory is bounded by the counting allocator of `support/capped_alloc.rs`, installed below;
//! every test takes `lock()` so that no other test allocates under a cap.

use std::path::{Path, PathBuf};

use learnable_scattering::ScatterError;
use learnable_scattering::data::DataError;
use learnable_scattering::data::folder::{Channels, load_image_folder};
use learnable_scattering::data::kth::{self, load_kth_tips2b};
use learnable_scattering::error::FileError;

mod support;
use support::capped_alloc::{MB, with_memory_cap};
use support::scratch::scratch;
use support::{lock, names_file};

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;

/// The 11 KTH-TIPS2-b materials, sorted by name: the classes, in label order.
const KTH_TIPS2B_MATERIALS: [&str; 11] = [
    "aluminium_foil",
    "brown_bread",
    "corduroy",
    "cork",
    "cotton",
    "cracker",
    "lettuce_leaf",
    "linen",
    "white_bread",
    "wood",
    "wool",
];

fn write_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)))
        .save(path)
        .unwrap();
}

fn png_bytes(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

// ------------------------------------------------------------------ image folders

#[test]
fn image_folder_png_and_jpeg_gray_and_rgb() {
    let _g = lock();
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
    let _g = lock();
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

#[cfg(unix)]
#[test]
fn a_non_utf8_class_folder_is_named_as_such() {
    use std::os::unix::ffi::OsStrExt;
    let _g = lock();
    let (_tmp, root) = scratch("non-utf8");
    let class = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(&class).unwrap();
    std::fs::write(
        class.join("x.png"),
        png_bytes(&image::DynamicImage::ImageLuma8(image::GrayImage::new(
            2, 2,
        ))),
    )
    .unwrap();
    let e = load_image_folder(&root, Channels::Gray, None).unwrap_err();
    assert!(
        matches!(&e, ScatterError::Data(DataError::NonUtf8Name { path }) if path == &class),
        "{e}"
    );
}

// ------------------------------------------------------------------ KTH-TIPS2-b

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
    let _g = lock();
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
    let _g = lock();
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

#[test]
fn a_65535_by_1_png_in_a_kth_tree_is_cropped_in_bounded_memory() {
    let _g = lock();
    let (_tmp, parent) = scratch("kth-wide");
    let root = parent.join("KTH-TIPS2-b");
    let tiny = png_bytes(&image::DynamicImage::ImageRgb8(
        image::RgbImage::from_pixel(1, 1, image::Rgb([9, 9, 9])),
    ));
    for material in KTH_TIPS2B_MATERIALS {
        for s in ['a', 'b', 'c', 'd'] {
            let dir = root.join(material).join(format!("sample_{s}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("1.png"), &tiny).unwrap();
        }
    }
    let wide = image::RgbImage::from_fn(65_535, 1, |x, _| image::Rgb([(x % 251) as u8, 0, 0]));
    let wide = png_bytes(&image::DynamicImage::ImageRgb8(wide));
    assert!(wide.len() < 300_000, "{} bytes", wide.len());
    std::fs::write(root.join("cork/sample_b/2.png"), &wide).unwrap();
    let (result, peak) = with_memory_cap(64 * MB, || load_kth_tips2b(&root, 'a', 200));
    let (train, test) = result.unwrap();
    assert_eq!(train.images.shape(), &[11, 3, 200, 200]);
    assert_eq!(test.images.shape(), &[34, 3, 200, 200]);
    println!("peak {peak} bytes");
}

// ------------------------------------------------------------------ image bombs (issue 12)

/// A PNG chunk: length, type, data, CRC-32 of type and data (PNG spec §5.3).
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A grey 8-bit PNG whose header declares `side × side`, with the first rows' data only.
fn huge_grey_png(side: u32) -> Vec<u8> {
    use std::io::Write;
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 16 * (side as usize + 1)]).unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out.extend(png_chunk(b"IDAT", &z.finish().unwrap()));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// A JPEG whose frame header (SOF0) declares `height × width`.
fn jpeg_declaring(height: u16, width: u16) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut bytes)
        .encode_image(&img)
        .unwrap();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("baseline frame header");
    // FF C0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn image_bombs_are_refused_on_their_header() {
    let _g = lock();
    let (_tmp, root) = scratch("bombs");
    std::fs::create_dir_all(root.join("a")).unwrap();
    let png = root.join("a/huge.png");
    std::fs::write(&png, huge_grey_png(22_000)).unwrap();
    let (result, peak) =
        with_memory_cap(16 * MB, || load_image_folder(&root, Channels::Gray, None));
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Data(DataError::ImageTooLarge {
                height: 22_000,
                width: 22_000,
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("huge.png"), "{e}");
    println!("peak {peak} bytes");
    assert!(peak < 4 * MB, "peak {peak}");
    std::fs::remove_file(&png).unwrap();
    // 638 bytes in the issue; this one is about as small.
    let jpeg = root.join("a/bomb.jpg");
    let bytes = jpeg_declaring(2760, 49_712);
    assert!(bytes.len() < 1000, "{} bytes", bytes.len());
    std::fs::write(&jpeg, bytes).unwrap();
    let (result, _) = with_memory_cap(16 * MB, || {
        load_image_folder(&root, Channels::Rgb, Some((32, 32)))
    });
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Data(DataError::ImageTooLarge {
                height: 2760,
                width: 49_712,
                ..
            })
        ),
        "{e}"
    );
}
