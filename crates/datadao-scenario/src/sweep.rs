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

use datadao_core::experiment::{run_seed, Digest, KpiTracker, RunKpis};
use datadao_core::numbers::push_f64;
use datadao_core::{Cell, Config, Economy, Observer, StepError, StepMetrics, StopFlag};
use rayon::prelude::*;

use crate::criteria::{self, Criterion};
use crate::error::{Result, ScenarioError};
use crate::settings::{self, Source};

/// Why a sweep did not finish. Front ends turn [`SweepError::Stopped`] into their own
/// stop (the CLI's exit 130, Python's `KeyboardInterrupt`, a dropped web request).
#[derive(Debug)]
pub enum SweepError {
    /// The stop flag was raised (a signal, Ctrl-C, a client gone).
    Stopped,
    /// One run failed: which, and why.
    Run {
        /// Point index.
        point: usize,
        /// Run index within the point.
        run: u64,
        /// The run's seed.
        seed: u64,
        /// The engine's refusal of the point's settings, or the failed step.
        cause: RunFailure,
    },
    /// The worker threads could not be started.
    Threads(String),
    /// A table could not be written.
    Write(std::io::Error),
}

/// Why one run of a sweep failed.
#[derive(Debug)]
pub enum RunFailure {
    /// The engine refused the settings.
    Config(datadao_core::ConfigError),
    /// A step failed (the audit, memory).
    Step(StepError),
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::Stopped => write!(f, "stopped on request before the sweep ended"),
            SweepError::Run {
                point, run, seed, ..
            } => write!(f, "point {point} run {run} (seed {seed})"),
            SweepError::Threads(e) => write!(f, "starting the worker threads: {e}"),
            SweepError::Write(_) => write!(f, "writing the sweep's tables"),
        }
    }
}

impl std::error::Error for SweepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The engine's own error, so a front end finds it by type in the chain.
            SweepError::Run {
                cause: RunFailure::Config(e),
                ..
            } => Some(e),
            SweepError::Run {
                cause: RunFailure::Step(e),
                ..
            } => Some(e),
            SweepError::Write(e) => Some(e),
            _ => None,
        }
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunFailure::Config(e) => write!(f, "{e}"),
            RunFailure::Step(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunFailure {}

impl From<std::io::Error> for SweepError {
    fn from(e: std::io::Error) -> Self {
        SweepError::Write(e)
    }
}

/// Runs taken together; fixed so results do not depend on the number of threads.
pub const CHUNK: usize = 16;
/// Most steps kept per point in `sweep_series.csv` (evenly spaced, last step kept).
pub const SERIES_STEPS: u64 = 2000;
/// The per-step series summarised across runs.
pub const SERIES: [&str; 4] = ["price", "lp_ddt_reserve", "lp_xdai_reserve", "pie_ddt"];
/// What each series is summarised by across runs, in the order of [`Spread::values`]
/// (`sweep_series.csv` has a column `{series}_{stat}` for each).
pub const STATS: [&str; 4] = ["mean", "p5", "p50", "p95"];
pub use crate::outputs::{POINTS_FILE, RUNS_FILE, SERIES_FILE};

/// One swept setting and its values, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Dotted key.
    pub key: String,
    /// Values as text, in order: as typed for an axis parsed from text, the cell written
    /// into the tables for a typed axis (quoted as CSV when it holds a comma or a quote).
    pub values: Vec<String>,
    /// The values as typed by a library call ([`Axis::from_values`]), in the order of
    /// `values`; `None` for an axis parsed from text, whose values are layered as text
    /// (like `--set`).
    pub typed: Option<Vec<toml::Value>>,
    /// Where the axis was given (a `--grid` flag, a sweep file's `[sweep.grid]`, or a
    /// library call's `grid["KEY"]`).
    pub origin: Source,
}

impl Axis {
    /// An axis from typed values (the Python package's `grid={"KEY": [v1, v2]}`): each
    /// value is one point's value, whatever it holds. A string with a comma is one value
    /// (never split), a list is one value of a list setting. The values are checked when
    /// each point is resolved, where a refusal names `origin`; here only what no setting
    /// can take is refused: no values, more than [`MAX_AXIS_VALUES`], a non-finite
    /// number, a line break, a table.
    pub fn from_values(key: &str, values: Vec<toml::Value>, origin: Source) -> Result<Axis> {
        let key = key.trim().to_string();
        if !settings::known_keys().contains_key(&key) {
            // The settings layer's own message, with its suggestion.
            settings::check_raw(&key, "", &origin)?;
        }
        if key == "output" || key.starts_with("output.") {
            return Err(grid(Some(&key), Some(&origin), format!(
                "{origin}: {key} cannot vary from run to run (a sweep writes its own tables into one folder); accepted: a setting of the model, not output.*"
            )));
        }
        if values.is_empty() {
            return Err(grid(
                Some(&key),
                Some(&origin),
                format!("{origin}: the axis has no values; accepted: a list of at least one value"),
            ));
        }
        if values.len() as u64 > MAX_AXIS_VALUES {
            return Err(grid(
                Some(&key),
                Some(&origin),
                format!(
                    "{origin}: {} values; accepted: at most {MAX_AXIS_VALUES} values per axis",
                    values.len()
                ),
            ));
        }
        let mut cells = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            check_typed(v, &origin, i)?;
            cells.push(cell_text(v));
        }
        Ok(Axis {
            key,
            values: cells,
            typed: Some(values),
            origin,
        })
    }

    /// An axis from a range `START..END:STEP` (END included) given as text for `key`;
    /// anything else is refused, so text is never split into several values.
    pub fn from_range(key: &str, range: &str, origin: Source) -> Result<Axis> {
        let is_range = range.split_once(':').is_some_and(|(r, _)| r.contains(".."));
        if !is_range {
            return Err(grid(Some(key.trim()), Some(&origin), format!(
                "{origin}: '{range}' is not a range; accepted: a list of values, or \"START..END:STEP\" (for one text value, a list of one: [\"{range}\"])"
            )));
        }
        parse_axis(&format!("{}={range}", key.trim()), origin)
    }

    /// The value of index `i` as the settings layer takes it: typed, or as text.
    pub fn value(&self, i: usize) -> AxisValue<'_> {
        match &self.typed {
            Some(t) => AxisValue::Typed(&t[i]),
            None => AxisValue::Text(&self.values[i]),
        }
    }
}

