//! Scheduled events: each fires at the start of its step and writes one `event` row; a
//! `set` moves its setting from that step on (and its column follows it); a `join`
//! admits exactly its count; `revoke` and `remove_data` reach the fraction of the type
//! drawn from the run's generator, reproducibly. The audit is on in every run.

use std::collections::BTreeMap;

use datadao_core::events::{EventConfig, FractionEvent, JoinEvent, RevokeEvent};
use datadao_core::{
    Action, AgentType, Config, Detail, Observer, Simulation, StepMetrics, Transaction,
};

#[derive(Default)]
struct Log {
    steps: Vec<StepMetrics>,
    tx: Vec<Transaction>,
}

impl Observer for Log {
    fn wants_transactions(&self) -> bool {
        true
    }
    fn on_transaction(&mut self, tx: &Transaction) {
        self.tx.push(*tx);
    }
    fn on_step(&mut self, m: &StepMetrics) {
        self.steps.push(m.clone());
    }
}

fn event(step: u64) -> EventConfig {
    EventConfig {
        step,
        set: None,
        join: None,
        leave: None,
        remove_data: None,
        revoke: None,
    }
}

fn run(c: Config) -> Log {
    let mut sim = Simulation::new(c).unwrap();
    let mut log = Log::default();
    sim.run(&mut log).unwrap();
    log
}

fn scenario() -> Config {
    let mut c = Config::default();
    c.simulation.total_steps = 120;
    c.simulation.audit = true;
    let mut fee = event(40);
    fee.set = Some(BTreeMap::from([("market.fee_rate".to_string(), 0.05)]));
    let mut wave = event(30);
    wave.join = Some(JoinEvent {
        kind: "organization".into(),
        count: 7,
    });
    let mut revoke = event(60);
    revoke.revoke = Some(RevokeEvent {
        kind: "active".into(),
        use_case: "research".into(),
        fraction: 0.5,
    });
    let mut remove = event(80);
    remove.remove_data = Some(FractionEvent {
        kind: "power".into(),
        fraction: 0.25,
    });
    c.events = vec![fee, wave, revoke, remove];
    c
}

#[test]
fn events_fire_at_their_step_and_write_their_rows() {
    let c = scenario();
    let log = run(c.clone());
    let rows: Vec<(u32, Detail)> = log
        .tx
        .iter()
        .filter(|t| t.action == Action::Event)
        .map(|t| (t.step, t.detail))
        .collect();
    assert_eq!(
        rows,
        vec![
            (30, Detail::Event { number: 1 }),
            (40, Detail::Event { number: 0 }),
            (60, Detail::Event { number: 2 }),
            (80, Detail::Event { number: 3 }),
        ]
    );
    // The fee column follows the setting from step 40 on.
    let fee = |s: usize| log.steps[s].event_settings.unwrap().1.fee_rate;
    assert_eq!((fee(39), fee(40), fee(119)), (0.003, 0.05, 0.05));
    let cols = c.event_columns();
    assert_eq!(cols.last().map(String::as_str), Some("fee_rate"));
    // The wave: 7 organizations more at step 30 than entry alone brings.
    let orgs = |s: usize| log.steps[s].agents[AgentType::ORGANIZATION.index()];
    let mut plain = Config::default();
    plain.simulation.total_steps = 120;
    let base = run(plain);
    let base_orgs = |s: usize| base.steps[s].agents[AgentType::ORGANIZATION.index()];
    assert_eq!(orgs(29), base_orgs(29));
    assert_eq!(orgs(30), base_orgs(30) + 7);
    // Half the active members (rounded) revoke research at step 60.
    let actives = log.steps[60].agents[AgentType::ACTIVE.index()] as f64;
    let revoked = log
        .tx
        .iter()
        .filter(|t| t.action == Action::Revoke && t.step == 60)
        .count() as f64;
    assert_eq!(revoked, (actives * 0.5).round());
    let removed = log
        .tx
        .iter()
        .filter(|t| t.action == Action::Remove && t.step == 80)
        .count() as f64;
    let powers = log.steps[80].agents[AgentType::POWER.index()] as f64;
    assert_eq!(removed, (powers * 0.25).round());
    // Drawn from the run's generator: the same seed draws the same members.
    assert_eq!(run(c).tx, log.tx);
}

