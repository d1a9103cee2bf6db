//! Every file name datadao writes, in one place: the CLI writes them, `merge` reads
//! them, the Python package and the tests name them, so a name is spelled once.

/// A run's metrics, one row per step.
pub const DATA_FILE: &str = "simulation_data.csv";
/// A run's transaction log.
pub const TRANSACTIONS_FILE: &str = "transaction_history.csv";
/// One row per proposal (governed runs only).
pub const GOVERNANCE_FILE: &str = "governance.csv";
/// A run's figure.
pub const PLOT_FILE: &str = "simulation_results.png";
/// A run's flow diagram.
pub const FLOWS_PLOT_FILE: &str = "flows.png";
/// The flow diagram's numbers, one row per band.
pub const FLOWS_FILE: &str = "flows.csv";
/// Every agent at the end of a run, one row each.
pub const AGENTS_FILE: &str = "agents.csv";
/// A run's effective configuration, which `datadao run --config` repeats.
pub const CONFIG_FILE: &str = "run_config.toml";

/// Every file a run can produce, in the order the summary lists them: they replace the
/// previous run's together.
pub const RUN_FILES: &[&str] = &[
    DATA_FILE,
    TRANSACTIONS_FILE,
    GOVERNANCE_FILE,
    PLOT_FILE,
    FLOWS_PLOT_FILE,
    FLOWS_FILE,
    AGENTS_FILE,
    CONFIG_FILE,
];

/// `compare`'s figure.
pub const COMPARE_FILE: &str = "compare_results.png";
/// `compare`'s table, one row per scenario.
pub const COMPARE_SUMMARY_FILE: &str = "compare_summary.csv";

/// A sweep's runs table, one row per run.
pub const RUNS_FILE: &str = "sweep_runs.csv";
/// A sweep's series table, per point and recorded step.
pub const SERIES_FILE: &str = "sweep_series.csv";
/// A sweep's points table: per point, each KPI's mean, percentiles and count over its
/// runs.
pub const POINTS_FILE: &str = "sweep_points.csv";
/// The effective sweep, saved beside a sweep's results and compared by `merge`.
pub const SWEEP_FILE: &str = "sweep.toml";
/// A shard's identity, beside its partial tables.
pub const SHARD_FILE: &str = "shard.toml";
/// A sweep's figure.
pub const SWEEP_PLOT_FILE: &str = "sweep_results.png";
/// Parquet copy of the runs table (`--format parquet`).
pub const RUNS_PARQUET: &str = "sweep_runs.parquet";
/// Parquet copy of the series table.
pub const SERIES_PARQUET: &str = "sweep_series.parquet";

/// Every file a sweep or merge can write; they replace the previous ones together.
pub const SWEEP_FILES: &[&str] = &[
    RUNS_FILE,
    SERIES_FILE,
    POINTS_FILE,
    SWEEP_FILE,
    SHARD_FILE,
    SWEEP_PLOT_FILE,
    RUNS_PARQUET,
    SERIES_PARQUET,
];

/// `datadao optimize`'s table of trials.
pub const TRIALS_FILE: &str = "optimize_trials.csv";
/// The best trial's settings, as a scenario.
pub const BEST_FILE: &str = "best.toml";
/// `datadao optimize`'s figure.
pub const OPTIMIZE_PLOT_FILE: &str = "optimize_results.png";
/// Everything `datadao optimize` writes, replaced together.
pub const OPTIMIZE_FILES: &[&str] = &[TRIALS_FILE, BEST_FILE, OPTIMIZE_PLOT_FILE];
