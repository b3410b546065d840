//! Training: the optimiser against PyTorch, heads, the training loop on real data (the committed
//! Fashion-MNIST subset), frozen filters, checkpoints and resume.

#![cfg(feature = "flex")]

use learnable_scattering::error::CheckpointError;
use std::path::{Path, PathBuf};

#[path = "support/scratch.rs"]
mod scratch;

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use learnable_scattering::ScatterError;
use learnable_scattering::data::ImageDataset;
use learnable_scattering::data::augment::{Augmentation, Normalization, RandomCrop};
use learnable_scattering::data::idx::load_fashion_mnist;
use learnable_scattering::nn::{FilterInit, Scattering2dConfig, Trainable};
use learnable_scattering::train::optim::{OneCycle, ParamGroupOptimizer};
use learnable_scattering::train::{
    FitOptions, HeadConfig, Hybrid, HybridConfig, TrainConfig, fit, num_trainable_params,
};
use serde_json::Value;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_one_cycle.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(a: f64, b: f64, rtol: f64) -> bool {
    (a - b).abs() <= rtol * b.abs().max(1e-300)
}

// ---------------------------------------------------------------------------------------------
// Optimiser and schedule against PyTorch (tests/fixtures/gen_onecycle.py).

#[test]
fn one_cycle_matches_pytorch() {
    for s in fixture()["schedules"].as_array().unwrap() {
        let total = s["total"].as_u64().unwrap() as usize;
        let max_lr = s["max_lr"].as_f64().unwrap();
        let head = OneCycle::new(total, max_lr);
        let filters = OneCycle::with_peak(total, max_lr, s["filter_lr"].as_f64().unwrap());
        let (lr, lr_f, mom) = (
            floats(&s["lr"]),
            floats(&s["lr_filters"]),
            floats(&s["momentum"]),
        );
        for step in 0..total {
            assert!(
                close(head.lr(step), lr[step], 1e-12),
                "total {total} step {step}: lr {} vs torch {}",
                head.lr(step),
                lr[step]
            );
            assert!(
                close(filters.lr(step), lr_f[step], 1e-12),
                "total {total} step {step}: filter lr"
            );
            assert!(
                close(head.momentum(step), mom[step], 1e-12),
                "total {total} step {step}: momentum"
            );
        }
    }
}

#[derive(Module, Debug)]
struct Toy {
    p: Param<Tensor<1>>,
}

