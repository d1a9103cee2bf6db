//! Governance keeps to its text, and a front end can stop a run or be refused memory:
//!
//! - the treasury is what The Pie held right after its last distribution, less what
//!   governance took since (dDT spent on compute since then is the next payout's), checked
//!   against the same economy run without governance with `pie.interval_steps = 7`;
//! - the dust rule: no amount below 1e-9 is transacted by a proposal, and a proposal
//!   acting on less says so in `below_dust`;
//! - a fork's horizon counts the agents who join during it (`fork_horizon` against a
//!   brute-force count), so a governed run with the largest horizon ends;
//! - a raised [`StopFlag`] stops a step within a foresight vote, and a population that
//!   cannot fit in memory is refused as [`StepError::OutOfMemory`], never an abort.
//!
//! The audit is on in every run.

use std::time::{Duration, Instant};

use datadao_core::governance::{PerMember, ProposalKind, ProposalRecord, Voting};
use datadao_core::{
    Action, Config, Economy, Observer, Simulation, StepError, StepMetrics, StopFlag, Transaction,
};

/// The seed with the audit on, governance on, fixed voting and every member voting yes
/// on `kind` proposals only, the first at the end of step `interval - 1`.
fn governed(kind: ProposalKind, interval: u64, steps: u64) -> Config {
    let mut c = Config::default();
    c.simulation.total_steps = steps;
    c.simulation.audit = true;
    let g = &mut c.governance;
    g.enabled = true;
    g.voting = Voting::Fixed;
    g.interval_steps = interval;
    g.proposals = vec![kind];
    g.turnout = PerMember::all(1.0);
    g.quorum = 0.0;
    g.threshold = 0.0;
    g.fixed.liquidity = PerMember::all(1.0);
    g.fixed.burn = PerMember::all(1.0);
    g.fixed.grants = PerMember::all(1.0);
    g.fixed.set = PerMember::all(1.0);
    c
}

/// Every step's metrics, proposal and transaction.
#[derive(Default)]
struct Everything {
    steps: Vec<StepMetrics>,
    proposals: Vec<ProposalRecord>,
    transactions: Vec<Transaction>,
}

impl Observer for Everything {
    fn wants_transactions(&self) -> bool {
        true
    }
    fn on_transaction(&mut self, tx: &Transaction) {
        self.transactions.push(*tx);
    }
    fn on_step(&mut self, m: &StepMetrics) {
        self.steps.push(m.clone());
    }
    fn on_proposal(&mut self, p: &ProposalRecord) {
        self.proposals.push(*p);
    }
}

