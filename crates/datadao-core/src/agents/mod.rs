//! Agents: who they are, what they hold, and what they *decide* to do.
//!
//! Agents decide; the engine applies. [`decide`] and [`on_pie_share`] read an agent and
//! the market and return a [`Plan`] of [`Intent`]s; they change nothing. The engine
//! executes a plan intent by intent, clamping each to what the agent holds at that
//! moment, so "each as far as its balance allows" is the engine's rule, stated once.

use arrayvec::ArrayVec;
use rand::Rng;
use rand_distr::{Beta, Distribution, LogNormal};

mod settings;

pub use crate::agent_type::AgentType;
use crate::data_pool::MAX_USE_CASES;
use crate::validation::MAX_AMOUNT;
pub use settings::{
    ActiveConfig, AgentsConfig, CasualConfig, CustomTypeConfig, DegenConfig, Draw, ExprText,
    MemberConfig, NoiseConfig, OrganizationConfig, PerType, PieShareUse, PowerConfig, RuleConfig,
};

pub use crate::validation::DUST;

/// One participant's state. Kept small: a million of them are walked every step.
#[derive(Clone, Debug, PartialEq)]
pub struct Agent {
    /// Join order, 0-based; also the index in the engine's agent list.
    pub id: u32,
    /// Its type.
    pub kind: AgentType,
    /// The step at which it joined (0 for those who joined before step 0).
    pub joined_step: u32,
    /// dDT held.
    pub ddt: f64,
    /// xDAI held.
    pub xdai: f64,
    /// LP tokens held.
    pub lp: f64,
    /// Whether it has had its first step (degens act differently then).
    pub has_acted: bool,
    /// Whether it has left (a `leave` event): it keeps what it holds, which decays as
    /// every holder's does, and takes no turn, no Pie share and no vote.
    pub left: bool,
}

/// The rest of an agent's state: Circles and its schedule of random events. Kept apart
/// from [`Agent`] because only the agent's own turn touches it, while the Pie's pass
/// over a million agents needs just their balances: half the bytes to stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Personal CRC held (members only).
    pub crc: f64,
    /// CRC it has locked in the vault to mint dDT.
    pub crc_locked: f64,
    /// Days since it last claimed its CRC issuance.
    pub unclaimed_days: u32,
    /// CRC issued to it since its last mint (the `issuance-score` policy's base).
    pub issued_since_mint: f64,
    /// Steps at which it next contributes, revokes and removes (`u32::MAX`: never).
    pub data_events: [u32; 3],
    /// Step at which it next skips its action (`u32::MAX`: never).
    pub next_skip: u32,
    /// Step at which it left (`u32::MAX`: it has not).
    pub left_step: u32,
}

impl Member {
    /// Holding `crc`, nothing locked, no events scheduled.
    pub fn new(crc: f64) -> Self {
        Self {
            crc,
            crc_locked: 0.0,
            unclaimed_days: 0,
            issued_since_mint: crc,
            data_events: [u32::MAX; 3],
            next_skip: u32::MAX,
            left_step: u32::MAX,
        }
    }
}

/// Positions in [`Member::data_events`].
pub const CONTRIBUTE: usize = 0;
/// Position of the next revocation.
pub const REVOKE: usize = 1;
/// Position of the next removal.
pub const REMOVE: usize = 2;

/// The step at which an event with daily probability `p` next happens, counting from
/// step `from` (which may itself be the one). The waiting time is geometric, so this is
/// the same in distribution as flipping a `p`-coin every day, but it draws once per event
/// instead of once per member per day: rare events cost nothing on the days they don't
/// happen.
pub fn next_occurrence<R: Rng>(from: u32, p: f64, rng: &mut R) -> u32 {
    if p <= 0.0 {
        return u32::MAX;
    }
    if p >= 1.0 {
        return from;
    }
    let u: f64 = rng.gen();
    let failures = ((1.0 - u).ln() / (1.0 - p).ln()).floor();
    from.saturating_add(failures.min(f64::from(u32::MAX)) as u32)
}

