//! Output hygiene and exit codes.
//!
//! Control characters from manifests (a name, an unknown field's key, a waiver reason, a string
//! value) never reach stdout or stderr raw, in any format: terminal text shows them as visible
//! escapes (`\u{1b}`), JSON and SARIF as `\uXXXX` with the same value. A usage error exits 1,
//! `--help` and `--version` exit 0 on stdout. An AWS error is one sentence: status, code,
//! message, request id and the resource address, never the SDK's `Debug` form.

use crate::{stderr, stdout};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What an attacker would put in a manifest: an OSC title change ended by BEL, a screen clear,
/// a carriage return (overwrites the line), a right-to-left override and a C1 "next line".
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}\u{85}";

/// The same, as a YAML double-quoted string body.
const HOSTILE_YAML: &str = r"\x1b]0;pwned\x07\x1b[2J\r\u202e\x85";

/// A waiver reason and a description that also try to break out of Markdown and HTML.
fn reason() -> String {
    format!("load tests {HOSTILE} </details><b>|x|</b> `tick` end")
}

fn description() -> String {
    format!("vpc {HOSTILE} </details> end")
}

/// Invalid: a hostile name and an unknown field with a hostile key (both errors), and a waiver
/// with a hostile reason.
fn invalid_manifest() -> String {
    format!(
        r#"apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata:
  name: "evil{HOSTILE_YAML}"
  annotations:
    dbplan.io/waive.DB402: "reason {HOSTILE_YAML}"
spec:
  engine: aurora-postgresql
  engineVersion: "16.4"
  dbSubnetGroupName: dev-private
  manageMasterUserPassword: true
  storageEncrypted: true
  skipFinalSnapshot: true
  backupRetentionPeriod: 7
  "unknown{HOSTILE_YAML}": 1
"#
    )
}

/// Valid: hostile text only where any text is allowed (a waiver reason, a description).
fn valid_manifest() -> String {
    let yaml = |text: String| text.replace(HOSTILE, HOSTILE_YAML);
    format!(
        r#"apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata:
  name: scratch-db
  annotations:
    dbplan.io/waive.DB402: "{}"
spec:
  engine: aurora-postgresql
  engineVersion: "16.4"
  dbSubnetGroupName: dev-private
  manageMasterUserPassword: true
  storageEncrypted: true
  iamDatabaseAuthenticationEnabled: true
  skipFinalSnapshot: true
  backupRetentionPeriod: 7
---
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata:
  name: scratch-vpc
spec:
  region: nyc3
  description: "{}"
  ipRangeCidr: 10.20.0.0/20
"#,
        yaml(reason()),
        yaml(description())
    )
}

fn run_in(directory: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env("DBPLAN_TODAY", "2026-11-24")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE")
        .stdin(Stdio::null())
        .output()
        .expect("the dbplan binary runs")
}

