//! The scenario: every number the model uses, grouped by mechanism, with the seed's
//! defaults and one validation pass.
//!
//! The layout here *is* the TOML layout (`simulation.total_steps`, `agents.power.share`,
//! ...): the CLI layers files, `.env`, environment variables and flags over
//! [`Config::default`] and hands the result to [`Config::validate`], which names the key,
//! the value and what is accepted, so every front end reports bad input the same way.

use serde::{Deserialize, Serialize};

use crate::agent_type::AgentType;

/// How agents are ordered within a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// In the order they joined.
    #[default]
    Sequential,
    /// A fresh permutation every step, drawn from the run's seeded generator.
    Shuffled,
}

/// Which rules run the economy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Rules {
    /// This project's model.
    #[default]
    Model,
    /// The first published simulation's rules, defects included (preset
    /// `original-2024`); reads only total_steps, entry_steps, agents_per_entry, fee_rate.
    #[serde(rename = "original-2024")]
    Original2024,
}

/// Whole-run settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulationConfig {
    /// Number of steps (days) to simulate.
    pub total_steps: u64,
    /// Agents enter at every step where `step % entry_steps == 0`.
    pub entry_steps: u64,
    /// How many agents join at each entry step.
    pub agents_per_entry: u64,
    /// How many agents join before step 0.
    pub initial_agents: u64,
    /// Seed of the run's ChaCha8 generator.
    pub seed: u64,
    /// Order of agents within a step.
    pub activation: Activation,
    /// Check the token ledger after every step and stop at the first violation.
    pub audit: bool,
    /// Which rules run the economy: `model` or `original-2024`.
    pub rules: Rules,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self {
            total_steps: 2000,
            entry_steps: 5,
            agents_per_entry: 10,
            initial_agents: 10,
            seed: 42,
            activation: Activation::Sequential,
            audit: false,
            rules: Rules::Model,
        }
    }
}

/// The dDT/xDAI pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// Swap fee, kept in the pool for liquidity providers.
    pub fee_rate: f64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self { fee_rate: 0.003 }
    }
}

/// How The Pie's distribution is split between member groups.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PieShares {
    /// Share of each distribution that goes to power users.
    pub power: f64,
    /// Share that goes to active users.
    pub active: f64,
    /// Share that goes to casual users.
    pub casual: f64,
}

impl Default for PieShares {
    fn default() -> Self {
        Self {
            power: 0.4,
            active: 0.4,
            casual: 0.2,
        }
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
}

impl Default for PieConfig {
    fn default() -> Self {
        Self {
            policy: PiePolicy::Groups,
            interval_steps: 1,
            distribution_rate: 0.7,
            shares: PieShares::default(),
        }
    }
}

/// Circles: personal CRC issuance and demurrage, as the Circles v2 protocol defines them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CirclesConfig {
    /// Personal CRC issued per day (1 per hour in Circles v2).
    pub issuance_per_day: f64,
    /// Members claim their issuance every this many days (1 = daily).
    pub claim_interval_days: u64,
    /// At most this many days of issuance can be claimed at once (14 in Circles v2).
    pub max_claim_days: u64,
    /// Yearly demurrage on personal CRC (7% in Circles v2): balances are multiplied by
    /// `(1 - rate)^(1/365.25)` each day.
    pub demurrage_per_year: f64,
    /// Let dDT decay like CRC: every dDT balance (members', the Pie's, the pool's reserve)
    /// and the CRC locked in the vault shrink by the same daily factor, so backing stays
    /// 1:1. Off by default: the seed's figures assume a non-decaying dDT.
    pub ddt_demurrage: bool,
    /// CRC a member holds when it joins (14 days of issuance).
    pub initial_crc: f64,
}

impl Default for CirclesConfig {
    fn default() -> Self {
        Self {
            issuance_per_day: 24.0,
            claim_interval_days: 1,
            max_claim_days: 14,
            demurrage_per_year: 0.07,
            ddt_demurrage: false,
            initial_crc: 336.0,
        }
    }
}

/// How the right to mint is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MintPolicy {
    /// Total CRC locked may not exceed `mint_per_weight * ContributionWeight`.
    Weight,
    /// A mint may use at most `min(score, 100)/100` of the CRC issued to the member since
    /// its last mint (Circles' score-based group policy).
    IssuanceScore,
}

