//! Training checkpoints: the directory layout, ownership, atomic writing and verification.
//!
//! # Layout
//!
//! A checkpoint lives in a directory of its own, `DIR` ([`FitOptions::checkpoint_dir`]):
//!
//! ```text
//! DIR/
//!   state.json              the manifest, replaced last: format and version, the training
//!                           configuration, the model's signature (parameter shapes, which ones
//!                           train), epochs_done, the history, and the size and SHA-256 of each
//!                           file below
//!   model.bpk               the model (burnpack)
//!   optim_head.bpk          the head optimiser's state (momentum buffers)
//!   optim_filters.bpk       the filter optimiser's state
//!   filters.json            the filter trajectory (FilterTrajectory; inspect_filters reads it)
//!   .checkpoint-staging/    only while a checkpoint is written: the next one's files
//!   .checkpoint-commit/     only while a written checkpoint replaces the previous one
//! ```
//!
//! # What the crate touches
//!
//! The crate writes into `DIR` only when it is new, empty, or holds a checkpoint of this crate
//! and nothing else; any other entry is refused with
//! [`CheckpointError::ForeignEntry`] before training starts, unless
//! [`FitOptions::overwrite`] asks to write beside it (entries with the checkpoint's names are
//! then replaced, every other entry is left as it is). `.`, `..`, roots, the empty path and
//! existing files are refused ([`CheckpointError::Path`]). Nothing outside `DIR` is
//! created, renamed or deleted, and inside it only the names above: no directory is ever
//! removed recursively.
//!
//! # Atomic replacement
//!
//! A checkpoint is written into `.checkpoint-staging/` (each file synced to disk), the staging
//! folder is renamed to `.checkpoint-commit/` once it is complete, then each file is renamed
//! over its predecessor in `DIR`, `state.json` last. An interrupted write therefore leaves
//! either an incomplete staging folder (discarded next time; the previous checkpoint is intact)
//! or a complete commit folder, which the next [`fit`](super::fit) finishes moving before it
//! reads anything. A checkpoint never mixes files of two epochs, and one that does (a copy made
//! mid-write, a file replaced by hand) fails its checksums.
//!
//! # Verification
//!
//! Resuming checks, before loading anything: the format and version, every file's size and
//! SHA-256 against `state.json` (corrupted or swapped files), the training configuration, the
//! model's signature (architecture, parameter shapes, frozen or trainable families), and that
//! `epochs_done` lies in `1..=epochs` with one history entry per epoch. Each failure is a typed
//! error naming the checkpoint.
//!
//! [`FitOptions::checkpoint_dir`]: super::FitOptions::checkpoint_dir
//! [`FitOptions::overwrite`]: super::FitOptions::overwrite

use crate::error::{CheckpointError, FileError};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::model::Hybrid;
use super::optim::ParamGroupOptimizer;
use super::report::EpochStats;
use crate::error::{Result, ScatterError, io_error};
use crate::filters::trajectory::FilterTrajectory;

/// The `format` field of every checkpoint manifest this crate writes.
pub const CHECKPOINT_FORMAT: &str = "learnable-scattering checkpoint";
/// The manifest version written and read by this version of the crate.
pub const CHECKPOINT_VERSION: u32 = 2;

/// The manifest's file name.
pub const STATE_FILE: &str = "state.json";
/// The model's file name.
pub const MODEL_FILE: &str = "model.bpk";
/// The head optimiser's file name.
pub const OPTIM_HEAD_FILE: &str = "optim_head.bpk";
/// The filter optimiser's file name.
pub const OPTIM_FILTERS_FILE: &str = "optim_filters.bpk";
/// The filter trajectory's file name (the one `FilterTrajectory::load` reads in a directory).
pub const FILTERS_FILE: &str = crate::filters::trajectory::CHECKPOINT_FILTERS_FILE;
/// The files a manifest records, in the order they are moved into place (the manifest itself
/// comes last).
pub const DATA_FILES: [&str; 4] = [
    MODEL_FILE,
    OPTIM_HEAD_FILE,
    OPTIM_FILTERS_FILE,
    FILTERS_FILE,
];
/// The folder a checkpoint is written into before it replaces the previous one.
pub const STAGING_DIR: &str = ".checkpoint-staging";
/// The staging folder once complete, while its files replace the previous checkpoint's.
pub const COMMIT_DIR: &str = ".checkpoint-commit";

