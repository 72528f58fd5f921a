//! Integration tests of the `dbplan` binary, one binary for all of them (ripgrep's layout).

// Test helpers fail the test loudly on a broken fixture or environment; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adopt;
mod apply;
mod architecture;
mod aurora_tenant;
mod aws;
mod cnpg_tenant;
mod completions;
mod digitalocean;
mod digitalocean_tenant;
mod editor;
mod examples;
mod files;
mod graph;
mod hygiene;
mod import;
mod kubernetes;
mod kubernetes_secret;
mod lifecycle;
mod lint;
mod plan;
mod planton;
mod pull_request;
mod render;
mod schema;
mod secrets;
mod state;
mod state_kms;
mod team_state;
mod timeouts;
mod validate;
mod workflows;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the root package's directory).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dbplan` with arguments, from the repository root, without colour.
pub fn dbplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("the dbplan binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Both streams of a run, for assertion messages.
pub fn text(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// insta settings for snapshots of `dbplan`'s output: volatile values become placeholders, so a
/// snapshot records what the output says, not which build said it. `"dbplan_version"` (in plan
/// JSON) becomes `[VERSION]`; the field, not the version text anywhere, so that an address
/// like `10.0.1.0/24` is never touched. Bind them for a test with
/// `let _settings = crate::snapshot_settings().bind_to_scope();`.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r#""dbplan_version": "[^"]*""#,
        r#""dbplan_version": "[VERSION]""#,
    );
    settings
}

/// Fails with both streams when the exit code is not `code`.
pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "unexpected exit code\n{}",
        text(output)
    );
}

/// The change of a JSON plan (`plan --format json`) for an address.
pub fn change<'a>(plan: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address} in {plan}"))
}

/// Files with the given extension in a directory, sorted, as paths relative to the root.
pub fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("directory exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|found| found == extension))
        .map(|path| path.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    files.sort();
    files
}

/// The example manifest sets: every folder of `examples/` but `examples/ci`, which holds GitHub
/// Actions workflows (checked by `workflows.rs`), not manifests. Sorted, relative to the root.
pub fn example_dirs() -> Vec<PathBuf> {
    dirs("examples")
        .into_iter()
        .filter(|dir| dir != Path::new("examples/ci"))
        .collect()
}

/// Copies the files of `examples/<name>` into `target` (created when missing), with `edit`
/// applied to each file's text: an example made to run against a test's own servers.
pub fn copy_example(name: &str, target: &Path, edit: impl Fn(String) -> String) {
    std::fs::create_dir_all(target).unwrap();
    for entry in std::fs::read_dir(root().join("examples").join(name)).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(target.join(path.file_name().unwrap()), edit(text)).unwrap();
    }
}

/// Subdirectories of a directory, sorted, relative to the root.
pub fn dirs(dir: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("directory exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .map(|path| path.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    dirs.sort();
    dirs
}
