//! Writes the seed corpus, `corpus/<target>/<name>`, from `learnable_scattering_fuzz::seeds`.
//!
//! ```text
//! cargo +nightly run --manifest-path tests/fuzz/Cargo.toml --bin write_corpus
//! ```

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in learnable_scattering_fuzz::TARGETS {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        for (name, bytes) in learnable_scattering_fuzz::seeds(target) {
            std::fs::write(dir.join(&name), bytes).expect("seed file");
            println!("{}/{name}", dir.display());
        }
    }
}
