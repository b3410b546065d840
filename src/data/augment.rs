//! Batches for training and evaluation: crops, horizontal flip, normalisation and cutout, in
//! torchvision's order.
//!
//! [`make_batch`] applies, per image:
//!
//! 1. [`Augmentation::center_crop`] (torchvision `CenterCrop`),
//! 2. [`Augmentation::random_crop`] (torchvision `RandomCrop(size, padding)`: the image is
//!    zero-padded by `padding` pixels on every side **before** normalisation, so padded
//!    pixels become `(0 − mean) / std`, then a `size × size` window is drawn uniformly),
//! 3. [`Augmentation::horizontal_flip`] with probability ½ (`RandomHorizontalFlip`),
//! 4. conversion to `f32` in `[0, 1]` and normalisation `(x − mean[c]) / std[c]`
//!    (`ToTensor` + `Normalize`),
//! 5. [`Augmentation::cutout`]: a `k × k` square centred at a uniformly drawn pixel, clipped at
//!    the border (DeVries & Taylor 2017: rows `max(0, y − k/2) .. min(H, y + k/2)`, the same
//!    for columns), filled with the image's per-channel mean over all its pixels just before
//!    the cutout. Normalisation is affine per channel, so this equals the paper's cutout with
//!    the image mean applied before normalisation. The reference code's bug
//!    (`left = 0 if left < 0 else top`, which puts the squares on the diagonal) is not
//!    reproduced.
//!
//! Not implemented: the paper's CIFAR AutoAugment policy and KTH `RandomRotation(±10°)`.
//!
//! Random draws, per image in batch order: crop row, crop column, flip, cutout row, cutout
//! column (each only when that step is enabled); a given generator state gives the same batch.

use super::ImageDataset;
use super::resample::center_offset;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Per-channel normalisation `(x − mean[c]) / std[c]` of pixels scaled to `[0, 1]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean per channel, in `[0, 1]` units, length `C`.
    pub mean: Vec<f32>,
    /// Standard deviation per channel, in `[0, 1]` units, length `C`.
    pub std: Vec<f32>,
}

impl Normalization {
    /// CIFAR-10 as in the paper (§5.1): mean `(125.3, 123.0, 113.9) / 255`, std
    /// `(63.0, 62.1, 66.7) / 255`.
    pub fn cifar10() -> Self {
        Self {
            mean: [125.3f32, 123.0, 113.9].iter().map(|v| v / 255.0).collect(),
            std: [63.0f32, 62.1, 66.7].iter().map(|v| v / 255.0).collect(),
        }
    }

    /// No normalisation for `channels` channels: mean 0, std 1 (pixels in `[0, 1]`).
    pub fn identity(channels: usize) -> Self {
        Self {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// Per-channel mean and population standard deviation over every pixel of `ds`, in
    /// `[0, 1]` units, for data sets the paper does not cover (e.g. Fashion-MNIST). A channel
    /// with zero spread (or an empty data set) gets std 1.
    pub fn from_dataset(ds: &ImageDataset) -> Self {
        let c = ds.channels();
        let mut mean = Vec::with_capacity(c);
        let mut std = Vec::with_capacity(c);
        for ch in 0..c {
            let plane = ds.images.index_axis(ndarray::Axis(1), ch);
            let (mut s, mut s2, mut n) = (0f64, 0f64, 0f64);
            for &v in plane.iter() {
                let v = f64::from(v) / 255.0;
                s += v;
                s2 += v * v;
                n += 1.0;
            }
            let m = if n > 0.0 { s / n } else { 0.0 };
            let var = if n > 0.0 {
                (s2 / n - m * m).max(0.0)
            } else {
                0.0
            };
            let sd = var.sqrt();
            mean.push(m as f32);
            std.push(if sd > 0.0 { sd as f32 } else { 1.0 });
        }
        Self { mean, std }
    }
}

/// A random crop with zero padding (torchvision `RandomCrop(size, padding=padding)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomCrop {
    /// Side of the square crop.
    pub size: usize,
    /// Zero padding added on every side before cropping.
    pub padding: usize,
}

/// Which augmentations [`make_batch`] applies; `Default` is none (evaluation batches).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augmentation {
    /// Random square crop after zero padding.
    pub random_crop: Option<RandomCrop>,
    /// Central square crop of this side, applied before `random_crop`.
    pub center_crop: Option<usize>,
    /// Mirror left-right with probability ½.
    pub horizontal_flip: bool,
    /// Cutout square side `k` (the paper: 16 on CIFAR-10).
    pub cutout: Option<usize>,
}

