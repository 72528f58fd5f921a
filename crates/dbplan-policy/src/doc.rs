//! Policy documentation, read from each rule file's module doc comment, so the text that
//! `dbplan policy explain` prints and `policies/RULES.md` holds is the text next to the code.

use crate::rules::{RULES, Rule};

/// The documentation of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDoc {
    /// The sections (`## What it does` …) as Markdown.
    pub markdown: String,
}

impl RuleDoc {
    /// The doc comment (`//!` lines) at the top of a rule's source file.
    pub fn of(rule: &Rule) -> RuleDoc {
        let mut lines = Vec::new();
        for line in rule.source.lines() {
            let Some(text) = line.strip_prefix("//!") else {
                break;
            };
            lines.push(text.strip_prefix(' ').unwrap_or(text));
        }
        RuleDoc {
            markdown: lines.join("\n").trim().to_owned(),
        }
    }

    /// The text under one `## ` heading, without the heading.
    pub fn section(&self, heading: &str) -> Option<String> {
        let marker = format!("## {heading}");
        let start = self.markdown.find(&marker)? + marker.len();
        let rest = &self.markdown[start..];
        let end = rest.find("\n## ").unwrap_or(rest.len());
        Some(rest[..end].trim().to_owned())
    }
}

/// `dbplan policy explain CODE`: the rule's header, enforcement, parameters and documentation.
pub fn explain(rule: &Rule) -> String {
    let mut summary = rule.code.summary().to_owned();
    if let Some(first) = summary.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let mut out = format!(
        "# {} {}\n\n{summary}.\n\nDefault enforcement: {}.\n",
        rule.code, rule.id, rule.default
    );
    if !rule.params.is_empty() {
        out.push_str("\nParameters (set them in a policy pack):\n\n");
        for param in rule.params {
            out.push_str(&format!(
                "- `{}` (default {}): {}\n",
                param.name, param.default, param.description
            ));
        }
    }
    out.push('\n');
    out.push_str(&RuleDoc::of(rule).markdown);
    out.push('\n');
    out
}

/// The whole catalog as Markdown: what `policies/RULES.md` holds.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# dbplan policies\n\n\
         Generated from the rule files in `crates/dbplan-policy/src/rules/` by\n\
         `DBPLAN_UPDATE_RULES=1 cargo test -p dbplan-policy rules_md`; a test fails when this file\n\
         is stale. `dbplan policy explain CODE` prints one entry.\n\n\
         | code | id | default | summary |\n| --- | --- | --- | --- |\n",
    );
    for rule in RULES {
        out.push_str(&format!(
            "| [{code}](#{anchor}) | `{id}` | {default} | {summary} |\n",
            code = rule.code,
            anchor = format!("{}-{}", rule.code, rule.id).to_ascii_lowercase(),
            id = rule.id,
            default = rule.default,
            summary = rule.code.summary()
        ));
    }
    for rule in RULES {
        out.push('\n');
        out.push_str(
            &explain(rule)
                .replacen("# ", "## ", 1)
                .replace("\n## ", "\n### "),
        );
    }
    out
}
