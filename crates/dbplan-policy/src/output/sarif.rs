//! SARIF 2.1.0, for code scanning dashboards: every policy with its help text, a rule for each
//! input diagnostic code that occurs (validation, reference, secret, pack), every result with its
//! region, waived findings with an in-source suppression and the waiver's reason.

use super::{Entry, Kind, entries};
use crate::doc::RuleDoc;
use crate::engine::Report;
use crate::pack::{Enforcement, Pack};
use crate::rules::RULES;
use dbplan_diagnostics::{Diagnostic, Severity, SourceMap};
use serde_json::{Value, json};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The family of an input diagnostic code (by its letter): its name and what a user does about
/// it, for the rule's description and help.
fn family(code: &str) -> (&'static str, &'static str) {
    match code.chars().next() {
        Some('M') => (
            "validation",
            "The manifest is not one dbplan can read: its YAML, its kind, a field's name, type or value, or its inputs. Fix it at the location shown; `dbplan schema KIND` prints what a kind accepts and `dbplan validate PATH` reports the same mistakes.",
        ),
        Some('G') => (
            "reference",
            "A reference between resources cannot be resolved: the resource, kind or output it names does not exist or does not fit, or references form a cycle. Fix the reference at the location shown; `dbplan graph PATH` shows the resources and their dependencies once it resolves.",
        ),
        Some('S') => (
            "secret",
            "A secret the manifests name cannot be used as written. Fix the secret's source at the location shown; dbplan never prints a secret's value.",
        ),
        Some('P') => (
            "policy pack",
            "A policy pack file is not valid: fix it at the location shown; `dbplan policy list --policies PATH` shows the enforcement a pack sets.",
        ),
        _ => (
            "input",
            "The input cannot be used as written: fix it at the location shown.",
        ),
    }
}

fn policy_rules(pack: &Pack) -> Vec<Value> {
    RULES
        .iter()
        .map(|rule| {
            let doc = RuleDoc::of(rule);
            let what = doc.section("What it does").unwrap_or_default();
            let enforcement = pack.enforcement(rule);
            let level = match enforcement {
                Enforcement::Mandatory => "error",
                Enforcement::Advisory => "warning",
                Enforcement::Disabled => "none",
            };
            json!({
                "id": rule.code.as_str(),
                "name": rule.id,
                "shortDescription": {"text": rule.code.summary()},
                "fullDescription": {"text": what},
                "help": {"text": doc.markdown, "markdown": doc.markdown},
                "defaultConfiguration": {"level": level, "enabled": enforcement != Enforcement::Disabled},
                "properties": {"kind": Kind::Policy.as_str(), "enforcement": enforcement.as_str()},
            })
        })
        .collect()
}

/// A rule for an input diagnostic code, from its first occurrence (the summary is fixed per
/// code).
fn diagnostic_rule(entry: &Entry<'_>, summary: &str) -> Value {
    let (family, help) = family(entry.code);
    let text = format!("{} {summary} ({family} error). {help}", entry.code);
    let markdown = format!("**{} {summary}** ({family} error)\n\n{help}", entry.code);
    json!({
        "id": entry.code,
        "name": entry.id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": format!("A {family} diagnostic: {summary}.")},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": level(entry.severity)},
        "properties": {"kind": Kind::Manifest.as_str(), "category": family},
    })
}

/// The report and the input's `diagnostics` as a SARIF 2.1.0 log.
pub fn sarif(
    report: &Report,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    pack: &Pack,
    version: &str,
) -> Value {
    let entries = entries(report, diagnostics);
    let mut rules = policy_rules(pack);
    // A rule for each diagnostic code that occurs, in order of code, from its first occurrence.
    let mut codes: Vec<(&str, usize)> = Vec::new();
    let mut first: Vec<&Diagnostic> = diagnostics.iter().collect();
    first.sort_by_key(|diagnostic| diagnostic.code);
    first.dedup_by_key(|diagnostic| diagnostic.code);
    for diagnostic in first {
        codes.push((diagnostic.code.as_str(), rules.len()));
        rules.push(diagnostic_rule(
            &Entry::of_diagnostic(diagnostic),
            &diagnostic.summary,
        ));
    }
    let rule_index = |entry: &Entry<'_>| match entry.kind {
        Kind::Policy => RULES.iter().position(|rule| rule.code == entry.code),
        Kind::Manifest => codes
            .iter()
            .find(|(code, _)| *code == entry.code)
            .map(|(_, index)| *index),
    };
    let results: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut result = json!({
                "ruleId": entry.code,
                "ruleIndex": rule_index(entry).unwrap_or(0),
                "level": level(entry.severity),
                "message": {"text": entry.headline()},
                "properties": {
                    "kind": entry.kind.as_str(),
                    "resource": entry.resource,
                    "help": entry.help,
                },
            });
            if let Some((file, line, column)) = entry.location(sources)
                && let Some(object) = result.as_object_mut()
            {
                object.insert(
                    "locations".to_owned(),
                    json!([{
                        "physicalLocation": {
                            "artifactLocation": {"uri": file.replace('\\', "/")},
                            "region": {"startLine": line, "startColumn": column},
                        },
                    }]),
                );
            }
            if let Some(reason) = entry.waived
                && let Some(object) = result.as_object_mut()
            {
                object.insert(
                    "suppressions".to_owned(),
                    json!([{"kind": "inSource", "status": "accepted", "justification": reason}]),
                );
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "dbplan",
                    "version": version,
                    "rules": rules,
                },
            },
            "results": results,
        }],
    })
}
