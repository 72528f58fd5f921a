//! `dbplan render`: the Kubernetes objects of examples/cnpg-home as files, offline; the same
//! bytes on every run, secrets without their values, links refused, other files left alone.

use crate::{assert_code, dbplan, stderr, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under a directory, by its path relative to it, with its contents.
fn contents(directory: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                found.insert(path.strip_prefix(directory).unwrap().to_path_buf(), bytes);
            }
        }
    }
    found
}

fn render(out: &Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_string_lossy().into_owned();
    let mut args = vec!["render", "examples/cnpg-home", "--out", out.as_str()];
    args.extend_from_slice(extra);
    dbplan(&args)
}

#[test]
fn the_home_cluster_renders_one_file_per_object_the_same_every_time() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("rendered");
    let first = render(&out, &[]);
    assert_code(&first, 0);
    let files = contents(&out);
    let names: Vec<String> = files
        .keys()
        .map(|name| name.display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "databases/cluster-home-pg.yaml",
            "databases/database-home-pg-nextcloud.yaml",
            "databases/database-home-pg-photos.yaml",
            "databases/objectstore-home-pg-backup.yaml",
            "databases/scheduledbackup-home-pg-scheduled-backup.yaml",
            "databases/secret-home-pg-connection.yaml",
            "databases/secret-home-pg-role-photos-user.yaml",
        ]
    );
    // The tenant on the cluster: its role in the Cluster's managed roles, its password Secret
    // without the password, its Database.
    let tenant_secret = String::from_utf8(
        files[Path::new("databases/secret-home-pg-role-photos-user.yaml")].clone(),
    )
    .unwrap();
    assert!(
        tenant_secret.contains("type: kubernetes.io/basic-auth"),
        "{tenant_secret}"
    );
    assert!(
        tenant_secret.contains("  username: photos_user"),
        "{tenant_secret}"
    );
    assert!(!tenant_secret.contains("password:"), "{tenant_secret}");
    let tenant_database =
        String::from_utf8(files[Path::new("databases/database-home-pg-photos.yaml")].clone())
            .unwrap();
    assert!(
        tenant_database.contains("  owner: photos_user"),
        "{tenant_database}"
    );
    assert!(
        tenant_database.contains("dbplan.io/resource: TenantDatabase/photos"),
        "{tenant_database}"
    );
    let cluster =
        String::from_utf8(files[Path::new("databases/cluster-home-pg.yaml")].clone()).unwrap();
    assert!(
        cluster.starts_with("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n"),
        "{cluster}"
    );
    assert!(
        cluster.contains("app.kubernetes.io/managed-by: dbplan"),
        "{cluster}"
    );
    assert!(
        cluster.contains("  managed:\n    roles:\n    - name: nextcloud\n      ensure: present\n")
            && cluster.contains("    - name: photos_user\n      ensure: present\n"),
        "{cluster}"
    );
    assert!(
        cluster.contains("barmanObjectName: home-pg-backup"),
        "{cluster}"
    );
    let secret =
        String::from_utf8(files[Path::new("databases/secret-home-pg-connection.yaml")].clone())
            .unwrap();
    assert!(secret.contains("type: Opaque"), "{secret}");
    assert!(
        !secret.contains("stringData") && !secret.contains("\ndata:"),
        "{secret}"
    );
    assert!(
        secret.contains(
            "dbplan.io/secret-keys: DATABASE_URL,DB_HOST,DB_PORT,DB_NAME,DB_USER,DB_PASSWORD"
        ),
        "{secret}"
    );

    // A second run writes nothing and changes no byte; a file it did not write stays, named.
    std::fs::write(out.join("databases/notes.txt"), "mine").unwrap();
    let modified = std::fs::metadata(out.join("databases/cluster-home-pg.yaml"))
        .unwrap()
        .modified()
        .unwrap();
    let second = render(&out, &[]);
    assert_code(&second, 0);
    let after = contents(&out);
    assert_eq!(after.len(), files.len() + 1);
    for (name, bytes) in &files {
        assert_eq!(&after[name], bytes, "{} changed", name.display());
    }
    assert_eq!(
        std::fs::metadata(out.join("databases/cluster-home-pg.yaml"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    let report = stderr(&second);
    assert!(
        report.contains("0 written, 7 unchanged, 1 left in place"),
        "{report}"
    );
    assert!(report.contains("notes.txt"), "{report}");
    assert!(
        !directory.path().join("state").exists() && !Path::new("state").join("render").exists()
    );
}

#[test]
fn secret_values_only_on_request_and_never_the_password() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("rendered");
    assert_code(&render(&out, &["--include-secret-values"]), 0);
    let secret =
        std::fs::read_to_string(out.join("databases/secret-home-pg-connection.yaml")).unwrap();
    assert!(secret.contains("stringData:"), "{secret}");
    assert!(
        secret.contains("DB_HOST: home-pg-rw.databases.svc"),
        "{secret}"
    );
    assert!(secret.contains("DB_PORT: \"5432\""), "{secret}");
    assert!(
        !secret.contains("DB_PASSWORD:") && !secret.contains("DATABASE_URL:"),
        "{secret}"
    );
}

#[test]
fn a_linked_output_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let real = directory.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = directory.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let output = render(&link, &[]);
    assert_code(&output, 1);
    assert!(text(&output).contains("symbolic link"), "{}", text(&output));
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}

