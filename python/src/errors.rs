//! The package's exception classes and how a Rust error becomes one of them.
//!
//! | class | base | raised for |
//! | --- | --- | --- |
//! | `ConfigError` | `ValueError` | a setting, grid value or argument datadao cannot use |
//! | `ResourceError` | `MemoryError` | work estimated not to fit in memory, or an allocation refused |
//! | `MergeError` | `RuntimeError` | an executor's shards that do not make one whole sweep |
//! | `RuntimeError` | | a broken invariant found by the audit |
//!
//! Errors are classified where they arise (the settings layer's refusals are
//! `ConfigError` because they came from resolving settings), or by their type in the
//! chain (`StepError::OutOfMemory`), never by the text of the message.

use datadao_core::StepError;
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    datadao,
    ConfigError,
    PyValueError,
    "A setting, grid value or argument datadao cannot use: the message names it, the value, where it came from and what is accepted."
);

pyo3::create_exception!(
    datadao,
    ResourceError,
    PyMemoryError,
    "Work that does not fit: the estimate before any work (naming the settings behind it, the estimate and the limit), or an allocation the system refused. A MemoryError, so `except MemoryError` catches it."
);

pyo3::create_exception!(
    datadao,
    MergeError,
    PyRuntimeError,
    "An executor's results that are not one whole sweep: a shard missing or given twice, a (point, run) twice or missing, or a shard of another sweep. The checks of `datadao merge`."
);

/// A refusal of the settings layer (or a grid or argument check).
pub fn config(e: anyhow::Error) -> PyErr {
    ConfigError::new_err(format!("{e:#}"))
}

/// A refusal to merge.
pub fn merge(e: anyhow::Error) -> PyErr {
    MergeError::new_err(format!("{e:#}"))
}

/// An error of work that ran (a run or a sweep), by its type: memory refused is a
/// `ResourceError`, a step or setting refused a `ConfigError` only if it is one, and
/// anything else a `RuntimeError`.
pub fn work(e: anyhow::Error) -> PyErr {
    for cause in e.chain() {
        if let Some(step) = cause.downcast_ref::<StepError>() {
            return self::step(step.clone(), &format!("{e:#}"));
        }
        if cause.downcast_ref::<datadao_core::ConfigError>().is_some() {
            return ConfigError::new_err(format!("{e:#}"));
        }
    }
    PyRuntimeError::new_err(format!("{e:#}"))
}

/// A step's error as an exception; `text` is the message to raise with.
pub fn step(e: StepError, text: &str) -> PyErr {
    match e {
        StepError::OutOfMemory { .. } => ResourceError::new_err(text.to_string()),
        // Only raised by our own stop flag, i.e. after the exception that raised it.
        StepError::Stopped => PyRuntimeError::new_err(text.to_string()),
        _ => PyRuntimeError::new_err(text.to_string()),
    }
}

/// A refused allocation of `bytes` for `what`, as a `ResourceError`.
pub fn out_of_memory(what: &str, bytes: u128) -> PyErr {
    ResourceError::new_err(format!(
        "could not allocate memory for {what} (about {bytes} bytes): the machine or its container's limit has no more to give; accepted: a smaller run (fewer steps, agents, or transactions=False)"
    ))
}
