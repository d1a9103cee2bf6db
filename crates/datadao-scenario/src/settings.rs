//! Where every setting comes from: built-in defaults < TOML scenario file < `.env` in the
//! working directory < environment variables < flags.
//!
//! All layers are reduced to one flat map of dotted keys (`market.fee_rate`) whose shape
//! and types come from the defaults themselves, so a new field in the core's `Config`
//! is configurable everywhere at once. Each value remembers its source, so an error can
//! say "FEE_RATE from the environment" rather than just "fee_rate".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datadao_core::Config;
use serde::{Deserialize, Serialize};

use crate::error::{FileProblem, Related, Result, ScenarioError};

/// Settings of the command-line front end that are not part of the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSettings {
    /// Folder the outputs are written to.
    pub dir: PathBuf,
    /// Write `transaction_history.csv`.
    pub transactions: bool,
    /// Write `simulation_results.png`.
    pub plot: bool,
    /// Write the transaction log past the page cache (`O_DIRECT`) where the system
    /// allows: on virtual machines that copy costs more than the whole simulation. Turn
    /// it off on a spinning disk, where the page cache hides the disk's slowness.
    pub direct_io: bool,
    /// Start work even when it is estimated not to fit in memory or on disk (the
    /// estimates are refusals by default, made before any work starts).
    pub allow_huge: bool,
    /// Write `agents.csv`, one row per agent at the end of the run. Recorded in
    /// `run_config.toml` only when turned off, so earlier records stay as they were.
    #[serde(skip_serializing_if = "is_true")]
    pub agents: bool,
    /// Add each type's spread of wealth (Gini, 10th/50th/90th percentiles) to
    /// `simulation_data.csv`. Recorded only when on, so earlier records stay as they were.
    #[serde(skip_serializing_if = "is_false")]
    pub distribution: bool,
}

fn is_true(v: &bool) -> bool {
    *v
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl Default for OutputSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("."),
            transactions: true,
            plot: true,
            direct_io: true,
            allow_huge: false,
            agents: true,
            distribution: false,
        }
    }
}

/// Everything a run needs: the model's scenario and where its outputs go.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Settings {
    /// The scenario handed to the core.
    pub model: Config,
    /// Output options.
    pub output: OutputSettings,
    /// Success criteria (`[[criteria]]`, `--criterion`), in the order given: what a
    /// sweep's pass rates and an optimiser's objective read. Not the model's.
    pub criteria: Vec<crate::criteria::Criterion>,
}

/// Environment variables with names of their own (the seed's names and a few more).
/// Any other key can be set as `DATADAO_` + the key in capitals with `__` for dots.
pub const NAMED_VARIABLES: &[(&str, &str, &str)] = &[
    (
        "TOTAL_STEPS",
        "simulation.total_steps",
        "steps (days) to simulate",
    ),
    (
        "ENTRY_STEPS",
        "simulation.entry_steps",
        "agents join every this many steps",
    ),
    (
        "AGENTS_PER_ENTRY",
        "simulation.agents_per_entry",
        "agents joining at each entry step",
    ),
    (
        "INITIAL_AGENTS",
        "simulation.initial_agents",
        "agents joining before step 0",
    ),
    (
        "SEED",
        "simulation.seed",
        "seed of the run's ChaCha8 generator",
    ),
    (
        "ACTIVATION",
        "simulation.activation",
        "agent order in a step: sequential or shuffled",
    ),
    (
        "AUDIT",
        "simulation.audit",
        "check the token ledger after every step",
    ),
    (
        "FEE_RATE",
        "market.fee_rate",
        "swap fee kept in the pool, in [0, 1)",
    ),
    (
        "PIE_DISTRIBUTION_RATE",
        "pie.distribution_rate",
        "share of the Pie paid out each step, in [0, 1]",
    ),
    ("OUTPUT_DIR", "output.dir", "folder for the outputs"),
    (
        "WRITE_TRANSACTIONS",
        "output.transactions",
        "write transaction_history.csv",
    ),
    ("WRITE_PLOT", "output.plot", "write simulation_results.png"),
];

/// Prefix of the generic environment variables.
pub const GENERIC_PREFIX: &str = "DATADAO_";

/// Variables with the [`GENERIC_PREFIX`] that are switches of the test suite and tools,
/// never settings: a scenario cannot be changed by them, and they are not refused as
/// unknown settings (so `.ci/run` can export them around every command). Each with what
/// it switches.
pub const SWITCHES: &[(&str, &str)] = &[
    (
        "DATADAO_REQUIRE_BROWSER",
        "=1: the browser tests fail, instead of skipping, when headless Chromium is missing",
    ),
    (
        "DATADAO_REQUIRE_CONTRACTS",
        "=1: the contract proofs fail, instead of skipping, when scripts/fetch-contracts has not run",
    ),
    (
        "DATADAO_CONTRACTS_DIR",
        "the cache folder of scripts/fetch-contracts (default ~/.cache/datadao/contracts)",
    ),
];

pub use crate::source::{Source, TextSource};

/// A preset asked for by name, and where: `--preset` (no source), the Python `preset=`
/// argument, the dashboard's request.
#[derive(Clone, Debug, PartialEq)]
pub struct PresetChoice {
    /// The name as given.
    pub name: String,
    /// Where it was given, for messages; `None` for `--preset`.
    pub source: Option<Source>,
}

impl PresetChoice {
    /// A preset given with `--preset`.
    pub fn flag(name: &str) -> PresetChoice {
        PresetChoice {
            name: name.to_string(),
            source: None,
        }
    }

    /// A preset given elsewhere (a library argument, a request).
    pub fn from(name: &str, source: Source) -> PresetChoice {
        PresetChoice {
            name: name.to_string(),
            source: Some(source),
        }
    }

    /// The preset, or a refusal naming where the name came from.
    pub fn find(&self) -> Result<&'static crate::presets::Preset> {
        crate::presets::find(&self.name).map_err(|e| match e {
            ScenarioError::UnknownPreset { name, known, .. } => ScenarioError::UnknownPreset {
                name,
                source: self.source.clone(),
                known,
            },
            other => other,
        })
    }
}