/// Longest manifest read, in bytes (a manifest of a 5000-epoch run is about 1.5 MB).
const MAX_STATE_BYTES: u64 = 64 << 20;

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
    fn check_matches(&self, model: &Self, dir: &Path) -> Result<()> {
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

/// A checkpoint's manifest, `state.json` (see the [module docs](self)).
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
struct FormatTag {
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

    fn is_this_crate(&self) -> bool {
        self.format.as_deref() == Some(CHECKPOINT_FORMAT) || self.is_first_layout()
    }
}

fn checkpoint_err(path: &Path, reason: impl ToString) -> ScatterError {
    ScatterError::Checkpoint(CheckpointError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    })
}

/// Runs a burn record operation on `path`; its error, or a panic inside burn, becomes
/// [`CheckpointError::Invalid`] naming the file.
fn guarded<T>(
    path: &Path,
    load: impl FnOnce() -> std::result::Result<T, burn::store::RecordError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(checkpoint_err(path, e)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(checkpoint_err(
                path,
                format!("burn cannot load this record: {message}"),
            ))
        }
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    crate::data::sha256_file(path)
}

/// A checkpoint directory the crate may write into (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct CheckpointDir {
    dir: PathBuf,
}

/// What a resumed run continues from.
pub(crate) struct Resumed {
    pub(crate) model: Hybrid,
    pub(crate) head_optimizer: burn::optim::ModuleOptimizer,
    pub(crate) filter_optimizer: burn::optim::ModuleOptimizer,
    pub(crate) epochs_done: usize,
    pub(crate) history: Vec<EpochStats>,
    pub(crate) trajectory: FilterTrajectory,
}

