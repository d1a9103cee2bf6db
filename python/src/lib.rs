//! `datadao._native`: the Rust half of the Python package, glue over `datadao-core` and
//! `datadao-scenario`, the crates the CLI runs.
//!
//! Split as py-polars splits its binding: [`conversion`] turns Python arguments into the
//! scenario crate's typed inputs (depth limit, cycle check, every refusal naming the
//! argument), [`errors`] holds the exception classes and maps Rust errors onto them by
//! type, [`collection`] gathers a run's results into whole column buffers,
//! [`background`] runs long work on a thread of its own while the calling thread
//! watches for Ctrl-C, and [`estimate`] refuses work that cannot fit before it starts.
//! This file is the functions Python calls, each conversion and delegation.
//!
//! Settings go through the CLI's own layering (defaults < preset < `settings` < explicit
//! arguments < a sweep point's grid values; no environment, no `.env`). Sweeps and
//! their merge are the scenario crate's, so an executor's shards are checked exactly as
//! `datadao merge` checks a cluster's.

// The scenario crate's refusal is large by design (the value as typed, its sources,
// what is accepted) and travels only on the cold path of a refusal.
#![allow(clippy::result_large_err)]

mod background;
mod collection;
mod conversion;
mod errors;
mod estimate;
mod policy;

use std::sync::atomic::{AtomicU64, Ordering};

use datadao_core::agent_type::TypeNames;
use datadao_core::experiment::{KpiTracker, RunKpis};
use datadao_core::governance::Governable;
use datadao_core::{Action, Economy, StepError, StepMetrics, StopFlag};
use datadao_scenario::flows::FlowDiagram;
use datadao_scenario::settings::{self, Given, Inputs, PresetChoice, Resolved, Source};
use datadao_scenario::{merge, presets, sweep};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use collection::{bytes_of, proposal_table, table, Collect, Column, TxColumns};
use conversion::{from_toml, to_toml};
use errors::{ConfigError, MergeError, ResourceError};

/// A call's arguments as the settings layer's inputs: defaults < preset < `settings` <
/// `explicit` (a sweep point's grid values go on top, `sweep::point_inputs`).
fn inputs(
    preset: Option<&str>,
    settings: &[Given<toml::Value>],
    explicit: &[(&str, toml::Value, &str)],
) -> PyResult<Inputs> {
    let mut typed = settings.to_vec();
    for (key, value, arg) in explicit {
        typed.push(Given::new(
            *key,
            value.clone(),
            Source::Api(format!("argument {arg}=")),
        ));
    }
    Ok(Inputs {
        preset: preset.map(|name| PresetChoice::from(name, Source::Api("argument preset=".into()))),
        typed,
        ..Inputs::default()
    })
}

/// `steps=` and `seed=` as explicit settings, typed like any setting, so `steps=-1` or
/// `steps="ten"` is refused by the settings layer with its message.
fn explicit(
    steps: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(&'static str, toml::Value, &'static str)>> {
    let mut out = Vec::new();
    if let Some(v) = steps.filter(|v| !v.is_none()) {
        let key = "simulation.total_steps";
        out.push((key, to_toml(key, "argument steps=", v)?, "steps"));
    }
    if let Some(v) = seed.filter(|v| !v.is_none()) {
        let key = "simulation.seed";
        out.push((key, to_toml(key, "argument seed=", v)?, "seed"));
    }
    Ok(out)
}

/// The effective settings as a dict of dotted keys, plus `preset` when there is one.
fn config_dict<'py>(py: Python<'py>, resolved: &Resolved) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    if let Some(p) = &resolved.preset {
        dict.set_item("preset", p)?;
    }
    let mut portable = resolved.settings.clone();
    portable.output.dir = ".".into();
    for (k, v) in settings::flat(&portable) {
        dict.set_item(k, from_toml(py, &v)?)?;
    }
    Ok(dict)
}

