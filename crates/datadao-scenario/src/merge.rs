//! Shards of a sweep back into the whole sweep's tables, with every check `datadao
//! merge` makes: the shards are of one sweep (the same effective sweep), each shard
//! `1..=n` is there exactly once, every row belongs to its shard and has the header's
//! fields, no (point, run) or (point, step) is there twice, and every point has every
//! run and every recorded step. The CLI reads the shards' folders and calls [`merge`];
//! the Python package calls it on what its executor's workers returned. No files here:
//! the caller reads and writes them.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Result, ScenarioError};
use crate::settings;
use crate::sweep::{self, Axis};

/// A refusal to merge, spelled like `format!`.
macro_rules! refuse {
    ($($t:tt)*) => {
        ScenarioError::Merge { message: format!($($t)*) }
    };
}

/// Return a refusal to merge.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err(refuse!($($t)*))
    };
}

pub use crate::outputs::{SHARD_FILE, SWEEP_FILE};

/// Where a shard came from, for messages.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A shard's output folder (`datadao merge DIR...`).
    Dir(PathBuf),
    /// What a library call was handed, e.g. `the executor's result for shard 3 of 8`.
    Label(String),
}

impl Origin {
    /// How one of the shard's files is named in messages: the path for a folder.
    fn file(&self, name: &str) -> String {
        match self {
            Origin::Dir(dir) => dir.join(name).display().to_string(),
            Origin::Label(label) => format!("{label}: {name}"),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Dir(dir) => write!(f, "{}", dir.display()),
            Origin::Label(label) => write!(f, "{label}"),
        }
    }
}

/// One shard as written by a sweep with a shard: the text of its four files.
#[derive(Clone, Debug)]
pub struct Shard {
    /// Where it came from.
    pub origin: Origin,
    /// `shard.toml` ([`shard_toml`]).
    pub shard_toml: String,
    /// `sweep.toml` ([`sweep_toml`]), identical in every shard of one sweep.
    pub sweep_toml: String,
    /// `sweep_runs.csv` of the shard's points.
    pub runs_csv: String,
    /// `sweep_series.csv` of the shard's points.
    pub series_csv: String,
}

/// The whole sweep's tables.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// `sweep_runs.csv`.
    pub runs_csv: String,
    /// `sweep_series.csv`.
    pub series_csv: String,
    /// `sweep.toml`, as every shard has it.
    pub sweep_toml: String,
    /// How many shards were merged.
    pub shards: usize,
}

/// `shard.toml` of one shard of a sweep of `points` points.
pub fn shard_toml(shard: crate::sweep::ShardIndex, points: usize) -> String {
    format!("shard = {}\nof = {}\npoints = {points}\n", shard.k, shard.n)
}

/// The effective sweep as TOML: `[sweep]` plus the base scenario. Identical for every
/// shard of a sweep, so [`merge`] can check that the shards belong together.
pub fn sweep_toml(runs: u64, zip: bool, axes: &[Axis], base: &settings::Settings) -> String {
    let mut grid = toml::Table::new();
    for a in axes {
        // Each value as written in the tables, so a sweep of numbers repeats byte for
        // byte; a list value (one value of a list setting) as the list itself, since
        // its table cell is quoted CSV that would read back as text.
        let values = (0..a.values.len())
            .map(|i| match a.typed.as_ref().map(|t| &t[i]) {
                Some(list @ toml::Value::Array(_)) => list.clone(),
                _ => toml::Value::String(a.values[i].clone()),
            })
            .collect();
        grid.insert(a.key.clone(), toml::Value::Array(values));
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

/// What a shard says about itself (`shard.toml`).
struct ShardInfo {
    k: usize,
    n: usize,
    points: usize,
}

/// What every shard's `sweep.toml` says about the whole sweep.
struct SweepShape {
    runs: u64,
    points: usize,
    /// Swept keys, as a sorted list (TOML tables are sorted).
    keys: Vec<String>,
    /// `simulation.total_steps` of the base scenario.
    total_steps: u64,
}

fn read_shard(origin: &Origin, text: &str) -> Result<ShardInfo> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| refuse!("{origin}: cannot parse {SHARD_FILE}: {e}"))?;
    let get = |key: &str| -> Result<usize> {
        match table.get(key).and_then(toml::Value::as_integer) {
            Some(v) if v >= 1 && v as u128 <= sweep::MAX_POINTS => Ok(v as usize),
            _ => bail!(
                "{origin}: {SHARD_FILE}: {key} = {}; accepted: a whole number from 1 to {}",
                table
                    .get(key)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(missing)".into()),
                sweep::MAX_POINTS
            ),
        }
    };
    let (k, n, points) = (get("shard")?, get("of")?, get("points")?);
    if k > n || n > points {
        bail!(
            "{origin}: {SHARD_FILE}: shard {k} of {n} over {points} points; accepted: 1 <= shard <= of <= points"
        );
    }
    Ok(ShardInfo { k, n, points })
}