/// One value of an axis, as the settings layer is to take it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AxisValue<'a> {
    /// Typed by a library call: layered like a TOML value.
    Typed(&'a toml::Value),
    /// Text (a `--grid` flag or a sweep file): layered like `--set`.
    Text(&'a str),
}

/// What no setting accepts in a typed axis value.
fn check_typed(v: &toml::Value, origin: &Source, i: usize) -> Result<()> {
    match v {
        toml::Value::Float(f) if !f.is_finite() => Err(ScenarioError::InvalidSetting {
            key: origin_key(origin),
            value: f.to_string(),
            sources: vec![origin.clone()],
            item: Some(i + 1),
            related: Vec::new(),
            accepted: "a finite number".to_string(),
            reason: None,
        }),
        toml::Value::String(s) if s.contains(['\n', '\r']) => Err(grid(
            Some(&origin_key(origin)),
            Some(origin),
            format!(
                "{origin}, value {}: text with a line break; accepted: text on one line",
                i + 1
            ),
        )),
        toml::Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_typed(item, origin, i)),
        toml::Value::Table(_) | toml::Value::Datetime(_) => Err(grid(
            Some(&origin_key(origin)),
            Some(origin),
            format!(
                "{origin}, value {}: {v}; accepted: a bool, a number, text or a list of them",
                i + 1
            ),
        )),
        _ => Ok(()),
    }
}

/// The key an origin like `grid["market.fee_rate"]` names, for messages.
fn origin_key(origin: &Source) -> String {
    let text = origin.to_string();
    match (text.find("[\""), text.rfind("\"]")) {
        (Some(a), Some(b)) if b > a + 2 => text[a + 2..b].to_string(),
        _ => text,
    }
}

