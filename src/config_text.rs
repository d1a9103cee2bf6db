//! The effective configuration as TOML text: `datadao config`'s listing (every key, each
//! value's source in comments) and `run_config.toml` ([`run_config_text`], what
//! `datadao run --config` reads back; also the dashboard's download).

use std::path::PathBuf;

use datadao_scenario::settings::{self, Resolved};

/// Text that is safe inside a TOML comment: control characters (a newline in a path
/// or a flag's value) are spelled as escapes, so they cannot end the comment.
fn comment_safe(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Comment lines for an effective configuration: the version, how to repeat the run,
/// and (for `datadao config`) where every value that is not a built-in default came
/// from. `run_config.toml` leaves the sources out, so that repeating a run from it
/// writes the same file again.
pub fn config_header(resolved: &Resolved, with_sources: bool) -> String {
    let mut text = format!(
        "# Effective datadao configuration (datadao {}).\n# Repeat this run with: datadao run --config <this file>\n",
        env!("CARGO_PKG_VERSION")
    );
    if with_sources {
        for (key, source) in &resolved.sources {
            text.push_str(&comment_safe(&format!("# {key}: from {source}")));
            text.push('\n');
        }
    }
    text.push('\n');
    text
}

/// The effective settings as TOML, starting with the preset they build on. With
/// `portable`, `output.dir` is `.`, so a run repeated from the file elsewhere writes
/// there and never over the original folder.
pub fn settings_text(resolved: &Resolved, portable: bool) -> String {
    let mut settings = resolved.settings.clone();
    if portable {
        settings.output.dir = PathBuf::from(".");
    }
    let mut text = String::new();
    if let Some(name) = &resolved.preset {
        text.push_str(&format!(
            "# The preset these settings started from (every value below already includes it).\npreset = {}\n\n",
            toml::Value::String(name.clone())
        ));
    }
    // A run's record leaves untouched governance out (byte-identical to runs before
    // governance existed); the listing shows every key.
    text.push_str(&if portable {
        settings::to_toml(&settings)
    } else {
        explained(&settings::to_toml_every(&settings))
    });
    text
}

/// `toml` with each key's one-line help (the page's words for it) above it as a comment.
fn explained(toml: &str) -> String {
    let mut out = String::with_capacity(toml.len() * 2);
    let mut table = String::new();
    for line in toml.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = name.to_owned();
        } else if let Some((key, _)) = line.split_once(" = ") {
            let is_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let dotted = if table.is_empty() {
                key.to_owned()
            } else {
                format!("{table}.{key}")
            };
            if let Some(help) = is_key
                .then(|| datadao_scenario::help::help(&dotted))
                .flatten()
            {
                out.push_str("# ");
                out.push_str(&help);
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `run_config.toml`: what `datadao run --config` reads back to repeat a run exactly.
pub fn run_config_text(resolved: &Resolved) -> String {
    format!(
        "{}{}",
        config_header(resolved, false),
        settings_text(resolved, true)
    )
}
