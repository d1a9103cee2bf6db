//! What happened, one record at a time, and the interface through which a front end
//! watches a run.
//!
//! The core never writes files: it hands each [`Transaction`] and each step's metrics to
//! an [`Observer`] as they happen, so a CLI can stream them to disk and a benchmark can
//! drop them, and memory never grows with the number of steps.

use crate::agent_type::AgentType;
use crate::governance::{Governable, ProposalKind, ProposalRecord};
use crate::metrics::StepMetrics;
use crate::pie::PiePolicy;

/// Kinds of transaction, as named in `transaction_history.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// An agent arrives with its xDAI.
    Join,
    /// CRC locked in the vault and the same amount of dDT minted.
    Mint,
    /// dDT burned and the same amount of CRC unlocked.
    Redeem,
    /// A dataset added to the pool.
    Contribute,
    /// A new dataset that does not allow some use cases.
    Restrict,
    /// A member stops one use case for all its data.
    Revoke,
    /// A member takes all its data out of the pool.
    Remove,
    /// A compute job that found no data allowing its use case: nothing spent.
    JobRefused,
    /// xDAI in, dDT out.
    Buy,
    /// dDT in, xDAI out.
    Sell,
    /// Liquidity deposited for LP tokens.
    AddLiquidity,
    /// LP tokens burned for both reserves.
    RemoveLiquidity,
    /// A compute job ran: dDT spent into The Pie.
    Compute,
    /// dDT received from The Pie.
    PieShare,
    /// LP fees collected from a fee bucket (rules `original-2024` only).
    CollectFees,
    /// A proposal put to the members (a treasury row).
    Propose,
    /// A member's vote on a proposal.
    Vote,
    /// A passed `set` proposal moves a setting (a treasury row).
    SetParameter,
    /// The treasury sells dDT for xDAI (half of a `liquidity` proposal).
    TreasurySell,
    /// The treasury deposits liquidity and receives LP tokens.
    TreasuryAddLiquidity,
    /// The treasury burns dDT.
    TreasuryBurn,
    /// dDT from the treasury paid to a member by Contribution Weight.
    Grant,
    /// A scheduled event fired (`[[events]]`; an `event` row, not an agent's).
    Event,
}

impl Action {
    /// Every action, in declaration order (`ALL[a as usize] == a`).
    pub const ALL: [Action; 23] = [
        Action::Join,
        Action::Mint,
        Action::Redeem,
        Action::Contribute,
        Action::Restrict,
        Action::Revoke,
        Action::Remove,
        Action::JobRefused,
        Action::Buy,
        Action::Sell,
        Action::AddLiquidity,
        Action::RemoveLiquidity,
        Action::Compute,
        Action::PieShare,
        Action::CollectFees,
        Action::Propose,
        Action::Vote,
        Action::SetParameter,
        Action::TreasurySell,
        Action::TreasuryAddLiquidity,
        Action::TreasuryBurn,
        Action::Grant,
        Action::Event,
    ];

    /// Name used in the transaction log.
    pub fn name(self) -> &'static str {
        match self {
            Action::Join => "join",
            Action::Mint => "lock_and_mint",
            Action::Redeem => "redeem",
            Action::Contribute => "contribute",
            Action::Restrict => "restrict",
            Action::Revoke => "revoke",
            Action::Remove => "remove",
            Action::JobRefused => "job_refused",
            Action::Buy => "buy",
            Action::Sell => "sell",
            Action::AddLiquidity => "add_liquidity",
            Action::RemoveLiquidity => "remove_liquidity",
            Action::Compute => "job_run",
            Action::PieShare => "pie_share",
            Action::CollectFees => "collect_fees",
            Action::Propose => "propose",
            Action::Vote => "vote",
            Action::SetParameter => "set_parameter",
            Action::TreasurySell => "treasury_sell",
            Action::TreasuryAddLiquidity => "treasury_deposit",
            Action::TreasuryBurn => "treasury_burn",
            Action::Grant => "grant",
            Action::Event => "event",
        }
    }
}