/// What the user asked for, gathered by the CLI before any layering.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The preset the scenario starts from, by name; [`resolve`] looks it up.
    pub preset: Option<PresetChoice>,
    /// `--config FILE`, or a scenario file of `compare`.
    pub config_file: Option<ConfigFile>,
    /// Scenario TOML already read (a sweep file's settings, an uploaded file).
    pub config_text: Option<ConfigText>,
    /// The `.env` file to read, if it exists.
    pub dotenv: Option<PathBuf>,
    /// A snapshot of the process environment.
    pub env: Vec<(String, String)>,
    /// Typed values from a library call (the Python package's `settings`, a sweep
    /// file's grid), applied after the environment and before `flags`.
    pub typed: Vec<Given<toml::Value>>,
    /// Overrides from the command line (or a sweep's `--grid`), in order, as typed.
    pub flags: Vec<Given<String>>,
    /// Success criteria given outside a file, after the files' own: `--criterion` text
    /// (`"name: metric >= value"`, a TOML string) or a library's table (`name`, `metric`,
    /// `op`, `threshold`). The `key` is unused (`criteria`).
    pub criteria: Vec<Given<toml::Value>>,
}

/// A scenario file to read, and what it is to the user ("config file" for `--config`,
/// "scenario file" for `compare`'s arguments).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigFile {
    /// Its path.
    pub path: PathBuf,
    /// What it is, for messages.
    pub kind: &'static str,
}

/// Scenario TOML already read, and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigText {
    /// Where it came from.
    pub origin: TextSource,
    /// The TOML.
    pub text: String,
}

/// One setting given a value: typed (`Given<toml::Value>`) or as text to be read as
/// `--set` reads it (`Given<String>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Given<V> {
    /// The dotted key.
    pub key: String,
    /// The value.
    pub value: V,
    /// Where it was given.
    pub source: Source,
}

impl<V> Given<V> {
    /// `key` given `value` at `source`.
    pub fn new(key: impl Into<String>, value: impl Into<V>, source: Source) -> Given<V> {
        Given {
            key: key.into(),
            value: value.into(),
            source,
        }
    }
}

/// The effective settings and where each non-default came from.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The settings.
    pub settings: Settings,
    /// Source of every key that is not at its default.
    pub sources: BTreeMap<String, Source>,
    /// Every non-default value as the user typed it (before parsing), for messages.
    pub raw: BTreeMap<String, String>,
    /// The preset the scenario starts from, if any (`--preset`, or `preset = "..."` in a
    /// config file).
    pub preset: Option<String>,
    /// Where each criterion (by name) was given.
    pub criteria_sources: BTreeMap<String, Source>,
}

impl Resolved {
    /// Where the criterion named `name` was given (the built-in default if it was not).
    pub fn criterion_source(&self, name: &str) -> Source {
        self.criteria_sources
            .get(name)
            .cloned()
            .unwrap_or(Source::Default)
    }

    /// `key (from SOURCE)`, for messages about a setting.
    pub fn describe(&self, key: &str) -> String {
        format!("{key} (from {})", sources_of(key, &self.sources))
    }
}

/// The flat form: dotted key -> value.
type Flat = BTreeMap<String, toml::Value>;

fn defaults_table() -> toml::Table {
    let mut table = toml::Table::try_from(Config::default()).expect("defaults serialize");
    // A type's rules and the Pie's subsidy are absent from a record until set, but
    // they are settings all the same.
    table
        .entry("events")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    if let Some(pie) = table.get_mut("pie").and_then(toml::Value::as_table_mut) {
        pie.entry("subsidy_per_step")
            .or_insert(toml::Value::Float(0.0));
    }
    if let Some(agents) = table.get_mut("agents").and_then(toml::Value::as_table_mut) {
        for name in datadao_core::AgentType::SEED_NAMES {
            if let Some(t) = agents.get_mut(name).and_then(toml::Value::as_table_mut) {
                t.entry("rules")
                    .or_insert_with(|| toml::Value::Array(Vec::new()));
            }
        }
    }
    let mut output = toml::Table::try_from(OutputSettings::default()).expect("defaults serialize");
    // Left out of records at its default, but a setting all the same.
    output.insert("agents".into(), toml::Value::Boolean(true));
    output.insert("distribution".into(), toml::Value::Boolean(false));
    table.insert("output".into(), toml::Value::Table(output));
    table
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Flat) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            other => {
                out.insert(key, other.clone());
            }
        }
    }
}

fn unflatten(flat: &Flat) -> toml::Table {
    let mut root = toml::Table::new();
    for (key, value) in flat {
        let mut node = &mut root;
        let mut parts = key.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                node.insert(part.to_string(), value.clone());
            } else {
                node = node
                    .entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .expect("keys come from the defaults, so prefixes are tables");
            }
        }
    }
    root
}

/// Every setting of `settings` as dotted key -> value (what `datadao config` prints, as
/// a flat map).
pub fn flat(settings: &Settings) -> BTreeMap<String, toml::Value> {
    let mut table = toml::Table::try_from(&settings.model).expect("settings serialize");
    table.insert(
        "output".into(),
        toml::Value::try_from(&settings.output).expect("settings serialize"),
    );
    let mut out = Flat::new();
    flatten("", &table, &mut out);
    out
}

/// Every known dotted key with its default value.
pub fn known_keys() -> Flat {
    let mut flat = Flat::new();
    flatten("", &defaults_table(), &mut flat);
    flat
}

/// The known key closest to `unknown`, if any is close enough to be a likely typo.
pub fn closest_key<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a String>,
) -> Option<String> {
    let lower = unknown.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| {
            let whole = strsim::jaro_winkler(&lower, k);
            let last = strsim::jaro_winkler(
                lower.rsplit('.').next().unwrap_or(&lower),
                k.rsplit('.').next().unwrap_or(k),
            );
            (whole.max(last * 0.95), k)
        })
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

fn unknown_key_error(key: &str, source: &Source, known: &Flat) -> ScenarioError {
    ScenarioError::UnknownKey {
        key: key.to_string(),
        source: source.clone(),
        suggestion: closest_key(key, known.keys()),
    }
}

/// A value `key` cannot take, from one source.
fn invalid(
    key: &str,
    value: impl Into<String>,
    source: &Source,
    accepted: String,
) -> ScenarioError {
    ScenarioError::InvalidSetting {
        key: key.to_string(),
        value: value.into(),
        sources: vec![source.clone()],
        item: None,
        related: Vec::new(),
        accepted,
        reason: None,
    }
}

