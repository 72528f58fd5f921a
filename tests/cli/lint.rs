//! `dbplan lint` and `dbplan policy`: the examples pass, `examples/bad` fails in every output
//! format (snapshot-tested), packs change enforcement, and no secret is ever printed.

use crate::{dbplan, example_dirs, root, stderr, stdout, text};
use std::process::Command;

/// Runs `dbplan` with a fixed date, so the staleness notice of the options snapshot does not
/// depend on the day the tests run.
fn lint(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("DBPLAN_TODAY", "2026-11-24")
        .env_remove("RUST_LOG")
        .output()
        .expect("the dbplan binary runs")
}

#[test]
fn every_example_lints_without_mandatory_findings() {
    for example in example_dirs() {
        let path = example.to_string_lossy().into_owned();
        if path.ends_with("bad") {
            continue;
        }
        let output = lint(&["lint", &path, "--format", "json"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{path}:\n{}",
            stderr(&output)
        );
        let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(report["summary"]["error"], 0, "{path}: {report:#}");
    }
}

#[test]
fn bad_examples_fail_with_every_required_policy() {
    let output = lint(&["lint", "examples/bad"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    for code in ["DB101", "DB102", "DB201", "DB301"] {
        assert!(
            text.contains(&format!("error[{code}]")),
            "{code} missing:\n{text}"
        );
    }
    insta::assert_snapshot!("lint-bad-text", text);
}

#[test]
fn lint_json_is_stable() {
    let output = lint(&["lint", "examples/bad", "--format", "json"]);
    assert_eq!(output.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["format_version"], "1");
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "policy");
    for key in [
        "kind", "code", "id", "severity", "resource", "file", "line", "column", "message", "waived",
    ] {
        assert!(
            finding.get(key).is_some(),
            "finding lacks {key}: {finding:#}"
        );
    }
    assert_eq!(report["summary"]["waived"], 1);
    insta::assert_snapshot!("lint-bad-json", stdout(&output));
}

#[test]
fn lint_github_annotations() {
    let output = lint(&["lint", "examples/bad", "--format", "github"]);
    assert_eq!(output.status.code(), Some(3));
    let text = stdout(&output);
    assert!(text.lines().all(|line| line.starts_with("::error ")
        || line.starts_with("::warning ")
        || line.starts_with("::notice ")));
    assert!(text.contains("::error file=examples/bad/window-overlap.yaml,line=18,col=26,title=DB101 window-overlap::"), "{text}");
    insta::assert_snapshot!("lint-bad-github", text);
}

#[test]
fn lint_sarif_is_valid_against_the_sarif_schema() {
    let output = lint(&["lint", "examples/bad", "--format", "sarif"]);
    assert_eq!(output.status.code(), Some(3));
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert!(run["tool"]["driver"]["rules"].as_array().unwrap().len() >= 28);
    let results = run["results"].as_array().unwrap();
    let waived: Vec<_> = results
        .iter()
        .filter(|result| result.get("suppressions").is_some())
        .collect();
    assert_eq!(waived.len(), 1, "the waived finding carries a suppression");
    assert!(results.iter().all(|result| {
        result["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64()
    }));
    assert_valid_sarif(&sarif);
}

/// Mistakes in the manifests: validation (M005, a typo in a field name), reference (G001, a
/// resource that does not exist) and the secret diagnostic lint can meet (M023, a password read
/// from a CI token's variable; S001, a secret variable not set, is a plan-time warning). Each is a
/// result of every machine format, with its kind and exact location, next to the policy findings
/// of the same run; the run exits 1, an input error taking precedence over the findings' 3.
#[test]
fn manifest_errors_are_results_of_every_format() {
    let path = "tests/fixtures/lint-input";
    let file = "tests/fixtures/lint-input/cluster.yaml";
    let expected = [
        (
            "G001",
            "reference-to-a-missing-resource",
            20,
            27,
            "DigitalOceanDatabaseCluster/orders",
        ),
        (
            "M005",
            "unknown-field",
            33,
            3,
            "DigitalOceanDatabaseCluster/billing",
        ),
        (
            "M023",
            "secret-variable-not-allowed",
            42,
            30,
            "PostgresServer/shared",
        ),
    ];

    // Text: the rendered diagnostics on stderr, as before.
    let output = lint(&["lint", path]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for (code, ..) in expected {
        assert!(
            stderr(&output).contains(&format!("error[{code}]")),
            "{}",
            stderr(&output)
        );
    }

    // JSON: one entry per mistake in the shape of a finding, told apart by `kind`.
    let output = lint(&["lint", path, "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for (code, id, line, column, resource) in expected {
        let entry = findings
            .iter()
            .find(|entry| entry["code"] == code)
            .unwrap_or_else(|| panic!("{code} is not a result: {report:#}"));
        assert_eq!(entry["kind"], "manifest", "{entry:#}");
        assert_eq!(entry["id"], id, "{entry:#}");
        assert_eq!(entry["severity"], "error", "{entry:#}");
        assert_eq!(entry["resource"], resource, "{entry:#}");
        assert_eq!(entry["file"], file, "{entry:#}");
        assert_eq!(entry["line"], line, "{entry:#}");
        assert_eq!(entry["column"], column, "{entry:#}");
        assert_eq!(entry["waived"], false, "{entry:#}");
        assert!(!entry["message"].as_str().unwrap().is_empty(), "{entry:#}");
    }
    for code in ["DB301", "DB303"] {
        let entry = findings.iter().find(|entry| entry["code"] == code);
        assert_eq!(
            entry.map(|entry| &entry["kind"]),
            Some(&serde_json::json!("policy")),
            "{code}: {report:#}"
        );
    }
    let keys = |entry: &serde_json::Value| -> Vec<String> {
        entry.as_object().unwrap().keys().cloned().collect()
    };
    assert!(
        findings
            .iter()
            .all(|entry| keys(entry) == keys(&findings[0])),
        "every result has the same fields: {report:#}"
    );
    assert_eq!(
        report["summary"]["error"], 4,
        "three input errors and DB301"
    );
    // DB303 for both clusters: the one with the unknown field is still checked.
    assert_eq!(report["summary"]["warning"], 2);
    insta::assert_snapshot!("lint-input-json", stdout(&output));

    // SARIF: a rule with help text for every code that occurs, results at the exact region.
    let output = lint(&["lint", path, "--format", "sarif"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for result in results {
        let rule = &rules[usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap()];
        assert_eq!(
            rule["id"], result["ruleId"],
            "ruleIndex points at its rule: {result:#}"
        );
        assert!(
            !rule["help"]["text"].as_str().unwrap().is_empty(),
            "{rule:#}"
        );
    }
    for (code, id, line, column, _) in expected {
        let rules: Vec<_> = rules.iter().filter(|rule| rule["id"] == code).collect();
        assert_eq!(rules.len(), 1, "one rule for {code}");
        let rule = rules[0];
        assert_eq!(rule["name"], id);
        assert_eq!(rule["properties"]["kind"], "manifest");
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert!(
            rule["help"]["markdown"].as_str().unwrap().contains(code),
            "{rule:#}"
        );
        let result = results
            .iter()
            .find(|result| result["ruleId"] == code)
            .unwrap();
        assert_eq!(result["level"], "error");
        assert_eq!(result["properties"]["kind"], "manifest");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], file);
        assert_eq!(location["region"]["startLine"], line);
        assert_eq!(location["region"]["startColumn"], column);
    }
    assert_valid_sarif(&sarif);

    // GitHub: an `::error` annotation at the mistake.
    let output = lint(&["lint", path, "--format", "github"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    for (code, id, line, column, resource) in expected {
        let start =
            format!("::error file={file},line={line},col={column},title={code} {id}::{resource}: ");
        assert!(
            text.lines()
                .any(|annotation| annotation.starts_with(&start)),
            "{start}\n{text}"
        );
    }
    assert!(
        text.contains("`enablePublicConectivity` is not a field of DigitalOceanDatabaseCluster.spec%0Ahelp: did you mean `enable_public_connectivity`?"),
        "{text}"
    );
    insta::assert_snapshot!("lint-input-github", text);
}

/// Validates against the official SARIF 2.1.0 schema; scripts/test.sh installs it (from the npm
/// registry) and sets `DBPLAN_SARIF_SCHEMA`.
fn assert_valid_sarif(sarif: &serde_json::Value) {
    match std::env::var_os("DBPLAN_SARIF_SCHEMA") {
        Some(path) => {
            let mut schema: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            // The schema's pattern for `language` properties
            // (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`) has a stray `]` that JavaScript
            // accepts and the Rust regex engine refuses, so the schema itself fails
            // meta-validation. dbplan writes no `language`; those patterns are dropped.
            drop_language_patterns(&mut schema);
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(sarif)
                .map(|error| format!("{error} at {}", error.instance_path()))
                .collect();
            assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("DBPLAN_SARIF_SCHEMA is not set; run scripts/test.sh")
        }
        None => eprintln!(
            "DBPLAN_SARIF_SCHEMA not set: SARIF checked structurally only (scripts/test.sh sets it)"
        ),
    }
}

fn drop_language_patterns(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            if object.get("pattern").and_then(|pattern| pattern.as_str())
                == Some("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$")
            {
                object.remove("pattern");
            }
            object.values_mut().for_each(drop_language_patterns);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_language_patterns),
        _ => {}
    }
}

#[test]
fn fail_on_warning_blocks_advisory_findings() {
    // The dev cluster of this example has no trusted sources: an advisory finding (DB303).
    let path = "examples/digitalocean-postgres";
    assert_eq!(lint(&["lint", path]).status.code(), Some(0));
    let output = lint(&["lint", path, "--fail-on", "warning"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("warning[DB303]"));
}

#[test]
fn packs_set_enforcement_and_parameters_and_report_their_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("team.yaml");
    std::fs::write(
        &pack,
        "name: team\nrules:\n  DB101: disabled\n  DB104: {enforcement: mandatory, parameters: {minimum_days: 30}}\n",
    )
    .unwrap();
    let pack_path = pack.to_string_lossy().into_owned();
    let output = lint(&[
        "lint",
        "examples/bad/window-overlap.yaml",
        "--policies",
        &pack_path,
    ]);
    let text = stderr(&output);
    assert!(
        !text.contains("DB101"),
        "disabled rules do not run:\n{text}"
    );
    assert!(
        text.contains("error[DB104]") && text.contains("below the minimum of 30"),
        "{text}"
    );
    assert_eq!(output.status.code(), Some(3));

    std::fs::write(
        &pack,
        "name: team\nrules:\n  DB1O1: disabled\n  DB104: {enforcement: sometimes, parameters: {minimum_day: 3}}\n",
    )
    .unwrap();
    let output = lint(&[
        "lint",
        "examples/bad/window-overlap.yaml",
        "--policies",
        &pack_path,
    ]);
    let text = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a broken pack is an input error:\n{text}"
    );
    assert_eq!(text.matches("error[P001]").count(), 3, "{text}");
    assert!(
        text.contains("team.yaml:3:3") && text.contains("did you mean `DB101`?"),
        "{text}"
    );
    assert!(text.contains("did you mean `minimum_days`?"), "{text}");
}

#[test]
fn a_stale_options_snapshot_is_noticed() {
    let output = Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(["lint", "examples/digitalocean-pgbouncer"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("DBPLAN_TODAY", "2028-01-01")
        .output()
        .unwrap();
    assert!(
        stderr(&output).contains("notice: the DigitalOcean options snapshot"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&lint(&["lint", "examples/digitalocean-pgbouncer"])).contains("notice:"));
}

#[test]
fn no_output_format_prints_a_literal_password() {
    let secret = "Sup3rSecretPassw0rd";
    let manifest =
        std::fs::read_to_string(root().join("examples/bad/managed-password.yaml")).unwrap();
    assert!(
        manifest.contains(secret),
        "the fixture holds the literal this test looks for"
    );
    for format in ["text", "json", "sarif", "github"] {
        let output = lint(&[
            "lint",
            "examples/bad/managed-password.yaml",
            "--format",
            format,
        ]);
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(
            !all.contains(secret),
            "{format} output shows the password:\n{all}"
        );
        assert!(all.contains("DB202"), "{format}");
    }
    let output = dbplan(&["validate", "examples/bad/managed-password.yaml"]);
    assert!(!stderr(&output).contains(secret));
}

#[test]
fn policy_list_and_explain() {
    let output = dbplan(&["policy", "list"]);
    assert_eq!(output.status.code(), Some(0));
    let list = stdout(&output);
    for code in ["DB101", "DB102", "DB201", "DB301"] {
        assert!(list.contains(code), "{list}");
    }
    // The repository's pack makes DB402 mandatory.
    assert!(
        list.lines()
            .any(|line| line.starts_with("DB402") && line.contains("mandatory")),
        "{list}"
    );
    let output = dbplan(&["policy", "explain", "db101"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("policy-explain-DB101", stdout(&output));
    let output = dbplan(&["policy", "explain", "DB1011"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("did you mean DB101?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_password_of_the_wrong_type_is_not_echoed_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(
        &path,
        "apiVersion: aws.project-planton.org/v1\nkind: AwsRdsCluster\nmetadata: {name: orders}\nspec:\n  engine: aurora-postgresql\n  engineVersion: \"16.4\"\n  password: 98765432123\n",
    )
    .unwrap();
    let output = dbplan(&["validate", &path.to_string_lossy()]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text.contains("error[M006]") && text.contains("(sensitive)"),
        "{text}"
    );
    assert!(!text.contains("98765432123"), "{text}");
}

#[test]
fn validation_errors_and_policy_findings_are_reported_in_one_run() {
    let path = "tests/fixtures/errors-and-violations";
    // (resource, codes it must have, codes it must not have)
    let expected: [(&str, &[&str], &[&str]); 4] = [
        // A wrong retention and a wrong deletion protection next to a window overlap: the
        // overlap is found, and the unknown protection is not called off.
        (
            "AwsRdsCluster/reporting",
            &["M006", "DB101"],
            &["DB402", "DB104"],
        ),
        // A misspelt engine next to a retention of 0 and a single subnet.
        ("AwsRdsCluster/ledger", &["M008", "DB103", "DB102"], &[]),
        // A wrong storage size next to a size DigitalOcean does not offer with a standby.
        ("DigitalOceanDatabaseCluster/tiny", &["M006", "DB301"], &[]),
        // A wrong item next to one open to the whole Internet.
        (
            "DigitalOceanDatabaseFirewall/tiny-trusted-sources",
            &["M008", "DB501"],
            &[],
        ),
    ];
    let output = lint(&["lint", path, "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for (resource, present, absent) in expected {
        let codes: Vec<&str> = findings
            .iter()
            .filter(|entry| entry["resource"] == resource && entry["severity"] != "info")
            .map(|entry| entry["code"].as_str().unwrap())
            .collect();
        for code in present {
            assert!(codes.contains(code), "{resource} lacks {code}: {codes:?}");
        }
        for code in absent {
            assert!(!codes.contains(code), "{resource} has {code}: {codes:?}");
        }
    }
    assert!(
        stderr(&output).contains("linted 4 resources"),
        "{}",
        stderr(&output)
    );

    // Text, SARIF and annotations carry the same results.
    let output = lint(&["lint", path]);
    for code in ["M006", "M008", "DB101", "DB103", "DB301", "DB501"] {
        assert!(
            stderr(&output).contains(&format!("error[{code}]")),
            "{code}: {}",
            stderr(&output)
        );
    }
    let output = lint(&["lint", path, "--format", "github"]);
    for code in ["M006", "DB101"] {
        assert!(
            stdout(&output).contains(&format!("title={code} ")),
            "{code}: {}",
            stdout(&output)
        );
    }

    // A plan refuses the input, and says everything that is wrong with it at once.
    let state = tempfile::tempdir().unwrap();
    let output = lint(&[
        "plan",
        path,
        "--offline",
        "--state",
        &state.path().join("state").to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for code in ["M006", "DB101", "DB301", "DB501"] {
        assert!(
            stderr(&output).contains(&format!("error[{code}]")),
            "{code}: {}",
            stderr(&output)
        );
    }
    assert!(
        stderr(&output).contains("plan not made"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_password_written_as_a_list_or_mapping_is_not_shown_either() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(
        &path,
        "apiVersion: aws.project-planton.org/v1\nkind: AwsRdsCluster\nmetadata: {name: orders}\nspec:\n  engine: aurora-postgresql\n  engineVersion: \"16.4\"\n  password: [\"Sup3rSecretInAList\"]\n  backupRetentionPeriod: seven\n---\napiVersion: aws.project-planton.org/v1\nkind: AwsRdsCluster\nmetadata: {name: billing}\nspec:\n  engine: aurora-postgresql\n  engineVersion: \"16.4\"\n  password: {value: Sup3rSecretInAMap}\n",
    )
    .unwrap();
    let path = path.to_string_lossy();
    for format in ["text", "json", "sarif", "github"] {
        let output = lint(&["lint", &path, "--format", format]);
        let all = text(&output);
        assert_eq!(output.status.code(), Some(1), "{all}");
        assert!(!all.contains("Sup3rSecret"), "{format}:\n{all}");
        assert!(all.contains("M006"), "{format}:\n{all}");
    }
}

#[test]
fn a_today_that_is_not_a_date_is_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(["lint", "examples/digitalocean-postgres"])
        .current_dir(root())
        .env("DBPLAN_TODAY", "yesterday")
        .output()
        .expect("the dbplan binary runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("DBPLAN_TODAY is `yesterday`, which is not a date"),
        "{}",
        stderr(&output)
    );
}
