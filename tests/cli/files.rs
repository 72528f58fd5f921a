//! Files dbplan writes stay where they belong (connection secrets on the real PostgreSQL server,
//! the CA certificate against the fake DigitalOcean API): a relative `file` is relative to its
//! manifest; absolute paths and paths leaving the project are refused unless allowed; nothing is
//! written inside the state directory, through links neither; a file dbplan did not write is
//! neither overwritten (unless adopted) nor removed; destroy leaves a file edited since.

use super::apply::Lab;
use dbplan_testkit::SUPERUSER;
use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn text(output: &Output) -> String {
    format!("{}{}", super::stdout(output), super::stderr(output))
}

fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

fn server(port: u16) -> String {
    format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: pg\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {port}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n"
    )
}

/// A tenant that may be destroyed, writing its secret to `file`.
fn tenant(name: &str, file: &str, annotations: &str) -> String {
    format!(
        "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: {name}\n{annotations}spec:\n  server: pg\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n  connectionSecret: {{file: {file}}}\n"
    )
}

fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// The 1-based line of the first line of `file` that contains `needle`.
fn line_of(root: &Path, file: &str, needle: &str) -> usize {
    std::fs::read_to_string(root.join(file))
        .unwrap()
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {file}"))
        + 1
}

#[test]
fn a_relative_file_resolves_next_to_its_manifest() {
    let lab = Lab::start();
    let root = lab.directory.path();
    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port) + &tenant("app", "secrets/app.env", "")),
    );
    let plan = lab.run(&["plan", "deploy"]);
    assert_code(&plan, 0);
    assert!(
        super::stdout(&plan).contains("\"deploy/secrets/app.env\""),
        "the plan shows where the file lands: {}",
        text(&plan)
    );
    assert_code(&lab.run(&["apply", "deploy", "--auto-approve"]), 0);
    let secret = std::fs::read_to_string(root.join("deploy/secrets/app.env")).unwrap();
    assert!(
        secret.contains("DATABASE_URL=postgresql://app_user:"),
        "{secret}"
    );
    assert!(
        !root.join("secrets").exists(),
        "nothing relative to the working directory"
    );
    // The same project named another way is the same file: no changes.
    let again = lab.run(&["plan", "./deploy/", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert_code(&lab.run(&["destroy", "deploy", "--auto-approve"]), 0);
    assert!(!root.join("deploy/secrets/app.env").exists());
}

#[test]
fn files_outside_the_project_are_refused_unless_allowed() {
    let lab = Lab::start();
    let root = lab.directory.path();
    let elsewhere = root.join("elsewhere/abs.env");
    let elsewhere = elsewhere.to_str().unwrap();
    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port) + &tenant("up", "../up.env", "") + &tenant("abs", elsewhere, "")),
    );
    let up_line = line_of(root, "deploy/tenants.yaml", "../up.env");
    let abs_line = line_of(root, "deploy/tenants.yaml", elsewhere);
    for command in ["validate", "plan"] {
        let refused = lab.run(&[command, "deploy"]);
        assert_code(&refused, 1);
        let stderr = super::stderr(&refused);
        assert!(
            stderr.contains("error[M024]: file outside the project"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("deploy/tenants.yaml:{up_line}:")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("deploy/tenants.yaml:{abs_line}:")),
            "{stderr}"
        );
        assert!(stderr.contains("is an absolute path"), "{stderr}");
        assert!(stderr.contains("outside the project"), "{stderr}");
        assert!(stderr.contains("--allow-files-outside"), "{stderr}");
    }
    assert_code(
        &lab.run(&["validate", "deploy", "--allow-files-outside"]),
        0,
    );
    // The setting does what the flag does.
    let applied = lab
        .command(&["apply", "deploy", "--auto-approve"])
        .env("DBPLAN_ALLOW_FILES_OUTSIDE", "1")
        .output()
        .unwrap();
    assert_code(&applied, 0);
    assert!(root.join("up.env").exists());
    assert!(Path::new(elsewhere).exists());
}

