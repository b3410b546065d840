//! The manifest (`state.json`): what a checkpoint records about its files, its training
//! configuration and the model it was written from, and how it is read and verified.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION, DATA_FILES, MAX_STATE_BYTES, STATE_FILE, checkpoint_err,
    sha256_file,
};
use crate::error::{FileError, Result, ScatterError, io_error};
use crate::train::checkpoint::CheckpointError;
use crate::train::config::TrainConfig;
use crate::train::model::Hybrid;
use crate::train::report::EpochStats;

/// Size and SHA-256 of one checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Shape and trainability of one float parameter, in the module's visiting order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSignature {
    /// The parameter's shape.
    pub shape: Vec<usize>,
    /// Whether it requires a gradient (false for frozen filter families).
    pub trainable: bool,
}

/// What a checkpoint must match in the model it is loaded into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSignature {
    /// Image channels the model expects.
    pub in_channels: usize,
    /// Number of classes of its head.
    pub num_classes: usize,
    /// Whether any filter parameter trains ([`Hybrid::filters_trainable`]).
    pub filters_trainable: bool,
    /// Every float parameter, in visiting order.
    pub params: Vec<ParamSignature>,
}

impl ModelSignature {
    /// The signature of `model`.
    pub fn of(model: &Hybrid) -> Self {
        struct Collect(Vec<ParamSignature>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let value = param.val();
                self.0.push(ParamSignature {
                    shape: value.dims().to_vec(),
                    trainable: value.is_require_grad(),
                });
            }
        }
        let mut collect = Collect(Vec::new());
        model.visit(&mut collect);
        Self {
            in_channels: model.in_channels(),
            num_classes: model.num_classes(),
            filters_trainable: model.filters_trainable(),
            params: collect.0,
        }
    }

    /// [`CheckpointError::Model`] naming the first difference between `self` (the
    /// checkpoint's) and `model` (the model's).
    pub(super) fn check_matches(&self, model: &Self, dir: &Path) -> Result<()> {
        let differ = |what, expected: String, found: String| {
            Err(ScatterError::Checkpoint(CheckpointError::Model {
                path: dir.to_path_buf(),
                what,
                expected,
                found,
            }))
        };
        let family = |t: bool| {
            if t {
                "learnable filters"
            } else {
                "frozen filters"
            }
        };
        if self.filters_trainable != model.filters_trainable {
            return differ(
                "trainable filter families",
                family(model.filters_trainable).into(),
                family(self.filters_trainable).into(),
            );
        }
        if self.in_channels != model.in_channels {
            return differ(
                "input channels",
                model.in_channels.to_string(),
                self.in_channels.to_string(),
            );
        }
        if self.num_classes != model.num_classes {
            return differ(
                "classes",
                model.num_classes.to_string(),
                self.num_classes.to_string(),
            );
        }
        if self.params.len() != model.params.len() {
            return differ(
                "number of parameter tensors",
                model.params.len().to_string(),
                self.params.len().to_string(),
            );
        }
        for (i, (c, m)) in self.params.iter().zip(&model.params).enumerate() {
            if c.shape != m.shape {
                return differ(
                    "parameter shape",
                    format!("{:?} (parameter {i})", m.shape),
                    format!("{:?}", c.shape),
                );
            }
            if c.trainable != m.trainable {
                return differ(
                    "trainable parameters",
                    format!("parameter {i} trainable = {}", m.trainable),
                    format!("trainable = {}", c.trainable),
                );
            }
        }
        Ok(())
    }
}

/// A checkpoint's manifest, `state.json` (see the [module docs](super)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointManifest {
    /// [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The training configuration the run was started with.
    pub config: TrainConfig,
    /// The model the checkpoint belongs to.
    pub model: ModelSignature,
    /// Epochs finished, in `1..=config.epochs`.
    pub epochs_done: u64,
    /// Statistics of epochs `1..=epochs_done`.
    pub history: Vec<EpochStats>,
    /// Size and SHA-256 of each of the [`DATA_FILES`], by name.
    pub files: BTreeMap<String, FileDigest>,
}

