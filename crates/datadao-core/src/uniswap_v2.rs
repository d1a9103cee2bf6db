//! The Uniswap v2 pair and router exactly, in whole wei: what the deployed bytecode
//! computes, floors in the pair's favour and all, for the wei mode and its proof.
//!
//! Sources, `@uniswap/v2-core@1.0.1` and `@uniswap/v2-periphery@1.1.0-beta.0`:
//! `UniswapV2Pair.sol` (`mint`, `burn`, `swap`, `_update`, `MINIMUM_LIQUIDITY`),
//! `Math.sol` (`sqrt`, Babylonian), `UniswapV2Library.sol` (`getAmountOut`,
//! `getAmountIn` with its +1, `quote`) and `UniswapV2Router02.sol` (`_addLiquidity`).
//! Every `require` of those functions is a [`PairError`] named by its revert string.
//!
//! The fee is in parts per million (`fee_ppm`); the deployed pair knows only 3000 (0.3%),
//! where every formula here is the pair's own, with 997/1000 and its 1000^2 K scale
//! (a fee of whole per mille is computed per mille, any other per million). The factory's protocol fee (`feeTo`) is
//! off, as on a fresh factory, so `kLast` plays no part.
//!
//! Nothing here is wired into the engine yet: these functions are the wei mode's
//! market, proven against the real pair and router (`crates/datadao-evm`, tests `pair.rs`
//! and `router.rs`).

use ruint::aliases::U256;

/// Liquidity locked forever at the first mint (`MINIMUM_LIQUIDITY`).
pub const MINIMUM_LIQUIDITY: u64 = 1000;

/// The deployed pair's fee, in parts per million (0.3%).
pub const PAIR_FEE_PPM: u64 = 3000;

/// Parts per million.
const PPM: u64 = 1_000_000;

/// The scale a fee is computed at and the share of an input that counts after it:
/// per mille when the fee is a whole number of per mille (the pair's 3000 ppm is 3 of
/// 1000, its own constants, so even the overflow reverts of its `SafeMath` come at the
/// same amounts), else per million.
fn fee_scale(fee_ppm: u64) -> (U256, U256) {
    if fee_ppm.is_multiple_of(1000) {
        (U256::from(1000u64), U256::from(1000 - fee_ppm / 1000))
    } else {
        (U256::from(PPM), U256::from(PPM - fee_ppm))
    }
}

/// Largest reserve (`uint112(-1)`): `_update` reverts above it.
pub fn max_reserve() -> U256 {
    (U256::from(1u8) << 112) - U256::from(1u8)
}

/// Why the pair or the router would revert, by its revert string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairError {
    /// `UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT` or the pair's
    /// `UniswapV2: INSUFFICIENT_INPUT_AMOUNT`.
    InsufficientInputAmount,
    /// `INSUFFICIENT_OUTPUT_AMOUNT`.
    InsufficientOutputAmount,
    /// `INSUFFICIENT_LIQUIDITY`: an empty reserve, or an output of a whole reserve.
    InsufficientLiquidity,
    /// `UniswapV2Library: INSUFFICIENT_AMOUNT` (`quote` of zero).
    InsufficientAmount,
    /// `UniswapV2: INSUFFICIENT_LIQUIDITY_MINTED`.
    InsufficientLiquidityMinted,
    /// `UniswapV2: INSUFFICIENT_LIQUIDITY_BURNED`.
    InsufficientLiquidityBurned,
    /// `UniswapV2: K`: the swap would lower the product of the balances net of fees.
    K,
    /// `UniswapV2: OVERFLOW`: a reserve above `uint112(-1)`.
    Overflow,
    /// `ds-math-*` (SafeMath): an arithmetic overflow or underflow.
    Math,
    /// `UniswapV2Router: INSUFFICIENT_A_AMOUNT` / `_B_AMOUNT`.
    RouterMinimum,
}