/// The named presets as (name, summary) pairs.
#[pyfunction]
fn presets_list() -> Vec<(&'static str, &'static str)> {
    presets::PRESETS
        .iter()
        .map(|p| (p.name, p.summary))
        .collect()
}

/// Every setting as a dict of dotted keys.
#[pyfunction]
#[pyo3(signature = (preset=None, settings=None))]
fn config<'py>(
    py: Python<'py>,
    preset: Option<&Bound<'py, PyAny>>,
    settings: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let preset = conversion::preset_name(preset)?;
    let typed = conversion::settings_values(settings)?;
    let inputs = inputs(preset.as_deref(), &typed, &[])?;
    let resolved = settings::resolve(&inputs).map_err(errors::scenario)?;
    config_dict(py, &resolved)
}

/// Run a simulation into columns. `progress(steps_done)` is called about every 50 ms.
#[pyfunction]
#[pyo3(signature = (preset=None, settings=None, steps=None, seed=None, transactions=None, audit=None, progress=None, policies=None))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    preset: Option<&Bound<'py, PyAny>>,
    settings: Option<&Bound<'py, PyAny>>,
    steps: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    transactions: Option<&Bound<'py, PyAny>>,
    audit: Option<&Bound<'py, PyAny>>,
    progress: Option<&Bound<'py, PyAny>>,
    policies: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let preset = conversion::preset_name(preset)?;
    let typed = conversion::settings_values(settings)?;
    let transactions = match transactions {
        Some(v) if !v.is_none() => conversion::flag("transactions", v)?,
        _ => false,
    };
    let audit = match audit {
        Some(v) if !v.is_none() => conversion::flag("audit", v)?,
        _ => false,
    };
    let mut args = explicit(steps, seed)?;
    if audit {
        args.push(("simulation.audit", toml::Value::Boolean(true), "audit"));
    }
    let inputs = inputs(preset.as_deref(), &typed, &args)?;
    let resolved = settings::resolve(&inputs).map_err(errors::scenario)?;
    // Before any work: what the run will hold in memory, against the tightest limit.
    estimate::check_run(&resolved, transactions)?;

    let model = resolved.settings.model.clone();
    let total = model.simulation.total_steps;
    let use_cases = model.data.use_cases.clone();
    let governed = model.governance.enabled;
    let has_events = !model.events.is_empty();
    let mut economy = Economy::new(model).map_err(|e| errors::config(e.into()))?;
    let types = economy.types();
    let wealth = resolved.settings.output.distribution;
    economy
        .set_measure_wealth(wealth)
        .map_err(|e| errors::config(e.into()))?;
    let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
    if let Some(policies) = policies {
        let use_cases: std::sync::Arc<[String]> = use_cases.clone().into();
        for (name, callable) in policies.iter() {
            let name: String = name.extract()?;
            let kind = policy_type(&types, &name, &callable)?;
            let policy = policy::PyPolicy {
                callable: callable.unbind(),
                use_cases: std::sync::Arc::clone(&use_cases),
                failure: std::sync::Arc::clone(&failure),
            };
            economy
                .set_policy(kind, std::sync::Arc::new(policy))
                .map_err(|e| errors::config(e.into()))?;
        }
    }
    let stop = StopFlag::new();
    economy.set_stop(stop.clone());
    let mut sink = Collect {
        names: resolved.settings.model.columns(wealth),
        columns: Vec::new(),
        tx: transactions.then(TxColumns::default),
        proposals: governed.then(Vec::new),
        use_cases: use_cases.clone(),
        type_count: types.len(),
        stats: KpiTracker::default(),
        rows: 0,
        refused: None,
        stop: stop.clone(),
    };
    if let Some(tx) = &mut sink.tx {
        tx.details.push(String::new());
    }
    if let Some(cb) = progress {
        start_progress(cb, total)?;
    }
    let done = AtomicU64::new(0);
    let mut last = None;
    let outcome = background::run(py, progress, &done, &stop, || {
        for _ in 0..total {
            last = Some(economy.step(&mut sink)?);
            done.fetch_add(1, Ordering::Relaxed);
            if sink.refused.is_some() {
                break;
            }
        }
        Ok::<_, StepError>(())
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // Ctrl-C: freeing millions of agents takes a tenth of a second or more, so
            // it happens on a thread of its own while the exception is raised.
            let _ = std::thread::Builder::new()
                .name("datadao-drop".into())
                .spawn(move || drop((economy, sink)));
            return Err(e);
        }
    };
    if let Some((what, bytes)) = sink.refused {
        return Err(errors::out_of_memory(what, bytes));
    }
    if let Err(e) = outcome {
        // A policy's own exception, with its traceback, rather than its message.
        if let StepError::Policy(_) = e {
            if let Some(err) = failure.lock().ok().and_then(|mut slot| slot.take()) {
                return Err(err);
            }
        }
        return Err(errors::step(e.clone(), &e.to_string()));
    }
    let flows = last
        .as_ref()
        .map(|m| FlowDiagram::new(economy.flows(), m, &types));
    let agents = match &last {
        Some(m) => Some(agent_table(py, &economy, m)?),
        None => None,
    };
    drop(economy);

    let out = PyDict::new(py);
    let rows = PyList::empty(py);
    for (d, l) in flows
        .iter()
        .flat_map(|d| d.links.iter().map(move |l| (d, l)))
    {
        let row = PyDict::new(py);
        row.set_item("from", &d.nodes[l.from].id)?;
        row.set_item("to", &d.nodes[l.to].id)?;
        row.set_item("token", l.token.unit())?;
        row.set_item("amount", l.value)?;
        rows.append(row)?;
    }
    out.set_item("flows", rows)?;
    match agents {
        Some(t) => out.set_item("agents", t)?,
        None => out.set_item("agents", py.None())?,
    }
    let mut data: Vec<(&'static str, Py<PyAny>)> = Vec::with_capacity(sink.columns.len());
    for c in std::mem::take(&mut sink.columns) {
        py.check_signals()?;
        // Each column is dropped once Python holds its copy.
        data.push(match c {
            Column::Int(v) => ("i8", bytes_of(py, &v, i64::to_le_bytes)?),
            Column::Float(v) => ("f8", bytes_of(py, &v, f64::to_le_bytes)?),
        });
    }
    out.set_item("steps", table(py, sink.names.clone(), data, Vec::new())?)?;
    match sink.tx.take() {
        Some(mut tx) => {
            let names: Vec<String> = datadao_log::TRANSACTION_COLUMNS
                .trim()
                .split(',')
                .map(str::to_string)
                .collect();
            // Ctrl-C is looked for between columns: a log of a billion rows takes seconds.
            let f = |v: Vec<f64>| {
                py.check_signals()?;
                bytes_of(py, &v, f64::to_le_bytes).map(|b| ("f8", b))
            };
            let i = |v: Vec<i64>| {
                py.check_signals()?;
                bytes_of(py, &v, i64::to_le_bytes).map(|b| ("i8", b))
            };
            let [ddt, xdai, lp, ddt_balance, xdai_balance, price] = std::mem::take(&mut tx.amounts);
            let data = vec![
                i(std::mem::take(&mut tx.step))?,
                i(std::mem::take(&mut tx.seq))?,
                i(std::mem::take(&mut tx.agent_id))?,
                (
                    "u1",
                    PyBytes::new(py, &std::mem::take(&mut tx.agent_type))
                        .into_any()
                        .unbind(),
                ),
                (
                    "u1",
                    PyBytes::new(py, &std::mem::take(&mut tx.action))
                        .into_any()
                        .unbind(),
                ),
                f(ddt)?,
                f(xdai)?,
                f(lp)?,
                f(ddt_balance)?,
                f(xdai_balance)?,
                f(price)?,
                (
                    "u4",
                    bytes_of(py, &std::mem::take(&mut tx.detail), u32::to_le_bytes)?,
                ),
            ];
            let categories = vec![
                (
                    "agent_type".to_string(),
                    types
                        .names()
                        .iter()
                        .cloned()
                        .chain((governed || has_events).then(|| "treasury".to_string()))
                        .chain(has_events.then(|| "event".to_string()))
                        .collect(),
                ),
                (
                    "action".to_string(),
                    Action::ALL.iter().map(|a| a.name().to_string()).collect(),
                ),
                ("detail".to_string(), tx.details.clone()),
            ];
            out.set_item("transactions", table(py, names, data, categories)?)?;
        }
        None => out.set_item("transactions", py.None())?,
    }
    match &sink.proposals {
        Some(rows) => out.set_item("governance", proposal_table(py, rows)?)?,
        None => out.set_item("governance", py.None())?,
    }
    out.set_item("config", config_dict(py, &resolved)?)?;
    out.set_item(
        "summary",
        summary(
            py,
            &sink.stats.kpis(),
            transactions.then_some(sink.rows),
            &types,
        )?,
    )?;
    Ok(out)
}

