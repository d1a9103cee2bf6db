//! Each agent type's settings (`[agents.<type>]`), how members draw and treat their data
//! (`[agents.<type>.member]`), and behaviour noise (`[noise]`): what the decision rules in
//! [`crate::agents`] read.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::agent_type::{AgentType, TypeNames, MAX_TYPES};
use crate::governance::Objective;

/// Distribution of a per-type draw: fixed, lognormal quantity, beta quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Draw {
    /// Always the fixed value.
    Fixed,
    /// `exp(N(mu, sigma))` (quantities).
    Lognormal,
    /// `Beta(alpha, beta)` (qualities).
    Beta,
}

/// A member type's data, consent and minting behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemberConfig {
    /// How contribution quantities are drawn: `fixed` or `lognormal`.
    pub quantity_draw: Draw,
    /// Quantity of each contribution under `fixed`.
    pub quantity: f64,
    /// `mu` of the lognormal quantity.
    pub quantity_mu: f64,
    /// `sigma` of the lognormal quantity.
    pub quantity_sigma: f64,
    /// How qualities are drawn: `fixed` or `beta`.
    pub quality_draw: Draw,
    /// Quality of each contribution under `fixed`, in [0, 1].
    pub quality: f64,
    /// `alpha` of the beta quality.
    pub quality_alpha: f64,
    /// `beta` of the beta quality.
    pub quality_beta: f64,
    /// Probability per day of contributing another dataset.
    pub contribution_rate: f64,
    /// For each use case (in `data.use_cases` order), the probability that a new
    /// contribution does not allow it. One value applies to every use case.
    pub restrict_probability: Vec<f64>,
    /// Probability per day of revoking one allowed use case (chosen at random).
    pub revoke_probability: f64,
    /// Probability per day of removing all its data from the pool.
    pub remove_probability: f64,
    /// dDT it tries to mint each day, as far as its cap and its CRC allow.
    pub daily_mint_ddt: f64,
    /// dDT it redeems (burns to unlock CRC) each day, as far as it holds and has locked.
    pub daily_redeem_ddt: f64,
    /// Use case of its compute jobs.
    pub job_use_case: String,
}

impl Default for MemberConfig {
    fn default() -> Self {
        Self {
            quantity_draw: Draw::Fixed,
            quantity: 100.0,
            quantity_mu: 4.0,
            quantity_sigma: 1.0,
            quality_draw: Draw::Fixed,
            quality: 1.0,
            quality_alpha: 2.0,
            quality_beta: 2.0,
            contribution_rate: 0.0,
            restrict_probability: vec![0.0],
            revoke_probability: 0.0,
            remove_probability: 0.0,
            daily_mint_ddt: 0.0,
            daily_redeem_ddt: 0.0,
            job_use_case: "research".into(),
        }
    }
}

/// One number per agent type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PerType {
    /// Degens.
    pub degen: f64,
    /// Organizations.
    pub organization: f64,
    /// Power users.
    pub power: f64,
    /// Active users.
    pub active: f64,
    /// Casual users.
    pub casual: f64,
}

impl PerType {
    /// The value for `kind`.
    pub fn of(&self, kind: AgentType) -> f64 {
        match kind {
            AgentType::DEGEN => self.degen,
            AgentType::ORGANIZATION => self.organization,
            AgentType::POWER => self.power,
            AgentType::ACTIVE => self.active,
            AgentType::CASUAL => self.casual,
            // A scenario's own types have no behaviour noise.
            _ => 0.0,
        }
    }
}

/// Behaviour noise, drawn from the run's seeded generator. Zero (the default) keeps a run
/// deterministic and equal to a run without noise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Per type, the probability that an agent skips its action on a given day.
    pub skip_probability: PerType,
    /// Per type, the relative jitter on the amounts an agent plans: each amount is
    /// multiplied by a factor drawn uniformly from `[1 - j, 1 + j]`.
    pub amount_jitter: PerType,
}

/// What a member does with a Pie share it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PieShareUse {
    /// Hold it (for later compute).
    Keep,
    /// Sell it for xDAI at once.
    Sell,
    /// Spend it at once on a compute job for its type's job use case (what a Pie farmer
    /// does to earn the next share); refused like any job when no data allows the use.
    Spend,
}

