//! The package's exception classes and how a Rust error becomes one of them.
//!
//! | class | base | raised for |
//! | --- | --- | --- |
//! | `ConfigError` | `ValueError` | a setting, grid value or argument datadao cannot use |
//! | `ResourceError` | `MemoryError` | work estimated not to fit in memory, or an allocation refused |
//! | `MergeError` | `RuntimeError` | an executor's shards that do not make one whole sweep |
//! | `RuntimeError` | | a broken invariant found by the audit |
//! | `OSError` | | a file that cannot be read (its `errno` when the system gave one) |
//!
//! The scenario crate's refusals are classified by their variant ([`scenario`]): a
//! `ScenarioError::Resource` is a `ResourceError`, `File` an `OSError`, `Merge` a
//! `MergeError`, every other one (a setting, a preset, a grid) a `ConfigError`; the
//! exception's `key` and `keys` attributes name the settings it is about. Errors of
//! work that ran are classified by their type in the chain (`StepError::OutOfMemory`).
//! Nothing reads the text of a message.

use datadao_core::StepError;
use datadao_scenario::error::FileProblem;
use datadao_scenario::ScenarioError;
use pyo3::exceptions::{PyMemoryError, PyOSError, PyRuntimeError, PyValueError};
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

/// Every package exception has `key` (`None`) and `keys` (empty) as class attributes,
/// so `e.key` and `e.keys` can be read on any of them; an exception about settings
/// sets its own.
pub fn set_class_defaults(py: Python<'_>) -> PyResult<()> {
    for class in [
        py.get_type::<ConfigError>(),
        py.get_type::<ResourceError>(),
        py.get_type::<MergeError>(),
    ] {
        class.setattr("key", py.None())?;
        class.setattr("keys", pyo3::types::PyTuple::empty(py))?;
    }
    Ok(())
}

/// `err` with the settings it is about as its `key` and `keys` attributes.
pub fn about(err: PyErr, key: Option<&str>, keys: &[&str]) -> PyErr {
    Python::attach(|py| {
        let value = err.value(py);
        // An attribute that cannot be set leaves the exception as it is.
        let _ = value.setattr("key", key);
        let _ = value.setattr("keys", keys.to_vec());
    });
    err
}

/// A refusal of the scenario crate as the exception its variant maps to, with the
/// settings it is about as the exception's `key` (the one setting, or `None`) and
/// `keys` (every one, possibly empty).
pub fn scenario(e: ScenarioError) -> PyErr {
    let text = format!("{e:#}");
    let err = match &e {
        ScenarioError::Resource { .. } => ResourceError::new_err(text),
        ScenarioError::Merge { .. } => MergeError::new_err(text),
        ScenarioError::File { problem, .. } => {
            let errno = match problem {
                FileProblem::Unreadable { error, .. } | FileProblem::ReadFailed(error) => {
                    error.raw_os_error()
                }
                _ => None,
            };
            match errno {
                // OSError(errno, strerror) sets `errno`; the message is ours, whole.
                Some(n) => PyOSError::new_err((n, text)),
                None => PyOSError::new_err(text),
            }
        }
        _ => ConfigError::new_err(text),
    };
    about(err, e.key(), &e.keys())
}

/// A refusal of a check of the package's own (an argument), as a `ConfigError`.
pub fn config(e: anyhow::Error) -> PyErr {
    ConfigError::new_err(format!("{e:#}"))
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
