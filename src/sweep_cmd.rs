//! The `sweep` and `merge` commands: read the sweep (flags and/or a `[sweep]` file),
//! resolve every point's settings, run it (or one shard of it), and write the tables,
//! the figure and the effective sweep; `merge` reassembles shards into the same files.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::{Format, MergeArgs, ScenarioArgs, SweepArgs};
use crate::limits;
use crate::output::write_whole;
use crate::output_set::OutputSet;
use crate::plot::{self, Band, BandedPanel, Line, Panel, PALETTE};
use datadao_scenario::merge;
use datadao_scenario::settings::{self, Inputs, Resolved, Source, TextSource};
use datadao_scenario::sweep::{self, Axis, AxisValue, Plan};

/// The effective sweep, saved beside the results (and compared by `merge`).
pub const SWEEP_FILE: &str = merge::SWEEP_FILE;
/// A shard's identity, beside its partial tables.
pub const SHARD_FILE: &str = merge::SHARD_FILE;
/// The figure.
pub const PLOT_FILE: &str = "sweep_results.png";
/// Points drawn per panel; the rest are listed in the figure's title.
pub const PLOT_POINTS: usize = 6;
/// Parquet copies of the tables (`--format parquet`).
pub const RUNS_PARQUET: &str = "sweep_runs.parquet";
/// Parquet copy of the series table.
pub const SERIES_PARQUET: &str = "sweep_series.parquet";
/// Every file a sweep or merge can write; they replace the previous ones together.
pub const SWEEP_FILES: &[&str] = &[
    sweep::RUNS_FILE,
    sweep::SERIES_FILE,
    SWEEP_FILE,
    SHARD_FILE,
    PLOT_FILE,
    RUNS_PARQUET,
    SERIES_PARQUET,
];

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
fn grid_axis(key: &str, values: &toml::Value, origin: Source) -> Result<Axis> {
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

fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let bad = || anyhow!("--shard {text}: accepted: K/N with 1 <= K <= N, e.g. --shard 2/8");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// A point's settings: the shared flags, then its axis values, each named by where its
/// axis was given.
fn resolve_point(
    shared: &ScenarioArgs,
    file: Option<&(TextSource, String)>,
    index: &[usize],
    axes: &[Axis],
) -> Result<Resolved> {
    let mut flags = shared.overrides().map_err(anyhow::Error::msg)?;
    let mut typed = Vec::new();
    for (axis, &i) in axes.iter().zip(index) {
        match axis.value(i) {
            AxisValue::Typed(v) => {
                typed.push((axis.key.clone(), v.clone(), axis.origin.clone()));
            }
            AxisValue::Text(t) => {
                flags.push((axis.key.clone(), t.to_string(), axis.origin.clone()));
            }
        }
    }
    // Typed values are layered before flags, but a point's value wins over the shared
    // flags (checked with the base scenario) as a `--grid` value does.
    flags.retain(|(key, _, _)| !typed.iter().any(|(k, _, _)| k == key));
    let preset = match &shared.preset {
        Some(name) => {
            let p = datadao_scenario::presets::find(name).map_err(anyhow::Error::msg)?;
            Some((p.name.to_string(), p.toml.to_string()))
        }
        None => None,
    };
    let inputs = Inputs {
        preset,
        config_file: shared.config.clone().map(|p| (p, "config file")),
        config_text: file.cloned(),
        dotenv: Some(PathBuf::from(".env")),
        env: crate::environment()?,
        typed,
        flags,
    };
    Ok(settings::resolve(&inputs)?)
}

/// The effective sweep as TOML: `[sweep]` plus the base scenario. Identical for every
/// shard of a sweep, so `merge` can check the shards belong together.
fn sweep_toml(runs: u64, zip: bool, axes: &[Axis], base: &settings::Settings) -> String {
    merge::sweep_toml(runs, zip, axes, base)
}

/// Memory one point's resolved settings take, rounded up.
const BYTES_PER_POINT: u64 = 4096;

/// `datadao sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let (section, file) = match &args.sweep_file {
        Some(path) => {
            let (section, rest) = read_sweep_file(path)?;
            (section, Some((TextSource::SweepFile(path.clone()), rest)))
        }
        None => (SweepSection::default(), None),
    };
    let mut axes = section.axes;
    for spec in &args.grid {
        let origin = Source::Flag(format!("--grid {spec}"));
        axes.push(sweep::parse_axis(spec, origin)?);
    }
    if let Some(dup) = axes
        .iter()
        .enumerate()
        .find(|(i, a)| axes[..*i].iter().any(|b| b.key == a.key))
    {
        bail!(
            "{}: {} is swept twice; accepted: each setting on one axis",
            dup.1.origin,
            dup.1.key
        );
    }
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
    let base_resolved = resolve_point(&args.shared, file.as_ref(), &[], &axes)?;
    let base = base_resolved.settings.clone();
    let allow = base.output.allow_huge;
    let point_indices = sweep::point_indices(&axes, zip)?;
    let total_points = point_indices.len();
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if let Some((_, n)) = shard {
        if n > total_points {
            bail!(
                "--shard {}: {n} shards for {total_points} points; accepted: N from 1 to the number of points ({total_points})",
                args.shard.as_deref().unwrap_or_default()
            );
        }
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 || jobs > 1024 {
        bail!("--jobs {jobs}: accepted: a whole number from 1 to 1024");
    }
    // Memory: every point's settings, and `jobs` runs in flight (no more than this
    // shard has runs), each counted under the tightest limit.
    let need = total_points as u128 * u128::from(BYTES_PER_POINT);
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
        let resolved = resolve_point(&args.shared, file.as_ref(), &index, &axes)?;
        let values: Vec<(String, String)> = axes
            .iter()
            .zip(&index)
            .map(|(a, &i)| (a.key.clone(), a.values[i].clone()))
            .collect();
        limits::check_memory(&resolved.settings.model, in_flight, Some(&resolved), allow)?;
        points.push((values, resolved.settings.model));
    }
    let set = OutputSet::begin(
        &base.output.dir,
        SWEEP_FILES,
        &base_resolved.describe("output.dir"),
    )?;
    set.check_targets()?;
    // Disk: a row per run, and up to SERIES_STEPS + 1 rows per point.
    let mine = sweep::shard_points(points.len(), shard);
    let series_rows: u128 = mine
        .iter()
        .map(|&p| u128::from(points[p].1.simulation.total_steps.min(sweep::SERIES_STEPS) + 1))
        .sum();
    let rows = (mine.len() as u128).saturating_mul(u128::from(runs)) + series_rows;
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
    };
    let bar = crate::progress_bar(runs, "runs", args.quiet);
    bar.set_length((mine.len() as u64).saturating_mul(runs));
    let mut runs_out = crate::output::create(&set.path(sweep::RUNS_FILE))?;
    let mut series_out = crate::output::create(&set.path(sweep::SERIES_FILE))?;
    let stop = || crate::signals::check().map_err(anyhow::Error::from);
    let flag = crate::signals::stop_flag();
    sweep::execute_until(
        &plan,
        &mut runs_out,
        &mut series_out,
        &|| bar.inc(1),
        &stop,
        &flag,
    )?;
    drop((runs_out, series_out));
    bar.finish_and_clear();
    write_whole(
        &set,
        SWEEP_FILE,
        sweep_toml(runs, zip, &axes, &base).as_bytes(),
    )?;
    match shard {
        Some((k, n)) => {
            let text = format!("shard = {k}\nof = {n}\npoints = {}\n", plan.points.len());
            write_whole(&set, SHARD_FILE, text.as_bytes())?;
        }
        None => finish_outputs_with(&set, args.format, base.output.plot)?,
    }
    crate::signals::check()?;
    set.commit()?;
    if !args.quiet {
        let done = mine.len() as u64 * runs;
        let secs = started.elapsed().as_secs_f64();
        crate::emit(&format!(
            "datadao sweep: {} points x {runs} runs{} = {done} runs in {secs:.1} s ({:.1} runs/s, {jobs} threads); tables in {}\n",
            plan.points.len(),
            shard.map(|(k, n)| format!(" (shard {k}/{n})")).unwrap_or_default(),
            done as f64 / secs.max(1e-9),
            base.output.dir.display()
        ))?;
    }
    Ok(())
}

