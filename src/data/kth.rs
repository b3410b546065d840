//! KTH-TIPS2-b, the 200×200 colour version (`kth-tips2-b_col_200x200.tar`).
//!
//! The archive extracts to `KTH-TIPS2-b/<material>/sample_<a|b|c|d>/*.png`: 11 materials, 4
//! physical samples of each, 108 PNG images per sample (4752 in all), cropped to 200×200.
//! Sources: the KTH-TIPS2 users' guide (Mallikarjuna, Tavakoli Targhi, Fritz, Hayman, Caputo,
//! Eklundh, "The KTH-TIPS2 database", KTH CVAP, 2006: "four physical samples of 11 different
//! materials"); the tree and the material folder names as read by
//! `google-deepmind/dm_nevis` (`datasets_storage/handlers/kth_tips.py`, paths such as
//! `KTH-TIPS2-a/wool/sample_a/22a-scale_10_im_10_col.png`) and by the paper's
//! `parametricSN/data_loading/kth_loader.py` (`glob('KTH-TIPS2-b/*/*')`, sample letter = last
//! character of the folder name); 11 × 4 × 108, train 1188 / test 3564, in the paper's
//! protocol (reference notes §5.3).
//!
//! Protocol ("Parametric Scattering Networks", citing Song et al., ICCV 2017): train on one
//! physical sample of every material, test on the other three.

use super::folder::{Channels, decode_all, list_images};
use super::resample::Resize;
use super::{ImageDataset, ReadLimits, require_dir, sorted_subdirs};
use crate::data::DataError;
use crate::error::FileError;
use crate::error::{Result, ScatterError};
use std::path::{Path, PathBuf};

/// The 11 materials, sorted by name; a label indexes this list.
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

/// The physical sample letters (folders `sample_a` … `sample_d`).
const KTH_TIPS2B_SAMPLES: [char; 4] = ['a', 'b', 'c', 'd'];

/// The folder the official archive extracts to.
const KTH_TIPS2B_DIR: &str = "KTH-TIPS2-b";

/// Image side used by the paper (`Resize(200)`).
pub const KTH_TIPS2B_SIZE: usize = 200;

/// Loads KTH-TIPS2-b with the paper's protocol: `train` holds sample `train_sample` of every
/// material, `test` the other three samples.
///
/// `root` is the `KTH-TIPS2-b` folder or the folder that contains it. Every image is decoded
/// as RGB, resized so that its **shorter** side is `size` (torchvision's `Resize(size)`;
/// the paper uses 200, which leaves the 200×200 images untouched) and centre-cropped to
/// `size × size` (torchvision's `CenterCrop` offsets); the filter is described in
/// [`folder`](super::folder). Classes are the 11 materials, sorted by name (`aluminium_foil`,
/// `brown_bread`, `corduroy`, `cork`, `cotton`, `cracker`, `lettuce_leaf`, `linen`,
/// `white_bread`, `wood`, `wool`); images are ordered by material, then sample letter, then file
/// name. The paper's random crops (128) happen later,
/// in [`augment`](super::augment).
///
/// # Errors
/// - [`ScatterError::InvalidParameter`] if `train_sample` is not one of `a`-`d` (either case)
///   or `size == 0`,
/// - [`FileError::MissingPath`] naming the missing data-set, material or sample folder,
/// - [`DataError::UnknownClass`] naming a folder in the root that is not a material,
/// - [`DataError::EmptyClass`] naming a sample folder without PNG images,
/// - [`DataError::ImageDecode`] naming an undecodable image,
/// - [`DataError::ImageTooLarge`] naming an image above the default pixel limit
///   ([`ReadLimits`]; checked on its header, before decoding),
/// - [`FileError::DeclaredTooLarge`] if a split would exceed the default data-set limit,
/// - [`DataError::NonUtf8Name`] naming a folder in the root whose name is not UTF-8.
///
/// An image of any aspect ratio costs memory for the `size × size` pixels kept, not for its
/// full resize (see [`folder`](super::folder)).
pub fn load_kth_tips2b(
    root: &Path,
    train_sample: char,
    size: usize,
) -> Result<(ImageDataset, ImageDataset)> {
    load_kth_tips2b_with_limits(root, train_sample, size, &ReadLimits::default())
}