/// When a new member's data events first happen.
pub fn first_data_events<R: Rng>(m: &MemberConfig, join_step: u32, rng: &mut R) -> [u32; 3] {
    [
        next_occurrence(join_step + 1, m.contribution_rate, rng),
        next_occurrence(join_step, m.revoke_probability, rng),
        next_occurrence(join_step, m.remove_probability, rng),
    ]
}

/// Something an agent wants done. The engine decides whether it can be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Intent {
    /// Offer liquidity; the router sizes the deposit to the pool's ratio.
    AddLiquidity {
        /// dDT offered.
        ddt: f64,
        /// xDAI offered.
        xdai: f64,
    },
    /// Sell up to `amount` dDT (exact input); `f64::INFINITY` sells everything.
    SellDdt {
        /// Most dDT to sell.
        amount: f64,
    },
    /// Buy exactly `amount` dDT if the price is at most `max_price` and it can pay for
    /// all of it; otherwise nothing.
    BuyDdtExact {
        /// dDT wanted.
        amount: f64,
        /// Highest acceptable spot price, xDAI per dDT.
        max_price: f64,
    },
    /// Run a compute job for `use_case`, paying dDT into The Pie. With `partial`, as
    /// much as it holds up to `amount`; without, all of `amount` or nothing. Refused,
    /// at no cost, when no live data allows the use case.
    Compute {
        /// dDT to spend.
        amount: f64,
        /// Whether a smaller spend is acceptable.
        partial: bool,
        /// Index into `data.use_cases`.
        use_case: u8,
    },
    /// An organization's job, decided as one number: if no live data allows `use_case`
    /// the job is refused (and recorded) and nothing is bought; otherwise buy exactly
    /// `amount` dDT (exact output, if it can pay) and spend exactly what was bought.
    BuyForJob {
        /// dDT to buy and then spend.
        amount: f64,
        /// Index into `data.use_cases`.
        use_case: u8,
    },
    /// Lock CRC and mint the same amount of dDT, as far as the mint cap and its CRC allow.
    Mint {
        /// dDT requested.
        amount: f64,
    },
    /// Burn dDT to unlock the same amount of CRC, as far as it holds and has locked.
    Redeem {
        /// dDT to burn.
        amount: f64,
    },
    /// Pay exactly `amount` xDAI into the pool for dDT (exact input), cut to the xDAI it
    /// holds (rules only).
    BuyWithXdai {
        /// xDAI to pay.
        amount: f64,
    },
    /// Burn up to `lp` LP tokens for both reserves, pro rata (rules only).
    RemoveLiquidity {
        /// LP tokens to burn.
        lp: f64,
    },
}

/// A short, allocation-free list of intents, carried out in order. Four is the longest
/// plan any type makes (mint, buy, compute, redeem).
pub type Plan = ArrayVec<Intent, 4>;

/// What an agent can see of the world when it decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outlook {
    /// Whether a job for each use case would find data to run over.
    pub can_run: [bool; MAX_USE_CASES],
    /// Share of live data weight allowing each use case.
    pub allowed_share: [f64; MAX_USE_CASES],
    /// Each type's job use case, indexed by [`AgentType::index`].
    pub job_use_case: crate::agent_type::PerTypeArray<u8>,
    /// Whether organizations scale their demand by the allowed share.
    pub scale_demand: bool,
}

impl Default for Outlook {
    /// Everything allowed, every job runnable: the seed's world.
    fn default() -> Self {
        Self {
            can_run: [true; MAX_USE_CASES],
            allowed_share: [1.0; MAX_USE_CASES],
            job_use_case: [0; crate::agent_type::MAX_TYPES],
            scale_demand: false,
        }
    }
}

