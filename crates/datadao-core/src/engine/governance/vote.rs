//! The vote, one sequence whichever way members decide: [`Simulation::open_vote`] drafts
//! the next proposal (its `propose` row) and draws who turns out, then
//! [`Simulation::close_vote`] counts the ballots on the forecasts (one `vote` row each),
//! applies the pass rule once and makes the proposal's record. Forking twice
//! (`govern`) and looking ahead (`govern_looking_ahead`) differ only in how the
//! forecasts between the two are made and what is kept after.

use rand::Rng;

use super::super::record::Party;
use super::super::Simulation;
use crate::governance::{
    prefers, set_target, PerMember, Proposal, ProposalKind, ProposalRecord, Tally, Voting,
};
use crate::transactions::{Action, Detail, Observer};

/// Each member type's objective, forecast, by [`crate::AgentType::index`].
pub(super) type Forecast = crate::agent_type::PerTypeArray<Option<f64>>;

/// The seed's four member types' forecasts, as `governance.csv` records them.
fn seed_forecast(f: &Forecast) -> PerMember<Option<f64>> {
    use crate::AgentType as T;
    PerMember {
        degen: f[T::DEGEN.index()],
        power: f[T::POWER.index()],
        active: f[T::ACTIVE.index()],
        casual: f[T::CASUAL.index()],
    }
}

/// What members weigh a proposal by: each type's objective at the end of the fork with
/// and without it, and the fork's steps (all `None` under fixed voting).
pub(super) struct Forecasts {
    pub(super) horizon: Option<u64>,
    pub(super) with: Forecast,
    pub(super) without: Forecast,
}

impl Forecasts {
    /// No forecast: fixed voting.
    pub(super) fn none() -> Self {
        Self {
            horizon: None,
            with: [None; crate::agent_type::MAX_TYPES],
            without: [None; crate::agent_type::MAX_TYPES],
        }
    }
}

/// A member who turned out: who, its weight, and (fixed voting) its drawn choice.
struct Ballot {
    agent: usize,
    kind: crate::AgentType,
    weight: f64,
    fixed: Option<bool>,
}

/// A proposal put to the members, with who turned out to vote on it.
pub(super) struct OpenVote {
    pub(super) number: u32,
    pub(super) proposal: Proposal,
    ballots: Vec<Ballot>,
    eligible: f64,
}

impl Simulation {
    /// Draft the next proposal and draw who turns out to vote on it.
    pub(super) fn open_vote<O: Observer>(&mut self, step: u32, observer: &mut O) -> OpenVote {
        let (number, proposal) = self.draft(step, observer);
        self.turn_out(number, proposal)
    }

    /// Count the ballots on `forecasts` and apply the pass rule (once: the record and the
    /// counter of passed proposals both read this verdict). Carrying out what passed is
    /// the caller's.
    pub(super) fn close_vote<O: Observer>(
        &mut self,
        step: u32,
        vote: &OpenVote,
        forecasts: Forecasts,
        observer: &mut O,
    ) -> ProposalRecord {
        let tally = self.count(step, vote, &forecasts, observer);
        let g = &self.config.governance;
        let passed = tally.passes(g.quorum, g.threshold);
        if passed {
            self.governance.passed += 1;
        }
        ProposalRecord {
            number: vote.number,
            step,
            proposal: vote.proposal,
            tally,
            weight: g.weight,
            passed,
            horizon: forecasts.horizon,
            with: seed_forecast(&forecasts.with),
            without: seed_forecast(&forecasts.without),
        }
    }

    /// Draft the next proposal from the agenda and announce it (its number, the
    /// `propose` row).
    fn draft<O: Observer>(&mut self, step: u32, observer: &mut O) -> (u32, Proposal) {
        let g = &self.config.governance;
        let (kind, setting, up) = self.governance.agenda.next(g, &mut self.governance.rng);
        let proposal = match kind {
            ProposalKind::Set => {
                let old = self.settings.get(setting);
                let new = set_target(old, up, g.set.bounds(setting));
                Proposal::Set { setting, old, new }
            }
            _ => {
                let treasury = self.pie.treasury();
                Proposal::Treasury {
                    kind,
                    treasury,
                    ddt: treasury * g.fraction(kind),
                }
            }
        };
        self.governance.proposals += 1;
        let number = u32::try_from(self.governance.proposals).unwrap_or(u32::MAX);
        let detail = proposal_detail(number, &proposal);
        self.emit(
            observer,
            step,
            Party::Treasury,
            Action::Propose,
            [0.0, 0.0, 0.0],
            detail,
        );
        (number, proposal)
    }

