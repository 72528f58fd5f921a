//! The loader stays inside what it was given: symbolic links only within the roots, no FIFOs,
//! sockets or devices, no file over the size cap, and nothing of a refused file in any output.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
#![cfg(unix)]

use dbplan_diagnostics::Diagnostic;
use dbplan_manifest::input::{InputError, read_bounded, read_bounded_text};
use dbplan_manifest::{ManifestSet, load_paths};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

const SECRET: &str = "TOKEN-d41d8cd98f00b204e9800998ecf8427e";

/// A valid manifest (so the directories below are not empty of manifests).
const VPC: &str = "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata: {name: inside}\nspec: {region: nyc3}\n";

/// A "manifest" outside the roots whose text must never be shown. It is YAML with a mistake, so
/// that reading it would produce an excerpt with the secret in it.
fn secret_manifest() -> String {
    format!("apiVersion: v1\nkind: NotAKind\nmetadata: {{name: {SECRET}}}\n")
}

/// Runs `work` on a thread and fails the test if it has not finished in time, instead of hanging
/// (what reading a FIFO used to do).
fn within<T: Send + 'static>(seconds: u64, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(Duration::from_secs(seconds))
        .expect("finished without blocking")
}

fn load(paths: Vec<PathBuf>) -> (ManifestSet, Vec<Diagnostic>) {
    within(60, move || load_paths(&paths))
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic.code.as_str())
        .collect()
}

/// No loaded source, message or help holds the secret.
fn assert_secret_absent(set: &ManifestSet, diagnostics: &[Diagnostic]) {
    for (_, file) in set.sources.files() {
        assert!(!file.text().contains(SECRET), "{} was read", file.name());
    }
    for diagnostic in diagnostics {
        let text = format!("{diagnostic:?}");
        assert!(!text.contains(SECRET), "{text}");
    }
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn a_link_to_a_file_outside_the_roots_is_reported_not_read() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("vpc.yaml"), VPC).unwrap();
    let secret = outside.path().join("secret.yaml");
    std::fs::write(&secret, secret_manifest()).unwrap();
    let link = root.path().join("linked.yaml");
    symlink(&secret, &link).unwrap();

    let (set, diagnostics) = load(vec![root.path().to_path_buf()]);
    assert_eq!(codes(&diagnostics), ["M018"], "{diagnostics:#?}");
    let diagnostic = &diagnostics[0];
    assert!(diagnostic.message.contains(&link.display().to_string()));
    assert!(
        diagnostic
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("command line")
    );
    assert_eq!(set.resources.len(), 1, "the file inside is still loaded");
    assert_secret_absent(&set, &diagnostics);
}

/// The case from the issue: a link to the process environment (where tokens live).
#[test]
fn a_link_to_proc_self_environ_is_not_read() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("vpc.yaml"), VPC).unwrap();
    symlink("/proc/self/environ", root.path().join("environ.yaml")).unwrap();
    symlink("/etc/passwd", root.path().join("passwd.yml")).unwrap();
    let (set, diagnostics) = load(vec![root.path().to_path_buf()]);
    assert_eq!(codes(&diagnostics), ["M018", "M018"], "{diagnostics:#?}");
    assert_eq!(set.sources.files().count(), 1, "only vpc.yaml was read");
}

#[test]
fn a_link_to_a_directory_outside_the_roots_is_not_walked() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("vpc.yaml"), VPC).unwrap();
    std::fs::write(outside.path().join("secret.yaml"), secret_manifest()).unwrap();
    symlink(outside.path(), root.path().join("elsewhere")).unwrap();
    let (set, diagnostics) = load(vec![root.path().to_path_buf()]);
    assert_eq!(codes(&diagnostics), ["M018"], "{diagnostics:#?}");
    assert_secret_absent(&set, &diagnostics);
}

