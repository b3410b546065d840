//! Tests of [`render_all`](super::render_all) that need the crate's own size formulas: every file
//! of a report with a checkpoint, each PNG of its documented size.

use super::*;
use crate::trajectory::{CHECKPOINT_FILTERS_FILE, TrajectoryPoint};

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn tiny_checkpoint(dir: &Path) -> FilterTrajectory {
    let initial = FilterBankParams::tight_frame(2, 8).unwrap();
    let mut w = initial.wavelets().to_vec();
    let points = (0..3)
        .map(|epoch| {
            for p in w.iter_mut() {
                p.sigma *= 1.0 + 0.01 * epoch as f64;
                p.theta += 0.02 * epoch as f64;
            }
            let bank = FilterBankParams::from_wavelets(2, 8, w.clone()).unwrap();
            TrajectoryPoint {
                epoch,
                aliasing: Some(bank.aliasing(40, 40)),
                bank,
            }
        })
        .collect();
    let t = FilterTrajectory { points };
    t.write_json(dir.join(CHECKPOINT_FILTERS_FILE)).unwrap();
    t
}

/// Every file, each PNG of its documented size (the renderers' size formulas), decoded and
/// not blank, and the numbers behind the pictures. `tests/analysis.rs` checks the same run
/// through the public API.
#[test]
fn the_report_writes_valid_pngs_of_the_documented_sizes() {
    let out_tmp = tempfile::tempdir().unwrap();
    let out = out_tmp.path().to_path_buf();
    let ckpt_tmp = tempfile::tempdir().unwrap();
    let ckpt = ckpt_tmp.path().to_path_buf();
    let trajectory = tiny_checkpoint(&ckpt);
    let mut options = InspectionOptions::new(&out, manifest("examples/data"));
    options.checkpoint = Some(ckpt.clone());
    options.deformation = DeformationOptions {
        size: 32,
        levels: 3,
        deformed_images: 2,
        baseline_images: 3,
        downsample: 2,
    };
    let report = render_all(&options).unwrap();

    let names: Vec<String> = report
        .files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let (grid, lp) = (
        mosaic_png_size(2, 8, 40, 40),
        littlewood_paley_png_size(40, 40),
    );
    let mut expected: Vec<(String, Option<(u32, u32)>)> = Vec::new();
    for bank in [
        "tight_frame",
        "random",
        "checkpoint_initial",
        "checkpoint_learned",
    ] {
        expected.push((format!("filters_{bank}.png"), Some(grid)));
        expected.push((format!("littlewood_paley_{bank}.png"), Some(lp)));
    }
    expected.push(("trajectory.png".into(), Some(TRAJECTORY_PNG_SIZE)));
    expected.push(("trajectory.csv".into(), None));
    expected.push(("frame_bounds.json".into(), None));
    expected.push(("distances.csv".into(), None));
    for pair in [
        "tight_frame_vs_random",
        "checkpoint_learned_vs_tight_frame",
        "checkpoint_learned_vs_checkpoint_initial",
    ] {
        expected.push((format!("distance_{pair}.csv"), None));
    }
    for d in Deformation::ALL {
        expected.push((
            format!("deformation_{}.png", d.name()),
            Some(STABILITY_PNG_SIZE),
        ));
        expected.push((format!("deformation_{}.csv", d.name()), None));
    }
    assert_eq!(names.len(), expected.len(), "{names:?}");
    for (name, size) in &expected {
        let f = report
            .files
            .iter()
            .find(|f| f.path.file_name().unwrap().to_string_lossy() == *name)
            .unwrap_or_else(|| panic!("{name} missing from {names:?}"));
        assert_eq!(f.png_size, *size, "{name}");
        assert!(f.path.starts_with(&out));
        if let Some((w, h)) = size {
            let img = image::open(&f.path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((img.width(), img.height()), (*w, *h), "{name}");
            // Not blank: a picture has many distinct colours.
            let rgb = img.to_rgb8();
            let mut colours: Vec<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
            colours.sort_unstable();
            colours.dedup();
            assert!(colours.len() > 20, "{name}: {} colours", colours.len());
        } else {
            assert!(std::fs::metadata(&f.path).unwrap().len() > 0, "{name}");
        }
    }

    // The numbers behind the pictures.
    let tf = report.bounds_of("tight_frame").unwrap();
    assert!((tf.symmetric.upper - 1.000_058_89).abs() < 1e-6, "{tf:?}");
    let csv = std::fs::read_to_string(out.join("trajectory.csv")).unwrap();
    assert_eq!(csv, trajectory.to_csv());
    assert_eq!(csv.lines().count(), 1 + 3 * 16);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("frame_bounds.json")).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert_eq!(json[0]["bank"], "tight_frame");
    let (name, tf_vs_random) = &report.distances[0];
    assert_eq!(name, "tight_frame_vs_random");
    assert!(tf_vs_random.total > 0.0);
    let learned_vs_initial = &report.distances[2].1;
    // Every learned wavelet moved by σ·(1.01·1.02 − 1) and θ by 0.06 from its initial value.
    assert!(learned_vs_initial.total > 16.0 * 0.06 - 1e-9);
    for c in &report.curves {
        assert_eq!(c.distances[0], 0.0);
        assert!(c.baseline > 0.0);
    }
    assert_eq!(report.curves.len(), 4 * 3);
}
