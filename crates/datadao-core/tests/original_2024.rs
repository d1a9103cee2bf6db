//! Golden master: the `original-2024` rules reproduce the first published simulation's
//! default 2000-step trajectory to a relative error of 1e-9, value by value.

use datadao_core::config::Rules;
use datadao_core::{Config, Economy, Observer, StepMetrics};

const GOLDEN: &str = include_str!("golden/original-2024/default_2000_steps.csv");

#[derive(Default)]
struct Rows(Vec<StepMetrics>);

impl Observer for Rows {
    fn on_step(&mut self, m: &StepMetrics) {
        self.0.push(m.clone());
    }
}

fn run(config: Config) -> Vec<StepMetrics> {
    let mut economy = Economy::new(config).unwrap();
    let mut rows = Rows::default();
    while !economy.is_finished() {
        economy.step(&mut rows).unwrap();
    }
    rows.0
}

fn original(steps: u64) -> Config {
    let mut c = Config::default();
    c.simulation.rules = Rules::Original2024;
    c.simulation.total_steps = steps;
    c.simulation.audit = true;
    c
}

fn matches(ours: f64, theirs: f64) -> bool {
    let diff = (ours - theirs).abs();
    diff <= 1e-9 || diff <= 1e-9 * ours.abs().max(theirs.abs())
}

#[test]
fn reproduces_the_2024_trajectory_value_by_value() {
    let mut lines = GOLDEN.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let golden: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(golden.len(), 2000);
    let ours = run(original(2000));
    assert_eq!(ours.len(), 2000);
    let mut worst = (0.0f64, String::new());
    for (row, m) in golden.iter().zip(&ours) {
        for (col, &theirs) in header.iter().zip(row) {
            let value = match *col {
                "step" => f64::from(m.step),
                "price" => m.price.unwrap(),
                "lp_ddt_reserve" => m.lp_ddt_reserve,
                "lp_xdai_reserve" => m.lp_xdai_reserve,
                "pie_ddt" => m.pie_ddt,
                other => {
                    let (prefix, name) = other.rsplit_once('_').unwrap();
                    let t = datadao_core::AgentType::SEED_NAMES
                        .iter()
                        .position(|k| *k == name)
                        .unwrap_or_else(|| panic!("unknown column {other}"));
                    match prefix {
                        "agents" => m.agents[t] as f64,
                        "avg_xdai" => m.avg_xdai[t].unwrap_or(0.0),
                        _ => panic!("unknown column {other}"),
                    }
                }
            };
            assert!(
                matches(value, theirs),
                "step {}, {col}: ours {value:e}, reference {theirs:e}",
                m.step
            );
            let rel = (value - theirs).abs() / theirs.abs().max(1e-300);
            if rel > worst.0 {
                worst = (rel, format!("step {} {col}", m.step));
            }
        }
    }
    eprintln!("largest relative difference: {:e} at {}", worst.0, worst.1);
}

/// The preset is the rules, not the file: other settings run (audited) and change the
/// trajectory the way the rules say.
#[test]
fn runs_with_other_settings() {
    for (entry, per_entry, fee) in [(1, 3, 0.0), (7, 25, 0.01), (3, 10, 0.05)] {
        let mut c = original(300);
        c.simulation.entry_steps = entry;
        c.simulation.agents_per_entry = per_entry;
        c.market.fee_rate = fee;
        let rows = run(c);
        assert_eq!(rows.len(), 300);
        let last = rows.last().unwrap();
        assert!(last.agents_total() > 11);
        assert!(last.price.unwrap() > 0.0);
    }
}

/// Each correction removes its defect, and the books still balance (audit on): what is
/// held equals what was endowed plus what the rules created minus what they destroyed.
#[test]
fn each_correction_removes_its_defect() {
    use datadao_core::original_2024::Defects;
    let defects_of = |c: Config| -> Defects {
        let mut economy = Economy::new(c).unwrap();
        while !economy.is_finished() {
            economy.step(&mut datadao_core::NullObserver).unwrap();
        }
        economy.defects().unwrap().clone()
    };
    let as_published = defects_of(original(400));
    assert!(as_published.lp_fees_lost_xdai > 0.0);
    assert!(as_published.unpaid_liquidity_ddt > 0.0);
    assert!(as_published.pie_lost_ddt > 0.0);

    let mut c = original(400);
    c.original_2024.correct_lp_fees = true;
    assert_eq!(defects_of(c).lp_fees_lost_xdai, 0.0);
    let mut c = original(400);
    c.original_2024.correct_reinvest = true;
    let d = defects_of(c);
    assert_eq!((d.unpaid_liquidity_ddt, d.uncredited_fees_xdai), (0.0, 0.0));
    let mut c = original(400);
    c.original_2024.correct_pie = true;
    assert_eq!(defects_of(c).pie_lost_ddt, 0.0);
}
