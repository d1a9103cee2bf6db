//! The log's threads: rows formatted on every core, written in order.
//!
//! At default settings the log is about five million rows (over 600 MB) from a
//! simulation that takes a tenth of a second, so spelling numbers and moving bytes are
//! nearly all of a run's cost. The simulating thread only copies each [`Transaction`]
//! into a batch. Batches go to one formatter thread per core; each formats its batch
//! into bytes, a pure function of the rows, and a writer thread puts the batches back in
//! order and appends them to a [`BlockFile`]. So the bytes do not depend on how the work
//! was scheduled, and memory holds a bounded number of batches whatever the run's length.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use datadao_core::agent_type::TypeNames;
use datadao_core::Transaction;

use crate::block_file::BlockFile;
use crate::rows::{Formatted, RowWriter, TRANSACTION_COLUMNS};

/// Rows per batch: enough to make handing a batch over cheap (a few hundred
/// nanoseconds, per 100 KB of rows), few enough that the batches in flight stay in cache.
const BATCH: usize = 1024;
/// Batches queued for the formatters beyond those being formatted.
const QUEUED: usize = 8;
/// Formatted batches (about 120 KB each) the writer may fall behind by: more than one
/// [`BlockFile`] write's worth, so the formatters keep working while a block goes to the
/// device, and no more, so the buffers in flight stay few.
const FORMATTED_AHEAD: usize = 40;

type Batch = Vec<Transaction>;

/// The log of one run, fed one transaction at a time by the simulating thread.
pub struct TransactionLog {
    batch: Batch,
    next_batch: u64,
    to_formatters: Option<SyncSender<(u64, Batch)>>,
    spare_batches: Receiver<Batch>,
    formatters: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<()>>>,
    rows: u64,
}

impl TransactionLog {
    /// Start the threads writing to `path` (created or truncated), header first.
    pub fn create(
        path: &Path,
        direct_io: bool,
        use_cases: &[String],
        types: &TypeNames,
    ) -> io::Result<Self> {
        let mut file = BlockFile::create(path, direct_io)?;
        file.write_all(TRANSACTION_COLUMNS.as_bytes())?;
        file.write_all(b"\n")?;

        // Beyond a few formatters the simulating thread is the bottleneck.
        let formatters = thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let (to_formatters, jobs) = mpsc::sync_channel::<(u64, Batch)>(QUEUED);
        let jobs = Arc::new(Mutex::new(jobs));
        let (to_writer, formatted) = mpsc::sync_channel::<(u64, Formatted)>(FORMATTED_AHEAD);
        let (give_back_batch, spare_batches) = mpsc::channel::<Batch>();
        let spare_bytes: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();

        let formatters = (0..formatters)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                let to_writer = to_writer.clone();
                let give_back_batch = give_back_batch.clone();
                let spare_bytes = Arc::clone(&spare_bytes);
                let use_cases = use_cases.to_vec();
                let types = types.clone();
                thread::Builder::new()
                    .name("log-format".into())
                    .spawn(move || {
                        let mut rows = RowWriter::with_types(use_cases, &types);
                        loop {
                            // The lock is held only while taking a job.
                            let job = jobs.lock().map(|jobs| jobs.recv());
                            let Ok(Ok((index, mut batch))) = job else {
                                break;
                            };
                            let buf = spare_bytes.lock().ok().and_then(|mut s| s.pop());
                            let formatted = rows.format(&batch, buf.unwrap_or_default());
                            batch.clear();
                            let _ = give_back_batch.send(batch);
                            if to_writer.send((index, formatted)).is_err() {
                                break;
                            }
                        }
                    })
            })
            .collect::<io::Result<Vec<_>>>()?;
        drop(to_writer);

        let writer = thread::Builder::new()
            .name("log-write".into())
            .spawn(move || {
                let mut waiting = BTreeMap::new();
                let mut next = 0u64;
                for (index, formatted) in formatted {
                    waiting.insert(index, formatted);
                    while let Some(formatted) = waiting.remove(&next) {
                        file.write_all(formatted.bytes())?;
                        if let Ok(mut spare) = spare_bytes.lock() {
                            spare.push(formatted.into_buffer());
                        }
                        next += 1;
                    }
                }
                // A batch that never arrived (its formatter died) must not pass
                // silently as a shorter log.
                if !waiting.is_empty() {
                    return Err(io::Error::other(format!(
                        "batch {next} of the transaction log was never formatted"
                    )));
                }
                file.finish()
            })?;

        Ok(Self {
            batch: Vec::with_capacity(BATCH),
            next_batch: 0,
            to_formatters: Some(to_formatters),
            spare_batches,
            formatters,
            writer: Some(writer),
            rows: 0,
        })
    }

    /// Rows logged so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Log one transaction. An error means the writer has stopped; it is the writer's.
    pub fn push(&mut self, tx: &Transaction) -> io::Result<()> {
        self.batch.push(*tx);
        self.rows += 1;
        if self.batch.len() < BATCH {
            return Ok(());
        }
        let fresh = self
            .spare_batches
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, fresh);
        self.send(full)
    }

    fn send(&mut self, batch: Batch) -> io::Result<()> {
        if self.hand_over(batch) {
            Ok(())
        } else {
            self.finish()
        }
    }

    /// Give `batch` the next index and queue it; `false` once the formatters are gone.
    fn hand_over(&mut self, batch: Batch) -> bool {
        let index = self.next_batch;
        self.next_batch += 1;
        match &self.to_formatters {
            Some(s) => s.send((index, batch)).is_ok(),
            None => false,
        }
    }

    /// Log what is left, wait for the threads and report the writer's outcome.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.batch.is_empty() {
            let rest = std::mem::take(&mut self.batch);
            // A refusal shows in the writer's outcome below.
            let _ = self.hand_over(rest);
        }
        self.to_formatters = None;
        let mut formatters_ok = true;
        for f in self.formatters.drain(..) {
            formatters_ok &= f.join().is_ok();
        }
        if !formatters_ok {
            let _ = self.writer.take().map(JoinHandle::join);
            return Err(io::Error::other(
                "a transaction log formatter thread panicked",
            ));
        }
        match self.writer.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the log writer thread panicked"))),
            None => Err(io::Error::other("the transaction log was already closed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::tests::{format, tx};
    use datadao_core::Detail;

    /// A batch is split across formatters and put back in order: the file is the rows in
    /// sequence whatever the threads did.
    #[test]
    fn the_file_holds_every_row_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let rows: Vec<Transaction> = (0..(3 * BATCH as u64 + 5))
            .map(|i| tx(i, i as f64 * 0.25, Some(1.5), Detail::None))
            .collect();
        let mut log = TransactionLog::create(&path, true, &[], &TypeNames::seed()).unwrap();
        for r in &rows {
            log.push(r).unwrap();
        }
        assert_eq!(log.rows(), rows.len() as u64);
        log.finish().unwrap();
        let want = format!("{TRANSACTION_COLUMNS}\n{}", format(&rows));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
    }
}
