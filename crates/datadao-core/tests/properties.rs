//! Property tests: the market's invariants over random pools and trades, and the ledger
//! over whole runs with random valid configurations.

use std::collections::{HashMap, HashSet};

use datadao_core::config::{Activation, Draw, MemberConfig, MintPolicy, PiePolicy};
use datadao_core::market::{product_at_least, Pool, Side};
use datadao_core::{Action, Config, Detail, NullObserver, Observer, Simulation, Transaction};
use proptest::prelude::*;

fn pool(ddt: f64, xdai: f64) -> Pool {
    let mut p = Pool::new();
    let q = p.quote_deposit(ddt, xdai).expect("positive deposit");
    p.deposit(&q);
    p
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::BuyDdt), Just(Side::SellDdt)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// k never falls, exactly (the exact product of the stored reserves, not the
    /// rounded one), for exact-input swaps, and the trader gets the formula's amount to
    /// a few ulps.
    #[test]
    fn exact_input_never_lowers_k(
        d in 1e-6f64..1e9, x in 1e-6f64..1e9, fee in prop_oneof![Just(0.0), 0.0f64..0.5],
        a in 1e-9f64..1e9, s in side()
    ) {
        let mut p = pool(d, x);
        let (r_in, r_out) = match s { Side::BuyDdt => (x, d), Side::SellDdt => (d, x) };
        if let Some(q) = p.quote_exact_in(s, a, fee) {
            let r = p.swap(&q);
            prop_assert!(r.k_after >= r.k_before, "{} < {}", r.k_after, r.k_before);
            prop_assert!(!r.lowered_k);
            prop_assert!(product_at_least(p.ddt_reserve(), p.xdai_reserve(), d, x));
            prop_assert!(q.amount_out > 0.0);
            let e = a * (1.0 - fee);
            let formula = e * r_out / (r_in + e);
            prop_assert!((q.amount_out - formula).abs() <= 4.0 * f64::EPSILON * formula);
        }
    }

    /// k never falls, exactly, for exact-output swaps, and the trader gets what it asked.
    #[test]
    fn exact_output_never_lowers_k(
        d in 1e-6f64..1e9, x in 1e-6f64..1e9, fee in 0.0f64..0.5, frac in 1e-9f64..0.999, s in side()
    ) {
        let mut p = pool(d, x);
        let (r_in, r_out) = match s { Side::BuyDdt => (x, d), Side::SellDdt => (d, x) };
        let b = r_out * frac;
        if let Some(q) = p.quote_exact_out(s, b, fee) {
            let r = p.swap(&q);
            prop_assert!(r.k_after >= r.k_before);
            prop_assert!(!r.lowered_k);
            prop_assert!(product_at_least(p.ddt_reserve(), p.xdai_reserve(), d, x));
            prop_assert_eq!(q.amount_out, b);
            let formula = r_in * b / ((r_out - b) * (1.0 - fee));
            prop_assert!((q.amount_in - formula).abs() <= 4.0 * f64::EPSILON * formula);
        }
    }

    /// What a swap takes from one side it gives to the other: tokens are conserved
    /// between trader and pool.
    #[test]
    fn swaps_conserve_tokens(
        d in 1e-3f64..1e9, x in 1e-3f64..1e9, fee in 0.0f64..0.5, a in 1e-6f64..1e9, s in side()
    ) {
        let mut p = pool(d, x);
        let (d0, x0) = (p.ddt_reserve(), p.xdai_reserve());
        if let Some(q) = p.quote_exact_in(s, a, fee) {
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
        let p = pool(d, x);
        if let Some(q) = p.quote_deposit(dd, dx) {
            prop_assert!(q.ddt <= dd && q.xdai <= dx, "{q:?} from ({dd}, {dx})");
        }
    }

    /// Burning the LP tokens a deposit minted returns no more than was put in.
    #[test]
    fn add_then_remove_returns_no_more(
        d in 1e-3f64..1e9, x in 1e-3f64..1e9, dd in 1e-6f64..1e9, dx in 1e-6f64..1e9
    ) {
        let mut p = pool(d, x);
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

/// Data, consent and minting behaviour for every member type, drawn at random.
#[allow(clippy::type_complexity)]
fn member_behaviour() -> impl Strategy<Value = MemberConfig> {
    (
        (any::<bool>(), any::<bool>(), 1.0f64..500.0, 0.0f64..=1.0),
        (0.0f64..0.2, 0.0f64..0.8, 0.0f64..0.1, 0.0f64..0.05),
        (0.0f64..5.0, 0.0f64..3.0),
    )
        .prop_map(
            |(
                (lognormal, beta, quantity, quality),
                (rate, restrict, revoke, remove),
                (mint, redeem),
            )| {
                MemberConfig {
                    quantity_draw: if lognormal {
                        Draw::Lognormal
                    } else {
                        Draw::Fixed
                    },
                    quantity,
                    quality_draw: if beta { Draw::Beta } else { Draw::Fixed },
                    quality,
                    contribution_rate: rate,
                    restrict_probability: vec![restrict],
                    revoke_probability: revoke,
                    remove_probability: remove,
                    daily_mint_ddt: mint,
                    daily_redeem_ddt: redeem,
                    ..MemberConfig::default()
                }
            },
        )
}

/// Whole scenarios with Circles, consent and every Pie and mint policy in play.
fn valid_data_config() -> impl Strategy<Value = Config> {
    (
        valid_config(),
        member_behaviour(),
        (
            0u8..3,
            1u64..4,
            any::<bool>(),
            any::<bool>(),
            0.0f64..2.0,
            any::<bool>(),
            1u64..20,
        ),
    )
        .prop_map(
            |(mut c, member, (pie, interval, score, decay, per_weight, scale, claim))| {
                c.agents.degen.member = member.clone();
                c.agents.power.member = member.clone();
                c.agents.active.member = member.clone();
                c.agents.casual.member = member;
                c.pie.policy =
                    [PiePolicy::Groups, PiePolicy::Usage, PiePolicy::Weight][pie as usize];
                c.pie.interval_steps = interval;
                c.minting.policy = if score {
                    MintPolicy::IssuanceScore
                } else {
                    MintPolicy::Weight
                };
                c.minting.mint_per_weight = per_weight;
                c.circles.ddt_demurrage = decay;
                c.circles.claim_interval_days = claim;
                c.data.demand_scales_with_allowed_data = scale;
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

    /// With Circles, consent, redemptions, demurrage and every policy in play, the audit
    /// holds after every step: dDT supply equals the CRC locked in the vault (also under
    /// dDT demurrage, where both decay alike), no member's locked CRC exceeded its cap
    /// when it minted, every token is accounted for, and no balance goes negative.
    #[test]
    fn data_driven_runs_keep_the_books(config in valid_data_config()) {
        prop_assume!(config.validate().is_ok());
        let mut sim = Simulation::new(config.clone()).unwrap();
        let result = sim.run(&mut NullObserver);
        prop_assert!(result.is_ok(), "{:?}", result.err());
        let supply = sim.ledger().supply();
        let locked = sim.vault().locked();
        prop_assert!((supply - locked).abs() <= 1e-9 * supply.max(1.0), "{supply} vs {locked}");
        if config.minting.policy == MintPolicy::Weight {
            for a in sim.agents() {
                let cap = config.minting.mint_per_weight * sim.data().member(a.id as usize).weight;
                // Removing data may leave locked CRC above the new cap (minted dDT stays);
                // what may never happen is minting past the cap, which the audit checks
                // at each mint. Members that kept their data stay within it.
                if sim.data().removed_weight() == 0.0 && config.agents.degen.member.daily_redeem_ddt == 0.0 {
                    let locked = sim.members()[a.id as usize].crc_locked;
                    prop_assert!(locked <= cap * (1.0 + 1e-9) + 1e-9, "{locked} > {cap}");
                }
            }
        }
    }

    /// No job ever uses data whose owner disallowed its use case or removed it: replaying
    /// the transaction log, a usage-based Pie share only ever goes to a member whose data
    /// allowed the use case of a job that ran since the last distribution.
    #[test]
    fn usage_shares_only_reach_consenting_owners(mut config in valid_data_config()) {
        config.pie.policy = PiePolicy::Usage;
        config.pie.interval_steps = 1;
        config.simulation.total_steps = config.simulation.total_steps.min(60);
        prop_assume!(config.validate().is_ok());
        let mut sim = Simulation::new(config).unwrap();
        let mut replay = ConsentReplay::default();
        let result = sim.run(&mut replay);
        prop_assert!(result.is_ok(), "{:?}", result.err());
        prop_assert!(replay.violations.is_empty(), "{:?}", &replay.violations[..replay.violations.len().min(3)]);
    }
}

/// Rebuilds every member's consent from the transaction stream, independently of the
/// engine's data pool.
#[derive(Default)]
struct ConsentReplay {
    /// Use cases each member's live data allows.
    allows: HashMap<u32, u8>,
    /// Members whose data a job could have used since the last distribution.
    eligible: HashSet<u32>,
    violations: Vec<String>,
}

impl Observer for ConsentReplay {
    fn wants_transactions(&self) -> bool {
        true
    }

    fn on_transaction(&mut self, tx: &Transaction) {
        match (tx.action, tx.detail) {
            (
                Action::Contribute,
                Detail::Dataset {
                    allowed, weight, ..
                },
            ) if weight > 0.0 => {
                *self.allows.entry(tx.agent_id).or_default() |= allowed;
            }
            (Action::Revoke, Detail::UseCase(u)) => {
                *self.allows.entry(tx.agent_id).or_default() &= !(1 << u);
            }
            (Action::Remove, _) => {
                self.allows.insert(tx.agent_id, 0);
            }
            (Action::Compute, Detail::UseCase(u)) => {
                for (&id, &mask) in &self.allows {
                    if mask & (1 << u) != 0 {
                        self.eligible.insert(id);
                    }
                }
            }
            (Action::PieShare, _) if !self.eligible.contains(&tx.agent_id) => {
                self.violations.push(format!(
                    "step {}: agent {} paid {} without consenting data",
                    tx.step, tx.agent_id, tx.ddt
                ));
            }
            _ => {}
        }
    }

    fn on_step(&mut self, _m: &datadao_core::StepMetrics) {
        self.eligible.clear();
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

/// Governance settings drawn at random (always enabled); `threshold` as given.
fn governance(config: Config) -> impl Strategy<Value = Config> {
    use datadao_core::governance::{Objective, PerMember, Selection, Voting, WeightRule};
    (
        1u64..15,
        1u64..8,
        prop_oneof![
            Just(WeightRule::Person),
            Just(WeightRule::Ddt),
            Just(WeightRule::Quadratic),
            Just(WeightRule::CrcLocked)
        ],
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(0.0f64..=1.0, 4),
        prop_oneof![
            Just(Objective::Wealth),
            Just(Objective::Price),
            Just(Objective::PieIncome),
            Just(Objective::ComputeCost)
        ],
        (0.0f64..=1.0, 0.0f64..=1.0, 0.05f64..=1.0),
    )
        .prop_map(
            move |(
                interval,
                horizon,
                weight,
                foresight,
                random,
                turnout,
                objective,
                (quorum, threshold, fraction),
            )| {
                let mut c = config.clone();
                let g = &mut c.governance;
                g.enabled = true;
                g.interval_steps = interval;
                g.horizon = horizon;
                g.weight = weight;
                g.voting = if foresight {
                    Voting::Foresight
                } else {
                    Voting::Fixed
                };
                g.selection = if random {
                    Selection::Random
                } else {
                    Selection::Turn
                };
                g.turnout = PerMember {
                    degen: turnout[0],
                    power: turnout[1],
                    active: turnout[2],
                    casual: turnout[3],
                };
                g.objective = PerMember::all(objective);
                g.quorum = quorum;
                g.threshold = threshold;
                g.liquidity.fraction = fraction;
                g.burn.fraction = fraction;
                g.grants.fraction = fraction;
                // Wide bounds, so every generated scenario's settings lie within them.
                g.set.fee_rate.max = 0.5;
                g.set.mint_per_weight.min = 0.0;
                g.set.mint_per_weight.max = 1e6;
                g.set.distribution_rate.min = 0.0;
                c
            },
        )
}

/// Every metrics cell and every transaction outside governance, in order (sequence
/// numbers left out: governance's own rows take numbers too).
#[derive(Default)]
struct Everything {
    cells: Vec<Vec<datadao_core::Cell>>,
    governance: Vec<Vec<datadao_core::Cell>>,
    transactions: Vec<Transaction>,
}

impl Observer for Everything {
    fn wants_transactions(&self) -> bool {
        true
    }

    fn on_transaction(&mut self, tx: &Transaction) {
        let governance = matches!(
            tx.action,
            Action::Propose
                | Action::Vote
                | Action::SetParameter
                | Action::TreasurySell
                | Action::TreasuryAddLiquidity
                | Action::TreasuryBurn
                | Action::Grant
        );
        if !governance {
            self.transactions.push(Transaction { seq: 0, ..*tx });
        }
    }

    fn on_step(&mut self, m: &datadao_core::StepMetrics) {
        let mut plain = m.clone();
        plain.governance = None;
        self.cells.push(plain.cells());
        let all = m.cells();
        self.governance.push(all[plain.cells().len()..].to_vec());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A fork never changes the real run: with a threshold no vote can exceed, a
    /// governed run (forks, turnout draws and all) equals the run without governance on
    /// every non-governance column and every non-governance transaction; its treasury
    /// is within its Pie and nothing passed.
    #[test]
    fn forks_never_change_the_real_run(config in valid_data_config().prop_flat_map(governance)) {
        let mut governed = config.clone();
        governed.governance.threshold = 1.0;
        prop_assume!(governed.validate().is_ok());
        let mut plain = config.clone();
        plain.governance.enabled = false;
        let mut a = Everything::default();
        let mut b = Everything::default();
        Simulation::new(governed).unwrap().run(&mut a).unwrap();
        Simulation::new(plain).unwrap().run(&mut b).unwrap();
        prop_assert_eq!(&a.cells, &b.cells);
        prop_assert_eq!(&a.transactions, &b.transactions);
        for (row, gov) in a.cells.iter().zip(&a.governance) {
            // treasury_ddt is at most pie_ddt (column 5): what the last payout left,
            // without the jobs since; proposals_passed (7th) is 0.
            let (datadao_core::Cell::Float(treasury), datadao_core::Cell::Float(pie)) = (gov[0], row[5]) else {
                panic!("treasury and Pie are amounts: {:?} {:?}", gov[0], row[5]);
            };
            prop_assert!(treasury <= pie, "treasury {} > Pie {}", treasury, pie);
            prop_assert_eq!(gov[6], datadao_core::Cell::Int(0));
        }
        prop_assert!(b.governance.iter().all(|g| g.is_empty()));
    }

    /// Governed runs keep the books: with every kind of proposal passing or failing at
    /// random, the audit (treasury, protocol-owned LP and burned dDT included) holds
    /// after every step and the backing ratio never falls below 1.
    #[test]
    fn governed_runs_keep_the_books(config in valid_data_config().prop_flat_map(governance)) {
        prop_assume!(config.validate().is_ok());
        let mut sim = Simulation::new(config).unwrap();
        while !sim.is_finished() {
            let m = sim.step(&mut NullObserver);
            prop_assert!(m.is_ok(), "{:?}", m.err());
            let g = m.unwrap().governance.unwrap();
            if let Some(ratio) = g.backing_ratio {
                prop_assert!(ratio >= 1.0 - 1e-9, "backing {ratio}");
            }
        }
    }
}

/// Every step's row and every proposal, as the observer sees them, with the step the
/// simulation says comes next before each call.
#[derive(Default, PartialEq, Debug)]
struct Rows {
    steps: Vec<(u32, Vec<datadao_core::Cell>)>,
    proposals: Vec<datadao_core::governance::ProposalRecord>,
}

impl Observer for Rows {
    fn on_step(&mut self, m: &datadao_core::StepMetrics) {
        self.steps.push((m.step, m.cells()));
    }

    fn on_proposal(&mut self, p: &datadao_core::governance::ProposalRecord) {
        self.proposals.push(*p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Looking ahead changes no number: a governed run whose foresight votes let the
    /// real run serve as the fork without the proposal reports every step, every
    /// proposal and every audit exactly as the run that forks twice, one step per call
    /// and in order, and says which step comes next as it does.
    #[test]
    fn looking_ahead_changes_no_number(config in valid_data_config().prop_flat_map(governance)) {
        prop_assume!(config.validate().is_ok());
        let mut forking = Simulation::new(config.clone()).unwrap();
        let mut looking = Simulation::new(config).unwrap();
        looking.look_ahead(true);
        let (mut a, mut b) = (Rows::default(), Rows::default());
        while !forking.is_finished() {
            prop_assert!(!looking.is_finished());
            prop_assert_eq!(forking.next_step(), looking.next_step());
            let x = forking.step(&mut a);
            let y = looking.step(&mut b);
            prop_assert_eq!(&x, &y);
            if x.is_err() {
                break;
            }
        }
        if forking.is_finished() {
            prop_assert!(looking.is_finished());
        }
        prop_assert_eq!(a, b);
    }
}
