//! The command line: subcommands and flags, nothing else.
//!
//! Flags that set model values are taken as raw text and validated with every other
//! source, so `--steps abc` and `TOTAL_STEPS=abc` get the same message.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use datadao_scenario::settings::{Given, Source};

/// Simulate a grassroots dataDAO token economy.
#[derive(Debug, Parser)]
#[command(
    name = "datadao",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without one, `run`.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run`, accepted without the subcommand too.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a simulation and write its outputs (the default).
    Run(RunArgs),
    /// Print the effective configuration as TOML that --config reads back.
    Config(ConfigArgs),
    /// List the named scenarios --preset accepts.
    Presets,
    /// Run several scenarios and draw them on one figure (compare_results.png) beside a
    /// table of their final figures (compare_summary.csv).
    Compare(CompareArgs),
    /// Sweep settings over a grid with Monte Carlo runs per point, in parallel.
    Sweep(SweepArgs),
    /// Combine the outputs of sweep shards into the tables of the whole sweep.
    Merge(MergeArgs),
    /// Search settings for the best objective (CMA-ES, TPE or random), Monte Carlo runs
    /// per trial, in parallel: optimize_trials.csv, best.toml, optimize_results.png.
    Optimize(OptimizeArgs),
    /// Start the interactive dashboard: a local web page that re-runs on every change.
    Serve(ServeArgs),
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8050)]
    pub port: u16,
    /// Address to listen on; the default serves this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Also answer to this host name (a `Host` header of NAME or NAME:PORT); repeat for
    /// more. Without it only the listening address and the loopback names are served.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_host: Vec<String>,
}

/// Table formats a sweep can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV only.
    Csv,
    /// CSV and Parquet (needs the `parquet` cargo feature).
    Parquet,
}

/// Options of `sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// An axis: KEY=V1,V2,... or KEY=START..END:STEP (END included); repeat for a grid.
    #[arg(long = "grid", value_name = "AXIS")]
    pub grid: Vec<String>,
    /// Pair the axes value by value instead of taking their cartesian product.
    #[arg(long)]
    pub zip: bool,
    /// Monte Carlo runs per point (default 1, or the sweep file's `runs`).
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// A TOML file with a [sweep] section (runs, zip, grid) and any scenario settings.
    #[arg(long = "sweep", value_name = "FILE")]
    pub sweep_file: Option<PathBuf>,
    /// Run only the K-th of N deterministic slices of the points (1-based), for clusters.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Also write the tables as Parquet.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// The points the figure draws, by index (e.g. 0,4,9; at most 6); default: up to six
    /// spread evenly over the grid, first and last included.
    #[arg(long, value_name = "LIST")]
    pub plot_points: Option<String>,
    /// Settings shared by every point (--steps, --seed, --set, --out, --preset, ...).
    #[command(flatten)]
    pub shared: ScenarioArgs,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `optimize`.
