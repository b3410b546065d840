//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries (`fuzz_targets/*.rs`) and
//! the bounded smoke run in `cargo test` (`tests/fuzz_smoke.rs`, which includes this file).
//!
//! Each target writes its input where the reader expects a file and calls the reader; an
//! error is the expected outcome for almost every input, a panic or an abort is a finding.
//! Readers run with [`limits`], small enough that everything an input may legitimately
//! allocate stays far below the fuzzer's memory limit.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use learnable_scattering::data::{ReadLimits, cifar, folder, idx, kth};
use learnable_scattering::npy::read_real_npy;

/// Magic number of an IDX file of `u8` images, `[N, rows, cols]` (the format's, not the crate's).
const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels, `[N]`.
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// The folder the KTH-TIPS2-b archive extracts to, its 11 materials and 4 physical samples.
const KTH_TIPS2B_DIR: &str = "KTH-TIPS2-b";
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
const KTH_TIPS2B_SAMPLES: [char; 4] = ['a', 'b', 'c', 'd'];

/// The fuzz targets, by name (the names of `fuzz_targets/*.rs` and of the corpus folders).
pub const TARGETS: [&str; 5] = ["idx", "cifar", "npy", "image_folder", "checkpoint"];

/// Limits for fuzzing: 1 MiB files, 2^16-pixel images, 16 MiB data sets.
pub fn limits() -> ReadLimits {
    ReadLimits {
        max_file_bytes: 1 << 20,
        max_image_pixels: 1 << 16,
        max_dataset_bytes: 1 << 24,
    }
}

