//! What a simulation costs, who may run one, and how it is stopped.
//!
//! - [`cost`]: agent-steps (foresight forks included) plus [`STEP_COST`] per simulated
//!   step, the measured overhead of a step whatever the population. Runs are limited to
//!   [`super::MAX_COST`], bands (all their seeds) to [`super::MAX_BAND_COST`].
//! - Every request that simulates gets a [`StopFlag`], a child of the server's
//!   shutdown flag, raised by a [`Cancel`] guard when the request is dropped (the client
//!   went away, or the response was sent) and by a newer request of the same session
//!   ([`Sessions`]). The engine looks at it inside steps, so the run stops within
//!   milliseconds and its worker (a permit of [`AppState::workers`], held by the
//!   blocking task itself) is free again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use datadao_core::flows::FlowTotals;
use datadao_core::governance::Voting;
use datadao_core::{Config, Economy, Observer, StepError, StopFlag};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::api::{ApiError, ApiResult};

/// Shared by the handlers.
pub struct AppState {
    /// The latest request of each page session, for superseding work in flight.
    pub sessions: Sessions,
    /// Simulations running at once, at most one per core.
    pub workers: Arc<Semaphore>,
    /// Cores, the band's jobs.
    pub cores: usize,
    /// Raised when the server stops; every request's flag is a child of it.
    pub shutdown: StopFlag,
    /// Requests waiting for a worker.
    pub waiting: std::sync::atomic::AtomicUsize,
}

/// The cost of one simulated step beyond its agents, in agent-steps: a step takes as
/// long as this many agents do. Measured on a release build of the server (README):
/// one agent for 2 million steps takes 0.87 s, 436 ns a step; 50,000 agents for 1,000
/// steps take 1.92 s, 38.5 ns an agent-step; so a step costs about 10 agent-steps of
/// its own.
pub const STEP_COST: u128 = 10;
/// What writing one row of `simulation_data.csv` adds to a step, in agent-steps: the
/// same 2 million steps as a download take 2.17 s, 650 ns a row more.
pub const CSV_ROW_COST: u128 = 17;
/// Longest a request waits for a free worker before it is refused (503).
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most requests waiting for a worker at once; more get 503 at once, so waiting
/// requests cannot take every connection.
pub const MAX_QUEUE: usize = 64;
/// Most sessions remembered for superseding; the least recently used is forgotten.
pub const MAX_SESSIONS: usize = 1024;
/// Longest session id.
pub const MAX_SESSION_LEN: usize = 128;

/// Steps simulated, foresight forks included (the same count as
/// [`datadao_scenario::limits::simulated_agent_steps`], per step rather than per agent).
pub fn simulated_steps(c: &Config) -> u128 {
    let steps = u128::from(c.simulation.total_steps);
    let g = &c.governance;
    if !(g.enabled && g.voting == Voting::Foresight) {
        return steps;
    }
    steps + steps * 2 * u128::from(g.horizon) / u128::from(g.interval_steps.max(1))
}

/// What a run costs: agent-steps plus [`STEP_COST`] per step, forks included.
pub fn cost(c: &Config) -> u128 {
    datadao_scenario::limits::simulated_agent_steps(c) + simulated_steps(c) * STEP_COST
}

/// What a run written out as `simulation_data.csv` costs: [`cost`] plus
/// [`CSV_ROW_COST`] per row.
pub fn csv_cost(c: &Config) -> u128 {
    cost(c) + u128::from(c.simulation.total_steps) * CSV_ROW_COST
}

/// Raises its flag when dropped: hold one for as long as the client waits.
pub struct Cancel(pub StopFlag);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.raise();
    }
}

/// What kind of work a session supersedes: a newer run stops an older run, a newer
/// band an older band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Run,
    Band,
}

struct Entry {
    seq: u64,
    flag: StopFlag,
    used: u64,
}

/// Each session's latest request of each kind, and a clock for least recently used.
type Table = (HashMap<(String, Kind), Entry>, u64);

/// The latest request of each page session, at most [`MAX_SESSIONS`] of them (ids of at
/// most [`MAX_SESSION_LEN`] characters), so the table stays small whatever is sent.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<Table>,
}

