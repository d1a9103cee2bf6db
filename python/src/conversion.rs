//! Python values into the scenario crate's typed inputs, and back.
//!
//! Every argument that holds values (`settings`, `grid`, `steps=`, ...) is converted
//! here, and nothing a caller passes can crash the interpreter: containers are walked
//! with a depth limit ([`MAX_DEPTH`]) and a cycle check (a list that holds itself), a
//! dict is never walked as a value, a huge integer is described by its size instead of
//! printed, and an iterable axis is read at most [`sweep::MAX_AXIS_VALUES`] + 1 items
//! far (so an endless generator is refused, not followed). Every refusal is a
//! `ConfigError` that names the argument (`settings["data.use_cases"]`,
//! `grid["market.fee_rate"]`, `argument steps=`).

use datadao_scenario::settings::{Given, Source};
use datadao_scenario::sweep::{self, Axis};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple,
};

use crate::errors::ConfigError;

/// Deepest nesting of lists a value may have. No setting takes more than a list of
/// lists (a grid axis of a list setting); 32 leaves room and keeps the walk's stack small.
pub const MAX_DEPTH: usize = 32;

/// What a value was accepted as, for messages.
const ACCEPTED: &str = "a bool, int, float, str, or a list or dict (with str keys) of them";

/// A short description of any Python value for a message: its repr up to 80
/// characters, an integer too large to print by its size, a container by its length.
/// Never fails and never walks a container.
pub fn describe(v: &Bound<'_, PyAny>) -> String {
    let type_name = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
        if let Ok(bits) = v
            .call_method0("bit_length")
            .and_then(|b| b.extract::<u64>())
        {
            if bits > 128 {
                return format!("an integer of {bits} bits");
            }
        }
    }
    if v.is_instance_of::<PyList>()
        || v.is_instance_of::<PyTuple>()
        || v.is_instance_of::<PyDict>()
        || v.is_instance_of::<PySet>()
    {
        let n = v.len().unwrap_or(0);
        return format!("a {type_name} of {n} items");
    }
    match v.repr() {
        Ok(r) => {
            let r = r.to_string();
            if r.chars().count() > 80 {
                let head: String = r.chars().take(77).collect();
                format!("{head}...")
            } else {
                r
            }
        }
        Err(_) => format!("a {type_name} object"),
    }
}

/// A refusal of `value` given as `label` for `key`.
fn refuse(key: &str, label: &str, v: &Bound<'_, PyAny>, accepted: &str) -> PyErr {
    let err = ConfigError::new_err(format!(
        "invalid setting {key} = {} (from {label}): accepted: {accepted}",
        describe(v)
    ));
    crate::errors::about(err, Some(key), &[key])
}

/// A Python value as the TOML value the settings layer checks. `key` is the setting,
/// `label` where the value was given (`settings["KEY"]`, `grid["KEY"]`, `argument
/// steps=`).
pub fn to_toml(key: &str, label: &str, v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    let mut path = Vec::new();
    walk(key, label, v, &mut path)
}

fn walk(
    key: &str,
    label: &str,
    v: &Bound<'_, PyAny>,
    path: &mut Vec<usize>,
) -> PyResult<toml::Value> {
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>()
        || !v.is_instance_of::<PyFloat>() && !is_container(v) && v.hasattr("__index__")?
    {
        return match v.extract::<i64>() {
            Ok(i) => Ok(toml::Value::Integer(i)),
            Err(_) => Err(refuse(
                key,
                label,
                v,
                "a whole number from -9223372036854775808 to 9223372036854775807",
            )),
        };
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    if v.is_instance_of::<PyDict>() {
        // A table: an event, a rule (`settings={"events": [{"step": 5, ...}]}`).
        let id = v.as_ptr() as usize;
        if path.contains(&id) {
            return Err(ConfigError::new_err(format!(
                "invalid setting {key} (from {label}): the dict contains itself; accepted: {ACCEPTED}, without cycles"
            )));
        }
        if path.len() >= MAX_DEPTH {
            return Err(ConfigError::new_err(format!(
                "invalid setting {key} (from {label}): values nested more than {MAX_DEPTH} levels deep; accepted: {ACCEPTED}, at most {MAX_DEPTH} levels deep"
            )));
        }
        path.push(id);
        let mut table = toml::Table::new();
        let dict = v.cast::<PyDict>()?;
        let items: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = dict.iter().collect();
        for (k, item) in items {
            let Ok(name) = k.extract::<String>() else {
                return Err(refuse(key, label, &k, "a table whose keys are str"));
            };
            table.insert(name, walk(key, label, &item, path)?);
        }
        path.pop();
        return Ok(toml::Value::Table(table));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let id = v.as_ptr() as usize;
        if path.contains(&id) {
            return Err(ConfigError::new_err(format!(
                "invalid setting {key} (from {label}): the {} contains itself; accepted: {ACCEPTED}, without cycles",
                v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            )));
        }
        if path.len() >= MAX_DEPTH {
            return Err(ConfigError::new_err(format!(
                "invalid setting {key} (from {label}): lists nested more than {MAX_DEPTH} levels deep; accepted: {ACCEPTED}, at most {MAX_DEPTH} levels deep"
            )));
        }
        path.push(id);
        let mut items = Vec::with_capacity(v.len().unwrap_or(0).min(1 << 16));
        for item in v.try_iter()? {
            items.push(walk(key, label, &item?, path)?);
        }
        path.pop();
        return Ok(toml::Value::Array(items));
    }
    if !is_container(v) {
        // A number type of another library (a NumPy float, a Decimal): as a float.
        if v.hasattr("__float__")? {
            if let Ok(f) = v.extract::<f64>() {
                return Ok(toml::Value::Float(f));
            }
        }
    }
    Err(refuse(key, label, v, ACCEPTED))
}

/// A set, bytes or other collection no setting takes as a value (or a dict, which is
/// a table).
fn is_container(v: &Bound<'_, PyAny>) -> bool {
    v.is_instance_of::<PyDict>()
        || v.is_instance_of::<PySet>()
        || v.is_instance_of::<PyFrozenSet>()
        || v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyByteArray>()
}

/// A TOML value as a Python object.
pub fn from_toml(py: Python<'_>, v: &toml::Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        toml::Value::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        toml::Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_toml(py, item)?)?;
            }
            list.into_any().unbind()
        }
        toml::Value::Table(t) => {
            let d = PyDict::new(py);
            for (k, item) in t {
                d.set_item(k, from_toml(py, item)?)?;
            }
            d.into_any().unbind()
        }
        other => other.to_string().into_pyobject(py)?.into_any().unbind(),
    })
}

