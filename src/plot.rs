//! `simulation_results.png`: the seed's four charts plus agents and mean xDAI by type.
//!
//! Text is drawn by plotters' pure-Rust `ab_glyph` path with DejaVu Sans embedded from the
//! `dejavu` crate, so the figure renders on a machine with no fonts and no font
//! libraries; nothing in the dependency tree links fontconfig or freetype.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use datadao_core::agent_type::TypeNames;
use datadao_core::governance::GovernedSettings;
use datadao_core::AgentType;
use datadao_scenario::palette;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::series::{GovernancePoint, Point};

/// One line of a panel.
#[derive(Clone)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// (step, value) pairs.
    pub points: Vec<(f64, f64)>,
    /// Drawn as dots (marks such as passed proposals) rather than a line.
    pub dots: bool,
    /// Drawn dashed, so a line that coincides with another stays visible.
    pub dashed: bool,
}

/// A shaded band between two curves (a 5-95% range, say).
#[derive(Clone)]
pub struct Band {
    /// Colour (drawn translucent).
    pub color: RGBColor,
    /// Lower curve, (step, value).
    pub lower: Vec<(f64, f64)>,
    /// Upper curve, (step, value).
    pub upper: Vec<(f64, f64)>,
}

/// One chart.
#[derive(Clone)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// A panel with shaded bands under its lines.
#[derive(Clone)]
pub struct BandedPanel {
    /// The lines and labels.
    pub panel: Panel,
    /// Bands, drawn first.
    pub bands: Vec<Band>,
    /// Draw each line segment on its own, with no joins between them (see
    /// [`render_segmented`]).
    pub segments: bool,
    /// What the x axis is (`step (day)` unless a panel says otherwise).
    pub x_label: String,
}

/// The x axis of a panel over a run's steps.
pub const STEP_AXIS: &str = "step (day)";

/// Attach bands to a panel.
pub fn with_bands(panel: Panel, bands: Vec<Band>) -> BandedPanel {
    BandedPanel {
        panel,
        bands,
        segments: false,
        x_label: STEP_AXIS.to_string(),
    }
}

impl From<Panel> for BandedPanel {
    fn from(panel: Panel) -> Self {
        BandedPanel {
            panel,
            bands: Vec::new(),
            segments: false,
            x_label: STEP_AXIS.to_string(),
        }
    }
}

/// Panel titles shared by the figure and the page: what each panel shows.
pub mod titles {
    /// The price panel.
    pub const PRICE: &str = "Token price (xDAI per dDT)";
    /// The pool's dDT reserve.
    pub const POOL_DDT: &str = "dDT in the pool";
    /// The pool's xDAI reserve.
    pub const POOL_XDAI: &str = "xDAI in the pool";
    /// The Pie's balance.
    pub const PIE: &str = "The Pie (dDT)";
    /// Agents of each type.
    pub const AGENTS: &str = "Agents by type";
    /// Mean xDAI held per agent of each type.
    pub const AVG_XDAI: &str = "Average xDAI per agent, by type";
    /// dDT supply against the CRC behind it.
    pub const SUPPLY: &str = "dDT supply and CRC locked";
    /// Consent: the share of live data weight each use case may use.
    pub const ALLOWED: &str = "Share of data allowed, per use case";
}

const fn rgb(c: palette::Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Colour of agent type `kind`: the one palette's.
pub fn type_color(kind: AgentType) -> RGBColor {
    rgb(palette::type_color(kind))
}

/// Colours for scenario comparisons and single-series panels: the one palette's.
pub const PALETTE: [RGBColor; 4] = [
    rgb(palette::SERIES_COLORS[0]),
    rgb(palette::SERIES_COLORS[1]),
    rgb(palette::SERIES_COLORS[2]),
    rgb(palette::SERIES_COLORS[3]),
];

/// Register the embedded font once, before any text is drawn.
pub fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}

