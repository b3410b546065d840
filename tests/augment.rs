//! Batches and augmentation (`data::augment`): normalisation, random crops with zero padding,
//! horizontal flips, cutout and their determinism per seed, on pseudo-random images made here.

use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::augment::{Augmentation, Normalization, RandomCrop, make_batch};
use ndarray::Array4;
use rand::{SeedableRng, rngs::ChaCha8Rng};

/// Random-looking pixels in 1..=250 (no zero, so zero padding is recognisable).
fn noisy(n: usize, c: usize, h: usize, w: usize) -> ImageDataset {
    let images = Array4::from_shape_fn((n, c, h, w), |(i, k, y, x)| {
        (1 + (i * 131 + k * 71 + y * 37 + x * 53 + y * x * 11) % 250) as u8
    });
    ImageDataset::new(images, vec![0; n], vec!["x".into()]).unwrap()
}

fn norm3() -> Normalization {
    Normalization {
        mean: vec![0.5, 0.25, 0.0],
        std: vec![0.5, 0.2, 1.0],
    }
}

fn normalised(ds: &ImageDataset, n: &Normalization, i: usize, k: usize, y: isize, x: isize) -> f32 {
    let v = if y < 0 || x < 0 || y as usize >= ds.height() || x as usize >= ds.width() {
        0.0
    } else {
        f32::from(ds.images[[i, k, y as usize, x as usize]])
    };
    (v / 255.0 - n.mean[k]) / n.std[k]
}

#[test]
fn plain_batch_is_the_normalised_pixels() {
    let ds = noisy(4, 3, 5, 6);
    let n = norm3();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (x, shape) = make_batch(&ds, &[2, 0], &Augmentation::default(), &n, &mut rng);
    assert_eq!(shape, [2, 3, 5, 6]);
    assert_eq!(x.len(), 2 * 3 * 30);
    for (b, i) in [2usize, 0].into_iter().enumerate() {
        for k in 0..3 {
            for y in 0..5 {
                for xx in 0..6 {
                    let got = x[((b * 3 + k) * 5 + y) * 6 + xx];
                    let want = normalised(&ds, &n, i, k, y as isize, xx as isize);
                    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
                }
            }
        }
    }
    // CIFAR-10 normalisation of a mid-grey pixel
    let grey = ImageDataset::new(
        Array4::from_elem((1, 3, 1, 1), 128u8),
        vec![0],
        vec!["x".into()],
    )
    .unwrap();
    let (g, _) = make_batch(
        &grey,
        &[0],
        &Augmentation::default(),
        &Normalization::cifar10(),
        &mut rng,
    );
    assert!((g[0] - (128.0 - 125.3) / 63.0).abs() < 1e-5);
}

/// The (dy, dx) shift that maps the output onto the zero-padded input, if any.
fn find_shift(
    x: &[f32],
    ds: &ImageDataset,
    n: &Normalization,
    p: isize,
    flip: bool,
) -> Option<(isize, isize)> {
    let (h, w) = (ds.height() as isize, ds.width() as isize);
    for dy in -p..=p {
        'dx: for dx in -p..=p {
            for k in 0..ds.channels() {
                for y in 0..h {
                    for xx in 0..w {
                        let sx = if flip { w - 1 - xx } else { xx };
                        let want = normalised(ds, n, 0, k, y + dy, sx + dx);
                        let got = x[((k as isize * h + y) * w + xx) as usize];
                        if (got - want).abs() > 1e-6 {
                            continue 'dx;
                        }
                    }
                }
            }
            return Some((dy, dx));
        }
    }
    None
}

