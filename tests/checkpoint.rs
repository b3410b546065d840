//! Checkpoints (`train::fit` with a checkpoint folder, `train::checkpoint::remove_checkpoint`): no user file
//! is lost, whatever folder the checkpoint is pointed at (issue 12); an interrupted write is
//! finished or discarded; a checkpoint verifies itself (checksums, epoch counters, the model it
//! belongs to); and a resumed run equals an uninterrupted one bit for bit. Models and data are the
//! small ones of `support/models.rs`: 8x8 images made here, and the committed Fashion-MNIST subset
//! for the resume test.
//!
//! The tests of folders take `lock()`: `dot_is_refused_and_the_working_directory_kept` changes
//! the working directory.
#![cfg(feature = "flex")]

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use learnable_scattering::ScatterError;
use learnable_scattering::nn::{Scattering2dConfig, Trainable};
use learnable_scattering::train::checkpoint::CheckpointError;
use learnable_scattering::train::{FitOptions, Hybrid, HybridConfig, fit};
use tempfile::TempDir;

mod support;
use support::lock;
use support::models::synthetic::{fit_tiny, tiny_config, tiny_data, tiny_model, with_checkpoints};
use support::scratch::{assert_user_files, scratch, user_files};

// ------------------------------------------------------------------ no user file is lost

#[test]
fn a_folder_with_user_files_is_refused_and_kept() {
    let _g = lock();
    let (_tmp, dir) = scratch("user-folder");
    user_files(&dir);
    let e = fit_tiny(&with_checkpoints(&dir), 1).unwrap_err();
    assert!(
        matches!(&e, ScatterError::Checkpoint(CheckpointError::ForeignEntry { path, .. }) if path == &dir),
        "{e}"
    );
    assert_user_files(&dir);
    assert!(!dir.join("state.json").exists(), "nothing was written");
    // Asked to, the crate writes beside them and replaces none of them, twice.
    let options = FitOptions {
        overwrite: true,
        ..with_checkpoints(&dir)
    };
    fit_tiny(&options, 1).unwrap();
    fit_tiny(&options, 1).unwrap();
    assert_user_files(&dir);
    assert!(dir.join("state.json").is_file() && dir.join("model.bpk").is_file());
}

#[test]
fn dot_is_refused_and_the_working_directory_kept() {
    let _g = lock();
    let (_tmp, dir) = scratch("dot");
    user_files(&dir);
    let cwd = std::env::current_dir().unwrap();
    std::env::set_current_dir(&dir).unwrap();
    let result = fit_tiny(&with_checkpoints(Path::new(".")), 1);
    std::env::set_current_dir(&cwd).unwrap();
    let e = result.unwrap_err();
    assert!(
        matches!(e, ScatterError::Checkpoint(CheckpointError::Path { .. })),
        "{e}"
    );
    assert_user_files(&dir);
}

#[test]
fn a_path_ending_in_dot_dot_is_refused_and_the_parent_kept() {
    let _g = lock();
    let (_tmp, dir) = scratch("dotdot");
    user_files(&dir);
    std::fs::create_dir_all(dir.join("x")).unwrap();
    for path in [dir.join("x/.."), PathBuf::from("/"), PathBuf::new()] {
        let e = fit_tiny(&with_checkpoints(&path), 1).unwrap_err();
        assert!(
            matches!(e, ScatterError::Checkpoint(CheckpointError::Path { .. })),
            "{}: {e}",
            path.display()
        );
    }
    assert_user_files(&dir);
    assert!(dir.join("x").is_dir());
}

#[test]
fn a_sibling_folder_named_like_a_backup_is_kept() {
    let _g = lock();
    let (_tmp, parent) = scratch("sibling");
    // The crate's first layout swapped `exp.v1` through `exp.partial` and `exp.previous`.
    for sibling in ["exp.previous", "exp.partial"] {
        user_files(&parent.join(sibling));
    }
    let dir = parent.join("exp.v1");
    fit_tiny(&with_checkpoints(&dir), 2).unwrap();
    // A second run replaces the crate's own checkpoint.
    fit_tiny(&with_checkpoints(&dir), 2).unwrap();
    for sibling in ["exp.previous", "exp.partial"] {
        assert_user_files(&parent.join(sibling));
    }
    let mut names: Vec<String> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["exp.partial", "exp.previous", "exp.v1"]);
}

