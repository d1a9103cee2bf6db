//! Governance's settings (`[governance]`) and their validation: the menu, who votes with
//! what weight, how members decide, and what each kind of proposal may move.

use serde::{Deserialize, Serialize};

use super::{Governable, GovernedSettings, Objective, ProposalKind, WeightRule};
use crate::agent_type::AgentType;
use crate::validation::{self, ConfigError};

/// How far one `set` proposal moves a setting, and where it must stay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// The size of one move, up or down.
    pub step: f64,
    /// Lowest value a proposal may set.
    pub min: f64,
    /// Highest value a proposal may set.
    pub max: f64,
}

/// The `set` proposal's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SetConfig {
    /// Which settings `set` proposals may move (in turn: each up, then down).
    pub settings: Vec<Governable>,
    /// Steps and bounds of `market.fee_rate`.
    pub fee_rate: Bounds,
    /// Steps and bounds of `pie.distribution_rate`.
    pub distribution_rate: Bounds,
    /// Steps and bounds of the share a proposal moves (`pie.shares.*`).
    pub pie_shares: Bounds,
    /// Steps and bounds of `minting.mint_per_weight`.
    pub mint_per_weight: Bounds,
}

impl Default for SetConfig {
    fn default() -> Self {
        Self {
            settings: Governable::ALL.to_vec(),
            fee_rate: Bounds {
                step: 0.001,
                min: 0.0,
                max: 0.1,
            },
            distribution_rate: Bounds {
                step: 0.05,
                min: 0.1,
                max: 1.0,
            },
            pie_shares: Bounds {
                step: 0.05,
                min: 0.0,
                max: 1.0,
            },
            mint_per_weight: Bounds {
                step: 0.1,
                min: 0.1,
                max: 10.0,
            },
        }
    }
}

impl SetConfig {
    /// The steps and bounds that apply to `setting`.
    pub fn bounds(&self, setting: Governable) -> Bounds {
        match setting {
            Governable::FeeRate => self.fee_rate,
            Governable::DistributionRate => self.distribution_rate,
            Governable::SharePower | Governable::ShareActive | Governable::ShareCasual => {
                self.pie_shares
            }
            Governable::MintPerWeight => self.mint_per_weight,
        }
    }
}

/// A fraction of the treasury's dDT that a treasury proposal moves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasuryShare {
    /// Fraction of the treasury's dDT, in `(0, 1]`.
    pub fraction: f64,
}

impl Default for TreasuryShare {
    fn default() -> Self {
        Self { fraction: 0.5 }
    }
}

/// How the next proposal is chosen from the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// In menu order, round and round.
    Turn,
    /// Uniformly at random (from governance's own generator, seeded by the run's seed).
    Random,
}

/// How members make up their minds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Voting {
    /// Fork the economy, simulate with and without the proposal, vote for the better.
    Foresight,
    /// Vote yes with a fixed probability per type and proposal kind.
    Fixed,
}

impl Voting {
    /// Every way, in declaration order (what the dashboard offers).
    pub const ALL: [Voting; 2] = [Voting::Foresight, Voting::Fixed];
}

/// A value per member type (organizations are customers, not members, and never vote).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerMember<T> {
    /// Degens.
    pub degen: T,
    /// Power users.
    pub power: T,
    /// Active users.
    pub active: T,
    /// Casual users.
    pub casual: T,
}

impl<T: Copy> PerMember<T> {
    /// The same value for every member type.
    pub const fn all(v: T) -> Self {
        Self {
            degen: v,
            power: v,
            active: v,
            casual: v,
        }
    }

    /// The value for `kind`; `None` for organizations and a scenario's own types (whose
    /// values are their own settings, `agents.<name>.turnout` and so on).
    pub fn of(&self, kind: AgentType) -> Option<T> {
        match kind {
            AgentType::DEGEN => Some(self.degen),
            AgentType::POWER => Some(self.power),
            AgentType::ACTIVE => Some(self.active),
            AgentType::CASUAL => Some(self.casual),
            _ => None,
        }
    }

    /// `(type, value)` in column order.
    pub fn entries(&self) -> [(AgentType, T); 4] {
        [
            (AgentType::DEGEN, self.degen),
            (AgentType::POWER, self.power),
            (AgentType::ACTIVE, self.active),
            (AgentType::CASUAL, self.casual),
        ]
    }
}

/// The member types, in the column order of [`PerMember::entries`].
pub const MEMBER_TYPES: [AgentType; 4] = [
    AgentType::DEGEN,
    AgentType::POWER,
    AgentType::ACTIVE,
    AgentType::CASUAL,
];

/// Yes-probabilities per type for each proposal kind (`voting = "fixed"`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FixedVotes {
    /// For `liquidity` proposals.
    pub liquidity: PerMember<f64>,
    /// For `burn` proposals.
    pub burn: PerMember<f64>,
    /// For `grants` proposals.
    pub grants: PerMember<f64>,
    /// For `set` proposals.
    pub set: PerMember<f64>,
}

