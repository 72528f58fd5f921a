//! The `dbplan` command line: argument parsing, wiring and exit codes. One file per command.

mod commands;
mod output;

use clap::{Parser, Subcommand};
use dbplan_diagnostics::escape::{self, Escaped};
use std::borrow::Cow;
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
        /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
        /// directories of the paths named here); never inside the state directory.
        #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
        allow_files_outside: bool,
    },
    /// Check the policies, offline: no credentials, no network, no state.
    Lint {
        /// Manifest files or directories (read recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = commands::lint::Format::Text)]
        format: commands::lint::Format,
        /// A policy pack file or a directory of packs; `./policies/` when it exists.
        #[arg(long)]
        policies: Option<PathBuf>,
        /// The lowest severity of an unwaived finding that fails the run (exit 3).
        #[arg(long, value_enum, default_value_t = commands::lint::FailOn::Error)]
        fail_on: commands::lint::FailOn,
    },
    /// Show what apply would do: diff the manifests against the (refreshed) state and check
    /// the policies on the result.
    Plan {
        /// Manifest files or directories (read recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The state directory; `./state` when neither this nor `DBPLAN_STATE` is set.
        #[arg(long, env = "DBPLAN_STATE")]
        state: Option<PathBuf>,
        /// Save the plan to this file, for `dbplan apply FILE` (not written when the plan is
        /// blocked or refused by policy).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = commands::plan::Format::Text)]
        format: commands::plan::Format,
        /// Exit 0 when nothing would change, 2 when something would.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Do not ask the providers for the remote objects; compare with the recorded state.
        #[arg(long)]
        offline: bool,
        /// Plan only this resource (`Kind/name` or `Kind/name/part`) and what it depends on.
        #[arg(long = "target", value_name = "ADDR")]
        targets: Vec<String>,
        /// Plan the deletion of every recorded object (in scope of `--target`).
        #[arg(long)]
        destroy: bool,
        /// A policy pack file or a directory of packs; `./policies/` when it exists.
        #[arg(long)]
        policies: Option<PathBuf>,
        /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
        /// directories of the paths named here); never inside the state directory.
        #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
        allow_files_outside: bool,
        /// Let apply take over an existing object dbplan did not create (`Kind/name`: every
        /// part; `Kind/name/part`), as `dbplan.io/adopt: "true"` does; repeatable.
        #[arg(long = "adopt", value_name = "ADDR")]
        adopt: Vec<String>,
    },
    /// Apply a saved plan (FILE), or plan manifests (PATH...) and apply after confirmation.
    Apply {
        /// A file `dbplan plan --out` wrote, or manifest files and directories.
        #[arg(required = true, value_name = "FILE | PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        options: ApplyArgs,
        /// Let apply take over an existing object dbplan did not create (`Kind/name`: every
        /// part; `Kind/name/part`), as `dbplan.io/adopt: "true"` does; repeatable. A saved plan
        /// carries the opt-ins it was made with.
        #[arg(long = "adopt", value_name = "ADDR")]
        adopt: Vec<String>,
    },
    /// Destroy what the manifests declare (deletion policies and protection apply).
    Destroy {
        /// Manifest files and directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        options: ApplyArgs,
    },
    /// Print the outputs recorded in state (secrets as `(sensitive)`).
    Output {
        /// A resource (`Kind/name`: every part) or one object (`Kind/name/part`).
        address: Option<String>,
        /// One output, printed raw for scripts.
        name: Option<String>,
        /// The state directory (default `./state`).
        #[arg(long, env = "DBPLAN_STATE")]
        state: Option<PathBuf>,
        /// JSON instead of `address.name = value` lines.
        #[arg(long)]
        json: bool,
        /// Print sensitive values instead of `(sensitive)`.
        #[arg(long)]
        show_sensitive: bool,
    },
    /// Record an existing remote object in the state, changing nothing (the next plan shows
    /// how it differs from its manifest).
    Import {
        /// The address the manifests declare it at: `Kind/name`, or `Kind/name/part` for a part
        /// of a component (e.g. `TenantDatabase/billing/role`).
        address: String,
        /// What the provider knows the object by (docs/kinds.md): a role or database name, an
        /// AWS identifier (`vpc-…`, `sg-…`, a cluster identifier, a group name), a
        /// DigitalOcean UUID (`CLUSTER_ID/POOL` for a pool).
        id: String,
        /// Manifest files or directories (read recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The state directory; `./state` when neither this nor `DBPLAN_STATE` is set.
        #[arg(long, env = "DBPLAN_STATE")]
        state: Option<PathBuf>,
        /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
        /// directories of the paths named here); never inside the state directory.
        #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
        allow_files_outside: bool,
    },
    /// Render a saved plan file (a stale one with a warning).
    Show {
        /// The file `dbplan plan --out` wrote.
        file: PathBuf,
        /// The state directory the plan is checked against.
        #[arg(long, env = "DBPLAN_STATE")]
        state: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = commands::plan::Format::Text)]
        format: commands::plan::Format,
    },
    /// List the policies or explain one.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
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
    /// Inspect and repair the recorded state.
    State {
        /// The state directory (an embedded sled database); `./state` when neither this nor
        /// `DBPLAN_STATE` is set.
        #[arg(long, env = "DBPLAN_STATE", global = true)]
        state: Option<PathBuf>,
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Print the JSON Schema of a kind (or of every kind), for editors such as yaml-language-server.
    Schema {
        /// The kind, e.g. `AwsRdsCluster`; all kinds when omitted.
        kind: Option<String>,
    },
    /// Print the shell completion script for bash, zsh or fish (see README.md to install it).
    Completions {
        #[arg(value_enum)]
        shell: commands::completions::Shell,
    },
}

