//! # datadao-scenario
//!
//! What a scenario is, independent of how a user asks for it: the layered settings
//! ([`settings`]: defaults < preset < file < `.env` < environment < flags, with every
//! value's source and text as typed, for messages), the named [`presets`], and
//! [`sweep`]s (axes, points, Monte Carlo runs reduced into tables in a fixed order) and
//! the [`merge`] of a sweep's shards back into its tables, with every check, and the
//! name of every file datadao writes ([`outputs`]).
//!
//! The command-line binary and the Python binding are both thin front ends over this
//! crate and `datadao-core`, so a setting, a refusal message and a sweep table are the
//! same whichever one a user runs. No terminal, no flags parsing, no output folders:
//! tables are written into any `std::io::Write`. Every refusal is a [`ScenarioError`]
//! whose fields say which setting it is about; `anyhow` stays in the front ends.

// A `ScenarioError` carries the value as typed, its sources and what is accepted, so a
// refusal can say all of it; it is built only on the cold path of a refusal, where its
// size costs nothing, so clippy's advice to box it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod agent_table;
pub mod criteria;
pub mod error;
pub mod flows;
pub mod help;
pub mod limits;
pub mod merge;
pub mod optimize;
pub mod outputs;
pub mod palette;
pub mod presets;
pub mod settings;
pub mod source;
pub mod sweep;

pub use error::ScenarioError;