#[test]
fn an_existing_file_is_refused_not_renamed() {
    let _g = lock();
    let (_tmp, parent) = scratch("file");
    let file = parent.join("results.txt");
    std::fs::write(&file, "mine").unwrap();
    let e = fit_tiny(&with_checkpoints(&file), 1).unwrap_err();
    assert!(
        matches!(e, ScatterError::Checkpoint(CheckpointError::Path { .. })),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1);
}

#[test]
fn an_interrupted_write_is_finished_or_discarded() {
    let _g = lock();
    let (_tmp, parent) = scratch("interrupted");
    let dir = parent.join("ckpt");
    fit_tiny(&with_checkpoints(&dir), 2).unwrap();
    let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
    // A staging folder left by a crash while writing: discarded, the checkpoint resumes.
    std::fs::create_dir(dir.join(".checkpoint-staging")).unwrap();
    std::fs::write(dir.join(".checkpoint-staging/model.bpk"), "half").unwrap();
    let resume = FitOptions {
        resume: true,
        ..with_checkpoints(&dir)
    };
    fit_tiny(&resume, 2).unwrap();
    assert!(!dir.join(".checkpoint-staging").exists());
    // A complete commit folder left by a crash while moving files: finished first. Here it holds
    // the same checkpoint's manifest and model, as if the crash came after the other files.
    let commit = dir.join(".checkpoint-commit");
    std::fs::create_dir(&commit).unwrap();
    std::fs::copy(dir.join("model.bpk"), commit.join("model.bpk")).unwrap();
    std::fs::write(commit.join("state.json"), &state).unwrap();
    fit_tiny(&resume, 2).unwrap();
    assert!(!commit.exists());
    // A staging folder holding something else is not the crate's: refused, kept.
    std::fs::create_dir(dir.join(".checkpoint-staging")).unwrap();
    std::fs::write(dir.join(".checkpoint-staging/mine.txt"), "mine").unwrap();
    let e = fit_tiny(&resume, 2).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Checkpoint(CheckpointError::ForeignEntry { .. })
        ),
        "{e}"
    );
    assert!(dir.join(".checkpoint-staging/mine.txt").is_file());
}

// ------------------------------------------------------------------ checkpoints verify themselves

/// A 2-epoch checkpoint of the tiny model, written by `fit`.
fn checkpoint(name: &str) -> (TempDir, PathBuf) {
    let (tmp, parent) = scratch(name);
    let dir = parent.join("ckpt");
    fit_tiny(&with_checkpoints(&dir), 2).unwrap();
    (tmp, dir)
}

fn resume(dir: &Path, model: Hybrid) -> learnable_scattering::Result<()> {
    let ds = tiny_data(8);
    let options = FitOptions {
        resume: true,
        ..with_checkpoints(dir)
    };
    fit(model, &ds, &ds, &tiny_config(2), &options).map(|_| ())
}

fn edit_state(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut state);
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
}

#[test]
fn a_checkpoint_with_overwritten_tensor_bytes_is_refused() {
    let _g = lock();
    let (_tmp, dir) = checkpoint("ckpt-bytes");
    resume(&dir, tiny_model(Trainable::all())).unwrap();
    let model = dir.join("model.bpk");
    let mut bytes = std::fs::read(&model).unwrap();
    let n = bytes.len();
    bytes[n - 64..].fill(0xff); // NaN in f32
    std::fs::write(&model, bytes).unwrap();
    let e = resume(&dir, tiny_model(Trainable::all())).unwrap_err();
    assert!(
        matches!(&e, ScatterError::Checkpoint(CheckpointError::Checksum { path, .. }) if path.ends_with("model.bpk")),
        "{e}"
    );
}

