//! Behaviour as data: `[[agents.<type>.rules]]`, evaluated in order in each agent's turn,
//! each seeing the state the previous one left. A rule has a condition (`when`), an
//! action (`do`) and the action's amounts, all expressions of the rule language
//! ([`expr`]) over the agent's [`Observable`]s. A type with rules decides by them
//! instead of by its built-in behaviour; every action becomes an intent carried out by
//! the engine's one apply path, so the audit, the dust rule, consent and the log apply
//! unchanged.
//!
//! Rules are compiled once, when the scenario is checked: names resolve to observables
//! (use cases to their index), types are checked, constants folded. A bad rule is
//! refused with its key (`agents.power.rules[2].when`), its text, the position and what
//! is accepted.

pub mod expr;

pub use crate::agents::{ExprText, RuleConfig};
use crate::governance::Governable;
use crate::validation::{err, ConfigError};
use expr::{Bool, Num, Typed};

/// What a rule can read about its agent and the economy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observable {
    /// xDAI per dDT (NaN while the pool is empty).
    Price,
    /// The price when the agent joined (NaN if the pool was empty then).
    PriceAtJoin,
    /// dDT it holds.
    Ddt,
    /// xDAI it holds.
    Xdai,
    /// LP tokens it holds.
    Lp,
    /// Personal CRC it holds.
    Crc,
    /// CRC it has locked.
    CrcLocked,
    /// dDT it could mint now: its cap's room, as far as its CRC goes.
    MintRoom,
    /// Its Contribution Weight.
    Weight,
    /// The step, from 0.
    Step,
    /// Steps since it joined.
    Age,
    /// Turns it has taken (0 on its first; a skipped day is no turn).
    Turns,
    /// dDT in the pool.
    PoolDdt,
    /// xDAI in the pool.
    PoolXdai,
    /// dDT in The Pie.
    PieDdt,
    /// Its last Pie share (0 before any).
    PieReceived,
    /// Share of live data weight allowing the use case.
    AllowedShare(u8),
    /// 1 when a job for the use case would find data to run over, else 0.
    CanRun(u8),
    /// Members so far.
    Members,
    /// A governed setting's value in force.
    Governed(Governable),
}

/// Fixed observables by name (the use cases' and governed settings' come after).
const NAMED: &[(&str, Observable)] = &[
    ("price", Observable::Price),
    ("price_at_join", Observable::PriceAtJoin),
    ("ddt", Observable::Ddt),
    ("xdai", Observable::Xdai),
    ("lp", Observable::Lp),
    ("crc", Observable::Crc),
    ("crc_locked", Observable::CrcLocked),
    ("mint_room", Observable::MintRoom),
    ("weight", Observable::Weight),
    ("step", Observable::Step),
    ("age", Observable::Age),
    ("turns", Observable::Turns),
    ("pool_ddt", Observable::PoolDdt),
    ("pool_xdai", Observable::PoolXdai),
    ("pie_ddt", Observable::PieDdt),
    ("pie_received", Observable::PieReceived),
    ("members", Observable::Members),
];

/// The observable called `name`, given the scenario's use cases.
pub fn observable(name: &str, use_cases: &[String]) -> Option<Observable> {
    if let Some((_, o)) = NAMED.iter().find(|(n, _)| *n == name) {
        return Some(*o);
    }
    let index = |u: &str| use_cases.iter().position(|c| c == u).map(|i| i as u8);
    if let Some(u) = name.strip_prefix("allowed_share_") {
        return index(u).map(Observable::AllowedShare);
    }
    if let Some(u) = name.strip_prefix("can_run_") {
        return index(u).map(Observable::CanRun);
    }
    Governable::ALL
        .iter()
        .find(|g| g.column() == name)
        .map(|g| Observable::Governed(*g))
}

/// Every observable's name, for a refusal.
pub fn observable_names(use_cases: &[String]) -> String {
    let mut names: Vec<String> = NAMED.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.extend(use_cases.iter().map(|u| format!("allowed_share_{u}")));
    names.extend(use_cases.iter().map(|u| format!("can_run_{u}")));
    names.extend(Governable::ALL.iter().map(|g| g.column().to_owned()));
    names.join(", ")
}

/// The actions a rule can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Exactly `amount` dDT out of the pool, paid in xDAI, or nothing if it cannot pay
    /// or the price is above `max_price`.
    Buy,
    /// Exactly `amount` xDAI into the pool for dDT (cut to the xDAI it holds).
    BuyWith,
    /// `amount` dDT into the pool for xDAI (cut to what it holds).
    Sell,
    /// A compute job of `amount` dDT for `use_case`, refused if no data allows it.
    Spend,
    /// Buy exactly `amount` dDT and spend it on a job (an organization's purchase).
    BuyAndSpend,
    /// Deposit `amount` dDT with up to `xdai`, sized as the router does.
    AddLiquidity,
    /// Burn `amount` LP tokens for both reserves.
    RemoveLiquidity,
    /// Lock CRC and mint `amount` dDT, as far as the cap and its CRC allow.
    Mint,
    /// Burn `amount` dDT to unlock as much CRC.
    Redeem,
    /// Add a dataset (`quantity`, `quality`; with `use_case`, allowing only it).
    Contribute,
    /// Stop `use_case` for all its data.
    Revoke,
    /// Take all its data out of the pool.
    RemoveData,
}

