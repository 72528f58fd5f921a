//! `dbplan import ADDR ID PATH...` against a real PostgreSQL server: an existing role and
//! database are recorded without a change on the server, the next plan shows only how they
//! differ from the manifest (the role's password, which dbplan cannot read, is set), and apply
//! converges. Every refusal writes nothing.

use crate::apply::{Lab, Tenant};
use std::process::Output;

fn text(output: &Output) -> String {
    format!("{}{}", super::stdout(output), super::stderr(output))
}

fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "unexpected exit code\n{}",
        text(output)
    );
}

fn change<'a>(plan: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address} in {plan}"))
}

/// The tenant `legacy` (owner `legacy_user`, connection limit 5 in the manifest) whose role
/// (limit 3, a password of its own) and database exist on the server already.
fn legacy_lab() -> Lab {
    let lab = Lab::start();
    let mut legacy = Tenant::new("legacy");
    legacy.connection_limit = Some(5);
    lab.manifests(&[legacy]);
    lab.sql(
        "postgres",
        "CREATE ROLE legacy_user LOGIN PASSWORD 'owned-by-another-team' CONNECTION LIMIT 3",
    );
    lab.sql("postgres", "CREATE DATABASE legacy OWNER legacy_user");
    lab
}

fn import(lab: &Lab, address: &str, id: &str) -> Output {
    lab.run(&["import", address, id, "tenants.yaml"])
}

/// The state's serial (`dbplan state export`), to show that a refusal wrote nothing.
fn serial(lab: &Lab) -> u64 {
    let exported = lab.run(&["state", "export"]);
    assert_code(&exported, 0);
    let json: serde_json::Value = serde_json::from_str(&super::stdout(&exported)).unwrap();
    json["state"]["serial"].as_u64().unwrap()
}

#[test]
fn an_imported_role_and_database_plan_only_what_differs_and_apply_converges() {
    let lab = legacy_lab();
    assert_code(
        &lab.run(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--target",
            "PostgresServer/pg",
        ]),
        0,
    );

    let log_before = lab.server.log().len();
    let role = import(&lab, "TenantDatabase/legacy/role", "legacy_user");
    assert_code(&role, 0);
    assert!(
        super::stdout(&role).contains("Imported TenantDatabase/legacy/role (id legacy_user)"),
        "{}",
        text(&role)
    );
    assert!(
        super::stdout(&role).contains("the next apply sets a new one"),
        "{}",
        text(&role)
    );
    assert_code(&import(&lab, "TenantDatabase/legacy/database", "legacy"), 0);

    // Import itself changed nothing on the server: no statement that writes, the old
    // password still logs in, the connection limit is still 3.
    let log = lab.server.log();
    let during_import = &log[log_before.min(log.len())..];
    for statement in ["ALTER", "CREATE", "GRANT", "REVOKE", "DROP"] {
        assert!(
            !during_import.contains(statement),
            "{statement} during import:\n{during_import}"
        );
    }
    assert_eq!(
        lab.login("legacy_user", "owned-by-another-team", "legacy"),
        Ok("legacy_user".to_owned())
    );
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'legacy_user'"
        )
        .trim(),
        "3"
    );

    // Recorded as apply records: ready, with its id, dependencies and lifecycle.
    let shown = lab.run(&["state", "show", "TenantDatabase/legacy/role"]);
    assert_code(&shown, 0);
    let shown = super::stdout(&shown);
    assert!(shown.contains("legacy_user"), "{shown}");
    assert!(shown.contains("PostgresServer/pg"), "{shown}");

    // The plan: the role's limit and password, the database's owner password (the role's
    // new one, known after apply), and the secret file still to write; nothing else.
    let planned = lab.run(&["plan", "tenants.yaml", "--format", "json"]);
    assert_code(&planned, 0);
    let plan: serde_json::Value = serde_json::from_str(&super::stdout(&planned)).unwrap();
    let role = change(&plan, "TenantDatabase/legacy/role");
    assert_eq!(role["action"], "update", "{role}");
    assert_eq!(
        role["changed_attributes"],
        serde_json::json!(["connection_limit", "password"]),
        "{role}"
    );
    assert_eq!(role["before"]["connection_limit"], 3, "{role}");
    assert_eq!(role["after"]["connection_limit"], 5, "{role}");
    let database = change(&plan, "TenantDatabase/legacy/database");
    assert_eq!(database["action"], "update", "{database}");
    assert_eq!(
        database["changed_attributes"],
        serde_json::json!(["owner_password"]),
        "{database}"
    );
    assert_eq!(
        change(&plan, "TenantDatabase/legacy/connection-secret")["action"],
        "create"
    );
    for (action, count) in [
        ("create", 1),
        ("update", 2),
        ("replace", 0),
        ("delete", 0),
        ("orphan", 0),
    ] {
        assert_eq!(plan["summary"][action], count, "{action}: {plan}");
    }
    let shown = lab.run(&["plan", "tenants.yaml"]);
    assert!(
        super::stdout(&shown).contains("its `password` is not known to dbplan"),
        "{}",
        text(&shown)
    );

    // Apply sets the password and the limit; the old password no longer logs in, the
    // secret's does; then nothing is left to do.
    assert_code(&lab.apply(), 0);
    assert!(
        lab.login("legacy_user", "owned-by-another-team", "legacy")
            .is_err()
    );
    let secret = lab.env_secret("legacy");
    let password = secret
        .iter()
        .find(|(key, _)| key == "DB_PASSWORD")
        .map(|(_, value)| value.clone())
        .unwrap();
    assert_eq!(
        lab.login("legacy_user", &password, "legacy"),
        Ok("legacy_user".to_owned())
    );
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'legacy_user'"
        )
        .trim(),
        "5"
    );
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

