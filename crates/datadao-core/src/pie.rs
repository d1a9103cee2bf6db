//! The Pie: every dDT spent on compute lands here, and a fraction flows back to members.
//!
//! The balance is written only by [`Pie::deposit`], [`Pie::distribute`] (the `groups`
//! policy), [`Pie::pay`] (the pro-rata `usage` and `weight` policies), the treasury's
//! [`Pie::take_for_governance`] and [`Pie::return_to_treasury`], and [`Pie::decay`].
//!
//! The Pie holds two kinds of dDT. What it held right after its last distribution is the
//! **treasury**, which governance may spend; dDT spent on compute since then is
//! **pending**: it belongs to the next payout, and governance cannot touch it. With a
//! distribution every step the two differ only by what recipients spent of their shares;
//! with `pie.interval_steps > 1` by every job since the last payout. Distribution is
//! computed as per-member amounts for each type; the engine credits the members and lets
//! them react, so the Pie never needs to know who the members are.

use std::collections::BTreeMap;

use crate::agent_type::{AgentType, PerTypeArray, MAX_TYPES};
use serde::{Deserialize, Serialize};

/// How The Pie's distribution is split between member groups: the seed's three, which
/// governance may move, and a group for each of a scenario's own member types that has a
/// share (`pie.shares.<name>`, 0 unless set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PieShares {
    /// Share of each distribution that goes to power users.
    pub power: f64,
    /// Share that goes to active users.
    pub active: f64,
    /// Share that goes to casual users.
    pub casual: f64,
    /// The shares of a scenario's own types, by type name.
    #[serde(flatten)]
    pub custom: BTreeMap<String, f64>,
}

impl Default for PieShares {
    fn default() -> Self {
        Self {
            power: 0.4,
            active: 0.4,
            casual: 0.2,
            custom: BTreeMap::new(),
        }
    }
}

impl PieShares {
    /// The part governance may move: the seed's three, and what the others hold.
    pub fn governed(&self) -> GroupShares {
        GroupShares {
            power: self.power,
            active: self.active,
            casual: self.casual,
            others: self.custom.values().sum(),
        }
    }
}

/// The seed's three group shares as governance sees them, with the sum of a scenario's
/// own groups' shares, which no vote moves: a `set` of one of the three makes room in
/// the other two, so that all of them still sum to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupShares {
    /// Power users' share.
    pub power: f64,
    /// Active users' share.
    pub active: f64,
    /// Casual users' share.
    pub casual: f64,
    /// What the scenario's own groups hold together.
    pub others: f64,
}

impl Default for GroupShares {
    fn default() -> Self {
        PieShares::default().governed()
    }
}

/// The Pie: where compute spending goes and how it flows back to members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PieConfig {
    /// Who gets the Pie: `groups`, `usage` or `weight`.
    pub policy: PiePolicy,
    /// The Pie distributes every this many steps (at the end of the step).
    pub interval_steps: u64,
    /// Fraction of the Pie's balance distributed at each distribution.
    pub distribution_rate: f64,
    /// Split of each distribution between groups (policy `groups`).
    pub shares: PieShares,
    /// dDT minted into The Pie every step from an outside reward budget (as Ocean's
    /// data farming paid out of its own treasury): no CRC stands behind it, and the
    /// ledger counts it apart. 0 by default, and absent from records then.
    #[serde(skip_serializing_if = "is_zero")]
    pub subsidy_per_step: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for PieConfig {
    fn default() -> Self {
        Self {
            policy: PiePolicy::Groups,
            interval_steps: 1,
            distribution_rate: 0.7,
            shares: PieShares::default(),
            subsidy_per_step: 0.0,
        }
    }
}

/// How The Pie is shared out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PiePolicy {
    /// The seed's fixed split by type (`pie.shares`), equal within a type.
    Groups,
    /// In proportion to the usage credit each member's data earned since the last
    /// distribution.
    Usage,
    /// In proportion to live Contribution Weight.
    Weight,
}

impl PiePolicy {
    /// Every policy, in declaration order (what the dashboard offers).
    pub const ALL: [PiePolicy; 3] = [PiePolicy::Groups, PiePolicy::Usage, PiePolicy::Weight];
}

/// The amounts one distribution pays, per member of each type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distribution {
    /// What each member of a type receives, indexed by [`AgentType::index`].
    pub per_member: PerTypeArray<f64>,
    /// Everything that left the Pie.
    pub total: f64,
}

impl Default for Distribution {
    fn default() -> Self {
        Self {
            per_member: [0.0; MAX_TYPES],
            total: 0.0,
        }
    }
}

impl Distribution {
    /// The share of one member of `kind`.
    pub fn share_of(&self, kind: AgentType) -> f64 {
        self.per_member[kind.index()]
    }
}

/// The compute-revenue pot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pie {
    balance: f64,
    /// dDT deposited since the last distribution began (part of `balance`).
    pending: f64,
}

impl Pie {
    /// An empty Pie.
    pub fn new() -> Self {
        Self::default()
    }

    /// dDT in the Pie.
    pub fn balance(&self) -> f64 {
        self.balance
    }

    /// The treasury: what the Pie held right after its last distribution, less what
    /// governance has taken since (and plus what it returned). Before the first
    /// distribution, nothing.
    pub fn treasury(&self) -> f64 {
        (self.balance - self.pending).max(0.0)
    }

