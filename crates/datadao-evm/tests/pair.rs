//! datadao's wei-mode pool (`datadao_core::uniswap_v2`) against the deployed Uniswap v2
//! pair's bytecode in revm: 100,000 random swaps, deposits and withdrawals, in pools
//! from near-empty to near the uint112 cap, each compared call by call (the output or
//! the revert reason) and reserve by reserve.
//!
//! Needs the bytecode of `scripts/fetch-contracts`. Without it the test fails when
//! `DATADAO_REQUIRE_CONTRACTS=1` (as `.ci/run` sets it) and otherwise says loudly that it
//! skipped.

use datadao_core::uniswap_v2::{self as v2, Pair, PairError, PAIR_FEE_PPM};
use datadao_evm::{contracts_or_skip, PairOnChain};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use revm::primitives::U256;

/// Whether the chain's revert is the one the model predicts.
fn same_revert(model: PairError, chain: &str) -> bool {
    match model {
        PairError::Math => chain.starts_with("ds-math"),
        other => chain == format!("UniswapV2: {}", other.reason()),
    }
}

/// A number between 1 and `2 * scale`, spread over its orders of magnitude.
fn amount(rng: &mut ChaCha8Rng, scale: U256) -> U256 {
    let bits = 256 - scale.leading_zeros() as u32 + 1;
    let b = rng.gen_range(0..=bits.min(200));
    let hi = if b == 0 {
        U256::from(1u8)
    } else {
        U256::from(1u8) << b
    };
    let low: u128 = rng.gen();
    (U256::from(low) % hi).max(U256::from(1u8))
}

#[test]
fn a_hundred_thousand_calls_match_the_real_pair() {
    let Some(contracts) = contracts_or_skip("the pair proof") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(20241);
    let supply = U256::from(1u8) << 255;
    let (mut calls, mut reverts) = (0u64, 0u64);
    let episodes = 50;
    for episode in 0..episodes {
        let mut chain = PairOnChain::deploy(&contracts, supply).unwrap();
        let mut model = Pair::default();
        // Pools near empty, ordinary, and near the uint112 cap.
        let scale = match episode % 5 {
            0 => U256::from(rng.gen_range(1_001u64..5_000)),
            1 | 2 => U256::from(10u8).pow(U256::from(rng.gen_range(18u8..25))),
            3 => U256::from(1u8) << rng.gen_range(60..90),
            _ => (U256::from(1u8) << 111) + U256::from(rng.gen::<u64>()),
        };
        let first = (
            scale,
            scale * U256::from(rng.gen_range(1u8..5)) / U256::from(2u8),
        );
        let first = (
            first.0,
            first.1.max(U256::from(1_001u32)).min(v2::max_reserve()),
        );
        for step in 0..2_000 {
            let kind = if step == 0 {
                100
            } else {
                rng.gen_range(0..100)
            };
            calls += 1;
            match kind {
                0..=69 => {
                    // A router swap of an exact input, or (one in ten) one wei greedier.
                    let zero_for_one = rng.gen::<bool>();
                    let reserve_in = if zero_for_one {
                        model.reserve0
                    } else {
                        model.reserve1
                    };
                    let amount_in = amount(&mut rng, reserve_in.max(U256::from(1u8)));
                    let reserve_out = if zero_for_one {
                        model.reserve1
                    } else {
                        model.reserve0
                    };
                    let quoted =
                        v2::get_amount_out(amount_in, reserve_in, reserve_out, PAIR_FEE_PPM)
                            .unwrap_or(U256::ZERO);
                    let out = if rng.gen_range(0..10) == 0 {
                        quoted + U256::from(1u8)
                    } else {
                        quoted
                    };
                    let mut next = model;
                    let (in0, in1, out0, out1) = if zero_for_one {
                        (amount_in, U256::ZERO, U256::ZERO, out)
                    } else {
                        (U256::ZERO, amount_in, out, U256::ZERO)
                    };
                    let expected = next.swap(in0, in1, out0, out1, PAIR_FEE_PPM);
                    let got = chain.swap(amount_in, out, zero_for_one).unwrap();
                    match (&expected, &got) {
                        (Ok(()), Ok(_)) => model = next,
                        (Err(m), Err(c)) if same_revert(*m, c) => reverts += 1,
                        _ => panic!(
                            "episode {episode} call {step}: swap {amount_in} in, {out} out ({zero_for_one}): model {expected:?}, pair {got:?}, reserves {model:?}"
                        ),
                    }
                }
                70..=84 | 100 => {
                    let (a0, a1) = if kind == 100 {
                        first
                    } else {
                        (
                            amount(&mut rng, model.reserve0),
                            amount(&mut rng, model.reserve1),
                        )
                    };
                    let mut next = model;
                    let expected = next.mint(a0, a1);
                    let got = chain.mint(a0, a1).unwrap();
                    match (&expected, &got) {
                        (Ok(l), Ok(g)) if l == g => model = next,
                        (Err(m), Err(c)) if same_revert(*m, c) => reverts += 1,
                        _ => panic!(
                            "episode {episode} call {step}: mint {a0}, {a1}: model {expected:?}, pair {got:?}, state {model:?}"
                        ),
                    }
                }
                _ => {
                    // Withdraw a share of the trader's LP tokens (all but the locked ones).
                    let mine = model.total_supply - U256::from(v2::MINIMUM_LIQUIDITY);
                    if mine == U256::ZERO {
                        continue;
                    }
                    let liquidity = amount(&mut rng, mine).min(mine);
                    let mut next = model;
                    let expected = next.burn(liquidity);
                    let got = chain.burn(liquidity).unwrap();
                    match (&expected, &got) {
                        (Ok(a), Ok(b)) if a == b => model = next,
                        (Err(m), Err(c)) if same_revert(*m, c) => reverts += 1,
                        _ => panic!(
                            "episode {episode} call {step}: burn {liquidity}: model {expected:?}, pair {got:?}, state {model:?}"
                        ),
                    }
                }
            }
            let (r0, r1) = chain.reserves().unwrap();
            assert_eq!(
                (r0, r1),
                (model.reserve0, model.reserve1),
                "episode {episode} call {step}: reserves"
            );
            assert_eq!(
                chain.total_supply().unwrap(),
                model.total_supply,
                "episode {episode} call {step}: LP supply"
            );
        }
    }
    assert!(calls >= 100_000, "{calls} calls");
    eprintln!("{calls} calls compared with the real UniswapV2Pair, {reverts} reverts, all equal");
    // The edges were reached: reverts of several kinds happened.
    assert!(reverts > 1_000, "{reverts} reverts");
}