/// The options `apply` and `destroy` share.
#[derive(Debug, clap::Args)]
struct ApplyArgs {
    /// The state directory (default `./state`).
    #[arg(long, env = "DBPLAN_STATE")]
    state: Option<PathBuf>,
    /// Go ahead without asking (required when stdin is not a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// At most this many operations at a time.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallelism: u16,
    /// Only these resources, with what they depend on (apply) or what depends on them
    /// (destroy).
    #[arg(long = "target", value_name = "ADDR")]
    targets: Vec<String>,
    /// A policy pack file or directory.
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
    /// directories of the paths named here); never inside the state directory.
    #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
    allow_files_outside: bool,
}

impl ApplyArgs {
    fn run(self, paths: &[PathBuf], destroy: bool, adopt: &[String]) -> anyhow::Result<u8> {
        commands::apply::run(&commands::apply::Options {
            paths,
            state: &commands::state::directory(self.state),
            auto_approve: self.auto_approve,
            parallelism: usize::from(self.parallelism),
            targets: &self.targets,
            destroy,
            policies: self.policies.as_deref(),
            allow_files_outside: self.allow_files_outside,
            adopt,
        })
    }
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Every policy with its code, id, enforcement and summary.
    List {
        /// A policy pack file or a directory of packs; `./policies/` when it exists.
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// A policy's documentation: what it checks, why, an example and the rule it enforces.
    Explain {
        /// The code, e.g. `DB101`.
        code: String,
    },
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Every resource address in the state.
    List,
    /// One resource as recorded (secrets shown as `(sensitive)`).
    Show {
        /// The address, e.g. `TenantDatabase/billing/database`.
        address: String,
    },
    /// Forget a resource: remove it from the state, leave the object where it is.
    Rm {
        /// The address.
        address: String,
    },
    /// Remove the state lock: a stale one (its process is gone), or any with `--force`.
    Unlock {
        /// Remove the lock even though its holder may still run.
        #[arg(long)]
        force: bool,
    },
    /// Verify the state, its head and its backups; change nothing (exit 1 on damage).
    Check,
    /// Bring back a backup: the newest good one, or the one of SERIAL.
    Restore {
        /// The serial of the backup (`dbplan state check` lists them).
        serial: Option<u64>,
        /// Restore even a backup of another state (another lineage).
        #[arg(long)]
        force: bool,
        /// Take the database itself as the state, checked against the head record it holds:
        /// the way back when head.json and every backup are gone or damaged.
        #[arg(long)]
        from_database: bool,
    },
    /// Write the whole state as JSON, keeping lineage and serial.
    Export {
        /// Write to this file (mode 0600, with secrets and key, importable); without it the
        /// JSON goes to stdout with secrets shown as `(sensitive)`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// With stdout: include the secrets and the key.
        #[arg(long)]
        show_sensitive: bool,
    },
    /// Replace the state with an export, keeping its lineage and serial.
    Import {
        /// A file `dbplan state export --out` wrote.
        file: PathBuf,
        /// Import even an export of another state, or one that is not newer.
        #[arg(long)]
        force: bool,
    },
}

/// Exit codes of every command (GUIDE §4).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: changes present.
    pub const CHANGES: u8 = 2;
    /// Blocking policy findings.
    pub const POLICY: u8 = 3;
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

/// Parses the arguments. `--help`, `--version` and `help` print to stdout and end with 0; a
/// usage error (unknown flag, bad value, missing argument) prints clap's message to stderr and
/// ends with 1, never clap's own 2, which is `plan --detailed-exitcode`'s "changes present".
fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(error) => {
            let code = match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::SUCCESS
                }
                _ => exit::ERROR,
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
            Err(ExitCode::from(code))
        }
    }
}

