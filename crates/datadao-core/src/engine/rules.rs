//! A rules-defined type's turn: each rule's condition and amounts evaluated against the
//! agent and the economy as they stand, then its action carried out through the same
//! apply path as every native intent (behaviour noise jitters its amounts as it
//! jitters a native plan's).

use std::sync::Arc;

use super::Simulation;
use crate::agents::{self, DataIntent, Intent, Plan};
use crate::circles::{self, MintPolicy};
use crate::policy::{Deed, Policy};
use crate::rules::expr::Environment;
use crate::rules::{ActionKind, Observable, Rule};
use crate::transactions::Observer;

/// What a rules-defined agent remembers beyond its balances, for its observables.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct RuleMemory {
    /// The price when it joined (NaN with an empty pool).
    pub price_at_join: f64,
    /// Its last Pie share.
    pub pie_received: f64,
    /// Turns it has taken.
    pub turns: u32,
}

/// Each type's compiled rules (`None`: its built-in behaviour), shared by forks.
pub(crate) type TypeRules = crate::agent_type::PerTypeArray<Option<Arc<[Rule]>>>;

/// Agent `i` as its rules see it.
struct View<'a> {
    sim: &'a mut Simulation,
    i: usize,
    step: u32,
}

impl Environment for View<'_> {
    #[inline]
    fn read(&mut self, o: Observable) -> f64 {
        let s = &*self.sim;
        let i = self.i;
        let a = &s.agents[i];
        match o {
            Observable::Price => s.pool.price().unwrap_or(f64::NAN),
            Observable::PriceAtJoin => s.rule_memory[i].price_at_join,
            Observable::Ddt => a.ddt,
            Observable::Xdai => a.xdai,
            Observable::Lp => a.lp,
            Observable::Crc => s.members[i].crc,
            Observable::CrcLocked => s.members[i].crc_locked,
            Observable::MintRoom => {
                let m = &s.members[i];
                let data = s.data.member(i);
                let cap = match s.config.minting.policy {
                    MintPolicy::Weight => {
                        circles::weight_room(s.settings.mint_per_weight, data.weight, m.crc_locked)
                    }
                    MintPolicy::IssuanceScore => {
                        circles::score_allowance(data.score(), m.issued_since_mint)
                    }
                };
                if s.is_member[a.kind.index()] {
                    cap.min(m.crc)
                } else {
                    0.0
                }
            }
            Observable::Weight => s.data.member(i).weight,
            Observable::Step => f64::from(self.step),
            Observable::Age => f64::from(self.step - a.joined_step),
            Observable::Turns => f64::from(s.rule_memory[i].turns),
            Observable::PoolDdt => s.pool.ddt_reserve(),
            Observable::PoolXdai => s.pool.xdai_reserve(),
            Observable::PieDdt => s.pie.balance(),
            Observable::PieReceived => s.rule_memory[i].pie_received,
            Observable::AllowedShare(u) => s.data.allowed_share(u as usize),
            Observable::CanRun(u) => f64::from(u8::from(s.data.can_run(u as usize))),
            Observable::Members => {
                let counts = s.population.counts();
                counts
                    .iter()
                    .zip(&s.is_member)
                    .filter(|(_, &member)| member)
                    .map(|(&n, _)| n as f64)
                    .sum()
            }
            Observable::Governed(g) => s.settings.get(g),
        }
    }

    #[inline]
    fn draw(&mut self) -> f64 {
        use rand::Rng;
        self.sim.rng.gen::<f64>()
    }
}

impl crate::policy::PolicyView for View<'_> {
    fn read(&mut self, observable: Observable) -> f64 {
        Environment::read(self, observable)
    }

    fn chance(&mut self, p: f64) -> bool {
        // As the rule language's `chance(p)`: one draw, compared the same way.
        self.draw() < p
    }
}

