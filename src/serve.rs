//! `datadao serve`: a local dashboard that re-runs the full model on every change.
//!
//! Glue only, like the rest of the binary: an axum server whose handlers resolve settings
//! through `datadao-scenario` (the CLI's own messages), run `datadao-core` on a bounded
//! pool of blocking workers, and answer with thinned series as JSON. The page
//! (`serve/page.html`, plain HTML, CSS and JavaScript drawing its charts on canvas) is
//! compiled into the binary, so nothing is fetched from anywhere.
//!
//! JSON API (also documented in the README):
//! - `GET /api/schema`: presets, the levers (key, group, range, step) and every setting
//!   with its built-in default.
//! - `GET /api/config?preset=NAME`: every setting's value under a preset.
//! - `POST /api/run` `{"preset", "settings", "session"?, "seq"?}`: the run's series
//!   (at most 4,096 points each) and summary. A later request of the same `session`
//!   with a higher `seq` cancels a run still in flight (409).
//! - `POST /api/band` `{"preset", "settings", "seeds"?}`: median and 5-95% band over
//!   `seeds` runs (default 20), through the sweep's reduction.
//! - `GET /api/scenario.toml?s=JSON`, `GET /api/data.csv?s=JSON`: the scenario as TOML
//!   that `datadao run --config` repeats, and its `simulation_data.csv`.
//! - `POST /api/parse-scenario` (TOML text): the non-default settings of a scenario file.
//!
//! Errors are 4xx with `{"error": message, "key": setting}`; nothing a request sends
//! can panic the server.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use datadao_core::{Economy, Observer, StepMetrics};
use datadao_scenario::settings::{self, Inputs, Resolved, Source};
use datadao_scenario::{presets, sweep};
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use crate::cli::ServeArgs;
use crate::limits;
use crate::output::push_cell;
use crate::series::{Point, Series};

/// The page, compiled in.
const PAGE: &str = include_str!("serve/page.html");
/// Largest request body.
const BODY_LIMIT: usize = 64 * 1024;
/// Most agent-steps one dashboard run may take (about two seconds here).
pub const MAX_AGENT_STEPS: u128 = 100_000_000;
/// Most agents at the end of a dashboard run.
pub const MAX_AGENTS: u128 = 200_000;
/// Most seeds for a band.
pub const MAX_SEEDS: u64 = 100;
/// Steps between two looks at whether a run was superseded.
const CHECK_EVERY: u64 = 64;

