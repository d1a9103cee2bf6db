//! Governance: the members decide what the retained Pie (the treasury) and the
//! economy's governable settings become.
//!
//! Every `governance.interval_steps` one proposal from the menu is put to the members.
//! This module holds the rules, all pure: the settings ([`GovernanceConfig`]), which
//! proposal comes next ([`Agenda`]), how far a `set` proposal moves a setting
//! ([`GovernedSettings::moved`]), a member's voting weight ([`WeightRule::weight`]), how a
//! type judges a forecast ([`Objective`]) and whether votes carry ([`Tally`]). The engine
//! (`engine/governance.rs`) forks the economy for foresight, collects the votes and
//! applies what passed; the treasury's own holdings live in [`crate::treasury`].

use rand::Rng;
use serde::{Deserialize, Serialize};

mod record;
mod settings;

pub use record::{Field, ProposalRecord};
pub use settings::{
    Bounds, FixedVotes, GovernanceConfig, PerMember, Selection, SetConfig, TreasuryShare, Voting,
    MEMBER_TYPES,
};

use crate::pie::GroupShares;

/// The kinds of proposal on the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalKind {
    /// Put a fraction of the treasury's dDT into the pool as protocol-owned liquidity.
    Liquidity,
    /// Burn a fraction of the treasury's dDT; the CRC behind it stays locked.
    Burn,
    /// Pay a fraction of the treasury's dDT to members by Contribution Weight.
    Grants,
    /// Move one governable setting by its step, within its bounds.
    Set,
}

impl ProposalKind {
    /// Name used in settings, `governance.csv` and the transaction log.
    pub fn name(self) -> &'static str {
        match self {
            ProposalKind::Liquidity => "liquidity",
            ProposalKind::Burn => "burn",
            ProposalKind::Grants => "grants",
            ProposalKind::Set => "set",
        }
    }
}

/// The settings members may change with a `set` proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Governable {
    /// `market.fee_rate`.
    #[serde(rename = "market.fee_rate")]
    FeeRate,
    /// `pie.distribution_rate`.
    #[serde(rename = "pie.distribution_rate")]
    DistributionRate,
    /// `pie.shares.power` (the other two shares make room in proportion).
    #[serde(rename = "pie.shares.power")]
    SharePower,
    /// `pie.shares.active`.
    #[serde(rename = "pie.shares.active")]
    ShareActive,
    /// `pie.shares.casual`.
    #[serde(rename = "pie.shares.casual")]
    ShareCasual,
    /// `minting.mint_per_weight`.
    #[serde(rename = "minting.mint_per_weight")]
    MintPerWeight,
}

impl Governable {
    /// Every governable setting, in the order of their columns.
    pub const ALL: [Governable; 6] = [
        Governable::FeeRate,
        Governable::DistributionRate,
        Governable::SharePower,
        Governable::ShareActive,
        Governable::ShareCasual,
        Governable::MintPerWeight,
    ];

    /// The setting's dotted key.
    pub fn key(self) -> &'static str {
        match self {
            Governable::FeeRate => "market.fee_rate",
            Governable::DistributionRate => "pie.distribution_rate",
            Governable::SharePower => "pie.shares.power",
            Governable::ShareActive => "pie.shares.active",
            Governable::ShareCasual => "pie.shares.casual",
            Governable::MintPerWeight => "minting.mint_per_weight",
        }
    }

    /// Its column in `simulation_data.csv`.
    pub fn column(self) -> &'static str {
        match self {
            Governable::FeeRate => "fee_rate",
            Governable::DistributionRate => "pie_distribution_rate",
            Governable::SharePower => "pie_share_power",
            Governable::ShareActive => "pie_share_active",
            Governable::ShareCasual => "pie_share_casual",
            Governable::MintPerWeight => "mint_per_weight",
        }
    }
}

/// What one member's vote weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightRule {
    /// One member, one vote (what Circles' sybil resistance makes possible).
    Person,
    /// dDT held.
    Ddt,
    /// Square root of dDT held.
    Quadratic,
    /// CRC the member has locked in the vault.
    CrcLocked,
}

impl WeightRule {
    /// Every rule, in declaration order (what the dashboard offers).
    pub const ALL: [WeightRule; 4] = [
        WeightRule::Person,
        WeightRule::Ddt,
        WeightRule::Quadratic,
        WeightRule::CrcLocked,
    ];

    /// A member's weight from what it holds.
    pub fn weight(self, ddt: f64, crc_locked: f64) -> f64 {
        match self {
            WeightRule::Person => 1.0,
            WeightRule::Ddt => ddt,
            WeightRule::Quadratic => ddt.sqrt(),
            WeightRule::CrcLocked => crc_locked,
        }
    }

