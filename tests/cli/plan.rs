//! `dbplan plan` and `dbplan show`: every example planned against an empty state in all three
//! renderings, and update, replace and delete scenarios against a sled state seeded from an
//! earlier plan (recorded as apply would record it).

use crate::{example_dirs, root, stderr, stdout};
use dbplan_state::{ResourceState, SledStore, StateStore, StateValue};
use serde_json::Value;
use std::path::Path;

fn run(args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"));
    command
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("DBPLAN_TODAY", "2026-11-24")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE");
    command.output().expect("the dbplan binary runs")
}

#[test]
fn every_example_is_planned_in_every_rendering() {
    let _settings = crate::snapshot_settings().bind_to_scope();
    let state = tempfile::tempdir().unwrap();
    let state_path = state.path().join("none");
    let state_arg = state_path.to_string_lossy().into_owned();
    for example in example_dirs() {
        let path = example.to_string_lossy().into_owned();
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        for format in ["text", "json", "markdown"] {
            let output = run(&["plan", &path, "--state", &state_arg, "--format", format]);
            let expected = if name == "bad" { 3 } else { 0 };
            assert_eq!(
                output.status.code(),
                Some(expected),
                "{path}: {}",
                stderr(&output)
            );
            insta::assert_snapshot!(format!("plan-{name}-{format}"), stdout(&output));
        }
    }
    assert!(!state_path.exists(), "plan never creates a state");
}

/// Writes into a sled state what an apply of this plan JSON would record: the planned values,
/// references resolved to outputs, and fake outputs (`<output>-of-<address>`).
fn seed_state(directory: &Path, plan: &Value) {
    let store = SledStore::open(directory, "test seed").unwrap();
    for change in plan["resource_changes"].as_array().unwrap() {
        let address = change["address"].as_str().unwrap();
        let mut resource = ResourceState::new(address.parse().unwrap());
        resource.provider_id = Some(format!("id-{address}"));
        for (key, value) in change["after"].as_object().unwrap() {
            resource
                .attributes
                .insert(key.clone(), StateValue::plain(value.clone()));
        }
        if let Some(references) = change["references"].as_object() {
            for (pointer, reference) in references {
                let resolved = Value::String(format!(
                    "{}-of-{}",
                    reference["output"].as_str().unwrap(),
                    reference["address"].as_str().unwrap()
                ));
                match pointer.split_once('/') {
                    None => {
                        resource
                            .attributes
                            .insert(pointer.clone(), StateValue::plain(resolved));
                    }
                    Some((top, rest)) => {
                        let slot = resource
                            .attributes
                            .get_mut(top)
                            .and_then(|value| value.value.pointer_mut(&format!("/{rest}")))
                            .unwrap();
                        *slot = resolved;
                    }
                }
            }
        }
        for output in resource.kind.outputs() {
            resource.outputs.insert(
                output.name.to_owned(),
                StateValue::plain(format!("{}-of-{address}", output.name)),
            );
        }
        resource.dependencies = serde_json::from_value(change["dependencies"].clone()).unwrap();
        resource.lifecycle = serde_json::from_value(change["lifecycle"].clone()).unwrap();
        store.put(&resource).unwrap();
    }
}

