//! `datadao sweep` and `datadao merge` as users run them: determinism across `--jobs`,
//! shards in separate processes merged byte for byte, runs repeatable alone, sweep files,
//! and the grid's errors.

mod common;

use std::fs;
use std::path::Path;

use common::datadao;
use predicates::prelude::*;

const GRID: &[&str] = &[
    "--grid",
    "market.fee_rate=0.001,0.01",
    "--grid",
    "simulation.agents_per_entry=5..15:5",
    "--runs",
    "3",
    "--steps",
    "60",
    "--set",
    "noise.skip_probability.casual=0.3",
    "--set",
    "noise.amount_jitter.organization=0.2",
    "-q",
];

fn sweep(dir: &Path, out: &str, extra: &[&str]) {
    datadao(dir)
        .arg("sweep")
        .args(GRID)
        .args(["--out", out])
        .args(extra)
        .assert()
        .success();
}

const TABLES: [&str; 5] = [
    "sweep_runs.csv",
    "sweep_series.csv",
    "sweep_points.csv",
    "sweep.toml",
    "sweep_results.png",
];

#[test]
fn results_do_not_depend_on_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    sweep(p, "one", &["--jobs", "1"]);
    sweep(p, "two", &["--jobs", "2"]);
    for f in TABLES {
        assert_eq!(
            fs::read(p.join("one").join(f)).unwrap(),
            fs::read(p.join("two").join(f)).unwrap(),
            "{f} differs between --jobs 1 and --jobs 2"
        );
    }
    let runs = fs::read_to_string(p.join("one/sweep_runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 6 * 3, "6 points x 3 runs");
}

#[test]
fn three_shards_in_separate_processes_merge_into_the_whole_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    sweep(p, "whole", &[]);
    let children: Vec<_> = (1..=3)
        .map(|k| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("datadao"))
                .current_dir(p)
                .env_clear()
                .arg("sweep")
                .args(GRID)
                .args(["--shard", &format!("{k}/3"), "--out", &format!("shard{k}")])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    // Any order of shard folders.
    datadao(p)
        .args(["merge", "shard3", "shard1", "shard2", "--out", "merged"])
        .assert()
        .success();
    for f in TABLES {
        assert_eq!(
            fs::read(p.join("whole").join(f)).unwrap(),
            fs::read(p.join("merged").join(f)).unwrap(),
            "{f}: merged shards differ from the whole sweep"
        );
    }
    // A missing shard is refused.
    datadao(p)
        .args(["merge", "shard1", "shard2", "--out", "partial"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("every shard 1..=3"));
}

#[test]
fn any_run_repeats_alone_from_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    sweep(p, "s", &[]);
    let mut reader = csv::Reader::from_path(p.join("s/sweep_runs.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let row = reader.records().nth(4).unwrap().unwrap();
    let (fee, per_entry, seed) = (
        row[col("market.fee_rate")].to_string(),
        row[col("simulation.agents_per_entry")].to_string(),
        row[col("seed")].to_string(),
    );
    datadao(p)
        .args([
            "run",
            "--steps",
            "60",
            "--seed",
            &seed,
            "--out",
            "alone",
            "-q",
            "--no-plot",
        ])
        .args(["--set", &format!("market.fee_rate={fee}")])
        .args(["--set", &format!("simulation.agents_per_entry={per_entry}")])
        .args(["--set", "noise.skip_probability.casual=0.3"])
        .args(["--set", "noise.amount_jitter.organization=0.2"])
        .assert()
        .success();
    let data = fs::read_to_string(p.join("alone/simulation_data.csv")).unwrap();
    let last = data.lines().last().unwrap();
    let price = last.split(',').nth(1).unwrap();
    assert_eq!(
        price,
        &row[col("final_price")],
        "the run repeated alone ends at the same price"
    );
}

#[test]
fn a_sweep_file_runs_and_is_saved_with_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(
        p.join("exp.toml"),
        "[sweep]\nruns = 2\nzip = true\n[sweep.grid]\n\"market.fee_rate\" = [0.001, 0.01]\n\"simulation.seed\" = \"1..2:1\"\n\n[simulation]\ntotal_steps = 40\n",
    )
    .unwrap();
    datadao(p)
        .args(["sweep", "--sweep", "exp.toml", "--out", "a", "-q"])
        .assert()
        .success();
    let saved = fs::read_to_string(p.join("a/sweep.toml")).unwrap();
    assert!(
        saved.contains("zip = true") && saved.contains("total_steps = 40"),
        "{saved}"
    );
    // The saved sweep repeats the sweep exactly.
    datadao(p)
        .args(["sweep", "--sweep", "a/sweep.toml", "--out", "b", "-q"])
        .assert()
        .success();
    assert_eq!(
        fs::read(p.join("a/sweep_runs.csv")).unwrap(),
        fs::read(p.join("b/sweep_runs.csv")).unwrap()
    );
    let runs = fs::read_to_string(p.join("a/sweep_runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 2 * 2, "zipped: 2 points x 2 runs");
}

/// Each item of a `[sweep.grid]` list is one point's value, never split at its commas:
/// text with a comma for a text setting, text for a list setting, a list for a list
/// setting. Text that a numeric setting cannot read is refused, naming the key and the
/// sweep file.
#[test]
fn a_sweep_files_grid_items_are_one_value_each() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(
        p.join("text.toml"),
        "[sweep.grid]\n\"data.quantity_unit\" = [\"K,B\"]\n\"data.use_cases\" = [\"research,commercial\", [\"research\", \"commercial\", \"ai_training\"]]\n\"simulation.seed\" = [\"7\", 8]\n\n[simulation]\ntotal_steps = 20\n",
    )
    .unwrap();
    datadao(p)
        .args([
            "sweep",
            "--sweep",
            "text.toml",
            "--out",
            "a",
            "--no-plot",
            "-q",
        ])
        .assert()
        .success();
    let runs = fs::read_to_string(p.join("a/sweep_runs.csv")).unwrap();
    let lines: Vec<&str> = runs.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 2 * 2,
        "1 x 2 x 2 points, one run each:\n{runs}"
    );
    assert!(
        lines[0].starts_with("point,data.quantity_unit,data.use_cases,simulation.seed,run,"),
        "{runs}"
    );
    assert!(
        lines[1].starts_with("0,\"K,B\",\"research,commercial\",7,0,"),
        "{runs}"
    );
    assert!(
        lines[4].starts_with(
            "3,\"K,B\",\"[\"\"research\"\", \"\"commercial\"\", \"\"ai_training\"\"]\",8,0,"
        ),
        "{runs}"
    );

    fs::write(
        p.join("comma.toml"),
        "[sweep.grid]\n\"market.fee_rate\" = [\"0.1,0.2\"]\n",
    )
    .unwrap();
    datadao(p)
        .args(["sweep", "--sweep", "comma.toml", "--out", "b", "-q"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "invalid setting market.fee_rate = '0.1,0.2' (from sweep file comma.toml): accepted: a number in [0, 1)",
        ));
    assert!(!p.join("b").exists(), "nothing is written");
}

#[test]
fn grid_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--grid", "market.fee_rat=0.1"],
            "did you mean 'market.fee_rate'",
        ),
        (
            &["--grid", "simulation.agents_per_entry=9..1:2"],
            "bad range",
        ),
        (&["--grid", "market.fee_rate="], "no values"),
        (
            &[
                "--grid",
                "market.fee_rate=0.1,0.2",
                "--grid",
                "simulation.seed=1,2,3",
                "--zip",
            ],
            "same number of values",
        ),
        (&["--grid", "market.fee_rate=2"], "[0, 1)"),
        (&["--shard", "4/3"], "K/N"),
        (&["--runs", "0"], "at least 1"),
    ];
    for (args, expected) in cases {
        let out = datadao(dir.path())
            .arg("sweep")
            .args(*args)
            .arg("-q")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains(expected),
            "{args:?}: {expected:?} not in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// With the `parquet` feature both tables are written as Parquet too, with every row.
#[cfg(feature = "parquet")]
#[test]
fn parquet_tables_hold_every_row() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    sweep(p, "pq", &["--format", "parquet"]);
    for (name, rows) in [("sweep_runs", 18), ("sweep_series", 6 * 60)] {
        let file = fs::File::open(p.join("pq").join(format!("{name}.parquet"))).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), rows, "{name}");
    }
}