/// The type a policy given for `name` drives, or why not.
fn policy_type(
    types: &TypeNames,
    name: &str,
    callable: &Bound<'_, PyAny>,
) -> PyResult<datadao_core::AgentType> {
    let key = format!("agents.{name}.policy");
    let Some(kind) = types.find(name) else {
        return Err(ConfigError::new_err(format!(
            "invalid setting {key} (from argument agents=): no type '{name}' in the scenario; accepted: a policy for a declared type (give it a share)"
        )));
    };
    if !callable.is_callable() {
        return Err(ConfigError::new_err(format!(
            "invalid setting {key} = {callable} (from argument agents=): accepted: a callable f(o) returning a list of actions"
        )));
    }
    Ok(kind)
}

/// `agents.csv` as column buffers: every agent at the end of the run.
fn agent_table<'py>(
    py: Python<'py>,
    economy: &Economy,
    last: &StepMetrics,
) -> PyResult<Bound<'py, PyDict>> {
    let (mut ints, mut kinds) = ([Vec::new(), Vec::new()], Vec::new());
    let mut floats: [Vec<f64>; 8] = Default::default();
    let leaves = economy.agents_may_leave();
    let mut left = Vec::new();
    economy.agent_rows(|r| {
        if leaves {
            left.push(r.left_step.map_or(f64::NAN, f64::from));
        }
        ints[0].push(i64::from(r.agent_id));
        ints[1].push(i64::from(r.joined_step));
        kinds.push(r.kind.index() as u8);
        let wealth = r
            .wealth_xdai(
                last.price,
                last.lp_ddt_reserve,
                last.lp_xdai_reserve,
                last.lp_supply,
            )
            .unwrap_or(f64::NAN);
        let values = [
            r.ddt,
            r.xdai,
            r.lp,
            r.crc,
            r.crc_locked,
            r.weight,
            r.pie_received_total,
            wealth,
        ];
        for (column, v) in floats.iter_mut().zip(values) {
            column.push(v);
        }
    });
    let mut names: Vec<String> = datadao_scenario::agent_table::COLUMNS
        .split(',')
        .map(str::to_string)
        .collect();
    let [ids, joined] = ints;
    let mut data = vec![
        ("i8", bytes_of(py, &ids, i64::to_le_bytes)?),
        ("u1", PyBytes::new(py, &kinds).into_any().unbind()),
        ("i8", bytes_of(py, &joined, i64::to_le_bytes)?),
    ];
    for column in floats {
        data.push(("f8", bytes_of(py, &column, f64::to_le_bytes)?));
    }
    if leaves {
        // NaN for those still present: the step as a float, as pandas holds a gap.
        names.push(datadao_scenario::agent_table::LEFT_COLUMN.to_string());
        data.push(("f8", bytes_of(py, &left, f64::to_le_bytes)?));
    }
    let types = ("type".to_string(), economy.types().names().to_vec());
    table(py, names, data, vec![types])
}

