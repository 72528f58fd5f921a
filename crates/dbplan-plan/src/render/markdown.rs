//! The Markdown rendering, for a pull-request comment. It reads in the order a reviewer decides:
//!
//! 1. the verdict: ready to apply, blocked by N mandatory findings (listed right below), or
//!    refused (each change apply would refuse: a protected object it would destroy, an existing
//!    object it would take over without an opt-in);
//! 2. the counts, and the data-loss risk (every replace, delete or orphan of an object that
//!    holds data, and whether a final snapshot is taken) as a table;
//! 3. each change in a `<details>` block, then drift;
//! 4. the findings grouped by code with their counts, repeated findings (same code, severity and
//!    message) collapsed into one line with their resources in a `<details>`;
//! 5. the run's warnings and notes (a secret variable not set, a file that would be overwritten).
//!
//! GitHub refuses comments over 65,536 characters. A plan that does not fit is cut, always at
//! the same place for the same plan, with a note saying what was left out: the verdict, the
//! counts, the data-loss table and the changed addresses by action (as many as fit, then how
//! many more) come first; the mandatory findings, the changes, drift, findings and warnings
//! follow as far as they fit.
//!
//! Text from outside (addresses, attribute names, values, reasons, messages, notes) goes through
//! one escape, [`escape_markdown`]: control characters are escaped visibly and newlines with
//! them (`escape::for_terminal`), so nothing starts a new block, and every character Markdown
//! or HTML gives a meaning to in running text (`&`, `<`, `>`, `` ` ``, `|`, `\`, `[`, `]`, `*`)
//! becomes an HTML entity, so nothing opens a code span, a link or an element, closes a
//! `<details>` or splits a table cell. Outside names are shown in `<code>` elements holding
//! that escaped text. The change bodies are fenced code blocks, fenced with more backticks than
//! they hold.

use super::json_text;
use super::text::{Painter, headline, render_change, symbol};
use crate::findings::PolicyFinding;
use crate::model::{Change, DriftKind, Plan};
use dbplan_core::Action;
use dbplan_diagnostics::escape::for_terminal;
use dbplan_diagnostics::{Diagnostic, Severity};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The most characters the Markdown rendering produces.
pub const MARKDOWN_LIMIT: usize = 65_535;

/// Room kept for the truncation note.
const NOTE_ROOM: usize = 400;

/// What the Markdown shows beside the plan: the run's diagnostics that are not policy findings
/// (the policy findings and the changes apply would refuse are in the plan itself).
#[derive(Clone, Copy, Debug, Default)]
pub struct Review<'a> {
    /// Warnings and notes of the run, such as S001 (a secret variable not set) or a file that
    /// would be overwritten.
    pub diagnostics: &'a [Diagnostic],
}

/// Outside text for Markdown and HTML: control characters and newlines escaped visibly, and
/// every character with a meaning in Markdown or HTML running text as an entity. The result is
/// safe in prose, in a table cell, in a `<summary>` and in a `<code>` element.
pub fn escape_markdown(text: &str) -> String {
    // The specials first: the visible escapes `for_terminal` then writes (`\u{1b}`, `\n`) are
    // a backslash before a letter, which Markdown shows as it is.
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push_str("&#96;"),
            '|' => out.push_str("&#124;"),
            '\\' => out.push_str("&#92;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '*' => out.push_str("&#42;"),
            other => out.push(other),
        }
    }
    for_terminal(&out).into_owned()
}

/// Outside text as Markdown prose.
fn prose(text: &str) -> String {
    escape_markdown(text)
}

/// An outside name (address, code, attribute) as a `<code>` element.
fn code(text: &str) -> String {
    format!("<code>{}</code>", escape_markdown(text))
}

/// `n thing` or `n things`.
fn plural(count: usize, word: &str) -> String {
    format!("{count} {word}{}", if count == 1 { "" } else { "s" })
}

/// Builds the text piece by piece, refusing pieces once the limit would be passed.
struct Budget {
    out: String,
    chars: usize,
    limit: usize,
    dropped: usize,
}

impl Budget {
    /// Adds a piece that survives every cut.
    fn force(&mut self, piece: &str) {
        self.out.push_str(piece);
        self.chars += piece.chars().count();
    }

    fn push(&mut self, piece: &str) -> bool {
        let count = piece.chars().count();
        if self.chars + count + NOTE_ROOM > self.limit {
            self.dropped += 1;
            return false;
        }
        self.out.push_str(piece);
        self.chars += count;
        true
    }
}

