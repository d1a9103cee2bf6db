//! Writing the run's files into its staged [`OutputSet`]: nothing appears under a final
//! name until the whole set is complete, so an interrupted or failed run never leaves a
//! half file, or a mix of two runs, that looks finished. The transaction log is streamed
//! as it happens, by the `datadao-log` crate; the small files here are spelled by hand in
//! the same number format ([`push_f64`]).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use datadao_core::experiment::KpiTracker;
use datadao_core::governance::{Field, ProposalRecord};
use datadao_core::{Cell, Observer, StepMetrics, Transaction};

use crate::output_set::OutputSet;
use crate::series::Series;
pub use datadao_log::push_f64;
use datadao_log::TransactionLog;

pub use datadao_scenario::outputs::{
    AGENTS_FILE, COMPARE_FILE, CONFIG_FILE, DATA_FILE, FLOWS_FILE, FLOWS_PLOT_FILE,
    GOVERNANCE_FILE, PLOT_FILE, RUN_FILES, TRANSACTIONS_FILE,
};

/// Create `path` for buffered writing, naming the file in the error.
pub fn create(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Write a small file in one go into a staged set.
pub fn write_whole(set: &OutputSet, name: &str, contents: &[u8]) -> Result<()> {
    let mut w = create(&set.path(name))?;
    w.write_all(contents)
        .and_then(|_| w.flush())
        .with_context(|| format!("cannot write {name}"))
}

/// Write the staged file `name` through a buffered writer handed to `fill`.
pub fn write_with(
    set: &OutputSet,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut w = create(&set.path(name))?;
    fill(&mut w)
        .and_then(|_| w.flush())
        .with_context(|| format!("cannot write {name}"))
}

fn push_int(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Append a metrics cell.
pub fn push_cell(out: &mut Vec<u8>, cell: &Cell) {
    match *cell {
        Cell::Int(i) => push_int(out, i),
        Cell::Float(f) => push_f64(out, f),
        Cell::Empty => {}
    }
}

/// Append a `governance.csv` cell.
pub fn push_field(out: &mut Vec<u8>, field: &Field) {
    match *field {
        Field::Int(i) => push_int(out, i),
        Field::Float(f) => push_f64(out, f),
        Field::Text(t) => out.extend_from_slice(t.as_bytes()),
        Field::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Field::Empty => {}
    }
}

/// A `governance.csv` row, newline included.
pub fn proposal_line(out: &mut Vec<u8>, record: &ProposalRecord) {
    for (n, field) in record.fields().iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        push_field(out, field);
    }
    out.push(b'\n');
}

/// The observer the CLI runs: streams both CSVs, keeps the bounded series for the figure
/// and the running statistics for the summary. I/O errors are kept and reported after
/// the step, because the core's observer interface is infallible by design.
pub struct RunSink {
    data: BufWriter<File>,
    line: Vec<u8>,
    transactions: Option<TransactionLog>,
    /// `governance.csv`, in governed runs.
    governance: Option<BufWriter<File>>,
    /// Points for the figure.
    pub series: Series,
    /// Figures for the summary.
    pub stats: KpiTracker,
    /// The first write error, and the file it happened to.
    error: Option<(io::Error, &'static str)>,
}

impl RunSink {
    /// Open the CSVs in the staged `set`; `log` is `None` for no transaction log, or
    /// whether to write it with direct I/O; a governed `model` adds the governance
    /// columns and `governance.csv`, its `set` events their settings' columns, and
    /// `wealth` (`output.distribution`) each type's spread of wealth.
    pub fn create(
        set: &OutputSet,
        log: Option<bool>,
        model: &datadao_core::Config,
        wealth: bool,
    ) -> Result<Self> {
        let use_cases = &model.data.use_cases;
        let governed = model.governance.enabled;
        let mut data = create(&set.path(DATA_FILE))?;
        let header = model.columns(wealth).join(",");
        writeln!(data, "{header}").context("cannot write the data header")?;
        let governance = if governed {
            let mut w = create(&set.path(GOVERNANCE_FILE))?;
            writeln!(w, "{}", ProposalRecord::columns().join(","))
                .context("cannot write the governance header")?;
            Some(w)
        } else {
            None
        };
        let transactions = match log {
            Some(direct_io) => {
                let path = set.path(TRANSACTIONS_FILE);
                let types = model.agents.type_names();
                let log = TransactionLog::create(&path, direct_io, use_cases, &types)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Some(log)
            }
            None => None,
        };
        Ok(Self {
            data,
            line: Vec::with_capacity(1024),
            transactions,
            governance,
            series: Series::new(),
            stats: KpiTracker::default(),
            error: None,
        })
    }

    /// The first write error, if any, naming its file (checked by the CLI after each
    /// step).
    pub fn take_error(&mut self) -> Option<anyhow::Error> {
        self.error
            .take()
            .map(|(e, file)| anyhow::Error::new(e).context(format!("cannot write {file}")))
    }

    /// Rows written to the transaction log so far.
    pub fn transaction_rows(&self) -> Option<u64> {
        self.transactions.as_ref().map(|log| log.rows())
    }

    /// Flush both CSVs to the end (they stay staged until the set is committed).
    pub fn finish(self) -> Result<()> {
        let mut data = self.data;
        data.flush().context("cannot finish simulation_data.csv")?;
        drop(data);
        if let Some(mut w) = self.governance {
            w.flush().context("cannot finish governance.csv")?;
        }
        if let Some(mut log) = self.transactions {
            log.finish()
                .context("cannot finish transaction_history.csv")?;
        }
        Ok(())
    }
}

impl Observer for RunSink {
    fn wants_transactions(&self) -> bool {
        self.transactions.is_some()
    }

    fn on_transaction(&mut self, tx: &Transaction) {
        if let Some(log) = &mut self.transactions {
            if let Err(e) = log.push(tx) {
                self.error.get_or_insert((e, TRANSACTIONS_FILE));
            }
        }
    }

    fn on_step(&mut self, m: &StepMetrics) {
        self.line.clear();
        for (n, cell) in m.cells().iter().enumerate() {
            if n > 0 {
                self.line.push(b',');
            }
            push_cell(&mut self.line, cell);
        }
        self.line.push(b'\n');
        if let Err(e) = self.data.write_all(&self.line) {
            self.error.get_or_insert((e, DATA_FILE));
        }
        self.series.push(m);
        self.stats.update(m);
    }

    fn on_proposal(&mut self, record: &ProposalRecord) {
        self.series.push_proposal(record);
        if let Some(w) = &mut self.governance {
            self.line.clear();
            proposal_line(&mut self.line, record);
            if let Err(e) = w.write_all(&self.line) {
                self.error.get_or_insert((e, GOVERNANCE_FILE));
            }
        }
    }
}
