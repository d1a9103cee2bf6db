//! The `sweep` and `merge` commands: read the sweep (flags and/or a `[sweep]` file),
//! resolve every point's settings, run it (or one shard of it), and write the tables,
//! the figure and the effective sweep; `merge` reassembles shards into the same files.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::{Format, MergeArgs, ScenarioArgs, SweepArgs};
use crate::output::{write_whole, PendingFile};
use crate::plot::{self, Band, BandedPanel, Line, Panel, PALETTE};
use crate::settings::{self, Inputs};
use crate::sweep::{self, Axis, Plan};

/// The effective sweep, saved beside the results (and compared by `merge`).
pub const SWEEP_FILE: &str = "sweep.toml";
/// A shard's identity, beside its partial tables.
pub const SHARD_FILE: &str = "shard.toml";
/// The figure.
pub const PLOT_FILE: &str = "sweep_results.png";
/// Points drawn per panel; the rest are listed in the figure's title.
pub const PLOT_POINTS: usize = 6;

/// `[sweep]` of a sweep file.
#[derive(Default)]
struct SweepSection {
    runs: Option<u64>,
    zip: bool,
    axes: Vec<Axis>,
}

/// Split a sweep file into its `[sweep]` section and the scenario settings around it.
fn read_sweep_file(path: &Path) -> Result<(SweepSection, String)> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read sweep file {} (given with --sweep)",
            path.display()
        )
    })?;
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
                        let spec = match values {
                            toml::Value::String(s) => format!("{axis}={s}"),
                            toml::Value::Array(items) => {
                                let items: Vec<String> = items
                                    .iter()
                                    .map(|v| match v {
                                        toml::Value::String(s) => s.clone(),
                                        other => other.to_string(),
                                    })
                                    .collect();
                                format!("{axis}={}", items.join(","))
                            }
                            other => format!("{axis}={other}"),
                        };
                        section.axes.push(sweep::parse_axis(&spec)?);
                    }
                }
                (other, v) => bail!(
                    "{}: [sweep] {other} = {v}: accepted keys: runs (a whole number >= 1), zip (true/false), grid (a table of KEY = [values] or \"START..END:STEP\")",
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

fn resolve_point(
    shared: &ScenarioArgs,
    file: Option<&(PathBuf, String)>,
    values: &[(String, String)],
) -> Result<settings::Settings> {
    let mut flags = shared.overrides().map_err(anyhow::Error::msg)?;
    for (key, value) in values {
        flags.push((key.clone(), value.clone(), format!("--grid {key}")));
    }
    let preset = match &shared.preset {
        Some(name) => {
            let p = crate::presets::find(name).map_err(anyhow::Error::msg)?;
            Some((p.name.to_string(), p.toml.to_string()))
        }
        None => None,
    };
    let inputs = Inputs {
        preset,
        config_file: shared.config.clone(),
        config_text: file.cloned(),
        dotenv: Some(PathBuf::from(".env")),
        env: std::env::vars().collect(),
        flags,
    };
    Ok(settings::resolve(&inputs)?.settings)
}

/// The effective sweep as TOML: `[sweep]` plus the base scenario. Identical for every
/// shard of a sweep, so `merge` can check the shards belong together.
fn sweep_toml(runs: u64, zip: bool, axes: &[Axis], base: &settings::Settings) -> String {
    let mut grid = toml::Table::new();
    for a in axes {
        grid.insert(
            a.key.clone(),
            toml::Value::Array(a.values.iter().cloned().map(toml::Value::String).collect()),
        );
    }
    let mut sweep = toml::Table::new();
    sweep.insert("runs".into(), toml::Value::Integer(runs as i64));
    sweep.insert("zip".into(), toml::Value::Boolean(zip));
    sweep.insert("grid".into(), toml::Value::Table(grid));
    let mut top = toml::Table::new();
    top.insert("sweep".into(), toml::Value::Table(sweep));
    let mut base = base.clone();
    base.output.dir = PathBuf::from(".");
    format!(
        "# Effective datadao sweep (datadao {}). Repeat it with: datadao sweep --sweep <this file>\n\n{}\n{}",
        env!("CARGO_PKG_VERSION"),
        toml::to_string_pretty(&top).expect("serializes"),
        settings::to_toml(&base)
    )
}

/// `datadao sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let (section, file) = match &args.sweep_file {
        Some(path) => {
            let (section, rest) = read_sweep_file(path)?;
            (section, Some((path.clone(), rest)))
        }
        None => (SweepSection::default(), None),
    };
    let mut axes = section.axes;
    for spec in &args.grid {
        axes.push(sweep::parse_axis(spec)?);
    }
    if let Some(dup) = axes
        .iter()
        .enumerate()
        .find(|(i, a)| axes[..*i].iter().any(|b| b.key == a.key))
    {
        bail!(
            "--grid {}: the setting is swept twice; accepted: each key on one axis",
            dup.1.key
        );
    }
    let zip = args.zip || section.zip;
    let runs = args.runs.or(section.runs).unwrap_or(1);
    if runs == 0 {
        bail!("--runs 0: accepted: a whole number of at least 1");
    }
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let base = resolve_point(&args.shared, file.as_ref(), &[])?;
    let point_values = sweep::points(&axes, zip)?;
    let mut points = Vec::with_capacity(point_values.len());
    for values in point_values {
        let settings = resolve_point(&args.shared, file.as_ref(), &values)?;
        points.push((values, settings.model));
    }
    let dir = base.output.dir.clone();
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "output.dir = '{}': cannot create the output folder",
            dir.display()
        )
    })?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        bail!("--jobs 0: accepted: a whole number of at least 1");
    }
    let plan = Plan {
        axes: axes.clone(),
        points,
        runs,
        seed: base.model.simulation.seed,
        jobs,
        shard,
    };
    let bar = crate::progress_bar(runs, "runs", args.quiet);
    sweep::execute(&plan, &dir, &bar)?;
    bar.finish_and_clear();
    write_whole(
        &dir,
        SWEEP_FILE,
        sweep_toml(runs, zip, &axes, &base).as_bytes(),
    )?;
    match shard {
        Some((k, n)) => {
            let text = format!("shard = {k}\nof = {n}\npoints = {}\n", plan.points.len());
            write_whole(&dir, SHARD_FILE, text.as_bytes())?;
        }
        None => finish_outputs(&dir, args.format)?,
    }
    if !args.quiet {
        let done = sweep::shard_points(plan.points.len(), shard).len() as u64 * runs;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "datadao sweep: {} points x {runs} runs{} = {done} runs in {secs:.1} s ({:.1} runs/s, {jobs} threads); tables in {}",
            plan.points.len(),
            shard.map(|(k, n)| format!(" (shard {k}/{n})")).unwrap_or_default(),
            done as f64 / secs.max(1e-9),
            dir.display()
        );
    }
    Ok(())
}

