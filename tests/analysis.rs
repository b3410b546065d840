//! Filter-bank analysis through its public entry point, [`render_all`]: every file it reports is
//! written, each PNG decodes at the size reported, and the numbers it returns match the files.
//!
//! The parts of the analysis that are crate-internal are tested beside their code: frame bounds
//! against kymatio (`src/analysis/littlewood_paley.rs`), the Hungarian matching
//! (`src/analysis/distance.rs`), deformation curves on a real texture
//! (`src/analysis/deformation.rs`), and the documented PNG sizes of a report with a checkpoint
//! (`src/analysis/inspection/tests.rs`).

use std::path::{Path, PathBuf};

use learnable_scattering::analysis::{
    Deformation, DeformationOptions, InspectionOptions, render_all,
};

mod support;
use support::scratch::scratch as temp_dir;

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn render_all_writes_every_file_it_reports() {
    let (_out_tmp, out) = temp_dir("report");
    let mut options = InspectionOptions::new(&out, manifest("examples/data"));
    options.deformation = DeformationOptions {
        size: 32,
        levels: 3,
        deformed_images: 2,
        baseline_images: 3,
        ..DeformationOptions::default()
    };
    let report = render_all(&options).unwrap();

    let names: Vec<String> = report
        .files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut expected: Vec<(String, bool)> = Vec::new();
    for bank in ["tight_frame", "random"] {
        expected.push((format!("filters_{bank}.png"), true));
        expected.push((format!("littlewood_paley_{bank}.png"), true));
    }
    expected.push(("frame_bounds.json".into(), false));
    expected.push(("distances.csv".into(), false));
    expected.push(("distance_tight_frame_vs_random.csv".into(), false));
    for d in Deformation::ALL {
        expected.push((format!("deformation_{}.png", d.name()), true));
        expected.push((format!("deformation_{}.csv", d.name()), false));
    }
    assert_eq!(names.len(), expected.len(), "{names:?}");
    for (name, png) in &expected {
        let f = report
            .files
            .iter()
            .find(|f| f.path.file_name().unwrap().to_string_lossy() == *name)
            .unwrap_or_else(|| panic!("{name} missing from {names:?}"));
        assert!(f.path.starts_with(&out));
        assert_eq!(f.png_size.is_some(), *png, "{name}");
        if let Some((w, h)) = f.png_size {
            let img = image::open(&f.path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((img.width(), img.height()), (w, h), "{name}");
        } else {
            assert!(std::fs::metadata(&f.path).unwrap().len() > 0, "{name}");
        }
    }

    // What it returns: two banks, their bounds on the 40×40 padded grid of a 32×32 input, one
    // distance, one curve per family and bank.
    let names: Vec<&str> = report.banks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["tight_frame", "random"]);
    let tf = report.bounds_of("tight_frame").unwrap();
    assert_eq!((tf.height, tf.width), (40, 40));
    assert!((tf.symmetric.upper - 1.000_058_89).abs() < 1e-6, "{tf:?}");
    assert!(tf.plain.lower <= tf.plain.upper);
    let (name, d) = &report.distances[0];
    assert_eq!(name, "tight_frame_vs_random");
    assert!(d.total > 0.0 && d.mean() > 0.0);
    assert_eq!(report.curves.len(), 4 * 2);
    for c in &report.curves {
        assert_eq!(c.strengths.len(), 3);
        assert_eq!(c.distances[0], 0.0);
        assert!(c.baseline > 0.0);
    }
}