/// Minting dDT against locked CRC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MintingConfig {
    /// Which cap applies.
    pub policy: MintPolicy,
    /// CRC that may be locked per unit of Contribution Weight (policy `weight`).
    pub mint_per_weight: f64,
}

impl Default for MintingConfig {
    fn default() -> Self {
        Self {
            policy: MintPolicy::Weight,
            mint_per_weight: 1.0,
        }
    }
}

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
            AgentType::Degen => self.degen,
            AgentType::Organization => self.organization,
            AgentType::Power => self.power,
            AgentType::Active => self.active,
            AgentType::Casual => self.casual,
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

/// Corrections to the 2024 program's accounting defects, one switch each, for seeing
/// what each defect does (rules `original-2024` only). All off: the program as it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Original2024Config {
    /// Fees accrue to every provider by its shares; collecting takes only one's own.
    pub correct_lp_fees: bool,
    /// A degen keeps what it collects instead of adding half, unpaid, to the pool.
    pub correct_reinvest: bool,
    /// The Pie's 70% reaches power, active and casual users (40/40/20, equal within a
    /// group) as the program intended.
    pub correct_pie: bool,
}

/// What a member does with a Pie share it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PieShareUse {
    /// Hold it (for later compute).
    Keep,
    /// Sell it for xDAI at once.
    Sell,
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
}

impl Default for OrganizationConfig {
    fn default() -> Self {
        Self {
            share: 0.05,
            initial_ddt: 0.0,
            initial_xdai: 1000.0,
            daily_compute_ddt: 2.0,
            job_use_case: "commercial".into(),
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
        }
    }
}

/// The five agent types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
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
}

impl AgentsConfig {
    /// The population share of each type, in [`AgentType::ALL`] order.
    pub fn shares(&self) -> [f64; 5] {
        [
            self.degen.share,
            self.organization.share,
            self.power.share,
            self.active.share,
            self.casual.share,
        ]
    }

    /// Data, consent and minting behaviour of a member type (`None` for organizations).
    pub fn member(&self, kind: AgentType) -> Option<&MemberConfig> {
        match kind {
            AgentType::Degen => Some(&self.degen.member),
            AgentType::Organization => None,
            AgentType::Power => Some(&self.power.member),
            AgentType::Active => Some(&self.active.member),
            AgentType::Casual => Some(&self.casual.member),
        }
    }

    /// What a type does with a Pie share.
    pub fn pie_share_use(&self, kind: AgentType) -> PieShareUse {
        match kind {
            AgentType::Degen => self.degen.pie_share,
            AgentType::Organization => PieShareUse::Keep,
            AgentType::Power => self.power.pie_share,
            AgentType::Active => self.active.pie_share,
            AgentType::Casual => self.casual.pie_share,
        }
    }

    /// Use case of a type's compute jobs.
    pub fn job_use_case(&self, kind: AgentType) -> &str {
        match self.member(kind) {
            Some(m) => &m.job_use_case,
            None => &self.organization.job_use_case,
        }
    }

    /// (initial dDT, initial xDAI) of a type.
    pub fn endowment(&self, kind: AgentType) -> (f64, f64) {
        match kind {
            AgentType::Degen => (self.degen.initial_ddt, self.degen.initial_xdai),
            AgentType::Organization => (
                self.organization.initial_ddt,
                self.organization.initial_xdai,
            ),
            AgentType::Power => (self.power.initial_ddt, self.power.initial_xdai),
            AgentType::Active => (self.active.initial_ddt, self.active.initial_xdai),
            AgentType::Casual => (self.casual.initial_ddt, self.casual.initial_xdai),
        }
    }
}

/// A complete scenario for the simulation core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whole-run settings.
    pub simulation: SimulationConfig,
    /// The pool.
    pub market: MarketConfig,
    /// The Pie.
    pub pie: PieConfig,
    /// Personal CRC.
    pub circles: CirclesConfig,
    /// Minting against locked CRC.
    pub minting: MintingConfig,
    /// The data pool and consent.
    pub data: DataConfig,
    /// Agent types.
    pub agents: AgentsConfig,
    /// Corrections to the 2024 program's defects (rules `original-2024`).
    pub original_2024: Original2024Config,
    /// Behaviour noise.
    pub noise: NoiseConfig,
    /// Members' governance of the treasury and the governable settings (off by default).
    pub governance: crate::governance::GovernanceConfig,
}

