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
