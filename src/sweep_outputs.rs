//! What a sweep and a merge write besides the tables: the file names
//! ([`SWEEP_FILES`], replaced together), and the figure and Parquet copies of a complete
//! sweep, made from the staged tables ([`finish_outputs`]) so that a merged sweep gets
//! exactly the files of an unsharded one.

use anyhow::{anyhow, bail, Context, Result};
use datadao_scenario::sweep;

use crate::cli::Format;
use crate::output_set::OutputSet;
use crate::plot::{self, Band, BandedPanel, Line, Panel};
use crate::tables;

pub use datadao_scenario::outputs::{
    SHARD_FILE, SWEEP_FILE, SWEEP_FILES, SWEEP_PLOT_FILE as PLOT_FILE,
};
/// Points drawn per panel; the rest are listed in the figure's title.
pub const PLOT_POINTS: usize = 6;

/// The figure (and Parquet tables) of a complete sweep, made from the staged tables so
/// a merged sweep gets exactly the same files.
pub fn finish_outputs(set: &OutputSet, format: Format) -> Result<()> {
    finish_outputs_with(set, format, true, None)
}

/// `--plot-points LIST`: point indices, each below `points`, at most [`PLOT_POINTS`].
pub fn parse_plot_points(text: &str, points: usize) -> Result<Vec<usize>> {
    let bad = || {
        anyhow!(
            "--plot-points {text}: accepted: up to {PLOT_POINTS} point indices from 0 to {}, separated by commas, e.g. --plot-points 0,{}",
            points.saturating_sub(1),
            points.saturating_sub(1)
        )
    };
    let mut chosen = Vec::new();
    for item in text.split(',') {
        let i: usize = item.trim().parse().map_err(|_| bad())?;
        if i >= points || chosen.contains(&i) {
            return Err(bad());
        }
        chosen.push(i);
    }
    if chosen.is_empty() || chosen.len() > PLOT_POINTS {
        return Err(bad());
    }
    Ok(chosen)
}

/// Up to [`PLOT_POINTS`] of `total` points spread evenly over the grid, first and last
/// included (all of them when there are that few).
fn spread(total: usize) -> Vec<usize> {
    if total <= PLOT_POINTS {
        return (0..total).collect();
    }
    let mut out: Vec<usize> = (0..PLOT_POINTS)
        .map(|i| ((i * (total - 1)) as f64 / (PLOT_POINTS - 1) as f64).round() as usize)
        .collect();
    out.dedup();
    out
}

/// Points listed by [`points_abridged`]; `sweep_points.csv` has them all.
const ABRIDGED_POINTS: usize = 12;
/// The KPIs [`points_abridged`] shows, each as its median and 5-95% range.
const ABRIDGED_KPIS: [&str; 3] = ["final_price", "final_pie", "volatility"];