/// The figures the CLI's summary prints, by name: the core's `KpiTracker` figures.
fn summary<'py>(
    py: Python<'py>,
    s: &RunKpis,
    rows: Option<u64>,
    types: &TypeNames,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let Some(last_step) = s.last_step else {
        return Ok(d);
    };
    d.set_item("steps", u64::from(last_step) + 1)?;
    d.set_item("final_price", s.final_price)?;
    d.set_item("min_price", s.min_price)?;
    d.set_item("min_price_step", s.min_price_step)?;
    d.set_item("max_price", s.max_price)?;
    d.set_item("max_price_step", s.max_price_step)?;
    d.set_item("pool_ddt", s.final_ddt_reserve)?;
    d.set_item("pool_xdai", s.final_xdai_reserve)?;
    d.set_item("pie_ddt", s.final_pie)?;
    d.set_item("pie_inflow_ddt", s.pie_inflow)?;
    d.set_item("pie_distributed_ddt", s.pie_distributed)?;
    d.set_item("ddt_supply", s.ddt_supply)?;
    d.set_item("volume_xdai", s.volume_xdai)?;
    d.set_item("agents", s.final_agents.iter().sum::<u64>())?;
    for (t, n) in types.types().zip(&s.final_agents) {
        d.set_item(format!("agents_{}", types.name(t)), n)?;
    }
    d.set_item("transactions", rows)?;
    // The CLI's governance lines, in governed runs only (as there).
    if let Some(g) = &s.final_governance {
        d.set_item("proposals", g.proposals)?;
        d.set_item("proposals_passed", g.proposals_passed)?;
        d.set_item("treasury_ddt", g.treasury_ddt)?;
        d.set_item("treasury_xdai", g.treasury_xdai)?;
        d.set_item("treasury_lp", g.treasury_lp)?;
        d.set_item("ddt_burned", g.ddt_burned)?;
        d.set_item("backing_ratio", g.backing_ratio)?;
        for setting in Governable::ALL {
            d.set_item(setting.column(), g.settings.get(setting))?;
        }
    }
    Ok(d)
}

