//! The adjoint's tables, built on the host once per plan and uploaded: the gather descriptors
//! (`super::kernels::adjoint::gather`), the reflect padding's inverse, where each block of the
//! backward's buffers `D1`, `D2` starts, and the un-crop of the filter gradient
//! (`super::kernels::adjoint::uncrop`).

use cubecl::prelude::*;

use super::buffer::Buffer;
use super::kernels::adjoint::{gather, uncrop};
use super::kernels::elementwise::NO_INDEX;
use super::launch::as_u32;
use super::plan::{BankLayout, levels};
use crate::filters::periodize_rows;
use crate::geometry::{PaddedGeometry, ScatteringOptions, ScatteringPath};

/// Where the unpadded planes of one low-pass go: plane `q = (p·outer + a)·inner + b` to channel
/// `c0 + a·sa + b` (see `super::kernels::elementwise::unpad_store`).
#[derive(Clone, Copy, Debug)]
pub(super) struct ChannelMap {
    pub(super) outer: usize,
    pub(super) inner: usize,
    pub(super) c0: usize,
    pub(super) sa: usize,
}

impl ChannelMap {
    /// `len` planes per image plane, to channels `c0..c0 + len`.
    pub(super) fn run(len: usize, c0: usize) -> Self {
        Self {
            outer: 1,
            inner: len,
            c0,
            sa: 0,
        }
    }

    /// The channel of every first-order path of scale `j1`, `[L]` planes per image plane:
    /// contiguous in the path table (checked).
    ///
    /// # Panics
    /// If the path table does not put them side by side.
    fn first_order(options: &ScatteringOptions, paths: &[ScatteringPath], j1: usize) -> Self {
        let big_l = options.num_orientations();
        let c0 = channel(paths, ScatteringPath::First { j1, l1: 0 });
        for l1 in 0..big_l {
            assert_eq!(
                channel(paths, ScatteringPath::First { j1, l1 }),
                c0 + l1,
                "first-order channels are not contiguous"
            );
        }
        Self::run(big_l, c0)
    }

    /// The channels of the `[L1, L2]` second-order planes of `(j1, j2)`: affine in `(l1, l2)`
    /// (checked against the path table).
    ///
    /// # Panics
    /// If the path table is not affine in `(l1, l2)`.
    fn second_order(
        options: &ScatteringOptions,
        paths: &[ScatteringPath],
        j1: usize,
        j2: usize,
    ) -> Self {
        let big_l = options.num_orientations();
        let ch = |l1, l2| channel(paths, ScatteringPath::Second { j1, l1, j2, l2 });
        let c0 = ch(0, 0);
        let sa = if big_l > 1 { ch(1, 0) - c0 } else { 0 };
        for l1 in 0..big_l {
            for l2 in 0..big_l {
                assert_eq!(ch(l1, l2), c0 + l1 * sa + l2, "path table is not affine");
            }
        }
        Self {
            outer: big_l,
            inner: big_l,
            c0,
            sa,
        }
    }

    /// `[outer·inner, inner, c0, sa]`, as the kernels read a map.
    fn words(&self) -> [usize; 4] {
        [self.outer * self.inner, self.inner, self.c0, self.sa]
    }
}

/// The channel maps of every low-pass (first order: per `j1`; second order: per `j1` and
/// `j2 > j1`, at `[j1][j2 − j1 − 1]`), read from the path table once per plan.
pub(super) struct ChannelMaps {
    pub(super) first: Vec<ChannelMap>,
    pub(super) second: Vec<Vec<ChannelMap>>,
}

impl ChannelMaps {
    /// # Panics
    /// If the path table puts a stage's channels where no affine map reaches them.
    pub(super) fn new(options: &ScatteringOptions, paths: &[ScatteringPath]) -> Self {
        let big_j = options.num_scales();
        let second_order = options.max_order() >= 2;
        Self {
            first: (0..big_j)
                .map(|j1| ChannelMap::first_order(options, paths, j1))
                .collect(),
            second: (0..big_j)
                .map(|j1| {
                    let j2s = if second_order {
                        j1 + 1..big_j
                    } else {
                        big_j..big_j
                    };
                    j2s.map(|j2| ChannelMap::second_order(options, paths, j1, j2))
                        .collect()
                })
                .collect(),
        }
    }
}

/// The channel of `path` in the path table.
///
/// # Panics
/// If it is not an output channel.
fn channel(paths: &[ScatteringPath], path: ScatteringPath) -> usize {
    paths
        .iter()
        .position(|p| *p == path)
        .unwrap_or_else(|| panic!("{path:?} is not an output channel"))
}

