//! The dDT/xDAI constant-product market, with Uniswap v2 semantics in `f64`.
//!
//! Reserves change in exactly one place, `Pool::update`, the way Uniswap v2's pair writes
//! its reserves only in `_update`; the LP supply changes only in `Pool::mint_lp` and
//! `Pool::burn_lp`. Swaps and liquidity changes are split into a *quote* (pure, `&self`)
//! and an *apply* step, so an agent's plan can be checked against its balance before the
//! pool moves.
//!
//! The trader's amounts are the formulas evaluated directly (within a few ulps of exact).
//! Rounding always favours the pool, as Uniswap's integer floors do: the reserve that
//! absorbs the rounding is nudged by whole ulps until the *exact* product of the stored
//! reserves ([`product_at_least`], an error-free two-product) is not below its old value,
//! so "a swap never lowers k" holds exactly, not just for the rounded `f64` product.

use serde::{Deserialize, Serialize};

/// The dDT/xDAI pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// Swap fee, kept in the pool for liquidity providers.
    pub fee_rate: f64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self { fee_rate: 0.003 }
    }
}

/// Which way a swap goes, named from the trader's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// xDAI in, dDT out.
    BuyDdt,
    /// dDT in, xDAI out.
    SellDdt,
}

/// What a swap would do, computed without moving the pool.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwapQuote {
    /// Which way the swap goes.
    pub side: Side,
    /// Everything the trader pays, fee included (it all enters the reserves).
    pub amount_in: f64,
    /// What the trader receives.
    pub amount_out: f64,
    /// The part of `amount_in` that is the fee, in the input token.
    pub fee: f64,
    /// Input-token reserve after the swap.
    new_reserve_in: f64,
    /// Output-token reserve after the swap.
    new_reserve_out: f64,
}

/// What an executed swap did to the invariant, for the audit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwapReceipt {
    /// The quote that was executed.
    pub quote: SwapQuote,
    /// `x*y` before the swap.
    pub k_before: f64,
    /// `x*y` after the swap, rounded.
    pub k_after: f64,
    /// Whether the exact product of the new reserves is below the old one (never, by
    /// construction; the audit checks it).
    pub lowered_k: bool,
}

/// A liquidity deposit sized like the Uniswap v2 router.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepositQuote {
    /// dDT actually deposited.
    pub ddt: f64,
    /// xDAI actually deposited.
    pub xdai: f64,
    /// LP tokens minted for it.
    pub lp: f64,
}

/// What burning LP tokens returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Withdrawal {
    /// dDT paid out.
    pub ddt: f64,
    /// xDAI paid out.
    pub xdai: f64,
    /// LP tokens burned.
    pub lp: f64,
}

/// One constant-product pool of dDT and xDAI.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Pool {
    ddt_reserve: f64,
    xdai_reserve: f64,
    lp_supply: f64,
}

/// Ulps by which LP mints and withdrawals are rounded down. Each of their two or three
/// `f64` operations may round up by half an ulp; flooring by a few whole ulps keeps
/// "add then remove returns no more than was put in" exact, at a cost of ~1e-15 of the
/// amount, the `f64` analogue of Uniswap losing at most one wei to its integer floors.
const FLOOR_ULPS: usize = 4;

/// `value` lowered by `FLOOR_ULPS` ulps (never below zero).
fn floored(value: f64) -> f64 {
    let mut v = value;
    for _ in 0..FLOOR_ULPS {
        v = v.next_down();
    }
    v.max(0.0)
}

/// A usable amount: above zero and finite (NaN is neither).
fn usable(amount: f64) -> bool {
    amount > 0.0 && amount.is_finite()
}

/// Largest number of one-ulp nudges a rounding guard may take. A correct quote needs at
/// most a handful; the bound keeps a pathological input from looping.
const MAX_NUDGES: usize = 64;