fn single(points: &[Point], label: &str, f: impl Fn(&Point) -> Option<f64>) -> Vec<Line> {
    vec![Line {
        label: label.to_string(),
        color: PALETTE[0],
        points: points
            .iter()
            .filter_map(|p| f(p).map(|v| (f64::from(p.step), v)))
            .collect(),
        dots: false,
        dashed: false,
    }]
}

fn per_type(
    points: &[Point],
    types: &TypeNames,
    f: impl Fn(&Point, usize) -> Option<f64>,
) -> Vec<Line> {
    types
        .types()
        .map(|k| Line {
            label: types.name(k).to_string(),
            color: type_color(k),
            points: points
                .iter()
                .filter_map(|p| f(p, k.index()).map(|v| (f64::from(p.step), v)))
                .collect(),
            dots: false,
            dashed: false,
        })
        .collect()
}

/// The panels of a single run's figure.
pub fn run_panels(points: &[Point], use_cases: &[String], types: &TypeNames) -> Vec<Panel> {
    vec![
        Panel {
            title: titles::PRICE.into(),
            y_label: "xDAI per dDT".into(),
            lines: single(points, "price", |p| p.price),
        },
        Panel {
            title: titles::POOL_DDT.into(),
            y_label: "dDT in pool".into(),
            lines: single(points, "dDT reserve", |p| Some(p.ddt_reserve)),
        },
        Panel {
            title: titles::POOL_XDAI.into(),
            y_label: "xDAI in pool".into(),
            lines: single(points, "xDAI reserve", |p| Some(p.xdai_reserve)),
        },
        Panel {
            title: titles::PIE.into(),
            y_label: "dDT in the Pie".into(),
            lines: single(points, "Pie balance", |p| Some(p.pie)),
        },
        Panel {
            title: titles::AGENTS.into(),
            y_label: "agents".into(),
            lines: per_type(points, types, |p, t| p.agents.get(t).map(|&n| n as f64)),
        },
        Panel {
            title: titles::AVG_XDAI.into(),
            y_label: "xDAI".into(),
            lines: per_type(points, types, |p, t| p.avg_xdai.get(t).copied().flatten()),
        },
        Panel {
            title: if points.iter().any(|p| p.governance.is_some()) {
                format!("{} (CRC above: dDT burned by governance)", titles::SUPPLY)
            } else {
                format!("{} (1:1: the lines coincide, CRC dashed)", titles::SUPPLY)
            },
            y_label: "tokens".into(),
            lines: vec![
                Line {
                    label: "dDT supply".into(),
                    color: PALETTE[0],
                    points: points
                        .iter()
                        .map(|p| (f64::from(p.step), p.ddt_supply))
                        .collect(),
                    dots: false,
                    dashed: false,
                },
                Line {
                    label: "CRC locked".into(),
                    color: PALETTE[1],
                    points: points
                        .iter()
                        .map(|p| (f64::from(p.step), p.crc_locked))
                        .collect(),
                    dots: false,
                    dashed: true,
                },
            ],
        },
        Panel {
            title: titles::ALLOWED.into(),
            y_label: "share of live weight".into(),
            lines: use_cases
                .iter()
                .enumerate()
                .map(|(u, name)| Line {
                    label: name.clone(),
                    color: PALETTE[u % PALETTE.len()],
                    points: points
                        .iter()
                        .filter_map(|p| p.allowed_share.get(u).map(|&v| (f64::from(p.step), v)))
                        .collect(),
                    dots: false,
                    dashed: false,
                })
                .collect(),
        },
    ]
}