#[derive(Debug, Clone, Args)]
pub struct OptimizeArgs {
    /// A TOML file with an [optimize] section (trials, runs, maximize or minimize,
    /// algorithm, seed, batch, [optimize.space]), [[criteria]] and scenario settings.
    #[arg(long = "sweep", value_name = "FILE")]
    pub sweep_file: Option<PathBuf>,
    /// A searched setting: KEY=LOW..HIGH, KEY=LOW..HIGH:STEP or KEY=V1,V2,... (repeatable;
    /// added to [optimize.space]).
    #[arg(long = "space", value_name = "KEY=SPEC")]
    pub space: Vec<String>,
    /// Trials (default 50, or the file's).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,
    /// Monte Carlo runs per trial (default 10, or the file's).
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,
    /// Maximise this column of sweep_points.csv (<metric>_mean|_p5|_p50|_p95,
    /// all_pass_rate, <criterion>_pass_rate).
    #[arg(long, value_name = "STAT", conflicts_with = "minimize")]
    pub maximize: Option<String>,
    /// Minimise this column of sweep_points.csv.
    #[arg(long, value_name = "STAT")]
    pub minimize: Option<String>,
    /// cmaes (default for numbers), tpe (default with a list) or random.
    #[arg(long, value_name = "NAME")]
    pub algorithm: Option<String>,
    /// Trials asked together (default: CMA-ES's population, else 8). Results do not
    /// depend on the number of cores, but they do on this.
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Settings shared by every trial (--steps, --seed, --set, --out, --criterion, ...).
    #[command(flatten)]
    pub shared: ScenarioArgs,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Output folders of the shards (every shard of one sweep, in any order).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged tables (default: the working directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write the tables as Parquet.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

/// Options of `compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Scenarios: preset names (see `datadao presets`) or TOML files, two or more.
    #[arg(required = true, num_args = 2.., value_name = "PRESET_OR_FILE")]
    pub scenarios: Vec<String>,
    /// Settings applied to every scenario (--steps, --seed, --set, --out, ...).
    #[command(flatten)]
    pub shared: ScenarioArgs,
    /// No summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Everything that selects a scenario and its outputs.
#[derive(Debug, Clone, Default, Args)]
pub struct ScenarioArgs {
    /// Start from a named scenario (see `datadao presets`); --config and the rest apply on top.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// TOML scenario file (keys as printed by `datadao config`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Set any setting by its TOML key, e.g. --set market.fee_rate=0.01 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Number of steps (simulation.total_steps).
    #[arg(long, value_name = "N")]
    pub steps: Option<String>,
    /// Seed of the run's generator (simulation.seed).
    #[arg(long, value_name = "N")]
    pub seed: Option<String>,
    /// Output folder (output.dir).
    #[arg(long, value_name = "DIR")]
    pub out: Option<String>,
    /// Check the token ledger after every step (simulation.audit).
    #[arg(long)]
    pub audit: bool,
    /// Do not write transaction_history.csv (output.transactions = false). Only `run`
    /// and `config` offer the flag (see [`TransactionsFlag`]): `compare` and `sweep`
    /// write no transaction log.
    #[arg(skip)]
    pub no_transactions: bool,
    /// Do not draw the figure (output.plot = false): simulation_results.png for `run`,
    /// compare_results.png for `compare` (its table is still written), sweep_results.png
    /// for `sweep`.
    #[arg(long)]
    pub no_plot: bool,
    /// Start work that is estimated not to fit in memory or on disk anyway
    /// (output.allow_huge = true).
    #[arg(long)]
    pub allow_huge: bool,
    /// A success criterion, "NAME: METRIC OP VALUE" with OP one of >=, <=, >, < and
    /// METRIC a column of sweep_runs.csv, e.g. "floor: final_price >= 0.5"
    /// (repeatable; added to the file's [[criteria]], replacing one of the same name).
    #[arg(long = "criterion", value_name = "CRITERION")]
    pub criterion: Vec<String>,
}

impl ScenarioArgs {
    /// `--criterion` flags, as the scenario crate reads them.
    pub fn criteria(&self) -> Vec<Given<toml::Value>> {
        self.criterion
            .iter()
            .map(|text| {
                Given::new(
                    "criteria",
                    toml::Value::String(text.clone()),
                    Source::Flag(format!("--criterion {text}")),
                )
            })
            .collect()
    }

    /// The flags as (dotted key, raw value, the flag as typed), `--set` first so that the
    /// dedicated flags win.
    pub fn overrides(&self) -> Result<Vec<Given<String>>, String> {
        let mut out = Vec::new();
        for item in &self.set {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!(
                    "--set {item}: expected KEY=VALUE, e.g. --set market.fee_rate=0.01"
                ));
            };
            out.push(Given::new(
                key.trim(),
                value,
                Source::Flag(format!("--set {item}")),
            ));
        }
        let mut flag = |key: &str, value: &str, name: &str| {
            out.push(Given::new(key, value, Source::Flag(name.to_string())));
        };
        if let Some(v) = &self.steps {
            flag("simulation.total_steps", v, "--steps");
        }
        if let Some(v) = &self.seed {
            flag("simulation.seed", v, "--seed");
        }
        if let Some(v) = &self.out {
            flag("output.dir", v, "--out");
        }
        if self.audit {
            flag("simulation.audit", "true", "--audit");
        }
        if self.no_transactions {
            flag("output.transactions", "false", "--no-transactions");
        }
        if self.no_plot {
            flag("output.plot", "false", "--no-plot");
        }
        if self.allow_huge {
            flag("output.allow_huge", "true", "--allow-huge");
        }
        Ok(out)
    }
}

/// `--no-transactions`, for the commands that write or print a transaction log setting.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct TransactionsFlag {
    /// Do not write transaction_history.csv (output.transactions = false).
    #[arg(long)]
    pub no_transactions: bool,
}

/// Options of `run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Scenario selection.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The transaction log.
    #[command(flatten)]
    pub transactions: TransactionsFlag,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `config`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Scenario selection.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The transaction log.
    #[command(flatten)]
    pub transactions: TransactionsFlag,
}

impl Cli {
    /// Parse the command line, with `--no-transactions` carried into the scenario it
    /// applies to.
    pub fn parse_args() -> Result<Self, clap::Error> {
        let mut cli = Self::try_parse()?;
        let carry =
            |a: &mut ScenarioArgs, t: TransactionsFlag| a.no_transactions |= t.no_transactions;
        carry(&mut cli.run.scenario, cli.run.transactions);
        match &mut cli.command {
            Some(Command::Run(a)) => carry(&mut a.scenario, a.transactions),
            Some(Command::Config(a)) => carry(&mut a.scenario, a.transactions),
            _ => {}
        }
        Ok(cli)
    }
}