/// What an agent does on its turn in a step, written into `plan` (cleared first). The
/// caller owns the buffer so a million agents a step do not copy plans around.
pub fn decide(agent: &Agent, params: &AgentsConfig, outlook: &Outlook, plan: &mut Plan) {
    plan.clear();
    let use_case = outlook.job_use_case[agent.kind.index()];
    let runnable = outlook.can_run[use_case as usize];
    if let Some(m) = params.member(agent.kind) {
        if m.daily_mint_ddt > 0.0 && agent.has_acted {
            plan.push(Intent::Mint {
                amount: m.daily_mint_ddt,
            });
        }
    }
    match agent.kind {
        AgentType::DEGEN => {
            let minted_today = params.degen.member.daily_mint_ddt > 0.0;
            if !agent.has_acted || minted_today {
                if !agent.has_acted {
                    plan.push(Intent::AddLiquidity {
                        ddt: params.degen.liquidity_ddt,
                        xdai: params.degen.liquidity_xdai,
                    });
                }
                plan.push(Intent::SellDdt {
                    amount: f64::INFINITY,
                });
            }
        }
        AgentType::ORGANIZATION => {
            let mut amount = params.organization.daily_compute_ddt;
            if outlook.scale_demand {
                amount *= outlook.allowed_share[use_case as usize];
            }
            plan.push(Intent::BuyForJob { amount, use_case });
        }
        AgentType::POWER => {
            let amount = params.power.daily_compute_ddt;
            if agent.ddt < amount && runnable {
                plan.push(Intent::BuyDdtExact {
                    amount: amount - agent.ddt,
                    max_price: params.power.max_buy_price,
                });
            }
            plan.push(Intent::Compute {
                amount,
                partial: false,
                use_case,
            });
        }
        AgentType::ACTIVE => {
            // Only a member that can pay for a job asks for one.
            let amount = params.active.daily_compute_ddt;
            if agent.ddt + DUST >= amount {
                plan.push(Intent::Compute {
                    amount,
                    partial: false,
                    use_case,
                });
            }
        }
        AgentType::CASUAL => {
            if agent.ddt > DUST {
                plan.push(Intent::Compute {
                    amount: params.casual.daily_compute_ddt,
                    partial: true,
                    use_case,
                });
            }
            plan.push(Intent::SellDdt {
                amount: params.casual.daily_sell_ddt,
            });
        }
        // A scenario's own types act by their rules alone: without rules they hold.
        _ => {}
    }
    if let Some(m) = params.member(agent.kind) {
        if m.daily_redeem_ddt > 0.0 {
            plan.push(Intent::Redeem {
                amount: m.daily_redeem_ddt,
            });
        }
    }
}

/// Multiply every amount in `plan` by a factor drawn uniformly from `[1 - j, 1 + j]`
/// (behaviour noise). Draws nothing when `j` is 0.
pub fn jitter<R: Rng>(plan: &mut Plan, j: f64, rng: &mut R) {
    if j <= 0.0 {
        return;
    }
    for intent in plan.iter_mut() {
        let mut factor = || 1.0 + j * (2.0 * rng.gen::<f64>() - 1.0);
        match intent {
            Intent::AddLiquidity { ddt, xdai } => {
                *ddt *= factor();
                *xdai *= factor();
            }
            Intent::SellDdt { amount }
            | Intent::Mint { amount }
            | Intent::Redeem { amount }
            | Intent::BuyWithXdai { amount }
            | Intent::RemoveLiquidity { lp: amount }
            | Intent::Compute { amount, .. } => *amount *= factor(),
            Intent::BuyDdtExact { amount, .. } | Intent::BuyForJob { amount, .. } => {
                *amount *= factor()
            }
        }
    }
}

/// A member's decision about its data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DataIntent {
    /// Add a dataset.
    Contribute {
        /// Quantity, in `data.quantity_unit`.
        quantity: f64,
        /// Quality in [0, 1].
        quality: f64,
        /// Use cases it allows (bit `u`).
        allowed: u8,
    },
    /// Stop one use case for all its data.
    Revoke {
        /// Index into `data.use_cases`.
        use_case: u8,
    },
    /// Take all its data out of the pool.
    Remove,
}

