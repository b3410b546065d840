//! Writes the seed corpus, `corpus/<target>/<name>`, from `learnable_scattering_fuzz::seeds`,
//! and the inputs of issue 12, `regressions/<target>/<name>`, from
//! `learnable_scattering_fuzz::issue12_regressions`.
//!
//! ```text
//! cargo +nightly fuzz build --fuzz-dir tests/fuzz
//! ASAN_OPTIONS=detect_leaks=0 tests/fuzz/target/x86_64-unknown-linux-gnu/release/write_corpus
//! ```
//!
//! The checkpoint files differ from one run to the next (burn draws parameter ids at random).

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for target in learnable_scattering_fuzz::TARGETS {
        for (folder, files) in [
            ("corpus", learnable_scattering_fuzz::seeds(target)),
            ("regressions", learnable_scattering_fuzz::issue12_regressions(target)),
        ] {
            let dir = root.join(folder).join(target);
            std::fs::create_dir_all(&dir).expect("corpus folder");
            for (name, bytes) in files {
                std::fs::write(dir.join(&name), bytes).expect("input file");
                println!("{}/{name}", dir.display());
            }
        }
    }
    learnable_scattering_fuzz::cleanup("checkpoint");
}
