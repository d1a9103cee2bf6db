//! The scenario: every number the model uses, grouped by mechanism, with the seed's
//! defaults and one validation pass.
//!
//! The layout here *is* the TOML layout (`simulation.total_steps`, `agents.power.share`,
//! ...): the CLI layers files, `.env`, environment variables and flags over
//! [`Config::default`] and hands the result to [`Config::validate`], which names the key,
//! the value and what is accepted, so every front end reports bad input the same way.

use serde::{Deserialize, Serialize};

use crate::agents::AgentType;

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Fraction of the Pie's balance distributed at each distribution.
    pub distribution_rate: f64,
    /// Split of each distribution between groups.
    pub shares: PieShares,
}

impl Default for PieConfig {
    fn default() -> Self {
        Self {
            distribution_rate: 0.7,
            shares: PieShares::default(),
        }
    }
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
}

impl Default for DegenConfig {
    fn default() -> Self {
        Self {
            share: 0.40,
            initial_ddt: 100.0,
            initial_xdai: 10.0,
            liquidity_ddt: 10.0,
            liquidity_xdai: 10.0,
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
}

impl Default for OrganizationConfig {
    fn default() -> Self {
        Self {
            share: 0.05,
            initial_ddt: 0.0,
            initial_xdai: 1000.0,
            daily_compute_ddt: 2.0,
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
}

impl Default for ActiveConfig {
    fn default() -> Self {
        Self {
            share: 0.30,
            initial_ddt: 100.0,
            initial_xdai: 0.0,
            daily_compute_ddt: 1.0,
            pie_share: PieShareUse::Sell,
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
    /// Agent types.
    pub agents: AgentsConfig,
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
}

/// How far a set of shares may stray from 1 before it is refused. Decimal shares such as
/// 0.4 + 0.05 + 0.05 + 0.3 + 0.2 do not sum to exactly 1.0 in binary.
const SHARE_SUM_TOLERANCE: f64 = 1e-9;

fn err(key: &str, value: impl ToString, accepted: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: value.to_string(),
        accepted: accepted.to_string(),
    }
}

fn at_least_one(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(err(key, value, "a whole number of at least 1"));
    }
    Ok(())
}

fn fraction(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(err(key, value, "a number in [0, 1]"));
    }
    Ok(())
}

fn non_negative(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(value >= 0.0 && value.is_finite()) {
        return Err(err(key, value, "a finite number of at least 0"));
    }
    Ok(())
}

fn positive(key: &str, value: f64) -> Result<(), ConfigError> {
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
            return Err(err(
                "simulation.agents_per_entry",
                s.agents_per_entry,
                "a population that stays below 4294967295 agents over the run",
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
            non_negative(&format!("agents.{}.initial_ddt", kind.name()), ddt)?;
            non_negative(&format!("agents.{}.initial_xdai", kind.name()), xdai)?;
        }
        if a.organization.initial_ddt != 0.0 {
            return Err(err(
                "agents.organization.initial_ddt",
                a.organization.initial_ddt,
                "0 (organizations are buyers, not members: no dDT is minted for them)",
            ));
        }
        non_negative("agents.degen.liquidity_ddt", a.degen.liquidity_ddt)?;
        non_negative("agents.degen.liquidity_xdai", a.degen.liquidity_xdai)?;
        non_negative(
            "agents.organization.daily_compute_ddt",
            a.organization.daily_compute_ddt,
        )?;
        non_negative("agents.power.daily_compute_ddt", a.power.daily_compute_ddt)?;
        positive("agents.power.max_buy_price", a.power.max_buy_price)?;
        non_negative(
            "agents.active.daily_compute_ddt",
            a.active.daily_compute_ddt,
        )?;
        non_negative(
            "agents.casual.daily_compute_ddt",
            a.casual.daily_compute_ddt,
        )?;
        non_negative("agents.casual.daily_sell_ddt", a.casual.daily_sell_ddt)?;
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
