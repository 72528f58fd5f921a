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
            "databases/objectstore-home-pg-backup.yaml",
            "databases/scheduledbackup-home-pg-scheduled-backup.yaml",
            "databases/secret-home-pg-connection.yaml",
        ]
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
        report.contains("0 written, 5 unchanged, 1 left in place"),
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
