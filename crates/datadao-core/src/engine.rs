//! The engine: runs steps, applies agents' plans, and keeps the books.
//!
//! A step is: entry (initial agents join before step 0), every agent acts in activation
//! order, The Pie distributes and recipients act on their shares, then the step's metrics
//! are taken and, with `simulation.audit`, the ledger is checked. Agents only *decide*
//! ([`crate::agents::decide`]); every balance change happens here, in [`Simulation::apply`]
//! and the few helpers it calls, each of which also records the transaction.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::agents::{self, Agent, Intent, Plan, DUST};
use crate::config::{Activation, Config, ConfigError};
use crate::ledger::{AuditError, Holdings, Ledger};
use crate::market::{Pool, Side, SwapReceipt};
use crate::metrics::{StepFlows, StepMetrics};
use crate::pie::Pie;
use crate::population::Population;
use crate::transactions::{Action, Observer, Transaction};

/// One simulated economy, advanced a step at a time.
#[derive(Clone, Debug)]
pub struct Simulation {
    config: Config,
    agents: Vec<Agent>,
    pool: Pool,
    pie: Pie,
    population: Population,
    ledger: Ledger,
    rng: ChaCha8Rng,
    next_step: u32,
    seq: u64,
    flows: StepFlows,
    /// Scratch permutation for shuffled activation, reused every step.
    order: Vec<u32>,
    /// First swap found to lower `x*y`, kept for the audit.
    k_violation: Option<(f64, f64)>,
}

