//! Success criteria: what a designer calls a healthy run (`final_price >= 0.5`), and the
//! share of a point's runs that meet them, with the Wilson 95% interval.
//!
//! A criterion names a column of `sweep_runs.csv` (a KPI, a governance final, a swept
//! setting), a comparison and a threshold. It is given in a scenario or sweep file as
//! `[[criteria]]` (`name`, `metric`, `op`, `threshold`) or on the command line as
//! `--criterion "name: metric >= value"`. A metric that is empty in a run (an event that
//! never happened: organizations never ran out of xDAI) counts as `+infinity`, so
//! `orgs_out_of_xdai_step >= 365` means "not before step 365, or never".
//!
//! The metric is checked against the columns of the sweep it is used in (they depend
//! on the axes, the agent types and governance), by [`check_metrics`].

use serde::{Deserialize, Serialize};

use crate::error::{Result, ScenarioError};
use crate::source::Source;

/// Most criteria a scenario may list: far more than a designer states, and few enough
/// that a table of pass rates stays readable.
pub const MAX_CRITERIA: usize = 64;

/// Longest criterion name (it becomes column names).
pub const MAX_NAME: usize = 40;

/// z of the two-sided 95% normal interval, for [`wilson`].
pub const Z95: f64 = 1.959_963_984_540_054;

/// A comparison of a run's metric with a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// At least.
    #[serde(rename = ">=")]
    Ge,
    /// At most.
    #[serde(rename = "<=")]
    Le,
    /// More than.
    #[serde(rename = ">")]
    Gt,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
}

impl Op {
    /// Every comparison as written, longest first (so `>=` is not read as `>`).
    pub const ALL: [(&'static str, Op); 4] =
        [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)];

    /// The comparison as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }

    fn parse(text: &str) -> Option<Op> {
        Op::ALL
            .iter()
            .find(|(s, _)| *s == text.trim())
            .map(|(_, op)| *op)
    }
}

/// One success criterion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Its name: the column `<name>` of `sweep_runs.csv` and `<name>_pass_rate`, ... of
    /// `sweep_points.csv`.
    pub name: String,
    /// The column of `sweep_runs.csv` it reads.
    pub metric: String,
    /// How the metric compares with the threshold.
    pub op: Op,
    /// The threshold.
    pub threshold: f64,
}

const ACCEPTED_TEXT: &str = "\"NAME: METRIC OP VALUE\" with OP one of >=, <=, >, <, e.g. \"price_floor: final_price >= 0.5\"";
const ACCEPTED_TABLE: &str = "a table with name (text), metric (a column of sweep_runs.csv), op (\">=\", \"<=\", \">\" or \"<\") and threshold (a finite number)";

fn refuse(key: String, value: String, source: &Source, accepted: String) -> ScenarioError {
    ScenarioError::InvalidSetting {
        key,
        value,
        sources: vec![source.clone()],
        item: None,
        related: Vec::new(),
        accepted,
        reason: None,
    }
}

/// Whether `name` may name a criterion: letters, digits and `_`, starting with a letter,
/// at most [`MAX_NAME`] characters, and not `all` (whose pass rate is every criterion's).
fn check_name(name: &str, source: &Source, value: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "all";
    if ok {
        Ok(())
    } else {
        Err(refuse(
            "criteria".into(),
            value.to_string(),
            source,
            format!("a criterion name of letters, digits and _ starting with a letter, at most {MAX_NAME} characters, not 'all' (got '{name}')"),
        ))
    }
}

fn check_metric_text(metric: &str, key: &str, source: &Source) -> Result<()> {
    if metric.is_empty() || metric.len() > 200 || metric.contains(['\n', '\r', ',', '"']) {
        return Err(refuse(
            key.into(),
            metric.to_string(),
            source,
            "the name of a column of sweep_runs.csv, e.g. final_price".into(),
        ));
    }
    Ok(())
}

