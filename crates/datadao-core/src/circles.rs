//! Circles: personal CRC issuance and demurrage, and the vault where members lock CRC to
//! mint dDT 1:1.
//!
//! Formulas (Circles v2): 1 CRC per hour, 24 per day, claimable for at most the last 14
//! days; demurrage of 7% a year, applied daily as `gamma = (1 - 0.07)^(1/365.25)`.
//! The vault total is written only by [`Vault::lock`], [`Vault::unlock`] and
//! [`Vault::decay`].
use serde::{Deserialize, Serialize};

/// Circles: personal CRC issuance and demurrage, as the Circles v2 protocol defines them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CirclesConfig {
    /// Personal CRC issued per day (1 per hour in Circles v2).
    pub issuance_per_day: f64,
    /// Members claim their issuance every this many days (1 = daily).
    pub claim_interval_days: u64,
    /// At most this many days of issuance can be claimed at once (14 in Circles v2).
    pub max_claim_days: u64,
    /// Yearly demurrage on personal CRC (7% in Circles v2): balances are multiplied by
    /// `(1 - rate)^(1/365.25)` each day.
    pub demurrage_per_year: f64,
    /// Let dDT decay like CRC: every dDT balance (members', the Pie's, the pool's reserve)
    /// and the CRC locked in the vault shrink by the same daily factor, so backing stays
    /// 1:1. Off by default: the seed's figures assume a non-decaying dDT.
    pub ddt_demurrage: bool,
    /// CRC a member holds when it joins (14 days of issuance).
    pub initial_crc: f64,
}

impl Default for CirclesConfig {
    fn default() -> Self {
        Self {
            issuance_per_day: 24.0,
            claim_interval_days: 1,
            max_claim_days: 14,
            demurrage_per_year: 0.07,
            ddt_demurrage: false,
            initial_crc: 336.0,
        }
    }
}

/// How the right to mint is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MintPolicy {
    /// Total CRC locked may not exceed `mint_per_weight * ContributionWeight`.
    Weight,
    /// A mint may use at most `min(score, 100)/100` of the CRC issued to the member since
    /// its last mint (Circles' score-based group policy).
    IssuanceScore,
}

impl MintPolicy {
    /// Every policy, in declaration order (what the dashboard offers).
    pub const ALL: [MintPolicy; 2] = [MintPolicy::Weight, MintPolicy::IssuanceScore];
}

/// Minting dDT against locked CRC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MintingConfig {
    /// Which cap applies.
    pub policy: MintPolicy,
    /// CRC that may be locked per unit of Contribution Weight (policy `weight`).
    pub mint_per_weight: f64,
}

impl Default for MintingConfig {
    fn default() -> Self {
        Self {
            policy: MintPolicy::Weight,
            mint_per_weight: 1.0,
        }
    }
}

/// The daily demurrage factor for a yearly rate: `(1 - rate)^(1/365.25)`.
pub fn daily_factor(rate_per_year: f64) -> f64 {
    (1.0 - rate_per_year).powf(1.0 / 365.25)
}

/// What a claim after `days` unclaimed days pays (Circles v2): every hour mints 1 CRC in
/// *that day's* demurraged units, so a day `age` days before the claim pays
/// `issuance_per_day * gamma^age` today, and only the last `max_days` days count:
/// `issuance_per_day * sum(gamma^age for age in 0..min(days, max_days))`. A 14-day claim
/// at 24 a day and 7% a year pays about 335.57, not 336.
#[inline]
pub fn claimable(days: u64, issuance_per_day: f64, max_days: u64, gamma: f64) -> f64 {
    let n = days.min(max_days);
    if n <= 1 || gamma == 1.0 {
        return issuance_per_day * n as f64;
    }
    if n <= 4096 {
        // Summed day by day, newest first: the same order of operations as the rule.
        let (mut sum, mut factor) = (0.0, 1.0);
        for _ in 0..n {
            sum += factor;
            factor *= gamma;
        }
        return issuance_per_day * sum;
    }
    // A geometric series; past 4096 days the closed form is as exact as the loop.
    let n = n.min(i32::MAX as u64) as i32;
    issuance_per_day * (1.0 - gamma.powi(n)) / (1.0 - gamma)
}

