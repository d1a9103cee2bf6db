//! Foresight by looking ahead: when the proposal fails, the economy without it is what
//! the real run goes on to be, so the real run itself runs the horizon as that branch,
//! beside one fork with the proposal; after the vote the branch that won is kept and its
//! steps are reported one call of `step` at a time. The vote is the same sequence as
//! when forking twice (`vote.rs`).

use std::collections::VecDeque;

use super::super::{BalanceSums, Simulation};
use super::vote::Forecasts;
use crate::control::StepError;
use crate::governance::ProposalKind;
use crate::ledger::AuditError;
use crate::metrics::StepMetrics;
use crate::transactions::{NullObserver, Observer};

/// What a branch of a look-ahead ran: its whole steps, and the CRC held and balance
/// sums of the step whose governance is still to come.
struct Branch {
    steps: Vec<Result<StepMetrics, AuditError>>,
    advanced: (f64, Option<BalanceSums>),
}

/// Steps a look-ahead has run beyond the step last reported.
#[derive(Clone, Debug, Default)]
pub(in crate::engine) struct Ahead {
    /// Whether votes may be weighed by looking ahead ([`Simulation::look_ahead`]).
    pub(in crate::engine) enabled: bool,
    /// Whole steps already run, reported one per call of `step`.
    pub(in crate::engine) replay: VecDeque<Result<StepMetrics, AuditError>>,
    /// The economy's part of the step after them, already run: its governance,
    /// measuring and audit are still to come.
    pub(in crate::engine) advanced: Option<(f64, Option<BalanceSums>)>,
}

impl Simulation {
    /// Foresight by looking ahead (see the module's header). Every number is what
    /// forking twice gives (a property test runs both); the run does the without-fork's
    /// work only once, and the fork's beside it.
    pub(in crate::engine) fn govern_looking_ahead<O: Observer>(
        &mut self,
        step: u32,
        crc_held: f64,
        tally: Option<BalanceSums>,
        observer: &mut O,
    ) -> Result<StepMetrics, StepError> {
        let vote = self.open_vote(step, observer);
        let h = self.horizon_at(step);
        let income_before = self.pie_income;

        // The branch with the proposal: this step as it ends if the proposal passes.
        let mut with = self.fork(h)?;
        with.enact(step, vote.number, &vote.proposal, &mut NullObserver);
        with.governance.passed += 1;
        let kept = if vote.proposal.kind() == ProposalKind::Set {
            tally
        } else {
            None
        };
        let with_first = with.finish_ahead(step, kept, crc_held);
        // The real run: this step as it ends if the proposal fails.
        let real_first = self.finish_ahead(step, tally, crc_held);
        self.next_step += 1;

        let ((mut with, with_ahead), real_ahead) = rayon::join(
            move || {
                let ahead = with.run_ahead(h);
                (with, ahead)
            },
            || self.run_ahead(h),
        );
        if self.stop.is_raised() {
            return Err(StepError::Stopped);
        }
        let forecasts = Forecasts {
            horizon: Some(h),
            with: with.objectives(&income_before),
            without: self.objectives(&income_before),
        };
        let record = self.close_vote(step, &vote, forecasts, observer);
        let (first, ahead) = if record.passed {
            with.governance = self.governance.clone();
            with.ahead = std::mem::take(&mut self.ahead);
            *self = with;
            (with_first, with_ahead)
        } else {
            (real_first, real_ahead)
        };
        observer.on_proposal(&record);
        self.ahead.replay.extend(ahead.steps);
        self.ahead.advanced = Some(ahead.advanced);
        let metrics = first?;
        observer.on_step(&metrics);
        Ok(metrics)
    }

    /// Run `steps - 1` whole steps (measured and audited, as the real run would) and the
    /// economy's part of one more, whose governance is still to come.
    fn run_ahead(&mut self, steps: u64) -> Branch {
        let mut done = Vec::with_capacity(usize::try_from(steps).unwrap_or(0));
        for _ in 1..steps {
            if self.stop.is_raised() {
                break;
            }
            let step = self.next_step;
            let (crc_held, tally) = self.advance(step, &mut NullObserver);
            done.push(self.finish_ahead(step, tally, crc_held));
            self.next_step += 1;
        }
        let advanced = self.advance(self.next_step, &mut NullObserver);
        Branch {
            steps: done,
            advanced,
        }
    }

    /// A look-ahead step's metrics, audited as the real run would audit them, kept to
    /// be reported (or its audit's failure) when the step's turn comes.
    fn finish_ahead(
        &self,
        step: u32,
        tally: Option<BalanceSums>,
        crc_held: f64,
    ) -> Result<StepMetrics, AuditError> {
        let (metrics, holdings) = self.measure_step(step, tally, crc_held);
        if self.config.simulation.audit {
            self.audit(step, &holdings)?;
        }
        Ok(metrics)
    }
}