/// Without the feature, asking for Parquet says how to get it.
#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    datadao(dir.path())
        .args(["sweep", "--steps", "5", "--format", "parquet", "-q"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--features parquet"));
}

#[test]
fn a_sweep_over_a_list_setting_draws_its_figure_and_repeats_from_its_sweep_toml() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(
        p.join("lists.toml"),
        "[sweep]\nruns = 2\n[sweep.grid]\n\"data.use_cases\" = [[\"commercial\", \"research\", \"ai_training\", \"x\"], [\"commercial\", \"research\", \"ai_training\"]]\n\n[simulation]\ntotal_steps = 20\n",
    )
    .unwrap();
    datadao(p)
        .args([
            "sweep",
            "-q",
            "--sweep",
            "lists.toml",
            "--set",
            "output.dir=first",
        ])
        .assert()
        .success();
    // The list is one quoted cell, and sweep.toml keeps it a list.
    let runs = fs::read_to_string(p.join("first/sweep_runs.csv")).unwrap();
    assert!(
        runs.lines().nth(1).unwrap().starts_with(
            "0,\"[\"\"commercial\"\", \"\"research\"\", \"\"ai_training\"\", \"\"x\"\"]\",0,"
        ),
        "{runs}"
    );
    assert!(p.join("first/sweep_results.png").exists());
    datadao(p)
        .args([
            "sweep",
            "-q",
            "--sweep",
            "first/sweep.toml",
            "--set",
            "output.dir=again",
        ])
        .assert()
        .success();
    for f in TABLES {
        assert_eq!(
            fs::read(p.join("first").join(f)).unwrap(),
            fs::read(p.join("again").join(f)).unwrap(),
            "{f} differs when the sweep is repeated from its sweep.toml"
        );
    }
}

