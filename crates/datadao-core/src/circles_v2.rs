//! Circles v2's demurrage in whole atto-CRC, as the Hub computes it: signed 64.64
//! fixed point (`Math64x64`, ABDK's library), a factor per whole day since
//! `inflationDayZero`, floors everywhere. For the wei mode and its proof.
//!
//! Constants and sources (`aboutcircles/circles-contracts-v2`, `src/circles/Demurrage.sol`,
//! the Hub's bytecode in `@circles-sdk/abi-v2@0.29.2`):
//! - `GAMMA_64x64 = 18443079296116538654`: the daily factor `0.93^(1/365.25)` (7% a
//!   year) as a 64.64 numerator; `BETA_64x64 = 18450409579521241655` its inverse.
//! - `DEMURRAGE_WINDOW = 1 day`: balances lose value at day boundaries, not per second;
//!   `day(t) = (t - inflationDayZero) / 86400`, floored.
//! - A demurraged value on day `d` is `mulu(pow(GAMMA, d), inflationary)`: `pow` by
//!   binary exponentiation at 127 fractional bits, `mulu` a floored product.
//! - Personal issuance is 1 CRC per hour (`10^18` atto-CRC) on the day it is issued,
//!   claimed in whole hours and at most two weeks back (`Circles.calculateIssuance`,
//!   with the table `T` of `Demurrage.sol`).
//!
//! Nothing here is wired into the engine yet; `crates/datadao-evm` proves it against
//! the Hub's own `convertInflationaryToDemurrageValue`, `calculateIssuance`,
//! `personalMint` and `balanceOf`.

use ruint::aliases::U256;

/// The daily demurrage factor, a 64.64 numerator.
pub const GAMMA_64X64: i128 = 18_443_079_296_116_538_654;
/// Its inverse, a 64.64 numerator (above one).
pub const BETA_64X64: i128 = 18_450_409_579_521_241_655;
/// Seconds per demurrage step.
pub const DEMURRAGE_WINDOW: u64 = 86_400;
/// atto-CRC per CRC.
pub const EXA: u128 = 1_000_000_000_000_000_000;
/// Personal issuance per hour, in atto-CRC (inflationary).
pub const ISSUANCE_PER_HOUR: u128 = EXA;
/// Most days a human may claim at once.
pub const MAX_CLAIM_DAYS: u64 = 14;

/// One in 64.64.
const ONE_64X64: u128 = 1 << 64;

/// Seconds per hour, and the longest claim (`MAX_CLAIM_DURATION`, two weeks).
const HOUR: u64 = 3_600;
const MAX_CLAIM_SECONDS: u64 = MAX_CLAIM_DAYS * DEMURRAGE_WINDOW;

/// The Hub's issuance table `T(n)` (`Demurrage.sol`): the demurraged hours of `n + 1`
/// whole days, `sum_{i<=n} 24 GAMMA^i`, in 64.64, as the contract stores it.
pub const T_TABLE_64X64: [i128; 15] = [
    442_721_857_769_029_238_784,
    885_355_760_875_826_166_476,
    1_327_901_726_794_166_863_126,
    1_770_359_772_994_355_928_788,
    2_212_729_916_943_227_173_193,
    2_655_012_176_104_144_305_282,
    3_097_206_567_937_001_622_606,
    3_539_313_109_898_224_700_583,
    3_981_331_819_440_771_081_628,
    4_423_262_714_014_130_964_135,
    4_865_105_811_064_327_891_331,
    5_306_861_128_033_919_439_986,
    5_748_528_682_361_997_908_993,
    6_190_108_491_484_191_007_805,
    6_631_600_572_832_662_544_739,
];

/// A personal mint: the atto-CRC claimed and the claimed period (`calculateIssuance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issuance {
    /// atto-CRC minted (demurraged: today's units).
    pub amount: U256,
    /// Start of the claimed period (a whole hour of its day).
    pub start: u64,
    /// End of the claimed period.
    pub end: u64,
}

