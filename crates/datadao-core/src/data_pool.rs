//! The data pool: contributions, consent per use case, and who the jobs' usage credits.
//!
//! Consent changes (revoking a use case, removing data) apply to all of a member's data,
//! so the pool keeps per-member aggregates rather than a list of datasets: Contribution
//! Weight `sum(quality^a * quantity^b)`, the part of it that allows each use case, and the
//! quantity-weighted quality used as the Circles score.
//!
//! Usage is credited with the reward-per-token pattern of staking contracts: a job of
//! `A` dDT for use case `u` raises `usage_index[u]` by `A / W_u` (W_u: weight allowing
//! `u`), and a member's credit is its allowed weight times the index's rise since it last
//! settled. A job is O(1) whatever the number of members, and a member's weight is always
//! settled *before* it changes, so data is credited only while its owner allows the use.
//!
//! Credits are paid per *period* (from one Pie distribution to the next). A member that
//! changed nothing during a period earned its allowed weight times the index's rise since
//! the period began, so reading its credit writes nothing; only members that changed
//! their data carry a settled credit and snapshots, stamped with the period. Closing a
//! period is O(1). At a million members this halves the memory traffic of a usage-based
//! distribution.

use serde::{Deserialize, Serialize};

/// Most use cases a scenario may define; per-member consent state is a fixed-size array.
pub const MAX_USE_CASES: usize = 8;

/// The data pool as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Use cases members consent to or not (at most 8).
    pub use_cases: Vec<String>,
    /// Exponent `a` of quality in `quality^a * quantity^b`.
    pub quality_exponent: f64,
    /// Exponent `b` of quantity in `quality^a * quantity^b`.
    pub quantity_exponent: f64,
    /// Label of the quantity unit (KB, triplets, ...), for reports only.
    pub quantity_unit: String,
    /// Organizations buy `daily * allowed_weight / total_weight` for their use case
    /// instead of the full daily amount.
    pub demand_scales_with_allowed_data: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            use_cases: vec!["research".into(), "commercial".into(), "ai_training".into()],
            quality_exponent: 1.0,
            quantity_exponent: 1.0,
            quantity_unit: "KB".into(),
            demand_scales_with_allowed_data: false,
        }
    }
}

/// A member's standing for one use case: the weight allowing it and the usage index
/// when that weight was last settled. Kept side by side so settling touches one line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct UseAccount {
    allowed: f64,
    snapshot: f64,
}

/// One member's data and usage account. Laid out for the per-step settlement pass over
/// every member: the credit, the mask and the first use cases' accounts share the first
/// cache line.
#[derive(Clone, Debug, Default, PartialEq)]
#[repr(C, align(64))]
pub struct MemberData {
    /// Usage credit earned in period `settled_period` up to the last settlement.
    usage_credit: f64,
    /// The period in which it last settled; its snapshots and credit belong to it.
    settled_period: u32,
    /// Use cases any of its live data allows (bit `u`).
    pub mask: u8,
    accounts: [UseAccount; MAX_USE_CASES],
    /// Live Contribution Weight.
    pub weight: f64,
    /// Sum of quality * quantity over live data (for the score).
    pub quality_quantity: f64,
    /// Sum of quantity over live data.
    pub quantity: f64,
}

impl MemberData {
    /// Live weight allowing use case `u`.
    pub fn allowed(&self, u: usize) -> f64 {
        self.accounts[u].allowed
    }

    /// The Circles score: quantity-weighted mean quality of its live data, 0..100.
    pub fn score(&self) -> f64 {
        if self.quantity > 0.0 {
            100.0 * self.quality_quantity / self.quantity
        } else {
            0.0
        }
    }
}