/// What a transaction was about, beyond its amounts.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Detail {
    /// Nothing more.
    #[default]
    None,
    /// A job's or a consent change's use case (index into `data.use_cases`).
    UseCase(u8),
    /// The use cases a restriction keeps out (bit `u`).
    UseCases(u8),
    /// A dataset: quantity, quality and the use cases it allows.
    Dataset {
        /// Quantity.
        quantity: f64,
        /// Quality.
        quality: f64,
        /// Contribution Weight.
        weight: f64,
        /// Use cases allowed (bit `u`).
        allowed: u8,
    },
    /// A mint cut by its cap: what was asked for.
    Capped {
        /// dDT requested.
        requested: f64,
    },
    /// Weight taken out of the pool.
    Removed {
        /// Contribution Weight removed.
        weight: f64,
    },
    /// The Pie policy a share was paid under.
    Policy(PiePolicy),
    /// A proposal: what it would change, from `old` to `new` (for treasury kinds, the
    /// treasury's dDT before and after).
    Proposal {
        /// Its number in the run, from 1.
        number: u32,
        /// Its kind.
        kind: ProposalKind,
        /// The setting a `set` proposal moves.
        setting: Option<Governable>,
        /// The value now.
        old: f64,
        /// The value if it passes.
        new: f64,
    },
    /// A vote: yes, no, or `None` (turned out, could not tell the outcomes apart).
    Vote {
        /// The proposal's number.
        number: u32,
        /// The choice.
        choice: Option<bool>,
        /// The vote's weight under the weight rule.
        weight: f64,
    },
    /// The proposal a treasury action or grant carries out.
    Enacted {
        /// The proposal's number.
        number: u32,
    },
    /// A scheduled event: its position in `[[events]]`.
    Event {
        /// Index into the scenario's events.
        number: u32,
    },
}

/// One transaction, amounts signed from the agent's side (+ received, - paid).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transaction {
    /// Step it happened in.
    pub step: u32,
    /// Position in the run's sequence of transactions, from 0.
    pub seq: u64,
    /// The agent's join-order id.
    pub agent_id: u32,
    /// The agent's type (ignored when `by_treasury`).
    pub agent_type: AgentType,
    /// A row of the treasury's rather than an agent's: `agent_id` and `agent_type` mean
    /// nothing, amounts and balances are the treasury's, and the log spells the agent as
    /// `,treasury`.
    pub by_treasury: bool,
    /// What happened.
    pub action: Action,
    /// Change in the agent's dDT.
    pub ddt: f64,
    /// Change in the agent's xDAI.
    pub xdai: f64,
    /// Change in the agent's LP tokens.
    pub lp: f64,
    /// The agent's dDT afterwards.
    pub ddt_balance: f64,
    /// The agent's xDAI afterwards.
    pub xdai_balance: f64,
    /// Pool price afterwards, `None` while the pool is empty.
    pub price: Option<f64>,
    /// What it was about.
    pub detail: Detail,
}

/// Watches a run. Every method has a do-nothing default.
pub trait Observer {
    /// Whether to build transaction records at all; returning `false` skips the work.
    fn wants_transactions(&self) -> bool {
        false
    }

    /// A transaction has happened.
    fn on_transaction(&mut self, _tx: &Transaction) {}

    /// A step has ended; its metrics are final.
    fn on_step(&mut self, _metrics: &StepMetrics) {}

    /// A proposal has been voted on (and, if it passed, carried out).
    fn on_proposal(&mut self, _proposal: &ProposalRecord) {}
}

/// Watches nothing: for benchmarks and sweeps.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullObserver;

impl Observer for NullObserver {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Front ends index tables by `action as usize` through `ALL`.
    #[test]
    fn all_lists_every_action_at_its_discriminant() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i, "{a:?}");
        }
        // A variant added after the last would be missing from ALL; match exhaustively
        // so adding one forces a look here.
        let last = match Action::Event {
            Action::Join
            | Action::Mint
            | Action::Redeem
            | Action::Contribute
            | Action::Restrict
            | Action::Revoke
            | Action::Remove
            | Action::JobRefused
            | Action::Buy
            | Action::Sell
            | Action::AddLiquidity
            | Action::RemoveLiquidity
            | Action::Compute
            | Action::PieShare
            | Action::CollectFees
            | Action::Propose
            | Action::Vote
            | Action::SetParameter
            | Action::TreasurySell
            | Action::TreasuryAddLiquidity
            | Action::TreasuryBurn
            | Action::Grant => None,
            Action::Event => Some(Action::Event),
        };
        assert_eq!(last, Action::ALL.last().copied());
    }
}
