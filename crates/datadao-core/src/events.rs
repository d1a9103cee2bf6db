//! Shocks on a schedule: `[[events]]`, each at a `step` and of one kind: `set` (move
//! settings that can change mid-run, the governed ones), `join` (a wave of agents of a
//! type), `leave` (a fraction of a type's agents leave with what they hold),
//! `remove_data` or `revoke` (a fraction of a type's members take their data out or stop
//! a use case); which agents is drawn from the run's generator when the event fires. Events fire at the start of their step, in the order given, each writing an
//! `event` row to the transaction log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent_type::AgentType;
use crate::agents::AgentsConfig;
use crate::governance::Governable;
use crate::validation::{err, ConfigError};

/// One scheduled event as a scenario declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// The step at whose start it fires.
    pub step: u64,
    /// Settings to move, by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<BTreeMap<String, f64>>,
    /// Agents who join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<JoinEvent>,
    /// Agents who leave, with what they hold (selling nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave: Option<FractionEvent>,
    /// Members who take their data out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_data: Option<FractionEvent>,
    /// Members who stop a use case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<RevokeEvent>,
}

/// `join = { type = "...", count = N }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinEvent {
    /// The type that joins.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// `leave = { type = "...", fraction = f }` and `remove_data = { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FractionEvent {
    /// The type it concerns.
    #[serde(rename = "type")]
    pub kind: String,
    /// Share of the type's agents, rounded to the nearest whole agent.
    pub fraction: f64,
}

/// `revoke = { type = "...", use_case = "...", fraction = f }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeEvent {
    /// The type it concerns.
    #[serde(rename = "type")]
    pub kind: String,
    /// The use case they stop.
    pub use_case: String,
    /// Share of the type's agents, rounded to the nearest whole agent.
    pub fraction: f64,
}

/// An event, checked: what the engine carries out.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Move these settings, in key order.
    Set(Vec<(Governable, f64)>),
    /// Admit `count` agents of `kind`.
    Join(AgentType, u64),
    /// A `fraction` of `kind`'s agents leave.
    Leave(AgentType, f64),
    /// A `fraction` of `kind`'s members remove their data.
    RemoveData(AgentType, f64),
    /// A `fraction` of `kind`'s members stop use case `u`.
    Revoke(AgentType, u8, f64),
}

/// Most agents one `join` event may add: as many as a run may hold.
const MAX_JOIN: u64 = 100_000_000;

fn kind_of(
    key: &str,
    name: &str,
    members_only: bool,
    agents: &AgentsConfig,
) -> Result<AgentType, ConfigError> {
    let types = agents.type_names();
    let eligible = |k: &AgentType| !members_only || agents.is_member(*k);
    let kinds: Vec<&str> = types
        .types()
        .filter(eligible)
        .map(|k| types.name(k))
        .collect();
    types
        .find(name)
        .filter(eligible)
        .ok_or_else(|| err(key, name, &format!("one of {}", kinds.join(", "))))
}

fn fraction_of(key: &str, f: f64) -> Result<f64, ConfigError> {
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(err(key, f, "a number in [0, 1]"))
    }
}

/// The accepted range of a governed setting an event sets, or why not.
fn check_value(key: &str, g: Governable, v: f64) -> Result<(), ConfigError> {
    let ok = match g {
        Governable::FeeRate => (0.0..1.0).contains(&v),
        Governable::MintPerWeight => (0.0..=crate::validation::MAX_AMOUNT).contains(&v),
        _ => (0.0..=1.0).contains(&v),
    };
    if ok {
        Ok(())
    } else {
        let accepted = match g {
            Governable::FeeRate => "a number in [0, 1)",
            Governable::MintPerWeight => "a number from 0 to 1e15",
            _ => "a number in [0, 1]",
        };
        Err(err(key, v, accepted))
    }
}

