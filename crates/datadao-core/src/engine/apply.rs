//! Applying an agent's plan: each intent clamped to what the agent holds, carried out
//! through the pool's and The Pie's write paths, and recorded.

use super::Simulation;
use crate::agents::{Intent, Plan, DUST};
use crate::market::{Side, SwapReceipt};
use crate::transactions::{Action, Detail, Observer};

impl Simulation {
    pub(super) fn carry_out<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        plan: &Plan,
        observer: &mut O,
    ) {
        for intent in plan {
            self.apply(step, i, *intent, observer);
        }
    }

    /// Execute one intent of agent `i`, clamped to what it holds; an intent that cannot be
    /// carried out is dropped without effect.
    pub(super) fn apply<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        intent: Intent,
        observer: &mut O,
    ) {
        match intent {
            Intent::AddLiquidity { ddt, xdai } => {
                let agent = &self.agents[i];
                let (ddt, xdai) = (ddt.min(agent.ddt), xdai.min(agent.xdai));
                if ddt <= DUST || xdai <= DUST {
                    return;
                }
                let Some(q) = self.pool.quote_deposit(ddt, xdai) else {
                    return;
                };
                self.pool.deposit(&q);
                let agent = &mut self.agents[i];
                agent.ddt -= q.ddt;
                agent.xdai -= q.xdai;
                agent.lp += q.lp;
                let action = Action::AddLiquidity;
                self.record(
                    observer,
                    step,
                    i,
                    action,
                    -q.ddt,
                    -q.xdai,
                    q.lp,
                    Detail::None,
                );
            }
            Intent::SellDdt { amount } => {
                let amount = amount.min(self.agents[i].ddt);
                if amount <= DUST {
                    return;
                }
                let Some(q) =
                    self.pool
                        .quote_exact_in(Side::SellDdt, amount, self.settings.fee_rate)
                else {
                    return;
                };
                let receipt = self.pool.swap(&q);
                self.note_swap(&receipt);
                let agent = &mut self.agents[i];
                agent.ddt -= q.amount_in;
                agent.xdai += q.amount_out;
                let (d, x) = (-q.amount_in, q.amount_out);
                self.record(observer, step, i, Action::Sell, d, x, 0.0, Detail::None);
            }
            Intent::BuyDdtExact { amount, max_price } => {
                if amount <= DUST {
                    return;
                }
                match self.pool.price() {
                    Some(p) if p <= max_price => {}
                    _ => return,
                }
                self.buy_exact(step, i, amount, observer);
            }
            Intent::Compute {
                amount,
                partial,
                use_case,
            } => self.run_job(step, i, amount, partial, use_case, observer),
            Intent::BuyForJob { amount, use_case } => {
                self.buy_for_job(step, i, amount, use_case, observer)
            }
            Intent::Mint { amount } => self.lock_and_mint(step, i, amount, observer),
            Intent::BuyWithXdai { amount } => {
                let amount = amount.min(self.agents[i].xdai);
                if amount.is_nan() || amount <= DUST {
                    return;
                }
                let Some(q) =
                    self.pool
                        .quote_exact_in(Side::BuyDdt, amount, self.settings.fee_rate)
                else {
                    return;
                };
                let receipt = self.pool.swap(&q);
                self.note_swap(&receipt);
                let agent = &mut self.agents[i];
                agent.xdai -= q.amount_in;
                agent.ddt += q.amount_out;
                let (d, x) = (q.amount_out, -q.amount_in);
                self.record(observer, step, i, Action::Buy, d, x, 0.0, Detail::None);
            }
            Intent::RemoveLiquidity { lp } => {
                let lp = lp.min(self.agents[i].lp);
                if lp.is_nan() || lp <= DUST {
                    return;
                }
                let Some(w) = self.pool.withdraw(lp) else {
                    return;
                };
                let agent = &mut self.agents[i];
                agent.ddt += w.ddt;
                agent.xdai += w.xdai;
                agent.lp -= w.lp;
                let action = Action::RemoveLiquidity;
                self.record(
                    observer,
                    step,
                    i,
                    action,
                    w.ddt,
                    w.xdai,
                    -w.lp,
                    Detail::None,
                );
            }
            Intent::Redeem { amount } => {
                let amount = amount
                    .min(self.agents[i].ddt)
                    .min(self.members[i].crc_locked);
                if amount <= DUST {
                    return;
                }
                self.agents[i].ddt -= amount;
                let m = &mut self.members[i];
                m.crc_locked -= amount;
                m.crc += amount;
                self.vault.unlock(amount);
                self.ledger.record_burn(amount);
                self.flows.redeemed_ddt += amount;
                self.record(
                    observer,
                    step,
                    i,
                    Action::Redeem,
                    -amount,
                    0.0,
                    0.0,
                    Detail::None,
                );
            }
        }
    }

    /// An organization's job: refused (and recorded) if no live data allows its use
    /// case; otherwise exactly `amount` dDT is bought and exactly that is spent. A buy
    /// that cannot happen (empty pool, not enough xDAI) leaves everything as it was.
    pub(super) fn buy_for_job<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        amount: f64,
        use_case: u8,
        observer: &mut O,
    ) {
        let u = use_case as usize;
        if !self.data.can_run(u) {
            self.flows.jobs_refused += 1;
            let detail = Detail::UseCase(use_case);
            self.record(observer, step, i, Action::JobRefused, 0.0, 0.0, 0.0, detail);
            return;
        }
        if amount <= DUST {
            return;
        }
        if let Some(bought) = self.buy_exact(step, i, amount, observer) {
            self.spend_on_job(step, i, bought, use_case, observer);
        }
    }

    /// Buy exactly `amount` dDT for agent `i` if the pool can sell it and the agent can
    /// pay for all of it; returns what was bought.
    pub(super) fn buy_exact<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        amount: f64,
        observer: &mut O,
    ) -> Option<f64> {
        let q = self
            .pool
            .quote_exact_out(Side::BuyDdt, amount, self.settings.fee_rate)?;
        if q.amount_in > self.agents[i].xdai {
            return None;
        }
        let receipt = self.pool.swap(&q);
        self.note_swap(&receipt);
        let agent = &mut self.agents[i];
        agent.xdai -= q.amount_in;
        agent.ddt += q.amount_out;
        let (d, x) = (q.amount_out, -q.amount_in);
        self.record(observer, step, i, Action::Buy, d, x, 0.0, Detail::None);
        Some(q.amount_out)
    }

    /// Pay `spend` dDT of agent `i` into The Pie for a job that can run, crediting the
    /// data it used.
    pub(super) fn spend_on_job<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        spend: f64,
        use_case: u8,
        observer: &mut O,
    ) {
        let u = use_case as usize;
        self.agents[i].ddt -= spend;
        self.pie.deposit(spend);
        self.data.record_job(u, spend);
        self.flows.pie_inflow_ddt += spend;
        self.flows.jobs_run += 1;
        let detail = Detail::UseCase(use_case);
        self.record(observer, step, i, Action::Compute, -spend, 0.0, 0.0, detail);
    }

    /// A compute job: refused at no cost if no live data allows its use case; otherwise
    /// paid into The Pie and credited to the owners of the data it used.
    pub(super) fn run_job<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        amount: f64,
        partial: bool,
        use_case: u8,
        observer: &mut O,
    ) {
        let u = use_case as usize;
        let detail = Detail::UseCase(use_case);
        if !self.data.can_run(u) {
            self.flows.jobs_refused += 1;
            self.record(observer, step, i, Action::JobRefused, 0.0, 0.0, 0.0, detail);
            return;
        }
        let held = self.agents[i].ddt;
        // An exact-output buy can land a rounding hair short of the target; that hair
        // must not cancel the job it was bought for.
        let spend = if held + DUST >= amount {
            amount.min(held)
        } else if partial {
            held
        } else {
            return;
        };
        if spend <= DUST {
            return;
        }
        self.spend_on_job(step, i, spend, use_case, observer);
    }

    pub(super) fn note_swap(&mut self, receipt: &SwapReceipt) {
        let q = &receipt.quote;
        self.flows.swaps += 1;
        match q.side {
            Side::BuyDdt => {
                self.flows.volume_xdai += q.amount_in;
                self.flows.fees_xdai += q.fee;
                self.ledger.record_fee(0.0, q.fee);
            }
            Side::SellDdt => {
                self.flows.volume_xdai += q.amount_out;
                self.flows.fees_ddt += q.fee;
                self.ledger.record_fee(q.fee, 0.0);
            }
        }
        if receipt.lowered_k && self.violation.is_none() {
            self.violation = Some(format!(
                "a swap lowered x*y from {} to {}",
                receipt.k_before, receipt.k_after
            ));
        }
    }
}