/// A character no output may carry raw: a control character other than the renderers' own
/// newline, a bidirectional control, a line or paragraph separator. Written out here rather
/// than taken from `dbplan_diagnostics::escape`, so that the test does not trust the code it
/// tests.
fn forbidden(character: char) -> bool {
    (character.is_control() && character != '\n')
        || matches!(
            character,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

/// Stdout and stderr are UTF-8 without a forbidden character; returns them.
fn assert_clean(what: &str, output: &Output) -> (String, String) {
    let mut texts = Vec::new();
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8(bytes.clone())
            .unwrap_or_else(|error| panic!("{what}: {stream} is not UTF-8: {error}"));
        if let Some((index, character)) = text.char_indices().find(|(_, c)| forbidden(*c)) {
            panic!(
                "{what}: {stream} has a raw U+{:04X} at byte {index}:\n{text:?}",
                u32::from(character)
            );
        }
        texts.push(text);
    }
    let stderr = texts.pop().unwrap_or_default();
    let stdout = texts.pop().unwrap_or_default();
    (stdout, stderr)
}

/// The visible form of the hostile text in terminal output.
const SHOWN: &str = r"\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}\u{85}";

#[test]
fn lint_and_validate_escape_names_keys_and_reasons_in_every_format() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("bad.yaml"), invalid_manifest()).unwrap();
    std::fs::write(directory.path().join("good.yaml"), valid_manifest()).unwrap();

    let validated = run_in(directory.path(), &["validate", "bad.yaml"]);
    assert_eq!(validated.status.code(), Some(1));
    let (_, text) = assert_clean("validate", &validated);
    // Both mistakes are reported, with the hostile text visible rather than acted on.
    assert!(text.contains(&format!("unknown{SHOWN}")), "{text}");
    assert!(text.matches("pwned").count() >= 2, "{text}");

    // Raw in the source: YAML refuses the escape character (M001), whose excerpt shows the
    // line with every control visible.
    std::fs::write(
        directory.path().join("raw.yaml"),
        format!("apiVersion: v1\nkind: Foo{HOSTILE}\nmetadata: {{name: x}}\n"),
    )
    .unwrap();
    let validated = run_in(directory.path(), &["validate", "raw.yaml"]);
    assert_eq!(validated.status.code(), Some(1));
    let (_, text) = assert_clean("validate raw", &validated);
    assert!(text.contains(&format!("kind: Foo{SHOWN}")), "{text}");
    std::fs::remove_file(directory.path().join("raw.yaml")).unwrap();

    let linted = run_in(directory.path(), &["lint", "."]);
    let (_, text) = assert_clean("lint text", &linted);
    let reason_shown = format!("load tests {SHOWN} </details><b>|x|</b> `tick` end");
    assert!(text.contains(&reason_shown), "{text}");

    let linted = run_in(directory.path(), &["lint", "good.yaml", "--format", "json"]);
    let (json, _) = assert_clean("lint json", &linted);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|finding| finding["code"] == "DB402" && finding["waived"] == true),
        "{report:#}"
    );

    let linted = run_in(
        directory.path(),
        &["lint", "good.yaml", "--format", "sarif"],
    );
    let (sarif, _) = assert_clean("lint sarif", &linted);
    assert!(sarif.contains(r"\u001b]0;pwned\u0007"), "{sarif}");
    assert!(sarif.contains(r"\u202e\u0085"), "{sarif}");
    let log: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let justifications: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|result| result["suppressions"][0]["justification"].as_str())
        .collect();
    assert_eq!(justifications, [reason().as_str()], "the same value");

    let linted = run_in(
        directory.path(),
        &["lint", "good.yaml", "--format", "github"],
    );
    let (commands, _) = assert_clean("lint github", &linted);
    let waived = commands
        .lines()
        .find(|line| line.contains("DB402"))
        .unwrap_or_else(|| panic!("{commands}"));
    assert!(waived.starts_with("::notice "), "{waived}");
    assert!(
        waived.contains(&format!("%0Awaived: {reason_shown}")),
        "{waived}"
    );
    // Every command is one line: the reason's CR is shown, not sent.
    assert!(
        commands.lines().all(|line| line.starts_with("::")),
        "{commands}"
    );
}

#[test]
fn plan_escapes_values_and_reasons_in_text_markdown_and_json() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("good.yaml"), valid_manifest()).unwrap();
    let state = directory.path().join("state");
    let state = state.to_str().unwrap();

    let planned = run_in(directory.path(), &["plan", ".", "--state", state]);
    let (text, errors) = assert_clean("plan text", &planned);
    // The value as JSON shows it, with JSON's escapes.
    assert!(
        text.contains(r#"= "vpc \u001b]0;pwned\u0007\u001b[2J\r\u202e\u0085 </details> end""#),
        "{text}\n{errors}"
    );

    let planned = run_in(
        directory.path(),
        &["plan", ".", "--state", state, "--format", "markdown"],
    );
    let (markdown, _) = assert_clean("plan markdown", &planned);
    assert!(markdown.contains("pwned"), "{markdown}");
    // The value's `</details>` stays inside its fenced block: the comment closes as many
    // `<details>` as it opens, each on a line of its own.
    assert_eq!(
        markdown.matches("<details>").count(),
        markdown
            .lines()
            .filter(|line| *line == "</details>")
            .count(),
        "{markdown}"
    );

    let planned = run_in(
        directory.path(),
        &["plan", ".", "--state", state, "--format", "json"],
    );
    let (json, _) = assert_clean("plan json", &planned);
    assert!(json.contains(r"\u202e\u0085"), "{json}");
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let vpc = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["kind"] == "DigitalOceanVpc")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(vpc["after"]["description"], description(), "the same value");
}

