//! A proposal's row of `governance.csv`: the columns and their values, defined once for
//! every front end.

use super::PerMember;
use super::{Proposal, Tally, WeightRule, MEMBER_TYPES};
use crate::agents::DUST;

/// One cell of a `governance.csv` row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    /// A count.
    Int(u64),
    /// An amount, a weight or a share.
    Float(f64),
    /// A name.
    Text(&'static str),
    /// Yes or no.
    Bool(bool),
    /// No value (a forecast under `fixed` voting, a type with no members).
    Empty,
}

impl From<Option<f64>> for Field {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Field::Empty, Field::Float)
    }
}

/// Everything about one proposal: what it was, the votes, the outcome and the forecasts
/// the members voted on. A row of `governance.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProposalRecord {
    /// Its number in the run, from 1.
    pub number: u32,
    /// The step at whose end it was voted on.
    pub step: u32,
    /// The proposal.
    pub proposal: Proposal,
    /// The votes.
    pub tally: Tally,
    /// The weight rule the votes were counted with.
    pub weight: WeightRule,
    /// Whether it passed (and was carried out).
    pub passed: bool,
    /// Steps each foresight fork simulated; `None` under `fixed` voting.
    pub horizon: Option<u64>,
    /// Each type's objective at the end of the fork with the proposal.
    pub with: PerMember<Option<f64>>,
    /// Each type's objective at the end of the fork without it.
    pub without: PerMember<Option<f64>>,
}

impl ProposalRecord {
    /// Whether the proposal would move less dDT than the dust rule allows (1e-9), so
    /// that passing it does nothing: `below_dust` in `governance.csv`.
    pub fn below_dust(&self) -> bool {
        matches!(self.proposal, Proposal::Treasury { ddt, .. } if ddt < DUST)
    }

    /// Column names of `governance.csv`, in the order of [`ProposalRecord::fields`].
    pub fn columns() -> Vec<String> {
        let mut cols: Vec<String> = [
            "proposal",
            "step",
            "kind",
            "setting",
            "old_value",
            "new_value",
            "yes",
            "no",
            "abstain",
            "turnout",
            "eligible_weight",
            "voters",
            "weight",
            "passed",
            "below_dust",
            "horizon",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for kind in MEMBER_TYPES {
            cols.push(format!("forecast_{}_with", kind.name()));
            cols.push(format!("forecast_{}_without", kind.name()));
        }
        cols
    }

    /// The row's values.
    pub fn fields(&self) -> Vec<Field> {
        let (setting, old, new) = match self.proposal {
            Proposal::Treasury { treasury, ddt, .. } => ("treasury_ddt", treasury, treasury - ddt),
            Proposal::Set { setting, old, new } => (setting.key(), old, new),
        };
        let t = &self.tally;
        let mut out = vec![
            Field::Int(u64::from(self.number)),
            Field::Int(u64::from(self.step)),
            Field::Text(self.proposal.kind().name()),
            Field::Text(setting),
            Field::Float(old),
            Field::Float(new),
            Field::Float(t.yes),
            Field::Float(t.no),
            Field::Float(t.abstain),
            Field::Float(t.turnout()),
            Field::Float(t.eligible),
            Field::Int(t.voters),
            Field::Text(self.weight.name()),
            Field::Bool(self.passed),
            Field::Bool(self.below_dust()),
            self.horizon.map_or(Field::Empty, Field::Int),
        ];
        for ((_, with), (_, without)) in self.with.entries().into_iter().zip(self.without.entries())
        {
            out.push(with.into());
            out.push(without.into());
        }
        out
    }
}