    /// Who turns out to vote on `proposal`, with what weight (and, under fixed voting,
    /// which way), drawn from governance's generator in join order; and the weight of
    /// every member.
    pub(super) fn turn_out(&mut self, number: u32, proposal: Proposal) -> OpenVote {
        let kind = proposal.kind();
        let g = &self.config.governance;
        let (rule, voting) = (g.weight, g.voting);
        let yes_probability = *g.fixed.of(kind);
        // Each type's turnout and yes-probability, resolved once per vote.
        let mut turnout = [None; crate::agent_type::MAX_TYPES];
        let mut yes = [0.0; crate::agent_type::MAX_TYPES];
        for t in self.types.types() {
            let custom = self.config.agents.custom(t).filter(|c| c.member);
            turnout[t.index()] = g.turnout.of(t).or(custom.map(|c| c.turnout));
            yes[t.index()] = yes_probability
                .of(t)
                .or(custom.map(|c| c.fixed_yes))
                .unwrap_or(0.0);
        }
        let mut ballots = Vec::new();
        let mut eligible = 0.0;
        for i in 0..self.agents.len() {
            let kind = self.agents[i].kind;
            let Some(p) = turnout[kind.index()] else {
                continue;
            };
            // One who has left has no vote, and its weight counts for no quorum.
            if self.agents[i].left {
                continue;
            }
            let weight = rule.weight(self.agents[i].ddt, self.members[i].crc_locked);
            eligible += weight;
            if !self.governance.rng.gen_bool(p) {
                continue;
            }
            let fixed = match voting {
                Voting::Foresight => None,
                Voting::Fixed => Some(self.governance.rng.gen_bool(yes[kind.index()])),
            };
            ballots.push(Ballot {
                agent: i,
                kind,
                weight,
                fixed,
            });
        }
        OpenVote {
            number,
            proposal,
            ballots,
            eligible,
        }
    }

    /// Count the ballots in turn-out order: each voter votes by its type's forecast
    /// (foresight) or as drawn (fixed), with its weight; one `vote` row each.
    pub(super) fn count<O: Observer>(
        &mut self,
        step: u32,
        vote: &OpenVote,
        forecasts: &Forecasts,
        observer: &mut O,
    ) -> Tally {
        let (with, without) = (&forecasts.with, &forecasts.without);
        let mut preference = [None; crate::agent_type::MAX_TYPES];
        for kind in self.types.types() {
            if let Some(o) = self.objective_of(kind) {
                preference[kind.index()] = prefers(o, with[kind.index()], without[kind.index()]);
            }
        }
        let mut tally = Tally {
            eligible: vote.eligible,
            ..Tally::default()
        };
        for b in &vote.ballots {
            let choice = b.fixed.or(preference[b.kind.index()]);
            tally.voters += 1;
            match choice {
                Some(true) => tally.yes += b.weight,
                Some(false) => tally.no += b.weight,
                None => tally.abstain += b.weight,
            }
            let detail = Detail::Vote {
                number: vote.number,
                choice,
                weight: b.weight,
            };
            self.record(observer, step, b.agent, Action::Vote, 0.0, 0.0, 0.0, detail);
        }
        tally
    }
}

/// How a proposal is described in the log.
pub(super) fn proposal_detail(number: u32, proposal: &Proposal) -> Detail {
    match *proposal {
        Proposal::Set { setting, old, new } => Detail::Proposal {
            number,
            kind: ProposalKind::Set,
            setting: Some(setting),
            old,
            new,
        },
        Proposal::Treasury {
            kind,
            treasury,
            ddt,
        } => Detail::Proposal {
            number,
            kind,
            setting: None,
            old: treasury,
            new: treasury - ddt,
        },
    }
}
