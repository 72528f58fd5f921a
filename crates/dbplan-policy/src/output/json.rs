//! The stable lint JSON (`format_version` bumps on a breaking change):
//! `{"format_version":"1","findings":[{code,id,severity,resource,file,line,column,message,
//! waived}],"summary":{error,warning,info,waived}}`.

use super::location;
use crate::engine::Report;
use dbplan_diagnostics::SourceMap;
use serde_json::{Value, json as object};

pub const FORMAT_VERSION: &str = "1";

/// The report as lint JSON.
pub fn json(report: &Report, sources: &SourceMap) -> Value {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let (file, line, column) = match location(sources, finding) {
                Some((file, line, column)) => {
                    (Value::from(file), Value::from(line), Value::from(column))
                }
                None => (Value::Null, Value::Null, Value::Null),
            };
            object!({
                "code": finding.code,
                "id": finding.id,
                "severity": finding.severity.as_str(),
                "resource": finding.resource,
                "file": file,
                "line": line,
                "column": column,
                "message": finding.message,
                "waived": finding.waived.is_some(),
            })
        })
        .collect();
    let counts = report.counts();
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