/// Check `events` against a run of `total_steps` over `use_cases`: one kind each, a
/// step the run reaches, known types, use cases and settings, values in range.
pub fn compile(
    events: &[EventConfig],
    total_steps: u64,
    use_cases: &[String],
    agents: &AgentsConfig,
) -> Result<Vec<(u64, Event)>, ConfigError> {
    events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let at = |field: &str| format!("events[{n}].{field}");
            if e.step >= total_steps {
                return Err(err(
                    &at("step"),
                    e.step,
                    &format!(
                        "a step the run reaches: 0 to {} (simulation.total_steps is {total_steps})",
                        total_steps.saturating_sub(1)
                    ),
                ));
            }
            let given = [
                e.set.is_some(),
                e.join.is_some(),
                e.leave.is_some(),
                e.remove_data.is_some(),
                e.revoke.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return Err(err(
                    &format!("events[{n}]"),
                    format!("{} kinds", given.iter().filter(|g| **g).count()),
                    "exactly one of set, join, leave, remove_data, revoke",
                ));
            }
            let event = if let Some(set) = &e.set {
                let mut moves = Vec::new();
                for (key, &v) in set {
                    let field = at(&format!("set.{key}"));
                    let g = Governable::ALL
                        .iter()
                        .copied()
                        .find(|g| g.key() == key)
                        .ok_or_else(|| {
                            let keys: Vec<&str> = Governable::ALL.iter().map(|g| g.key()).collect();
                            err(
                                &field,
                                key,
                                &format!("a setting that can change mid-run: {}", keys.join(", ")),
                            )
                        })?;
                    check_value(&field, g, v)?;
                    moves.push((g, v));
                }
                Event::Set(moves)
            } else if let Some(j) = &e.join {
                if j.count > MAX_JOIN {
                    return Err(err(
                        &at("join.count"),
                        j.count,
                        "a whole number up to 100,000,000",
                    ));
                }
                Event::Join(kind_of(&at("join.type"), &j.kind, false, agents)?, j.count)
            } else if let Some(l) = &e.leave {
                Event::Leave(
                    kind_of(&at("leave.type"), &l.kind, false, agents)?,
                    fraction_of(&at("leave.fraction"), l.fraction)?,
                )
            } else if let Some(r) = &e.remove_data {
                Event::RemoveData(
                    kind_of(&at("remove_data.type"), &r.kind, true, agents)?,
                    fraction_of(&at("remove_data.fraction"), r.fraction)?,
                )
            } else {
                let r = e.revoke.as_ref().expect("one kind is given");
                let u = use_cases
                    .iter()
                    .position(|c| *c == r.use_case)
                    .ok_or_else(|| {
                        err(
                            &at("revoke.use_case"),
                            &r.use_case,
                            &format!("one of data.use_cases: {}", use_cases.join(", ")),
                        )
                    })?;
                Event::Revoke(
                    kind_of(&at("revoke.type"), &r.kind, true, agents)?,
                    u as u8,
                    fraction_of(&at("revoke.fraction"), r.fraction)?,
                )
            };
            Ok((e.step, event))
        })
        .collect()
}

/// The governed settings any `set` event moves, as a mask over [`Governable::ALL`]:
/// each becomes a column of `simulation_data.csv`.
pub fn set_mask(events: &[EventConfig]) -> u8 {
    let mut mask = 0;
    for e in events {
        for key in e.set.iter().flat_map(|s| s.keys()) {
            if let Some(i) = Governable::ALL.iter().position(|g| g.key() == key) {
                mask |= 1 << i;
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> Vec<String> {
        vec!["research".into(), "commercial".into()]
    }

    fn event(step: u64) -> EventConfig {
        EventConfig {
            step,
            set: None,
            join: None,
            leave: None,
            remove_data: None,
            revoke: None,
        }
    }

    #[test]
    fn events_are_checked_with_their_keys() {
        let c = cases();
        let mut e = event(5);
        e.set = Some(BTreeMap::from([("market.fee_rate".to_string(), 0.05)]));
        assert_eq!(
            compile(&[e.clone()], 10, &c, &AgentsConfig::default()).unwrap(),
            vec![(5, Event::Set(vec![(Governable::FeeRate, 0.05)]))]
        );
        assert_eq!(set_mask(&[e.clone()]), 1);
        let late = EventConfig {
            step: 10,
            ..e.clone()
        };
        assert_eq!(
            compile(&[late], 10, &c, &AgentsConfig::default())
                .unwrap_err()
                .key,
            "events[0].step"
        );
        let mut bad = e.clone();
        bad.set = Some(BTreeMap::from([("market.fee_rate".to_string(), 1.5)]));
        assert_eq!(
            compile(&[bad], 10, &c, &AgentsConfig::default())
                .unwrap_err()
                .key,
            "events[0].set.market.fee_rate"
        );
        let mut unknown = e.clone();
        unknown.set = Some(BTreeMap::from([("simulation.seed".to_string(), 1.0)]));
        let err = compile(&[unknown], 10, &c, &AgentsConfig::default()).unwrap_err();
        assert!(err.accepted.contains("can change mid-run"), "{err}");
        let mut two = e;
        two.join = Some(JoinEvent {
            kind: "degen".into(),
            count: 3,
        });
        assert_eq!(
            compile(&[two], 10, &c, &AgentsConfig::default())
                .unwrap_err()
                .key,
            "events[0]"
        );
        let mut org = event(1);
        org.remove_data = Some(FractionEvent {
            kind: "organization".into(),
            fraction: 0.5,
        });
        assert!(compile(&[org], 10, &c, &AgentsConfig::default())
            .unwrap_err()
            .accepted
            .contains("degen, power"));
        let mut r = event(1);
        r.revoke = Some(RevokeEvent {
            kind: "power".into(),
            use_case: "medical".into(),
            fraction: 0.5,
        });
        assert_eq!(
            compile(&[r], 10, &c, &AgentsConfig::default())
                .unwrap_err()
                .key,
            "events[0].revoke.use_case"
        );
    }
}
