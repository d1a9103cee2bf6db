//! `datadao._native`: the Rust half of the Python package, glue over `datadao-core` and
//! `datadao-scenario`, the crates the CLI runs.
//!
//! Settings go through the CLI's own layering (defaults < preset < `settings` < explicit
//! arguments; no environment, no `.env`), so a refusal reads as the CLI's does and is
//! raised as `ConfigError` (a `ValueError`). Results cross into Python as whole column
//! buffers (`bytes` of little-endian `i64`/`f64`, plus categories for text), which the
//! Python half turns into NumPy arrays and DataFrames without a per-row step. Long work
//! runs with the GIL released and stops promptly on Ctrl-C (`KeyboardInterrupt`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use datadao_core::governance::{Field, Governable, ProposalRecord};
use datadao_core::{Action, AgentType, Cell, Detail, Economy, Observer, StepMetrics, Transaction};
use datadao_scenario::settings::{self, Inputs, Resolved, Source};
use datadao_scenario::summary::RunStats;
use datadao_scenario::{presets, sweep};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

pyo3::create_exception!(
    _native,
    ConfigError,
    PyValueError,
    "A setting datadao cannot use: the message names the setting, the value, where it came from and what is accepted."
);

/// Steps run between two looks at Ctrl-C and the progress bar.
const STEPS_PER_CHUNK: u64 = 32;

fn config_error(e: anyhow::Error) -> PyErr {
    ConfigError::new_err(format!("{e:#}"))
}

/// A Python value as the TOML value the settings layer checks.
fn to_toml(key: &str, v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() || v.hasattr("__index__")? && !v.is_instance_of::<PyFloat>() {
        return match v.extract::<i64>() {
            Ok(i) => Ok(toml::Value::Integer(i)),
            Err(_) => Err(ConfigError::new_err(format!(
                "invalid setting {key} = '{v}' (from settings[{key:?}]): accepted: a whole number from -9223372036854775808 to 9223372036854775807"
            ))),
        };
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(toml::Value::Float(f));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: PyResult<Vec<toml::Value>> =
            v.try_iter()?.map(|item| to_toml(key, &item?)).collect();
        return Ok(toml::Value::Array(items?));
    }
    Err(ConfigError::new_err(format!(
        "invalid setting {key} = {} (from settings[{key:?}]): accepted: a bool, int, float, str or list",
        v.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
    )))
}

/// A TOML value as a Python object.
fn from_toml(py: Python<'_>, v: &toml::Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        toml::Value::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        toml::Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_toml(py, item)?)?;
            }
            list.into_any().unbind()
        }
        other => other.to_string().into_pyobject(py)?.into_any().unbind(),
    })
}

/// A call's arguments as the settings layer's inputs: defaults < preset < `settings` <
/// `explicit` < `flags` (a sweep point's axis values, as text like `--grid` values).
fn inputs(
    preset: Option<&str>,
    settings: Option<&Bound<'_, PyDict>>,
    explicit: &[(&str, toml::Value, &str)],
    flags: Vec<(String, String, Source)>,
) -> PyResult<Inputs> {
    let preset = match preset {
        Some(name) => {
            let p = presets::find(name).map_err(ConfigError::new_err)?;
            Some((p.name.to_string(), p.toml.to_string()))
        }
        None => None,
    };
    let mut typed = Vec::new();
    if let Some(dict) = settings {
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| {
                ConfigError::new_err(format!(
                    "settings key {k}: accepted: a dotted setting name as text, e.g. \"market.fee_rate\""
                ))
            })?;
            let value = to_toml(&key, &v)?;
            typed.push((
                key.clone(),
                value,
                Source::Api(format!("settings[{key:?}]")),
            ));
        }
    }
    for (key, value, arg) in explicit {
        typed.push((
            key.to_string(),
            value.clone(),
            Source::Api(format!("argument {arg}=")),
        ));
    }
    Ok(Inputs {
        preset,
        typed,
        flags,
        ..Inputs::default()
    })
}

/// Layer a call's arguments: defaults < preset < `settings` < `explicit`.
fn resolve(
    preset: Option<&str>,
    settings: Option<&Bound<'_, PyDict>>,
    explicit: Vec<(&str, toml::Value, &str)>,
) -> PyResult<Resolved> {
    settings::resolve(&inputs(preset, settings, &explicit, Vec::new())?).map_err(config_error)
}