impl Simulation {
    /// Agent `i`'s turn by its type's `rules`, in order.
    pub(super) fn rules_turn<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        rules: &[Rule],
        observer: &mut O,
    ) {
        for rule in rules {
            let mut view = View { sim: self, i, step };
            if !rule.when.eval(&mut view) {
                continue;
            }
            let mut deed = Deed::new(rule.action, rule.amount.eval(&mut view));
            match rule.action {
                ActionKind::Buy => deed.max_price = rule.max_price.eval(&mut view),
                ActionKind::AddLiquidity => deed.xdai = rule.xdai.eval(&mut view),
                ActionKind::Contribute => {
                    deed.quality = rule.quality.eval(&mut view);
                    deed.quantity = rule.quantity.eval(&mut view);
                }
                _ => {}
            }
            deed.use_case = (rule.use_case_given || rule.action != ActionKind::Contribute)
                .then_some(rule.use_case);
            deed.partial = rule.partial;
            self.carry_out_deed(step, i, deed, observer);
        }
        self.rule_memory[i].turns += 1;
    }

    /// Agent `i`'s turn by its type's `policy`: the actions it returns, in order, each
    /// checked as a rule's `do` is at load (a known use case; no CRC or data actions for
    /// a customer). An `Err` names what was wrong and stops the run.
    pub(super) fn policy_turn<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        policy: &dyn Policy,
        observer: &mut O,
    ) -> Result<(), String> {
        let mut deeds = Vec::new();
        policy.decide(&mut View { sim: self, i, step }, &mut deeds)?;
        let member = self.is_member[self.agents[i].kind.index()];
        for deed in deeds {
            if deed.action == ActionKind::Revoke && deed.use_case.is_none() {
                return Err("revoke without a use case; accepted: revoke with one".into());
            }
            if deed
                .use_case
                .is_some_and(|u| usize::from(u) >= self.use_cases)
            {
                return Err(format!(
                    "use case number {} of an action; accepted: 0 to {}",
                    deed.use_case.unwrap_or(0),
                    self.use_cases - 1
                ));
            }
            if !member && !deed.action.is_for_customers() {
                return Err(format!(
                    "{:?} by a customer (organizations, and types with member = false, hold no CRC and no data); accepted: buy, buy_with, sell, spend, buy_and_spend, add_liquidity, remove_liquidity",
                    deed.action
                ));
            }
            self.carry_out_deed(step, i, deed, observer);
        }
        self.rule_memory[i].turns += 1;
        Ok(())
    }

    /// One action of a rule or a policy, through the one apply path: data actions when
    /// they can happen, the rest as intents (an amount that is not a number does
    /// nothing), jittered as a native plan is under behaviour noise.
    fn carry_out_deed<O: Observer>(&mut self, step: u32, i: usize, deed: Deed, observer: &mut O) {
        let use_case = deed
            .use_case
            .unwrap_or(self.job_use_case[self.agents[i].kind.index()]);
        let amount = deed.amount;
        let intent = match deed.action {
            ActionKind::Buy => Intent::BuyDdtExact {
                amount,
                max_price: deed.max_price,
            },
            ActionKind::BuyWith => Intent::BuyWithXdai { amount },
            ActionKind::Sell => Intent::SellDdt { amount },
            ActionKind::Spend => Intent::Compute {
                amount,
                partial: deed.partial,
                use_case,
            },
            ActionKind::BuyAndSpend => Intent::BuyForJob { amount, use_case },
            ActionKind::AddLiquidity => Intent::AddLiquidity {
                ddt: amount,
                xdai: deed.xdai,
            },
            ActionKind::RemoveLiquidity => Intent::RemoveLiquidity { lp: amount },
            ActionKind::Mint => Intent::Mint { amount },
            ActionKind::Redeem => Intent::Redeem { amount },
            ActionKind::Contribute | ActionKind::Revoke | ActionKind::RemoveData => {
                let data = match deed.action {
                    ActionKind::Contribute => {
                        let all = ((1u16 << self.use_cases) - 1) as u8;
                        DataIntent::Contribute {
                            quantity: deed.quantity,
                            quality: deed.quality,
                            allowed: deed.use_case.map_or(all, |u| 1 << u),
                        }
                    }
                    ActionKind::Revoke => DataIntent::Revoke { use_case },
                    _ => DataIntent::Remove,
                };
                if self.data_action_is_possible(i, &data) {
                    self.apply_data(step, i, data, observer);
                }
                return;
            }
        };
        if amount.is_nan() {
            return;
        }
        let mut plan = Plan::new();
        plan.push(intent);
        if self.noisy {
            let jitter = self.amount_jitter[self.agents[i].kind.index()];
            agents::jitter(&mut plan, jitter, &mut self.rng);
        }
        self.apply(step, i, plan[0], observer);
    }

    /// Whether a data action of a rule can happen: a dataset needs a finite positive
    /// quantity and a quality in [0, 1]; a revocation a use case it still allows;
    /// removing, data to remove.
    fn data_action_is_possible(&self, i: usize, data: &DataIntent) -> bool {
        let mine = self.data.member(i);
        match *data {
            DataIntent::Contribute {
                quantity, quality, ..
            } => {
                quantity.is_finite()
                    && quantity > 0.0
                    && quantity <= crate::validation::MAX_AMOUNT
                    && (0.0..=1.0).contains(&quality)
            }
            DataIntent::Revoke { use_case } => mine.mask & (1 << use_case) != 0,
            DataIntent::Remove => mine.weight > 0.0,
        }
    }
}