/// A typed value as a cell of the sweep tables: text as is, anything else as TOML
/// writes it; quoted (RFC 4180) when it holds a comma or a quote.
pub fn cell_text(v: &toml::Value) -> String {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A refusal of an axis or of the points, about `key` given at `origin`.
fn grid(key: Option<&str>, origin: Option<&Source>, message: String) -> ScenarioError {
    ScenarioError::Grid {
        key: key.map(str::to_string),
        origin: origin.cloned(),
        message,
    }
}

/// Most values one axis may have.
pub const MAX_AXIS_VALUES: u64 = 100_000;

/// Parse `key=v1,v2,...` or `key=start..end:step` (inclusive of `end`); `origin` says
/// where it was given, for messages.
pub fn parse_axis(spec: &str, origin: Source) -> Result<Axis> {
    let Some((key, values)) = spec.split_once('=') else {
        return Err(grid(
            None,
            Some(&origin),
            format!("{origin}: '{spec}': expected KEY=V1,V2,... or KEY=START..END:STEP"),
        ));
    };
    let key = key.trim().to_string();
    let values = values.trim();
    if values.is_empty() {
        return Err(grid(Some(&key), Some(&origin), format!(
            "{origin}: '{spec}': the axis has no values; accepted: KEY=V1,V2,... or KEY=START..END:STEP"
        )));
    }
    if key == "output" || key.starts_with("output.") {
        settings::check_raw(&key, values.split(',').next().unwrap_or(""), &origin)?;
        return Err(grid(Some(&key), Some(&origin), format!(
            "{origin}: '{spec}': {key} cannot vary from run to run (a sweep writes its own tables into one folder); accepted: a setting of the model, not output.*"
        )));
    }
    let values: Vec<String> = if let Some((range, step)) =
        values.split_once(':').filter(|(r, _)| r.contains(".."))
    {
        let (start, end) = range.split_once("..").expect("checked");
        if !settings::is_numeric(&key) {
            settings::check_raw(&key, start, &origin)?;
            return Err(grid(
                Some(&key),
                Some(&origin),
                format!("{origin}: '{spec}': a range needs a numeric setting; {key} is not one"),
            ));
        }
        let bad = || {
            grid(Some(&key), Some(&origin), format!("{origin}: '{spec}': bad range; accepted: START..END:STEP with finite numbers, STEP > 0 and START <= END"))
        };
        let (a, b, s): (f64, f64, f64) = (
            start.trim().parse().map_err(|_| bad())?,
            end.trim().parse().map_err(|_| bad())?,
            step.trim().parse().map_err(|_| bad())?,
        );
        if !(s > 0.0 && a <= b && a.is_finite() && b.is_finite() && s.is_finite()) {
            return Err(bad());
        }
        let integral = [start, end, step]
            .iter()
            .all(|t| !t.contains(['.', 'e', 'E']));
        // Counted in f64 first: a tiny step would overflow any integer.
        let count = ((b - a) / s + 1e-9).floor() + 1.0;
        if count.is_nan() || count > MAX_AXIS_VALUES as f64 {
            return Err(grid(Some(&key), Some(&origin), format!(
                "{origin}: '{spec}': about {count:.3e} values; accepted: at most {MAX_AXIS_VALUES} values per axis"
            )));
        }
        let n = count as u64;
        let digits = [start, end, step]
            .iter()
            .map(|t| t.trim().split_once('.').map_or(0, |(_, f)| f.len()))
            .max()
            .unwrap_or(0);
        let values: Vec<String> = (0..n)
            .map(|i| {
                let v = a + i as f64 * s;
                if integral {
                    format!("{}", v.round() as i64)
                } else if digits <= 17 && !step.contains(['e', 'E']) {
                    // Round away binary noise (0.1 + 2 * 0.1) to the inputs' precision.
                    let text = format!("{v:.digits$}");
                    text.parse::<f64>().map(|x| x.to_string()).unwrap_or(text)
                } else {
                    v.to_string()
                }
            })
            .collect();
        // A step below the numbers' precision gives the same value again and again.
        if let Some(w) = values.windows(2).find(|w| w[0] == w[1]) {
            return Err(grid(Some(&key), Some(&origin), format!(
                "{origin}: '{spec}': the step is too small to tell values apart ({} twice); accepted: a STEP that changes the value",
                w[0]
            )));
        }
        values
    } else {
        values.split(',').map(|v| v.trim().to_string()).collect()
    };
    if values.iter().any(String::is_empty) {
        return Err(grid(
            Some(&key),
            Some(&origin),
            format!(
                "{origin}: '{spec}': an empty value; accepted: KEY=V1,V2,... with no empty items"
            ),
        ));
    }
    for v in &values {
        settings::check_raw(&key, v, &origin)?;
    }
    Ok(Axis {
        key,
        values,
        typed: None,
        origin,
    })
}

/// The points of a sweep: the cartesian product of the axes (the last varies fastest),
/// or with `zip` the axes side by side (equal lengths required).
pub fn points(axes: &[Axis], zip: bool) -> Result<Vec<Vec<(String, String)>>> {
    Ok(point_indices(axes, zip)?
        .into_iter()
        .map(|p| {
            axes.iter()
                .zip(p)
                .map(|(a, i)| (a.key.clone(), a.values[i].clone()))
                .collect()
        })
        .collect())
}

/// The points of a sweep as the index of each axis's value (in the order of
/// [`points`]), so a typed axis's value can be looked up with [`Axis::value`].
pub fn point_indices(axes: &[Axis], zip: bool) -> Result<Vec<Vec<usize>>> {
    if axes.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    if !zip {
        let count = point_count(axes);
        if count > MAX_POINTS {
            let sizes: Vec<String> = axes
                .iter()
                .map(|a| format!("{} ({} values, from {})", a.key, a.values.len(), a.origin))
                .collect();
            return Err(grid(None, None, format!(
                "the grid {} has {count} points; accepted: at most {MAX_POINTS} points (use --zip to pair axes value by value, or split the sweep)",
                sizes.join(" x ")
            )));
        }
    }
    if zip {
        let n = axes[0].values.len();
        if let Some(a) = axes.iter().find(|a| a.values.len() != n) {
            return Err(grid(
                Some(&a.key),
                None,
                format!(
                    "--zip: axes must have the same number of values; {} has {}, {} has {n}",
                    a.key,
                    a.values.len(),
                    axes[0].key
                ),
            ));
        }
        return Ok((0..n).map(|i| vec![i; axes.len()]).collect());
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..axis.values.len()).map(move |i| {
                    let mut p = prefix.clone();
                    p.push(i);
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

/// Most points a sweep may have: each holds its resolved settings in memory.
pub const MAX_POINTS: u128 = 1_000_000;

/// Points of the cartesian product of `axes`, without building it (and without
/// overflowing).
pub fn point_count(axes: &[Axis]) -> u128 {
    axes.iter()
        .fold(1u128, |n, a| n.saturating_mul(a.values.len() as u128))
}

/// One run to do: which point, which run of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    /// Point index (0-based, in sweep order).
    pub point: usize,
    /// Run index within the point.
    pub run: u64,
}

/// Refuse a setting swept on two axes, naming where the second was given.
pub fn check_axes(axes: &[Axis]) -> Result<()> {
    match axes
        .iter()
        .enumerate()
        .find(|(i, a)| axes[..*i].iter().any(|b| b.key == a.key))
    {
        Some((_, dup)) => Err(ScenarioError::Grid {
            key: Some(dup.key.clone()),
            origin: Some(dup.origin.clone()),
            message: format!(
                "{}: {} is swept twice; accepted: each setting on one axis",
                dup.origin, dup.key
            ),
        }),
        None => Ok(()),
    }
}

/// The inputs of the point at `index` (one value index per axis): the sweep's shared
/// inputs with the point's values on top. A typed value (a library call's, a sweep
/// file's) is layered with the typed values, a text value (`--grid`) with the flags;
/// either wins over a shared flag for its setting, as a `--grid` value does.
pub fn point_inputs(base: &settings::Inputs, axes: &[Axis], index: &[usize]) -> settings::Inputs {
    let mut inputs = base.clone();
    let mut swept_typed = Vec::new();
    for (axis, &i) in axes.iter().zip(index) {
        match axis.value(i) {
            AxisValue::Typed(v) => {
                swept_typed.push(axis.key.clone());
                inputs.typed.push(settings::Given::new(
                    axis.key.clone(),
                    v.clone(),
                    axis.origin.clone(),
                ));
            }
            AxisValue::Text(t) => {
                inputs.flags.push(settings::Given::new(
                    axis.key.clone(),
                    t.to_string(),
                    axis.origin.clone(),
                ));
            }
        }
    }
    inputs
        .flags
        .retain(|given| !swept_typed.contains(&given.key));
    inputs
}

/// The point's values as its tables name them: (setting, value as written).
pub fn point_values(axes: &[Axis], index: &[usize]) -> Vec<(String, String)> {
    axes.iter()
        .zip(index)
        .map(|(a, &i)| (a.key.clone(), a.values[i].clone()))
        .collect()
}

/// Shards an executor cuts a sweep into when not told: one per point, at most this many.
pub const DEFAULT_MAX_SHARDS: usize = 256;

/// Shard `k` of `n` (1-based) of a sweep: the points `p` with `p % n == k - 1`, so every
/// shard gets points from all over the grid (a cluster's machines finish together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardIndex {
    /// Which shard, from 1.
    pub k: usize,
    /// Of how many.
    pub n: usize,
}

impl ShardIndex {
    /// `K/N` as `--shard` takes it.
    pub fn parse(text: &str) -> Result<ShardIndex, ScenarioError> {
        let bad = || ScenarioError::Grid {
            key: None,
            origin: None,
            message: format!("--shard {text}: accepted: K/N with 1 <= K <= N, e.g. --shard 2/8"),
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(ShardIndex { k, n })
    }

    /// Shard `k` of `n` of a sweep of `points` points, checked: `1 <= k <= n <= points`.
    /// `named` is the argument as the user gave it, for the message (`--shard 2/8`).
    pub fn of(k: usize, n: usize, points: usize, named: &str) -> Result<ShardIndex, ScenarioError> {
        let refuse = |message| {
            Err(ScenarioError::Grid {
                key: None,
                origin: None,
                message,
            })
        };
        if k == 0 || n == 0 || k > n {
            return refuse(format!("{named}: accepted: K/N with 1 <= K <= N"));
        }
        if n > points {
            return refuse(format!(
                "{named}: {n} shards for {points} points; accepted: N from 1 to the number of points ({points})"
            ));
        }
        Ok(ShardIndex { k, n })
    }

    /// The points of a sweep of `total` points this shard takes, in order.
    pub fn points(self, total: usize) -> Vec<usize> {
        (0..total).filter(|p| p % self.n == self.k - 1).collect()
    }

    /// How many shards to cut `points` points into: `requested` (at least 1) but no
    /// more than there are points, or by default one per point, at most
    /// [`DEFAULT_MAX_SHARDS`].
    pub fn count(points: usize, requested: Option<usize>) -> usize {
        requested.unwrap_or(DEFAULT_MAX_SHARDS).min(points).max(1)
    }
}

/// The points a sweep (or one shard of it) runs, in order.
pub fn shard_points(total: usize, shard: Option<ShardIndex>) -> Vec<usize> {
    match shard {
        None => (0..total).collect(),
        Some(s) => s.points(total),
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

fn run_one(config: &Config, plan: &Plan, flag: &StopFlag) -> Result<RunResult, RunFailure> {
    let steps = config.simulation.total_steps;
    let mut watch = RunWatch {
        kpis: KpiTracker::default(),
        series: Vec::new(),
        stride: steps.div_ceil(SERIES_STEPS).max(1),
        last: steps - 1,
    };
    let mut economy = Economy::new(config.clone()).map_err(RunFailure::Config)?;
    for (kind, source) in &plan.policies {
        let policy = source.fresh().map_err(|message| {
            RunFailure::Step(StepError::Policy(datadao_core::policy::PolicyFailure {
                type_name: config.agents.type_names().name(*kind).to_owned(),
                message,
            }))
        })?;
        economy
            .set_policy(*kind, policy)
            .map_err(RunFailure::Config)?;
    }
    economy.set_stop(flag.clone());
    while !economy.is_finished() {
        // A raised flag ends the step (and so the run) with `StepError::Stopped`.
        economy.step(&mut watch).map_err(RunFailure::Step)?;
    }
    Ok(RunResult {
        kpis: watch.kpis.finish(),
        series: watch.series,
    })
}

/// Whether `sweep_runs.csv` has the governance columns: when any point is governed
/// (a sweep without governance keeps exactly the columns it had before governance).
pub fn is_governed(plan: &Plan) -> bool {
    plan.points.iter().any(|p| p.config.governance.enabled)
}

/// The sweep's agent types: every point's are the same (a grid varies values, and a
/// type one point declares, every point declares), so the first point's.
pub fn plan_types(plan: &Plan) -> datadao_core::agent_type::TypeNames {
    plan.points
        .first()
        .map(|p| p.config.agents.type_names())
        .unwrap_or_default()
}

/// Columns of `sweep_runs.csv` for these axes and types; `governed` adds each run's
/// final treasury, proposals and governed settings (`final_treasury_ddt`, ...).
pub fn runs_header(
    axes: &[Axis],
    governed: bool,
    types: &datadao_core::agent_type::TypeNames,
    criteria: &[Criterion],
) -> String {
    let mut cols = value_columns(axes, governed, types);
    cols.extend(criteria.iter().map(|c| c.name.clone()));
    cols.join(",")
}

/// The columns of `sweep_runs.csv` before the criteria' 0/1 columns: what a criterion's
/// metric may name.
pub fn value_columns(
    axes: &[Axis],
    governed: bool,
    types: &datadao_core::agent_type::TypeNames,
) -> Vec<String> {
    let mut cols = vec!["point".to_string()];
    cols.extend(axes.iter().map(|a| a.key.clone()));
    cols.extend(["run".to_string(), "seed".to_string()]);
    cols.extend(RunKpis::columns_for(governed, types));
    cols
}

/// Refuse a criterion of `plan` whose metric is not a column of its `sweep_runs.csv`,
/// naming the columns there are; `source_of` says where a criterion was given.
pub fn check_criteria(plan: &Plan, source_of: &dyn Fn(&Criterion) -> Source) -> Result<()> {
    let columns = value_columns(&plan.axes, is_governed(plan), &plan_types(plan));
    crate::criteria::check_metrics(&plan.criteria, &columns, source_of)
}

/// Refuse a criterion that a single run (`datadao run`) cannot evaluate: its metric must
/// be a column of the run's row of `sweep_runs.csv` (no swept settings).
pub fn check_run_criteria(
    criteria: &[Criterion],
    config: &Config,
    source_of: &dyn Fn(&Criterion) -> Source,
) -> Result<()> {
    let columns = value_columns(&[], config.governance.enabled, &config.agents.type_names());
    criteria::check_metrics(criteria, &columns, source_of)
}

/// Each criterion's metric in one run and whether the run meets it, as a one-run sweep
/// would write them (run 0 of the seed `seed`).
pub fn run_criteria(
    criteria: &[Criterion],
    config: &Config,
    kpis: &RunKpis,
) -> Vec<(Option<f64>, bool)> {
    let governed = config.governance.enabled;
    let columns = value_columns(&[], governed, &config.agents.type_names());
    let values = run_values(0, &[], 0, config.simulation.seed, kpis, governed);
    criteria
        .iter()
        .map(|c| {
            let v = columns
                .iter()
                .position(|col| *col == c.metric)
                .and_then(|at| values[at]);
            (v, c.passes(v))
        })
        .collect()
}

/// The values of one row of `sweep_runs.csv` before the criteria, in [`value_columns`]
/// order, as numbers (`None`: an empty cell, or a swept value that is not a number).
pub fn run_values(
    point: usize,
    values: &[(String, String)],
    run: u64,
    seed: u64,
    k: &RunKpis,
    governed: bool,
) -> Vec<Option<f64>> {
    let mut out = vec![Some(point as f64)];
    out.extend(values.iter().map(|(_, v)| v.trim().parse::<f64>().ok()));
    out.extend([Some(run as f64), Some(seed as f64)]);
    k.report(governed, &mut |_, cell| {
        out.push(match cell {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(v) => Some(v),
            Cell::Empty => None,
        })
    });
    out
}

/// Where each criterion's metric is among [`value_columns`] (checked by
/// [`check_criteria`] before a sweep starts).
fn metric_columns(plan: &Plan, governed: bool) -> Vec<usize> {
    let columns = value_columns(&plan.axes, governed, &plan_types(plan));
    plan.criteria
        .iter()
        .map(|c| {
            columns
                .iter()
                .position(|col| *col == c.metric)
                .expect("criteria are checked before a sweep runs")
        })
        .collect()
}

/// Columns of `sweep_series.csv` for these axes.
pub fn series_header(axes: &[Axis]) -> String {
    let mut cols = vec!["point".to_string()];
    cols.extend(axes.iter().map(|a| a.key.clone()));
    cols.push("step".into());
    cols.extend(series_stat_columns());
    cols.join(",")
}

/// The `{series}_{stat}` columns of `sweep_series.csv`, in order.
pub fn series_stat_columns() -> impl Iterator<Item = String> {
    SERIES
        .iter()
        .flat_map(|s| STATS.iter().map(move |stat| format!("{s}_{stat}")))
}

/// One series at one recorded step across a point's runs: its mean and its 5th, 50th
/// and 95th percentiles ([`Digest::quantile`]), `None` where no run had a value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    /// Mean across runs.
    pub mean: Option<f64>,
    /// 5th percentile.
    pub p5: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
}

impl Spread {
    fn of(d: &Digest) -> Spread {
        Spread {
            mean: d.mean(),
            p5: d.quantile(0.05),
            p50: d.quantile(0.5),
            p95: d.quantile(0.95),
        }
    }

    /// The figures in the order of [`STATS`].
    pub fn values(&self) -> [Option<f64>; 4] {
        [self.mean, self.p5, self.p50, self.p95]
    }
}

/// One point's band: each of its recorded steps across its runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PointBand {
    /// Point index.
    pub point: usize,
    /// The recorded steps, in order.
    pub steps: Vec<BandStep>,
}

/// One recorded step of a point across its runs: a row of `sweep_series.csv`, and a
/// step of the dashboard's Monte Carlo band.
#[derive(Clone, Debug, PartialEq)]
pub struct BandStep {
    /// The step.
    pub step: u32,
    /// Each series of [`SERIES`], in that order.
    pub series: [Spread; 4],
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

/// One row of `sweep_runs.csv`. With `governed`, an ungoverned run (a point with
/// `governance.enabled = false`) leaves the governance cells empty. Each criterion adds
/// 1 (met) or 0, read from its metric's column (`metrics`).
#[allow(clippy::too_many_arguments)]
fn runs_row(
    point: usize,
    values: &[(String, String)],
    run: u64,
    seed: u64,
    k: &RunKpis,
    governed: bool,
    criteria: &[Criterion],
    metrics: &[usize],
) -> Vec<u8> {
    let mut l = point.to_string().into_bytes();
    for (_, v) in values {
        push_text(&mut l, v);
    }
    push_text(&mut l, &run.to_string());
    push_text(&mut l, &seed.to_string());
    k.report(governed, &mut |_, cell| match cell {
        Cell::Int(i) => push_text(&mut l, &i.to_string()),
        Cell::Float(v) => push_opt(&mut l, Some(v)),
        Cell::Empty => push_opt(&mut l, None),
    });
    if !criteria.is_empty() {
        let cells = run_values(point, values, run, seed, k, governed);
        for (c, &at) in criteria.iter().zip(metrics) {
            push_text(&mut l, if c.passes(cells[at]) { "1" } else { "0" });
        }
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

    /// The point's band: each recorded step's spread of every series.
    fn band(&self) -> Vec<BandStep> {
        self.steps
            .iter()
            .map(|(&step, digests)| BandStep {
                step,
                series: digests.each_ref().map(Spread::of),
            })
            .collect()
    }
}

/// A point's rows of `sweep_series.csv`, from its band.
fn series_rows(point: usize, values: &[(String, String)], band: &[BandStep]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in band {
        out.extend_from_slice(point.to_string().as_bytes());
        for (_, v) in values {
            push_text(&mut out, v);
        }
        push_text(&mut out, &b.step.to_string());
        for spread in &b.series {
            for v in spread.values() {
                push_opt(&mut out, v);
            }
        }
        out.push(b'\n');
    }
    out
}

/// What `sweep_points.csv` gives of each KPI, in column order (`<kpi>_mean`, ...):
/// over the runs where the KPI has a value, percentiles as numpy's default (linear, type
/// 7), exact up to 1,024 runs per point and from the bounded digest beyond.
pub const POINT_STATS: [&str; 5] = ["mean", "p5", "p50", "p95", "n"];

/// `sweep_points.csv` from `sweep_runs.csv`: one row per point with `point`, the point's
/// settings and `runs`, then each KPI's [`POINT_STATS`], then, with criteria (the last
/// columns of the runs table, named `criteria`), each one's pass rate and Wilson 95%
/// interval and those of all of them together ([`criteria::point_columns`]). Read from
/// the runs table itself (streamed, a point at a time, in constant memory), so a sweep,
/// a merge of its shards and a reader of the runs table all get the same numbers.
pub fn points_table(
    runs_csv: impl std::io::Read,
    criteria: &[String],
    out: &mut dyn Write,
) -> Result<(), SweepError> {
    let bad = |what: String| {
        SweepError::Write(std::io::Error::new(std::io::ErrorKind::InvalidData, what))
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(runs_csv);
    let header = reader
        .headers()
        .map_err(|e| bad(format!("{RUNS_FILE}: {e}")))?
        .clone();
    let run_col = header
        .iter()
        .position(|c| c == "run")
        .ok_or_else(|| bad(format!("{RUNS_FILE}: no run column")))?;
    let width = header.len();
    let tail: Vec<&str> = header
        .iter()
        .skip(width.saturating_sub(criteria.len()))
        .collect();
    if width < run_col + 2 + criteria.len() || tail != criteria {
        return Err(bad(format!(
            "{RUNS_FILE}: its last columns are not the criteria {criteria:?}"
        )));
    }
    let kpi_end = width - criteria.len();
    let kpis: Vec<&str> = header.iter().take(kpi_end).skip(run_col + 2).collect();
    let mut head: Vec<String> = header.iter().take(run_col).map(cell).collect();
    head.push("runs".into());
    for k in &kpis {
        head.extend(POINT_STATS.iter().map(|s| format!("{k}_{s}")));
    }
    head.extend(criteria::point_columns(criteria));
    writeln!(out, "{}", head.join(","))?;
    let mut current: Option<PointTally> = None;
    for record in reader.records() {
        let record = record.map_err(|e| bad(format!("{RUNS_FILE}: {e}")))?;
        let point = record.get(0).unwrap_or_default();
        if current.as_ref().is_none_or(|c| c.point != point) {
            if let Some(done) = current.take() {
                done.write(out)?;
            }
            current = Some(PointTally {
                point: point.to_string(),
                values: record
                    .iter()
                    .skip(1)
                    .take(run_col - 1)
                    .map(str::to_string)
                    .collect(),
                runs: 0,
                digests: vec![Digest::default(); kpis.len()],
                passed: vec![0; criteria.len()],
                all_passed: 0,
            });
        }
        let c = current.as_mut().expect("just set");
        c.runs += 1;
        for (d, text) in c.digests.iter_mut().zip(record.iter().skip(run_col + 2)) {
            if let Ok(v) = text.parse::<f64>() {
                d.add(v);
            }
        }
        let mut all = true;
        for (n, text) in c.passed.iter_mut().zip(record.iter().skip(kpi_end)) {
            let met = text == "1";
            *n += u64::from(met);
            all &= met;
        }
        c.all_passed += u64::from(all);
    }
    if let Some(done) = current.take() {
        done.write(out)?;
    }
    out.flush()?;
    Ok(())
}

/// One point of `sweep_points.csv` while its runs are read.
struct PointTally {
    point: String,
    values: Vec<String>,
    runs: u64,
    digests: Vec<Digest>,
    /// Runs that met each criterion.
    passed: Vec<u64>,
    /// Runs that met every criterion.
    all_passed: u64,
}

impl PointTally {
    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut line = self.point.clone().into_bytes();
        for v in &self.values {
            line.push(b',');
            line.extend_from_slice(cell(v).as_bytes());
        }
        line.push(b',');
        line.extend_from_slice(self.runs.to_string().as_bytes());
        for d in &self.digests {
            for v in [
                d.mean(),
                d.quantile(0.05),
                d.quantile(0.5),
                d.quantile(0.95),
            ] {
                push_opt(&mut line, v);
            }
            line.push(b',');
            line.extend_from_slice(d.count().to_string().as_bytes());
        }
        if !self.passed.is_empty() {
            for &k in self.passed.iter().chain(std::iter::once(&self.all_passed)) {
                let interval = criteria::wilson(k, self.runs);
                push_opt(&mut line, criteria::pass_rate(k, self.runs));
                push_opt(&mut line, interval.map(|i| i.0));
                push_opt(&mut line, interval.map(|i| i.1));
            }
        }
        line.push(b'\n');
        out.write_all(&line)
    }
}

/// A CSV cell for `text`: quoted when it holds a comma, a quote or a line break.
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One point of a sweep: its values as its tables write them, and its settings.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// (setting, value as written), one per axis, in axis order.
    pub values: Vec<(String, String)>,
    /// The point's resolved configuration.
    pub config: Config,
}

/// Rows the sweep's two tables get from this shard of `points` (all of them without a
/// shard): one per run, and up to [`SERIES_STEPS`] + 1 per point; what the disk (or, in
/// Python, memory) must hold.
pub fn table_rows(points: &[SweepPoint], runs: u64, shard: Option<ShardIndex>) -> u128 {
    let mine = shard_points(points.len(), shard);
    let series: u128 = mine
        .iter()
        .map(|&p| u128::from(points[p].config.simulation.total_steps.min(SERIES_STEPS) + 1))
        .sum();
    (mine.len() as u128).saturating_mul(u128::from(runs)) + series
}

/// Everything a sweep needs to run.
pub struct Plan {
    /// Swept settings.
    pub axes: Vec<Axis>,
    /// Every point, in sweep order.
    pub points: Vec<SweepPoint>,
    /// Runs per point.
    pub runs: u64,
    /// Threads.
    pub jobs: usize,
    /// This machine's slice of the points, if it runs one shard.
    pub shard: Option<ShardIndex>,
    /// Success criteria: each adds a 0/1 column to `sweep_runs.csv` (checked by
    /// [`check_criteria`]).
    pub criteria: Vec<Criterion>,
    /// Types whose behaviour is a policy (the Python package's), each run given a fresh
    /// one; empty from the CLI.
    pub policies: Vec<(
        datadao_core::AgentType,
        std::sync::Arc<dyn datadao_core::policy::PolicySource>,
    )>,
}

/// The units of a sweep in their fixed global order (point by point, run by run),
/// produced as they are needed: a billion runs cost no memory up front.
fn units(mine: &[usize], runs: u64) -> impl Iterator<Item = Unit> + '_ {
    mine.iter()
        .flat_map(move |&point| (0..runs).map(move |run| Unit { point, run }))
}

/// The seed of run `run` of a point: the point's own `simulation.seed` (the base seed,
/// unless `simulation.seed` is an axis) combined with the run index by [`run_seed`].
pub fn unit_seed(plan: &Plan, u: Unit) -> u64 {
    run_seed(plan.points[u.point].config.simulation.seed, u.run)
}

/// Run the sweep (or this shard of it) and write both tables (`sweep_runs.csv` and
/// `sweep_series.csv`, header first) into `runs_out` and `series_out`. `on_run` is called
/// after every finished run (a progress bar).
pub fn execute(
    plan: &Plan,
    runs_out: &mut dyn Write,
    series_out: &mut dyn Write,
    on_run: &(dyn Fn() + Sync),
) -> Result<(), SweepError> {
    execute_until(plan, runs_out, series_out, on_run, &StopFlag::new())
}

/// As [`execute`], stopping with [`SweepError::Stopped`] once `flag` is raised (a
/// signal, Ctrl-C, a web client gone): before every chunk and run, and inside every
/// run's steps (a foresight vote's forks included).
pub fn execute_until(
    plan: &Plan,
    runs_out: &mut dyn Write,
    series_out: &mut dyn Write,
    on_run: &(dyn Fn() + Sync),
    flag: &StopFlag,
) -> Result<(), SweepError> {
    let governed = is_governed(plan);
    writeln!(
        runs_out,
        "{}",
        runs_header(&plan.axes, governed, &plan_types(plan), &plan.criteria)
    )?;
    let metrics = metric_columns(plan, governed);
    writeln!(series_out, "{}", series_header(&plan.axes))?;
    reduce(
        plan,
        on_run,
        flag,
        &mut |u, kpis| {
            let values = &plan.points[u.point].values;
            let seed = unit_seed(plan, u);
            runs_out.write_all(&runs_row(
                u.point,
                values,
                u.run,
                seed,
                kpis,
                governed,
                &plan.criteria,
                &metrics,
            ))?;
            Ok(())
        },
        &mut |point, band| {
            series_out.write_all(&series_rows(point, &plan.points[point].values, &band))?;
            Ok(())
        },
    )?;
    runs_out.flush()?;
    series_out.flush()?;
    Ok(())
}

/// Run the sweep (or this shard of it) and return each of its points' bands (in point
/// order) instead of writing tables: what `sweep_series.csv` would hold, typed. The
/// dashboard's Monte Carlo band is the band of a one-point sweep.
pub fn bands_until(
    plan: &Plan,
    on_run: &(dyn Fn() + Sync),
    flag: &StopFlag,
) -> Result<Vec<PointBand>, SweepError> {
    let mut bands = Vec::new();
    reduce(
        plan,
        on_run,
        flag,
        &mut |_, _| Ok(()),
        &mut |point, steps| {
            bands.push(PointBand { point, steps });
            Ok(())
        },
    )?;
    Ok(bands)
}

/// Run the plan and hand every run's KPIs to `on_kpis` in the fixed order (point by
/// point, run by run), without tables: what an optimiser's trials need. Nothing is
/// kept, so a trial of a million runs costs what `on_kpis` keeps of each.
pub fn kpis_until(
    plan: &Plan,
    on_run: &(dyn Fn() + Sync),
    flag: &StopFlag,
    on_kpis: &mut dyn FnMut(Unit, &RunKpis),
) -> Result<(), SweepError> {
    reduce(
        plan,
        on_run,
        flag,
        &mut |u, kpis| {
            on_kpis(u, kpis);
            Ok(())
        },
        &mut |_, _| Ok(()),
    )
}

/// Runs the units of this shard in chunks and reduces them in the fixed order: each
/// run's KPIs to `on_kpis`, each point's band to `on_band` once its last run is in.
fn reduce(
    plan: &Plan,
    on_run: &(dyn Fn() + Sync),
    flag: &StopFlag,
    on_kpis: &mut dyn FnMut(Unit, &RunKpis) -> Result<(), SweepError>,
    on_band: &mut dyn FnMut(usize, Vec<BandStep>) -> Result<(), SweepError>,
) -> Result<(), SweepError> {
    let stop = || match flag.is_raised() {
        true => Err(SweepError::Stopped),
        false => Ok(()),
    };
    let mine = shard_points(plan.points.len(), plan.shard);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.jobs)
        .build()
        .map_err(|e| SweepError::Threads(e.to_string()))?;
    let mut open: BTreeMap<usize, PointDigest> = BTreeMap::new();
    let mut pending = units(&mine, plan.runs).peekable();
    let mut chunk = Vec::with_capacity(CHUNK);
    while pending.peek().is_some() {
        stop()?;
        chunk.clear();
        chunk.extend(pending.by_ref().take(CHUNK));
        let results: Vec<Result<RunResult, SweepError>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&u| {
                    stop()?;
                    let mut config = plan.points[u.point].config.clone();
                    config.simulation.seed = unit_seed(plan, u);
                    let r = run_one(&config, plan, flag).map_err(|cause| match cause {
                        RunFailure::Step(StepError::Stopped) => SweepError::Stopped,
                        cause => SweepError::Run {
                            point: u.point,
                            run: u.run,
                            seed: config.simulation.seed,
                            cause,
                        },
                    });
                    on_run();
                    r
                })
                .collect()
        });
        // Reduce in the fixed order, whatever order the runs finished in.
        for (&u, result) in chunk.iter().zip(results) {
            let r = result?;
            on_kpis(u, &r.kpis)?;
            let digest = open.entry(u.point).or_default();
            digest.add(&r.series);
            if digest.runs_in == plan.runs {
                let done = open.remove(&u.point).expect("just used");
                on_band(u.point, done.band())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_axis_flag(spec: &str) -> Result<Axis> {
        parse_axis(spec, Source::Flag(format!("--grid {spec}")))
    }

    #[test]
    fn ranges_that_overflow_or_vanish_are_refused() {
        let e = parse_axis_flag("market.fee_rate=0..0.5:1e-300")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 100000 values"), "{e}");
        let e = parse_axis_flag("market.fee_rate=0.5..0.5000000000000001:1e-17")
            .unwrap_err()
            .to_string();
        assert!(e.contains("too small"), "{e}");
        let e = parse_axis_flag("output.dir=a,b").unwrap_err().to_string();
        assert!(e.contains("cannot vary"), "{e}");
        let e = parse_axis_flag("market.fee_rate=0..inf:0.1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad range"), "{e}");
    }

    #[test]
    fn huge_grids_are_refused_before_they_are_built() {
        let axis = |k: &str| parse_axis_flag(&format!("{k}=1..100000:1")).unwrap();
        let axes = [
            axis("simulation.seed"),
            axis("simulation.initial_agents"),
            axis("simulation.agents_per_entry"),
            axis("simulation.entry_steps"),
        ];
        assert_eq!(point_count(&axes), 100_000u128.pow(4));
        let e = points(&axes, false).unwrap_err().to_string();
        assert!(e.contains("at most 1000000 points"), "{e}");
    }

    #[test]
    fn lists_and_ranges() {
        let a = parse_axis_flag("market.fee_rate=0.001,0.003,0.01").unwrap();
        assert_eq!(a.values, vec!["0.001", "0.003", "0.01"]);
        let a = parse_axis_flag("simulation.agents_per_entry=5..50:5").unwrap();
        assert_eq!(a.values.len(), 10);
        assert_eq!((a.values[0].as_str(), a.values[9].as_str()), ("5", "50"));
        let a = parse_axis_flag("market.fee_rate=0.001..0.003:0.001").unwrap();
        assert_eq!(a.values, vec!["0.001", "0.002", "0.003"]);
    }

    #[test]
    fn grid_errors_say_what_is_accepted() {
        let e = parse_axis_flag("market.fee=0.1").unwrap_err().to_string();
        assert!(e.contains("did you mean 'market.fee_rate'"), "{e}");
        let e = parse_axis_flag("simulation.agents_per_entry=50..5:5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad range"), "{e}");
        let e = parse_axis_flag("simulation.agents_per_entry=5..50:0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad range"), "{e}");
        let e = parse_axis_flag("market.fee_rate=").unwrap_err().to_string();
        assert!(e.contains("no values"), "{e}");
        let e = parse_axis_flag("market.fee_rate=0.1,,0.2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty value"), "{e}");
        let e = parse_axis_flag("simulation.total_steps=ten")
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number"), "{e}");
        let a = parse_axis_flag("market.fee_rate=0.1,0.2").unwrap();
        let b = parse_axis_flag("simulation.seed=1,2,3").unwrap();
        let e = points(&[a, b], true).unwrap_err().to_string();
        assert!(e.contains("same number of values"), "{e}");
    }

    #[test]
    fn product_and_zip() {
        let a = parse_axis_flag("market.fee_rate=0.1,0.2").unwrap();
        let b = parse_axis_flag("simulation.seed=1,2,3").unwrap();
        let p = points(&[a.clone(), b.clone()], false).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(
            p[1],
            vec![
                ("market.fee_rate".into(), "0.1".into()),
                ("simulation.seed".into(), "2".into())
            ]
        );
        let c = parse_axis_flag("simulation.seed=7,8").unwrap();
        let z = points(&[a, c], true).unwrap();
        assert_eq!(z.len(), 2);
        assert_eq!(z[1][1].1, "8");
    }

    fn api(key: &str) -> Source {
        Source::Api(format!("grid[{key:?}]"))
    }

    #[test]
    fn typed_values_are_one_value_each_and_name_the_grid() {
        use toml::Value as V;
        let key = "market.fee_rate";
        let a = Axis::from_values(key, vec![V::String("0.1,0.2".into())], api(key)).unwrap();
        assert_eq!(a.values, vec!["\"0.1,0.2\""]);
        assert_eq!(a.value(0), AxisValue::Typed(&V::String("0.1,0.2".into())));
        let list = V::Array(vec![V::String("research".into()), V::String("x".into())]);
        let a =
            Axis::from_values("data.use_cases", vec![list.clone()], api("data.use_cases")).unwrap();
        assert_eq!(a.values, vec!["\"[\"\"research\"\", \"\"x\"\"]\""]);
        let e = Axis::from_values(key, vec![V::Float(f64::NAN)], api(key))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("grid[\"market.fee_rate\"]") && e.contains("finite"),
            "{e}"
        );
        let e = Axis::from_values(key, vec![V::Float(f64::INFINITY)], api(key))
            .unwrap_err()
            .to_string();
        assert!(e.contains("finite"), "{e}");
        let e = Axis::from_values(key, vec![], api(key))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no values"), "{e}");
        let e = Axis::from_values("market.fee", vec![V::Float(0.1)], api("market.fee"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 'market.fee_rate'"), "{e}");
        let e = Axis::from_values("output.dir", vec![V::String("a".into())], api("output.dir"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot vary"), "{e}");
        let e = Axis::from_values(
            "simulation.activation",
            vec![V::String("a\nb".into())],
            api("x"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line break"), "{e}");
        // A range given as text is a range; anything else is refused, never split.
        let r = Axis::from_range(key, "0.1..0.3:0.1", api(key)).unwrap();
        assert_eq!(r.values, vec!["0.1", "0.2", "0.3"]);
        assert_eq!(r.value(1), AxisValue::Text("0.2"));
        let e = Axis::from_range(key, "0.1,0.2", api(key))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a range"), "{e}");
    }

    #[test]
    fn point_indices_follow_points() {
        let a = parse_axis_flag("market.fee_rate=0.1,0.2").unwrap();
        let b = parse_axis_flag("simulation.seed=1,2,3").unwrap();
        let idx = point_indices(&[a.clone(), b.clone()], false).unwrap();
        let pts = points(&[a, b], false).unwrap();
        assert_eq!(idx.len(), 6);
        assert_eq!(idx[4], vec![1, 1]);
        assert_eq!(pts[4][1].1, "2");
    }

    /// Pass rates by hand: point 0 meets `a` in 3 of 4 runs and both in 2 of 4; point 1
    /// meets `a` in none and `b` in all. Wilson at 95% (z = 1.959964): 3/4 -> [0.30064,
    /// 0.95441], 2/4 -> [0.15004, 0.84996], 0/4 -> [0, 0.48989], 4/4 -> [0.51011, 1].
    #[test]
    fn points_table_counts_passes_and_their_intervals() {
        let runs = "point,market.fee_rate,run,seed,final_price,a,b\n\
                    0,0.1,0,1,1.0,1,1\n0,0.1,1,2,2.0,1,0\n0,0.1,2,3,3.0,1,1\n0,0.1,3,4,,0,1\n\
                    1,0.2,0,1,1.0,0,1\n1,0.2,1,2,1.0,0,1\n1,0.2,2,3,1.0,0,1\n1,0.2,3,4,1.0,0,1\n";
        let mut out = Vec::new();
        points_table(runs.as_bytes(), &["a".into(), "b".into()], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let get = |row: usize, col: &str| -> f64 {
            let at = header
                .iter()
                .position(|c| c == col)
                .unwrap_or_else(|| panic!("{col}"));
            rows[row][at].parse().unwrap()
        };
        assert!(!header.iter().any(|c| c.starts_with("a_mean")));
        assert_eq!(get(0, "final_price_n"), 3.0);
        let close = |a: f64, b: f64| (a - b).abs() < 5e-5;
        assert_eq!(get(0, "a_pass_rate"), 0.75);
        assert!(close(get(0, "a_pass_lo"), 0.30064) && close(get(0, "a_pass_hi"), 0.95441));
        assert_eq!(get(0, "all_pass_rate"), 0.5);
        assert!(close(get(0, "all_pass_lo"), 0.15004) && close(get(0, "all_pass_hi"), 0.84996));
        assert_eq!(get(1, "a_pass_rate"), 0.0);
        assert!(get(1, "a_pass_lo") == 0.0 && close(get(1, "a_pass_hi"), 0.48989));
        assert_eq!(get(1, "b_pass_rate"), 1.0);
        assert!(close(get(1, "b_pass_lo"), 0.51011) && get(1, "b_pass_hi") == 1.0);
        assert_eq!(get(1, "all_pass_rate"), 0.0);
        // The criteria must be the table's last columns.
        let mut out = Vec::new();
        assert!(points_table(runs.as_bytes(), &["b".into(), "a".into()], &mut out).is_err());
    }

    #[test]
    fn every_point_is_in_exactly_one_shard() {
        for total in [0, 1, 5, 17, 100] {
            for n in 1..=7 {
                let mut seen = vec![0; total];
                for k in 1..=n {
                    for p in shard_points(total, Some(ShardIndex { k, n })) {
                        seen[p] += 1;
                    }
                }
                assert!(seen.iter().all(|&c| c == 1), "{total} points, {n} shards");
            }
        }
    }
}
