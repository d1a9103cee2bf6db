//! How a setting is checked and refused: [`ConfigError`] (the key, the value and what is
//! accepted) and the small checks every mechanism's settings share, with the bounds they
//! enforce. A leaf module: settings beside each mechanism use it, and nothing here knows
//! any mechanism.

/// A setting whose value the model cannot use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{key} = {value}: accepted: {accepted}")]
pub struct ConfigError {
    /// Dotted TOML key of the setting, e.g. `market.fee_rate`.
    pub key: String,
    /// The value given, as text.
    pub value: String,
    /// What would have been accepted.
    pub accepted: String,
    /// Other settings whose values broke the rule together with `key` (the population's
    /// size depends on four), so a front end can say where each came from.
    pub related: Vec<String>,
}

/// How far a set of shares may stray from 1 before it is refused. Decimal shares such as
/// 0.4 + 0.05 + 0.05 + 0.3 + 0.2 do not sum to exactly 1.0 in binary.
pub(crate) const SHARE_SUM_TOLERANCE: f64 = crate::shares::SUM_TOLERANCE;

pub(crate) fn err(key: &str, value: impl ToString, accepted: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: value.to_string(),
        accepted: accepted.to_string(),
        related: Vec::new(),
    }
}

pub(crate) fn at_least_one(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(err(key, value, "a whole number of at least 1"));
    }
    Ok(())
}

pub(crate) fn fraction(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(err(key, value, "a number in [0, 1]"));
    }
    Ok(())
}

/// Largest token or data amount a setting may hold. Sums over millions of agents then
/// stay far inside `f64`'s range, and the audit's relative precision (1e-9) stays
/// meaningful; larger values overflowed to infinity before.
pub const MAX_AMOUNT: f64 = 1e15;

/// Amounts below this are dust: not worth a transaction. Repeated decimal spends such as
/// 100 - 0.1 - 0.9 - ... leave ~1e-14 behind in binary, which would otherwise produce a
/// trickle of meaningless trades forever. Its home is this leaf module so that every
/// mechanism (agents, governance, the rule language) reads the one value.
pub const DUST: f64 = 1e-9;

/// Largest exponent on quality or quantity in the Contribution Weight: `1e15^10` is still
/// a finite weight, summed over millions of members.
pub const MAX_EXPONENT: f64 = 10.0;

pub(crate) fn amount(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=MAX_AMOUNT).contains(&value) {
        return Err(err(
            key,
            value,
            "a number from 0 to 1e15 (larger amounts overflow sums over many agents)",
        ));
    }
    Ok(())
}

pub(crate) fn positive(key: &str, value: f64) -> Result<(), ConfigError> {
    if !(value > 0.0 && value.is_finite()) {
        return Err(err(key, value, "a finite number above 0"));
    }
    Ok(())
}

pub(crate) fn sums_to_one(key: &str, parts: &[(&str, f64)]) -> Result<(), ConfigError> {
    let sum: f64 = parts.iter().map(|(_, v)| v).sum();
    if (sum - 1.0).abs() > SHARE_SUM_TOLERANCE {
        let listed: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return Err(err(
            key,
            format!("{} (sum {sum})", listed.join(", ")),
            "shares that sum to 1",
        ));
    }
    Ok(())
}
