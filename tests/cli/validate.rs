//! `dbplan validate` over the invalid fixtures: every diagnostic, rendered, is snapshot-tested,
//! and the exit code is 1.

use crate::{dbplan, files, stderr, stdout};

#[test]
fn invalid_fixtures_report_every_mistake_with_its_location() {
    let fixtures = files("tests/fixtures/invalid", "yaml");
    assert!(fixtures.len() >= 7, "fixtures missing: {fixtures:?}");
    for fixture in fixtures {
        let path = fixture.to_string_lossy().into_owned();
        let output = dbplan(&["validate", &path]);
        assert_eq!(output.status.code(), Some(1), "{path} must fail validation");
        assert!(
            stdout(&output).is_empty(),
            "validate writes diagnostics to stderr only"
        );
        let name = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("validate-{name}"), stderr(&output));
    }
}

#[test]
fn every_diagnostic_points_at_a_line_and_column() {
    for fixture in files("tests/fixtures/invalid", "yaml") {
        let path = fixture.to_string_lossy().into_owned();
        let text = stderr(&dbplan(&["validate", &path]));
        for block in text
            .split("\n\n")
            .filter(|block| block.starts_with("error") || block.starts_with("warning"))
        {
            assert!(
                block.contains(&format!("--> {path}:")),
                "a diagnostic without a location in {path}:\n{block}"
            );
            assert!(
                block.contains("help:"),
                "a diagnostic without help in {path}:\n{block}"
            );
        }
    }
}