#[test]
fn invalid_manifests_render_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let manifest = directory.path().join("bad.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: dbplan.io/v1\nkind: CnpgCluster\nmetadata: {name: bad}\nspec: {instances: 0}\n",
    )
    .unwrap();
    let out = directory.path().join("rendered");
    let output = dbplan(&[
        "render",
        &manifest.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_code(&output, 1);
    assert!(!out.exists());
}

/// A database whose `Database` object name the API server refuses (a DNS subdomain cannot end
/// with `-`), although PostgreSQL and the manifest's checks accept the name: `plan` makes no
/// plan and `render` writes nothing, each naming the object, the field and the CRD's message.
#[test]
fn an_object_its_crd_refuses_stops_plan_and_render() {
    let directory = tempfile::tempdir().unwrap();
    let manifest = directory.path().join("cluster.yaml");
    let example = std::fs::read_to_string("examples/cnpg-home/cluster.yaml").unwrap();
    std::fs::write(
        &manifest,
        example.replace("- name: nextcloud", "- name: nextcloud_"),
    )
    .unwrap();
    let manifest = manifest.to_string_lossy().into_owned();
    let state = directory
        .path()
        .join("state")
        .to_string_lossy()
        .into_owned();

    let planned = dbplan(&["plan", &manifest, "--state", &state, "--offline"]);
    assert_code(&planned, 1);
    let said = stderr(&planned);
    assert!(said.contains("error[S002]"), "{said}");
    assert!(
        said.contains("the API server would refuse Database databases/home-pg-nextcloud-: metadata.name: Invalid value"),
        "{said}"
    );
    assert!(
        said.contains("resource: CnpgCluster/home-pg/database-nextcloud_"),
        "{said}"
    );
    assert!(said.contains("plan not made: 1 error"), "{said}");
    assert!(crate::stdout(&planned).is_empty(), "no plan is shown");

    let out = directory.path().join("rendered");
    let rendered = dbplan(&["render", &manifest, "--out", &out.to_string_lossy()]);
    assert_code(&rendered, 1);
    let said = text(&rendered);
    assert!(said.contains("error[S002]"), "{said}");
    assert!(said.contains("rendered nothing"), "{said}");
    assert!(!out.exists(), "nothing is written");
}

/// The parts a plan changes, from its JSON.
fn changed_parts(plan: &std::process::Output) -> std::collections::BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["action"] != "no-op")
        .map(|change| {
            format!(
                "{} {}",
                change["address"].as_str().unwrap(),
                change["action"].as_str().unwrap()
            )
        })
        .collect()
}