/// `steps=` and `seed=` as explicit settings.
fn explicit(
    steps: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(&'static str, toml::Value, &'static str)>> {
    // Typed like any setting, so `steps=-1` or `steps="ten"` is refused by the settings
    // layer with its message, never by a conversion error.
    let mut out = Vec::new();
    if let Some(v) = steps.filter(|v| !v.is_none()) {
        out.push((
            "simulation.total_steps",
            to_toml("simulation.total_steps", v)?,
            "steps",
        ));
    }
    if let Some(v) = seed.filter(|v| !v.is_none()) {
        out.push(("simulation.seed", to_toml("simulation.seed", v)?, "seed"));
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
    preset: Option<&str>,
    settings: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let resolved = resolve(preset, settings, Vec::new())?;
    config_dict(py, &resolved)
}

/// One column of `simulation_data.csv`.
enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

/// The transaction log as columns; text columns as category codes.
#[derive(Default)]
struct TxColumns {
    step: Vec<i64>,
    seq: Vec<i64>,
    agent_id: Vec<i64>,
    agent_type: Vec<u8>,
    action: Vec<u8>,
    amounts: [Vec<f64>; 6],
    detail: Vec<u32>,
    details: Vec<String>,
    detail_codes: HashMap<Vec<u8>, u32>,
    scratch: Vec<u8>,
}

impl TxColumns {
    fn detail_code(&mut self, detail: &Detail, use_cases: &[String]) -> u32 {
        self.scratch.clear();
        datadao_log::spell_detail(&mut self.scratch, detail, use_cases);
        if let Some(&code) = self.detail_codes.get(&self.scratch) {
            return code;
        }
        let code = self.details.len() as u32;
        self.details
            .push(String::from_utf8_lossy(&self.scratch).into_owned());
        self.detail_codes.insert(self.scratch.clone(), code);
        code
    }
}

/// The observer a Python run uses: columns, not files.
struct Collect {
    names: Vec<String>,
    columns: Vec<Column>,
    tx: Option<TxColumns>,
    /// `governance.csv`'s rows, in governed runs.
    proposals: Option<Vec<Vec<Field>>>,
    use_cases: Vec<String>,
    stats: RunStats,
    rows: u64,
}

impl Observer for Collect {
    fn wants_transactions(&self) -> bool {
        self.tx.is_some()
    }

    fn on_transaction(&mut self, t: &Transaction) {
        let use_cases = &self.use_cases;
        if let Some(c) = &mut self.tx {
            c.step.push(i64::from(t.step));
            c.seq.push(t.seq as i64);
            if t.by_treasury {
                // The treasury has no id; its type code is the one after the agents'.
                c.agent_id.push(-1);
                c.agent_type.push(AgentType::ALL.len() as u8);
            } else {
                c.agent_id.push(i64::from(t.agent_id));
                c.agent_type.push(t.agent_type as u8);
            }
            c.action.push(t.action as u8);
            let price = t.price.unwrap_or(f64::NAN);
            for (col, v) in c.amounts.iter_mut().zip([
                t.ddt,
                t.xdai,
                t.lp,
                t.ddt_balance,
                t.xdai_balance,
                price,
            ]) {
                col.push(v);
            }
            let code = match t.detail {
                Detail::None => 0,
                ref d => c.detail_code(d, use_cases),
            };
            c.detail.push(code);
            self.rows += 1;
        }
    }

    fn on_step(&mut self, m: &StepMetrics) {
        let cells = m.cells();
        if self.columns.is_empty() {
            self.columns = cells
                .iter()
                .map(|c| match c {
                    Cell::Int(_) => Column::Int(Vec::new()),
                    _ => Column::Float(Vec::new()),
                })
                .collect();
        }
        for (col, cell) in self.columns.iter_mut().zip(cells) {
            match (col, cell) {
                (Column::Int(v), Cell::Int(i)) => v.push(i as i64),
                (Column::Float(v), Cell::Float(f)) => v.push(f),
                (Column::Float(v), _) => v.push(f64::NAN),
                (Column::Int(v), _) => v.push(0),
            }
        }
        self.stats.update(m);
    }

    fn on_proposal(&mut self, record: &ProposalRecord) {
        if let Some(rows) = &mut self.proposals {
            rows.push(record.fields());
        }
    }
}

/// `governance.csv` as a dict of column lists (floats, ints, text, bools, `None`).
fn proposal_table<'py>(py: Python<'py>, rows: &[Vec<Field>]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (n, name) in ProposalRecord::columns().iter().enumerate() {
        let column = PyList::empty(py);
        for row in rows {
            match row[n] {
                Field::Int(i) => column.append(i)?,
                Field::Float(f) => column.append(f)?,
                Field::Text(t) => column.append(t)?,
                Field::Bool(b) => column.append(b)?,
                Field::Empty => column.append(py.None())?,
            }
        }
        d.set_item(name, column)?;
    }
    Ok(d)
}

fn bytes_of<T: Copy>(py: Python<'_>, values: &[T], to_le: impl Fn(T) -> [u8; 8]) -> Py<PyAny> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for &v in values {
        out.extend_from_slice(&to_le(v));
    }
    PyBytes::new(py, &out).into_any().unbind()
}

