//! `datadao serve`: a local dashboard that re-runs the full model on every change.
//!
//! Glue only, like the rest of the binary: handlers resolve settings through
//! `datadao-scenario` (the CLI's own messages), run `datadao-core` on a bounded pool of
//! blocking workers, and answer with thinned series as JSON. The page (`serve/page.html`,
//! `page.js`, `page.css`: plain HTML, CSS and JavaScript drawing its charts on canvas) is
//! compiled into the binary, so nothing is fetched from anywhere.
//!
//! What the server promises (also in the README):
//! - [`guard`]: security headers on every response; only its own `Host` and `Origin`;
//!   POST bodies are JSON of at most [`BODY_LIMIT`] bytes, arriving within 30 s.
//! - [`net`]: headers within 10 s, idle connections closed, never more than a bounded
//!   number of connections, and idle ones make room for new clients.
//! - [`work`]: every simulation is priced (agent-steps plus a per-step cost) and refused
//!   over [`MAX_COST`] (a band, all its seeds, over [`MAX_BAND_COST`]); it stops within
//!   milliseconds when its client disconnects, a newer request of its session supersedes
//!   it, or the server is stopped, and its worker is freed; downloads stream their rows.
//!
//! JSON API (also documented in the README):
//! - `GET /api/schema`: presets, the levers (key, group, range, step), every setting
//!   with its built-in default, the agent types' names and the band's series and
//!   statistics (`band_series`, `band_stats`: the columns of `/api/band`).
//! - `GET /api/config?preset=NAME`: every setting's value under a preset.
//! - `POST /api/run` `{"preset", "settings", "session"?, "seq"?}`: the run's series
//!   (at most 4,096 points each) and summary. A later request of the same `session`
//!   with a higher `seq` stops a run still in flight (409).
//! - `POST /api/band` `{"preset", "settings", "seeds"?, "session"?, "seq"?}`: median and
//!   5-95% band over `seeds` runs (default 20), through the sweep's reduction.
//! - `GET /api/scenario.toml?s=JSON`, `GET /api/data.csv?s=JSON`: the scenario as TOML
//!   that `datadao run --config` repeats, and its `simulation_data.csv` (streamed).
//! - `POST /api/parse-scenario` `{"name": FILE, "text": TOML}`: the non-default settings
//!   of a scenario file.
//!
//! Errors are 4xx with `{"error": message, "key": setting}`; nothing a request sends
//! can panic the server.

mod api;
mod guard;
mod headers;
mod net;
mod panels;
mod work;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use datadao_core::agent_type::TypeNames;
use datadao_core::{Observer, StepMetrics, StopFlag};
use datadao_scenario::flows::FlowDiagram;
use datadao_scenario::help;
use datadao_scenario::settings::{
    self, ConfigText, Given, Inputs, PresetChoice, Resolved, Source, TextSource,
};
use datadao_scenario::{limits, presets, sweep};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, Semaphore};

use crate::cli::ServeArgs;
use crate::flow_figure;
use crate::output::push_cell;
use crate::series::{Point, Series};
use api::{bad, ApiError, ApiResult, BODY_LIMIT};
use work::{AppState, Cancel, Kind, Sessions};

/// The page, its script and its style, compiled in.
const PAGE: &str = include_str!("serve/page.html");
const SCRIPT: &str = include_str!("serve/page.js");
const STYLE: &str = include_str!("serve/page.css");
/// Most a dashboard run may cost: agent-steps plus [`work::STEP_COST`] per step,
/// foresight forks included (a few seconds of one core).
pub const MAX_COST: u128 = 100_000_000;
/// Most a band may cost, all its seeds together (20 seeds of a governed default run fit).
pub const MAX_BAND_COST: u128 = 3 * MAX_COST;
/// Most agents at the end of a dashboard run.
pub const MAX_AGENTS: u128 = 200_000;
/// Most seeds for a band.
pub const MAX_SEEDS: u64 = 100;
/// Bytes of `simulation_data.csv` sent at a time.
const CSV_CHUNK: usize = 64 * 1024;
/// Longest a download waits for its client to take its rows, all chunks together: a
/// client that reads slowly cannot hold a worker for longer than this beyond the run.
const WAIT_BUDGET: Duration = Duration::from_secs(60);