    /// Name used in settings and `governance.csv`.
    pub fn name(self) -> &'static str {
        match self {
            WeightRule::Person => "person",
            WeightRule::Ddt => "ddt",
            WeightRule::Quadratic => "quadratic",
            WeightRule::CrcLocked => "crc_locked",
        }
    }
}

/// What a type of member wants more of when it looks ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Mean xDAI + dDT at the price + the value of LP tokens, per member of the type.
    Wealth,
    /// The dDT price in xDAI.
    Price,
    /// dDT received from The Pie and grants over the horizon, per member of the type.
    PieIncome,
    /// What a unit of compute costs in xDAI (the price): lower is better.
    ComputeCost,
}

impl Objective {
    /// Whether a larger value of the objective's figure is better.
    pub fn higher_is_better(self) -> bool {
        self != Objective::ComputeCost
    }
}

/// The current value of every governable setting; the engine reads these instead of the
/// configuration's, which stays as given. (`Default` is all zeros but the seed's Pie
/// shares: a placeholder for a row's shape; a run's own come from
/// `Config::governed_settings`.)
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GovernedSettings {
    /// The pool's fee.
    pub fee_rate: f64,
    /// Share of The Pie paid out at each distribution.
    pub distribution_rate: f64,
    /// The groups' shares of a distribution.
    pub shares: GroupShares,
    /// CRC that may be locked per unit of Contribution Weight.
    pub mint_per_weight: f64,
}

impl GovernedSettings {
    /// The value of `setting`.
    pub fn get(&self, setting: Governable) -> f64 {
        match setting {
            Governable::FeeRate => self.fee_rate,
            Governable::DistributionRate => self.distribution_rate,
            Governable::SharePower => self.shares.power,
            Governable::ShareActive => self.shares.active,
            Governable::ShareCasual => self.shares.casual,
            Governable::MintPerWeight => self.mint_per_weight,
        }
    }

    /// These settings with `setting` moved to `target` (clamped to `bounds`). A Pie
    /// share's move is taken from (or given to) the other two in proportion to their
    /// size, equally if both are 0, so the shares still sum to 1.
    pub fn moved(&self, setting: Governable, target: f64, bounds: Bounds) -> Self {
        let value = target.clamp(bounds.min, bounds.max);
        let mut out = *self;
        match setting {
            Governable::FeeRate => out.fee_rate = value,
            Governable::DistributionRate => out.distribution_rate = value,
            Governable::MintPerWeight => out.mint_per_weight = value,
            Governable::SharePower | Governable::ShareActive | Governable::ShareCasual => {
                // The other two shares, in the order they are rebuilt below.
                let s = self.shares;
                let (a, b) = match setting {
                    Governable::SharePower => (s.active, s.casual),
                    Governable::ShareActive => (s.power, s.casual),
                    _ => (s.power, s.active),
                };
                // A scenario's own groups keep their shares; the seed's three share the rest.
                let others = s.others;
                let value = value.min(1.0 - others);
                let room = crate::shares::make_room(&[a, b], 1.0 - others - value);
                let (a2, b2) = (room[0], room[1]);
                out.shares = match setting {
                    Governable::SharePower => GroupShares {
                        power: value,
                        active: a2,
                        casual: b2,
                        others,
                    },
                    Governable::ShareActive => GroupShares {
                        active: value,
                        power: a2,
                        casual: b2,
                        others,
                    },
                    _ => GroupShares {
                        casual: value,
                        power: a2,
                        active: b2,
                        others,
                    },
                };
            }
        }
        out
    }
}

/// A proposal as put to the vote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Proposal {
    /// A treasury proposal: `kind` is `liquidity`, `burn` or `grants`; `ddt` is the
    /// amount of the treasury's dDT it would move.
    Treasury {
        /// Which treasury proposal.
        kind: ProposalKind,
        /// The treasury's dDT at the time of the vote.
        treasury: f64,
        /// The dDT it would move: the kind's fraction of `treasury`.
        ddt: f64,
    },
    /// Move `setting` from `old` to `new`, from the next step on.
    Set {
        /// The setting.
        setting: Governable,
        /// Its value now.
        old: f64,
        /// The value proposed.
        new: f64,
    },
}

impl Proposal {
    /// Its kind.
    pub fn kind(&self) -> ProposalKind {
        match self {
            Proposal::Treasury { kind, .. } => *kind,
            Proposal::Set { .. } => ProposalKind::Set,
        }
    }
}

/// Which proposal comes next: counters for `turn`, nothing extra for `random`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Agenda {
    /// Proposals put so far.
    next_kind: u64,
    /// `set` proposals put so far (each setting up, then down, in turn).
    next_move: u64,
}

