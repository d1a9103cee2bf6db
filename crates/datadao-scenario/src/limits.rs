//! Work that cannot fit is refused before it starts.
//!
//! Each estimate is a measured cost per unit times the number of units the settings ask
//! for, compared with what this machine has (memory available, free space in the output
//! folder). A refusal names the settings behind the estimate, where their values came
//! from, the estimate itself and the way around it (`--allow-huge`,
//! `output.allow_huge`), for users who know better than the estimate.

use std::path::Path;

use datadao_core::governance::Voting;
use datadao_core::Config;

use crate::error::{self, Result, ScenarioError};
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
/// Memory one sweep point's resolved settings take, rounded up.
pub const BYTES_PER_POINT: u64 = 4096;
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

/// Address space a run takes beyond its agents' bytes, for limits on address space
/// (`ulimit -v`, `ulimit -d`): the binary, its libraries, the figure's fonts and buffers.
/// Measured: the `VmPeak` of a 200-step run of 10 agents with its figure is 367 MB (145
/// MB for 3 steps without one); rounded up.
pub const VIRTUAL_BASE_BYTES: u64 = 384 << 20;
/// Address space per worker thread: its stack and the allocator's arena (glibc reserves
/// 64 MiB per arena). Measured: a sweep's `VmPeak` grows by 68 MB per extra job.
pub const VIRTUAL_BYTES_PER_THREAD: u64 = 80 << 20;

/// One limit on this process's memory, with what is left under it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLimit {
    /// How a message names it, e.g. "the cgroup's memory.max (2.1 GB, 1.9 GB free)".
    pub name: String,
    /// Bytes left under it.
    pub free: u64,
    /// A limit on address space rather than memory in use (`RLIMIT_AS`, `RLIMIT_DATA`):
    /// it also counts [`VIRTUAL_BASE_BYTES`] and the threads' [`VIRTUAL_BYTES_PER_THREAD`].
    pub address_space: bool,
}

/// `MemAvailable` of `/proc/meminfo` text, in bytes.
pub fn parse_meminfo(text: &str) -> Option<u64> {
    status_kb(text, "MemAvailable:")
}

/// A `Key:   123 kB` line of `/proc/meminfo` or `/proc/self/status`, in bytes.
fn status_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The cgroups of `/proc/self/cgroup` text: the v2 path (`0::/path`) and the v1 memory
/// controller's path (`N:memory:/path`, or `memory` among several controllers).
pub fn parse_proc_cgroup(text: &str) -> (Option<String>, Option<String>) {
    let (mut v2, mut v1) = (None, None);
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_string());
        }
    }
    (v2, v1)
}

/// A mount point and the path of the hierarchy mounted there.
pub type Mount = (String, String);

/// Mount points of cgroup file systems in `/proc/self/mountinfo` text: the cgroup2
/// mount and the v1 mount with the memory controller, each as (mount point, the
/// hierarchy's path mounted there).
pub fn parse_mountinfo(text: &str) -> (Option<Mount>, Option<Mount>) {
    let (mut v2, mut v1) = (None, None);
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let theirs: Vec<&str> = right.split(' ').collect();
        if fields.len() < 5 || theirs.is_empty() {
            continue;
        }
        let mount = (unescape_mount(fields[4]), unescape_mount(fields[3]));
        match theirs[0] {
            "cgroup2" if v2.is_none() => v2 = Some(mount),
            "cgroup"
                if v1.is_none()
                    && theirs
                        .get(2)
                        .is_some_and(|o| o.split(',').any(|o| o == "memory")) =>
            {
                v1 = Some(mount)
            }
            _ => {}
        }
    }
    (v2, v1)
}

/// Mount paths escape spaces and the like as `\040`.
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
}

/// A limit file's value: a number of bytes, or `None` for no limit (`max` on v2; v1
/// writes its "unlimited" as a number near 2^63).
pub fn parse_limit_value(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "max" {
        return None;
    }
    let v: u64 = t.parse().ok()?;
    (v < 1 << 60).then_some(v)
}

