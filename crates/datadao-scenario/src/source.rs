//! Where a setting's value came from (a preset, a file, `.env`, the environment, a
//! flag, a library argument, an upload): every message about a value names it, and
//! every error type can hold it without depending on the settings layer.

use std::fmt;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Built in.
    Default,
    /// A named preset.
    Preset(String),
    /// A TOML file, with what it is to the user ("config file" for `--config`, "sweep
    /// file" for `--sweep`, "scenario file" for `compare`'s arguments).
    File(PathBuf, &'static str),
    /// A variable in `.env`.
    DotEnv(String),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
    /// An argument of a library call (the Python package), e.g.
    /// `settings["market.fee_rate"]` or `steps=`.
    Api(String),
    /// A scenario file uploaded to the dashboard, by the name it was uploaded under.
    Upload(String),
    /// A share its group's other shares made room in: the layer (its source here) set
    /// only some shares of the group.
    Rebalanced(Box<Source>),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "the built-in default"),
            Source::Preset(p) => write!(f, "preset {p}"),
            Source::File(p, kind) => write!(f, "{kind} {}", p.display()),
            Source::DotEnv(v) => write!(f, "{v} in .env"),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Api(arg) => write!(f, "{arg}"),
            Source::Upload(name) => write!(f, "uploaded file {name}"),
            Source::Rebalanced(by) => write!(f, "rebalancing for {by}"),
        }
    }
}

/// Where scenario TOML handed over as text ([`Inputs::config_text`](crate::settings::Inputs::config_text)) came from.
#[derive(Clone, Debug, PartialEq)]
pub enum TextSource {
    /// A sweep file's settings around its `[sweep]` section (`--sweep FILE`).
    SweepFile(PathBuf),
    /// A scenario file uploaded to the dashboard, by the name it was uploaded under.
    Upload(String),
}

impl TextSource {
    /// The source its values are named by in messages.
    pub fn source(&self) -> Source {
        match self {
            TextSource::SweepFile(path) => Source::File(path.clone(), "sweep file"),
            TextSource::Upload(name) => Source::Upload(name.clone()),
        }
    }
}