impl Sessions {
    /// Register request `seq` of `session` with its flag: an older request of the same
    /// kind still running is stopped; a request older than the latest is refused (409).
    pub fn begin(&self, session: &str, kind: Kind, seq: u64, flag: &StopFlag) -> ApiResult<()> {
        let mut guard = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (map, clock) = &mut *guard;
        *clock += 1;
        let key = (session.to_string(), kind);
        if let Some(e) = map.get_mut(&key) {
            if e.seq > seq {
                return Err(superseded());
            }
            e.flag.raise();
            *e = Entry {
                seq,
                flag: flag.clone(),
                used: *clock,
            };
            return Ok(());
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            key,
            Entry {
                seq,
                flag: flag.clone(),
                used: *clock,
            },
        );
        Ok(())
    }

    /// Sessions remembered now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.lock().unwrap().0.len()
    }
}

pub fn superseded() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "superseded by a newer request")
}

fn stopping() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping")
}

/// A worker, waited for at most [`QUEUE_TIMEOUT`] (and not at all once `flag` is raised).
pub async fn worker(
    state: &Arc<AppState>,
    n: u32,
    flag: &StopFlag,
) -> ApiResult<OwnedSemaphorePermit> {
    /// Counts a waiting request while alive.
    struct Waiting<'a>(&'a AtomicUsize);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let waiting = Waiting(&state.waiting);
    if waiting.0.fetch_add(1, Ordering::SeqCst) >= MAX_QUEUE {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_QUEUE} requests are already waiting for a worker; try again"),
        ));
    }
    let acquire = Arc::clone(&state.workers).acquire_many_owned(n);
    let stopped = async {
        while !flag.is_raised() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        permit = tokio::time::timeout(QUEUE_TIMEOUT, acquire) => match permit {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(stopping()),
            Err(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("every worker stayed busy for {} s; try again", QUEUE_TIMEOUT.as_secs()),
            )),
        },
        _ = stopped => Err(why_stopped(state, flag)),
    }
}

/// The answer for work whose flag was raised: the server stopping, or a newer request.
pub fn why_stopped(state: &AppState, _flag: &StopFlag) -> ApiError {
    if state.shutdown.is_raised() {
        stopping()
    } else {
        superseded()
    }
}

/// Run `model` into `observer` on a worker, stopping as soon as `flag` is raised, and
/// hand back the observer with the run's flows. The
/// blocking task holds the worker's permit, so the pool bounds every simulation, also
/// those whose client has gone.
pub async fn simulate<O: Observer + Send + 'static>(
    state: &Arc<AppState>,
    model: Config,
    mut observer: O,
    flag: StopFlag,
) -> ApiResult<(O, FlowTotals)> {
    let permit = worker(state, 1, &flag).await?;
    let task_flag = flag.clone();
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut economy =
            Economy::new(model).map_err(|e| ApiError::unprocessable(e.to_string()))?;
        economy.set_stop(task_flag.clone());
        while !economy.is_finished() {
            if task_flag.is_raised() {
                return Ok(None);
            }
            match economy.step(&mut observer) {
                Ok(_) => {}
                Err(StepError::Stopped) => return Ok(None),
                Err(e) => return Err(ApiError::unprocessable(e.to_string())),
            }
        }
        Ok(Some((observer, economy.flows().clone())))
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the run failed"))??;
    result.ok_or_else(|| why_stopped(state, &flag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_table_stays_bounded_and_supersedes() {
        let s = Sessions::default();
        for i in 0..5000 {
            s.begin(&format!("s{i}"), Kind::Run, 1, &StopFlag::new())
                .unwrap();
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        let first = StopFlag::new();
        s.begin("x", Kind::Run, 1, &first).unwrap();
        let band = StopFlag::new();
        s.begin("x", Kind::Band, 1, &band).unwrap();
        s.begin("x", Kind::Run, 2, &StopFlag::new()).unwrap();
        assert!(first.is_raised() && !band.is_raised());
        assert!(s.begin("x", Kind::Run, 1, &StopFlag::new()).is_err());
    }
}