#[test]
fn epoch_counters_out_of_range_are_refused() {
    let _g = lock();
    let (_tmp, dir) = checkpoint("ckpt-epochs");
    let original = std::fs::read_to_string(dir.join("state.json")).unwrap();
    for epochs_done in [u64::MAX, 3, 0] {
        edit_state(&dir, |s| s["epochs_done"] = epochs_done.into());
        let e = resume(&dir, tiny_model(Trainable::all())).unwrap_err();
        assert!(
            matches!(e, ScatterError::Checkpoint(CheckpointError::Epochs { epochs_done: d, epochs: 2, .. }) if d == epochs_done),
            "{epochs_done}: {e}"
        );
        std::fs::write(dir.join("state.json"), &original).unwrap();
    }
    // The history must hold one entry per epoch.
    edit_state(&dir, |s| {
        s["history"].as_array_mut().unwrap().pop();
    });
    let e = resume(&dir, tiny_model(Trainable::all())).unwrap_err();
    assert!(
        matches!(e, ScatterError::Checkpoint(CheckpointError::Epochs { .. })),
        "{e}"
    );
}

#[test]
fn swapped_optimiser_files_are_refused() {
    let _g = lock();
    let (_tmp, dir) = checkpoint("ckpt-swap");
    let (head, filters) = (dir.join("optim_head.bpk"), dir.join("optim_filters.bpk"));
    let tmp = dir.join("swap.tmp");
    std::fs::rename(&head, &tmp).unwrap();
    std::fs::rename(&filters, &head).unwrap();
    std::fs::rename(&tmp, &filters).unwrap();
    let e = resume(&dir, tiny_model(Trainable::all())).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Checkpoint(CheckpointError::Checksum { .. })
        ),
        "{e}"
    );
}

