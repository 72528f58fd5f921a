//! Adoption is explicit and visible, against a real PostgreSQL server: a role and a database
//! that exist but that dbplan did not create plan as `<= adopt` (with the password reset the
//! apply would do), block the plan and fail the apply without an opt-in (the role's password
//! untouched), and are adopted with `dbplan.io/adopt: "true"` or `--adopt ADDR`. (A `pending`
//! record of dbplan's own is still recovered without ceremony: `apply.rs`,
//! `a_failure_midway_lets_independent_tenants_finish_then_converges`.)

use crate::apply::Lab;
use crate::{assert_code, change, text};

/// The server alone, then the server and a tenant `legacy` owned by `legacy_app`, annotated
/// to adopt when `adopt` says so.
fn tenant(lab: &Lab, adopt: bool) {
    lab.manifests(&[]);
    let mut manifests = std::fs::read_to_string(lab.path("tenants.yaml")).unwrap();
    let annotation = if adopt {
        "  annotations:\n    dbplan.io/adopt: \"true\"\n"
    } else {
        ""
    };
    manifests.push_str(&format!(
        "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: legacy\n{annotation}spec:\n  server: pg\n  databaseName: legacy\n  owner: legacy_app\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n  connectionSecret: {{file: secrets/legacy.env, format: env}}\n"
    ));
    std::fs::write(lab.path("tenants.yaml"), manifests).unwrap();
}

/// A lab whose server is applied (so that refresh reaches it) and that has a role and a
/// database dbplan did not create.
fn legacy_lab() -> Lab {
    let lab = Lab::start();
    lab.sql(
        "postgres",
        "CREATE ROLE legacy_app LOGIN PASSWORD 'the-old-password'",
    );
    lab.sql("postgres", "CREATE DATABASE legacy OWNER legacy_app");
    lab.manifests(&[]);
    assert_code(&lab.apply(), 0);
    lab
}