impl Criterion {
    /// `"name: metric >= value"`, as `--criterion` takes it.
    pub fn parse_text(text: &str, source: &Source) -> Result<Criterion> {
        let bad = || {
            refuse(
                "criteria".into(),
                text.to_string(),
                source,
                ACCEPTED_TEXT.into(),
            )
        };
        let (name, rest) = text.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        check_name(name, source, text)?;
        let (at, symbol) = ["<=", ">=", "<", ">"]
            .iter()
            .filter_map(|s| rest.find(s).map(|i| (i, *s)))
            .min_by_key(|(i, s)| (*i, std::cmp::Reverse(s.len())))
            .ok_or_else(bad)?;
        let metric = rest[..at].trim();
        let value = rest[at + symbol.len()..].trim();
        let key = format!("criteria.{name}");
        check_metric_text(metric, &format!("{key}.metric"), source)?;
        let threshold = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                refuse(
                    format!("{key}.threshold"),
                    value.to_string(),
                    source,
                    "a finite number".into(),
                )
            })?;
        Ok(Criterion {
            name: name.to_string(),
            metric: metric.to_string(),
            op: Op::parse(symbol).expect("one of the four"),
            threshold,
        })
    }

    /// One `[[criteria]]` table (`index` is its place in the list, from 1, for messages).
    pub fn from_table(value: &toml::Value, index: usize, source: &Source) -> Result<Criterion> {
        let key = format!("criteria[{index}]");
        let table = value.as_table().ok_or_else(|| {
            refuse(
                key.clone(),
                value.to_string(),
                source,
                ACCEPTED_TABLE.into(),
            )
        })?;
        for (k, v) in table {
            if !["name", "metric", "op", "threshold"].contains(&k.as_str()) {
                return Err(refuse(
                    format!("{key}.{k}"),
                    v.to_string(),
                    source,
                    ACCEPTED_TABLE.into(),
                ));
            }
        }
        let text = |field: &str| -> Result<String> {
            match table.get(field) {
                Some(toml::Value::String(s)) => Ok(s.trim().to_string()),
                other => Err(refuse(
                    format!("{key}.{field}"),
                    other.map_or("(missing)".into(), |v| v.to_string()),
                    source,
                    ACCEPTED_TABLE.into(),
                )),
            }
        };
        let name = text("name")?;
        check_name(&name, source, &name)?;
        let key = format!("criteria.{name}");
        let metric = text("metric")?;
        check_metric_text(&metric, &format!("{key}.metric"), source)?;
        let op_text = text("op")?;
        let op = Op::parse(&op_text).ok_or_else(|| {
            refuse(
                format!("{key}.op"),
                op_text.clone(),
                source,
                "one of \">=\", \"<=\", \">\", \"<\"".into(),
            )
        })?;
        let threshold = match table.get("threshold") {
            Some(toml::Value::Integer(i)) => Some(*i as f64),
            Some(toml::Value::Float(f)) if f.is_finite() => Some(*f),
            _ => None,
        }
        .ok_or_else(|| {
            refuse(
                format!("{key}.threshold"),
                table
                    .get("threshold")
                    .map_or("(missing)".into(), |v| v.to_string()),
                source,
                "a finite number".into(),
            )
        })?;
        Ok(Criterion {
            name,
            metric,
            op,
            threshold,
        })
    }

    /// Whether a run whose metric is `value` meets the criterion; an empty metric (the
    /// event never happened) counts as `+infinity`.
    pub fn passes(&self, value: Option<f64>) -> bool {
        let v = value.unwrap_or(f64::INFINITY);
        match self.op {
            Op::Ge => v >= self.threshold,
            Op::Le => v <= self.threshold,
            Op::Gt => v > self.threshold,
            Op::Lt => v < self.threshold,
        }
    }

    /// `name: metric >= threshold`, as `--criterion` takes it.
    pub fn spell(&self) -> String {
        format!(
            "{}: {} {} {}",
            self.name,
            self.metric,
            self.op.symbol(),
            self.threshold
        )
    }
}

/// Add `new` to `list`: a criterion of the same name as an earlier one replaces it (a
/// flag refines a file), anything else is appended; at most [`MAX_CRITERIA`].
pub fn add(list: &mut Vec<Criterion>, new: Criterion, source: &Source) -> Result<()> {
    let full = list.len() >= MAX_CRITERIA;
    match list.iter_mut().find(|c| c.name == new.name) {
        Some(old) => *old = new,
        None if full => {
            return Err(refuse(
                "criteria".into(),
                new.spell(),
                source,
                format!("at most {MAX_CRITERIA} criteria"),
            ))
        }
        None => list.push(new),
    }
    Ok(())
}