/// The levers the page shows as controls: key, group, label, minimum, maximum, step.
/// Every other setting is reachable through the page's search box.
pub const LEVERS: &[(&str, &str, &str, f64, f64, f64)] = &[
    ("simulation.total_steps", "Run", "steps", 10.0, 5000.0, 10.0),
    ("simulation.seed", "Run", "seed", 0.0, 1000.0, 1.0),
    (
        "simulation.entry_steps",
        "Population",
        "agents join every (steps)",
        1.0,
        50.0,
        1.0,
    ),
    (
        "simulation.agents_per_entry",
        "Population",
        "agents per entry",
        1.0,
        100.0,
        1.0,
    ),
    (
        "agents.degen.share",
        "Population",
        "share: degens",
        0.0,
        1.0,
        0.01,
    ),
    (
        "agents.organization.share",
        "Population",
        "share: organizations",
        0.0,
        1.0,
        0.01,
    ),
    (
        "agents.power.share",
        "Population",
        "share: power users",
        0.0,
        1.0,
        0.01,
    ),
    (
        "agents.active.share",
        "Population",
        "share: active users",
        0.0,
        1.0,
        0.01,
    ),
    (
        "agents.casual.share",
        "Population",
        "share: casual users",
        0.0,
        1.0,
        0.01,
    ),
    (
        "agents.degen.initial_xdai",
        "Endowments",
        "degen xDAI",
        0.0,
        1000.0,
        1.0,
    ),
    (
        "agents.organization.initial_xdai",
        "Endowments",
        "organization xDAI",
        0.0,
        10000.0,
        10.0,
    ),
    (
        "agents.power.initial_xdai",
        "Endowments",
        "power user xDAI",
        0.0,
        1000.0,
        1.0,
    ),
    (
        "agents.degen.initial_ddt",
        "Endowments",
        "member dDT: degens",
        0.0,
        1000.0,
        1.0,
    ),
    (
        "agents.active.initial_ddt",
        "Endowments",
        "member dDT: active",
        0.0,
        1000.0,
        1.0,
    ),
    ("market.fee_rate", "Market", "fee rate", 0.0, 0.2, 0.001),
    (
        "pie.distribution_rate",
        "The Pie",
        "distribution rate",
        0.0,
        1.0,
        0.01,
    ),
    (
        "pie.shares.power",
        "The Pie",
        "share to power users",
        0.0,
        1.0,
        0.01,
    ),
    (
        "pie.shares.active",
        "The Pie",
        "share to active users",
        0.0,
        1.0,
        0.01,
    ),
    (
        "pie.shares.casual",
        "The Pie",
        "share to casual users",
        0.0,
        1.0,
        0.01,
    ),
    (
        "minting.mint_per_weight",
        "Minting",
        "mint per weight",
        0.0,
        2.0,
        0.01,
    ),
    (
        "agents.active.member.revoke_probability",
        "Consent",
        "active: revoke per day",
        0.0,
        0.05,
        0.001,
    ),
    (
        "agents.active.member.remove_probability",
        "Consent",
        "active: remove per day",
        0.0,
        0.01,
        0.0001,
    ),
    (
        "agents.casual.member.revoke_probability",
        "Consent",
        "casual: revoke per day",
        0.0,
        0.05,
        0.001,
    ),
    (
        "agents.casual.member.remove_probability",
        "Consent",
        "casual: remove per day",
        0.0,
        0.01,
        0.0001,
    ),
    (
        "governance.interval_steps",
        "Governance",
        "a proposal every (steps)",
        1.0,
        365.0,
        1.0,
    ),
    (
        "governance.quorum",
        "Governance",
        "quorum (share of weight)",
        0.0,
        1.0,
        0.01,
    ),
    (
        "governance.threshold",
        "Governance",
        "pass threshold (share of yes)",
        0.0,
        1.0,
        0.01,
    ),
];

/// Levers chosen from a list: key, group, label, options.
pub const CHOICES: &[(&str, &str, &str, &[&str])] = &[
    (
        "governance.enabled",
        "Governance",
        "members govern",
        &["false", "true"],
    ),
    (
        "governance.weight",
        "Governance",
        "vote weight",
        &["person", "ddt", "quadratic", "crc_locked"],
    ),
    (
        "governance.voting",
        "Governance",
        "how members decide",
        &["foresight", "fixed"],
    ),
    (
        "pie.policy",
        "The Pie",
        "policy",
        &["groups", "usage", "weight"],
    ),
    (
        "minting.policy",
        "Minting",
        "mint cap policy",
        &["weight", "issuance-score"],
    ),
    (
        "simulation.activation",
        "Run",
        "activation",
        &["sequential", "shuffled"],
    ),
];

/// Shared by the handlers.
struct AppState {
    /// Latest request number per page session, for superseding runs in flight.
    latest: Mutex<HashMap<String, u64>>,
    /// Simulations running at once, at most one per core.
    workers: Semaphore,
}

/// A refusal: status, message, and the setting it is about (if known).
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let key = setting_in(&self.1);
        (self.0, Json(json!({"error": self.1, "key": key}))).into_response()
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

fn bad(message: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, message.to_string())
}