fn describe(template: &toml::Value) -> &'static str {
    match template {
        toml::Value::Integer(_) => "a whole number of at least 0",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::String(_) => "text",
        toml::Value::Array(_) => "a list",
        _ => "a value of the default's type",
    }
}

/// What `key` accepts, in words. The model's validation is the one place that knows
/// each range, so it is asked: the defaults with an impossible value (NaN, or 0 for a
/// count) in `key` are validated, and if that trips `key`'s own rule its words are used;
/// otherwise the type's.
fn accepted_for(key: &str, template: &toml::Value) -> String {
    let probe = match template {
        toml::Value::Float(_) => toml::Value::Float(f64::NAN),
        toml::Value::Integer(_) => toml::Value::Integer(0),
        _ => return describe(template).to_string(),
    };
    rule_tripped_by(key, probe).unwrap_or_else(|| describe(template).to_string())
}

/// The words of `key`'s own rule if the defaults with `probe` in `key` break it.
fn rule_tripped_by(key: &str, probe: toml::Value) -> Option<String> {
    let mut flat = known_keys();
    flat.insert(key.to_string(), probe);
    let mut table = unflatten(&flat);
    table.remove("output");
    let config = Config::deserialize(toml::Value::Table(table)).ok()?;
    match config.validate() {
        Err(e) if e.key == key => Some(e.accepted),
        _ => None,
    }
}

/// Read a raw string (environment, `.env`, `--set`) as the type of the key's default.
fn parse_raw(template: &toml::Value, raw: &str) -> Option<toml::Value> {
    let t = raw.trim();
    match template {
        toml::Value::Integer(_) => t.parse::<i64>().ok().map(toml::Value::Integer),
        toml::Value::Float(_) => t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(toml::Value::Float),
        toml::Value::Boolean(_) => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Some(toml::Value::Boolean(false)),
            _ => None,
        },
        toml::Value::String(_) => Some(toml::Value::String(t.to_string())),
        toml::Value::Array(items) => {
            let elem = items
                .first()
                .cloned()
                .unwrap_or(toml::Value::String(String::new()));
            t.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| parse_raw(&elem, s))
                .collect::<Option<Vec<_>>>()
                .map(toml::Value::Array)
        }
        _ => None,
    }
}

/// Check a typed value (from TOML) against the key's default type; integers are
/// accepted where a number is expected.
fn coerce(template: &toml::Value, value: toml::Value) -> Option<toml::Value> {
    match (template, value) {
        (toml::Value::Float(_), toml::Value::Integer(i)) => Some(toml::Value::Float(i as f64)),
        (toml::Value::Float(_), v @ toml::Value::Float(_)) => Some(v),
        (toml::Value::Integer(_), v @ toml::Value::Integer(_)) => Some(v),
        (toml::Value::Boolean(_), v @ toml::Value::Boolean(_)) => Some(v),
        (toml::Value::String(_), v @ toml::Value::String(_)) => Some(v),
        (toml::Value::Array(_), v @ toml::Value::Array(_)) => Some(v),
        _ => None,
    }
}

fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Deserialize the whole tree; on failure, find the one overridden key that breaks it so
/// the message can name it (serde's own error does not carry the path).
fn build(
    flat: &Flat,
    sources: &BTreeMap<String, Source>,
    raw: &BTreeMap<String, String>,
) -> Result<Settings> {
    let mut table = unflatten(flat);
    let output = table
        .remove("output")
        .unwrap_or(toml::Value::Table(toml::Table::new()));
    let model = Config::deserialize(toml::Value::Table(table.clone()));
    let output_settings = OutputSettings::deserialize(output);
    match (model, output_settings) {
        (Ok(model), Ok(output)) => Ok(Settings {
            model,
            output,
            criteria: Vec::new(),
        }),
        (model, output) => {
            let defaults = known_keys();
            for (key, source) in sources {
                let mut probe = defaults.clone();
                probe.insert(key.clone(), flat[key].clone());
                let mut t = unflatten(&probe);
                let o = t.remove("output").expect("output table");
                let bad = if key.starts_with("output.") {
                    OutputSettings::deserialize(o).err().map(|e| e.to_string())
                } else {
                    Config::deserialize(toml::Value::Table(t))
                        .err()
                        .map(|e| e.to_string())
                };
                if let Some(message) = bad {
                    let accepted = message.lines().next().unwrap_or("").to_string();
                    let typed = raw.get(key).cloned().unwrap_or_else(|| show(&flat[key]));
                    return Err(ScenarioError::InvalidSetting {
                        key: key.clone(),
                        value: typed,
                        sources: vec![source.clone()],
                        item: None,
                        related: Vec::new(),
                        accepted: accepted.clone(),
                        reason: Some(accepted),
                    });
                }
            }
            let e = model
                .err()
                .map(|e| e.to_string())
                .or(output.err().map(|e| e.to_string()));
            Err(ScenarioError::Unusable {
                message: format!("invalid settings: {}", e.unwrap_or_default()),
            })
        }
    }
}