/// A setting whose value the model cannot use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{key} = {value}: accepted: {accepted}")]
pub struct ConfigError {
    /// Dotted TOML key of the setting, e.g. `market.fee_rate`.
    pub key: String,
    /// The value given, as text.
    pub value: String,
    /// What would have been accepted.
    pub accepted: String,
    /// Other settings whose values broke the rule together with `key` (the population's
    /// size depends on four), so a front end can say where each came from.
    pub related: Vec<String>,
}

/// Most use cases a scenario may define; per-member consent state is a fixed-size array.
pub const MAX_USE_CASES: usize = 8;

/// How far a set of shares may stray from 1 before it is refused. Decimal shares such as
/// 0.4 + 0.05 + 0.05 + 0.3 + 0.2 do not sum to exactly 1.0 in binary.
const SHARE_SUM_TOLERANCE: f64 = 1e-9;

pub(crate) fn err(key: &str, value: impl ToString, accepted: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: value.to_string(),
        accepted: accepted.to_string(),
        related: Vec::new(),
    }
}

pub(crate) fn at_least_one(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(err(key, value, "a whole number of at least 1"));
    }
    Ok(())
}

pub(crate) fn fraction(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(err(key, value, "a number in [0, 1]"));
    }
    Ok(())
}

/// Largest token or data amount a setting may hold. Sums over millions of agents then
/// stay far inside `f64`'s range, and the audit's relative precision (1e-9) stays
/// meaningful; larger values overflowed to infinity before.
pub const MAX_AMOUNT: f64 = 1e15;

/// Largest exponent on quality or quantity in the Contribution Weight: `1e15^10` is still
/// a finite weight, summed over millions of members.
pub const MAX_EXPONENT: f64 = 10.0;

pub(crate) fn amount(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=MAX_AMOUNT).contains(&value) {
        return Err(err(
            key,
            value,
            "a number from 0 to 1e15 (larger amounts overflow sums over many agents)",
        ));
    }
    Ok(())
}

pub(crate) fn positive(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(value > 0.0 && value.is_finite()) {
        return Err(err(key, value, "a finite number above 0"));
    }
    Ok(())
}

fn sums_to_one(key: &str, parts: &[(&str, f64)]) -> Result<(), ConfigError> {
    let sum: f64 = parts.iter().map(|(_, v)| v).sum();
    if (sum - 1.0).abs() > SHARE_SUM_TOLERANCE {
        let listed: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return Err(err(
            key,
            format!("{} (sum {sum})", listed.join(", ")),
            "shares that sum to 1",
        ));
    }
    Ok(())
}

impl Config {
    /// Check every setting; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.simulation;
        at_least_one("simulation.total_steps", s.total_steps)?;
        at_least_one("simulation.entry_steps", s.entry_steps)?;
        at_least_one("simulation.agents_per_entry", s.agents_per_entry)?;
        if s.total_steps > u64::from(u32::MAX) {
            return Err(err(
                "simulation.total_steps",
                s.total_steps,
                "a whole number from 1 to 4294967295",
            ));
        }
        let most_agents = s.initial_agents.saturating_add(
            s.agents_per_entry
                .saturating_mul(s.total_steps.div_ceil(s.entry_steps)),
        );
        if most_agents > u64::from(u32::MAX) {
            let mut e = err(
                "simulation.agents_per_entry",
                s.agents_per_entry,
                &format!(
                    "a population that stays below 4294967295 agents over the run (initial_agents + agents_per_entry x ceil(total_steps / entry_steps) = {most_agents} here)"
                ),
            );
            e.related = [
                "simulation.total_steps",
                "simulation.entry_steps",
                "simulation.initial_agents",
            ]
            .map(String::from)
            .to_vec();
            return Err(e);
        }
        if s.seed > i64::MAX as u64 {
            return Err(err(
                "simulation.seed",
                s.seed,
                "a whole number from 0 to 9223372036854775807",
            ));
        }
        let fee = self.market.fee_rate;
        if !(0.0..1.0).contains(&fee) {
            return Err(err("market.fee_rate", fee, "a number in [0, 1)"));
        }
        fraction("pie.distribution_rate", self.pie.distribution_rate)?;
        let ps = &self.pie.shares;
        for (key, v) in [
            ("pie.shares.power", ps.power),
            ("pie.shares.active", ps.active),
            ("pie.shares.casual", ps.casual),
        ] {
            fraction(key, v)?;
        }
        sums_to_one(
            "pie.shares",
            &[
                ("power", ps.power),
                ("active", ps.active),
                ("casual", ps.casual),
            ],
        )?;