impl Augmentation {
    /// Output `(height, width)` for an input of `height × width`.
    pub(crate) fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        let (mut h, mut w) = (height, width);
        if let Some(c) = self.center_crop {
            (h, w) = (c, c);
        }
        if let Some(rc) = self.random_crop {
            (h, w) = (rc.size, rc.size);
        }
        (h, w)
    }
}

// The paper's settings, which `train::TrainConfig::paper_cifar10` and `paper_kth` use.
#[cfg(feature = "train")]
impl Normalization {
    /// ImageNet statistics (torchvision), used by the paper for KTH-TIPS2 and COVIDx: mean
    /// `(0.485, 0.456, 0.406)`, std `(0.229, 0.224, 0.225)`.
    pub(crate) fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }
}

#[cfg(feature = "train")]
impl Augmentation {
    /// The paper's CIFAR-10 training augmentation without AutoAugment: `RandomCrop(32,
    /// padding=4)`, horizontal flip, cutout 16.
    pub(crate) fn cifar10_train() -> Self {
        Self {
            random_crop: Some(RandomCrop {
                size: 32,
                padding: 4,
            }),
            center_crop: None,
            horizontal_flip: true,
            cutout: Some(16),
        }
    }

    /// The paper's KTH-TIPS2 training augmentation without the ±10° rotation:
    /// `RandomCrop(128)`, horizontal flip (after loading at 200, see
    /// [`kth::load_kth_tips2b`](super::kth::load_kth_tips2b)).
    pub(crate) fn kth_train() -> Self {
        Self {
            random_crop: Some(RandomCrop {
                size: 128,
                padding: 0,
            }),
            center_crop: None,
            horizontal_flip: true,
            cutout: None,
        }
    }

    /// The paper's KTH-TIPS2 evaluation crop, `CenterCrop(128)`.
    pub(crate) fn kth_test() -> Self {
        Self {
            center_crop: Some(128),
            ..Self::default()
        }
    }
}

