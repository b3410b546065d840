//! A bounded, deterministic version of the cargo-fuzz targets of `tests/fuzz/` (IDX, CIFAR-10,
//! `.npy`, image folders, checkpoints), so that `cargo test` keeps the readers free of panics
//! and of allocations beyond what an input may legitimately cost.
//!
//! For each target: the seeds of `tests/fuzz/src/lib.rs`, the committed corpus and regression
//! files (`tests/fuzz/corpus/<target>/`, `tests/fuzz/regressions/<target>/`, among them the
//! inputs of issue 12), then [`MUTATIONS`] inputs made by a fixed-seed mutation loop (bit flips,
//! interesting integers at random offsets, truncation, insertion, deletion, duplication, splicing
//! of two seeds). Each input runs under `catch_unwind` and a memory cap
//! (`support/capped_alloc.rs`, installed below): a panic fails the test naming the target and
//! the input (saved as `$TMPDIR/ls-fuzz-smoke-<target>/<name>`, to be copied into
//! `tests/fuzz/regressions/<target>/` once fixed), an allocation past the cap aborts.
//!
//! The long runs (millions of executions) are cargo-fuzz's: see `tests/fuzz/Cargo.toml`.

#![cfg(feature = "flex")]

#[path = "fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

mod support;
use support::capped_alloc::{MB, with_memory_cap};
use support::lock;

#[global_allocator]
static ALLOCATOR: support::capped_alloc::CappedAlloc = support::capped_alloc::CappedAlloc;
use rand::{Rng, RngExt, SeedableRng, rngs::ChaCha8Rng};

/// Mutated inputs per target (the checkpoint target, which resumes a model for deep inputs,
/// gets a quarter of them).
const MUTATIONS: usize = 3000;

/// Memory an input may take above what is live when it starts: the fuzzing limits
/// (`targets::limits`) allow 16 MiB data sets and 2^16-pixel images; a tiny model and its
/// checkpoint stay well under this.
const INPUT_CAP: usize = 256 * MB;

/// Seed of the mutation loop.
const RNG_SEED: u64 = 12;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

/// Files of `dir`, sorted by name (none if it does not exist).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

const INTERESTING: [u32; 12] = [
    0,
    1,
    2,
    3,
    0x7f,
    0xff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// One random mutation of `input` (possibly splicing in a piece of `other`).
fn mutate(rng: &mut impl Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = 1 + rng.random_range(0..4);
    for _ in 0..rounds {
        let n = v.len();
        match rng.random_range(0..9) {
            0 if n > 0 => {
                let i = rng.random_range(0..n);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if n > 0 => {
                let i = rng.random_range(0..n);
                v[i] = [0, 1, 0x7f, 0x80, 0xff][rng.random_range(0..5)];
            }
            2 if n >= 4 => {
                // A 32-bit integer in either byte order: IDX dimensions, npy and PNG lengths.
                let i = rng.random_range(0..=n - 4);
                let x = INTERESTING[rng.random_range(0..INTERESTING.len())];
                let bytes = if rng.random_bool(0.5) {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                };
                v[i..i + 4].copy_from_slice(&bytes);
            }
            3 if n > 0 => v.truncate(rng.random_range(0..n)),
            4 => {
                let i = rng.random_range(0..=n);
                let len = rng.random_range(1..64);
                let byte: u8 = rng.random();
                v.splice(i..i, std::iter::repeat_n(byte, len));
            }
            5 if n > 1 => {
                let i = rng.random_range(0..n);
                let j = (i + rng.random_range(1..=64)).min(n);
                v.drain(i..j);
            }
            6 if n > 1 => {
                let i = rng.random_range(0..n);
                let j = (i + rng.random_range(1..=256)).min(n);
                let piece = v[i..j].to_vec();
                let at = rng.random_range(0..=n);
                v.splice(at..at, piece);
            }
            7 if !other.is_empty() => {
                let i = rng.random_range(0..=n);
                let j = rng.random_range(0..other.len());
                v.truncate(i);
                v.extend_from_slice(&other[j..]);
            }
            8 if n > 0 => {
                // A decimal digit in a text format (npy header, JSON): change a number.
                let i = rng.random_range(0..n);
                if v[i].is_ascii_digit() {
                    let digits = ["9", "99999999999", "18446744073709551615", "-1", "0"];
                    let d = digits[rng.random_range(0..digits.len())];
                    v.splice(i..i + 1, d.bytes());
                }
            }
            _ => {}
        }
    }
    v
}

/// Runs `target` on the seeds, the committed files and `count` mutations; returns the number
/// of inputs run.
fn smoke(target: &str, count: usize) -> usize {
    let _g = lock();
    let mut seeds = targets::seeds(target);
    seeds.extend(files(&fuzz_dir().join("corpus").join(target)));
    seeds.extend(files(&fuzz_dir().join("regressions").join(target)));
    let mut rng = ChaCha8Rng::seed_from_u64(RNG_SEED);
    let mut inputs: Vec<(String, Vec<u8>)> = seeds.clone();
    for k in 0..count {
        let a = &seeds[rng.random_range(0..seeds.len())].1;
        let b = &seeds[rng.random_range(0..seeds.len())].1;
        inputs.push((format!("mutation-{k}"), mutate(&mut rng, a, b)));
    }
    // Panics are caught and reported below; keep their messages out of the test output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failure = None;
    for (name, input) in &inputs {
        let (result, _) = with_memory_cap(INPUT_CAP, || {
            std::panic::catch_unwind(|| targets::run(target, input))
        });
        if let Err(payload) = result {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failure = Some((name.clone(), input.clone(), message));
            break;
        }
    }
    std::panic::set_hook(hook);
    targets::cleanup(target);
    if let Some((name, input, message)) = failure {
        let dir = std::env::temp_dir().join(format!("ls-fuzz-smoke-{target}"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(&name);
        std::fs::write(&path, &input).unwrap();
        panic!(
            "fuzz target {target} panicked on input {name} (saved as {}): {message}",
            path.display()
        );
    }
    inputs.len()
}

#[test]
fn idx_reader_survives_mutated_files() {
    assert!(smoke("idx", MUTATIONS) > MUTATIONS);
}

#[test]
fn cifar_reader_survives_mutated_files() {
    assert!(smoke("cifar", MUTATIONS) > MUTATIONS);
}

#[test]
fn npy_reader_survives_mutated_files() {
    assert!(smoke("npy", MUTATIONS) > MUTATIONS);
}

#[test]
fn image_folder_readers_survive_mutated_images() {
    assert!(smoke("image_folder", MUTATIONS) > MUTATIONS);
}

#[test]
fn checkpoint_reader_survives_mutated_checkpoints() {
    assert!(smoke("checkpoint", MUTATIONS / 4) > MUTATIONS / 4);
}

/// The mutator changes its inputs (a loop that ran the seeds only would test little).
#[test]
fn mutations_differ_from_their_seeds() {
    let mut rng = ChaCha8Rng::seed_from_u64(RNG_SEED);
    let seed = targets::idx_bytes(0x803, &[2, 3, 4], &[7; 24]);
    let changed = (0..100)
        .filter(|_| mutate(&mut rng, &seed, &seed) != seed)
        .count();
    assert!(changed > 80, "{changed} of 100 mutations changed the input");
}
