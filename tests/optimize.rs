//! Criteria and `datadao optimize` as users run them: pass rates in the sweep tables
//! and a merge, known-answer searches (an optimum at a bound, one inside the space),
//! byte-identical results whatever the number of cores, and `best.toml` re-running to
//! its reported objective.

mod common;

use std::fs;
use std::path::Path;

use common::datadao;
use predicates::prelude::*;

/// Rows of a CSV file as (header, rows of cells).
fn table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<String> {
    let at = header
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    rows.iter().map(|r| r[at].clone()).collect()
}

/// A space with a known answer: the criteria read the swept fee itself, so every run of
/// a fee in [0.004, 0.006] passes both and no other does.
const WINDOW: &str = r#"
[simulation]
total_steps = 30

[[criteria]]
name = "above"
metric = "market.fee_rate"
op = ">="
threshold = 0.004

[[criteria]]
name = "below"
metric = "market.fee_rate"
op = "<="
threshold = 0.006

[optimize]
trials = 24
runs = 2
seed = 3

[optimize.space]
"market.fee_rate" = "0.001..0.01"
"#;

#[test]
fn the_optimiser_finds_an_optimum_at_a_bound_and_one_inside() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("window.toml"), WINDOW).unwrap();
    // Monotone: the mean of the swept fee is the fee; its maximum is the upper bound.
    datadao(p)
        .args(["optimize", "--sweep", "window.toml", "--out", "bound", "-q"])
        .args(["--maximize", "market.fee_rate_mean"])
        .assert()
        .success();
    let (h, rows) = table(&p.join("bound/optimize_trials.csv"));
    assert_eq!(rows.len(), 24);
    let best = column(&h, &rows, "objective")
        .iter()
        .map(|v| v.parse::<f64>().unwrap())
        .fold(f64::MIN, f64::max);
    assert!(best > 0.0099, "best fee {best}");
    let text = fs::read_to_string(p.join("bound/best.toml")).unwrap();
    assert!(text.contains("maximize market.fee_rate_mean"), "{text}");
    // Interior: only fees in [0.004, 0.006] pass both criteria.
    for algorithm in ["cmaes", "tpe", "random"] {
        let out = format!("inside-{algorithm}");
        datadao(p)
            .args(["optimize", "--sweep", "window.toml", "--out", &out, "-q"])
            .args(["--maximize", "all_pass_rate", "--algorithm", algorithm])
            .assert()
            .success();
        let best: toml::Table = fs::read_to_string(p.join(&out).join("best.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let fee = best["market"]["fee_rate"].as_float().unwrap();
        assert!(
            (0.004..=0.006).contains(&fee),
            "{algorithm}: best fee {fee}"
        );
        let (h, rows) = table(&p.join(&out).join("optimize_trials.csv"));
        for (fee, all) in
            column(&h, &rows, "market.fee_rate")
                .iter()
                .zip(column(&h, &rows, "all_pass_rate"))
        {
            let fee: f64 = fee.parse().unwrap();
            let expected = if (0.004..=0.006).contains(&fee) {
                "1.0"
            } else {
                "0"
            };
            assert_eq!(all, expected, "{algorithm}: fee {fee}");
        }
    }
}

const SCARCE: &str = r#"
preset = "scarce-data"

[simulation]
total_steps = 120

[[criteria]]
name = "floor"
metric = "min_price"
op = ">="
threshold = 1e-7

[[criteria]]
name = "solvent"
metric = "orgs_out_of_xdai_step"
op = ">="
threshold = 120

[optimize]
trials = 9
runs = 3
maximize = "final_price_p50"

[optimize.space]
"market.fee_rate" = "0.001..0.03"
"pie.distribution_rate" = "0.05..0.7"
"minting.mint_per_weight" = "0.25..2.0:0.25"
"#;

#[test]
fn searches_repeat_whatever_the_cores_and_best_toml_reproduces_the_objective() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("scarce.toml"), SCARCE).unwrap();
    for (out, jobs) in [("one", "1"), ("two", "2")] {
        datadao(p)
            .args([
                "optimize",
                "--sweep",
                "scarce.toml",
                "--out",
                out,
                "--jobs",
                jobs,
                "-q",
            ])
            .assert()
            .success();
    }
    for f in ["optimize_trials.csv", "best.toml", "optimize_results.png"] {
        assert_eq!(
            fs::read(p.join("one").join(f)).unwrap(),
            fs::read(p.join("two").join(f)).unwrap(),
            "{f} differs between --jobs 1 and --jobs 2"
        );
    }
    // The best trial's objective, re-run as a one-point sweep of best.toml.
    let (h, rows) = table(&p.join("one/optimize_trials.csv"));
    let objectives: Vec<f64> = column(&h, &rows, "objective")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let best = objectives.iter().copied().fold(f64::MIN, f64::max);
    let (i, _) = objectives
        .iter()
        .enumerate()
        .find(|(_, v)| **v == best)
        .unwrap();
    datadao(p)
        .args([
            "sweep",
            "--config",
            "one/best.toml",
            "--runs",
            "3",
            "--out",
            "again",
        ])
        .args(["-q", "--no-plot"])
        .assert()
        .success();
    let (ph, prow) = table(&p.join("again/sweep_points.csv"));
    let again: f64 = column(&ph, &prow, "final_price_p50")[0].parse().unwrap();
    assert_eq!(again, best, "best.toml re-ran to another objective");
    for c in ["floor_pass_rate", "solvent_pass_rate", "all_pass_rate"] {
        assert_eq!(
            column(&ph, &prow, c)[0].parse::<f64>().unwrap(),
            column(&h, &rows, c)[i].parse::<f64>().unwrap(),
            "{c}"
        );
    }
    // And `run --config` accepts it.
    datadao(p)
        .args([
            "run",
            "--config",
            "one/best.toml",
            "--out",
            "single",
            "-q",
            "--no-plot",
        ])
        .assert()
        .success();
}

