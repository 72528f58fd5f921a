//! The `dbplan` command line: argument parsing, wiring and exit codes. One file per command.

mod commands;
mod output;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
    Validate {
        /// Manifest files or directories (read recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the resource graph (edges point from a resource to what it depends on).
    Graph {
        /// Manifest files or directories (read recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = commands::graph::Format::Dot)]
        format: commands::graph::Format,
    },
    /// Print the JSON Schema of a kind (or of every kind), for editors such as yaml-language-server.
    Schema {
        /// The kind, e.g. `AwsRdsCluster`; all kinds when omitted.
        kind: Option<String>,
    },
}

/// Exit codes of every command (GUIDE §4).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const ERROR: u8 = 1;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { paths } => commands::validate::run(&paths),
        Command::Graph { paths, format } => commands::graph::run(&paths, format),
        Command::Schema { kind } => commands::schema::run(kind.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
