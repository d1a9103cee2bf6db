//! The Pie's outside reward budget (`pie.subsidy_per_step`): exactly that much dDT is
//! minted into The Pie each step, counted apart by the ledger, with no CRC behind it,
//! and the audit (on in every run) holds with demurrage and governance burns too.

use datadao_core::governance::{PerMember, ProposalKind, Voting};
use datadao_core::{Config, NullObserver, Simulation};

fn run(c: Config) -> Simulation {
    let mut sim = Simulation::new(c).unwrap();
    sim.run(&mut NullObserver).unwrap();
    sim
}

#[test]
fn a_subsidy_is_minted_into_the_pie_and_audited() {
    let mut c = Config::default();
    c.simulation.total_steps = 200;
    c.simulation.audit = true;
    let plain = run(c.clone());
    c.pie.subsidy_per_step = 25.0;
    let subsidized = run(c.clone());
    assert_eq!(subsidized.ledger().ddt_subsidized(), 25.0 * 200.0);
    assert_eq!(subsidized.ledger().flows().subsidized(), 25.0 * 200.0);
    // The supply grows by exactly the subsidy; the CRC locked does not.
    let extra = subsidized.ledger().supply() - plain.ledger().supply();
    assert!((extra - 5000.0).abs() < 1e-6, "{extra}");
    assert_eq!(subsidized.vault().locked(), plain.vault().locked());
    // With demurrage on dDT and governance burning from the treasury.
    c.circles.ddt_demurrage = true;
    let g = &mut c.governance;
    g.enabled = true;
    g.voting = Voting::Fixed;
    g.interval_steps = 20;
    g.proposals = vec![ProposalKind::Burn];
    g.turnout = PerMember::all(1.0);
    g.quorum = 0.0;
    g.threshold = 0.0;
    g.fixed.burn = PerMember::all(1.0);
    let governed = run(c);
    assert!(governed.ledger().ddt_burned_by_dao() > 0.0);
}

#[test]
fn a_negative_or_huge_subsidy_is_refused() {
    for bad in [-1.0, f64::NAN, 1e16] {
        let mut c = Config::default();
        c.pie.subsidy_per_step = bad;
        let e = Simulation::new(c).unwrap_err();
        assert_eq!(e.key, "pie.subsidy_per_step");
    }
}
