//! # datadao-core
//!
//! The pure simulation core of a grassroots dataDAO economy: members mint dDT, spend it on
//! compute into The Pie, trade it against xDAI in a constant-product pool, and receive
//! Pie distributions. No files, no terminal, no command line: a front end builds a
//! [`Config`], creates a [`Simulation`] and watches it through an [`Observer`].
//!
//! Module map (one per mechanism): [`market`] (the pool), [`pie`], [`circles`] (personal
//! CRC, demurrage, the vault and mint caps), [`data_pool`] (contributions, consent, usage),
//! [`agents`] (who decides what), [`population`] (who joins), [`ledger`] (token books, the
//! run's [`flows`] and the audit), [`metrics`] (per-step snapshot), [`transactions`] (records and the observer),
//! [`governance`] (proposals, votes and the governed settings), [`treasury`] (what the
//! dataDAO owns besides its Pie), [`engine`] (applies plans and runs steps). Each
//! mechanism's settings sit beside it; [`config`] gathers them into the scenario and
//! validates it, with [`validation`]'s error type and shared checks. [`original_2024`]
//! holds the first published simulation's rules, defects and all, apart from the model;
//! [`economy`] puts one interface over both, and [`control`] is how a front end stops a
//! run early and what a step can fail with.
//! [`experiment`] holds the pure parts of sweeps: run seeds, KPIs and percentiles;
//! [`numbers`] how every CSV spells a number; [`shares`] how a group of shares that
//! sums to 1 makes room; [`rules`] behaviour declared as data (the rule language); [`events`] shocks on a
//! schedule.

pub mod agent_type;
pub mod agents;
pub mod circles;
pub mod circles_v2;
pub mod config;
pub mod control;
pub mod data_pool;
pub mod economy;
pub mod engine;
pub mod events;
pub mod experiment;
pub mod flows;
pub mod governance;
pub mod ledger;
pub mod market;
pub mod metrics;
pub mod numbers;
pub mod original_2024;
pub mod pie;
pub mod policy;
pub mod population;
pub mod quantile;
pub mod rules;
pub mod shares;
pub mod transactions;
pub mod treasury;
pub mod uniswap_v2;
pub mod validation;
pub mod wealth;

pub use agent_type::AgentType;
pub use config::{Config, ConfigError};
pub use control::{StepError, StopFlag};
pub use economy::Economy;
pub use engine::Simulation;
pub use ledger::AuditError;
pub use metrics::{AgentRow, Cell, StepMetrics};
pub use transactions::{Action, Detail, NullObserver, Observer, Transaction};
