//! [`ScenarioError`]: every refusal of the scenario crate as a value, so that a front end
//! reads which setting an error is about, what was typed, where it came from and what
//! is accepted from fields, never from the text of the message.
//!
//! The messages themselves ([`fmt::Display`]) are the CLI's, word for word: the binary
//! prints `error: ` and the message. `{:#}` adds the causes (an I/O error behind a file
//! that cannot be read) the way `anyhow` spells a chain, so a front end that formats the
//! error itself says the same as one that converts it into an `anyhow::Error`.
//!
//! | variant | about | Python | server |
//! | --- | --- | --- | --- |
//! | [`InvalidSetting`](ScenarioError::InvalidSetting) | a value a setting cannot take | `ConfigError` | 422, `key` (and `keys`) |
//! | [`UnknownKey`](ScenarioError::UnknownKey) | a setting that does not exist | `ConfigError` | 422, `key` |
//! | [`Conflict`](ScenarioError::Conflict) | two variables setting one key apart | `ConfigError` | 422, `key` |
//! | [`PresetConflict`](ScenarioError::PresetConflict) | two presets for one scenario | `ConfigError` | 422, `key` = `preset` |
//! | [`UnknownPreset`](ScenarioError::UnknownPreset) | a preset name that is not one | `ConfigError` | 422, `key` = `preset` |
//! | [`Parse`](ScenarioError::Parse) | a scenario text that is not TOML, a `.env` line | `ConfigError` | 422 |
//! | [`File`](ScenarioError::File) | a file that cannot be read (path, kind) | `OSError` | 422 |
//! | [`Resource`](ScenarioError::Resource) | work estimated not to fit (estimate, limit) | `ResourceError` | 422, `keys` |
//! | [`Grid`](ScenarioError::Grid) | a sweep's axes or points | `ConfigError` | 422, `key` |
//! | [`Unusable`](ScenarioError::Unusable) | settings that fail as a whole | `ConfigError` | 422 |
//! | [`Merge`](ScenarioError::Merge) | shards that are not one whole sweep | `MergeError` | 422 |

use std::error::Error;
use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::source::Source;

/// Another setting that broke a rule together with the one an error is about, where the
/// user set it (`agents.power.share` when the shares do not sum to 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Related {
    /// Dotted key.
    pub key: String,
    /// The value as typed.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// Why a file could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileProblem {
    /// It does not exist or may not be opened (`error` says which).
    Unreadable {
        /// The kind of file wanted ("TOML file").
        accepted: String,
        /// The system's answer.
        error: io::Error,
    },
    /// Reading it failed part way.
    ReadFailed(io::Error),
    /// It is not a regular file (a directory, a FIFO, a device, ...).
    NotRegular {
        /// Where a symbolic link points, if the path is one.
        link: Option<PathBuf>,
        /// What it is, in words ("a FIFO (named pipe)").
        kind: &'static str,
        /// The kind of file wanted.
        accepted: String,
        /// Largest size read, in words ("16 MiB").
        max: String,
    },
    /// It is larger than datadao reads.
    TooLarge {
        /// Its size, in words ("17000000 bytes", "over 16777216 bytes (it grew while read)").
        size: String,
        /// The kind of file wanted.
        accepted: String,
        /// Largest size read, in words.
        max: String,
    },
    /// Memory for its bytes was refused.
    NoMemory {
        /// Bytes asked for.
        bytes: u64,
    },
    /// It is not UTF-8 text.
    NotUtf8 {
        /// Offset of the first byte that is not.
        at: usize,
        /// The kind of file wanted.
        accepted: String,
    },
}

/// What a resource refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resource {
    /// Memory (the tightest of `MemAvailable`, cgroups, `ulimit -v` and `-d`).
    Memory,
    /// Free space in the output folder's file system.
    Disk,
    /// The largest file the process may write (`ulimit -f`).
    FileSize,
}