/// The tightest of the limits `limit_file` sets on `current_file`'s use, from the
/// process's cgroup `rel` under the hierarchy mounted at `mount` (whose own path in the
/// hierarchy is `mount_root`) up to the mount: (limit, free).
pub fn cgroup_tightest(
    mount: &Path,
    mount_root: &str,
    rel: &str,
    limit_file: &str,
    current_file: &str,
) -> Option<(u64, u64)> {
    let below = rel
        .strip_prefix(mount_root)
        .unwrap_or(rel)
        .trim_start_matches('/');
    let mut dir = mount.join(below);
    if !dir.is_dir() {
        // A cgroup namespace or a container's own mount: the mount is the process's.
        dir = mount.to_path_buf();
    }
    let mut best: Option<(u64, u64)> = None;
    loop {
        if let Some(limit) = std::fs::read_to_string(dir.join(limit_file))
            .ok()
            .and_then(|t| parse_limit_value(&t))
        {
            let used = std::fs::read_to_string(dir.join(current_file))
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0);
            let free = limit.saturating_sub(used);
            if best.is_none_or(|(_, f)| free < f) {
                best = Some((limit, free));
            }
        }
        if dir == mount || !dir.starts_with(mount) || !dir.pop() {
            break;
        }
    }
    best
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type Resource = libc::c_int;

/// A resource limit's soft value, `None` if unlimited.
fn rlimit(resource: Resource) -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(resource, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    Some(r.rlim_cur as u64)
}

/// Every limit on this process's memory that applies here, with what is left under each:
/// `MemAvailable`, the cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`, the
/// tightest of the process's cgroup and its ancestors), `ulimit -v` and `ulimit -d`.
pub fn memory_limits() -> Vec<MemoryLimit> {
    let mut out = Vec::new();
    if let Some(free) = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| parse_meminfo(&t))
    {
        out.push(MemoryLimit {
            name: format!(
                "this machine's available memory (MemAvailable: {})",
                bytes(u128::from(free))
            ),
            free,
            address_space: false,
        });
    }
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (v2_path, v1_path) = parse_proc_cgroup(&cgroups);
    let (v2_mount, v1_mount) = parse_mountinfo(&mounts);
    let mut cgroup = |mount: Option<Mount>, rel: Option<String>, limit: &str, used: &str| {
        let (Some((mount, root)), Some(rel)) = (mount, rel) else {
            return;
        };
        if let Some((max, free)) = cgroup_tightest(Path::new(&mount), &root, &rel, limit, used) {
            out.push(MemoryLimit {
                name: format!(
                    "the cgroup's {limit} ({}, {} free)",
                    bytes(u128::from(max)),
                    bytes(u128::from(free))
                ),
                free,
                address_space: false,
            });
        }
    };
    cgroup(v2_mount, v2_path, "memory.max", "memory.current");
    cgroup(
        v1_mount,
        v1_path,
        "memory.limit_in_bytes",
        "memory.usage_in_bytes",
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for (resource, flag, name, key) in [
        (libc::RLIMIT_AS, "ulimit -v", "RLIMIT_AS", "VmSize:"),
        (libc::RLIMIT_DATA, "ulimit -d", "RLIMIT_DATA", "VmData:"),
    ] {
        if let Some(limit) = rlimit(resource) {
            let free = limit.saturating_sub(status_kb(&status, key).unwrap_or(0));
            out.push(MemoryLimit {
                name: format!(
                    "{flag} ({name}: {} of address space, {} unused)",
                    bytes(u128::from(limit)),
                    bytes(u128::from(free))
                ),
                free,
                address_space: true,
            });
        }
    }
    out
}

/// The limit that `need` bytes of memory in use, on `threads` threads, would break by
/// the most: the tightest of [`memory_limits`] (those on address space also count
/// [`VIRTUAL_BASE_BYTES`] and [`VIRTUAL_BYTES_PER_THREAD`] per thread), with the bytes
/// counted against it. `None` if everything fits.
pub fn exceeded(need: u128, threads: u64) -> Option<(MemoryLimit, u128)> {
    exceeded_in(memory_limits(), need, threads)
}

