//! One interface over the rule sets a run can use: the model ([`crate::engine`]) and the
//! first published simulation's rules ([`crate::original_2024`]). Front ends drive an
//! [`Economy`] and never need to know which rules are running.

use crate::config::{Config, ConfigError, Rules};
use crate::engine::Simulation;
use crate::ledger::AuditError;
use crate::metrics::StepMetrics;
use crate::original_2024;
use crate::transactions::Observer;

/// A running economy under either rule set.
#[derive(Clone, Debug)]
pub enum Economy {
    /// This project's model.
    Model(Box<Simulation>),
    /// The 2024 program's rules.
    Original2024(Box<original_2024::Simulation>),
}

impl Economy {
    /// Build the economy `config.simulation.rules` asks for.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(match config.simulation.rules {
            Rules::Model => {
                let mut sim = Simulation::new(config)?;
                // Front ends watch only the observer, so votes may look ahead.
                sim.look_ahead(true);
                Economy::Model(Box::new(sim))
            }
            Rules::Original2024 => {
                Economy::Original2024(Box::new(original_2024::Simulation::new(&config)))
            }
        })
    }

    /// Run one step. Fails (whether or not the audit is on) if any figure of the step is
    /// NaN or infinite, so such a value never reaches an output.
    ///
    /// The observer sees the step's row before this check; front ends make their outputs
    /// visible only when the whole run succeeded.
    pub fn step<O: Observer>(&mut self, observer: &mut O) -> Result<StepMetrics, AuditError> {
        let metrics = match self {
            Economy::Model(sim) => sim.step(observer)?,
            Economy::Original2024(sim) => sim.step(observer)?,
        };
        if let Some((column, value)) = metrics.first_non_finite(metrics.allowed_share.len()) {
            return Err(AuditError {
                step: metrics.step,
                detail: format!(
                    "{column} is {value}: a number overflowed or became undefined; no output is written with it"
                ),
            });
        }
        Ok(metrics)
    }

    /// Whether all configured steps have run.
    pub fn is_finished(&self) -> bool {
        match self {
            Economy::Model(sim) => sim.is_finished(),
            Economy::Original2024(sim) => sim.is_finished(),
        }
    }

    /// What the rules created or destroyed, for rule sets with known defects.
    pub fn defects(&self) -> Option<&original_2024::Defects> {
        match self {
            Economy::Model(_) => None,
            Economy::Original2024(sim) => Some(sim.defects()),
        }
    }
}