/// The plan's tables for the adjoint (uploaded once): gather descriptors and the reflect
/// padding's inverse (one `u32` buffer), the un-crop table and scales, and where each block of
/// the backward's buffers `D1`, `D2` starts (per image plane).
pub(super) struct AdjointTables {
    pub(super) table: Buffer,
    /// Offset of the padding's inverse in `table`.
    pub(super) pad0: usize,
    /// Gather descriptor of `X̄`.
    pub(super) gather_x: usize,
    /// Gather descriptor of `Z̄1` of scale `j1`.
    pub(super) gather_z1: Vec<usize>,
    /// Gather descriptor of `Z̄2` of `(j1, j2)`, at `[j1][j2 − j1 − 1]`.
    pub(super) gather_z2: Vec<Vec<usize>>,
    /// Start of `d̄1` of scale `j1` in `D1`, per image plane (`D1` = `[j1][P, L, M_j1, N_j1]`).
    pub(super) d1_block: Vec<usize>,
    pub(super) d1_len: usize,
    /// Start of `d̄2` of `(j1, j2)` in `D2` of `j1`, per image plane, at `[j1][j2 − j1 − 1]`
    /// (`D2(j1)` = `[j2][P, L, L, M_j2, N_j2]`).
    pub(super) d2_block: Vec<Vec<usize>>,
    pub(super) d2_len: Vec<usize>,
    pub(super) uncrop: Uncrop,
}

/// The un-crop table of `filter_grad_unprepare` (layout in `super::kernels::adjoint::uncrop`)
/// and the scale `1/(M_r·N_r)` of every level.
pub(super) struct Uncrop {
    pub(super) table: Buffer,
    pub(super) scales: Buffer,
    pub(super) max_levels: usize,
    pub(super) levels_at: usize,
    pub(super) info_at: usize,
}

/// The gather descriptors as they are appended to the table.
struct Descriptors<'a> {
    table: Vec<u32>,
    channels: usize,
    coarse: [usize; 2],
    count: usize,
    layout: &'a BankLayout,
}

impl Descriptors<'_> {
    /// Appends a descriptor (layout in `super::kernels::adjoint::gather`): the low-pass at
    /// `phi`, its channel map, and `terms` `[block, h_t, w_t, filter offset]`; returns its offset.
    fn push(&mut self, phi: usize, map: ChannelMap, terms: &[[usize; 4]]) -> usize {
        let at = self.table.len();
        let [per_plane, inner, c0, sa] = map.words();
        let [mj, nj] = self.coarse;
        let header = [
            phi,
            per_plane,
            inner,
            c0,
            sa,
            self.channels,
            mj,
            nj,
            self.count,
            terms.len(),
        ];
        self.table.extend(header.map(as_u32));
        debug_assert_eq!(self.table.len() - at, gather::TERM0);
        for t in terms {
            self.table.extend(t.map(as_u32));
        }
        at
    }
}

impl AdjointTables {
    pub(super) fn new(
        client: &Client,
        options: &ScatteringOptions,
        geometry: &PaddedGeometry,
        (paths, maps): (&[ScatteringPath], &ChannelMaps),
        phi_offset: &[usize],
        layout: &BankLayout,
    ) -> Self {
        let big_j = options.num_scales();
        let big_l = options.num_orientations();
        let [mp, np] = geometry.padded_size();
        let area = |r: usize| (mp >> r) * (np >> r);
        let mut desc = Descriptors {
            table: Vec::new(),
            channels: paths.len(),
            coarse: [mp >> big_j, np >> big_j],
            count: big_l,
            layout,
        };
        // D1 = [j1][P, L, M_j1, N_j1].
        let mut d1_len = 0;
        let d1_block: Vec<usize> = (0..big_j)
            .map(|j1| {
                let at = d1_len;
                d1_len += big_l * area(j1);
                at
            })
            .collect();
        let x_terms: Vec<[usize; 4]> = (0..big_j)
            .map(|j1| [d1_block[j1], mp >> j1, np >> j1, layout.offset[j1][0]])
            .collect();
        let gather_x = desc.push(phi_offset[0], ChannelMap::run(1, 0), &x_terms);
        let mut tables = Self {
            table: Buffer::empty(client, 0),
            pad0: 0,
            gather_x,
            gather_z1: Vec::new(),
            gather_z2: Vec::new(),
            d1_block,
            d1_len,
            d2_block: Vec::new(),
            d2_len: Vec::new(),
            uncrop: Uncrop::new(client, options, [mp, np], layout),
        };
        for j1 in 0..big_j {
            tables.push_stage(&mut desc, options, maps, phi_offset, [mp, np], j1);
        }
        let mut table = desc.table;
        tables.pad0 = table.len();
        push_pad_inverse(&mut table, geometry);
        tables.table = Buffer::upload_u32(client, &table);
        tables
    }

