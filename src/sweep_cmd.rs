//! `datadao sweep`: read the sweep (flags and/or a `[sweep]` file), resolve every
//! point's settings, refuse what memory or disk cannot hold, run it (or one shard of it)
//! and write the tables, the effective sweep and (whole sweeps) the figure.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use datadao_scenario::settings::{
    self, ConfigFile, ConfigText, Inputs, PresetChoice, Source, TextSource,
};
use datadao_scenario::sweep::{self, Axis, Plan, ShardIndex};
use datadao_scenario::{limits, merge};

use crate::cli::{ScenarioArgs, SweepArgs};
use crate::inputs::environment;
use crate::output::{self, write_whole};
use crate::output_set::OutputSet;
use crate::signals;
use crate::sweep_outputs::{finish_outputs_with, SHARD_FILE, SWEEP_FILE, SWEEP_FILES};
use crate::terminal::{emit, progress_bar};

/// `[sweep]` of a sweep file.
#[derive(Default)]
struct SweepSection {
    runs: Option<u64>,
    zip: bool,
    axes: Vec<Axis>,
}

/// Split a sweep file into its `[sweep]` section and the scenario settings around it.
fn read_sweep_file(path: &Path) -> Result<(SweepSection, String)> {
    let text = settings::read_text_file(
        path,
        &format!("sweep file {} (given with --sweep)", path.display()),
        settings::MAX_SETTINGS_FILE,
        "TOML file",
    )?;
    let mut table: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow!("cannot parse sweep file {}: {e}", path.display()))?;
    let mut section = SweepSection::default();
    // `datadao optimize` reads `[optimize]`; one file may serve both commands.
    table.remove("optimize");
    if let Some(sweep) = table.remove("sweep") {
        let sweep = sweep
            .as_table()
            .ok_or_else(|| anyhow!("{}: [sweep] must be a table", path.display()))?;
        for (key, value) in sweep {
            match (key.as_str(), value) {
                ("runs", toml::Value::Integer(n)) if *n >= 1 => section.runs = Some(*n as u64),
                ("zip", toml::Value::Boolean(b)) => section.zip = *b,
                ("grid", toml::Value::Table(grid)) => {
                    for (axis, values) in grid {
                        let origin = Source::File(path.to_path_buf(), "sweep file");
                        section.axes.push(grid_axis(axis, values, origin)?);
                    }
                }
                (other, v) => bail!(
                    "sweep file {}: [sweep] {other} = {v}: accepted: runs (a whole number of at least 1), zip (true or false), grid (a table of KEY = [values] or \"START..END:STEP\")",
                    path.display()
                ),
            }
        }
    }
    Ok((
        section,
        toml::to_string(&table).expect("a parsed table serializes"),
    ))
}