/// A refusal of the scenario crate. See the [module](self) for how each front end maps
/// it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScenarioError {
    /// A value a setting cannot take: `invalid setting KEY = 'VALUE' (from SOURCE):
    /// accepted: ...`.
    InvalidSetting {
        /// Dotted key (`preset` for a file's `preset = ...`).
        key: String,
        /// The value as typed.
        value: String,
        /// Where it came from: one source, or several when a group of settings broke
        /// the rule (`pie.shares` from a preset and a flag).
        sources: Vec<Source>,
        /// For a grid axis's typed value, its place in the list (1-based).
        item: Option<usize>,
        /// Other settings that broke the rule with it, where the user set them.
        related: Vec<Related>,
        /// What the setting accepts, in words.
        accepted: String,
        /// `Some` when the value could not be read as the setting's type at all: the
        /// reader's own words, said instead of `accepted: ...`.
        reason: Option<String>,
    },
    /// A setting that does not exist.
    UnknownKey {
        /// The key as given (for an environment variable, the key its name spells).
        key: String,
        /// Where it was given.
        source: Source,
        /// The known key closest to it, if one is close enough to be a likely typo.
        suggestion: Option<String>,
    },
    /// Two variables of one layer (`.env` or the environment) set one setting to
    /// different values.
    Conflict {
        /// The setting both set.
        key: String,
        /// The variables as (name, value), in the order they were read.
        variables: [(String, String); 2],
        /// Whether they are in `.env` (else environment variables).
        dotenv: bool,
    },
    /// A scenario file builds on another preset than the one given.
    PresetConflict {
        /// The file's `preset = ...`.
        name: String,
        /// The file.
        source: Source,
        /// The preset given before it.
        given: String,
    },
    /// A preset name that is not one.
    UnknownPreset {
        /// The name.
        name: String,
        /// Where it was given, when not `--preset` (a file's `preset = ...`, a library
        /// argument, a dashboard request).
        source: Option<Source>,
        /// Every preset's name.
        known: Vec<&'static str>,
    },
    /// A scenario text that is not TOML, or a `.env` file that is not `KEY=VALUE` lines.
    Parse {
        /// What it is, in words ("config file a.toml", ".env").
        what: String,
        /// The parser's words.
        message: String,
    },
    /// A `.env` file that is not `KEY=VALUE` lines (the parser's error is the cause).
    DotEnv {
        /// Its path.
        path: PathBuf,
        /// The parser's error.
        error: dotenvy::Error,
    },
    /// A file that cannot be read.
    File {
        /// Its path.
        path: PathBuf,
        /// What it is to the user ("config file a.toml").
        what: String,
        /// Why.
        problem: FileProblem,
    },
    /// Work estimated not to fit, refused before it starts.
    Resource {
        /// Memory, disk or file size.
        resource: Resource,
        /// The settings the estimate depends on.
        keys: Vec<String>,
        /// The estimate, in bytes (counted as the limit counts).
        estimate: u128,
        /// The limit, in words ("ulimit -v (RLIMIT_AS) of 1.0 GB", "out has 3.2 GB free").
        limit: String,
        /// Bytes left under the limit.
        available: u128,
        /// The whole message.
        message: String,
    },
    /// A sweep's axis or points that cannot be used.
    Grid {
        /// The swept setting it is about, if one.
        key: Option<String>,
        /// Where the axis was given, if it is about one.
        origin: Option<Source>,
        /// The whole message.
        message: String,
    },
    /// Settings that do not make a scenario as a whole (none of them alone to blame).
    Unusable {
        /// The whole message.
        message: String,
    },
    /// Shards that are not one whole sweep.
    Merge {
        /// The whole message.
        message: String,
    },
}

/// Results of the scenario crate.
pub type Result<T, E = ScenarioError> = std::result::Result<T, E>;

impl ScenarioError {
    /// The setting the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ScenarioError::InvalidSetting { key, .. }
            | ScenarioError::UnknownKey { key, .. }
            | ScenarioError::Conflict { key, .. } => Some(key),
            ScenarioError::PresetConflict { .. } | ScenarioError::UnknownPreset { .. } => {
                Some("preset")
            }
            ScenarioError::Grid { key, .. } => key.as_deref(),
            ScenarioError::Resource { keys, .. } if keys.len() == 1 => Some(&keys[0]),
            _ => None,
        }
    }

    /// Every setting the error is about: the key and those that broke a rule with it,
    /// or the settings behind an estimate.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            ScenarioError::InvalidSetting { key, related, .. } => std::iter::once(key.as_str())
                .chain(related.iter().map(|r| r.key.as_str()))
                .collect(),
            ScenarioError::Resource { keys, .. } => keys.iter().map(String::as_str).collect(),
            other => other.key().into_iter().collect(),
        }
    }

    /// Whether the error is about a file that cannot be read.
    pub fn is_file(&self) -> bool {
        matches!(self, ScenarioError::File { .. })
    }
}