/// Degens: provide liquidity once, dump the rest, then hold LP tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DegenConfig {
    /// Fraction of entrants that are degens.
    pub share: f64,
    /// dDT minted to a degen when it joins.
    pub initial_ddt: f64,
    /// xDAI a degen brings.
    pub initial_xdai: f64,
    /// dDT it offers to the pool on its first step (router-sized).
    pub liquidity_ddt: f64,
    /// xDAI it offers to the pool on its first step (router-sized).
    pub liquidity_xdai: f64,
    /// What it does with a Pie share (it gets one under `usage` and `weight`).
    pub pie_share: PieShareUse,
    /// Data, consent and minting.
    pub member: MemberConfig,
    /// Rules that replace its built-in behaviour (`[[agents.<type>.rules]]`); none by
    /// default, and absent from `run_config.toml` then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
}

impl Default for DegenConfig {
    fn default() -> Self {
        Self {
            share: 0.40,
            initial_ddt: 100.0,
            initial_xdai: 10.0,
            liquidity_ddt: 10.0,
            liquidity_xdai: 10.0,
            pie_share: PieShareUse::Sell,
            member: MemberConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// Organizations: buyers of compute, not members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganizationConfig {
    /// Fraction of entrants that are organizations.
    pub share: f64,
    /// dDT an organization starts with (organizations are not members: nothing is minted
    /// for them, so this must stay 0).
    pub initial_ddt: f64,
    /// xDAI an organization brings.
    pub initial_xdai: f64,
    /// dDT it buys (exact output) and spends on compute each step.
    pub daily_compute_ddt: f64,
    /// Use case of its compute jobs.
    pub job_use_case: String,
    /// Rules that replace its built-in behaviour (`[[agents.<type>.rules]]`); none by
    /// default, and absent from `run_config.toml` then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
}

impl Default for OrganizationConfig {
    fn default() -> Self {
        Self {
            share: 0.05,
            initial_ddt: 0.0,
            initial_xdai: 1000.0,
            daily_compute_ddt: 2.0,
            job_use_case: "commercial".into(),
            rules: Vec::new(),
        }
    }
}

/// Power users: heavy compute, buying the shortfall while dDT is cheap enough.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PowerConfig {
    /// Fraction of entrants that are power users.
    pub share: f64,
    /// dDT minted to a power user when it joins.
    pub initial_ddt: f64,
    /// xDAI a power user brings.
    pub initial_xdai: f64,
    /// dDT spent on compute each step.
    pub daily_compute_ddt: f64,
    /// Highest price (xDAI per dDT) at which it buys its shortfall.
    pub max_buy_price: f64,
    /// What it does with a Pie share.
    pub pie_share: PieShareUse,
    /// Data, consent and minting.
    pub member: MemberConfig,
    /// Rules that replace its built-in behaviour (`[[agents.<type>.rules]]`); none by
    /// default, and absent from `run_config.toml` then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
}

impl Default for PowerConfig {
    fn default() -> Self {
        Self {
            share: 0.05,
            initial_ddt: 100.0,
            initial_xdai: 100.0,
            daily_compute_ddt: 2.0,
            max_buy_price: 2.0,
            pie_share: PieShareUse::Keep,
            member: MemberConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// Active users: steady compute while their dDT lasts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActiveConfig {
    /// Fraction of entrants that are active users.
    pub share: f64,
    /// dDT minted to an active user when it joins.
    pub initial_ddt: f64,
    /// xDAI an active user brings.
    pub initial_xdai: f64,
    /// dDT spent on compute each step, if it holds that much.
    pub daily_compute_ddt: f64,
    /// What it does with a Pie share.
    pub pie_share: PieShareUse,
    /// Data, consent and minting.
    pub member: MemberConfig,
    /// Rules that replace its built-in behaviour (`[[agents.<type>.rules]]`); none by
    /// default, and absent from `run_config.toml` then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
}

impl Default for ActiveConfig {
    fn default() -> Self {
        Self {
            share: 0.30,
            initial_ddt: 100.0,
            initial_xdai: 0.0,
            daily_compute_ddt: 1.0,
            pie_share: PieShareUse::Sell,
            member: MemberConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// Casual users: a little compute, a little selling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasualConfig {
    /// Fraction of entrants that are casual users.
    pub share: f64,
    /// dDT minted to a casual user when it joins.
    pub initial_ddt: f64,
    /// xDAI a casual user brings.
    pub initial_xdai: f64,
    /// dDT spent on compute each step, as far as its balance allows.
    pub daily_compute_ddt: f64,
    /// dDT sold each step after compute, as far as its balance allows.
    pub daily_sell_ddt: f64,
    /// What it does with a Pie share.
    pub pie_share: PieShareUse,
    /// Data, consent and minting.
    pub member: MemberConfig,
    /// Rules that replace its built-in behaviour (`[[agents.<type>.rules]]`); none by
    /// default, and absent from `run_config.toml` then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
}

impl Default for CasualConfig {
    fn default() -> Self {
        Self {
            share: 0.20,
            initial_ddt: 100.0,
            initial_xdai: 0.0,
            daily_compute_ddt: 0.1,
            daily_sell_ddt: 0.9,
            pie_share: PieShareUse::Sell,
            member: MemberConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// A type a scenario declares (`[agents.<name>]`): its behaviour is its rules (none:
/// it holds what it has), everything else is data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomTypeConfig {
    /// Fraction of entrants of this type; the other types make room in proportion.
    pub share: f64,
    /// Whether it is a member (holds data and CRC, mints, may vote and get Pie shares);
    /// `false` makes it a customer, as organizations are.
    pub member: bool,
    /// dDT it starts with (minted against its CRC for members, so 0 for customers).
    pub initial_ddt: f64,
    /// xDAI it brings.
    pub initial_xdai: f64,
    /// What it does with a Pie share: `keep`, `sell` or `spend`.
    pub pie_share: PieShareUse,
    /// Probability that a member of this type votes on a proposal.
    pub turnout: f64,
    /// What it looks at when it votes with foresight.
    pub objective: Objective,
    /// Its yes-probability for every proposal kind under `voting = "fixed"`.
    pub fixed_yes: f64,
    /// Data, consent and minting, as members of the seed's types have them; its
    /// `job_use_case` (the use case of its compute jobs, a `spend` rule's default and
    /// what a spent Pie share pays for) applies to customers too, who hold no data.
    pub data: MemberConfig,
    /// Its behaviour (`[[agents.<name>.rules]]`).
    pub rules: Vec<RuleConfig>,
}

impl Default for CustomTypeConfig {
    fn default() -> Self {
        Self {
            share: 0.0,
            member: true,
            initial_ddt: 0.0,
            initial_xdai: 0.0,
            pie_share: PieShareUse::Keep,
            turnout: 0.5,
            objective: Objective::Wealth,
            fixed_yes: 0.5,
            data: MemberConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// The seed's five agent types and the scenario's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AgentsConfig {
    /// Degens.
    pub degen: DegenConfig,
    /// Organizations.
    pub organization: OrganizationConfig,
    /// Power users.
    pub power: PowerConfig,
    /// Active users.
    pub active: ActiveConfig,
    /// Casual users.
    pub casual: CasualConfig,
    /// The scenario's own types, by name: after the seed's five, in name order.
    #[serde(flatten)]
    pub custom: BTreeMap<String, CustomTypeConfig>,
}

impl AgentsConfig {
    /// The names of the run's types: the seed's five, then the scenario's own in name
    /// order (at most [`MAX_TYPES`] in all; validation refuses more).
    pub fn type_names(&self) -> TypeNames {
        TypeNames::with_custom(self.custom.keys().take(MAX_TYPES - 5).map(String::as_str))
    }

    /// A scenario's own type's settings (`None` for the seed's five). Kept out of line:
    /// the hot per-agent lookups below inline their seed arms and reach this only for a
    /// scenario's own types.
    #[cold]
    #[inline(never)]
    pub fn custom(&self, kind: AgentType) -> Option<&CustomTypeConfig> {
        kind.index()
            .checked_sub(5)
            .and_then(|i| self.custom.values().nth(i))
    }

    /// The population share of each type, in type order.
    pub fn shares(&self) -> Vec<f64> {
        let mut shares = vec![
            self.degen.share,
            self.organization.share,
            self.power.share,
            self.active.share,
            self.casual.share,
        ];
        shares.extend(self.custom.values().map(|c| c.share));
        shares
    }

    /// Whether a type's agents are members (hold data and CRC, mint, vote, get shares).
    #[inline]
    pub fn is_member(&self, kind: AgentType) -> bool {
        if kind.is_seed() {
            return kind != AgentType::ORGANIZATION;
        }
        self.custom(kind).is_some_and(|c| c.member)
    }

    /// Data, consent and minting behaviour of a member type (`None` for customers).
    #[inline]
    pub fn member(&self, kind: AgentType) -> Option<&MemberConfig> {
        match kind {
            AgentType::DEGEN => Some(&self.degen.member),
            AgentType::ORGANIZATION => None,
            AgentType::POWER => Some(&self.power.member),
            AgentType::ACTIVE => Some(&self.active.member),
            AgentType::CASUAL => Some(&self.casual.member),
            _ => self.custom(kind).filter(|c| c.member).map(|c| &c.data),
        }
    }

    /// The rules that replace a type's built-in behaviour (empty: its own, or none for a
    /// scenario's type).
    #[inline]
    pub fn rules(&self, kind: AgentType) -> &[RuleConfig] {
        match kind {
            AgentType::DEGEN => &self.degen.rules,
            AgentType::ORGANIZATION => &self.organization.rules,
            AgentType::POWER => &self.power.rules,
            AgentType::ACTIVE => &self.active.rules,
            AgentType::CASUAL => &self.casual.rules,
            _ => self.custom(kind).map_or(&[], |c| c.rules.as_slice()),
        }
    }

    /// What a type does with a Pie share.
    #[inline]
    pub fn pie_share_use(&self, kind: AgentType) -> PieShareUse {
        match kind {
            AgentType::DEGEN => self.degen.pie_share,
            AgentType::ORGANIZATION => PieShareUse::Keep,
            AgentType::POWER => self.power.pie_share,
            AgentType::ACTIVE => self.active.pie_share,
            AgentType::CASUAL => self.casual.pie_share,
            _ => self.custom(kind).map_or(PieShareUse::Keep, |c| c.pie_share),
        }
    }

    /// Use case of a type's compute jobs.
    #[inline]
    pub fn job_use_case(&self, kind: AgentType) -> &str {
        if !kind.is_seed() {
            return self
                .custom(kind)
                .map_or("", |c| c.data.job_use_case.as_str());
        }
        match self.member(kind) {
            Some(m) => &m.job_use_case,
            None => &self.organization.job_use_case,
        }
    }

    /// (initial dDT, initial xDAI) of a type.
    #[inline]
    pub fn endowment(&self, kind: AgentType) -> (f64, f64) {
        match kind {
            AgentType::DEGEN => (self.degen.initial_ddt, self.degen.initial_xdai),
            AgentType::ORGANIZATION => (
                self.organization.initial_ddt,
                self.organization.initial_xdai,
            ),
            AgentType::POWER => (self.power.initial_ddt, self.power.initial_xdai),
            AgentType::ACTIVE => (self.active.initial_ddt, self.active.initial_xdai),
            AgentType::CASUAL => (self.casual.initial_ddt, self.casual.initial_xdai),
            _ => self
                .custom(kind)
                .map_or((0.0, 0.0), |c| (c.initial_ddt, c.initial_xdai)),
        }
    }
}

/// An expression as a scenario file gives it: text, or a plain number or boolean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExprText {
    /// A number, as `amount = 2`.
    Number(f64),
    /// A boolean, as `when = true`.
    Boolean(bool),
    /// An expression, as `amount = "min(ddt, 2)"`.
    Text(String),
}

impl ExprText {
    /// The expression's text, as the rule language reads it.
    pub fn text(&self) -> String {
        match self {
            ExprText::Number(v) => format!("{v:?}"),
            ExprText::Boolean(b) => b.to_string(),
            ExprText::Text(t) => t.clone(),
        }
    }
}

/// One rule as a scenario declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// When the rule acts (default: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<ExprText>,
    /// The action.
    #[serde(rename = "do")]
    pub action: String,
    /// The action's amount (dDT, or xDAI for `buy_with`, LP tokens for
    /// `remove_liquidity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<ExprText>,
    /// xDAI offered with `add_liquidity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xdai: Option<ExprText>,
    /// The use case of `spend`, `buy_and_spend`, `revoke` and `contribute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_case: Option<String>,
    /// A `spend` that may spend less than `amount` (what it holds) instead of nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<bool>,
    /// Quality of a `contribute`d dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<ExprText>,
    /// Quantity of a `contribute`d dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<ExprText>,
    /// Highest price (xDAI per dDT) a `buy` pays, checked when it is carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<ExprText>,
}
