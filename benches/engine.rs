//! Throughput of the engine in agent-steps per second (one agent taking one step), over
//! whole default-scenario runs at three population sizes, governed runs, plus the swap
//! hot path.
//!
//! Run with `cargo bench --bench engine`. Whole-process timings (with every output
//! written) are in the README; this measures the core alone, with no observer.

use datadao_core::market::{Pool, Side};
use datadao_core::{Config, NullObserver, Simulation};
use divan::counter::ItemsCount;
use divan::Bencher;

fn main() {
    divan::main();
}

/// Agent-steps in a run: the population present at each step, summed over steps.
fn agent_steps(config: &Config) -> u64 {
    let s = &config.simulation;
    (0..s.total_steps)
        .map(|step| s.initial_agents + s.agents_per_entry * (step / s.entry_steps + 1))
        .sum()
}

/// Benchmark whole runs of `config`, counting agent-steps; foresight votes fork twice,
/// or with `look_ahead` (what every front end runs without a transaction log) let the
/// real run serve as the fork without the proposal.
fn bench_runs_with(bencher: Bencher, config: Config, look_ahead: bool) {
    bencher
        .counter(ItemsCount::new(agent_steps(&config)))
        .bench(|| {
            let mut sim = Simulation::new(config.clone()).unwrap();
            sim.look_ahead(look_ahead);
            sim.run(&mut NullObserver).unwrap();
            sim.pool().price()
        });
}

/// Benchmark whole runs of `config`, counting agent-steps.
fn bench_runs(bencher: Bencher, config: Config) {
    bench_runs_with(bencher, config, false);
}

/// The default 2000-step run with `AGENTS_PER_ENTRY` set to each value (10 is the
/// default, ~4000 agents at the end; 250 reaches ~100,000).
#[divan::bench(args = [10, 50, 250], sample_count = 5, sample_size = 1)]
fn default_run(bencher: Bencher, agents_per_entry: u64) {
    let mut config = Config::default();
    config.simulation.agents_per_entry = agents_per_entry;
    bench_runs(bencher, config);
}

/// The `privacy` preset (consent changes, usage-based Pie paying every member every step)
/// at the default population and at 50 agents per entry.
#[divan::bench(args = [10, 50], sample_count = 5, sample_size = 1)]
fn privacy_run(bencher: Bencher, agents_per_entry: u64) {
    let mut config: Config =
        toml::from_str(include_str!("../presets/privacy.toml")).expect("the preset parses");
    config.simulation.agents_per_entry = agents_per_entry;
    bench_runs(bencher, config);
}

/// The `governed` and `plutocracy` presets (a vote a month, each weighed on two 30-step
/// foresight forks) at the default population and at 50 agents per entry, against the
/// seed's figures above: the forks are the cost. Agent-steps count the real run only.
#[divan::bench(args = [("governed", 10), ("governed", 50), ("plutocracy", 10)], sample_count = 5, sample_size = 1)]
fn governed_run(bencher: Bencher, (preset, agents_per_entry): (&str, u64)) {
    bench_runs(bencher, governed_config(preset, agents_per_entry));
}

/// The `governed` or `plutocracy` preset with `agents_per_entry`.
fn governed_config(preset: &str, agents_per_entry: u64) -> Config {
    let text = match preset {
        "governed" => include_str!("../presets/governed.toml"),
        _ => include_str!("../presets/plutocracy.toml"),
    };
    let mut config: Config = toml::from_str(text).expect("the preset parses");
    config.simulation.agents_per_entry = agents_per_entry;
    config
}

/// The same governed runs with votes that look ahead instead of forking twice.
#[divan::bench(args = [("governed", 10), ("governed", 50), ("plutocracy", 10)], sample_count = 5, sample_size = 1)]
fn governed_run_looking_ahead(bencher: Bencher, (preset, agents_per_entry): (&str, u64)) {
    bench_runs_with(bencher, governed_config(preset, agents_per_entry), true);
}

/// One exact-input quote and swap on a deep pool.
#[divan::bench]
fn swap_exact_in(bencher: Bencher) {
    let mut pool = Pool::new();
    let q = pool.quote_deposit(1e6, 1e6).unwrap();
    pool.deposit(&q);
    bencher.bench_local(|| {
        let q = pool
            .quote_exact_in(Side::SellDdt, divan::black_box(0.9), 0.003)
            .unwrap();
        pool.swap(&q);
        let back = pool
            .quote_exact_in(Side::BuyDdt, q.amount_out, 0.003)
            .unwrap();
        pool.swap(&back);
    });
}