/// The setting a CLI message is about: `invalid setting KEY = ...` or
/// `unknown setting 'KEY'`.
fn setting_in(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("invalid setting ") {
        return rest.split_whitespace().next().map(str::to_string);
    }
    let rest = message.strip_prefix("unknown setting '")?;
    rest.split('\'').next().map(str::to_string)
}

/// `datadao serve`.
pub fn serve(args: &ServeArgs) -> Result<()> {
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .or_else(|_| {
            use std::net::ToSocketAddrs;
            (args.host.as_str(), args.port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or(())
        })
        .map_err(|_| {
            anyhow::anyhow!(
                "--host {} --port {}: not an address to listen on; accepted: an IP address or host name, e.g. --host 127.0.0.1",
                args.host,
                args.port
            )
        })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(cores.max(2))
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!(
                "--host {} --port {}: cannot listen there",
                args.host, args.port
            )
        })?;
        let local = listener.local_addr()?;
        let url = format!("http://{local}/");
        crate::emit(&format!("datadao serve: {url} (Ctrl-C to stop)\n"))?;
        if args.open {
            let _ = std::process::Command::new("xdg-open")
                .arg(&url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        let state = Arc::new(AppState {
            latest: Mutex::new(HashMap::new()),
            workers: Semaphore::new(cores),
        });
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                while crate::signals::pending().is_none() {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            })
            .await
            .context("serving")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/schema", get(schema))
        .route("/api/config", get(config))
        .route("/api/run", post(run))
        .route("/api/band", post(band))
        .route("/api/scenario.toml", get(scenario_toml))
        .route("/api/data.csv", get(data_csv))
        .route("/api/parse-scenario", post(parse_scenario))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
}

/// A JSON value as the TOML value the settings layer checks.
fn to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(to_toml).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => json!(b),
        toml::Value::String(s) => json!(s),
        toml::Value::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        other => json!(other.to_string()),
    }
}

/// A request's scenario: `{"preset": NAME?, "settings": {key: value}}`.
fn resolve(body: &Value) -> ApiResult<Resolved> {
    let obj = body.as_object().ok_or_else(|| {
        bad("the request body must be a JSON object: {\"preset\": ..., \"settings\": {...}}")
    })?;
    let preset = match obj.get("preset") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => {
            let p = presets::find(name).map_err(bad)?;
            Some((p.name.to_string(), p.toml.to_string()))
        }
        Some(other) => {
            return Err(bad(format!(
                "preset = {other}: accepted: a preset name as text"
            )))
        }
    };
    let mut typed = Vec::new();
    match obj.get("settings") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let source = Source::Api(format!("settings[{key:?}]"));
                let Some(v) = to_toml(value) else {
                    return Err(bad(format!(
                        "invalid setting {key} = '{value}' (from {source}): accepted: a number, text, true/false or a list"
                    )));
                };
                typed.push((key.clone(), v, source));
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "settings = {other}: accepted: an object of setting -> value"
            )))
        }
    }
    let inputs = Inputs {
        preset,
        typed,
        ..Inputs::default()
    };
    let resolved = settings::resolve(&inputs).map_err(|e| bad(format!("{e:#}")))?;
    let model = &resolved.settings.model;
    // Foresight forks count: a governed run simulates more steps than its own.
    let (agents, work) = (
        limits::final_agents(model),
        limits::simulated_agent_steps(model),
    );
    if agents > MAX_AGENTS || work > MAX_AGENT_STEPS {
        return Err(bad(format!(
            "invalid setting simulation.total_steps = '{}' with {agents} agents at the end: {work} agent-steps (foresight forks included) is more than the dashboard runs ({MAX_AGENT_STEPS} agent-steps and {MAX_AGENTS} agents at most, a few seconds); accepted: a smaller run here, or the CLI for this one",
            model.simulation.total_steps
        )));
    }
    Ok(resolved)
}

fn parse_body(bytes: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("the request body is not JSON: {e}"),
        )
    })
}