/// The governance panels of a governed run: the treasury with passed proposals marked,
/// and the governed settings over time.
pub fn governance_panels(points: &[Point], passed: &[u32]) -> Vec<Panel> {
    let gov: Vec<(f64, GovernancePoint)> = points
        .iter()
        .filter_map(|p| p.governance.map(|g| (f64::from(p.step), g)))
        .collect();
    if gov.is_empty() {
        return Vec::new();
    }
    let line = |label: &str, color: RGBColor, f: &dyn Fn(&GovernancePoint) -> Option<f64>| Line {
        label: label.to_string(),
        color,
        points: gov
            .iter()
            .filter_map(|(x, g)| f(g).map(|v| (*x, v)))
            .collect(),
        dots: false,
        dashed: false,
    };
    // A passed proposal sits on the treasury's line at the nearest kept step.
    let marks = passed
        .iter()
        .map(|&step| {
            let at = gov.partition_point(|(x, _)| *x < f64::from(step));
            let (_, g) = gov[at.min(gov.len() - 1)];
            (f64::from(step), g.treasury_ddt)
        })
        .collect();
    let settings = |label: &str, n: usize, f: &dyn Fn(&GovernedSettings) -> f64| {
        line(label, PALETTE[n % PALETTE.len()], &|g| Some(f(&g.settings)))
    };
    let mut setting_lines = vec![
        settings("fee rate x100 (%)", 0, &|s| s.fee_rate * 100.0),
        settings("distribution rate", 1, &|s| s.distribution_rate),
        settings("share power", 2, &|s| s.shares.power),
        settings("share active", 3, &|s| s.shares.active),
        line("share casual", type_color(AgentType::CASUAL), &|g| {
            Some(g.settings.shares.casual)
        }),
        line("mint per weight", RGBColor(90, 90, 90), &|g| {
            Some(g.settings.mint_per_weight)
        }),
        line("backing ratio", RGBColor(140, 86, 75), &|g| g.backing_ratio),
    ];
    setting_lines.retain(|l| !l.points.is_empty());
    vec![
        Panel {
            title: "Treasury (dots: passed proposals)".into(),
            y_label: "treasury".into(),
            lines: vec![
                line("treasury dDT", PALETTE[0], &|g| Some(g.treasury_ddt)),
                line("treasury xDAI", PALETTE[2], &|g| Some(g.treasury_xdai)),
                line("dDT burned", PALETTE[1], &|g| Some(g.ddt_burned)),
                Line {
                    label: "passed proposal".into(),
                    color: BLACK,
                    points: marks,
                    dots: true,
                    dashed: false,
                },
            ],
        },
        Panel {
            title: "Governed settings".into(),
            y_label: "value".into(),
            lines: setting_lines,
        },
    ]
}

/// The panels of a comparison: one line per scenario in each. `configured` holds each
/// run's governable settings as configured, so that when any run is governed, four
/// more panels show where the runs' settings part ways (an ungoverned run's settings
/// are flat lines at their configured values).
pub fn compare_panels(
    runs: &[(String, Vec<Point>)],
    configured: &[GovernedSettings],
) -> Vec<Panel> {
    let lines = |f: &dyn Fn(&Point) -> Option<f64>| -> Vec<Line> {
        runs.iter()
            .enumerate()
            .map(|(n, (name, points))| Line {
                label: name.clone(),
                color: PALETTE[n % PALETTE.len()],
                points: points
                    .iter()
                    .filter_map(|p| f(p).map(|v| (f64::from(p.step), v)))
                    .collect(),
                dots: false,
                // Every scenario after the first is dashed, so where two coincide both
                // stay visible.
                dashed: n > 0,
            })
            .collect()
    };
    let panel = |title: &str, y_label: &str, f: &dyn Fn(&Point) -> Option<f64>| Panel {
        title: title.into(),
        y_label: y_label.into(),
        lines: lines(f),
    };
    let mut panels = vec![
        panel(titles::PRICE, "xDAI per dDT", &|p| p.price),
        panel(titles::POOL_DDT, "dDT in pool", &|p| Some(p.ddt_reserve)),
        panel(titles::POOL_XDAI, "xDAI in pool", &|p| Some(p.xdai_reserve)),
        panel(titles::PIE, "dDT in the Pie", &|p| Some(p.pie)),
        panel("dDT supply", "dDT in existence", &|p| Some(p.ddt_supply)),
        panel("Average xDAI per degen", "xDAI", &|p| p.avg_xdai[0]),
    ];
    let governed = runs
        .iter()
        .any(|(_, points)| points.iter().any(|p| p.governance.is_some()));
    if !governed {
        return panels;
    }
    let setting_lines = |f: &dyn Fn(&GovernedSettings) -> f64| -> Vec<Line> {
        runs.iter()
            .zip(configured)
            .enumerate()
            .map(|(n, ((name, points), base))| Line {
                label: name.clone(),
                color: PALETTE[n % PALETTE.len()],
                points: points
                    .iter()
                    .map(|p| {
                        let settings = p.governance.map_or(*base, |g| g.settings);
                        (f64::from(p.step), f(&settings))
                    })
                    .collect(),
                dots: false,
                dashed: n > 0,
            })
            .collect()
    };
    let setting_panel = |title: &str, y_label: &str, f: &dyn Fn(&GovernedSettings) -> f64| Panel {
        title: title.into(),
        y_label: y_label.into(),
        lines: setting_lines(f),
    };
    panels.extend([
        setting_panel("Pie share of power users", "share of each payout", &|s| {
            s.shares.power
        }),
        setting_panel("Pie share of casual users", "share of each payout", &|s| {
            s.shares.casual
        }),
        setting_panel("Swap fee", "fee rate", &|s| s.fee_rate),
        panel(
            "Proposals passed (governed runs)",
            "proposals passed so far",
            &|p| p.governance.map(|g| g.proposals_passed as f64),
        ),
    ]);
    if let Some(passed) = panels.last_mut() {
        passed.lines.retain(|l| !l.points.is_empty());
    }
    panels
}

