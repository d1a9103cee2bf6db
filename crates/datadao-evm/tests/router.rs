//! The router's side of datadao's wei-mode pool (`datadao_core::uniswap_v2`) against the
//! real `UniswapV2Router02` in revm: `addLiquidity` sized by `_addLiquidity`,
//! `swapExactTokensForTokens` quoted by `getAmountOut` and `swapTokensForExactTokens`
//! by `getAmountIn` (its +1), with the router's own limits; 20,000 calls, each result or
//! revert and the reserves after it compared.
//!
//! Needs the bytecode of `scripts/fetch-contracts`, like `tests/pair.rs`.

use datadao_core::uniswap_v2::{self as v2, Pair, PAIR_FEE_PPM};
use datadao_evm::{contracts_or_skip, PairOnChain};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use revm::primitives::U256;

fn amount(rng: &mut ChaCha8Rng, scale: U256) -> U256 {
    let bits = 256 - scale.leading_zeros() as u32 + 1;
    let b = rng.gen_range(0..=bits.min(200));
    let hi = if b == 0 {
        U256::from(1u8)
    } else {
        U256::from(1u8) << b
    };
    (U256::from(rng.gen::<u128>()) % hi).max(U256::from(1u8))
}

#[test]
fn twenty_thousand_router_calls_match_the_real_router() {
    let Some(contracts) = contracts_or_skip("the router proof") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut calls, mut reverts) = (0u64, 0u64);
    for episode in 0..10 {
        let mut chain = PairOnChain::deploy(&contracts, U256::from(1u8) << 200).unwrap();
        let router = chain.deploy_router(&contracts).unwrap();
        let mut model = Pair::default();
        let scale = U256::from(10u8).pow(U256::from(rng.gen_range(3u8..26)));
        for step in 0..2_000 {
            calls += 1;
            let kind = if step == 0 { 0 } else { rng.gen_range(0..10) };
            match kind {
                0..=2 => {
                    let desired = [amount(&mut rng, scale), amount(&mut rng, scale)];
                    let expected = v2::add_liquidity_amounts(
                        model.reserve0,
                        model.reserve1,
                        desired[0],
                        desired[1],
                        U256::ZERO,
                        U256::ZERO,
                    )
                    .and_then(|(a, b)| {
                        let mut next = model;
                        next.mint(a, b).map(|l| ([a, b, l], next))
                    });
                    let got = chain
                        .router_add_liquidity(router, desired, [U256::ZERO; 2])
                        .unwrap();
                    match (&expected, &got) {
                        (Ok((e, next)), Ok(g)) if e == g => model = *next,
                        (Err(_), Err(_)) => reverts += 1,
                        _ => panic!("episode {episode} call {step}: addLiquidity {desired:?}: model {expected:?}, router {got:?}, pool {model:?}"),
                    }
                }
                _ => {
                    let zero_for_one = rng.gen::<bool>();
                    let exact_in = rng.gen::<bool>();
                    let (r_in, r_out) = if zero_for_one {
                        (model.reserve0, model.reserve1)
                    } else {
                        (model.reserve1, model.reserve0)
                    };
                    let amt = amount(&mut rng, if exact_in { r_in } else { r_out });
                    let quote = if exact_in {
                        v2::get_amount_out(amt, r_in, r_out, PAIR_FEE_PPM).map(|out| [amt, out])
                    } else {
                        v2::get_amount_in(amt, r_in, r_out, PAIR_FEE_PPM).map(|pay| [pay, amt])
                    };
                    let expected = quote.and_then(|[pay, out]| {
                        let mut next = model;
                        let (i0, i1, o0, o1) = if zero_for_one {
                            (pay, U256::ZERO, U256::ZERO, out)
                        } else {
                            (U256::ZERO, pay, out, U256::ZERO)
                        };
                        next.swap(i0, i1, o0, o1, PAIR_FEE_PPM)
                            .map(|()| ([pay, out], next))
                    });
                    let limit = if exact_in { U256::ZERO } else { U256::MAX };
                    let got = chain
                        .router_swap(router, exact_in, amt, limit, zero_for_one)
                        .unwrap();
                    match (&expected, &got) {
                        (Ok((e, next)), Ok(g)) if e == g => model = *next,
                        (Err(_), Err(_)) => reverts += 1,
                        _ => panic!("episode {episode} call {step}: swap exact_in={exact_in} {amt}: model {expected:?}, router {got:?}, pool {model:?}"),
                    }
                }
            }
            let (r0, r1) = chain.reserves().unwrap();
            assert_eq!(
                (r0, r1),
                (model.reserve0, model.reserve1),
                "episode {episode} call {step}"
            );
        }
    }
    eprintln!("{calls} router calls compared with the real UniswapV2Router02, {reverts} reverts, all equal");
}