/// A copy of an example in a temporary directory, with its state seeded from its own plan.
fn applied_example(example: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    for entry in std::fs::read_dir(root().join(example)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, manifests.join(path.file_name().unwrap())).unwrap();
    }
    let state = dir.path().join("state");
    let manifests_arg = manifests.to_string_lossy().into_owned();
    let state_arg = state.to_string_lossy().into_owned();
    let output = run(&[
        "plan",
        &manifests_arg,
        "--state",
        &state_arg,
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    seed_state(&state, &serde_json::from_str(&stdout(&output)).unwrap());
    (dir, manifests_arg, state_arg)
}

fn edit(manifests: &str, file: &str, from: &str, to: &str) {
    let path = Path::new(manifests).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Stdout of all three renderings, with the temporary paths and the lineage made stable.
fn renderings(manifests: &str, state: &str, extra: &[&str]) -> (i32, String) {
    let lineage = SledStore::open(Path::new(state), "test read")
        .unwrap()
        .snapshot()
        .unwrap()
        .lineage;
    let mut all = String::new();
    let mut code = None;
    for format in ["text", "markdown", "json"] {
        let mut args = vec![
            "plan",
            manifests,
            "--state",
            state,
            "--offline",
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        let output = run(&args);
        code = output.status.code();
        all.push_str(&format!("===== {format} =====\n"));
        all.push_str(&stdout(&output));
    }
    let temporary = Path::new(manifests)
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (
        code.unwrap(),
        all.replace(&temporary, "[tmp]")
            .replace(&lineage, "[lineage]"),
    )
}

#[test]
fn a_second_plan_has_no_changes_and_detailed_exitcode_says_so() {
    let (_dir, manifests, state) = applied_example("examples/digitalocean-postgres");
    // Offline: the seeded state names no real objects (the refresh against DigitalOcean's
    // API is tested in `digitalocean.rs`).
    let output = run(&[
        "plan",
        &manifests,
        "--state",
        &state,
        "--offline",
        "--detailed-exitcode",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No changes."));
    edit(
        &manifests,
        "dev.yaml",
        "nodeCount: 1",
        "nodeCount: 1\n  storageGib: 30",
    );
    let output = run(&[
        "plan",
        &manifests,
        "--state",
        &state,
        "--offline",
        "--detailed-exitcode",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn an_update_in_place() {
    let _settings = crate::snapshot_settings().bind_to_scope();
    let (_dir, manifests, state) = applied_example("examples/digitalocean-postgres");
    edit(
        &manifests,
        "dev.yaml",
        "sizeSlug: db-s-1vcpu-1gb",
        "sizeSlug: db-s-1vcpu-2gb",
    );
    let (code, text) = renderings(&manifests, &state, &[]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("plan-scenario-update", text);
}

#[test]
fn a_replacement_is_refused_by_policy_and_writes_no_plan_file() {
    let _settings = crate::snapshot_settings().bind_to_scope();
    let (dir, manifests, state) = applied_example("examples/digitalocean-postgres");
    edit(
        &manifests,
        "dev.yaml",
        "clusterName: dev-postgres",
        "clusterName: dev-postgres-2",
    );
    let (code, text) = renderings(&manifests, &state, &[]);
    assert_eq!(code, 3, "replacing a database cluster is DB701, mandatory");
    insta::assert_snapshot!("plan-scenario-replace", text);
    let out = dir.path().join("replace.plan");
    let out_arg = out.to_string_lossy().into_owned();
    let output = run(&[
        "plan",
        &manifests,
        "--state",
        &state,
        "--offline",
        "--out",
        &out_arg,
    ]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("no plan file written"),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
}

#[test]
fn a_delete_and_a_blocked_delete() {
    let _settings = crate::snapshot_settings().bind_to_scope();
    let (_dir, manifests, state) = applied_example("examples/digitalocean-postgres");
    std::fs::remove_file(Path::new(&manifests).join("dev.yaml")).unwrap();
    let (code, text) = renderings(&manifests, &state, &[]);
    assert_eq!(code, 3, "deleting a cluster is DB701");
    insta::assert_snapshot!("plan-scenario-delete", text);

    // Production carries prevent-destroy: removing it blocks the plan (exit 1).
    std::fs::remove_file(Path::new(&manifests).join("production.yaml")).unwrap();
    let output = run(&["plan", &manifests, "--state", &state, "--offline"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("prevent-destroy"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("This plan is blocked"));
    // The Markdown opens with the refusal and the change apply would refuse, not the counts.
    let output = run(&[
        "plan",
        &manifests,
        "--state",
        &state,
        "--offline",
        "--format",
        "markdown",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let markdown = stdout(&output);
    assert!(
        markdown.starts_with(
            "### dbplan plan\n\n> [!CAUTION]\n> **Refused:** apply would refuse this plan: 1 change would destroy a protected object. It is also blocked by "
        ),
        "{markdown}"
    );
    let verdict = markdown.split("\n\n**").next().unwrap();
    assert!(verdict.contains("prevent-destroy"), "{markdown}");
}

#[test]
fn a_saved_plan_is_shown_refused_when_tampered_and_warned_when_stale() {
    let (dir, manifests, state) = applied_example("examples/digitalocean-postgres");
    edit(
        &manifests,
        "dev.yaml",
        "sizeSlug: db-s-1vcpu-1gb",
        "sizeSlug: db-s-1vcpu-2gb",
    );
    let out = dir.path().join("update.plan");
    let out_arg = out.to_string_lossy().into_owned();
    let output = run(&[
        "plan",
        &manifests,
        "--state",
        &state,
        "--offline",
        "--out",
        &out_arg,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let planned_text = stdout(&output);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let output = run(&["show", &out_arg, "--state", &state]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("stale"));
    assert!(
        stdout(&output).starts_with(planned_text.trim_end_matches('\n').lines().next().unwrap())
    );
    assert!(stdout(&output).contains(r#"~ size_slug = "db-s-1vcpu-1gb" -> "db-s-1vcpu-2gb""#));

    let text = std::fs::read_to_string(&out).unwrap();
    let tampered = dir.path().join("tampered.plan");
    std::fs::write(&tampered, text.replace("db-s-1vcpu-2gb", "db-s-2vcpu-4gb")).unwrap();
    let output = run(&["show", &tampered.to_string_lossy(), "--state", &state]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("has been modified"),
        "{}",
        stderr(&output)
    );

    // Another write to the state makes the plan stale: shown, with a warning.
    let store = SledStore::open(Path::new(&state), "another apply").unwrap();
    store
        .remove(
            &"DigitalOceanDatabaseFirewall/prod-postgres-trusted-sources"
                .parse()
                .unwrap(),
        )
        .unwrap();
    drop(store);
    let output = run(&["show", &out_arg, "--state", &state, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output)
            .contains("warning: saved plan is stale: the state has changed since it was made"),
        "{}",
        stderr(&output)
    );
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["summary"]["update"], 1);

    // While another process holds the state, the plan is still shown.
    let _lock = dbplan_state::StateLock::acquire(
        Path::new(&state),
        dbplan_state::LockInfo::current("dbplan apply"),
    )
    .unwrap();
    let output = run(&["show", &out_arg, "--state", &state]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot tell whether the plan is stale"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("size_slug"));
}

#[test]
fn an_unknown_target_is_an_error_with_a_suggestion() {
    let output = run(&[
        "plan",
        "examples/digitalocean-postgres",
        "--state",
        "/nonexistent/state",
        "--target",
        "DigitalOceanDatabaseCluster/dev-postgress",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("did you mean DigitalOceanDatabaseCluster/dev-postgres"),
        "{}",
        stderr(&output)
    );
    let output = run(&[
        "plan",
        "examples/digitalocean-postgres",
        "--state",
        "/nonexistent/state",
        "--target",
        "DigitalOceanDatabaseCluster/dev-postgres",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let addresses: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "DigitalOceanVpc/production-vpc",
            "DigitalOceanDatabaseCluster/dev-postgres"
        ]
    );
}

#[test]
fn no_secret_reaches_any_output_of_the_cli() {
    const CANARY: &str = "canary-c4f1e9-cli-secret";
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("orders.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: aws.project-planton.org/v1\nkind: AwsRdsCluster\nmetadata: {name: orders}\nspec:\n  region: us-east-1\n  engine: aurora-postgresql\n  engineVersion: \"16.4\"\n  username: ordersadmin\n  password: {secretEnv: ORDERS_PASSWORD}\n  storageEncrypted: true\n  deletionProtection: true\n  finalSnapshotIdentifier: orders-final\n  dbSubnetGroupName: existing\n",
    )
    .unwrap();
    // A literal where only `secretEnv` is allowed: refused, and not echoed.
    let invalid = dir.path().join("invalid.yaml");
    std::fs::write(
        &invalid,
        format!("apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {{name: legacy}}\nspec: {{host: db.internal, adminUser: postgres, adminPassword: \"{CANARY}-literal\"}}\n"),
    )
    .unwrap();
    let output = run(&[
        "plan",
        &invalid.to_string_lossy(),
        "--state",
        "/nonexistent/state",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let everything = format!("{}{}", stdout(&output), stderr(&output));
    assert!(everything.contains("admin_password"), "{everything}");
    assert!(
        !everything.contains(CANARY),
        "a secret leaked:\n{everything}"
    );
    let state = dir.path().join("state");
    let manifest_arg = manifest.to_string_lossy().into_owned();
    let state_arg = state.to_string_lossy().into_owned();
    for format in ["text", "json", "markdown"] {
        let out = dir.path().join(format!("{format}.plan"));
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"))
            .args([
                "plan",
                &manifest_arg,
                "--state",
                &state_arg,
                "--format",
                format,
                "--out",
            ])
            .arg(&out)
            .env("ORDERS_PASSWORD", CANARY)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(out.exists());
        let everything = format!(
            "{}{}{}",
            stdout(&output),
            stderr(&output),
            std::fs::read_to_string(&out).unwrap_or_default()
        );
        assert!(
            !everything.contains(CANARY),
            "a secret leaked:\n{everything}"
        );
        assert!(
            everything.contains("(sensitive)") || format == "markdown",
            "{everything}"
        );
    }
}
