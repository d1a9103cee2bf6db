//! Governance as the engine runs it: at the end of every `governance.interval_steps`-th
//! step one proposal is drafted, members vote (with foresight: on two forks of the
//! economy), and what passes is carried out on the treasury, the pool or the governed
//! settings. The rules themselves (the agenda, weights, the tally, how a setting moves)
//! are in [`crate::governance`]; this file is the one place they touch the economy.
//!
//! Forks are clones of the whole simulation, generators included, marked `forked` so
//! they never govern themselves. They run with a [`NullObserver`], so they write
//! nothing, and governance draws turnout and fixed votes from a generator of its own
//! (stream 1 of the run's seed), so the real run's random stream is the same whether or
//! not anybody votes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::collections::VecDeque;

use super::{Simulation, Tally as Sums};
use crate::agents::{self, DUST};
use crate::control::StepError;
use crate::governance::{
    prefers, set_target, Agenda, Objective, PerMember, Proposal, ProposalKind, ProposalRecord,
    Tally, Voting, MEMBER_TYPES,
};
use crate::ledger::AuditError;
use crate::market::Side;
use crate::metrics::StepMetrics;
use crate::transactions::{Action, Detail, NullObserver, Observer, Transaction};

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

/// Each member type's objective, forecast.
type Forecast = PerMember<Option<f64>>;

/// A member who turned out: who, its weight, and (fixed voting) its drawn choice.
struct Ballot {
    agent: usize,
    kind: crate::AgentType,
    weight: f64,
    fixed: Option<bool>,
}

/// What a branch of a look-ahead ran: its whole steps, and the CRC held and balance
/// sums of the step whose governance is still to come.
struct Branch {
    steps: Vec<Result<StepMetrics, AuditError>>,
    advanced: (f64, Option<Sums>),
}

/// Steps a look-ahead has run beyond the step last reported.
#[derive(Clone, Debug, Default)]
pub(super) struct Ahead {
    /// Whether votes may be weighed by looking ahead ([`Simulation::look_ahead`]).
    pub(super) enabled: bool,
    /// Whole steps already run, reported one per call of `step`.
    pub(super) replay: VecDeque<Result<StepMetrics, AuditError>>,
    /// The economy's part of the step after them, already run: its governance,
    /// measuring and audit are still to come.
    pub(super) advanced: Option<(f64, Option<Sums>)>,
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

    /// Draft the next proposal from the agenda and announce it (its number, the
    /// `propose` row).
    fn draft<O: Observer>(&mut self, step: u32, observer: &mut O) -> (u32, Proposal) {
        let g = &self.config.governance;
        let (kind, setting, up) = self.governance.agenda.next(g, &mut self.governance.rng);
        let proposal = match kind {
            ProposalKind::Set => {
                let old = self.settings.get(setting);
                let new = set_target(old, up, g.set.bounds(setting));
                Proposal::Set { setting, old, new }
            }
            _ => {
                let treasury = self.pie.treasury();
                Proposal::Treasury {
                    kind,
                    treasury,
                    ddt: treasury * g.fraction(kind),
                }
            }
        };
        self.governance.proposals += 1;
        let number = u32::try_from(self.governance.proposals).unwrap_or(u32::MAX);
        let detail = proposal_detail(number, &proposal);
        self.record_treasury(observer, step, Action::Propose, 0.0, 0.0, 0.0, detail);
        (number, proposal)
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
        let (number, proposal) = self.draft(step, observer);
        let (horizon, with, without) = match self.config.governance.voting {
            Voting::Foresight => {
                let (h, with, without) = self.foresee(step, &proposal)?;
                if self.stop.is_raised() {
                    return Err(StepError::Stopped);
                }
                (Some(h), with, without)
            }
            Voting::Fixed => (None, PerMember::all(None), PerMember::all(None)),
        };
        let (ballots, eligible) = self.turn_out(proposal.kind());
        let tally = self.count(step, number, &ballots, eligible, &with, &without, observer);
        let g = &self.config.governance;
        let passed = tally.passes(g.quorum, g.threshold);
        if passed {
            self.governance.passed += 1;
            self.enact(step, number, &proposal, observer);
        }
        observer
            .on_proposal(&self.record_of(number, step, proposal, tally, horizon, with, without));
        Ok(passed && proposal.kind() != ProposalKind::Set)
    }