fn read_shape(origin: &Origin, text: &str) -> Result<SweepShape> {
    let bad = |what: &str| refuse!("{origin}: {SWEEP_FILE}: {what}");
    let table: toml::Table = text
        .parse()
        .map_err(|e| bad(&format!("cannot parse: {e}")))?;
    let sweep = table
        .get("sweep")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| bad("no [sweep] table"))?;
    let runs = sweep
        .get("runs")
        .and_then(toml::Value::as_integer)
        .filter(|r| *r >= 1)
        .ok_or_else(|| bad("[sweep] runs is not a whole number of at least 1"))?
        as u64;
    let zip = sweep
        .get("zip")
        .and_then(toml::Value::as_bool)
        .unwrap_or(false);
    let grid = sweep
        .get("grid")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let mut lens = Vec::new();
    for (key, values) in &grid {
        let n = values
            .as_array()
            .map(Vec::len)
            .ok_or_else(|| bad(&format!("[sweep.grid] {key} is not a list")))?;
        lens.push(n as u128);
    }
    let points: u128 = if grid.is_empty() {
        1
    } else if zip {
        lens[0]
    } else {
        lens.iter().fold(1u128, |a, b| a.saturating_mul(*b))
    };
    if points > sweep::MAX_POINTS {
        return Err(bad(&format!(
            "{points} points; accepted: at most {}",
            sweep::MAX_POINTS
        )));
    }
    let total_steps = table
        .get("simulation")
        .and_then(|s| s.get("total_steps"))
        .and_then(toml::Value::as_integer)
        .filter(|t| *t >= 1)
        .ok_or_else(|| bad("no simulation.total_steps of at least 1"))?
        as u64;
    Ok(SweepShape {
        runs,
        points: points as usize,
        keys: grid.keys().cloned().collect(),
        total_steps,
    })
}

/// The steps recorded in `sweep_series.csv` for a run of `total` steps.
fn recorded_steps(total: u64) -> u64 {
    let stride = total.div_ceil(sweep::SERIES_STEPS).max(1);
    let regular = total.div_ceil(stride);
    regular + u64::from(!(total - 1).is_multiple_of(stride))
}

/// The fields of one CSV line; a field in double quotes (a typed grid value with a
/// comma) is one field, its quotes kept.
fn fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, b) in line.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}

/// One table of a shard, checked row by row: every row has the header's fields, its
/// point belongs to the shard, and nothing is cut off. Returns (point, key, row) where
/// key is the run index (runs table) or the step (series table).
fn read_table<'a>(
    origin: &Origin,
    shard: &ShardInfo,
    name: &str,
    text: &'a str,
    header: &mut Option<&'a str>,
    key_column: &str,
) -> Result<Vec<(usize, u64, &'a str)>> {
    let path = origin.file(name);
    if !text.ends_with('\n') {
        bail!(
            "{path}: the file is cut off (its last line has no end); accepted: a table written whole by datadao sweep"
        );
    }
    let mut lines = text.lines();
    let h = lines.next().unwrap_or_default();
    match header {
        Some(x) if *x != h => bail!(
            "{path} line 1: other columns than in the other shards; accepted: shards of one sweep"
        ),
        _ => *header = Some(h),
    }
    let columns = fields(h);
    let key_at = columns
        .iter()
        .position(|c| *c == key_column)
        .ok_or_else(|| refuse!("{path} line 1: no {key_column} column"))?;
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let at = || format!("{path} line {}", i + 2);
        let cells = fields(line);
        if cells.len() != columns.len() {
            bail!(
                "{}: {} fields, expected {} ({}); accepted: rows as datadao sweep writes them",
                at(),
                cells.len(),
                columns.len(),
                if cells.len() < columns.len() {
                    "a short row"
                } else {
                    "a long row"
                }
            );
        }
        let point: usize = cells[0]
            .parse()
            .map_err(|_| refuse!("{}: point '{}' is not a whole number", at(), cells[0]))?;
        if point >= shard.points || point % shard.n != shard.k - 1 {
            bail!(
                "{}: point {point} does not belong to shard {} of {} over {} points",
                at(),
                shard.k,
                shard.n,
                shard.points
            );
        }
        let key: u64 = cells[key_at].parse().map_err(|_| {
            refuse!(
                "{}: {key_column} '{}' is not a whole number",
                at(),
                cells[key_at]
            )
        })?;
        rows.push((point, key, line));
    }
    Ok(rows)
}