/// A setting the page shows as a slider and a number box.
#[derive(Clone, Copy, Debug)]
pub struct Lever {
    /// Dotted key.
    pub key: &'static str,
    /// The panel it sits in.
    pub group: &'static str,
    /// What the page calls it.
    pub label: &'static str,
    /// Lowest value on the slider.
    pub min: f64,
    /// Highest value on the slider.
    pub max: f64,
    /// The slider's step.
    pub step: f64,
}

/// A setting the page shows as a list of choices.
#[derive(Clone, Copy, Debug)]
pub struct Choice {
    /// Dotted key.
    pub key: &'static str,
    /// The panel it sits in.
    pub group: &'static str,
    /// What the page calls it.
    pub label: &'static str,
    /// What it can be: every variant of the core's enum, as settings spell it, so a new
    /// variant reaches the page without editing this table.
    pub options: fn() -> Vec<String>,
}

/// The levers the page shows as controls. Every other setting is reachable through the
/// page's search box.
pub const LEVERS: &[Lever] = &[
    Lever {
        key: "simulation.total_steps",
        group: "Run",
        label: "steps",
        min: 10.0,
        max: 5000.0,
        step: 10.0,
    },
    Lever {
        key: "simulation.seed",
        group: "Run",
        label: "seed",
        min: 0.0,
        max: 1000.0,
        step: 1.0,
    },
    Lever {
        key: "simulation.entry_steps",
        group: "Population",
        label: "agents join every (steps)",
        min: 1.0,
        max: 50.0,
        step: 1.0,
    },
    Lever {
        key: "simulation.agents_per_entry",
        group: "Population",
        label: "agents per entry",
        min: 1.0,
        max: 100.0,
        step: 1.0,
    },
    Lever {
        key: "agents.degen.share",
        group: "Population",
        label: "share: degens",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "agents.organization.share",
        group: "Population",
        label: "share: organizations",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "agents.power.share",
        group: "Population",
        label: "share: power users",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "agents.active.share",
        group: "Population",
        label: "share: active users",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "agents.casual.share",
        group: "Population",
        label: "share: casual users",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "agents.degen.initial_xdai",
        group: "Endowments",
        label: "degen xDAI",
        min: 0.0,
        max: 1000.0,
        step: 1.0,
    },
    Lever {
        key: "agents.organization.initial_xdai",
        group: "Endowments",
        label: "organization xDAI",
        min: 0.0,
        max: 10000.0,
        step: 10.0,
    },
    Lever {
        key: "agents.power.initial_xdai",
        group: "Endowments",
        label: "power user xDAI",
        min: 0.0,
        max: 1000.0,
        step: 1.0,
    },
    Lever {
        key: "agents.degen.initial_ddt",
        group: "Endowments",
        label: "member dDT: degens",
        min: 0.0,
        max: 1000.0,
        step: 1.0,
    },
    Lever {
        key: "agents.active.initial_ddt",
        group: "Endowments",
        label: "member dDT: active",
        min: 0.0,
        max: 1000.0,
        step: 1.0,
    },
    Lever {
        key: "market.fee_rate",
        group: "Market",
        label: "fee rate",
        min: 0.0,
        max: 0.2,
        step: 0.001,
    },
    Lever {
        key: "pie.distribution_rate",
        group: "The Pie",
        label: "distribution rate",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "pie.shares.power",
        group: "The Pie",
        label: "share to power users",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "pie.shares.active",
        group: "The Pie",
        label: "share to active users",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "pie.shares.casual",
        group: "The Pie",
        label: "share to casual users",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "minting.mint_per_weight",
        group: "Minting",
        label: "mint per weight",
        min: 0.0,
        max: 2.0,
        step: 0.01,
    },
    Lever {
        key: "agents.active.member.revoke_probability",
        group: "Consent",
        label: "active: revoke per day",
        min: 0.0,
        max: 0.05,
        step: 0.001,
    },
    Lever {
        key: "agents.active.member.remove_probability",
        group: "Consent",
        label: "active: remove per day",
        min: 0.0,
        max: 0.01,
        step: 0.0001,
    },
    Lever {
        key: "agents.casual.member.revoke_probability",
        group: "Consent",
        label: "casual: revoke per day",
        min: 0.0,
        max: 0.05,
        step: 0.001,
    },
    Lever {
        key: "agents.casual.member.remove_probability",
        group: "Consent",
        label: "casual: remove per day",
        min: 0.0,
        max: 0.01,
        step: 0.0001,
    },
    Lever {
        key: "governance.interval_steps",
        group: "Governance",
        label: "a proposal every (steps)",
        min: 1.0,
        max: 365.0,
        step: 1.0,
    },
    Lever {
        key: "governance.quorum",
        group: "Governance",
        label: "quorum (share of weight)",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
    Lever {
        key: "governance.threshold",
        group: "Governance",
        label: "pass threshold (share of yes)",
        min: 0.0,
        max: 1.0,
        step: 0.01,
    },
];

/// How settings spell each of `all` (serde's names, as a settings file takes them).
fn names<T: serde::Serialize>(all: &[T]) -> Vec<String> {
    all.iter()
        .map(|v| match serde_json::to_value(v) {
            Ok(Value::String(name)) => name,
            Ok(other) => other.to_string(),
            Err(_) => String::new(),
        })
        .collect()
}

/// Levers chosen from a list.
pub const CHOICES: &[Choice] = &[
    Choice {
        key: "governance.enabled",
        group: "Governance",
        label: "members govern",
        options: || names(&[false, true]),
    },
    Choice {
        key: "governance.weight",
        group: "Governance",
        label: "vote weight",
        options: || names(&datadao_core::governance::WeightRule::ALL),
    },
    Choice {
        key: "governance.voting",
        group: "Governance",
        label: "how members decide",
        options: || names(&datadao_core::governance::Voting::ALL),
    },
    Choice {
        key: "pie.policy",
        group: "The Pie",
        label: "policy",
        options: || names(&datadao_core::config::PiePolicy::ALL),
    },
    Choice {
        key: "minting.policy",
        group: "Minting",
        label: "mint cap policy",
        options: || names(&datadao_core::config::MintPolicy::ALL),
    },
    Choice {
        key: "simulation.activation",
        group: "Run",
        label: "activation",
        options: || names(&datadao_core::config::Activation::ALL),
    },
];

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
        .max_blocking_threads(cores.max(2) + 2)
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    let shutdown = crate::signals::stop_flag().child();
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!(
                "--host {} --port {}: cannot listen there",
                args.host, args.port
            )
        })?;
        let local = listener.local_addr()?;
        let hosts = guard::Hosts::new(local, &args.host, &args.allow_host);
        let url = format!("http://{local}/");
        crate::terminal::emit(&format!("datadao serve: {url} (Ctrl-C to stop)\n"))?;
        if args.open {
            let _ = std::process::Command::new("xdg-open")
                .arg(&url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        let state = Arc::new(AppState {
            sessions: Sessions::default(),
            workers: Arc::new(Semaphore::new(cores)),
            cores,
            shutdown: shutdown.clone(),
            waiting: Default::default(),
        });
        // A signal raises the engine's flag (every run stops within milliseconds) and
        // tells the connections to finish.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let watcher = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                while crate::signals::pending().is_none() && !shutdown.is_raised() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                shutdown.raise();
                let _ = stop_tx.send(true);
            })
        };
        net::serve(listener, router(state, hosts), stop_rx)
            .await
            .context("serving")?;
        watcher.abort();
        Ok::<_, anyhow::Error>(())
    });
    // Workers still running have seen the flag; do not wait for stragglers.
    shutdown.raise();
    runtime.shutdown_timeout(Duration::from_millis(200));
    served?;
    match crate::signals::pending() {
        Some(signal) => Err(signal.into()),
        None => Ok(()),
    }
}

