//! `datadao config`: the effective configuration, every key, with where each value that
//! is not a built-in default came from.

use anyhow::Result;

use crate::cli::ScenarioArgs;
use crate::config_text::{config_header, settings_text};
use crate::inputs::resolve;
use crate::terminal::emit;

/// `datadao config`.
pub fn config(args: &ScenarioArgs) -> Result<()> {
    let resolved = resolve(args)?;
    emit(&format!(
        "{}{}",
        config_header(&resolved, true),
        settings_text(&resolved, false)
    ))
}
