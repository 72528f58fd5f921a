//! `dbplan completions SHELL`, driven through the real shells: bash's programmable completion,
//! fish's `complete -C`, and zsh's compinit.

use std::path::Path;
use std::process::Command;

fn script(shell: &str, directory: &Path) -> std::path::PathBuf {
    let output = Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(!output.stdout.is_empty());
    let path = directory.join(format!("dbplan.{shell}"));
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

/// Runs a shell, which the test set-up installs (`bash scripts/test.sh`).
fn shell(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {program} ({error}); `bash scripts/test.sh` installs it")
        });
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What bash offers for the words typed so far (the last one being completed).
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; _dbplan dbplan '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    shell("bash", &["--norc", "--noprofile", "-c", &program])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_subcommands_and_values() {
    let directory = tempfile::tempdir().unwrap();
    let script = script("bash", directory.path());
    assert_eq!(bash_completes(&script, &["dbplan", "pl"]), ["plan"]);
    let state = bash_completes(&script, &["dbplan", "state", "res"]);
    assert_eq!(state, ["restore"], "{state:?}");
    let mut formats = bash_completes(&script, &["dbplan", "lint", "--format", ""]);
    formats.sort();
    assert_eq!(formats, ["github", "json", "sarif", "text"]);
    let mut shells = bash_completes(&script, &["dbplan", "completions", ""]);
    shells.retain(|word| !word.starts_with('-'));
    shells.sort();
    assert_eq!(shells, ["bash", "fish", "zsh"]);
    let flags = bash_completes(&script, &["dbplan", "plan", "--det"]);
    assert_eq!(flags, ["--detailed-exitcode"]);
}

#[test]
fn fish_completes_commands_and_flags() {
    let directory = tempfile::tempdir().unwrap();
    let script = script("fish", directory.path());
    let complete = |line: &str| -> Vec<String> {
        shell(
            "fish",
            &[
                "--no-config",
                "-c",
                &format!("source '{}'; complete -C '{line}'", script.display()),
            ],
        )
        .lines()
        .map(|line| line.split('\t').next().unwrap_or_default().to_owned())
        .collect()
    };
    assert_eq!(complete("dbplan pl"), ["plan"]);
    let subcommands = complete("dbplan state ");
    for expected in [
        "list", "show", "rm", "unlock", "check", "restore", "export", "import",
    ] {
        assert!(
            subcommands.iter().any(|offered| offered == expected),
            "{expected} in {subcommands:?}"
        );
    }
    assert_eq!(complete("dbplan plan --det"), ["--detailed-exitcode"]);
}

#[test]
fn zsh_loads_the_completion_function() {
    let directory = tempfile::tempdir().unwrap();
    let script = script("zsh", directory.path());
    shell("zsh", &["-n", &script.display().to_string()]);
    let loaded = shell(
        "zsh",
        &[
            "-f",
            "-c",
            &format!(
                "autoload -Uz compinit && compinit -u -D && source '{}' && whence -w _dbplan && print -r -- ${{_comps[dbplan]}}",
                script.display()
            ),
        ],
    );
    assert_eq!(
        loaded.lines().collect::<Vec<_>>(),
        ["_dbplan: function", "_dbplan"]
    );
    let text = std::fs::read_to_string(&script).unwrap();
    for command in [
        "validate",
        "lint",
        "plan",
        "apply",
        "destroy",
        "state",
        "completions",
    ] {
        assert!(
            text.contains(&format!("'{command}:")),
            "{command} in the zsh script"
        );
    }
}