impl CheckpointDir {
    /// Claims `dir` for checkpoints: refuses unusable paths and folders with foreign entries
    /// (unless `overwrite`), creates it if needed, and finishes or discards a write that was
    /// interrupted.
    ///
    /// # Errors
    /// [`CheckpointError::Path`], [`CheckpointError::ForeignEntry`],
    /// [`ScatterError::Io`].
    pub(crate) fn open(dir: &Path, overwrite: bool) -> Result<Self> {
        check_path(dir)?;
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(ScatterError::Checkpoint(CheckpointError::Path {
                    path: dir.to_path_buf(),
                    reason: "it exists and is not a directory",
                }));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
            Err(e) => return Err(io_error(dir)(e)),
        }
        let this = Self {
            dir: dir.to_path_buf(),
        };
        if !overwrite {
            this.check_owned()?;
        }
        this.recover()?;
        Ok(this)
    }

    /// Whether the directory holds a checkpoint (after recovery).
    pub(crate) fn has_checkpoint(&self) -> bool {
        self.dir.join(STATE_FILE).is_file()
    }

    /// The directory holds nothing but a checkpoint of this crate (a manifest with this
    /// crate's format, the checkpoint's files, the staging and commit folders), or only the
    /// staging or commit folder of a first checkpoint, or nothing.
    fn check_owned(&self) -> Result<()> {
        let entries = list_dir(&self.dir)?;
        let has_manifest =
            entries.iter().any(|n| n == STATE_FILE) && is_manifest_of_this_crate(&self.dir);
        for name in &entries {
            let ours = if name == STAGING_DIR || name == COMMIT_DIR {
                self.holds_only_checkpoint_files(name)?
            } else {
                has_manifest && (name == STATE_FILE || DATA_FILES.contains(&name.as_str()))
            };
            if !ours {
                return Err(ScatterError::Checkpoint(CheckpointError::ForeignEntry {
                    path: self.dir.clone(),
                    entry: self.dir.join(name),
                }));
            }
        }
        Ok(())
    }

    /// Whether `self.dir/name` is a folder holding only checkpoint file names.
    fn holds_only_checkpoint_files(&self, name: &str) -> Result<bool> {
        let sub = self.dir.join(name);
        if !std::fs::symlink_metadata(&sub)
            .map_err(io_error(&sub))?
            .is_dir()
        {
            return Ok(false);
        }
        Ok(list_dir(&sub)?
            .iter()
            .all(|n| n == STATE_FILE || DATA_FILES.contains(&n.as_str())))
    }

    /// Finishes an interrupted commit (the commit folder holds a complete checkpoint), then
    /// discards an interrupted staging folder.
    fn recover(&self) -> Result<()> {
        let commit = self.dir.join(COMMIT_DIR);
        if commit.is_dir() {
            self.move_into_place(&commit)?;
        }
        let staging = self.dir.join(STAGING_DIR);
        if staging.is_dir() {
            remove_checkpoint_folder(&staging)?;
        }
        Ok(())
    }

    /// Renames the files of the complete checkpoint in `from` over the current ones, the
    /// manifest last, and removes `from` (then empty).
    fn move_into_place(&self, from: &Path) -> Result<()> {
        for name in DATA_FILES.iter().chain(&[STATE_FILE]) {
            let src = from.join(name);
            if src.exists() {
                let dst = self.dir.join(name);
                std::fs::rename(&src, &dst).map_err(io_error(&dst))?;
            }
        }
        std::fs::remove_dir(from).map_err(io_error(from))?;
        sync_dir(&self.dir);
        Ok(())
    }

    /// Reads and verifies the checkpoint for `model` and `config`, then loads it.
    ///
    /// # Errors
    /// See the [module docs](self), "Verification".
    pub(crate) fn load(
        &self,
        model: Hybrid,
        config: &TrainConfig,
        head: &ParamGroupOptimizer,
        filters: &ParamGroupOptimizer,
    ) -> Result<Resumed> {
        let dir = &self.dir;
        let manifest = CheckpointManifest::read(dir)?;
        if &manifest.config != config {
            return Err(checkpoint_err(
                dir,
                "written with another training configuration; use another directory or the same settings",
            ));
        }
        let signature = ModelSignature::of(&model);
        manifest.model.check_matches(&signature, dir)?;
        manifest.verify_files(dir)?;
        // The records' bytes are the ones written (checksums above); the dtype of each tensor
        // is still cast to the model's, and a panic inside burn's reader (a record that passes
        // a forged manifest but not burn's assumptions) becomes an error.
        let model_path = dir.join(MODEL_FILE);
        let model = guarded(&model_path, || {
            let record = burn::store::ModuleRecord::load(&model_path)?.cast_to_module_dtype();
            model.try_load_record(record)
        })?;
        // The record must not have changed the architecture or what trains.
        manifest
            .model
            .check_matches(&ModelSignature::of(&model), dir)?;
        let head_path = dir.join(OPTIM_HEAD_FILE);
        let head_optimizer = guarded(&head_path, || head.optimizer.clone().load(&head_path))?;
        let filters_path = dir.join(OPTIM_FILTERS_FILE);
        let filter_optimizer = guarded(&filters_path, || {
            filters.optimizer.clone().load(&filters_path)
        })?;
        let trajectory = FilterTrajectory::read_json(dir.join(FILTERS_FILE))?;
        let epochs_done = manifest.epochs_done as usize; // <= config.epochs, checked on read
        if trajectory
            .points
            .last()
            .is_some_and(|p| p.epoch != epochs_done)
        {
            return Err(checkpoint_err(
                &dir.join(FILTERS_FILE),
                format!(
                    "the trajectory ends at epoch {}, the checkpoint at epoch {epochs_done}",
                    trajectory.points.last().map_or(0, |p| p.epoch)
                ),
            ));
        }
        Ok(Resumed {
            model,
            head_optimizer,
            filter_optimizer,
            epochs_done,
            history: manifest.history,
            trajectory,
        })
    }

    /// Writes a checkpoint atomically (see the [module docs](self)).
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] if burn cannot save a record, [`ScatterError::Io`].
    pub(crate) fn write(
        &self,
        model: &Hybrid,
        head_opt: &ParamGroupOptimizer,
        filter_opt: &ParamGroupOptimizer,
        config: &TrainConfig,
        history: &[EpochStats],
        trajectory: &FilterTrajectory,
    ) -> Result<()> {
        let staging = self.dir.join(STAGING_DIR);
        if staging.exists() {
            remove_checkpoint_folder(&staging)?;
        }
        std::fs::create_dir(&staging).map_err(io_error(&staging))?;
        let save_err = |path: &Path| {
            let path = path.to_path_buf();
            move |e| checkpoint_err(&path, format!("{e:?}"))
        };
        // burn's `RunningState` (batch-norm statistics) records its last *synced* value; `valid`
        // syncs the pending update of the last batch into it, so the checkpoint holds it.
        let _ = model.valid();
        let path = staging.join(MODEL_FILE);
        model.clone().save_file(&path).map_err(save_err(&path))?;
        let path = staging.join(OPTIM_HEAD_FILE);
        head_opt.optimizer.save(&path).map_err(save_err(&path))?;
        let path = staging.join(OPTIM_FILTERS_FILE);
        filter_opt.optimizer.save(&path).map_err(save_err(&path))?;
        trajectory.write_json(staging.join(FILTERS_FILE))?;
        let mut files = BTreeMap::new();
        for name in DATA_FILES {
            let path = staging.join(name);
            sync_file(&path)?;
            let bytes = std::fs::metadata(&path).map_err(io_error(&path))?.len();
            let sha256 = sha256_file(&path)?;
            files.insert(name.to_string(), FileDigest { bytes, sha256 });
        }
        let manifest = CheckpointManifest {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            config: config.clone(),
            model: ModelSignature::of(model),
            epochs_done: history.last().map_or(0, |s| s.epoch as u64),
            history: history.to_vec(),
            files,
        };
        let path = staging.join(STATE_FILE);
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| checkpoint_err(&path, e))?;
        let mut file = std::fs::File::create(&path).map_err(io_error(&path))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_error(&path))?;
        sync_dir(&staging);
        let commit = self.dir.join(COMMIT_DIR);
        std::fs::rename(&staging, &commit).map_err(io_error(&commit))?;
        sync_dir(&self.dir);
        self.move_into_place(&commit)
    }
}

