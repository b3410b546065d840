//! SGD with momentum and weight decay under a one-cycle schedule, as the paper trains
//! (the reference code's `parametricSN/utils/optimizer_factory.py` and `scheduler_factory.py`,
//! bentherien/parametricScatteringNetworks): PyTorch's `SGD` + `OneCycleLR`, stepped per batch.

use std::f64::consts::PI;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::optim::momentum::{Momentum, MomentumConfig, MomentumState};
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// PyTorch `OneCycleLR` defaults used by the paper: `div_factor`.
pub const ONE_CYCLE_DIV: f64 = 25.0;
/// `final_div_factor`.
pub const ONE_CYCLE_FINAL_DIV: f64 = 1e4;
/// `pct_start`: fraction of the steps spent warming up.
pub const ONE_CYCLE_PCT_START: f64 = 0.3;
/// `base_momentum` (reached at the peak learning rate).
pub const ONE_CYCLE_BASE_MOMENTUM: f64 = 0.85;
/// `max_momentum` (at the start and the end of the cycle).
pub const ONE_CYCLE_MAX_MOMENTUM: f64 = 0.95;

/// One learning-rate cycle: cosine warm-up from `initial` to `peak` over the first 30 % of the
/// steps, then cosine annealing to `last`; momentum moves the opposite way between 0.95 and 0.85.
///
/// Exactly PyTorch's `OneCycleLR(three_phase=False, anneal_strategy='cos')`: phase boundaries at
/// step `0.3·total − 1` and `total − 1`, `lr(step)` for `step = 0..total` (step `k` is the rate of
/// the `k`-th optimiser step).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneCycle {
    /// Number of optimiser steps (`epochs × batches per epoch`).
    pub total_steps: usize,
    /// Learning rate at step 0.
    pub initial: f64,
    /// Learning rate at the end of the warm-up.
    pub peak: f64,
    /// Learning rate at the last step.
    pub last: f64,
}

impl OneCycle {
    /// PyTorch's schedule for one parameter group: `initial = max_lr / 25`, `last = initial / 1e4`.
    pub fn new(total_steps: usize, max_lr: f64) -> Self {
        let initial = max_lr / ONE_CYCLE_DIV;
        Self {
            total_steps,
            initial,
            peak: max_lr,
            last: initial / ONE_CYCLE_FINAL_DIV,
        }
    }

    /// The paper's filter group: PyTorch computed `initial` and `last` from the head's `max_lr`
    /// when the scheduler was built, then the reference code overwrote the group's `max_lr` with the
    /// filter rate. So the filters start at `head_max_lr / 25`, peak at `filter_lr` and end at
    /// `head_max_lr / 25 / 1e4`.
    pub fn with_peak(total_steps: usize, base_max_lr: f64, peak: f64) -> Self {
        Self {
            peak,
            ..Self::new(total_steps, base_max_lr)
        }
    }

    fn phase(&self, step: usize) -> (f64, usize) {
        // (fraction of the phase done, phase index)
        let warm_end = ONE_CYCLE_PCT_START * self.total_steps as f64 - 1.0;
        let last = self.total_steps as f64 - 1.0;
        let s = step as f64;
        if s <= warm_end {
            (s / warm_end, 0)
        } else {
            ((s - warm_end) / (last - warm_end), 1)
        }
    }

    /// Learning rate of optimiser step `step` (`0..total_steps`).
    pub fn lr(&self, step: usize) -> f64 {
        match self.phase(step) {
            (pct, 0) => cos_anneal(self.initial, self.peak, pct),
            (pct, _) => cos_anneal(self.peak, self.last, pct),
        }
    }

    /// Momentum of optimiser step `step`.
    pub fn momentum(&self, step: usize) -> f64 {
        let (hi, lo) = (ONE_CYCLE_MAX_MOMENTUM, ONE_CYCLE_BASE_MOMENTUM);
        match self.phase(step) {
            (pct, 0) => cos_anneal(hi, lo, pct),
            (pct, _) => cos_anneal(lo, hi, pct),
        }
    }
}

fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
}

/// PyTorch's SGD (`dampening = 0`, no Nesterov) whose momentum can change between steps, so that
/// a one-cycle schedule can cycle it.
///
/// Update per parameter `p` with gradient `g`: `d = g + wd·p`; `v = d` on the first step, else
/// `v = μ·v + d`; `p ← p − lr·v`. The momentum `μ` is shared by the clones of one optimiser (the
/// [`ModuleOptimizer`] keeps one) and set with [`CycledSgd::set_momentum`].
#[derive(Clone, Debug)]
pub struct CycledSgd {
    weight_decay: f64,
    momentum: Arc<AtomicU64>,
}

impl CycledSgd {
    /// SGD with the given weight decay (`0` for none) and momentum.
    pub fn new(weight_decay: f64, momentum: f64) -> Self {
        Self {
            weight_decay,
            momentum: Arc::new(AtomicU64::new(momentum.to_bits())),
        }
    }

    /// Sets the momentum used by the next steps.
    pub fn set_momentum(&self, momentum: f64) {
        self.momentum.store(momentum.to_bits(), Ordering::Relaxed);
    }

    /// The current momentum.
    pub fn momentum(&self) -> f64 {
        f64::from_bits(self.momentum.load(Ordering::Relaxed))
    }
}