/// Runs target `name` on `data`.
///
/// # Panics
/// For an unknown target name, and wherever the reader under test panics (a finding).
pub fn run(name: &str, data: &[u8]) {
    match name {
        "idx" => fuzz_idx(data),
        "cifar" => fuzz_cifar(data),
        "npy" => fuzz_npy(data),
        "image_folder" => fuzz_image_folder(data),
        "checkpoint" => fuzz_checkpoint(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// Removes the temporary folders `target` made in this process (for the checkpoint target
/// its template too, for the image folders the KTH-TIPS2-b tree).
pub fn cleanup(target: &str) {
    let pid = std::process::id().to_string();
    let prefixes = [format!("ls-fuzz-{target}-"), "ls-fuzz-kth-".to_string()];
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.split('-').any(|part| part == pid);
        if ours && prefixes.iter().any(|p| name.starts_with(p.as_str())) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A folder of this process and thread for the target's files.
fn scratch(target: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ls-fuzz-{target}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).expect("write the input");
}

/// IDX: the input as an image file and as a label file (raw or gzip: chosen by its bytes).
pub fn fuzz_idx(data: &[u8]) {
    let path = scratch("idx").join("input");
    write(&path, data);
    let _ = idx::read_images_with_limits(&path, &limits());
    let _ = idx::read_labels_with_limits(&path, &limits());
}

/// CIFAR-10: the input as a binary batch file.
pub fn fuzz_cifar(data: &[u8]) {
    let path = scratch("cifar").join("data_batch_1.bin");
    write(&path, data);
    let _ = cifar::read_batch_with_limits(&path, &limits());
}

/// `.npy`: the input as a file.
pub fn fuzz_npy(data: &[u8]) {
    let path = scratch("npy").join("input.npy");
    write(&path, data);
    let _ = read_real_npy(&path);
}

/// Image folders: the first byte picks the loader (`% 3`: a folder resized to 8 × 8 RGB, a
/// folder at its own size in grey, a KTH-TIPS2-b tree cropped to 8 × 8), the rest is an image
/// file in it (PNG or JPEG, recognised by content).
pub fn fuzz_image_folder(data: &[u8]) {
    let Some((&mode, image)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 | 1 => {
            let root = scratch("image_folder");
            let class = root.join("class");
            std::fs::create_dir_all(&class).expect("class folder");
            write(&class.join("input.png"), image);
            let _ = if mode % 3 == 0 {
                folder::load_image_folder_with_limits(
                    &root,
                    folder::Channels::Rgb,
                    Some((8, 8)),
                    &limits(),
                )
            } else {
                folder::load_image_folder_with_limits(
                    &root,
                    folder::Channels::Gray,
                    None,
                    &limits(),
                )
            };
        }
        _ => {
            let root = kth_tree();
            write(&root.join("cork/sample_b/input.png"), image);
            let _ = kth::load_kth_tips2b_with_limits(&root, 'a', 8, &limits());
        }
    }
}

/// A KTH-TIPS2-b tree of 1 × 1 PNGs for this process and thread.
fn kth_tree() -> PathBuf {
    let root = scratch("kth").join(KTH_TIPS2B_DIR);
    if !root.join("wool/sample_d/0.png").is_file() {
        let png = png_bytes(&image::RgbImage::from_pixel(1, 1, image::Rgb([9, 9, 9])));
        for material in KTH_TIPS2B_MATERIALS {
            for s in KTH_TIPS2B_SAMPLES {
                let dir = root.join(material).join(format!("sample_{s}"));
                std::fs::create_dir_all(&dir).expect("sample folder");
                write(&dir.join("0.png"), &png);
            }
        }
    }
    root
}

fn png_bytes(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// Checkpoints: the first byte picks what the rest replaces in a valid checkpoint of a tiny
/// model (`% 3`): 0 `state.json` as it is, 1 `state.json` with the recorded digests set to the
/// files' own (so that the input reaches the checks behind the checksums), 2 `model.bpk` with
/// its digest recorded (so that it reaches burn's record reader). The checkpoint is then read
/// (the manifest's reader and file checks, `testing::checkpoint::read_and_verify`) and, when its
/// manifest reads, resumed with `fit`.
pub fn fuzz_checkpoint(data: &[u8]) {
    checkpoint::run(data);
}

mod checkpoint {
    use super::*;
    use burn::tensor::Device;
    use learnable_scattering::data::ImageDataset;
    use learnable_scattering::nn::Scattering2dConfig;
    use learnable_scattering::testing::checkpoint::{
        DATA_FILES, MODEL_FILE, STATE_FILE, read_and_verify,
    };
    use learnable_scattering::train::{FitOptions, Hybrid, HybridConfig, TrainConfig, fit};
    use ndarray::Array4;

    fn data() -> ImageDataset {
        let images = Array4::from_shape_fn((4, 1, 8, 8), |(n, _, y, x)| {
            ((n * 31 + y * 7 + x) % 256) as u8
        });
        ImageDataset::new(images, vec![0, 1, 0, 1], vec!["a".into(), "b".into()])
            .expect("valid data set")
    }

    fn model() -> Hybrid {
        // Built once per thread (a fresh model per input would dominate the run time); each
        // input gets a clone, into which `fit` loads the checkpoint.
        thread_local! {
            static MODEL: Hybrid = {
                let device = Device::flex().autodiff();
                let scattering = Scattering2dConfig::new(1, [8, 8]).with_num_orientations(2);
                HybridConfig::new(scattering, 1, 2).init(&device)
            };
        }
        MODEL.with(Hybrid::clone)
    }

    fn config() -> TrainConfig {
        TrainConfig::new(1, 4, 0.05, 0.1)
    }

    /// A valid one-epoch checkpoint, written once per process.
    pub(super) fn template() -> &'static Path {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        TEMPLATE.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!(
                "ls-fuzz-checkpoint-template-{}",
                std::process::id()
            ));
            if dir.exists() {
                learnable_scattering::train::checkpoint::remove_checkpoint(&dir)
                    .expect("old template");
            }
            let options = FitOptions {
                checkpoint_dir: Some(dir.clone()),
                ..FitOptions::default()
            };
            let ds = data();
            fit(model(), &ds, &ds, &config(), &options).expect("template checkpoint");
            dir
        })
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `state` with the digests of the files in `dir`.
    fn with_digests(state: &mut serde_json::Value, dir: &Path) {
        let mut files = serde_json::Map::new();
        for name in DATA_FILES {
            let bytes = std::fs::read(dir.join(name)).expect("checkpoint file");
            files.insert(
                name.to_string(),
                serde_json::json!({ "bytes": bytes.len(), "sha256": sha256_hex(&bytes) }),
            );
        }
        state["files"] = serde_json::Value::Object(files);
    }

    pub(super) fn run(input: &[u8]) {
        let Some((&mode, rest)) = input.split_first() else {
            return;
        };
        let template = template();
        let dir = scratch("checkpoint").join("ckpt");
        std::fs::create_dir_all(&dir).expect("checkpoint folder");
        // The template's files, rewritten only where the previous input changed them (fit never
        // writes here: the template's one epoch is done, and resuming it trains no further).
        thread_local! {
            static MODEL_CHANGED: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
        }
        if MODEL_CHANGED.with(|c| c.replace(mode % 3 == 2)) || !dir.join(STATE_FILE).exists() {
            for name in DATA_FILES {
                std::fs::copy(template.join(name), dir.join(name)).expect("copy the template");
            }
        }
        std::fs::copy(template.join(STATE_FILE), dir.join(STATE_FILE)).expect("copy the state");
        match mode % 3 {
            0 => write(&dir.join(STATE_FILE), rest),
            1 => match serde_json::from_slice::<serde_json::Value>(rest) {
                Ok(mut state) if state.is_object() => {
                    with_digests(&mut state, &dir);
                    write(&dir.join(STATE_FILE), state.to_string().as_bytes());
                }
                _ => write(&dir.join(STATE_FILE), rest),
            },
            _ => {
                write(&dir.join(MODEL_FILE), rest);
                let text = std::fs::read_to_string(dir.join(STATE_FILE)).expect("state");
                let mut state: serde_json::Value =
                    serde_json::from_str(&text).expect("the template's state parses");
                with_digests(&mut state, &dir);
                write(&dir.join(STATE_FILE), state.to_string().as_bytes());
            }
        }
        // The manifest's checks; `fit` would stop at the same read when it fails (after building
        // a model: not worth the time).
        if read_and_verify(&dir).is_none() {
            return;
        }
        // Resuming reads the same manifest again, checks it against the model and loads it.
        let ds = data();
        let options = FitOptions {
            checkpoint_dir: Some(dir.clone()),
            resume: true,
            overwrite: true,
            ..FitOptions::default()
        };
        let _ = fit(model(), &ds, &ds, &config(), &options);
    }
}