impl PairError {
    /// The revert string the contracts give.
    pub fn reason(self) -> &'static str {
        match self {
            PairError::InsufficientInputAmount => "INSUFFICIENT_INPUT_AMOUNT",
            PairError::InsufficientOutputAmount => "INSUFFICIENT_OUTPUT_AMOUNT",
            PairError::InsufficientLiquidity => "INSUFFICIENT_LIQUIDITY",
            PairError::InsufficientAmount => "INSUFFICIENT_AMOUNT",
            PairError::InsufficientLiquidityMinted => "INSUFFICIENT_LIQUIDITY_MINTED",
            PairError::InsufficientLiquidityBurned => "INSUFFICIENT_LIQUIDITY_BURNED",
            PairError::K => "K",
            PairError::Overflow => "OVERFLOW",
            PairError::Math => "ds-math",
            PairError::RouterMinimum => "INSUFFICIENT_A_AMOUNT or INSUFFICIENT_B_AMOUNT",
        }
    }
}

type Result<T> = std::result::Result<T, PairError>;

fn mul(a: U256, b: U256) -> Result<U256> {
    a.checked_mul(b).ok_or(PairError::Math)
}

fn add(a: U256, b: U256) -> Result<U256> {
    a.checked_add(b).ok_or(PairError::Math)
}

fn sub(a: U256, b: U256) -> Result<U256> {
    a.checked_sub(b).ok_or(PairError::Math)
}

/// `Math.sqrt`: the Babylonian method exactly as the pair's library runs it (the
/// floor of the square root).
pub fn sqrt(y: U256) -> U256 {
    let three = U256::from(3u8);
    if y > three {
        let mut z = y;
        let mut x = y / U256::from(2u8) + U256::from(1u8);
        while x < z {
            z = x;
            x = (y / x + x) / U256::from(2u8);
        }
        z
    } else if y != U256::ZERO {
        U256::from(1u8)
    } else {
        U256::ZERO
    }
}

/// `UniswapV2Library.getAmountOut`: what `amount_in` buys, net of the fee.
pub fn get_amount_out(
    amount_in: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee_ppm: u64,
) -> Result<U256> {
    if amount_in == U256::ZERO {
        return Err(PairError::InsufficientInputAmount);
    }
    if reserve_in == U256::ZERO || reserve_out == U256::ZERO {
        return Err(PairError::InsufficientLiquidity);
    }
    let (scale, keep) = fee_scale(fee_ppm);
    let with_fee = mul(amount_in, keep)?;
    let numerator = mul(with_fee, reserve_out)?;
    let denominator = add(mul(reserve_in, scale)?, with_fee)?;
    Ok(numerator / denominator)
}

/// `UniswapV2Library.getAmountIn`: the input that buys `amount_out`, rounded up by the
/// library's `+ 1`.
pub fn get_amount_in(
    amount_out: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee_ppm: u64,
) -> Result<U256> {
    if amount_out == U256::ZERO {
        return Err(PairError::InsufficientOutputAmount);
    }
    if reserve_in == U256::ZERO || reserve_out == U256::ZERO {
        return Err(PairError::InsufficientLiquidity);
    }
    let (scale, keep) = fee_scale(fee_ppm);
    let numerator = mul(mul(reserve_in, amount_out)?, scale)?;
    let denominator = mul(sub(reserve_out, amount_out)?, keep)?;
    if denominator == U256::ZERO {
        // Solidity's division by zero: the call reverts.
        return Err(PairError::Math);
    }
    add(numerator / denominator, U256::from(1u8))
}

/// `UniswapV2Library.quote`: `amount_a` of A in B at the reserves' ratio, floored.
pub fn quote(amount_a: U256, reserve_a: U256, reserve_b: U256) -> Result<U256> {
    if amount_a == U256::ZERO {
        return Err(PairError::InsufficientAmount);
    }
    if reserve_a == U256::ZERO || reserve_b == U256::ZERO {
        return Err(PairError::InsufficientLiquidity);
    }
    Ok(mul(amount_a, reserve_b)? / reserve_a)
}