/// What a human who last minted (or registered) at `last_mint` can claim at `now`, as
/// the Hub's `calculateIssuance` computes it: whole hours only, at most two weeks back,
/// each day's hours discounted by the days since (the table `T`, less the hours of the
/// first and last day that fall outside the claim). `None` where the Hub would revert.
pub fn issuance(last_mint: u64, now: u64, day_zero: u64) -> Option<Issuance> {
    if last_mint.saturating_add(HOUR) > now {
        return Some(Issuance {
            amount: U256::ZERO,
            start: 0,
            end: 0,
        });
    }
    let start = now.checked_sub(MAX_CLAIM_SECONDS)?.max(last_mint);
    let day_a = day(start, day_zero)?;
    let day_b = day(now, day_zero)?;
    let n = day_b - day_a;
    let k = i128::from((start - (day_a * DEMURRAGE_WINDOW + day_zero)) / HOUR) << 64;
    // The hours of day B not yet begun, counting the one under way (as deployed: a whole
    // hour that has just ended is not counted twice).
    let l = i128::from(((day_b + 1) * DEMURRAGE_WINDOW + day_zero - now).div_ceil(HOUR)) << 64;
    // R[n] = GAMMA^n, the Hub's table computed with the same `pow`.
    let r = pow(GAMMA_64X64, n)?;
    let t = *T_TABLE_64X64.get(usize::try_from(n).ok()?)?;
    let overcount = mul_64x64(r, k)?.checked_add(l)?;
    let claim = t.checked_sub(overcount)?;
    Some(Issuance {
        amount: mulu(claim, U256::from(EXA))?,
        start: day_zero + day_a * DEMURRAGE_WINDOW + mulu(k, U256::from(HOUR))?.to::<u64>(),
        end: day_zero + day_b * DEMURRAGE_WINDOW + DEMURRAGE_WINDOW
            - mulu(l, U256::from(HOUR))?.to::<u64>(),
    })
}

/// `Math64x64.mul` of two non-negative values: `a * b >> 64`, floored (`None` where it
/// would leave int128).
fn mul_64x64(a: i128, b: i128) -> Option<i128> {
    if a < 0 || b < 0 {
        return None;
    }
    let p: U256 = (U256::from(a as u128) * U256::from(b as u128)) >> 64usize;
    (p <= U256::from(i128::MAX as u128)).then(|| p.to::<u128>() as i128)
}

/// The day of `timestamp` since `day_zero` (`Demurrage.day`), or `None` before it.
pub fn day(timestamp: u64, day_zero: u64) -> Option<u64> {
    timestamp
        .checked_sub(day_zero)
        .map(|t| t / DEMURRAGE_WINDOW)
}

/// `x^y` in 64.64 fixed point, as `Math64x64.pow` computes it (`None` where it would
/// revert on overflow).
pub fn pow(x: i128, mut y: u64) -> Option<i128> {
    let negative = x < 0 && y & 1 == 1;
    let mut abs_x = U256::from(x.unsigned_abs());
    let mut result: U256 = U256::from(1u8) << 128usize;
    if abs_x <= U256::from(ONE_64X64) {
        // At most one: 127 fractional bits, four bits of the exponent per round.
        abs_x <<= 63;
        while y != 0 {
            for bit in 0..4 {
                if y & (1 << bit) != 0 {
                    result = (result * abs_x) >> 127;
                }
                abs_x = (abs_x * abs_x) >> 127;
            }
            y >>= 4;
        }
        result >>= 64;
    } else {
        // Above one: normalise into [2^127, 2^128) and track the binary exponent.
        let mut shift: u64 = 63;
        for (limit, by) in [
            (96u32, 32u64),
            (112, 16),
            (120, 8),
            (124, 4),
            (126, 2),
            (127, 1),
        ] {
            if abs_x < U256::from(1u8) << limit {
                abs_x <<= by as usize;
                shift -= by;
            }
        }
        let mut result_shift: u64 = 0;
        let top = U256::from(1u8) << 128;
        while y != 0 {
            if shift >= 64 {
                return None;
            }
            if y & 1 != 0 {
                result = (result * abs_x) >> 127;
                result_shift += shift;
                if result > top {
                    result >>= 1;
                    result_shift += 1;
                }
            }
            abs_x = (abs_x * abs_x) >> 127;
            shift <<= 1;
            if abs_x >= top {
                abs_x >>= 1;
                shift += 1;
            }
            y >>= 1;
        }
        if result_shift >= 64 {
            return None;
        }
        result >>= (64 - result_shift) as usize;
    }
    let max = U256::from(i128::MAX as u128);
    if negative {
        (result <= max + U256::from(1u8)).then(|| (result.to::<u128>() as i128).wrapping_neg())
    } else {
        (result <= max).then(|| result.to::<u128>() as i128)
    }
}

