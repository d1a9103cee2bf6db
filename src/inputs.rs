//! Where a command's settings come from: the process environment ([`environment`]) and
//! the flags, handed to `datadao-scenario`'s layering with the preset, `--config` (or a
//! scenario file standing in for it) and `.env` ([`resolve`], [`resolve_with`]).

use std::path::PathBuf;

use anyhow::Result;
use datadao_scenario::settings::{self, ConfigFile, Inputs, PresetChoice, Resolved};

use crate::cli::ScenarioArgs;

/// The process environment as text. Variables whose name or value is not UTF-8 cannot
/// be datadao's unless they are named like one; those are refused by name, the rest
/// ignored.
pub fn environment() -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else {
            continue;
        };
        match value.into_string() {
            Ok(value) => out.push((name.to_string(), value)),
            Err(raw) => {
                let ours = name.starts_with(settings::GENERIC_PREFIX)
                    || settings::NAMED_VARIABLES.iter().any(|(v, _, _)| *v == name);
                if ours {
                    anyhow::bail!(
                        "environment variable {name} = '{}': not valid UTF-8; accepted: a value in UTF-8 text",
                        raw.to_string_lossy()
                    );
                }
            }
        }
    }
    Ok(out)
}

/// Gather every input the settings layer needs from the process and the flags.
pub fn resolve(args: &ScenarioArgs) -> Result<Resolved> {
    resolve_with(args, None)
}

/// As [`resolve`], with a scenario file standing in for `--config`.
pub fn resolve_with(args: &ScenarioArgs, scenario_file: Option<PathBuf>) -> Result<Resolved> {
    let flags = args.overrides().map_err(anyhow::Error::msg)?;
    let config_file = match scenario_file {
        Some(path) => Some(ConfigFile {
            path,
            kind: "scenario file",
        }),
        None => args.config.clone().map(|path| ConfigFile {
            path,
            kind: "config file",
        }),
    };
    let inputs = Inputs {
        preset: args.preset.as_deref().map(PresetChoice::flag),
        config_file,
        config_text: None,
        dotenv: Some(PathBuf::from(".env")),
        env: environment()?,
        typed: Vec::new(),
        flags,
        criteria: args.criteria(),
    };
    Ok(settings::resolve(&inputs)?)
}