/// As [`load_kth_tips2b`], with explicit limits.
///
/// # Errors
/// As [`load_kth_tips2b`].
pub fn load_kth_tips2b_with_limits(
    root: &Path,
    train_sample: char,
    size: usize,
    limits: &ReadLimits,
) -> Result<(ImageDataset, ImageDataset)> {
    let train_sample = train_sample.to_ascii_lowercase();
    if !KTH_TIPS2B_SAMPLES.contains(&train_sample) {
        return Err(ScatterError::InvalidParameter {
            name: "train_sample",
            value: format!("{train_sample:?}"),
            reason: "must be one of the physical samples 'a', 'b', 'c', 'd'",
        });
    }
    if size == 0 {
        return Err(ScatterError::InvalidParameter {
            name: "size",
            value: "0".into(),
            reason: "must be positive",
        });
    }
    let root = dataset_dir(root)?;
    for name in sorted_subdirs(&root)? {
        if !KTH_TIPS2B_MATERIALS.contains(&name.as_str()) {
            return Err(ScatterError::Data(DataError::UnknownClass {
                path: root.join(&name),
                name,
                expected: KTH_TIPS2B_MATERIALS.join(", "),
            }));
        }
    }
    let (mut train_files, mut train_labels) = (Vec::new(), Vec::new());
    let (mut test_files, mut test_labels) = (Vec::new(), Vec::new());
    for (label, material) in KTH_TIPS2B_MATERIALS.iter().enumerate() {
        let mdir = root.join(material);
        require_dir(&mdir)?;
        for sample in KTH_TIPS2B_SAMPLES {
            let sdir = mdir.join(format!("sample_{sample}"));
            require_dir(&sdir)?;
            let files: Vec<PathBuf> = list_images(&sdir)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
                .collect();
            if files.is_empty() {
                return Err(ScatterError::Data(DataError::EmptyClass { path: sdir }));
            }
            let (f, l) = if sample == train_sample {
                (&mut train_files, &mut train_labels)
            } else {
                (&mut test_files, &mut test_labels)
            };
            l.extend(std::iter::repeat_n(label, files.len()));
            f.extend(files);
        }
    }
    let classes: Vec<String> = KTH_TIPS2B_MATERIALS.iter().map(|s| s.to_string()).collect();
    let resize = Resize::ShorterThenCenterCrop(size);
    let train = ImageDataset::new(
        decode_all(&root, &train_files, Channels::Rgb, resize, limits)?,
        train_labels,
        classes.clone(),
    )?;
    let test = ImageDataset::new(
        decode_all(&root, &test_files, Channels::Rgb, resize, limits)?,
        test_labels,
        classes,
    )?;
    Ok((train, test))
}

/// `root` if it holds material folders, else `root/KTH-TIPS2-b`.
fn dataset_dir(root: &Path) -> Result<PathBuf> {
    let nested = root.join(KTH_TIPS2B_DIR);
    if nested.is_dir() {
        return Ok(nested);
    }
    require_dir(root)?;
    let looks_like_dataset = root.file_name().is_some_and(|n| n == KTH_TIPS2B_DIR)
        || KTH_TIPS2B_MATERIALS.iter().any(|m| root.join(m).is_dir());
    if looks_like_dataset {
        Ok(root.to_path_buf())
    } else {
        Err(ScatterError::File(FileError::MissingPath {
            path: nested,
            what: "KTH-TIPS2-b folder (extract kth-tips2-b_col_200x200.tar there)",
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materials_are_sorted_and_unique() {
        let mut sorted = KTH_TIPS2B_MATERIALS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, KTH_TIPS2B_MATERIALS.to_vec());
    }

    #[test]
    fn bad_train_sample_and_size() {
        let root = Path::new("/nonexistent");
        let e = load_kth_tips2b(root, 'e', 200).unwrap_err();
        assert!(e.to_string().contains("train_sample"), "{e}");
        let e = load_kth_tips2b(root, 'a', 0).unwrap_err();
        assert!(e.to_string().contains("`size`"), "{e}");
        let e = load_kth_tips2b(root, 'A', 200).unwrap_err();
        assert!(
            matches!(e, ScatterError::File(FileError::MissingPath { .. })),
            "{e}"
        );
    }
}
