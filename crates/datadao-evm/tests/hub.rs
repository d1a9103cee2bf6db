//! datadao's Circles v2 arithmetic (`datadao_core::circles_v2`) against the Hub's own
//! bytecode in revm: `convertInflationaryToDemurrageValue` and `day` for values from one
//! atto-CRC to the uint192 limit and days from zero to a century, and twenty humans'
//! personal mints over 60 days (`calculateIssuance`, `personalMint`, `balanceOf`), and
//! a group mint (`registerCustomGroup`, `trust`, `groupMint`: the group's token 1:1
//! against the collateral, which goes to the treasury), each equal to the atto-CRC (or
//! both refusing). The Hub runs over the stand-ins of `contracts/StandIns.sol` (Hub v1
//! and a stopped v1 token, the name registry, the ERC20 lift, a mint policy, the
//! treasury), compiled with npm solc by `scripts/fetch-contracts`: they answer, they
//! compute nothing.
//!
//! Needs the bytecode of `scripts/fetch-contracts`, like `tests/pair.rs`.

use datadao_core::circles_v2;
use datadao_evm::{contracts_or_skip, word, HubOnChain, INFLATION_DAY_ZERO};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use revm::primitives::U256;

#[test]
fn demurrage_equals_the_hubs_to_the_atto_crc() {
    let Some(contracts) = contracts_or_skip("the Hub proof") else {
        return;
    };
    let mut hub = HubOnChain::deploy(&contracts).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(93);
    let mut compared = 0;
    for i in 0..20_000u64 {
        // Every day of the first 60 years once in a while, and random ones up to a century.
        let day = if i < 400 { i } else { rng.gen_range(0..36_525) };
        let bits = rng.gen_range(0..=192u32);
        let value = if bits == 0 {
            U256::from(1u8)
        } else {
            (U256::from(rng.gen::<u128>()) << rng.gen_range(0..=64usize))
                % (U256::from(1u8) << bits)
        };
        let got = hub.demurrage_value(value, day).unwrap();
        let expected = circles_v2::demurrage_value(value, day);
        match (&got, expected) {
            (Ok(out), Some(v)) => assert_eq!(word(out, 0), Some(v), "value {value}, day {day}"),
            (Err(_), None) => {}
            _ => panic!("value {value}, day {day}: hub {got:?}, datadao {expected:?}"),
        }
        compared += 1;
    }
    // 30+ simulated days of a balance held: each day's discount, day over day.
    let mut balance = U256::from(1_000u64) * U256::from(circles_v2::EXA);
    for d in 0..45u64 {
        let got = hub.demurrage_value(balance, d).unwrap().unwrap();
        assert_eq!(word(&got, 0), circles_v2::discounted(balance, d), "day {d}");
    }
    balance = circles_v2::discounted(balance, 45).unwrap();
    assert!(balance < U256::from(1_000u64) * U256::from(circles_v2::EXA));
    for t in [
        INFLATION_DAY_ZERO,
        INFLATION_DAY_ZERO + 86_399,
        INFLATION_DAY_ZERO + 86_400,
        1_767_225_600,
    ] {
        let got = hub.day(t).unwrap().unwrap();
        assert_eq!(
            word(&got, 0),
            circles_v2::day(t, INFLATION_DAY_ZERO).map(U256::from),
            "timestamp {t}"
        );
    }
    // Personal mints: twenty humans registered in the bootstrap year claim at random
    // times over 60 days (whole hours, at most two weeks back), and their balances lose
    // value day by day; each claim, each claimed period and each balance equal to the
    // atto-CRC.
    let mut mints = 0;
    let start = INFLATION_DAY_ZERO + 86_400 + 3_600;
    for h in 0..20u8 {
        let human = revm::primitives::Address::with_last_byte(0x40 + h);
        // Half the humans join on a whole hour.
        let joined = start + u64::from(h) * if h % 2 == 0 { 3_600 } else { 1_234 };
        hub.register_human(human, joined).unwrap().unwrap();
        let (mut last, mut held) = (joined, U256::ZERO);
        let mut held_day = circles_v2::day(joined, INFLATION_DAY_ZERO).unwrap();
        let mut now = joined;
        while now < joined + 60 * 86_400 {
            now += rng.gen_range(1_800..20 * 86_400);
            // A third of the claims on a whole hour, where the hour counts end exactly.
            if rng.gen_range(0..3) == 0 {
                now -= (now - INFLATION_DAY_ZERO) % 3_600;
            }
            let expected = circles_v2::issuance(last, now, INFLATION_DAY_ZERO).unwrap();
            let got = hub.issuance(human, now).unwrap().unwrap();
            assert_eq!(
                got,
                [
                    expected.amount,
                    U256::from(expected.start),
                    U256::from(expected.end)
                ],
                "human {h} at {now}, last mint {last}"
            );
            hub.personal_mint(human, now).unwrap().unwrap();
            let today = circles_v2::day(now, INFLATION_DAY_ZERO).unwrap();
            if expected.amount > U256::ZERO {
                held = circles_v2::discounted(held, today - held_day).unwrap() + expected.amount;
                held_day = today;
                last = now;
            }
            let later = now + rng.gen_range(0..3 * 86_400);
            let balance = hub.balance(human, human, later).unwrap().unwrap();
            let days = circles_v2::day(later, INFLATION_DAY_ZERO).unwrap() - held_day;
            assert_eq!(
                word(&balance, 0),
                circles_v2::discounted(held, days),
                "human {h}: balance at {later}"
            );
            mints += 1;
        }
    }
    assert!(mints > 100, "{mints} mints");

    // The group mint, as far as the real Hub goes with a stand-in policy and treasury:
    // a member locks part of its personal CRC and gets the group's token 1:1; the
    // collateral sits in the treasury; both then lose value day by day alike.
    let group = revm::primitives::Address::with_last_byte(0x77);
    let member = revm::primitives::Address::with_last_byte(0x40);
    let t0 = start + 80 * 86_400;
    hub.personal_mint(member, t0).unwrap().unwrap();
    hub.register_group(group, t0, "datadao", "dDT")
        .unwrap()
        .unwrap();
    hub.trust(group, member, t0).unwrap().unwrap();
    let own = word(&hub.balance(member, member, t0).unwrap().unwrap(), 0).unwrap();
    let lock = own / U256::from(3u8);
    hub.group_mint(member, group, member, lock, t0)
        .unwrap()
        .unwrap();
    let minted = word(&hub.balance(member, group, t0).unwrap().unwrap(), 0).unwrap();
    assert_eq!(minted, lock, "group tokens 1:1");
    let vault = word(&hub.balance(hub.treasury, member, t0).unwrap().unwrap(), 0).unwrap();
    assert_eq!(vault, lock, "collateral in the treasury");
    let left = word(&hub.balance(member, member, t0).unwrap().unwrap(), 0).unwrap();
    assert_eq!(left, own - lock);
    for days in [1u64, 7, 30, 45] {
        let t = t0 + days * 86_400;
        let g = word(&hub.balance(member, group, t).unwrap().unwrap(), 0).unwrap();
        let v = word(&hub.balance(hub.treasury, member, t).unwrap().unwrap(), 0).unwrap();
        let expected = circles_v2::discounted(lock, days);
        assert_eq!(
            (Some(g), Some(v)),
            (expected, expected),
            "after {days} days"
        );
    }
    eprintln!("{mints} personal mints and balances compared with the Circles v2 Hub, all equal");
    eprintln!("{compared} demurrage values compared with the Circles v2 Hub, all equal");
}