/// [`exceeded`] over given limits.
pub fn exceeded_in(
    limits: Vec<MemoryLimit>,
    need: u128,
    threads: u64,
) -> Option<(MemoryLimit, u128)> {
    let overhead = u128::from(VIRTUAL_BASE_BYTES)
        + u128::from(VIRTUAL_BYTES_PER_THREAD) * u128::from(threads.max(1));
    limits
        .into_iter()
        .map(|l| {
            let n = need + if l.address_space { overhead } else { 0 };
            (l, n)
        })
        .filter(|(l, n)| *n > u128::from(l.free))
        .max_by_key(|(l, n)| n - u128::from(l.free))
}

/// Memory left to a new allocation under the tightest limit (the least `free` of
/// [`memory_limits`]); `None` where none can be read, and then nothing is refused on
/// memory.
pub fn memory_available() -> Option<u64> {
    memory_limits().into_iter().map(|l| l.free).min()
}

/// How a refusal names the way around an estimate.
pub const OVERRIDE: &str = "--allow-huge (output.allow_huge = true) to start anyway";

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

/// The settings an estimate depends on, as `key = 'value' (from SOURCE)` for those the
/// user set, or all their names if the user set none (the CLI's and Python's refusals).
pub fn culprits(resolved: Option<&Resolved>, keys: &[&str]) -> String {
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

/// The settings behind an estimate, as [`culprits`] names them: those the user set, or
/// all of them if the user set none.
pub fn culprit_keys(resolved: Option<&Resolved>, keys: &[&str]) -> Vec<String> {
    let set: Vec<String> = resolved
        .map(|r| {
            keys.iter()
                .filter(|k| r.sources.contains_key(**k))
                .map(|k| k.to_string())
                .collect()
        })
        .unwrap_or_default();
    if set.is_empty() {
        keys.iter().map(|k| k.to_string()).collect()
    } else {
        set
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

/// Threads a run may start: one per copy, and with foresight the forks run on rayon's
/// pool (one thread per core).
fn threads(c: &Config, copies: u64) -> u64 {
    let foresight = c.governance.enabled && c.governance.voting == Voting::Foresight;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    copies.max(1) + if foresight { cores } else { 0 }
}

/// Refuse a run whose agents would not fit in memory (`copies` runs at once, for
/// sweeps running in parallel) under the tightest limit that applies.
pub fn check_memory(
    c: &Config,
    copies: u64,
    resolved: Option<&Resolved>,
    allow: bool,
) -> Result<()> {
    if allow {
        return Ok(());
    }
    let (need, agents, forks) = memory_need(c, copies);
    if let Some((limit, counted)) = exceeded(need, threads(c, copies)) {
        let message = format!(
            "{}: {} agents{}{} need about {} of memory ({BYTES_PER_AGENT} bytes per agent{}), more than {} allows; accepted: a population that fits, or {OVERRIDE}",
            culprits(resolved, POPULATION),
            agents,
            if copies > 1 { format!(" in each of {copies} parallel runs") } else { String::new() },
            if forks > 1 { " (with those who join during the last foresight fork) and the fork's copy of them" } else { "" },
            bytes(counted),
            if limit.address_space { " plus the program's and its threads' address space" } else { "" },
            limit.name,
        );
        return Err(ScenarioError::Resource {
            resource: error::Resource::Memory,
            keys: culprit_keys(resolved, POPULATION),
            estimate: counted,
            limit: limit.name,
            available: u128::from(limit.free),
            message,
        });
    }
    Ok(())
}

/// Bytes a run's outputs take, estimated.
pub fn run_bytes(c: &Config, transactions: bool) -> u128 {
    let per_step = u128::from(DATA_BYTES_PER_STEP + 24 * c.data.use_cases.len() as u64);
    let mut total = u128::from(c.simulation.total_steps) * per_step + u128::from(FIXED_BYTES);
    // agents.csv: one row per agent (counted whether or not it is written: a few
    // hundred bytes an agent, far below the log's).
    total += final_agents(c) * u128::from(crate::agent_table::ROW_BYTES);
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
    if allow {
        return Ok(());
    }
    let who = match culprits(resolved, keys) {
        c if c.is_empty() => String::new(),
        c => format!("{c}: "),
    };
    let refusal = |resource, limit: String, available: u128, message: String| {
        Err(ScenarioError::Resource {
            resource,
            keys: culprit_keys(resolved, keys),
            estimate: need,
            limit,
            available,
            message,
        })
    };
    if let Some(have) = disk_available(dir) {
        if need > u128::from(have) {
            let limit = format!("{} has {} free", dir.display(), bytes(u128::from(have)));
            let message = format!(
                "{who}{what} would take about {}, and {limit}; accepted: a smaller run, another output folder (--out), or {OVERRIDE}",
                bytes(need),
            );
            return refusal(error::Resource::Disk, limit, u128::from(have), message);
        }
    }
    // A file past `ulimit -f` would end the process with SIGXFSZ mid-write.
    if let Some(max) = rlimit(libc::RLIMIT_FSIZE) {
        if need > u128::from(max) {
            let limit = format!(
                "ulimit -f (RLIMIT_FSIZE) allows files of {}",
                bytes(u128::from(max))
            );
            let message = format!(
                "{who}{what} would take about {}, and {limit}; accepted: a smaller run, a higher ulimit -f, or {OVERRIDE}",
                bytes(need),
            );
            return refusal(error::Resource::FileSize, limit, u128::from(max), message);
        }
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
    fn proc_cgroup_v1_v2_and_hybrid() {
        assert_eq!(
            parse_proc_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
            (
                Some("/user.slice/user-1000.slice/session-2.scope".into()),
                None
            )
        );
        let hybrid = "9:name=systemd:/\n4:memory:/process_api/673a\n1:cpu,cpuacct:/\n0::/\n";
        assert_eq!(
            parse_proc_cgroup(hybrid),
            (Some("/".into()), Some("/process_api/673a".into()))
        );
        assert_eq!(
            parse_proc_cgroup("5:cpuacct,memory:/docker/abc\n"),
            (None, Some("/docker/abc".into()))
        );
        // Not memory: a controller whose name contains it is not it.
        assert_eq!(parse_proc_cgroup("3:memoryx:/a\ngarbage\n"), (None, None));
    }

    #[test]
    fn mountinfo_finds_both_hierarchies() {
        let text = "\
24 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
35 24 0:30 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate
40 35 0:35 /docker/abc /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
41 35 0:36 / /sys/fs/cgroup/cpu\\040x rw - cgroup cgroup rw,cpu
";
        let (v2, v1) = parse_mountinfo(text);
        assert_eq!(v2, Some(("/sys/fs/cgroup/unified".into(), "/".into())));
        assert_eq!(
            v1,
            Some(("/sys/fs/cgroup/memory".into(), "/docker/abc".into()))
        );
        assert_eq!(
            parse_mountinfo("1 2 3:4 / /x rw - ext4 /dev/sda rw\n"),
            (None, None)
        );
    }

    #[test]
    fn limit_values() {
        assert_eq!(parse_limit_value("max\n"), None);
        assert_eq!(parse_limit_value("2147483648\n"), Some(2 << 30));
        // v1's "unlimited".
        assert_eq!(parse_limit_value("9223372036854771712\n"), None);
        assert_eq!(parse_limit_value("junk"), None);
        assert_eq!(
            parse_meminfo("MemTotal:  32000000 kB\nMemAvailable:   22878968 kB\n"),
            Some(22_878_968 * 1024)
        );
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
        assert_eq!(
            status_kb("VmPeak:\t  144668 kB\nVmSize:\t  100 kB\n", "VmSize:"),
            Some(102_400)
        );
    }

    /// A fixture hierarchy: the tightest of the process's cgroup and its ancestors wins,
    /// `max` levels are skipped, and a path outside the mount falls back to the mount.
    #[test]
    fn cgroup_walks_up_to_the_tightest_ancestor() {
        let root = tempfile::tempdir().unwrap();
        let m = root.path();
        let write = |dir: &str, max: &str, cur: &str| {
            let d = m.join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("memory.max"), max).unwrap();
            std::fs::write(d.join("memory.current"), cur).unwrap();
        };
        write("", "max\n", "100\n");
        write("a", "3000\n", "2500\n"); // 500 free
        write("a/b", "max\n", "10\n");
        write("a/b/c", "2000\n", "1000\n"); // 1000 free
        let t = |rel: &str| cgroup_tightest(m, "/", rel, "memory.max", "memory.current");
        assert_eq!(t("/a/b/c"), Some((3000, 500)));
        assert_eq!(t("/a/b"), Some((3000, 500)));
        assert_eq!(t("/"), None);
        // Unknown path (another namespace): the mount is the process's cgroup.
        assert_eq!(t("/elsewhere/x"), None);
        std::fs::write(m.join("memory.max"), "400\n").unwrap();
        assert_eq!(t("/elsewhere/x"), Some((400, 300)));
        // The hierarchy's path at the mount point is stripped.
        assert_eq!(
            cgroup_tightest(
                m,
                "/docker",
                "/docker/a/b/c",
                "memory.max",
                "memory.current"
            ),
            Some((400, 300))
        );
        // Use above the limit leaves nothing, not a wrapped number.
        write("a/b/c", "2000\n", "9000\n");
        assert_eq!(t("/a/b/c"), Some((2000, 0)));
    }

    #[test]
    fn the_tightest_limit_is_named_and_address_space_counts_overhead() {
        let l = |name: &str, free: u64, address_space: bool| MemoryLimit {
            name: name.into(),
            free,
            address_space,
        };
        let gb = 1u64 << 30;
        let limits = vec![
            l("MemAvailable", 20 * gb, false),
            l("cgroup", 2 * gb, false),
            l("ulimit -v", 4 * gb, true),
        ];
        // 3 GiB in use breaks the cgroup only.
        let (hit, n) = exceeded_in(limits.clone(), 3 * u128::from(gb), 1).unwrap();
        assert_eq!((hit.name.as_str(), n), ("cgroup", 3 * u128::from(gb)));
        assert!(exceeded_in(limits.clone(), u128::from(gb), 1).is_none());
        // 3.9 GiB of agents fit 4 GiB of address space only without the overhead.
        let no_cgroup: Vec<_> = limits.into_iter().filter(|l| l.name != "cgroup").collect();
        let need = u128::from(gb) * 39 / 10;
        let (hit, n) = exceeded_in(no_cgroup.clone(), need, 1).unwrap();
        assert_eq!(hit.name, "ulimit -v");
        assert_eq!(
            n,
            need + u128::from(VIRTUAL_BASE_BYTES + VIRTUAL_BYTES_PER_THREAD)
        );
        // Each thread adds its stack and arena.
        let (_, n8) = exceeded_in(no_cgroup, need, 8).unwrap();
        assert_eq!(n8 - n, 7 * u128::from(VIRTUAL_BYTES_PER_THREAD));
    }

    /// The acceptance case of issue 19: 10 million agents under `ulimit -v 4194304`.
    #[test]
    fn ten_million_agents_do_not_fit_four_gib_of_address_space() {
        let mut c = Config::default();
        c.simulation.agents_per_entry = 10_000_000;
        c.simulation.total_steps = 3;
        let (need, _, _) = memory_need(&c, 1);
        let limit = MemoryLimit {
            name: "ulimit -v".into(),
            free: (4 << 30) - (8 << 20),
            address_space: true,
        };
        assert!(exceeded_in(vec![limit], need, 1).is_some());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(999), "999 bytes");
        assert_eq!(bytes(1_600_000_000_000), "1.6 TB");
    }
}