fn sources_text(sources: &[Source]) -> String {
    if sources.is_empty() {
        return Source::Default.to_string();
    }
    let mut words: Vec<String> = sources.iter().map(Source::to_string).collect();
    words.dedup();
    words.join(", ")
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::InvalidSetting {
                key,
                value,
                sources,
                item,
                related,
                accepted,
                reason,
            } => {
                write!(
                    f,
                    "invalid setting {key} = '{value}' (from {}",
                    sources_text(sources)
                )?;
                if let Some(i) = item {
                    write!(f, ", value {i}")?;
                }
                f.write_str(")")?;
                for r in related {
                    write!(f, "; with {} = '{}' (from {})", r.key, r.value, r.source)?;
                }
                match reason {
                    Some(reason) => write!(f, ": {reason}")?,
                    None => write!(f, ": accepted: {accepted}")?,
                }
            }
            ScenarioError::UnknownKey {
                key,
                source,
                suggestion,
            } => {
                write!(f, "unknown setting '{key}' (from {source})")?;
                match suggestion {
                    Some(k) => write!(f, "; did you mean '{k}'?")?,
                    None => f.write_str("; `datadao config` lists every setting")?,
                }
            }
            ScenarioError::Conflict {
                key,
                variables: [(a, a_raw), (b, b_raw)],
                dotenv,
            } => write!(
                f,
                "{a}={a_raw} and {b}={b_raw} ({}) both set {key}; accepted: one of them, or both with the same value",
                if *dotenv {
                    "in .env"
                } else {
                    "environment variables"
                }
            )?,
            ScenarioError::PresetConflict {
                name,
                source,
                given,
            } => write!(
                f,
                "preset = '{name}' (from {source}) conflicts with preset {given}; accepted: one preset per scenario"
            )?,
            ScenarioError::UnknownPreset {
                name,
                source,
                known,
            } => {
                match source {
                    Some(source) => write!(f, "unknown preset '{name}' (from {source})")?,
                    None => write!(f, "unknown preset '{name}' (given with --preset)")?,
                }
                write!(f, "; accepted: {}", known.join(", "))?
            }
            ScenarioError::Parse { what, message } => write!(f, "cannot parse {what}: {message}")?,
            ScenarioError::DotEnv { path, .. } => write!(f, "cannot parse {}", path.display())?,
            ScenarioError::File { what, problem, .. } => match problem {
                FileProblem::Unreadable { accepted, .. } => {
                    write!(f, "cannot read {what}: accepted: a readable regular {accepted}")?
                }
                FileProblem::ReadFailed(_) => write!(f, "cannot read {what}")?,
                FileProblem::NotRegular {
                    link,
                    kind,
                    accepted,
                    max,
                } => {
                    f.write_str(what)?;
                    if let Some(to) = link {
                        write!(f, " links to {}, which", to.display())?;
                    }
                    write!(f, " is {kind}; accepted: a regular {accepted} of at most {max}")?
                }
                FileProblem::TooLarge {
                    size,
                    accepted,
                    max,
                } => write!(
                    f,
                    "{what} is {size}, more than the {max} datadao reads; accepted: a regular {accepted} of at most {max}"
                )?,
                FileProblem::NoMemory { bytes } => {
                    write!(f, "cannot allocate {bytes} bytes to read {what}")?
                }
                FileProblem::NotUtf8 { at, accepted } => write!(
                    f,
                    "cannot read {what}: not UTF-8 text (byte {at}); accepted: a {accepted} in UTF-8"
                )?,
            },
            ScenarioError::Resource { message, .. }
            | ScenarioError::Grid { message, .. }
            | ScenarioError::Unusable { message }
            | ScenarioError::Merge { message } => f.write_str(message)?,
        }
        // `{:#}`: the causes too, as `anyhow` spells a chain.
        if f.alternate() {
            let mut cause = self.source();
            while let Some(c) = cause {
                write!(f, ": {c}")?;
                cause = c.source();
            }
        }
        Ok(())
    }
}

