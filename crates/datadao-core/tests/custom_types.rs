//! A scenario's own agent types (`[agents.<name>]`): they join by their share after the
//! seed's five, act by their rules alone, get a Pie group only when `pie.shares.<name>`
//! gives them one, follow their type's columns, and leave the seed's numbers untouched
//! when they never join. The audit is on in every run.

use datadao_core::agents::{CustomTypeConfig, ExprText, PieShareUse, RuleConfig};
use datadao_core::{AgentType, Config, NullObserver, Simulation, StepMetrics};

fn config(steps: u64) -> Config {
    let mut c = Config::default();
    c.simulation.total_steps = steps;
    c.simulation.audit = true;
    c
}

fn run(c: Config) -> (Simulation, Vec<StepMetrics>) {
    let mut sim = Simulation::new(c).unwrap();
    let mut steps = Vec::new();
    while !sim.is_finished() {
        steps.push(sim.step(&mut NullObserver).unwrap());
    }
    (sim, steps)
}

fn rule(action: &str, amount: &str) -> RuleConfig {
    RuleConfig {
        when: None,
        action: action.into(),
        amount: Some(ExprText::Text(amount.into())),
        xdai: None,
        use_case: None,
        partial: None,
        quality: None,
        quantity: None,
        max_price: None,
    }
}

/// Scale the seed's shares to `1 - share`, as a layer that sets one share does.
fn make_room(c: &mut Config, share: f64) {
    let a = &mut c.agents;
    for s in [
        &mut a.degen.share,
        &mut a.organization.share,
        &mut a.power.share,
        &mut a.active.share,
        &mut a.casual.share,
    ] {
        *s *= 1.0 - share;
    }
}

#[test]
fn a_declared_type_that_never_joins_changes_no_seed_number() {
    let (_, plain) = run(config(150));
    let mut c = config(150);
    c.agents
        .custom
        .insert("holder".into(), CustomTypeConfig::default());
    let (sim, with) = run(c);
    assert_eq!(sim.types().names().len(), 6);
    for (a, b) in plain.iter().zip(&with) {
        assert_eq!(b.agents[..5], a.agents[..]);
        assert_eq!(b.agents[5], 0);
        assert_eq!(b.avg_xdai[5], None);
        assert_eq!(
            (a.price, a.pie_ddt, a.ddt_supply),
            (b.price, b.pie_ddt, b.ddt_supply)
        );
    }
}

/// Holders hold: 10% of entrants, members minted their 10 dDT, no rules and no Pie
/// group, so each still has exactly 10 dDT and the xDAI it brought at the end.
#[test]
fn a_type_without_rules_holds_what_it_was_given() {
    let mut c = config(100);
    make_room(&mut c, 0.1);
    c.agents.custom.insert(
        "holder".into(),
        CustomTypeConfig {
            share: 0.1,
            initial_ddt: 10.0,
            initial_xdai: 3.0,
            ..CustomTypeConfig::default()
        },
    );
    let (sim, steps) = run(c.clone());
    let last = steps.last().unwrap();
    let total: u64 = last.agents.iter().sum();
    // 10 initial + 2 a step for 100 steps, a tenth of them holders (to one agent).
    assert_eq!(total, 210);
    assert!(
        (last.agents[5] as f64 - 21.0).abs() <= 1.0,
        "{:?}",
        last.agents
    );
    assert_eq!(last.avg_ddt[5], Some(10.0));
    assert_eq!(last.avg_xdai[5], Some(3.0));
    let holder = AgentType::from_index(5);
    assert_eq!(sim.types().name(holder), "holder");
    let columns = c.event_columns();
    let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
    assert_eq!(at("agents_holder"), at("agents_casual") + 1);
    assert_eq!(at("avg_xdai_holder"), at("avg_xdai_casual") + 1);
    assert_eq!(at("avg_ddt_holder"), at("avg_ddt_casual") + 1);
    assert_eq!(columns.len(), last.cells().len());
}

/// A Pie group of its own: with `pie.shares.farmer = 0.2` (the seed's three making room)
/// farmers are paid a fifth of every distribution, split equally; one that spends each
/// share at once puts it back into The Pie.
#[test]
fn a_type_gets_the_pie_group_its_share_gives_it() {
    let mut c = config(60);
    make_room(&mut c, 0.05);
    c.agents.custom.insert(
        "farmer".into(),
        CustomTypeConfig {
            share: 0.05,
            initial_ddt: 100.0,
            pie_share: PieShareUse::Spend,
            rules: vec![rule("spend", "1")],
            ..CustomTypeConfig::default()
        },
    );
    c.pie.shares.power = 0.32;
    c.pie.shares.active = 0.32;
    c.pie.shares.casual = 0.16;
    c.pie.shares.custom.insert("farmer".into(), 0.2);
    let (sim, steps) = run(c);
    let farmers = steps.last().unwrap().agents[5];
    assert!(farmers > 0);
    let received: f64 = {
        let mut total = 0.0;
        sim.agent_rows(|r| {
            if r.kind.index() == 5 {
                total += r.pie_received_total;
            }
        });
        total
    };
    let distributed: f64 = steps.iter().map(|m| m.flows.pie_distributed_ddt).sum();
    // A fifth of every distribution, less what rounding per member keeps back.
    assert!(
        (received / distributed - 0.2).abs() < 1e-6,
        "{received} of {distributed}"
    );
}

#[test]
fn a_types_bad_settings_are_refused_with_their_keys() {
    let cases: Vec<(&str, CustomTypeConfig, &str)> = vec![
        ("Farmer", CustomTypeConfig::default(), "agents.Farmer"),
        ("event", CustomTypeConfig::default(), "agents.event"),
        (
            "buyer",
            CustomTypeConfig {
                member: false,
                initial_ddt: 5.0,
                ..CustomTypeConfig::default()
            },
            "agents.buyer.initial_ddt",
        ),
        (
            "buyer",
            CustomTypeConfig {
                member: false,
                rules: vec![rule("mint", "1")],
                ..CustomTypeConfig::default()
            },
            "agents.buyer.rules[0].do",
        ),
        (
            "voter",
            CustomTypeConfig {
                turnout: 1.5,
                ..CustomTypeConfig::default()
            },
            "agents.voter.turnout",
        ),
    ];
    for (name, custom, key) in cases {
        let mut c = config(10);
        c.agents.custom.insert(name.into(), custom);
        let e = Simulation::new(c).unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
    // A Pie group for a type that is not declared.
    let mut c = config(10);
    c.pie.shares.casual = 0.1;
    c.pie.shares.custom.insert("ghost".into(), 0.1);
    assert_eq!(Simulation::new(c).unwrap_err().key, "pie.shares.ghost");
}