async fn schema() -> impl IntoResponse {
    let defaults: Map<String, Value> = settings::known_keys()
        .iter()
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect();
    let levers: Vec<Value> = LEVERS
        .iter()
        .map(|(key, group, label, min, max, step)| {
            json!({"key": key, "group": group, "label": label, "min": min, "max": max, "step": step})
        })
        .collect();
    let choices: Vec<Value> = CHOICES
        .iter()
        .map(|(key, group, label, options)| json!({"key": key, "group": group, "label": label, "options": options}))
        .collect();
    let presets: Vec<Value> = presets::PRESETS
        .iter()
        .map(|p| json!({"name": p.name, "summary": p.summary}))
        .collect();
    Json(json!({
        "presets": presets,
        "levers": levers,
        "choices": choices,
        "defaults": defaults,
        "limits": {"agent_steps": MAX_AGENT_STEPS as f64, "agents": MAX_AGENTS as f64, "seeds": MAX_SEEDS},
    }))
}

async fn config(Query(q): Query<BTreeMap<String, String>>) -> ApiResult<Json<Value>> {
    let body = json!({"preset": q.get("preset")});
    let resolved = resolve(&body)?;
    let values: Map<String, Value> = settings::flat(&resolved.settings)
        .iter()
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect();
    Ok(Json(Value::Object(values)))
}

/// Collects what the page draws.
#[derive(Default)]
struct Trace {
    series: Series,
    stats: datadao_scenario::summary::RunStats,
}

impl Observer for Trace {
    fn on_step(&mut self, m: &StepMetrics) {
        self.series.push(m);
        self.stats.update(m);
    }
}

/// The page's series as columns.
fn columns(points: &[Point], use_cases: &[String]) -> Value {
    let col = |f: &dyn Fn(&Point) -> Option<f64>| -> Value {
        Value::Array(
            points
                .iter()
                .map(|p| f(p).map_or(Value::Null, |v| json!(v)))
                .collect(),
        )
    };
    let mut by_type = Map::new();
    let mut avg = Map::new();
    for (i, t) in datadao_core::AgentType::ALL.iter().enumerate() {
        by_type.insert(t.name().into(), col(&|p| Some(p.agents[i] as f64)));
        avg.insert(t.name().into(), col(&|p| p.avg_xdai[i]));
    }
    let mut allowed = Map::new();
    for (u, name) in use_cases.iter().enumerate() {
        allowed.insert(name.clone(), col(&|p| p.allowed_share.get(u).copied()));
    }
    // Governed runs only: the treasury and every governed setting, step by step.
    let governance = points.iter().any(|p| p.governance.is_some()).then(|| {
        let gov = |f: &dyn Fn(&crate::series::GovernancePoint) -> Option<f64>| {
            col(&|p| p.governance.as_ref().and_then(f))
        };
        json!({
            "treasury_ddt": gov(&|g| Some(g.treasury_ddt)),
            "treasury_xdai": gov(&|g| Some(g.treasury_xdai)),
            "ddt_burned": gov(&|g| Some(g.ddt_burned)),
            "backing_ratio": gov(&|g| g.backing_ratio),
            "proposals_passed": gov(&|g| Some(g.proposals_passed as f64)),
            "fee_rate": gov(&|g| Some(g.settings.fee_rate)),
            "distribution_rate": gov(&|g| Some(g.settings.distribution_rate)),
            "share_power": gov(&|g| Some(g.settings.shares.power)),
            "share_active": gov(&|g| Some(g.settings.shares.active)),
            "share_casual": gov(&|g| Some(g.settings.shares.casual)),
            "mint_per_weight": gov(&|g| Some(g.settings.mint_per_weight)),
        })
    });
    json!({
        "governance": governance,
        "step": points.iter().map(|p| p.step).collect::<Vec<_>>(),
        "price": col(&|p| p.price),
        "lp_ddt_reserve": col(&|p| Some(p.ddt_reserve)),
        "lp_xdai_reserve": col(&|p| Some(p.xdai_reserve)),
        "pie_ddt": col(&|p| Some(p.pie)),
        "ddt_supply": col(&|p| Some(p.ddt_supply)),
        "crc_locked": col(&|p| Some(p.crc_locked)),
        "agents": by_type,
        "avg_xdai": avg,
        "allowed_share": allowed,
    })
}

