//! A run's results gathered in memory (the observer the package's runs use) and handed
//! to Python as whole column buffers.
//!
//! Every buffer grows with `try_reserve`, so memory the system refuses ends the run with
//! `ResourceError` (a `MemoryError`) instead of aborting the interpreter; the run's stop
//! flag is raised at once so the engine stops within a few thousand agents. The Python
//! `bytes` are allocated by Python (`PyBytes::new_with`), which raises `MemoryError`
//! itself when it cannot.

use std::collections::HashMap;

use datadao_core::experiment::KpiTracker;
use datadao_core::governance::{Field, ProposalRecord};
use datadao_core::{Action, Cell, Detail, Observer, StepMetrics, StopFlag, Transaction};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// One column of `simulation_data.csv`.
pub enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

/// Room for one more item in `v`, doubling (at least 1024), or `false` if refused.
fn grow<T>(v: &mut Vec<T>) -> bool {
    v.len() < v.capacity() || v.try_reserve(v.len().max(1024)).is_ok()
}

/// The transaction log as columns; text columns as category codes.
#[derive(Default)]
pub struct TxColumns {
    pub step: Vec<i64>,
    pub seq: Vec<i64>,
    pub agent_id: Vec<i64>,
    pub agent_type: Vec<u8>,
    pub action: Vec<u8>,
    pub amounts: [Vec<f64>; 6],
    pub detail: Vec<u32>,
    pub details: Vec<String>,
    detail_codes: HashMap<Vec<u8>, u32>,
    scratch: Vec<u8>,
}

impl TxColumns {
    fn detail_code(&mut self, detail: &Detail, use_cases: &[String]) -> u32 {
        self.scratch.clear();
        datadao_log::spell_detail(&mut self.scratch, detail, use_cases);
        if let Some(&code) = self.detail_codes.get(&self.scratch) {
            return code;
        }
        let code = self.details.len() as u32;
        self.details
            .push(String::from_utf8_lossy(&self.scratch).into_owned());
        self.detail_codes.insert(self.scratch.clone(), code);
        code
    }

    /// Room for one more row in every column.
    fn room(&mut self) -> bool {
        grow(&mut self.step)
            && grow(&mut self.seq)
            && grow(&mut self.agent_id)
            && grow(&mut self.agent_type)
            && grow(&mut self.action)
            && self.amounts.iter_mut().all(grow)
            && grow(&mut self.detail)
    }

    /// Bytes the columns hold now.
    fn bytes(&self) -> u128 {
        (self.step.capacity() as u128) * 78
    }
}

/// The observer a Python run uses: columns, not files.
pub struct Collect {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    pub tx: Option<TxColumns>,
    /// `governance.csv`'s rows, in governed runs.
    pub proposals: Option<Vec<Vec<Field>>>,
    pub use_cases: Vec<String>,
    /// How many types the run has (the treasury's and events' codes come after them).
    pub type_count: usize,
    pub stats: KpiTracker,
    pub rows: u64,
    /// What could not be allocated, and about how many bytes were asked for.
    pub refused: Option<(&'static str, u128)>,
    /// Raised when an allocation is refused, so the engine stops at once.
    pub stop: StopFlag,
}

impl Collect {
    fn refuse(&mut self, what: &'static str, bytes: u128) {
        if self.refused.is_none() {
            self.refused = Some((what, bytes));
        }
        self.stop.raise();
    }
}

impl Observer for Collect {
    fn wants_transactions(&self) -> bool {
        self.tx.is_some() && self.refused.is_none()
    }

    fn on_transaction(&mut self, t: &Transaction) {
        if self.refused.is_some() {
            return;
        }
        let use_cases = &self.use_cases;
        let Some(c) = &mut self.tx else {
            return;
        };
        if !c.room() {
            let bytes = c.bytes() * 2;
            self.refuse("the transaction log", bytes);
            return;
        }
        c.step.push(i64::from(t.step));
        c.seq.push(t.seq as i64);
        if t.by_treasury {
            // The treasury has no id; its type code is the one after the agents', and a
            // scheduled event's the one after that.
            c.agent_id.push(-1);
            let code = self.type_count + usize::from(t.action == Action::Event);
            c.agent_type.push(code as u8);
        } else {
            c.agent_id.push(i64::from(t.agent_id));
            c.agent_type.push(t.agent_type.index() as u8);
        }
        c.action.push(t.action as u8);
        let price = t.price.unwrap_or(f64::NAN);
        for (col, v) in
            c.amounts
                .iter_mut()
                .zip([t.ddt, t.xdai, t.lp, t.ddt_balance, t.xdai_balance, price])
        {
            col.push(v);
        }
        let code = match t.detail {
            Detail::None => 0,
            ref d => c.detail_code(d, use_cases),
        };
        c.detail.push(code);
        self.rows += 1;
    }

