//! Long work on a thread of its own, with the GIL released, while the calling thread
//! keeps Python responsive: every [`POLL`] it looks for Ctrl-C (`py.check_signals()`,
//! which runs Python's signal handlers) and reports progress. When either raises, it
//! raises the work's [`StopFlag`] (the engine looks at it every few thousand agents and
//! in every step of a foresight fork), joins the thread and re-raises, so
//! `KeyboardInterrupt` arrives within a poll plus a few thousand agents' work at any
//! population, during a vote too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use datadao_core::StopFlag;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How often the calling thread looks for Ctrl-C and reports progress.
pub const POLL: Duration = Duration::from_millis(50);

/// Run `work` on a thread of its own; `done` counts its progress (steps or runs) for
/// `progress(done)`. On a Python error (Ctrl-C, a progress callback that raises) `stop`
/// is raised, the work is joined and the error raised; otherwise the work's result is
/// returned.
pub fn run<T: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    done: &AtomicU64,
    stop: &StopFlag,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("datadao-run".into())
            .spawn_scoped(scope, work)
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the worker thread: {e}")))?;
        let mut reported = 0;
        loop {
            py.detach(|| {
                let slice = Duration::from_millis(5);
                let mut waited = Duration::ZERO;
                while waited < POLL && !handle.is_finished() {
                    std::thread::sleep(slice);
                    waited += slice;
                }
            });
            let now = done.load(Ordering::Relaxed);
            // Ctrl-C can surface in the progress callback (Python runs its signal
            // handlers whenever it runs Python code) or in the explicit check; either
            // way the work is told to stop and joined before the error is raised.
            let mut outcome = py.check_signals();
            if let (Ok(()), Some(cb)) = (&outcome, progress) {
                if now != reported {
                    outcome = cb.call1((now,)).map(drop);
                    reported = now;
                }
            }
            if let Err(e) = outcome {
                stop.raise();
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
            if handle.is_finished() {
                break;
            }
        }
        let finished = done.load(Ordering::Relaxed);
        if let (Some(cb), true) = (progress, finished != reported) {
            cb.call1((finished,))?;
        }
        py.detach(|| handle.join()).map_err(|_| {
            PyRuntimeError::new_err("datadao's worker thread failed (a bug: please report it)")
        })
    })
}