/// `UniswapV2Router02._addLiquidity`: the amounts of A and B a deposit of at most
/// `desired` sends, at the pool's ratio (all of both into an empty pool).
pub fn add_liquidity_amounts(
    reserve_a: U256,
    reserve_b: U256,
    desired_a: U256,
    desired_b: U256,
    min_a: U256,
    min_b: U256,
) -> Result<(U256, U256)> {
    if reserve_a == U256::ZERO && reserve_b == U256::ZERO {
        return Ok((desired_a, desired_b));
    }
    let b_optimal = quote(desired_a, reserve_a, reserve_b)?;
    if b_optimal <= desired_b {
        if b_optimal < min_b {
            return Err(PairError::RouterMinimum);
        }
        return Ok((desired_a, b_optimal));
    }
    let a_optimal = quote(desired_b, reserve_b, reserve_a)?;
    // The router asserts this; it holds whenever b_optimal > desired_b.
    if a_optimal > desired_a || a_optimal < min_a {
        return Err(PairError::RouterMinimum);
    }
    Ok((a_optimal, desired_b))
}

/// A pair's state: its reserves and its LP supply (the locked `MINIMUM_LIQUIDITY`
/// included). Every change goes through `update`, as the contract's `_update`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pair {
    /// Reserve of token0.
    pub reserve0: U256,
    /// Reserve of token1.
    pub reserve1: U256,
    /// LP tokens in existence.
    pub total_supply: U256,
}

impl Pair {
    /// `_update`: the new reserves, refused above `uint112(-1)`.
    fn update(&mut self, balance0: U256, balance1: U256) -> Result<()> {
        let max = max_reserve();
        if balance0 > max || balance1 > max {
            return Err(PairError::Overflow);
        }
        self.reserve0 = balance0;
        self.reserve1 = balance1;
        Ok(())
    }

    /// `mint` after `amount0` and `amount1` were sent to the pair: the LP tokens minted
    /// to the depositor (`MINIMUM_LIQUIDITY` more are locked at the first mint).
    pub fn mint(&mut self, amount0: U256, amount1: U256) -> Result<U256> {
        let balance0 = add(self.reserve0, amount0)?;
        let balance1 = add(self.reserve1, amount1)?;
        let locked = U256::from(MINIMUM_LIQUIDITY);
        let (liquidity, supply) = if self.total_supply == U256::ZERO {
            let liquidity = sub(sqrt(mul(amount0, amount1)?), locked)?;
            (liquidity, locked)
        } else {
            let a = mul(amount0, self.total_supply)? / self.reserve0;
            let b = mul(amount1, self.total_supply)? / self.reserve1;
            (a.min(b), self.total_supply)
        };
        if liquidity == U256::ZERO {
            return Err(PairError::InsufficientLiquidityMinted);
        }
        let total = add(supply, liquidity)?;
        self.update(balance0, balance1)?;
        self.total_supply = total;
        Ok(liquidity)
    }

    /// `burn` of `liquidity` LP tokens sent to the pair: the amounts paid out, pro rata
    /// and floored.
    pub fn burn(&mut self, liquidity: U256) -> Result<(U256, U256)> {
        if self.total_supply == U256::ZERO || liquidity > self.total_supply {
            return Err(PairError::Math);
        }
        let amount0 = mul(liquidity, self.reserve0)? / self.total_supply;
        let amount1 = mul(liquidity, self.reserve1)? / self.total_supply;
        if amount0 == U256::ZERO || amount1 == U256::ZERO {
            return Err(PairError::InsufficientLiquidityBurned);
        }
        let balance0 = self.reserve0 - amount0;
        let balance1 = self.reserve1 - amount1;
        self.update(balance0, balance1)?;
        self.total_supply -= liquidity;
        Ok((amount0, amount1))
    }