impl Agenda {
    /// The next kind and, for `set`, the next `(setting, up?)`.
    pub fn next<R: Rng>(
        &mut self,
        config: &GovernanceConfig,
        rng: &mut R,
    ) -> (ProposalKind, Governable, bool) {
        let menu = &config.proposals;
        let settings = &config.set.settings;
        let (kind, setting, up) = match config.selection {
            Selection::Turn => {
                let kind = menu[(self.next_kind % menu.len() as u64) as usize];
                let (setting, up) = if kind == ProposalKind::Set {
                    let n = self.next_move;
                    self.next_move += 1;
                    let s = settings[((n / 2) % settings.len() as u64) as usize];
                    (s, n.is_multiple_of(2))
                } else {
                    (settings[0], true)
                };
                (kind, setting, up)
            }
            Selection::Random => {
                let kind = menu[rng.gen_range(0..menu.len())];
                let (setting, up) = if kind == ProposalKind::Set {
                    (
                        settings[rng.gen_range(0..settings.len())],
                        rng.gen_bool(0.5),
                    )
                } else {
                    (settings[0], true)
                };
                (kind, setting, up)
            }
        };
        self.next_kind += 1;
        (kind, setting, up)
    }
}

/// A `set` proposal's new value: one step in the chosen direction, clamped to the
/// bounds; if that changes nothing (the setting sits at that bound), one step the other
/// way.
pub fn set_target(old: f64, up: bool, bounds: Bounds) -> f64 {
    let toward = |up: bool| {
        let v = if up {
            old + bounds.step
        } else {
            old - bounds.step
        };
        v.clamp(bounds.min, bounds.max)
    };
    let first = toward(up);
    if first != old {
        first
    } else {
        toward(!up)
    }
}

/// Whether two forecasts of an objective differ by more than rounding: below this
/// relative difference a member is indifferent and abstains.
pub const INDIFFERENCE: f64 = 1e-9;

/// A member's preference between the forecast with (`with`) and without the proposal:
/// `Some(true)` for yes, `Some(false)` for no, `None` when it cannot tell them apart.
pub fn prefers(objective: Objective, with: Option<f64>, without: Option<f64>) -> Option<bool> {
    let (w, wo) = (with?, without?);
    if (w - wo).abs() <= INDIFFERENCE * w.abs().max(wo.abs()) {
        return None;
    }
    Some((w > wo) == objective.higher_is_better())
}

/// Votes on one proposal, in the weight rule's units.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Weight voting yes.
    pub yes: f64,
    /// Weight voting no.
    pub no: f64,
    /// Weight that turned out and could not tell the outcomes apart.
    pub abstain: f64,
    /// Weight of every member, voting or not.
    pub eligible: f64,
    /// Members who turned out.
    pub voters: u64,
}

impl Tally {
    /// Share of all members' weight that turned out (0 when nobody has weight).
    pub fn turnout(&self) -> f64 {
        if self.eligible > 0.0 {
            (self.yes + self.no + self.abstain) / self.eligible
        } else {
            0.0
        }
    }