/// Tell a progress callback how much work there is (`progress.start(total)`), if it
/// wants to know.
fn start_progress(cb: &Bound<'_, PyAny>, total: u64) -> PyResult<()> {
    if cb.hasattr("start")? {
        cb.call_method1("start", (total,))?;
    }
    Ok(())
}

/// A sweep's arguments checked and every point resolved, before any run.
struct Prepared {
    plan: sweep::Plan,
    base: Resolved,
    zip: bool,
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    grid: Option<&Bound<'_, PyAny>>,
    runs: &Bound<'_, PyAny>,
    preset: Option<&Bound<'_, PyAny>>,
    settings: Option<&Bound<'_, PyAny>>,
    steps: Option<&Bound<'_, PyAny>>,
    zip: Option<&Bound<'_, PyAny>>,
    jobs: Option<&Bound<'_, PyAny>>,
    shard: Option<(usize, usize)>,
    criteria: Option<&Bound<'_, PyAny>>,
) -> PyResult<Prepared> {
    let py = runs.py();
    let runs = conversion::count("runs", runs, 1, i64::MAX as u64)?;
    let zip = match zip {
        Some(v) if !v.is_none() => conversion::flag("zip", v)?,
        _ => false,
    };
    let jobs = match jobs.filter(|j| !j.is_none()) {
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(j) => conversion::count("jobs", j, 1, 1024)? as usize,
    };
    let preset = conversion::preset_name(preset)?;
    let typed = conversion::settings_values(settings)?;
    let axes = conversion::grid_axes(grid)?;
    let args = explicit(steps, None)?;
    // What every point shares; each point's grid values go on top.
    let mut shared = inputs(preset.as_deref(), &typed, &args)?;
    shared.criteria = conversion::criteria_values(criteria)?;
    let base = settings::resolve(&shared).map_err(errors::scenario)?;
    let indices = sweep::point_indices(&axes, zip).map_err(errors::scenario)?;
    let shard = match shard {
        Some((k, n)) => Some(
            sweep::ShardIndex::of(k, n, indices.len(), &format!("argument shard=({k}, {n})"))
                .map_err(errors::scenario)?,
        ),
        None => None,
    };
    estimate::check_points(indices.len())?;
    let mut points = Vec::with_capacity(indices.len());
    for (n, index) in indices.into_iter().enumerate() {
        // A million points take a while to resolve: Ctrl-C is looked for meanwhile.
        if n % 64 == 63 {
            py.check_signals()?;
        }
        let point = settings::resolve(&sweep::point_inputs(&shared, &axes, &index))
            .map_err(errors::scenario)?;
        estimate::check_sweep_point(&point, jobs as u64)?;
        points.push(sweep::SweepPoint {
            values: sweep::point_values(&axes, &index),
            config: point.settings.model,
        });
    }
    estimate::check_sweep_tables(&points, runs, shard)?;
    let plan = sweep::Plan {
        axes,
        points,
        runs,
        jobs,
        shard,
        criteria: base.settings.criteria.clone(),
        policies: Vec::new(),
    };
    sweep::check_criteria(&plan, &|c| base.criterion_source(&c.name)).map_err(errors::scenario)?;
    Ok(Prepared { plan, base, zip })
}

