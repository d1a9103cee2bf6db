//! Work that cannot fit is refused before it starts, as the CLI refuses it: the
//! economy's own estimate (the scenario crate's, the CLI's numbers) plus what only the
//! package holds in memory, the steps table and the transaction log as columns (the
//! package writes no files, so its tables count against memory, not disk). A refusal
//! is a `ResourceError` (a `MemoryError`) naming the settings behind the estimate,
//! where their values came from, the estimate and the limit; `output.allow_huge = True`
//! in `settings` starts anyway, as `--allow-huge` does.
//!
//! The economy's part and the limits (the tightest of `MemAvailable`, the cgroup's room,
//! `ulimit -v` and `ulimit -d`) are `datadao_scenario::limits`, the CLI's own; the
//! per-unit costs below were measured with this package (peak RSS of a child
//! interpreter, `resource.getrusage`, minus the interpreter's own with pandas loaded),
//! and rounded up; see the README's Python section.

use datadao_core::governance::Voting;
use datadao_core::Config;
use datadao_scenario::limits::{self, agent_steps};
use datadao_scenario::settings::Resolved;
use pyo3::prelude::*;

use crate::errors::ResourceError;

/// Peak bytes per cell of the steps table, measured 8.2 (2,000,000 steps x 41 columns
/// of one agent: the columns are handed over one at a time and the DataFrame views
/// them without a copy), doubled for a DataFrame that consolidates its columns.
pub const STEP_CELL_BYTES: u64 = 16;
/// Transaction rows per agent-step, in thousandths: measured 1.29 (default), 1.30
/// (`governed`), 1.26 (`scarce-data`) and 1.74 (`privacy`), rounded up to 2.
pub const TX_ROWS_PER_AGENT_STEP_MILLI: u64 = 2000;
/// Peak bytes per transaction row, measured over the whole call into the DataFrame:
/// 88 (default and `privacy`), 103 (`governed`, whose `agent_id` becomes a nullable
/// column), rounded up.
pub const TX_ROW_BYTES: u64 = 128;

/// The tightest limit `need` bytes on `threads` threads would break, as the CLI finds
/// it (`MemAvailable`, the cgroup's room, `ulimit -v`/`-d`), with the bytes counted
/// against it; `None` if they fit.
fn over_limit(need: u128, threads: u64) -> Option<(u128, String)> {
    limits::exceeded(need, threads).map(|(limit, counted)| (counted, limit.name))
}

/// Threads a run starts: its worker, and with foresight the forks' pool (a core each).
fn threads(c: &Config, copies: u64) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    copies.max(1) + 1 + if foresight(c) { cores } else { 0 }
}

fn bytes(n: u128) -> String {
    limits::bytes(n)
}

fn foresight(c: &Config) -> bool {
    c.governance.enabled && c.governance.voting == Voting::Foresight
}

const POPULATION: &[&str] = &[
    "simulation.initial_agents",
    "simulation.agents_per_entry",
    "simulation.entry_steps",
    "simulation.total_steps",
];

/// The settings behind the economy's size: with foresight votes, the fork's too.
fn population(c: &Config) -> Vec<&'static str> {
    let mut keys = POPULATION.to_vec();
    if foresight(c) {
        keys.extend(["governance.horizon", "governance.fork_agent_steps"]);
    }
    keys
}

/// Refuse `need` bytes for `what` on `threads` threads if they do not fit.
fn refuse_over(r: &Resolved, need: u128, threads: u64, what: &str, keys: &[&str]) -> PyResult<()> {
    if r.settings.output.allow_huge {
        return Ok(());
    }
    if let Some((counted, limit)) = over_limit(need, threads) {
        let err = ResourceError::new_err(format!(
            "{}: {what} need about {} of memory, more than {limit} allows; accepted: a run that fits, or settings={{\"output.allow_huge\": True}} to start anyway",
            limits::culprits(Some(r), keys),
            bytes(counted),
        ));
        let named = limits::culprit_keys(Some(r), keys);
        let named: Vec<&str> = named.iter().map(String::as_str).collect();
        let key = (named.len() == 1).then(|| named[0]);
        return Err(crate::errors::about(err, key, &named));
    }
    Ok(())
}

/// A run: the economy, the steps table, and with `transactions` the log as columns.
pub fn check_run(r: &Resolved, transactions: bool) -> PyResult<()> {
    let c = &r.settings.model;
    // The economy as the CLI estimates it (a foresight fork's copy and who joins during
    // it included), then what only the package holds.
    let (economy, agents, _) = limits::memory_need(c, 1);
    let columns = c.columns(r.settings.output.distribution).len() as u128;
    let steps = u128::from(c.simulation.total_steps) * columns * u128::from(STEP_CELL_BYTES);
    let mut need = economy + steps;
    let mut what = format!(
        "{agents} agents{} and a steps table of {} steps x {columns} columns",
        if foresight(c) {
            " (and a foresight fork's copy of them)"
        } else {
            ""
        },
        c.simulation.total_steps
    );
    if transactions {
        let rows = agent_steps(c) * u128::from(TX_ROWS_PER_AGENT_STEP_MILLI) / 1000;
        need += rows * u128::from(TX_ROW_BYTES);
        what.push_str(&format!(
            " and a transaction log of about {rows} rows ({TX_ROW_BYTES} bytes each; transactions=False leaves it out)"
        ));
    }
    refuse_over(r, need, threads(c, 1), &what, &population(c))
}

/// Points resolved at once: refused before they are built.
pub fn check_points(points: usize) -> PyResult<()> {
    let need = points as u128 * u128::from(limits::BYTES_PER_POINT);
    if let Some((counted, limit)) = over_limit(need, 1) {
        return Err(ResourceError::new_err(format!(
            "the sweep's {points} points need about {} of memory for their settings, more than {limit} allows; accepted: fewer points",
            bytes(counted)
        )));
    }
    Ok(())
}

/// One point of a sweep: `jobs` runs of it at once.
pub fn check_sweep_point(r: &Resolved, jobs: u64) -> PyResult<()> {
    let c = &r.settings.model;
    let (need, agents, _) = limits::memory_need(c, jobs.max(1));
    let what = format!("{agents} agents in each of {jobs} parallel runs");
    refuse_over(r, need, threads(c, jobs), &what, &population(c))
}

/// The sweep's tables, held in memory: a row per run, up to 2,001 per point.
pub fn check_sweep_tables(
    points: &[datadao_scenario::sweep::SweepPoint],
    runs: u64,
    shard: Option<datadao_scenario::sweep::ShardIndex>,
) -> PyResult<()> {
    let mine = datadao_scenario::sweep::shard_points(points.len(), shard);
    let rows = datadao_scenario::sweep::table_rows(points, runs, shard);
    let need = rows * u128::from(limits::SWEEP_ROW_BYTES);
    if let Some((counted, limit)) = over_limit(need, 1) {
        let err = ResourceError::new_err(format!(
            "runs = {runs} (from argument runs=) x {} points: the tables would take about {} of memory, more than {limit} allows; accepted: fewer runs or points, or an executor",
            mine.len(),
            bytes(counted)
        ));
        return Err(err);
    }
    Ok(())
}