fn run(config: Config) -> Everything {
    let mut sim = Simulation::new(config).unwrap();
    let mut seen = Everything::default();
    sim.run(&mut seen).unwrap();
    seen
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// With a payout every 7 steps (at the ends of steps 6 and 13) and a burn of the whole
/// treasury at the end of step 9, the burn takes what The Pie held right after step 6's
/// payout, not the jobs of steps 7 to 9, which step 13 pays out to members in full.
///
/// By hand, from the same economy without governance (burning touches nothing agents
/// look at, so every agent acts the same): the treasury at step 9 is the Pie at the end
/// of step 6; the Pie at the start of step 13's payout is the ungoverned one less the
/// burn, so step 13 distributes 0.7 of that.
#[test]
fn the_treasury_is_what_the_last_payout_left() {
    let mut config = governed(ProposalKind::Burn, 10, 14);
    config.pie.interval_steps = 7;
    config.governance.burn.fraction = 1.0;
    let mut plain = config.clone();
    plain.governance.enabled = false;
    let (with, without) = (run(config), run(plain));

    let after_payout = without.steps[6].pie_ddt;
    let spent_since = without.steps[9].pie_ddt - after_payout;
    assert!(
        after_payout > 0.0 && spent_since > 0.0,
        "{after_payout} {spent_since}"
    );
    let vote = &with.proposals[0];
    assert_eq!(
        (vote.step, vote.passed, vote.below_dust()),
        (9, true, false)
    );
    let burns: Vec<f64> = with
        .transactions
        .iter()
        .filter(|t| t.action == Action::TreasuryBurn)
        .map(|t| -t.ddt)
        .collect();
    assert_eq!(burns.len(), 1);
    assert!(close(burns[0], after_payout), "{burns:?} vs {after_payout}");
    // The treasury column at step 9 is empty after the burn; the Pie still holds the
    // jobs of steps 7 to 9.
    let gov = with.steps[9].governance.as_ref().unwrap();
    assert!(gov.treasury_ddt.abs() < 1e-9, "{}", gov.treasury_ddt);
    assert!(close(with.steps[9].pie_ddt, spent_since));
    // Step 13's payout: 0.7 of the Pie less the burn.
    let paid = |e: &Everything| e.steps[13].flows.pie_distributed_ddt;
    let pie_before_13 = without.steps[12].pie_ddt + without.steps[13].flows.pie_inflow_ddt;
    assert!(close(paid(&without), 0.7 * pie_before_13));
    assert!(
        close(paid(&with), 0.7 * (pie_before_13 - after_payout)),
        "{} vs {}",
        paid(&with),
        0.7 * (pie_before_13 - after_payout)
    );
}

/// A treasury proposal on less than 1e-9 dDT passes and does nothing: no treasury row,
/// no grant, no trade, and `below_dust` says so. With a distribution rate of 1 the
/// treasury after every payout is only the rounding left by members' shares.
#[test]
fn proposals_on_dust_do_nothing_and_say_so() {
    for kind in [
        ProposalKind::Burn,
        ProposalKind::Grants,
        ProposalKind::Liquidity,
    ] {
        let mut config = governed(kind, 5, 40);
        config.pie.distribution_rate = 1.0;
        let seen = run(config);
        assert!(!seen.proposals.is_empty());
        for p in &seen.proposals {
            assert!(p.passed);
            assert!(p.below_dust(), "{kind:?}: {p:?}");
        }
        let acted = seen.transactions.iter().any(|t| {
            t.by_treasury && t.action != Action::Propose && t.action != Action::Vote
                || t.action == Action::Grant
        });
        assert!(!acted, "{kind:?} transacted dust");
    }
}

/// No proposal ever writes a row that moves less than the dust rule allows, whatever the
/// kind and fraction: every grant, sale, deposit and burn is at least 1e-9.
#[test]
fn no_governance_row_moves_dust() {
    for kind in [
        ProposalKind::Burn,
        ProposalKind::Grants,
        ProposalKind::Liquidity,
    ] {
        for fraction in [1e-12, 0.01, 1.0] {
            let mut config = governed(kind, 3, 60);
            match kind {
                ProposalKind::Burn => config.governance.burn.fraction = fraction,
                ProposalKind::Grants => config.governance.grants.fraction = fraction,
                _ => config.governance.liquidity.fraction = fraction,
            }
            let seen = run(config);
            for t in &seen.transactions {
                let moves = matches!(
                    t.action,
                    Action::Grant
                        | Action::TreasuryBurn
                        | Action::TreasurySell
                        | Action::TreasuryAddLiquidity
                );
                if moves {
                    assert!(
                        t.ddt.abs() >= 1e-9,
                        "{kind:?} at {fraction}: {:?} of {} dDT",
                        t.action,
                        t.ddt
                    );
                }
            }
        }
    }
}

/// Agent-steps of a fork of `h` steps after `step`, counted one step at a time.
fn brute_cost(step: u64, h: u64, agents: u64, every: u64, per_entry: u64) -> u64 {
    let mut present = agents;
    let mut cost = 0;
    for s in step + 1..=step + h {
        if s % every == 0 {
            present += per_entry;
        }
        cost += present;
    }
    cost
}

/// The horizon is the longest fork (at most `horizon` steps, at least one) whose
/// agent-steps, counting the agents who join during it, fit the budget.
#[test]
fn the_fork_budget_counts_who_joins_during_the_fork() {
    let mut g = Config::default().governance;
    // By hand: 10 agents at step 9, 10 more at steps 10, 15, 20, ... A fork of 5 steps
    // (10..=14) costs 5 * 20 = 100; of 10 steps 100 + 5 * 30 = 250.
    g.horizon = 100;
    g.fork_agent_steps = 100;
    assert_eq!(g.fork_horizon(9, 10, (5, 10), u64::MAX), 5);
    g.fork_agent_steps = 250;
    assert_eq!(g.fork_horizon(9, 10, (5, 10), u64::MAX), 10);
    g.fork_agent_steps = 249;
    assert_eq!(g.fork_horizon(9, 10, (5, 10), u64::MAX), 9);
    // At least one step, however small the budget; never past `remaining`.
    g.fork_agent_steps = 1;
    assert_eq!(g.fork_horizon(9, 10, (5, 10), u64::MAX), 1);
    g.fork_agent_steps = u64::MAX;
    assert_eq!(g.fork_horizon(9, 10, (5, 10), 7), 7);
    // Against the brute-force count over many shapes.
    for (step, agents, every, per_entry) in [(0, 1, 1, 1), (29, 300, 5, 10), (7, 0, 3, 1000)] {
        for budget in [1, 10, 999, 10_000, 1_000_000] {
            g.horizon = 5000;
            g.fork_agent_steps = budget;
            let h = g.fork_horizon(step, agents, (every, per_entry), u64::MAX);
            assert!(h >= 1);
            let fits = |h| brute_cost(step, h, agents, every, per_entry) <= budget;
            assert!(
                h == 1 || fits(h),
                "{step} {agents} {every} {per_entry} {budget}: {h}"
            );
            assert!(
                h == 5000 || !fits(h + 1),
                "{budget}: {h} is not the longest"
            );
        }
    }
}

/// The largest horizon a setting takes no longer means a vote that never ends: each
/// fork simulates at most the budget's agent-steps, agents who join included.
#[test]
fn a_governed_run_with_the_largest_horizon_ends() {
    let mut c = Config::default();
    c.simulation.total_steps = 30;
    c.simulation.audit = true;
    c.governance.enabled = true;
    c.governance.horizon = u64::from(u32::MAX);
    c.governance.fork_agent_steps = 200_000;
    let seen = run(c.clone());
    let vote = &seen.proposals[0];
    let h = vote.horizon.unwrap();
    let s = &c.simulation;
    let agents = seen.steps[29].agents.iter().sum::<u64>();
    let cost = brute_cost(29, h, agents, s.entry_steps, s.agents_per_entry);
    assert!(cost <= 200_000, "{h} steps cost {cost}");
    assert!(brute_cost(29, h + 1, agents, s.entry_steps, s.agents_per_entry) > 200_000);
}

/// A flag raised from another thread stops a foresight vote in progress: the step
/// returns `Stopped` long before the vote's forks would have ended, and so does every
/// later step.
#[test]
fn a_raised_flag_stops_a_foresight_vote() {
    let mut c = Config::default();
    c.simulation.total_steps = 30;
    c.governance.enabled = true;
    // Forks of about 300,000 steps (1e11 agent-steps): hours of work, little memory.
    c.governance.horizon = u64::from(u32::MAX);
    c.governance.fork_agent_steps = 100_000_000_000;
    let mut economy = Economy::new(c).unwrap();
    let flag = StopFlag::new();
    economy.set_stop(flag.child());
    for _ in 0..29 {
        economy.step(&mut datadao_core::NullObserver).unwrap();
    }
    let raiser = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            flag.raise();
            Instant::now()
        })
    };
    // Step 29 votes with forks of hours: only the flag can end it.
    let result = economy.step(&mut datadao_core::NullObserver);
    let stopped = Instant::now();
    let raised = raiser.join().unwrap();
    assert_eq!(result.unwrap_err(), StepError::Stopped);
    assert!(stopped >= raised);
    assert_eq!(
        economy.step(&mut datadao_core::NullObserver).unwrap_err(),
        StepError::Stopped
    );
}

