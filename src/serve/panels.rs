//! The dashboard's chart panels as data: what each panel is titled and which series of
//! `/api/run`'s answer it draws, served in `/api/schema` so the page names no series
//! itself (a new agent type or series reaches the page without editing its script).

use datadao_core::AgentType;
use serde_json::{json, Value};

/// A governed run's note in place of a governance panel.
const GOVERNANCE_OFF: &str =
    "governance is off: set Governance › members govern to true, or choose the governed preset";

/// One line of a panel: its legend label, where its values sit in a run's `series`
/// (object keys from the top), and a factor it is drawn at.
struct PageLine {
    label: String,
    path: Vec<&'static str>,
    scale: f64,
    /// The one palette's colour of an agent type's line (`None`: the page hands one out).
    color: Option<String>,
    /// Drawn dashed, so a line that coincides with another stays visible.
    dashed: bool,
}

fn line(label: &str, path: &[&'static str]) -> PageLine {
    PageLine {
        label: label.to_string(),
        path: path.to_vec(),
        scale: 1.0,
        color: None,
        dashed: false,
    }
}

/// One panel of the page.
struct PagePanel {
    id: &'static str,
    title: &'static str,
    /// Drawn on a log axis at first.
    log: bool,
    /// The series of `/api/band` (a `sweep::SERIES` name) that bands this panel.
    band: Option<&'static str>,
    /// Shown instead of an empty chart once a run has no lines for it.
    empty: Option<&'static str>,
    lines: Vec<PageLine>,
    /// Every entry of this object of `series` is a line, labelled by its key (the run's
    /// use cases, which the run names).
    each_of: Option<&'static str>,
}

impl PagePanel {
    fn new(id: &'static str, title: &'static str, lines: Vec<PageLine>) -> PagePanel {
        PagePanel {
            id,
            title,
            log: false,
            band: None,
            empty: None,
            lines,
            each_of: None,
        }
    }
}

fn per_type(group: &'static str) -> Vec<PageLine> {
    AgentType::SEED
        .into_iter()
        .zip(AgentType::SEED_NAMES)
        .map(|(t, name)| PageLine {
            color: Some(datadao_scenario::palette::type_color(t).hex()),
            ..line(name, &[group, name])
        })
        .collect()
}

fn panels() -> Vec<PagePanel> {
    let single = |id, title, series: &'static str, label: &str| PagePanel {
        band: Some(series),
        ..PagePanel::new(id, title, vec![line(label, &[series])])
    };
    let governance = |label: &str, key: &'static str| line(label, &["governance", key]);
    let fee = PageLine {
        scale: 100.0,
        ..governance("fee rate x100", "fee_rate")
    };
    vec![
        PagePanel {
            log: true,
            ..single("price", crate::plot::titles::PRICE, "price", "price")
        },
        single(
            "ddt",
            crate::plot::titles::POOL_DDT,
            "lp_ddt_reserve",
            "dDT in pool",
        ),
        single(
            "xdai",
            crate::plot::titles::POOL_XDAI,
            "lp_xdai_reserve",
            "xDAI in pool",
        ),
        single("pie", crate::plot::titles::PIE, "pie_ddt", "Pie"),
        PagePanel {
            each_of: Some("agents_own_types"),
            ..PagePanel::new("agents", crate::plot::titles::AGENTS, per_type("agents"))
        },
        PagePanel {
            log: true,
            each_of: Some("avg_xdai_own_types"),
            ..PagePanel::new("avg", crate::plot::titles::AVG_XDAI, per_type("avg_xdai"))
        },
        PagePanel::new(
            "supply",
            crate::plot::titles::SUPPLY,
            vec![
                line("dDT supply", &["ddt_supply"]),
                PageLine {
                    dashed: true,
                    ..line("CRC locked", &["crc_locked"])
                },
            ],
        ),
        PagePanel {
            each_of: Some("allowed_share"),
            ..PagePanel::new("allowed", crate::plot::titles::ALLOWED, Vec::new())
        },
        PagePanel {
            empty: Some(GOVERNANCE_OFF),
            ..PagePanel::new(
                "treasury",
                "Treasury (governed runs)",
                vec![
                    governance("treasury dDT", "treasury_ddt"),
                    governance("treasury xDAI", "treasury_xdai"),
                    governance("dDT burned", "ddt_burned"),
                ],
            )
        },
        // A count, on an axis of its own rather than among the treasury's amounts.
        PagePanel {
            empty: Some(GOVERNANCE_OFF),
            ..PagePanel::new(
                "proposals",
                "Proposals passed (governed runs)",
                vec![governance("proposals passed", "proposals_passed")],
            )
        },
        PagePanel {
            empty: Some(GOVERNANCE_OFF),
            ..PagePanel::new(
                "governed",
                "Governed settings (fee x100)",
                vec![
                    fee,
                    governance("distribution rate", "distribution_rate"),
                    governance("share power", "share_power"),
                    governance("share active", "share_active"),
                    governance("share casual", "share_casual"),
                    governance("mint per weight", "mint_per_weight"),
                    governance("backing ratio", "backing_ratio"),
                ],
            )
        },
    ]
}

/// The panels as `/api/schema` gives them.
pub fn schema() -> Value {
    Value::Array(
        panels()
            .into_iter()
            .map(|p| {
                let lines: Vec<Value> = p
                    .lines
                    .iter()
                    .map(|l| json!({"label": l.label, "path": l.path, "scale": l.scale, "color": l.color, "dashed": l.dashed}))
                    .collect();
                json!({
                    "id": p.id,
                    "title": p.title,
                    "log": p.log,
                    "band": p.band,
                    "empty": p.empty,
                    "lines": lines,
                    "each_of": p.each_of,
                })
            })
            .collect(),
    )
}