    /// The descriptors of stage `j1` (`Z̄2` of every `j2 > j1`, then `Z̄1`) and the blocks of
    /// `D2(j1)`.
    fn push_stage(
        &mut self,
        desc: &mut Descriptors<'_>,
        options: &ScatteringOptions,
        maps: &ChannelMaps,
        phi_offset: &[usize],
        [mp, np]: [usize; 2],
        j1: usize,
    ) {
        let big_l = options.num_orientations();
        // D2 of j1 = [j2][P, L, L, M_j2, N_j2].
        let mut len = 0;
        let mut blocks = Vec::new();
        let mut z2 = Vec::new();
        let mut terms = Vec::new();
        if options.max_order() >= 2 {
            for (j2, &phi) in phi_offset.iter().enumerate().skip(j1 + 1) {
                blocks.push(len);
                terms.push([len, mp >> j2, np >> j2, desc.layout.offset[j2][j1]]);
                len += big_l * big_l * (mp >> j2) * (np >> j2);
                z2.push(desc.push(phi, maps.second[j1][j2 - j1 - 1], &[]));
            }
        }
        self.gather_z1
            .push(desc.push(phi_offset[j1], maps.first[j1], &terms));
        self.gather_z2.push(z2);
        self.d2_block.push(blocks);
        self.d2_len.push(len);
    }
}

/// Appends the inverse of the reflect padding: for rows, then columns, the padded indices of
/// each source index in CSR form (`[start (len + 1)][indices (padded)]`), read by the padding's
/// adjoint (`super::kernels::adjoint::pad_adjoint`).
fn push_pad_inverse(table: &mut Vec<u32>, geometry: &PaddedGeometry) {
    let [mp, np] = geometry.padded_size();
    let rows: Vec<usize> = (0..mp).map(|i| geometry.source_row(i)).collect();
    let cols: Vec<usize> = (0..np).map(|i| geometry.source_col(i)).collect();
    for (len, source) in [(geometry.height, rows), (geometry.width, cols)] {
        let mut lists = vec![Vec::new(); len];
        for (i, &s) in source.iter().enumerate() {
            lists[s].push(i);
        }
        let mut start = 0;
        for l in &lists {
            table.push(as_u32(start));
            start += l.len();
        }
        table.push(as_u32(start));
        table.extend(lists.iter().flatten().map(|&i| as_u32(i)));
    }
}

impl Uncrop {
    fn new(
        client: &Client,
        options: &ScatteringOptions,
        [mp, np]: [usize; 2],
        layout: &BankLayout,
    ) -> Self {
        let big_j = options.num_scales();
        let max_levels = (0..big_j).map(|j| levels(options, j)).max().unwrap_or(1);
        let mut table = vec![0u32; big_j * max_levels];
        for (j, per_res) in layout.offset.iter().enumerate() {
            for (r, &off) in per_res.iter().enumerate() {
                table[j * max_levels + r] = as_u32(off);
            }
        }
        let levels_at = table.len();
        table.extend((0..big_j).map(|j| as_u32(levels(options, j))));
        let info_at = table.len();
        table.resize(info_at + uncrop::LEVEL_WORDS * max_levels, 0);
        for r in 0..max_levels {
            let info = info_at + uncrop::LEVEL_WORDS * r;
            table[info] = as_u32(mp >> r);
            table[info + 1] = as_u32(np >> r);
            table[info + 2] = as_u32(table.len());
            push_inverse_crop(&mut table, mp, r);
            table[info + 3] = as_u32(table.len());
            push_inverse_crop(&mut table, np, r);
        }
        let scales: Vec<f32> = (0..max_levels)
            .map(|r| (1.0 / ((mp >> r) * (np >> r)) as f64) as f32)
            .collect();
        Self {
            table: Buffer::upload_u32(client, &table),
            scales: Buffer::upload(client, &scales),
            max_levels,
            levels_at,
            info_at,
        }
    }
}

/// Appends the inverse of the crop `filters::periodize_rows(len, r)`: for each full-grid index,
/// its index in the crop, or [`NO_INDEX`].
fn push_inverse_crop(table: &mut Vec<u32>, len: usize, r: usize) {
    let mut inverse = vec![NO_INDEX; len];
    for (i, source) in periodize_rows(len, r).into_iter().enumerate() {
        inverse[source] = as_u32(i);
    }
    table.extend(inverse);
}
