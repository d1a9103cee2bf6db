//! `datadao`: the command-line front end over `datadao-core`.
//!
//! Glue only, and this file only dispatches: parse the flags, call the command (each in
//! a module of its own), map its error to an exit code. The model lives in the core
//! crate, what a scenario is in `datadao-scenario`.

mod cli;
mod compare;
mod config_cmd;
mod config_text;
mod flow_figure;
mod inputs;
mod merge_cmd;
mod optimize_cmd;
mod output;
mod output_set;
mod plot;
mod presets_cmd;
mod run;
mod series;
mod serve;
mod signals;
mod summary;
mod sweep_cmd;
mod sweep_outputs;
mod tables;
mod terminal;

use std::io::Write;
use std::process::ExitCode;

use cli::{Cli, Command};
use terminal::ClosedPipe;

fn main() -> ExitCode {
    signals::install();
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout; a closed pipe there is not worth a word.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Some(Command::Run(args)) => run::run(&args),
        Some(Command::Config(args)) => config_cmd::config(&args.scenario),
        Some(Command::Compare(args)) => compare::compare(&args),
        Some(Command::Sweep(args)) => sweep_cmd::sweep(&args),
        Some(Command::Merge(args)) => merge_cmd::merge(&args),
        Some(Command::Optimize(args)) => optimize_cmd::optimize(&args),
        Some(Command::Serve(args)) => serve::serve(&args),
        Some(Command::Presets) => presets_cmd::presets(),
        None => run::run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<ClosedPipe>() => ExitCode::SUCCESS,
        Err(e) => {
            let code = match e.downcast_ref::<signals::Interrupted>() {
                Some(i) => ExitCode::from(i.exit_code()),
                None => ExitCode::FAILURE,
            };
            // If stderr is gone too there is no one left to tell.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            code
        }
    }
}
