//! Filter-bank analysis: frame bounds against kymatio, Hungarian matching, deformation stability
//! on a real image, and the full report's PNG files.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use learnable_scattering::analysis::deformation::STABILITY_PNG_SIZE;
use learnable_scattering::analysis::deformation::{
    Deformation, deformation_curve, deformed_window, downsample, load_gray, warp,
};
use learnable_scattering::analysis::distance::{bank_distance, min_cost_assignment};
use learnable_scattering::analysis::inspection::{
    DeformationOptions, InspectionOptions, render_all,
};
use learnable_scattering::analysis::littlewood_paley::{
    bank_frame_bounds, littlewood_paley_png_size,
};
use learnable_scattering::analysis::mosaic::mosaic_png_size;
use learnable_scattering::analysis::trajectory::TRAJECTORY_PNG_SIZE;
use learnable_scattering::cascade::Scattering2dPlan;
use learnable_scattering::trajectory::{
    CHECKPOINT_FILTERS_FILE, FilterTrajectory, TrajectoryPoint,
};
use learnable_scattering::{FilterBankParams, MorletParams, ScatteringOptions};
use ndarray::{Array2, array};

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

mod support;
use support::scratch::scratch as temp_dir;

/// Our closed-form spectra agree with kymatio's spatial construction to ~1e-9 of each filter's
/// peak (`filters::spatial` tests), so the sums agree to ~1e-9 absolute; 1e-5 relative plus
/// 1e-8 absolute covers the smallest plain lower bound (7.8e-4) with a wide margin.
#[test]
fn tight_frame_bounds_match_the_kymatio_fixture() {
    let text = std::fs::read_to_string(manifest("tests/fixtures/frame_bounds.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fixture["kymatio"], "0.3.0");
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 2);
    for case in cases {
        let get = |k: &str| case[k].as_u64().unwrap() as usize;
        let (h, w, j, l) = (get("height"), get("width"), get("J"), get("L"));
        let ours = bank_frame_bounds(&FilterBankParams::tight_frame(j, l).unwrap(), h, w);
        assert_eq!((ours.height, ours.width), (h, w));
        for (sum, b) in [("plain", ours.plain), ("symmetric", ours.symmetric)] {
            for (edge, v) in [("lower", b.lower), ("upper", b.upper)] {
                let want = case[sum][edge].as_f64().unwrap();
                assert!(
                    (v - want).abs() <= 1e-5 * want.abs() + 1e-8,
                    "{h}x{w} J={j} L={l} {sum} {edge}: ours {v}, kymatio {want}"
                );
            }
        }
    }
}

fn brute_force_min(cost: &Array2<f64>) -> f64 {
    fn rec(cost: &Array2<f64>, row: usize, used: &mut Vec<bool>) -> f64 {
        if row == cost.nrows() {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for c in 0..cost.ncols() {
            if !used[c] {
                used[c] = true;
                best = best.min(cost[[row, c]] + rec(cost, row + 1, used));
                used[c] = false;
            }
        }
        best
    }
    rec(cost, 0, &mut vec![false; cost.ncols()])
}

#[test]
fn hungarian_finds_the_known_optimum() {
    // Greedy row by row takes (0,0)=1, (1,2)=2, (2,1)=7: 10. The six permutations cost
    // 19, 10, 14, 7, 18, 20: the unique optimum is columns [1, 2, 0], 2 + 2 + 3 = 7.
    let cost = array![[1.0, 2.0, 8.0], [3.0, 9.0, 2.0], [3.0, 7.0, 9.0]];
    let a = min_cost_assignment(&cost).unwrap();
    assert_eq!(a.columns, vec![1, 2, 0]);
    assert_eq!(a.total, 7.0);
    assert_eq!(brute_force_min(&cost), 7.0);

    // Non-integer costs: a seeded pseudo-random 6x6 against brute force.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let cost = Array2::from_shape_fn((6, 6), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 997.0
    });
    let a = min_cost_assignment(&cost).unwrap();
    assert!((a.total - brute_force_min(&cost)).abs() < 1e-12);
    let mut cols = a.columns.clone();
    cols.sort_unstable();
    assert_eq!(cols, (0..6).collect::<Vec<_>>());
}