    /// The row of `governance.csv` for a proposal that has been voted on.
    #[allow(clippy::too_many_arguments)]
    fn record_of(
        &self,
        number: u32,
        step: u32,
        proposal: Proposal,
        tally: Tally,
        horizon: Option<u64>,
        with: Forecast,
        without: Forecast,
    ) -> ProposalRecord {
        let g = &self.config.governance;
        ProposalRecord {
            number,
            step,
            proposal,
            tally,
            weight: g.weight,
            passed: tally.passes(g.quorum, g.threshold),
            horizon,
            with,
            without,
        }
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

    /// Foresight by looking ahead. A forecast needs the economy `h` steps on without the
    /// proposal, and when the proposal fails that is exactly what the real run goes on to
    /// be (forks and real run share state and generator, and no vote falls in between).
    /// So instead of forking twice, the real run itself runs ahead as the branch without
    /// the proposal, beside one fork with it, on two cores; after the vote the branch that
    /// won is kept, and its steps are reported one call at a time. Every number is what
    /// forking gives (a property test runs both); the run does the without-fork's work
    /// only once, and the fork's beside it.
    pub(super) fn govern_looking_ahead<O: Observer>(
        &mut self,
        step: u32,
        crc_held: f64,
        tally: Option<Sums>,
        observer: &mut O,
    ) -> Result<StepMetrics, StepError> {
        let (number, proposal) = self.draft(step, observer);
        let h = self.horizon_at(step);
        let (ballots, eligible) = self.turn_out(proposal.kind());
        let income_before = self.pie_income;

        // The branch with the proposal: this step as it ends if the proposal passes.
        let mut with = self.fork(h)?;
        with.enact(step, number, &proposal, &mut NullObserver);
        with.governance.passed += 1;
        let kept = if proposal.kind() == ProposalKind::Set {
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
        let forecast_with = with.objectives(&income_before);
        let forecast_without = self.objectives(&income_before);
        let tally = self.count(
            step,
            number,
            &ballots,
            eligible,
            &forecast_with,
            &forecast_without,
            observer,
        );
        let g = &self.config.governance;
        let passed = tally.passes(g.quorum, g.threshold);
        let (first, ahead) = if passed {
            let mut state = self.governance.clone();
            state.passed += 1;
            with.governance = state;
            with.ahead = std::mem::take(&mut self.ahead);
            *self = with;
            (with_first, with_ahead)
        } else {
            (real_first, real_ahead)
        };
        let record = self.record_of(
            number,
            step,
            proposal,
            tally,
            Some(h),
            forecast_with,
            forecast_without,
        );
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
        tally: Option<Sums>,
        crc_held: f64,
    ) -> Result<StepMetrics, AuditError> {
        let (metrics, holdings) = self.measure_step(step, tally, crc_held);
        if self.config.simulation.audit {
            self.audit(step, &holdings)?;
        }
        Ok(metrics)
    }

    /// The horizon of a vote at the end of `step`: `governance.horizon`, shortened so
    /// that a fork simulates at most `governance.fork_agent_steps` agent-steps, counting
    /// the agents who join during the fork (at least one step).
    fn horizon_at(&self, step: u32) -> u64 {
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
    fn fork(&self, steps: u64) -> Result<Simulation, StepError> {
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
        })
    }

    /// Simulate the horizon on two forks, with and without the proposal, and read every
    /// member type's objective at their ends. Returns the steps simulated and both
    /// forecasts.
    fn foresee(
        &self,
        step: u32,
        proposal: &Proposal,
    ) -> Result<(u64, Forecast, Forecast), StepError> {
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
        Ok((steps, with?, without?))
    }

    /// Each member type's objective now; `pie_income` counts from `income_before`.
    fn objectives(&self, income_before: &[f64; 5]) -> Forecast {
        let objective = self.config.governance.objective;
        let counts = self.population.counts();
        let price = self.pool.price();
        let mut wealth = [0.0; 5];
        if objective
            .entries()
            .iter()
            .any(|&(_, o)| o == Objective::Wealth)
        {
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
        PerMember {
            degen: value(crate::AgentType::Degen, objective.degen),
            power: value(crate::AgentType::Power, objective.power),
            active: value(crate::AgentType::Active, objective.active),
            casual: value(crate::AgentType::Casual, objective.casual),
        }
    }

    /// Who turns out, with what weight (and, under fixed voting, which way), drawn from
    /// governance's generator in join order; and the weight of every member.
    fn turn_out(&mut self, kind: ProposalKind) -> (Vec<Ballot>, f64) {
        let g = &self.config.governance;
        let (rule, voting, turnout) = (g.weight, g.voting, g.turnout);
        let yes_probability = *g.fixed.of(kind);
        let mut ballots = Vec::new();
        let mut eligible = 0.0;
        for i in 0..self.agents.len() {
            let kind = self.agents[i].kind;
            let Some(p) = turnout.of(kind) else {
                continue;
            };
            let weight = rule.weight(self.agents[i].ddt, self.members[i].crc_locked);
            eligible += weight;
            if !self.governance.rng.gen_bool(p) {
                continue;
            }
            let fixed = match voting {
                Voting::Foresight => None,
                Voting::Fixed => {
                    let p = yes_probability.of(kind).unwrap_or(0.0);
                    Some(self.governance.rng.gen_bool(p))
                }
            };
            ballots.push(Ballot {
                agent: i,
                kind,
                weight,
                fixed,
            });
        }
        (ballots, eligible)
    }

    /// Count the ballots in turn-out order: each voter votes by its type's forecast
    /// (foresight) or as drawn (fixed), with its weight; one `vote` row each.
    #[allow(clippy::too_many_arguments)]
    fn count<O: Observer>(
        &mut self,
        step: u32,
        number: u32,
        ballots: &[Ballot],
        eligible: f64,
        with: &Forecast,
        without: &Forecast,
        observer: &mut O,
    ) -> Tally {
        let g = &self.config.governance;
        let mut preference = [None; 5];
        for (kind, o) in g.objective.entries() {
            preference[kind.index()] =
                prefers(o, with.of(kind).flatten(), without.of(kind).flatten());
        }
        let mut tally = Tally {
            eligible,
            ..Tally::default()
        };
        for b in ballots {
            let choice = b.fixed.or(preference[b.kind.index()]);
            tally.voters += 1;
            match choice {
                Some(true) => tally.yes += b.weight,
                Some(false) => tally.no += b.weight,
                None => tally.abstain += b.weight,
            }
            let detail = Detail::Vote {
                number,
                choice,
                weight: b.weight,
            };
            self.record(observer, step, b.agent, Action::Vote, 0.0, 0.0, 0.0, detail);
        }
        tally
    }

    /// Carry out a passed proposal (or, in a fork, the proposal being weighed).
    fn enact<O: Observer>(
        &mut self,
        step: u32,
        number: u32,
        proposal: &Proposal,
        observer: &mut O,
    ) {
        match *proposal {
            Proposal::Set { setting, new, .. } => {
                let bounds = self.config.governance.set.bounds(setting);
                self.settings = self.settings.moved(setting, new, bounds);
                self.pool.set_fee_rate(self.settings.fee_rate);
                let detail = proposal_detail(number, proposal);
                self.record_treasury(observer, step, Action::SetParameter, 0.0, 0.0, 0.0, detail);
            }
            Proposal::Treasury { kind, ddt, .. } => {
                let detail = Detail::Enacted { number };
                match kind {
                    // The dust rule: nothing below `DUST` is transacted.
                    _ if ddt < DUST => {}
                    ProposalKind::Burn => {
                        let burned = self.pie.take_for_governance(ddt);
                        self.ledger.record_dao_burn(burned);
                        self.record_treasury(
                            observer,
                            step,
                            Action::TreasuryBurn,
                            -burned,
                            0.0,
                            0.0,
                            detail,
                        );
                    }
                    ProposalKind::Grants => self.grant(step, ddt, detail, observer),
                    ProposalKind::Liquidity => self.provide_liquidity(step, ddt, detail, observer),
                    ProposalKind::Set => {}
                }
            }
        }
    }

    /// Sell half of `ddt` from the treasury for xDAI, then deposit the other half with
    /// as much of the treasury's xDAI as the pool's ratio takes (sized like the router).
    /// The treasury keeps the LP tokens and whatever xDAI is left over.
    fn provide_liquidity<O: Observer>(
        &mut self,
        step: u32,
        ddt: f64,
        detail: Detail,
        observer: &mut O,
    ) {
        let half = self.pie.take_for_governance(ddt / 2.0);
        let quote = self
            .pool
            .quote_exact_in(Side::SellDdt, half)
            .filter(|q| q.amount_in >= DUST && q.amount_out >= DUST);
        let Some(q) = quote else {
            // An empty pool has no price to sell at, and dust is not traded: nothing
            // happens.
            self.pie.return_to_treasury(half);
            return;
        };
        let receipt = self.pool.swap(&q);
        self.note_swap(&receipt);
        // The quote may take a hair less than offered; what it did not take stays.
        self.pie.return_to_treasury(half - q.amount_in);
        self.treasury.receive_xdai(q.amount_out);
        self.record_treasury(
            observer,
            step,
            Action::TreasurySell,
            -q.amount_in,
            q.amount_out,
            0.0,
            detail,
        );
        let rest = (ddt - half).min(self.pie.treasury());
        let deposit = self
            .pool
            .quote_deposit(rest, self.treasury.xdai())
            .filter(|d| d.ddt >= DUST && d.xdai >= DUST);
        let Some(d) = deposit else {
            return;
        };
        let taken = self.pie.take_for_governance(d.ddt);
        let paid = self.treasury.pay_xdai(d.xdai);
        debug_assert!(taken == d.ddt && paid == d.xdai);
        self.pool.deposit(&d);
        self.treasury.receive_lp(d.lp);
        self.record_treasury(
            observer,
            step,
            Action::TreasuryAddLiquidity,
            -d.ddt,
            -d.xdai,
            d.lp,
            detail,
        );
    }

    /// Pay `ddt` from the treasury to members in proportion to their Contribution
    /// Weight; each recipient uses its grant as its type uses a Pie share.
    fn grant<O: Observer>(&mut self, step: u32, ddt: f64, detail: Detail, observer: &mut O) {
        let total = self.data.total_weight();
        if total.is_nan() || total <= 0.0 || ddt <= 0.0 {
            return;
        }
        for i in 0..self.agents.len() {
            let weight = self.data.member(i).weight;
            if weight <= 0.0 {
                continue;
            }
            let share = ddt * weight / total;
            // The dust rule: a grant too small to transact stays in the treasury.
            if share < DUST {
                continue;
            }
            let paid = self.pie.take_for_governance(share);
            if paid < DUST {
                self.pie.return_to_treasury(paid);
                continue;
            }
            let kind = self.agents[i].kind;
            self.agents[i].ddt += paid;
            self.pie_income[kind.index()] += paid;
            self.record(observer, step, i, Action::Grant, paid, 0.0, 0.0, detail);
            if let Some(reaction) = agents::on_pie_share(kind, paid, &self.config.agents) {
                self.apply(step, i, reaction, observer);
            }
        }
    }

    /// Record a row of the treasury's: amounts and balances are the treasury's own
    /// (its dDT is The Pie's balance).
    #[allow(clippy::too_many_arguments)]
    fn record_treasury<O: Observer>(
        &mut self,
        observer: &mut O,
        step: u32,
        action: Action,
        ddt: f64,
        xdai: f64,
        lp: f64,
        detail: Detail,
    ) {
        if !observer.wants_transactions() {
            return;
        }
        let tx = Transaction {
            step,
            seq: self.seq,
            agent_id: 0,
            agent_type: crate::AgentType::Degen,
            by_treasury: true,
            action,
            ddt,
            xdai,
            lp,
            ddt_balance: self.pie.treasury(),
            xdai_balance: self.treasury.xdai(),
            price: self.pool.price(),
            detail,
        };
        self.seq += 1;
        observer.on_transaction(&tx);
    }
}

/// How a proposal is described in the log.
fn proposal_detail(number: u32, proposal: &Proposal) -> Detail {
    match *proposal {
        Proposal::Set { setting, old, new } => Detail::Proposal {
            number,
            kind: ProposalKind::Set,
            setting: Some(setting),
            old,
            new,
        },
        Proposal::Treasury {
            kind,
            treasury,
            ddt,
        } => Detail::Proposal {
            number,
            kind,
            setting: None,
            old: treasury,
            new: treasury - ddt,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::governance::{Governable, WeightRule};

    /// The seed with governance on, voting fixed and every member voting yes.
    fn always_yes(steps: u64) -> Config {
        let mut c = Config::default();
        c.simulation.total_steps = steps;
        c.simulation.audit = true;
        let g = &mut c.governance;
        g.enabled = true;
        g.voting = Voting::Fixed;
        g.turnout = PerMember::all(1.0);
        g.quorum = 0.0;
        g.threshold = 0.0;
        for kind in [
            ProposalKind::Liquidity,
            ProposalKind::Burn,
            ProposalKind::Grants,
            ProposalKind::Set,
        ] {
            let p = match kind {
                ProposalKind::Liquidity => &mut g.fixed.liquidity,
                ProposalKind::Burn => &mut g.fixed.burn,
                ProposalKind::Grants => &mut g.fixed.grants,
                ProposalKind::Set => &mut g.fixed.set,
            };
            *p = PerMember::all(1.0);
        }
        c
    }

    /// A seed economy after `steps` steps (no proposal yet: the first is due at the end
    /// of step 29), ready for a proposal to be carried out by hand.
    fn economy_after(steps: u32) -> Simulation {
        let mut sim = Simulation::new(always_yes(200)).unwrap();
        for _ in 0..steps {
            sim.step(&mut NullObserver).unwrap();
        }
        assert_eq!(sim.governance.proposals, 0);
        sim
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    /// Burn half the treasury: the Pie loses it, supply falls by it, the vault keeps its
    /// CRC, so backing = locked / (locked - burned). The next step passes the audit.
    #[test]
    fn burn_by_hand() {
        let mut sim = economy_after(20);
        let p = sim.pie.balance();
        let locked = sim.vault.locked();
        let supply = sim.ledger.supply();
        assert!(close(supply, locked));
        let proposal = Proposal::Treasury {
            kind: ProposalKind::Burn,
            treasury: p,
            ddt: p * 0.5,
        };
        sim.enact(19, 1, &proposal, &mut NullObserver);
        assert!(close(sim.pie.balance(), p * 0.5));
        assert!(close(sim.ledger.supply(), supply - p * 0.5));
        assert_eq!(sim.ledger.ddt_burned_by_dao(), p * 0.5);
        assert_eq!(sim.vault.locked(), locked);
        let ratio = sim.ledger.backing_ratio(locked).unwrap();
        assert!(close(ratio, locked / (locked - p * 0.5)));
        assert!(ratio > 1.0);
        sim.step(&mut NullObserver).unwrap();
    }

    /// Grants: `ddt * weight_i / total weight` to every member with data, taken from the
    /// Pie. Recipients then act on them; the grant itself is read from the log.
    #[test]
    fn grants_by_hand() {
        #[derive(Default)]
        struct Grants(Vec<(u32, f64)>);
        impl Observer for Grants {
            fn wants_transactions(&self) -> bool {
                true
            }
            fn on_transaction(&mut self, tx: &Transaction) {
                if tx.action == Action::Grant {
                    self.0.push((tx.agent_id, tx.ddt));
                }
            }
        }
        let mut sim = economy_after(20);
        let p = sim.pie.balance();
        let total = sim.data.total_weight();
        let weights: Vec<f64> = (0..sim.agents.len())
            .map(|i| sim.data.member(i).weight)
            .collect();
        let pot = p * 0.25;
        let proposal = Proposal::Treasury {
            kind: ProposalKind::Grants,
            treasury: p,
            ddt: pot,
        };
        let mut seen = Grants::default();
        sim.enact(19, 1, &proposal, &mut seen);
        let with_data = weights.iter().filter(|&&w| w > 0.0).count();
        assert_eq!(seen.0.len(), with_data);
        let mut paid = 0.0;
        for &(id, amount) in &seen.0 {
            assert!(close(amount, pot * weights[id as usize] / total), "{id}");
            paid += amount;
        }
        assert!(close(sim.pie.balance(), p - paid));
        assert!(close(paid, pot));
        sim.step(&mut NullObserver).unwrap();
    }

    /// Liquidity: sell half for `y h (1-f) / (x + h (1-f))` xDAI, then deposit at the
    /// new reserves as the router sizes it: the other half with `h y1 / x1` xDAI if the
    /// sale paid for that, otherwise all the xDAI with `out x1 / y1` dDT (the fee makes
    /// a small sale's average price lower than the price after it). LP minted:
    /// `min(d T / x1, e T / y1)`. The treasury keeps the LP and what is left over.
    #[test]
    fn liquidity_by_hand() {
        let mut sim = economy_after(20);
        let p = sim.pie.balance();
        let (x, y, t) = (
            sim.pool.ddt_reserve(),
            sim.pool.xdai_reserve(),
            sim.pool.lp_supply(),
        );
        let f = sim.pool.fee_rate();
        let a = p * 0.5;
        let h = a / 2.0;
        let out = y * h * (1.0 - f) / (x + h * (1.0 - f));
        let (x1, y1) = (x + h, y - out);
        let xdai_optimal = h * y1 / x1;
        let (d, e) = if xdai_optimal <= out {
            (h, xdai_optimal)
        } else {
            (out * x1 / y1, out)
        };
        let lp = (d * t / x1).min(e * t / y1);
        let proposal = Proposal::Treasury {
            kind: ProposalKind::Liquidity,
            treasury: p,
            ddt: a,
        };
        sim.enact(19, 1, &proposal, &mut NullObserver);
        assert!(close(sim.pie.balance(), p - h - d));
        assert!((sim.treasury.xdai() - (out - e)).abs() <= 1e-12 * out);
        assert!((sim.treasury.lp() - lp).abs() <= 1e-9 * lp);
        assert!(close(sim.pool.ddt_reserve(), x + h + d));
        assert!(close(sim.pool.lp_supply(), t + sim.treasury.lp()));
        // The treasury now earns fees: its LP is worth more after the next step's trades.
        sim.step(&mut NullObserver).unwrap();
    }

    /// An empty pool has no price: a liquidity proposal changes nothing.
    #[test]
    fn liquidity_without_a_pool_changes_nothing() {
        let mut sim = Simulation::new(always_yes(5)).unwrap();
        sim.pie.deposit(0.0);
        let before = sim.clone();
        let proposal = Proposal::Treasury {
            kind: ProposalKind::Liquidity,
            treasury: 0.0,
            ddt: 0.0,
        };
        sim.enact(0, 1, &proposal, &mut NullObserver);
        assert_eq!(sim.pie.balance(), before.pie.balance());
        assert_eq!(sim.treasury, before.treasury);
    }

    /// Set: the fee 0.003 -> 0.004 applies to the next swap; the distribution rate
    /// 0.7 -> 0.75 to the next distribution (every type has members, so the whole pot
    /// is paid, to rounding).
    #[test]
    fn set_by_hand() {
        let mut sim = economy_after(20);
        let proposal = Proposal::Set {
            setting: Governable::FeeRate,
            old: 0.003,
            new: 0.004,
        };
        sim.enact(19, 1, &proposal, &mut NullObserver);
        assert_eq!(sim.pool.fee_rate(), 0.004);
        assert_eq!(sim.settings.fee_rate, 0.004);
        assert_eq!(
            sim.config.market.fee_rate, 0.003,
            "the configuration stays as given"
        );
        let proposal = Proposal::Set {
            setting: Governable::DistributionRate,
            old: 0.7,
            new: 0.75,
        };
        sim.enact(19, 2, &proposal, &mut NullObserver);
        let pie_before = sim.pie.balance();
        let m = sim.step(&mut NullObserver).unwrap();
        assert_eq!(m.step, 20);
        let in_pot = pie_before + m.flows.pie_inflow_ddt;
        assert!((m.flows.pie_distributed_ddt - 0.75 * in_pot).abs() < 1e-9 * in_pot);
        let g = m.governance.unwrap();
        assert_eq!(g.settings.fee_rate, 0.004);
        assert_eq!(g.settings.distribution_rate, 0.75);
    }

    /// Each weight rule's tally, summed by hand over the members: power members vote yes,
    /// everybody else no, everybody turns out.
    #[test]
    fn tallies_by_weight_rule() {
        for rule in [
            WeightRule::Person,
            WeightRule::Ddt,
            WeightRule::Quadratic,
            WeightRule::CrcLocked,
        ] {
            let mut sim = economy_after(25);
            sim.config.governance.weight = rule;
            let yes_power = PerMember {
                power: 1.0,
                ..PerMember::all(0.0)
            };
            sim.config.governance.fixed.burn = yes_power;
            let (mut yes, mut no, mut voters) = (0.0, 0.0, 0);
            for (a, m) in sim.agents.iter().zip(&sim.members) {
                let w = match rule {
                    WeightRule::Person => 1.0,
                    WeightRule::Ddt => a.ddt,
                    WeightRule::Quadratic => a.ddt.sqrt(),
                    WeightRule::CrcLocked => m.crc_locked,
                };
                match a.kind {
                    crate::AgentType::Organization => continue,
                    crate::AgentType::Power => yes += w,
                    _ => no += w,
                }
                voters += 1;
            }
            let proposal = Proposal::Treasury {
                kind: ProposalKind::Burn,
                treasury: 1.0,
                ddt: 0.5,
            };
            let none = PerMember::all(None);
            let (ballots, eligible) = sim.turn_out(proposal.kind());
            let t = sim.count(24, 1, &ballots, eligible, &none, &none, &mut NullObserver);
            assert_eq!(t.voters, voters, "{rule:?}");
            assert!(close(t.yes, yes), "{rule:?}: {} vs {yes}", t.yes);
            assert!(close(t.no, no), "{rule:?}");
            assert!(close(t.eligible, yes + no), "{rule:?}");
            assert_eq!(t.abstain, 0.0);
            assert!(close(t.turnout(), 1.0));
        }
    }

    /// A foresight vote that looks ahead runs the real economy on to the end of its
    /// horizon, reports the steps in between one per call, and gives the same rows as
    /// forking twice: here under the `governed` rules with every vote weighed by looking
    /// ahead (votes at the end of steps 29, 59, 89 and 119, whose horizons of 30 end
    /// within the 150 steps; the one at 149 forks).
    #[test]
    fn looking_ahead_reports_what_forking_does() {
        #[derive(Default, PartialEq, Debug)]
        struct Rows(Vec<crate::StepMetrics>, Vec<ProposalRecord>);
        impl Observer for Rows {
            fn on_step(&mut self, m: &crate::StepMetrics) {
                self.0.push(m.clone());
            }
            fn on_proposal(&mut self, p: &ProposalRecord) {
                self.1.push(*p);
            }
        }
        let mut c = Config::default();
        c.simulation.total_steps = 150;
        c.simulation.audit = true;
        c.governance.enabled = true;
        let mut forking = Simulation::new(c.clone()).unwrap();
        let mut looking = Simulation::new(c).unwrap();
        looking.look_ahead(true);
        let (mut a, mut b) = (Rows::default(), Rows::default());
        let mut ran_ahead = false;
        while !forking.is_finished() {
            assert_eq!(looking.next_step(), forking.next_step());
            forking.step(&mut a).unwrap();
            looking.step(&mut b).unwrap();
            ran_ahead |= !looking.ahead.replay.is_empty();
        }
        assert!(looking.is_finished());
        assert!(ran_ahead, "no vote looked ahead");
        assert_eq!(a.1.len(), 5);
        assert!(a.1.iter().all(|p| p.horizon == Some(30)));
        assert_eq!(a, b);
        // And the economy ends where forking's does.
        assert_eq!(looking.agents(), forking.agents());
        assert_eq!(looking.pool(), forking.pool());
    }

    /// Foresight forks leave the real economy as it was, generator included.
    #[test]
    fn foresight_changes_nothing_real() {
        let mut c = always_yes(200);
        c.governance.voting = Voting::Foresight;
        let mut sim = Simulation::new(c).unwrap();
        for _ in 0..25 {
            sim.step(&mut NullObserver).unwrap();
        }
        let before = sim.clone();
        let p = sim.pie.balance();
        let proposal = Proposal::Treasury {
            kind: ProposalKind::Grants,
            treasury: p,
            ddt: p / 2.0,
        };
        let (steps, with, without) = sim.foresee(24, &proposal).unwrap();
        assert_eq!(steps, 30);
        assert_ne!(with, without);
        assert_eq!(sim.agents, before.agents);
        assert_eq!(sim.pie, before.pie);
        assert_eq!(sim.pool, before.pool);
        assert_eq!(sim.next_step, before.next_step);
        let mut a = sim.rng.clone();
        let mut b = before.rng.clone();
        assert_eq!(a.gen::<u64>(), b.gen::<u64>());
    }
}