/// Run `resolved` on a worker into `observer`, stopping early if `superseded` says so.
/// Every simulation the server runs goes through here, so the worker pool bounds them all.
async fn simulate<O: Observer + Send + 'static>(
    state: &Arc<AppState>,
    resolved: &Resolved,
    mut observer: O,
    superseded: impl Fn() -> bool + Send + 'static,
) -> ApiResult<O> {
    let _permit = state.workers.acquire().await.map_err(|_| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping".into(),
        )
    })?;
    let model = resolved.settings.model.clone();
    tokio::task::spawn_blocking(move || {
        let mut economy = Economy::new(model).map_err(|e| bad(format!("{e}")))?;
        let mut step = 0u64;
        while !economy.is_finished() {
            if step.is_multiple_of(CHECK_EVERY) && superseded() {
                return Err(ApiError(
                    StatusCode::CONFLICT,
                    "superseded by a newer request".into(),
                ));
            }
            economy
                .step(&mut observer)
                .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
            step += 1;
        }
        Ok(observer)
    })
    .await
    .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "the run failed".into()))?
}

async fn run(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult<Json<Value>> {
    let started = std::time::Instant::now();
    let body = parse_body(&bytes)?;
    let resolved = resolve(&body)?;
    let session = body
        .get("session")
        .and_then(Value::as_str)
        .map(str::to_string);
    let seq = body.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let latest = Arc::new(AtomicU64::new(seq));
    if let Some(s) = &session {
        let mut map = state.latest.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        let entry = map.entry(s.clone()).or_insert(seq);
        *entry = (*entry).max(seq);
    }
    let superseded = {
        let state = Arc::clone(&state);
        let latest = Arc::clone(&latest);
        move || {
            let Some(s) = &session else { return false };
            let map = state.latest.lock().unwrap_or_else(|e| e.into_inner());
            map.get(s)
                .is_some_and(|&newest| newest > latest.load(Ordering::Relaxed))
        }
    };
    let trace = simulate(&state, &resolved, Trace::default(), superseded).await?;
    let use_cases = &resolved.settings.model.data.use_cases;
    let s = &trace.stats;
    let last = s.last.as_ref();
    Ok(Json(json!({
        "series": columns(&trace.series.points(), use_cases),
        "use_cases": use_cases,
        "summary": {
            "final_price": last.and_then(|m| m.price),
            "pie_ddt": last.map(|m| m.pie_ddt),
            "ddt_supply": last.map(|m| m.ddt_supply),
            "agents": last.map(|m| m.agents_total()),
            "volume_xdai": s.volume_xdai,
            "pie_inflow_ddt": s.pie_inflow_ddt,
        },
        "preset": resolved.preset,
        "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
    })))
}

async fn band(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult<Json<Value>> {
    let started = std::time::Instant::now();
    let body = parse_body(&bytes)?;
    let resolved = resolve(&body)?;
    let seeds = match body.get("seeds") {
        None | Some(Value::Null) => 20,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_SEEDS).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "seeds = {v}: accepted: a whole number from 1 to {MAX_SEEDS}"
                ))
            })?,
    };
    let model = resolved.settings.model.clone();
    if limits::simulated_agent_steps(&model) * u128::from(seeds) > MAX_AGENT_STEPS * 20 {
        return Err(bad(format!(
            "seeds = {seeds}: the band would take {} agent-steps; accepted: fewer seeds or a smaller run",
            limits::simulated_agent_steps(&model) * u128::from(seeds)
        )));
    }
    let _permits = state
        .workers
        .acquire_many(state.workers.available_permits().max(1) as u32)
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping".into(),
            )
        })?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let csv = tokio::task::spawn_blocking(move || {
        let plan = sweep::Plan {
            axes: Vec::new(),
            points: vec![(Vec::new(), model)],
            runs: seeds,
            jobs,
            shard: None,
        };
        let (mut runs, mut series) = (Vec::new(), Vec::new());
        sweep::execute(&plan, &mut runs, &mut series, &|| {}, &|| Ok(()))
            .map(|()| series)
            .map_err(|e| bad(format!("{e:#}")))
    })
    .await
    .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "the band failed".into()))??;
    let text = String::from_utf8_lossy(&csv);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let mut cols: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for line in lines {
        for (name, cell) in header.iter().zip(line.split(',')) {
            let v = cell.parse::<f64>().map_or(Value::Null, |x| json!(x));
            cols.entry(name).or_default().push(v);
        }
    }
    Ok(Json(json!({
        "seeds": seeds,
        "series": cols,
        "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
    })))
}

