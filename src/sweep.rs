//! `datadao sweep`: grids of settings, Monte Carlo runs per point, percentile bands, and
//! shards that merge back byte for byte.
//!
//! Determinism whatever `--jobs` is: runs are taken in a fixed global order (point by
//! point, run by run) in chunks of [`CHUNK`] runs. A chunk runs in parallel and is then
//! reduced in that order, so floating-point sums and digests see values in the same
//! order on one core, two cores, or a shard of a cluster. Memory is bounded: only the
//! runs of one chunk hold per-step values; finished runs are reduced at once into one
//! digest per (point, recorded step, series), and a point's digests are written out and
//! dropped when its last run is in.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use datadao_core::experiment::{run_seed, Digest, KpiTracker, RunKpis};
use datadao_core::{AgentType, Config, Economy, Observer, StepMetrics};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::output::{push_f64, PendingFile};
use crate::settings;

/// Runs taken together; fixed so results do not depend on the number of threads.
pub const CHUNK: usize = 16;
/// Most steps kept per point in `sweep_series.csv` (evenly spaced, last step kept).
pub const SERIES_STEPS: u64 = 2000;
/// The per-step series summarised across runs.
pub const SERIES: [&str; 4] = ["price", "lp_ddt_reserve", "lp_xdai_reserve", "pie_ddt"];
/// Runs table.
pub const RUNS_FILE: &str = "sweep_runs.csv";
/// Series table.
pub const SERIES_FILE: &str = "sweep_series.csv";

/// One swept setting and its values, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Dotted key.
    pub key: String,
    /// Values as text, in order.
    pub values: Vec<String>,
}

/// Parse `key=v1,v2,...` or `key=start..end:step` (inclusive of `end`).
pub fn parse_axis(spec: &str) -> Result<Axis> {
    let Some((key, values)) = spec.split_once('=') else {
        bail!("--grid {spec}: expected KEY=V1,V2,... or KEY=START..END:STEP");
    };
    let key = key.trim().to_string();
    let values = values.trim();
    if values.is_empty() {
        bail!(
            "--grid {spec}: the axis has no values; accepted: KEY=V1,V2,... or KEY=START..END:STEP"
        );
    }
    let values: Vec<String> = if let Some((range, step)) =
        values.split_once(':').filter(|(r, _)| r.contains(".."))
    {
        let (start, end) = range.split_once("..").expect("checked");
        if !settings::is_numeric(&key) {
            settings::check_raw(&key, start, &format!("--grid {spec}"))?;
            bail!("--grid {spec}: a range needs a numeric setting; {key} is not one");
        }
        let bad = || {
            anyhow::anyhow!("--grid {spec}: bad range; accepted: START..END:STEP with numbers, STEP > 0 and START <= END")
        };
        let (a, b, s): (f64, f64, f64) = (
            start.trim().parse().map_err(|_| bad())?,
            end.trim().parse().map_err(|_| bad())?,
            step.trim().parse().map_err(|_| bad())?,
        );
        if !(s > 0.0 && a <= b && a.is_finite() && b.is_finite()) {
            return Err(bad());
        }
        let integral = [start, end, step]
            .iter()
            .all(|t| !t.contains(['.', 'e', 'E']));
        let n = ((b - a) / s + 1e-9).floor() as u64 + 1;
        if n > 100_000 {
            bail!("--grid {spec}: {n} values; accepted: at most 100000 per axis");
        }
        (0..n)
            .map(|i| {
                let v = a + i as f64 * s;
                if integral {
                    format!("{}", v.round() as i64)
                } else {
                    // Round away binary noise (0.1 + 2 * 0.1) to the inputs' precision.
                    let digits = [start, end, step]
                        .iter()
                        .map(|t| t.split_once('.').map_or(0, |(_, f)| f.len()))
                        .max()
                        .unwrap_or(0);
                    let text = format!("{v:.digits$}");
                    text.parse::<f64>().map(|x| x.to_string()).unwrap_or(text)
                }
            })
            .collect()
    } else {
        values.split(',').map(|v| v.trim().to_string()).collect()
    };
    if values.iter().any(String::is_empty) {
        bail!("--grid {spec}: an empty value; accepted: KEY=V1,V2,... with no empty items");
    }
    for v in &values {
        settings::check_raw(&key, v, &format!("--grid {spec}"))?;
    }
    Ok(Axis { key, values })
}