/// Links that stay inside a root, or lead into another root, are followed; so is a root that is
/// itself a link (the user named it).
#[test]
fn links_inside_the_roots_are_followed() {
    let base = tempfile::tempdir().unwrap();
    let first = base.path().join("first");
    let second = base.path().join("second");
    std::fs::create_dir_all(first.join("real")).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(first.join("real/a.yaml"), VPC).unwrap();
    symlink(first.join("real"), first.join("alias-dir")).unwrap();
    let other = VPC.replace("inside", "in-second-root");
    std::fs::write(second.join("b.yaml"), other).unwrap();
    symlink(second.join("b.yaml"), first.join("to-second.yaml")).unwrap();
    let root_link = base.path().join("root-link");
    symlink(&first, &root_link).unwrap();

    let (set, diagnostics) = load(vec![root_link, second.clone()]);
    // real/a.yaml is reached twice (directly and through alias-dir): a duplicate, not an escape.
    assert!(!codes(&diagnostics).contains(&"M018"), "{diagnostics:#?}");
    assert!(codes(&diagnostics).contains(&"M011"), "{diagnostics:#?}");
    assert_eq!(set.resources.len(), 2, "{:?}", set.resources);
}

#[test]
fn a_fifo_in_a_directory_is_reported_without_blocking() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("vpc.yaml"), VPC).unwrap();
    mkfifo(&root.path().join("pipe.yaml"));
    let (set, diagnostics) = load(vec![root.path().to_path_buf()]);
    assert_eq!(codes(&diagnostics), ["M019"], "{diagnostics:#?}");
    assert!(diagnostics[0].message.contains("FIFO"), "{diagnostics:#?}");
    assert_eq!(set.resources.len(), 1);
}

#[test]
fn a_fifo_named_directly_is_reported_without_blocking() {
    let root = tempfile::tempdir().unwrap();
    let fifo = root.path().join("pipe.yaml");
    mkfifo(&fifo);
    let (_, diagnostics) = load(vec![fifo]);
    assert_eq!(codes(&diagnostics), ["M019"], "{diagnostics:#?}");
}

#[test]
fn devices_are_refused_before_reading() {
    for device in ["/dev/zero", "/dev/urandom", "/dev/null"] {
        let (_, diagnostics) = load(vec![PathBuf::from(device)]);
        assert_eq!(codes(&diagnostics), ["M019"], "{device}: {diagnostics:#?}");
        assert!(diagnostics[0].message.contains("character device"));
    }
}

#[test]
fn a_socket_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("app.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let error = within(10, move || read_bounded(&path, 1024)).unwrap_err();
    assert!(
        matches!(
            error,
            InputError::NotRegularFile {
                kind: "a socket",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_directory_is_refused_by_read_bounded() {
    let root = tempfile::tempdir().unwrap();
    let error = read_bounded(root.path(), 1024).unwrap_err();
    assert_eq!(error.code().as_str(), "M019", "{error:?}");
}

#[test]
fn a_file_over_the_cap_is_refused_from_its_metadata() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("big.yaml");
    std::fs::write(&path, "x".repeat(2_000)).unwrap();
    let error = read_bounded(&path, 1_000).unwrap_err();
    match &error {
        InputError::TooLarge { size, cap, .. } => {
            assert_eq!(*size, Some(2_000));
            assert_eq!(*cap, 1_000);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.code().as_str(), "M020");
    let diagnostic = error.to_diagnostic();
    assert!(diagnostic.help.unwrap().contains("DBPLAN_MAX_INPUT_BYTES"));
    // At the cap exactly, it is read.
    assert_eq!(read_bounded(&path, 2_000).unwrap().len(), 2_000);
}

/// Files in /proc claim a size of 0 and then produce text: what a file growing between the
/// check and the read looks like. Reading stops after cap + 1 bytes.
#[test]
fn a_file_larger_than_its_metadata_says_is_cut_off_at_the_cap() {
    let error = read_bounded(Path::new("/proc/self/status"), 16).unwrap_err();
    assert!(
        matches!(
            error,
            InputError::TooLarge {
                size: None,
                cap: 16,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(read_bounded(Path::new("/proc/self/status"), 1 << 20).is_ok());
}

#[test]
fn text_must_be_utf8() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("latin1.yaml");
    std::fs::write(&path, b"name: caf\xe9\n").unwrap();
    let error = read_bounded_text(&path, 1024).unwrap_err();
    assert!(
        matches!(error, InputError::NotUtf8 { offset: 9, .. }),
        "{error:?}"
    );
    assert_eq!(error.code().as_str(), "M013");
}
