//! The search for the settings most likely to succeed: a space of settings, an
//! objective (a per-point statistic of the sweep tables), and a sampler that asks for
//! trials in fixed batches and is told their objectives in trial order.
//!
//! A trial is one point of a sweep: `runs` Monte Carlo runs of the base scenario with
//! the trial's values on top, run `i` seeded `run_seed(simulation.seed, i)` as every
//! sweep point is (common random numbers: every trial sees the same seeds, so two
//! trials differ by their settings, not by their luck). Its objective is computed as
//! `sweep_points.csv` computes the statistic (the same digest over the same values in
//! the same order), so `datadao sweep --config best.toml --runs R` reproduces it. A
//! metric that is empty in a run counts as `+infinity`: a mean over such runs is
//! infinite, a percentile is infinite once it reaches them.
//!
//! Determinism whatever the number of cores: batches have a fixed size (not the number
//! of threads), a batch's runs are reduced in trial and run order ([`sweep::kpis_until`]),
//! and samplers draw from their own seeded generators.
//!
//! Samplers: CMA-ES from the `cmaes` crate (its state is rebuilt by replaying the told
//! generations, which gives it an ask/tell interface; it restarts from the best trial
//! when it converges), TPE from the `tpe` crate (one estimator per parameter, after 10
//! random trials), and uniform random sampling. Every sampler works in the unit cube;
//! [`Parameter::value_at`] maps a coordinate to a value.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use datadao_core::experiment::{run_seed, Digest};
use datadao_core::numbers::push_f64;
use datadao_core::StopFlag;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::criteria::{self, Criterion};
use crate::error::{Result, ScenarioError};
use crate::settings::{self, Inputs, Source};
use crate::sweep::{self, Axis, Plan, SweepError, SweepPoint};

/// Most trials a search may ask for.
pub const MAX_TRIALS: u64 = 100_000;
/// Largest batch (trials asked together).
pub const MAX_BATCH: usize = 1024;
/// Trials of a batch for TPE and random sampling unless told: a fixed number, so the
/// search is the same on any machine, large enough to keep every core busy with runs.
pub const DEFAULT_BATCH: usize = 8;
/// Random trials before TPE models the objective (optuna's `n_startup_trials`).
pub const TPE_STARTUP: usize = 10;
/// CMA-ES's first step size, in the unit cube.
pub const CMAES_SIGMA: f64 = 0.25;
/// What the samplers are told for an infinite objective: the order is kept, the
/// arithmetic stays finite.
const HUGE: f64 = 1e300;

/// How a trial's coordinate in `[0, 1]` becomes a value.
#[derive(Clone, Debug)]
pub enum Dimension {
    /// `"LOW..HIGH"`: any number between (whole numbers for a whole-number setting).
    Continuous {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
        /// The setting takes whole numbers.
        integer: bool,
    },
    /// `"LOW..HIGH:STEP"` or a list: one of the axis's values, by index.
    Values(Axis),
}

/// One setting of the space.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Dotted key.
    pub key: String,
    /// Its values.
    pub dimension: Dimension,
    /// Where it was given.
    pub origin: Source,
}

impl Parameter {
    /// Whether the parameter is a list of values (TPE's default, categorical).
    pub fn is_list(&self) -> bool {
        matches!(&self.dimension, Dimension::Values(a) if a.typed.is_some())
    }

    /// How many values a stepped or listed parameter has (`None`: continuous).
    fn count(&self) -> Option<usize> {
        match &self.dimension {
            Dimension::Continuous { .. } => None,
            Dimension::Values(a) => Some(a.values.len()),
        }
    }

    /// The value at coordinate `u` (clamped into `[0, 1]`): the typed value given to
    /// the settings and its cell as the tables write it.
    pub fn value_at(&self, u: f64) -> (settings::Given<toml::Value>, Option<String>, String) {
        let u = if u.is_nan() { 0.5 } else { u.clamp(0.0, 1.0) };
        match &self.dimension {
            Dimension::Continuous {
                low,
                high,
                integer: true,
            } => {
                let v = (low + u * (high - low)).round().clamp(*low, *high) as i64;
                (
                    settings::Given::new(&self.key, toml::Value::Integer(v), self.origin.clone()),
                    None,
                    v.to_string(),
                )
            }
            Dimension::Continuous { low, high, .. } => {
                let v = (low + u * (high - low)).clamp(*low, *high);
                let mut text = Vec::new();
                push_f64(&mut text, v);
                (
                    settings::Given::new(&self.key, toml::Value::Float(v), self.origin.clone()),
                    None,
                    String::from_utf8(text).expect("ascii"),
                )
            }
            Dimension::Values(axis) => {
                let n = axis.values.len();
                let i = ((u * n as f64).floor() as usize).min(n - 1);
                match axis.value(i) {
                    sweep::AxisValue::Typed(v) => (
                        settings::Given::new(&self.key, v.clone(), self.origin.clone()),
                        None,
                        axis.values[i].clone(),
                    ),
                    sweep::AxisValue::Text(t) => (
                        settings::Given::new(
                            &self.key,
                            toml::Value::String(String::new()),
                            self.origin.clone(),
                        ),
                        Some(t.to_string()),
                        axis.values[i].clone(),
                    ),
                }
            }
        }
    }
}