/// Builds the normalised, augmented batch of the images `indices` of `ds`.
///
/// Returns the pixels row-major and the shape `[B, C, H', W']`, `B = indices.len()`,
/// `(H', W')` the output of the crops (the centre crop's side, then the random crop's). Deterministic for a given `rng` state (see the module
/// docs for the draw order).
///
/// # Panics
/// If an index is out of range, `norm` does not have `C` entries, a crop is larger than the
/// (padded) image, or a crop or cutout size is zero.
pub fn make_batch<R: rand::Rng>(
    ds: &ImageDataset,
    indices: &[usize],
    aug: &Augmentation,
    norm: &Normalization,
    rng: &mut R,
) -> (Vec<f32>, [usize; 4]) {
    let (c, h, w) = (ds.channels(), ds.height(), ds.width());
    assert!(
        norm.mean.len() == c && norm.std.len() == c,
        "make_batch: normalisation has {} means and {} stds, the data set has {c} channels",
        norm.mean.len(),
        norm.std.len()
    );
    // Centre crop offsets (fixed for the batch).
    let (mut top0, mut left0, mut ch, mut cw) = (0usize, 0usize, h, w);
    if let Some(s) = aug.center_crop {
        assert!(
            s > 0 && s <= h && s <= w,
            "make_batch: centre crop {s} does not fit {h}x{w} images"
        );
        (top0, left0, ch, cw) = (center_offset(h, s), center_offset(w, s), s, s);
    }
    if let Some(rc) = aug.random_crop {
        assert!(
            rc.size > 0 && rc.size <= ch + 2 * rc.padding && rc.size <= cw + 2 * rc.padding,
            "make_batch: random crop {} with padding {} does not fit {ch}x{cw} images",
            rc.size,
            rc.padding
        );
    }
    if let Some(k) = aug.cutout {
        assert!(k > 0, "make_batch: cutout size must be positive");
    }
    let (oh, ow) = aug.output_size(h, w);
    let plane = oh * ow;
    let mut out = vec![0f32; indices.len() * c * plane];
    for (b, &idx) in indices.iter().enumerate() {
        assert!(
            idx < ds.len(),
            "make_batch: index {idx} out of range for a data set of {} images",
            ds.len()
        );
        // Window origin in the centre-cropped image's coordinates, padding included.
        let (mut dy, mut dx) = (0isize, 0isize);
        if let Some(rc) = aug.random_crop {
            let ty = rng.random_range(0..=ch + 2 * rc.padding - rc.size);
            let tx = rng.random_range(0..=cw + 2 * rc.padding - rc.size);
            dy = ty as isize - rc.padding as isize;
            dx = tx as isize - rc.padding as isize;
        }
        let flip = aug.horizontal_flip && rng.random_bool(0.5);
        let img = ds.images.index_axis(ndarray::Axis(0), idx);
        let dst = &mut out[b * c * plane..(b + 1) * c * plane];
        for k in 0..c {
            for y in 0..oh {
                let sy = y as isize + dy;
                for x in 0..ow {
                    let xs = if flip { ow - 1 - x } else { x };
                    let sx = xs as isize + dx;
                    let inside = sy >= 0 && sx >= 0 && (sy as usize) < ch && (sx as usize) < cw;
                    let v = if inside {
                        img[[k, top0 + sy as usize, left0 + sx as usize]]
                    } else {
                        0
                    };
                    // ToTensor then Normalize, in torchvision's operation order
                    dst[k * plane + y * ow + x] =
                        (f32::from(v) / 255.0 - norm.mean[k]) / norm.std[k];
                }
            }
        }
        if let Some(size) = aug.cutout {
            let cy = rng.random_range(0..oh);
            let cx = rng.random_range(0..ow);
            let (y0, y1) = (cy.saturating_sub(size / 2), (cy + size / 2).min(oh));
            let (x0, x1) = (cx.saturating_sub(size / 2), (cx + size / 2).min(ow));
            for k in 0..c {
                let p = &mut dst[k * plane..(k + 1) * plane];
                let mean = (p.iter().map(|&v| f64::from(v)).sum::<f64>() / plane as f64) as f32;
                for y in y0..y1 {
                    p[y * ow + x0..y * ow + x1].fill(mean);
                }
            }
        }
    }
    (out, [indices.len(), c, oh, ow])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;
    use rand::{SeedableRng, rngs::ChaCha8Rng};

    fn ramp(n: usize, c: usize, h: usize, w: usize) -> ImageDataset {
        let images = Array4::from_shape_fn((n, c, h, w), |(i, k, y, x)| {
            (1 + i * 50 + k * 20 + y * w + x) as u8
        });
        ImageDataset::new(images, vec![0; n], vec!["x".into()]).unwrap()
    }

    #[test]
    fn constants() {
        let n = Normalization::cifar10();
        assert!((n.mean[0] - 0.491_372_55).abs() < 1e-6);
        assert!((n.std[2] - 0.261_568_63).abs() < 1e-6);
        assert_eq!(Augmentation::default().output_size(5, 7), (5, 7));
    }

    #[cfg(feature = "train")]
    #[test]
    fn the_papers_presets() {
        assert_eq!(Normalization::imagenet().std, vec![0.229, 0.224, 0.225]);
        assert_eq!(Augmentation::cifar10_train().output_size(32, 32), (32, 32));
        assert_eq!(Augmentation::kth_test().output_size(200, 200), (128, 128));
    }

    #[test]
    fn from_dataset_statistics() {
        let images =
            Array4::from_shape_vec((2, 2, 1, 2), vec![0, 255, 7, 7, 0, 255, 7, 7]).unwrap();
        let ds = ImageDataset::new(images, vec![0, 0], vec!["x".into()]).unwrap();
        let n = Normalization::from_dataset(&ds);
        assert!((n.mean[0] - 0.5).abs() < 1e-6 && (n.std[0] - 0.5).abs() < 1e-6);
        assert!((n.mean[1] - 7.0 / 255.0).abs() < 1e-6);
        assert_eq!(n.std[1], 1.0);
    }

    #[test]
    fn center_crop_takes_the_middle() {
        let ds = ramp(1, 1, 5, 5);
        let aug = Augmentation {
            center_crop: Some(3),
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (x, shape) = make_batch(&ds, &[0], &aug, &Normalization::identity(1), &mut rng);
        assert_eq!(shape, [1, 1, 3, 3]);
        assert_eq!(x[0], f32::from(ds.images[[0, 0, 1, 1]]) / 255.0);
        assert_eq!(x[8], f32::from(ds.images[[0, 0, 3, 3]]) / 255.0);
    }

    #[test]
    #[should_panic(expected = "normalisation has 3 means")]
    fn channel_mismatch_panics() {
        let ds = ramp(1, 1, 2, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        make_batch(
            &ds,
            &[0],
            &Augmentation::default(),
            &Normalization::cifar10(),
            &mut rng,
        );
    }
}