    /// `swap` of `amount0_out` and `amount1_out` after `amount0_in` and `amount1_in` were
    /// sent to the pair, with the K check net of the fee (`fee_ppm`) on the inputs.
    pub fn swap(
        &mut self,
        amount0_in: U256,
        amount1_in: U256,
        amount0_out: U256,
        amount1_out: U256,
        fee_ppm: u64,
    ) -> Result<()> {
        if amount0_out == U256::ZERO && amount1_out == U256::ZERO {
            return Err(PairError::InsufficientOutputAmount);
        }
        if amount0_out >= self.reserve0 || amount1_out >= self.reserve1 {
            return Err(PairError::InsufficientLiquidity);
        }
        let balance0 = sub(add(self.reserve0, amount0_in)?, amount0_out)?;
        let balance1 = sub(add(self.reserve1, amount1_in)?, amount1_out)?;
        // What came in, as the pair measures it from its balances.
        let in0 = if balance0 > self.reserve0 - amount0_out {
            balance0 - (self.reserve0 - amount0_out)
        } else {
            U256::ZERO
        };
        let in1 = if balance1 > self.reserve1 - amount1_out {
            balance1 - (self.reserve1 - amount1_out)
        } else {
            U256::ZERO
        };
        if in0 == U256::ZERO && in1 == U256::ZERO {
            return Err(PairError::InsufficientInputAmount);
        }
        let (scale, keep) = fee_scale(fee_ppm);
        let fee = scale - keep;
        let adjusted0 = sub(mul(balance0, scale)?, mul(in0, fee)?)?;
        let adjusted1 = sub(mul(balance1, scale)?, mul(in1, fee)?)?;
        let lhs = mul(adjusted0, adjusted1)?;
        let rhs = mul(mul(self.reserve0, self.reserve1)?, scale * scale)?;
        if lhs < rhs {
            return Err(PairError::K);
        }
        self.update(balance0, balance1)
    }