/// Read `"LOW..HIGH"` (continuous), `"LOW..HIGH:STEP"` (stepped) or a list for `key`.
/// `list` builds a list's axis as a sweep file's grid does.
pub fn parse_parameter(
    key: &str,
    spec: &toml::Value,
    origin: Source,
    list: &dyn Fn(&str, &toml::Value, Source) -> Result<Axis>,
) -> Result<Parameter> {
    let key = key.trim().to_string();
    let refuse = |value: String, accepted: &str| ScenarioError::InvalidSetting {
        key: format!("optimize.space.{key}"),
        value,
        sources: vec![origin.clone()],
        item: None,
        related: Vec::new(),
        accepted: accepted.to_string(),
        reason: None,
    };
    let dimension = match spec {
        toml::Value::String(text) if !text.contains(':') => {
            // A continuous range: both ends must be values of the setting.
            let (lo, hi) = text.split_once("..").ok_or_else(|| {
                refuse(
                    text.clone(),
                    "\"LOW..HIGH\", \"LOW..HIGH:STEP\" or a list of values",
                )
            })?;
            // The axis checks the key can vary (known, not output.*) and both ends.
            let ends = Axis::from_values(
                &key,
                vec![
                    toml::Value::String(lo.trim().into()),
                    toml::Value::String(hi.trim().into()),
                ],
                origin.clone(),
            )?;
            let _ = ends;
            if !settings::is_numeric(&key) {
                return Err(refuse(
                    text.clone(),
                    "a list of values for a setting that is not a number (LOW..HIGH needs a number)",
                ));
            }
            let integer = matches!(
                settings::known_keys().get(&key),
                Some(toml::Value::Integer(_))
            );
            let parse = |t: &str| -> Result<f64> {
                let v = settings::parse_text(&key, t.trim(), &origin)?;
                match v {
                    toml::Value::Integer(i) => Ok(i as f64),
                    toml::Value::Float(f) if f.is_finite() => Ok(f),
                    _ => Err(refuse(text.clone(), "finite numbers")),
                }
            };
            let (low, high) = (parse(lo)?, parse(hi)?);
            if low >= high {
                return Err(refuse(text.clone(), "LOW..HIGH with LOW below HIGH"));
            }
            Dimension::Continuous { low, high, integer }
        }
        toml::Value::String(text) => {
            Dimension::Values(Axis::from_range(&key, text, origin.clone())?)
        }
        toml::Value::Array(_) => Dimension::Values(list(&key, spec, origin.clone())?),
        other => {
            return Err(refuse(
                other.to_string(),
                "\"LOW..HIGH\" (continuous), \"LOW..HIGH:STEP\" (stepped) or a list of values",
            ))
        }
    };
    Ok(Parameter {
        key,
        dimension,
        origin,
    })
}

/// Maximise or minimise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Higher is better.
    Maximize,
    /// Lower is better.
    Minimize,
}

/// What a trial is scored by: a column of `sweep_points.csv`.
#[derive(Clone, Debug, PartialEq)]
pub enum Statistic {
    /// `<metric>_mean`, `_p5`, `_p50` or `_p95` of a column of `sweep_runs.csv`.
    Metric {
        /// The runs table's column.
        metric: String,
        /// `mean`, `p5`, `p50` or `p95`.
        stat: &'static str,
    },
    /// `<criterion>_pass_rate`.
    PassRate(String),
    /// `all_pass_rate`.
    AllPass,
}

impl Statistic {
    /// Read an objective's name.
    pub fn parse(text: &str) -> Option<Statistic> {
        let text = text.trim();
        if text == "all_pass_rate" {
            return Some(Statistic::AllPass);
        }
        if let Some(name) = text.strip_suffix("_pass_rate") {
            return Some(Statistic::PassRate(name.to_string()));
        }
        for stat in ["mean", "p5", "p50", "p95"] {
            if let Some(metric) = text.strip_suffix(&format!("_{stat}")) {
                if !metric.is_empty() {
                    return Some(Statistic::Metric {
                        metric: metric.to_string(),
                        stat,
                    });
                }
            }
        }
        None
    }