/// `{"names": [...], "kinds": ["i8"|"f8"|"u1"|"u4", ...], "data": [bytes, ...],
/// "categories": {name: [text, ...]}}`: a table as whole buffers.
fn table<'py>(
    py: Python<'py>,
    names: Vec<String>,
    data: Vec<(&'static str, Py<PyAny>)>,
    categories: Vec<(String, Vec<String>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("names", names)?;
    let (kinds, buffers): (Vec<&str>, Vec<Py<PyAny>>) = data.into_iter().unzip();
    d.set_item("kinds", kinds)?;
    d.set_item("data", buffers)?;
    let cats = PyDict::new(py);
    for (name, values) in categories {
        cats.set_item(name, values)?;
    }
    d.set_item("categories", cats)?;
    Ok(d)
}

/// Run a simulation into columns. `progress(steps_done)` is called between chunks.
#[pyfunction]
#[pyo3(signature = (preset=None, settings=None, steps=None, seed=None, transactions=false, audit=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    preset: Option<&str>,
    settings: Option<&Bound<'py, PyDict>>,
    steps: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    transactions: bool,
    audit: bool,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut args = explicit(steps, seed)?;
    if audit {
        args.push(("simulation.audit", toml::Value::Boolean(true), "audit"));
    }
    let resolved = resolve(preset, settings, args)?;
    let model = resolved.settings.model.clone();
    let total = model.simulation.total_steps;
    let use_cases = model.data.use_cases.clone();
    let governed = model.governance.enabled;
    let mut economy = Economy::new(model).map_err(|e| config_error(e.into()))?;
    let mut sink = Collect {
        names: StepMetrics::columns(&use_cases, governed),
        columns: Vec::new(),
        tx: transactions.then(TxColumns::default),
        proposals: governed.then(Vec::new),
        use_cases: use_cases.clone(),
        stats: RunStats::default(),
        rows: 0,
    };
    if let Some(tx) = &mut sink.tx {
        tx.details.push(String::new());
    }
    let mut done = 0u64;
    while done < total {
        let chunk = STEPS_PER_CHUNK.min(total - done);
        let result = py.detach(|| {
            for _ in 0..chunk {
                economy.step(&mut sink)?;
            }
            Ok::<_, datadao_core::StepError>(())
        });
        result.map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        done += chunk;
        py.check_signals()?;
        if let Some(cb) = progress {
            cb.call1((done,))?;
        }
    }

    let out = PyDict::new(py);
    let data: Vec<(&'static str, Py<PyAny>)> = sink
        .columns
        .iter()
        .map(|c| match c {
            Column::Int(v) => ("i8", bytes_of(py, v, i64::to_le_bytes)),
            Column::Float(v) => ("f8", bytes_of(py, v, f64::to_le_bytes)),
        })
        .collect();
    out.set_item("steps", table(py, sink.names.clone(), data, Vec::new())?)?;
    match sink.tx.take() {
        Some(tx) => {
            let names: Vec<String> = datadao_log::TRANSACTION_COLUMNS
                .trim()
                .split(',')
                .map(str::to_string)
                .collect();
            let [ddt, xdai, lp, ddt_balance, xdai_balance, price] = &tx.amounts;
            let f = |v: &Vec<f64>| ("f8", bytes_of(py, v, f64::to_le_bytes));
            let i = |v: &Vec<i64>| ("i8", bytes_of(py, v, i64::to_le_bytes));
            let data = vec![
                i(&tx.step),
                i(&tx.seq),
                i(&tx.agent_id),
                ("u1", PyBytes::new(py, &tx.agent_type).into_any().unbind()),
                ("u1", PyBytes::new(py, &tx.action).into_any().unbind()),
                f(ddt),
                f(xdai),
                f(lp),
                f(ddt_balance),
                f(xdai_balance),
                f(price),
                ("u4", {
                    let mut b = Vec::with_capacity(tx.detail.len() * 4);
                    for c in &tx.detail {
                        b.extend_from_slice(&c.to_le_bytes());
                    }
                    PyBytes::new(py, &b).into_any().unbind()
                }),
            ];
            let categories = vec![
                (
                    "agent_type".to_string(),
                    AgentType::ALL
                        .iter()
                        .map(|t| t.name().to_string())
                        .chain(governed.then(|| "treasury".to_string()))
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
        summary(py, &sink.stats, transactions.then_some(sink.rows))?,
    )?;
    Ok(out)
}

/// The figures the CLI's summary prints, by name.
fn summary<'py>(py: Python<'py>, s: &RunStats, rows: Option<u64>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let Some(last) = &s.last else {
        return Ok(d);
    };
    d.set_item("steps", u64::from(last.step) + 1)?;
    d.set_item("final_price", last.price)?;
    d.set_item("min_price", s.min_price.map(|p| p.0))?;
    d.set_item("min_price_step", s.min_price.map(|p| p.1))?;
    d.set_item("max_price", s.max_price.map(|p| p.0))?;
    d.set_item("max_price_step", s.max_price.map(|p| p.1))?;
    d.set_item("pool_ddt", last.lp_ddt_reserve)?;
    d.set_item("pool_xdai", last.lp_xdai_reserve)?;
    d.set_item("pie_ddt", last.pie_ddt)?;
    d.set_item("pie_inflow_ddt", s.pie_inflow_ddt)?;
    d.set_item("pie_distributed_ddt", s.pie_distributed_ddt)?;
    d.set_item("ddt_supply", last.ddt_supply)?;
    d.set_item("volume_xdai", s.volume_xdai)?;
    d.set_item("agents", last.agents_total())?;
    for (t, n) in AgentType::ALL.iter().zip(last.agents) {
        d.set_item(format!("agents_{}", t.name()), n)?;
    }
    d.set_item("transactions", rows)?;
    // The CLI's governance lines, in governed runs only (as there).
    if let Some(g) = &last.governance {
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

/// Run a sweep (or shard `k` of `n`) and return `(sweep_runs.csv, sweep_series.csv)`
/// as bytes, exactly the CLI's tables. `grid` maps dotted keys to a list of values or
/// a `"START..END:STEP"` string.
#[pyfunction]
#[pyo3(signature = (grid, runs, preset=None, settings=None, steps=None, zip=false, jobs=None, shard=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn sweep_tables<'py>(
    py: Python<'py>,
    grid: &Bound<'py, PyDict>,
    runs: &Bound<'py, PyAny>,
    preset: Option<&str>,
    settings: Option<&Bound<'py, PyDict>>,
    steps: Option<&Bound<'py, PyAny>>,
    zip: bool,
    jobs: Option<&Bound<'py, PyAny>>,
    shard: Option<(usize, usize)>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let runs: u64 = match runs.extract::<u64>() {
        Ok(n) if n >= 1 && !runs.is_instance_of::<PyBool>() => n,
        _ => {
            return Err(ConfigError::new_err(format!(
                "argument runs={runs}: accepted: a whole number of at least 1"
            )))
        }
    };
    let mut axes = Vec::new();
    for (k, v) in grid.iter() {
        let key: String = k.extract().map_err(|_| {
            ConfigError::new_err(format!(
                "grid key {k}: accepted: a dotted setting name as text"
            ))
        })?;
        let spec = if v.is_instance_of::<PyString>() {
            format!("{key}={}", v.extract::<String>()?)
        } else {
            let values: PyResult<Vec<String>> = v
                .try_iter()
                .map_err(|_| {
                    ConfigError::new_err(format!(
                        "grid[{key:?}]: accepted: a list of values or \"START..END:STEP\""
                    ))
                })?
                .map(|item| {
                    let item = item?;
                    Ok(match to_toml(&key, &item)? {
                        toml::Value::String(s) => s,
                        other => other.to_string(),
                    })
                })
                .collect();
            format!("{key}={}", values?.join(","))
        };
        let origin = Source::Api(format!("grid[{key:?}]"));
        axes.push(sweep::parse_axis(&spec, origin).map_err(config_error)?);
    }
    let points = sweep::points(&axes, zip).map_err(config_error)?;
    if let Some((k, n)) = shard {
        if k == 0 || n == 0 || k > n || n > points.len() {
            return Err(ConfigError::new_err(format!(
                "argument shard=({k}, {n}): accepted: 1 <= k <= n <= the number of points ({})",
                points.len()
            )));
        }
    }
    let args = explicit(steps, None)?;
    let mut resolved_points = Vec::with_capacity(points.len());
    for values in points {
        let flags = values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), Source::Api(format!("grid[{k:?}]"))))
            .collect();
        let point =
            settings::resolve(&inputs(preset, settings, &args, flags)?).map_err(config_error)?;
        resolved_points.push((values, point.settings.model));
    }
    let jobs = match jobs {
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(j) => match j.extract::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return Err(ConfigError::new_err(format!(
                    "argument jobs={j}: accepted: 1 to 1024"
                )))
            }
        },
    };
    if jobs == 0 || jobs > 1024 {
        return Err(ConfigError::new_err(format!(
            "argument jobs={jobs}: accepted: 1 to 1024"
        )));
    }
    let plan = sweep::Plan {
        axes,
        points: resolved_points,
        runs,
        jobs,
        shard,
    };
    let (runs_csv, series_csv) = run_in_background(py, progress, |on_run, stop| {
        let mut runs_out = Vec::new();
        let mut series_out = Vec::new();
        sweep::execute(&plan, &mut runs_out, &mut series_out, on_run, stop)?;
        Ok((runs_out, series_out))
    })?;
    Ok((PyBytes::new(py, &runs_csv), PyBytes::new(py, &series_csv)))
}