impl Optimizer for CycledSgd {
    type State<const D: usize> = MomentumState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let grad = if self.weight_decay != 0.0 {
            grad + tensor.clone().mul_scalar(self.weight_decay)
        } else {
            grad
        };
        let momentum = Momentum::new(
            &MomentumConfig::new()
                .with_momentum(self.momentum())
                .with_dampening(0.0),
        );
        let (velocity, state) = momentum.transform(grad, state);
        (tensor - velocity.mul_scalar(lr), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}

/// One parameter group: its optimiser state, its momentum handle and its schedule.
#[derive(Clone)]
pub struct ParamGroupOptimizer {
    sgd: CycledSgd,
    /// burn's per-parameter state (momentum buffers), saved in checkpoints.
    pub optimizer: ModuleOptimizer,
    /// The group's learning-rate schedule.
    pub schedule: OneCycle,
}

impl ParamGroupOptimizer {
    /// A group trained with `schedule` and weight decay `weight_decay`.
    pub fn new(schedule: OneCycle, weight_decay: f64) -> Self {
        let sgd = CycledSgd::new(weight_decay, schedule.momentum(0));
        Self {
            optimizer: ModuleOptimizer::from(sgd.clone()),
            sgd,
            schedule,
        }
    }

    /// Applies optimiser step `step` (learning rate and momentum from the schedule) to `module`.
    pub fn step<M: burn::module::Module>(
        &mut self,
        step: usize,
        module: M,
        grads: burn::optim::GradientsParams,
    ) -> M {
        self.sgd.set_momentum(self.schedule.momentum(step));
        self.optimizer.step(self.schedule.lr(step), module, grads)
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use std::path::Path;

    use burn::module::{Module, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};
    use serde_json::Value;

    use super::*;

    fn fixture() -> Value {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_one_cycle.json");
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

    // Against PyTorch (tests/fixtures/gen_onecycle.py).

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
        let tensor = |v: Vec<f64>, shape: Vec<usize>| {
            Tensor::<1>::from_data(TensorData::new(v, shape), &device)
        };
        let a =
            Tensor::<1>::from_data(TensorData::new(floats(&s["a"]), [12]), &device).reshape([4, 3]);
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

    // Against the documented formulas.

    /// The schedule's three documented rates: `initial` at step 0, `peak` at the end of the warm-up
    /// (step `0.3·total − 1`), `last` at step `total − 1`; momentum 0.95, 0.85, 0.95 there. The
    /// rate rises, then falls, monotonically.
    #[test]
    fn one_cycle_starts_peaks_and_ends_at_its_documented_rates() {
        let (total, max_lr) = (100, 0.2);
        let s = OneCycle::new(total, max_lr);
        assert!(
            close(s.initial, max_lr / 25.0, 1e-15) && close(s.last, max_lr / 25.0 / 1e4, 1e-15)
        );
        let warm_end = 29;
        for (step, lr, momentum) in [
            (0, s.initial, 0.95),
            (warm_end, max_lr, 0.85),
            (total - 1, s.last, 0.95),
        ] {
            assert!(
                close(s.lr(step), lr, 1e-12),
                "step {step}: {} vs {lr}",
                s.lr(step)
            );
            assert!(
                close(s.momentum(step), momentum, 1e-12),
                "step {step}: momentum"
            );
        }
        let rates: Vec<f64> = (0..total).map(|k| s.lr(k)).collect();
        assert!(rates[..=warm_end].windows(2).all(|r| r[0] < r[1]));
        assert!(rates[warm_end..].windows(2).all(|r| r[0] > r[1]));
        // The filter group only moves the peak.
        let f = OneCycle::with_peak(total, max_lr, 0.1);
        assert_eq!((f.initial, f.peak, f.last), (s.initial, 0.1, s.last));
    }

    /// The documented update `d = g + wd·p`; `v = d` on the first step, else `v = μ·v + d`;
    /// `p ← p − lr·v`, with a momentum changed between steps through a clone of the optimiser.
    #[test]
    fn cycled_sgd_follows_the_documented_update() {
        let device = Device::flex().autodiff();
        let (wd, lr, g) = (0.1, 0.05, [0.5, -0.25, 2.0]);
        let sgd = CycledSgd::new(wd, 0.9);
        let handle = sgd.clone();
        let mut optimizer = ModuleOptimizer::from(sgd);
        let mut toy = Toy {
            p: Param::from_tensor(Tensor::<1>::from_data(
                TensorData::new(vec![1.0, -2.0, 0.5], [3]),
                &device,
            )),
        };
        let (mut p, mut v) = ([1.0f64, -2.0, 0.5], [0.0f64; 3]);
        for (step, mu) in [0.9, 0.9, 0.6].into_iter().enumerate() {
            handle.set_momentum(mu);
            assert_eq!(handle.momentum(), mu);
            let weights = Tensor::<1>::from_data(TensorData::new(g.to_vec(), [3]), &device);
            let mut grads = (toy.p.val() * weights).sum().backward();
            let grads = GradientsParams::from_module(&mut grads, &toy);
            toy = optimizer.step(lr, toy, grads);
            for i in 0..3 {
                let d = g[i] + wd * p[i];
                v[i] = if step == 0 { d } else { mu * v[i] + d };
                p[i] -= lr * v[i];
            }
            let got: Vec<f64> = toy
                .p
                .val()
                .into_data()
                .convert::<f64>()
                .try_into_vec()
                .unwrap();
            for (a, b) in got.iter().zip(&p) {
                assert!((a - b).abs() < 1e-6, "step {step}: {got:?} vs {p:?}");
            }
        }
    }
}