/// The pool of all members' data.
#[derive(Clone, Debug)]
pub struct DataPool {
    use_cases: usize,
    quality_exponent: f64,
    quantity_exponent: f64,
    members: Vec<MemberData>,
    total_weight: f64,
    allowed_total: [f64; MAX_USE_CASES],
    /// Members whose data allows each use case; when it reaches zero the total is reset
    /// to exactly zero, so rounding residue never lets a job run over nothing.
    allowing: [u64; MAX_USE_CASES],
    removed_weight: f64,
    usage_index: [f64; MAX_USE_CASES],
    /// Members with live data (same exact-zero reset as `allowing`).
    contributors: u64,
    /// The current usage period, and the usage index when it began.
    period: u32,
    index_at_period_start: [f64; MAX_USE_CASES],
    /// dDT of jobs since usage was last taken: every job is credited in full to
    /// someone, so this is the sum of all members' credits without a pass over them.
    usage_total: f64,
}

impl DataPool {
    /// An empty pool for `use_cases` use cases and weight `quality^a * quantity^b`.
    pub fn new(use_cases: usize, a: f64, b: f64) -> Self {
        Self {
            use_cases,
            quality_exponent: a,
            quantity_exponent: b,
            members: Vec::new(),
            total_weight: 0.0,
            allowed_total: [0.0; MAX_USE_CASES],
            allowing: [0; MAX_USE_CASES],
            removed_weight: 0.0,
            usage_index: [0.0; MAX_USE_CASES],
            contributors: 0,
            period: 0,
            index_at_period_start: [0.0; MAX_USE_CASES],
            usage_total: 0.0,
        }
    }

    /// `quality^a * quantity^b`.
    pub fn weight_of(&self, quality: f64, quantity: f64) -> f64 {
        quality.powf(self.quality_exponent) * quantity.powf(self.quantity_exponent)
    }

    /// Make room for agent `id` (organizations get an empty account too, so ids index
    /// directly).
    pub fn register(&mut self, id: usize) {
        if self.members.len() <= id {
            self.members.resize(id + 1, MemberData::default());
        }
    }

    /// A copy with room for `extra` more members, so a copy that grows does not hold
    /// its old and new storage at once (foresight forks).
    pub fn fork_with_room(&self, extra: usize) -> Result<Self, std::collections::TryReserveError> {
        let mut members = Vec::new();
        members.try_reserve_exact(self.members.len() + extra)?;
        members.extend_from_slice(&self.members);
        Ok(Self { members, ..*self })
    }

    /// Bytes each registered member takes here.
    pub const BYTES_PER_MEMBER: usize = std::mem::size_of::<MemberData>();

    /// Room for `total` registered members in all, asked for up front so that a
    /// population too large for memory is refused rather than aborting.
    pub fn try_reserve_members(
        &mut self,
        total: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        self.members
            .try_reserve_exact(total.saturating_sub(self.members.len()))
    }

    /// A member's data.
    pub fn member(&self, id: usize) -> &MemberData {
        &self.members[id]
    }

    /// Live weight of all data.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Weight ever removed from the pool.
    pub fn removed_weight(&self) -> f64 {
        self.removed_weight
    }

    /// Live weight allowing use case `u`.
    pub fn allowed_weight(&self, u: usize) -> f64 {
        self.allowed_total[u]
    }

    /// Share of live weight allowing `u` (0 when the pool is empty).
    pub fn allowed_share(&self, u: usize) -> f64 {
        if self.total_weight > 0.0 {
            (self.allowed_total[u] / self.total_weight).min(1.0)
        } else {
            0.0
        }
    }

    /// Whether a job for `u` has data to run over.
    pub fn can_run(&self, u: usize) -> bool {
        self.allowing[u] > 0 && self.allowed_total[u] > 0.0
    }

    /// The index value usage of `u` is counted from for member `m` in this period: its
    /// snapshot if it settled this period, else the period's start.
    fn base(&self, m: &MemberData, u: usize) -> f64 {
        if m.settled_period == self.period {
            m.accounts[u].snapshot
        } else {
            self.index_at_period_start[u]
        }
    }

    /// Usage member `m` earned this period: its settled credit plus what accrued since.
    fn earned(&self, m: &MemberData) -> f64 {
        let mut credit = if m.settled_period == self.period {
            m.usage_credit
        } else {
            0.0
        };
        let mut mask = m.mask;
        while mask != 0 {
            let u = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            credit += m.accounts[u].allowed * (self.usage_index[u] - self.base(m, u));
        }
        credit
    }

