//! Filter-parameter trajectories recorded during training (`train::fit` writes one into every
//! checkpoint; `analysis` draws them).
//!
//! A training checkpoint is a directory that contains `filters.json`, a [`FilterTrajectory`]:
//! epoch 0 is the initial bank, then one point per finished epoch. [`FilterTrajectory::read_json`]
//! accepts the directory or the file itself.
//!
//! Bank files (the JSON of one [`FilterBankParams`]) are read and written here too:
//! [`FilterBankParams::read_json`] takes a bank file or a checkpoint's trajectory (its last bank),
//! telling them apart by their content, so it sits beside the trajectory format.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, ScatterError, io_error};
use crate::filters::FilterBankParams;

/// Name of the trajectory file inside a training checkpoint directory.
pub const CHECKPOINT_FILTERS_FILE: &str = "filters.json";

/// The filter bank at one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// Epoch number: 0 for the initial bank, `e` after the `e`-th finished epoch.
    pub epoch: usize,
    /// The bank's parameters at that epoch.
    pub bank: FilterBankParams,
    /// Fraction of each wavelet's spectral energy that the subsampling after it aliases
    /// (`crate::filters::diagnostics::aliased_energy` on the layer's padded grid), index
    /// `n = j·L + l`; recorded by `train::fit`, absent in trajectories written before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliasing: Option<Vec<f64>>,
}

/// The filter banks of one training run, in recording order (normally increasing epochs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterTrajectory {
    /// One point per recorded epoch.
    pub points: Vec<TrajectoryPoint>,
}

impl FilterTrajectory {
    /// Reads a trajectory: a JSON file, or a training checkpoint directory (its
    /// [`CHECKPOINT_FILTERS_FILE`] is read). Every bank is re-checked.
    ///
    /// # Errors
    /// [`ScatterError::Io`] if the file cannot be read, [`ScatterError::Json`] if it does not parse,
    /// [`ScatterError::InvalidParameter`] if it holds no point or banks of different `J`/`L`,
    /// and the bank checks of [`FilterBankParams::from_wavelets`].
    pub fn read_json(path: impl AsRef<Path>) -> Result<Self> {
        let path = Self::resolve(path.as_ref());
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        let trajectory: Self =
            serde_json::from_str(&text).map_err(|source| ScatterError::Json {
                path: path.clone(),
                source,
            })?;
        trajectory.validate()?;
        Ok(trajectory)
    }

    /// The trajectory file a checkpoint path designates: `path/filters.json` for a directory,
    /// `path` otherwise.
    pub(crate) fn resolve(path: &Path) -> PathBuf {
        if path.is_dir() {
            path.join(CHECKPOINT_FILTERS_FILE)
        } else {
            path.to_path_buf()
        }
    }

    /// Checks that there is at least one point, that every bank is valid and that all banks have
    /// the same `J` and `L`.
    ///
    /// # Errors
    /// As [`FilterTrajectory::read_json`], without the I/O and parse errors.
    pub(crate) fn validate(&self) -> Result<()> {
        let first = self.points.first().ok_or(ScatterError::InvalidParameter {
            name: "points",
            value: "[]".into(),
            reason: "a filter trajectory needs at least one point",
        })?;
        let shape = (first.bank.num_scales(), first.bank.num_orientations());
        for p in &self.points {
            p.bank.validate()?;
            let s = (p.bank.num_scales(), p.bank.num_orientations());
            if s != shape {
                return Err(ScatterError::InvalidParameter {
                    name: "points",
                    value: format!(
                        "epoch {} has (J, L) = {s:?}, epoch {} {shape:?}",
                        p.epoch, first.epoch
                    ),
                    reason: "all banks of a trajectory must have the same J and L",
                });
            }
        }
        Ok(())
    }

