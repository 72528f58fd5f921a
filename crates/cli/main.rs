//! The `dbplan` command line: argument parsing, one module per command, and the exit code of
//! how each ended (`exit`). What several commands share is in `shared`.

mod commands;
mod exit;
mod kms;
mod output;
mod shared;

use crate::exit::Outcome;
use clap::{Parser, Subcommand};
use dbplan_diagnostics::escape::{self, Escaped};
use std::borrow::Cow;
use std::process::ExitCode;

/// dbplan: plan and apply database infrastructure, with policies checked before anything
/// touches a cloud.
#[derive(Debug, Parser)]
#[command(name = "dbplan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests: YAML, schema, formats, references and cycles.
    Validate(commands::validate::Args),
    /// Check the policies, offline: no credentials, no network, no state.
    Lint(commands::lint::Args),
    /// Show what apply would do: diff the manifests against the (refreshed) state and check
    /// the policies on the result.
    Plan(commands::plan::Args),
    /// Apply a saved plan (FILE), or plan manifests (PATH...) and apply after confirmation.
    Apply(commands::apply::ApplyArgs),
    /// Destroy what the manifests declare (deletion policies and protection apply).
    Destroy(commands::apply::DestroyArgs),
    /// Print the outputs recorded in state (secrets as `(sensitive)`).
    Output(commands::output::Args),
    /// Record an existing remote object in the state, changing nothing (the next plan shows
    /// how it differs from its manifest).
    Import(commands::import::Args),
    /// Render a saved plan file (a stale one with a warning).
    Show(commands::show::Args),
    /// Write the Kubernetes objects of the CnpgClusters to files, offline: no state, no cluster.
    Render(commands::render::Args),
    /// List the policies or explain one.
    Policy(commands::policy::Args),
    /// Print the resource graph (edges point from a resource to what it depends on).
    Graph(commands::graph::Args),
    /// Inspect and repair the recorded state.
    State(commands::state::Args),
    /// Print the JSON Schema of a kind (or of every kind), for editors such as yaml-language-server.
    Schema(commands::schema::Args),
    /// Print the shell completion script for bash, zsh or fish (see README.md to install it).
    Completions(commands::completions::Args),
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: errors only). Nothing logged carries a
/// secret: providers log statements by what they do, never by their text.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

/// Installs, once, before anything runs, a panic hook that says nothing about the panics the
/// state store recovers from (sled panicking on a damaged database, reported as damage: see
/// `dbplan_state::panic_is_recovered`) and prints every other panic as Rust's default hook
/// does. The hook is process-wide, so it is set here, at start, and never swapped around a
/// call (which would race with other threads).
fn quiet_recovered_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !dbplan_state::panic_is_recovered() {
            default(info);
        }
    }));
}

/// Parses the arguments. `--help`, `--version` and `help` print to stdout and succeed; a usage
/// error (unknown flag, bad value, missing argument) prints clap's message to stderr and is a
/// failure (exit 1), never clap's own 2, which is `plan --detailed-exitcode`'s "changes present".
fn parse() -> Result<Cli, Outcome> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(error) => {
            let outcome = match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Outcome::Success
                }
                _ => Outcome::Failure,
            };
            // clap writes help and version to stdout and usage errors to stderr, with colour
            // only on a terminal and unless NO_COLOR. A usage error quotes the arguments; one
            // with a control character in it is printed escaped, without colour.
            let plain = error.render().to_string();
            match escape::for_terminal_lines(&plain) {
                Cow::Borrowed(_) => {
                    let _ = error.print();
                }
                Cow::Owned(escaped) => eprint!("{escaped}"),
            }
            Err(outcome)
        }
    }
}

/// Runs the command; an error it returns is printed with its causes, and is a failure.
fn run(command: Command) -> Outcome {
    let result = match command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::Plan(args) => commands::plan::run(args),
        Command::Apply(args) => commands::apply::apply(args),
        Command::Destroy(args) => commands::apply::destroy(args),
        Command::Output(args) => commands::output::run(args),
        Command::Import(args) => commands::import::run(args),
        Command::Show(args) => commands::show::run(args),
        Command::Render(args) => commands::render::run(args),
        Command::Policy(args) => commands::policy::run(args),
        Command::Graph(args) => commands::graph::run(args),
        Command::State(args) => commands::state::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Completions(args) => commands::completions::run::<Cli>(args),
    };
    result.unwrap_or_else(|error| {
        // The causes may quote manifests, state or an API's answer: escaped (GUIDE §4).
        eprintln!("error: {:#}", Escaped(&error));
        Outcome::Failure
    })
}

fn main() -> ExitCode {
    init_logging();
    quiet_recovered_panics();
    kms::register();
    let outcome = match parse() {
        Ok(cli) => run(cli.command),
        Err(outcome) => outcome,
    };
    let code = exit::code(&outcome);
    // The process ends here: what the command returned (a plan, a report) is left to the
    // operating system rather than freed piece by piece.
    std::mem::forget(outcome);
    ExitCode::from(code)
}
