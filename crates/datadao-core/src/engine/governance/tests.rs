//! Governance by hand: each kind of proposal carried out, tallies by weight rule, and
//! both foresight paths against each other.

use rand::Rng;

use super::*;
use crate::config::Config;
use crate::governance::{Governable, PerMember, Proposal, ProposalRecord, WeightRule};
use crate::transactions::{Action, NullObserver, Transaction};

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
    let f = sim.settings.fee_rate;
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
                crate::AgentType::ORGANIZATION => continue,
                crate::AgentType::POWER => yes += w,
                _ => no += w,
            }
            voters += 1;
        }
        let proposal = Proposal::Treasury {
            kind: ProposalKind::Burn,
            treasury: 1.0,
            ddt: 0.5,
        };
        let vote = sim.turn_out(1, proposal);
        let t = sim.count(24, &vote, &vote::Forecasts::none(), &mut NullObserver);
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
    let forecasts = sim.foresee(24, &proposal).unwrap();
    assert_eq!(forecasts.horizon, Some(30));
    assert_ne!(forecasts.with, forecasts.without);
    assert_eq!(sim.agents, before.agents);
    assert_eq!(sim.pie, before.pie);
    assert_eq!(sim.pool, before.pool);
    assert_eq!(sim.next_step, before.next_step);
    let mut a = sim.rng.clone();
    let mut b = before.rng.clone();
    assert_eq!(a.gen::<u64>(), b.gen::<u64>());
}