impl Default for FixedVotes {
    fn default() -> Self {
        let half = PerMember::all(0.5);
        Self {
            liquidity: half,
            burn: half,
            grants: half,
            set: half,
        }
    }
}

impl FixedVotes {
    /// The yes-probabilities for `kind`.
    pub fn of(&self, kind: ProposalKind) -> &PerMember<f64> {
        match kind {
            ProposalKind::Liquidity => &self.liquidity,
            ProposalKind::Burn => &self.burn,
            ProposalKind::Grants => &self.grants,
            ProposalKind::Set => &self.set,
        }
    }
}

/// Every governance setting (`[governance]`). Off by default: with `enabled = false` the
/// run is exactly the run without governance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceConfig {
    /// Whether members govern at all.
    pub enabled: bool,
    /// One proposal at the end of every step `s` with `(s + 1) % interval_steps == 0`.
    pub interval_steps: u64,
    /// The menu of proposal kinds.
    pub proposals: Vec<ProposalKind>,
    /// In turn or at random.
    pub selection: Selection,
    /// What a vote weighs.
    pub weight: WeightRule,
    /// Share of all members' weight that must turn out for a vote to count.
    pub quorum: f64,
    /// A proposal passes when yes is more than this share of yes + no.
    pub threshold: f64,
    /// How members decide.
    pub voting: Voting,
    /// Steps each foresight fork simulates.
    pub horizon: u64,
    /// Most agent-steps one fork may simulate: at scale the horizon shortens to
    /// `max(1, fork_agent_steps / agents)`, trading foresight for time.
    pub fork_agent_steps: u64,
    /// Probability that a member of each type votes on a proposal.
    pub turnout: PerMember<f64>,
    /// What each type looks at when it votes with foresight.
    pub objective: PerMember<Objective>,
    /// Yes-probabilities for `voting = "fixed"`.
    pub fixed: FixedVotes,
    /// `liquidity` proposals.
    pub liquidity: TreasuryShare,
    /// `burn` proposals.
    pub burn: TreasuryShare,
    /// `grants` proposals.
    pub grants: TreasuryShare,
    /// `set` proposals.
    pub set: SetConfig,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            interval_steps: 30,
            proposals: vec![
                ProposalKind::Liquidity,
                ProposalKind::Burn,
                ProposalKind::Grants,
                ProposalKind::Set,
            ],
            selection: Selection::Turn,
            weight: WeightRule::Person,
            quorum: 0.1,
            threshold: 0.5,
            voting: Voting::Foresight,
            horizon: 30,
            fork_agent_steps: 10_000_000,
            turnout: PerMember {
                degen: 0.3,
                power: 0.8,
                active: 0.5,
                casual: 0.2,
            },
            objective: PerMember::all(Objective::Wealth),
            fixed: FixedVotes::default(),
            liquidity: TreasuryShare::default(),
            burn: TreasuryShare::default(),
            grants: TreasuryShare::default(),
            set: SetConfig::default(),
        }
    }
}

impl GovernanceConfig {
    /// The fraction a treasury proposal of `kind` moves (0 for `set`).
    pub fn fraction(&self, kind: ProposalKind) -> f64 {
        match kind {
            ProposalKind::Liquidity => self.liquidity.fraction,
            ProposalKind::Burn => self.burn.fraction,
            ProposalKind::Grants => self.grants.fraction,
            ProposalKind::Set => 0.0,
        }
    }

    /// An upper bound on the steps a fork simulates that starts with `agents` agents,
    /// `remaining` steps before the step counter's end, for estimates made before a run
    /// (the fork budget divided by the population at the fork's start). What a fork
    /// really runs is [`GovernanceConfig::fork_horizon`], never more than this.
    pub fn fork_steps(&self, agents: u64, remaining: u64) -> u64 {
        let budget = self.fork_agent_steps / agents.max(1);
        self.horizon.min(budget.max(1)).min(remaining)
    }

