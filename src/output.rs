//! Writing the run's files: nothing appears under its final name until it is complete.
//!
//! Every output is written to a hidden temporary name in the output folder and renamed
//! when done ([`PendingFile`]), so an interrupted or failed run never leaves a half file
//! that looks finished. The transaction log is streamed as it happens; at default
//! settings it is millions of rows, so its rows are formatted by hand with `itoa`/`zmij`
//! into one reused buffer instead of going through serde.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result};
use datadao_core::config::PiePolicy;
use datadao_core::{Cell, Detail, Observer, StepMetrics, Transaction};

use crate::series::Series;
use crate::summary::RunStats;

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

/// Columns of the transaction log.
pub const TRANSACTION_COLUMNS: &str =
    "step,seq,agent_id,agent_type,action,ddt,xdai,lp,ddt_balance,xdai_balance,price,detail";

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

/// Append an `f64` the way the CSVs spell numbers: shortest round-trip form, `0` for zero.
pub fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value == 0.0 {
        out.push(b'0');
    } else if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"NaN");
    }
}

/// Remembers how recent values were spelled. In the transaction log the same numbers
/// recur row after row (the price between swaps, one Pie share amount per group), so
/// most conversions become a lookup; the output is byte-identical to [`push_f64`].
struct FloatSpelling {
    slots: [(u64, u8, [u8; 32]); 64],
}

impl FloatSpelling {
    fn new() -> Self {
        // The bit pattern of 0.0 never reaches a slot (zero is spelled `0` directly), so
        // it marks a slot as empty.
        Self {
            slots: [(0, 0, [0; 32]); 64],
        }
    }

    fn push(&mut self, out: &mut Vec<u8>, value: f64) {
        let bits = value.to_bits();
        if value == 0.0 || !value.is_finite() {
            return push_f64(out, value);
        }
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
        let (key, len, text) = &mut self.slots[slot];
        if *key != bits {
            let mut b = zmij::Buffer::new();
            let s = b.format_finite(value).as_bytes();
            text[..s.len()].copy_from_slice(s);
            *len = s.len() as u8;
            *key = bits;
        }
        out.extend_from_slice(&text[..*len as usize]);
    }
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

/// Size of the chunks handed to the writer thread.
const CHUNK: usize = 4 << 20;

/// Writes a file on a thread of its own, so the kernel's copy into the page cache (most
/// of the cost of a multi-hundred-megabyte log on this class of machine) overlaps with
/// simulating and formatting. Chunks are recycled, so memory stays at a few chunks.
struct BackgroundWriter {
    buf: Vec<u8>,
    to_writer: Option<mpsc::SyncSender<Vec<u8>>>,
    recycled: mpsc::Receiver<Vec<u8>>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl BackgroundWriter {
    fn new(mut out: BufWriter<File>) -> Self {
        let (to_writer, chunks) = mpsc::sync_channel::<Vec<u8>>(2);
        let (give_back, recycled) = mpsc::channel::<Vec<u8>>();
        let thread = thread::spawn(move || {
            for mut chunk in chunks {
                out.write_all(&chunk)?;
                chunk.clear();
                let _ = give_back.send(chunk);
            }
            out.flush()
        });
        Self {
            buf: Vec::with_capacity(CHUNK + 4096),
            to_writer: Some(to_writer),
            recycled,
            thread: Some(thread),
        }
    }

    /// Hand the buffer over once it is full. A failed send means the writer thread has
    /// stopped on an error, which [`BackgroundWriter::finish`] then returns.
    fn after_row(&mut self) -> io::Result<()> {
        if self.buf.len() < CHUNK {
            return Ok(());
        }
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK + 4096));
        let full = std::mem::replace(&mut self.buf, fresh);
        let sender = self.to_writer.as_ref().expect("open until finish");
        if sender.send(full).is_err() {
            return self.finish();
        }
        Ok(())
    }

    /// Write what is left and wait for the thread.
    fn finish(&mut self) -> io::Result<()> {
        if let Some(sender) = self.to_writer.take() {
            let rest = std::mem::take(&mut self.buf);
            let _ = sender.send(rest);
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked"))),
            None => Ok(()),
        }
    }
}

/// Streams the transaction log.
struct TransactionLog {
    file: PendingFile,
    writer: BackgroundWriter,
    spelling: FloatSpelling,
    use_cases: Vec<String>,
    rows: u64,
}