/// The type a key of a scenario's own type names (`agents.<name>.<setting>`): not a
/// seed type's, nor one edit from one (`degn` is a typo, left unknown so the error
/// suggests the key meant), and a name of letters, digits, `_` and `-` (anything else,
/// `agents."../x"`, is no type; the core refuses the rest of a bad name with its rule).
fn own_type_of(key: &str) -> Option<&str> {
    let mut parts = key.splitn(3, '.');
    let (Some("agents"), Some(name), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let seed = datadao_core::AgentType::SEED_NAMES;
    let shaped = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let typo = seed
        .iter()
        .any(|s| strsim::damerau_levenshtein(s, name) <= 1);
    (shaped && !typo).then_some(name)
}

/// The key an environment variable sets, if it is one of ours.
fn key_for_variable(var: &str, source: &Source, known: &Flat) -> Option<Result<String>> {
    if let Some((_, key, _)) = NAMED_VARIABLES.iter().find(|(v, _, _)| *v == var) {
        return Some(Ok(key.to_string()));
    }
    let rest = var.strip_prefix(GENERIC_PREFIX)?;
    if SWITCHES.iter().any(|(switch, _)| *switch == var) {
        return None;
    }
    let key = rest.to_ascii_lowercase().replace("__", ".");
    // A scenario's own type's key is declared when it is set.
    if known.contains_key(&key) || own_type_of(&key).is_some() {
        Some(Ok(key))
    } else {
        Some(Err(unknown_key_error(&key, source, known)))
    }
}

/// Check that `raw` is a usable value for `key` (the type of its default, sign rules),
/// as a `--set` would; `source` names it in the error.
pub fn check_raw(key: &str, raw: &str, source: &Source) -> Result<()> {
    parse_text(key, raw, source).map(drop)
}

/// The value `raw` gives `key` when read as `--set` reads text (the type of its
/// default, sign rules): one value, never split into several (though a list setting's
/// text is a comma-separated list); `source` names it in the error.
pub fn parse_text(key: &str, raw: &str, source: &Source) -> Result<toml::Value> {
    let known = known_keys();
    let Some(template) = known.get(key) else {
        return Err(unknown_key_error(key, source, &known));
    };
    let value = parse_or_refuse(key, template, raw, source)?;
    check_sign(key, &value, template, source)?;
    Ok(value)
}

/// [`parse_raw`], or the error that names the key, the text as typed, its source and
/// what the key accepts. A count too large for TOML's integers (a 64-bit signed
/// number) says so: "at least 1" alone would not tell why `99999999999999999999` failed.
fn parse_or_refuse(
    key: &str,
    template: &toml::Value,
    raw: &str,
    source: &Source,
) -> Result<toml::Value> {
    if let Some(value) = parse_raw(template, raw) {
        return Ok(value);
    }
    let digits = raw.trim().trim_start_matches('+');
    let too_large = matches!(template, toml::Value::Integer(_))
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit());
    let accepted = if too_large {
        // The model's own upper bound where it has one (steps fit in 32 bits), else
        // the integers' own.
        rule_tripped_by(key, toml::Value::Integer(i64::MAX))
            .unwrap_or_else(|| format!("{}, at most {}", accepted_for(key, template), i64::MAX))
    } else {
        accepted_for(key, template)
    };
    Err(invalid(key, raw, source, accepted))
}

/// Whether `key` holds a number (so ranges like `5..50:5` make sense for it).
pub fn is_numeric(key: &str) -> bool {
    matches!(
        known_keys().get(key),
        Some(toml::Value::Integer(_) | toml::Value::Float(_))
    )
}

/// The layers as they are applied: values, where each came from, and how it was typed.
struct Layers {
    known: Flat,
    flat: Flat,
    sources: BTreeMap<String, Source>,
    raw: BTreeMap<String, String>,
    /// Keys the layer being applied has set so far.
    layer: Vec<String>,
}

/// The groups of shares that must sum to 1 (every `agents.<type>.share`, every
/// `pie.shares.<group>`), each in key order: a layer that sets some of a group
/// rebalances the rest.
pub fn share_groups() -> [Vec<String>; 2] {
    share_groups_of(&known_keys())
}

fn share_groups_of(known: &Flat) -> [Vec<String>; 2] {
    let agents = known
        .keys()
        .filter(|k| {
            k.starts_with("agents.") && k.ends_with(".share") && k.matches('.').count() == 2
        })
        .cloned()
        .collect();
    let pie = known
        .keys()
        .filter(|k| k.starts_with("pie.shares."))
        .cloned()
        .collect();
    [agents, pie]
}

fn as_number(v: Option<&toml::Value>) -> f64 {
    match v {
        Some(toml::Value::Float(f)) => *f,
        Some(toml::Value::Integer(i)) => *i as f64,
        _ => 0.0,
    }
}

impl Layers {
    /// Finish a layer (a preset, a file, `.env`, the environment, a library call's
    /// values, the flags): a group of shares it set only partly makes room, the shares it
    /// left alone taking what the set ones leave in proportion to their sizes (the rule
    /// of governance's `set`, `datadao_core::shares::make_room`). A group already summing
    /// to 1 is left as it is; one whose set shares leave less than nothing is refused. A
    /// layer that sets a whole group is checked with the whole scenario, as before.
    fn end_layer(&mut self) -> Result<()> {
        let layer = std::mem::take(&mut self.layer);
        for group in share_groups_of(&self.known) {
            let set: Vec<&String> = group.iter().filter(|k| layer.contains(k)).collect();
            if set.is_empty() || set.len() == group.len() {
                continue;
            }
            let others: Vec<&String> = group.iter().filter(|k| !layer.contains(k)).collect();
            let set_sum: f64 = set.iter().map(|k| as_number(self.flat.get(*k))).sum();
            let old: Vec<f64> = others
                .iter()
                .map(|k| as_number(self.flat.get(*k)))
                .collect();
            let total = set_sum + old.iter().sum::<f64>();
            if (total - 1.0).abs() <= datadao_core::shares::SUM_TOLERANCE {
                continue;
            }
            let room = 1.0 - set_sum;
            let first = set[0];
            let by = self.sources.get(first).cloned().unwrap_or(Source::Default);
            if room < -datadao_core::shares::SUM_TOLERANCE {
                let related = set[1..]
                    .iter()
                    .map(|k| Related {
                        key: (*k).clone(),
                        value: self.raw.get(*k).cloned().unwrap_or_default(),
                        source: self.sources.get(*k).cloned().unwrap_or(Source::Default),
                    })
                    .collect();
                return Err(ScenarioError::InvalidSetting {
                    key: first.clone(),
                    value: self.raw.get(first).cloned().unwrap_or_default(),
                    sources: vec![by],
                    item: None,
                    related,
                    accepted: format!(
                        "shares that leave room for the others of their group (the shares set together sum to {set_sum}, more than 1)"
                    ),
                    reason: None,
                });
            }
            let new = datadao_core::shares::make_room(&old, room);
            for (key, value) in others.into_iter().zip(new) {
                self.flat.insert(key.clone(), toml::Value::Float(value));
                self.raw.insert(key.clone(), value.to_string());
                self.sources
                    .insert(key.clone(), Source::Rebalanced(Box::new(by.clone())));
            }
        }
        Ok(())
    }

    /// A key of a type the scenario declares (`agents.<name>.<setting>`, the name not one
    /// of the seed's): the first such key makes every setting of that type known, at its
    /// default, and gives it a Pie group (`pie.shares.<name>`, 0 until set).
    fn declare_type(&mut self, key: &str) {
        let Some(name) = own_type_of(key) else {
            return;
        };
        if self.known.contains_key(&format!("agents.{name}.share")) {
            return;
        }
        let template = toml::Table::try_from(datadao_core::agents::CustomTypeConfig::default())
            .expect("defaults serialize");
        let mut keys = Flat::new();
        flatten(&format!("agents.{name}"), &template, &mut keys);
        keys.insert(format!("pie.shares.{name}"), toml::Value::Float(0.0));
        for (k, v) in keys {
            self.flat.entry(k.clone()).or_insert_with(|| v.clone());
            self.known.insert(k, v);
        }
    }