    /// Steps a fork of the vote at the end of `step` simulates: the horizon, at most
    /// `remaining`, shortened so that its agent-steps (the `agents` present now plus
    /// the `agents_per_entry` who join every `entry_steps` steps during the fork) stay
    /// within `governance.fork_agent_steps`; at least one step.
    pub fn fork_horizon(
        &self,
        step: u64,
        agents: u64,
        (entry_steps, agents_per_entry): (u64, u64),
        remaining: u64,
    ) -> u64 {
        let limit = self.horizon.min(remaining).max(1);
        let every = u128::from(entry_steps.max(1));
        let (now, per_entry) = (u128::from(agents), u128::from(agents_per_entry));
        let start = u128::from(step);
        // Agent-steps of a fork of `h` steps (steps step+1 ..= step+h): the agents there
        // now for every step, plus each entry at step e present for step+h-e+1 steps.
        let cost = |h: u64| -> u128 {
            let h = u128::from(h);
            let end = start + h;
            let (first, last) = (start / every + 1, end / every);
            let entries = last.saturating_sub(first) + u128::from(last >= first);
            // Sum over entries e = k*every, k in first..=last, of (end - e + 1).
            let joined = if entries == 0 {
                0
            } else {
                let sum_k = (first + last) * entries / 2;
                entries * (end + 1) - every * sum_k
            };
            now * h + per_entry * joined
        };
        let budget = u128::from(self.fork_agent_steps);
        if cost(limit) <= budget {
            return limit;
        }
        // The largest h in [1, limit) within the budget: cost grows with h.
        let (mut lo, mut hi) = (1u64, limit);
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if cost(mid) <= budget {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl GovernanceConfig {
    /// Check every governance setting against the model and the settings it governs.
    pub fn validate(&self, current: &GovernedSettings) -> Result<(), ConfigError> {
        validation::at_least_one("governance.interval_steps", self.interval_steps)?;
        validation::at_least_one("governance.horizon", self.horizon)?;
        validation::at_least_one("governance.fork_agent_steps", self.fork_agent_steps)?;
        if self.proposals.is_empty() {
            return Err(validation::err(
                "governance.proposals",
                "[]",
                "a list of at least one of \"liquidity\", \"burn\", \"grants\", \"set\"",
            ));
        }
        if self.set.settings.is_empty() {
            return Err(validation::err(
                "governance.set.settings",
                "[]",
                "a list of at least one governable setting: \"market.fee_rate\", \"pie.distribution_rate\", \"pie.shares.power\", \"pie.shares.active\", \"pie.shares.casual\", \"minting.mint_per_weight\"",
            ));
        }
        validation::fraction("governance.quorum", self.quorum)?;
        validation::fraction("governance.threshold", self.threshold)?;
        for (kind, p) in self.turnout.entries() {
            let name = kind.seed_name().unwrap_or_default();
            validation::fraction(&format!("governance.turnout.{name}"), p)?;
        }
        for proposal in [
            ProposalKind::Liquidity,
            ProposalKind::Burn,
            ProposalKind::Grants,
            ProposalKind::Set,
        ] {
            for (kind, p) in self.fixed.of(proposal).entries() {
                validation::fraction(
                    &format!(
                        "governance.fixed.{}.{}",
                        proposal.name(),
                        kind.seed_name().unwrap_or_default()
                    ),
                    p,
                )?;
            }
        }
        for kind in [
            ProposalKind::Liquidity,
            ProposalKind::Burn,
            ProposalKind::Grants,
        ] {
            let f = self.fraction(kind);
            if !(f > 0.0 && f <= 1.0) {
                return Err(validation::err(
                    &format!("governance.{}.fraction", kind.name()),
                    f,
                    "a number in (0, 1]",
                ));
            }
        }
        for (name, setting, b) in [
            ("fee_rate", Governable::FeeRate, self.set.fee_rate),
            (
                "distribution_rate",
                Governable::DistributionRate,
                self.set.distribution_rate,
            ),
            ("pie_shares", Governable::SharePower, self.set.pie_shares),
            (
                "mint_per_weight",
                Governable::MintPerWeight,
                self.set.mint_per_weight,
            ),
        ] {
            let key = |part: &str| format!("governance.set.{name}.{part}");
            let (lowest, highest, accepted) = match setting {
                Governable::FeeRate => (0.0, f64::from_bits(1.0f64.to_bits() - 1), "[0, 1)"),
                Governable::MintPerWeight => (0.0, validation::MAX_AMOUNT, "[0, 1e15]"),
                _ => (0.0, 1.0, "[0, 1]"),
            };
            if !(b.step > 0.0 && b.step <= highest) {
                return Err(validation::err(
                    &key("step"),
                    b.step,
                    &format!("a number above 0 and in {accepted}"),
                ));
            }
            for (part, v) in [("min", b.min), ("max", b.max)] {
                if !(lowest..=highest).contains(&v) {
                    return Err(validation::err(
                        &key(part),
                        v,
                        &format!("a number in {accepted}"),
                    ));
                }
            }
            if b.min > b.max {
                let mut e = validation::err(
                    &key("max"),
                    b.max,
                    &format!("a number of at least governance.set.{name}.min ({})", b.min),
                );
                e.related = vec![key("min")];
                return Err(e);
            }
            let governed: &[Governable] = if name == "pie_shares" {
                &[
                    Governable::SharePower,
                    Governable::ShareActive,
                    Governable::ShareCasual,
                ]
            } else {
                std::slice::from_ref(&setting)
            };
            for &g in governed {
                let now = current.get(g);
                let moved_by_votes = self.enabled
                    && self.proposals.contains(&ProposalKind::Set)
                    && self.set.settings.contains(&g);
                if moved_by_votes && !(b.min..=b.max).contains(&now) {
                    let mut e = validation::err(
                        g.key(),
                        now,
                        &format!(
                            "a value within the bounds governance may move it in, [{}, {}] (governance.set.{name}.min and .max)",
                            b.min, b.max
                        ),
                    );
                    e.related = vec![key("min"), key("max")];
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}