#[test]
fn a_frozen_model_does_not_resume_from_a_learnable_checkpoint() {
    let _g = lock();
    let (_tmp, dir) = checkpoint("ckpt-frozen");
    let e = resume(&dir, tiny_model(Trainable::none())).unwrap_err();
    assert!(
        matches!(
            e,
            ScatterError::Checkpoint(CheckpointError::Model {
                what: "trainable filter families",
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("frozen filters"), "{e}");
    // Another architecture (three classes) is refused too.
    let device = Device::flex().autodiff();
    let three = HybridConfig::new(
        Scattering2dConfig::new(1, [8, 8]).with_num_orientations(2),
        1,
        3,
    )
    .init(&device);
    let e = resume(&dir, three).unwrap_err();
    assert!(
        matches!(e, ScatterError::Checkpoint(CheckpointError::Model { .. })),
        "{e}"
    );
    // A state file that is not a manifest of this crate makes the folder foreign; with
    // `overwrite`, resuming from it names the problem.
    std::fs::write(dir.join("state.json"), "{\"hello\": 1}").unwrap();
    let e = resume(&dir, tiny_model(Trainable::all())).unwrap_err();
    assert!(
        matches!(&e, ScatterError::Checkpoint(CheckpointError::ForeignEntry { entry, .. }) if entry.ends_with("state.json")),
        "{e}"
    );
    let ds = tiny_data(8);
    let options = FitOptions {
        resume: true,
        overwrite: true,
        ..with_checkpoints(&dir)
    };
    let e = fit(
        tiny_model(Trainable::all()),
        &ds,
        &ds,
        &tiny_config(2),
        &options,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("not a checkpoint of this crate"),
        "{e}"
    );
}

#[test]
fn remove_checkpoint_deletes_only_the_checkpoint() {
    let _g = lock();
    let (_tmp, dir) = checkpoint("ckpt-remove");
    learnable_scattering::train::checkpoint::remove_checkpoint(&dir).unwrap();
    assert!(!dir.exists());
    // Beside a user's file: the checkpoint goes, the file and the folder stay.
    let options = FitOptions {
        overwrite: true,
        ..with_checkpoints(&dir)
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "my notes").unwrap();
    fit_tiny(&options, 1).unwrap();
    learnable_scattering::train::checkpoint::remove_checkpoint(&dir).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    let e = learnable_scattering::train::checkpoint::remove_checkpoint(&dir).unwrap_err();
    assert!(
        matches!(e, ScatterError::Checkpoint(CheckpointError::Invalid { .. })),
        "{e}"
    );
}

// ------------------------------------------------------------------ resume

/// Resume on real data: the committed Fashion-MNIST subset, with augmentation.
mod fashion_mnist {
    use super::*;
    use burn::module::Module;
    use burn::tensor::Tensor;
    use learnable_scattering::data::augment::{Augmentation, RandomCrop};
    use learnable_scattering::nn::FilterInit;
    use support::models::fashion::{params, tiny_config, tiny_data, tiny_model};

    /// A path that does not exist yet, inside a fresh folder under the system temp dir that is
    /// removed when the returned [`TempDir`](tempfile::TempDir) drops: bind it for the whole test,
    /// not to `_`.
    fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
        let (tmp, parent) = scratch(name);
        (tmp, parent.join(name))
    }

    #[test]
    fn resumed_training_equals_uninterrupted_training() {
        let (train, test) = tiny_data();
        let mut config = tiny_config();
        config.augmentation = Augmentation {
            random_crop: Some(RandomCrop {
                size: 28,
                padding: 2,
            }),
            horizontal_flip: true,
            ..Augmentation::default()
        };
        let init = FilterInit::Random { seed: 11 };
        let (_full_tmp, dir_full) = temp_dir("full");
        let full_opts = FitOptions {
            checkpoint_dir: Some(dir_full.clone()),
            ..FitOptions::default()
        };
        // One initial model for both runs (the backend's seeded RNG is shared with other tests),
        // loaded twice from a record: clones of a burn module share its batch-norm running state.
        let (_record_tmp, initial) = temp_dir("initial");
        let record = initial.with_extension("bpk");
        tiny_model(Trainable::all(), init.clone())
            .save_file(&record)
            .unwrap();
        let initial = || tiny_model(Trainable::all(), init.clone()).load_file(&record);
        let (full, full_report) = fit(initial(), &train, &test, &config, &full_opts).unwrap();

        let (_tmp, dir) = temp_dir("resume");
        let first = FitOptions {
            checkpoint_dir: Some(dir.clone()),
            resume: true,
            stop_after: Some(2),
            ..FitOptions::default()
        };
        let (_, part) = fit(initial(), &train, &test, &config, &first).unwrap();
        assert_eq!(part.history.len(), 2);
        // A fresh process: a newly initialised model (another head initialisation) resumes.
        let rest = FitOptions {
            stop_after: None,
            ..first.clone()
        };
        let fresh = {
            let device = Device::flex().autodiff();
            device.seed(99);
            let scattering = Scattering2dConfig::new(2, [28, 28])
                .with_num_orientations(4)
                .with_init(init.clone());
            HybridConfig::new(scattering, 1, 10).init(&device)
        };
        let (resumed, report) = fit(fresh, &train, &test, &config, &rest).unwrap();
        assert_eq!(report.history, full_report.history);
        assert_eq!(report.trajectory, full_report.trajectory);
        assert_eq!(params(&resumed), params(&full));
        let logits = |m: &Hybrid| -> Vec<f32> {
            let device = Device::flex();
            let x = Tensor::<4>::ones([2, 1, 28, 28], &device);
            m.valid()
                .forward(x)
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .unwrap()
        };
        assert_eq!(logits(&resumed), logits(&full));
        // The checkpoint's filter trajectory is the one the report carries.
        let on_disk = learnable_scattering::trajectory::FilterTrajectory::read_json(
            dir.join(learnable_scattering::trajectory::CHECKPOINT_FILTERS_FILE),
        )
        .unwrap();
        assert_eq!(on_disk, report.trajectory);

        // Another configuration cannot resume from this checkpoint.
        let mut other = config.clone();
        other.head_max_lr = 0.01;
        let err = fit(
            tiny_model(Trainable::all(), init),
            &train,
            &test,
            &other,
            &rest,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ScatterError::Checkpoint(CheckpointError::Invalid { .. })
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("another training configuration"),
            "{err}"
        );
    }
}