    /// Fix the member's credit so far this period and restart its accrual from now,
    /// before its allowed weights change.
    fn settle(&mut self, id: usize) {
        let credit = self.earned(&self.members[id]);
        let m = &mut self.members[id];
        m.usage_credit = credit;
        m.settled_period = self.period;
        for u in 0..self.use_cases {
            m.accounts[u].snapshot = self.usage_index[u];
        }
    }

    fn set_allowed(&mut self, id: usize, u: usize, value: f64) {
        let old = self.members[id].accounts[u].allowed;
        if old > 0.0 && value <= 0.0 {
            self.allowing[u] -= 1;
        } else if old <= 0.0 && value > 0.0 {
            self.allowing[u] += 1;
            // Newly allowed data earns only from now on.
            self.members[id].accounts[u].snapshot = self.usage_index[u];
        }
        self.members[id].accounts[u].allowed = value;
        self.allowed_total[u] = if self.allowing[u] == 0 {
            0.0
        } else {
            (self.allowed_total[u] - old + value).max(0.0)
        };
        if value > 0.0 {
            self.members[id].mask |= 1 << u;
        } else {
            self.members[id].mask &= !(1 << u);
        }
    }

    /// Add a dataset allowing the use cases in `mask`; returns its weight.
    pub fn contribute(&mut self, id: usize, quantity: f64, quality: f64, mask: u8) -> f64 {
        self.settle(id);
        let w = self.weight_of(quality, quantity);
        if self.members[id].weight <= 0.0 && w > 0.0 {
            self.contributors += 1;
        }
        {
            let m = &mut self.members[id];
            m.weight += w;
            m.quality_quantity += quality * quantity;
            m.quantity += quantity;
        }
        self.total_weight += w;
        for u in 0..self.use_cases {
            if mask & (1 << u) != 0 && w > 0.0 {
                let now = self.members[id].accounts[u].allowed + w;
                self.set_allowed(id, u, now);
            }
        }
        w
    }

    /// Stop all of a member's data being used for `u`; returns the weight affected.
    pub fn revoke(&mut self, id: usize, u: usize) -> f64 {
        self.settle(id);
        let w = self.members[id].accounts[u].allowed;
        self.set_allowed(id, u, 0.0);
        w
    }

    /// Take all of a member's data out of the pool; returns the weight removed.
    pub fn remove(&mut self, id: usize) -> f64 {
        self.settle(id);
        let w = self.members[id].weight;
        for u in 0..self.use_cases {
            self.set_allowed(id, u, 0.0);
        }
        if w > 0.0 {
            self.contributors -= 1;
        }
        let m = &mut self.members[id];
        m.weight = 0.0;
        m.quality_quantity = 0.0;
        m.quantity = 0.0;
        self.total_weight = if self.contributors == 0 {
            0.0
        } else {
            (self.total_weight - w).max(0.0)
        };
        self.removed_weight += w;
        w
    }

    /// A job of `amount` dDT for use case `u` ran over the data allowing it.
    pub fn record_job(&mut self, u: usize, amount: f64) {
        debug_assert!(self.can_run(u));
        self.usage_index[u] += amount / self.allowed_total[u];
        self.usage_total += amount;
    }

    /// Usage credited this period: the sum of every member's credit, known without
    /// settling them.
    pub fn usage_total(&self) -> f64 {
        self.usage_total
    }

    /// Usage member `id` earned this period. Reads only.
    pub fn usage_of(&self, id: usize) -> f64 {
        self.earned(&self.members[id])
    }

    /// End the period (after paying it): credits start again from zero.
    pub fn close_usage_period(&mut self) {
        self.period = self.period.wrapping_add(1);
        self.index_at_period_start = self.usage_index;
        self.usage_total = 0.0;
    }

