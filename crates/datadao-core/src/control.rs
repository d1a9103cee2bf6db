//! How a front end controls a running economy: [`StopFlag`], the request to stop early,
//! and [`StepError`], everything a step can end with besides its metrics.
//!
//! A run can be long (a million agents, a foresight vote that simulates thousands of
//! steps inside one step), so waiting for the step to end before looking at Ctrl-C, a
//! web client that went away or a newer request is not enough. The front end raises a
//! flag from wherever it learns of the request (a signal handler, a dropped request, a
//! Python main thread); the engine looks at it every [`CHECK_EVERY_AGENTS`] agents and in
//! every step of a foresight fork, and the step then returns [`StepError::Stopped`].
//! Looking is one relaxed atomic load, so it costs nothing measurable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::ledger::AuditError;

/// Agents between two looks at the stop flag inside a step's passes.
pub const CHECK_EVERY_AGENTS: usize = 4096;

/// A request to stop a run, shared between whoever may ask and the engine that obeys.
///
/// Cloning shares the flag. [`StopFlag::child`] makes a flag of its own that also counts
/// as raised when this one is: a server gives each request a child of its shutdown flag,
/// so one request can be stopped alone and all of them at once.
#[derive(Clone, Debug, Default)]
pub struct StopFlag {
    own: Arc<AtomicBool>,
    ancestors: Arc<[Arc<AtomicBool>]>,
}

impl StopFlag {
    /// A flag nobody has raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag raised by `flag` (a signal handler's, e.g. `signal_hook::flag::register`).
    pub fn from_shared(flag: Arc<AtomicBool>) -> Self {
        Self {
            own: flag,
            ancestors: Arc::new([]),
        }
    }

    /// The atomic this flag raises, for code that sets it directly (a signal handler).
    pub fn shared(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.own)
    }

    /// A new flag that is raised when it or this flag (or any of this flag's ancestors)
    /// is raised.
    pub fn child(&self) -> Self {
        let ancestors: Vec<Arc<AtomicBool>> = self
            .ancestors
            .iter()
            .cloned()
            .chain(std::iter::once(Arc::clone(&self.own)))
            .collect();
        Self {
            own: Arc::new(AtomicBool::new(false)),
            ancestors: ancestors.into(),
        }
    }

    /// Ask the run (and every child of this flag) to stop.
    pub fn raise(&self) {
        self.own.store(true, Ordering::Relaxed);
    }

    /// Whether this flag or an ancestor has been raised.
    #[inline]
    pub fn is_raised(&self) -> bool {
        self.own.load(Ordering::Relaxed) || self.ancestors.iter().any(|a| a.load(Ordering::Relaxed))
    }
}

/// Why a step returned no metrics.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// A broken invariant (the audit), or a figure that became NaN or infinite.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A type's policy failed (a Python exception, an action it may not take): the run
    /// stops, and the front end reports it.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyFailure),
    /// The run's [`StopFlag`] was raised. The economy is left mid-step: a front end
    /// drops it and writes nothing from it.
    #[error("stopped on request before the run ended")]
    Stopped,
    /// Memory for the economy could not be had: the allocation was refused rather than
    /// letting the process abort.
    #[error("could not allocate memory for {what} ({agents} agents, about {bytes} bytes): the machine or its container's limit has no more to give; accepted: a smaller population")]
    OutOfMemory {
        /// What the memory was for.
        what: &'static str,
        /// Agents it was to hold.
        agents: u128,
        /// Bytes asked for, at least.
        bytes: u128,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_see_their_ancestors_but_not_each_other() {
        let root = StopFlag::new();
        let a = root.child();
        let b = root.child();
        let grandchild = a.child();
        assert!(!a.is_raised() && !b.is_raised() && !grandchild.is_raised());
        a.raise();
        assert!(a.is_raised() && grandchild.is_raised());
        assert!(!b.is_raised() && !root.is_raised());
        root.raise();
        assert!(b.is_raised());
    }

    #[test]
    fn clones_share_the_flag_and_shared_raises_it() {
        let flag = StopFlag::new();
        let copy = flag.clone();
        flag.shared().store(true, Ordering::Relaxed);
        assert!(copy.is_raised());
        let from = StopFlag::from_shared(Arc::new(AtomicBool::new(true)));
        assert!(from.is_raised());
    }
}
