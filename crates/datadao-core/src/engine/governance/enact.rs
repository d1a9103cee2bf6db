//! Carrying out what passed: a `set` moves a governed setting (the pool's fee through its
//! one write path); `liquidity`, `burn` and `grants` spend the treasury's part of The
//! Pie, never what it holds for the next payout, and transact nothing below the dust
//! rule.

use super::super::record::Party;
use super::super::Simulation;
use super::vote::proposal_detail;
use crate::agents::{self, DUST};
use crate::governance::{Proposal, ProposalKind};
use crate::market::Side;
use crate::transactions::{Action, Detail, Observer};

impl Simulation {
    /// Carry out a passed proposal (or, in a fork, the proposal being weighed).
    pub(super) fn enact<O: Observer>(
        &mut self,
        step: u32,
        number: u32,
        proposal: &Proposal,
        observer: &mut O,
    ) {
        match *proposal {
            Proposal::Set { setting, new, .. } => {
                let bounds = self.config.governance.set.bounds(setting);
                self.settings = self.settings.moved(setting, new, bounds);
                let detail = proposal_detail(number, proposal);
                self.emit(
                    observer,
                    step,
                    Party::Treasury,
                    Action::SetParameter,
                    [0.0, 0.0, 0.0],
                    detail,
                );
            }
            Proposal::Treasury { kind, ddt, .. } => {
                let detail = Detail::Enacted { number };
                match kind {
                    // The dust rule: nothing below `DUST` is transacted.
                    _ if ddt < DUST => {}
                    ProposalKind::Burn => {
                        let burned = self.pie.take_for_governance(ddt);
                        self.ledger.record_dao_burn(burned);
                        self.emit(
                            observer,
                            step,
                            Party::Treasury,
                            Action::TreasuryBurn,
                            [-burned, 0.0, 0.0],
                            detail,
                        );
                    }
                    ProposalKind::Grants => self.grant(step, ddt, detail, observer),
                    ProposalKind::Liquidity => self.provide_liquidity(step, ddt, detail, observer),
                    ProposalKind::Set => {}
                }
            }
        }
    }

    /// Sell half of `ddt` from the treasury for xDAI, then deposit the other half with
    /// as much of the treasury's xDAI as the pool's ratio takes (sized like the router).
    /// The treasury keeps the LP tokens and whatever xDAI is left over.
    fn provide_liquidity<O: Observer>(
        &mut self,
        step: u32,
        ddt: f64,
        detail: Detail,
        observer: &mut O,
    ) {
        let half = self.pie.take_for_governance(ddt / 2.0);
        let quote = self
            .pool
            .quote_exact_in(Side::SellDdt, half, self.settings.fee_rate)
            .filter(|q| q.amount_in >= DUST && q.amount_out >= DUST);
        let Some(q) = quote else {
            // An empty pool has no price to sell at, and dust is not traded: nothing
            // happens.
            self.pie.return_to_treasury(half);
            return;
        };
        let receipt = self.pool.swap(&q);
        self.note_swap(&receipt);
        // The quote may take a hair less than offered; what it did not take stays.
        self.pie.return_to_treasury(half - q.amount_in);
        self.treasury.receive_xdai(q.amount_out);
        self.emit(
            observer,
            step,
            Party::Treasury,
            Action::TreasurySell,
            [-q.amount_in, q.amount_out, 0.0],
            detail,
        );
        let rest = (ddt - half).min(self.pie.treasury());
        let deposit = self
            .pool
            .quote_deposit(rest, self.treasury.xdai())
            .filter(|d| d.ddt >= DUST && d.xdai >= DUST);
        let Some(d) = deposit else {
            return;
        };
        let taken = self.pie.take_for_governance(d.ddt);
        let paid = self.treasury.pay_xdai(d.xdai);
        debug_assert!(taken == d.ddt && paid == d.xdai);
        self.pool.deposit(&d);
        self.treasury.receive_lp(d.lp);
        self.emit(
            observer,
            step,
            Party::Treasury,
            Action::TreasuryAddLiquidity,
            [-d.ddt, -d.xdai, d.lp],
            detail,
        );
    }

    /// Pay `ddt` from the treasury to members in proportion to their Contribution
    /// Weight; each recipient uses its grant as its type uses a Pie share.
    fn grant<O: Observer>(&mut self, step: u32, ddt: f64, detail: Detail, observer: &mut O) {
        let total = self.data.total_weight();
        if total.is_nan() || total <= 0.0 || ddt <= 0.0 {
            return;
        }
        for i in 0..self.agents.len() {
            let weight = self.data.member(i).weight;
            if weight <= 0.0 {
                continue;
            }
            let share = ddt * weight / total;
            // The dust rule: a grant too small to transact stays in the treasury.
            if share < DUST {
                continue;
            }
            let paid = self.pie.take_for_governance(share);
            if paid < DUST {
                self.pie.return_to_treasury(paid);
                continue;
            }
            let kind = self.agents[i].kind;
            self.agents[i].ddt += paid;
            self.pie_income[kind.index()] += paid;
            self.pie_accounts[i].paid += paid;
            self.record(observer, step, i, Action::Grant, paid, 0.0, 0.0, detail);
            let use_case = self.job_use_case[kind.index()];
            if let Some(reaction) = agents::on_pie_share(kind, paid, &self.config.agents, use_case)
            {
                self.apply(step, i, reaction, observer);
            }
        }
    }
}