    /// Every member's usage this period into `out` (indexed by member id), then close
    /// the period. `out` is reused across calls.
    pub fn take_usage(&mut self, out: &mut Vec<f64>) {
        out.clear();
        out.extend((0..self.members.len()).map(|id| self.usage_of(id)));
        self.close_usage_period();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_table() {
        // (a, b, quality, quantity) -> quality^a * quantity^b
        let table = [
            (1.0, 1.0, 1.0, 100.0, 100.0),
            (1.0, 1.0, 0.5, 100.0, 50.0),
            (2.0, 1.0, 0.5, 100.0, 25.0),
            (1.0, 0.5, 0.8, 400.0, 16.0),
        ];
        for (a, b, q, n, w) in table {
            let pool = DataPool::new(3, a, b);
            assert!((pool.weight_of(q, n) - w).abs() < 1e-12, "{a} {b} {q} {n}");
        }
    }

    #[test]
    fn usage_goes_to_allowing_owners_in_proportion_to_weight() {
        let mut pool = DataPool::new(2, 1.0, 1.0);
        for id in 0..3 {
            pool.register(id);
        }
        pool.contribute(0, 100.0, 1.0, 0b11); // weight 100, both uses
        pool.contribute(1, 300.0, 1.0, 0b01); // weight 300, use 0 only
        pool.contribute(2, 50.0, 1.0, 0b10); // weight 50, use 1 only
        pool.record_job(0, 8.0); // over 400: 2 to member 0, 6 to member 1
        pool.record_job(1, 3.0); // over 150: 2 to member 0, 1 to member 2
        assert_eq!(pool.usage_total(), 11.0, "every job is credited in full");
        assert!((pool.usage_of(1) - 6.0).abs() < 1e-12);
        pool.close_usage_period();
        assert!(
            pool.usage_of(1).abs() < 1e-12,
            "a new period starts from zero"
        );
        pool.record_job(0, 4.0); // 1 to member 0, 3 to member 1
        let mut usage = Vec::new();
        pool.take_usage(&mut usage);
        assert!((usage[0] - 1.0).abs() < 1e-12);
        assert!((usage[1] - 3.0).abs() < 1e-12);
        assert!(usage[2].abs() < 1e-12);
        let mut usage = Vec::new();
        pool.record_job(0, 8.0);
        pool.record_job(1, 3.0);
        pool.take_usage(&mut usage);
        assert!((usage[0] - 4.0).abs() < 1e-12);
        assert!((usage[1] - 6.0).abs() < 1e-12);
        assert!((usage[2] - 1.0).abs() < 1e-12);
        pool.take_usage(&mut usage);
        assert_eq!(usage, vec![0.0, 0.0, 0.0], "credits reset");
    }

    #[test]
    fn revoked_or_removed_data_earns_nothing_afterwards() {
        let mut pool = DataPool::new(1, 1.0, 1.0);
        pool.register(0);
        pool.register(1);
        pool.contribute(0, 100.0, 1.0, 1);
        pool.contribute(1, 100.0, 1.0, 1);
        pool.record_job(0, 2.0); // 1 each
        pool.revoke(0, 0);
        pool.record_job(0, 2.0); // all to member 1
        let mut usage = Vec::new();
        pool.take_usage(&mut usage);
        assert_eq!(usage, vec![1.0, 3.0]);
        // Consent given again later earns only from then on.
        pool.contribute(0, 100.0, 1.0, 1);
        pool.record_job(0, 2.0); // 1 each again
        pool.take_usage(&mut usage);
        assert!(usage.iter().all(|u| (u - 1.0).abs() < 1e-12), "{usage:?}");
        pool.remove(1);
        assert!(pool.can_run(0), "member 0's new dataset still allows use 0");
        pool.remove(0);
        assert!(!pool.can_run(0), "no live data allows use 0");
        assert_eq!(pool.allowed_share(0), 0.0);
        assert_eq!(pool.total_weight(), 0.0);
        // Member 1's 100, and member 0's two datasets of 100 each.
        assert_eq!(pool.removed_weight(), 300.0);
    }

    #[test]
    fn score_is_quantity_weighted_quality() {
        let mut pool = DataPool::new(1, 1.0, 1.0);
        pool.register(0);
        pool.contribute(0, 100.0, 0.9, 1);
        pool.contribute(0, 300.0, 0.5, 1);
        // (90 + 150) / 400 = 0.6
        assert!((pool.member(0).score() - 60.0).abs() < 1e-12);
    }
}