fn bounds(lines: &[Line]) -> (f64, f64, f64, f64) {
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1.0) * 0.1
    };
    let y_low = if y0 >= 0.0 && y0 - pad < 0.0 {
        0.0
    } else {
        y0 - pad
    };
    (x0, x1, y_low, y1 + pad)
}

/// Tick text that stays short across magnitudes: integers as integers, tiny or huge
/// values in scientific notation.
pub fn tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.1e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Whether a panel reads better on a log axis: every value positive and spanning more
/// than three orders of magnitude (a collapsing price, for instance).
fn wants_log(lines: &[Line]) -> bool {
    let mut values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (mut lo, mut hi) = (f64::MAX, 0.0f64);
    let all_positive = values.all(|y| {
        lo = lo.min(y);
        hi = hi.max(y);
        y > 0.0
    });
    all_positive && hi > 0.0 && hi / lo > 1e3
}

/// Lowest value a log axis shows.
const LOG_FLOOR: f64 = 1e-300;

fn plot_error(what: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing {what}: {e}")
}

/// Mesh, lines and legend: the same whatever the y axis is.
fn fill_chart<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    banded: &BandedPanel,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let panel = &banded.panel;
    chart
        .configure_mesh()
        .x_desc(banded.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| plot_error(&panel.title, e))?;
    for band in &banded.bands {
        let outline: Vec<(f64, f64)> = band
            .upper
            .iter()
            .copied()
            .chain(band.lower.iter().rev().copied())
            .collect();
        if outline.len() >= 3 {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    band.color.mix(0.18).filled(),
                )))
                .map_err(|e| plot_error(&panel.title, e))?;
        }
    }
    // Each dashed line of a panel gets its own dash, so two dashed lines on the same
    // values still show both.
    let mut dashed_so_far = 0u32;
    for line in &panel.lines {
        let color = line.color;
        if line.dots {
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|&p| Circle::new(p, 5, color.filled())),
                )
                .map_err(|e| plot_error(&panel.title, e))?
                .label(line.label.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
            continue;
        }
        if line.dashed {
            chart
                .draw_series(DashedLineSeries::new(
                    line.points.iter().copied(),
                    10u32.saturating_sub(3 * dashed_so_far).max(3),
                    8 + 6 * dashed_so_far,
                    color.stroke_width(2),
                ))
                .map_err(|e| plot_error(&panel.title, e))?
                .label(line.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 8, y)], color.stroke_width(3))
                });
            dashed_so_far += 1;
            continue;
        }
        let drawn = if banded.segments {
            chart.draw_series(
                line.points
                    .windows(2)
                    .map(|w| PathElement::new(vec![w[0], w[1]], color.stroke_width(2))),
            )
        } else {
            chart.draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            ))
        };
        drawn
            .map_err(|e| plot_error(&panel.title, e))?
            .label(line.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    if panel.lines.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_error(&panel.title, e))?;
    }
    Ok(())
}

