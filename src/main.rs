//! `datadao`: the command-line front end over `datadao-core`.
//!
//! Glue only: parse flags, layer the settings, drive the engine step by step while
//! streaming its outputs, then draw the figure and print the summary. The model lives in
//! the core crate.

mod cli;
mod output;
mod output_set;
mod plot;
mod series;
mod serve;
mod signals;
mod summary;
mod sweep_cmd;
mod tables;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use datadao_core::Economy;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cli::{Cli, Command, RunArgs, ScenarioArgs};
use datadao_scenario::{limits, presets, settings};
use output::RunSink;
use output_set::OutputSet;
use settings::{Inputs, Resolved};

/// Standard output was closed by its reader (`datadao config | head -1`): not an error,
/// the command just stops, as Unix tools do.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct ClosedPipe;

/// Print `text` to standard output. A closed pipe becomes [`ClosedPipe`]; any other
/// failure (`> /dev/full`) an error that says so.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedPipe.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

fn main() -> ExitCode {
    signals::install();
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout; a closed pipe there is not worth a word.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Some(Command::Run(args)) => run(&args),
        Some(Command::Config(args)) => print_config(&args.scenario),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Sweep(args)) => sweep_cmd::sweep(&args),
        Some(Command::Merge(args)) => sweep_cmd::merge(&args),
        Some(Command::Serve(args)) => serve::serve(&args),
        Some(Command::Presets) => emit(&presets::listing()),
        None => run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<ClosedPipe>() => ExitCode::SUCCESS,
        Err(e) => {
            let code = match e.downcast_ref::<signals::Interrupted>() {
                Some(i) => ExitCode::from(i.exit_code()),
                None => ExitCode::FAILURE,
            };
            // If stderr is gone too there is no one left to tell.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            code
        }
    }
}

/// The process environment as text. Variables whose name or value is not UTF-8 cannot
/// be datadao's unless they are named like one; those are refused by name, the rest
/// ignored.
pub fn environment() -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else {
            continue;
        };
        match value.into_string() {
            Ok(value) => out.push((name.to_string(), value)),
            Err(raw) => {
                let ours = name.starts_with(settings::GENERIC_PREFIX)
                    || settings::NAMED_VARIABLES.iter().any(|(v, _, _)| *v == name);
                if ours {
                    anyhow::bail!(
                        "environment variable {name} = '{}': not valid UTF-8; accepted: a value in UTF-8 text",
                        raw.to_string_lossy()
                    );
                }
            }
        }
    }
    Ok(out)
}

/// Gather every input the settings layer needs from the process and the flags.
fn resolve(args: &ScenarioArgs) -> Result<Resolved> {
    resolve_with(args, None)
}

/// As [`resolve`], with a scenario file standing in for `--config`.
fn resolve_with(args: &ScenarioArgs, scenario_file: Option<PathBuf>) -> Result<Resolved> {
    let flags = args.overrides().map_err(anyhow::Error::msg)?;
    let preset = match &args.preset {
        Some(name) => {
            let p = presets::find(name).map_err(anyhow::Error::msg)?;
            Some((p.name.to_string(), p.toml.to_string()))
        }
        None => None,
    };
    let config_file = match scenario_file {
        Some(path) => Some((path, "scenario file")),
        None => args.config.clone().map(|p| (p, "config file")),
    };
    let inputs = Inputs {
        preset,
        config_file,
        config_text: None,
        dotenv: Some(PathBuf::from(".env")),
        env: environment()?,
        typed: Vec::new(),
        flags,
    };
    settings::resolve(&inputs)
}

/// Collects what a compared run needs: the figure's points and the summary figures.
#[derive(Default)]
struct Trace {
    series: series::Series,
    stats: summary::RunStats,
}

impl datadao_core::Observer for Trace {
    fn on_step(&mut self, m: &datadao_core::StepMetrics) {
        self.series.push(m);
        self.stats.update(m);
    }
}

