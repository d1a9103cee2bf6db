//! `datadao`: the command-line front end over `datadao-core`.
//!
//! Glue only: parse flags, layer the settings, drive the engine step by step while
//! streaming its outputs, then draw the figure and print the summary. The model lives in
//! the core crate.

mod cli;
mod output;
mod plot;
mod presets;
mod series;
mod settings;
mod summary;
mod sweep;
mod sweep_cmd;
mod tables;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use datadao_core::Economy;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cli::{Cli, Command, RunArgs, ScenarioArgs};
use output::{PendingFile, RunSink};
use settings::{Inputs, Resolved};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(&args),
        Some(Command::Config(args)) => print_config(&args),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Sweep(args)) => sweep_cmd::sweep(&args),
        Some(Command::Merge(args)) => sweep_cmd::merge(&args),
        Some(Command::Presets) => {
            print!("{}", presets::listing());
            Ok(())
        }
        None => run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    let inputs = Inputs {
        preset,
        config_file: scenario_file.or_else(|| args.config.clone()),
        config_text: None,
        dotenv: Some(PathBuf::from(".env")),
        env: std::env::vars().collect(),
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
    let mut runs = Vec::new();
    let mut dir = PathBuf::from(".");
    for scenario in &args.scenarios {
        let mut shared = args.shared.clone();
        let file = if presets::find(scenario).is_ok() {
            shared.preset = Some(scenario.clone());
            None
        } else if Path::new(scenario).is_file() {
            Some(PathBuf::from(scenario))
        } else {
            let names: Vec<&str> = presets::PRESETS.iter().map(|p| p.name).collect();
            anyhow::bail!(
                "compare: '{scenario}' is neither a preset nor a readable file; accepted: {} or a TOML scenario file",
                names.join(", ")
            );
        };
        let settings = resolve_with(&shared, file)?.settings;
        dir = settings.output.dir.clone();
        let mut economy = Economy::new(settings.model.clone())?;
        let mut trace = Trace::default();
        while !economy.is_finished() {
            economy
                .step(&mut trace)
                .with_context(|| format!("scenario {scenario}"))?;
        }
        runs.push((scenario.clone(), trace));
    }
    prepare_dir(&dir)?;
    let named: Vec<(String, Vec<series::Point>)> = runs
        .iter()
        .map(|(name, t)| (name.clone(), t.series.points()))
        .collect();
    let pending = PendingFile::new(&dir, output::COMPARE_FILE);
    let title = format!("datadao: {}", args.scenarios.join(" vs "));
    plot::render(pending.temp_path(), &title, &plot::compare_panels(&named))?;
    let path = pending.commit()?;
    if !args.quiet {
        let w = args
            .scenarios
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        println!(
            "{:<w$} {:>13} {:>13} {:>13} {:>11} {:>12}",
            "scenario", "final price", "dDT reserve", "xDAI reserve", "Pie", "dDT supply"
        );
        for (name, t) in &runs {
            if let Some(m) = &t.stats.last {
                println!(
                    "{:<w$} {:>13.6e} {:>13.1} {:>13.4} {:>11.3} {:>12.1}",
                    name,
                    m.price.unwrap_or(f64::NAN),
                    m.lp_ddt_reserve,
                    m.lp_xdai_reserve,
                    m.pie_ddt,
                    m.ddt_supply
                );
            }
        }
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_config(args: &ScenarioArgs) -> Result<()> {
    let resolved = resolve(args)?;
    print!("{}", config_header(&resolved));
    print!("{}", settings::to_toml(&resolved.settings));
    Ok(())
}

/// Comment lines for an effective configuration: the version, how to repeat the run, and
/// where every value that is not a built-in default came from.
fn config_header(resolved: &Resolved) -> String {
    let mut text = format!(
        "# Effective datadao configuration (datadao {}).\n# Repeat this run with: datadao run --config <this file>\n",
        env!("CARGO_PKG_VERSION")
    );
    for (key, source) in &resolved.sources {
        text.push_str(&format!("# {key}: from {source}\n"));
    }
    text.push('\n');
    text
}

fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "output.dir = '{}': cannot create the output folder; accepted: a folder that can be created and written",
            dir.display()
        )
    })
}

/// A progress bar on stderr counting `unit`s (with rate and time left), or a hidden one
/// when stderr is not a terminal or the user asked for quiet.
pub(crate) fn progress_bar(len: u64, unit: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
    bar
}

/// Draw `simulation_results.png` for a finished run.
fn draw_figure(
    dir: &Path,
    args: &RunArgs,
    settings: &settings::Settings,
    series: &[series::Point],
    use_cases: &[String],
) -> Result<PathBuf> {
    let pending = PendingFile::new(dir, output::PLOT_FILE);
    let preset = args.scenario.preset.as_deref().unwrap_or("seed");
    let title = format!(
        "datadao: preset {preset}, {} steps, fee {}, seed {}",
        settings.model.simulation.total_steps,
        settings.model.market.fee_rate,
        settings.model.simulation.seed
    );
    let panels = plot::run_panels(series, use_cases);
    plot::render(pending.temp_path(), &title, &panels)?;
    pending.commit()
}

fn run(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let resolved = resolve(&args.scenario)?;
    let settings = resolved.settings.clone();
    let dir = settings.output.dir.clone();
    prepare_dir(&dir)?;

    let mut sim = Economy::new(settings.model.clone())?;
    let use_cases = settings.model.data.use_cases.clone();
    let log = settings
        .output
        .transactions
        .then_some(settings.output.direct_io);
    let mut sink = RunSink::create(&dir, log, &use_cases)?;
    let bar = progress_bar(settings.model.simulation.total_steps, "steps", args.quiet);
    while !sim.is_finished() {
        sim.step(&mut sink)?;
        if let Some(e) = sink.take_error() {
            return Err(e.context(format!("writing the outputs in {}", dir.display())));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let series = sink.series.points();
    let stats = sink.stats.clone();
    let rows = sink.transaction_rows();
    // The CSVs are finished (the log's last batches written, each file renamed over any
    // earlier run's, which can wait on the file system freeing the old blocks) while the
    // figure is drawn.
    let (csvs, figure) = std::thread::scope(|scope| {
        let csvs = scope.spawn(|| sink.finish());
        let figure = settings
            .output
            .plot
            .then(|| draw_figure(&dir, args, &settings, &series, &use_cases))
            .transpose();
        let csvs = csvs
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("finishing the CSV files panicked")));
        (csvs, figure)
    });
    let mut files = csvs?;
    files.extend(figure?);
    let config_text = format!(
        "{}{}",
        config_header(&resolved),
        settings::to_toml(&settings)
    );
    files.push(output::write_whole(
        &dir,
        output::CONFIG_FILE,
        config_text.as_bytes(),
    )?);

    if !args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        print!("{}", summary::render(&stats, &files, seconds, rows));
        if let Some(defects) = sim.defects() {
            print!("{}", summary::render_defects(defects));
        }
    }
    Ok(())
}