#[test]
fn nothing_is_written_inside_the_state_directory_even_through_a_link() {
    let lab = Lab::start();
    let root = lab.directory.path();
    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port) + &tenant("first", "secrets/first.env", "")),
    );
    assert_code(&lab.run(&["apply", "deploy", "--auto-approve"]), 0);
    let head = std::fs::read(root.join("state/head.json")).unwrap();
    std::os::unix::fs::symlink("../state", root.join("deploy/innocent")).unwrap();
    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port)
            + &tenant("first", "secrets/first.env", "")
            + &tenant("linked", "innocent/head.json", "")
            + &tenant("climbing", "../state/db/conf", "")),
    );
    // Allowing files outside the project does not allow the state directory.
    let refused = lab.run(&["plan", "deploy", "--allow-files-outside"]);
    assert_code(&refused, 1);
    let stderr = super::stderr(&refused);
    assert_eq!(
        stderr
            .matches("error[M025]: file inside the state directory")
            .count(),
        2,
        "{stderr}"
    );
    let linked_line = line_of(root, "deploy/tenants.yaml", "innocent/head.json");
    assert!(
        stderr.contains(&format!("deploy/tenants.yaml:{linked_line}:")),
        "{stderr}"
    );
    let refused = lab.run(&["apply", "deploy", "--auto-approve", "--allow-files-outside"]);
    assert_code(&refused, 1);
    assert_eq!(std::fs::read(root.join("state/head.json")).unwrap(), head);
    assert_code(&lab.run(&["state", "check"]), 0);
}

#[test]
fn an_existing_file_dbplan_did_not_write_is_kept_unless_adopted() {
    let lab = Lab::start();
    let root = lab.directory.path();
    write(root, "deploy/secrets/app.env", "PRECIOUS=1\n");
    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port) + &tenant("app", "secrets/app.env", "")),
    );
    let plan = lab.run(&["plan", "deploy"]);
    assert_code(&plan, 0);
    assert!(
        super::stdout(&plan).contains(
            "TenantDatabase/app/connection-secret: would overwrite an existing file deploy/secrets/app.env, which dbplan did not write"
        ),
        "{}",
        text(&plan)
    );
    let line = line_of(root, "deploy/tenants.yaml", "secrets/app.env");
    let stderr = super::stderr(&plan);
    assert!(
        stderr.contains("warning[M026]: would overwrite an existing file"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("deploy/tenants.yaml:{line}:")),
        "{stderr}"
    );
    // The JSON plan carries the notice too.
    let json = lab.run(&["plan", "deploy", "--offline", "--format", "json"]);
    assert!(
        super::stdout(&json).contains("would overwrite an existing file"),
        "{}",
        text(&json)
    );

    let applied = lab.run(&["apply", "deploy", "--auto-approve"]);
    assert_code(&applied, 1);
    let printed = text(&applied);
    assert!(printed.contains("dbplan did not write it"), "{printed}");
    assert!(printed.contains("dbplan.io/adopt"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(root.join("deploy/secrets/app.env")).unwrap(),
        "PRECIOUS=1\n"
    );

    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port)
            + &tenant(
                "app",
                "secrets/app.env",
                "  annotations:\n    dbplan.io/adopt: \"true\"\n",
            )),
    );
    let plan = lab.run(&["plan", "deploy"]);
    assert!(
        super::stdout(&plan).contains("will overwrite the existing file deploy/secrets/app.env"),
        "{}",
        text(&plan)
    );
    assert_code(&lab.run(&["apply", "deploy", "--auto-approve"]), 0);
    let secret = std::fs::read_to_string(root.join("deploy/secrets/app.env")).unwrap();
    assert!(secret.contains("DATABASE_URL="), "{secret}");
}

#[test]
fn destroy_leaves_a_secret_edited_after_apply_and_removes_the_others() {
    let lab = Lab::start();
    let root = lab.directory.path();
    write(
        root,
        "deploy/tenants.yaml",
        &(server(lab.server.port)
            + &tenant("edited", "secrets/edited.env", "")
            + &tenant("untouched", "secrets/untouched.env", "")),
    );
    assert_code(&lab.run(&["apply", "deploy", "--auto-approve"]), 0);
    let edited = root.join("deploy/secrets/edited.env");
    let mut contents = std::fs::read_to_string(&edited).unwrap();
    contents.push_str("EXTRA=added by hand\n");
    std::fs::write(&edited, &contents).unwrap();
    // Not rewritten behind the user's back either.
    let plan = lab.run(&["plan", "deploy", "--detailed-exitcode"]);
    assert_code(&plan, 0);

    let plan = lab.run(&["plan", "deploy", "--destroy"]);
    assert!(
        super::stdout(&plan).contains(
            "TenantDatabase/edited/connection-secret: deploy/secrets/edited.env changed since dbplan wrote it; it is left in place"
        ),
        "{}",
        text(&plan)
    );
    assert!(!super::stdout(&plan).contains("untouched.env changed"));
    assert_code(&lab.run(&["destroy", "deploy", "--auto-approve"]), 0);
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), contents);
    assert!(!root.join("deploy/secrets/untouched.env").exists());
    assert!(lab.databases().is_empty(), "{:?}", lab.databases());
}