    /// Apply one raw (string) value.
    fn set_raw(&mut self, key: &str, raw: &str, source: Source) -> Result<()> {
        self.declare_type(key);
        let Some(template) = self.known.get(key) else {
            return Err(unknown_key_error(key, &source, &self.known));
        };
        let value = parse_or_refuse(key, template, raw, &source)?;
        check_sign(key, &value, template, &source)?;
        self.flat.insert(key.to_string(), value);
        self.sources.insert(key.to_string(), source);
        self.raw.insert(key.to_string(), raw.to_string());
        self.layer.push(key.to_string());
        Ok(())
    }

    /// Merge a TOML document's keys.
    fn merge_toml(&mut self, table: toml::Table, source: Source) -> Result<()> {
        let mut given = Flat::new();
        flatten("", &table, &mut given);
        for (key, value) in given {
            self.set_typed(key, value, source.clone())?;
        }
        self.end_layer()
    }

    /// Apply one typed value (from TOML or a library call); integers are accepted where
    /// a number is expected.
    fn set_typed(&mut self, key: String, value: toml::Value, source: Source) -> Result<()> {
        self.declare_type(&key);
        let Some(template) = self.known.get(&key) else {
            return Err(unknown_key_error(&key, &source, &self.known));
        };
        let shown = show(&value);
        let Some(value) = coerce(template, value) else {
            return Err(invalid(&key, shown, &source, accepted_for(&key, template)));
        };
        check_sign(&key, &value, template, &source)?;
        self.flat.insert(key.clone(), value);
        self.raw.insert(key.clone(), shown);
        self.layer.push(key.clone());
        self.sources.insert(key, source);
        Ok(())
    }
}

/// Parse a TOML document, naming its source on failure.
fn parse_toml(text: &str, source: &Source) -> Result<toml::Table> {
    toml::from_str(text).map_err(|e| ScenarioError::Parse {
        what: source.to_string(),
        message: e.to_string(),
    })
}

/// Take `preset = "NAME"` out of a scenario file: the preset the file builds on.
fn take_preset(
    table: &mut toml::Table,
    source: &Source,
) -> Result<Option<&'static crate::presets::Preset>> {
    match table.remove("preset") {
        None => Ok(None),
        Some(toml::Value::String(name)) => {
            PresetChoice::from(&name, source.clone()).find().map(Some)
        }
        Some(other) => Err(invalid(
            "preset",
            other.to_string(),
            source,
            "the name of a preset as text, e.g. preset = \"privacy\"".to_string(),
        )),
    }
}

/// Counts are unsigned in the model; a negative count is caught here, where the message
/// can still name its source.
fn check_sign(
    key: &str,
    value: &toml::Value,
    template: &toml::Value,
    source: &Source,
) -> Result<()> {
    if let (toml::Value::Integer(_), toml::Value::Integer(i)) = (template, value) {
        if *i < 0 {
            return Err(invalid(
                key,
                i.to_string(),
                source,
                accepted_for(key, template),
            ));
        }
    }
    Ok(())
}

/// Layer every input over the defaults and validate the result.
pub fn resolve(inputs: &Inputs) -> Result<Resolved> {
    // The given preset's name is checked before any file is read, as `--preset` is the
    // first thing on the command line.
    let given_preset = match &inputs.preset {
        Some(choice) => Some(choice.find()?),
        None => None,
    };
    let known = known_keys();
    let mut layers = Layers {
        flat: known.clone(),
        known,
        sources: BTreeMap::new(),
        raw: BTreeMap::new(),
        layer: Vec::new(),
    };

    // Scenario files are read first: one may name the preset it builds on.
    let mut files = Vec::new();
    if let Some(file) = &inputs.config_file {
        let source = Source::File(file.path.clone(), file.kind);
        let text = read_text_file(
            &file.path,
            &source.to_string(),
            MAX_SETTINGS_FILE,
            "TOML file",
        )?;
        files.push((parse_toml(&text, &source)?, source));
    }
    if let Some(given) = &inputs.config_text {
        let source = given.origin.source();
        files.push((parse_toml(&given.text, &source)?, source));
    }
    let mut criteria = Vec::new();
    let mut criteria_sources = BTreeMap::new();
    let mut preset = given_preset;
    for (table, source) in &mut files {
        if let Some(named) = take_preset(table, source)? {
            match preset {
                Some(given) if given.name != named.name => {
                    return Err(ScenarioError::PresetConflict {
                        name: named.name.to_string(),
                        source: source.clone(),
                        given: given.name.to_string(),
                    })
                }
                _ => preset = Some(named),
            }
        }
    }
    if let Some(p) = preset {
        let source = Source::Preset(p.name.to_string());
        let mut table = parse_toml(p.toml, &source)?;
        take_criteria(&mut table, &source, &mut criteria, &mut criteria_sources)?;
        layers.merge_toml(table, source)?;
    }
    for (mut table, source) in files {
        take_criteria(&mut table, &source, &mut criteria, &mut criteria_sources)?;
        layers.merge_toml(table, source)?;
    }
    for given in &inputs.criteria {
        let c = match &given.value {
            toml::Value::String(text) => {
                crate::criteria::Criterion::parse_text(text, &given.source)?
            }
            other => crate::criteria::Criterion::from_table(other, 1, &given.source)?,
        };
        criteria_sources.insert(c.name.clone(), given.source.clone());
        crate::criteria::add(&mut criteria, c, &given.source)?;
    }

    // `.env` first, then the environment, so the environment wins. Within one layer,
    // two variables for one setting (`FEE_RATE` and `DATADAO_MARKET__FEE_RATE`) must
    // agree: which one wins would otherwise depend on the order the OS lists them in.
    // A `.env` folder is a Python virtual environment (`python -m venv .env`), not ours.
    let dotenv = match inputs
        .dotenv
        .as_deref()
        .filter(|p| p.exists() && !p.is_dir())
    {
        Some(path) => read_dotenv(path)?,
        None => Vec::new(),
    };
    let dotenv: Vec<(Source, String, String)> = dotenv
        .into_iter()
        .map(|(var, raw)| (Source::DotEnv(var.clone()), var, raw))
        .collect();
    let env: Vec<(Source, String, String)> = inputs
        .env
        .iter()
        .map(|(var, raw)| (Source::Env(var.clone()), var.clone(), raw.clone()))
        .collect();
    for layer in [dotenv, env] {
        let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (source, var, raw) in layer {
            let Some(key) = key_for_variable(&var, &source, &layers.known) else {
                continue;
            };
            let key = key?;
            if let Some((other, other_raw)) = seen.get(&key) {
                if other_raw.trim() != raw.trim() {
                    return Err(ScenarioError::Conflict {
                        key,
                        variables: [(other.clone(), other_raw.clone()), (var, raw)],
                        dotenv: matches!(source, Source::DotEnv(_)),
                    });
                }
            }
            seen.insert(key.clone(), (var.clone(), raw.clone()));
            layers.set_raw(&key, &raw, source)?;
        }
        layers.end_layer()?;
    }
    for given in &inputs.typed {
        layers.set_typed(given.key.clone(), given.value.clone(), given.source.clone())?;
    }
    layers.end_layer()?;
    for given in &inputs.flags {
        layers.set_raw(&given.key, &given.value, given.source.clone())?;
    }
    layers.end_layer()?;

    let Layers {
        flat, sources, raw, ..
    } = layers;
    let mut settings = build(&flat, &sources, &raw)?;
    settings.criteria = criteria;
    if let Err(e) = settings.model.validate() {
        let value = raw.get(&e.key).cloned().unwrap_or(e.value);
        // Settings that broke the rule together with this one, where the user set them.
        let related: Vec<Related> = e
            .related
            .iter()
            .filter_map(|k| {
                let source = sources.get(k)?;
                Some(Related {
                    key: k.clone(),
                    value: raw.get(k).cloned().unwrap_or_default(),
                    source: source.clone(),
                })
            })
            .collect();
        return Err(ScenarioError::InvalidSetting {
            sources: sources_covered(&e.key, &sources),
            key: e.key,
            value,
            item: None,
            related,
            accepted: e.accepted,
            reason: None,
        });
    }
    if settings.output.distribution
        && settings.model.simulation.rules == datadao_core::config::Rules::Original2024
    {
        let key = "output.distribution".to_string();
        return Err(ScenarioError::InvalidSetting {
            sources: sources_covered(&key, &sources),
            key,
            value: "true".into(),
            item: None,
            related: Vec::new(),
            accepted: "false under simulation.rules = original-2024 (its replica keeps no per-type spread of wealth)".into(),
            reason: None,
        });
    }
    Ok(Resolved {
        settings,
        sources,
        raw,
        preset: preset.map(|p| p.name.to_string()),
        criteria_sources,
    })
}

