//! A run's outputs replace the previous run's as a whole set, or not at all.
//!
//! POSIX renames one file atomically, never several, so a set is committed through a
//! small journal, the way a database commits a transaction:
//!
//! 1. **Lock.** The output folder itself is locked (`flock` on the directory: no lock file
//!    to leave behind). A second run aimed at the same folder is refused at once with a
//!    message; the kernel drops the lock when a process dies, even by `SIGKILL`, so it
//!    can never go stale.
//! 2. **Recover.** Holding the lock, the run knows any staging folder already there
//!    belongs to a dead run: one with a commit journal is rolled forward (its set was
//!    complete), one without is deleted (with the hidden `.partial-PID` files older
//!    versions left behind).
//! 3. **Stage.** Every file is written into `.datadao-staging-PID/` inside the folder
//!    (same file system, so renames stay atomic).
//! 4. **Commit.** Every target is checked first (a directory in the way fails the commit
//!    before anything moves), the previous files are hard-linked into the staging
//!    folder as a backup, the journal is written and synced, and the new files are
//!    renamed over the old ones. If a rename fails, the backups are put back. Files of
//!    the set that this run does not produce (say `transaction_history.csv` after
//!    `--no-transactions`) are removed with the commit, because they describe another
//!    run.
//!
//! Dropping an uncommitted set removes its staging folder: errors and signals leave the
//! previous set exactly as it was.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// Prefix of staging folders.
const STAGING_PREFIX: &str = ".datadao-staging-";
/// Name of the journal inside a staging folder: present means "roll forward".
const JOURNAL: &str = "COMMIT";
/// Folder of backups inside a staging folder.
const BACKUP: &str = "previous";

/// The outputs of one command, staged in their folder until committed together.
#[derive(Debug)]
pub struct OutputSet {
    dir: PathBuf,
    staging: PathBuf,
    /// Every name that belongs to this command's set, produced or not.
    members: Vec<&'static str>,
    /// The locked directory handle; the lock lives as long as it does.
    _lock: File,
    committed: bool,
}