    fn on_step(&mut self, m: &StepMetrics) {
        if self.refused.is_some() {
            return;
        }
        let cells = m.cells();
        if self.columns.is_empty() {
            self.columns = cells
                .iter()
                .map(|c| match c {
                    Cell::Int(_) => Column::Int(Vec::new()),
                    _ => Column::Float(Vec::new()),
                })
                .collect();
        }
        let room = self.columns.iter_mut().all(|c| match c {
            Column::Int(v) => grow(v),
            Column::Float(v) => grow(v),
        });
        if !room {
            let bytes = self.columns.len() as u128 * 8 * u128::from(m.step.max(1)) * 2;
            self.refuse("the steps table", bytes);
            return;
        }
        for (col, cell) in self.columns.iter_mut().zip(cells) {
            match (col, cell) {
                (Column::Int(v), Cell::Int(i)) => v.push(i as i64),
                (Column::Float(v), Cell::Float(f)) => v.push(f),
                (Column::Float(v), _) => v.push(f64::NAN),
                (Column::Int(v), _) => v.push(0),
            }
        }
        self.stats.update(m);
    }

    fn on_proposal(&mut self, record: &ProposalRecord) {
        if let Some(rows) = &mut self.proposals {
            if grow(rows) {
                rows.push(record.fields());
            } else {
                self.refuse("the governance table", 0);
            }
        }
    }
}

/// `governance.csv` as a dict of column lists (floats, ints, text, bools, `None`).
pub fn proposal_table<'py>(py: Python<'py>, rows: &[Vec<Field>]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (n, name) in ProposalRecord::columns().iter().enumerate() {
        let column = PyList::empty(py);
        for row in rows {
            match row[n] {
                Field::Int(i) => column.append(i)?,
                Field::Float(f) => column.append(f)?,
                Field::Text(t) => column.append(t)?,
                Field::Bool(b) => column.append(b)?,
                Field::Empty => column.append(py.None())?,
            }
        }
        d.set_item(name, column)?;
    }
    Ok(d)
}

/// Little-endian bytes of `values`, written straight into a Python `bytes` (one copy;
/// `MemoryError` if Python cannot allocate it).
pub fn bytes_of<T: Copy, const N: usize>(
    py: Python<'_>,
    values: &[T],
    to_le: impl Fn(T) -> [u8; N],
) -> PyResult<Py<PyAny>> {
    let len = values.len().checked_mul(N).ok_or_else(|| {
        crate::errors::out_of_memory("a column", values.len() as u128 * N as u128)
    })?;
    let bytes = PyBytes::new_with(py, len, |buf| {
        for (chunk, &v) in buf.chunks_exact_mut(N).zip(values) {
            chunk.copy_from_slice(&to_le(v));
        }
        Ok(())
    })?;
    Ok(bytes.into_any().unbind())
}

/// `{"names": [...], "kinds": ["i8"|"f8"|"u1"|"u4", ...], "data": [bytes, ...],
/// "categories": {name: [text, ...]}}`: a table as whole buffers.
pub fn table<'py>(
    py: Python<'py>,
    names: Vec<String>,
    data: Vec<(&'static str, Py<PyAny>)>,
    categories: Vec<(String, Vec<String>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("names", names)?;
    let (kinds, buffers): (Vec<&str>, Vec<Py<PyAny>>) = data.into_iter().unzip();
    d.set_item("kinds", kinds)?;
    d.set_item("data", buffers)?;
    let cats = PyDict::new(py);
    for (name, values) in categories {
        cats.set_item(name, values)?;
    }
    d.set_item("categories", cats)?;
    Ok(d)
}