/// Whether two lines would be drawn on top of each other: the same steps, and values
/// within 2% of each other at four steps in five or more.
fn coincide(a: &Line, b: &Line) -> bool {
    a.points.len() == b.points.len() && !a.points.is_empty() && {
        let near = a
            .points
            .iter()
            .zip(&b.points)
            .filter(|(p, q)| p.0 == q.0 && (p.1 - q.1).abs() <= 0.02 * p.1.abs().max(q.1.abs()))
            .count();
        near as f64 >= 0.8 * a.points.len() as f64
    }
}

/// A line that coincides with an earlier one is drawn dashed and says so in its
/// legend, so the earlier line never hides it.
fn mark_coinciding(lines: &mut [Line]) {
    for i in 1..lines.len() {
        if lines[i].dots || lines[i].dashed {
            continue;
        }
        if let Some(j) = (0..i).find(|&j| !lines[j].dots && coincide(&lines[i], &lines[j])) {
            lines[i].dashed = true;
            let first = lines[j].label.clone();
            lines[i].label = format!("{} (dashed: on {first})", lines[i].label);
        }
    }
}

/// Height of a legend row and of the legend's frame, in pixels (16 px labels).
const LEGEND_ROW: f64 = 21.0;
const LEGEND_FRAME: f64 = 16.0;

/// The share of a panel's plotting height its legend takes (none for a single line).
fn legend_share<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    lines: usize,
) -> f64 {
    if lines <= 1 {
        return 0.0;
    }
    // The caption, the x labels and the margins, as `draw_panel` lays them out.
    let plot_height = f64::from(area.dim_in_pixel().1) - 40.0 - 48.0 - 24.0;
    let legend = lines as f64 * LEGEND_ROW + LEGEND_FRAME;
    (legend / plot_height.max(1.0)).min(0.7)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    banded: &BandedPanel,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let mut marked = banded.clone();
    mark_coinciding(&mut marked.panel.lines);
    let banded = &marked;
    let panel = &banded.panel;
    // Axis range and scale cover the bands too.
    let mut extent: Vec<Line> = banded
        .bands
        .iter()
        .flat_map(|b| [b.lower.clone(), b.upper.clone()])
        .map(|points| Line {
            label: String::new(),
            color: BLACK,
            points,
            dots: false,
            dashed: false,
        })
        .collect();
    extent.extend(panel.lines.iter().cloned());
    let (x0, x1, y0, mut y1) = bounds(&extent);
    // The legend sits at the top left of the plotting area: the axis gets headroom of
    // the legend's height above the data, so the legend never covers a line.
    let headroom = legend_share(area, panel.lines.len());
    // Axis code walks its range in steps; a range at the edge of f64 (or past it) must
    // never reach it, or drawing never ends.
    let drawable = |v: f64| v.is_finite() && v.abs() <= 1e300;
    if !(drawable(x0) && drawable(x1) && drawable(y0) && drawable(y1)) {
        anyhow::bail!(
            "drawing {}: values beyond 1e300 cannot be drawn",
            panel.title
        );
    }
    // A log axis needs a top above its floor.
    let log = wants_log(&extent) && y1 * 1.25 > LOG_FLOOR * 10.0;
    let title = if log {
        format!("{} (log scale)", panel.title)
    } else {
        panel.title.clone()
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&title, ("sans-serif", 26))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(84);
    if log {
        let lo = extent
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .fold(f64::MAX, f64::min);
        let hi = y1.max(lo * 10.0);
        // The log axis walks its range decade by decade, and powers of ten below about
        // 1e-300 underflow: an axis reaching a Pie that decayed to 1e-323 never ended.
        // The axis stops at 1e-300; anything smaller is drawn at the bottom edge.
        let bottom = (lo * 0.8).max(LOG_FLOOR);
        let top = hi * 1.25;
        let top = 10f64.powf(bottom.log10() + (top.log10() - bottom.log10()) / (1.0 - headroom));
        if !(top.is_finite() && top > bottom) {
            anyhow::bail!("drawing {}: values too large for a log axis", panel.title);
        }
        let mut chart = builder
            .build_cartesian_2d(x0..x1, (bottom..top).log_scale())
            .map_err(|e| plot_error(&panel.title, e))?;
        let mut floored = banded.clone();
        let lift = |points: &mut Vec<(f64, f64)>| {
            points.iter_mut().for_each(|p| p.1 = p.1.max(LOG_FLOOR));
        };
        floored
            .panel
            .lines
            .iter_mut()
            .for_each(|l| lift(&mut l.points));
        for band in &mut floored.bands {
            lift(&mut band.lower);
            lift(&mut band.upper);
        }
        fill_chart(&mut chart, &floored)
    } else {
        y1 = y0 + (y1 - y0) / (1.0 - headroom);
        let mut chart = builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| plot_error(&panel.title, e))?;
        fill_chart(&mut chart, banded)
    }
}