/// Refuse a criterion whose metric is not one of `columns` (those of `sweep_runs.csv`
/// before the criteria), naming every one that is, or whose name is already a column.
pub fn check_metrics(
    criteria: &[Criterion],
    columns: &[String],
    source_of: &dyn Fn(&Criterion) -> Source,
) -> Result<()> {
    for c in criteria {
        if !columns.contains(&c.metric) {
            return Err(refuse(
                format!("criteria.{}.metric", c.name),
                c.metric.clone(),
                &source_of(c),
                format!("a column of sweep_runs.csv: {}", columns.join(", ")),
            ));
        }
        if columns.contains(&c.name) {
            return Err(refuse(
                format!("criteria.{}", c.name),
                c.name.clone(),
                &source_of(c),
                "a name that is not already a column of sweep_runs.csv".into(),
            ));
        }
    }
    Ok(())
}

/// The share of `n` runs of which `passed` met a criterion (`None` without runs).
pub fn pass_rate(passed: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| passed as f64 / n as f64)
}

/// The Wilson score interval at 95% for `passed` successes in `n` runs: the interval
/// that keeps its coverage near 95% even at pass rates of 0 or 1 and a handful of runs,
/// where the normal approximation collapses to a point. `None` without runs.
pub fn wilson(passed: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = passed as f64 / n_f;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n_f;
    let centre = p + z2 / (2.0 * n_f);
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    let lo = ((centre - half) / denominator).max(0.0);
    let hi = ((centre + half) / denominator).min(1.0);
    // At 0 and at 1 the bound is exactly the rate (the formula gives it up to rounding).
    let lo = if passed == 0 { 0.0 } else { lo };
    let hi = if passed == n { 1.0 } else { hi };
    Some((lo, hi))
}

/// The `sweep_points.csv` columns of the criteria: `<name>_pass_rate`, `<name>_pass_lo`,
/// `<name>_pass_hi` each, then `all_pass_rate`, `all_pass_lo`, `all_pass_hi` (the runs
/// that met every criterion). None without criteria.
pub fn point_columns(names: &[String]) -> Vec<String> {
    if names.is_empty() {
        return Vec::new();
    }
    names
        .iter()
        .map(String::as_str)
        .chain(std::iter::once("all"))
        .flat_map(|n| ["rate", "lo", "hi"].map(|s| format!("{n}_pass_{s}")))
        .collect()
}

