//! `datadao merge`: read the shards' folders and hand them to `datadao-scenario`'s
//! `merge` (every check is there, shared with the Python package), then write the whole
//! sweep's tables, its effective sweep, figure and Parquet copies.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use datadao_scenario::{limits, merge, settings, sweep};

use crate::cli::MergeArgs;
use crate::output::write_whole;
use crate::output_set::OutputSet;
use crate::signals;
use crate::sweep_outputs::{finish_outputs, SHARD_FILE, SWEEP_FILE, SWEEP_FILES};
use crate::terminal::emit;

/// Largest shard table `merge` reads: a shard's tables are held in memory to be merged.
const MAX_SHARD_FILE: u64 = 4 << 30;

fn read_text(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{}: cannot read {name}; accepted: the output folder of a sweep shard",
            dir.display()
        );
    }
    // No more than a quarter of the memory left: the merge holds every shard's tables.
    let max = limits::memory_available()
        .map_or(MAX_SHARD_FILE, |m| MAX_SHARD_FILE.min(m / 4))
        .max(settings::MAX_SETTINGS_FILE);
    Ok(settings::read_text_file(
        &path,
        &format!("shard file {}", path.display()),
        max,
        &format!("{name} of a sweep shard's output folder"),
    )?)
}

/// `datadao merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    // --out may not be one of the inputs: merging would replace a shard's own tables.
    std::fs::create_dir_all(&out)
        .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
    let out_real = std::fs::canonicalize(&out)
        .with_context(|| format!("--out {}: cannot resolve the folder", out.display()))?;
    for dir in &args.dirs {
        if std::fs::canonicalize(dir).ok().as_ref() == Some(&out_real) {
            bail!(
                "--out {}: is also an input ({}); accepted: a folder that is not one of the shards",
                out.display(),
                dir.display()
            );
        }
    }
    // Every check is the scenario crate's, shared with the Python package's executors.
    let mut shards = Vec::new();
    for dir in &args.dirs {
        shards.push(merge::Shard {
            origin: merge::Origin::Dir(dir.clone()),
            shard_toml: read_text(dir, SHARD_FILE)?,
            sweep_toml: read_text(dir, SWEEP_FILE)?,
            runs_csv: read_text(dir, sweep::RUNS_FILE)?,
            series_csv: read_text(dir, sweep::SERIES_FILE)?,
        });
    }
    let merged = merge::merge(&shards)?;
    let (n, sweep_text) = (merged.shards, merged.sweep_toml);
    let set = OutputSet::begin(&out, SWEEP_FILES, "--out")?;
    set.check_targets()?;
    write_whole(&set, sweep::RUNS_FILE, merged.runs_csv.as_bytes())?;
    write_whole(&set, sweep::SERIES_FILE, merged.series_csv.as_bytes())?;
    write_whole(&set, SWEEP_FILE, sweep_text.as_bytes())?;
    finish_outputs(&set, args.format)?;
    signals::check()?;
    set.commit()?;
    emit(&format!(
        "datadao merge: {n} shards into {}\n",
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Format, ScenarioArgs, SweepArgs};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// One complete shard (1 of 1) of a small sweep, written once.
    fn fixture() -> &'static [(String, Vec<u8>)] {
        static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
        FILES.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let args = SweepArgs {
                grid: vec!["market.fee_rate=0.001,0.01".into()],
                zip: false,
                runs: Some(2),
                jobs: Some(1),
                sweep_file: None,
                shard: Some("1/1".into()),
                plot_points: None,
                format: Format::Csv,
                shared: ScenarioArgs {
                    steps: Some("5".into()),
                    out: Some(dir.path().to_str().unwrap().into()),
                    ..ScenarioArgs::default()
                },
                quiet: true,
            };
            crate::sweep_cmd::sweep(&args).unwrap();
            [sweep::RUNS_FILE, sweep::SERIES_FILE, SWEEP_FILE, SHARD_FILE]
                .iter()
                .map(|n| (n.to_string(), std::fs::read(dir.path().join(n)).unwrap()))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Damaged shards (bytes flipped, cut, inserted, removed) are refused or merged,
        /// never a panic; and a merge that succeeds wrote a complete runs table.
        #[test]
        fn merge_never_panics_on_damaged_shards(
            file in 0usize..4,
            at in any::<proptest::sample::Index>(),
            op in 0u8..4,
            byte in any::<u8>(),
            len in 1usize..40,
        ) {
            let shard = tempfile::tempdir().unwrap();
            let out = tempfile::tempdir().unwrap();
            for (i, (name, bytes)) in fixture().iter().enumerate() {
                let mut b = bytes.clone();
                if i == file && !b.is_empty() {
                    let p = at.index(b.len());
                    match op {
                        0 => b[p] = byte,
                        1 => b.truncate(p),
                        2 => b.splice(p..p, std::iter::repeat_n(byte, len)).for_each(drop),
                        _ => drop(b.drain(p..(p + len).min(b.len()))),
                    }
                }
                std::fs::write(shard.path().join(name), b).unwrap();
            }
            let args = MergeArgs {
                dirs: vec![shard.path().to_path_buf()],
                out: Some(out.path().to_path_buf()),
                format: Format::Csv,
            };
            if merge(&args).is_ok() {
                let runs = std::fs::read_to_string(out.path().join(sweep::RUNS_FILE)).unwrap();
                prop_assert_eq!(runs.lines().count(), 1 + 2 * 2);
            }
        }
    }
}