fn router(state: Arc<AppState>, hosts: guard::Hosts) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/page.js", get(script))
        .route("/page.css", get(style))
        .route("/api/schema", get(schema))
        .route("/api/config", get(config))
        .route("/api/run", post(run))
        .route("/api/band", post(band))
        .route("/api/scenario.toml", get(scenario_toml))
        .route("/api/data.csv", get(data_csv))
        .route("/api/parse-scenario", post(parse_scenario))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(hosts),
            guard::check,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page or API path")
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
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

/// A request's scenario: `{"preset": NAME?, "settings": {key: value}}`, refused when
/// the run would cost more than [`MAX_COST`] or end with more than [`MAX_AGENTS`].
fn resolve(body: &Value) -> ApiResult<Resolved> {
    resolve_priced(body, false)
}

/// As [`resolve`]; `csv`: the run is written out row by row, which costs more a step.
fn resolve_priced(body: &Value, csv: bool) -> ApiResult<Resolved> {
    let obj = body.as_object().ok_or_else(|| {
        bad("the request body must be a JSON object: {\"preset\": ..., \"settings\": {...}}")
    })?;
    let preset = match obj.get("preset") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(PresetChoice::from(
            name,
            Source::Api("the request's preset".into()),
        )),
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
                    )).with_key(key));
                };
                typed.push(Given::new(key.clone(), v, source));
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
    let resolved = settings::resolve(&inputs).map_err(|e| ApiError::scenario(&e))?;
    let model = &resolved.settings.model;
    let agents = limits::final_agents(model);
    let (cost, per_step) = if csv {
        (
            work::csv_cost(model),
            format!(
                "{} per step and {} per row of simulation_data.csv",
                work::STEP_COST,
                work::CSV_ROW_COST
            ),
        )
    } else {
        (work::cost(model), format!("{} per step", work::STEP_COST))
    };
    if agents > MAX_AGENTS || cost > MAX_COST {
        return Err(bad(format!(
            "invalid setting simulation.total_steps = '{}' with {agents} agents at the end: this run costs {cost} (agent-steps plus {per_step}, foresight forks included), more than the dashboard runs ({MAX_COST} and {MAX_AGENTS} agents at most, a few seconds); accepted: a smaller run here, or the CLI for this one",
            model.simulation.total_steps,
        ))
        .with_key("simulation.total_steps"));
    }
    Ok(resolved)
}

