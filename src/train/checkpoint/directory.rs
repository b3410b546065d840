//! The checkpoint directory: claiming it, writing a checkpoint atomically, loading one back
//! and removing one, touching only the names the [module docs](super) list.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use burn::module::Module;

use super::manifest::{CheckpointManifest, FileDigest, FormatTag, ModelSignature};
use super::{
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION, COMMIT_DIR, DATA_FILES, MAX_STATE_BYTES, MODEL_FILE,
    OPTIM_FILTERS_FILE, OPTIM_HEAD_FILE, STAGING_DIR, STATE_FILE, checkpoint_err, guarded,
    sha256_file,
};
use crate::error::{Result, ScatterError, io_error};
use crate::train::checkpoint::CheckpointError;
use crate::train::config::TrainConfig;
use crate::train::model::Hybrid;
use crate::train::optim::ParamGroupOptimizer;
use crate::train::report::EpochStats;
use crate::trajectory::{CHECKPOINT_FILTERS_FILE, FilterTrajectory};

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
        let trajectory = FilterTrajectory::read_json(dir.join(CHECKPOINT_FILTERS_FILE))?;
        let epochs_done = manifest.epochs_done as usize; // <= config.epochs, checked on read
        if trajectory
            .points
            .last()
            .is_some_and(|p| p.epoch != epochs_done)
        {
            return Err(checkpoint_err(
                &dir.join(CHECKPOINT_FILTERS_FILE),
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
        trajectory.write_json(staging.join(CHECKPOINT_FILTERS_FILE))?;
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
    remove_checkpoint_files(folder)?;
    std::fs::remove_dir(folder).map_err(io_error(folder))
}

/// Removes the checkpoint's files in `folder` (those that exist), the manifest last: until it
/// is gone the folder is recognisably a checkpoint.
fn remove_checkpoint_files(folder: &Path) -> Result<()> {
    for name in DATA_FILES.iter().chain(&[STATE_FILE]) {
        let path = folder.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
    Ok(())
}

/// Deletes a checkpoint written by [`fit`](crate::train::fit): its files, its staging and commit
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
    remove_checkpoint_files(dir)?;
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