    /// Its column name in `sweep_points.csv`.
    pub fn column(&self) -> String {
        match self {
            Statistic::Metric { metric, stat } => format!("{metric}_{stat}"),
            Statistic::PassRate(name) => format!("{name}_pass_rate"),
            Statistic::AllPass => "all_pass_rate".into(),
        }
    }
}

/// The sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// CMA-ES (the default when every parameter is a number).
    Cmaes,
    /// Tree-structured Parzen estimator (the default when a parameter is a list).
    Tpe,
    /// Uniform random sampling.
    Random,
}

impl Algorithm {
    /// Read `cmaes`, `tpe` or `random`.
    pub fn parse(text: &str) -> Option<Algorithm> {
        match text.trim() {
            "cmaes" => Some(Algorithm::Cmaes),
            "tpe" => Some(Algorithm::Tpe),
            "random" => Some(Algorithm::Random),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Cmaes => "cmaes",
            Algorithm::Tpe => "tpe",
            Algorithm::Random => "random",
        }
    }

    /// The default for `space`: TPE when an axis is a list, else CMA-ES.
    pub fn default_for(space: &[Parameter]) -> Algorithm {
        if space.iter().any(Parameter::is_list) {
            Algorithm::Tpe
        } else {
            Algorithm::Cmaes
        }
    }
}

/// A whole search.
#[derive(Clone, Debug)]
pub struct Search {
    /// The settings searched.
    pub space: Vec<Parameter>,
    /// Maximise or minimise.
    pub goal: Goal,
    /// The objective.
    pub statistic: Statistic,
    /// Where the objective was given, for a refusal.
    pub objective_source: Source,
    /// The sampler.
    pub algorithm: Algorithm,
    /// Trials.
    pub trials: u64,
    /// Runs per trial.
    pub runs: u64,
    /// The sampler's seed (the runs' seeds come from `simulation.seed`).
    pub seed: u64,
    /// Trials per batch (`None`: CMA-ES's population, else [`DEFAULT_BATCH`]).
    pub batch: Option<usize>,
}

impl Search {
    /// Trials asked together: for CMA-ES its population (at least 2, which the
    /// algorithm needs), else `batch` or [`DEFAULT_BATCH`].
    pub fn batch_size(&self) -> usize {
        match self.algorithm {
            Algorithm::Cmaes => self
                .batch
                .unwrap_or(4 + (3.0 * (self.space.len() as f64).ln()).floor() as usize)
                .max(2),
            _ => self.batch.unwrap_or(DEFAULT_BATCH).max(1),
        }
    }

    /// The axes of the trials' tables: one per parameter, in order.
    pub fn axes(&self) -> Vec<Axis> {
        self.space
            .iter()
            .map(|p| Axis {
                key: p.key.clone(),
                values: Vec::new(),
                typed: None,
                origin: p.origin.clone(),
            })
            .collect()
    }
}

/// One finished trial.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// Its number, from 0.
    pub index: u64,
    /// Its batch, from 0.
    pub batch: u64,
    /// (setting, value as written), one per parameter.
    pub values: Vec<(String, String)>,
    /// Its objective (`+inf` where the metric is empty in runs it reaches).
    pub objective: f64,
    /// Each criterion's pass rate over its runs, in order.
    pub pass_rates: Vec<f64>,
    /// The share of its runs that met every criterion (`None` without criteria).
    pub all_pass: Option<f64>,
}

/// What a search found: every trial in order, and the best one's settings.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every trial, in order.
    pub trials: Vec<Trial>,
    /// The best trial (the first of equals).
    pub best: usize,
    /// The best trial's resolved settings.
    pub best_settings: settings::Settings,
}

/// The statistic of one trial's runs, `values` in run order (`None`: empty, +inf).
pub fn statistic_of(values: &[Option<f64>], stat: &str) -> f64 {
    if values.iter().all(Option::is_some) {
        // As `sweep_points.csv` computes it: the same digest, the same order.
        let mut d = Digest::default();
        for v in values.iter().flatten() {
            d.add(*v);
        }
        let q = match stat {
            "mean" => d.mean(),
            "p5" => d.quantile(0.05),
            "p50" => d.quantile(0.5),
            _ => d.quantile(0.95),
        };
        return q.unwrap_or(f64::INFINITY);
    }
    if stat == "mean" {
        return f64::INFINITY;
    }
    // Empty runs at +inf: numpy's linear percentile, infinite once it reaches them.
    let mut sorted: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::INFINITY)).collect();
    sorted.sort_by(f64::total_cmp);
    let q = match stat {
        "p5" => 0.05,
        "p50" => 0.5,
        _ => 0.95,
    };
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    let (a, b) = (sorted[lo], sorted[hi]);
    if hi == lo || a == b {
        a
    } else if b.is_infinite() {
        f64::INFINITY
    } else {
        a + (b - a) * (at - lo as f64)
    }
}