#[test]
fn an_existing_role_and_database_plan_as_adopt_and_apply_refuses_without_opt_in() {
    let lab = legacy_lab();
    tenant(&lab, false);

    // The plan shows both as adopts, with the password reset, and is blocked (exit 1), naming
    // each object and how to opt in.
    let planned = lab.run(&["plan", "tenants.yaml"]);
    assert_code(&planned, 1);
    let shown = super::stdout(&planned);
    for part in ["role", "database"] {
        assert!(
            shown.contains(&format!(" <= TenantDatabase/legacy/{part} {{")),
            "{shown}"
        );
    }
    assert!(
        shown.contains("the role's password will be reset"),
        "{shown}"
    );
    assert!(shown.contains("2 to adopt"), "{shown}");
    let errors = super::stderr(&planned);
    assert!(
        errors.contains("--adopt TenantDatabase/legacy/role")
            && errors.contains("--adopt TenantDatabase/legacy/database")
            && errors.contains("dbplan.io/adopt")
            && errors.contains("dbplan import"),
        "{errors}"
    );
    assert!(
        errors.contains("2 existing objects that dbplan did not create"),
        "{errors}"
    );
    let json = lab.run(&["plan", "tenants.yaml", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&super::stdout(&json)).unwrap();
    let role = change(&plan, "TenantDatabase/legacy/role");
    assert_eq!(role["action"], "adopt");
    assert_eq!(role["before"]["name"], "legacy_app");
    assert!(role["blocked"].is_string(), "{role}");
    assert_eq!(plan["summary"]["adopt"], 2, "{plan}");
    let markdown = lab.run(&["plan", "tenants.yaml", "--format", "markdown"]);
    assert!(
        super::stdout(&markdown).contains("`<=` adopt"),
        "{}",
        text(&markdown)
    );

    // Apply (which plans first) refuses, and the role keeps its password.
    let applied = lab.apply();
    assert_code(&applied, 1);
    lab.login("legacy_app", "the-old-password", "legacy")
        .unwrap();

    // A plan that could not look (offline) plans a create; its apply refuses at the create,
    // names the object and says how to opt in, and leaves no record behind.
    let offline = lab.run(&["plan", "tenants.yaml", "--offline", "--out", "offline.plan"]);
    assert_code(&offline, 0);
    let applied = lab.run(&["apply", "offline.plan"]);
    assert_code(&applied, 1);
    let shown = text(&applied);
    assert!(
        shown.contains("the role \"legacy_app\" already exists, and dbplan did not create it")
            && shown.contains("--adopt TenantDatabase/legacy/role"),
        "{shown}"
    );
    lab.login("legacy_app", "the-old-password", "legacy")
        .unwrap();
    let listed = super::stdout(&lab.run(&["state", "list"]));
    assert!(!listed.contains("TenantDatabase/legacy"), "{listed}");
    assert!(!lab.path("secrets/legacy.env").exists());

    // `--adopt` must name a resource of the manifests.
    let unknown = lab.run(&["plan", "tenants.yaml", "--adopt", "TenantDatabase/legazy"]);
    assert_code(&unknown, 1);
    assert!(
        super::stderr(&unknown)
            .contains("--adopt TenantDatabase/legazy matches no resource in the manifests"),
        "{}",
        text(&unknown)
    );
    // A saved plan carries its opt-ins; more are not added at apply.
    let refused = lab.run(&["apply", "offline.plan", "--adopt", "TenantDatabase/legacy"]);
    assert_code(&refused, 1);

    // `--adopt TenantDatabase/legacy` (every part) opts in: the plan is no longer blocked, and
    // a saved plan keeps the opt-in for `apply FILE`.
    let planned = lab.run(&[
        "plan",
        "tenants.yaml",
        "--adopt",
        "TenantDatabase/legacy",
        "--out",
        "adopt.plan",
    ]);
    assert_code(&planned, 0);
    assert!(
        super::stdout(&planned).contains("TenantDatabase/legacy/role exists and will be adopted"),
        "{}",
        text(&planned)
    );
    assert_code(&lab.run(&["apply", "adopt.plan"]), 0);
    assert!(
        lab.login("legacy_app", "the-old-password", "legacy")
            .is_err()
    );
    let secret = lab.env_secret("legacy");
    let password = secret
        .iter()
        .find(|(key, _)| key == "DB_PASSWORD")
        .map(|(_, value)| value.clone())
        .unwrap();
    assert_eq!(
        lab.login("legacy_app", &password, "legacy").unwrap(),
        "legacy_app"
    );
    assert_eq!(lab.databases(), ["legacy"]);
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

#[test]
fn the_annotation_opts_into_adoption() {
    let lab = legacy_lab();
    tenant(&lab, true);
    let planned = lab.run(&["plan", "tenants.yaml"]);
    assert_code(&planned, 0);
    let shown = super::stdout(&planned);
    assert!(
        shown.contains(" <= TenantDatabase/legacy/role {")
            && shown.contains("the role's password will be reset")
            && !shown.contains("blocked"),
        "{shown}"
    );
    assert_code(&lab.apply(), 0);
    assert!(
        lab.login("legacy_app", "the-old-password", "legacy")
            .is_err()
    );
    let listed = super::stdout(&lab.run(&["state", "list"]));
    assert!(listed.contains("TenantDatabase/legacy/role"), "{listed}");
    assert_eq!(lab.databases(), ["legacy"]);
}

/// A first plan, against no state at all, of a server and a tenant whose role and database
/// exist: the server's password variable is set, so the plan looks and shows both as adopts
/// (blocked without an opt-in) instead of creates; without the variable it cannot look, plans
/// creates, and apply refuses at the create.
#[test]
fn a_first_plan_looks_where_the_credentials_are_at_hand() {
    let lab = Lab::start();
    lab.sql(
        "postgres",
        "CREATE ROLE legacy_app LOGIN PASSWORD 'the-old-password'",
    );
    lab.sql("postgres", "CREATE DATABASE legacy OWNER legacy_app");
    tenant(&lab, false);
    assert!(!lab.path("state").exists());

    let planned = lab.run(&["plan", "tenants.yaml"]);
    assert_code(&planned, 1);
    let shown = super::stdout(&planned);
    for part in ["role", "database"] {
        assert!(
            shown.contains(&format!(" <= TenantDatabase/legacy/{part} {{")),
            "{shown}"
        );
    }
    assert!(
        shown.contains("the role's password will be reset"),
        "{shown}"
    );
    assert!(!lab.path("state").exists(), "plan creates no state");

    // Without the server's password there is nothing to look with: creates, as offline.
    let blind = lab
        .command(&["plan", "tenants.yaml", "--detailed-exitcode"])
        .env_remove("PG_ADMIN_PASSWORD")
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert_code(&blind, 2);
    assert!(
        super::stdout(&blind).contains("TenantDatabase/legacy/role will be created"),
        "{}",
        text(&blind)
    );

    // With the opt-in the first apply adopts them.
    tenant(&lab, true);
    assert_code(&lab.apply(), 0);
    assert!(
        lab.login("legacy_app", "the-old-password", "legacy")
            .is_err(),
        "the adopted role's password was reset"
    );
}
