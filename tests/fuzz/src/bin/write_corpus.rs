//! Writes the seed corpus, `corpus/<target>/<name>`, from `learnable_scattering_fuzz::seeds`,
//! and the inputs of issue 12, `regressions/<target>/<name>`, from
//! `learnable_scattering_fuzz::issue12_regressions`.
//!
//! ```text
//! cargo +nightly run --manifest-path tests/fuzz/Cargo.toml --bin write_corpus
//! ```

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
