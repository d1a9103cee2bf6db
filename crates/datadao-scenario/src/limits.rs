//! Work that cannot fit is refused before it starts.
//!
//! Each estimate is a measured cost per unit times the number of units the settings ask
//! for, compared with what this machine has (memory available, free space in the output
//! folder). A refusal names the settings behind the estimate, where their values came
//! from, the estimate itself and the way around it (`--allow-huge`,
//! `output.allow_huge`), for users who know better than the estimate.

use std::path::Path;

use anyhow::{bail, Result};
use datadao_core::governance::Voting;
use datadao_core::Config;

use crate::settings::Resolved;

/// Peak memory per agent, rounded up from measurements: a million-agent run peaks at
/// about 310 MB, i.e. 310 bytes per agent with everything else included.
pub const BYTES_PER_AGENT: u64 = 400;
/// Transaction-log bytes per agent and step: the default run writes 617 MB for 4.03
/// million agent-steps (153 bytes), rounded up.
pub const LOG_BYTES_PER_AGENT_STEP: u64 = 160;
/// `simulation_data.csv` bytes per step (450 in the default run), rounded up, plus 24
/// per extra use case.
pub const DATA_BYTES_PER_STEP: u64 = 512;
/// The figure and `run_config.toml`, at most.
pub const FIXED_BYTES: u64 = 4 << 20;
/// Bytes per row of `sweep_runs.csv` and `sweep_series.csv`, rounded up.
pub const SWEEP_ROW_BYTES: u64 = 512;

/// Agents at the end of the run (every one that joins stays).
pub fn final_agents(c: &Config) -> u128 {
    let s = &c.simulation;
    let entries = u128::from(s.total_steps.div_ceil(s.entry_steps.max(1)));
    u128::from(s.initial_agents) + u128::from(s.agents_per_entry) * entries
}

/// Agent-steps over the run: the sum over steps of the agents present.
pub fn agent_steps(c: &Config) -> u128 {
    let s = &c.simulation;
    let (steps, every) = (u128::from(s.total_steps), u128::from(s.entry_steps.max(1)));
    let per_entry = u128::from(s.agents_per_entry);
    // Entry j (0-based) happens at step j*every and is present for steps - j*every steps.
    let entries = steps.div_ceil(every);
    let present = entries * steps - every * entries.saturating_sub(1) * entries / 2;
    u128::from(s.initial_agents) * steps + per_entry * present
}

/// Agent-steps simulated, foresight forks included: each vote simulates two forks of
/// (up to) `governance.horizon` steps, so a governed run with foresight does about
/// `1 + 2 * horizon / interval_steps` times the work of its own steps.
pub fn simulated_agent_steps(c: &Config) -> u128 {
    let own = agent_steps(c);
    let g = &c.governance;
    if !(g.enabled && g.voting == Voting::Foresight) {
        return own;
    }
    let interval = u128::from(g.interval_steps.max(1));
    own + own * 2 * u128::from(g.horizon) / interval
}

/// Bytes of one `vote` row of the transaction log, rounded up.
pub const VOTE_ROW_BYTES: u64 = 128;

/// Memory available to a new process, in bytes (Linux `MemAvailable`); `None` where it
/// cannot be read, and then nothing is refused on memory.
pub fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Free space for an unprivileged writer in the folder's file system.
pub fn disk_available(dir: &Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}

/// `1.6 TB`-style sizes for messages.
pub fn bytes(n: u128) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// The settings an estimate depends on, with where each came from (non-defaults only,
/// or all of them if the user set none).
fn culprits(resolved: Option<&Resolved>, keys: &[&str]) -> String {
    let Some(r) = resolved else {
        return keys.join(", ");
    };
    let set: Vec<String> = keys
        .iter()
        .filter(|k| r.sources.contains_key(**k))
        .map(|k| {
            let typed = r.raw.get(*k).cloned().unwrap_or_default();
            format!("{k} = '{typed}' (from {})", r.sources[*k])
        })
        .collect();
    if set.is_empty() {
        keys.join(", ")
    } else {
        set.join(", ")
    }
}

const POPULATION: &[&str] = &[
    "simulation.initial_agents",
    "simulation.agents_per_entry",
    "simulation.entry_steps",
    "simulation.total_steps",
];

/// Bytes a run needs, the agents they are for, and the copies of the economy held at
/// once (2 with foresight forks). A foresight vote holds one fork, a full copy of the
/// economy, beside the run; a fork of the last vote may run past the end, with the
/// agents who join meanwhile.
pub fn memory_need(c: &Config, copies: u64) -> (u128, u128, u128) {
    let foresight = c.governance.enabled && c.governance.voting == Voting::Foresight;
    let (forks, agents) = if foresight {
        let at_end = u64::try_from(final_agents(c)).unwrap_or(u64::MAX);
        let s = &c.simulation;
        // The last vote's fork, counting the agents who join during it (as the engine).
        let last_vote = s.total_steps.saturating_sub(1);
        let steps = c.governance.fork_horizon(
            last_vote,
            at_end,
            (s.entry_steps, s.agents_per_entry),
            u64::from(u32::MAX),
        );
        let mut longer = c.clone();
        longer.simulation.total_steps = c.simulation.total_steps.saturating_add(steps);
        (2, final_agents(&longer))
    } else {
        (1, final_agents(c))
    };
    let need = agents * u128::from(BYTES_PER_AGENT) * u128::from(copies.max(1)) * forks;
    (need, agents, forks)
}

