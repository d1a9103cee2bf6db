//! Writing `transaction_history.csv` fast: the log of every transaction of a run.
//!
//! At default settings a run logs about five million rows (over 600 MB) while the
//! simulation itself takes a tenth of a second, so this crate is where a full run spends
//! its time. It is kept apart from the CLI so it can be benchmarked on its own
//! (`cargo bench -p datadao-log`) and from the core, which never does I/O.
//!
//! - [`push_f64`]: how every datadao CSV spells a number (`datadao_core::numbers`,
//!   shared with the sweep's tables).
//! - [`rows`]: the log's row format, with the caches that make spelling cheap.
//! - [`pipeline`]: [`TransactionLog`], formatting on every core and writing in order.
//! - [`block_file`]: [`BlockFile`], aligned block writes past the page cache.

pub mod block_file;
pub mod pipeline;
pub mod rows;

pub use block_file::BlockFile;
pub use datadao_core::numbers::push_f64;
pub use pipeline::TransactionLog;
pub use rows::{spell_detail, RowWriter, TRANSACTION_COLUMNS};