/// One `[sweep.grid]` entry as an axis. A list is one value per item, never split: a
/// text item is read as `--set` reads text (so the sweep file a sweep saves, which
/// writes every value as text, repeats it), any other item is typed (a list item is
/// one value of a list setting). Text is a range `"START..END:STEP"`; any other value
/// is the axis's one value. The tables show a text item as written.
pub(crate) fn grid_axis(key: &str, values: &toml::Value, origin: Source) -> Result<Axis> {
    let items = match values {
        toml::Value::String(range) => return Ok(Axis::from_range(key, range, origin)?),
        toml::Value::Array(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    let key = key.trim();
    let known = settings::known_keys().contains_key(key);
    let mut typed = Vec::with_capacity(items.len());
    let mut cells = Vec::with_capacity(items.len());
    for item in items {
        match item {
            toml::Value::String(text) if known => {
                typed.push(settings::parse_text(key, text, &origin)?);
                cells.push(sweep::cell_text(&toml::Value::String(
                    text.trim().to_string(),
                )));
            }
            other => {
                typed.push(other.clone());
                cells.push(sweep::cell_text(other));
            }
        }
    }
    let mut axis = Axis::from_values(key, typed, origin)?;
    axis.values = cells;
    Ok(axis)
}

/// What every point of the sweep shares: the preset, `--config` or the sweep file's
/// settings, `.env`, the environment and the `--set` flags (each point's values go on
/// top, [`sweep::point_inputs`]).
pub(crate) fn shared_inputs(shared: &ScenarioArgs, file: Option<&ConfigText>) -> Result<Inputs> {
    Ok(Inputs {
        preset: shared.preset.as_deref().map(PresetChoice::flag),
        config_file: shared.config.clone().map(|path| ConfigFile {
            path,
            kind: "config file",
        }),
        config_text: file.cloned(),
        dotenv: Some(PathBuf::from(".env")),
        env: environment()?,
        typed: Vec::new(),
        flags: shared.overrides().map_err(anyhow::Error::msg)?,
        criteria: shared.criteria(),
    })
}

/// Where criterion `c` was given, for a refusal of its metric.
fn criterion_source(
    resolved: &settings::Resolved,
    c: &datadao_scenario::criteria::Criterion,
) -> Source {
    resolved.criterion_source(&c.name)
}

/// The effective sweep as TOML: `[sweep]` plus the base scenario. Identical for every
/// shard of a sweep, so `merge` can check the shards belong together.
fn sweep_toml(runs: u64, zip: bool, axes: &[Axis], base: &settings::Settings) -> String {
    merge::sweep_toml(runs, zip, axes, base)
}

/// `datadao sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let (section, file) = match &args.sweep_file {
        Some(path) => {
            let (section, rest) = read_sweep_file(path)?;
            let text = ConfigText {
                origin: TextSource::SweepFile(path.clone()),
                text: rest,
            };
            (section, Some(text))
        }
        None => (SweepSection::default(), None),
    };
    let mut axes = section.axes;
    for spec in &args.grid {
        let origin = Source::Flag(format!("--grid {spec}"));
        axes.push(sweep::parse_axis(spec, origin)?);
    }
    sweep::check_axes(&axes)?;
    let zip = args.zip || section.zip;
    let runs = args.runs.or(section.runs).unwrap_or(1);
    if runs == 0 {
        bail!("--runs 0: accepted: a whole number of at least 1");
    }
    let runs_origin = if args.runs.is_some() {
        "flag --runs".to_string()
    } else if section.runs.is_some() {
        format!(
            "[sweep] runs in sweep file {}",
            args.sweep_file
                .as_deref()
                .unwrap_or(Path::new("?"))
                .display()
        )
    } else {
        "the built-in default".to_string()
    };
    let shared = shared_inputs(&args.shared, file.as_ref())?;
    let base_resolved = settings::resolve(&shared)?;
    let base = base_resolved.settings.clone();
    let allow = base.output.allow_huge;
    let point_indices = sweep::point_indices(&axes, zip)?;
    let total_points = point_indices.len();
    let shard = match args.shard.as_deref() {
        Some(text) => {
            let s = ShardIndex::parse(text)?;
            Some(ShardIndex::of(
                s.k,
                s.n,
                total_points,
                &format!("--shard {text}"),
            )?)
        }
        None => None,
    };
    let plot_points = args
        .plot_points
        .as_deref()
        .map(|t| crate::sweep_outputs::parse_plot_points(t, total_points))
        .transpose()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 || jobs > 1024 {
        bail!("--jobs {jobs}: accepted: a whole number from 1 to 1024");
    }
    // Memory: every point's settings, and `jobs` runs in flight (no more than this
    // shard has runs), each counted under the tightest limit.
    let need = total_points as u128 * u128::from(limits::BYTES_PER_POINT);
    if !allow {
        if let Some((limit, counted)) = limits::exceeded(need, jobs as u64) {
            bail!(
                "the sweep's {total_points} points need about {} of memory for their settings, more than {} allows; accepted: fewer points, or {}",
                limits::bytes(counted),
                limit.name,
                limits::OVERRIDE
            );
        }
    }
    let in_flight = (sweep::shard_points(total_points, shard).len() as u64)
        .saturating_mul(runs)
        .clamp(1, jobs as u64);
    let mut points = Vec::new();
    points.try_reserve_exact(total_points).map_err(|_| {
        anyhow::anyhow!("cannot allocate memory for the sweep's {total_points} points")
    })?;
    for index in point_indices {
        let resolved = settings::resolve(&sweep::point_inputs(&shared, &axes, &index))?;
        let values = sweep::point_values(&axes, &index);
        limits::check_memory(&resolved.settings.model, in_flight, Some(&resolved), allow)?;
        points.push(sweep::SweepPoint {
            values,
            config: resolved.settings.model,
        });
    }
    let set = OutputSet::begin(
        &base.output.dir,
        SWEEP_FILES,
        &base_resolved.describe("output.dir"),
    )?;
    set.check_targets()?;
    // Disk: a row per run, and up to SERIES_STEPS + 1 rows per point.
    let mine = sweep::shard_points(points.len(), shard);
    let rows = sweep::table_rows(&points, runs, shard);
    let need =
        rows.saturating_mul(u128::from(limits::SWEEP_ROW_BYTES)) + u128::from(limits::FIXED_BYTES);
    limits::check_disk(
        need,
        set.dir(),
        &format!(
            "runs = {runs} (from {runs_origin}) x {} points: the tables",
            mine.len()
        ),
        &[],
        None,
        allow,
    )?;
    let plan = Plan {
        axes: axes.clone(),
        points,
        runs,
        jobs,
        shard,
        criteria: base.criteria.clone(),
        policies: Vec::new(),
    };
    sweep::check_criteria(&plan, &|c| criterion_source(&base_resolved, c))?;
    let bar = progress_bar(runs, "runs", args.quiet);
    bar.set_length((mine.len() as u64).saturating_mul(runs));
    let mut runs_out = output::create(&set.path(sweep::RUNS_FILE))?;
    let mut series_out = output::create(&set.path(sweep::SERIES_FILE))?;
    let flag = signals::stop_flag();
    sweep::execute_until(&plan, &mut runs_out, &mut series_out, &|| bar.inc(1), &flag).map_err(
        |e| match (e, signals::pending()) {
            (sweep::SweepError::Stopped, Some(signal)) => anyhow::Error::from(signal),
            (e, _) => anyhow::Error::from(e),
        },
    )?;
    drop((runs_out, series_out));
    bar.finish_and_clear();
    write_whole(
        &set,
        SWEEP_FILE,
        sweep_toml(runs, zip, &axes, &base).as_bytes(),
    )?;
    match shard {
        Some(shard) => {
            let text = merge::shard_toml(shard, plan.points.len());
            write_whole(&set, SHARD_FILE, text.as_bytes())?;
        }
        None => finish_outputs_with(&set, args.format, base.output.plot, plot_points.as_deref())?,
    }
    let table = match (shard, args.quiet) {
        (None, false) => crate::sweep_outputs::points_abridged(&set)?,
        _ => String::new(),
    };
    signals::check()?;
    set.commit()?;
    if !args.quiet {
        emit(&table)?;
        let done = mine.len() as u64 * runs;
        let secs = started.elapsed().as_secs_f64();
        emit(&format!(
            "datadao sweep: {} points x {runs} runs{} = {done} runs in {secs:.1} s ({:.1} runs/s, {jobs} threads); tables in {}\n",
            plan.points.len(),
            shard.map(|s| format!(" (shard {}/{})", s.k, s.n)).unwrap_or_default(),
            done as f64 / secs.max(1e-9),
            base.output.dir.display()
        ))?;
    }
    Ok(())
}
