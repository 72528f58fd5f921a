//! `dbplan policy list` and `dbplan policy explain CODE`.

use crate::exit;
use crate::output;
use dbplan_diagnostics::SourceMap;
use dbplan_diagnostics::escape::Escaped;
use dbplan_policy::{RULES, rule};
use std::io::Write;
use std::path::Path;

/// Every rule with its enforcement under the packs in effect.
pub fn list(policies: Option<&Path>) -> anyhow::Result<u8> {
    let mut sources = SourceMap::new();
    let (pack, diagnostics) = super::lint::load_pack(policies, &mut sources);
    let summary = output::report(&sources, &diagnostics);
    let mut out = String::new();
    for rule in RULES {
        out.push_str(&format!(
            "{:<6} {:<28} {:<10} {}\n",
            rule.code,
            rule.id,
            pack.enforcement(rule).as_str(),
            rule.summary
        ));
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(if summary.error > 0 {
        exit::ERROR
    } else {
        exit::SUCCESS
    })
}

/// One rule's documentation.
pub fn explain(code: &str) -> anyhow::Result<u8> {
    let Some(rule) = rule(code) else {
        let codes: Vec<String> = RULES.iter().map(|rule| rule.code.to_owned()).collect();
        let hint = match dbplan_manifest::schema::suggest(code, &codes) {
            Some(suggestion) => format!("did you mean {suggestion}? "),
            None => String::new(),
        };
        eprintln!(
            "error: `{}` is not a policy code; {}`dbplan policy list` shows every code",
            Escaped(code),
            Escaped(&hint)
        );
        return Ok(exit::ERROR);
    };
    std::io::stdout()
        .lock()
        .write_all(dbplan_policy::explain(rule).as_bytes())?;
    Ok(exit::SUCCESS)
}
