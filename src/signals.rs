//! Ctrl-C and `kill`: stop at the next safe point, clean up, exit 130 or 143.
//!
//! SIGINT, SIGTERM and SIGHUP only raise flags; long loops (steps, sweep runs) poll them
//! with [`check`], the engine looks at [`stop_flag`] inside a step (a foresight vote's
//! forks included), and both end in [`Interrupted`], which unwinds through the normal error
//! path, so every staged output is removed by its owner's `Drop` and the previous set
//! stays as it was. A second signal while the first is being handled ends the process
//! at once with the same status (the next command cleans up after it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use datadao_core::{StepError, StopFlag};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The run was stopped by a signal.
#[derive(Debug, thiserror::Error)]
#[error("stopped by {name}; the previous outputs were left as they were")]
pub struct Interrupted {
    /// The signal's number.
    pub signal: i32,
    /// Its name.
    pub name: &'static str,
}

impl Interrupted {
    /// The shell's convention: 128 + the signal's number.
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

/// The last signal received (0: none), set by the handlers.
static WHICH: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();
/// Raised by the handlers: the engine looks at it inside long steps and foresight forks.
static STOP: std::sync::OnceLock<StopFlag> = std::sync::OnceLock::new();

/// Install the handlers. Call once, early in `main`.
pub fn install() {
    let seen = Arc::new(AtomicBool::new(false));
    let which = Arc::new(AtomicUsize::new(0));
    let stop = STOP.get_or_init(StopFlag::new).shared();
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // The conditional shutdown goes first: it acts only when the flag was already
        // set by an earlier signal.
        let _ = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&seen),
        );
        let _ = signal_hook::flag::register(signal, Arc::clone(&seen));
        let _ = signal_hook::flag::register_usize(signal, Arc::clone(&which), signal as usize);
        let _ = signal_hook::flag::register(signal, Arc::clone(&stop));
    }
    let _ = WHICH.set(which);
}

/// The signal received so far, if any.
pub fn pending() -> Option<Interrupted> {
    let signal = WHICH.get().map_or(0, |w| w.load(Ordering::Relaxed)) as i32;
    let name = match signal {
        0 => return None,
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    };
    Some(Interrupted { signal, name })
}

/// `Err` once a signal has arrived: the caller stops and lets its outputs be dropped.
pub fn check() -> Result<(), Interrupted> {
    match pending() {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// The flag the handlers raise, for [`datadao_core::Economy::set_stop`] (and, as
/// children, for work that can also be stopped on its own, such as a dashboard request).
pub fn stop_flag() -> StopFlag {
    STOP.get_or_init(StopFlag::new).clone()
}

/// A step's error as the CLI reports it: a stop the signal handlers asked for becomes
/// [`Interrupted`] (exit 130/143/129), anything else stays what it was.
pub fn step_error(e: StepError) -> anyhow::Error {
    match (&e, pending()) {
        (StepError::Stopped, Some(signal)) => signal.into(),
        _ => e.into(),
    }
}
