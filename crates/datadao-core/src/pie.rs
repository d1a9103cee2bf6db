//! The Pie: every dDT spent on compute lands here, and a fraction flows back to members.
//!
//! The balance is written only by [`Pie::deposit`], [`Pie::distribute`] (the `groups`
//! policy), [`Pie::pay`] (the pro-rata `usage` and `weight` policies) and [`Pie::decay`]. Distribution is
//! computed as per-member amounts for each type; the engine credits the members and lets
//! them react, so the Pie never needs to know who the members are.

use crate::agents::AgentType;

/// The amounts one distribution pays, per member of each type.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Distribution {
    /// What each member of a type receives, indexed by [`AgentType::index`].
    pub per_member: [f64; 5],
    /// Everything that left the Pie.
    pub total: f64,
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

    /// Compute spending flows in.
    pub fn deposit(&mut self, amount: f64) {
        debug_assert!(amount >= 0.0);
        self.balance += amount;
    }

    /// Pay out `rate` of the balance: each type's `group_shares` part of it is split
    /// equally among that type's `members`; a type with no members leaves its part in the
    /// Pie. Returns what each member gets.
    pub fn distribute(
        &mut self,
        rate: f64,
        group_shares: [f64; 5],
        members: [u64; 5],
    ) -> Distribution {
        let pot = self.balance * rate;
        let mut dist = Distribution::default();
        for i in 0..5 {
            if members[i] == 0 || group_shares[i] <= 0.0 {
                continue;
            }
            let group = pot * group_shares[i];
            let each = group / members[i] as f64;
            dist.per_member[i] = each;
            dist.total += each * members[i] as f64;
        }
        self.balance = (self.balance - dist.total).max(0.0);
        dist
    }

    /// Pay `amount` out to one member (pro-rata policies). Never takes the balance
    /// below zero.
    pub fn pay(&mut self, amount: f64) -> f64 {
        let paid = amount.min(self.balance).max(0.0);
        self.balance -= paid;
        paid
    }

    /// Scale the balance by a demurrage factor.
    pub fn decay(&mut self, factor: f64) {
        self.balance *= factor;
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
        let d = pie.distribute(0.7, [0.0, 0.0, 0.4, 0.4, 0.2], [3, 1, 2, 4, 7]);
        assert!((d.share_of(AgentType::Power) - 14.0).abs() < 1e-12);
        assert!((d.share_of(AgentType::Active) - 7.0).abs() < 1e-12);
        assert!((d.share_of(AgentType::Casual) - 2.0).abs() < 1e-12);
        assert!((d.total - 70.0).abs() < 1e-12);
        assert!((pie.balance() - 30.0).abs() < 1e-12);
    }

    #[test]
    fn empty_group_leaves_its_share_in_the_pie() {
        let mut pie = Pie::new();
        pie.deposit(100.0);
        // No casual users: their 20% of the 70 (14) stays.
        let d = pie.distribute(0.7, [0.0, 0.0, 0.4, 0.4, 0.2], [0, 0, 1, 1, 0]);
        assert_eq!(d.share_of(AgentType::Casual), 0.0);
        assert!((pie.balance() - 44.0).abs() < 1e-12);
    }
}