const ACTIONS: &[(&str, ActionKind)] = &[
    ("buy", ActionKind::Buy),
    ("buy_with", ActionKind::BuyWith),
    ("sell", ActionKind::Sell),
    ("spend", ActionKind::Spend),
    ("buy_and_spend", ActionKind::BuyAndSpend),
    ("add_liquidity", ActionKind::AddLiquidity),
    ("remove_liquidity", ActionKind::RemoveLiquidity),
    ("mint", ActionKind::Mint),
    ("redeem", ActionKind::Redeem),
    ("contribute", ActionKind::Contribute),
    ("revoke", ActionKind::Revoke),
    ("remove_data", ActionKind::RemoveData),
];

/// The action called `name`, as a rule's `do` or a policy's action names it.
pub fn action(name: &str) -> Option<ActionKind> {
    ACTIONS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

impl ActionKind {
    /// Whether a customer (organizations, `member = false`) may take it: no CRC, no
    /// data.
    pub fn is_for_customers(self) -> bool {
        !matches!(
            self,
            ActionKind::Mint
                | ActionKind::Redeem
                | ActionKind::Contribute
                | ActionKind::Revoke
                | ActionKind::RemoveData
        )
    }
}

/// A rule, compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// When it acts.
    pub when: Bool,
    /// What it does.
    pub action: ActionKind,
    /// Its amount (0 for actions without one).
    pub amount: Num,
    /// `add_liquidity`'s xDAI.
    pub xdai: Num,
    /// `contribute`'s quality.
    pub quality: Num,
    /// `contribute`'s quantity.
    pub quantity: Num,
    /// `buy`'s highest price.
    pub max_price: Num,
    /// The use case, resolved (the type's job use case when not given).
    pub use_case: u8,
    /// Whether the use case was given (for `contribute`: allow only it).
    pub use_case_given: bool,
    /// `spend` may spend less than asked.
    pub partial: bool,
}

/// Compile the rules of the type whose settings sit at `key` (`agents.power`).
pub fn compile(
    key: &str,
    rules: &[RuleConfig],
    use_cases: &[String],
    job_use_case: u8,
) -> Result<Vec<Rule>, ConfigError> {
    let accepted = observable_names(use_cases);
    let resolve = |name: &str| observable(name, use_cases);
    rules
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let at = |field: &str| format!("{key}.rules[{n}].{field}");
            let action = ACTIONS
                .iter()
                .find(|(name, _)| *name == r.action)
                .map(|(_, a)| *a)
                .ok_or_else(|| {
                    let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
                    err(&at("do"), &r.action, &format!("one of {}", names.join(", ")))
                })?;
            let expression = |field: &str, text: &ExprText| -> Result<Typed, ConfigError> {
                let source = text.text();
                expr::compile(&source, &resolve, &accepted).map_err(|e| {
                    err(
                        &at(field),
                        &source,
                        &format!("at character {}: {}", e.position, e.message),
                    )
                })
            };
            let number = |field: &str, text: Option<&ExprText>, needed: bool| -> Result<Num, ConfigError> {
                match text {
                    None if needed => Err(err(
                        &at(field),
                        "nothing",
                        &format!("an expression: '{}' needs {field}", r.action),
                    )),
                    None => Ok(Num::Const(0.0)),
                    Some(t) => match expression(field, t)? {
                        Typed::Num(n) => Ok(n),
                        Typed::Bool(_) => Err(err(
                            &at(field),
                            t.text(),
                            "a number (an amount), not a true/false value",
                        )),
                    },
                }
            };
            let when = match &r.when {
                None => Bool::Const(true),
                Some(t) => match expression("when", t)? {
                    Typed::Bool(b) => b,
                    Typed::Num(_) => {
                        return Err(err(
                            &at("when"),
                            t.text(),
                            "a true/false expression (a comparison such as price < 1, true, chance(0.1)), not a number",
                        ))
                    }
                },
            };
            use ActionKind as A;
            let needs_amount = !matches!(action, A::Contribute | A::Revoke | A::RemoveData);
            let takes_use_case = matches!(action, A::Spend | A::BuyAndSpend | A::Revoke | A::Contribute);
            let unused = |field: &str, given: bool| -> Result<(), ConfigError> {
                if given {
                    Err(err(&at(field), "given", &format!("nothing: '{}' takes no {field}", r.action)))
                } else {
                    Ok(())
                }
            };
            if !needs_amount {
                unused("amount", r.amount.is_some())?;
            }
            if action != A::AddLiquidity {
                unused("xdai", r.xdai.is_some())?;
            }
            if action != A::Contribute {
                unused("quality", r.quality.is_some())?;
                unused("quantity", r.quantity.is_some())?;
            }
            if action != A::Spend {
                unused("partial", r.partial.is_some())?;
            }
            if action != A::Buy {
                unused("max_price", r.max_price.is_some())?;
            }
            if !takes_use_case {
                unused("use_case", r.use_case.is_some())?;
            }
            let use_case = match &r.use_case {
                Some(u) => use_cases.iter().position(|c| c == u).map(|i| i as u8).ok_or_else(|| {
                    err(&at("use_case"), u, &format!("one of data.use_cases: {}", use_cases.join(", ")))
                })?,
                None if action == A::Revoke => {
                    return Err(err(&at("use_case"), "nothing", "a use case: 'revoke' needs one"))
                }
                None => job_use_case,
            };
            Ok(Rule {
                when,
                action,
                amount: number("amount", r.amount.as_ref(), needs_amount)?,
                xdai: number("xdai", r.xdai.as_ref(), action == A::AddLiquidity)?,
                quality: match &r.quality {
                    None => Num::Const(1.0),
                    Some(t) => number("quality", Some(t), true)?,
                },
                quantity: match &r.quantity {
                    None => Num::Const(100.0),
                    Some(t) => number("quantity", Some(t), true)?,
                },
                max_price: match &r.max_price {
                    None => Num::Const(f64::INFINITY),
                    Some(t) => number("max_price", Some(t), true)?,
                },
                use_case,
                use_case_given: r.use_case.is_some(),
                partial: r.partial.unwrap_or(false),
            })
        })
        .collect()
}

