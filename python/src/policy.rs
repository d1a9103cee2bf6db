//! Python policies: a callable `f(o)` as a type's behaviour. Each turn of an agent of
//! the type the simulating thread takes the GIL, calls `f` with an [`Observation`]
//! (the agent's observables as attributes, read when asked, and `o.chance(p)`, a draw
//! from the run's generator) and turns what it returns, a list of `(action, amount)`
//! pairs or dicts, into the core's [`Deed`]s. An exception in `f` is kept with its
//! traceback and raised by `run()` once the run has stopped.

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use datadao_core::policy::{Deed, Policy, PolicySource, PolicyView};
use datadao_core::rules;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// Most actions one call may return.
const MAX_ACTIONS: usize = 10_000;

/// The view of one call, valid only while the call lasts.
type ViewPtr = NonNull<dyn PolicyView + 'static>;

/// An [`Observation`]'s view: set on the simulating thread for one call and cleared
/// before the call returns, so whichever thread later holds (or drops) the
/// observation finds it empty.
struct ViewSlot(Option<ViewPtr>);

// SAFETY: the pointer is only dereferenced during the call that set it, on the thread
// making that call (which holds the GIL, so no other thread runs Python meanwhile);
// outside the call the slot is empty.
unsafe impl Send for ViewSlot {}
// SAFETY: as above; pyo3's borrow checking gives `&mut` access to one caller at a time.
unsafe impl Sync for ViewSlot {}

/// What a policy is called with: the agent's observables as attributes (`o.price`,
/// `o.ddt`, `o.allowed_share_research`, ...) and `o.chance(p)`. Valid only during the
/// call; kept beyond it, every read raises.
#[pyclass(module = "datadao")]
pub struct Observation {
    view: ViewSlot,
    use_cases: Arc<[String]>,
}

impl Observation {
    fn view(&mut self) -> PyResult<&mut (dyn PolicyView + 'static)> {
        match self.view.0 {
            // SAFETY: the pointer is set only for the duration of `PyPolicy::decide`,
            // which holds the view mutably borrowed and clears it before returning.
            Some(mut p) => Ok(unsafe { p.as_mut() }),
            None => Err(PyRuntimeError::new_err(
                "this observation belongs to a policy call that has ended; accepted: reading it during the call",
            )),
        }
    }
}

#[pymethods]
impl Observation {
    /// An observable by name, as the rule language names them.
    fn __getattr__(&mut self, name: &str) -> PyResult<f64> {
        let use_cases = Arc::clone(&self.use_cases);
        match rules::observable(name, &use_cases) {
            Some(o) => Ok(self.view()?.read(o)),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "no observable '{name}'; accepted: {}",
                rules::observable_names(&use_cases)
            ))),
        }
    }

    /// True with probability `p`: one draw from the run's generator, as the rule
    /// language's `chance(p)`.
    fn chance(&mut self, p: f64) -> PyResult<bool> {
        if !(0.0..=1.0).contains(&p) {
            return Err(PyValueError::new_err(format!(
                "chance({p}): accepted: a probability from 0 to 1"
            )));
        }
        Ok(self.view()?.chance(p))
    }
}

/// A Python callable as a type's policy.
pub struct PyPolicy {
    pub callable: Py<PyAny>,
    pub use_cases: Arc<[String]>,
    /// The first exception a call raised, kept for `run()` to raise.
    pub failure: Arc<Mutex<Option<PyErr>>>,
}

impl std::fmt::Debug for PyPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PyPolicy")
    }
}