/// `reserve`, raised by whole ulps until `fixed * reserve >= r_in * r_out` holds for the
/// *exact* products (the pool-favouring guard). `None` if no nearby value does, or the
/// numbers are not finite.
#[inline]
fn guard_reserve(fixed: f64, reserve: f64, r_in: f64, r_out: f64) -> Option<f64> {
    if !(fixed.is_finite() && reserve.is_finite()) {
        return None;
    }
    let mut reserve = reserve.max(0.0);
    if product_at_least(fixed, reserve, r_in, r_out) {
        return Some(reserve);
    }
    // Restart near the bound, so the nudges below stay few even when the reserves are
    // twenty orders of magnitude apart.
    let bound = r_in / fixed * r_out;
    if bound.is_finite() {
        reserve = reserve.max(bound);
    }
    for _ in 0..MAX_NUDGES {
        if product_at_least(fixed, reserve, r_in, r_out) {
            return Some(reserve);
        }
        reserve = reserve.next_up();
    }
    None
}

/// A finite, non-negative `f64` as `m * 2^e` with `m` in `[1, 2)`, exactly.
fn split(x: f64) -> (f64, i32) {
    debug_assert!(x > 0.0 && x.is_finite());
    let (x, bias) = if x < f64::MIN_POSITIVE {
        (x * 2f64.powi(64), -64)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    (mantissa, exp + bias)
}

/// The exact product of two positive finite numbers as `(hi, lo, e)`: `(hi + lo) * 2^e`
/// with `hi` in `[1, 4)` and `lo` its exact rounding error (Dekker's two-product through
/// a fused multiply-add). Scaling by powers of two first means nothing over- or
/// underflows, whatever the magnitudes.
fn exact_product(a: f64, b: f64) -> (f64, f64, i32) {
    let (ma, ea) = split(a);
    let (mb, eb) = split(b);
    let hi = ma * mb;
    let lo = ma.mul_add(mb, -hi);
    (hi, lo, ea + eb)
}

/// Whether `a * b >= c * d` exactly, for finite non-negative numbers.
#[inline]
pub fn product_at_least(a: f64, b: f64, c: f64, d: f64) -> bool {
    // Rounding is monotonic, so rounded products that differ are ordered as the exact
    // ones are; only a tie (or an overflow on both sides, or a zero) needs the exact
    // comparison. With any fee at all, that is nearly every swap.
    let (p1, p2) = (a * b, c * d);
    if p1 != p2 && p1.is_finite() && p2.is_finite() && p1 > 0.0 && p2 > 0.0 {
        return p1 > p2;
    }
    exact_product_at_least(a, b, c, d)
}

/// [`product_at_least`] through error-free products, for the rare ties.
#[cold]
#[inline(never)]
fn exact_product_at_least(a: f64, b: f64, c: f64, d: f64) -> bool {
    if c == 0.0 || d == 0.0 {
        return true;
    }
    if a == 0.0 || b == 0.0 {
        return false;
    }
    let (h1, l1, e1) = exact_product(a, b);
    let (h2, l2, e2) = exact_product(c, d);
    // Both products are now (hi + lo) * 2^e with hi + lo in [1, 4); beyond one binade
    // of difference the exponents decide, within one a doubling (exact) lines them up.
    let (h1, l1, h2, l2) = match e1 - e2 {
        d if d >= 2 => return true,
        d if d <= -2 => return false,
        1 => (h1 * 2.0, l1 * 2.0, h2, l2),
        -1 => (h1, l1, h2 * 2.0, l2 * 2.0),
        _ => (h1, l1, h2, l2),
    };
    // With hi the rounded product, a larger hi never means a smaller exact product.
    h1 > h2 || (h1 == h2 && l1 >= l2)
}

impl Pool {
    /// An empty pool. It keeps no fee of its own: each quote is given the fee in force,
    /// whose one home is the governed settings (`market.fee_rate`, which a passed `set`
    /// proposal moves).
    pub fn new() -> Self {
        Self {
            ddt_reserve: 0.0,
            xdai_reserve: 0.0,
            lp_supply: 0.0,
        }
    }

    /// dDT held by the pool.
    pub fn ddt_reserve(&self) -> f64 {
        self.ddt_reserve
    }

    /// xDAI held by the pool.
    pub fn xdai_reserve(&self) -> f64 {
        self.xdai_reserve
    }

    /// LP tokens in existence.
    pub fn lp_supply(&self) -> f64 {
        self.lp_supply
    }

    /// `x*y`.
    pub fn k(&self) -> f64 {
        self.ddt_reserve * self.xdai_reserve
    }

    /// True while either reserve is empty: no price, no swaps.
    pub fn is_empty(&self) -> bool {
        !(self.ddt_reserve > 0.0 && self.xdai_reserve > 0.0)
    }

    /// Spot price in xDAI per dDT, `None` while the pool is empty.
    pub fn price(&self) -> Option<f64> {
        (!self.is_empty()).then(|| self.xdai_reserve / self.ddt_reserve)
    }

    fn reserves_for(&self, side: Side) -> (f64, f64) {
        match side {
            Side::BuyDdt => (self.xdai_reserve, self.ddt_reserve),
            Side::SellDdt => (self.ddt_reserve, self.xdai_reserve),
        }
    }

    /// Quote an exact-input swap: pay `amount_in`, receive
    /// `a(1-f) R_out / (R_in + a(1-f))`, evaluated directly (a few roundings, so within
    /// about an ulp of the exact value). `None` (a visible no-op) when the pool is empty,
    /// the amount is not positive, or the pool cannot pay it out.
    pub fn quote_exact_in(&self, side: Side, amount_in: f64, fee_rate: f64) -> Option<SwapQuote> {
        if self.is_empty() || !usable(amount_in) {
            return None;
        }
        let (r_in, r_out) = self.reserves_for(side);
        let effective = amount_in * (1.0 - fee_rate);
        let amount_out = effective * r_out / (r_in + effective);
        if !usable(amount_out) || amount_out >= r_out {
            return None;
        }
        let new_in = r_in + amount_in;
        // The pool-favouring guard: the output reserve keeps whatever rounding took from
        // the invariant, so the trader is paid the formula's amount.
        let new_out = guard_reserve(new_in, r_out - amount_out, r_in, r_out)?;
        Some(SwapQuote {
            side,
            amount_in,
            amount_out,
            fee: amount_in * fee_rate,
            new_reserve_in: new_in,
            new_reserve_out: new_out,
        })
    }

    /// Quote an exact-output swap: receive `amount_out`, pay
    /// `R_in b / ((R_out - b)(1-f))`, evaluated directly. Requires `0 < amount_out <
    /// R_out`.
    pub fn quote_exact_out(&self, side: Side, amount_out: f64, fee_rate: f64) -> Option<SwapQuote> {
        let (r_in, r_out) = self.reserves_for(side);
        if self.is_empty() || !usable(amount_out) || amount_out >= r_out {
            return None;
        }
        let new_out = r_out - amount_out;
        let amount_in = r_in * amount_out / ((r_out - amount_out) * (1.0 - fee_rate));
        if !usable(amount_in) {
            return None;
        }
        // The guard raises the input reserve, never what the trader was quoted.
        let new_in = guard_reserve(new_out, r_in + amount_in, r_in, r_out)?;
        Some(SwapQuote {
            side,
            amount_in,
            amount_out,
            fee: amount_in * fee_rate,
            new_reserve_in: new_in,
            new_reserve_out: new_out,
        })
    }

    /// Execute a quote made against the current reserves.
    pub fn swap(&mut self, quote: &SwapQuote) -> SwapReceipt {
        let k_before = self.k();
        let (old_ddt, old_xdai) = (self.ddt_reserve, self.xdai_reserve);
        match quote.side {
            Side::BuyDdt => self.update(quote.new_reserve_out, quote.new_reserve_in),
            Side::SellDdt => self.update(quote.new_reserve_in, quote.new_reserve_out),
        }
        SwapReceipt {
            quote: *quote,
            k_before,
            k_after: self.k(),
            lowered_k: !product_at_least(self.ddt_reserve, self.xdai_reserve, old_ddt, old_xdai),
        }
    }

    /// Size a deposit like the Uniswap v2 router: an empty pool takes both amounts as
    /// given and mints `sqrt(x*y)`; otherwise the deposit keeps the pool's ratio, using as
    /// much of both desired amounts as that allows, and mints `min(dx*T/x, dy*T/y)`.
    pub fn quote_deposit(&self, desired_ddt: f64, desired_xdai: f64) -> Option<DepositQuote> {
        if !(usable(desired_ddt) && usable(desired_xdai)) {
            return None;
        }
        if self.lp_supply <= 0.0 || self.is_empty() {
            return Some(DepositQuote {
                ddt: desired_ddt,
                xdai: desired_xdai,
                lp: (desired_ddt * desired_xdai).sqrt(),
            });
        }
        let (d, x, t) = (self.ddt_reserve, self.xdai_reserve, self.lp_supply);
        // As the router asserts, neither amount may exceed what was offered; the `min`
        // stops the one-ulp overshoot that `f64` division can produce.
        let xdai_optimal = desired_ddt * x / d;
        let (ddt, xdai) = if xdai_optimal <= desired_xdai {
            (desired_ddt, xdai_optimal)
        } else {
            ((desired_xdai * d / x).min(desired_ddt), desired_xdai)
        };
        let lp = floored((ddt * t / d).min(xdai * t / x));
        (lp > 0.0).then_some(DepositQuote { ddt, xdai, lp })
    }

    /// Execute a deposit quote made against the current reserves.
    pub fn deposit(&mut self, quote: &DepositQuote) {
        self.update(self.ddt_reserve + quote.ddt, self.xdai_reserve + quote.xdai);
        self.mint_lp(quote.lp);
    }

    /// Burn `lp` tokens for the pro-rata share of both reserves. Amounts are floored (in
    /// the pool's favour) unless the whole supply is burned.
    pub fn withdraw(&mut self, lp: f64) -> Option<Withdrawal> {
        if !usable(lp) || lp > self.lp_supply {
            return None;
        }
        let (ddt, xdai) = if lp == self.lp_supply {
            (self.ddt_reserve, self.xdai_reserve)
        } else {
            (
                floored(self.ddt_reserve * lp / self.lp_supply),
                floored(self.xdai_reserve * lp / self.lp_supply),
            )
        };
        self.update(self.ddt_reserve - ddt, self.xdai_reserve - xdai);
        self.burn_lp(lp);
        Some(Withdrawal { ddt, xdai, lp })
    }

    /// The one place reserves are written (Uniswap v2's `_update`).
    fn update(&mut self, ddt_reserve: f64, xdai_reserve: f64) {
        debug_assert!(ddt_reserve >= 0.0 && xdai_reserve >= 0.0);
        self.ddt_reserve = ddt_reserve;
        self.xdai_reserve = xdai_reserve;
    }

    /// Scale the dDT reserve by a demurrage factor, as a pair holding a decaying token
    /// would see after `sync()`: the pool does not trade, its balance simply shrinks.
    pub fn sync_ddt_decay(&mut self, factor: f64) {
        self.update(self.ddt_reserve * factor, self.xdai_reserve);
    }

    fn mint_lp(&mut self, lp: f64) {
        self.lp_supply += lp;
    }

    fn burn_lp(&mut self, lp: f64) {
        self.lp_supply = if lp >= self.lp_supply {
            0.0
        } else {
            self.lp_supply - lp
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's fee, for tests where any fee would do.
    const FEE: f64 = 0.003;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    fn seeded(ddt: f64, xdai: f64) -> Pool {
        let mut pool = Pool::new();
        let q = pool.quote_deposit(ddt, xdai).unwrap();
        pool.deposit(&q);
        pool
    }

    #[test]
    fn empty_pool_has_no_price_and_refuses_swaps() {
        let pool = Pool::new();
        assert_eq!(pool.price(), None);
        assert!(pool.quote_exact_in(Side::SellDdt, 1.0, FEE).is_none());
        assert!(pool.quote_exact_out(Side::BuyDdt, 1.0, FEE).is_none());
    }

    #[test]
    fn zero_or_negative_amounts_are_no_ops() {
        let pool = seeded(100.0, 100.0);
        assert!(pool.quote_exact_in(Side::SellDdt, 0.0, FEE).is_none());
        assert!(pool.quote_exact_in(Side::SellDdt, -1.0, FEE).is_none());
        assert!(pool.quote_exact_out(Side::BuyDdt, 0.0, FEE).is_none());
        assert!(
            pool.quote_exact_out(Side::BuyDdt, 100.0, FEE).is_none(),
            "b must be < R_out"
        );
    }

    /// Hand-computed table: (R_in, R_out, fee, a) -> out = a(1-f)R_out/(R_in + a(1-f)).
    #[test]
    fn exact_input_table() {
        let table = [
            // 10 * 0.997 * 1000 / (1000 + 9.97) = 9970 / 1009.97
            (1000.0, 1000.0, 0.003, 10.0, 9970.0 / 1009.97),
            // no fee: 50 * 200 / (100 + 50) = 66.666...
            (100.0, 200.0, 0.0, 50.0, 200.0 / 3.0),
            // 1% fee: 1 * 0.99 * 10 / (10 + 0.99) = 9.9 / 10.99
            (10.0, 10.0, 0.01, 1.0, 9.9 / 10.99),
        ];
        for (r_in, r_out, fee, a, expected) in table {
            let pool = seeded(r_in, r_out);
            let q = pool.quote_exact_in(Side::SellDdt, a, fee).unwrap();
            assert!(
                close(q.amount_out, expected),
                "{} vs {expected}",
                q.amount_out
            );
            assert!(close(q.fee, a * fee));
        }
    }

    /// Hand-computed table: (R_in, R_out, fee, b) -> in = R_in b / ((R_out - b)(1-f)).
    #[test]
    fn exact_output_table() {
        let table = [
            // 1000 * 10 / (990 * 0.997) = 10000 / 987.03
            (1000.0, 1000.0, 0.003, 10.0, 10000.0 / 987.03),
            // no fee: 100 * 50 / 150 = 33.333...
            (100.0, 200.0, 0.0, 50.0, 100.0 / 3.0),
        ];
        for (r_in, r_out, fee, b, expected) in table {
            // BuyDdt: R_in is the xDAI reserve, R_out the dDT reserve.
            let pool = seeded(r_out, r_in);
            let q = pool.quote_exact_out(Side::BuyDdt, b, fee).unwrap();
            assert!(
                close(q.amount_in, expected),
                "{} vs {expected}",
                q.amount_in
            );
            assert!(close(q.amount_out, b));
        }
    }

    #[test]
    fn fee_stays_in_the_pool() {
        let mut pool = seeded(1000.0, 1000.0);
        let q = pool.quote_exact_in(Side::BuyDdt, 10.0, FEE).unwrap();
        let r = pool.swap(&q);
        assert_eq!(
            pool.xdai_reserve(),
            1010.0,
            "whole input, fee included, enters"
        );
        assert!(r.k_after > r.k_before);
    }

    #[test]
    fn first_deposit_mints_geometric_mean() {
        let pool = seeded(10.0, 40.0);
        assert_eq!(pool.lp_supply(), 20.0);
        assert_eq!(pool.price(), Some(4.0));
    }

    #[test]
    fn router_keeps_the_ratio() {
        // Pool 100 dDT : 50 xDAI (price 0.5). Desired 10 dDT, 10 xDAI: only 5 xDAI fit.
        let pool = seeded(100.0, 50.0);
        let t = pool.lp_supply();
        let q = pool.quote_deposit(10.0, 10.0).unwrap();
        assert_eq!((q.ddt, q.xdai), (10.0, 5.0));
        assert!(close(q.lp, 10.0 * t / 100.0));
        // Desired 10 dDT, 2 xDAI: xDAI binds, 4 dDT used.
        let q = pool.quote_deposit(10.0, 2.0).unwrap();
        assert_eq!((q.ddt, q.xdai), (4.0, 2.0));
    }

    #[test]
    fn withdrawing_everything_empties_the_pool() {
        let mut pool = seeded(10.0, 10.0);
        let w = pool.withdraw(pool.lp_supply()).unwrap();
        assert_eq!((w.ddt, w.xdai), (10.0, 10.0));
        assert!(pool.is_empty());
        assert_eq!(pool.lp_supply(), 0.0);
    }
}