/// Run each scenario (a preset or a TOML file) with the shared settings, then draw them
/// together and print one line each.
fn compare(args: &cli::CompareArgs) -> Result<()> {
    if args.shared.preset.is_some() || args.shared.config.is_some() {
        anyhow::bail!(
            "compare takes its scenarios as arguments (preset names or TOML files), not --preset or --config"
        );
    }
    let mut scenarios = Vec::new();
    for scenario in &args.scenarios {
        let mut shared = args.shared.clone();
        let file = if presets::find(scenario).is_ok() {
            shared.preset = Some(scenario.clone());
            None
        } else if Path::new(scenario).exists() {
            // Not necessarily a regular file: the reader says what it is if not.
            Some(PathBuf::from(scenario))
        } else {
            let names: Vec<&str> = presets::PRESETS.iter().map(|p| p.name).collect();
            anyhow::bail!(
                "compare: '{scenario}' is neither a preset nor a readable file; accepted: {} or a TOML scenario file",
                names.join(", ")
            );
        };
        let resolved = resolve_with(&shared, file)?;
        limits::check_memory(
            &resolved.settings.model,
            1,
            Some(&resolved),
            resolved.settings.output.allow_huge,
        )?;
        scenarios.push((scenario.clone(), resolved));
    }
    // Every scenario shares the flags, so the first one's folder (and figure setting)
    // is every one's.
    let first = &scenarios[0].1;
    let plot = first.settings.output.plot;
    let set = OutputSet::begin(
        &first.settings.output.dir,
        &[output::COMPARE_FILE, COMPARE_SUMMARY_FILE],
        &first.describe("output.dir"),
    )?;
    set.check_targets()?;
    let mut runs = Vec::new();
    for (scenario, resolved) in &scenarios {
        let mut economy = Economy::new(resolved.settings.model.clone())?;
        economy.set_stop(signals::stop_flag());
        let mut trace = Trace::default();
        while !economy.is_finished() {
            signals::check()?;
            economy
                .step(&mut trace)
                .map_err(signals::step_error)
                .with_context(|| format!("scenario {scenario}"))?;
        }
        runs.push((scenario.clone(), trace));
    }
    if plot {
        let named: Vec<(String, Vec<series::Point>)> = runs
            .iter()
            .map(|(name, t)| (name.clone(), t.series.points()))
            .collect();
        let title = format!("datadao: {}", args.scenarios.join(" vs "));
        let configured: Vec<_> = scenarios
            .iter()
            .map(|(_, r)| r.settings.model.governed_settings())
            .collect();
        let panels = plot::compare_panels(&named, &configured);
        let path = set.path(output::COMPARE_FILE);
        // Governed runs dip for a step when a burn or liquidity passes: see render_segmented.
        if named
            .iter()
            .any(|(_, p)| p.iter().any(|p| p.governance.is_some()))
        {
            plot::render_segmented(&path, &title, &panels)?;
        } else {
            plot::render(&path, &title, &panels)?;
        }
    }
    output::write_whole(&set, COMPARE_SUMMARY_FILE, compare_csv(&runs).as_bytes())?;
    signals::check()?;
    let files = set.commit()?;
    if !args.quiet {
        let w = args
            .scenarios
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        let mut text = format!(
            "{:<w$} {:>13} {:>13} {:>13} {:>11} {:>12}\n",
            "scenario", "final price", "dDT reserve", "xDAI reserve", "Pie", "dDT supply"
        );
        for (name, t) in &runs {
            if let Some(m) = &t.stats.last {
                let price = m
                    .price
                    .map(|p| format!("{p:.6e}"))
                    .unwrap_or_else(|| "-".into());
                text.push_str(&format!(
                    "{:<w$} {:>13} {:>13.1} {:>13.4} {:>11.3} {:>12.1}\n",
                    name, price, m.lp_ddt_reserve, m.lp_xdai_reserve, m.pie_ddt, m.ddt_supply
                ));
            }
        }
        for f in files {
            text.push_str(&format!("wrote {}\n", f.display()));
        }
        emit(&text)?;
    }
    Ok(())
}

/// The table `compare` prints, as CSV: one row per scenario, in the order given.
const COMPARE_SUMMARY_FILE: &str = "compare_summary.csv";

/// [`COMPARE_SUMMARY_FILE`]'s text: each scenario's final figures at full precision (an
/// empty price where the market has none).
fn compare_csv(runs: &[(String, Trace)]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out =
        String::from("scenario,steps,final_price,ddt_reserve,xdai_reserve,pie_ddt,ddt_supply\n");
    for (name, t) in runs {
        if let Some(m) = &t.stats.last {
            let price = m.price.map(|p| p.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{},{},{price},{},{},{},{}\n",
                quote(name),
                m.step + 1,
                m.lp_ddt_reserve,
                m.lp_xdai_reserve,
                m.pie_ddt,
                m.ddt_supply
            ));
        }
    }
    out
}

fn print_config(args: &ScenarioArgs) -> Result<()> {
    let resolved = resolve(args)?;
    emit(&format!(
        "{}{}",
        config_header(&resolved, true),
        settings_text(&resolved, false)
    ))
}