#[test]
fn random_crop_with_padding_shifts_content_and_pads_with_zero() {
    let ds = noisy(1, 3, 8, 8);
    let n = norm3();
    let aug = Augmentation {
        random_crop: Some(RandomCrop {
            size: 8,
            padding: 2,
        }),
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut shifts = std::collections::HashSet::new();
    for _ in 0..60 {
        let (x, shape) = make_batch(&ds, &[0], &aug, &n, &mut rng);
        assert_eq!(shape, [1, 3, 8, 8]);
        let s = find_shift(&x, &ds, &n, 2, false).expect("output is a shifted, zero-padded input");
        shifts.insert(s);
    }
    // 25 possible windows; 60 draws hit many of them, including a corner or edge
    assert!(shifts.len() >= 10, "{shifts:?}");
    assert!(
        shifts
            .iter()
            .any(|&(dy, dx)| dy.abs() == 2 || dx.abs() == 2)
    );
    // a smaller crop without padding stays inside the image
    let aug = Augmentation {
        random_crop: Some(RandomCrop {
            size: 5,
            padding: 0,
        }),
        ..Default::default()
    };
    let (x, shape) = make_batch(&ds, &[0, 0], &aug, &Normalization::identity(3), &mut rng);
    assert_eq!(shape, [2, 3, 5, 5]);
    assert!(x.iter().all(|&v| v > 0.0));
}

#[test]
fn horizontal_flip_mirrors_about_half_the_time() {
    let ds = noisy(1, 3, 4, 7);
    let n = norm3();
    let aug = Augmentation {
        horizontal_flip: true,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut flipped, mut kept) = (0, 0);
    for _ in 0..200 {
        let (x, _) = make_batch(&ds, &[0], &aug, &n, &mut rng);
        if find_shift(&x, &ds, &n, 0, true).is_some() {
            flipped += 1;
        } else {
            assert!(find_shift(&x, &ds, &n, 0, false).is_some());
            kept += 1;
        }
    }
    assert!(
        (60..=140).contains(&flipped),
        "{flipped} flipped, {kept} kept"
    );
}

#[test]
fn cutout_fills_a_clipped_square_with_the_channel_mean() {
    let ds = noisy(1, 3, 12, 12);
    let n = norm3();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (clean, _) = make_batch(&ds, &[0], &Augmentation::default(), &n, &mut rng);
    let means: Vec<f32> = clean
        .chunks(144)
        .map(|p| p.iter().sum::<f32>() / 144.0)
        .collect();
    let aug = Augmentation {
        cutout: Some(4),
        ..Default::default()
    };
    let (mut full, mut clipped) = (0, 0);
    let mut rows = std::collections::HashSet::new();
    let mut cols = std::collections::HashSet::new();
    let mut off_diagonal = 0;
    for _ in 0..300 {
        let (x, _) = make_batch(&ds, &[0], &aug, &n, &mut rng);
        let mut changed = Vec::new();
        for k in 0..3 {
            for i in 0..144 {
                if x[k * 144 + i] != clean[k * 144 + i] {
                    assert!(
                        (x[k * 144 + i] - means[k]).abs() < 1e-5,
                        "filled with the mean"
                    );
                    if k == 0 {
                        changed.push((i / 12, i % 12));
                    }
                }
            }
        }
        let (y0, y1) = (
            changed.iter().map(|p| p.0).min().unwrap(),
            changed.iter().map(|p| p.0).max().unwrap(),
        );
        let (x0, x1) = (
            changed.iter().map(|p| p.1).min().unwrap(),
            changed.iter().map(|p| p.1).max().unwrap(),
        );
        let (hh, ww) = (y1 - y0 + 1, x1 - x0 + 1);
        assert_eq!(changed.len(), hh * ww, "a filled rectangle");
        assert!(hh <= 4 && ww <= 4 && hh >= 2 && ww >= 2);
        if hh * ww == 16 {
            full += 1;
        } else {
            clipped += 1;
        }
        rows.insert(y0);
        cols.insert(x0);
        if y0 != x0 {
            off_diagonal += 1;
        }
    }
    // centres are uniform over the 12x12 image: 9 x 9 of 144 give a full 4x4 square (0.5625)
    let frac = f64::from(full) / 300.0;
    assert!(
        (0.45..0.68).contains(&frac),
        "full squares {full}, clipped {clipped}"
    );
    // not confined to the diagonal (the reference code's bug puts left = top)
    assert!(rows.len() >= 8 && cols.len() >= 8);
    assert!(off_diagonal > 200, "{off_diagonal} of 300 off the diagonal");
}

#[test]
fn batches_are_deterministic_per_seed() {
    let ds = noisy(6, 3, 10, 10);
    let n = Normalization::cifar10();
    let aug = Augmentation {
        random_crop: Some(RandomCrop {
            size: 8,
            padding: 3,
        }),
        center_crop: None,
        horizontal_flip: true,
        cutout: Some(4),
    };
    let run = |seed| {
        make_batch(
            &ds,
            &[5, 1, 3, 3],
            &aug,
            &n,
            &mut ChaCha8Rng::seed_from_u64(seed),
        )
    };
    let (a, sa) = run(11);
    let (b, _) = run(11);
    let (c, _) = run(12);
    assert_eq!(sa, [4, 3, 8, 8]);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // the configuration round-trips through JSON
    let json = serde_json::to_string(&aug).unwrap();
    assert_eq!(serde_json::from_str::<Augmentation>(&json).unwrap(), aug);
}