#[test]
fn a_missing_path_is_an_error() {
    let output = dbplan(&["validate", "tests/fixtures/does-not-exist.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("M013"), "{}", stderr(&output));
}

/// Files load in parallel; the outcome must not depend on which thread finishes first: a resource
/// declared in two files is reported in the later file (in path order), pointing back at the
/// earlier one, every time.
#[test]
fn duplicates_across_files_are_reported_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let document = |name: &str| {
        format!(
            "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata: {{name: {name}}}\nspec: {{region: nyc3}}\n"
        )
    };
    for index in 0..40 {
        std::fs::write(
            dir.path().join(format!("a{index:02}.yaml")),
            document(&format!("vpc-{index}")),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("z-duplicate.yaml"), document("vpc-7")).unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    for _ in 0..5 {
        let output = dbplan(&["validate", &path]);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert_eq!(text.matches("error[M011]").count(), 1, "{text}");
        assert!(
            text.contains("z-duplicate.yaml:3:18"),
            "reported at the later file:\n{text}"
        );
        assert!(
            text.contains("a07.yaml:3:18"),
            "labelled with the first declaration:\n{text}"
        );
        assert!(
            text.contains("validated 40 resources in 41 documents from 41 files"),
            "{text}"
        );
    }
}

/// Text that must never appear in dbplan's output: it lives only in files outside the paths
/// given on the command line, or in the environment of the process.
const SECRET: &str = "TOKEN-9f86d081884c7d659a2feaa0c55ad015";

const VPC: &str = "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata: {name: inside}\nspec: {region: nyc3}\n";

/// Runs `dbplan` like [`crate::dbplan`], with extra environment, and fails the test after a
/// minute instead of hanging (what reading a FIFO used to do).
fn dbplan_within(args: &[&str], environment: &[(&str, &str)]) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(args)
        .current_dir(crate::root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_MAX_INPUT_BYTES")
        .envs(environment.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // Only the child this test started, by its id.
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("dbplan {args:?} did not finish within a minute");
        }
    }
}

/// Both streams, for checks that something appears in neither.
fn all_output(output: &std::process::Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A manifest directory holding links to the process environment (where tokens live) and to a
/// file elsewhere: neither is read, each is reported with its path, nothing of them is shown.
#[test]
fn links_out_of_the_manifest_directory_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vpc.yaml"), VPC).unwrap();
    let secret_file = outside.path().join("credentials.yaml");
    std::fs::write(
        &secret_file,
        format!("apiVersion: v1\nkind: Secret\ntoken: {SECRET}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("environ.yaml")).unwrap();
    std::os::unix::fs::symlink(&secret_file, dir.path().join("credentials.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("elsewhere")).unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let output = dbplan_within(&["validate", &path], &[("DBPLAN_TEST_CANARY", SECRET)]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("error[M018]").count(), 3, "{text}");
    assert!(text.contains("environ.yaml"), "{text}");
    assert!(text.contains("credentials.yaml"), "{text}");
    assert!(
        text.contains("validated 1 resource"),
        "the file inside is still validated: {text}"
    );
    assert!(
        !all_output(&output).contains(SECRET),
        "{}",
        all_output(&output)
    );
}

/// A link given on the command line is a root the user named: it is read.
#[test]
fn a_linked_directory_named_on_the_command_line_is_read() {
    let base = tempfile::tempdir().unwrap();
    let real = base.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("vpc.yaml"), VPC).unwrap();
    let link = base.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let output = dbplan_within(&["validate", &link.to_string_lossy()], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_fifo_is_reported_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.yaml");
    mkfifo(&fifo);
    // Named directly, and found in a directory.
    for path in [fifo.clone(), dir.path().to_path_buf()] {
        let output = dbplan_within(&["validate", &path.to_string_lossy()], &[]);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("error[M019]"), "{text}");
        assert!(text.contains("FIFO"), "{text}");
    }
}

#[test]
fn dev_zero_as_a_manifest_is_refused_before_reading() {
    let output = dbplan_within(&["validate", "/dev/zero"], &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("error[M019]"), "{text}");
    assert!(text.contains("character device"), "{text}");
}

/// Over `DBPLAN_MAX_INPUT_BYTES` a file is refused before it is read (no excerpt of it); raising
/// the variable lets it through.
#[test]
fn an_oversized_file_is_refused_and_the_limit_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.yaml");
    let padding = format!("# {SECRET}\n").repeat(60);
    std::fs::write(&file, format!("{VPC}{padding}")).unwrap();
    let path = file.to_string_lossy().into_owned();

    let output = dbplan_within(&["validate", &path], &[("DBPLAN_MAX_INPUT_BYTES", "1KiB")]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("error[M020]"), "{text}");
    assert!(text.contains("DBPLAN_MAX_INPUT_BYTES"), "{text}");
    assert!(!all_output(&output).contains(SECRET), "{text}");

    let output = dbplan_within(&["validate", &path], &[("DBPLAN_MAX_INPUT_BYTES", "1MiB")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_unreadable_size_limit_is_reported() {
    let output = dbplan_within(
        &["validate", "examples/digitalocean-postgres"],
        &[("DBPLAN_MAX_INPUT_BYTES", "lots")],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("error[M022]").count(), 1, "{text}");
}

/// YAML limits are a diagnostic naming the file, the position, the limit and what to do.
#[test]
fn a_yaml_limit_is_a_located_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.yaml");
    std::fs::write(&file, format!("{}{}\n", "[".repeat(500), "]".repeat(500))).unwrap();
    let path = file.to_string_lossy().into_owned();
    let output = dbplan_within(&["validate", &path], &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("error[M021]: YAML limit exceeded"), "{text}");
    assert!(text.contains(&format!("--> {path}:1:65")), "{text}");
    assert!(text.contains("depth 64"), "{text}");
    assert!(text.contains("help: flatten"), "{text}");
    assert!(!text.contains("budget breached"), "{text}");
}

/// Policy packs are read by the same rules: a link in the pack directory that leads outside it
/// is reported and not read.
#[test]
fn policy_pack_links_stay_inside_the_pack_directory() {
    let packs = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret_file = outside.path().join("leak.yaml");
    std::fs::write(
        &secret_file,
        format!("name: {SECRET}\nrules: {{DB999: on}}\n"),
    )
    .unwrap();
    std::fs::write(packs.path().join("base.yaml"), "name: base\nrules: {}\n").unwrap();
    std::os::unix::fs::symlink(&secret_file, packs.path().join("leak.yaml")).unwrap();
    mkfifo(&packs.path().join("pipe.yaml"));
    let output = dbplan_within(
        &[
            "lint",
            "examples/digitalocean-postgres",
            "--policies",
            &packs.path().to_string_lossy(),
        ],
        &[],
    );
    let text = stderr(&output);
    assert!(text.contains("error[M018]"), "{text}");
    assert!(text.contains("error[M019]"), "{text}");
    assert!(
        !all_output(&output).contains(SECRET),
        "{}",
        all_output(&output)
    );
}