fn parse_body(bytes: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the request body is not JSON: {e}"),
        )
    })
}

/// The request's `session` (at most [`work::MAX_SESSION_LEN`] characters) and `seq`.
fn session_of(body: &Value) -> ApiResult<Option<(String, u64)>> {
    let session = match body.get("session") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.chars().count() <= work::MAX_SESSION_LEN => s.clone(),
        Some(Value::String(s)) => {
            return Err(bad(format!(
                "session is {} characters long; accepted: text of at most {} characters",
                s.chars().count(),
                work::MAX_SESSION_LEN
            ))
            .with_key("session"))
        }
        Some(_) => {
            return Err(bad(format!(
                "session: accepted: text of at most {} characters",
                work::MAX_SESSION_LEN
            ))
            .with_key("session"))
        }
    };
    let seq = match body.get("seq") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            bad(format!("seq = {v}: accepted: a whole number of at least 0")).with_key("seq")
        })?,
    };
    Ok(Some((session, seq)))
}

/// The flag of one simulating request: raised when the request is dropped (returned
/// guard), by a newer request of its session, or when the server stops.
fn start_work(state: &AppState, body: &Value, kind: Kind) -> ApiResult<(StopFlag, Cancel)> {
    let flag = state.shutdown.child();
    if let Some((session, seq)) = session_of(body)? {
        state.sessions.begin(&session, kind, seq, &flag)?;
    }
    Ok((flag.clone(), Cancel(flag)))
}