#[test]
fn sgd_with_two_groups_matches_pytorch() {
    let f = fixture();
    let s = &f["sgd"];
    // f32 (flex's default; other tests of this binary share the device): 1e-5 relative still
    // resolves the weight-decay term (~1e-4 of a step) and any momentum or schedule slip.
    let device = Device::flex().autodiff();
    let tensor =
        |v: Vec<f64>, shape: Vec<usize>| Tensor::<1>::from_data(TensorData::new(v, shape), &device);
    let a = Tensor::<1>::from_data(TensorData::new(floats(&s["a"]), [12]), &device).reshape([4, 3]);
    let t = tensor(floats(&s["t"]), vec![4]);
    let mut w = Toy {
        p: Param::from_tensor(tensor(floats(&s["w0"]), vec![3])),
    };
    let mut v = Toy {
        p: Param::from_tensor(tensor(floats(&s["v0"]), vec![1])),
    };
    let total = s["total"].as_u64().unwrap() as usize;
    let max_lr = s["max_lr"].as_f64().unwrap();
    let mut head = ParamGroupOptimizer::new(
        OneCycle::new(total, max_lr),
        s["weight_decay"].as_f64().unwrap(),
    );
    let mut filters = ParamGroupOptimizer::new(
        OneCycle::with_peak(total, max_lr, s["filter_lr"].as_f64().unwrap()),
        0.0,
    );
    for (step, want) in s["steps"].as_array().unwrap().iter().enumerate() {
        let aw = a.clone().matmul(w.p.val().reshape([3, 1])).reshape([4]);
        let loss = (aw * v.p.val() - t.clone()).powf_scalar(2.0).sum();
        let mut grads = loss.backward();
        let gw = GradientsParams::from_module(&mut grads, &w);
        let gv = GradientsParams::from_module(&mut grads, &v);
        w = head.step(step, w, gw);
        v = filters.step(step, v, gv);
        let got_w: Vec<f64> =
            w.p.val()
                .into_data()
                .convert::<f64>()
                .try_into_vec()
                .unwrap();
        let got_v: Vec<f64> =
            v.p.val()
                .into_data()
                .convert::<f64>()
                .try_into_vec()
                .unwrap();
        for (g, e) in got_w
            .iter()
            .zip(floats(&want["w"]))
            .chain(got_v.iter().zip(floats(&want["v"])))
        {
            assert!(close(*g, e, 1e-5), "step {step}: {g} vs torch {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Heads.

#[test]
fn head_parameter_counts_match_the_paper() {
    // The reference code's logged parameter counts (parametricSN/models/sn_top_models.py): CIFAR
    // J=2 → 243 channels at 8×8, 10 classes.
    let device = Device::flex().autodiff();
    let linear = HeadConfig::Linear.init(243, [8, 8], 10, &device);
    assert_eq!(num_trainable_params(&linear), 156_016);
    let wrn = HeadConfig::wrn().init(243, [8, 8], 10, &device);
    assert_eq!(num_trainable_params(&wrn), 22_597_232);
    // The whole hybrid adds the 64 filter parameters (J = 2, L = 8), or none when frozen.
    let hybrid = |t| {
        HybridConfig::new(
            Scattering2dConfig::new(2, [32, 32]).with_trainable(t),
            3,
            10,
        )
        .init(&device)
    };
    assert_eq!(
        num_trainable_params(&hybrid(Trainable::all())),
        156_016 + 64
    );
    assert_eq!(num_trainable_params(&hybrid(Trainable::none())), 156_016);
}

#[test]
fn heads_give_logits_for_any_backend_input() {
    let device = Device::flex();
    let x = Tensor::<4>::ones([3, 6, 5, 4], &device);
    for head in [
        HeadConfig::Linear,
        HeadConfig::Wrn {
            width: 1,
            blocks: 2,
        },
        HeadConfig::Mlp {
            hidden: vec![16, 8],
        },
    ] {
        let h = head.init(6, [5, 4], 7, &device);
        assert_eq!(h.forward(x.clone()).dims(), [3, 7], "{head:?}");
    }
}

#[test]
#[should_panic(expected = "linear head: expected features [batch, 6, 5, 4], got [batch, 6, 4, 4]")]
fn linear_head_rejects_other_feature_shapes() {
    let device = Device::flex();
    let h = HeadConfig::Linear.init(6, [5, 4], 2, &device);
    let _ = h.forward(Tensor::<4>::ones([1, 6, 4, 4], &device));
}

#[test]
#[should_panic(expected = "Hybrid: expected 1 input channels, got 3")]
fn hybrid_rejects_other_channel_counts() {
    let device = Device::flex();
    let model = HybridConfig::new(
        Scattering2dConfig::new(1, [8, 8]).with_num_orientations(2),
        1,
        3,
    )
    .init(&device);
    let _ = model.forward(Tensor::<4>::ones([2, 3, 8, 8], &device));
}

// ---------------------------------------------------------------------------------------------
// Training on real data: the committed Fashion-MNIST subset (examples/data/fashion-mnist-small).

fn tiny_data() -> (ImageDataset, ImageDataset) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/fashion-mnist-small");
    let (train, test) = load_fashion_mnist(&dir).unwrap();
    // 4 images per class for training, 3 per class for testing: the first ones in file order.
    let pick = |ds: &ImageDataset, k: usize| {
        let idx: Vec<usize> = ds
            .class_indices()
            .iter()
            .flat_map(|c| c[..k].to_vec())
            .collect();
        ds.select(&idx)
    };
    (pick(&train, 4), pick(&test, 3))
}

fn tiny_model(trainable: Trainable, init: FilterInit) -> Hybrid {
    let device = Device::flex().autodiff();
    device.seed(7);
    let scattering = Scattering2dConfig::new(2, [28, 28])
        .with_num_orientations(4)
        .with_init(init)
        .with_trainable(trainable);
    HybridConfig::new(scattering, 1, 10).init(&device)
}

fn tiny_config() -> TrainConfig {
    let mut c = TrainConfig::new(4, 20, 0.05, 0.1);
    c.normalization = Normalization {
        mean: vec![0.286],
        std: vec![0.353],
    };
    c.seed = 3;
    c
}

fn params(model: &Hybrid) -> Vec<Vec<f32>> {
    let f = &model.scattering.filters;
    [&f.log_sigma, &f.xi, &f.theta, &f.log_slant]
        .iter()
        .map(|p| p.val().into_data().convert::<f32>().try_into_vec().unwrap())
        .collect()
}

/// The filter bank's spectra, flattened.
fn spectra(model: &Hybrid) -> Vec<f32> {
    let spectra = model.scattering.filters.spectra().into_data();
    spectra.convert::<f32>().try_into_vec().unwrap()
}

/// A path that does not exist yet, inside a fresh folder under the system temp dir that is
/// removed when the returned [`TempDir`](tempfile::TempDir) drops: bind it for the whole test,
/// not to `_`.
fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, parent) = scratch::scratch(name);
    (tmp, parent.join(name))
}

#[test]
fn training_lowers_the_loss_and_moves_the_filters() {
    let (train, test) = tiny_data();
    let model = tiny_model(Trainable::all(), FilterInit::TightFrame);
    let before = params(&model);
    let mut config = tiny_config();
    config.epochs = 6;
    let (trained, report) = fit(model, &train, &test, &config, &FitOptions::default()).unwrap();
    let losses: Vec<f64> = report.history.iter().map(|s| s.train_loss).collect();
    assert!(
        losses[5] < 0.7 * losses[0],
        "training loss did not drop: {losses:?}"
    );
    let after = params(&trained);
    for (name, (b, a)) in ["log_sigma", "xi", "theta", "log_slant"]
        .iter()
        .zip(before.iter().zip(&after))
    {
        let moved = b
            .iter()
            .zip(a)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 1e-5, "{name} did not move (max change {moved})");
    }
    let acc = report.final_test_accuracy;
    assert!((0.0..=1.0).contains(&acc));
    // The trajectory holds the initial bank and one bank per epoch, the last one the model's.
    assert_eq!(report.trajectory.points.len(), 7);
    assert_eq!(
        report.trajectory.points.last().unwrap().bank,
        trained.scattering.filters.to_params().unwrap()
    );
}