/// Draw `panels` two to a row under `title` into the PNG at `path`.
pub fn render<P: Into<BandedPanel> + Clone>(path: &Path, title: &str, panels: &[P]) -> Result<()> {
    let panels: Vec<BandedPanel> = panels.iter().cloned().map(Into::into).collect();
    draw(path, title, &panels)
}

/// [`render`], drawing every line segment on its own. A 2-pixel polyline's joins are
/// mitred without a limit, so a one-step dip (a governance burn halving the treasury)
/// drew a spike far past the data; separate segments have no joins. Figures without
/// such dips keep [`render`], so they stay byte for byte what they were.
pub fn render_segmented<P: Into<BandedPanel> + Clone>(
    path: &Path,
    title: &str,
    panels: &[P],
) -> Result<()> {
    let mut panels: Vec<BandedPanel> = panels.iter().cloned().map(Into::into).collect();
    panels.iter_mut().for_each(|p| p.segments = true);
    draw(path, title, &panels)
}

fn draw(path: &Path, title: &str, panels: &[BandedPanel]) -> Result<()> {
    ensure_font()?;
    let rows = panels.len().div_ceil(2).max(1);
    let size = (1600u32, 80 + 480 * rows as u32);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)
        .map_err(|e| anyhow!("drawing the figure: {e}"))?;
    let (head, body) = root.split_vertically(80);
    head.draw(&Text::new(
        title.to_string(),
        (24, 24),
        ("sans-serif", 32).into_font().color(&BLACK),
    ))
    .map_err(|e| anyhow!("drawing the title: {e}"))?;
    let areas = body.split_evenly((rows, 2));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(|e| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        anyhow!("cannot write {name}: {e}")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(values: &[f64]) -> Panel {
        Panel {
            title: "t".into(),
            y_label: "y".into(),
            lines: vec![Line {
                label: "l".into(),
                color: PALETTE[0],
                points: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, *v))
                    .collect(),
                dots: false,
                dashed: false,
            }],
        }
    }

    /// Values at both ends of `f64` draw or are refused; they never hang. (A Pie that
    /// decayed to 1e-323 over a million steps once made the log axis loop forever.)
    #[test]
    fn extreme_values_draw_or_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        render(&path, "t", &[panel(&[4.4, 1e-13, 1e-323, 5e-324])]).unwrap();
        render(&path, "t", &[panel(&[1e-310, 1e-305])]).unwrap();
        render(&path, "t", &[panel(&[1e21, 1.0, 3e21])]).unwrap();
        let e = render(&path, "t", &[panel(&[1e304, 1.0])]).unwrap_err();
        assert!(e.to_string().contains("cannot be drawn"), "{e}");
    }
}
