//! What the commands say on the terminal: [`emit`] (standard output, with a closed pipe
//! as [`ClosedPipe`] and a full device as an error) and [`progress_bar`] (on stderr).

use std::io::{IsTerminal, Write};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Standard output was closed by its reader (`datadao config | head -1`): not an error,
/// the command just stops, as Unix tools do.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct ClosedPipe;

/// Print `text` to standard output. A closed pipe becomes [`ClosedPipe`]; any other
/// failure (`> /dev/full`) an error that says so.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedPipe.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

/// A progress bar on stderr counting `unit`s (with rate and time left), or a hidden one
/// when stderr is not a terminal or the user asked for quiet.
pub fn progress_bar(len: u64, unit: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}