/// `sweep_points.csv` abridged for the terminal: the first points' settings, runs, and
/// the median [5th, 95th percentile] of a few KPIs. With criteria, the points with the
/// highest `all_pass_rate` first (ties in point order), each criterion's pass rate and
/// Wilson 95% interval before the KPIs.
pub fn points_abridged(set: &OutputSet) -> Result<String> {
    let text = std::fs::read_to_string(set.path(sweep::POINTS_FILE))
        .with_context(|| format!("cannot read {}", sweep::POINTS_FILE))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers()?.clone();
    let col = |name: &str| header.iter().position(|c| c == name);
    let runs_col = col("runs").ok_or_else(|| anyhow!("no runs column"))?;
    let num = |t: &str| -> String {
        t.parse::<f64>().map_or("-".into(), |v| {
            if v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
                format!("{v:.3e}")
            } else {
                format!("{v:.4}")
            }
        })
    };
    // The criteria, by their `_pass_rate` columns (`all` last).
    let passes: Vec<&str> = header
        .iter()
        .filter_map(|c| c.strip_suffix("_pass_rate"))
        .collect();
    let all_col = col("all_pass_rate");
    let mut rows = vec![{
        let mut h: Vec<String> = header.iter().take(runs_col + 1).map(String::from).collect();
        h.extend(passes.iter().map(|n| format!("{n} pass [95%]")));
        h.extend(ABRIDGED_KPIS.iter().map(|k| format!("{k} p50 [p5, p95]")));
        h
    }];
    // The points shown: the first ones, or with criteria the best by all_pass_rate.
    let mut shown: Vec<(f64, usize, csv::StringRecord)> = Vec::new();
    let mut total = 0;
    for record in reader.records() {
        let record = record?;
        let rank = all_col
            .and_then(|c| record.get(c))
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(f64::NEG_INFINITY);
        shown.push((rank, total, record));
        total += 1;
        if all_col.is_some() {
            shown.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        shown.truncate(ABRIDGED_POINTS);
    }
    for (_, _, record) in &shown {
        let mut row: Vec<String> = record.iter().take(runs_col + 1).map(String::from).collect();
        let get = |name: String| col(&name).and_then(|c| record.get(c)).unwrap_or("");
        for n in &passes {
            row.push(format!(
                "{} [{}, {}]",
                num(get(format!("{n}_pass_rate"))),
                num(get(format!("{n}_pass_lo"))),
                num(get(format!("{n}_pass_hi")))
            ));
        }
        for k in ABRIDGED_KPIS {
            row.push(format!(
                "{} [{}, {}]",
                num(get(format!("{k}_p50"))),
                num(get(format!("{k}_p5"))),
                num(get(format!("{k}_p95")))
            ));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if total > ABRIDGED_POINTS {
        out.push_str(&format!(
            "... {} more points in {}\n",
            total - ABRIDGED_POINTS,
            sweep::POINTS_FILE
        ));
    }
    Ok(out)
}

/// [`finish_outputs`], without the figure unless `plot` (`--no-plot`, `output.plot`).
pub fn finish_outputs_with(
    set: &OutputSet,
    format: Format,
    plot: bool,
    plot_points: Option<&[usize]>,
) -> Result<()> {
    // The points table, from the runs table as written (a merge gets the same), with
    // the criteria the effective sweep (`sweep.toml`, written first) lists.
    let effective = std::fs::read_to_string(set.path(SWEEP_FILE))
        .with_context(|| format!("cannot read {SWEEP_FILE}"))?;
    let criteria = datadao_scenario::criteria::names_in_toml(&effective);
    let runs = std::fs::File::open(set.path(sweep::RUNS_FILE))
        .with_context(|| format!("cannot read {}", sweep::RUNS_FILE))?;
    let mut points = crate::output::create(&set.path(sweep::POINTS_FILE))?;
    sweep::points_table(std::io::BufReader::new(runs), &criteria, &mut points)?;
    drop(points);
    if plot {
        let path = set.path(sweep::SERIES_FILE);
        let series = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", sweep::SERIES_FILE))?;
        let (title, mut panels) = sweep_panels(&series, plot_points)?;
        if !criteria.is_empty() {
            let points = std::fs::read_to_string(set.path(sweep::POINTS_FILE))
                .with_context(|| format!("cannot read {}", sweep::POINTS_FILE))?;
            panels.push(pass_rate_panel(&points)?);
        }
        plot::render(&set.path(PLOT_FILE), &title, &panels)?;
    }
    if format == Format::Parquet {
        tables::write_parquet(set)?;
    }
    Ok(())
}

/// Pass-rate colours, from none of the runs to all of them (red, amber, green).
const PASS_COLOURS: [(f64, &str, plotters::style::RGBColor); 4] = [
    (
        0.5,
        "all pass < 50%",
        plotters::style::RGBColor(0xd6, 0x27, 0x28),
    ),
    (0.9, "50-90%", plotters::style::RGBColor(0xff, 0x7f, 0x0e)),
    (1.0, "90-99%", plotters::style::RGBColor(0xbc, 0xbd, 0x22)),
    (
        f64::INFINITY,
        "100%",
        plotters::style::RGBColor(0x2c, 0xa0, 0x2c),
    ),
];

/// Every point's `all_pass_rate` (the share of its runs meeting every criterion) with
/// its Wilson 95% band, each dot coloured by the rate, from `sweep_points.csv`.
fn pass_rate_panel(points_csv: &str) -> Result<BandedPanel> {
    let mut reader = csv::ReaderBuilder::new().from_reader(points_csv.as_bytes());
    let header = reader.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| anyhow!("{}: no {name} column", sweep::POINTS_FILE))
    };
    let (rate, lo, hi) = (
        col("all_pass_rate")?,
        col("all_pass_lo")?,
        col("all_pass_hi")?,
    );
    let mut lines: Vec<Line> = PASS_COLOURS
        .iter()
        .map(|(_, label, color)| Line {
            label: label.to_string(),
            color: *color,
            points: Vec::new(),
            dots: true,
            dashed: false,
        })
        .collect();
    let mut band = Band {
        color: plotters::style::RGBColor(0x7f, 0x7f, 0x7f),
        lower: Vec::new(),
        upper: Vec::new(),
    };
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let get = |c: usize| record.get(c).and_then(|t| t.parse::<f64>().ok());
        let x = i as f64;
        if let Some(r) = get(rate) {
            let bucket = PASS_COLOURS
                .iter()
                .position(|(below, _, _)| r < *below)
                .unwrap_or(PASS_COLOURS.len() - 1);
            lines[bucket].points.push((x, r));
        }
        if let (Some(l), Some(h)) = (get(lo), get(hi)) {
            band.lower.push((x, l));
            band.upper.push((x, h));
        }
    }
    lines.retain(|l| !l.points.is_empty());
    let mut panel = plot::with_bands(
        Panel {
            title: "Runs meeting every criterion (all_pass_rate, Wilson 95% band)".into(),
            y_label: "share of runs".into(),
            lines,
        },
        vec![band],
    );
    panel.x_label = "point (sweep_points.csv row)".into();
    Ok(panel)
}