/// A rendered file without the Cluster's `spec.managed.roles`: the roles of the databases'
/// owners are added by the database parts' apply, not the cluster part's.
fn without_roles(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line == "  managed:" {
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with("    ") || line.starts_with("  - ")) {
            continue;
        }
        skipping = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The part a rendered file belongs to (the ScheduledBackup takes its settings from the
/// cluster part's `backup`, and is applied with it).
fn part_of_file(name: &Path) -> String {
    let file = name.file_name().unwrap().to_string_lossy().into_owned();
    let part = if let Some(database) = file
        .strip_prefix("database-home-pg-")
        .and_then(|rest| rest.strip_suffix(".yaml"))
    {
        format!("database-{database}")
    } else if file.starts_with("secret-") {
        "connection-secret".to_owned()
    } else {
        "cluster".to_owned()
    };
    format!("CnpgCluster/home-pg/{part}")
}

/// The same manifest change is the same change whether dbplan applies it or renders it for
/// GitOps: against a state of the applied example, the parts `plan` updates (or creates) are
/// exactly those whose rendered files change (or appear).
#[test]
fn plan_and_render_show_the_same_changes() {
    use dbplan_testkit::kubernetes::{FakeConfig, FakeKubernetes};
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let fake = FakeKubernetes::start(FakeConfig {
        status_delay: std::time::Duration::from_millis(10),
        ..FakeConfig::default()
    })
    .unwrap();
    fake.write_kubeconfig(&root.join("kubeconfig")).unwrap();
    let namespace = fake
        .call_json(
            "POST",
            "/api/v1/namespaces",
            &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "databases"}}),
        )
        .unwrap();
    assert!(namespace.status < 300, "{}", namespace.text);
    let example = std::fs::read_to_string("examples/cnpg-home/cluster.yaml").unwrap();
    // The cluster alone: a tenant has no rendered objects of its own.
    let cluster_only = example.split("\n---\n").next().unwrap().to_owned();
    let manifest = root.join("cluster.yaml");
    std::fs::write(&manifest, &cluster_only).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"))
            .args(args)
            .current_dir(root)
            .env("KUBECONFIG", root.join("kubeconfig"))
            .env("NO_COLOR", "1")
            .env_remove("DBPLAN_STATE")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    assert_code(&run(&["apply", "cluster.yaml", "--auto-approve"]), 0);
    assert_code(&run(&["render", "cluster.yaml", "--out", "before"]), 0);
    let before = contents(&root.join("before"));

    for (what, from, to) in [
        ("instances", "instances: 3", "instances: 5"),
        (
            "a parameter",
            "shared_buffers: 256MB",
            "shared_buffers: 512MB",
        ),
        (
            "the retention",
            "retentionPolicy: 7d",
            "retentionPolicy: 14d",
        ),
        (
            "the schedule",
            "schedule: \"0 0 3 * * *\"",
            "schedule: \"0 30 2 * * *\"",
        ),
        (
            "an extension",
            "extensions: [pg_trgm]",
            "extensions: [pg_trgm, unaccent]",
        ),
        (
            "a new database",
            "  backup:\n",
            "    - name: wiki\n      owner: wiki\n  backup:\n",
        ),
        (
            "the secret's keys",
            "keys: [DATABASE_URL, DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD]",
            "keys: [DATABASE_URL]",
        ),
    ] {
        assert!(cluster_only.contains(from), "{what}: {from}");
        std::fs::write(&manifest, cluster_only.replacen(from, to, 1)).unwrap();
        let plan = run(&["plan", "cluster.yaml", "--offline", "--format", "json"]);
        assert_code(&plan, 0);
        let planned = changed_parts(&plan);
        let out = format!("after-{}", what.replace(' ', "-"));
        assert_code(&run(&["render", "cluster.yaml", "--out", &out]), 0);
        let after = contents(&root.join(&out));
        let rendered: std::collections::BTreeSet<String> = after
            .iter()
            .filter(|(name, bytes)| {
                before
                    .get(*name)
                    .is_none_or(|old| without_roles(old) != without_roles(bytes))
            })
            .map(|(name, _)| {
                let action = if before.contains_key(name) {
                    "update"
                } else {
                    "create"
                };
                format!("{} {action}", part_of_file(name))
            })
            .chain(
                before
                    .keys()
                    .filter(|name| !after.contains_key(*name))
                    .map(|name| format!("{} delete", part_of_file(name))),
            )
            .collect();
        assert!(!planned.is_empty(), "{what}: the plan changes something");
        assert_eq!(planned, rendered, "{what}");
        if what == "a new database" {
            // Its owner is a managed role of the Cluster, which its apply adds.
            let cluster =
                String::from_utf8(after[Path::new("databases/cluster-home-pg.yaml")].clone())
                    .unwrap();
            assert!(cluster.contains("    - name: wiki\n"), "{cluster}");
        }
    }
}