/// Merge the shards of one sweep into its tables, refusing shards of different sweeps,
/// a shard missing or given twice, a row that does not belong, a (point, run) or (point,
/// step) twice, and a point without every run or recorded step.
pub fn merge(shards: &[Shard]) -> Result<Merged> {
    let Some(first) = shards.first() else {
        bail!("merge needs the shards of one sweep; got none");
    };
    let mut infos = Vec::with_capacity(shards.len());
    for s in shards {
        let info = read_shard(&s.origin, &s.shard_toml)?;
        if s.sweep_toml != first.sweep_toml {
            bail!(
                "{}: belongs to a different sweep than {} ({SWEEP_FILE} differs)",
                s.origin,
                first.origin
            );
        }
        infos.push(info);
    }
    let shape = read_shape(&first.origin, &first.sweep_toml)?;
    let n = infos[0].n;
    for (s, info) in shards.iter().zip(&infos) {
        if info.n != n || info.points != shape.points {
            bail!(
                "{}: {SHARD_FILE} says shard {} of {} over {} points, but the sweep has {} points in {n} shards",
                s.origin,
                info.k,
                info.n,
                info.points,
                shape.points
            );
        }
    }
    if shards.len() != n {
        bail!(
            "merge needs every shard 1..={n} of one sweep exactly once; got {} shards",
            shards.len()
        );
    }
    let mut seen = vec![false; n];
    for (s, info) in shards.iter().zip(&infos) {
        if std::mem::replace(&mut seen[info.k - 1], true) {
            bail!("{}: shard {} of {n} is given twice", s.origin, info.k);
        }
    }

    let mut tables = Vec::with_capacity(2);
    for (name, key_column) in [(sweep::RUNS_FILE, "run"), (sweep::SERIES_FILE, "step")] {
        let mut header = None;
        let mut rows: Vec<(usize, u64, &str)> = Vec::new();
        for (s, info) in shards.iter().zip(&infos) {
            let text = if key_column == "run" {
                &s.runs_csv
            } else {
                &s.series_csv
            };
            rows.extend(read_table(
                &s.origin,
                info,
                name,
                text,
                &mut header,
                key_column,
            )?);
        }
        let header = header.unwrap_or_default();
        let columns = fields(header);
        let swept: Vec<String> = {
            let end = columns
                .iter()
                .position(|c| *c == key_column || *c == "run" || *c == "step")
                .unwrap_or(1);
            let mut k: Vec<String> = columns[1..end].iter().map(|c| c.to_string()).collect();
            k.sort();
            k
        };
        if swept != shape.keys {
            bail!(
                "{name}: the swept columns {swept:?} are not the grid of {SWEEP_FILE} {:?}",
                shape.keys
            );
        }
        // Points in sweep order; a point's rows in their written order.
        rows.sort_by_key(|r| (r.0, r.1));
        if let Some(w) = rows
            .windows(2)
            .find(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        {
            bail!(
                "{name}: point {} has {key_column} {} twice; accepted: each once",
                w[0].0,
                w[0].1
            );
        }
        // Complete: every point, every run (or every recorded step).
        let steps_col = columns.iter().position(|c| *c == "simulation.total_steps");
        let mut at = 0;
        for point in 0..shape.points {
            let start = at;
            while at < rows.len() && rows[at].0 == point {
                at += 1;
            }
            let found = (at - start) as u64;
            let expected = if key_column == "run" {
                shape.runs
            } else {
                let total = steps_col
                    .and_then(|c| rows.get(start).and_then(|r| fields(r.2).get(c).copied()))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(shape.total_steps);
                recorded_steps(total)
            };
            if found != expected {
                bail!(
                    "{name}: point {point} has {found} rows, expected {expected}; a shard is incomplete or was cut short"
                );
            }
        }
        let mut text = String::with_capacity(
            header.len() + rows.iter().map(|r| r.2.len() + 1).sum::<usize>() + 1,
        );
        text.push_str(header);
        text.push('\n');
        for r in rows {
            text.push_str(r.2);
            text.push('\n');
        }
        tables.push(text);
    }
    let series_csv = tables.pop().expect("two tables");
    let runs_csv = tables.pop().expect("two tables");
    Ok(Merged {
        runs_csv,
        series_csv,
        sweep_toml: first.sweep_toml.clone(),
        shards: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Inputs, Source};
    use crate::sweep::{ShardIndex, SweepPoint};

    /// A sweep of 3 points x 2 runs of 4 steps, whole and as shards of `n`.
    fn tables(runs: u64, shard: Option<ShardIndex>) -> (String, String, String) {
        let axis = sweep::parse_axis(
            "market.fee_rate=0.001,0.01,0.1",
            Source::Flag("--grid".into()),
        )
        .unwrap();
        let base = settings::resolve(&Inputs {
            flags: vec![settings::Given::new(
                "simulation.total_steps",
                "4",
                Source::Flag("--steps".into()),
            )],
            ..Inputs::default()
        })
        .unwrap();
        let points = sweep::points(std::slice::from_ref(&axis), false)
            .unwrap()
            .into_iter()
            .map(|values| {
                let mut flags = vec![settings::Given::new(
                    "simulation.total_steps",
                    "4",
                    Source::Flag("--steps".into()),
                )];
                flags.extend(values.iter().map(|(k, v)| {
                    settings::Given::new(k.clone(), v.clone(), Source::Flag("--grid".into()))
                }));
                let c = settings::resolve(&Inputs {
                    flags,
                    ..Inputs::default()
                })
                .unwrap();
                SweepPoint {
                    values,
                    config: c.settings.model,
                }
            })
            .collect();
        let plan = sweep::Plan {
            axes: vec![axis.clone()],
            points,
            runs,
            jobs: 1,
            shard,
            criteria: Vec::new(),
            policies: Vec::new(),
        };
        let (mut r, mut s) = (Vec::new(), Vec::new());
        sweep::execute(&plan, &mut r, &mut s, &|| {}).unwrap();
        let toml = sweep_toml(runs, false, &[axis], &base.settings);
        (
            String::from_utf8(r).unwrap(),
            String::from_utf8(s).unwrap(),
            toml,
        )
    }

    fn shards(runs: u64, n: usize) -> Vec<Shard> {
        (1..=n)
            .map(|k| {
                let (runs_csv, series_csv, sweep_toml) = tables(runs, Some(ShardIndex { k, n }));
                Shard {
                    origin: Origin::Label(format!("result {k}")),
                    shard_toml: shard_toml(ShardIndex { k, n }, 3),
                    sweep_toml,
                    runs_csv,
                    series_csv,
                }
            })
            .collect()
    }

    #[test]
    fn shards_merge_into_the_whole_sweep_and_broken_ones_are_refused() {
        let (runs_csv, series_csv, _) = tables(2, None);
        let good = shards(2, 2);
        let merged = merge(&good).unwrap();
        assert_eq!(
            (merged.runs_csv.as_str(), merged.series_csv.as_str()),
            (runs_csv.as_str(), series_csv.as_str())
        );
        // Any order.
        let reversed: Vec<Shard> = good.iter().rev().cloned().collect();
        assert_eq!(merge(&reversed).unwrap(), merged);

        let refused = |shards: Vec<Shard>, words: &str| {
            let e = format!("{:#}", merge(&shards).unwrap_err());
            assert!(e.contains(words), "{words}: {e}");
        };
        refused(vec![good[0].clone(), good[0].clone()], "given twice");
        refused(vec![good[0].clone()], "exactly once; got 1 shards");
        refused(Vec::new(), "got none");
        let mut foreign = good.clone();
        foreign[1] = shards(3, 2).remove(1);
        refused(
            foreign,
            "result 2: belongs to a different sweep than result 1",
        );
        let mut missing = good.clone();
        let mut lines: Vec<&str> = missing[0].runs_csv.lines().collect();
        lines.remove(1);
        missing[0].runs_csv = lines.join("\n") + "\n";
        refused(missing, "expected 2");
        let mut twice = good.clone();
        let row = twice[1].runs_csv.lines().nth(1).unwrap().to_string();
        twice[1].runs_csv.push_str(&(row + "\n"));
        refused(twice, "twice");
        let mut stray = good.clone();
        let row = stray[0].runs_csv.lines().nth(1).unwrap().to_string();
        stray[1].runs_csv.push_str(&(row + "\n"));
        refused(stray, "result 2: sweep_runs.csv line");
        let mut cut = good;
        cut[1].series_csv.pop();
        refused(cut, "cut off");
    }

    #[test]
    fn quoted_fields_are_one_field() {
        assert_eq!(fields("0,\"0.1,0.2\",3"), vec!["0", "\"0.1,0.2\"", "3"]);
        assert_eq!(fields("a,,b"), vec!["a", "", "b"]);
        assert_eq!(fields("\"x\"\"y,z\",1"), vec!["\"x\"\"y,z\"", "1"]);
    }

    #[test]
    fn recorded_steps_match_the_series_stride() {
        assert_eq!(recorded_steps(1), 1);
        assert_eq!(recorded_steps(2000), 2000);
        // 2001 steps: stride 2, steps 0, 2, ..., 2000 (1001 of them).
        assert_eq!(recorded_steps(2001), 1001);
        // 2002 steps: 0, 2, ..., 2000 and the last, 2001.
        assert_eq!(recorded_steps(2002), 1002);
    }
}
