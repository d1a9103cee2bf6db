//! The Pie's distribution as the engine runs it: the pot, each member's share by the
//! configured policy, and what recipients do with their shares.

use super::{BalanceSums, Simulation};
use crate::agents;
use crate::pie::PiePolicy;
use crate::transactions::{Action, Detail, Observer};

impl Simulation {
    /// Pay out the Pie. Returns the step's balance sums when it has visited every agent
    /// (each agent's balances are final once its Pie turn is over), sparing `measure` a
    /// pass; `None` when there was nothing to pay.
    pub(super) fn distribute_pie<O: Observer>(
        &mut self,
        step: u32,
        shuffled: bool,
        observer: &mut O,
    ) -> Option<BalanceSums> {
        let policy = self.config.pie.policy;
        let rate = self.settings.distribution_rate;
        // From here what the Pie keeps is the treasury's; what flows in is the next pot's.
        self.pie.begin_distribution();
        let pot = self.pie.balance() * rate;
        // Under `groups` the Pie computes per-type amounts; under `usage` and `weight`
        // each member's claim is read as it is paid, against a total known up front.
        let mut groups = None;
        let total_claims = match policy {
            PiePolicy::Groups => {
                let shares = &self.settings.shares;
                let mut group_shares = vec![0.0, 0.0, shares.power, shares.active, shares.casual];
                group_shares.extend(self.config.agents.custom.keys().map(|name| {
                    self.config
                        .pie
                        .shares
                        .custom
                        .get(name)
                        .copied()
                        .unwrap_or(0.0)
                }));
                let dist = self
                    .pie
                    .distribute(rate, &group_shares, self.population.counts());
                self.flows.pie_distributed_ddt += dist.total;
                for (sum, each) in self.pie_per_agent.iter_mut().zip(dist.per_member) {
                    *sum += each;
                }
                groups = Some(dist);
                dist.total
            }
            PiePolicy::Usage => self.data.usage_total(),
            PiePolicy::Weight => self.data.total_weight(),
        };
        // `<= 0.0` alone would let a NaN through.
        if total_claims.is_nan() || total_claims <= 0.0 || pot <= 0.0 {
            self.data.close_usage_period();
            return None;
        }
        let mut tally = BalanceSums::default();
        for n in 0..self.agents.len() {
            let i = if shuffled { self.order[n] as usize } else { n };
            self.pie_turn(
                step,
                i,
                policy,
                groups.as_ref(),
                pot,
                total_claims,
                observer,
            );
            tally.add(&self.agents[i]);
        }
        // Usage credits are paid for this period; the next starts from zero.
        self.data.close_usage_period();
        Some(tally)
    }

    /// One agent's share of a distribution, and what it does with it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pie_turn<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        policy: PiePolicy,
        groups: Option<&crate::pie::Distribution>,
        pot: f64,
        total_claims: f64,
        observer: &mut O,
    ) {
        let kind = self.agents[i].kind;
        if self.agents[i].left {
            return;
        }
        let share = match groups {
            Some(dist) => dist.share_of(kind),
            None => {
                let claim = match policy {
                    PiePolicy::Usage => self.data.usage_of(i),
                    _ => self.data.member(i).weight,
                };
                if claim <= 0.0 {
                    return;
                }
                let paid = self.pie.pay(pot * claim / total_claims);
                self.flows.pie_distributed_ddt += paid;
                self.pie_accounts[i].paid += paid;
                paid
            }
        };
        if share <= 0.0 {
            return;
        }
        self.agents[i].ddt += share;
        self.pie_income[kind.index()] += share;
        if let Some(memory) = self.rule_memory.get_mut(i) {
            memory.pie_received = share;
        }
        let detail = Detail::Policy(policy);
        self.record(observer, step, i, Action::PieShare, share, 0.0, 0.0, detail);
        let use_case = self.job_use_case[kind.index()];
        if let Some(reaction) = agents::on_pie_share(kind, share, &self.config.agents, use_case) {
            self.apply(step, i, reaction, observer);
        }
    }
}
