//! Behaviour given as code by a front end (the Python package's `policy=` callables):
//! each turn of an agent of the type, the policy reads the agent's observables (the
//! rule language's, by [`crate::rules::Observable`]) and returns the actions it takes,
//! which the engine carries out one by one through the same apply path as a rule's.
//! Pure: the trait is the boundary; what runs behind it is the front end's.

use crate::rules::{ActionKind, Observable};

/// One action a policy asks for, with its values as given (a rule's, evaluated).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Deed {
    /// What to do.
    pub action: ActionKind,
    /// Its amount.
    pub amount: f64,
    /// `add_liquidity`'s xDAI (default: all it holds).
    pub xdai: f64,
    /// `contribute`'s quality (default 1).
    pub quality: f64,
    /// `contribute`'s quantity (default 100).
    pub quantity: f64,
    /// `buy`'s highest price (default: any).
    pub max_price: f64,
    /// The use case by index in `data.use_cases` (`None`: the type's job use case; for
    /// `contribute`, every use case).
    pub use_case: Option<u8>,
    /// `spend` may spend less than asked.
    pub partial: bool,
}

impl Deed {
    /// `action` of `amount`, every other value at its default.
    pub fn new(action: ActionKind, amount: f64) -> Self {
        Self {
            action,
            amount,
            xdai: f64::INFINITY,
            quality: 1.0,
            quantity: 100.0,
            max_price: f64::INFINITY,
            use_case: None,
            partial: false,
        }
    }
}

/// What a policy sees during its call: the agent's observables, and `chance(p)`, one
/// draw from the run's generator exactly as the rule language's `chance` draws.
pub trait PolicyView {
    /// The observable's value now (NaN for a missing price).
    fn read(&mut self, observable: Observable) -> f64;
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool;
}

/// Why a policy could not decide; the run stops with it (a front end keeps the details,
/// such as a Python traceback, to raise them itself).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the policy of agent type {type_name} failed: {message}")]
pub struct PolicyFailure {
    /// The type whose policy failed.
    pub type_name: String,
    /// What went wrong.
    pub message: String,
}

/// A type's behaviour as code. Called once per turn of each agent of the type, on the
/// simulating thread (and a foresight fork's), so it must be `Send + Sync`.
pub trait Policy: Send + Sync + std::fmt::Debug {
    /// Append the actions the agent takes this turn to `deeds`, in order; an `Err`
    /// stops the run.
    fn decide(&self, view: &mut dyn PolicyView, deeds: &mut Vec<Deed>) -> Result<(), String>;
}

/// Where each run of a sweep gets its policy: a fresh one per run (a copy of the
/// user's object, in the Python package), so a policy that keeps state starts every run
/// from the same state and a sweep's numbers do not depend on how runs share threads.
pub trait PolicySource: Send + Sync + std::fmt::Debug {
    /// A policy for one run.
    fn fresh(&self) -> Result<std::sync::Arc<dyn Policy>, String>;
}