/// The names of every action, for the README and refusals.
pub fn action_names() -> Vec<&'static str> {
    ACTIONS.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> Vec<String> {
        vec!["research".into(), "commercial".into()]
    }

    fn rule(action: &str) -> RuleConfig {
        RuleConfig {
            when: None,
            action: action.into(),
            amount: Some(ExprText::Number(1.0)),
            xdai: None,
            use_case: None,
            partial: None,
            quality: None,
            quantity: None,
            max_price: None,
        }
    }

    #[test]
    fn names_resolve_to_observables() {
        let c = cases();
        assert_eq!(observable("ddt", &c), Some(Observable::Ddt));
        assert_eq!(
            observable("allowed_share_commercial", &c),
            Some(Observable::AllowedShare(1))
        );
        assert_eq!(
            observable("can_run_research", &c),
            Some(Observable::CanRun(0))
        );
        assert_eq!(
            observable("fee_rate", &c),
            Some(Observable::Governed(Governable::FeeRate))
        );
        assert_eq!(observable("allowed_share_medical", &c), None);
        assert!(observable_names(&c).contains("pie_share_power"));
    }

    #[test]
    fn bad_rules_are_refused_with_key_text_and_position() {
        let c = cases();
        let mut r = rule("sel");
        let e = compile("agents.power", &[rule("sell"), r.clone()], &c, 0).unwrap_err();
        assert_eq!(e.key, "agents.power.rules[1].do");
        assert!(e.accepted.contains("buy_with") && e.value == "sel", "{e:?}");
        r.action = "sell".into();
        r.when = Some(ExprText::Text("price < 1 and ddt > x".into()));
        let e = compile("agents.casual", &[r.clone()], &c, 0).unwrap_err();
        assert_eq!(e.key, "agents.casual.rules[0].when");
        assert_eq!(e.value, "price < 1 and ddt > x");
        assert!(
            e.accepted.starts_with("at character 21: unknown name 'x'"),
            "{e:?}"
        );
        r.when = Some(ExprText::Text("ddt".into()));
        let e = compile("agents.casual", &[r.clone()], &c, 0).unwrap_err();
        assert!(e.accepted.contains("true/false"), "{e:?}");
        r.when = None;
        r.amount = None;
        let e = compile("agents.casual", &[r.clone()], &c, 0).unwrap_err();
        assert_eq!(e.key, "agents.casual.rules[0].amount");
        let mut s = rule("spend");
        s.use_case = Some("medical".into());
        let e = compile("agents.power", &[s], &c, 0).unwrap_err();
        assert!(e.accepted.contains("research, commercial"), "{e:?}");
        let mut x = rule("sell");
        x.xdai = Some(ExprText::Number(1.0));
        assert_eq!(
            compile("agents.power", &[x], &c, 0).unwrap_err().key,
            "agents.power.rules[0].xdai"
        );
        let mut v = rule("revoke");
        v.amount = None;
        assert_eq!(
            compile("agents.power", &[v], &c, 0).unwrap_err().key,
            "agents.power.rules[0].use_case"
        );
    }

    #[test]
    fn a_rule_compiles_with_its_defaults() {
        let c = cases();
        let mut r = rule("spend");
        r.when = Some(ExprText::Text("ddt >= 2".into()));
        let compiled = compile("agents.power", &[r], &c, 1).unwrap();
        assert_eq!(compiled[0].use_case, 1, "the type's job use case");
        assert_eq!(compiled[0].amount, Num::Const(1.0));
        assert!(!compiled[0].partial);
    }
}