impl OutputSet {
    /// Lock `dir` (created if missing), clean up after dead runs, and open a staging
    /// folder. `members` are the names of every file the command can produce.
    /// `setting` names how the user chose the folder, for messages.
    pub fn begin(dir: &Path, members: &[&'static str], setting: &str) -> Result<Self> {
        fs::create_dir_all(dir).with_context(|| {
            format!(
                "{setting} = '{}': cannot create the output folder; accepted: a folder that can be created and written",
                dir.display()
            )
        })?;
        if !dir.is_dir() {
            bail!(
                "{setting} = '{}': not a folder; accepted: a folder that can be created and written",
                dir.display()
            );
        }
        let lock = File::open(dir).with_context(|| {
            format!(
                "{setting} = '{}': cannot open the output folder",
                dir.display()
            )
        })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let other = running_stager(dir)
                    .map(|pid| format!(" (process {pid})"))
                    .unwrap_or_default();
                bail!(
                    "{setting} = '{}': another datadao command{other} is writing its outputs in this folder; wait for it to finish or choose another folder (--out)",
                    dir.display()
                );
            }
            Err(fs::TryLockError::Error(e)) => {
                // Some network file systems have no locks; the set is still committed
                // whole, only a second command in the folder goes undetected.
                eprintln!(
                    "warning: {setting} = '{}': cannot lock the output folder ({e}); another datadao command writing here at the same time would not be noticed",
                    dir.display()
                );
            }
        }
        recover(dir)?;
        let staging = dir.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        fs::create_dir(&staging).with_context(|| {
            format!(
                "{setting} = '{}': cannot write in the output folder",
                dir.display()
            )
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            staging,
            members: members.to_vec(),
            _lock: lock,
            committed: false,
        })
    }

    /// The folder the set is committed to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where to write `name` now (inside the staging folder).
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Whether `name` has been written into the staging folder.
    fn staged(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    /// Check, before a long run starts, that nothing is in the way of the final names.
    pub fn check_targets(&self) -> Result<()> {
        for name in &self.members {
            let target = self.dir.join(name);
            if let Ok(meta) = fs::symlink_metadata(&target) {
                if meta.is_dir() {
                    bail!(
                        "cannot replace {}: a folder of that name is in the way; move it, or choose another output folder (--out)",
                        target.display()
                    );
                }
            }
        }
        Ok(())
    }

    /// Move every staged file to its final name and remove the set's files that this
    /// run did not produce, all together. Returns the final paths of the staged files.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        self.check_targets()?;
        let backup = self.staging.join(BACKUP);
        fs::create_dir(&backup).context("cannot prepare the commit")?;
        let mut saved = Vec::new();
        for name in &self.members {
            let target = self.dir.join(name);
            if target.exists() {
                // A hard link costs nothing and survives the rename over the target.
                if fs::hard_link(&target, backup.join(name)).is_ok() {
                    saved.push(*name);
                }
            }
        }
        let journal: String = self.members.iter().map(|n| format!("{n}\n")).collect();
        write_synced(&self.staging.join(JOURNAL), journal.as_bytes())
            .context("cannot write the commit journal")?;
        let mut done: Vec<&str> = Vec::new();
        let mut result = Ok(());
        for name in &self.members {
            let target = self.dir.join(name);
            let step = if self.staged(name) {
                fs::rename(self.path(name), &target)
            } else {
                match fs::remove_file(&target) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    other => other,
                }
            };
            if let Err(e) = step {
                result = Err(anyhow!(e).context(format!("cannot replace {}", target.display())));
                break;
            }
            done.push(name);
        }
        if let Err(e) = result {
            // Put the previous set back; the journal goes first so that a crash now is
            // not mistaken for a complete set.
            let _ = fs::remove_file(self.staging.join(JOURNAL));
            for name in done {
                let target = self.dir.join(name);
                if saved.contains(&name) {
                    let _ = fs::rename(backup.join(name), &target);
                } else {
                    let _ = fs::remove_file(&target);
                }
            }
            return Err(e);
        }
        sync_dir(&self.dir);
        self.committed = true;
        let _ = fs::remove_dir_all(&self.staging);
        Ok(self
            .members
            .iter()
            .map(|n| self.dir.join(n))
            .filter(|p| p.exists())
            .collect())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Write a small file and push it to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Make renames in `dir` durable (best effort: not every file system supports it).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The process id in the name of a staging folder in `dir`, if one is there.
fn running_stager(dir: &Path) -> Option<u32> {
    fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        e.file_name()
            .to_str()?
            .strip_prefix(STAGING_PREFIX)?
            .parse()
            .ok()
    })
}

/// With the folder locked, finish or discard whatever dead runs left behind.
fn recover(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            return Err(
                anyhow!(e).context(format!("cannot read the output folder {}", dir.display()))
            )
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if name.starts_with(STAGING_PREFIX) {
            if !path.is_dir() || path.is_symlink() {
                // Not something a run made: a stray file or link by that name.
                let _ = fs::remove_file(&path);
                continue;
            }
            if path.join(JOURNAL).is_file() {
                roll_forward(dir, &path).with_context(|| {
                    format!("cannot finish the interrupted commit in {}", path.display())
                })?;
            }
            let _ = fs::remove_dir_all(&path);
        } else if is_old_partial(name) {
            let _ = fs::remove_file(&path);
        }
    }
    Ok(())
}