    /// Writes the trajectory as pretty-printed JSON (the format [`FilterTrajectory::read_json`]
    /// reads).
    ///
    /// # Errors
    /// [`ScatterError::Io`] if the file cannot be written.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self).map_err(|source| ScatterError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text).map_err(io_error(path))
    }

    /// The trajectory as CSV text: header `epoch,index,j,l,sigma,xi,theta,slant,aliasing`, then
    /// one row per epoch × wavelet (index `n = j·L + l`), values in full `f64` precision; the
    /// aliasing fraction is empty where it was not recorded.
    #[cfg(any(feature = "analysis", test))]
    pub(crate) fn to_csv(&self) -> String {
        use std::fmt::Write as _;

        let mut out = String::from("epoch,index,j,l,sigma,xi,theta,slant,aliasing\n");
        for p in &self.points {
            let big_l = p.bank.num_orientations();
            for (n, w) in p.bank.wavelets().iter().enumerate() {
                let aliasing = p
                    .aliasing
                    .as_ref()
                    .and_then(|a| a.get(n))
                    .map_or(String::new(), f64::to_string);
                let _ = writeln!(
                    out,
                    "{},{n},{},{},{},{},{},{},{aliasing}",
                    p.epoch,
                    n / big_l,
                    n % big_l,
                    w.sigma,
                    w.xi,
                    w.theta,
                    w.slant
                );
            }
        }
        out
    }

    /// The bank of the last point (the learned bank of a checkpoint), `None` if empty.
    pub fn last(&self) -> Option<&FilterBankParams> {
        self.points.last().map(|p| &p.bank)
    }

    /// The bank of the first point (the initial bank of a checkpoint), `None` if empty.
    #[cfg(any(feature = "train", test))]
    pub(crate) fn first(&self) -> Option<&FilterBankParams> {
        self.points.first().map(|p| &p.bank)
    }
}

/// Bank files.
impl FilterBankParams {
    /// Reads a bank: a bank file ([`FilterBankParams::write_json`], the Python package's
    /// `FilterBankParams.to_json`), or a training checkpoint's filter trajectory (the checkpoint
    /// directory or its [`CHECKPOINT_FILTERS_FILE`]), of which the last bank is taken. The two are
    /// told apart by content: a trajectory is an object with `"points"`. The bank is checked
    /// (`FilterBankParams::validate`).
    ///
    /// # Errors
    /// [`ScatterError::Io`] if the file cannot be read, [`ScatterError::Json`] if it is not a bank
    /// or a trajectory, the trajectory's checks (`FilterTrajectory::validate`) and the bank's.
    pub fn read_json(path: impl AsRef<Path>) -> Result<Self> {
        let file = FilterTrajectory::resolve(path.as_ref());
        let text = std::fs::read_to_string(&file).map_err(io_error(&file))?;
        let json_error = |source| ScatterError::Json {
            path: file.clone(),
            source,
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(json_error)?;
        if value.get("points").is_some() {
            let trajectory: FilterTrajectory = serde_json::from_value(value).map_err(json_error)?;
            trajectory.validate()?;
            let last = trajectory.points.last().expect("validated: not empty");
            return Ok(last.bank.clone());
        }
        let bank: Self = serde_json::from_value(value).map_err(json_error)?;
        bank.validate()?;
        Ok(bank)
    }

    /// Writes the bank file: the bank as pretty-printed JSON, `{"num_scales", "num_orientations",
    /// "wavelets": [{"sigma", "xi", "theta", "slant"}, ...]}` (read by
    /// [`FilterBankParams::read_json`]).
    ///
    /// # Errors
    /// [`ScatterError::Io`] if the file cannot be written.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self).map_err(|source| ScatterError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text).map_err(io_error(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trajectory() -> FilterTrajectory {
        FilterTrajectory {
            points: vec![
                TrajectoryPoint {
                    epoch: 0,
                    bank: FilterBankParams::tight_frame(1, 2).unwrap(),
                    aliasing: None,
                },
                TrajectoryPoint {
                    epoch: 1,
                    bank: FilterBankParams::random(1, 2, 3).unwrap(),
                    aliasing: Some(vec![0.0, 0.25]),
                },
            ],
        }
    }