/// `?s=JSON` of a GET download.
fn scenario_query(q: &BTreeMap<String, String>) -> ApiResult<Resolved> {
    let text = q.get("s").map(String::as_str).unwrap_or("{}");
    let body: Value = serde_json::from_str(text).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("s = '{text}': not JSON: {e}"),
        )
    })?;
    resolve(&body)
}

async fn scenario_toml(Query(q): Query<BTreeMap<String, String>>) -> ApiResult<Response> {
    let resolved = scenario_query(&q)?;
    let text = crate::run_config_text(&resolved);
    Ok((
        [
            (header::CONTENT_TYPE, "application/toml; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"scenario.toml\"",
            ),
        ],
        text,
    )
        .into_response())
}

/// Writes `simulation_data.csv` into memory, as the CLI writes it into a file.
struct CsvRows(Vec<u8>);

impl Observer for CsvRows {
    fn on_step(&mut self, m: &StepMetrics) {
        for (n, cell) in m.cells().iter().enumerate() {
            if n > 0 {
                self.0.push(b',');
            }
            push_cell(&mut self.0, cell);
        }
        self.0.push(b'\n');
    }
}

async fn data_csv(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let resolved = scenario_query(&q)?;
    let header = StepMetrics::columns(
        &resolved.settings.model.data.use_cases,
        resolved.settings.model.governance.enabled,
    )
    .join(",");
    let rows = CsvRows(format!("{header}\n").into_bytes());
    let csv = simulate(&state, &resolved, rows, || false).await?.0;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"simulation_data.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// A scenario file's non-default settings, for the page's upload.
async fn parse_scenario(bytes: Bytes) -> ApiResult<Json<Value>> {
    let text =
        std::str::from_utf8(&bytes).map_err(|_| bad("the scenario file is not UTF-8 text"))?;
    let inputs = Inputs {
        config_text: Some(("uploaded scenario".into(), text.to_string())),
        ..Inputs::default()
    };
    let resolved = settings::resolve(&inputs).map_err(|e| bad(format!("{e:#}")))?;
    let defaults = settings::known_keys();
    let mut changed = Map::new();
    for (k, v) in settings::flat(&resolved.settings) {
        if k.starts_with("output.") {
            continue;
        }
        if defaults.get(&k) != Some(&v) {
            changed.insert(k, to_json(&v));
        }
    }
    // Settings that only restate the preset are left to the preset.
    if let Some(name) = &resolved.preset {
        let under_preset = resolve(&json!({"preset": name}))?;
        for (k, v) in settings::flat(&under_preset.settings) {
            if changed.get(&k) == Some(&to_json(&v)) {
                changed.remove(&k);
            }
        }
    }
    Ok(Json(
        json!({"preset": resolved.preset, "settings": changed}),
    ))
}
