//! Who joins, what members do with their data, and minting against locked CRC: the
//! engine's only path into the data pool's and the vault's write methods.

use super::Simulation;
use crate::agents::{self, Agent, DataIntent, Member, DUST};
use crate::circles;
use crate::circles::MintPolicy;
use crate::transactions::{Action, Detail, Observer};

impl Simulation {
    pub(super) fn join<O: Observer>(&mut self, step: u32, observer: &mut O) {
        let kind = self.population.next_type();
        self.join_as(step, kind, observer);
    }

    /// An agent of `kind` joins: entry's choice, or a `join` event's.
    pub(super) fn join_as<O: Observer>(
        &mut self,
        step: u32,
        kind: crate::AgentType,
        observer: &mut O,
    ) {
        self.population.admit(kind);
        let (ddt, xdai) = self.config.agents.endowment(kind);
        let crc = if self.is_member[kind.index()] {
            self.config.circles.initial_crc
        } else {
            0.0
        };
        let id = self.agents.len() as u32;
        self.agents.push(Agent {
            id,
            kind,
            joined_step: step,
            ddt: 0.0,
            xdai,
            lp: 0.0,
            has_acted: false,
            left: false,
        });
        self.members.push(Member::new(crc));
        self.pie_accounts.push(super::PieAccount {
            base: self.pie_per_agent[kind.index()],
            paid: 0.0,
        });
        if self.remembers() {
            self.rule_memory.push(super::rules::RuleMemory {
                price_at_join: self.pool.price().unwrap_or(f64::NAN),
                ..Default::default()
            });
        }
        let i = id as usize;
        let skip = self.skip_probability[kind.index()];
        self.members[i].next_skip = agents::next_occurrence(step, skip, &mut self.rng);
        self.data.register(i);
        self.ledger.record_xdai_brought(xdai);
        self.record(
            observer,
            step,
            i,
            Action::Join,
            0.0,
            xdai,
            0.0,
            Detail::None,
        );
        if let Some(member) = self.config.agents.member(kind) {
            self.members[i].data_events = agents::first_data_events(member, step, &mut self.rng);
            let dataset = agents::draw_contribution(member, self.use_cases, &mut self.rng);
            self.apply_data(step, i, dataset, observer);
            if ddt > 0.0 {
                self.lock_and_mint(step, i, ddt, observer);
            }
        }
    }

    /// A member's data decisions, on the days one of its data events is due.
    pub(super) fn data_turn<O: Observer>(&mut self, step: u32, i: usize, observer: &mut O) {
        let events = self.members[i].data_events;
        if events.iter().all(|&due| step < due) {
            return;
        }
        let Some(member) = self.config.agents.member(self.agents[i].kind) else {
            return;
        };
        let data = self.data.member(i);
        let (plan, next) = agents::decide_data(
            events,
            member,
            data.mask,
            data.weight > 0.0,
            step,
            self.use_cases,
            &mut self.rng,
        );
        self.members[i].data_events = next;
        for intent in plan {
            self.apply_data(step, i, intent, observer);
        }
    }

    pub(super) fn apply_data<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        intent: DataIntent,
        observer: &mut O,
    ) {
        // What agents see of the data pool changes with it.
        self.outlook_stale = true;
        match intent {
            DataIntent::Contribute {
                quantity,
                quality,
                allowed,
            } => {
                let weight = self.data.contribute(i, quantity, quality, allowed);
                let detail = Detail::Dataset {
                    quantity,
                    quality,
                    weight,
                    allowed,
                };
                self.record(observer, step, i, Action::Contribute, 0.0, 0.0, 0.0, detail);
                let all = ((1u16 << self.use_cases) - 1) as u8;
                if allowed != all {
                    let restricted = Detail::UseCases(all & !allowed);
                    self.record(
                        observer,
                        step,
                        i,
                        Action::Restrict,
                        0.0,
                        0.0,
                        0.0,
                        restricted,
                    );
                }
            }
            DataIntent::Revoke { use_case } => {
                self.data.revoke(i, use_case as usize);
                let detail = Detail::UseCase(use_case);
                self.record(observer, step, i, Action::Revoke, 0.0, 0.0, 0.0, detail);
            }
            DataIntent::Remove => {
                let weight = self.data.remove(i);
                let detail = Detail::Removed { weight };
                self.record(observer, step, i, Action::Remove, 0.0, 0.0, 0.0, detail);
            }
        }
    }

    /// Lock member `i`'s CRC and mint the same dDT, as far as the mint policy and its
    /// CRC allow.
    pub(super) fn lock_and_mint<O: Observer>(
        &mut self,
        step: u32,
        i: usize,
        requested: f64,
        observer: &mut O,
    ) {
        let policy = self.config.minting.policy;
        let per_weight = self.settings.mint_per_weight;
        let data = self.data.member(i);
        let a = &self.members[i];
        let cap = match policy {
            MintPolicy::Weight => circles::weight_room(per_weight, data.weight, a.crc_locked),
            MintPolicy::IssuanceScore => {
                circles::score_allowance(data.score(), a.issued_since_mint)
            }
        };
        let capped = cap < requested;
        let amount = requested.min(cap).min(a.crc);
        if capped {
            self.flows.mint_capped += 1;
        }
        let detail = if capped {
            Detail::Capped { requested }
        } else {
            Detail::None
        };
        if amount <= DUST {
            if capped {
                self.record(observer, step, i, Action::Mint, 0.0, 0.0, 0.0, detail);
            }
            return;
        }
        self.agents[i].ddt += amount;
        let a = &mut self.members[i];
        a.crc -= amount;
        a.crc_locked += amount;
        if policy == MintPolicy::IssuanceScore {
            a.issued_since_mint = 0.0;
        }
        if policy == MintPolicy::Weight
            && a.crc_locked > per_weight * data.weight * (1.0 + 1e-12) + DUST
            && self.violation.is_none()
        {
            self.violation = Some(format!(
                "member {i} locked {} CRC, above its cap {} x weight {}",
                a.crc_locked, per_weight, data.weight
            ));
        }
        self.vault.lock(amount);
        self.ledger.record_mint(amount);
        self.flows.minted_ddt += amount;
        self.record(observer, step, i, Action::Mint, amount, 0.0, 0.0, detail);
    }
}
