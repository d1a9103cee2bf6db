//! One interface over the rule sets a run can use: the model ([`crate::engine`]) and the
//! first published simulation's rules ([`crate::original_2024`]). Front ends drive an
//! [`Economy`] and never need to know which rules are running.

use crate::config::{Config, ConfigError, Rules};
use crate::control::{StepError, StopFlag};
use crate::engine::Simulation;
use crate::flows::FlowTotals;
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
    Original2024(Box<original_2024::Replica>),
}

impl Economy {
    /// Build the economy `config.simulation.rules` asks for; the configuration is
    /// validated once, by whichever constructor takes it.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Ok(match config.simulation.rules {
            Rules::Model => {
                let mut sim = Simulation::new(config)?;
                // Front ends watch only the observer, so votes may look ahead.
                sim.look_ahead(true);
                Economy::Model(Box::new(sim))
            }
            Rules::Original2024 => {
                config.validate()?;
                Economy::Original2024(Box::new(original_2024::Replica::new(&config)))
            }
        })
    }

    /// Stop the run when `flag` is raised: the step in progress (a foresight vote's
    /// forks included) returns [`StepError::Stopped`] within a few thousand agents'
    /// work, and so does every later step.
    pub fn set_stop(&mut self, flag: StopFlag) {
        match self {
            Economy::Model(sim) => sim.set_stop(flag),
            Economy::Original2024(sim) => sim.set_stop(flag),
        }
    }

    /// Run one step. Fails (whether or not the audit is on) if any figure of the step is
    /// NaN or infinite, so such a value never reaches an output; if the stop flag was
    /// raised; or if memory for the agents who join could not be had.
    ///
    /// The observer sees the step's row before the check for NaN; front ends make their
    /// outputs visible only when the whole run succeeded.
    pub fn step<O: Observer>(&mut self, observer: &mut O) -> Result<StepMetrics, StepError> {
        let metrics = match self {
            Economy::Model(sim) => sim.step(observer)?,
            Economy::Original2024(sim) => sim.step(observer)?,
        };
        if let Some((column, value)) = metrics.first_non_finite(metrics.allowed_share.len()) {
            return Err(StepError::Audit(AuditError {
                step: metrics.step,
                detail: format!(
                    "{column} is {value}: a number overflowed or became undefined; no output is written with it"
                ),
            }));
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

    /// The run's flows so far, by action and party (see [`crate::flows`]).
    pub fn flows(&self) -> &FlowTotals {
        match self {
            Economy::Model(sim) => sim.ledger().flows(),
            Economy::Original2024(sim) => sim.flows(),
        }
    }

    /// The run's types: the seed's five, then the scenario's own.
    pub fn types(&self) -> crate::agent_type::TypeNames {
        match self {
            Economy::Model(sim) => sim.types().clone(),
            Economy::Original2024(_) => crate::agent_type::TypeNames::seed(),
        }
    }

    /// Give a type a policy (behaviour as code, e.g. a Python function); the
    /// original-2024 rules refuse it.
    pub fn set_policy(
        &mut self,
        kind: crate::AgentType,
        policy: std::sync::Arc<dyn crate::policy::Policy>,
    ) -> Result<(), ConfigError> {
        match self {
            Economy::Model(sim) => sim.set_policy(kind, policy),
            Economy::Original2024(_) => Err(crate::validation::err(
                "policy",
                "a policy",
                "no policy under simulation.rules = original-2024",
            )),
        }
    }

    /// Measure each type's spread of wealth every step (`output.distribution`); the
    /// original-2024 rules refuse it (their replica keeps no such figures).
    pub fn set_measure_wealth(&mut self, on: bool) -> Result<(), ConfigError> {
        match self {
            Economy::Model(sim) => {
                sim.set_measure_wealth(on);
                Ok(())
            }
            Economy::Original2024(_) if on => Err(crate::validation::err(
                "output.distribution",
                on,
                "false under simulation.rules = original-2024",
            )),
            Economy::Original2024(_) => Ok(()),
        }
    }

    /// Whether agents may leave during the run (a `leave` event): `agents.csv` then says
    /// when each one left.
    pub fn agents_may_leave(&self) -> bool {
        match self {
            Economy::Model(sim) => sim.agents_may_leave(),
            Economy::Original2024(_) => false,
        }
    }

    /// Every agent as it stands, in join order (the rows of `agents.csv`).
    pub fn agent_rows(&self, row: impl FnMut(crate::metrics::AgentRow)) {
        match self {
            Economy::Model(sim) => sim.agent_rows(row),
            Economy::Original2024(sim) => sim.agent_rows(row),
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
