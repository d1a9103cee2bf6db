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
//! - Personal issuance is 1 CRC per hour (`10^18` atto-CRC), in inflationary terms; the
//!   Hub lets a human claim at most 14 days at once.
//!
//! Nothing here is wired into the engine yet; `crates/datadao-evm` proves it against
//! the Hub's own `convertInflationaryToDemurrageValue`.

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
}