async fn schema() -> impl IntoResponse {
    let defaults: Map<String, Value> = settings::known_keys()
        .iter()
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect();
    let levers: Vec<Value> = LEVERS
        .iter()
        .map(|l| {
            json!({"key": l.key, "group": l.group, "label": l.label, "min": l.min, "max": l.max, "step": l.step, "help": help::help(l.key)})
        })
        .collect();
    let choices: Vec<Value> = CHOICES
        .iter()
        .map(
            |c| json!({"key": c.key, "group": c.group, "label": c.label, "options": (c.options)(), "help": help::help(c.key)}),
        )
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
        "help": settings::known_keys().keys().filter_map(|k| Some((k.clone(), Value::String(help::help(k)?)))).collect::<Map<String, Value>>(),
        "types": datadao_core::AgentType::SEED_NAMES,
        "panels": panels::schema(),
        "share_groups": settings::share_groups(),
        "palette": {
            "types": datadao_scenario::palette::type_colors(&TypeNames::seed()).into_iter().map(|(t, c)| (t, Value::String(c))).collect::<Map<String, Value>>(),
            "series": datadao_scenario::palette::SERIES_COLORS.map(|c| c.hex()),
        },
        "band_series": sweep::SERIES,
        "band_stats": sweep::STATS,
        "limits": {
            "cost": MAX_COST as f64,
            "band_cost": MAX_BAND_COST as f64,
            "step_cost": work::STEP_COST as f64,
            "csv_row_cost": work::CSV_ROW_COST as f64,
            "agents": MAX_AGENTS as f64,
            "seeds": MAX_SEEDS,
            "body_bytes": BODY_LIMIT,
        },
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

/// What the page draws of a run: its series, its summary figures and its flows.
#[derive(Default)]
struct PageFigures {
    series: Series,
    stats: datadao_core::experiment::KpiTracker,
    /// The last step, for what the flow diagram shows held at the end.
    last: Option<StepMetrics>,
}

impl Observer for PageFigures {
    fn on_step(&mut self, m: &StepMetrics) {
        self.series.push(m);
        self.stats.update(m);
        self.last = Some(m.clone());
    }
}

/// The page's series as columns.
fn columns(points: &[Point], use_cases: &[String], types: &TypeNames) -> Value {
    let col = |f: &dyn Fn(&Point) -> Option<f64>| -> Value {
        Value::Array(
            points
                .iter()
                .map(|p| f(p).map_or(Value::Null, |v| json!(v)))
                .collect(),
        )
    };
    // The seed's five by name (the schema's lines); a scenario's own types apart, each
    // drawn as one more line of the per-type panels, in the type's colour.
    let (mut by_type, mut avg) = (Map::new(), Map::new());
    let (mut own_agents, mut own_avg, mut own_colors) = (Map::new(), Map::new(), Map::new());
    for t in types.types() {
        let i = t.index();
        let name = types.name(t).to_string();
        let agents = col(&|p| p.agents.get(i).map(|&n| n as f64));
        let mean = col(&|p| p.avg_xdai.get(i).copied().flatten());
        if t.is_seed() {
            by_type.insert(name.clone(), agents);
            avg.insert(name, mean);
        } else {
            own_colors.insert(
                name.clone(),
                json!(datadao_scenario::palette::type_color(t).hex()),
            );
            own_agents.insert(name.clone(), agents);
            own_avg.insert(name, mean);
        }
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
        "agents_own_types": own_agents,
        "avg_xdai_own_types": own_avg,
        "own_type_colors": own_colors,
        "allowed_share": allowed,
    })
}