const TOKEN: &str = "dop_v1_files0test0token";

fn digitalocean(directory: &Path, fake: &FakeDigitalOcean, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE")
        .env("DIGITALOCEAN_TOKEN", TOKEN)
        .env("DIGITALOCEAN_API_URL", fake.url())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn digitalocean_manifests(file: &str) -> String {
    format!(
        r#"apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {{name: files-vpc}}
spec: {{region: fra1, ipRangeCidr: 10.41.0.0/24}}
---
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata:
  name: files-db
  labels: {{team: shop, env: test}}
  annotations: {{"dbplan.io/waive.DB701": "throwaway test cluster; platform; 2026-11-25"}}
spec:
  clusterName: files-db
  engine: pg
  engineVersion: "17"
  region: fra1
  sizeSlug: db-s-1vcpu-1gb
  nodeCount: 1
  vpc: {{valueFrom: {{name: files-vpc}}}}
---
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseCaCertificate
metadata: {{name: files-ca}}
spec:
  clusterId: {{valueFrom: {{name: files-db}}}}
  file: {file}
"#
    )
}

#[test]
fn the_ca_certificate_file_follows_the_same_rules() {
    let fake = FakeDigitalOcean::start(FakeConfig {
        token: Some(TOKEN.to_owned()),
        create_delay: Duration::from_millis(300),
        ..FakeConfig::default()
    })
    .unwrap_or_else(|error| panic!("{error}"));
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let run = |args: &[&str]| digitalocean(root, &fake, args);

    // Through a link into the state directory: refused before anything is created. (The
    // manifest is named as a file: a directory of manifests may not hold a link that leads
    // out of it, M018.)
    std::fs::create_dir_all(root.join("state")).unwrap();
    write(
        root,
        "do/cluster.yaml",
        &digitalocean_manifests("keys/ca.crt"),
    );
    std::os::unix::fs::symlink("../state", root.join("do/keys")).unwrap();
    let refused = run(&["plan", "do/cluster.yaml"]);
    assert_code(&refused, 1);
    assert!(
        super::stderr(&refused).contains("error[M025]"),
        "{}",
        text(&refused)
    );

    // A file that is not dbplan's: reported, and left alone by apply.
    write(
        root,
        "do/cluster.yaml",
        &digitalocean_manifests("certs/ca.crt"),
    );
    write(root, "do/certs/ca.crt", "my own CA\n");
    let plan = run(&["plan", "do/cluster.yaml"]);
    assert!(
        super::stdout(&plan).contains(
            "DigitalOceanDatabaseCaCertificate/files-ca: would overwrite an existing file do/certs/ca.crt"
        ),
        "{}",
        text(&plan)
    );
    let applied = run(&["apply", "do/cluster.yaml", "--auto-approve"]);
    assert_code(&applied, 1);
    assert!(
        text(&applied).contains("do/certs/ca.crt already exists and dbplan did not write it"),
        "{}",
        text(&applied)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("do/certs/ca.crt")).unwrap(),
        "my own CA\n"
    );

    // Moved away: written, next to the manifest.
    std::fs::remove_file(root.join("do/certs/ca.crt")).unwrap();
    assert_code(&run(&["apply", "do/cluster.yaml", "--auto-approve"]), 0);
    let written = std::fs::read_to_string(root.join("do/certs/ca.crt")).unwrap();
    assert!(
        written.starts_with("-----BEGIN CERTIFICATE-----"),
        "{written}"
    );

    // Edited after apply: neither rewritten nor removed by destroy.
    std::fs::write(root.join("do/certs/ca.crt"), "edited\n").unwrap();
    assert_code(&run(&["plan", "do/cluster.yaml", "--detailed-exitcode"]), 0);
    let destroyed = run(&["destroy", "do/cluster.yaml", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert!(
        text(&destroyed)
            .contains("do/certs/ca.crt changed since dbplan wrote it; it is left in place"),
        "{}",
        text(&destroyed)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("do/certs/ca.crt")).unwrap(),
        "edited\n"
    );
}
