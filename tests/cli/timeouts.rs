//! Bounded waits through `dbplan apply`: a `PostgresServer` that accepts connections and never
//! answers fails within the configured timeout, with an error naming the address, `host:port`
//! and the step; the independent resources are applied all the same; the command ends and
//! releases the state lock, so `dbplan state list` works right after.
//!
//! The independent resources: a DigitalOcean VPC on the fake DigitalOcean API (always), and a
//! tenant database on a throwaway PostgreSQL server when the PostgreSQL binaries are there. The
//! timeouts are short overrides; the test asserts no timings (the bound shows in the test
//! ending at all).

use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean};
use dbplan_testkit::silent::SilentListener;
use dbplan_testkit::{PgServer, SUPERUSER, SUPERUSER_PASSWORD};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const TOKEN: &str = "dop_v1_canary0token0that0must0never0show0c0ffee";

fn text(output: &Output) -> String {
    format!("{}{}", super::stdout(output), super::stderr(output))
}

fn server(name: &str, port: u16) -> String {
    format!(
        "---\napiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: {name}\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {port}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n"
    )
}

fn tenant(name: &str, server: &str) -> String {
    format!(
        "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: {name}\n  annotations: {{dbplan.io/waive.DB701: \"throwaway test tenant\"}}\nspec:\n  server: {server}\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n  connectionSecret: {{file: secrets/{name}.env, format: env}}\n"
    )
}

const VPC: &str = "---\napiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata:\n  name: independent-vpc\nspec:\n  region: nyc3\n  description: applied while a PostgreSQL server hangs\n  ipRangeCidr: 10.40.0.0/20\n";

#[test]
fn a_silent_postgres_server_fails_bounded_while_independent_resources_apply_and_the_lock_is_released()
 {
    let silent = SilentListener::start().unwrap();
    let fake = FakeDigitalOcean::start(FakeConfig {
        token: Some(TOKEN.to_owned()),
        ..FakeConfig::default()
    })
    .unwrap();
    // A real server for an independent tenant, when the binaries are there.
    let postgres = dbplan_testkit::pg_bin().map(|_| PgServer::start().unwrap());
    let directory = tempfile::tempdir().unwrap();
    let mut manifests = server("silent", silent.port());
    manifests.push_str(&tenant("stuck", "silent"));
    manifests.push_str(VPC);
    if let Some(postgres) = &postgres {
        manifests.push_str(&server("pg", postgres.port));
        manifests.push_str(&tenant("billing", "pg"));
    }
    std::fs::write(directory.path().join("manifests.yaml"), manifests).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dbplan"))
            .args(args)
            .current_dir(directory.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("DBPLAN_STATE")
            .env("PG_ADMIN_PASSWORD", SUPERUSER_PASSWORD)
            .env("DIGITALOCEAN_TOKEN", TOKEN)
            .env("DIGITALOCEAN_API_URL", fake.url())
            // Short, but not so short that a real server's SCRAM authentication (slow in a
            // debug build on a busy machine) would miss it.
            .env("DBPLAN_CONNECT_TIMEOUT", "2")
            .env("DBPLAN_READ_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let started = Instant::now();
    let applied = run(&["apply", "manifests.yaml", "--auto-approve"]);
    eprintln!("apply ended after {:?}", started.elapsed());
    let shown = text(&applied);
    eprintln!("{shown}");
    assert_eq!(applied.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!(
            "PostgresServer/silent: 127.0.0.1:{} accepted the connection, but the startup and authentication timed out after 2 s (DBPLAN_CONNECT_TIMEOUT)",
            silent.port()
        )),
        "{shown}"
    );
    assert!(shown.contains("raise DBPLAN_CONNECT_TIMEOUT"), "{shown}");
    assert!(
        shown.contains("create TenantDatabase/stuck/role: skipped"),
        "{shown}"
    );
    for secret in [SUPERUSER_PASSWORD, TOKEN] {
        assert!(!shown.contains(secret), "a secret in the output:\n{shown}");
    }

    // The independent resources were applied.
    let (status, body) = fake.call("GET", "/v2/vpcs?per_page=200", None).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["vpcs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|vpc| vpc["name"] == "independent-vpc"),
        "{body}"
    );
    if let Some(postgres) = &postgres {
        assert_eq!(
            postgres
                .psql(
                    "postgres",
                    "SELECT datname FROM pg_database WHERE datname = 'billing'"
                )
                .unwrap(),
            "billing"
        );
        assert!(directory.path().join("secrets/billing.env").exists());
    }

    // The command ended and let go of the state: the lock is gone and the state reads.
    assert!(!directory.path().join("state/dbplan.lock").exists());
    let listed = run(&["state", "list"]);
    let shown = text(&listed);
    assert_eq!(listed.status.code(), Some(0), "{shown}");
    assert!(shown.contains("DigitalOceanVpc/independent-vpc"), "{shown}");
    if postgres.is_some() {
        assert!(shown.contains("TenantDatabase/billing/database"), "{shown}");
    }
}