async fn run(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult<Json<Value>> {
    let started = std::time::Instant::now();
    let body = parse_body(&bytes)?;
    let resolved = resolve(&body)?;
    let (flag, _cancel) = start_work(&state, &body, Kind::Run)?;
    let model = resolved.settings.model.clone();
    let (figures, totals) = work::simulate(&state, model, PageFigures::default(), flag).await?;
    let use_cases = &resolved.settings.model.data.use_cases;
    let s = figures.stats.kpis();
    let types = resolved.settings.model.agents.type_names();
    let flows = figures.last.as_ref().map_or(Value::Null, |last| {
        flow_figure::to_json(&flow_figure::layout(&FlowDiagram::new(
            &totals, last, &types,
        )))
    });
    Ok(Json(json!({
        "series": columns(&figures.series.points(), use_cases, &types),
        "flows": flows,
        "use_cases": use_cases,
        "summary": {
            "final_price": s.final_price,
            "pie_ddt": s.last_step.map(|_| s.final_pie),
            "ddt_supply": s.last_step.map(|_| s.ddt_supply),
            "agents": s.last_step.map(|_| s.final_agents.iter().sum::<u64>()),
            "volume_xdai": s.volume_xdai,
            "pie_inflow_ddt": s.pie_inflow,
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
                .with_key("seeds")
            })?,
    };
    let model = resolved.settings.model.clone();
    let total = work::cost(&model) * u128::from(seeds);
    if total > MAX_BAND_COST {
        return Err(bad(format!(
            "seeds = {seeds}: the band costs {total} (all its seeds: agent-steps plus {} per step, foresight forks included); accepted: at most {MAX_BAND_COST}, with fewer seeds or a smaller run",
            work::STEP_COST
        ))
        .with_key("seeds"));
    }
    let (flag, _cancel) = start_work(&state, &body, Kind::Band)?;
    let jobs = state.cores;
    let permits = work::worker(&state, jobs as u32, &flag).await?;
    let task_flag = flag.clone();
    let band = tokio::task::spawn_blocking(move || {
        let _permits = permits;
        let plan = sweep::Plan {
            axes: Vec::new(),
            points: vec![sweep::SweepPoint {
                values: Vec::new(),
                config: model,
            }],
            runs: seeds,
            jobs,
            shard: None,
            criteria: Vec::new(),
            policies: Vec::new(),
        };
        let done = sweep::bands_until(&plan, &|| {}, &task_flag);
        match done {
            Ok(bands) => Ok(Some(
                bands.into_iter().flat_map(|b| b.steps).collect::<Vec<_>>(),
            )),
            Err(_) if task_flag.is_raised() => Ok(None),
            Err(e) => Err(bad(format!("{e:#}"))),
        }
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the band failed"))??;
    let band = band.ok_or_else(|| work::why_stopped(&state, &flag))?;
    // The band's columns named as in `sweep_series.csv` (`point`, `step`, `price_p50`,
    // ...), every number a JSON number.
    let names: Vec<String> = sweep::series_stat_columns().collect();
    let mut cols: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for b in &band {
        cols.entry("point").or_default().push(json!(0.0));
        cols.entry("step")
            .or_default()
            .push(json!(f64::from(b.step)));
        let values = b.series.iter().flat_map(sweep::Spread::values);
        for (name, v) in names.iter().zip(values) {
            let v = v.map_or(Value::Null, |x| json!(x));
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
fn scenario_query(q: &BTreeMap<String, String>, csv: bool) -> ApiResult<(Value, Resolved)> {
    let text = q.get("s").map(String::as_str).unwrap_or("{}");
    let body: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "s = '{}': not JSON: {e}",
                text.chars().take(200).collect::<String>()
            ),
        )
    })?;
    let resolved = resolve_priced(&body, csv)?;
    Ok((body, resolved))
}

async fn scenario_toml(Query(q): Query<BTreeMap<String, String>>) -> ApiResult<Response> {
    let (_, resolved) = scenario_query(&q, false)?;
    let text = crate::config_text::run_config_text(&resolved);
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

/// Writes `simulation_data.csv` in chunks to the response, as the CLI writes it into a
/// file; a client that goes away, or keeps the run waiting for more than [`WAIT_BUDGET`]
/// in all, stops the run.
struct CsvRows {
    buf: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
    flag: StopFlag,
    runtime: tokio::runtime::Handle,
    waited: Duration,
}

impl CsvRows {
    fn flush(&mut self) {
        if self.buf.is_empty() || self.flag.is_raised() {
            return;
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CSV_CHUNK + 4096),
        ));
        let started = std::time::Instant::now();
        let left = WAIT_BUDGET.saturating_sub(self.waited);
        let sent = self.runtime.block_on(self.tx.send_timeout(chunk, left));
        self.waited += started.elapsed();
        if sent.is_err() {
            self.flag.raise();
        }
    }
}

impl Observer for CsvRows {
    fn on_step(&mut self, m: &StepMetrics) {
        for (n, cell) in m.cells().iter().enumerate() {
            if n > 0 {
                self.buf.push(b',');
            }
            push_cell(&mut self.buf, cell);
        }
        self.buf.push(b'\n');
        if self.buf.len() >= CSV_CHUNK {
            self.flush();
        }
    }
}

/// A response body fed by a worker through a bounded channel; dropping it (the client
/// went away) stops the worker.
struct Streamed {
    rx: mpsc::Receiver<Bytes>,
    _cancel: Cancel,
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(hyper::body::Frame::data(c))))
    }
}