#[test]
fn criteria_add_columns_to_the_tables_and_survive_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let args = [
        "--grid",
        "minting.mint_per_weight=0.5,1.5",
        "--runs",
        "4",
        "--steps",
        "60",
        "--preset",
        "scarce-data",
        "--criterion",
        "solvent: orgs_out_of_xdai_step >= 60",
        "--criterion",
        "busy: volume_xdai > 0",
        "-q",
    ];
    datadao(p)
        .arg("sweep")
        .args(args)
        .args(["--out", "whole"])
        .assert()
        .success();
    for k in 1..=2 {
        datadao(p)
            .arg("sweep")
            .args(args)
            .args(["--out", &format!("s{k}"), "--shard", &format!("{k}/2")])
            .assert()
            .success();
    }
    datadao(p)
        .args(["merge", "s1", "s2", "--out", "merged"])
        .assert()
        .success();
    for f in ["sweep_runs.csv", "sweep_points.csv"] {
        assert_eq!(
            fs::read(p.join("whole").join(f)).unwrap(),
            fs::read(p.join("merged").join(f)).unwrap(),
            "{f}"
        );
    }
    let (h, rows) = table(&p.join("whole/sweep_runs.csv"));
    assert_eq!(&h[h.len() - 2..], ["solvent", "busy"]);
    let (ph, prow) = table(&p.join("whole/sweep_points.csv"));
    for (i, point) in prow.iter().enumerate() {
        // The pass rate is the share of the point's 0/1 cells.
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == point[0]).collect();
        let passed = mine
            .iter()
            .filter(|r| r[h.len() - 2] == "1" && r[h.len() - 1] == "1")
            .count();
        let all: f64 = column(&ph, &prow, "all_pass_rate")[i].parse().unwrap();
        assert_eq!(all, passed as f64 / mine.len() as f64);
    }
    // Unknown metrics are refused, listing the columns there are.
    datadao(p)
        .args(["sweep", "--grid", "market.fee_rate=0.01", "--out", "bad"])
        .args(["--criterion", "x: final_prize >= 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "criteria.x.metric = 'final_prize'",
        ))
        .stderr(predicate::str::contains("final_price, min_price"));
}