/// Whether `dir/state.json` is a manifest of this crate's checkpoint format (of any version,
/// or the first layout's state file), so that such a checkpoint still counts as the crate's
/// own files.
fn is_manifest_of_this_crate(dir: &Path) -> bool {
    let path = dir.join(STATE_FILE);
    let Ok(file) = std::fs::File::open(&path) else {
        return false;
    };
    let mut text = String::new();
    if file
        .take(MAX_STATE_BYTES)
        .read_to_string(&mut text)
        .is_err()
    {
        return false;
    }
    serde_json::from_str::<FormatTag>(&text).is_ok_and(|t| t.is_this_crate())
}

/// Refuses paths whose last component is not a name: the empty path, `.`, `..`, `x/..`, roots
/// and drive prefixes.
fn check_path(dir: &Path) -> Result<()> {
    let refuse = |reason| {
        Err(ScatterError::Checkpoint(CheckpointError::Path {
            path: dir.to_path_buf(),
            reason,
        }))
    };
    if dir.as_os_str().is_empty() {
        return refuse("the path is empty");
    }
    match dir.components().next_back() {
        Some(Component::Normal(_)) => Ok(()),
        Some(Component::CurDir) | Some(Component::ParentDir) => refuse(
            "`.`, `..` and paths ending in them name a folder that holds other things; name a dedicated directory",
        ),
        _ => refuse("a root is not a checkpoint directory; name a dedicated directory"),
    }
}

/// Names of the entries of `dir`; a name that is not UTF-8 is returned lossily (it cannot be
/// one of the checkpoint's names, so it is foreign either way).
fn list_dir(dir: &Path) -> Result<Vec<String>> {
    std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .map(|e| {
            e.map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(io_error(dir))
        })
        .collect()
}

/// Removes the checkpoint files in `folder`, then `folder` itself, which must then be empty
/// (anything else in it stays, and the removal fails with an I/O error naming it).
fn remove_checkpoint_folder(folder: &Path) -> Result<()> {
    for name in DATA_FILES.iter().chain(&[STATE_FILE]) {
        let path = folder.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
    std::fs::remove_dir(folder).map_err(io_error(folder))
}

/// Deletes a checkpoint written by [`fit`](super::fit): its files, its staging and commit
/// folders, then the directory itself if that leaves it empty. Entries the crate did not
/// write are left in place (and so is the directory that holds them).
///
/// # Errors
/// [`CheckpointError::Invalid`] if `dir` holds no checkpoint of this crate,
/// [`ScatterError::Io`].
pub fn remove_checkpoint(dir: &Path) -> Result<()> {
    if !is_manifest_of_this_crate(dir) {
        return Err(checkpoint_err(
            dir,
            "holds no checkpoint of this crate; nothing was removed",
        ));
    }
    for folder in [STAGING_DIR, COMMIT_DIR] {
        let path = dir.join(folder);
        if path.is_dir() {
            remove_checkpoint_folder(&path)?;
        }
    }
    // The manifest last: until it is gone the directory is recognisably a checkpoint.
    for name in DATA_FILES.iter().chain(&[STATE_FILE]) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
    if std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .next()
        .is_none()
    {
        std::fs::remove_dir(dir).map_err(io_error(dir))?;
    }
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_error(path))
}

/// Makes renames in `dir` durable where the platform allows it (best effort: opening a
/// directory for syncing is not supported everywhere).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