async fn data_csv(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let (body, resolved) = scenario_query(&q, true)?;
    let (flag, cancel) = start_work(&state, &body, Kind::Run)?;
    let model = resolved.settings.model.clone();
    let header = model.event_columns().join(",");
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let permit = work::worker(&state, 1, &flag).await?;
    // The worker says whether the run could start before the response is sent, so a
    // bad scenario still gets its 4xx.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<ApiResult<()>>();
    let runtime = tokio::runtime::Handle::current();
    let task_flag = flag.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut economy = match datadao_core::Economy::new(model) {
            Ok(e) => e,
            Err(e) => {
                let _ = ready_tx.send(Err(bad(e)));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        economy.set_stop(task_flag.clone());
        let mut rows = CsvRows {
            buf: format!("{header}\n").into_bytes(),
            tx,
            flag: task_flag.clone(),
            runtime,
            waited: Duration::ZERO,
        };
        while !economy.is_finished() && !task_flag.is_raised() {
            if economy.step(&mut rows).is_err() {
                // Stopped, or an audit failure: the download ends short (the client sees
                // a cut-off body, never a made-up end).
                return;
            }
        }
        if !task_flag.is_raised() {
            rows.flush();
        }
    });
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(work::why_stopped(&state, &flag)),
    }
    let body = Body::new(Streamed {
        rx,
        _cancel: cancel,
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"simulation_data.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// An uploaded file's name as messages show it: its last path part, printable, short.
fn upload_name(name: Option<&Value>) -> String {
    let raw = name.and_then(Value::as_str).unwrap_or("");
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    if clean.trim().is_empty() {
        "scenario.toml".into()
    } else {
        clean
    }
}

/// A scenario file's non-default settings, for the page's upload:
/// `{"name": FILE, "text": TOML}`.
async fn parse_scenario(bytes: Bytes) -> ApiResult<Json<Value>> {
    let body = parse_body(&bytes)?;
    let Some(text) = body.get("text").and_then(Value::as_str) else {
        return Err(bad(
            "the request body must be {\"name\": \"scenario.toml\", \"text\": \"...the file's TOML...\"}",
        ));
    };
    let name = upload_name(body.get("name"));
    let inputs = Inputs {
        config_text: Some(ConfigText {
            origin: TextSource::Upload(name),
            text: text.to_string(),
        }),
        ..Inputs::default()
    };
    let resolved = settings::resolve(&inputs).map_err(|e| ApiError::scenario(&e))?;
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
