//! `datadao presets`: the named scenarios `--preset` accepts, one a line.

use anyhow::Result;
use datadao_scenario::presets;

use crate::terminal::emit;

/// `datadao presets`.
pub fn presets() -> Result<()> {
    emit(&presets::listing())
}
