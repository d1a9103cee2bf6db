//! Governance as the engine runs it: at the end of every `governance.interval_steps`-th
//! step one proposal is drafted, members vote (with foresight: on forks of the economy),
//! and what passes is carried out on the treasury, the pool or the governed settings.
//! The rules themselves (the agenda, weights, the tally, how a setting moves) are in
//! [`crate::governance`]; this folder is the one place they touch the economy:
//!
//! - `vote.rs`: the vote, one sequence for every way of voting: drafting the proposal,
//!   who turns out, the count, the pass rule (evaluated once) and the record;
//! - `foresight.rs`: forecasts on forks of the economy (`fork`, the horizon within the
//!   fork budget, each type's objective);
//! - `look_ahead.rs`: foresight with the real run as the fork without the proposal;
//! - `enact.rs`: carrying out what passed (liquidity, burn, grants, set).
//!
//! Forks are clones of the whole simulation, generators included, marked `forked` so
//! they never govern themselves. They run with a [`crate::NullObserver`], so they write
//! nothing, and governance draws turnout and fixed votes from a generator of its own
//! (stream 1 of the run's seed), so the real run's random stream is the same whether or
//! not anybody votes.

mod enact;
mod foresight;
mod look_ahead;
mod vote;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub(super) use look_ahead::Ahead;

use super::Simulation;
use crate::control::StepError;
use crate::governance::{Agenda, ProposalKind, Voting, MEMBER_TYPES};
use crate::transactions::Observer;
use vote::Forecasts;

/// Governance's own state inside a simulation.
#[derive(Clone, Debug)]
pub(super) struct State {
    /// Proposals put so far.
    pub(super) proposals: u64,
    /// Proposals passed so far.
    pub(super) passed: u64,
    agenda: Agenda,
    /// Turnout, fixed votes and random agendas: never the economy's generator.
    rng: ChaCha8Rng,
    /// A foresight fork: simulates, never governs.
    forked: bool,
}

impl State {
    pub(super) fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        Self {
            proposals: 0,
            passed: 0,
            agenda: Agenda::default(),
            rng,
            forked: false,
        }
    }
}

impl Simulation {
    /// Whether a proposal is due at the end of `step`: governance is on, this is not a
    /// fork, the interval has come round, and there are members to vote.
    fn proposal_due(&self, step: u32) -> bool {
        let g = &self.config.governance;
        if !g.enabled || self.governance.forked || (u64::from(step) + 1) % g.interval_steps != 0 {
            return false;
        }
        let counts = self.population.counts();
        MEMBER_TYPES.iter().any(|k| counts[k.index()] > 0)
    }

    /// Put a proposal to the vote if one is due at the end of `step`, and carry it out if
    /// it passes. Returns whether agents' balances may have changed.
    pub(super) fn govern<O: Observer>(
        &mut self,
        step: u32,
        observer: &mut O,
    ) -> Result<bool, StepError> {
        if !self.proposal_due(step) {
            return Ok(false);
        }
        let vote = self.open_vote(step, observer);
        let forecasts = match self.config.governance.voting {
            Voting::Foresight => {
                let forecasts = self.foresee(step, &vote.proposal)?;
                if self.stop.is_raised() {
                    return Err(StepError::Stopped);
                }
                forecasts
            }
            Voting::Fixed => Forecasts::none(),
        };
        let record = self.close_vote(step, &vote, forecasts, observer);
        if record.passed {
            self.enact(step, vote.number, &vote.proposal, observer);
        }
        observer.on_proposal(&record);
        Ok(record.passed && vote.proposal.kind() != ProposalKind::Set)
    }

    /// Whether the vote due at the end of `step` can be weighed by looking ahead (see
    /// [`Simulation::govern_looking_ahead`]): the front end asked for it, members vote
    /// with foresight, nobody watches transactions (they would have to be held back),
    /// and the real run, continued, is the fork without the proposal: no other vote
    /// falls inside the horizon, and the horizon ends within the run.
    pub(super) fn looks_ahead<O: Observer>(&self, step: u32, observer: &O) -> bool {
        let g = &self.config.governance;
        if !self.ahead.enabled
            || g.voting != Voting::Foresight
            || observer.wants_transactions()
            || !self.proposal_due(step)
        {
            return false;
        }
        let h = self.horizon_at(step);
        h <= g.interval_steps && u64::from(step) + h < self.config.simulation.total_steps
    }
}

#[cfg(test)]
mod tests;
