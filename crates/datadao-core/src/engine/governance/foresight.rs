//! Foresight: the economy forked, with and without the proposal, simulated over the
//! horizon, and each member type's objective read at the end. A fork is a full copy of
//! the economy, so its horizon is kept within `governance.fork_agent_steps` agent-steps
//! (counting the agents who join during it), its copy is reserved before it is made, and
//! every fork step looks at the stop flag.

use super::super::Simulation;
use super::vote::{Forecast, Forecasts};
use super::{Ahead, State};
use crate::agent_type::{PerTypeArray, MAX_TYPES};
use crate::agents;
use crate::control::StepError;
use crate::governance::{Objective, Proposal};
use crate::transactions::NullObserver;

/// Largest economy whose two forks run side by side (each is a full copy of it).
const PARALLEL_FORKS_UP_TO: usize = 100_000;

/// A copy of `v` with room for `extra` more elements, or `None` if memory for it cannot
/// be had.
fn with_room<T: Clone>(v: &[T], extra: usize) -> Option<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(v.len().checked_add(extra)?).ok()?;
    out.extend_from_slice(v);
    Some(out)
}

impl Simulation {
    /// The horizon of a vote at the end of `step`: `governance.horizon`, shortened so
    /// that a fork simulates at most `governance.fork_agent_steps` agent-steps, counting
    /// the agents who join during the fork (at least one step).
    pub(super) fn horizon_at(&self, step: u32) -> u64 {
        let remaining = u64::from(u32::MAX - step - 1);
        let s = &self.config.simulation;
        self.config.governance.fork_horizon(
            u64::from(step),
            self.agents.len() as u64,
            (s.entry_steps, s.agents_per_entry),
            remaining,
        )
    }

    /// A copy of the economy that simulates but never governs or writes, starting at the
    /// step after this one, with room for the agents who join during `steps` steps: a
    /// copy grown by reallocation would hold two copies at once for a moment, which at a
    /// million agents is the difference between two and three economies in memory.
    pub(super) fn fork(&self, steps: u64) -> Result<Simulation, StepError> {
        let s = &self.config.simulation;
        let entries = (steps + 1).div_ceil(s.entry_steps);
        let joining = u128::from(s.agents_per_entry) * u128::from(entries);
        let agents = self.agents.len() as u128 + joining;
        let refused = || StepError::OutOfMemory {
            what: "a foresight fork's copy of the economy",
            agents,
            bytes: agents
                * (std::mem::size_of::<agents::Agent>()
                    + std::mem::size_of::<agents::Member>()
                    + crate::data_pool::DataPool::BYTES_PER_MEMBER) as u128,
        };
        let extra = usize::try_from(joining).map_err(|_| refused())?;
        let order_room = if self.order.is_empty() { 0 } else { extra };
        Ok(Simulation {
            config: self.config.clone(),
            types: self.types.clone(),
            is_member: self.is_member,
            agents: with_room(&self.agents, extra).ok_or_else(refused)?,
            members: with_room(&self.members, extra).ok_or_else(refused)?,
            pool: self.pool.clone(),
            pie: self.pie.clone(),
            population: self.population.clone(),
            ledger: self.ledger.clone(),
            vault: self.vault.clone(),
            data: self.data.fork_with_room(extra).map_err(|_| refused())?,
            rng: self.rng.clone(),
            next_step: self.next_step + 1,
            seq: self.seq,
            flows: self.flows,
            order: with_room(&self.order, order_room).ok_or_else(refused)?,
            job_use_case: self.job_use_case,
            use_cases: self.use_cases,
            crc_factor: self.crc_factor,
            ddt_factor: self.ddt_factor,
            violation: self.violation.clone(),
            skip_probability: self.skip_probability,
            amount_jitter: self.amount_jitter,
            noisy: self.noisy,
            outlook: self.outlook,
            outlook_stale: self.outlook_stale,
            settings: self.settings,
            treasury: self.treasury,
            governance: State {
                forked: true,
                ..self.governance.clone()
            },
            pie_income: self.pie_income,
            ahead: Ahead::default(),
            stop: self.stop.clone(),
            type_rules: self.type_rules.clone(),
            pie_accounts: with_room(&self.pie_accounts, extra).ok_or_else(refused)?,
            pie_per_agent: self.pie_per_agent,
            // A look-ahead needs no spread of wealth.
            measure_wealth: false,
            // A fork acts as the run does: the same policies, shared.
            policies: self.policies.clone(),
            policy_failure: None,
            events: self.events.clone(),
            event_numbers: self.event_numbers.clone(),
            next_event: self.next_event,
            event_mask: self.event_mask,
            rule_memory: if self.rule_memory.is_empty() {
                Vec::new()
            } else {
                with_room(&self.rule_memory, extra).ok_or_else(refused)?
            },
        })
    }