/// Up to three data decisions a day.
pub type DataPlan = ArrayVec<DataIntent, 3>;

/// Draw a new dataset from the type's distributions. Fixed draws use no randomness, so
/// the default scenario's generator stream is untouched.
pub fn draw_contribution<R: Rng>(m: &MemberConfig, use_cases: usize, rng: &mut R) -> DataIntent {
    let quantity = match m.quantity_draw {
        Draw::Lognormal => LogNormal::new(m.quantity_mu, m.quantity_sigma)
            .map(|d| d.sample(rng).min(MAX_AMOUNT))
            .unwrap_or(m.quantity),
        Draw::Fixed | Draw::Beta => m.quantity,
    };
    let quality = match m.quality_draw {
        Draw::Beta => Beta::new(m.quality_alpha, m.quality_beta)
            .map(|d| d.sample(rng))
            .unwrap_or(m.quality),
        Draw::Fixed | Draw::Lognormal => m.quality,
    };
    let mut allowed = 0u8;
    for u in 0..use_cases {
        let p = if m.restrict_probability.len() == 1 {
            m.restrict_probability[0]
        } else {
            m.restrict_probability[u]
        };
        let restricted = p > 0.0 && rng.gen::<f64>() < p;
        if !restricted {
            allowed |= 1 << u;
        }
    }
    DataIntent::Contribute {
        quantity,
        quality,
        allowed,
    }
}

/// A member's data decisions on a day when at least one of its scheduled data events
/// is due: contribute, revoke one of the use cases its data allows (chosen at random),
/// remove everything. Returns the plan and the rescheduled events.
pub fn decide_data<R: Rng>(
    events: [u32; 3],
    m: &MemberConfig,
    allowed_mask: u8,
    has_data: bool,
    step: u32,
    use_cases: usize,
    rng: &mut R,
) -> (DataPlan, [u32; 3]) {
    let mut plan = DataPlan::new();
    let mut next = events;
    if step >= next[CONTRIBUTE] {
        plan.push(draw_contribution(m, use_cases, rng));
        next[CONTRIBUTE] = next_occurrence(step + 1, m.contribution_rate, rng);
    }
    if step >= next[REVOKE] {
        if allowed_mask != 0 {
            let choices: ArrayVec<u8, MAX_USE_CASES> = (0..use_cases as u8)
                .filter(|u| allowed_mask & (1 << u) != 0)
                .collect();
            let use_case = choices[rng.gen_range(0..choices.len())];
            plan.push(DataIntent::Revoke { use_case });
        }
        next[REVOKE] = next_occurrence(step + 1, m.revoke_probability, rng);
    }
    if step >= next[REMOVE] {
        if has_data {
            plan.push(DataIntent::Remove);
        }
        next[REMOVE] = next_occurrence(step + 1, m.remove_probability, rng);
    }
    (plan, next)
}

