//! Throughput of the transaction log in rows per second: formatting alone on one
//! thread, and the whole pipeline (every core, written to a file, with and without
//! direct I/O).
//!
//! Run with `cargo bench -p datadao-log`. The rows are a real default-scenario run's,
//! collected once, so the number caches see the repetition they see in use.

use datadao_core::agent_type::TypeNames;
use datadao_core::{Config, Observer, Simulation, Transaction};
use datadao_log::{RowWriter, TransactionLog};
use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;

fn main() {
    divan::main();
}

/// Steps of the default run whose rows are used: 376,786 rows, 43 MB of CSV.
const STEPS: u64 = 500;

/// Every transaction of the first [`STEPS`] steps of the default run.
fn rows() -> Vec<Transaction> {
    struct Collect(Vec<Transaction>);
    impl Observer for Collect {
        fn wants_transactions(&self) -> bool {
            true
        }
        fn on_transaction(&mut self, tx: &Transaction) {
            self.0.push(*tx);
        }
    }
    let mut config = Config::default();
    config.simulation.total_steps = STEPS;
    let mut sim = Simulation::new(config).expect("defaults are valid");
    let mut collect = Collect(Vec::new());
    sim.run(&mut collect)
        .expect("the default run passes its audit");
    collect.0
}

fn use_cases() -> Vec<String> {
    Config::default().data.use_cases
}

/// One formatter thread's work: rows spelled into bytes, in batches as the pipeline
/// hands them out.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn format_rows(bencher: Bencher) {
    let rows = rows();
    let bytes: usize = RowWriter::new(use_cases())
        .format(&rows, Vec::new())
        .bytes()
        .len();
    bencher
        .counter(ItemsCount::new(rows.len()))
        .counter(BytesCount::new(bytes))
        .bench_local(|| {
            let mut writer = RowWriter::new(use_cases());
            let mut buf = Vec::new();
            let mut total = 0;
            for batch in rows.chunks(1024) {
                let formatted = writer.format(batch, buf);
                total += formatted.bytes().len();
                buf = formatted.into_buffer();
            }
            total
        });
}

/// The whole log: batches, formatter threads, ordered writing to a file.
#[divan::bench(args = [true, false], sample_count = 10, sample_size = 1)]
fn write_log(bencher: Bencher, direct_io: bool) {
    let rows = rows();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("transaction_history.csv");
    bencher
        .counter(ItemsCount::new(rows.len()))
        .bench_local(|| {
            let mut log =
                TransactionLog::create(&path, direct_io, &use_cases(), &TypeNames::seed())
                    .expect("the log file can be created");
            for tx in &rows {
                log.push(tx).expect("the disk takes the log");
            }
            log.finish().expect("the log is complete");
        });
}