#[test]
fn bad_events_are_refused_with_their_keys() {
    let mut c = scenario();
    c.events[1].join.as_mut().unwrap().kind = "whale".into();
    let e = Simulation::new(c).unwrap_err();
    assert_eq!(e.key, "events[1].join.type");
    let mut late = scenario();
    late.events[0].step = 500;
    assert_eq!(Simulation::new(late).unwrap_err().key, "events[0].step");
    let mut original = scenario();
    original.simulation.rules = datadao_core::config::Rules::Original2024;
    assert_eq!(
        datadao_core::Economy::new(original).unwrap_err().key,
        "events"
    );
}

/// `leave`: half of the active members leave at step 50 with what they hold. They are
/// no longer counted, take no more turns (no transaction of theirs after 50 but the
/// removal of their data at 50), get no more Pie shares, and keep their tokens, which the
/// audit (on) still counts; the other active members share the group's Pie among fewer.
#[test]
fn leavers_keep_their_tokens_and_stop_taking_part() {
    let mut c = Config::default();
    c.simulation.total_steps = 120;
    c.simulation.audit = true;
    let mut leave = event(50);
    leave.leave = Some(FractionEvent {
        kind: "active".into(),
        fraction: 0.5,
    });
    c.events = vec![leave];
    let mut sim = Simulation::new(c.clone()).unwrap();
    let mut log = Log::default();
    sim.run(&mut log).unwrap();
    let at = &log.steps[50];
    let active = AgentType::ACTIVE.index();
    let mut leavers = Vec::new();
    let mut rows = Vec::new();
    sim.agent_rows(|r| rows.push(r));
    for r in &rows {
        if let Some(step) = r.left_step {
            assert_eq!(step, 50);
            assert_eq!(r.kind, AgentType::ACTIVE);
            assert_eq!(r.weight, 0.0, "a leaver's data left with it");
            leavers.push(r.agent_id);
        }
    }
    // Events fire after the step's newcomers join: half of those present then, to
    // the nearest agent, and the count drops by as many.
    let left = leavers.len() as u64;
    let present_then = at.agents[active] + left;
    assert_eq!(left, (present_then as f64 * 0.5).round() as u64);
    assert!(left > 5);
    // Nothing of theirs after the event row but the removal of their data.
    let event_seq = log
        .tx
        .iter()
        .find(|t| t.action == Action::Event)
        .map(|t| (t.step, t.seq))
        .unwrap();
    let after = |t: &Transaction| (t.step, t.seq) > event_seq;
    for t in &log.tx {
        if leavers.contains(&t.agent_id) && after(t) {
            assert!(t.step == 50 && t.action == Action::Remove, "{t:?}");
        }
    }
    // They keep their tokens: each holds now what it held after its last turn, bar
    // nothing (no demurrage in the default).
    let last_ddt: std::collections::HashMap<u32, f64> = log
        .tx
        .iter()
        .filter(|t| leavers.contains(&t.agent_id) && !after(t))
        .map(|t| (t.agent_id, t.ddt_balance))
        .collect();
    for r in rows.iter().filter(|r| r.left_step.is_some()) {
        assert_eq!(
            Some(&r.ddt),
            last_ddt.get(&r.agent_id),
            "agent {}",
            r.agent_id
        );
    }
    // Arrivals are not changed by departures: the run without the event admits the
    // same types at the same steps.
    c.events.clear();
    let plain = run(c);
    let total = |m: &StepMetrics| m.agents.iter().sum::<u64>();
    assert_eq!(total(&plain.steps[119]), total(&log.steps[119]) + left);
}