/// How many shards an executor cuts a sweep into: `shards` (at least 1, at most one per
/// point), by default one per point up to `sweep::DEFAULT_MAX_SHARDS`. Every point is
/// resolved and checked first, so nothing is shipped that a worker would refuse (nothing
/// is run).
#[pyfunction]
#[pyo3(signature = (grid, runs=None, preset=None, settings=None, steps=None, zip=None, jobs=None, shards=None, criteria=None))]
#[allow(clippy::too_many_arguments)]
fn sweep_shards<'py>(
    py: Python<'py>,
    grid: Option<&Bound<'py, PyAny>>,
    runs: Option<&Bound<'py, PyAny>>,
    preset: Option<&Bound<'py, PyAny>>,
    settings: Option<&Bound<'py, PyAny>>,
    steps: Option<&Bound<'py, PyAny>>,
    zip: Option<&Bound<'py, PyAny>>,
    jobs: Option<&Bound<'py, PyAny>>,
    shards: Option<&Bound<'py, PyAny>>,
    criteria: Option<&Bound<'py, PyAny>>,
) -> PyResult<usize> {
    let requested = match shards.filter(|s| !s.is_none()) {
        None => None,
        Some(s) => Some(conversion::count("shards", s, 1, u64::MAX)? as usize),
    };
    let one = 1u8.into_pyobject(py)?.into_any();
    let runs = runs.unwrap_or(&one);
    let points = prepare(
        grid, runs, preset, settings, steps, zip, jobs, None, criteria,
    )?
    .plan
    .points
    .len();
    Ok(sweep::ShardIndex::count(points, requested))
}

