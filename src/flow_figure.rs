//! `flows.png` and the page's flow diagram: one layout of a run's [`FlowDiagram`], drawn
//! by plotters into the PNG and served as shapes for the page to draw as SVG, so both
//! show the same boxes, bands and numbers.
//!
//! The layout is a Sankey diagram per token: columns of boxes, each as tall as its
//! throughput on one scale per part, bands between them as wide as their totals, each
//! box labelled with its name and its number. A box too thin for its label gets the
//! label's height as room, so no label covers another.

use std::path::Path;

use anyhow::{anyhow, Result};
use datadao_scenario::flows::{FlowDiagram, FlowNode, Part, Token};
use datadao_scenario::palette::{self, Rgb};
use plotters::prelude::*;
use serde_json::{json, Value};

/// The figure's size in pixels.
pub const WIDTH: f64 = 1600.0;
const HEIGHT: f64 = 1150.0;
const NODE_WIDTH: f64 = 16.0;
/// Room at the right for the last column's labels.
const RIGHT: f64 = 300.0;
const LEFT: f64 = 24.0;
/// Vertical room between boxes of a column.
const GAP: f64 = 10.0;
/// Font size of the labels, in pixels.
pub const LABEL_SIZE: f64 = 15.0;
/// A label's two lines.
const LABEL_HEIGHT: f64 = 2.0 * LABEL_SIZE + 6.0;

/// Where a part of the diagram is drawn: its top and height.
const PARTS: [(Part, &str, f64, f64); 2] = [
    (
        Part::Ddt,
        "CRC and dDT: where the group token comes from and where it goes",
        110.0,
        640.0,
    ),
    (
        Part::Xdai,
        "xDAI: what is paid into the pool and where it goes",
        830.0,
        250.0,
    ),
];

/// A box with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeShape {
    /// Left, top, width, height in pixels.
    pub rect: [f64; 4],
    /// Fill colour.
    pub color: Rgb,
    /// Its name, then its number with the unit.
    pub lines: [String; 2],
    /// Where the label's first line starts (left edge, middle of the two lines).
    pub label_at: (f64, f64),
}

/// A band: its outline as a closed polygon, and its colour (drawn translucent).
#[derive(Clone, Debug, PartialEq)]
pub struct BandShape {
    /// Outline, in pixels.
    pub outline: Vec<(f64, f64)>,
    /// Colour.
    pub color: Rgb,
}

/// Everything the figure draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Bands, drawn first.
    pub bands: Vec<BandShape>,
    /// Boxes and labels.
    pub nodes: Vec<NodeShape>,
    /// Each part's heading and where it sits.
    pub headings: Vec<(String, (f64, f64))>,
}

/// An amount as a label spells it: whole numbers with thousands separators from 100
/// up, then two decimals, then three significant digits.
pub fn amount(v: f64) -> String {
    if v >= 100.0 {
        let whole = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3e}")
            .parse::<f64>()
            .map(|r| {
                let digits = (2 - r.abs().log10().floor() as i32).max(0) as usize;
                format!("{r:.digits$}")
            })
            .unwrap_or_else(|_| v.to_string())
    }
}

fn node_color(n: &FlowNode) -> Rgb {
    if let Some(kind) = n.agent_type {
        return palette::type_color(kind);
    }
    if n.id.contains("unaccounted") || n.id.contains("created") {
        return palette::DEFECT_COLOR;
    }
    match n.token {
        Token::Crc => palette::TOKEN_COLORS[0],
        Token::Ddt => palette::TOKEN_COLORS[1],
        Token::Xdai => palette::TOKEN_COLORS[2],
    }
}

