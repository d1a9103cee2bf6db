//! The engine: runs steps, applies agents' plans, and keeps the books.
//!
//! A step is: a day passes (not before step 0: CRC demurrage and issuance claims, and
//! dDT demurrage if on), entry (initial agents join before step 0), every agent acts in
//! activation order (the day's effects on it, its data decisions, then its plan), The
//! Pie distributes if due and recipients act on their shares, then the step's metrics
//! are taken and, with `simulation.audit`, the books are checked. The per-agent parts of
//! the day and of the metrics ride along in those loops, so a step walks the agents
//! twice, not four times. Agents only *decide*
//! ([`crate::agents`]); every balance change happens here, each recorded as a
//! [`Transaction`](crate::Transaction) where it happens.

mod apply;
mod audit;
mod distribution;
mod events;
mod governance;
mod membership;
mod record;
mod rules;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::agent_type::{PerTypeArray, TypeNames, MAX_TYPES};
use crate::agents::{self, Agent, Member, Outlook, Plan, DUST};
use crate::circles::{self, Vault};
use crate::config::{Activation, Config, ConfigError};
use crate::control::{StepError, StopFlag, CHECK_EVERY_AGENTS};
use crate::data_pool::DataPool;
use crate::governance::GovernedSettings;
use crate::ledger::Ledger;
use crate::market::Pool;
use crate::metrics::{StepFlows, StepMetrics};
use crate::pie::Pie;
use crate::population::Population;
use crate::transactions::{NullObserver, Observer};
use crate::treasury::Treasury;

/// Sums of agents' balances, per type, gathered in whatever pass last visits them.
#[derive(Clone, Copy, Debug, Default)]
struct BalanceSums {
    sum_xdai: PerTypeArray<f64>,
    sum_ddt: PerTypeArray<f64>,
    sum_lp: f64,
    orgs_out_of_xdai: u64,
    /// What agents who have left hold: still tokens the ledger counts, but no longer
    /// in their type's averages.
    left_xdai: f64,
    left_ddt: f64,
}

impl BalanceSums {
    fn add(&mut self, a: &Agent) {
        if a.left {
            self.left_xdai += a.xdai;
            self.left_ddt += a.ddt;
            self.sum_lp += a.lp;
            return;
        }
        let t = a.kind.index();
        self.sum_xdai[t] += a.xdai;
        self.sum_ddt[t] += a.ddt;
        self.sum_lp += a.lp;
        if a.kind == crate::AgentType::ORGANIZATION && a.xdai <= DUST {
            self.orgs_out_of_xdai += 1;
        }
    }
}