#[test]
fn frozen_filters_stay_bit_identical_with_and_without_augmentation() {
    let (train, test) = tiny_data();
    for augmented in [false, true] {
        let model = tiny_model(Trainable::none(), FilterInit::Random { seed: 5 });
        let before = params(&model);
        let spectra_before = spectra(&model);
        let mut config = tiny_config();
        config.epochs = 2;
        if augmented {
            config.augmentation = Augmentation {
                random_crop: Some(RandomCrop {
                    size: 28,
                    padding: 2,
                }),
                horizontal_flip: true,
                cutout: Some(6),
                ..Augmentation::default()
            };
        }
        let (trained, report) = fit(model, &train, &test, &config, &FitOptions::default()).unwrap();
        assert_eq!(params(&trained), before, "augmented: {augmented}");
        let spectra_after = spectra(&trained);
        assert_eq!(spectra_after, spectra_before);
        assert!(report.history.len() == 2 && report.final_test_accuracy.is_finite());
    }
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
    let on_disk = learnable_scattering::filters::trajectory::FilterTrajectory::read_json(
        dir.join(learnable_scattering::train::FILTERS_FILE),
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

#[test]
fn fit_rejects_bad_settings_with_typed_errors() {
    let (train, test) = tiny_data();
    let mut config = tiny_config();
    config.epochs = 0;
    let err = fit(
        tiny_model(Trainable::all(), FilterInit::TightFrame),
        &train,
        &test,
        &config,
        &FitOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ScatterError::InvalidTraining(_)), "{err}");
    // A model on a device without autodiff cannot train.
    let device = Device::flex();
    let model = HybridConfig::new(
        Scattering2dConfig::new(2, [28, 28]).with_num_orientations(4),
        1,
        10,
    )
    .init(&device);
    let err = fit(model, &train, &test, &tiny_config(), &FitOptions::default()).unwrap_err();
    assert!(err.to_string().contains("autodiff"), "{err}");
    // RGB data for a grey model.
    let rgb = ImageDataset::new(
        ndarray::Array4::zeros((2, 3, 28, 28)),
        vec![0, 1],
        (0..10).map(|c| c.to_string()).collect(),
    )
    .unwrap();
    let err = fit(
        tiny_model(Trainable::all(), FilterInit::TightFrame),
        &rgb,
        &test,
        &tiny_config(),
        &FitOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("channels"), "{err}");
}

/// Rates and normalisations that would train to NaN are refused before the first step.
#[test]
fn fit_rejects_non_finite_rates_and_zero_std() {
    let (train, test) = tiny_data();
    type Change = fn(&mut TrainConfig);
    let cases: [(&str, Change); 7] = [
        ("filter_lr = inf", |c| c.filter_lr = f64::INFINITY),
        ("filter_lr = 0", |c| c.filter_lr = 0.0),
        ("head_max_lr = NaN", |c| c.head_max_lr = f64::NAN),
        ("head_max_lr < 0", |c| c.head_max_lr = -0.1),
        ("weight_decay = inf", |c| c.weight_decay = f64::INFINITY),
        ("std = 0", |c| c.normalization.std = vec![0.0]),
        ("mean = NaN", |c| c.normalization.mean = vec![f32::NAN]),
    ];
    for (label, change) in cases {
        let mut config = tiny_config();
        change(&mut config);
        let err = fit(
            tiny_model(Trainable::all(), FilterInit::TightFrame),
            &train,
            &test,
            &config,
            &FitOptions::default(),
        )
        .unwrap_err();
        println!("{label}: {err}");
        assert!(
            matches!(err, ScatterError::InvalidTraining(_)),
            "{label}: {err}"
        );
    }
}

/// The linear head never forms the normalised features, but gives what burn's `BatchNorm`
/// followed by `Linear` give: outputs and every gradient in training mode, outputs in inference
/// mode, and the same running statistics.
#[test]
fn linear_head_equals_batch_norm_then_linear() {
    let device = Device::flex().autodiff();
    let values: Vec<f32> = (0..6 * 5 * 3 * 2)
        .map(|i| ((i * 37 % 23) as f32 - 9.0) / 7.0 + (i % 5) as f32)
        .collect();
    let learnable_scattering::train::Head::Linear(head) =
        HeadConfig::Linear.init(5, [3, 2], 4, &device)
    else {
        unreachable!()
    };
    // Move γ and β away from 1 and 0 so that they matter.
    let mut head = head;
    head.norm.gamma = head
        .norm
        .gamma
        .map(|g| g.mul_scalar(1.5).add_scalar(0.2).detach().require_grad());
    head.norm.beta = head
        .norm
        .beta
        .map(|b| b.add_scalar(0.3).detach().require_grad());
    let x = || {
        Tensor::<4>::from_data(TensorData::new(values.clone(), [6, 5, 3, 2]), &device)
            .require_grad()
    };
    let grads_of = |logits: Tensor<2>, x: &Tensor<4>| -> (Vec<f32>, Vec<Vec<f32>>) {
        let out: Vec<f32> = logits
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        let weights = Tensor::<2>::from_data(
            TensorData::new(
                (0..24).map(|i| (i % 7) as f32 - 3.0).collect::<Vec<_>>(),
                [6, 4],
            ),
            &device,
        );
        let grads = (logits * weights).sum().backward();
        let v = |t: Option<Tensor<1>>| {
            t.unwrap()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let w = head
            .linear
            .weight
            .val()
            .grad(&grads)
            .unwrap()
            .flatten::<1>(0, 1);
        (
            out,
            vec![
                v(Some(w)),
                v(head.linear.bias.as_ref().unwrap().val().grad(&grads)),
                v(head.norm.gamma.val().grad(&grads)),
                v(head.norm.beta.val().grad(&grads)),
                v(x.grad(&grads).map(|g| g.flatten::<1>(0, 3))),
            ],
        )
    };
    let x1 = x();
    let fused = grads_of(head.forward(x1.clone()), &x1);
    let fused_mean: Vec<f32> = head
        .norm
        .running_mean
        .value_sync()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let x2 = x();
    let reference = grads_of(
        head.linear
            .forward(head.norm.forward(x2.clone()).flatten::<2>(1, 3)),
        &x2,
    );
    let close = |a: &[f32], b: &[f32], what: &str| {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * scale, "{what}: {a:?} vs {b:?}");
        }
    };
    close(&fused.0, &reference.0, "logits");
    for (i, (a, b)) in fused.1.iter().zip(&reference.1).enumerate() {
        close(a, b, &format!("gradient {i}"));
    }
    // The running mean after one training step: 0.9·0 + 0.1·(batch mean per channel).
    for c in 0..5 {
        let values = &values;
        let mean: f32 = (0..6)
            .flat_map(|b| (0..6).map(move |p| values[b * 30 + c * 6 + p]))
            .sum::<f32>()
            / 36.0;
        assert!(
            (fused_mean[c] - 0.1 * mean).abs() < 1e-6,
            "channel {c}: {} vs {}",
            fused_mean[c],
            0.1 * mean
        );
    }
    // Inference mode (no autodiff): running statistics.
    let plain = Device::flex();
    let head_plain = head.clone().valid();
    let xp = Tensor::<4>::from_data(TensorData::new(values.clone(), [6, 5, 3, 2]), &plain);
    let a: Vec<f32> = head_plain
        .forward(xp.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let b: Vec<f32> = head_plain
        .linear
        .forward(head_plain.norm.forward(xp).flatten::<2>(1, 3))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    close(&a, &b, "inference logits");
}

/// Heads are named by an enum (a misspelt name is an error, not the linear settings), and the
/// paper's presets come from its table.
#[test]
fn head_kinds_and_paper_presets() {
    use learnable_scattering::train::HeadKind;
    assert_eq!("wrn".parse::<HeadKind>().unwrap(), HeadKind::Wrn);
    let e = "wrm".parse::<HeadKind>().unwrap_err();
    assert!(e.to_string().contains("expected linear, wrn or mlp"), "{e}");
    assert_eq!(
        serde_json::to_string(&HeadKind::Linear).unwrap(),
        "\"linear\""
    );
    for (head, size, epochs, batch, lr) in [
        (HeadKind::Linear, 100, 5000, 128, 0.06),
        (HeadKind::Linear, 500, 1000, 500, 0.13),
        (HeadKind::Linear, 1000, 500, 1000, 0.2),
        (HeadKind::Linear, 50000, 500, 1024, 0.2),
        (HeadKind::Wrn, 100, 3000, 128, 0.1),
        (HeadKind::Wrn, 1000, 1000, 128, 0.1),
    ] {
        let c = TrainConfig::paper_cifar10(head, size);
        assert_eq!(
            (c.epochs, c.batch_size, c.head_max_lr, c.filter_lr),
            (epochs, batch, lr, 0.1),
            "{head} {size}"
        );
    }
    assert_eq!(TrainConfig::paper_kth(HeadKind::Wrn).epochs, 50);
}
