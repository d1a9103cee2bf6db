//! The scenario: every number the model uses, grouped by mechanism, with the seed's
//! defaults and one validation pass.
//!
//! The layout here *is* the TOML layout (`simulation.total_steps`, `agents.power.share`,
//! ...): the CLI layers files, `.env`, environment variables and flags over
//! [`Config::default`] and hands the result to [`Config::validate`], which names the key,
//! the value and what is accepted, so every front end reports bad input the same way.
//!
//! Each mechanism's settings live beside it (`market::MarketConfig`, `pie::PieConfig`,
//! `agents::AgentsConfig`, `governance::GovernanceConfig`, ...) and are re-exported here;
//! this module holds the whole-run settings, the [`Config`] that gathers them, and
//! (`validate.rs`) the one validation pass.

mod validate;

use serde::{Deserialize, Serialize};

pub use crate::agents::{
    ActiveConfig, AgentsConfig, CasualConfig, DegenConfig, Draw, MemberConfig, NoiseConfig,
    OrganizationConfig, PerType, PieShareUse, PowerConfig,
};
pub use crate::circles::{CirclesConfig, MintPolicy, MintingConfig};
pub use crate::data_pool::{DataConfig, MAX_USE_CASES};
pub use crate::governance::GovernanceConfig;
pub use crate::market::MarketConfig;
pub use crate::pie::{PieConfig, PiePolicy, PieShares};
pub use crate::validation::{ConfigError, MAX_AMOUNT, MAX_EXPONENT};

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

impl Activation {
    /// Every order, in declaration order (what the dashboard offers).
    pub const ALL: [Activation; 2] = [Activation::Sequential, Activation::Shuffled];
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
    /// Scheduled shocks (`[[events]]`); none by default, and absent from records then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::events::EventConfig>,
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