/// One simulated economy, advanced a step at a time.
#[derive(Clone, Debug)]
pub struct Simulation {
    config: Config,
    agents: Vec<Agent>,
    /// Circles and event schedules, by the same index as `agents`.
    members: Vec<Member>,
    pool: Pool,
    pie: Pie,
    population: Population,
    ledger: Ledger,
    vault: Vault,
    data: DataPool,
    rng: ChaCha8Rng,
    next_step: u32,
    seq: u64,
    flows: StepFlows,
    /// Scratch permutation for shuffled activation, reused every step.
    order: Vec<u32>,
    /// Each type's job use case, resolved once.
    job_use_case: PerTypeArray<u8>,
    /// The run's types, the seed's five then the scenario's own.
    types: TypeNames,
    /// Whether each type's agents are members, resolved once.
    is_member: PerTypeArray<bool>,
    use_cases: usize,
    crc_factor: f64,
    ddt_factor: f64,
    /// First broken invariant seen mid-step, kept for the audit.
    violation: Option<String>,
    /// Behaviour noise per type, resolved once: skip probability and amount jitter.
    skip_probability: PerTypeArray<f64>,
    amount_jitter: PerTypeArray<f64>,
    /// Whether any type has noise at all (the common case is none).
    noisy: bool,
    /// What agents see; refreshed only when data changes (`outlook_stale`).
    outlook: Outlook,
    outlook_stale: bool,
    /// The governable settings in force (the configuration's until a vote moves them).
    settings: GovernedSettings,
    /// The treasury's xDAI and LP tokens (its dDT is The Pie's balance).
    treasury: Treasury,
    /// Governance's counters, agenda and generator.
    governance: governance::State,
    /// dDT each type has received from The Pie and grants so far (foresight's
    /// `pie_income`).
    pie_income: PerTypeArray<f64>,
    /// Steps a foresight look-ahead has already run (see [`Simulation::look_ahead`]).
    ahead: governance::Ahead,
    /// Raised by the front end to stop the run early (forks share it).
    stop: StopFlag,
    /// Each type's rules, when its behaviour is declared as data.
    type_rules: rules::TypeRules,
    /// What rules-defined agents remember (empty unless some type has rules).
    rule_memory: Vec<rules::RuleMemory>,
    /// The scenario's events in firing order (by step, then as listed), shared by forks.
    events: std::sync::Arc<[(u64, crate::events::Event)]>,
    /// Each event's position in the scenario's list, for its row.
    event_numbers: std::sync::Arc<[u32]>,
    /// The next event to fire.
    next_event: usize,
    /// The settings `set` events move (a mask over `Governable::ALL`).
    event_mask: u8,
    /// What each agent has received from The Pie, by the same index as `agents`.
    pie_accounts: Vec<PieAccount>,
    /// What one agent of each type has received from `groups` distributions so far: an
    /// agent's share of them is this less its value when it joined, so the Pie's pass
    /// over every agent writes nothing more.
    pie_per_agent: PerTypeArray<f64>,
    /// Each type's policy (behaviour as code from the front end), if it has one.
    policies: PerTypeArray<Option<std::sync::Arc<dyn crate::policy::Policy>>>,
    /// The first policy that failed this step: the step ends with it.
    policy_failure: Option<crate::policy::PolicyFailure>,
    /// Whether each step measures the spread of wealth within each type
    /// (`output.distribution`, set by the front end: a sort per type per step).
    measure_wealth: bool,
}

/// An agent's Pie receipts, kept apart from its balances: written when it joins and
/// when it is paid individually (`usage`, `weight`, grants), never in a `groups` pass.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct PieAccount {
    /// [`Simulation::pie_per_agent`] of its type when it joined.
    base: f64,
    /// What it was paid individually.
    paid: f64,
}