/// numpy's default percentile (linear between closest ranks), written here apart from
/// the crate's own.
fn numpy_percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

#[test]
fn sweep_points_csv_is_sweep_runs_csv_summarised_per_point() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    sweep(p, "s", &[]);
    let runs = csv::Reader::from_path(p.join("s/sweep_runs.csv")).unwrap();
    let mut points = csv::Reader::from_path(p.join("s/sweep_points.csv")).unwrap();
    let point_header = points.headers().unwrap().clone();
    let mut runs = runs;
    let run_header = runs.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = runs.records().map(Result::unwrap).collect();
    let run_col = run_header.iter().position(|c| c == "run").unwrap();
    let kpis: Vec<&str> = run_header.iter().skip(run_col + 2).collect();
    let mut checked = 0;
    for point in points.records().map(Result::unwrap) {
        let get = |name: &str| {
            point
                .get(point_header.iter().position(|c| c == name).unwrap())
                .unwrap()
        };
        let mine: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[0] == get("point")).collect();
        assert_eq!(get("runs"), mine.len().to_string());
        for axis in run_header.iter().take(run_col).skip(1) {
            let c = run_header.iter().position(|h| h == axis).unwrap();
            assert_eq!(get(axis), &mine[0][c]);
        }
        for kpi in &kpis {
            let c = run_header.iter().position(|h| h == *kpi).unwrap();
            let values: Vec<f64> = mine.iter().filter_map(|r| r[c].parse().ok()).collect();
            assert_eq!(get(&format!("{kpi}_n")), values.len().to_string(), "{kpi}");
            if values.is_empty() {
                assert_eq!(get(&format!("{kpi}_p50")), "", "{kpi}");
                continue;
            }
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            for (stat, want) in [
                ("mean", mean),
                ("p5", numpy_percentile(&values, 0.05)),
                ("p50", numpy_percentile(&values, 0.5)),
                ("p95", numpy_percentile(&values, 0.95)),
            ] {
                let got: f64 = get(&format!("{kpi}_{stat}")).parse().unwrap();
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
                    "{kpi}_{stat}: {got} against {want}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}

#[test]
fn plot_points_chooses_what_the_figure_draws_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let base = [
        "sweep",
        "-q",
        "--grid",
        "market.fee_rate=0.001..0.01:0.001",
        "--steps",
        "20",
    ];
    datadao(p)
        .args(base)
        .args(["--plot-points", "1,3,9", "--out", "chosen"])
        .assert()
        .success();
    assert!(p.join("chosen/sweep_results.png").exists());
    for bad in ["10", "1,1", "x", "0,1,2,3,4,5,6"] {
        datadao(p)
            .args(base)
            .args(["--plot-points", bad, "--out", "bad"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "--plot-points {bad}: accepted: up to 6 point indices from 0 to 9"
            )));
    }
    assert!(
        !p.join("bad").exists(),
        "a refused figure choice wrote nothing"
    );
}