/// Under both rule sets, a flag raised before a step stops it.
#[test]
fn a_raised_flag_stops_either_rule_set() {
    for rules in [
        datadao_core::config::Rules::Model,
        datadao_core::config::Rules::Original2024,
    ] {
        let mut c = Config::default();
        c.simulation.rules = rules;
        let mut economy = Economy::new(c).unwrap();
        economy.step(&mut datadao_core::NullObserver).unwrap();
        let flag = StopFlag::new();
        economy.set_stop(flag.clone());
        flag.raise();
        assert_eq!(
            economy.step(&mut datadao_core::NullObserver).unwrap_err(),
            StepError::Stopped
        );
    }
}

/// A population that cannot be held is refused by the first step, naming how many
/// agents and bytes it needed, instead of aborting the process. (Where the kernel
/// promises any amount of memory, `vm.overcommit_memory = 1`, nothing is refused up
/// front, and the test says that it skipped.)
#[test]
fn a_population_too_large_for_memory_is_refused() {
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    if overcommit.trim() == "1" {
        eprintln!("SKIPPED a_population_too_large_for_memory_is_refused: vm.overcommit_memory = 1 grants any allocation");
        return;
    }
    for rules in [
        datadao_core::config::Rules::Model,
        datadao_core::config::Rules::Original2024,
    ] {
        let mut c = Config::default();
        c.simulation.rules = rules;
        // 4 billion agents, over 100 GB: more than this machine and its swap.
        c.simulation.total_steps = 3;
        c.simulation.agents_per_entry = 4_000_000_000;
        let mut economy = Economy::new(c).unwrap();
        match economy.step(&mut datadao_core::NullObserver) {
            Err(StepError::OutOfMemory { agents, bytes, .. }) => {
                assert!(agents >= 4_000_000_000, "{agents}");
                assert!(bytes > agents, "{bytes}");
            }
            other => panic!("{rules:?}: {:?}", other.map(|m| m.step)),
        }
    }
}
