//! The stable lint JSON (`format_version` bumps on a breaking change):
//! `{"format_version":"1","findings":[{kind,code,id,severity,resource,file,line,column,message,
//! waived}],"summary":{error,warning,info,waived}}`.
//!
//! `kind` is `policy` for a policy finding and `manifest` for a mistake in the input (validation,
//! reference, secret and policy pack diagnostics, listed first); `summary` counts every entry of
//! `findings`. The field was added within format 1: readers that ignore unknown fields see the
//! same shape, and a manifest entry's `resource`, `file`, `line` and `column` are `null` when the
//! mistake has none. The plan JSON's `policy.findings` ([`json`]) hold policy findings only and
//! have no `kind`.

use super::{Entry, entries};
use crate::engine::{Counts, Report};
use dbplan_diagnostics::{Diagnostic, Severity, SourceMap};
use serde_json::{Value, json as object};

pub const FORMAT_VERSION: &str = "1";

fn entry_object(entry: &Entry<'_>, sources: &SourceMap) -> serde_json::Map<String, Value> {
    let (file, line, column) = match entry.location(sources) {
        Some((file, line, column)) => (Value::from(file), Value::from(line), Value::from(column)),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let mut map = serde_json::Map::new();
    map.insert("code".to_owned(), Value::from(entry.code));
    map.insert("id".to_owned(), Value::from(entry.id.as_str()));
    map.insert("severity".to_owned(), Value::from(entry.severity.as_str()));
    map.insert(
        "resource".to_owned(),
        entry.resource.map_or(Value::Null, Value::from),
    );
    map.insert("file".to_owned(), file);
    map.insert("line".to_owned(), line);
    map.insert("column".to_owned(), column);
    map.insert("message".to_owned(), Value::from(entry.message));
    map.insert("waived".to_owned(), Value::from(entry.waived.is_some()));
    map
}

fn counts(entries: &[Entry<'_>]) -> Counts {
    let mut counts = Counts::default();
    for entry in entries {
        match (entry.waived, entry.severity) {
            (Some(_), _) => counts.waived += 1,
            (None, Severity::Error) => counts.error += 1,
            (None, Severity::Warning) => counts.warning += 1,
            (None, Severity::Info) => counts.info += 1,
        }
    }
    counts
}

fn document(findings: Vec<Value>, counts: Counts) -> Value {
    object!({
        "format_version": FORMAT_VERSION,
        "findings": findings,
        "summary": {
            "error": counts.error,
            "warning": counts.warning,
            "info": counts.info,
            "waived": counts.waived,
        },
    })
}

/// The policy findings alone, as the plan JSON embeds them (no `kind`).
pub fn json(report: &Report, sources: &SourceMap) -> Value {
    let entries = entries(report, &[]);
    let findings = entries
        .iter()
        .map(|entry| Value::Object(entry_object(entry, sources)))
        .collect();
    document(findings, counts(&entries))
}

/// The lint JSON: the input's `diagnostics` (kind `manifest`) and the report's findings (kind
/// `policy`).
pub fn lint_json(report: &Report, diagnostics: &[Diagnostic], sources: &SourceMap) -> Value {
    let entries = entries(report, diagnostics);
    let findings = entries
        .iter()
        .map(|entry| {
            let mut map = serde_json::Map::new();
            map.insert("kind".to_owned(), Value::from(entry.kind.as_str()));
            map.extend(entry_object(entry, sources));
            Value::Object(map)
        })
        .collect();
    document(findings, counts(&entries))
}