/// Spell a transaction's detail: a use case, a dataset's figures, what a capped mint
/// asked for, the Pie policy. Empty for plain trades.
fn push_detail(out: &mut Vec<u8>, detail: &Detail, use_cases: &[String]) {
    let names = |out: &mut Vec<u8>, mask: u8| {
        let mut first = true;
        for (u, name) in use_cases.iter().enumerate() {
            if mask & (1 << u) != 0 {
                if !first {
                    out.push(b'|');
                }
                out.extend_from_slice(name.as_bytes());
                first = false;
            }
        }
    };
    match *detail {
        Detail::None => {}
        Detail::UseCase(u) => out.extend_from_slice(use_cases[u as usize].as_bytes()),
        Detail::UseCases(mask) => names(out, mask),
        Detail::Dataset {
            quantity,
            quality,
            weight,
            allowed,
        } => {
            out.extend_from_slice(b"quantity=");
            push_f64(out, quantity);
            out.extend_from_slice(b";quality=");
            push_f64(out, quality);
            out.extend_from_slice(b";weight=");
            push_f64(out, weight);
            out.extend_from_slice(b";allows=");
            names(out, allowed);
        }
        Detail::Capped { requested } => {
            out.extend_from_slice(b"capped;requested=");
            push_f64(out, requested);
        }
        Detail::Removed { weight } => {
            out.extend_from_slice(b"weight=");
            push_f64(out, weight);
        }
        Detail::Policy(p) => out.extend_from_slice(match p {
            PiePolicy::Groups => b"groups",
            PiePolicy::Usage => b"usage",
            PiePolicy::Weight => b"weight",
        }),
    }
}

impl TransactionLog {
    fn write(&mut self, tx: &Transaction) -> io::Result<()> {
        let l = &mut self.writer.buf;
        push_int(l, u64::from(tx.step));
        l.push(b',');
        push_int(l, tx.seq);
        l.push(b',');
        push_int(l, u64::from(tx.agent_id));
        l.push(b',');
        l.extend_from_slice(tx.agent_type.name().as_bytes());
        l.push(b',');
        l.extend_from_slice(tx.action.name().as_bytes());
        for v in [tx.ddt, tx.xdai, tx.lp, tx.ddt_balance, tx.xdai_balance] {
            l.push(b',');
            self.spelling.push(l, v);
        }
        l.push(b',');
        if let Some(p) = tx.price {
            self.spelling.push(l, p);
        }
        l.push(b',');
        push_detail(l, &tx.detail, &self.use_cases);
        l.push(b'\n');
        self.rows += 1;
        self.writer.after_row()
    }
}

/// The observer the CLI runs: streams both CSVs, keeps the bounded series for the figure
/// and the running statistics for the summary. I/O errors are kept and reported after
/// the step, because the core's observer interface is infallible by design.
pub struct RunSink {
    data_file: PendingFile,
    data: BufWriter<File>,
    line: Vec<u8>,
    transactions: Option<TransactionLog>,
    /// Points for the figure.
    pub series: Series,
    /// Figures for the summary.
    pub stats: RunStats,
    error: Option<io::Error>,
}

impl RunSink {
    /// Open the outputs in `dir` under temporary names.
    pub fn create(dir: &Path, transactions: bool, use_cases: &[String]) -> Result<Self> {
        let data_file = PendingFile::new(dir, DATA_FILE);
        let mut data = data_file.create()?;
        let header = StepMetrics::columns(use_cases).join(",");
        writeln!(data, "{header}").context("cannot write the data header")?;
        let transactions = if transactions {
            let file = PendingFile::new(dir, TRANSACTIONS_FILE);
            let mut writer = file.create()?;
            writeln!(writer, "{TRANSACTION_COLUMNS}").context("cannot write the log header")?;
            Some(TransactionLog {
                file,
                writer: BackgroundWriter::new(writer),
                spelling: FloatSpelling::new(),
                use_cases: use_cases.to_vec(),
                rows: 0,
            })
        } else {
            None
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

    /// The first write error, if any (checked by the CLI after each step).
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Rows written to the transaction log so far.
    pub fn transaction_rows(&self) -> Option<u64> {
        self.transactions.as_ref().map(|t| t.rows)
    }

    /// Flush and rename both CSVs; returns their final paths.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        let mut data = self.data;
        data.flush().context("cannot finish simulation_data.csv")?;
        drop(data);
        done.push(self.data_file.commit()?);
        if let Some(mut t) = self.transactions {
            t.writer
                .finish()
                .context("cannot finish transaction_history.csv")?;
            done.push(t.file.commit()?);
        }
        Ok(done)
    }
}

impl Observer for RunSink {
    fn wants_transactions(&self) -> bool {
        self.transactions.is_some()
    }

    fn on_transaction(&mut self, tx: &Transaction) {
        if let Some(log) = &mut self.transactions {
            if let Err(e) = log.write(tx) {
                self.error.get_or_insert(e);
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
            self.error.get_or_insert(e);
        }
        self.series.push(m);
        self.stats.update(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for v in [0.1, 1.0 / 3.0, 1e-12, 123456789.125, -2.5] {
            let mut out = Vec::new();
            push_f64(&mut out, v);
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert_eq!(back, v);
        }
        let mut out = Vec::new();
        push_f64(&mut out, -0.0);
        assert_eq!(out, b"0");
    }

    #[test]
    fn cached_spelling_matches_direct_spelling() {
        let mut cache = FloatSpelling::new();
        let values = [0.5, 0.1, 0.5, -0.5, 1e300, 3.0e-7, 0.1, 0.0, -0.0, 0.5];
        for v in values {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            cache.push(&mut a, v);
            push_f64(&mut b, v);
            assert_eq!(a, b, "{v}");
        }
    }

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
