//! SARIF 2.1.0, for code scanning dashboards: every rule with its help text, every finding with
//! its region, waived findings with an in-source suppression and the waiver's reason.

use super::location;
use crate::doc::RuleDoc;
use crate::engine::Report;
use crate::pack::{Enforcement, Pack};
use crate::rules::RULES;
use dbplan_diagnostics::{Severity, SourceMap};
use serde_json::{Value, json};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The report as a SARIF 2.1.0 log.
pub fn sarif(report: &Report, sources: &SourceMap, pack: &Pack, version: &str) -> Value {
    let rules: Vec<Value> = RULES
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
                "id": rule.code,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": what},
                "help": {"text": doc.markdown, "markdown": doc.markdown},
                "defaultConfiguration": {"level": level, "enabled": enforcement != Enforcement::Disabled},
                "properties": {"enforcement": enforcement.as_str()},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let mut result = json!({
                "ruleId": finding.code,
                "ruleIndex": RULES.iter().position(|rule| rule.code == finding.code).unwrap_or(0),
                "level": level(finding.severity),
                "message": {"text": format!("{}: {}", finding.resource, finding.message)},
                "properties": {"resource": finding.resource, "help": finding.help},
            });
            if let Some((file, line, column)) = location(sources, finding)
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
            if let Some(reason) = &finding.waived
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