#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0_on_stdout() {
    let directory = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_in(directory.path(), args);

    for args in [
        &["--no-such-flag"][..],
        &["lint", ".", "--format", "yaml"],
        &["plan", ".", "--parallelism", "3"],
        &["apply", ".", "--parallelism", "0"],
        &["validate"],
        &["no-such-command"],
        &[],
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        // Without a command, clap shows the help, on stderr.
        let expected = if args.is_empty() {
            "Usage: dbplan"
        } else {
            "error: "
        };
        assert!(
            stderr(&output).starts_with(expected) || stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
    }

    for (args, expected) in [
        (&["--help"][..], "Usage: dbplan"),
        (&["-h"], "Usage: dbplan"),
        (&["help"], "Usage: dbplan"),
        (&["plan", "--help"], "--detailed-exitcode"),
        (&["help", "plan"], "--detailed-exitcode"),
        (&["--version"], env!("CARGO_PKG_VERSION")),
        (&["-V"], env!("CARGO_PKG_VERSION")),
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stdout(&output).contains(expected),
            "{args:?}: {}",
            stdout(&output)
        );
        assert!(stderr(&output).is_empty(), "{args:?}: {}", stderr(&output));
    }

    // clap quotes the argument it refuses (dropping whole escape sequences itself); any other
    // control character in it is shown escaped.
    let output = run(&["lint", ".", "--format", &format!("x{HOSTILE}")]);
    assert_eq!(output.status.code(), Some(1));
    let (_, text) = assert_clean("usage error", &output);
    assert!(text.contains(r"\r\u{202e}\u{85}"), "{text}");
}

/// An AWS error through the CLI against moto: the one sentence, with the code, the address
/// and no `Debug` fragment. moto refuses a subnet in an availability zone that does not exist
/// (HTTP 400, InvalidParameterValue).
#[test]
fn an_aws_error_is_one_readable_sentence() {
    let moto = dbplan_testkit::MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("network.yaml"),
        r#"apiVersion: aws.project-planton.org/v1
kind: AwsVpc
metadata:
  name: lab
spec:
  region: us-east-1
  vpcCidr: 10.40.0.0/16
  availabilityZones: [us-east-1a, us-east-1z]
  subnetsPerAvailabilityZone: 1
  subnetSize: 256
"#,
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
    command
        .args(["apply", ".", "--auto-approve"])
        .current_dir(directory.path())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE")
        .stdin(Stdio::null());
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let (out, errors) = assert_clean("apply against moto", &output);
    assert_eq!(output.status.code(), Some(1), "{out}{errors}");
    let line = errors
        .lines()
        .find(|line| line.starts_with("error: create AwsVpc/lab"))
        .unwrap_or_else(|| panic!("{out}{errors}"));
    assert!(
        line.contains("AwsVpc/lab: AWS answered HTTP 400 InvalidParameterValue: "),
        "{line}"
    );
    assert!(
        line.ends_with(')') && line.contains(" (request id "),
        "{line}"
    );
    for fragment in ["HttpResponse", "SdkBody", "{", "ServiceError", "Unhandled"] {
        assert!(!line.contains(fragment), "{fragment:?} in {line}");
    }
}