    /// Whether the proposal carries: turnout of at least `quorum`, and yes more than
    /// `threshold` of yes + no.
    pub fn passes(&self, quorum: f64, threshold: f64) -> bool {
        let cast = self.yes + self.no;
        self.eligible > 0.0 && self.turnout() >= quorum && cast > 0.0 && self.yes > threshold * cast
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_settings() -> GovernedSettings {
        GovernedSettings {
            fee_rate: 0.003,
            distribution_rate: 0.7,
            shares: GroupShares::default(),
            mint_per_weight: 1.0,
        }
    }

    /// Each weight rule by hand: a member with 16 dDT and 9 CRC locked.
    #[test]
    fn weight_rules_by_hand() {
        assert_eq!(WeightRule::Person.weight(16.0, 9.0), 1.0);
        assert_eq!(WeightRule::Ddt.weight(16.0, 9.0), 16.0);
        assert_eq!(WeightRule::Quadratic.weight(16.0, 9.0), 4.0);
        assert_eq!(WeightRule::CrcLocked.weight(16.0, 9.0), 9.0);
        assert_eq!(WeightRule::Person.weight(0.0, 0.0), 1.0);
    }

    /// yes 6, no 3, abstain 1 of 20 eligible: turnout 0.5; yes share 6/9 = 0.667.
    #[test]
    fn quorum_and_threshold_by_hand() {
        let t = Tally {
            yes: 6.0,
            no: 3.0,
            abstain: 1.0,
            eligible: 20.0,
            voters: 4,
        };
        assert_eq!(t.turnout(), 0.5);
        assert!(t.passes(0.5, 0.5));
        assert!(!t.passes(0.51, 0.5));
        assert!(t.passes(0.1, 0.66));
        assert!(!t.passes(0.1, 0.67));
        // A tie does not carry a simple majority.
        let tie = Tally {
            yes: 1.0,
            no: 1.0,
            eligible: 2.0,
            ..Tally::default()
        };
        assert!(!tie.passes(0.0, 0.5));
        // Nobody with weight: nothing passes.
        assert!(!Tally::default().passes(0.0, 0.0));
        // Threshold 1 can never be exceeded.
        let all_yes = Tally {
            yes: 5.0,
            eligible: 5.0,
            ..Tally::default()
        };
        assert!(!all_yes.passes(0.0, 1.0));
    }

    #[test]
    fn set_moves_by_hand() {
        let b = Bounds {
            step: 0.001,
            min: 0.0,
            max: 0.004,
        };
        assert!((set_target(0.003, true, b) - 0.004).abs() < 1e-15);
        assert!((set_target(0.003, false, b) - 0.002).abs() < 1e-15);
        // At the top bound, up turns into down.
        assert!((set_target(0.004, true, b) - 0.003).abs() < 1e-15);
        // Clamped: 0.0035 + 0.001 -> 0.004.
        assert_eq!(set_target(0.0035, true, b), 0.004);
    }

    /// power 0.4 -> 0.5: active and casual (0.4, 0.2) share the remaining 0.5 as 2:1,
    /// 1/3 and 1/6.
    #[test]
    fn a_pie_share_moves_and_the_others_make_room() {
        let s = seed_settings();
        let b = SetConfig::default().pie_shares;
        let m = s.moved(Governable::SharePower, 0.5, b);
        assert_eq!(m.shares.power, 0.5);
        assert!((m.shares.active - 1.0 / 3.0).abs() < 1e-15);
        assert!((m.shares.casual - 1.0 / 6.0).abs() < 1e-15);
        assert!((m.shares.power + m.shares.active + m.shares.casual - 1.0).abs() < 1e-15);
        // casual 0.2 -> 0.15: power and active (0.4, 0.4) share 0.85 equally.
        let m = s.moved(Governable::ShareCasual, 0.15, b);
        assert!((m.shares.power - 0.425).abs() < 1e-15);
        assert!((m.shares.active - 0.425).abs() < 1e-15);
        // From shares (1, 0, 0) the others split the room equally.
        let all = GovernedSettings {
            shares: GroupShares {
                power: 1.0,
                active: 0.0,
                casual: 0.0,
                others: 0.0,
            },
            ..s
        };
        let m = all.moved(Governable::SharePower, 0.9, b);
        assert!((m.shares.active - 0.05).abs() < 1e-15);
        assert!((m.shares.casual - 0.05).abs() < 1e-15);
        // The other settings are untouched by a share's move.
        assert_eq!(m.fee_rate, s.fee_rate);
        let f = s.moved(Governable::FeeRate, 0.5, SetConfig::default().fee_rate);
        assert_eq!(f.fee_rate, 0.1);
    }

    #[test]
    fn preferences_by_objective() {
        assert_eq!(prefers(Objective::Wealth, Some(2.0), Some(1.0)), Some(true));
        assert_eq!(prefers(Objective::Price, Some(1.0), Some(2.0)), Some(false));
        assert_eq!(
            prefers(Objective::ComputeCost, Some(1.0), Some(2.0)),
            Some(true)
        );
        assert_eq!(
            prefers(Objective::Wealth, Some(1.0), Some(1.0 + 1e-12)),
            None
        );
        assert_eq!(prefers(Objective::Wealth, None, Some(1.0)), None);
    }

    #[test]
    fn the_agenda_takes_kinds_and_moves_in_turn() {
        let config = GovernanceConfig {
            proposals: vec![ProposalKind::Burn, ProposalKind::Set],
            ..GovernanceConfig::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut a = Agenda::default();
        let picks: Vec<_> = (0..6).map(|_| a.next(&config, &mut rng)).collect();
        assert_eq!(picks[0].0, ProposalKind::Burn);
        assert_eq!(picks[1], (ProposalKind::Set, Governable::FeeRate, true));
        assert_eq!(picks[3], (ProposalKind::Set, Governable::FeeRate, false));
        assert_eq!(
            picks[5],
            (ProposalKind::Set, Governable::DistributionRate, true)
        );
    }

    #[test]
    fn forks_shorten_at_scale() {
        let g = GovernanceConfig::default();
        assert_eq!(g.fork_steps(4_000, u64::MAX), 30);
        assert_eq!(g.fork_steps(1_000_000, u64::MAX), 10);
        assert_eq!(g.fork_steps(333_333, u64::MAX), 30);
        assert_eq!(g.fork_steps(100_000_000, u64::MAX), 1);
        assert_eq!(g.fork_steps(10, 7), 7);
    }

    use rand::SeedableRng;
}
