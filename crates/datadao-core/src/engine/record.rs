//! The engine's transaction rows: one constructor ([`Simulation::emit`]) for every row,
//! an agent's or the treasury's, with the party's balances and the price as they stand,
//! and sequence numbers taken only when an observer wants the rows. Every row's amounts
//! also go into the ledger's flows, whether or not anyone watches.

use super::Simulation;
use crate::flows::FlowParty;
use crate::transactions::{Action, Detail, Observer, Transaction};

/// Who a transaction row is about.
#[derive(Clone, Copy, Debug)]
pub(in crate::engine) enum Party {
    /// The agent at this index.
    Agent(usize),
    /// The dataDAO's treasury.
    Treasury,
    /// A scheduled event (a row of its own, written like the treasury's: no agent).
    Event,
}

impl Simulation {
    /// Record a row of agent `i`'s: amounts as signed from its side, balances its own.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn record<O: Observer>(
        &mut self,
        observer: &mut O,
        step: u32,
        i: usize,
        action: Action,
        ddt: f64,
        xdai: f64,
        lp: f64,
        detail: Detail,
    ) {
        self.emit(
            observer,
            step,
            Party::Agent(i),
            action,
            [ddt, xdai, lp],
            detail,
        );
    }

    /// The one constructor of the engine's transaction rows: the party's balances and
    /// the price as they stand now, and the next sequence number (taken only when an
    /// observer wants the rows, as the numbering has always been).
    ///
    /// Inlined into every caller: the flows are two additions, and a run without its
    /// log must not pay a call for each of its hundreds of millions of rows; the row
    /// itself is built out of line, only when someone wants it.
    #[inline(always)]
    pub(in crate::engine) fn emit<O: Observer>(
        &mut self,
        observer: &mut O,
        step: u32,
        party: Party,
        action: Action,
        amounts: [f64; 3],
        detail: Detail,
    ) {
        let flow_party = match party {
            Party::Agent(i) => FlowParty::Agent(self.agents[i].kind),
            Party::Treasury | Party::Event => FlowParty::Treasury,
        };
        self.ledger
            .record_flow(flow_party, action, amounts[0], amounts[1]);
        if observer.wants_transactions() {
            self.emit_row(observer, step, party, action, amounts, detail);
        }
    }

    #[inline(never)]
    fn emit_row<O: Observer>(
        &mut self,
        observer: &mut O,
        step: u32,
        party: Party,
        action: Action,
        [ddt, xdai, lp]: [f64; 3],
        detail: Detail,
    ) {
        let (agent_id, agent_type, by_treasury, ddt_balance, xdai_balance) = match party {
            Party::Agent(i) => {
                let a = &self.agents[i];
                (a.id, a.kind, false, a.ddt, a.xdai)
            }
            Party::Treasury => (
                0,
                crate::AgentType::DEGEN,
                true,
                self.pie.treasury(),
                self.treasury.xdai(),
            ),
            // An event holds nothing: its row says when it fired and which it was.
            Party::Event => (0, crate::AgentType::DEGEN, true, 0.0, 0.0),
        };
        let tx = Transaction {
            step,
            seq: self.seq,
            agent_id,
            agent_type,
            by_treasury,
            action,
            ddt,
            xdai,
            lp,
            ddt_balance,
            xdai_balance,
            price: self.pool.price(),
            detail,
        };
        self.seq += 1;
        observer.on_transaction(&tx);
    }
}
