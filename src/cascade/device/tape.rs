//! The device tape: the intermediates a forward keeps on the device for its backward, as the
//! host's `super::super::tape` (`X`, every `u1` and `u2`, the planes' range scales), in separate
//! buffers (cubecl's memory pool reuses them between steps).

use super::DeviceError;
use super::buffer::{Buffer, SplitComplex};
use super::plan::DevicePlan;
use crate::ScatterError;

/// The intermediates of one [`DevicePlan::forward`] with `record`, kept on the device for
/// [`DevicePlan::backward`]: the range scales of every plane (`[2P]`: `2^−e`, then `2^e`), the
/// padded input spectrum `X` (`[P, Mp, Np]`), every first-order complex signal `u1`
/// (`[P, L, M_j1, N_j1]` per `j1`) and every second-order one `u2` (`[P, L, L, M_j2, N_j2]` per
/// `j1 < j2`), as the host's tape: `Mp·Np + Σ_{j1} L·M_j1·N_j1 + Σ_{j1<j2} L²·M_j2·N_j2` complex
/// values per image plane.
#[derive(Clone, Debug)]
pub struct DeviceTape {
    pub(super) planes: usize,
    pub(super) scales: Buffer,
    pub(super) x_hat: SplitComplex,
    /// `u1` of scale `j1`, index `j1`.
    pub(super) u1: Vec<SplitComplex>,
    /// `u2` of `(j1, j2)` at `[j1][j2 − j1 − 1]` (order 2 only).
    pub(super) u2: Vec<Vec<SplitComplex>>,
}

impl DeviceTape {
    /// A tape of `planes` planes with its scales and `X`, before the stages.
    pub(super) fn new(planes: usize, scales: Buffer, x_hat: SplitComplex) -> Self {
        Self {
            planes,
            scales,
            x_hat,
            u1: Vec::new(),
            u2: Vec::new(),
        }
    }

    /// Appends stage `j1`'s `u1` and its `u2` of every `j2 > j1`.
    pub(super) fn push_stage(&mut self, u1: SplitComplex, u2: Vec<SplitComplex>) {
        self.u1.push(u1);
        self.u2.push(u2);
    }

    /// Image planes it was recorded on.
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// Bytes of device memory the tape holds.
    pub fn bytes(&self) -> usize {
        let values = self.x_hat.len()
            + self.u1.iter().map(SplitComplex::len).sum::<usize>()
            + self
                .u2
                .iter()
                .flatten()
                .map(SplitComplex::len)
                .sum::<usize>();
        8 * values + 8 * self.planes
    }

    /// The buffers in a fixed order (`scales`, then `re`, `im` of `X`, then stage by stage `u1`
    /// of `j1` and `u2` of every `(j1, j2 > j1)`): how the burn layer carries a tape as 1-D
    /// tensors.
    pub fn into_buffers(self) -> Vec<Buffer> {
        let mut out = vec![self.scales];
        let stages = self
            .u1
            .into_iter()
            .zip(self.u2)
            .flat_map(|(u1, u2)| std::iter::once(u1).chain(u2));
        for c in std::iter::once(self.x_hat).chain(stages) {
            let (re, im) = c.into_parts();
            out.extend([re, im]);
        }
        out
    }

    /// A tape of `planes` image planes of `plan` from the buffers of [`DeviceTape::into_buffers`]
    /// (same order).
    ///
    /// # Errors
    /// [`ScatterError::InvalidShape`] when the count or a length of the buffers does not match
    /// the plan and `planes`.
    pub fn from_buffers(
        plan: &DevicePlan,
        planes: usize,
        buffers: Vec<Buffer>,
    ) -> Result<Self, DeviceError> {
        let lengths = tape_lengths(plan, planes);
        let got: Vec<usize> = buffers.iter().map(Buffer::len).collect();
        if got != lengths {
            return Err(ScatterError::InvalidShape {
                expected: lengths.into_iter().map(Some).collect(),
                got,
            }
            .into());
        }
        let mut it = buffers.into_iter();
        let scales = it.next().expect("counted");
        let mut complex = || {
            let re = it.next().expect("counted");
            SplitComplex::new(re, it.next().expect("counted"))
        };
        let mut tape = Self::new(planes, scales, complex());
        let big_j = plan.options.num_scales();
        let second = plan.options.max_order() >= 2;
        for j1 in 0..big_j {
            let u1 = complex();
            let pairs = if second { big_j - j1 - 1 } else { 0 };
            let u2 = (0..pairs).map(|_| complex()).collect();
            tape.push_stage(u1, u2);
        }
        Ok(tape)
    }
}

/// The lengths of the buffers of a tape of `planes` image planes of `plan`, in the order of
/// [`DeviceTape::into_buffers`].
fn tape_lengths(plan: &DevicePlan, planes: usize) -> Vec<usize> {
    let big_j = plan.options.num_scales();
    let big_l = plan.options.num_orientations();
    let area = |r: usize| {
        let [m, n] = plan.grid(r);
        m * n
    };
    let mut lengths = vec![2 * planes, planes * area(0), planes * area(0)];
    for j1 in 0..big_j {
        lengths.extend([planes * big_l * area(j1); 2]);
        if plan.options.max_order() >= 2 {
            for j2 in j1 + 1..big_j {
                lengths.extend([planes * big_l * big_l * area(j2); 2]);
            }
        }
    }
    lengths
}