    /// A distribution begins: everything the Pie holds is now the pot's to draw on, and
    /// what is left after it the treasury's. Deposits from now on (recipients spending
    /// their shares, the next jobs) are pending again.
    pub fn begin_distribution(&mut self) {
        self.pending = 0.0;
    }

    /// Governance takes `amount` (or what the treasury holds, if less) out of the Pie.
    pub fn take_for_governance(&mut self, amount: f64) -> f64 {
        let paid = amount.max(0.0).min(self.treasury()).min(self.balance);
        self.balance -= paid;
        paid
    }

    /// What governance took and did not use goes back to the treasury.
    pub fn return_to_treasury(&mut self, amount: f64) {
        debug_assert!(amount >= 0.0);
        self.balance += amount;
    }

    /// Compute spending flows in.
    pub fn deposit(&mut self, amount: f64) {
        debug_assert!(amount >= 0.0);
        self.balance += amount;
        self.pending += amount;
    }

    /// Pay out `rate` of the balance: each type's `group_shares` part of it is split
    /// equally among that type's `members`; a type with no members leaves its part in the
    /// Pie. Returns what each member gets.
    pub fn distribute(&mut self, rate: f64, group_shares: &[f64], members: &[u64]) -> Distribution {
        // `rate <= 1`, so the rounded pot never exceeds the balance.
        let pot = (self.balance * rate).min(self.balance);
        let mut dist = Distribution::default();
        let types = group_shares.len().min(members.len()).min(MAX_TYPES);
        for i in 0..types {
            if members[i] == 0 || group_shares[i] <= 0.0 {
                continue;
            }
            let n = members[i] as f64;
            let mut each = pot * group_shares[i] / n;
            // Round each member's amount down until `n` of them fit in the group's part
            // exactly (`mul_add` gives the sign of `each * n - group` without rounding).
            let group = pot * group_shares[i];
            while each > 0.0 && each.mul_add(n, -group) > 0.0 {
                each = each.next_down();
            }
            dist.per_member[i] = each;
        }
        // The groups' parts can still add up an ulp over the pot (0.4 + 0.4 + 0.2 of a
        // rounded number); shave every member's amount until the whole fits.
        for _ in 0..64 {
            dist.total = (0..types)
                .map(|i| dist.per_member[i] * members[i] as f64)
                .sum();
            if dist.total <= pot {
                break;
            }
            for each in dist.per_member.iter_mut() {
                *each = each.next_down().max(0.0);
            }
        }
        self.balance -= dist.total;
        dist
    }

    /// Pay `amount` out to one member (pro-rata policies). Never takes the balance
    /// below zero.
    pub fn pay(&mut self, amount: f64) -> f64 {
        // `max` before `min` so that a NaN request pays nothing.
        let paid = amount.max(0.0).min(self.balance);
        self.balance -= paid;
        paid
    }

    /// Scale the balance by a demurrage factor.
    pub fn decay(&mut self, factor: f64) {
        self.balance *= factor;
        self.pending *= factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventy_percent_split_forty_forty_twenty() {
        let mut pie = Pie::new();
        pie.deposit(100.0);
        // 70 distributed: power 28 over 2 members, active 28 over 4, casual 14 over 7.
        let d = pie.distribute(0.7, &[0.0, 0.0, 0.4, 0.4, 0.2], &[3, 1, 2, 4, 7]);
        assert!((d.share_of(AgentType::POWER) - 14.0).abs() < 1e-12);
        assert!((d.share_of(AgentType::ACTIVE) - 7.0).abs() < 1e-12);
        assert!((d.share_of(AgentType::CASUAL) - 2.0).abs() < 1e-12);
        assert!((d.total - 70.0).abs() < 1e-12);
        assert!((pie.balance() - 30.0).abs() < 1e-12);
    }

    /// At rate 1 every dDT leaves, and never one ulp more than the Pie held.
    #[test]
    fn full_payout_never_exceeds_the_balance() {
        for balance in [1.0, 0.1, 3.0, 7.3e-9, 123_456.789, 1e15 / 3.0] {
            for members in [[0, 0, 1, 1, 1], [3, 1, 7, 3, 9], [0, 0, 1000, 3, 77]] {
                let mut pie = Pie::new();
                pie.deposit(balance);
                let d = pie.distribute(1.0, &[0.0, 0.0, 0.4, 0.4, 0.2], &members);
                let exact_paid: f64 = (2..5).map(|i| d.per_member[i] * members[i] as f64).sum();
                assert!(exact_paid <= balance, "{balance} {members:?}");
                assert!(pie.balance() >= 0.0);
                assert!(balance - d.total < 1e-12 * balance.max(1.0));
            }
        }
    }

    #[test]
    fn empty_group_leaves_its_share_in_the_pie() {
        let mut pie = Pie::new();
        pie.deposit(100.0);
        // No casual users: their 20% of the 70 (14) stays.
        let d = pie.distribute(0.7, &[0.0, 0.0, 0.4, 0.4, 0.2], &[0, 0, 1, 1, 0]);
        assert_eq!(d.share_of(AgentType::CASUAL), 0.0);
        assert!((pie.balance() - 44.0).abs() < 1e-12);
    }
}