impl PyPolicy {
    /// One item of what the policy returned.
    fn deed(&self, item: &Bound<'_, PyAny>) -> PyResult<Deed> {
        let number = |v: &Bound<'_, PyAny>, what: &str| -> PyResult<f64> {
            v.extract::<f64>()
                .map_err(|_| PyTypeError::new_err(format!("{what} = {v}: accepted: a number")))
        };
        let kind = |name: &str| {
            rules::action(name).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "action '{name}': accepted: buy, buy_with, sell, spend, buy_and_spend, add_liquidity, remove_liquidity, mint, redeem, contribute, revoke, remove_data"
                ))
            })
        };
        if let Ok(pair) = item.cast::<PyTuple>() {
            if pair.len() != 2 {
                return Err(PyValueError::new_err(format!(
                    "{item}: accepted: an (action, amount) pair or a dict with 'do' and 'amount'"
                )));
            }
            let name: String = pair.get_item(0)?.extract()?;
            return Ok(Deed::new(
                kind(&name)?,
                number(&pair.get_item(1)?, "amount")?,
            ));
        }
        let Ok(d) = item.cast::<PyDict>() else {
            return Err(PyTypeError::new_err(format!(
                "{item}: accepted: an (action, amount) pair or a dict with 'do' and 'amount'"
            )));
        };
        let name: String = d
            .get_item("do")?
            .ok_or_else(|| {
                PyValueError::new_err(format!("{item}: no 'do'; accepted: a dict with 'do'"))
            })?
            .extract()?;
        let mut deed = Deed::new(kind(&name)?, 0.0);
        for (key, value) in d.iter() {
            let key: String = key.extract()?;
            match key.as_str() {
                "do" => {}
                "amount" => deed.amount = number(&value, "amount")?,
                "xdai" => deed.xdai = number(&value, "xdai")?,
                "quality" => deed.quality = number(&value, "quality")?,
                "quantity" => deed.quantity = number(&value, "quantity")?,
                "max_price" => deed.max_price = number(&value, "max_price")?,
                "partial" => deed.partial = value.extract()?,
                "use_case" => {
                    let u: String = value.extract()?;
                    let index = self.use_cases.iter().position(|c| *c == u).ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "use_case '{u}': accepted: one of data.use_cases {:?}",
                            &*self.use_cases
                        ))
                    })?;
                    deed.use_case = Some(index as u8);
                }
                other => {
                    return Err(PyValueError::new_err(format!(
                        "key '{other}' of {item}: accepted: do, amount, xdai, use_case, partial, quality, quantity, max_price"
                    )))
                }
            }
        }
        Ok(deed)
    }

    fn call(&self, py: Python<'_>, view: ViewPtr, deeds: &mut Vec<Deed>) -> PyResult<()> {
        let observation = Py::new(
            py,
            Observation {
                view: ViewSlot(Some(view)),
                use_cases: Arc::clone(&self.use_cases),
            },
        )?;
        let result = self.callable.call1(py, (observation.clone_ref(py),));
        // The view dies with this call: an observation kept by the policy reads nothing.
        observation.borrow_mut(py).view = ViewSlot(None);
        let result = result?;
        let result = result.bind(py);
        if result.is_none() {
            return Ok(());
        }
        for item in result.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "the policy returned {result}: accepted: a list of (action, amount) pairs or dicts, or None"
            ))
        })? {
            // An endless generator would hold the run (and the GIL) forever.
            if deeds.len() >= MAX_ACTIONS {
                return Err(PyValueError::new_err(format!(
                    "the policy returned more than {MAX_ACTIONS} actions for one turn; accepted: at most {MAX_ACTIONS}"
                )));
            }
            deeds.push(self.deed(&item?)?);
        }
        Ok(())
    }
}

impl Policy for PyPolicy {
    fn decide(&self, view: &mut dyn PolicyView, deeds: &mut Vec<Deed>) -> Result<(), String> {
        // SAFETY: the lifetime is erased only for the call below; `call` clears the
        // observation's pointer before returning, so nothing can read it afterwards.
        let view: ViewPtr = unsafe {
            std::mem::transmute::<NonNull<dyn PolicyView + '_>, ViewPtr>(NonNull::from(view))
        };
        Python::attach(|py| match self.call(py, view, deeds) {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = e.to_string();
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert(e);
                }
                Err(message)
            }
        })
    }
}

/// A sweep's policy: each run gets a deep copy of the user's callable (a function is
/// its own copy), so every run starts from the same state whatever the threads do.
pub struct PySource {
    pub callable: Py<PyAny>,
    pub use_cases: Arc<[String]>,
    pub failure: Arc<Mutex<Option<PyErr>>>,
}

impl std::fmt::Debug for PySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PySource")
    }
}

impl PolicySource for PySource {
    fn fresh(&self) -> Result<Arc<dyn Policy>, String> {
        Python::attach(|py| {
            let copied = py
                .import("copy")
                .and_then(|copy| copy.call_method1("deepcopy", (self.callable.bind(py),)));
            match copied {
                Ok(callable) => Ok(Arc::new(PyPolicy {
                    callable: callable.unbind(),
                    use_cases: Arc::clone(&self.use_cases),
                    failure: Arc::clone(&self.failure),
                }) as Arc<dyn Policy>),
                Err(e) => {
                    let message = format!("the policy cannot be copied for each run ({e}); accepted: a callable copy.deepcopy can copy");
                    if let Ok(mut slot) = self.failure.lock() {
                        slot.get_or_insert(PyTypeError::new_err(message.clone()));
                    }
                    Err(message)
                }
            }
        })
    }
}
