//! Property tests: the market's invariants over random pools and trades, and the ledger
//! over whole runs with random valid configurations.

use datadao_core::config::Activation;
use datadao_core::market::{Pool, Side};
use datadao_core::{Config, NullObserver, Simulation};
use proptest::prelude::*;

fn pool(ddt: f64, xdai: f64, fee: f64) -> Pool {
    let mut p = Pool::new(fee);
    let q = p.quote_deposit(ddt, xdai).expect("positive deposit");
    p.deposit(&q);
    p
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::BuyDdt), Just(Side::SellDdt)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// k never falls, exactly, for exact-input swaps.
    #[test]
    fn exact_input_never_lowers_k(
        d in 1e-6f64..1e9, x in 1e-6f64..1e9, fee in 0.0f64..0.5, a in 1e-9f64..1e9, s in side()
    ) {
        let mut p = pool(d, x, fee);
        if let Some(q) = p.quote_exact_in(s, a) {
            let r = p.swap(&q);
            prop_assert!(r.k_after >= r.k_before, "{} < {}", r.k_after, r.k_before);
            prop_assert!(q.amount_out > 0.0);
        }
    }

    /// k never falls, exactly, for exact-output swaps, and the trader gets what it asked.
    #[test]
    fn exact_output_never_lowers_k(
        d in 1e-6f64..1e9, x in 1e-6f64..1e9, fee in 0.0f64..0.5, frac in 1e-9f64..0.999, s in side()
    ) {
        let mut p = pool(d, x, fee);
        let r_out = match s { Side::BuyDdt => p.ddt_reserve(), Side::SellDdt => p.xdai_reserve() };
        let b = r_out * frac;
        if let Some(q) = p.quote_exact_out(s, b) {
            let r = p.swap(&q);
            prop_assert!(r.k_after >= r.k_before);
            prop_assert!((q.amount_out - b).abs() <= 1e-12 * b.max(1e-300) + f64::EPSILON * r_out);
        }
    }

    /// What a swap takes from one side it gives to the other: tokens are conserved
    /// between trader and pool.
    #[test]
    fn swaps_conserve_tokens(
        d in 1e-3f64..1e9, x in 1e-3f64..1e9, fee in 0.0f64..0.5, a in 1e-6f64..1e9, s in side()
    ) {
        let mut p = pool(d, x, fee);
        let (d0, x0) = (p.ddt_reserve(), p.xdai_reserve());
        if let Some(q) = p.quote_exact_in(s, a) {
            p.swap(&q);
            let (din, xin) = match s {
                Side::SellDdt => (q.amount_in, -q.amount_out),
                Side::BuyDdt => (-q.amount_out, q.amount_in),
            };
            let tol = 1e-12;
            prop_assert!((p.ddt_reserve() - (d0 + din)).abs() <= tol * d0.max(a));
            prop_assert!((p.xdai_reserve() - (x0 + xin)).abs() <= tol * x0.max(a));
        }
    }

    /// The router never uses more of either token than was offered.
    #[test]
    fn deposits_never_exceed_what_was_offered(
        d in 1e-3f64..1e9, x in 1e-3f64..1e9, dd in 1e-9f64..1e9, dx in 1e-9f64..1e9
    ) {
        let p = pool(d, x, 0.003);
        if let Some(q) = p.quote_deposit(dd, dx) {
            prop_assert!(q.ddt <= dd && q.xdai <= dx, "{q:?} from ({dd}, {dx})");
        }
    }

    /// Burning the LP tokens a deposit minted returns no more than was put in.
    #[test]
    fn add_then_remove_returns_no_more(
        d in 1e-3f64..1e9, x in 1e-3f64..1e9, dd in 1e-6f64..1e9, dx in 1e-6f64..1e9
    ) {
        let mut p = pool(d, x, 0.003);
        if let Some(q) = p.quote_deposit(dd, dx) {
            p.deposit(&q);
            let w = p.withdraw(q.lp).expect("lp just minted");
            prop_assert!(w.ddt <= q.ddt, "dDT {} > {}", w.ddt, q.ddt);
            prop_assert!(w.xdai <= q.xdai, "xDAI {} > {}", w.xdai, q.xdai);
        }
    }
}

fn valid_config() -> impl Strategy<Value = Config> {
    (
        (
            1u64..120,
            1u64..12,
            1u64..15,
            0u64..20,
            any::<u64>(),
            any::<bool>(),
        ),
        (0.0f64..0.2, 0.0f64..=1.0),
        proptest::collection::vec(0.0f64..1.0, 5),
        proptest::collection::vec(0.0f64..1.0, 3),
        (0.0f64..300.0, 0.0f64..2000.0, 0.0f64..5.0, 0.01f64..5.0),
    )
        .prop_filter("some type must have a share", |(_, _, shares, pie, _)| {
            shares.iter().sum::<f64>() > 0.01 && pie.iter().sum::<f64>() > 0.01
        })
        .prop_map(
            |(
                (steps, entry, per_entry, initial, seed, shuffled),
                (fee, dist),
                shares,
                pie,
                (ddt, xdai, compute, max_price),
            )| {
                let mut c = Config::default();
                let s = &mut c.simulation;
                s.total_steps = steps;
                s.entry_steps = entry;
                s.agents_per_entry = per_entry;
                s.initial_agents = initial;
                s.seed = seed;
                s.activation = if shuffled {
                    Activation::Shuffled
                } else {
                    Activation::Sequential
                };
                s.audit = true;
                c.market.fee_rate = fee;
                c.pie.distribution_rate = dist;
                let total: f64 = shares.iter().sum();
                let a = &mut c.agents;
                a.degen.share = shares[0] / total;
                a.organization.share = shares[1] / total;
                a.power.share = shares[2] / total;
                a.active.share = shares[3] / total;
                a.casual.share = 1.0 - (shares[0] + shares[1] + shares[2] + shares[3]) / total;
                a.casual.share = a.casual.share.max(0.0);
                let ptotal: f64 = pie.iter().sum();
                c.pie.shares.power = pie[0] / ptotal;
                c.pie.shares.active = pie[1] / ptotal;
                c.pie.shares.casual = (1.0 - (pie[0] + pie[1]) / ptotal).max(0.0);
                a.degen.initial_ddt = ddt;
                a.power.initial_ddt = ddt;
                a.active.initial_ddt = ddt;
                a.casual.initial_ddt = ddt;
                a.organization.initial_xdai = xdai;
                a.power.initial_xdai = xdai / 10.0;
                a.power.daily_compute_ddt = compute;
                a.organization.daily_compute_ddt = compute;
                a.power.max_buy_price = max_price;
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Over random valid scenarios every token is accounted for after every step (the
    /// audit is on), no balance goes negative and no swap lowers k.
    #[test]
    fn whole_runs_keep_the_books(config in valid_config()) {
        prop_assume!(config.validate().is_ok());
        let mut sim = Simulation::new(config).unwrap();
        let result = sim.run(&mut NullObserver);
        prop_assert!(result.is_ok(), "{:?}", result.err());
    }
}

/// The full default scenario, audited at every step.
#[test]
fn default_run_is_audited_clean() {
    let mut c = Config::default();
    c.simulation.audit = true;
    let mut sim = Simulation::new(c).unwrap();
    sim.run(&mut NullObserver).unwrap();
    assert_eq!(sim.agents().len(), 4010);
    let supply = sim.ledger().supply();
    assert_eq!(
        supply,
        3809.0 * 100.0,
        "every member minted 100 and nothing burned"
    );
}
