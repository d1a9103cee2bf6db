//! Agents: who they are, what they hold, and what they *decide* to do.
//!
//! Agents decide; the engine applies. [`decide`] and [`on_pie_share`] read an agent and
//! the market and return a [`Plan`] of [`Intent`]s; they change nothing. The engine
//! executes a plan intent by intent, clamping each to what the agent holds at that
//! moment, so "each as far as its balance allows" is the engine's rule, stated once.

use arrayvec::ArrayVec;
use serde::{Deserialize, Serialize};

use crate::config::{AgentsConfig, PieShareUse};

/// The five kinds of participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentType {
    /// Speculators: provide liquidity once and sell their dDT.
    Degen,
    /// Buyers of compute; not members of the dataDAO.
    Organization,
    /// Heavy compute users.
    Power,
    /// Regular compute users.
    Active,
    /// Light users who also sell.
    Casual,
}

impl AgentType {
    /// Every type, in the canonical order used for ties, columns and legends.
    pub const ALL: [AgentType; 5] = [
        AgentType::Degen,
        AgentType::Organization,
        AgentType::Power,
        AgentType::Active,
        AgentType::Casual,
    ];

    /// The lowercase name used in keys, columns and the transaction log.
    pub fn name(self) -> &'static str {
        match self {
            AgentType::Degen => "degen",
            AgentType::Organization => "organization",
            AgentType::Power => "power",
            AgentType::Active => "active",
            AgentType::Casual => "casual",
        }
    }

    /// Position in [`AgentType::ALL`], for per-type arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Members hold data and may mint dDT; organizations only buy.
    pub fn is_member(self) -> bool {
        self != AgentType::Organization
    }
}

/// Amounts below this are dust: not worth a transaction. Repeated decimal spends such as
/// 100 - 0.1 - 0.9 - ... leave ~1e-14 behind in binary, which would otherwise produce a
/// trickle of meaningless trades forever.
pub const DUST: f64 = 1e-9;

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
    /// Spend dDT on compute (into The Pie). With `partial`, as much as it holds up to
    /// `amount`; without, all of `amount` or nothing.
    Compute {
        /// dDT to spend.
        amount: f64,
        /// Whether a smaller spend is acceptable.
        partial: bool,
    },
}

/// A short, allocation-free list of intents, carried out in order.
pub type Plan = ArrayVec<Intent, 4>;

/// What an agent does on its turn in a step.
pub fn decide(agent: &Agent, params: &AgentsConfig) -> Plan {
    let mut plan = Plan::new();
    match agent.kind {
        AgentType::Degen => {
            if !agent.has_acted {
                plan.push(Intent::AddLiquidity {
                    ddt: params.degen.liquidity_ddt,
                    xdai: params.degen.liquidity_xdai,
                });
                plan.push(Intent::SellDdt {
                    amount: f64::INFINITY,
                });
            }
        }
        AgentType::Organization => {
            let amount = params.organization.daily_compute_ddt;
            plan.push(Intent::BuyDdtExact {
                amount,
                max_price: f64::INFINITY,
            });
            plan.push(Intent::Compute {
                amount,
                partial: false,
            });
        }
        AgentType::Power => {
            let amount = params.power.daily_compute_ddt;
            if agent.ddt < amount {
                plan.push(Intent::BuyDdtExact {
                    amount: amount - agent.ddt,
                    max_price: params.power.max_buy_price,
                });
            }
            plan.push(Intent::Compute {
                amount,
                partial: false,
            });
        }
        AgentType::Active => plan.push(Intent::Compute {
            amount: params.active.daily_compute_ddt,
            partial: false,
        }),
        AgentType::Casual => {
            plan.push(Intent::Compute {
                amount: params.casual.daily_compute_ddt,
                partial: true,
            });
            plan.push(Intent::SellDdt {
                amount: params.casual.daily_sell_ddt,
            });
        }
    }
    plan
}

/// What a member does with a Pie share it has just received.
pub fn on_pie_share(kind: AgentType, share: f64, params: &AgentsConfig) -> Plan {
    let use_ = match kind {
        AgentType::Power => params.power.pie_share,
        AgentType::Active => params.active.pie_share,
        AgentType::Casual => params.casual.pie_share,
        AgentType::Degen | AgentType::Organization => PieShareUse::Keep,
    };
    let mut plan = Plan::new();
    if use_ == PieShareUse::Sell {
        plan.push(Intent::SellDdt { amount: share });
    }
    plan
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
        }
    }

    #[test]
    fn degen_provides_liquidity_then_dumps_once() {
        let p = AgentsConfig::default();
        let mut a = agent(AgentType::Degen, 100.0);
        let plan = decide(&a, &p);
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
        assert!(decide(&a, &p).is_empty());
    }

    #[test]
    fn power_user_buys_only_the_shortfall() {
        let p = AgentsConfig::default();
        let plan = decide(&agent(AgentType::Power, 0.5), &p);
        assert_eq!(
            plan[0],
            Intent::BuyDdtExact {
                amount: 1.5,
                max_price: 2.0
            }
        );
        assert_eq!(decide(&agent(AgentType::Power, 5.0), &p).len(), 1);
    }

    #[test]
    fn share_reactions_follow_the_type() {
        let p = AgentsConfig::default();
        assert!(on_pie_share(AgentType::Power, 1.0, &p).is_empty());
        assert_eq!(
            on_pie_share(AgentType::Active, 1.0, &p).as_slice(),
            &[Intent::SellDdt { amount: 1.0 }]
        );
    }
}