// Long: one match arm per subcommand, handing its arguments to the command; the table of commands
// reads best whole.
fn main() -> ExitCode {
    init_logging();
    quiet_recovered_panics();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Validate {
            paths,
            allow_files_outside,
        } => commands::validate::run(&paths, allow_files_outside),
        Command::Lint {
            paths,
            format,
            policies,
            fail_on,
        } => commands::lint::run(&paths, format, policies.as_deref(), fail_on),
        Command::Policy { command } => match command {
            PolicyCommand::List { policies } => commands::policy::list(policies.as_deref()),
            PolicyCommand::Explain { code } => commands::policy::explain(&code),
        },
        Command::State { state, command } => {
            let directory = commands::state::directory(state);
            match command {
                StateCommand::List => commands::state::list(&directory),
                StateCommand::Show { address } => commands::state::show(&directory, &address),
                StateCommand::Rm { address } => commands::state::rm(&directory, &address),
                StateCommand::Unlock { force } => commands::state::unlock(&directory, force),
                StateCommand::Check => commands::state::check(&directory),
                StateCommand::Restore {
                    serial,
                    force,
                    from_database,
                } => commands::state::restore(&directory, serial, force, from_database),
                StateCommand::Export {
                    out,
                    show_sensitive,
                } => commands::state::export(&directory, out.as_deref(), show_sensitive),
                StateCommand::Import { file, force } => {
                    commands::state::import(&directory, &file, force)
                }
            }
        }
        Command::Plan {
            paths,
            state,
            out,
            format,
            detailed_exitcode,
            offline,
            targets,
            destroy,
            policies,
            allow_files_outside,
            adopt,
        } => commands::plan::run(&commands::plan::Options {
            paths: &paths,
            state: &commands::state::directory(state),
            out: out.as_deref(),
            format,
            detailed_exitcode,
            offline,
            targets: &targets,
            destroy,
            policies: policies.as_deref(),
            allow_files_outside,
            adopt: &adopt,
        }),
        Command::Apply {
            paths,
            options,
            adopt,
        } => options.run(&paths, false, &adopt),
        Command::Destroy { paths, options } => options.run(&paths, true, &[]),
        Command::Output {
            address,
            name,
            state,
            json,
            show_sensitive,
        } => commands::output::run(
            &commands::state::directory(state),
            address.as_deref(),
            name.as_deref(),
            json,
            show_sensitive,
        ),
        Command::Import {
            address,
            id,
            paths,
            state,
            allow_files_outside,
        } => commands::import::run(&commands::import::Options {
            address: &address,
            id: &id,
            paths: &paths,
            state: &commands::state::directory(state),
            allow_files_outside,
        }),
        Command::Show {
            file,
            state,
            format,
        } => commands::show::run(&file, &commands::state::directory(state), format),
        Command::Graph { paths, format } => commands::graph::run(&paths, format),
        Command::Schema { kind } => commands::schema::run(kind.as_deref()),
        Command::Completions { shell } => commands::completions::run::<Cli>(shell),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // The causes may quote manifests, state or an API's answer: escaped (GUIDE §4).
            eprintln!("error: {:#}", Escaped(&error));
            ExitCode::from(exit::ERROR)
        }
    }
}