/// What a member does with a Pie share it has just received: sell it, spend it on a job
/// for `use_case` (its type's), or nothing (keep).
#[inline]
pub fn on_pie_share(
    kind: AgentType,
    share: f64,
    params: &AgentsConfig,
    use_case: u8,
) -> Option<Intent> {
    match params.pie_share_use(kind) {
        PieShareUse::Keep => None,
        PieShareUse::Sell => Some(Intent::SellDdt { amount: share }),
        PieShareUse::Spend => Some(Intent::Compute {
            amount: share,
            partial: true,
            use_case,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(kind: AgentType, ddt: f64) -> Agent {
        Agent {
            id: 0,
            kind,
            joined_step: 0,
            ddt,
            xdai: 0.0,
            lp: 0.0,
            has_acted: false,
            left: false,
        }
    }

    #[test]
    fn jitter_stays_within_its_band() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let p = AgentsConfig::default();
        for _ in 0..1000 {
            let mut plan = decide(&agent(AgentType::CASUAL, 50.0), &p, &Outlook::default());
            jitter(&mut plan, 0.2, &mut rng);
            let Intent::SellDdt { amount } = plan[1] else {
                panic!()
            };
            assert!((0.72..=1.08).contains(&amount), "{amount}");
        }
    }

    /// Geometric waiting times: the mean gap between events is 1/p days, and p = 0 or 1
    /// mean never and at once.
    #[test]
    fn event_schedule_has_the_daily_probability() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(next_occurrence(5, 0.0, &mut rng), u32::MAX);
        assert_eq!(next_occurrence(5, 1.0, &mut rng), 5);
        let n = 200_000;
        let p = 0.05;
        let mean: f64 = (0..n)
            .map(|_| f64::from(next_occurrence(0, p, &mut rng)))
            .sum::<f64>()
            / n as f64;
        // Failures before the first success: mean (1-p)/p = 19.
        assert!((mean - 19.0).abs() < 0.2, "{mean}");
    }

    fn decide(agent: &Agent, params: &AgentsConfig, outlook: &Outlook) -> Plan {
        let mut plan = Plan::new();
        super::decide(agent, params, outlook, &mut plan);
        plan
    }

    fn on_pie_share(kind: AgentType, share: f64, params: &AgentsConfig) -> Plan {
        super::on_pie_share(kind, share, params, 0)
            .into_iter()
            .collect()
    }

    #[test]
    fn degen_provides_liquidity_then_dumps_once() {
        let p = AgentsConfig::default();
        let mut a = agent(AgentType::DEGEN, 100.0);
        let plan = decide(&a, &p, &Outlook::default());
        assert_eq!(
            plan.as_slice(),
            &[
                Intent::AddLiquidity {
                    ddt: 10.0,
                    xdai: 10.0
                },
                Intent::SellDdt {
                    amount: f64::INFINITY
                }
            ]
        );
        a.has_acted = true;
        assert!(decide(&a, &p, &Outlook::default()).is_empty());
    }

    #[test]
    fn power_user_buys_only_the_shortfall() {
        let p = AgentsConfig::default();
        let plan = decide(&agent(AgentType::POWER, 0.5), &p, &Outlook::default());
        assert_eq!(
            plan[0],
            Intent::BuyDdtExact {
                amount: 1.5,
                max_price: 2.0
            }
        );
        assert_eq!(
            decide(&agent(AgentType::POWER, 5.0), &p, &Outlook::default()).len(),
            1
        );
    }

    #[test]
    fn an_organization_orders_one_job_of_one_amount() {
        let p = AgentsConfig::default();
        let plan = decide(
            &agent(AgentType::ORGANIZATION, 0.0),
            &p,
            &Outlook::default(),
        );
        assert_eq!(
            plan.as_slice(),
            &[Intent::BuyForJob {
                amount: 2.0,
                use_case: 0
            }]
        );
    }

    #[test]
    fn demand_scales_with_allowed_share() {
        let p = AgentsConfig::default();
        let mut outlook = Outlook {
            scale_demand: true,
            ..Outlook::default()
        };
        outlook.allowed_share[0] = 0.25;
        let plan = decide(&agent(AgentType::ORGANIZATION, 0.0), &p, &outlook);
        assert_eq!(
            plan[0],
            Intent::BuyForJob {
                amount: 0.5,
                use_case: 0
            }
        );
    }

    #[test]
    fn share_reactions_follow_the_type() {
        let p = AgentsConfig::default();
        assert!(on_pie_share(AgentType::POWER, 1.0, &p).is_empty());
        assert_eq!(
            on_pie_share(AgentType::ACTIVE, 1.0, &p).as_slice(),
            &[Intent::SellDdt { amount: 1.0 }]
        );
    }
}