type Stop<'a> = &'a (dyn Fn() -> anyhow::Result<()> + Sync);

/// Run `work` on a thread of its own with the GIL released; meanwhile, every tenth of a
/// second, report progress (runs finished) and look for Ctrl-C, which stops the work at
/// its next run and raises `KeyboardInterrupt`.
fn run_in_background<T: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&(dyn Fn() + Sync), Stop) -> anyhow::Result<T> + Send,
) -> PyResult<T> {
    let finished = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let on_run = || {
            finished.fetch_add(1, Ordering::Relaxed);
        };
        let stop = || {
            if cancel.load(Ordering::Relaxed) {
                anyhow::bail!("interrupted")
            }
            Ok(())
        };
        let handle = scope.spawn(move || work(&on_run, &stop));
        let mut reported = 0;
        loop {
            py.detach(|| {
                for _ in 0..20 {
                    if handle.is_finished() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            let now = finished.load(Ordering::Relaxed);
            // Ctrl-C can surface in the progress callback (Python runs its signal
            // handlers whenever it runs Python code) or in the explicit check; either
            // way the work is told to stop and joined before the error is raised.
            let mut outcome = py.check_signals();
            if let (Ok(()), Some(cb)) = (&outcome, progress) {
                if now != reported {
                    outcome = cb.call1((now,)).map(drop);
                    reported = now;
                }
            }
            if let Err(e) = outcome {
                cancel.store(true, Ordering::Relaxed);
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
            if handle.is_finished() {
                break;
            }
        }
        match handle.join() {
            Ok(result) => result.map_err(|e| {
                let text = format!("{e:#}");
                if text.starts_with("invalid setting") || text.contains("accepted:") {
                    ConfigError::new_err(text)
                } else {
                    PyRuntimeError::new_err(text)
                }
            }),
            Err(_) => Err(PyRuntimeError::new_err("the sweep's worker thread failed")),
        }
    })
}

/// The Rust half of the `datadao` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add_function(wrap_pyfunction!(presets_list, m)?)?;
    m.add_function(wrap_pyfunction!(config, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_tables, m)?)?;
    m.add("STEPS_PER_CHUNK", STEPS_PER_CHUNK)?;
    Ok(())
}
