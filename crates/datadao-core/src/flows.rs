//! The run's totals of every flow, kept as the run goes: what each party moved with each
//! action, summed over the whole run, and what demurrage took from each holder.
//!
//! These are the numbers of the flow diagram (`flows.png`, `flows.csv`, the page's
//! diagram). They are kept by the core from the same signed amounts every transaction
//! row carries, whether or not an observer writes the rows, so a run without its log (or
//! with a damaged one) still knows its flows, and a run with its log agrees with it: the
//! sum of a column of `transaction_history.csv` over an action and a party equals the
//! total kept here, summed in the same order.

use crate::agent_type::{AgentType, MAX_TYPES};
use crate::transactions::Action;

/// Parties of a flow: every agent type a run may have by [`AgentType::index`], then the
/// treasury.
pub const PARTIES: usize = MAX_TYPES + 1;

/// Index of the treasury among [`PARTIES`].
pub const TREASURY: usize = MAX_TYPES;

/// A party of a flow: an agent of a type, or the dataDAO's treasury.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowParty {
    /// An agent of this type.
    Agent(AgentType),
    /// The treasury.
    Treasury,
}

impl FlowParty {
    /// Index into the totals' table.
    #[inline]
    fn index(self) -> usize {
        match self {
            FlowParty::Agent(kind) => kind.index(),
            FlowParty::Treasury => TREASURY,
        }
    }
}

/// What an action moved, summed: dDT and xDAI signed from the party's side, as in the
/// transaction log (a buy is `+dDT, -xDAI`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moved {
    /// dDT into (+) or out of (-) the party's hands.
    pub ddt: f64,
    /// xDAI into (+) or out of (-) the party's hands.
    pub xdai: f64,
}

/// dDT that demurrage took over the run, by holder.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Decayed {
    /// From The Pie (the treasury's part and the next payout's).
    pub pie: f64,
    /// From the pool's dDT reserve.
    pub pool: f64,
    /// From every dDT in existence (agents' = this less the Pie's and the pool's).
    pub total: f64,
}

/// Every flow of a run so far.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowTotals {
    moved: [[Moved; PARTIES]; Action::ALL.len()],
    decayed: Decayed,
    fees: Moved,
    subsidized: f64,
}

impl Default for FlowTotals {
    fn default() -> Self {
        Self {
            moved: [[Moved::default(); PARTIES]; Action::ALL.len()],
            decayed: Decayed::default(),
            fees: Moved::default(),
            subsidized: 0.0,
        }
    }
}

impl FlowTotals {
    /// Count one transaction's amounts, signed from the party's side.
    #[inline]
    pub fn record(&mut self, party: FlowParty, action: Action, ddt: f64, xdai: f64) {
        let cell = &mut self.moved[action as usize][party.index()];
        cell.ddt += ddt;
        cell.xdai += xdai;
    }

    /// Count a day's demurrage: what the Pie, the pool and the whole supply lost.
    pub fn record_decay(&mut self, pie: f64, pool: f64, total: f64) {
        self.decayed.pie += pie;
        self.decayed.pool += pool;
        self.decayed.total += total;
    }

    /// Count dDT minted into The Pie from the outside reward budget.
    pub fn record_subsidy(&mut self, amount: f64) {
        self.subsidized += amount;
    }

    /// dDT minted into The Pie from the outside reward budget over the run.
    pub fn subsidized(&self) -> f64 {
        self.subsidized
    }

    /// Count a swap's fee: in dDT on a sale, in xDAI on a purchase.
    #[inline]
    pub fn record_fee(&mut self, ddt: f64, xdai: f64) {
        self.fees.ddt += ddt;
        self.fees.xdai += xdai;
    }

    /// Swap fees paid over the run, in each token (they stay in the pool, with its
    /// liquidity providers).
    pub fn fees(&self) -> Moved {
        self.fees
    }

    /// What `party` moved with `action` over the run.
    pub fn moved(&self, action: Action, party: FlowParty) -> Moved {
        self.moved[action as usize][party.index()]
    }

    /// What every agent type moved with `action` (the treasury left out): the seed's
    /// five, then any of a scenario's own that moved anything.
    pub fn by_agents(&self, action: Action) -> Moved {
        let seed = AgentType::SEED.iter().fold(Moved::default(), |sum, &kind| {
            let m = self.moved(action, FlowParty::Agent(kind));
            Moved {
                ddt: sum.ddt + m.ddt,
                xdai: sum.xdai + m.xdai,
            }
        });
        (AgentType::SEED.len()..MAX_TYPES).fold(seed, |sum, i| {
            let m = self.moved(action, FlowParty::Agent(AgentType::from_index(i)));
            if m == Moved::default() {
                return sum;
            }
            Moved {
                ddt: sum.ddt + m.ddt,
                xdai: sum.xdai + m.xdai,
            }
        })
    }

    /// dDT that demurrage took, by holder.
    pub fn decayed(&self) -> Decayed {
        self.decayed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_add_up_by_action_and_party() {
        let mut t = FlowTotals::default();
        let org = FlowParty::Agent(AgentType::ORGANIZATION);
        t.record(org, Action::Buy, 2.0, -3.0);
        t.record(org, Action::Buy, 1.5, -2.0);
        t.record(FlowParty::Agent(AgentType::DEGEN), Action::Buy, 4.0, -5.0);
        t.record(FlowParty::Treasury, Action::TreasuryBurn, -7.0, 0.0);
        assert_eq!(
            t.moved(Action::Buy, org),
            Moved {
                ddt: 3.5,
                xdai: -5.0
            }
        );
        assert_eq!(
            t.by_agents(Action::Buy),
            Moved {
                ddt: 7.5,
                xdai: -10.0
            }
        );
        assert_eq!(t.by_agents(Action::TreasuryBurn), Moved::default());
        assert_eq!(t.moved(Action::TreasuryBurn, FlowParty::Treasury).ddt, -7.0);
        t.record_fee(0.25, 0.5);
        t.record_fee(0.0, 1.0);
        assert_eq!(
            t.fees(),
            Moved {
                ddt: 0.25,
                xdai: 1.5
            }
        );
        t.record_decay(1.0, 2.0, 5.0);
        t.record_decay(0.5, 0.0, 1.0);
        assert_eq!(
            t.decayed(),
            Decayed {
                pie: 1.5,
                pool: 2.0,
                total: 6.0
            }
        );
    }
}