impl Simulation {
    /// A fresh economy; fails if the configuration does not validate.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let pool = Pool::new();
        let population = Population::new(config.agents.shares());
        let rng = ChaCha8Rng::seed_from_u64(config.simulation.seed);
        let types = config.agents.type_names();
        let mut job_use_case = [0u8; MAX_TYPES];
        let mut is_member = [false; MAX_TYPES];
        for kind in types.types() {
            job_use_case[kind.index()] = config.job_use_case_index(kind) as u8;
            is_member[kind.index()] = config.agents.is_member(kind);
        }
        let use_cases = config.data.use_cases.len();
        let data = DataPool::new(
            use_cases,
            config.data.quality_exponent,
            config.data.quantity_exponent,
        );
        let crc_factor = circles::daily_factor(config.circles.demurrage_per_year);
        let noise = &config.noise;
        let skip_probability =
            std::array::from_fn(|i| noise.skip_probability.of(crate::AgentType::from_index(i)));
        let amount_jitter =
            std::array::from_fn(|i| noise.amount_jitter.of(crate::AgentType::from_index(i)));
        let noisy = skip_probability
            .iter()
            .chain(&amount_jitter)
            .any(|&v| v > 0.0);
        let ddt_factor = if config.circles.ddt_demurrage {
            crc_factor
        } else {
            1.0
        };
        let compiled = crate::events::compile(
            &config.events,
            config.simulation.total_steps,
            &config.data.use_cases,
            &config.agents,
        )?;
        let mut order: Vec<usize> = (0..compiled.len()).collect();
        order.sort_by_key(|&n| compiled[n].0);
        let event_numbers: std::sync::Arc<[u32]> = order.iter().map(|&n| n as u32).collect();
        let events: std::sync::Arc<[(u64, crate::events::Event)]> =
            order.iter().map(|&n| compiled[n].clone()).collect();
        let mut type_rules: rules::TypeRules = Default::default();
        for kind in types.types() {
            let compiled = config.compile_rules(kind)?;
            if !compiled.is_empty() {
                type_rules[kind.index()] = Some(compiled.into());
            }
        }
        Ok(Self {
            agents: Vec::new(),
            members: Vec::new(),
            pool,
            pie: Pie::new(),
            population,
            ledger: Ledger::default(),
            vault: Vault::default(),
            data,
            rng,
            next_step: 0,
            seq: 0,
            flows: StepFlows::default(),
            order: Vec::new(),
            job_use_case,
            types,
            is_member,
            use_cases,
            crc_factor,
            ddt_factor,
            violation: None,
            skip_probability,
            amount_jitter,
            noisy,
            outlook: Outlook::default(),
            outlook_stale: true,
            settings: config.governed_settings(),
            treasury: Treasury::default(),
            governance: governance::State::new(config.simulation.seed),
            pie_income: [0.0; MAX_TYPES],
            ahead: governance::Ahead::default(),
            stop: StopFlag::default(),
            type_rules,
            rule_memory: Vec::new(),
            pie_accounts: Vec::new(),
            pie_per_agent: [0.0; MAX_TYPES],
            measure_wealth: false,
            policies: Default::default(),
            policy_failure: None,
            events,
            event_numbers,
            next_event: 0,
            event_mask: crate::events::set_mask(&config.events),
            config,
        })
    }

    /// Give type `kind` a policy: its agents then act by it alone, in place of rules or
    /// built-in behaviour. Before the first step only (agents keep memory for it from
    /// their joining).
    pub fn set_policy(
        &mut self,
        kind: crate::AgentType,
        policy: std::sync::Arc<dyn crate::policy::Policy>,
    ) -> Result<(), ConfigError> {
        let name = self.types.name(kind).to_owned();
        if kind.index() >= self.types.len() || self.next_step > 0 || !self.agents.is_empty() {
            return Err(crate::validation::err(
                &format!("agents.{name}.policy"),
                "a policy",
                "a policy for a type of the scenario, given before the run starts",
            ));
        }
        self.policies[kind.index()] = Some(policy);
        Ok(())
    }

    /// Whether agents keep what rules and policies observe beyond their balances.
    fn remembers(&self) -> bool {
        self.type_rules.iter().any(Option::is_some) || self.policies.iter().any(Option::is_some)
    }

    /// Measure each type's spread of wealth every step (`StepMetrics::wealth`).
    pub fn set_measure_wealth(&mut self, on: bool) {
        self.measure_wealth = on;
    }

    /// Each type's spread of wealth now, over the agents present, at the pool's price.
    fn wealth_by_type(&self) -> Vec<crate::wealth::WealthStats> {
        let price = self.pool.price();
        let pool = (
            self.pool.ddt_reserve(),
            self.pool.xdai_reserve(),
            self.pool.lp_supply(),
        );
        let mut by_type: Vec<Vec<f64>> = vec![Vec::new(); self.types.len()];
        let mut priced = true;
        for a in self.agents.iter().filter(|a| !a.left) {
            match crate::wealth::in_xdai((a.ddt, a.xdai, a.lp), price, pool) {
                Some(w) => by_type[a.kind.index()].push(w),
                None => priced = false,
            }
        }
        by_type
            .iter_mut()
            .map(|w| {
                if priced {
                    crate::wealth::WealthStats::of(w)
                } else {
                    crate::wealth::WealthStats::default()
                }
            })
            .collect()
    }

    /// Whether a `leave` event is scheduled.
    pub fn agents_may_leave(&self) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, crate::events::Event::Leave(..)))
    }

    /// Every agent as it stands, in join order (the rows of `agents.csv`).
    pub fn agent_rows(&self, mut row: impl FnMut(crate::metrics::AgentRow)) {
        for (i, a) in self.agents.iter().enumerate() {
            let m = &self.members[i];
            let account = self.pie_accounts.get(i).copied().unwrap_or_default();
            row(crate::metrics::AgentRow {
                agent_id: a.id,
                kind: a.kind,
                joined_step: a.joined_step,
                ddt: a.ddt,
                xdai: a.xdai,
                lp: a.lp,
                crc: m.crc,
                crc_locked: m.crc_locked,
                weight: self.data.member(i).weight,
                pie_received_total: if a.left {
                    account.paid
                } else {
                    self.pie_per_agent[a.kind.index()] - account.base + account.paid
                },
                left_step: (m.left_step != u32::MAX).then_some(m.left_step),
            });
        }
    }

    /// The run's types: the seed's five, then the scenario's own.
    pub fn types(&self) -> &TypeNames {
        &self.types
    }

    /// The configuration being run.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every agent, in join order.
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// Every agent's Circles state and event schedule, in join order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The Pie.
    pub fn pie(&self) -> &Pie {
        &self.pie
    }

    /// The token books.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The CRC vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The data pool.
    pub fn data(&self) -> &DataPool {
        &self.data
    }

    /// The step the next call to [`Simulation::step`] runs (or reports, when a
    /// look-ahead already ran it).
    pub fn next_step(&self) -> u32 {
        self.next_step - self.ahead.replay.len() as u32
    }

    /// Whether all configured steps have run.
    pub fn is_finished(&self) -> bool {
        u64::from(self.next_step()) >= self.config.simulation.total_steps
    }

    /// Let foresight votes look ahead: the real run serves as the fork without the
    /// proposal, beside one fork with it (see `engine/governance.rs`). The numbers are
    /// the same either way; what changes is that after such a vote the economy's state
    /// (the accessors) is up to a horizon ahead of the step last reported, so front ends
    /// that only watch the observer turn it on ([`crate::Economy`] does).
    pub fn look_ahead(&mut self, on: bool) {
        self.ahead.enabled = on;
    }

    /// Stop the run when `flag` is raised: the step in progress, a foresight vote's
    /// forks included, returns [`StepError::Stopped`] within [`CHECK_EVERY_AGENTS`]
    /// agents' work, and so does every later step.
    pub fn set_stop(&mut self, flag: StopFlag) {
        self.stop = flag;
    }

    /// Run every remaining step.
    pub fn run<O: Observer>(&mut self, observer: &mut O) -> Result<(), StepError> {
        while !self.is_finished() {
            self.step(observer)?;
        }
        Ok(())
    }

    /// Run one step and return its metrics (also given to the observer).
    pub fn step<O: Observer>(&mut self, observer: &mut O) -> Result<StepMetrics, StepError> {
        if self.stop.is_raised() {
            return Err(StepError::Stopped);
        }
        if let Some(result) = self.ahead.replay.pop_front() {
            let metrics = result?;
            observer.on_step(&metrics);
            return Ok(metrics);
        }
        let step = self.next_step;
        if step == 0 {
            self.reserve_population()?;
        }
        let (crc_held, tally) = match self.ahead.advanced.take() {
            Some(done) => done,
            None => self.advance(step, observer),
        };
        if let Some(failure) = self.policy_failure.take() {
            return Err(StepError::Policy(failure));
        }
        if self.stop.is_raised() {
            return Err(StepError::Stopped);
        }
        if self.looks_ahead(step, observer) {
            return self.govern_looking_ahead(step, crc_held, tally, observer);
        }
        // A proposal carried out moves balances the distribution's tally has summed.
        let tally = if self.govern(step, observer)? {
            None
        } else {
            tally
        };
        let (metrics, holdings) = self.measure_step(step, tally, crc_held);
        if self.config.simulation.audit {
            self.audit(step, &holdings)?;
        }
        observer.on_step(&metrics);
        self.next_step += 1;
        Ok(metrics)
    }

    /// Room for every agent the run will hold, asked for before the first step: the
    /// agents never move again as they join, and a population too large for the memory
    /// that is really there (a container's limit, `ulimit -v`) is refused as
    /// [`StepError::OutOfMemory`] instead of aborting the process halfway through.
    fn reserve_population(&mut self) -> Result<(), StepError> {
        let s = &self.config.simulation;
        let entries = u128::from(s.total_steps.div_ceil(s.entry_steps.max(1)));
        let agents = u128::from(s.initial_agents) + u128::from(s.agents_per_entry) * entries;
        let per_agent = (std::mem::size_of::<Agent>()
            + std::mem::size_of::<Member>()
            + crate::data_pool::DataPool::BYTES_PER_MEMBER) as u128;
        let refused = || StepError::OutOfMemory {
            what: "the agents of the run",
            agents,
            bytes: agents * per_agent,
        };
        let n = usize::try_from(agents).map_err(|_| refused())?;
        let shuffled = self.config.simulation.activation == Activation::Shuffled;
        self.agents.try_reserve_exact(n).map_err(|_| refused())?;
        self.members.try_reserve_exact(n).map_err(|_| refused())?;
        self.data.try_reserve_members(n).map_err(|_| refused())?;
        self.pie_accounts
            .try_reserve_exact(n)
            .map_err(|_| refused())?;
        if self.remembers() {
            self.rule_memory
                .try_reserve_exact(n)
                .map_err(|_| refused())?;
        }
        if shuffled {
            self.order.try_reserve_exact(n).map_err(|_| refused())?;
        }
        Ok(())
    }

    /// The step's metrics (and the holdings the audit checks), summing the agents'
    /// balances unless a pass of the step already did.
    fn measure_step(
        &self,
        step: u32,
        tally: Option<BalanceSums>,
        crc_held: f64,
    ) -> (StepMetrics, crate::ledger::Holdings) {
        let tally = tally.unwrap_or_else(|| {
            let mut t = BalanceSums::default();
            self.agents.iter().for_each(|a| t.add(a));
            t
        });
        self.measure(step, &tally, crc_held)
    }

    /// A step of a foresight fork: everything that changes the economy, nothing that
    /// only measures or checks it (the real run measures and audits its own steps).
    fn fork_step(&mut self) {
        let step = self.next_step;
        self.advance(step, &mut NullObserver);
        self.next_step += 1;
    }

    /// Everything a step does to the economy before governance, in the step's order.
    /// Returns the CRC agents hold and, when a pass over the agents already summed
    /// their balances, the sums.
    fn advance<O: Observer>(&mut self, step: u32, observer: &mut O) -> (f64, Option<BalanceSums>) {
        self.flows = StepFlows::default();

        if step > 0 {
            self.pass_a_day_globally();
        }
        if step == 0 {
            for n in 0..self.config.simulation.initial_agents {
                if n % CHECK_EVERY_AGENTS as u64 == 0 && self.stop.is_raised() {
                    return (0.0, None);
                }
                self.join(step, observer);
            }
        }
        if u64::from(step) % self.config.simulation.entry_steps == 0 {
            for n in 0..self.config.simulation.agents_per_entry {
                if n % CHECK_EVERY_AGENTS as u64 == 0 && self.stop.is_raised() {
                    return (0.0, None);
                }
                self.join(step, observer);
            }
        }

        if !self.events.is_empty() {
            self.fire_events(step, observer);
        }
        let shuffled = self.config.simulation.activation == Activation::Shuffled;
        if shuffled {
            self.order.clear();
            self.order.extend(0..self.agents.len() as u32);
            self.order.shuffle(&mut self.rng);
        }
        let mut plan = Plan::new();
        // Five shared pointers a step, so a rule's turn can borrow the engine whole.
        let type_rules = self.type_rules.clone();
        // CRC moves only in an agent's own turn, so its end-of-step value is known here.
        let mut crc_held = 0.0;
        for n in 0..self.agents.len() {
            if n % CHECK_EVERY_AGENTS == 0 && self.stop.is_raised() {
                return (crc_held, None);
            }
            let i = if shuffled { self.order[n] as usize } else { n };
            self.agent_turn(step, i, &mut plan, &type_rules, observer);
            crc_held += self.members[i].crc;
            if self.policy_failure.is_some() {
                return (crc_held, None);
            }
        }

        let subsidy = self.config.pie.subsidy_per_step;
        if subsidy > 0.0 {
            self.pie.deposit(subsidy);
            self.ledger.record_subsidy(subsidy);
        }
        let distributes = (u64::from(step) + 1) % self.config.pie.interval_steps == 0;
        let tally = if distributes {
            self.distribute_pie(step, shuffled, observer)
        } else {
            None
        };
        (crc_held, tally)
    }

    /// One agent's turn: the day's effects on it, its data decisions, then its plan.
    fn agent_turn<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        plan: &mut Plan,
        type_rules: &rules::TypeRules,
        observer: &mut O,
    ) {
        if self.agents[i].joined_step < step {
            self.pass_a_day_for(i);
        }
        if self.agents[i].left {
            return;
        }
        self.data_turn(step, i, observer);
        if self.outlook_stale {
            self.outlook = self.fresh_outlook();
            self.outlook_stale = false;
        }
        // A skipped day is not an agent's first: a degen that skips still seeds the
        // pool on the day it first acts.
        if self.noisy && self.skips_today(step, i) {
            return;
        }
        let kind = self.agents[i].kind;
        if let Some(policy) = self.policies[kind.index()].clone() {
            if let Err(message) = self.policy_turn(step, i, &*policy, observer) {
                self.policy_failure = Some(crate::policy::PolicyFailure {
                    type_name: self.types.name(kind).to_owned(),
                    message,
                });
            }
        } else if let Some(rules) = &type_rules[kind.index()] {
            self.rules_turn(step, i, rules, observer);
        } else {
            agents::decide(&self.agents[i], &self.config.agents, &self.outlook, plan);
            if self.noisy {
                let jitter = self.amount_jitter[self.agents[i].kind.index()];
                agents::jitter(plan, jitter, &mut self.rng);
            }
            self.carry_out(step, i, plan, observer);
        }
        self.agents[i].has_acted = true;
    }

    /// Whether agent `i` skips its action today (behaviour noise). Skips are scheduled as
    /// geometric waiting times, so a zero probability draws nothing.
    #[inline]
    fn skips_today(&mut self, step: u32, i: usize) -> bool {
        if step < self.members[i].next_skip {
            return false;
        }
        let p = self.skip_probability[self.agents[i].kind.index()];
        self.members[i].next_skip = agents::next_occurrence(step + 1, p, &mut self.rng);
        true
    }

    /// What agents see when they decide, computed from the data pool.
    fn fresh_outlook(&self) -> Outlook {
        let mut o = Outlook {
            job_use_case: self.job_use_case,
            scale_demand: self.config.data.demand_scales_with_allowed_data,
            ..Outlook::default()
        };
        for u in 0..self.use_cases {
            o.can_run[u] = self.data.can_run(u);
            o.allowed_share[u] = self.data.allowed_share(u);
        }
        o
    }

    /// A day passes for what is not an agent: with dDT demurrage, the Pie, the pool's
    /// reserve (synced as a pair holding a decaying token is) and the vault decay, and
    /// the books record it. Agents' own balances decay at the start of their turn
    /// ([`Simulation::pass_a_day_for`]), which nothing before it in the step can see, so
    /// the day costs no extra pass over a million agents.
    fn pass_a_day_globally(&mut self) {
        let f = self.ddt_factor;
        if f < 1.0 {
            let before = self.ledger.supply();
            let (pie, pool) = (self.pie.balance(), self.pool.ddt_reserve());
            self.pie.decay(f);
            self.pool.sync_ddt_decay(f);
            self.vault.decay(f);
            let total = before * (1.0 - f);
            self.ledger.record_decay(total, f);
            let (pie, pool) = (pie - self.pie.balance(), pool - self.pool.ddt_reserve());
            self.ledger.record_decay_of(pie, pool, total);
        }
    }

    /// A day passes for agent `i`: dDT demurrage (if on) on what it holds and has locked,
    /// CRC demurrage, then its issuance claim if one is due.
    #[inline]
    fn pass_a_day_for(&mut self, i: usize) {
        let c = &self.config.circles;
        let (interval, per_day, max_days) =
            (c.claim_interval_days, c.issuance_per_day, c.max_claim_days);
        let (crc_factor, ddt_factor) = (self.crc_factor, self.ddt_factor);
        let kind = self.agents[i].kind;
        let a = &mut self.members[i];
        if ddt_factor < 1.0 {
            self.agents[i].ddt *= ddt_factor;
            a.crc_locked *= ddt_factor;
        }
        if !self.is_member[kind.index()] {
            return;
        }
        a.crc *= crc_factor;
        // One who has left claims no more issuance here; what it holds still decays.
        if self.agents[i].left {
            return;
        }
        a.unclaimed_days += 1;
        if u64::from(a.unclaimed_days) >= interval {
            let claim =
                circles::claimable(u64::from(a.unclaimed_days), per_day, max_days, crc_factor);
            a.crc += claim;
            a.issued_since_mint += claim;
            a.unclaimed_days = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pie::PiePolicy;
    use crate::transactions::NullObserver;
    use crate::transactions::{Action, Transaction};

    fn small(steps: u64) -> Config {
        let mut c = Config::default();
        c.simulation.total_steps = steps;
        c.simulation.audit = true;
        c
    }

    #[test]
    fn default_run_passes_the_audit() {
        let mut sim = Simulation::new(small(300)).unwrap();
        sim.run(&mut NullObserver).unwrap();
        assert!(sim.pool().price().unwrap() > 0.0);
    }

    #[test]
    fn first_step_by_hand() {
        // Step 0: 10 initial + 10 entrants = 8 degens, 1 org, 1 power, 6 active, 4 casual.
        let mut sim = Simulation::new(small(1)).unwrap();
        let m = sim.step(&mut NullObserver).unwrap();
        assert_eq!(m.agents, [8, 1, 1, 6, 4]);
        // Every type but organizations is a member and mints 100: 8+1+6+4 = 19 members,
        // each locking 100 of its 336 CRC.
        assert_eq!(m.ddt_supply, 1900.0);
        assert_eq!(m.crc_locked, 1900.0);
        assert_eq!(m.crc_supply, 19.0 * 336.0);
        assert_eq!(m.data_weight, 1900.0);
        assert!(m.lp_supply > 0.0);
    }

    #[test]
    fn a_day_of_circles() {
        // After step 1, each step-0 member has (336 - 100) * gamma + 24 CRC unlocked.
        let mut sim = Simulation::new(small(2)).unwrap();
        sim.step(&mut NullObserver).unwrap();
        sim.step(&mut NullObserver).unwrap();
        let g = circles::daily_factor(0.07);
        let first = sim
            .agents()
            .iter()
            .position(|a| a.kind != crate::AgentType::ORGANIZATION)
            .unwrap();
        let member = &sim.members()[first];
        assert!(
            (member.crc - (236.0 * g + 24.0)).abs() < 1e-9,
            "{}",
            member.crc
        );
    }

    #[test]
    fn no_consent_means_refused_jobs_and_no_spending() {
        let mut c = small(20);
        for kind in crate::AgentType::SEED {
            if let Some(m) = match kind {
                crate::AgentType::DEGEN => Some(&mut c.agents.degen.member),
                crate::AgentType::POWER => Some(&mut c.agents.power.member),
                crate::AgentType::ACTIVE => Some(&mut c.agents.active.member),
                crate::AgentType::CASUAL => Some(&mut c.agents.casual.member),
                _ => None,
            } {
                m.restrict_probability = vec![1.0];
            }
        }
        let mut sim = Simulation::new(c).unwrap();
        let mut refused = 0;
        for _ in 0..20 {
            let m = sim.step(&mut NullObserver).unwrap();
            assert_eq!(m.flows.jobs_run, 0);
            assert_eq!(m.flows.pie_inflow_ddt, 0.0);
            refused += m.flows.jobs_refused;
        }
        assert!(refused > 0);
    }

    /// Records Pie shares by agent id.
    #[derive(Default)]
    struct Shares(Vec<(u32, f64)>);

    impl Observer for Shares {
        fn wants_transactions(&self) -> bool {
            true
        }
        fn on_transaction(&mut self, tx: &Transaction) {
            if tx.action == Action::PieShare {
                self.0.push((tx.agent_id, tx.ddt));
            }
        }
    }

    /// One power user (agent 0: weight 100, its data keeps out `ai_training`, research
    /// jobs of 2 dDT) and one active user (agent 1: weight 300, `ai_training` jobs of
    /// 1 dDT). Step 0 puts 3 dDT in the Pie; 70% of it, 2.1, is distributed.
    ///   groups: power 0.4 * 2.1 = 0.84, active 0.84, casual's 0.42 stays.
    ///   weight: power 2.1 * 100/400 = 0.525, active 2.1 * 300/400 = 1.575.
    ///   usage:  research 2 dDT over 400 -> power 0.5, active 1.5; ai_training 1 dDT
    ///           over active's 300 -> active 1. Power 0.5/3 * 2.1 = 0.35, active 1.75.
    #[test]
    fn each_pie_policy_by_hand() {
        let mut c = small(1);
        c.simulation.initial_agents = 0;
        c.simulation.agents_per_entry = 2;
        let a = &mut c.agents;
        (a.degen.share, a.organization.share, a.power.share) = (0.0, 0.0, 0.5);
        (a.active.share, a.casual.share) = (0.5, 0.0);
        a.power.member.quantity = 100.0;
        a.power.member.restrict_probability = vec![0.0, 0.0, 1.0];
        a.active.member.quantity = 300.0;
        a.active.member.job_use_case = "ai_training".into();
        let table = [
            (PiePolicy::Groups, 0.84, 0.84, 3.0 - 1.68),
            (PiePolicy::Weight, 0.525, 1.575, 0.9),
            (PiePolicy::Usage, 0.35, 1.75, 0.9),
        ];
        for (policy, power, active, left) in table {
            c.pie.policy = policy;
            let mut sim = Simulation::new(c.clone()).unwrap();
            let mut shares = Shares::default();
            let m = sim.step(&mut shares).unwrap();
            assert_eq!(m.agents, [0, 0, 1, 1, 0]);
            assert_eq!(shares.0.len(), 2, "{policy:?}: {:?}", shares.0);
            let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
            assert!(
                close(shares.0[0].1, power),
                "{policy:?} power {:?}",
                shares.0
            );
            assert!(
                close(shares.0[1].1, active),
                "{policy:?} active {:?}",
                shares.0
            );
            assert!(close(m.pie_ddt, left), "{policy:?} Pie {}", m.pie_ddt);
        }
    }

    #[test]
    fn shuffled_runs_repeat_with_the_same_seed() {
        let mut c = small(50);
        c.simulation.activation = Activation::Shuffled;
        let mut a = Simulation::new(c.clone()).unwrap();
        let mut b = Simulation::new(c).unwrap();
        for _ in 0..50 {
            let ma = a.step(&mut NullObserver).unwrap();
            let mb = b.step(&mut NullObserver).unwrap();
            assert_eq!(ma, mb);
        }
    }
}