/// The figure (and Parquet tables) of a complete sweep, made from the staged tables so
/// a merged sweep gets exactly the same files.
fn finish_outputs(set: &OutputSet, format: Format) -> Result<()> {
    finish_outputs_with(set, format, true)
}

/// [`finish_outputs`], without the figure unless `plot` (`--no-plot`, `output.plot`).
fn finish_outputs_with(set: &OutputSet, format: Format, plot: bool) -> Result<()> {
    if plot {
        let path = set.path(sweep::SERIES_FILE);
        let series = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", sweep::SERIES_FILE))?;
        let (title, panels) = sweep_panels(&series)?;
        plot::render(&set.path(PLOT_FILE), &title, &panels)?;
    }
    if format == Format::Parquet {
        crate::tables::write_parquet(set)?;
    }
    Ok(())
}

/// (step, [p5, p50, p95] of each series).
type Quantiles = (f64, [[Option<f64>; 3]; 4]);

/// A point being drawn: its index, its legend label, its rows.
type PlottedPoint = (usize, String, Vec<Quantiles>);

/// Median lines and 5-95% bands of the first [`PLOT_POINTS`] points, from
/// `sweep_series.csv`.
fn sweep_panels(series_csv: &str) -> Result<(String, Vec<BandedPanel>)> {
    let mut lines = series_csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let step_col = header
        .iter()
        .position(|c| *c == "step")
        .ok_or_else(|| anyhow!("no step column"))?;
    let axis_names: Vec<&str> = header[1..step_col].to_vec();
    let col = |name: &str| header.iter().position(|c| *c == name);
    let mut per_point: Vec<PlottedPoint> = Vec::new();
    let mut total_points = 0;
    let mut last_point = None;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            bail!(
                "{}: a row of {} fields under {} columns",
                sweep::SERIES_FILE,
                cells.len(),
                header.len()
            );
        }
        let point: usize = cells[0].parse().context("point column")?;
        if last_point != Some(point) {
            last_point = Some(point);
            total_points += 1;
            if per_point.len() >= PLOT_POINTS {
                continue;
            }
            let label = if axis_names.is_empty() {
                "all runs".to_string()
            } else {
                axis_names
                    .iter()
                    .zip(&cells[1..step_col])
                    .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            per_point.push((point, label, Vec::new()));
        }
        let Some(entry) = per_point.last_mut().filter(|p| p.0 == point) else {
            continue;
        };
        let step: f64 = cells[step_col].parse().context("step column")?;
        let mut stats = [[None; 3]; 4];
        for (s, name) in sweep::SERIES.iter().enumerate() {
            for (q, stat) in ["p5", "p50", "p95"].iter().enumerate() {
                let c = col(&format!("{name}_{stat}"))
                    .ok_or_else(|| anyhow!("no {name}_{stat} column"))?;
                stats[s][q] = cells.get(c).and_then(|v| v.parse().ok());
            }
        }
        entry.2.push((step, stats));
    }
    let titles = [
        ("Token Price (median, 5-95% band)", "xDAI per dDT"),
        ("LP Token Reserve (median, 5-95% band)", "dDT in pool"),
        ("LP Dollar Reserve (median, 5-95% band)", "xDAI in pool"),
        ("The Pie (median, 5-95% band)", "dDT in the Pie"),
    ];
    let panels = titles
        .iter()
        .enumerate()
        .map(|(s, (title, y))| {
            let mut panel = Panel {
                title: title.to_string(),
                y_label: y.to_string(),
                lines: Vec::new(),
            };
            let mut bands = Vec::new();
            for (n, (_, label, rows)) in per_point.iter().enumerate() {
                let color = PALETTE_EXT[n % PALETTE_EXT.len()];
                let pick = |q: usize| -> Vec<(f64, f64)> {
                    rows.iter()
                        .filter_map(|(step, st)| st[s][q].map(|v| (*step, v)))
                        .collect()
                };
                panel.lines.push(Line {
                    label: label.clone(),
                    color,
                    points: pick(1),
                    dots: false,
                });
                bands.push(Band {
                    color,
                    lower: pick(0),
                    upper: pick(2),
                });
            }
            plot::with_bands(panel, bands)
        })
        .collect();
    let shown = per_point.len();
    let title = if total_points > shown {
        format!(
            "datadao sweep: first {shown} of {total_points} points (all are in sweep_series.csv)"
        )
    } else {
        format!("datadao sweep: {total_points} points")
    };
    Ok((title, panels))
}

