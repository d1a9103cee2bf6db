//! `datadao optimize`: read the search (`[optimize]` of a file and the flags), run it
//! with the scenario crate's samplers, and write the trials table, the best trial as a
//! scenario, and the figure.

// A `ScenarioError` is large by design (it carries what a refusal says); only refusals build it.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use datadao_scenario::optimize::{self, Algorithm, Goal, Search, Statistic};
use datadao_scenario::outputs::{BEST_FILE, OPTIMIZE_FILES, OPTIMIZE_PLOT_FILE, TRIALS_FILE};
use datadao_scenario::settings::{self, ConfigText, Given, Source, TextSource};
use datadao_scenario::{limits, sweep};

use crate::cli::OptimizeArgs;
use crate::output::write_whole;
use crate::output_set::OutputSet;
use crate::plot::{self, Line, Panel};
use crate::signals;
use crate::sweep_cmd::{grid_axis, shared_inputs};
use crate::terminal::{emit, progress_bar};

/// Trials unless told.
const DEFAULT_TRIALS: u64 = 50;
/// Runs per trial unless told.
const DEFAULT_RUNS: u64 = 10;

/// `[optimize]` of a file, as given.
#[derive(Default)]
struct Section {
    table: toml::Table,
    path: Option<PathBuf>,
}

impl Section {
    fn source(&self, key: &str) -> Source {
        match &self.path {
            Some(p) => Source::File(p.clone(), "optimize file"),
            None => Source::Flag(key.to_string()),
        }
    }

    fn whole(&self, key: &str, lo: u64, hi: u64) -> Result<Option<u64>> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if (lo as i128..=hi as i128).contains(&(*n as i128)) => {
                Ok(Some(*n as u64))
            }
            Some(v) => bail!(
                "invalid setting optimize.{key} = '{v}' (from {}): accepted: a whole number from {lo} to {hi}",
                self.source(key)
            ),
        }
    }

    fn text(&self, key: &str) -> Result<Option<String>> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => bail!(
                "invalid setting optimize.{key} = '{v}' (from {}): accepted: text",
                self.source(key)
            ),
        }
    }
}

const KNOWN: [&str; 8] = [
    "trials",
    "runs",
    "maximize",
    "minimize",
    "algorithm",
    "seed",
    "batch",
    "space",
];

/// Split an optimize file into `[optimize]` and the scenario settings around it (a
/// `[sweep]` section is the sweep's, not read here).
fn read_file(path: &Path) -> Result<(Section, String)> {
    let text = settings::read_text_file(
        path,
        &format!("optimize file {} (given with --sweep)", path.display()),
        settings::MAX_SETTINGS_FILE,
        "TOML file",
    )?;
    let mut table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow!("cannot parse optimize file {}: {e}", path.display()))?;
    table.remove("sweep");
    let section = match table.remove("optimize") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(_) => bail!("{}: [optimize] must be a table", path.display()),
    };
    for (key, value) in &section {
        if !KNOWN.contains(&key.as_str()) {
            bail!(
                "invalid setting optimize.{key} = '{value}' (from optimize file {}): accepted: {}",
                path.display(),
                KNOWN.join(", ")
            );
        }
    }
    Ok((
        Section {
            table: section,
            path: Some(path.to_path_buf()),
        },
        toml::to_string(&table).expect("a parsed table serializes"),
    ))
}

