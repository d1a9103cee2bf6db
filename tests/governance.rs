//! Governed runs through the binary: the new outputs, the set they belong to, repeating
//! a governed run from its `run_config.toml`, and refusals naming the setting.

mod common;

use std::fs;

use common::datadao;
use predicates::prelude::*;

#[test]
fn a_governed_run_writes_governance_csv_and_the_new_columns() {
    let dir = tempfile::tempdir().unwrap();
    datadao(dir.path())
        .args([
            "-q",
            "--preset",
            "governed",
            "--steps",
            "100",
            "--set",
            "simulation.audit=true",
        ])
        .assert()
        .success();
    let gov = fs::read_to_string(dir.path().join("governance.csv")).unwrap();
    let lines: Vec<&str> = gov.lines().collect();
    assert!(lines[0]
        .starts_with("proposal,step,kind,setting,old_value,new_value,yes,no,abstain,turnout"));
    // Steps 29, 59 and 89 end with a vote: liquidity, burn, grants in turn.
    assert_eq!(lines.len(), 4, "{gov}");
    assert!(
        lines[1].starts_with("1,29,liquidity,treasury_ddt,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("2,59,burn,"), "{}", lines[2]);
    assert!(lines[3].starts_with("3,89,grants,"), "{}", lines[3]);
    let data = fs::read_to_string(dir.path().join("simulation_data.csv")).unwrap();
    let header = data.lines().next().unwrap();
    assert!(header.ends_with(
        "treasury_ddt,treasury_xdai,treasury_lp,ddt_burned,backing_ratio,proposals,proposals_passed,fee_rate,pie_distribution_rate,pie_share_power,pie_share_active,pie_share_casual,mint_per_weight"
    ), "{header}");
    let log = fs::read_to_string(dir.path().join("transaction_history.csv")).unwrap();
    assert!(log.contains(",,treasury,propose,"), "no propose row");
    assert!(log.contains(",vote,"), "no vote row");
}

#[test]
fn a_governed_run_repeats_byte_for_byte_from_its_run_config() {
    let first = tempfile::tempdir().unwrap();
    datadao(first.path())
        .args([
            "-q",
            "--audit",
            "--preset",
            "plutocracy",
            "--steps",
            "95",
            "--seed",
            "5",
        ])
        .assert()
        .success();
    let second = tempfile::tempdir().unwrap();
    fs::copy(
        first.path().join("run_config.toml"),
        second.path().join("repeat.toml"),
    )
    .unwrap();
    datadao(second.path())
        .args(["-q", "--config", "repeat.toml"])
        .assert()
        .success();
    for f in [
        "simulation_data.csv",
        "transaction_history.csv",
        "governance.csv",
        "simulation_results.png",
        "flows.png",
        "flows.csv",
        "agents.csv",
        "run_config.toml",
    ] {
        let a = fs::read(first.path().join(f)).unwrap();
        let b = fs::read(second.path().join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
}

#[test]
fn governance_csv_belongs_to_the_run_set() {
    let dir = tempfile::tempdir().unwrap();
    datadao(dir.path())
        .args(["-q", "--audit", "--preset", "governed", "--steps", "40"])
        .assert()
        .success();
    assert!(dir.path().join("governance.csv").exists());
    // The summary reports the governance.
    datadao(dir.path())
        .args(["--audit", "--preset", "governed", "--steps", "40"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("  governance   1 proposals, ")
                .and(predicate::str::contains("shares 0.4")),
        );
    // A run without governance replaces the whole set: no governance.csv of another run
    // is left beside its files.
    datadao(dir.path())
        .args(["-q", "--audit", "--steps", "40"])
        .assert()
        .success();
    assert!(!dir.path().join("governance.csv").exists());
    let toml = fs::read_to_string(dir.path().join("run_config.toml")).unwrap();
    assert!(
        !toml.contains("governance"),
        "untouched governance settings are left out"
    );
}

#[test]
fn bad_governance_settings_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    datadao(dir.path())
        .env("DATADAO_GOVERNANCE__QUORUM", "2")
        .args(["--steps", "10"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("governance.quorum = '2'")
                .and(predicate::str::contains("DATADAO_GOVERNANCE__QUORUM"))
                .and(predicate::str::contains("[0, 1]")),
        );
    datadao(dir.path())
        .args(["--preset", "governed", "--set", "market.fee_rate=0.3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "governance.set.fee_rate.min and .max",
        ));
    datadao(dir.path())
        .args(["--set", "governance.proposals=burn,vote"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown variant `vote`"));
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

/// A PNG's height, from its header (IHDR: width at bytes 16..20, height at 20..24).
fn png_height(path: &std::path::Path) -> u32 {
    let png = fs::read(path).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    u32::from_be_bytes(png[20..24].try_into().unwrap())
}

#[test]
fn compare_adds_the_governed_settings_when_a_run_is_governed() {
    let dir = tempfile::tempdir().unwrap();
    datadao(dir.path())
        .args(["compare", "-q", "--steps", "70", "seed", "governed"])
        .assert()
        .success();
    // Five rows of two panels: the six of every comparison, then the power and casual
    // Pie shares, the fee and the proposals passed.
    assert_eq!(
        png_height(&dir.path().join("compare_results.png")),
        80 + 5 * 480
    );
    datadao(dir.path())
        .args(["compare", "-q", "--steps", "70", "seed", "privacy"])
        .assert()
        .success();
    assert_eq!(
        png_height(&dir.path().join("compare_results.png")),
        80 + 3 * 480
    );
}

/// The columns of a CSV file and its rows as maps from column to cell.
fn table(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn sweeps_report_each_runs_final_governance() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    datadao(p)
        .args([
            "sweep", "-q", "--preset", "governed", "--steps", "130", "--runs", "2",
        ])
        .args(["--grid", "governance.enabled=false,true"])
        .args(["--grid", "governance.weight=person,ddt", "--out", "sw"])
        .assert()
        .success();
    let rows = table(&p.join("sw/sweep_runs.csv"));
    assert_eq!(rows.len(), 8);
    let governed = rows
        .iter()
        .find(|r| r["governance.enabled"] == "true" && r["governance.weight"] == "ddt")
        .unwrap();
    // The same run alone (its seed is in the table): its last row is the sweep's final.
    datadao(p)
        .args([
            "-q", "--audit", "--preset", "governed", "--steps", "130", "--out", "one",
        ])
        .args([
            "--seed",
            &governed["seed"],
            "--set",
            "governance.weight=ddt",
        ])
        .assert()
        .success();
    let alone = table(&p.join("one/simulation_data.csv"));
    let last = alone.last().unwrap();
    for column in [
        "treasury_ddt",
        "treasury_xdai",
        "treasury_lp",
        "ddt_burned",
        "backing_ratio",
        "proposals",
        "proposals_passed",
        "fee_rate",
        "pie_distribution_rate",
        "pie_share_power",
        "pie_share_active",
        "pie_share_casual",
        "mint_per_weight",
    ] {
        assert_eq!(
            governed[&format!("final_{column}")],
            last[column],
            "{column}"
        );
    }
    assert_eq!(governed["final_proposals"], "4");
    // An ungoverned point of the same sweep leaves those cells empty.
    let plain = rows
        .iter()
        .find(|r| r["governance.enabled"] == "false")
        .unwrap();
    assert_eq!(plain["final_proposals"], "");
    assert_eq!(plain["final_treasury_ddt"], "");
    // A sweep with no governed point has exactly the columns it had before governance.
    datadao(p)
        .args([
            "sweep", "-q", "--steps", "40", "--runs", "1", "--out", "plain",
        ])
        .args(["--grid", "market.fee_rate=0.001,0.01"])
        .assert()
        .success();
    let header = fs::read_to_string(p.join("plain/sweep_runs.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert!(header.ends_with("final_avg_xdai_casual"), "{header}");
}

/// A 30-step governed run with the largest horizon and a fork budget of `budget`
/// agent-steps, started in `dir` (at 1e11 its vote at the end of step 29 would simulate
/// forks for hours: only a signal can end it).
fn vote_with_budget(dir: &std::path::Path, budget: &str) -> std::process::Child {
    let budget = format!("governance.fork_agent_steps={budget}");
    std::process::Command::new(env!("CARGO_BIN_EXE_datadao"))
        .current_dir(dir)
        .env_clear()
        .args([
            "-q",
            "--preset",
            "governed",
            "--steps",
            "30",
            "--no-transactions",
            "--no-plot",
            "--set",
            "governance.horizon=4294967295",
            "--set",
            &budget,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit`; kills it and fails if it is still running.
fn exit_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> (i32, String, std::time::Duration) {
    use std::io::Read;
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), err, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// SIGINT and SIGTERM during a foresight vote end the run (exit 130 / 143) and leave
/// the previous outputs as they were, byte for byte.
#[test]
fn signals_stop_a_foresight_vote_and_keep_the_previous_outputs() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        datadao(dir.path())
            .args(["-q", "--steps", "20", "--no-transactions", "--no-plot"])
            .assert()
            .success();
        let before = fs::read(dir.path().join("simulation_data.csv")).unwrap();
        let child = vote_with_budget(dir.path(), "100000000000");
        // The vote starts after 30 steps of at most 70 agents: well within a second.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let (got, err, took) = exit_within(child, std::time::Duration::from_secs(20));
        assert_eq!(got, code, "{signal}: {err}");
        assert!(err.contains("stopped by"), "{err}");
        eprintln!("{signal} during a foresight vote: exit {got} after {took:?}");
        let after = fs::read(dir.path().join("simulation_data.csv")).unwrap();
        assert_eq!(before, after, "{signal} changed the previous outputs");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }
}

/// `governance.fork_agent_steps` bounds what a fork really simulates, counting the
/// agents who join during it: a 30-step governed run with the largest horizon ends, and
/// its vote's fork is the longest whose agent-steps fit the budget.
#[test]
fn the_largest_horizon_is_bounded_by_the_fork_budget() {
    let dir = tempfile::tempdir().unwrap();
    let child = vote_with_budget(dir.path(), "1000000");
    let (code, err, _) = exit_within(child, std::time::Duration::from_secs(120));
    assert_eq!(code, 0, "{err}");
    let gov = fs::read_to_string(dir.path().join("governance.csv")).unwrap();
    let header: Vec<&str> = gov.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = gov.lines().nth(1).unwrap().split(',').collect();
    let horizon: u64 = row[header.iter().position(|c| *c == "horizon").unwrap()]
        .parse()
        .unwrap();
    // 70 agents at step 29 (10 initial, 10 at every fifth step), 10 more at steps 30,
    // 35, ...: the fork's agent-steps, counted step by step.
    let mut present = 70u64;
    let mut total = 0u64;
    for s in 30..30 + horizon {
        if s % 5 == 0 {
            present += 10;
        }
        total += present;
    }
    assert!(total <= 1_000_000, "{horizon} steps cost {total}");
    assert!(
        total + present + 10 > 1_000_000,
        "{horizon} is not the longest"
    );
}
