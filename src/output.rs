//! Writing the run's files: nothing appears under its final name until it is complete.
//!
//! Every output is written to a hidden temporary name in the output folder and renamed
//! when done ([`PendingFile`]), so an interrupted or failed run never leaves a half file
//! that looks finished. The transaction log is streamed as it happens, by the
//! `datadao-log` crate; the small files here are spelled by hand in the same number
//! format ([`push_f64`]).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use datadao_core::{Cell, Observer, StepMetrics, Transaction};

use crate::series::Series;
use crate::summary::RunStats;
pub use datadao_log::push_f64;
use datadao_log::TransactionLog;

/// Names of the outputs.
pub const DATA_FILE: &str = "simulation_data.csv";
/// Transaction log.
pub const TRANSACTIONS_FILE: &str = "transaction_history.csv";
/// Figure.
pub const PLOT_FILE: &str = "simulation_results.png";
/// Comparison figure.
pub const COMPARE_FILE: &str = "compare_results.png";
/// Effective configuration.
pub const CONFIG_FILE: &str = "run_config.toml";

/// A file being written under a temporary name; renamed by [`PendingFile::commit`],
/// removed if dropped uncommitted.
#[derive(Debug)]
pub struct PendingFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Reserve `dir/name`; the temporary name keeps the extension (image encoders pick
    /// their format from it).
    pub fn new(dir: &Path, name: &str) -> Self {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let temp = dir.join(format!(".{stem}.partial-{}.{ext}", std::process::id()));
        Self {
            temp,
            target: dir.join(name),
            committed: false,
        }
    }

    /// Where to write now.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Create the temporary file for writing.
    pub fn create(&self) -> Result<BufWriter<File>> {
        let file = File::create(&self.temp).with_context(|| {
            format!(
                "cannot write in output folder {} (output.dir): {}",
                self.temp.parent().unwrap_or(Path::new(".")).display(),
                self.temp.display()
            )
        })?;
        Ok(BufWriter::with_capacity(1 << 20, file))
    }

    /// Move the finished file to its final name.
    pub fn commit(mut self) -> Result<PathBuf> {
        std::fs::rename(&self.temp, &self.target).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.temp.display(),
                self.target.display()
            )
        })?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Write a small file atomically in one go.
pub fn write_whole(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf> {
    let pending = PendingFile::new(dir, name);
    let mut w = pending.create()?;
    w.write_all(contents)
        .and_then(|_| w.flush())
        .with_context(|| format!("cannot write {}", pending.temp_path().display()))?;
    drop(w);
    pending.commit()
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

/// The observer the CLI runs: streams both CSVs, keeps the bounded series for the figure
/// and the running statistics for the summary. I/O errors are kept and reported after
/// the step, because the core's observer interface is infallible by design.
pub struct RunSink {
    data_file: PendingFile,
    data: BufWriter<File>,
    line: Vec<u8>,
    transactions: Option<(PendingFile, TransactionLog)>,
    /// Points for the figure.
    pub series: Series,
    /// Figures for the summary.
    pub stats: RunStats,
    /// The first write error, and the file it happened to.
    error: Option<(io::Error, &'static str)>,
}

impl RunSink {
    /// Open the outputs in `dir` under temporary names; `log` is `None` for no
    /// transaction log, or whether to write it with direct I/O.
    pub fn create(dir: &Path, log: Option<bool>, use_cases: &[String]) -> Result<Self> {
        let data_file = PendingFile::new(dir, DATA_FILE);
        let mut data = data_file.create()?;
        let header = StepMetrics::columns(use_cases).join(",");
        writeln!(data, "{header}").context("cannot write the data header")?;
        let transactions = match log {
            Some(direct_io) => {
                let file = PendingFile::new(dir, TRANSACTIONS_FILE);
                let log = TransactionLog::create(file.temp_path(), direct_io, use_cases)
                    .with_context(|| {
                        format!(
                            "cannot write in output folder {} (output.dir): {}",
                            dir.display(),
                            file.temp_path().display()
                        )
                    })?;
                Some((file, log))
            }
            None => None,
        };
        Ok(Self {
            data_file,
            data,
            line: Vec::with_capacity(1024),
            transactions,
            series: Series::new(),
            stats: RunStats::default(),
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
        self.transactions.as_ref().map(|(_, log)| log.rows())
    }

    /// Flush and rename both CSVs; returns their final paths.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        let mut data = self.data;
        data.flush().context("cannot finish simulation_data.csv")?;
        drop(data);
        done.push(self.data_file.commit()?);
        if let Some((file, mut log)) = self.transactions {
            log.finish()
                .context("cannot finish transaction_history.csv")?;
            done.push(file.commit()?);
        }
        Ok(done)
    }
}

impl Observer for RunSink {
    fn wants_transactions(&self) -> bool {
        self.transactions.is_some()
    }

    fn on_transaction(&mut self, tx: &Transaction) {
        if let Some((_, log)) = &mut self.transactions {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_files_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        {
            let p = PendingFile::new(dir.path(), "x.csv");
            let mut w = p.create().unwrap();
            w.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