impl Error for ScenarioError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ScenarioError::File {
                problem: FileProblem::Unreadable { error, .. } | FileProblem::ReadFailed(error),
                ..
            } => Some(error),
            ScenarioError::DotEnv { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::settings::{resolve, ConfigFile, Given, Inputs, PresetChoice};
    use crate::{limits, merge, presets, sweep};

    fn flag(key: &str, value: &str) -> Given<String> {
        Given::new(key, value, Source::Flag(format!("--set {key}={value}")))
    }

    fn flags(pairs: &[(&str, &str)]) -> ScenarioError {
        resolve(&Inputs {
            flags: pairs.iter().map(|(k, v)| flag(k, v)).collect(),
            ..Inputs::default()
        })
        .unwrap_err()
    }

    fn env(pairs: &[(&str, &str)]) -> ScenarioError {
        resolve(&Inputs {
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Inputs::default()
        })
        .unwrap_err()
    }

    fn text(body: &str) -> ScenarioError {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.toml");
        std::fs::write(&path, body).unwrap();
        resolve(&Inputs {
            config_file: Some(ConfigFile {
                path,
                kind: "config file",
            }),
            ..Inputs::default()
        })
        .unwrap_err()
    }

    #[test]
    fn a_bad_value_is_an_invalid_setting_with_its_fields() {
        let e = env(&[("FEE_RATE", "abc")]);
        let ScenarioError::InvalidSetting {
            key,
            value,
            sources,
            reason,
            accepted,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!((key.as_str(), value.as_str()), ("market.fee_rate", "abc"));
        assert_eq!(sources, &[Source::Env("FEE_RATE".into())]);
        assert_eq!((reason, accepted.as_str()), (&None, "a number in [0, 1)"));
        assert_eq!(e.key(), Some("market.fee_rate"));
        assert_eq!(
            e.to_string(),
            "invalid setting market.fee_rate = 'abc' (from environment variable FEE_RATE): accepted: a number in [0, 1)"
        );
        // A value the reader cannot take says the reader's words.
        let e = env(&[("ACTIVATION", "random")]);
        assert!(
            matches!(&e, ScenarioError::InvalidSetting { reason: Some(r), .. } if r.contains("shuffled")),
            "{e:?}"
        );
        // Settings that broke a rule together are all named.
        let e = flags(&[
            ("governance.enabled", "true"),
            ("simulation.rules", "original-2024"),
        ]);
        assert_eq!(e.keys(), ["governance.enabled", "simulation.rules"]);
        // A typed grid value says which one it was.
        let e = sweep::Axis::from_values(
            "market.fee_rate",
            vec![toml::Value::Float(0.1), toml::Value::Float(f64::NAN)],
            Source::Api("grid[\"market.fee_rate\"]".into()),
        )
        .unwrap_err();
        assert!(
            matches!(&e, ScenarioError::InvalidSetting { key, item: Some(2), .. } if key == "market.fee_rate"),
            "{e:?}"
        );
    }

    #[test]
    fn an_unknown_key_carries_its_suggestion() {
        let e = flags(&[("market.fee_rat", "0.1")]);
        assert!(
            matches!(&e, ScenarioError::UnknownKey { key, suggestion: Some(s), .. } if key == "market.fee_rat" && s == "market.fee_rate"),
            "{e:?}"
        );
        let e = env(&[("DATADAO_ZZZZZZ", "1")]);
        assert!(
            matches!(
                &e,
                ScenarioError::UnknownKey {
                    suggestion: None,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn twin_variables_and_two_presets_conflict() {
        let e = env(&[("FEE_RATE", "0.1"), ("DATADAO_MARKET__FEE_RATE", "0.2")]);
        assert!(
            matches!(&e, ScenarioError::Conflict { key, dotenv: false, .. } if key == "market.fee_rate"),
            "{e:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "preset = \"privacy\"\n").unwrap();
        let e = resolve(&Inputs {
            preset: Some(PresetChoice::flag("seed")),
            config_file: Some(ConfigFile {
                path,
                kind: "config file",
            }),
            ..Inputs::default()
        })
        .unwrap_err();
        assert!(
            matches!(&e, ScenarioError::PresetConflict { name, given, .. } if name == "privacy" && given == "seed"),
            "{e:?}"
        );
        assert_eq!(e.key(), Some("preset"));
    }

    #[test]
    fn unknown_presets_parse_errors_and_files() {
        let Err(e) = presets::find("nope") else {
            panic!("a preset called nope")
        };
        assert!(
            matches!(&e, ScenarioError::UnknownPreset { source: None, known, .. } if known.contains(&"seed")),
            "{e:?}"
        );
        let e = text("preset = \"nope\"\n");
        assert!(
            matches!(
                &e,
                ScenarioError::UnknownPreset {
                    source: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(matches!(text("[["), ScenarioError::Parse { .. }));

        let dir = tempfile::tempdir().unwrap();
        let config = |path: PathBuf| {
            resolve(&Inputs {
                config_file: Some(ConfigFile {
                    path,
                    kind: "config file",
                }),
                ..Inputs::default()
            })
            .unwrap_err()
        };
        let e = config(dir.path().join("missing.toml"));
        match &e {
            ScenarioError::File {
                path,
                problem: FileProblem::Unreadable { error, .. },
                ..
            } => {
                assert_eq!(path, &dir.path().join("missing.toml"));
                assert_eq!(error.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
        // `{:#}` adds the cause as anyhow would.
        assert!(format!("{e:#}").ends_with("No such file or directory (os error 2)"));
        assert!(e.is_file());
        let e = config(dir.path().to_path_buf());
        assert!(
            matches!(
                &e,
                ScenarioError::File {
                    problem: FileProblem::NotRegular {
                        kind: "a directory",
                        ..
                    },
                    ..
                }
            ),
            "{e:?}"
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            config(bad),
            ScenarioError::File {
                problem: FileProblem::NotUtf8 { at: 0, .. },
                ..
            }
        ));
        let dotenv = dir.path().join(".env");
        std::fs::write(&dotenv, "A='x\n").unwrap();
        let e = resolve(&Inputs {
            dotenv: Some(dotenv),
            ..Inputs::default()
        })
        .unwrap_err();
        assert!(matches!(&e, ScenarioError::DotEnv { .. }), "{e:?}");
        assert!(e.source().is_some());
    }

    #[test]
    fn an_estimate_over_the_limit_is_a_resource_refusal() {
        let r = resolve(&Inputs {
            flags: vec![flag("simulation.initial_agents", "4000000000")],
            ..Inputs::default()
        })
        .unwrap();
        if limits::memory_limits().is_empty() {
            eprintln!("no memory limit readable here: the refusal cannot be made");
            return;
        }
        let e = limits::check_memory(&r.settings.model, 1, Some(&r), false).unwrap_err();
        match &e {
            ScenarioError::Resource {
                resource: Resource::Memory,
                keys,
                estimate,
                available,
                ..
            } => {
                assert_eq!(keys, &["simulation.initial_agents"]);
                assert!(estimate > available);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.keys(), ["simulation.initial_agents"]);
        let e = limits::check_disk(u128::MAX, Path::new("."), "the outputs", &[], None, false)
            .unwrap_err();
        assert!(
            matches!(
                &e,
                ScenarioError::Resource {
                    resource: Resource::Disk | Resource::FileSize,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn grids_and_merges_have_their_own_variants() {
        let origin = || Source::Flag("--grid".into());
        let e = sweep::parse_axis("market.fee_rate", origin()).unwrap_err();
        assert!(
            matches!(
                &e,
                ScenarioError::Grid {
                    key: None,
                    origin: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
        let e = sweep::parse_axis("market.fee_rate=", origin()).unwrap_err();
        assert_eq!(e.key(), Some("market.fee_rate"));
        let e = sweep::parse_axis("market.fee_rat=1,2", origin()).unwrap_err();
        assert!(matches!(&e, ScenarioError::UnknownKey { .. }), "{e:?}");
        let e = merge::merge(&[]).unwrap_err();
        assert!(matches!(&e, ScenarioError::Merge { .. }), "{e:?}");
    }
}