/// Text that is safe inside a TOML comment: control characters (a newline in a path
/// or a flag's value) are spelled as escapes, so they cannot end the comment.
fn comment_safe(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Comment lines for an effective configuration: the version, how to repeat the run,
/// and (for `datadao config`) where every value that is not a built-in default came
/// from. `run_config.toml` leaves the sources out, so that repeating a run from it
/// writes the same file again.
fn config_header(resolved: &Resolved, with_sources: bool) -> String {
    let mut text = format!(
        "# Effective datadao configuration (datadao {}).\n# Repeat this run with: datadao run --config <this file>\n",
        env!("CARGO_PKG_VERSION")
    );
    if with_sources {
        for (key, source) in &resolved.sources {
            text.push_str(&comment_safe(&format!("# {key}: from {source}")));
            text.push('\n');
        }
    }
    text.push('\n');
    text
}

/// The effective settings as TOML, starting with the preset they build on. With
/// `portable`, `output.dir` is `.`, so a run repeated from the file elsewhere writes
/// there and never over the original folder.
fn settings_text(resolved: &Resolved, portable: bool) -> String {
    let mut settings = resolved.settings.clone();
    if portable {
        settings.output.dir = PathBuf::from(".");
    }
    let mut text = String::new();
    if let Some(name) = &resolved.preset {
        text.push_str(&format!(
            "# The preset these settings started from (every value below already includes it).\npreset = {}\n\n",
            toml::Value::String(name.clone())
        ));
    }
    // A run's record leaves untouched governance out (byte-identical to runs before
    // governance existed); the listing shows every key.
    text.push_str(&if portable {
        settings::to_toml(&settings)
    } else {
        settings::to_toml_every(&settings)
    });
    text
}

/// `run_config.toml`: what `datadao run --config` reads back to repeat a run exactly.
pub(crate) fn run_config_text(resolved: &Resolved) -> String {
    format!(
        "{}{}",
        config_header(resolved, false),
        settings_text(resolved, true)
    )
}

/// A progress bar on stderr counting `unit`s (with rate and time left), or a hidden one
/// when stderr is not a terminal or the user asked for quiet.
pub(crate) fn progress_bar(len: u64, unit: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Draw `simulation_results.png` for a finished run into the staged set.
fn draw_figure(
    set: &OutputSet,
    resolved: &Resolved,
    series: &[series::Point],
    passed: &[u32],
    use_cases: &[String],
) -> Result<()> {
    let settings = &resolved.settings;
    let preset = resolved.preset.as_deref().unwrap_or("seed");
    let title = format!(
        "datadao: preset {preset}, {} steps, fee {}, seed {}",
        settings.model.simulation.total_steps,
        settings.model.market.fee_rate,
        settings.model.simulation.seed
    );
    let mut panels = plot::run_panels(series, use_cases);
    let governance = plot::governance_panels(series, passed);
    if governance.is_empty() {
        plot::render(&set.path(output::PLOT_FILE), &title, &panels)
    } else {
        // Governance's one-step dips (burns, liquidity) would draw mitre spikes.
        panels.extend(governance);
        plot::render_segmented(&set.path(output::PLOT_FILE), &title, &panels)
    }
}

fn run(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let resolved = resolve(&args.scenario)?;
    let settings = resolved.settings.clone();
    let allow = settings.output.allow_huge;
    limits::check_memory(&settings.model, 1, Some(&resolved), allow)?;
    let set = OutputSet::begin(
        &settings.output.dir,
        output::RUN_FILES,
        &resolved.describe("output.dir"),
    )?;
    set.check_targets()?;
    let mut keys = vec!["simulation.total_steps"];
    if settings.output.transactions {
        keys.extend(["simulation.agents_per_entry", "output.transactions"]);
    }
    limits::check_disk(
        limits::run_bytes(&settings.model, settings.output.transactions),
        set.dir(),
        "the outputs",
        &keys,
        Some(&resolved),
        allow,
    )?;

    let mut sim = Economy::new(settings.model.clone())?;
    sim.set_stop(signals::stop_flag());
    let use_cases = settings.model.data.use_cases.clone();
    let log = settings
        .output
        .transactions
        .then_some(settings.output.direct_io);
    let governed = settings.model.governance.enabled;
    let mut sink = RunSink::create(&set, log, &use_cases, governed)?;
    let bar = progress_bar(settings.model.simulation.total_steps, "steps", args.quiet);
    let dir = set.dir().to_path_buf();
    while !sim.is_finished() {
        signals::check()?;
        sim.step(&mut sink).map_err(signals::step_error)?;
        if let Some(e) = sink.take_error() {
            return Err(e.context(format!("writing the outputs in {}", dir.display())));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let series = sink.series.points();
    let passed = sink.series.passed().to_vec();
    let stats = sink.stats.clone();
    let rows = sink.transaction_rows();
    // The CSVs are finished (the log's last batches written) while the figure is drawn.
    let (csvs, figure) = std::thread::scope(|scope| {
        let csvs = scope.spawn(|| sink.finish());
        let figure = if settings.output.plot {
            draw_figure(&set, &resolved, &series, &passed, &use_cases)
        } else {
            Ok(())
        };
        let csvs = csvs
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("finishing the CSV files failed")));
        (csvs, figure)
    });
    csvs.with_context(|| format!("writing the outputs in {}", dir.display()))?;
    figure.with_context(|| format!("writing the outputs in {}", dir.display()))?;
    let config_text = run_config_text(&resolved);
    output::write_whole(&set, output::CONFIG_FILE, config_text.as_bytes())
        .with_context(|| format!("writing the outputs in {}", dir.display()))?;
    // The last moment a signal can stop the run; past it the set is committed whole.
    signals::check()?;
    let files = set
        .commit()
        .with_context(|| format!("writing the outputs in {}", dir.display()))?;

    if !args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        let mut text = summary::render(&stats, &files, seconds, rows);
        if let Some(defects) = sim.defects() {
            text.push_str(&summary::render_defects(defects));
        }
        emit(&text)?;
    }
    Ok(())
}