/// (step, [p5, p50, p95] of each series).
type Quantiles = (f64, [[Option<f64>; 3]; 4]);

/// A point being drawn: its index, its legend label, its rows.
type PlottedPoint = (usize, String, Vec<Quantiles>);

/// Median lines and 5-95% bands of the `chosen` points (default: [`spread`] over the
/// grid), from `sweep_series.csv`.
fn sweep_panels(series_csv: &str, chosen: Option<&[usize]>) -> Result<(String, Vec<BandedPanel>)> {
    // Read as CSV, not split on commas: a list value of a swept setting is one quoted cell.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(series_csv.as_bytes());
    let header_record = reader
        .headers()
        .with_context(|| format!("{}: header", sweep::SERIES_FILE))?
        .clone();
    let header: Vec<&str> = header_record.iter().collect();
    let step_col = header
        .iter()
        .position(|c| *c == "step")
        .ok_or_else(|| anyhow!("no step column"))?;
    let axis_names: Vec<&str> = header[1..step_col].to_vec();
    let col = |name: &str| header.iter().position(|c| *c == name);
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: a row", sweep::SERIES_FILE))?;
    // The points in the table, in order, then the ones to draw.
    let mut order: Vec<usize> = Vec::new();
    for r in &records {
        let point: usize = r
            .get(0)
            .unwrap_or_default()
            .parse()
            .context("point column")?;
        if order.last() != Some(&point) {
            order.push(point);
        }
    }
    let total_points = order.len();
    let wanted: Vec<usize> = match chosen {
        Some(list) => list.iter().filter_map(|&i| order.get(i).copied()).collect(),
        None => spread(total_points).into_iter().map(|i| order[i]).collect(),
    };
    let mut per_point: Vec<PlottedPoint> = Vec::new();
    let mut last_point = None;
    for record in &records {
        let cells: Vec<&str> = record.iter().collect();
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
            if !wanted.contains(&point) {
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
        (plot::titles::PRICE, "xDAI per dDT"),
        (plot::titles::POOL_DDT, "dDT in pool"),
        (plot::titles::POOL_XDAI, "xDAI in pool"),
        (plot::titles::PIE, "dDT in the Pie"),
    ];
    let panels = titles
        .iter()
        .enumerate()
        .map(|(s, (title, y))| {
            let mut panel = Panel {
                title: format!("{title} (median, 5-95% band)"),
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
                    dashed: false,
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
        let listed: Vec<String> = per_point.iter().map(|p| p.0.to_string()).collect();
        format!(
            "datadao sweep: points {} of {total_points} (all are in sweep_series.csv; --plot-points chooses)",
            listed.join(", ")
        )
    } else {
        format!("datadao sweep: {total_points} points")
    };
    Ok((title, panels))
}

/// Six distinguishable colours for points: the one palette's first six.
const PALETTE_EXT: [plotters::style::RGBColor; 6] = {
    let c = datadao_scenario::palette::SERIES_COLORS;
    [
        plotters::style::RGBColor(c[0].0, c[0].1, c[0].2),
        plotters::style::RGBColor(c[1].0, c[1].1, c[1].2),
        plotters::style::RGBColor(c[2].0, c[2].1, c[2].2),
        plotters::style::RGBColor(c[3].0, c[3].1, c[3].2),
        plotters::style::RGBColor(c[4].0, c[4].1, c[4].2),
        plotters::style::RGBColor(c[5].0, c[5].1, c[5].2),
    ]
};