/// The optimiser's view of an objective: lower is better, finite.
fn loss(goal: Goal, objective: f64) -> f64 {
    let v = match goal {
        Goal::Maximize => -objective,
        Goal::Minimize => objective,
    };
    v.clamp(-HUGE, HUGE)
}

/// A sampler: asked for `n` points of the unit cube, told their losses in order.
trait Sampler {
    fn ask(&mut self, n: usize) -> Vec<Vec<f64>>;
    fn tell(&mut self, asked: &[Vec<f64>], losses: &[f64]);
}

struct RandomSampler {
    rng: ChaCha8Rng,
    dim: usize,
}

impl Sampler for RandomSampler {
    fn ask(&mut self, n: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| (0..self.dim).map(|_| self.rng.gen::<f64>()).collect())
            .collect()
    }
    fn tell(&mut self, _: &[Vec<f64>], _: &[f64]) {}
}

/// One TPE estimator per parameter; a list or stepped parameter is categorical. Its
/// generator is rand 0.10's ChaCha8, the `tpe` crate's `rand`.
struct TpeSampler {
    rng: rand_tpe::rngs::ChaCha8Rng,
    counts: Vec<Option<usize>>,
    estimators: Vec<tpe::TpeOptimizer>,
    told: usize,
}

impl TpeSampler {
    fn new(space: &[Parameter], seed: u64) -> TpeSampler {
        let counts: Vec<Option<usize>> = space.iter().map(Parameter::count).collect();
        let estimators = counts
            .iter()
            .map(|c| match c {
                None => tpe::TpeOptimizer::new(
                    tpe::parzen_estimator(),
                    tpe::range(0.0, 1.0).expect("a range"),
                ),
                Some(n) => tpe::TpeOptimizer::new(
                    tpe::histogram_estimator(),
                    tpe::categorical_range(*n).expect("at least one value"),
                ),
            })
            .collect();
        TpeSampler {
            rng: <rand_tpe::rngs::ChaCha8Rng as rand_tpe::SeedableRng>::seed_from_u64(seed),
            counts,
            estimators,
            told: 0,
        }
    }
}