/// `datadao optimize`.
pub fn optimize(args: &OptimizeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let (section, file) = match &args.sweep_file {
        Some(path) => {
            let (section, rest) = read_file(path)?;
            let text = ConfigText {
                origin: TextSource::SweepFile(path.clone()),
                text: rest,
            };
            (section, Some(text))
        }
        None => (Section::default(), None),
    };
    let mut inputs = shared_inputs(&args.shared, file.as_ref())?;
    // `[optimize] seed` is the runs' seed too (`simulation.seed`), under the flags.
    if let Some(seed) = section.whole("seed", 0, i64::MAX as u64)? {
        inputs.typed.push(Given::new(
            "simulation.seed",
            toml::Value::Integer(seed as i64),
            section.source("seed"),
        ));
    }
    let base = settings::resolve(&inputs)?;
    let seed = base.settings.model.simulation.seed;

    // The space: the file's, then --space flags.
    let mut space = Vec::new();
    if let Some(table) = section.table.get("space") {
        let table = table
            .as_table()
            .ok_or_else(|| anyhow!("[optimize.space] must be a table of KEY = \"LOW..HIGH\", \"LOW..HIGH:STEP\" or [values]"))?;
        for (key, spec) in table {
            space.push(optimize::parse_parameter(
                key,
                spec,
                section.source("space"),
                &|k, v, o| grid_axis(k, v, o).map_err(|e| scenario_error(&e)),
            )?);
        }
    }
    for spec in &args.space {
        let origin = Source::Flag(format!("--space {spec}"));
        let (key, value) = spec.split_once('=').ok_or_else(|| {
            anyhow!("--space {spec}: accepted: KEY=LOW..HIGH, KEY=LOW..HIGH:STEP or KEY=V1,V2,...")
        })?;
        let value = value.trim();
        let parameter = if value.contains("..") {
            optimize::parse_parameter(
                key,
                &toml::Value::String(value.into()),
                origin,
                &|k, v, o| grid_axis(k, v, o).map_err(|e| scenario_error(&e)),
            )?
        } else {
            let axis = sweep::parse_axis(&format!("{}={value}", key.trim()), origin.clone())?;
            let list: Vec<toml::Value> = axis
                .values
                .iter()
                .map(|v| settings::parse_text(&axis.key, v, &origin))
                .collect::<Result<_, _>>()?;
            let mut typed = sweep::Axis::from_values(&axis.key, list, origin.clone())?;
            typed.values = axis.values;
            optimize::Parameter {
                key: typed.key.clone(),
                dimension: optimize::Dimension::Values(typed),
                origin,
            }
        };
        space.retain(|p: &optimize::Parameter| p.key != parameter.key);
        space.push(parameter);
    }
    if space.is_empty() {
        bail!("optimize needs a space: [optimize.space] in the --sweep file, or --space KEY=LOW..HIGH");
    }
    if space.len() > 64 {
        bail!("{} settings searched; accepted: at most 64", space.len());
    }

    let (goal, stat_text, stat_source) = match (&args.maximize, &args.minimize) {
        (Some(m), _) => (Goal::Maximize, m.clone(), Source::Flag(format!("--maximize {m}"))),
        (_, Some(m)) => (Goal::Minimize, m.clone(), Source::Flag(format!("--minimize {m}"))),
        _ => match (section.text("maximize")?, section.text("minimize")?) {
            (Some(_), Some(_)) => bail!(
                "[optimize] has both maximize and minimize (from {}); accepted: one of them",
                section.source("maximize")
            ),
            (Some(m), None) => (Goal::Maximize, m, section.source("maximize")),
            (None, Some(m)) => (Goal::Minimize, m, section.source("minimize")),
            (None, None) => bail!(
                "optimize needs an objective: maximize or minimize in [optimize] (or --maximize/--minimize), e.g. maximize = \"all_pass_rate\" or minimize = \"volatility_p95\""
            ),
        },
    };
    let statistic = Statistic::parse(&stat_text).ok_or_else(|| {
        anyhow!("invalid setting optimize.objective = '{stat_text}' (from {stat_source}): accepted: <metric>_mean, _p5, _p50 or _p95 of a column of sweep_runs.csv, all_pass_rate or <criterion>_pass_rate")
    })?;
    // The file's values are checked even where a flag overrides them.
    let file_algorithm = section.text("algorithm")?;
    let file_trials = section.whole("trials", 1, optimize::MAX_TRIALS)?;
    let file_runs = section.whole("runs", 1, 1_000_000)?;
    let file_batch = section.whole("batch", 1, optimize::MAX_BATCH as u64)?;
    let parse_algorithm = |name: &str, source: String| {
        Algorithm::parse(name).ok_or_else(|| {
            anyhow!("invalid setting optimize.algorithm = '{name}' (from {source}): accepted: cmaes, tpe or random")
        })
    };
    if let Some(name) = &file_algorithm {
        parse_algorithm(name, section.source("algorithm").to_string())?;
    }
    let algorithm = match (&args.algorithm, &file_algorithm) {
        (Some(name), _) => parse_algorithm(name, format!("flag --algorithm {name}"))?,
        (None, Some(name)) => parse_algorithm(name, section.source("algorithm").to_string())?,
        (None, None) => Algorithm::default_for(&space),
    };
    let trials = match args.trials {
        Some(n) if (1..=optimize::MAX_TRIALS).contains(&n) => n,
        Some(n) => bail!(
            "--trials {n}: accepted: a whole number from 1 to {}",
            optimize::MAX_TRIALS
        ),
        None => file_trials.unwrap_or(DEFAULT_TRIALS),
    };
    let runs = match args.runs {
        Some(n) if (1..=1_000_000).contains(&n) => n,
        Some(n) => bail!("--runs {n}: accepted: a whole number from 1 to 1000000"),
        None => file_runs.unwrap_or(DEFAULT_RUNS),
    };
    let batch = match args.batch {
        Some(n) if (1..=optimize::MAX_BATCH).contains(&n) => Some(n),
        Some(n) => bail!(
            "--batch {n}: accepted: a whole number from 1 to {}",
            optimize::MAX_BATCH
        ),
        None => file_batch.map(|n| n as usize),
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 || jobs > 1024 {
        bail!("--jobs {jobs}: accepted: a whole number from 1 to 1024");
    }
    let search = Search {
        space,
        goal,
        statistic,
        objective_source: stat_source,
        algorithm,
        trials,
        runs,
        seed,
        batch,
    };
    optimize::check(&search, &base)?;
    let allow = base.settings.output.allow_huge;
    let in_flight = (search.batch_size() as u64)
        .saturating_mul(runs)
        .clamp(1, jobs as u64);
    limits::check_memory(&base.settings.model, in_flight, Some(&base), allow)?;
    // A batch keeps its objective's metric for every run (16 bytes each), and the
    // trials table a row per trial.
    let need =
        u128::from(search.batch_size() as u64) * u128::from(runs) * 16 + u128::from(trials) * 256;
    if !allow {
        if let Some((limit, counted)) = limits::exceeded(need, jobs as u64) {
            bail!(
                "batches of {} trials x runs = {runs} need about {} of memory, more than {} allows; accepted: fewer runs or a smaller batch, or {}",
                search.batch_size(),
                limits::bytes(counted),
                limit.name,
                limits::OVERRIDE
            );
        }
    }
    let set = OutputSet::begin(
        &base.settings.output.dir,
        OPTIMIZE_FILES,
        &base.describe("output.dir"),
    )?;
    set.check_targets()?;
    let bar = progress_bar(trials.saturating_mul(runs), "runs", args.quiet);
    let flag = signals::stop_flag();
    let outcome = optimize::run(
        &search,
        &inputs,
        &base,
        jobs,
        &|r| limits::check_memory(&r.settings.model, in_flight, Some(r), allow),
        &|| bar.inc(1),
        &flag,
    )
    .map_err(|e| match (e, signals::pending()) {
        (optimize::OptimizeError::Sweep(sweep::SweepError::Stopped), Some(signal)) => {
            anyhow::Error::from(signal)
        }
        (e, _) => anyhow::Error::from(e),
    })?;
    bar.finish_and_clear();
    let criteria = &base.settings.criteria;
    write_whole(
        &set,
        TRIALS_FILE,
        &optimize::trials_table(&search, criteria, &outcome),
    )?;
    write_whole(
        &set,
        BEST_FILE,
        optimize::best_toml(&search, &outcome).as_bytes(),
    )?;
    if base.settings.output.plot {
        draw(&set.path(OPTIMIZE_PLOT_FILE), &search, &outcome)?;
    }
    signals::check()?;
    set.commit()?;
    if !args.quiet {
        let best = &outcome.trials[outcome.best];
        let secs = started.elapsed().as_secs_f64();
        emit(&format!(
            "datadao optimize: {} trials x {runs} runs ({}, seed {seed}) in {secs:.1} s; best: trial {} with {} = {}\n  {}\n  passes: {}\nwrote {TRIALS_FILE}, {BEST_FILE}{} in {}; reproduce with: datadao sweep --config {} --runs {runs}\n",
            outcome.trials.len(),
            algorithm.name(),
            best.index,
            search.statistic.column(),
            best.objective,
            best.values
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            if criteria.is_empty() {
                "(no criteria)".to_string()
            } else {
                criteria
                    .iter()
                    .zip(&best.pass_rates)
                    .map(|(c, r)| format!("{} {r:.3}", c.name))
                    .chain(best.all_pass.map(|a| format!("all {a:.3}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if base.settings.output.plot {
                format!(", {OPTIMIZE_PLOT_FILE}")
            } else {
                String::new()
            },
            base.settings.output.dir.display(),
            base.settings.output.dir.join(BEST_FILE).display(),
        ))?;
    }
    Ok(())
}

/// A scenario error back from the CLI's grid reader (which speaks `anyhow`).
fn scenario_error(e: &anyhow::Error) -> datadao_scenario::ScenarioError {
    datadao_scenario::ScenarioError::Unusable {
        message: format!("{e:#}"),
    }
}

/// `optimize_results.png`: the objective of every trial with the running best, and the
/// objective against each searched setting.
fn draw(path: &Path, search: &Search, outcome: &optimize::Outcome) -> Result<()> {
    let colors = datadao_scenario::palette::SERIES_COLORS;
    let rgb = |i: usize| {
        let c = colors[i % colors.len()];
        plotters::style::RGBColor(c.0, c.1, c.2)
    };
    let column = search.statistic.column();
    let finite: Vec<&optimize::Trial> = outcome
        .trials
        .iter()
        .filter(|t| t.objective.is_finite())
        .collect();
    let mut running = Vec::new();
    let mut best: Option<f64> = None;
    for t in &outcome.trials {
        let better = |b: f64| match search.goal {
            Goal::Maximize => t.objective > b,
            Goal::Minimize => t.objective < b,
        };
        if best.is_none_or(better) {
            best = Some(t.objective);
        }
        if let Some(b) = best.filter(|b| b.is_finite()) {
            running.push((t.index as f64, b));
        }
    }
    let mut panels = vec![{
        let mut p = plot::with_bands(
            Panel {
                title: format!("{column} by trial, and the best so far"),
                y_label: column.clone(),
                lines: vec![
                    Line {
                        label: "trial".into(),
                        color: rgb(0),
                        points: finite
                            .iter()
                            .map(|t| (t.index as f64, t.objective))
                            .collect(),
                        dots: true,
                        dashed: false,
                    },
                    Line {
                        label: "best so far".into(),
                        color: rgb(1),
                        points: running,
                        dots: false,
                        dashed: false,
                    },
                ],
            },
            Vec::new(),
        );
        p.x_label = "trial".into();
        p
    }];
    for (i, parameter) in search.space.iter().enumerate() {
        let points: Vec<(f64, f64)> = finite
            .iter()
            .filter_map(|t| {
                let cell = &t.values[i].1;
                let x = cell
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .or_else(|| match &parameter.dimension {
                        optimize::Dimension::Values(a) => {
                            a.values.iter().position(|v| v == cell).map(|p| p as f64)
                        }
                        _ => None,
                    })?;
                Some((x, t.objective))
            })
            .collect();
        let mut p = plot::with_bands(
            Panel {
                title: format!("{column} against {}", parameter.key),
                y_label: column.clone(),
                lines: vec![Line {
                    label: "trial".into(),
                    color: rgb(i + 2),
                    points,
                    dots: true,
                    dashed: false,
                }],
            },
            Vec::new(),
        );
        p.x_label = parameter.key.clone();
        panels.push(p);
    }
    let title = format!(
        "datadao optimize: {} trials x {} runs ({}), {} {column}",
        outcome.trials.len(),
        search.runs,
        search.algorithm.name(),
        match search.goal {
            Goal::Maximize => "maximize",
            Goal::Minimize => "minimize",
        }
    );
    plot::render(path, &title, &panels)
}