    /// Simulate the horizon on two forks, with and without the proposal, and read every
    /// member type's objective at their ends.
    pub(super) fn foresee(&self, step: u32, proposal: &Proposal) -> Result<Forecasts, StepError> {
        let steps = self.horizon_at(step);
        let run = |with_proposal: bool| -> Result<Forecast, StepError> {
            let mut fork = self.fork(steps)?;
            if with_proposal {
                fork.enact(step, 0, proposal, &mut NullObserver);
            }
            for _ in 0..steps {
                if self.stop.is_raised() {
                    return Err(StepError::Stopped);
                }
                fork.fork_step();
            }
            Ok(fork.objectives(&self.pie_income))
        };
        // Each fork is a full copy of the economy: side by side while that is small,
        // one after the other when a third copy would weigh (a million agents).
        let (with, without) = if self.agents.len() <= PARALLEL_FORKS_UP_TO {
            rayon::join(|| run(true), || run(false))
        } else {
            (run(true), run(false))
        };
        Ok(Forecasts {
            horizon: Some(steps),
            with: with?,
            without: without?,
        })
    }

    /// What a member type looks at when it votes with foresight (`None`: it does not
    /// vote).
    pub(super) fn objective_of(&self, kind: crate::AgentType) -> Option<Objective> {
        let seed = self.config.governance.objective.of(kind);
        seed.or_else(|| {
            let custom = self.config.agents.custom(kind)?;
            custom.member.then_some(custom.objective)
        })
    }

    /// Each member type's objective now; `pie_income` counts from `income_before`.
    pub(super) fn objectives(&self, income_before: &PerTypeArray<f64>) -> Forecast {
        let counts = self.population.counts();
        let price = self.pool.price();
        let objectives: Vec<Option<Objective>> =
            self.types.types().map(|t| self.objective_of(t)).collect();
        let mut wealth = [0.0; MAX_TYPES];
        if objectives.contains(&Some(Objective::Wealth)) {
            let p = price.unwrap_or(0.0);
            let lp_value = if self.pool.lp_supply() > 0.0 {
                (self.pool.xdai_reserve() + self.pool.ddt_reserve() * p) / self.pool.lp_supply()
            } else {
                0.0
            };
            for a in &self.agents {
                wealth[a.kind.index()] += a.xdai + a.ddt * p + a.lp * lp_value;
            }
        }
        let per_member = |kind: crate::AgentType, total: f64| {
            let n = counts[kind.index()];
            (n > 0).then(|| total / n as f64)
        };
        let value = |kind: crate::AgentType, o: Objective| match o {
            Objective::Wealth => per_member(kind, wealth[kind.index()]),
            Objective::Price | Objective::ComputeCost => price,
            Objective::PieIncome => per_member(
                kind,
                self.pie_income[kind.index()] - income_before[kind.index()],
            ),
        };
        let mut forecast = [None; MAX_TYPES];
        for (kind, objective) in self.types.types().zip(objectives) {
            forecast[kind.index()] = objective.and_then(|o| value(kind, o));
        }
        forecast
    }
}