impl CheckpointManifest {
    /// Reads `dir/state.json` and checks what it can check on its own: the format and version,
    /// that it records exactly the [`DATA_FILES`], and that `epochs_done` lies in
    /// `1..=config.epochs` with one history entry per epoch, numbered from 1.
    ///
    /// # Errors
    /// [`ScatterError::Io`] if it cannot be read, [`FileError::DeclaredTooLarge`] above
    /// 64 MiB, [`CheckpointError::Invalid`] if it does not parse or is not a manifest of this
    /// format and version, [`CheckpointError::Epochs`] for the counters.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(STATE_FILE);
        let file = std::fs::File::open(&path).map_err(io_error(&path))?;
        let size = file.metadata().map_err(io_error(&path))?.len();
        if size > MAX_STATE_BYTES {
            return Err(ScatterError::File(FileError::DeclaredTooLarge {
                path,
                what: "checkpoint state file",
                declared: u128::from(size),
                limit: MAX_STATE_BYTES,
            }));
        }
        let mut text = String::new();
        file.take(MAX_STATE_BYTES)
            .read_to_string(&mut text)
            .map_err(io_error(&path))?;
        // The format first, so that another JSON file is named as such.
        let tag: FormatTag = serde_json::from_str(&text).map_err(|e| checkpoint_err(&path, e))?;
        if tag.is_first_layout() {
            return Err(checkpoint_err(
                &path,
                "written by an earlier version of this crate, without checksums: it cannot be \
                 verified, so it is not resumed; remove it or use another directory",
            ));
        }
        if tag.format.as_deref() != Some(CHECKPOINT_FORMAT) {
            return Err(checkpoint_err(
                &path,
                format!("not a checkpoint of this crate (no `format: \"{CHECKPOINT_FORMAT}\"`)"),
            ));
        }
        if tag.version != Some(CHECKPOINT_VERSION) {
            return Err(checkpoint_err(
                &path,
                format!(
                    "checkpoint version {:?}, this crate reads version {CHECKPOINT_VERSION}",
                    tag.version
                ),
            ));
        }
        let manifest: Self = serde_json::from_str(&text).map_err(|e| checkpoint_err(&path, e))?;
        manifest.check_consistency(&path)?;
        Ok(manifest)
    }

    fn check_consistency(&self, path: &Path) -> Result<()> {
        let names: Vec<&str> = self.files.keys().map(String::as_str).collect();
        let mut expected = DATA_FILES.to_vec();
        expected.sort_unstable();
        if names != expected {
            return Err(checkpoint_err(
                path,
                format!("records the files {names:?}, expected {expected:?}"),
            ));
        }
        let epochs_ok = self.epochs_done >= 1
            && self.epochs_done <= self.config.epochs as u64
            && self.history.len() as u64 == self.epochs_done
            && self
                .history
                .iter()
                .enumerate()
                .all(|(i, s)| s.epoch == i + 1);
        if !epochs_ok {
            return Err(ScatterError::Checkpoint(CheckpointError::Epochs {
                path: path.to_path_buf(),
                epochs_done: self.epochs_done,
                history: self.history.len(),
                epochs: self.config.epochs,
            }));
        }
        Ok(())
    }

    /// Checks each of the [`DATA_FILES`] in `dir` against its recorded size and SHA-256 (the
    /// size first: a file of another size is not hashed).
    ///
    /// # Errors
    /// [`CheckpointError::Checksum`] naming the first file that differs,
    /// [`ScatterError::Io`] if one cannot be read.
    pub fn verify_files(&self, dir: &Path) -> Result<()> {
        for name in DATA_FILES {
            let path = dir.join(name);
            let recorded = &self.files[name];
            let bytes = std::fs::metadata(&path).map_err(io_error(&path))?.len();
            let sha256 = if bytes == recorded.bytes {
                sha256_file(&path)?
            } else {
                "(not computed)".into()
            };
            if bytes != recorded.bytes || sha256 != recorded.sha256 {
                return Err(ScatterError::Checkpoint(CheckpointError::Checksum {
                    path,
                    expected_bytes: recorded.bytes,
                    expected_sha256: recorded.sha256.clone(),
                    found_bytes: bytes,
                    found_sha256: sha256,
                }));
            }
        }
        Ok(())
    }
}

/// The fields read before the whole manifest.
#[derive(Deserialize)]
pub(super) struct FormatTag {
    format: Option<String>,
    version: Option<u32>,
    // The first layout's state file held only these three (and no format).
    config: Option<serde_json::Value>,
    epochs_done: Option<serde_json::Value>,
    history: Option<serde_json::Value>,
}

impl FormatTag {
    /// A state file of the crate's first checkpoint layout (`config`, `epochs_done`, `history`,
    /// no format, no checksums).
    fn is_first_layout(&self) -> bool {
        self.format.is_none()
            && self.version.is_none()
            && self.config.is_some()
            && self.epochs_done.is_some()
            && self.history.is_some()
    }

    pub(super) fn is_this_crate(&self) -> bool {
        self.format.as_deref() == Some(CHECKPOINT_FORMAT) || self.is_first_layout()
    }
}