/// Seed inputs for `target`: small valid files of each format and a few near misses.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "idx" => {
            let images = idx_bytes(IDX_IMAGES_MAGIC, &[2, 3, 4], &[7; 24]);
            let labels = idx_bytes(IDX_LABELS_MAGIC, &[3], &[0, 1, 2]);
            vec![
                ("images.idx".into(), images.clone()),
                ("labels.idx".into(), labels.clone()),
                ("images.idx.gz".into(), gzip(&images)),
                ("labels.idx.gz".into(), gzip(&labels)),
                ("images-two-members.idx.gz".into(), {
                    let mut two = gzip(&images[..10]);
                    two.extend(gzip(&images[10..]));
                    two
                }),
            ]
        }
        "cifar" => {
            let mut batch = Vec::new();
            for label in [3u8, 9] {
                batch.push(label);
                batch.extend((0..3072).map(|i| (i % 251) as u8));
            }
            vec![("two-records.bin".into(), batch)]
        }
        "npy" => vec![
            (
                "f32-c.npy".into(),
                npy_bytes("<f4", false, "(2, 3)", &[0; 24]),
            ),
            (
                "f64-fortran-big-endian.npy".into(),
                npy_bytes(">f8", true, "(3, 2)", &[0x3f; 48]),
            ),
            (
                "f32-scalar.npy".into(),
                npy_bytes("<f4", false, "()", &[0; 4]),
            ),
        ],
        "image_folder" => {
            let rgb =
                image::RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 40, y as u8 * 60, 7]));
            let png = png_bytes(&rgb);
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
                .encode_image(&rgb)
                .expect("encode JPEG");
            let with_mode = |mode: u8, bytes: &[u8]| {
                let mut v = vec![mode];
                v.extend_from_slice(bytes);
                v
            };
            vec![
                ("folder-rgb.png".into(), with_mode(0, &png)),
                ("folder-grey.png".into(), with_mode(1, &png)),
                ("kth.png".into(), with_mode(2, &png)),
                ("folder-rgb.jpg".into(), with_mode(0, &jpeg)),
                ("kth.jpg".into(), with_mode(2, &jpeg)),
            ]
        }
        "checkpoint" => {
            let template = checkpoint::template();
            let state = std::fs::read(template.join("state.json")).expect("template state");
            let model = std::fs::read(template.join("model.bpk")).expect("template model");
            let with_mode = |mode: u8, bytes: &[u8]| {
                let mut v = vec![mode];
                v.extend_from_slice(bytes);
                v
            };
            vec![
                ("state.json".into(), with_mode(0, &state)),
                ("state-digests-fixed.json".into(), with_mode(1, &state)),
                ("model.bpk".into(), with_mode(2, &model)),
            ]
        }
        other => panic!("unknown fuzz target {other}"),
    }
}

