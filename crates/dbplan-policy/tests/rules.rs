//! Every rule against its fixture: `tests/fixtures/<CODE>.yaml` holds resources named `bad-*`
//! (the rule must fail them), `ok-*` (it must pass them), `unknown-*` (it must report that it
//! cannot decide offline) and `support-*` (context for the others). The rendered findings are
//! snapshot-tested.

// Test helpers fail loudly on a broken fixture; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_diagnostics::{RenderOptions, Severity, render_all};
use dbplan_manifest::{Loader, ManifestSet};
use dbplan_policy::options::Snapshot;
use dbplan_policy::{Pack, RULES, Report, RuleDoc};
use std::path::Path;

fn lint_fixture(name: &str) -> (ManifestSet, Report) {
    let relative = format!("tests/fixtures/{name}.yaml");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(&relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("fixture {relative} is missing: {error}"));
    let mut loader = Loader::new();
    loader.add_source(&relative, text);
    let (set, diagnostics) = loader.finish();
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "fixture {relative} does not validate: {errors:#?}"
    );
    let (graph, graph_diagnostics) = dbplan_graph::build(&set);
    assert!(graph_diagnostics.is_empty(), "{graph_diagnostics:#?}");
    let report = dbplan_policy::lint(&set, &graph, &Pack::builtin(), Snapshot::digitalocean());
    (set, report)
}

fn render(set: &ManifestSet, report: &Report, code: &str) -> String {
    let diagnostics: Vec<_> = report
        .findings
        .iter()
        .filter(|finding| finding.code == code)
        .map(|finding| finding.to_diagnostic())
        .collect();
    render_all(&set.sources, &diagnostics, RenderOptions { color: false })
}

#[test]
fn every_rule_fails_its_bad_cases_and_passes_its_good_ones() {
    // Plan rules have no manifest fixture: the plan crate tests them on planned changes.
    for rule in RULES
        .iter()
        .filter(|rule| !rule.code.as_str().starts_with("DB00") && !rule.check.is_plan())
    {
        let (set, report) = lint_fixture(rule.code.as_str());
        let mut cases = 0;
        for resource in &set.resources {
            let name = resource.address.name.as_str();
            let address = resource.address.to_string();
            let found: Vec<_> = report
                .findings
                .iter()
                .filter(|finding| finding.code == rule.code && finding.resource == address)
                .collect();
            if name.starts_with("bad-") {
                assert!(
                    found.iter().any(|finding| !finding.undecidable),
                    "{} must fail {address}; found {found:#?}",
                    rule.code
                );
                cases += 1;
            } else if name.starts_with("ok-") {
                assert!(
                    found.is_empty(),
                    "{} must pass {address}; found {found:#?}",
                    rule.code
                );
                cases += 1;
            } else if name.starts_with("unknown-") {
                assert!(
                    !found.is_empty()
                        && found.iter().all(
                            |finding| finding.undecidable && finding.severity == Severity::Info
                        ),
                    "{} must report {address} as undecidable (info); found {found:#?}",
                    rule.code
                );
                cases += 1;
            }
        }
        let bad = set
            .resources
            .iter()
            .filter(|r| r.address.name.starts_with("bad-"))
            .count();
        let ok = set
            .resources
            .iter()
            .filter(|r| r.address.name.starts_with("ok-"))
            .count();
        assert!(
            bad >= 1 && ok >= 1,
            "{} needs failing and passing cases ({cases} cases)",
            rule.code
        );
        insta::assert_snapshot!(
            rule.code.as_str(),
            render(&set, &report, rule.code.as_str())
        );
    }
}

#[test]
fn waivers_are_applied_validated_and_reported_when_unused() {
    let (set, report) = lint_fixture("waivers");
    let find = |code: &'static str| {
        report
            .findings
            .iter()
            .filter(move |finding| finding.code == code)
    };
    // DB402 is waived with its reason, still listed, and no longer counts.
    let waived: Vec<_> = find("DB402").collect();
    assert_eq!(waived.len(), 1);
    assert!(
        waived[0]
            .waived
            .as_deref()
            .is_some_and(|reason| reason.contains("org SCP"))
    );
    // A blank reason is an error and waives nothing.
    assert_eq!(find("DB001").count(), 1);
    assert!(find("DB405").all(|finding| finding.waived.is_none()));
    // An unknown code is an error with a suggestion.
    let unknown: Vec<_> = find("DB002").collect();
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0].help.contains("DB402") || unknown[0].help.contains("DB4"),
        "{unknown:#?}"
    );
    // A waiver of a rule that found nothing is reported.
    let unused: Vec<_> = find("DB003").collect();
    assert_eq!(unused.len(), 1);
    assert!(unused[0].message.contains("DB101"));
    assert_eq!(report.counts().waived, 1);
    let all: String = ["DB001", "DB002", "DB003", "DB402"]
        .iter()
        .map(|code| render(&set, &report, code))
        .collect();
    insta::assert_snapshot!("waivers", all);
}

#[test]
fn every_rule_is_documented_with_every_section() {
    let mut codes = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for rule in RULES {
        assert!(codes.insert(rule.code), "duplicate code {}", rule.code);
        assert!(ids.insert(rule.id), "duplicate id {}", rule.id);
        let doc = RuleDoc::of(rule);
        for section in ["What it does", "Why is this bad?", "Example", "References"] {
            assert!(
                doc.section(section).is_some_and(|text| !text.is_empty()),
                "{} lacks `## {section}`",
                rule.code
            );
        }
        assert!(
            doc.markdown.contains("Use instead"),
            "{} lacks `Use instead:`",
            rule.code
        );
    }
    let catalog = RULES
        .iter()
        .filter(|rule| !rule.code.as_str().starts_with("DB00"))
        .count();
    assert!(catalog >= 24, "the catalog has {catalog} rules");
}

#[test]
fn rules_md_is_generated_from_the_rule_files() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/RULES.md");
    let expected = dbplan_policy::rules_markdown();
    if std::env::var_os("DBPLAN_UPDATE_RULES").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "policies/RULES.md is stale; run `DBPLAN_UPDATE_RULES=1 cargo test -p dbplan-policy rules_md` and review the diff"
    );
}