/// The figure (and Parquet tables) of a complete sweep, made from the written tables so
/// a merged sweep gets exactly the same files.
fn finish_outputs(dir: &Path, format: Format) -> Result<()> {
    let series = std::fs::read_to_string(dir.join(sweep::SERIES_FILE))
        .with_context(|| format!("cannot read {}", dir.join(sweep::SERIES_FILE).display()))?;
    let pending = PendingFile::new(dir, PLOT_FILE);
    let (title, panels) = sweep_panels(&series)?;
    plot::render(pending.temp_path(), &title, &panels)?;
    pending.commit()?;
    if format == Format::Parquet {
        crate::tables::write_parquet(dir)?;
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
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let point: usize = cells[0].parse().context("point column")?;
        if per_point.last().map(|p| p.0) != Some(point) {
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

/// `datadao merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut shards = Vec::new();
    let mut sweep_text: Option<String> = None;
    for dir in &args.dirs {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).with_context(|| {
                format!(
                    "{}: no {name}; is it the output folder of a sweep shard?",
                    dir.display()
                )
            })
        };
        let shard: toml::Table = read(SHARD_FILE)?
            .parse()
            .map_err(|e| anyhow!("{}: bad {SHARD_FILE}: {e}", dir.display()))?;
        let get = |k: &str| {
            shard
                .get(k)
                .and_then(toml::Value::as_integer)
                .map(|v| v as usize)
        };
        let (Some(k), Some(n)) = (get("shard"), get("of")) else {
            bail!("{}: {SHARD_FILE} lacks shard/of", dir.display());
        };
        let text = read(SWEEP_FILE)?;
        match &sweep_text {
            Some(t) if *t != text => bail!(
                "{}: belongs to a different sweep than {}",
                dir.display(),
                args.dirs[0].display()
            ),
            _ => sweep_text = Some(text),
        }
        shards.push((k, n, dir.clone()));
    }
    let n = shards[0].1;
    let mut ks: Vec<usize> = shards.iter().map(|s| s.0).collect();
    ks.sort_unstable();
    if shards.iter().any(|s| s.1 != n) || ks != (1..=n).collect::<Vec<_>>() {
        bail!("merge needs every shard 1..={n} of one sweep exactly once; got shards {ks:?}");
    }
    for name in [sweep::RUNS_FILE, sweep::SERIES_FILE] {
        let mut header = None;
        let mut rows: Vec<(usize, usize, usize, String)> = Vec::new();
        for (k, _, dir) in &shards {
            let text = std::fs::read_to_string(dir.join(name))
                .with_context(|| format!("cannot read {}", dir.join(name).display()))?;
            let mut lines = text.lines();
            let h = lines.next().unwrap_or_default().to_string();
            if header.as_ref().is_some_and(|x| *x != h) {
                bail!(
                    "{}: {name} has other columns than the other shards",
                    dir.display()
                );
            }
            header = Some(h);
            for (i, line) in lines.enumerate() {
                let point: usize = line
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .parse()
                    .with_context(|| format!("{}: {name}: bad row", dir.display()))?;
                rows.push((point, *k, i, line.to_string()));
            }
        }
        // A point lives in one shard, in its written order; points in sweep order.
        rows.sort_by_key(|r| (r.0, r.1, r.2));
        let mut text = header.unwrap_or_default();
        text.push('\n');
        for r in rows {
            text.push_str(&r.3);
            text.push('\n');
        }
        write_whole(&out, name, text.as_bytes())?;
    }
    write_whole(&out, SWEEP_FILE, sweep_text.unwrap_or_default().as_bytes())?;
    finish_outputs(&out, args.format)?;
    println!("datadao merge: {n} shards into {}", out.display());
    Ok(())
}