/// The points of a sweep: the cartesian product of the axes (the last varies fastest),
/// or with `zip` the axes side by side (equal lengths required).
pub fn points(axes: &[Axis], zip: bool) -> Result<Vec<Vec<(String, String)>>> {
    if axes.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    if zip {
        let n = axes[0].values.len();
        if let Some(a) = axes.iter().find(|a| a.values.len() != n) {
            bail!(
                "--zip: axes must have the same number of values; {} has {}, {} has {n}",
                a.key,
                a.values.len(),
                axes[0].key
            );
        }
        return Ok((0..n)
            .map(|i| {
                axes.iter()
                    .map(|a| (a.key.clone(), a.values[i].clone()))
                    .collect()
            })
            .collect());
    }
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((axis.key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

/// One run to do: which point, which run of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    /// Point index (0-based, in sweep order).
    pub point: usize,
    /// Run index within the point.
    pub run: u64,
}

/// Which points a shard `k` of `n` (1-based) takes: every point `p` with `p % n == k - 1`.
pub fn shard_points(total: usize, shard: Option<(usize, usize)>) -> Vec<usize> {
    match shard {
        None => (0..total).collect(),
        Some((k, n)) => (0..total).filter(|p| p % n == k - 1).collect(),
    }
}

/// A finished run: its KPIs and its recorded series.
struct RunResult {
    kpis: RunKpis,
    series: Vec<(u32, [Option<f64>; 4])>,
}

/// Watches one run of a sweep: KPIs every step, series values every `stride` steps.
struct RunWatch {
    kpis: KpiTracker,
    series: Vec<(u32, [Option<f64>; 4])>,
    stride: u64,
    last: u64,
}

impl Observer for RunWatch {
    fn on_step(&mut self, m: &StepMetrics) {
        self.kpis.update(m);
        let step = u64::from(m.step);
        if step % self.stride == 0 || step == self.last {
            self.series.push((
                m.step,
                [
                    m.price,
                    Some(m.lp_ddt_reserve),
                    Some(m.lp_xdai_reserve),
                    Some(m.pie_ddt),
                ],
            ));
        }
    }
}

fn run_one(config: &Config) -> Result<RunResult> {
    let steps = config.simulation.total_steps;
    let mut watch = RunWatch {
        kpis: KpiTracker::default(),
        series: Vec::new(),
        stride: steps.div_ceil(SERIES_STEPS).max(1),
        last: steps - 1,
    };
    let mut economy = Economy::new(config.clone())?;
    while !economy.is_finished() {
        economy.step(&mut watch)?;
    }
    Ok(RunResult {
        kpis: watch.kpis.finish(),
        series: watch.series,
    })
}

/// Columns of `sweep_runs.csv` for these axes.
pub fn runs_header(axes: &[Axis]) -> String {
    let mut cols = vec!["point".to_string()];
    cols.extend(axes.iter().map(|a| a.key.clone()));
    cols.extend(
        [
            "run",
            "seed",
            "final_price",
            "min_price",
            "max_price",
            "mean_price",
            "volatility",
            "max_drawdown",
            "final_ddt_reserve",
            "final_xdai_reserve",
            "final_pie",
            "pie_inflow",
            "pie_distributed",
            "ddt_supply",
            "volume_xdai",
            "fees_xdai",
            "fees_ddt",
            "jobs_refused",
            "orgs_out_of_xdai_step",
        ]
        .map(String::from),
    );
    cols.extend(
        AgentType::ALL
            .iter()
            .map(|k| format!("final_avg_xdai_{}", k.name())),
    );
    cols.join(",")
}

/// Columns of `sweep_series.csv` for these axes.
pub fn series_header(axes: &[Axis]) -> String {
    let mut cols = vec!["point".to_string()];
    cols.extend(axes.iter().map(|a| a.key.clone()));
    cols.push("step".into());
    for s in SERIES {
        for stat in ["mean", "p5", "p50", "p95"] {
            cols.push(format!("{s}_{stat}"));
        }
    }
    cols.join(",")
}

fn push_opt(line: &mut Vec<u8>, v: Option<f64>) {
    line.push(b',');
    if let Some(v) = v {
        push_f64(line, v);
    }
}

fn push_text(line: &mut Vec<u8>, text: &str) {
    line.push(b',');
    line.extend_from_slice(text.as_bytes());
}

fn runs_row(
    point: usize,
    values: &[(String, String)],
    run: u64,
    seed: u64,
    k: &RunKpis,
) -> Vec<u8> {
    let mut l = point.to_string().into_bytes();
    for (_, v) in values {
        push_text(&mut l, v);
    }
    push_text(&mut l, &run.to_string());
    push_text(&mut l, &seed.to_string());
    for v in [
        k.final_price,
        k.min_price,
        k.max_price,
        k.mean_price,
        k.volatility,
        k.max_drawdown,
    ] {
        push_opt(&mut l, v);
    }
    for v in [
        k.final_ddt_reserve,
        k.final_xdai_reserve,
        k.final_pie,
        k.pie_inflow,
        k.pie_distributed,
        k.ddt_supply,
        k.volume_xdai,
        k.fees_xdai,
        k.fees_ddt,
    ] {
        push_opt(&mut l, Some(v));
    }
    push_text(&mut l, &k.jobs_refused.to_string());
    push_text(
        &mut l,
        &k.orgs_out_of_xdai_step
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    for v in k.final_avg_xdai {
        push_opt(&mut l, v);
    }
    l.push(b'\n');
    l
}

/// Per recorded step, one digest per series: a point's reduction in progress.
#[derive(Default)]
struct PointDigest {
    steps: BTreeMap<u32, [Digest; 4]>,
    runs_in: u64,
}

impl PointDigest {
    fn add(&mut self, series: &[(u32, [Option<f64>; 4])]) {
        for (step, values) in series {
            let d = self.steps.entry(*step).or_default();
            for (digest, v) in d.iter_mut().zip(values) {
                if let Some(v) = v {
                    digest.add(*v);
                }
            }
        }
        self.runs_in += 1;
    }

    /// The point's rows of `sweep_series.csv`.
    fn rows(&self, point: usize, values: &[(String, String)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (step, digests) in &self.steps {
            out.extend_from_slice(point.to_string().as_bytes());
            for (_, v) in values {
                push_text(&mut out, v);
            }
            push_text(&mut out, &step.to_string());
            for d in digests {
                push_opt(&mut out, d.mean());
                for q in [0.05, 0.5, 0.95] {
                    push_opt(&mut out, d.quantile(q));
                }
            }
            out.push(b'\n');
        }
        out
    }
}

/// Everything a sweep needs to run.
pub struct Plan {
    /// Swept settings.
    pub axes: Vec<Axis>,
    /// Each point's settings as (key, value) and its resolved configuration.
    pub points: Vec<(Vec<(String, String)>, Config)>,
    /// Runs per point.
    pub runs: u64,
    /// Base seed.
    pub seed: u64,
    /// Threads.
    pub jobs: usize,
    /// This machine's slice, 1-based `(k, n)`.
    pub shard: Option<(usize, usize)>,
}

/// Run the sweep (or this shard of it) and write both tables into `dir`.
pub fn execute(plan: &Plan, dir: &Path, bar: &ProgressBar) -> Result<()> {
    let mine = shard_points(plan.points.len(), plan.shard);
    let units: Vec<Unit> = mine
        .iter()
        .flat_map(|&point| (0..plan.runs).map(move |run| Unit { point, run }))
        .collect();
    bar.set_length(units.len() as u64);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.jobs)
        .build()
        .context("starting the worker threads")?;

    let runs_file = PendingFile::new(dir, RUNS_FILE);
    let series_file = PendingFile::new(dir, SERIES_FILE);
    let mut runs_out = runs_file.create()?;
    let mut series_out = series_file.create()?;
    writeln!(runs_out, "{}", runs_header(&plan.axes))?;
    writeln!(series_out, "{}", series_header(&plan.axes))?;

    let mut open: BTreeMap<usize, PointDigest> = BTreeMap::new();
    for chunk in units.chunks(CHUNK) {
        let results: Vec<Result<RunResult>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|u| {
                    let mut config = plan.points[u.point].1.clone();
                    config.simulation.seed = run_seed(plan.seed, u.run);
                    let r = run_one(&config).with_context(|| {
                        format!(
                            "point {} run {} (seed {})",
                            u.point, u.run, config.simulation.seed
                        )
                    });
                    bar.inc(1);
                    r
                })
                .collect()
        });
        // Reduce in the fixed order, whatever order the runs finished in.
        for (u, result) in chunk.iter().zip(results) {
            let r = result?;
            let values = &plan.points[u.point].0;
            let seed = run_seed(plan.seed, u.run);
            runs_out.write_all(&runs_row(u.point, values, u.run, seed, &r.kpis))?;
            let digest = open.entry(u.point).or_default();
            digest.add(&r.series);
            if digest.runs_in == plan.runs {
                let done = open.remove(&u.point).expect("just used");
                series_out.write_all(&done.rows(u.point, values))?;
            }
        }
    }
    runs_out.flush()?;
    series_out.flush()?;
    drop((runs_out, series_out));
    runs_file.commit()?;
    series_file.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        let a = parse_axis("market.fee_rate=0.001,0.003,0.01").unwrap();
        assert_eq!(a.values, vec!["0.001", "0.003", "0.01"]);
        let a = parse_axis("simulation.agents_per_entry=5..50:5").unwrap();
        assert_eq!(a.values.len(), 10);
        assert_eq!((a.values[0].as_str(), a.values[9].as_str()), ("5", "50"));
        let a = parse_axis("market.fee_rate=0.001..0.003:0.001").unwrap();
        assert_eq!(a.values, vec!["0.001", "0.002", "0.003"]);
    }

    #[test]
    fn grid_errors_say_what_is_accepted() {
        let e = parse_axis("market.fee=0.1").unwrap_err().to_string();
        assert!(e.contains("did you mean 'market.fee_rate'"), "{e}");
        let e = parse_axis("simulation.agents_per_entry=50..5:5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad range"), "{e}");
        let e = parse_axis("simulation.agents_per_entry=5..50:0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad range"), "{e}");
        let e = parse_axis("market.fee_rate=").unwrap_err().to_string();
        assert!(e.contains("no values"), "{e}");
        let e = parse_axis("market.fee_rate=0.1,,0.2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty value"), "{e}");
        let e = parse_axis("simulation.total_steps=ten")
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number"), "{e}");
        let a = parse_axis("market.fee_rate=0.1,0.2").unwrap();
        let b = parse_axis("simulation.seed=1,2,3").unwrap();
        let e = points(&[a, b], true).unwrap_err().to_string();
        assert!(e.contains("same number of values"), "{e}");
    }

    #[test]
    fn product_and_zip() {
        let a = parse_axis("market.fee_rate=0.1,0.2").unwrap();
        let b = parse_axis("simulation.seed=1,2,3").unwrap();
        let p = points(&[a.clone(), b.clone()], false).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(
            p[1],
            vec![
                ("market.fee_rate".into(), "0.1".into()),
                ("simulation.seed".into(), "2".into())
            ]
        );
        let c = parse_axis("simulation.seed=7,8").unwrap();
        let z = points(&[a, c], true).unwrap();
        assert_eq!(z.len(), 2);
        assert_eq!(z[1][1].1, "8");
    }

    #[test]
    fn every_point_is_in_exactly_one_shard() {
        for total in [0, 1, 5, 17, 100] {
            for n in 1..=7 {
                let mut seen = vec![0; total];
                for k in 1..=n {
                    for p in shard_points(total, Some((k, n))) {
                        seen[p] += 1;
                    }
                }
                assert!(seen.iter().all(|&c| c == 1), "{total} points, {n} shards");
            }
        }
    }
}