/// Run a sweep (or shard `k` of `n`) and return `(sweep_runs.csv, sweep_series.csv,
/// shard.toml, sweep.toml)`: the CLI's tables as bytes, and the texts `merge_shards`
/// checks the shards with (`shard.toml` is `None` without a shard).
#[pyfunction]
#[pyo3(signature = (grid, runs, preset=None, settings=None, steps=None, zip=None, jobs=None, shard=None, progress=None, policies=None, criteria=None))]
#[allow(clippy::too_many_arguments)]
fn sweep_tables<'py>(
    py: Python<'py>,
    grid: Option<&Bound<'py, PyAny>>,
    runs: &Bound<'py, PyAny>,
    preset: Option<&Bound<'py, PyAny>>,
    settings: Option<&Bound<'py, PyAny>>,
    steps: Option<&Bound<'py, PyAny>>,
    zip: Option<&Bound<'py, PyAny>>,
    jobs: Option<&Bound<'py, PyAny>>,
    shard: Option<(usize, usize)>,
    progress: Option<&Bound<'py, PyAny>>,
    policies: Option<&Bound<'py, PyDict>>,
    criteria: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let mut p = prepare(
        grid, runs, preset, settings, steps, zip, jobs, shard, criteria,
    )?;
    let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
    if let Some(policies) = policies {
        let types = sweep::plan_types(&p.plan);
        let use_cases: std::sync::Arc<[String]> = p
            .plan
            .points
            .first()
            .map(|pt| pt.config.data.use_cases.clone())
            .unwrap_or_default()
            .into();
        for (name, callable) in policies.iter() {
            let name: String = name.extract()?;
            let kind = policy_type(&types, &name, &callable)?;
            let source = policy::PySource {
                callable: callable.unbind(),
                use_cases: std::sync::Arc::clone(&use_cases),
                failure: std::sync::Arc::clone(&failure),
            };
            p.plan.policies.push((kind, std::sync::Arc::new(source)));
        }
    }
    let plan = &p.plan;
    if let Some(cb) = progress {
        let mine = sweep::shard_points(plan.points.len(), plan.shard).len() as u64;
        start_progress(cb, mine.saturating_mul(plan.runs))?;
    }
    let stop = StopFlag::new();
    let finished = AtomicU64::new(0);
    let on_run = || {
        finished.fetch_add(1, Ordering::Relaxed);
    };
    let (runs_csv, series_csv) = background::run(py, progress, &finished, &stop, || {
        let mut runs_out = Vec::new();
        let mut series_out = Vec::new();
        sweep::execute_until(plan, &mut runs_out, &mut series_out, &on_run, &stop)?;
        Ok::<_, anyhow::Error>((runs_out, series_out))
    })?
    .map_err(|e| {
        // A policy's own exception, with its traceback, rather than its message.
        match failure.lock().ok().and_then(|mut slot| slot.take()) {
            Some(err) => err,
            None => errors::work(e),
        }
    })?;
    let shard_toml = plan.shard.map(|s| merge::shard_toml(s, plan.points.len()));
    let sweep_toml = merge::sweep_toml(plan.runs, p.zip, &plan.axes, &p.base.settings);
    PyTuple::new(
        py,
        [
            PyBytes::new(py, &runs_csv).into_any(),
            PyBytes::new(py, &series_csv).into_any(),
            shard_toml.into_pyobject(py)?.into_any(),
            sweep_toml.into_pyobject(py)?.into_any(),
        ],
    )
}

/// Text of one part of an executor's result, for the merge.
fn part_text(label: &str, what: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    let bytes: Vec<u8> = if v.is_instance_of::<PyString>() {
        v.extract::<String>()?.into_bytes()
    } else if let Ok(b) = v.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        return Err(MergeError::new_err(format!(
            "{label}: {what} is {}; accepted: what datadao's sweep_tables returned",
            conversion::describe(v)
        )));
    };
    String::from_utf8(bytes)
        .map_err(|_| MergeError::new_err(format!("{label}: {what} is not UTF-8 text")))
}