/// Six distinguishable colours for points.
const PALETTE_EXT: [plotters::style::RGBColor; 6] = [
    PALETTE[0],
    PALETTE[1],
    PALETTE[2],
    PALETTE[3],
    plotters::style::RGBColor(255, 127, 14),
    plotters::style::RGBColor(23, 190, 207),
];

/// Largest shard table `merge` reads: a shard's tables are held in memory to be merged.
const MAX_SHARD_FILE: u64 = 4 << 30;

fn read_text(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{}: cannot read {name}; accepted: the output folder of a sweep shard",
            dir.display()
        );
    }
    // No more than a quarter of the memory left: the merge holds every shard's tables.
    let max = limits::memory_available()
        .map_or(MAX_SHARD_FILE, |m| MAX_SHARD_FILE.min(m / 4))
        .max(settings::MAX_SETTINGS_FILE);
    Ok(settings::read_text_file(
        &path,
        &format!("shard file {}", path.display()),
        max,
        &format!("{name} of a sweep shard's output folder"),
    )?)
}

/// `datadao merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    // --out may not be one of the inputs: merging would replace a shard's own tables.
    std::fs::create_dir_all(&out)
        .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
    let out_real = std::fs::canonicalize(&out)
        .with_context(|| format!("--out {}: cannot resolve the folder", out.display()))?;
    for dir in &args.dirs {
        if std::fs::canonicalize(dir).ok().as_ref() == Some(&out_real) {
            bail!(
                "--out {}: is also an input ({}); accepted: a folder that is not one of the shards",
                out.display(),
                dir.display()
            );
        }
    }
    // Every check is the scenario crate's, shared with the Python package's executors.
    let mut shards = Vec::new();
    for dir in &args.dirs {
        shards.push(merge::Shard {
            origin: merge::Origin::Dir(dir.clone()),
            shard_toml: read_text(dir, SHARD_FILE)?,
            sweep_toml: read_text(dir, SWEEP_FILE)?,
            runs_csv: read_text(dir, sweep::RUNS_FILE)?,
            series_csv: read_text(dir, sweep::SERIES_FILE)?,
        });
    }
    let merged = merge::merge(&shards)?;
    let (n, sweep_text) = (merged.shards, merged.sweep_toml);
    let set = OutputSet::begin(&out, SWEEP_FILES, "--out")?;
    set.check_targets()?;
    write_whole(&set, sweep::RUNS_FILE, merged.runs_csv.as_bytes())?;
    write_whole(&set, sweep::SERIES_FILE, merged.series_csv.as_bytes())?;
    write_whole(&set, SWEEP_FILE, sweep_text.as_bytes())?;
    finish_outputs(&set, args.format)?;
    crate::signals::check()?;
    set.commit()?;
    crate::emit(&format!(
        "datadao merge: {n} shards into {}\n",
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// One complete shard (1 of 1) of a small sweep, written once.
    fn fixture() -> &'static [(String, Vec<u8>)] {
        static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
        FILES.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let args = SweepArgs {
                grid: vec!["market.fee_rate=0.001,0.01".into()],
                zip: false,
                runs: Some(2),
                jobs: Some(1),
                sweep_file: None,
                shard: Some("1/1".into()),
                format: Format::Csv,
                shared: ScenarioArgs {
                    steps: Some("5".into()),
                    out: Some(dir.path().to_str().unwrap().into()),
                    ..ScenarioArgs::default()
                },
                quiet: true,
            };
            sweep(&args).unwrap();
            [sweep::RUNS_FILE, sweep::SERIES_FILE, SWEEP_FILE, SHARD_FILE]
                .iter()
                .map(|n| (n.to_string(), std::fs::read(dir.path().join(n)).unwrap()))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Damaged shards (bytes flipped, cut, inserted, removed) are refused or merged,
        /// never a panic; and a merge that succeeds wrote a complete runs table.
        #[test]
        fn merge_never_panics_on_damaged_shards(
            file in 0usize..4,
            at in any::<proptest::sample::Index>(),
            op in 0u8..4,
            byte in any::<u8>(),
            len in 1usize..40,
        ) {
            let shard = tempfile::tempdir().unwrap();
            let out = tempfile::tempdir().unwrap();
            for (i, (name, bytes)) in fixture().iter().enumerate() {
                let mut b = bytes.clone();
                if i == file && !b.is_empty() {
                    let p = at.index(b.len());
                    match op {
                        0 => b[p] = byte,
                        1 => b.truncate(p),
                        2 => b.splice(p..p, std::iter::repeat_n(byte, len)).for_each(drop),
                        _ => drop(b.drain(p..(p + len).min(b.len()))),
                    }
                }
                std::fs::write(shard.path().join(name), b).unwrap();
            }
            let args = MergeArgs {
                dirs: vec![shard.path().to_path_buf()],
                out: Some(out.path().to_path_buf()),
                format: Format::Csv,
            };
            if merge(&args).is_ok() {
                let runs = std::fs::read_to_string(out.path().join(sweep::RUNS_FILE)).unwrap();
                prop_assert_eq!(runs.lines().count(), 1 + 2 * 2);
            }
        }
    }
}