        let a = &self.agents;
        let shares = a.shares();
        for (kind, share) in AgentType::ALL.iter().zip(shares) {
            fraction(&format!("agents.{}.share", kind.name()), share)?;
        }
        let named: Vec<(&str, f64)> = AgentType::ALL
            .iter()
            .map(|k| k.name())
            .zip(shares)
            .collect();
        sums_to_one("agents.<type>.share", &named)?;
        for kind in AgentType::ALL {
            let (ddt, xdai) = a.endowment(kind);
            amount(&format!("agents.{}.initial_ddt", kind.name()), ddt)?;
            amount(&format!("agents.{}.initial_xdai", kind.name()), xdai)?;
        }
        if a.organization.initial_ddt != 0.0 {
            return Err(err(
                "agents.organization.initial_ddt",
                a.organization.initial_ddt,
                "0 (organizations are buyers, not members: no dDT is minted for them)",
            ));
        }
        amount("agents.degen.liquidity_ddt", a.degen.liquidity_ddt)?;
        amount("agents.degen.liquidity_xdai", a.degen.liquidity_xdai)?;
        amount(
            "agents.organization.daily_compute_ddt",
            a.organization.daily_compute_ddt,
        )?;
        amount("agents.power.daily_compute_ddt", a.power.daily_compute_ddt)?;
        positive("agents.power.max_buy_price", a.power.max_buy_price)?;
        amount(
            "agents.active.daily_compute_ddt",
            a.active.daily_compute_ddt,
        )?;
        amount(
            "agents.casual.daily_compute_ddt",
            a.casual.daily_compute_ddt,
        )?;
        amount("agents.casual.daily_sell_ddt", a.casual.daily_sell_ddt)?;
        at_least_one("pie.interval_steps", self.pie.interval_steps)?;
        for kind in AgentType::ALL {
            fraction(
                &format!("noise.skip_probability.{}", kind.name()),
                self.noise.skip_probability.of(kind),
            )?;
            fraction(
                &format!("noise.amount_jitter.{}", kind.name()),
                self.noise.amount_jitter.of(kind),
            )?;
        }
        self.validate_circles_and_data()?;
        self.governance
            .validate(&self.governed_settings(), self.simulation.rules)
    }

    /// The governable settings' values as configured (before any vote).
    pub fn governed_settings(&self) -> crate::governance::GovernedSettings {
        crate::governance::GovernedSettings {
            fee_rate: self.market.fee_rate,
            distribution_rate: self.pie.distribution_rate,
            shares: self.pie.shares,
            mint_per_weight: self.minting.mint_per_weight,
        }
    }

    /// Index of a use case in `data.use_cases`.
    pub fn use_case_index(&self, name: &str) -> Option<usize> {
        self.data.use_cases.iter().position(|u| u == name)
    }

    fn validate_circles_and_data(&self) -> Result<(), ConfigError> {
        let c = &self.circles;
        amount("circles.issuance_per_day", c.issuance_per_day)?;
        at_least_one("circles.claim_interval_days", c.claim_interval_days)?;
        at_least_one("circles.max_claim_days", c.max_claim_days)?;
        if !(0.0..1.0).contains(&c.demurrage_per_year) {
            return Err(err(
                "circles.demurrage_per_year",
                c.demurrage_per_year,
                "a number in [0, 1)",
            ));
        }
        amount("circles.initial_crc", c.initial_crc)?;
        amount("minting.mint_per_weight", self.minting.mint_per_weight)?;
        let d = &self.data;
        let uc = &d.use_cases;
        if uc.is_empty() || uc.len() > MAX_USE_CASES {
            return Err(err(
                "data.use_cases",
                format!("{uc:?}"),
                "a list of 1 to 8 names",
            ));
        }
        for (i, name) in uc.iter().enumerate() {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
            if !ok || uc[..i].contains(name) {
                return Err(err(
                    "data.use_cases",
                    format!("{uc:?}"),
                    "distinct names of letters, digits, '_' or '-'",
                ));
            }
        }
        for (key, value) in [
            ("data.quality_exponent", d.quality_exponent),
            ("data.quantity_exponent", d.quantity_exponent),
        ] {
            if !(0.0..=MAX_EXPONENT).contains(&value) {
                return Err(err(key, value, "a number from 0 to 10"));
            }
        }
        let org_case = &self.agents.organization.job_use_case;
        if self.use_case_index(org_case).is_none() {
            return Err(err(
                "agents.organization.job_use_case",
                org_case,
                &format!("one of data.use_cases {uc:?}"),
            ));
        }
        for kind in AgentType::ALL {
            let Some(m) = self.agents.member(kind) else {
                continue;
            };
            let key = |field: &str| format!("agents.{}.member.{field}", kind.name());
            if m.quantity_draw == Draw::Beta {
                return Err(err(&key("quantity_draw"), "beta", "fixed or lognormal"));
            }
            if m.quality_draw == Draw::Lognormal {
                return Err(err(&key("quality_draw"), "lognormal", "fixed or beta"));
            }
            amount(&key("quantity"), m.quantity)?;
            // Draws are capped at MAX_AMOUNT; these bounds keep the distribution itself
            // meaningful below that cap (e^34.5 is about 1e15).
            if !(-34.5..=34.5).contains(&m.quantity_mu) {
                return Err(err(
                    &key("quantity_mu"),
                    m.quantity_mu,
                    "a number from -34.5 to 34.5",
                ));
            }
            if !(0.0..=10.0).contains(&m.quantity_sigma) {
                return Err(err(
                    &key("quantity_sigma"),
                    m.quantity_sigma,
                    "a number from 0 to 10",
                ));
            }
            fraction(&key("quality"), m.quality)?;
            positive(&key("quality_alpha"), m.quality_alpha)?;
            positive(&key("quality_beta"), m.quality_beta)?;
            fraction(&key("contribution_rate"), m.contribution_rate)?;
            fraction(&key("revoke_probability"), m.revoke_probability)?;
            fraction(&key("remove_probability"), m.remove_probability)?;
            amount(&key("daily_mint_ddt"), m.daily_mint_ddt)?;
            amount(&key("daily_redeem_ddt"), m.daily_redeem_ddt)?;
            let rp = &m.restrict_probability;
            if !(rp.len() == 1 || rp.len() == uc.len())
                || rp.iter().any(|p| !(0.0..=1.0).contains(p))
            {
                return Err(err(
                    &key("restrict_probability"),
                    format!("{rp:?}"),
                    &format!(
                        "one probability in [0, 1], or one per use case ({})",
                        uc.len()
                    ),
                ));
            }
            if self.use_case_index(&m.job_use_case).is_none() {
                return Err(err(
                    &key("job_use_case"),
                    &m.job_use_case,
                    &format!("one of data.use_cases {uc:?}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn fee_of_one_is_refused_with_key_and_range() {
        let mut c = Config::default();
        c.market.fee_rate = 1.0;
        let e = c.validate().unwrap_err();
        assert_eq!(e.key, "market.fee_rate");
        assert_eq!(e.value, "1");
        assert!(e.accepted.contains("[0, 1)"));
    }

    #[test]
    fn shares_must_sum_to_one() {
        let mut c = Config::default();
        c.agents.degen.share = 0.5;
        let e = c.validate().unwrap_err();
        assert_eq!(e.key, "agents.<type>.share");
        assert!(e.value.contains("sum 1.1"), "{}", e.value);
    }

    #[test]
    fn zero_counts_are_refused() {
        for key in ["total_steps", "entry_steps", "agents_per_entry"] {
            let mut c = Config::default();
            match key {
                "total_steps" => c.simulation.total_steps = 0,
                "entry_steps" => c.simulation.entry_steps = 0,
                _ => c.simulation.agents_per_entry = 0,
            }
            assert_eq!(c.validate().unwrap_err().key, format!("simulation.{key}"));
        }
    }
}