/// How much of a mint request the `weight` policy allows: locked CRC may not exceed
/// `mint_per_weight * weight`.
#[inline]
pub fn weight_room(mint_per_weight: f64, weight: f64, locked: f64) -> f64 {
    (mint_per_weight * weight - locked).max(0.0)
}

/// How much the `issuance-score` policy allows: `min(score, 100)/100` of the CRC issued
/// since the member's last mint.
#[inline]
pub fn score_allowance(score: f64, issued_since_last_mint: f64) -> f64 {
    (score.clamp(0.0, 100.0) / 100.0) * issued_since_last_mint.max(0.0)
}

/// CRC locked as collateral for dDT.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vault {
    locked: f64,
}

impl Vault {
    /// CRC locked in total.
    pub fn locked(&self) -> f64 {
        self.locked
    }

    /// Lock CRC (a mint).
    pub fn lock(&mut self, amount: f64) {
        self.locked += amount;
    }

    /// Unlock CRC (a redemption).
    pub fn unlock(&mut self, amount: f64) {
        self.locked = (self.locked - amount).max(0.0);
    }

    /// Demurrage on the locked CRC, matching dDT's when `ddt_demurrage` is on.
    pub fn decay(&mut self, factor: f64) {
        self.locked *= factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    /// Values computed independently (Python: `0.93 ** (d / 365.25)`).
    #[test]
    fn demurrage_over_1_14_and_365_days() {
        let g = daily_factor(0.07);
        assert!(close(g, 0.999801332008599), "{g}");
        let table = [
            (1, 0.999801332008599),
            (14, 0.9972222369440836),
            (365, 0.9300461960442039),
        ];
        for (days, expected) in table {
            let mut balance = 1.0;
            for _ in 0..days {
                balance *= g;
            }
            assert!(
                (balance - expected).abs() < 1e-12,
                "{days}: {balance} vs {expected}"
            );
        }
        // A year (365.25 days) is exactly 7%.
        assert!(close(g.powf(365.25), 0.93));
        // 336 CRC idle for 14 days keeps 335.0667.
        assert!((336.0 * g.powi(14) - 335.0666716132121).abs() < 1e-9);
    }

    #[test]
    fn issuance_is_capped_at_fourteen_days() {
        assert_eq!(claimable(1, 24.0, 14, 1.0), 24.0);
        assert_eq!(claimable(14, 24.0, 14, 1.0), 336.0);
        assert_eq!(claimable(30, 24.0, 14, 1.0), 336.0);
    }

    /// Hand-computed (Python: `sum(24 * 0.93 ** (a / 365.25) for a in range(n))`).
    #[test]
    fn multi_day_claims_pay_each_day_in_its_demurraged_units() {
        let g = daily_factor(0.07);
        let table = [
            (1, 24.0),
            (2, 47.995231968206376),
            (7, 167.89990447968353),
            (14, 335.5664537194065),
            (30, 335.5664537194065),
        ];
        for (days, expected) in table {
            let got = claimable(days, 24.0, 14, g);
            assert!((got - expected).abs() < 1e-9, "{days}: {got} vs {expected}");
        }
        // The closed form for very long claims agrees with the sum.
        let long = claimable(10_000, 1.0, 10_000, g);
        let mut sum = 0.0;
        for a in 0..10_000 {
            sum += g.powi(a);
        }
        assert!((long - sum).abs() < 1e-9 * sum);
    }

    #[test]
    fn weight_cap_table() {
        // (mint_per_weight, weight, locked) -> room
        let table = [
            (1.0, 100.0, 0.0, 100.0),
            (1.0, 100.0, 100.0, 0.0),
            (0.5, 100.0, 20.0, 30.0),
            (1.0, 50.0, 80.0, 0.0),
        ];
        for (m, w, l, room) in table {
            assert_eq!(weight_room(m, w, l), room);
        }
    }

    #[test]
    fn score_policy_table() {
        // (score, issued since last mint) -> allowance
        let table = [
            (100.0, 336.0, 336.0),
            (50.0, 240.0, 120.0),
            (150.0, 24.0, 24.0),
            (0.0, 99.0, 0.0),
        ];
        for (score, issued, allowed) in table {
            assert_eq!(score_allowance(score, issued), allowed);
        }
    }
}