/// Take a file's `[[criteria]]` out of its table (they are not the model's settings),
/// adding them to `list` in order.
fn take_criteria(
    table: &mut toml::Table,
    source: &Source,
    list: &mut Vec<crate::criteria::Criterion>,
    sources: &mut BTreeMap<String, Source>,
) -> Result<()> {
    let Some(value) = table.remove("criteria") else {
        return Ok(());
    };
    let items = match value {
        toml::Value::Array(items) => items,
        other => {
            return Err(invalid(
                "criteria",
                other.to_string(),
                source,
                "a list of tables: [[criteria]] with name, metric, op and threshold".into(),
            ))
        }
    };
    for (i, item) in items.iter().enumerate() {
        let c = crate::criteria::Criterion::from_table(item, i + 1, source)?;
        sources.insert(c.name.clone(), source.clone());
        crate::criteria::add(list, c, source)?;
    }
    Ok(())
}

/// Whether dotted `key` is covered by `pattern`: the same key, a key below it
/// (`pie.shares` covers `pie.shares.power`) or a match where the pattern has `<...>`
/// (`agents.<type>.share` covers `agents.degen.share`); a list covers its elements'
/// keys.
fn covers(pattern: &str, key: &str) -> bool {
    if key == pattern || key.starts_with(&format!("{pattern}.")) {
        return true;
    }
    // A list's element (`agents.power.rules[2].when`) comes from where the list did.
    if pattern.starts_with(&format!("{key}[")) {
        return true;
    }
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), key.split('.').collect());
    p.len() == k.len() && p.iter().zip(&k).all(|(a, b)| a == b || a.starts_with('<'))
}

/// Where the values behind a setting (or a group of settings) came from, in key order
/// (none: the built-in default).
fn sources_covered(pattern: &str, sources: &BTreeMap<String, Source>) -> Vec<Source> {
    sources
        .iter()
        .filter(|(k, _)| covers(pattern, k))
        .map(|(_, s)| s.clone())
        .collect()
}

/// [`sources_covered`] in words, each once where they follow each other.
fn sources_of(pattern: &str, sources: &BTreeMap<String, Source>) -> String {
    let mut found: Vec<String> = sources_covered(pattern, sources)
        .iter()
        .map(Source::to_string)
        .collect();
    found.dedup();
    if found.is_empty() {
        Source::Default.to_string()
    } else {
        found.join(", ")
    }
}

/// Largest scenario file, sweep file or `.env` datadao reads: far more than any
/// scenario needs, and little enough to hold in memory at once.
pub const MAX_SETTINGS_FILE: u64 = 16 << 20;

/// What a non-regular file is, for messages.
fn file_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// `1.5 MiB`-style sizes for the file limits.
fn mib(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 {
        format!("{:.0} MiB", n as f64 / f64::from(1 << 20))
    } else {
        format!("{n} bytes")
    }
}