/// Lay out `diagram`.
pub fn layout(diagram: &FlowDiagram) -> Layout {
    let mut rects = vec![[0.0f64; 4]; diagram.nodes.len()];
    let mut out = Layout {
        bands: Vec::new(),
        nodes: Vec::new(),
        headings: Vec::new(),
    };
    for (part, heading, top, height) in PARTS {
        out.headings.push((heading.to_owned(), (LEFT, top - 34.0)));
        let members: Vec<usize> = (0..diagram.nodes.len())
            .filter(|&i| diagram.nodes[i].part == part)
            .collect();
        let Some(last_column) = members.iter().map(|&i| diagram.nodes[i].column).max() else {
            continue;
        };
        let columns: Vec<Vec<usize>> = (0..=last_column)
            .map(|c| {
                members
                    .iter()
                    .copied()
                    .filter(|&i| diagram.nodes[i].column == c)
                    .collect()
            })
            .collect();
        let extent = |scale: f64| {
            columns
                .iter()
                .map(|col| {
                    col.iter()
                        .map(|&i| (diagram.nodes[i].value * scale).max(LABEL_HEIGHT))
                        .sum::<f64>()
                        + GAP * col.len().saturating_sub(1) as f64
                })
                .fold(0.0, f64::max)
        };
        let biggest = columns
            .iter()
            .map(|col| col.iter().map(|&i| diagram.nodes[i].value).sum::<f64>())
            .fold(0.0, f64::max);
        let mut scale = if biggest > 0.0 { height / biggest } else { 0.0 };
        // Room given to thin boxes' labels takes from the scale until every column fits.
        for _ in 0..400 {
            if extent(scale) <= height {
                break;
            }
            scale *= 0.97;
        }
        let span = WIDTH - LEFT - RIGHT - NODE_WIDTH;
        for (c, col) in columns.iter().enumerate() {
            let x = LEFT + span * c as f64 / f64::from(last_column.max(1));
            let mut y = top;
            for &i in col {
                let h = (diagram.nodes[i].value * scale).max(1.0);
                rects[i] = [x, y, NODE_WIDTH, h];
                y += h.max(LABEL_HEIGHT) + GAP;
            }
        }
    }
    // Bands leave a box in the order of their targets and enter one in the order of
    // their sources, so they do not cross needlessly.
    let scale_of = |i: usize| {
        let n = &diagram.nodes[i];
        if n.value > 0.0 {
            rects[i][3] / n.value
        } else {
            0.0
        }
    };
    let mut out_used = vec![0.0f64; diagram.nodes.len()];
    let mut in_used = vec![0.0f64; diagram.nodes.len()];
    let mut order: Vec<usize> = (0..diagram.links.len()).collect();
    order.sort_by(|&a, &b| {
        let (la, lb) = (&diagram.links[a], &diagram.links[b]);
        (la.from, rects[la.to][1])
            .partial_cmp(&(lb.from, rects[lb.to][1]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut starts = vec![(0.0, 0.0); diagram.links.len()];
    for &l in &order {
        let link = &diagram.links[l];
        let h = link.value * scale_of(link.from);
        starts[l] = (rects[link.from][1] + out_used[link.from], h);
        out_used[link.from] += h;
    }
    order.sort_by(|&a, &b| {
        let (la, lb) = (&diagram.links[a], &diagram.links[b]);
        (la.to, rects[la.from][1])
            .partial_cmp(&(lb.to, rects[lb.from][1]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for &l in &order {
        let link = &diagram.links[l];
        let (from, to) = (&diagram.nodes[link.from], &diagram.nodes[link.to]);
        let (y0, h0) = starts[l];
        let h1 = link.value * scale_of(link.to);
        let y1 = rects[link.to][1] + in_used[link.to];
        in_used[link.to] += h1;
        let x0 = rects[link.from][0] + NODE_WIDTH;
        let x1 = rects[link.to][0];
        let color = if to.agent_type.is_some() || node_color(to) == palette::DEFECT_COLOR {
            node_color(to)
        } else {
            node_color(from)
        };
        out.bands.push(BandShape {
            outline: ribbon(x0, y0, h0.max(0.5), x1, y1, h1.max(0.5)),
            color,
        });
    }
    for (i, n) in diagram.nodes.iter().enumerate() {
        let [x, y, w, h] = rects[i];
        // A label sits beside the middle of its box, or of the room a thin box gets.
        let middle = y + h.max(LABEL_HEIGHT) / 2.0;
        out.nodes.push(NodeShape {
            rect: [x, y, w, h],
            color: node_color(n),
            lines: [
                n.label.clone(),
                format!("{} {}", amount(n.value), n.token.unit()),
            ],
            label_at: (x + w + 6.0, middle),
        });
    }
    out
}

/// The outline of a band from a box's right edge to another's left edge: two cubic
/// curves with their control points half way across.
fn ribbon(x0: f64, y0: f64, h0: f64, x1: f64, y1: f64, h1: f64) -> Vec<(f64, f64)> {
    const SAMPLES: usize = 24;
    let curve = |ya: f64, yb: f64| -> Vec<(f64, f64)> {
        (0..=SAMPLES)
            .map(|k| {
                let t = k as f64 / SAMPLES as f64;
                let u = 1.0 - t;
                let xm = (x0 + x1) / 2.0;
                let x =
                    u * u * u * x0 + 3.0 * u * u * t * xm + 3.0 * u * t * t * xm + t * t * t * x1;
                let y =
                    u * u * u * ya + 3.0 * u * u * t * ya + 3.0 * u * t * t * yb + t * t * t * yb;
                (x, y)
            })
            .collect()
    };
    let mut outline = curve(y0, y1);
    let mut bottom = curve(y0 + h0, y1 + h1);
    bottom.reverse();
    outline.extend(bottom);
    outline
}

/// The layout as the page draws it: plain numbers and strings, which the page puts into
/// SVG attributes and text nodes, never into HTML.
pub fn to_json(layout: &Layout) -> Value {
    let round = |v: f64| (v * 10.0).round() / 10.0;
    json!({
        "width": WIDTH,
        "height": HEIGHT,
        "label_size": LABEL_SIZE,
        "headings": layout.headings.iter().map(|(text, (x, y))| json!({
            "text": text, "x": x, "y": y,
        })).collect::<Vec<_>>(),
        "bands": layout.bands.iter().map(|b| json!({
            "points": b.outline.iter().map(|&(x, y)| [round(x), round(y)]).collect::<Vec<_>>(),
            "color": b.color.hex(),
        })).collect::<Vec<_>>(),
        "nodes": layout.nodes.iter().map(|n| json!({
            "rect": n.rect.map(round),
            "color": n.color.hex(),
            "lines": n.lines,
            "label_x": round(n.label_at.0),
            "label_y": round(n.label_at.1),
        })).collect::<Vec<_>>(),
    })
}

/// Draw `flows.png` at `path` under `title`.
pub fn render(path: &Path, title: &str, layout: &Layout) -> Result<()> {
    crate::plot::ensure_font()?;
    let root = BitMapBackend::new(path, (WIDTH as u32, HEIGHT as u32)).into_drawing_area();
    let fail = |e: &dyn std::fmt::Display| anyhow!("drawing the flow diagram: {e}");
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let px = |(x, y): (f64, f64)| (x.round() as i32, y.round() as i32);
    let rgb = |c: Rgb| RGBColor(c.0, c.1, c.2);
    root.draw(&Text::new(
        title.to_owned(),
        (LEFT as i32, 18),
        ("sans-serif", 30).into_font().color(&BLACK),
    ))
    .map_err(|e| fail(&e))?;
    for (text, at) in &layout.headings {
        root.draw(&Text::new(
            text.clone(),
            px(*at),
            ("sans-serif", 22).into_font().color(&BLACK),
        ))
        .map_err(|e| fail(&e))?;
    }
    for band in &layout.bands {
        let points: Vec<(i32, i32)> = band.outline.iter().map(|&p| px(p)).collect();
        root.draw(&Polygon::new(points, rgb(band.color).mix(0.35).filled()))
            .map_err(|e| fail(&e))?;
    }
    let font = ("sans-serif", LABEL_SIZE as u32).into_font();
    for n in &layout.nodes {
        let [x, y, w, h] = n.rect;
        root.draw(&Rectangle::new(
            [px((x, y)), px((x + w, y + h))],
            rgb(n.color).filled(),
        ))
        .map_err(|e| fail(&e))?;
        let (lx, ly) = n.label_at;
        // A pale box behind the label keeps it readable over the bands.
        let chars = n.lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let width = chars as f64 * LABEL_SIZE * 0.58 + 6.0;
        root.draw(&Rectangle::new(
            [
                px((lx - 3.0, ly - LABEL_SIZE - 2.0)),
                px((lx + width, ly + LABEL_SIZE + 3.0)),
            ],
            WHITE.mix(0.75).filled(),
        ))
        .map_err(|e| fail(&e))?;
        root.draw(&Text::new(
            n.lines[0].clone(),
            px((lx, ly - LABEL_SIZE)),
            font.clone().color(&BLACK),
        ))
        .map_err(|e| fail(&e))?;
        root.draw(&Text::new(
            n.lines[1].clone(),
            px((lx, ly + 1.0)),
            font.clone().color(&RGBColor(70, 70, 70)),
        ))
        .map_err(|e| fail(&e))?;
    }
    root.draw(&Text::new(
        "Band widths are totals over the run, on one scale per part. What The Pie pays returns to agents' hands (\"from The Pie\", left).".to_owned(),
        (LEFT as i32, (HEIGHT - 36.0) as i32),
        ("sans-serif", 16).into_font().color(&RGBColor(90, 90, 90)),
    ))
    .map_err(|e| fail(&e))?;
    root.present().map_err(|e| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        anyhow!("cannot write {name}: {e}")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_a_label_should() {
        assert_eq!(amount(1234567.4), "1,234,567");
        assert_eq!(amount(100.0), "100");
        assert_eq!(amount(12.345), "12.35");
        assert_eq!(amount(0.012345), "0.0123");
        assert_eq!(amount(0.5), "0.500");
    }

    #[test]
    fn boxes_are_as_tall_as_their_totals_and_labels_never_overlap() {
        let mut config = datadao_core::Config::default();
        config.simulation.total_steps = 60;
        let mut e = datadao_core::Economy::new(config).unwrap();
        let mut last = None;
        while !e.is_finished() {
            last = Some(e.step(&mut datadao_core::NullObserver).unwrap());
        }
        let d = FlowDiagram::new(
            e.flows(),
            &last.unwrap(),
            &datadao_core::agent_type::TypeNames::seed(),
        );
        let l = layout(&d);
        assert_eq!(l.nodes.len(), d.nodes.len());
        assert_eq!(l.bands.len(), d.links.len());
        // One scale per part: height over value is the same for every box bigger than
        // a pixel.
        for part in [Part::Ddt, Part::Xdai] {
            let ratios: Vec<f64> = d
                .nodes
                .iter()
                .zip(&l.nodes)
                .filter(|(n, s)| n.part == part && s.rect[3] > 1.0)
                .map(|(n, s)| s.rect[3] / n.value)
                .collect();
            let first = ratios[0];
            assert!(
                ratios.iter().all(|r| (r / first - 1.0).abs() < 1e-9),
                "{ratios:?}"
            );
        }
        // Labels of one column never overlap.
        for (i, a) in l.nodes.iter().enumerate() {
            for b in &l.nodes[i + 1..] {
                if a.rect[0] == b.rect[0] {
                    assert!((a.label_at.1 - b.label_at.1).abs() >= LABEL_HEIGHT - 1e-9);
                }
            }
        }
        // Everything inside the figure.
        for n in &l.nodes {
            assert!(
                n.rect[1] >= 0.0 && n.rect[1] + n.rect[3] <= HEIGHT - 40.0,
                "{n:?}"
            );
        }
    }
}
