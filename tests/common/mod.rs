//! Helpers shared by the integration tests.

use std::path::Path;

use assert_cmd::Command;

/// The binary in `dir`, with an environment stripped of anything that could leak in from
/// the machine (a stray SEED or FEE_RATE would change results).
pub fn datadao(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("datadao").unwrap();
    cmd.current_dir(dir).env_clear();
    cmd
}