/// A dict argument's items as (key, value) pairs, keys checked as text. The items are
/// copied first, so code run while converting (an `__index__`) cannot change them
/// under the walk. `arg` names the argument (`settings`, `grid`).
pub fn dict_items<'py>(
    arg: &str,
    v: &Bound<'py, PyAny>,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let dict = v.cast::<PyDict>().map_err(|_| {
        ConfigError::new_err(format!(
            "argument {arg}={}: accepted: a dict of dotted setting names and values, e.g. {{\"market.fee_rate\": 0.01}}",
            describe(v)
        ))
    })?;
    let mut out = Vec::with_capacity(dict.len());
    for pair in dict.items().iter() {
        let (k, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair.extract()?;
        let key: String = if k.is_instance_of::<PyString>() {
            k.extract()?
        } else {
            return Err(ConfigError::new_err(format!(
                "{arg} key {}: accepted: a dotted setting name as text, e.g. \"market.fee_rate\"",
                describe(&k)
            )));
        };
        out.push((key, value));
    }
    Ok(out)
}

/// `settings=` as typed values, each named `settings["KEY"]`.
pub fn settings_values(settings: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Given<toml::Value>>> {
    let mut typed = Vec::new();
    let Some(settings) = settings.filter(|s| !s.is_none()) else {
        return Ok(typed);
    };
    for (key, v) in dict_items("settings", settings)? {
        let label = format!("settings[{key:?}]");
        let value = to_toml(&key, &label, &v)?;
        typed.push(Given::new(key, value, Source::Api(label)));
    }
    Ok(typed)
}

/// A whole number argument (`runs=`, `jobs=`, `shards=`) in `lo..=hi`.
pub fn count(arg: &str, v: &Bound<'_, PyAny>, lo: u64, hi: u64) -> PyResult<u64> {
    let bad = || {
        ConfigError::new_err(format!(
            "argument {arg}={}: accepted: a whole number from {lo} to {hi}",
            describe(v)
        ))
    };
    if v.is_instance_of::<PyBool>() || v.is_instance_of::<PyFloat>() {
        return Err(bad());
    }
    match v.extract::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

/// A `True`/`False` argument.
pub fn flag(arg: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    if v.is_instance_of::<PyBool>() {
        return v.extract();
    }
    Err(ConfigError::new_err(format!(
        "argument {arg}={}: accepted: True or False",
        describe(v)
    )))
}

/// `preset=`: the name of a preset, or `None`.
pub fn preset_name(v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match v.filter(|v| !v.is_none()) {
        None => Ok(None),
        Some(v) if v.is_instance_of::<PyString>() => Ok(Some(v.extract()?)),
        Some(v) => Err(ConfigError::new_err(format!(
            "argument preset={}: accepted: the name of a preset as text, e.g. \"privacy\"",
            describe(v)
        ))),
    }
}

/// `grid=` as the sweep's axes: a dict of key -> list of values (any iterable but text,
/// each item one value, never split) or a `"START..END:STEP"` range; or the CLI's
/// `--grid` spellings (`"KEY=V1,V2"` or a list of them), read by the CLI's parser.
pub fn grid_axes(grid: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Axis>> {
    let mut axes: Vec<Axis> = Vec::new();
    let Some(grid) = grid.filter(|g| !g.is_none()) else {
        return Ok(axes);
    };
    if grid.is_instance_of::<PyDict>() {
        for (key, v) in dict_items("grid", grid)? {
            let label = format!("grid[{key:?}]");
            let origin = Source::Api(label.clone());
            let axis = if v.is_instance_of::<PyString>() {
                Axis::from_range(&key, &v.extract::<String>()?, origin)
            } else {
                Axis::from_values(&key, axis_values(&key, &label, &v)?, origin)
            };
            axes.push(axis.map_err(crate::errors::scenario)?);
        }
    } else {
        let specs: Vec<Bound<'_, PyAny>> = if grid.is_instance_of::<PyString>() {
            vec![grid.clone()]
        } else if grid.is_instance_of::<PyList>() || grid.is_instance_of::<PyTuple>() {
            grid.try_iter()?.collect::<PyResult<_>>()?
        } else {
            return Err(ConfigError::new_err(format!(
                "argument grid={}: accepted: a dict of setting -> list of values or \"START..END:STEP\", or 'KEY=V1,V2' strings",
                describe(grid)
            )));
        };
        for spec in specs {
            if !spec.is_instance_of::<PyString>() {
                return Err(ConfigError::new_err(format!(
                    "grid item {}: accepted: a dict of setting -> list of values, or 'KEY=V1,V2,...' / 'KEY=START..END:STEP' strings",
                    describe(&spec)
                )));
            }
            let text: String = spec.extract()?;
            let origin = Source::Api(format!("grid item {text:?}"));
            axes.push(sweep::parse_axis(&text, origin).map_err(crate::errors::scenario)?);
        }
    }
    sweep::check_axes(&axes).map_err(crate::errors::scenario)?;
    Ok(axes)
}

/// One axis's values: each item of a list, tuple, range, NumPy array or other
/// iterable (but not text, bytes, a dict or a set) is one value.
fn axis_values(key: &str, label: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<toml::Value>> {
    let bad = |what: &str| {
        ConfigError::new_err(format!(
            "{label} = {}: {what}accepted: a list of values, or \"START..END:STEP\"",
            describe(v)
        ))
    };
    if is_container(v) {
        return Err(bad(
            if v.is_instance_of::<PySet>() || v.is_instance_of::<PyFrozenSet>() {
                "a set has no order; "
            } else {
                ""
            },
        ));
    }
    let iter = v.try_iter().map_err(|_| bad(""))?;
    let mut values = Vec::new();
    for item in iter {
        if values.len() as u64 >= sweep::MAX_AXIS_VALUES {
            return Err(ConfigError::new_err(format!(
                "{label}: more than {} values; accepted: at most {} values per axis",
                sweep::MAX_AXIS_VALUES,
                sweep::MAX_AXIS_VALUES
            )));
        }
        values.push(to_toml(key, label, &item?)?);
    }
    Ok(values)
}

/// `criteria=`: a list of `"name: metric >= value"` texts or dicts with `name`,
/// `metric`, `op` and `threshold`, as the scenario crate reads `--criterion` and
/// `[[criteria]]`; each named `criteria[i]` in messages.
pub fn criteria_values(criteria: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Given<toml::Value>>> {
    let mut out = Vec::new();
    let Some(list) = criteria.filter(|c| !c.is_none()) else {
        return Ok(out);
    };
    let accepted = "accepted: a list of \"name: metric >= value\" texts or dicts with name, metric, op and threshold";
    if list.is_instance_of::<PyString>() || list.is_instance_of::<PyDict>() {
        return Err(ConfigError::new_err(format!(
            "argument criteria={}: {accepted} (a list, even of one)",
            describe(list)
        )));
    }
    let items = list.try_iter().map_err(|_| {
        ConfigError::new_err(format!("argument criteria={}: {accepted}", describe(list)))
    })?;
    for (i, item) in items.enumerate() {
        let item = item?;
        let label = format!("criteria[{i}]");
        let value = if item.is_instance_of::<PyString>() {
            toml::Value::String(item.extract()?)
        } else if item.is_instance_of::<PyDict>() {
            let mut table = toml::Table::new();
            for (key, v) in dict_items(&label, &item)? {
                let path = format!("{label}[{key:?}]");
                let value = if v.is_instance_of::<PyBool>() {
                    return Err(ConfigError::new_err(format!(
                        "argument {path}={}: {accepted}",
                        describe(&v)
                    )));
                } else if let Ok(s) = v.extract::<String>() {
                    toml::Value::String(s)
                } else if let Ok(n) = v.extract::<i64>() {
                    toml::Value::Integer(n)
                } else if let Ok(f) = v.extract::<f64>() {
                    toml::Value::Float(f)
                } else {
                    return Err(ConfigError::new_err(format!(
                        "argument {path}={}: {accepted}",
                        describe(&v)
                    )));
                };
                table.insert(key, value);
            }
            toml::Value::Table(table)
        } else {
            return Err(ConfigError::new_err(format!(
                "argument {label}={}: {accepted}",
                describe(&item)
            )));
        };
        out.push(Given::new(
            "criteria",
            value,
            Source::Api(format!("argument {label}")),
        ));
        if out.len() > datadao_scenario::criteria::MAX_CRITERIA {
            return Err(ConfigError::new_err(format!(
                "argument criteria=: {} criteria or more; accepted: at most {}",
                out.len(),
                datadao_scenario::criteria::MAX_CRITERIA
            )));
        }
    }
    Ok(out)
}