/// The inputs of issue 12 that crashed, aborted or exhausted memory before it was fixed, as
/// inputs of `target` (written to `regressions/<target>/` by the `write_corpus` binary).
pub fn issue12_regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let with_mode = |mode: u8, bytes: &[u8]| {
        let mut v = vec![mode];
        v.extend_from_slice(bytes);
        v
    };
    match target {
        "npy" => {
            let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
            v2.extend_from_slice(&u32::MAX.to_le_bytes());
            v2.extend_from_slice(&[b' '; 116]);
            vec![
                // 128 bytes declaring 2^40 elements: aborted allocating 4 TiB.
                (
                    "issue12-f32-2pow40.npy".into(),
                    npy_header_128("<f4", "(1048576, 1048576)"),
                ),
                (
                    "issue12-f64-2pow40.npy".into(),
                    npy_header_128("<f8", "(1048576, 1048576)"),
                ),
                (
                    "issue12-i4-2pow40.npy".into(),
                    npy_header_128("<i4", "(1048576, 1048576)"),
                ),
                (
                    "issue12-f32-16GB.npy".into(),
                    npy_header_128("<f4", "(4000000000,)"),
                ),
                ("issue12-header-len-4GiB.npy".into(), v2),
            ]
        }
        "idx" => {
            let mut bad_magic = idx_bytes(0x0000_0900, &[65_536, 32, 32], &[]);
            bad_magic.resize(bad_magic.len() + (4 << 20), 0);
            let images = idx_bytes(IDX_IMAGES_MAGIC, &[2, 3, 4], &[5; 24]);
            let mut two_members = gzip(&images[..10]);
            two_members.extend(gzip(&images[10..]));
            vec![
                // 16 bytes: panicked with an arithmetic overflow.
                (
                    "issue12-16-bytes-overflow.idx".into(),
                    idx_bytes(IDX_IMAGES_MAGIC, &[u32::MAX, u32::MAX, 0], &[]),
                ),
                // Zero images of 2^31 x 2^31: accepted as a data set.
                (
                    "issue12-zero-images-2pow31.idx".into(),
                    idx_bytes(IDX_IMAGES_MAGIC, &[0, 1 << 31, 1 << 31], &[]),
                ),
                // A wrong magic number before megabytes of zeros: inflated in full first.
                (
                    "issue12-gzip-inflated-before-header.idx.gz".into(),
                    gzip(&bad_magic),
                ),
                // Two gzip members: reported as a truncated file.
                ("issue12-two-gzip-members.idx.gz".into(), two_members),
            ]
        }
        "image_folder" => {
            let wide = png_bytes(&image::RgbImage::from_pixel(
                65_535,
                1,
                image::Rgb([1, 2, 3]),
            ));
            vec![
                // A 65535 x 1 PNG in a KTH tree: resized to 13 million x 200 before cropping.
                ("issue12-kth-65535x1.png".into(), with_mode(2, &wide)),
                // A 22000 x 22000 grey PNG header: a 484 MB buffer before decoding.
                (
                    "issue12-png-22000x22000.png".into(),
                    with_mode(1, &huge_grey_png(22_000)),
                ),
                // A JPEG declaring 49712 x 2760: decoded as 1.2 GB.
                (
                    "issue12-jpeg-49712x2760.jpg".into(),
                    with_mode(0, &jpeg_declaring(2760, 49_712)),
                ),
            ]
        }
        "cifar" => {
            let mut record = vec![10u8];
            record.extend((0..3072).map(|i| (i % 256) as u8));
            vec![
                ("issue12-label-10.bin".into(), record.clone()),
                ("issue12-record-and-a-half.bin".into(), {
                    let mut r = record;
                    r[0] = 1;
                    let half = r[..1536].to_vec();
                    r.extend(half);
                    r
                }),
            ]
        }
        "checkpoint" => {
            let template = checkpoint::template();
            let text = std::fs::read_to_string(template.join("state.json")).expect("state");
            let state: serde_json::Value = serde_json::from_str(&text).expect("state parses");
            let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
                let mut s = state.clone();
                edit(&mut s);
                s.to_string().into_bytes()
            };
            let mut model = std::fs::read(template.join("model.bpk")).expect("model");
            let n = model.len();
            model[n - 64..].fill(0xff);
            vec![
                // epochs_done = u64::MAX: wrapped.
                (
                    "issue12-epochs-done-max.json".into(),
                    with_mode(1, &edited(&|s| s["epochs_done"] = u64::MAX.into())),
                ),
                // epochs_done beyond the configured epochs: Ok with accuracy NaN.
                (
                    "issue12-epochs-done-beyond.json".into(),
                    with_mode(1, &edited(&|s| s["epochs_done"] = 2.into())),
                ),
                // Overwritten tensor bytes (with their checksum recorded): reach burn's reader.
                (
                    "issue12-model-bytes-overwritten.bpk".into(),
                    with_mode(2, &model),
                ),
            ]
        }
        other => panic!("unknown fuzz target {other}"),
    }
}

/// A 128-byte version 1.0 `.npy` file declaring `shape` of `descr`, without data.
fn npy_header_128(descr: &str, shape: &str) -> Vec<u8> {
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

/// A PNG chunk: length, type, data, CRC-32 of type and data (PNG specification, §5.3).
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
pub fn huge_grey_png(side: u32) -> Vec<u8> {
    use std::io::Write;
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 16 * (side as usize + 1)])
        .expect("in memory");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out.extend(png_chunk(b"IDAT", &z.finish().expect("in memory")));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// A small JPEG whose frame header (SOF0) declares `height × width`.
pub fn jpeg_declaring(height: u16, width: u16) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut bytes)
        .encode_image(&img)
        .expect("encode JPEG");
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline frame header");
    // FF C0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// An IDX file: big-endian magic, dimensions, data.
pub fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// One gzip member holding `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

/// A version 1.0 `.npy` file with the given header fields and raw data.
pub fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}
