//! Firing the scenario's scheduled events at the start of their step: settings moved
//! through the governed settings' one write path, waves of agents admitted as entry
//! admits them, agents who leave, and data removed or use cases stopped by members drawn
//! from the run's generator, each through the data pool's write path.

use rand::seq::index::sample;

use super::record::Party;
use super::Simulation;
use crate::agents::DataIntent;
use crate::events::Event;
use crate::governance::Bounds;
use crate::transactions::{Action, Detail, Observer};

impl Simulation {
    /// Fire every event scheduled for `step`, in the order the scenario lists them.
    pub(super) fn fire_events<O: Observer>(&mut self, step: u32, observer: &mut O) {
        while let Some((at, number)) = self
            .events
            .get(self.next_event)
            .map(|(at, _)| (*at, self.next_event))
        {
            if at != u64::from(step) {
                break;
            }
            self.next_event += 1;
            let event = self.events[number].1.clone();
            self.emit(
                observer,
                step,
                Party::Event,
                Action::Event,
                [0.0, 0.0, 0.0],
                Detail::Event {
                    number: self.event_numbers[number],
                },
            );
            match event {
                Event::Set(moves) => {
                    let anything = Bounds {
                        step: 0.0,
                        min: f64::MIN,
                        max: f64::MAX,
                    };
                    for (setting, value) in moves {
                        self.settings = self.settings.moved(setting, value, anything);
                    }
                }
                Event::Join(kind, count) => {
                    for _ in 0..count {
                        self.join_as(step, kind, observer);
                    }
                }
                Event::Leave(kind, fraction) => {
                    for i in self.drawn(kind, fraction) {
                        self.leave(step, i, observer);
                    }
                }
                Event::RemoveData(kind, fraction) => {
                    for i in self.drawn(kind, fraction) {
                        if self.data.member(i).weight > 0.0 {
                            self.apply_data(step, i, DataIntent::Remove, observer);
                        }
                    }
                }
                Event::Revoke(kind, use_case, fraction) => {
                    for i in self.drawn(kind, fraction) {
                        if self.data.member(i).mask & (1 << use_case) != 0 {
                            self.apply_data(step, i, DataIntent::Revoke { use_case }, observer);
                        }
                    }
                }
            }
        }
    }

    /// Agent `i` leaves with what it holds: its data leaves the pool (a `data_removed`
    /// row when it has any), it is no longer counted, and what The Pie paid it is
    /// settled, since it takes no more shares. Its tokens stay in its hands.
    fn leave<O: Observer>(&mut self, step: u32, i: usize, observer: &mut O) {
        if self.data.member(i).weight > 0.0 {
            self.apply_data(step, i, DataIntent::Remove, observer);
        }
        let kind = self.agents[i].kind;
        self.agents[i].left = true;
        self.members[i].left_step = step;
        self.population.leave(kind);
        if let Some(account) = self.pie_accounts.get_mut(i) {
            account.paid += self.pie_per_agent[kind.index()] - account.base;
            account.base = 0.0;
        }
    }

    /// `fraction` of the agents of `kind` present (rounded to the nearest whole agent),
    /// drawn uniformly from the run's generator, in join order.
    fn drawn(&mut self, kind: crate::AgentType, fraction: f64) -> Vec<usize> {
        let of_kind: Vec<usize> = (0..self.agents.len())
            .filter(|&i| self.agents[i].kind == kind && !self.agents[i].left)
            .collect();
        let k = ((of_kind.len() as f64) * fraction).round() as usize;
        let mut picked: Vec<usize> = sample(&mut self.rng, of_kind.len(), k.min(of_kind.len()))
            .into_iter()
            .map(|j| of_kind[j])
            .collect();
        picked.sort_unstable();
        picked
    }
}
