//! Secrets go only where they should: `secretEnv` cannot name dbplan's own credentials or CI
//! tokens unless allowed by name; DB204 flags a password over a connection that permits
//! plaintext; and the PostgreSQL provider, on the real server, does not send the
//! administrator's password to a server that asks for it in clear text or as MD5 over an
//! unverified connection, while SCRAM still works.

use super::apply::Lab;
use dbplan_testkit::SUPERUSER;
use std::process::{Command, Output, Stdio};

const CANARY: &str = "canary-credential-value-9f1c";

fn text(output: &Output) -> String {
    format!("{}{}", super::stdout(output), super::stderr(output))
}

fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

fn server(name: &str, variable: &str, sslmode: &str) -> String {
    format!(
        "---\napiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: {name}\nspec:\n  host: db.internal.example.com\n  adminUser: dbplan\n  adminPassword: {{secretEnv: {variable}}}\n  sslmode: {sslmode}\n"
    )
}

fn run(directory: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
    command
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE")
        .env_remove("DBPLAN_SECRET_ENV_ALLOW")
        .env("AWS_SECRET_ACCESS_KEY", CANARY)
        .env("GITHUB_TOKEN", CANARY)
        .env("PG_ADMIN_PASSWORD", "an-allowed-password")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[test]
fn secret_env_refuses_credentials_and_ci_tokens_unless_allowed_by_name() {
    let directory = tempfile::tempdir().unwrap();
    let manifest = server("aws", "AWS_SECRET_ACCESS_KEY", "verify-full")
        + &server("ci", "GITHUB_TOKEN", "verify-full")
        + &server("own", "PG_ADMIN_PASSWORD", "verify-full");
    std::fs::write(directory.path().join("servers.yaml"), &manifest).unwrap();
    let line = |needle: &str| {
        manifest
            .lines()
            .position(|line| line.contains(needle))
            .unwrap()
            + 1
    };

    for command in ["validate", "plan"] {
        let refused = run(directory.path(), &[command, "servers.yaml"], &[]);
        assert_code(&refused, 1);
        let printed = text(&refused);
        assert!(
            !printed.contains(CANARY),
            "a value is never shown: {printed}"
        );
        let stderr = super::stderr(&refused);
        assert_eq!(
            stderr
                .matches("error[M023]: secret variable not allowed")
                .count(),
            2,
            "{stderr}"
        );
        for (variable, pattern) in [
            ("AWS_SECRET_ACCESS_KEY", "AWS_*"),
            ("GITHUB_TOKEN", "GITHUB_TOKEN"),
        ] {
            assert!(
                stderr.contains(&format!("servers.yaml:{}:", line(variable))),
                "{stderr}"
            );
            assert!(
                stderr.contains(&format!("names {variable}, which matches {pattern}")),
                "{stderr}"
            );
            assert!(
                stderr.contains(&format!("DBPLAN_SECRET_ENV_ALLOW={variable}")),
                "{stderr}"
            );
        }
        assert!(!stderr.contains("names PG_ADMIN_PASSWORD"), "{stderr}");
    }

    // Allowing one name by its exact name leaves the other refused.
    let allowed = run(
        directory.path(),
        &["validate", "servers.yaml"],
        &[("DBPLAN_SECRET_ENV_ALLOW", "GITHUB_TOKEN")],
    );
    assert_code(&allowed, 1);
    let stderr = super::stderr(&allowed);
    assert_eq!(stderr.matches("error[M023]").count(), 1, "{stderr}");
    assert!(stderr.contains("AWS_SECRET_ACCESS_KEY"), "{stderr}");
    assert!(!stderr.contains("names GITHUB_TOKEN"), "{stderr}");
    let both = run(
        directory.path(),
        &["validate", "servers.yaml"],
        &[(
            "DBPLAN_SECRET_ENV_ALLOW",
            "GITHUB_TOKEN,AWS_SECRET_ACCESS_KEY",
        )],
    );
    assert_code(&both, 0);
}

#[test]
fn a_refused_variable_and_a_plaintext_password_are_both_reported() {
    let directory = tempfile::tempdir().unwrap();
    let manifest = server("leaky", "DIGITALOCEAN_TOKEN", "verify-full")
        + &server("plain", "PG_ADMIN_PASSWORD", "disable")
        + "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: orders\nspec:\n  server: plain\n";
    std::fs::write(directory.path().join("servers.yaml"), &manifest).unwrap();
    let sslmode_line = manifest
        .lines()
        .position(|line| line.contains("sslmode: disable"))
        .unwrap()
        + 1;

    // The error stops the plan; lint still shows both.
    let linted = run(directory.path(), &["lint", "servers.yaml"], &[]);
    let printed = text(&linted);
    assert!(printed.contains("M023"), "{printed}");
    assert!(printed.contains("DB204"), "{printed}");
    let planned = run(directory.path(), &["plan", "servers.yaml"], &[]);
    assert_code(&planned, 1);
    assert!(
        super::stderr(&planned).contains("error[M023]"),
        "{}",
        text(&planned)
    );

    // Allowed, the lint finding remains, mandatory: the plan is refused by policy (exit 3).
    let allowed = run(
        directory.path(),
        &["plan", "servers.yaml"],
        &[("DBPLAN_SECRET_ENV_ALLOW", "DIGITALOCEAN_TOKEN")],
    );
    assert_code(&allowed, 3);
    let stderr = super::stderr(&allowed);
    assert!(
        stderr.contains("error[DB204]: password over a connection that permits plaintext"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("servers.yaml:{sslmode_line}:")),
        "{stderr}"
    );
    assert!(
        stderr.contains("the administrator's password and the password of the tenant orders"),
        "{stderr}"
    );
    assert!(stderr.contains("sslmode: verify-full"), "{stderr}");
}

#[test]
fn the_password_is_not_sent_to_a_server_that_asks_for_it_in_clear_text_or_as_md5() {
    let lab = Lab::start();
    let manifest = format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: pg\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: app\nspec:\n  server: pg\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n",
        lab.server.port
    );
    std::fs::write(lab.path("tenants.yaml"), manifest).unwrap();

    lab.server.set_host_auth("password").unwrap();
    let refused = lab.apply();
    assert_code(&refused, 1);
    let printed = text(&refused);
    assert!(
        printed.contains("asked for the administrator's password in clear text"),
        "{printed}"
    );
    assert!(printed.contains("dbplan did not send it"), "{printed}");
    assert!(printed.contains("scram-sha-256"), "{printed}");
    assert!(printed.contains("sslmode: verify-full"), "{printed}");
    assert!(
        !printed.contains(dbplan_testkit::SUPERUSER_PASSWORD),
        "{printed}"
    );
    assert!(lab.databases().is_empty());

    lab.server
        .psql(
            "postgres",
            &format!(
                "SET password_encryption = 'md5'; ALTER ROLE {SUPERUSER} PASSWORD '{}'",
                dbplan_testkit::SUPERUSER_PASSWORD
            ),
        )
        .unwrap();
    lab.server.set_host_auth("md5").unwrap();
    let refused = lab.apply();
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("as an MD5 hash"),
        "{}",
        text(&refused)
    );

    // The fix the message names: SCRAM. Apply goes through.
    lab.server
        .psql(
            "postgres",
            &format!(
                "SET password_encryption = 'scram-sha-256'; ALTER ROLE {SUPERUSER} PASSWORD '{}'",
                dbplan_testkit::SUPERUSER_PASSWORD
            ),
        )
        .unwrap();
    lab.server.set_host_auth("scram-sha-256").unwrap();
    assert_code(&lab.apply(), 0);
    assert_eq!(lab.databases(), ["app"]);
}