#[test]
fn a_bank_is_at_distance_zero_from_a_permutation_of_itself() {
    let bank = FilterBankParams::random(2, 8, 11).unwrap();
    let mut permuted: Vec<MorletParams> = bank.wavelets().to_vec();
    permuted.reverse();
    permuted.swap(0, 5);
    // θ is compared modulo 2π.
    permuted[3].theta += 2.0 * PI;
    permuted[7].theta -= 4.0 * PI;
    let other = FilterBankParams::from_wavelets(2, 8, permuted.clone()).unwrap();
    let d = bank_distance(&bank, &other).unwrap();
    assert!(d.total.abs() < 1e-12, "{}", d.total);
    for p in &d.pairs {
        let (a, b) = (&bank.wavelets()[p.index_a], &permuted[p.index_b]);
        assert_eq!((a.sigma, a.xi, a.slant), (b.sigma, b.xi, b.slant));
    }
    // And a known non-zero case: the tight frame against itself with one ξ moved by 0.5 and one
    // θ by 0.25 costs exactly 0.75 (moving them is cheaper than any re-matching).
    let tf = FilterBankParams::tight_frame(2, 4).unwrap();
    let mut w = tf.wavelets().to_vec();
    w[2].xi += 0.5;
    w[5].theta += 0.25;
    let moved = FilterBankParams::from_wavelets(2, 4, w).unwrap();
    let d = bank_distance(&tf, &moved).unwrap();
    assert!((d.total - 0.75).abs() < 1e-12, "{}", d.total);
    assert_eq!(d.pairs[2].index_b, 2);
    assert_eq!(d.pairs[5].index_b, 5);
    // Different sizes are rejected.
    assert!(bank_distance(&tf, &bank).is_err());
}

/// The central 256x256 window of the brick texture, normalised: analysed 2x coarser, a 64x64
/// window with a 32-pixel margin.
fn brick() -> Array2<f64> {
    let img = load_gray(manifest("examples/data/brick.png")).unwrap();
    let w = img.slice(ndarray::s![128..384, 128..384]).to_owned();
    let (m, s) = (w.mean().unwrap(), w.std(0.0));
    w.mapv(|v| (v - m) / s)
}

#[test]
fn zero_deformation_gives_zero_distance_and_curves_grow_on_a_real_image() {
    let src = vec![brick()];
    for bank in [
        FilterBankParams::tight_frame(2, 8).unwrap(),
        FilterBankParams::random(2, 8, 0).unwrap(),
    ] {
        let options = ScatteringOptions::new(2, 8).unwrap();
        let plan = Scattering2dPlan::<f64>::with_filter_bank(64, 64, options, bank).unwrap();
        for d in Deformation::ALL {
            let max = d.reference_max_strength(64);
            let strengths = [0.0, 0.25 * max, 0.5 * max, max];
            let curve = deformation_curve(&plan, &src, 2, d, &strengths).unwrap();
            assert_eq!(curve[0], 0.0, "{d:?}");
            for k in 1..curve.len() {
                assert!(curve[k] > curve[k - 1], "{d:?}: {curve:?}");
            }
            assert!(curve[3] > 1e-3, "{d:?}: {curve:?}");
        }
    }
    // The warp itself is the identity at strength 0, and the window a plain downsampled crop.
    let b = brick();
    assert_eq!(warp(b.view(), (256, 256), Deformation::Mallat1, 0.0), b);
    let crop = downsample(b.slice(ndarray::s![64..192, 64..192]), 2);
    assert_eq!(
        deformed_window(b.view(), (64, 64), 2, Deformation::Shear, 0.0),
        crop
    );
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

#[test]
fn the_report_writes_valid_pngs_of_the_documented_sizes() {
    let (_out_tmp, out) = temp_dir("report");
    let (_ckpt_tmp, ckpt) = temp_dir("ckpt");
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