/// The bytes of `path`, which must be a regular file of at most `max` bytes. `what`
/// names it in messages ("config file x.toml"), `accepted` the kind of file wanted
/// ("TOML file"). A FIFO, a device or a directory is refused without reading (and a
/// FIFO without blocking: it is opened non-blocking after a `stat`), and so is a file
/// that grows past `max` while being read.
pub fn read_file(path: &Path, what: &str, max: u64, accepted: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |problem: FileProblem| ScenarioError::File {
        path: path.to_path_buf(),
        what: what.to_string(),
        problem,
    };
    let unreadable = |error: std::io::Error| {
        fail(FileProblem::Unreadable {
            accepted: accepted.to_string(),
            error,
        })
    };
    let refuse_kind = |meta: &std::fs::Metadata| -> Result<()> {
        if meta.is_file() {
            return Ok(());
        }
        Err(fail(FileProblem::NotRegular {
            link: std::fs::read_link(path).ok(),
            kind: file_kind(meta.file_type()),
            accepted: accepted.to_string(),
            max: mib(max),
        }))
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    refuse_kind(&meta)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(unreadable)?;
    // What was opened, not what was looked at: it may have been swapped in between.
    let meta = file
        .metadata()
        .map_err(|e| fail(FileProblem::ReadFailed(e)))?;
    refuse_kind(&meta)?;
    let too_big = |size: String| {
        fail(FileProblem::TooLarge {
            size,
            accepted: accepted.to_string(),
            max: mib(max),
        })
    };
    if meta.len() > max {
        return Err(too_big(format!("{} bytes", meta.len())));
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(meta.len() as usize)
        .map_err(|_| fail(FileProblem::NoMemory { bytes: meta.len() }))?;
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(FileProblem::ReadFailed(e)))?;
    if bytes.len() as u64 > max {
        return Err(too_big(format!("over {} bytes (it grew while read)", max)));
    }
    Ok(bytes)
}

/// [`read_file`] as UTF-8 text.
pub fn read_text_file(path: &Path, what: &str, max: u64, accepted: &str) -> Result<String> {
    let bytes = read_file(path, what, max, accepted)?;
    String::from_utf8(bytes).map_err(|e| ScenarioError::File {
        path: path.to_path_buf(),
        what: what.to_string(),
        problem: FileProblem::NotUtf8 {
            at: e.utf8_error().valid_up_to(),
            accepted: accepted.to_string(),
        },
    })
}

fn read_dotenv(path: &Path) -> Result<Vec<(String, String)>> {
    let what = format!(".env file {}", path.display());
    let bytes = read_file(path, &what, MAX_SETTINGS_FILE, "file of KEY=VALUE lines")?;
    let iter = dotenvy::from_read_iter(std::io::Cursor::new(bytes));
    iter.map(|item| {
        item.map_err(|error| ScenarioError::DotEnv {
            path: path.to_path_buf(),
            error,
        })
    })
    .collect()
}

/// The effective settings as TOML that `--config` reads back. Untouched governance
/// settings are left out, so a run without governance records exactly the file it
/// recorded before governance existed (reading it back gives the same defaults).
pub fn to_toml(settings: &Settings) -> String {
    spell(settings, false)
}

/// Every setting as TOML, untouched governance settings included: what `datadao config`
/// lists, so every key can be found there.
pub fn to_toml_every(settings: &Settings) -> String {
    spell(settings, true)
}

fn spell(settings: &Settings, every: bool) -> String {
    let mut table = toml::Table::try_from(&settings.model).expect("settings serialize");
    if !every && settings.model.governance == datadao_core::governance::GovernanceConfig::default()
    {
        table.remove("governance");
    }
    table.insert(
        "output".into(),
        toml::Value::try_from(&settings.output).expect("settings serialize"),
    );
    // Only when there are any, so a scenario without criteria records what it did.
    if !settings.criteria.is_empty() {
        table.insert(
            "criteria".into(),
            toml::Value::try_from(&settings.criteria).expect("criteria serialize"),
        );
    }
    toml::to_string_pretty(&table).expect("settings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_named_by_where_it_came_from() {
        let resolve_text = |origin: TextSource, text: &str| {
            resolve(&Inputs {
                config_text: Some(ConfigText {
                    origin,
                    text: text.to_string(),
                }),
                ..Inputs::default()
            })
        };
        let bad = "[market]\nfee_rate = 2.0\n";
        let e = format!(
            "{:#}",
            resolve_text(TextSource::Upload("mine.toml".into()), bad).unwrap_err()
        );
        assert_eq!(
            e,
            "invalid setting market.fee_rate = '2.0' (from uploaded file mine.toml): accepted: a number in [0, 1)"
        );
        let e = format!(
            "{:#}",
            resolve_text(TextSource::SweepFile("exp.toml".into()), bad).unwrap_err()
        );
        assert_eq!(
            e,
            "invalid setting market.fee_rate = '2.0' (from sweep file exp.toml): accepted: a number in [0, 1)"
        );
        // Unparsable text, a bad preset and where an accepted value came from say the same.
        let e = format!(
            "{:#}",
            resolve_text(TextSource::Upload("u.toml".into()), "[[").unwrap_err()
        );
        assert!(e.starts_with("cannot parse uploaded file u.toml: "), "{e}");
        let e = format!(
            "{:#}",
            resolve_text(TextSource::Upload("u.toml".into()), "preset = 3").unwrap_err()
        );
        assert!(e.contains("(from uploaded file u.toml)"), "{e}");
        let r = resolve_text(
            TextSource::Upload("u.toml".into()),
            "[market]\nfee_rate = 0.01\n",
        )
        .unwrap();
        assert_eq!(
            r.describe("market.fee_rate"),
            "market.fee_rate (from uploaded file u.toml)"
        );
        assert_eq!(
            TextSource::SweepFile("s.toml".into()).source(),
            Source::File("s.toml".into(), "sweep file")
        );
    }

    #[test]
    fn read_file_takes_regular_files_up_to_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(&f, vec![b'#'; 100]).unwrap();
        assert_eq!(
            read_file(&f, "config file s.toml", 100, "TOML file")
                .unwrap()
                .len(),
            100
        );
        let e = read_file(&f, "config file s.toml", 99, "TOML file")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config file s.toml is 100 bytes") && e.contains("at most 99 bytes"),
            "{e}"
        );
        let e = read_file(dir.path(), "config file d", 100, "TOML file")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config file d is a directory; accepted: a regular TOML file"),
            "{e}"
        );
        let e = read_file(Path::new("/dev/null"), "x", 100, "TOML file")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x is a character device"), "{e}");
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read_file(&link, ".env file l", MAX_SETTINGS_FILE, "file")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("links to /dev/zero, which is a character device") && e.contains("16 MiB"),
            "{e}"
        );
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        let e = read_text_file(&f, "config file s.toml", 100, "TOML file")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        assert!(read_file(&dir.path().join("none"), "config file none", 9, "TOML file").is_err());
    }

    fn env(pairs: &[(&str, &str)]) -> Inputs {
        Inputs {
            env: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Inputs::default()
        }
    }

    #[test]
    fn defaults_resolve_to_the_core_defaults() {
        let r = resolve(&Inputs::default()).unwrap();
        assert_eq!(r.settings, Settings::default());
        assert!(r.sources.is_empty());
    }

    #[test]
    fn named_and_generic_variables_set_their_keys() {
        let r = resolve(&env(&[
            ("FEE_RATE", "0.01"),
            ("DATADAO_AGENTS__POWER__MAX_BUY_PRICE", "3"),
            ("UNRELATED", "x"),
        ]))
        .unwrap();
        assert_eq!(r.settings.model.market.fee_rate, 0.01);
        assert_eq!(r.settings.model.agents.power.max_buy_price, 3.0);
    }

    /// A scenario's own type can be declared through the environment too; a name that
    /// is no type's (`agents."../x"`) stays an unknown key.
    #[test]
    fn every_channel_declares_a_scenarios_own_type() {
        let r = resolve(&env(&[("DATADAO_AGENTS__FARMER__SHARE", "0.1")])).unwrap();
        assert_eq!(r.settings.model.agents.custom["farmer"].share, 0.1);
        assert_eq!(own_type_of("agents.../x.share"), None);
        assert_eq!(own_type_of("agents..share"), None);
        assert_eq!(own_type_of("agents.degn.share"), None);
        assert_eq!(own_type_of("agents.farmer.data.quantity"), Some("farmer"));
    }

    #[test]
    fn test_switches_are_not_settings_and_other_datadao_variables_still_are() {
        let r = resolve(&env(&[("DATADAO_REQUIRE_BROWSER", "1")])).unwrap();
        assert_eq!(r.settings, Settings::default());
        assert!(r.sources.is_empty());
        let e = resolve(&env(&[("DATADAO_REQUIRE_BROWSR", "1")])).unwrap_err();
        assert!(
            matches!(&e, ScenarioError::UnknownKey { key, .. } if key == "require_browsr"),
            "{e:?}"
        );
    }

    #[test]
    fn flags_beat_environment() {
        let mut inputs = env(&[("TOTAL_STEPS", "10")]);
        inputs.flags.push(Given::new(
            "simulation.total_steps",
            "20",
            Source::Flag("--steps".into()),
        ));
        let r = resolve(&inputs).unwrap();
        assert_eq!(r.settings.model.simulation.total_steps, 20);
        assert_eq!(
            r.sources["simulation.total_steps"],
            Source::Flag("--steps".into())
        );
    }

    #[test]
    fn errors_name_setting_value_and_range() {
        let e = resolve(&env(&[("FEE_RATE", "abc")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("market.fee_rate") && e.contains("'abc'") && e.contains("FEE_RATE"),
            "{e}"
        );
        let e = resolve(&env(&[("FEE_RATE", "1.5")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[0, 1)") && e.contains("1.5"), "{e}");
        let e = resolve(&env(&[("TOTAL_STEPS", "-3")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1") && e.contains("-3"), "{e}");
        // Too large for a TOML integer: the message says how large a count may be.
        let e = resolve(&env(&[(
            "DATADAO_GOVERNANCE__HORIZON",
            "99999999999999999999",
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("governance.horizon = '99999999999999999999'")
                && e.contains("at least 1, at most 9223372036854775807"),
            "{e}"
        );
        let e = resolve(&env(&[("ACTIVATION", "random")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("simulation.activation") && e.contains("shuffled"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let mut inputs = Inputs::default();
        inputs.flags.push(Given::new(
            "market.fee_rat",
            "0.1",
            Source::Flag("--set".into()),
        ));
        let e = resolve(&inputs).unwrap_err().to_string();
        assert!(e.contains("did you mean 'market.fee_rate'"), "{e}");
    }

    #[test]
    fn printed_config_reads_back() {
        let mut s = Settings::default();
        s.model.market.fee_rate = 0.01;
        s.output.plot = false;
        let text = to_toml(&s);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        let r = resolve(&Inputs {
            config_file: Some(ConfigFile {
                path,
                kind: "config file",
            }),
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(r.settings, s);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Known keys (most of the time), near misses and junk.
        fn key() -> impl Strategy<Value = String> {
            let known: Vec<String> = known_keys().keys().cloned().collect();
            prop_oneof![
                4 => proptest::sample::select(known),
                1 => "[a-z_.<>]{0,24}",
                1 => "\\PC{0,16}",
            ]
        }

        /// Values of every shape a user might type, and some no one would.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<f64>().prop_map(|v| v.to_string()),
                any::<i64>().prop_map(|v| v.to_string()),
                any::<u64>().prop_map(|v| v.to_string()),
                Just("1e308".to_string()),
                Just("-0".to_string()),
                Just("NaN".to_string()),
                Just("inf".to_string()),
                Just("true".to_string()),
                "[0-9.eE+-]{0,12}",
                "\\PC{0,16}",
                proptest::collection::vec(any::<u8>(), 0..16)
                    .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// No input through any layer panics, and whatever is accepted validates.
            #[test]
            fn resolve_never_panics(
                flags in proptest::collection::vec((key(), value()), 0..5),
                env in proptest::collection::vec(
                    (proptest::sample::select(NAMED_VARIABLES.iter().map(|v| v.0).collect::<Vec<_>>()), value()),
                    0..3,
                ),
                file in proptest::collection::vec((key(), value()), 0..4),
                junk in proptest::collection::vec(any::<u8>(), 0..64),
                use_junk in any::<bool>(),
            ) {
                let text = if use_junk {
                    String::from_utf8_lossy(&junk).into_owned()
                } else {
                    file.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
                };
                let inputs = Inputs {
                    config_text: Some(ConfigText { origin: TextSource::SweepFile(PathBuf::from("fuzz.toml")), text }),
                    env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    flags: flags
                        .into_iter()
                        .map(|(k, v)| Given::new(k.clone(), v.clone(), Source::Flag(format!("--set {k}={v}"))))
                        .collect(),
                    ..Inputs::default()
                };
                if let Ok(r) = resolve(&inputs) {
                    prop_assert!(r.settings.model.validate().is_ok());
                    // And it prints as TOML that reads back.
                    let printed = to_toml(&r.settings);
                    prop_assert!(printed.parse::<toml::Table>().is_ok());
                }
            }
        }
    }
}