/// Merge what an executor's workers returned (each `sweep_tables(..., shard=(k, n))`'s
/// tuple, in the order the shards were submitted) with every check of `datadao
/// merge`; returns `(sweep_runs.csv, sweep_series.csv)` as bytes.
#[pyfunction]
fn merge_shards<'py>(
    py: Python<'py>,
    results: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let items: Vec<Bound<'py, PyAny>> = results.try_iter()?.collect::<PyResult<_>>()?;
    let n = items.len();
    let mut shards = Vec::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        let label = format!("the executor's result for shard {} of {n}", i + 1);
        let parts: Vec<Bound<'py, PyAny>> = match item.cast::<PyTuple>() {
            Ok(t) if t.len() == 4 => t.iter().collect(),
            _ => {
                return Err(MergeError::new_err(format!(
                    "{label}: {}; accepted: the 4-tuple sweep_tables returns",
                    conversion::describe(item)
                )))
            }
        };
        if parts[2].is_none() {
            return Err(MergeError::new_err(format!(
                "{label}: not a shard (no shard.toml); accepted: sweep_tables(..., shard=(k, n))"
            )));
        }
        shards.push(merge::Shard {
            origin: merge::Origin::Label(label.clone()),
            runs_csv: part_text(&label, sweep::RUNS_FILE, &parts[0])?,
            series_csv: part_text(&label, sweep::SERIES_FILE, &parts[1])?,
            shard_toml: part_text(&label, merge::SHARD_FILE, &parts[2])?,
            sweep_toml: part_text(&label, merge::SWEEP_FILE, &parts[3])?,
        });
    }
    let merged = py
        .detach(|| merge::merge(&shards))
        .map_err(errors::scenario)?;
    Ok((
        PyBytes::new(py, merged.runs_csv.as_bytes()),
        PyBytes::new(py, merged.series_csv.as_bytes()),
    ))
}

/// `sweep_points.csv` of a sweep from its `sweep_runs.csv` (bytes): per point, each
/// KPI's mean, 5/50/95th percentiles and count over its runs, and each criterion's pass
/// rate with its Wilson interval, as `datadao sweep` writes it.
#[pyfunction]
#[pyo3(signature = (runs_csv, criteria=None))]
fn points_table<'py>(
    py: Python<'py>,
    runs_csv: &[u8],
    criteria: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let given = settings::resolve(&Inputs {
        criteria: conversion::criteria_values(criteria)?,
        ..Inputs::default()
    })
    .map_err(errors::scenario)?;
    let names: Vec<String> = given
        .settings
        .criteria
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let mut out = Vec::new();
    py.detach(|| sweep::points_table(runs_csv, &names, &mut out))
        .map_err(|e| errors::work(e.into()))?;
    Ok(PyBytes::new(py, &out))
}

/// Each agent type's colour as `#rrggbb`, the palette of every datadao figure: the seed's
/// five, then a scenario's own types (`own`) in the order a run gives them, by name.
#[pyfunction]
#[pyo3(signature = (own = Vec::new()))]
fn type_colors(own: Vec<String>) -> PyResult<Vec<(String, String)>> {
    let room = datadao_core::agent_type::MAX_TYPES - datadao_core::AgentType::SEED.len();
    let mut own: Vec<String> = own
        .into_iter()
        .filter(|n| !datadao_core::AgentType::SEED_NAMES.contains(&n.as_str()))
        .collect();
    own.sort();
    own.dedup();
    if own.len() > room {
        return Err(ConfigError::new_err(format!(
            "palette: {} types of a scenario's own given; accepted: at most {room} (with the seed's five, {} in all)",
            own.len(),
            datadao_core::agent_type::MAX_TYPES
        )));
    }
    let types = TypeNames::with_custom(own.iter().map(String::as_str));
    Ok(datadao_scenario::palette::type_colors(&types))
}

/// The Rust half of the `datadao` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("ResourceError", py.get_type::<ResourceError>())?;
    m.add("MergeError", py.get_type::<MergeError>())?;
    errors::set_class_defaults(py)?;
    m.add_function(wrap_pyfunction!(presets_list, m)?)?;
    m.add_function(wrap_pyfunction!(config, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_shards, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_tables, m)?)?;
    m.add_function(wrap_pyfunction!(merge_shards, m)?)?;
    m.add_function(wrap_pyfunction!(points_table, m)?)?;
    m.add_function(wrap_pyfunction!(type_colors, m)?)?;
    m.add("MAX_DEPTH", conversion::MAX_DEPTH)?;
    m.add("POLL_SECONDS", background::POLL.as_secs_f64())?;
    Ok(())
}
