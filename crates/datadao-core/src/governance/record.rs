//! A proposal's row of `governance.csv`: the columns and their values, defined once for
//! every front end.

use super::{PerMember, Proposal, Tally, WeightRule};
use crate::validation::DUST;

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

    /// The row of `governance.csv`, one (name, field) pair per column, in order: the one
    /// list of its columns (see [`crate::metrics::StepMetrics::report`]).
    pub fn report(&self, out: &mut impl FnMut(RecordColumn, Field)) {
        let (setting, old, new) = match self.proposal {
            Proposal::Treasury { treasury, ddt, .. } => ("treasury_ddt", treasury, treasury - ddt),
            Proposal::Set { setting, old, new } => (setting.key(), old, new),
        };
        let t = &self.tally;
        let fixed = [
            ("proposal", Field::Int(u64::from(self.number))),
            ("step", Field::Int(u64::from(self.step))),
            ("kind", Field::Text(self.proposal.kind().name())),
            ("setting", Field::Text(setting)),
            ("old_value", Field::Float(old)),
            ("new_value", Field::Float(new)),
            ("yes", Field::Float(t.yes)),
            ("no", Field::Float(t.no)),
            ("abstain", Field::Float(t.abstain)),
            ("turnout", Field::Float(t.turnout())),
            ("eligible_weight", Field::Float(t.eligible)),
            ("voters", Field::Int(t.voters)),
            ("weight", Field::Text(self.weight.name())),
            ("passed", Field::Bool(self.passed)),
            ("below_dust", Field::Bool(self.below_dust())),
            ("horizon", self.horizon.map_or(Field::Empty, Field::Int)),
        ];
        for (name, field) in fixed {
            out(RecordColumn::Fixed(name), field);
        }
        for ((kind, with), (_, without)) in
            self.with.entries().into_iter().zip(self.without.entries())
        {
            out(RecordColumn::Forecast(kind, true), with.into());
            out(RecordColumn::Forecast(kind, false), without.into());
        }
    }

    /// Column names of `governance.csv`, in the order of [`ProposalRecord::fields`].
    pub fn columns() -> Vec<String> {
        let shape = ProposalRecord {
            number: 0,
            step: 0,
            proposal: Proposal::Set {
                setting: super::Governable::FeeRate,
                old: 0.0,
                new: 0.0,
            },
            tally: Tally::default(),
            weight: WeightRule::Person,
            passed: false,
            horizon: None,
            with: PerMember::all(None),
            without: PerMember::all(None),
        };
        let mut cols = Vec::new();
        shape.report(&mut |name, _| cols.push(name.to_string()));
        cols
    }

    /// The row's values.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::with_capacity(24);
        self.report(&mut |_, field| out.push(field));
        out
    }
}

/// A column of `governance.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordColumn {
    /// A name of its own.
    Fixed(&'static str),
    /// `forecast_<type>_with` (`true`) or `forecast_<type>_without`.
    Forecast(crate::AgentType, bool),
}

impl std::fmt::Display for RecordColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            RecordColumn::Fixed(name) => f.write_str(name),
            RecordColumn::Forecast(kind, with) => {
                let side = if with { "with" } else { "without" };
                write!(
                    f,
                    "forecast_{}_{side}",
                    kind.seed_name().unwrap_or_default()
                )
            }
        }
    }
}