#[test]
fn import_refuses_what_it_cannot_record_and_writes_nothing() {
    let lab = legacy_lab();

    // Before anything is in state: refused, and no state is created.
    let cases: [(&str, &str, &str); 6] = [
        (
            "TenantDatabase/nothing/role",
            "x",
            "TenantDatabase/nothing/role is not declared in the manifests given",
        ),
        ("nonsense", "x", "\"nonsense\" is not a resource address"),
        (
            "TenantDatabase/legacy",
            "legacy",
            "TenantDatabase/legacy is a component; import each of its parts on its own: TenantDatabase/legacy/connection-secret, TenantDatabase/legacy/database, TenantDatabase/legacy/role",
        ),
        (
            "TenantDatabase/legacy/connection-secret",
            "secrets/legacy.env",
            "TenantDatabase/legacy/connection-secret cannot be imported: a connection secret is a file dbplan writes",
        ),
        (
            "PostgresServer/pg",
            "127.0.0.1",
            "dbplan never creates or changes a PostgresServer",
        ),
        (
            "TenantDatabase/legacy/role",
            "legacy_user",
            "TenantDatabase/legacy/role depends on PostgresServer/pg, which is not in the state yet; import or apply it first",
        ),
    ];
    for (address, id, message) in cases {
        let refused = import(&lab, address, id);
        assert_code(&refused, 1);
        assert!(
            super::stderr(&refused).contains(message),
            "{address}: {}",
            text(&refused)
        );
        assert!(
            super::stderr(&refused).contains("nothing was imported"),
            "{}",
            text(&refused)
        );
        assert!(!lab.path("state").exists(), "{address} created a state");
    }

    assert_code(
        &lab.run(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--target",
            "PostgresServer/pg",
        ]),
        0,
    );
    let before = serial(&lab);

    // An id the server does not have.
    let gone = import(&lab, "TenantDatabase/legacy/role", "no_such_role");
    assert_code(&gone, 1);
    assert!(
        super::stderr(&gone)
            .contains("the postgres provider finds no object with the id \"no_such_role\""),
        "{}",
        text(&gone)
    );
    // A part whose own dependency (the role) is not recorded yet.
    let early = import(&lab, "TenantDatabase/legacy/database", "legacy");
    assert_code(&early, 1);
    assert!(
        super::stderr(&early).contains(
            "TenantDatabase/legacy/database depends on TenantDatabase/legacy/role, which is not in the state yet"
        ),
        "{}",
        text(&early)
    );
    assert_eq!(serial(&lab), before);

    // Imported once; a second import of the same address is refused.
    assert_code(
        &import(&lab, "TenantDatabase/legacy/role", "legacy_user"),
        0,
    );
    let imported = serial(&lab);
    assert_eq!(imported, before + 1);
    let again = import(&lab, "TenantDatabase/legacy/role", "legacy_user");
    assert_code(&again, 1);
    assert!(
        super::stderr(&again).contains(
            "TenantDatabase/legacy/role is already in the state (id legacy_user); `dbplan state rm TenantDatabase/legacy/role` forgets it first"
        ),
        "{}",
        text(&again)
    );
    assert_eq!(serial(&lab), imported);
}