/// `x * y` floored, `x` in 64.64 and `y` a whole number, as `Math64x64.mulu` computes it
/// (`None` where it would revert).
pub fn mulu(x: i128, y: U256) -> Option<U256> {
    if y == U256::ZERO {
        return Some(U256::ZERO);
    }
    if x < 0 {
        return None;
    }
    let x = U256::from(x as u128);
    let mask = (U256::from(1u8) << 128) - U256::from(1u8);
    let lo = (x * (y & mask)) >> 64;
    let hi = x * (y >> 128);
    if hi > (U256::from(1u8) << 192) - U256::from(1u8) {
        return None;
    }
    let hi: U256 = hi << 64usize;
    hi.checked_add(lo)
}

/// An inflationary amount as a demurraged one on `day`
/// (`convertInflationaryToDemurrageValue`).
pub fn demurrage_value(inflationary: U256, day: u64) -> Option<U256> {
    mulu(pow(GAMMA_64X64, day)?, inflationary)
}

/// A balance last updated `days` days ago, discounted to today
/// (`_calculateDiscountedBalance`).
pub fn discounted(balance: U256, days: u64) -> Option<U256> {
    if days == 0 {
        return Some(balance);
    }
    mulu(pow(GAMMA_64X64, days)?, balance)
}

/// A demurraged balance of `day` in inflationary terms
/// (`_calculateInflationaryBalance`).
pub fn inflationary_value(demurraged: U256, day: u64) -> Option<U256> {
    mulu(pow(BETA_64X64, day)?, demurraged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_and_products_by_hand() {
        let one = 1i128 << 64;
        assert_eq!(pow(one, 12345), Some(one));
        assert_eq!(pow(GAMMA_64X64, 0), Some(one));
        assert_eq!(pow(GAMMA_64X64, 1), Some(GAMMA_64X64));
        assert_eq!(pow(2 * one, 10), Some(1024 * one));
        assert_eq!(pow(one / 2, 3), Some(one / 8));
        assert_eq!(pow(-2 * one, 3), Some(-8 * one));
        // 2^63 overflows 64.64 (its integer part is at most 2^63 - 1).
        assert_eq!(pow(2 * one, 63), None);
        assert_eq!(mulu(one / 2, U256::from(7u8)), Some(U256::from(3u8)));
        assert_eq!(mulu(-1, U256::from(7u8)), None);
        assert_eq!(mulu(-1, U256::ZERO), Some(U256::ZERO));
        // GAMMA^365.25 is 0.93 a year: a CRC held a year (365 days) keeps about 93%.
        let year = demurrage_value(U256::from(EXA), 365).unwrap();
        let kept = year.to::<u128>() as f64 / EXA as f64;
        assert!(
            (kept - 0.93f64.powf(365.0 / 365.25)).abs() < 1e-12,
            "{kept}"
        );
        // And back: BETA undoes GAMMA to within a few atto-CRC.
        let back = inflationary_value(year, 365).unwrap().to::<u128>();
        assert!(EXA.abs_diff(back) < 10, "{back}");
        assert_eq!(day(1_602_720_000 + 86_399, 1_602_720_000), Some(0));
        assert_eq!(day(1_602_720_000 + 86_400, 1_602_720_000), Some(1));
        assert_eq!(day(5, 6), None);
    }

    /// One whole hour after joining at a whole hour is one CRC exactly (T(0) = 24 hours,
    /// less the hour before joining, k = 1, and the 22 hours of the day not begun, l =
    /// 22); less than an hour is nothing. (The Hub gives the same: `tests/hub.rs`.)
    #[test]
    fn an_hour_mints_one_crc() {
        let zero = 1_602_720_000;
        let joined = zero + 86_400 + 3_600;
        let one = issuance(joined, joined + 3_600, zero).unwrap();
        assert_eq!(one.amount, U256::from(EXA));
        assert_eq!((one.start, one.end), (joined, joined + 3_600));
        assert_eq!(
            issuance(joined, joined + 3_599, zero).unwrap().amount,
            U256::ZERO
        );
        // Two weeks at most: a month's wait claims the same as two weeks' at that hour.
        let month = issuance(joined, joined + 30 * 86_400, zero).unwrap();
        let fortnight = issuance(joined + 16 * 86_400, joined + 30 * 86_400, zero).unwrap();
        assert_eq!(month.amount, fortnight.amount);
        // 14 days of 24 hours, each discounted by its age: a little under 336 CRC.
        let crc = month.amount.to::<u128>() as f64 / EXA as f64;
        assert!(crc > 334.0 && crc < 336.0, "{crc}");
    }
}
