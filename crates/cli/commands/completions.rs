//! `dbplan completions SHELL`: the shell's completion script, generated from the clap
//! definition by clap_complete, so it always knows every command, flag and value.

use crate::exit::Outcome;
use clap::CommandFactory;
use std::io::Write;

/// The shells a completion script is made for (the ones the tests drive for real).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The arguments of `dbplan completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the script for the shell to stdout, for the command line `C`.
pub fn run<C: CommandFactory>(args: Args) -> anyhow::Result<Outcome> {
    let generator = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = C::command();
    // Generated into memory first: clap_complete panics when its writer fails (a closed
    // pipe), and a write error here is an error like any other.
    let mut script = Vec::new();
    clap_complete::generate(generator, &mut command, "dbplan", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(Outcome::Success)
}
