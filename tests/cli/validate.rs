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