    #[test]
    fn csv_has_one_row_per_epoch_and_wavelet() {
        let t = trajectory();
        let csv = t.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "epoch,index,j,l,sigma,xi,theta,slant,aliasing");
        assert_eq!(lines.len(), 1 + 2 * 2);
        assert!(lines[2].starts_with("0,1,0,1,0.8,"), "{}", lines[2]);
        assert!(lines[3].starts_with("1,0,0,0,"), "{}", lines[3]);
        assert!(
            lines[2].ends_with(','),
            "no aliasing recorded: {}",
            lines[2]
        );
        assert!(lines[4].ends_with(",0.25"), "{}", lines[4]);
        assert_eq!(t.first(), Some(&t.points[0].bank));
        assert_eq!(t.last(), Some(&t.points[1].bank));
    }

    #[test]
    fn json_round_trip_through_a_checkpoint_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let t = trajectory();
        t.write_json(dir.join(CHECKPOINT_FILTERS_FILE)).unwrap();
        assert_eq!(FilterTrajectory::read_json(dir).unwrap(), t);
        assert_eq!(
            FilterTrajectory::read_json(dir.join(CHECKPOINT_FILTERS_FILE)).unwrap(),
            t
        );
    }

    #[test]
    fn empty_and_mixed_trajectories_are_rejected() {
        let empty = FilterTrajectory { points: vec![] };
        assert!(empty.validate().is_err());
        let mut mixed = trajectory();
        mixed.points[1].bank = FilterBankParams::tight_frame(2, 2).unwrap();
        let e = mixed.validate().unwrap_err().to_string();
        assert!(e.contains("same J and L"), "{e}");
    }

    #[test]
    fn banks_are_read_from_bank_files_and_trajectories() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let bank = FilterBankParams::random(2, 3, 9).unwrap();
        bank.write_json(dir.join("bank.json")).unwrap();
        assert_eq!(
            FilterBankParams::read_json(dir.join("bank.json")).unwrap(),
            bank
        );
        let t = trajectory();
        t.write_json(dir.join(CHECKPOINT_FILTERS_FILE)).unwrap();
        let last = t.last().unwrap();
        assert_eq!(&FilterBankParams::read_json(dir).unwrap(), last);
        let file = dir.join(CHECKPOINT_FILTERS_FILE);
        assert_eq!(&FilterBankParams::read_json(file).unwrap(), last);
    }

    #[test]
    fn bad_bank_files_are_typed_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let missing = FilterBankParams::read_json(dir.join("missing.json")).unwrap_err();
        assert!(matches!(missing, ScatterError::Io { .. }), "{missing}");
        std::fs::write(dir.join("text.json"), "not json").unwrap();
        let text = FilterBankParams::read_json(dir.join("text.json")).unwrap_err();
        assert!(matches!(text, ScatterError::Json { .. }), "{text}");
        std::fs::write(dir.join("other.json"), r#"{"num_scales": 2}"#).unwrap();
        let other = FilterBankParams::read_json(dir.join("other.json")).unwrap_err();
        assert!(matches!(other, ScatterError::Json { .. }), "{other}");
        std::fs::write(dir.join("empty.json"), r#"{"points": []}"#).unwrap();
        let empty = FilterBankParams::read_json(dir.join("empty.json")).unwrap_err();
        assert!(empty.to_string().contains("at least one point"), "{empty}");
        let mut wavelets = FilterBankParams::tight_frame(1, 2)
            .unwrap()
            .wavelets()
            .to_vec();
        wavelets[1].sigma = -1.0;
        let json =
            serde_json::json!({"num_scales": 1, "num_orientations": 2, "wavelets": wavelets});
        std::fs::write(dir.join("bad.json"), json.to_string()).unwrap();
        let bad = FilterBankParams::read_json(dir.join("bad.json")).unwrap_err();
        assert!(
            matches!(bad, ScatterError::InvalidWavelet { index: 1, .. }),
            "{bad}"
        );
    }
}