    /// A router swap of exactly `amount_in` of token0 (`zero_for_one`) or token1: the
    /// output `getAmountOut` quotes, swapped.
    pub fn swap_exact_in(
        &mut self,
        amount_in: U256,
        zero_for_one: bool,
        fee_ppm: u64,
    ) -> Result<U256> {
        let (r_in, r_out) = if zero_for_one {
            (self.reserve0, self.reserve1)
        } else {
            (self.reserve1, self.reserve0)
        };
        let out = get_amount_out(amount_in, r_in, r_out, fee_ppm)?;
        if zero_for_one {
            self.swap(amount_in, U256::ZERO, U256::ZERO, out, fee_ppm)?;
        } else {
            self.swap(U256::ZERO, amount_in, out, U256::ZERO, fee_ppm)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(v: u128) -> U256 {
        U256::from(v)
    }

    const E: u128 = 1_000_000_000_000_000_000;

    /// By hand (integer arithmetic as the library does it):
    /// out(1e18, 100e18, 100e18) = 997e18 * 100e18 / (100e18 * 1000 + 997e18)
    ///                           = 987158034397061298;
    /// in(1e18, 100e18, 100e18)  = 100e18 * 1e18 * 1000 / (99e18 * 997) + 1
    ///                           = 1013140431395195689;
    /// out(1, 1e6, 1e6) = 997e6 / (1e9 + 997) = 0; out(1000, 1000, 1000) = 499;
    /// in(1, 1000, 1000) = 1e6 / (999 * 997) + 1 = 2.
    #[test]
    fn the_library_formulas_by_hand() {
        let f = PAIR_FEE_PPM;
        assert_eq!(
            get_amount_out(u(E), u(100 * E), u(100 * E), f).unwrap(),
            u(987_158_034_397_061_298)
        );
        assert_eq!(
            get_amount_in(u(E), u(100 * E), u(100 * E), f).unwrap(),
            u(1_013_140_431_395_195_689)
        );
        assert_eq!(
            get_amount_out(u(1), u(1_000_000), u(1_000_000), f).unwrap(),
            u(0)
        );
        assert_eq!(
            get_amount_out(u(1000), u(1000), u(1000), f).unwrap(),
            u(499)
        );
        assert_eq!(get_amount_in(u(1), u(1000), u(1000), f).unwrap(), u(2));
        assert_eq!(
            get_amount_in(u(1000), u(1000), u(1000), f),
            Err(PairError::Math)
        );
        assert_eq!(
            get_amount_out(u(0), u(1), u(1), f),
            Err(PairError::InsufficientInputAmount)
        );
        assert_eq!(quote(u(3), u(2), u(5)).unwrap(), u(7));
    }

    /// The first mint: sqrt(10e18 * 40e18) - 1000 = 19999999999999999000 to the
    /// depositor, 1000 locked; a mint below sqrt 1001 is refused.
    #[test]
    fn mints_lock_the_minimum_liquidity_and_burns_pay_pro_rata() {
        let mut p = Pair::default();
        let lp = p.mint(u(10 * E), u(40 * E)).unwrap();
        assert_eq!(lp, u(19_999_999_999_999_999_000));
        assert_eq!(p.total_supply, u(20 * E));
        // Half the pool's LP supply in the second deposit at the same ratio.
        let second = p.mint(u(5 * E), u(20 * E)).unwrap();
        assert_eq!(second, u(10 * E));
        let (a, b) = p.burn(second).unwrap();
        assert_eq!((a, b), (u(5 * E), u(20 * E)));
        let mut tiny = Pair::default();
        assert_eq!(
            tiny.mint(u(1000), u(1000)),
            Err(PairError::InsufficientLiquidityMinted)
        );
        assert_eq!(tiny.mint(u(999), u(1000)), Err(PairError::Math));
        assert_eq!(sqrt(u(0)), u(0));
        assert_eq!(sqrt(u(3)), u(1));
        assert_eq!(sqrt(u(4)), u(2));
        assert_eq!(sqrt(u(99)), u(9));
    }

    #[test]
    fn reserves_above_uint112_are_refused() {
        let mut p = Pair::default();
        let max = max_reserve();
        p.mint(max, max).unwrap();
        assert_eq!(
            p.swap_exact_in(u(1 << 20), true, PAIR_FEE_PPM),
            Err(PairError::Overflow)
        );
        // One wei in buys nothing: the router would send a swap of zero out.
        assert_eq!(
            p.swap_exact_in(u(1), true, PAIR_FEE_PPM),
            Err(PairError::InsufficientOutputAmount)
        );
    }

    proptest! {
        /// A swap at the quoted output passes the K check, one wei more does not, and the
        /// product of the reserves never falls.
        #[test]
        fn quoted_swaps_pass_k_and_one_wei_more_fails(
            r0 in 1_001u128..(1u128 << 100),
            r1 in 1_001u128..(1u128 << 100),
            amount in 1u128..(1u128 << 90),
            zero_for_one in any::<bool>(),
            fee_ppm in prop_oneof![Just(3000u64), 0u64..100_000],
        ) {
            let mut p = Pair::default();
            p.mint(u(r0), u(r1)).unwrap();
            let k = p.reserve0 * p.reserve1;
            let (r_in, r_out) = if zero_for_one { (p.reserve0, p.reserve1) } else { (p.reserve1, p.reserve0) };
            let out = get_amount_out(u(amount), r_in, r_out, fee_ppm).unwrap();
            if out > U256::ZERO && out < r_out {
                let mut greedy = p;
                let more = out + u(1);
                let r = if zero_for_one {
                    greedy.swap(u(amount), U256::ZERO, U256::ZERO, more, fee_ppm)
                } else {
                    greedy.swap(U256::ZERO, u(amount), more, U256::ZERO, fee_ppm)
                };
                prop_assert!(r.is_err());
                p.swap_exact_in(u(amount), zero_for_one, fee_ppm).unwrap();
                prop_assert!(p.reserve0 * p.reserve1 >= k);
            }
        }

        /// getAmountIn buys at least the output it was asked for.
        #[test]
        fn amount_in_buys_the_amount_out(
            r_in in 1u128..(1u128 << 100),
            r_out in 2u128..(1u128 << 100),
            frac in 1u64..1_000_000,
        ) {
            let want = (u(r_out) * U256::from(frac) / U256::from(1_000_000u64)).max(u(1));
            if want < u(r_out) {
                let pay = get_amount_in(want, u(r_in), u(r_out), PAIR_FEE_PPM).unwrap();
                let got = get_amount_out(pay, u(r_in), u(r_out), PAIR_FEE_PPM).unwrap();
                prop_assert!(got >= want);
            }
        }
    }
}