impl Sampler for TpeSampler {
    fn ask(&mut self, n: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let random = self.told < TPE_STARTUP;
                self.estimators
                    .iter_mut()
                    .zip(&self.counts)
                    .map(|(e, count)| {
                        let raw = if random {
                            use rand_tpe::RngExt;
                            match count {
                                None => self.rng.random::<f64>(),
                                Some(n) => self.rng.random_range(0..*n) as f64,
                            }
                        } else {
                            e.ask(&mut self.rng).unwrap_or(0.5)
                        };
                        match count {
                            None => raw,
                            Some(n) => (raw.floor() + 0.5) / *n as f64,
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn tell(&mut self, asked: &[Vec<f64>], losses: &[f64]) {
        for (x, &l) in asked.iter().zip(losses) {
            for ((o, count), &u) in self.estimators.iter_mut().zip(&self.counts).zip(x) {
                let raw = match count {
                    None => u.clamp(0.0, 1.0 - f64::EPSILON),
                    Some(n) => ((u * *n as f64).floor()).min(*n as f64 - 1.0),
                };
                let _ = o.tell(raw, l);
            }
            self.told += 1;
        }
    }
}

/// CMA-ES with ask and tell: the `cmaes` crate evaluates inside its own step, so its
/// state is rebuilt for every ask by replaying the generations told so far (cheap
/// beside one simulated run). When it converges (a termination criterion), a new epoch
/// starts from the best trial with a fresh seed.
struct CmaesSampler {
    dim: usize,
    lambda: usize,
    seed: u64,
    epochs: Vec<Epoch>,
    best: Option<(f64, Vec<f64>)>,
}

struct Epoch {
    seed: u64,
    mean: Vec<f64>,
    told: Vec<Vec<f64>>,
}

/// The objective a replay feeds: told values in order, recording what it is asked.
type Feed = Box<dyn FnMut(&cmaes::DVector<f64>) -> f64>;
type Replay = cmaes::CMAES<Feed>;
/// A replayed epoch: its state, the queue of told values, the points it was asked.
type Replayed = (
    Replay,
    Rc<RefCell<VecDeque<f64>>>,
    Rc<RefCell<Vec<Vec<f64>>>>,
);

impl CmaesSampler {
    fn new(dim: usize, lambda: usize, seed: u64) -> CmaesSampler {
        CmaesSampler {
            dim,
            lambda,
            seed,
            epochs: vec![Epoch {
                seed,
                mean: vec![0.5; dim],
                told: Vec::new(),
            }],
            best: None,
        }
    }

    /// The current epoch replayed: its state after every told generation, with the
    /// queue the objective reads and the points it is asked (`None`: it converged).
    fn replay(&self) -> Option<Replayed> {
        let epoch = self.epochs.last().expect("an epoch");
        let feed: Rc<RefCell<VecDeque<f64>>> = Rc::default();
        let seen: Rc<RefCell<Vec<Vec<f64>>>> = Rc::default();
        let (f, s) = (Rc::clone(&feed), Rc::clone(&seen));
        let objective: Feed = Box::new(move |x| {
            s.borrow_mut().push(x.iter().copied().collect());
            f.borrow_mut().pop_front().unwrap_or(0.0)
        });
        let mut cma = cmaes::CMAESOptions::new(epoch.mean.clone(), CMAES_SIGMA)
            .population_size(self.lambda)
            .seed(epoch.seed)
            .build(objective)
            .ok()?;
        for values in &epoch.told {
            feed.borrow_mut().extend(values);
            if cma.next().is_some() {
                return None;
            }
        }
        seen.borrow_mut().clear();
        Some((cma, feed, seen))
    }
}

impl Sampler for CmaesSampler {
    fn ask(&mut self, n: usize) -> Vec<Vec<f64>> {
        loop {
            if let Some((mut cma, _feed, seen)) = self.replay() {
                let _ = cma.next();
                let asked = seen.borrow();
                return asked.iter().take(n).cloned().collect();
            }
            if self.epochs.last().is_some_and(|e| e.told.is_empty()) {
                // A fresh epoch that cannot start (options the crate refuses, which the
                // population of at least 2 rules out): its mean, rather than no answer.
                let mean = self
                    .epochs
                    .last()
                    .map(|e| e.mean.clone())
                    .unwrap_or_default();
                return vec![mean; n];
            }
            // Converged: restart from the best trial.
            let k = self.epochs.len() as u64;
            let mean = self
                .best
                .as_ref()
                .map(|b| b.1.clone())
                .unwrap_or_else(|| vec![0.5; self.dim]);
            self.epochs.push(Epoch {
                seed: run_seed(self.seed, k),
                mean,
                told: Vec::new(),
            });
        }
    }

    fn tell(&mut self, asked: &[Vec<f64>], losses: &[f64]) {
        for (x, &l) in asked.iter().zip(losses) {
            if self.best.as_ref().is_none_or(|b| l < b.0) {
                let clamped = x.iter().map(|u| u.clamp(0.0, 1.0)).collect();
                self.best = Some((l, clamped));
            }
        }
        // A whole generation is told; a partial one (the search's last) is not needed.
        if asked.len() == self.lambda {
            self.epochs
                .last_mut()
                .expect("an epoch")
                .told
                .push(losses.to_vec());
        }
    }
}

/// The trial's inputs: the base's with the trial's values on top.
fn trial_inputs(base: &Inputs, space: &[Parameter], u: &[f64]) -> (Inputs, Vec<(String, String)>) {
    let mut inputs = base.clone();
    let mut values = Vec::with_capacity(space.len());
    for (p, &x) in space.iter().zip(u) {
        let (typed, text, cell) = p.value_at(x);
        inputs.flags.retain(|g| g.key != p.key);
        match text {
            Some(t) => inputs
                .flags
                .push(settings::Given::new(&p.key, t, p.origin.clone())),
            None => inputs.typed.push(typed),
        }
        values.push((p.key.clone(), cell));
    }
    (inputs, values)
}

/// Check the objective and the criteria against the columns the trials' runs have.
pub fn check(search: &Search, base: &settings::Resolved) -> Result<()> {
    let plan = Plan {
        axes: search.axes(),
        points: vec![SweepPoint {
            values: Vec::new(),
            config: base.settings.model.clone(),
        }],
        runs: 1,
        jobs: 1,
        shard: None,
        criteria: base.settings.criteria.clone(),
        policies: Vec::new(),
    };
    sweep::check_criteria(&plan, &|c| base.criterion_source(&c.name))?;
    let columns = sweep::value_columns(
        &plan.axes,
        governed(search, base),
        &sweep::plan_types(&plan),
    );
    let refuse = |accepted: String| ScenarioError::InvalidSetting {
        key: "optimize.objective".into(),
        value: search.statistic.column(),
        sources: vec![search.objective_source.clone()],
        item: None,
        related: Vec::new(),
        accepted,
        reason: None,
    };
    match &search.statistic {
        Statistic::Metric { metric, .. } if !columns.contains(metric) => Err(refuse(format!(
            "<metric>_mean, _p5, _p50 or _p95 of a column of sweep_runs.csv ({}), all_pass_rate or <criterion>_pass_rate",
            columns.join(", ")
        ))),
        Statistic::PassRate(name) if !base.settings.criteria.iter().any(|c| c.name == *name) => {
            Err(refuse(format!(
                "<criterion>_pass_rate of a criterion given ({}), all_pass_rate or <metric>_mean|_p5|_p50|_p95",
                base.settings
                    .criteria
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        Statistic::AllPass | Statistic::PassRate(_) if base.settings.criteria.is_empty() => {
            Err(refuse(
                "a pass rate needs criteria ([[criteria]] or --criterion); or <metric>_mean|_p5|_p50|_p95".into(),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the trials' runs have governance columns: the base is governed, or
/// `governance.enabled` is searched.
fn governed(search: &Search, base: &settings::Resolved) -> bool {
    base.settings.model.governance.enabled
        || search.space.iter().any(|p| p.key == "governance.enabled")
}

/// Run the search: every batch's trials resolved, run in parallel on `jobs` threads,
/// scored and told in order. `check_point` refuses a trial's settings that do not fit
/// (memory); `on_run` is called after every run (a progress bar).
pub fn run(
    search: &Search,
    base_inputs: &Inputs,
    base: &settings::Resolved,
    jobs: usize,
    check_point: &dyn Fn(&settings::Resolved) -> Result<()>,
    on_run: &(dyn Fn() + Sync),
    flag: &StopFlag,
) -> Result<Outcome, OptimizeError> {
    check(search, base)?;
    let dim = search.space.len();
    let batch = search.batch_size();
    let mut sampler: Box<dyn Sampler> = match search.algorithm {
        Algorithm::Random => Box::new(RandomSampler {
            rng: ChaCha8Rng::seed_from_u64(search.seed),
            dim,
        }),
        Algorithm::Tpe => Box::new(TpeSampler::new(&search.space, search.seed)),
        Algorithm::Cmaes => Box::new(CmaesSampler::new(dim, batch, search.seed)),
    };
    let governed = governed(search, base);
    let axes = search.axes();
    let criteria: Vec<Criterion> = base.settings.criteria.clone();
    let mut trials: Vec<Trial> = Vec::new();
    let mut best: Option<(usize, settings::Settings)> = None;
    let mut batch_index = 0u64;
    while (trials.len() as u64) < search.trials {
        let n = batch.min((search.trials - trials.len() as u64) as usize);
        let asked = sampler.ask(n);
        let mut points = Vec::with_capacity(asked.len());
        let mut resolved = Vec::with_capacity(asked.len());
        for u in &asked {
            let (inputs, values) = trial_inputs(base_inputs, &search.space, u);
            let r = settings::resolve(&inputs)?;
            check_point(&r)?;
            points.push(SweepPoint {
                values,
                config: r.settings.model.clone(),
            });
            resolved.push(r.settings);
        }
        let plan = Plan {
            axes: axes.clone(),
            points,
            runs: search.runs,
            jobs,
            shard: None,
            criteria: criteria.clone(),
            policies: Vec::new(),
        };
        let columns = sweep::value_columns(&axes, governed, &sweep::plan_types(&plan));
        let metric_at = match &search.statistic {
            Statistic::Metric { metric, .. } => columns.iter().position(|c| c == metric),
            _ => None,
        };
        let criteria_at: Vec<usize> = criteria
            .iter()
            .map(|c| columns.iter().position(|col| *col == c.metric).unwrap_or(0))
            .collect();
        // Per point: the objective's metric in every run (for its percentiles), and the
        // runs that met each criterion and all of them (counts only).
        let points_n = plan.points.len();
        let mut metric_values: Vec<Vec<Option<f64>>> = vec![Vec::new(); points_n];
        let mut met: Vec<Vec<u64>> = vec![vec![0; criteria.len()]; points_n];
        let mut met_all: Vec<u64> = vec![0; points_n];
        sweep::kpis_until(&plan, on_run, flag, &mut |u, k| {
            let point = &plan.points[u.point];
            let seed = run_seed(point.config.simulation.seed, u.run);
            let row = sweep::run_values(u.point, &point.values, u.run, seed, k, governed);
            if metric_at.is_some() {
                metric_values[u.point].push(metric_at.and_then(|at| row[at]));
            }
            let mut all = true;
            for (i, (c, &at)) in criteria.iter().zip(&criteria_at).enumerate() {
                let ok = c.passes(row[at]);
                met[u.point][i] += u64::from(ok);
                all &= ok;
            }
            met_all[u.point] += u64::from(all);
        })?;
        let mut losses = Vec::with_capacity(asked.len());
        for (p, point) in plan.points.iter().enumerate() {
            let n_runs = search.runs;
            let passed = &met[p];
            let all = met_all[p];
            let pass_rates: Vec<f64> = passed
                .iter()
                .map(|&k| criteria::pass_rate(k, n_runs).unwrap_or(0.0))
                .collect();
            let all_pass =
                (!criteria.is_empty()).then(|| criteria::pass_rate(all, n_runs).unwrap_or(0.0));
            let objective = match &search.statistic {
                Statistic::Metric { stat, .. } => statistic_of(&metric_values[p], stat),
                Statistic::AllPass => all_pass.unwrap_or(0.0),
                Statistic::PassRate(name) => {
                    let i = criteria
                        .iter()
                        .position(|c| c.name == *name)
                        .expect("checked");
                    pass_rates[i]
                }
            };
            losses.push(loss(search.goal, objective));
            let index = trials.len();
            let better = best.as_ref().is_none_or(|(b, _)| {
                loss(search.goal, objective) < loss(search.goal, trials[*b].objective)
            });
            trials.push(Trial {
                index: index as u64,
                batch: batch_index,
                values: point.values.clone(),
                objective,
                pass_rates,
                all_pass,
            });
            if better {
                best = Some((index, resolved[p].clone()));
            }
        }
        sampler.tell(&asked, &losses);
        batch_index += 1;
    }
    let (best, best_settings) = best.expect("at least one trial");
    Ok(Outcome {
        trials,
        best,
        best_settings,
    })
}

/// Why a search did not finish.
#[derive(Debug)]
pub enum OptimizeError {
    /// A trial's settings were refused.
    Settings(ScenarioError),
    /// Its runs failed or were stopped.
    Sweep(SweepError),
}

impl std::fmt::Display for OptimizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptimizeError::Settings(e) => write!(f, "{e}"),
            OptimizeError::Sweep(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OptimizeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OptimizeError::Settings(e) => Some(e),
            OptimizeError::Sweep(e) => Some(e),
        }
    }
}

impl From<ScenarioError> for OptimizeError {
    fn from(e: ScenarioError) -> Self {
        OptimizeError::Settings(e)
    }
}

impl From<SweepError> for OptimizeError {
    fn from(e: SweepError) -> Self {
        OptimizeError::Sweep(e)
    }
}

/// `optimize_trials.csv`: trial, batch, each parameter, the objective, each criterion's
/// pass rate and `all_pass_rate`.
pub fn trials_table(search: &Search, criteria: &[Criterion], outcome: &Outcome) -> Vec<u8> {
    let mut out = Vec::new();
    let mut head = vec!["trial".to_string(), "batch".to_string()];
    head.extend(search.space.iter().map(|p| p.key.clone()));
    head.push("objective".into());
    head.extend(criteria.iter().map(|c| format!("{}_pass_rate", c.name)));
    if !criteria.is_empty() {
        head.push("all_pass_rate".into());
    }
    out.extend_from_slice(head.join(",").as_bytes());
    out.push(b'\n');
    for t in &outcome.trials {
        out.extend_from_slice(format!("{},{}", t.index, t.batch).as_bytes());
        for (_, v) in &t.values {
            out.push(b',');
            out.extend_from_slice(v.as_bytes());
        }
        out.push(b',');
        push_number(&mut out, t.objective);
        for r in t.pass_rates.iter().chain(t.all_pass.iter()) {
            out.push(b',');
            push_number(&mut out, *r);
        }
        out.push(b'\n');
    }
    out
}

fn push_number(out: &mut Vec<u8>, v: f64) {
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else {
        push_f64(out, v);
    }
}

/// `best.toml`: the best trial's settings as a scenario `datadao run --config` and
/// `datadao sweep --config` read, headed by what it scored and how to reproduce it.
pub fn best_toml(search: &Search, outcome: &Outcome) -> String {
    let t = &outcome.trials[outcome.best];
    let mut settings = outcome.best_settings.clone();
    settings.output.dir = std::path::PathBuf::from(".");
    let mut objective = Vec::new();
    push_number(&mut objective, t.objective);
    format!(
        "# Best of {} trials of datadao optimize ({}, seed {}): trial {}, {} {} = {} over {} runs.\n# Reproduce: datadao sweep --config best.toml --runs {} (its {} in sweep_points.csv).\n# Settings searched: {}.\n\n{}",
        outcome.trials.len(),
        search.algorithm.name(),
        search.seed,
        t.index,
        match search.goal {
            Goal::Maximize => "maximize",
            Goal::Minimize => "minimize",
        },
        search.statistic.column(),
        String::from_utf8(objective).expect("ascii"),
        search.runs,
        search.runs,
        search.statistic.column(),
        t.values
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        settings::to_toml(&settings)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_count_empty_runs_as_infinity() {
        let full = [Some(1.0), Some(2.0), Some(3.0), Some(4.0)];
        assert_eq!(statistic_of(&full, "mean"), 2.5);
        assert_eq!(statistic_of(&full, "p50"), 2.5);
        // numpy: percentile([1,2,3,4], 5) = 1.15
        assert!((statistic_of(&full, "p5") - 1.15).abs() < 1e-12);
        let gap = [Some(1.0), None, Some(3.0), Some(4.0)];
        assert_eq!(statistic_of(&gap, "mean"), f64::INFINITY);
        // sorted [1, 3, 4, inf]: p5 at 0.15 -> 1 + 0.15 * 2 = 1.3; p50 at 1.5 -> 3.5;
        // p95 at 2.85 reaches the empty run.
        assert!((statistic_of(&gap, "p5") - 1.3).abs() < 1e-12);
        assert_eq!(statistic_of(&gap, "p50"), 3.5);
        assert_eq!(statistic_of(&gap, "p95"), f64::INFINITY);
    }

    #[test]
    fn objectives_are_read_by_their_columns() {
        assert_eq!(Statistic::parse("all_pass_rate"), Some(Statistic::AllPass));
        assert_eq!(
            Statistic::parse("floor_pass_rate"),
            Some(Statistic::PassRate("floor".into()))
        );
        assert_eq!(
            Statistic::parse("final_price_p5"),
            Some(Statistic::Metric {
                metric: "final_price".into(),
                stat: "p5"
            })
        );
        assert_eq!(Statistic::parse("final_price"), None);
        assert_eq!(Statistic::parse("_mean"), None);
    }

    /// The samplers alone on functions with known optima, in the unit square.
    fn minimise(algorithm: Algorithm, f: &dyn Fn(&[f64]) -> f64, trials: usize) -> Vec<f64> {
        let space: Vec<Parameter> = (0..2)
            .map(|i| Parameter {
                key: format!("x{i}"),
                dimension: Dimension::Continuous {
                    low: 0.0,
                    high: 1.0,
                    integer: false,
                },
                origin: Source::Default,
            })
            .collect();
        let mut sampler: Box<dyn Sampler> = match algorithm {
            Algorithm::Random => Box::new(RandomSampler {
                rng: ChaCha8Rng::seed_from_u64(7),
                dim: 2,
            }),
            Algorithm::Tpe => Box::new(TpeSampler::new(&space, 7)),
            Algorithm::Cmaes => Box::new(CmaesSampler::new(2, 6, 7)),
        };
        let mut best = (f64::INFINITY, vec![]);
        let mut done = 0;
        while done < trials {
            let n = 6.min(trials - done);
            let asked = sampler.ask(n);
            let clamped: Vec<Vec<f64>> = asked
                .iter()
                .map(|x| x.iter().map(|u| u.clamp(0.0, 1.0)).collect())
                .collect();
            let losses: Vec<f64> = clamped.iter().map(|x| f(x)).collect();
            for (x, &l) in clamped.iter().zip(&losses) {
                if l < best.0 {
                    best = (l, x.clone());
                }
            }
            sampler.tell(&asked, &losses);
            done += n;
        }
        best.1
    }

    #[test]
    fn samplers_find_an_interior_optimum_and_one_at_a_bound() {
        let bowl = |x: &[f64]| (x[0] - 0.3).powi(2) + (x[1] - 0.7).powi(2);
        let slope = |x: &[f64]| -(x[0] + x[1]);
        for algorithm in [Algorithm::Cmaes, Algorithm::Tpe] {
            let x = minimise(algorithm, &bowl, 240);
            assert!(
                (x[0] - 0.3).abs() < 0.05 && (x[1] - 0.7).abs() < 0.05,
                "{algorithm:?}: {x:?}"
            );
            let x = minimise(algorithm, &slope, 240);
            assert!(x[0] > 0.95 && x[1] > 0.95, "{algorithm:?}: {x:?}");
        }
        // Same seed, same answers.
        assert_eq!(
            minimise(Algorithm::Cmaes, &bowl, 60),
            minimise(Algorithm::Cmaes, &bowl, 60)
        );
        assert_eq!(
            minimise(Algorithm::Tpe, &bowl, 60),
            minimise(Algorithm::Tpe, &bowl, 60)
        );
    }
}