/// Refuse a run whose agents would not fit in memory (`copies` runs at once, for
/// sweeps running in parallel).
pub fn check_memory(
    c: &Config,
    copies: u64,
    resolved: Option<&Resolved>,
    allow: bool,
) -> Result<()> {
    let (need, agents, forks) = memory_need(c, copies);
    let Some(have) = memory_available() else {
        return Ok(());
    };
    if !allow && need > u128::from(have) {
        bail!(
            "{}: {} agents{}{} need about {} of memory ({BYTES_PER_AGENT} bytes per agent), and this machine has {} available; accepted: a population that fits, or --allow-huge (output.allow_huge = true) to start anyway",
            culprits(resolved, POPULATION),
            agents,
            if copies > 1 { format!(" in each of {copies} parallel runs") } else { String::new() },
            if forks > 1 { " (with those who join during the last foresight fork) and the fork's copy of them" } else { "" },
            bytes(need),
            bytes(u128::from(have))
        );
    }
    Ok(())
}

/// Bytes a run's outputs take, estimated.
pub fn run_bytes(c: &Config, transactions: bool) -> u128 {
    let per_step = u128::from(DATA_BYTES_PER_STEP + 24 * c.data.use_cases.len() as u64);
    let mut total = u128::from(c.simulation.total_steps) * per_step + u128::from(FIXED_BYTES);
    if transactions {
        total += agent_steps(c) * u128::from(LOG_BYTES_PER_AGENT_STEP);
        if c.governance.enabled {
            // At most one vote row per member and proposal.
            total += agent_steps(c) * u128::from(VOTE_ROW_BYTES)
                / u128::from(c.governance.interval_steps.max(1));
        }
    }
    total
}

/// Refuse outputs of `need` bytes that would not fit in `dir`'s file system. `what`
/// says what they are, `keys` which settings drive them.
pub fn check_disk(
    need: u128,
    dir: &Path,
    what: &str,
    keys: &[&str],
    resolved: Option<&Resolved>,
    allow: bool,
) -> Result<()> {
    let Some(have) = disk_available(dir) else {
        return Ok(());
    };
    if !allow && need > u128::from(have) {
        bail!(
            "{}: {what} would take about {}, and {} has {} free; accepted: a smaller run, another output folder (--out), or --allow-huge (output.allow_huge = true) to start anyway",
            culprits(resolved, keys),
            bytes(need),
            dir.display(),
            bytes(u128::from(have))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_steps_by_hand() {
        let mut c = Config::default();
        // Default: 20,000 from the initial 10, plus 10 agents per entry present for
        // 2000, 1995, ..., 5 steps: 10 * 5 * (400 * 401 / 2) = 4,010,000.
        assert_eq!(agent_steps(&c), 4_030_000);
        assert_eq!(final_agents(&c), 4010);
        c.simulation.total_steps = 7;
        c.simulation.entry_steps = 3;
        c.simulation.initial_agents = 1;
        c.simulation.agents_per_entry = 2;
        // Entries at 0, 3, 6: present 7, 4, 1 steps; 1 initial for 7 steps.
        assert_eq!(agent_steps(&c), 7 + 2 * (7 + 4 + 1));
        assert_eq!(final_agents(&c), 7);
    }

    /// The default governed run: 4,010 agents, forks of 30 steps add 6 entries of 10
    /// (4,070), two copies of 400 bytes each. At a million agents the fork budget (10M
    /// agent-steps) shortens the last fork to 9 steps: 2 more entries of 2,500.
    #[test]
    fn foresight_needs_a_second_copy_by_hand() {
        let mut c = Config::default();
        assert_eq!(memory_need(&c, 1), (4010 * 400, 4010, 1));
        c.governance.enabled = true;
        assert_eq!(memory_need(&c, 1), (4070 * 400 * 2, 4070, 2));
        c.governance.voting = Voting::Fixed;
        assert_eq!(memory_need(&c, 1).2, 1);
        c.governance.voting = Voting::Foresight;
        c.simulation.agents_per_entry = 2500;
        assert_eq!(final_agents(&c), 1_000_010);
        assert_eq!(memory_need(&c, 1).1, 1_000_010 + 2 * 2500);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(999), "999 bytes");
        assert_eq!(bytes(1_600_000_000_000), "1.6 TB");
    }
}