impl Simulation {
    /// A fresh economy; fails if the configuration does not validate.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let pool = Pool::new(config.market.fee_rate);
        let population = Population::new(config.agents.shares());
        let rng = ChaCha8Rng::seed_from_u64(config.simulation.seed);
        Ok(Self {
            config,
            agents: Vec::new(),
            pool,
            pie: Pie::new(),
            population,
            ledger: Ledger::default(),
            rng,
            next_step: 0,
            seq: 0,
            flows: StepFlows::default(),
            order: Vec::new(),
            k_violation: None,
        })
    }

    /// The configuration being run.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every agent, in join order.
    pub fn agents(&self) -> &[Agent] {
        &self.agents
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

    /// The step the next call to [`Simulation::step`] runs.
    pub fn next_step(&self) -> u32 {
        self.next_step
    }

    /// Whether all configured steps have run.
    pub fn is_finished(&self) -> bool {
        u64::from(self.next_step) >= self.config.simulation.total_steps
    }

    /// Run every remaining step.
    pub fn run<O: Observer>(&mut self, observer: &mut O) -> Result<(), AuditError> {
        while !self.is_finished() {
            self.step(observer)?;
        }
        Ok(())
    }

    /// Run one step and return its metrics (also given to the observer).
    pub fn step<O: Observer>(&mut self, observer: &mut O) -> Result<StepMetrics, AuditError> {
        let step = self.next_step;
        self.flows = StepFlows::default();

        if step == 0 {
            for _ in 0..self.config.simulation.initial_agents {
                self.join(step, observer);
            }
        }
        if u64::from(step) % self.config.simulation.entry_steps == 0 {
            for _ in 0..self.config.simulation.agents_per_entry {
                self.join(step, observer);
            }
        }

        let shuffled = self.config.simulation.activation == Activation::Shuffled;
        if shuffled {
            self.order.clear();
            self.order.extend(0..self.agents.len() as u32);
            self.order.shuffle(&mut self.rng);
        }
        for n in 0..self.agents.len() {
            let i = if shuffled { self.order[n] as usize } else { n };
            let plan = agents::decide(&self.agents[i], &self.config.agents);
            self.carry_out(step, i, &plan, observer);
            self.agents[i].has_acted = true;
        }

        self.distribute_pie(step, shuffled, observer);

        let (metrics, holdings) = self.measure(step);
        if self.config.simulation.audit {
            self.audit(step, &holdings)?;
        }
        observer.on_step(&metrics);
        self.next_step += 1;
        Ok(metrics)
    }

    fn join<O: Observer>(&mut self, step: u32, observer: &mut O) {
        let kind = self.population.next_type();
        self.population.admit(kind);
        let (ddt, xdai) = self.config.agents.endowment(kind);
        let id = self.agents.len() as u32;
        self.agents.push(Agent {
            id,
            kind,
            joined_step: step,
            ddt: 0.0,
            xdai,
            lp: 0.0,
            has_acted: false,
        });
        let i = id as usize;
        self.ledger.record_xdai_brought(xdai);
        self.record(observer, step, i, Action::Join, 0.0, xdai, 0.0);
        if kind.is_member() && ddt > 0.0 {
            self.mint(step, i, ddt, observer);
        }
    }

    /// Create dDT for member `i`.
    fn mint<O: Observer>(&mut self, step: u32, i: usize, amount: f64, observer: &mut O) {
        self.agents[i].ddt += amount;
        self.ledger.record_mint(amount);
        self.flows.minted_ddt += amount;
        self.record(observer, step, i, Action::Mint, amount, 0.0, 0.0);
    }

    fn carry_out<O: Observer>(&mut self, step: u32, i: usize, plan: &Plan, observer: &mut O) {
        for intent in plan {
            self.apply(step, i, *intent, observer);
        }
    }

    /// Execute one intent of agent `i`, clamped to what it holds; an intent that cannot be
    /// carried out is dropped without effect.
    fn apply<O: Observer>(&mut self, step: u32, i: usize, intent: Intent, observer: &mut O) {
        match intent {
            Intent::AddLiquidity { ddt, xdai } => {
                let agent = &self.agents[i];
                let (ddt, xdai) = (ddt.min(agent.ddt), xdai.min(agent.xdai));
                if ddt <= DUST || xdai <= DUST {
                    return;
                }
                let Some(q) = self.pool.quote_deposit(ddt, xdai) else {
                    return;
                };
                self.pool.deposit(&q);
                let agent = &mut self.agents[i];
                agent.ddt -= q.ddt;
                agent.xdai -= q.xdai;
                agent.lp += q.lp;
                self.record(
                    observer,
                    step,
                    i,
                    Action::AddLiquidity,
                    -q.ddt,
                    -q.xdai,
                    q.lp,
                );
            }
            Intent::SellDdt { amount } => {
                let amount = amount.min(self.agents[i].ddt);
                if amount <= DUST {
                    return;
                }
                let Some(q) = self.pool.quote_exact_in(Side::SellDdt, amount) else {
                    return;
                };
                let receipt = self.pool.swap(&q);
                self.note_swap(&receipt);
                let agent = &mut self.agents[i];
                agent.ddt -= q.amount_in;
                agent.xdai += q.amount_out;
                self.record(
                    observer,
                    step,
                    i,
                    Action::Sell,
                    -q.amount_in,
                    q.amount_out,
                    0.0,
                );
            }
            Intent::BuyDdtExact { amount, max_price } => {
                if amount <= DUST {
                    return;
                }
                match self.pool.price() {
                    Some(p) if p <= max_price => {}
                    _ => return,
                }
                let Some(q) = self.pool.quote_exact_out(Side::BuyDdt, amount) else {
                    return;
                };
                if q.amount_in > self.agents[i].xdai {
                    return;
                }
                let receipt = self.pool.swap(&q);
                self.note_swap(&receipt);
                let agent = &mut self.agents[i];
                agent.xdai -= q.amount_in;
                agent.ddt += q.amount_out;
                self.record(
                    observer,
                    step,
                    i,
                    Action::Buy,
                    q.amount_out,
                    -q.amount_in,
                    0.0,
                );
            }
            Intent::Compute { amount, partial } => {
                let held = self.agents[i].ddt;
                // An exact-output buy can land a rounding hair short of the target; that
                // hair must not cancel the job it was bought for.
                let spend = if held + DUST >= amount {
                    amount.min(held)
                } else if partial {
                    held
                } else {
                    return;
                };
                if spend <= DUST {
                    return;
                }
                self.agents[i].ddt -= spend;
                self.pie.deposit(spend);
                self.flows.pie_inflow_ddt += spend;
                self.record(observer, step, i, Action::Compute, -spend, 0.0, 0.0);
            }
        }
    }

    fn note_swap(&mut self, receipt: &SwapReceipt) {
        let q = &receipt.quote;
        self.flows.swaps += 1;
        match q.side {
            Side::BuyDdt => {
                self.flows.volume_xdai += q.amount_in;
                self.flows.fees_xdai += q.fee;
            }
            Side::SellDdt => {
                self.flows.volume_xdai += q.amount_out;
                self.flows.fees_ddt += q.fee;
            }
        }
        if receipt.k_after < receipt.k_before && self.k_violation.is_none() {
            self.k_violation = Some((receipt.k_before, receipt.k_after));
        }
    }

    fn distribute_pie<O: Observer>(&mut self, step: u32, shuffled: bool, observer: &mut O) {
        let shares = &self.config.pie.shares;
        let group_shares = [0.0, 0.0, shares.power, shares.active, shares.casual];
        let dist = self.pie.distribute(
            self.config.pie.distribution_rate,
            group_shares,
            self.population.counts(),
        );
        self.flows.pie_distributed_ddt += dist.total;
        if dist.total <= 0.0 {
            return;
        }
        for n in 0..self.agents.len() {
            let i = if shuffled { self.order[n] as usize } else { n };
            let kind = self.agents[i].kind;
            let share = dist.share_of(kind);
            if share <= 0.0 {
                continue;
            }
            self.agents[i].ddt += share;
            self.record(observer, step, i, Action::PieShare, share, 0.0, 0.0);
            let plan = agents::on_pie_share(kind, share, &self.config.agents);
            self.carry_out(step, i, &plan, observer);
        }
    }

    /// Snapshot the step and sum what is held, in one pass over the agents.
    fn measure(&self, step: u32) -> (StepMetrics, Holdings) {
        let mut sum_xdai = [0.0f64; 5];
        let mut sum_ddt = [0.0f64; 5];
        for a in &self.agents {
            let t = a.kind.index();
            sum_xdai[t] += a.xdai;
            sum_ddt[t] += a.ddt;
        }
        let counts = self.population.counts();
        let mean = |sums: &[f64; 5]| {
            let mut out = [None; 5];
            for t in 0..5 {
                if counts[t] > 0 {
                    out[t] = Some(sums[t] / counts[t] as f64);
                }
            }
            out
        };
        let metrics = StepMetrics {
            step,
            price: self.pool.price(),
            lp_ddt_reserve: self.pool.ddt_reserve(),
            lp_xdai_reserve: self.pool.xdai_reserve(),
            lp_supply: self.pool.lp_supply(),
            pie_ddt: self.pie.balance(),
            ddt_supply: self.ledger.supply(),
            flows: self.flows,
            agents: counts,
            avg_xdai: mean(&sum_xdai),
            avg_ddt: mean(&sum_ddt),
        };
        let holdings = Holdings {
            agents_ddt: sum_ddt.iter().sum(),
            agents_xdai: sum_xdai.iter().sum(),
            pool_ddt: self.pool.ddt_reserve(),
            pool_xdai: self.pool.xdai_reserve(),
            pie_ddt: self.pie.balance(),
        };
        (metrics, holdings)
    }

    fn audit(&self, step: u32, holdings: &Holdings) -> Result<(), AuditError> {
        if let Some((before, after)) = self.k_violation {
            return Err(AuditError {
                step,
                detail: format!("a swap lowered x*y from {before} to {after}"),
            });
        }
        for a in &self.agents {
            if a.ddt < 0.0 || a.xdai < 0.0 || a.lp < 0.0 {
                return Err(AuditError {
                    step,
                    detail: format!(
                        "agent {} ({}) has a negative balance: dDT {}, xDAI {}, LP {}",
                        a.id,
                        a.kind.name(),
                        a.ddt,
                        a.xdai,
                        a.lp
                    ),
                });
            }
        }
        self.ledger.audit(step, holdings)
    }

    #[allow(clippy::too_many_arguments)]
    fn record<O: Observer>(
        &mut self,
        observer: &mut O,
        step: u32,
        i: usize,
        action: Action,
        ddt: f64,
        xdai: f64,
        lp: f64,
    ) {
        if !observer.wants_transactions() {
            return;
        }
        let agent = &self.agents[i];
        let tx = Transaction {
            step,
            seq: self.seq,
            agent_id: agent.id,
            agent_type: agent.kind,
            action,
            ddt,
            xdai,
            lp,
            ddt_balance: agent.ddt,
            xdai_balance: agent.xdai,
            price: self.pool.price(),
        };
        self.seq += 1;
        observer.on_transaction(&tx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transactions::NullObserver;

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
        // Every type but organizations is a member and mints 100: 8+1+6+4 = 19 members.
        assert_eq!(m.ddt_supply, 1900.0);
        assert!(m.lp_supply > 0.0);
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