/// One finding or diagnostic as the Markdown lists it.
struct Item {
    code: String,
    /// `**error**`, `warning`, `info` or `waived`.
    marker: &'static str,
    resource: Option<String>,
    message: String,
}

impl Item {
    fn finding(finding: &PolicyFinding) -> Self {
        Item {
            code: finding.code.clone(),
            marker: match (finding.severity, finding.waived) {
                (_, true) => "waived",
                (Severity::Error, _) => "**error**",
                (Severity::Warning, _) => "warning",
                (Severity::Info, _) => "info",
            },
            resource: Some(finding.resource.clone()),
            message: finding.message.clone(),
        }
    }

    fn diagnostic(diagnostic: &Diagnostic) -> Self {
        Item {
            code: diagnostic.code.as_str().to_owned(),
            marker: match diagnostic.severity {
                Severity::Error => "**error**",
                Severity::Warning => "warning",
                Severity::Info => "info",
            },
            resource: diagnostic.resource.clone(),
            message: if diagnostic.message.is_empty() {
                diagnostic.summary.clone()
            } else {
                diagnostic.message.clone()
            },
        }
    }
}

/// Lists items, one line each; items with the same code, marker and message are one line with
/// their count and their resources in a `<details>` below it. Groups keep the order of their
/// first item.
fn list(items: &[&Item]) -> Vec<String> {
    let mut groups: Vec<(&Item, Vec<&str>)> = Vec::new();
    for item in items {
        let same = groups.iter_mut().find(|(first, _)| {
            first.code == item.code && first.marker == item.marker && first.message == item.message
        });
        let resource = item.resource.as_deref().unwrap_or_default();
        match same {
            Some((_, resources)) => resources.push(resource),
            None => groups.push((item, vec![resource])),
        }
    }
    groups
        .into_iter()
        .map(|(item, resources)| {
            if resources.len() == 1 {
                let target = if resources[0].is_empty() {
                    String::new()
                } else {
                    format!(" {}", code(resources[0]))
                };
                format!(
                    "- {} {}{target}: {}\n",
                    item.marker,
                    code(&item.code),
                    prose(&item.message)
                )
            } else {
                format!(
                    "- {} {} × {}: {}\n\n<details><summary>{}</summary>\n\n{}\n\n</details>\n\n",
                    item.marker,
                    code(&item.code),
                    resources.len(),
                    prose(&item.message),
                    plural(resources.len(), "resource"),
                    resources
                        .iter()
                        .map(|resource| code(resource))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        })
        .collect()
}

/// Why apply would refuse the plan, one sentence (empty when it would not).
fn refusal(blocked: &[&Change]) -> String {
    let adopts = blocked
        .iter()
        .filter(|change| change.action == Action::Adopt)
        .count();
    let protected = blocked.len() - adopts;
    let mut reasons = Vec::new();
    if protected > 0 {
        reasons.push(format!(
            "{} would destroy a protected object",
            plural(protected, "change")
        ));
    }
    if adopts > 0 {
        reasons.push(format!(
            "{} that dbplan did not create would be taken over without an opt-in",
            plural(adopts, "existing object")
        ));
    }
    reasons.join("; ")
}

/// The plan as Markdown, at most `MARKDOWN_LIMIT` characters.
pub fn markdown(plan: &Plan, review: &Review<'_>) -> String {
    markdown_with_limit(plan, review, MARKDOWN_LIMIT)
}

// Long: the comment section by section (verdict, what blocks, counts, state, changes, findings,
// diagnostics) in the order they appear, with the length budget that decides what is cut threaded
// through all of them.
pub(crate) fn markdown_with_limit(plan: &Plan, review: &Review<'_>, limit: usize) -> String {
    let summary = plan.summary();
    let findings: Vec<Item> = plan.findings.iter().map(Item::finding).collect();
    let mut mandatory: Vec<&Item> = findings
        .iter()
        .filter(|item| item.marker == "**error**")
        .collect();
    mandatory.sort_by(|a, b| a.code.cmp(&b.code));
    let blocked = plan.blocked();

    // The verdict, and right below it what stands in the way.
    let mut head = String::from("### dbplan plan\n\n");
    if !blocked.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> **Refused:** apply would refuse this plan: {}.{}",
            refusal(&blocked),
            if mandatory.is_empty() {
                String::new()
            } else {
                format!(
                    " It is also blocked by {}.",
                    plural(mandatory.len(), "mandatory finding")
                )
            }
        );
        for change in &blocked {
            let _ = writeln!(
                head,
                "> - {}: {}",
                code(&change.address.to_string()),
                prose(change.blocked.as_deref().unwrap_or_default())
            );
        }
    } else if !mandatory.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> **Blocked by {}:** fix or waive {} before this plan can be applied.",
            plural(mandatory.len(), "mandatory finding"),
            if mandatory.len() == 1 { "it" } else { "them" }
        );
    } else if plan.has_changes() {
        let _ = writeln!(
            head,
            "> [!NOTE]\n> **Ready to apply:** no mandatory finding, no change apply would refuse."
        );
    } else {
        let _ = writeln!(
            head,
            "> [!NOTE]\n> **Nothing to apply:** the objects match the manifests."
        );
    }
    let mandatory_lines = list(&mandatory);
    let mut counts = String::new();
    let _ = writeln!(
        counts,
        "\n**{} to create, {}{} to update, {} to replace, {} to delete, {} to orphan**\n",
        summary.create,
        if summary.adopt > 0 {
            format!("{} to adopt, ", summary.adopt)
        } else {
            String::new()
        },
        summary.update,
        summary.replace,
        summary.delete,
        summary.orphan
    );
    let _ = writeln!(counts, "| action | count |\n| --- | ---: |");
    if summary.adopt > 0 {
        let _ = writeln!(
            counts,
            "| `<=` adopt (exists, not created by dbplan) | {} |",
            summary.adopt
        );
    }
    for (label, count) in [
        ("`+` create", summary.create),
        ("`~` update in place", summary.update),
        ("`-/+` replace", summary.replace),
        ("`-` delete", summary.delete),
        ("`.` orphan (left in place)", summary.orphan),
    ] {
        let _ = writeln!(counts, "| {label} | {count} |");
    }
    let state = if plan.state.lineage.is_empty() {
        "an empty state".to_owned()
    } else {
        format!(
            "state {} serial {}",
            code(&plan.state.lineage),
            plan.state.serial
        )
    };
    let _ = writeln!(
        counts,
        "\nPlanned against {state}, {}.",
        if plan.refreshed {
            "refreshed from the providers"
        } else {
            "offline (not refreshed)"
        }
    );

    let risks: Vec<_> = plan
        .changes
        .iter()
        .filter(|change| change.is_data_risk())
        .collect();
    let mut risk = String::from("\n#### Data-loss risk\n\n");
    if risks.is_empty() {
        risk.push_str("No object holding data is replaced, deleted or orphaned.\n");
    } else {
        risk.push_str("| object | action | why | final snapshot |\n| --- | --- | --- | --- |\n");
        for change in risks {
            let why = match change.action {
                Action::Replace => format!(
                    "{} cannot change in place",
                    change
                        .replace_because
                        .iter()
                        .map(|attribute| code(attribute))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Action::Delete => "removed from the manifests".to_owned(),
                _ => "removed from the manifests; the object is kept".to_owned(),
            };
            let snapshot = match (change.action, change.final_snapshot) {
                (Action::Orphan, _) => "not needed: the object is kept",
                (_, Some(true)) => "yes",
                (_, Some(false)) => "**no**",
                (_, None) => "**no** (dbplan takes none)",
            };
            risk.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&change.address.to_string()),
                change.action.as_str(),
                why,
                snapshot
            ));
        }
    }

    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .collect();
    let mut blocks = Vec::new();
    if !changes.is_empty() {
        blocks.push("\n#### Changes\n\n".to_owned());
        for change in &changes {
            let mut body = String::new();
            render_change(&mut body, change, &Painter { color: false });
            // A fence longer than any backtick run in the body keeps it intact.
            let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
            let block = format!(
                "<details><summary><code>{}</code> {}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
                escape_markdown(symbol(change.action).trim()),
                escape_markdown(&headline(change))
            );
            blocks.push(block);
        }
    }

    let mut rest: Vec<String> = Vec::new();
    if !plan.drift.is_empty() {
        rest.push("\n#### Changed outside dbplan\n\n".to_owned());
        for drift in &plan.drift {
            let line = match drift.kind {
                DriftKind::Deleted => {
                    format!("- {} was deleted\n", code(&drift.address.to_string()))
                }
                DriftKind::Changed => format!(
                    "- {}: {}\n",
                    code(&drift.address.to_string()),
                    drift
                        .attributes
                        .iter()
                        .map(|attribute| format!(
                            "{} {} → {}",
                            code(&attribute.name),
                            prose(&json_text(&attribute.recorded)),
                            prose(&json_text(&attribute.remote))
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            rest.push(line);
        }
    }

    if !findings.is_empty() {
        rest.push("\n#### Findings by code\n\n".to_owned());
        let mut by_code: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
        for item in &findings {
            by_code.entry(item.code.as_str()).or_default().push(item);
        }
        let mut table = String::from(
            "| code | findings | mandatory | waived |\n| --- | ---: | ---: | ---: |\n",
        );
        for (name, items) in &by_code {
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} |",
                code(name),
                items.len(),
                items
                    .iter()
                    .filter(|item| item.marker == "**error**")
                    .count(),
                items.iter().filter(|item| item.marker == "waived").count()
            );
        }
        rest.push(table);
        if !mandatory.is_empty() {
            rest.push("\nThe mandatory findings are listed above.\n".to_owned());
        }
        let others: Vec<&Item> = by_code
            .values()
            .flatten()
            .copied()
            .filter(|item| item.marker != "**error**")
            .collect();
        if !others.is_empty() {
            rest.push("\n".to_owned());
            for line in list(&others) {
                rest.push(line);
            }
        }
    }

    let diagnostics: Vec<Item> = review.diagnostics.iter().map(Item::diagnostic).collect();
    if !diagnostics.is_empty() || !plan.notices.is_empty() {
        rest.push("\n#### Warnings and notes\n\n".to_owned());
        let items: Vec<&Item> = diagnostics.iter().collect();
        for line in list(&items) {
            rest.push(line);
        }
        for notice in &plan.notices {
            rest.push(format!("- {}\n", prose(notice)));
        }
    }

    // Everything, when it fits.
    let mut full = head.clone();
    if !mandatory_lines.is_empty() {
        full.push('\n');
        full.extend(mandatory_lines.iter().map(String::as_str));
    }
    full.push_str(&counts);
    full.push_str(&risk);
    full.extend(blocks.iter().map(String::as_str));
    full.extend(rest.iter().map(String::as_str));
    if full.chars().count() <= limit {
        return full;
    }

    // Cut: the verdict, the counts, the data-loss table and the changed addresses first, then
    // as much of the rest as fits, in order.
    let mut budget = Budget {
        out: String::new(),
        chars: 0,
        limit,
        dropped: 0,
    };
    budget.force(&head);
    budget.force(&counts);
    budget.force(&risk);
    budget.force(&addresses(
        &changes,
        limit.saturating_sub(budget.chars + 2 * NOTE_ROOM),
    ));
    if !mandatory_lines.is_empty() {
        budget.push("\n#### Mandatory findings\n\n");
        for line in &mandatory_lines {
            budget.push(line);
        }
    }
    for piece in blocks.iter().chain(&rest) {
        budget.push(piece);
    }
    let note = format!(
        "\n> [!NOTE]\n> This comment was cut to stay under {limit} characters{}. `dbplan show` on the saved plan prints everything.\n",
        match budget.dropped {
            0 => String::new(),
            1 => ": 1 more section is not shown".to_owned(),
            dropped => format!(": {dropped} more sections are not shown"),
        }
    );
    budget.out.push_str(&note);
    budget.out
}

/// The changed addresses by action, for a cut comment: as many as `room` characters hold, then
/// how many more there are.
fn addresses(changes: &[&Change], room: usize) -> String {
    let mut out = String::from("\n#### Changed addresses\n\n");
    let mut used = out.chars().count();
    let mut left = changes.len();
    for action in [
        Action::Delete,
        Action::Replace,
        Action::Orphan,
        Action::Adopt,
        Action::Update,
        Action::Create,
    ] {
        let of_action: Vec<&&Change> = changes
            .iter()
            .filter(|change| change.action == action)
            .collect();
        if of_action.is_empty() {
            continue;
        }
        let mut line = format!("- {} ({}): ", action.as_str(), of_action.len());
        let mut shown = 0;
        for change in &of_action {
            let name = escape_markdown(&change.address.to_string());
            let piece = if shown == 0 {
                name
            } else {
                format!(", {name}")
            };
            // Room for this piece and for the closing "… and N more" lines.
            if used + line.chars().count() + piece.chars().count() + 80 > room {
                break;
            }
            line.push_str(&piece);
            shown += 1;
        }
        left -= shown;
        if shown < of_action.len() {
            let _ = write!(
                line,
                "{}… and {} more",
                if shown == 0 { "" } else { " " },
                of_action.len() - shown
            );
        }
        line.push('\n');
        used += line.chars().count();
        out.push_str(&line);
    }
    if left > 0 {
        let _ = writeln!(
            out,
            "\n{left} changed address{} not listed; `dbplan show` on the saved plan lists every change.",
            if left == 1 { " is" } else { "es are" }
        );
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for character in text.chars() {
        if character == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::StateRef;

    fn finding(code: &str, resource: &str, severity: &str, message: &str) -> PolicyFinding {
        PolicyFinding {
            code: code.to_owned(),
            id: String::new(),
            severity: match severity {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                _ => Severity::Info,
            },
            resource: resource.to_owned(),
            file: None,
            line: None,
            column: None,
            message: message.to_owned(),
            waived: false,
        }
    }

    fn plan_with(findings: Vec<PolicyFinding>) -> Plan {
        Plan {
            dbplan_version: "test".to_owned(),
            state: StateRef::default(),
            changes: Vec::new(),
            apply_order: Vec::new(),
            drift: Vec::new(),
            findings,
            notices: Vec::new(),
            refreshed: false,
            destroy: false,
            targets: Vec::new(),
            manifests_digest: String::new(),
            policy_pack_digest: String::new(),
        }
    }

    #[test]
    fn a_plan_with_mandatory_findings_opens_with_them() {
        let plan = plan_with(vec![
            finding("DB405", "AwsRdsCluster/a", "warning", "no tags"),
            finding(
                "DB301",
                "DigitalOceanDatabaseCluster/b",
                "error",
                "end of life",
            ),
            finding("DB101", "AwsRdsCluster/c", "error", "windows overlap"),
        ]);
        let markdown = markdown(&plan, &Review::default());
        assert!(
            markdown.starts_with(
                "### dbplan plan\n\n> [!CAUTION]\n> **Blocked by 2 mandatory findings:** fix or waive them before this plan can be applied.\n\n\
                 - **error** <code>DB101</code> <code>AwsRdsCluster/c</code>: windows overlap\n\
                 - **error** <code>DB301</code> <code>DigitalOceanDatabaseCluster/b</code>: end of life\n"
            ),
            "{markdown}"
        );
        // The counts come after the verdict; the warning is under the findings, not the verdict.
        let counts = markdown.find("**0 to create").unwrap();
        assert!(markdown.find("windows overlap").unwrap() < counts);
        let by_code = markdown.find("#### Findings by code").unwrap();
        assert!(markdown[by_code..].contains("| <code>DB101</code> | 1 | 1 | 0 |"));
        assert!(markdown[by_code..].contains("| <code>DB405</code> | 1 | 0 | 0 |"));
        assert!(
            markdown[by_code..]
                .contains("- warning <code>DB405</code> <code>AwsRdsCluster/a</code>: no tags")
        );
    }

    #[test]
    fn a_plan_without_mandatory_findings_is_ready_and_one_without_changes_says_so() {
        let plan = plan_with(vec![finding(
            "DB405",
            "AwsRdsCluster/a",
            "warning",
            "no tags",
        )]);
        let markdown = markdown(&plan, &Review::default());
        assert!(
            markdown.starts_with("### dbplan plan\n\n> [!NOTE]\n> **Nothing to apply:**"),
            "{markdown}"
        );
        assert!(!markdown.contains("CAUTION"), "{markdown}");
    }

    #[test]
    fn repeated_findings_are_one_line_with_their_resources_in_details() {
        let findings = (0..1500)
            .map(|index| {
                finding(
                    "DB405",
                    &format!("AwsRdsCluster/stack-{index:04}"),
                    "warning",
                    "snapshots will not carry the cluster's tags",
                )
            })
            .collect();
        let markdown = markdown(&plan_with(findings), &Review::default());
        assert_eq!(
            markdown
                .matches("snapshots will not carry the cluster's tags")
                .count(),
            1,
            "{markdown}"
        );
        assert!(
            markdown.contains(
                "- warning <code>DB405</code> × 1500: snapshots will not carry the cluster's tags\n\n<details><summary>1500 resources</summary>\n\n<code>AwsRdsCluster/stack-0000</code>, "
            ),
            "{markdown}"
        );
        assert!(markdown.contains("| <code>DB405</code> | 1500 | 0 | 0 |"));
        assert!(markdown.contains("<code>AwsRdsCluster/stack-1499</code>\n\n</details>\n"));
    }

    #[test]
    fn warnings_such_as_s001_and_notices_reach_the_comment_last() {
        let mut plan = plan_with(vec![finding(
            "DB405",
            "AwsRdsCluster/a",
            "warning",
            "no tags",
        )]);
        plan.notices.push("a file would be overwritten".to_owned());
        let diagnostics = [Diagnostic::warning(crate::codes::SECRET_ENV_UNSET)
            .with_message("APP_PASSWORD is not set")
            .with_resource("TenantDatabase/app".to_owned())];
        let markdown = markdown(
            &plan,
            &Review {
                diagnostics: &diagnostics,
            },
        );
        let warnings = markdown.find("#### Warnings and notes").unwrap();
        assert!(markdown.find("#### Findings by code").unwrap() < warnings);
        assert!(
            markdown[warnings..].contains(
                "- warning <code>S001</code> <code>TenantDatabase/app</code>: APP_PASSWORD is not set\n- a file would be overwritten\n"
            ),
            "{markdown}"
        );
    }

    #[test]
    fn hostile_text_cannot_break_code_spans_tables_or_details() {
        let hostile = "x` | </details><img src=x> & [link](y) *b* \\`\nnext";
        let escaped = escape_markdown(hostile);
        for special in ['`', '|', '<', '>', '[', ']', '*', '\n'] {
            assert!(!escaped.contains(special), "{special:?} in {escaped}");
        }
        assert_eq!(
            escaped,
            "x&#96; &#124; &lt;/details&gt;&lt;img src=x&gt; &amp; &#91;link&#93;(y) &#42;b&#42; &#92;&#96;\\nnext"
        );

        // A resource name and a waiver reason with backticks, `</details>` and `|`, repeated so
        // that they land in a collapsed `<details>`.
        let findings = (0..3)
            .map(|index| {
                finding(
                    "DB402",
                    &format!("AwsRdsCluster/a`{index}`</details>|"),
                    "warning",
                    "waived: `because` </details> | <summary>",
                )
            })
            .collect();
        let markdown = markdown(&plan_with(findings), &Review::default());
        assert_eq!(markdown.matches("<details>").count(), 1, "{markdown}");
        assert_eq!(markdown.matches("</details>").count(), 1, "{markdown}");
        assert_eq!(markdown.matches("<summary>").count(), 1, "{markdown}");
        assert!(!markdown.contains("a`"), "{markdown}");
        assert!(
            markdown.contains("| <code>DB402</code> | 3 | 0 | 0 |\n"),
            "{markdown}"
        );
        assert!(
            markdown.contains("<code>AwsRdsCluster/a&#96;0&#96;&lt;/details&gt;&#124;</code>"),
            "{markdown}"
        );
    }

    #[test]
    fn a_cut_comment_keeps_the_verdict_and_says_what_it_left_out() {
        let mut findings: Vec<PolicyFinding> = (0..3000)
            .map(|index| {
                finding(
                    "DB303",
                    &format!("DigitalOceanDatabaseCluster/c-{index:04}"),
                    "warning",
                    &format!("no firewall restricts cluster number {index}"),
                )
            })
            .collect();
        findings.push(finding(
            "DB101",
            "AwsRdsCluster/x",
            "error",
            "windows overlap",
        ));
        let markdown = markdown_with_limit(&plan_with(findings), &Review::default(), 20_000);
        assert!(markdown.chars().count() <= 20_000, "{}", markdown.len());
        assert!(
            markdown.starts_with(
                "### dbplan plan\n\n> [!CAUTION]\n> **Blocked by 1 mandatory finding:**"
            ),
            "{markdown}"
        );
        assert!(markdown.contains("#### Data-loss risk"), "{markdown}");
        assert!(markdown.contains("#### Changed addresses"), "{markdown}");
        assert!(
            markdown.contains("#### Mandatory findings\n\n- **error** <code>DB101</code> <code>AwsRdsCluster/x</code>: windows overlap\n"),
            "{markdown}"
        );
        assert!(
            markdown.contains("This comment was cut to stay under 20000 characters: "),
            "{}",
            &markdown[markdown.len() - 300..]
        );
    }
}