/// Complete a commit whose journal was written: its staged set was whole.
fn roll_forward(dir: &Path, staging: &Path) -> Result<()> {
    // A journal that cannot be read was damaged after the fact; the set it describes
    // cannot be trusted to be whole, so the staging folder is discarded instead.
    let Ok(journal) = fs::read_to_string(staging.join(JOURNAL)) else {
        return Ok(());
    };
    // Only plain, visible file names: a damaged journal must not move anything else.
    let plain = |n: &&str| {
        !n.is_empty() && !n.starts_with('.') && !n.contains(['/', '\\', '\0']) && *n != JOURNAL
    };
    for name in journal.lines().filter(plain) {
        let staged = staging.join(name);
        let target = dir.join(name);
        if staged.is_file() {
            fs::rename(&staged, &target)?;
        } else if staging.join(BACKUP).join(name).exists() && target.exists() {
            // Already moved before the crash, or not produced: a target still equal to
            // its backup was not produced by the committed run and must go.
            let same = same_file(&target, &staging.join(BACKUP).join(name));
            if same {
                fs::remove_file(&target)?;
            }
        }
    }
    sync_dir(dir);
    Ok(())
}

/// Whether two paths are the same file (hard links of one inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// A hidden `.NAME.partial-PID.EXT` file from a version before output sets, whose
/// process is gone.
fn is_old_partial(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((_, tail)) = rest.split_once(".partial-") else {
        return false;
    };
    let pid = tail.split('.').next().unwrap_or("");
    match pid.parse::<u32>() {
        Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &[&str] = &["a.csv", "b.csv"];

    fn stage(set: &OutputSet, name: &str, text: &str) {
        fs::write(set.path(name), text).unwrap();
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_set_replaces_the_previous_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let set = OutputSet::begin(dir.path(), SET, "output.dir").unwrap();
        stage(&set, "a.csv", "1");
        stage(&set, "b.csv", "1");
        set.commit().unwrap();
        let set = OutputSet::begin(dir.path(), SET, "output.dir").unwrap();
        stage(&set, "a.csv", "2");
        set.commit().unwrap();
        // b.csv described the first run: it leaves with the commit of the second.
        assert_eq!(listing(dir.path()), ["a.csv"]);
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "2");
    }

    #[test]
    fn an_abandoned_set_leaves_the_previous_one_and_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old").unwrap();
        {
            let set = OutputSet::begin(dir.path(), SET, "output.dir").unwrap();
            stage(&set, "a.csv", "new");
        }
        assert_eq!(listing(dir.path()), ["a.csv"]);
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "old");
    }

    #[test]
    fn a_folder_in_the_way_fails_before_anything_moves() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old").unwrap();
        fs::create_dir(dir.path().join("b.csv")).unwrap();
        let set = OutputSet::begin(dir.path(), SET, "output.dir").unwrap();
        stage(&set, "a.csv", "new");
        stage(&set, "b.csv", "new");
        let e = set.commit().unwrap_err().to_string();
        assert!(e.contains("folder of that name is in the way"), "{e}");
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "old");
        assert_eq!(listing(dir.path()), ["a.csv", "b.csv"]);
    }

    #[test]
    fn a_second_command_on_the_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = OutputSet::begin(dir.path(), SET, "output.dir").unwrap();
        let e = OutputSet::begin(dir.path(), SET, "output.dir")
            .unwrap_err()
            .to_string();
        assert!(e.contains("another datadao command"), "{e}");
    }

    #[test]
    fn dead_runs_are_rolled_back_or_forward() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old").unwrap();
        // A run killed while staging: discarded.
        let dead = dir.path().join(format!("{STAGING_PREFIX}999999999"));
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("a.csv"), "half").unwrap();
        // A file from an older version, whose process is gone.
        fs::write(dir.path().join(".a.partial-999999999.csv"), "x").unwrap();
        drop(OutputSet::begin(dir.path(), SET, "output.dir").unwrap());
        assert_eq!(listing(dir.path()), ["a.csv"]);
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "old");
        // A run killed mid-commit, after its journal: finished.
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("b.csv"), "new").unwrap();
        fs::write(dead.join(JOURNAL), "a.csv\nb.csv\n").unwrap();
        fs::create_dir(dead.join(BACKUP)).unwrap();
        fs::hard_link(dir.path().join("a.csv"), dead.join(BACKUP).join("a.csv")).unwrap();
        drop(OutputSet::begin(dir.path(), SET, "output.dir").unwrap());
        assert_eq!(listing(dir.path()), ["b.csv"]);
    }
}