/// The criteria of an effective scenario or sweep (`run_config.toml`, `sweep.toml`) as
/// TOML text writes them: their names in order, for the points table of a merge.
pub fn names_in_toml(text: &str) -> Vec<String> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    table
        .get("criteria")
        .and_then(toml::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|c| c.get("name").and_then(toml::Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(text: &str) -> Source {
        Source::Flag(format!("--criterion {text}"))
    }

    fn parse(text: &str) -> Result<Criterion> {
        Criterion::parse_text(text, &flag(text))
    }

    #[test]
    fn text_criteria_read_every_comparison() {
        let c = parse("floor: final_price >= 0.5").unwrap();
        assert_eq!(
            (c.name.as_str(), c.metric.as_str(), c.op, c.threshold),
            ("floor", "final_price", Op::Ge, 0.5)
        );
        assert_eq!(parse("a: x<=1e3").unwrap().op, Op::Le);
        assert_eq!(parse("a: x < -2").unwrap().threshold, -2.0);
        assert_eq!(parse("a: x > 2").unwrap().op, Op::Gt);
        for bad in [
            "final_price >= 0.5",
            "a: final_price = 0.5",
            "a: final_price >= nan",
            "a: final_price >= inf",
            "a: >= 1",
            "all: final_price >= 1",
            "1a: final_price >= 1",
            "a b: final_price >= 1",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("--criterion"), "{bad}: {e}");
        }
    }

    #[test]
    fn tables_are_checked_field_by_field() {
        let source = Source::File("s.toml".into(), "sweep file");
        let ok: toml::Value = toml::from_str::<toml::Table>(
            "name = \"solvent\"\nmetric = \"orgs_out_of_xdai_step\"\nop = \">=\"\nthreshold = 365",
        )
        .unwrap()
        .into();
        let c = Criterion::from_table(&ok, 1, &source).unwrap();
        assert_eq!(c.threshold, 365.0);
        let mut extra = ok.as_table().unwrap().clone();
        extra.insert("weight".into(), toml::Value::Integer(2));
        let e = Criterion::from_table(&extra.into(), 1, &source)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("criteria[1].weight") && e.contains("s.toml"),
            "{e}"
        );
        let mut bad_op = ok.as_table().unwrap().clone();
        bad_op.insert("op".into(), toml::Value::String("==".into()));
        let e = Criterion::from_table(&bad_op.into(), 1, &source)
            .unwrap_err()
            .to_string();
        assert!(e.contains("criteria.solvent.op = '=='"), "{e}");
    }

    #[test]
    fn an_empty_metric_counts_as_infinity() {
        let ge = parse("a: m >= 10").unwrap();
        let lt = parse("a: m < 10").unwrap();
        assert!(ge.passes(None) && !lt.passes(None));
        assert!(ge.passes(Some(10.0)) && !ge.passes(Some(9.99)));
        assert!(lt.passes(Some(9.99)) && !lt.passes(Some(10.0)));
        let gt = parse("a: m > 10").unwrap();
        let le = parse("a: m <= 10").unwrap();
        assert!(!gt.passes(Some(10.0)) && le.passes(Some(10.0)));
    }

    /// Wilson intervals computed by hand:
    /// p = k/n, z = 1.959964, centre = (p + z²/2n) / (1 + z²/n),
    /// half = z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
    #[test]
    fn wilson_intervals_match_hand_computed_values() {
        let close = |a: f64, b: f64| (a - b).abs() < 5e-6;
        // 8 of 10: centre 0.71707, half 0.22733 -> [0.49016, 0.94332].
        let (lo, hi) = wilson(8, 10).unwrap();
        assert!(close(lo, 0.490_162) && close(hi, 0.943_318), "{lo} {hi}");
        // 0 of 10: [0, z²/(n+z²)] = [0, 3.84146/13.84146] = [0, 0.277533].
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(lo == 0.0 && close(hi, 0.277_533), "{hi}");
        // 10 of 10: [n/(n+z²), 1] = [0.722467, 1].
        let (lo, hi) = wilson(10, 10).unwrap();
        assert!(close(lo, 0.722_467) && hi == 1.0, "{lo}");
        // 1 of 2: centre 0.5, half = z sqrt(0.125 + 0.960365)/(1+1.920729) = 0.5*0.98606...
        let (lo, hi) = wilson(1, 2).unwrap();
        assert!(close(lo, 0.094_531) && close(hi, 0.905_469), "{lo} {hi}");
        // 50 of 100: [0.403832, 0.596168].
        let (lo, hi) = wilson(50, 100).unwrap();
        assert!(close(lo, 0.403_832) && close(hi, 0.596_168), "{lo} {hi}");
        assert_eq!(wilson(0, 0), None);
        assert_eq!(pass_rate(3, 4), Some(0.75));
    }

    #[test]
    fn columns_and_names() {
        assert!(point_columns(&[]).is_empty());
        assert_eq!(
            point_columns(&["floor".into()]),
            [
                "floor_pass_rate",
                "floor_pass_lo",
                "floor_pass_hi",
                "all_pass_rate",
                "all_pass_lo",
                "all_pass_hi"
            ]
        );
        let text = "[[criteria]]\nname = \"a\"\nmetric = \"m\"\nop = \">\"\nthreshold = 1.0\n[[criteria]]\nname = \"b\"\nmetric = \"m\"\nop = \"<\"\nthreshold = 2.0\n";
        assert_eq!(names_in_toml(text), ["a", "b"]);
        let mut list = Vec::new();
        let s = flag("x");
        add(&mut list, parse("a: m > 1").unwrap(), &s).unwrap();
        add(&mut list, parse("b: m > 1").unwrap(), &s).unwrap();
        add(&mut list, parse("a: m > 5").unwrap(), &s).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].threshold, 5.0);
        let e = check_metrics(&list, &["m2".into()], &|_| s.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("criteria.a.metric = 'm'") && e.contains("m2"),
            "{e}"
        );
    }
}
