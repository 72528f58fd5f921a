//! The Markdown rendering, for a pull-request comment: the counts first, then the data-loss
//! risk (every replace, delete or orphan of an object that holds data, and whether a final
//! snapshot is taken), the policy findings, drift, and each change in a `<details>` block.
//! GitHub refuses comments over 65,536 characters, so the text is cut, always at the same
//! place for the same plan, with a note saying what was left out.
//!
//! Text from outside (addresses, attribute names, values, reasons, messages) never breaks the
//! comment's structure: control characters are escaped visibly and newlines with them
//! (`escape::for_terminal`), so nothing starts a new block; code spans are fenced with more
//! backticks than they hold; prose has `&`, `<` and `>` as entities, so nothing opens or closes
//! an HTML element such as `<details>`; table cells have `|` escaped.

use super::json_text;
use super::text::{Painter, headline, render_change, symbol};
use crate::model::{DriftKind, Plan};
use dbplan_core::Action;
use dbplan_diagnostics::escape::for_terminal;
use std::fmt::Write;

/// The most characters the Markdown rendering produces.
pub const MARKDOWN_LIMIT: usize = 65_535;

/// Room kept for the truncation note.
const NOTE_ROOM: usize = 400;

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Outside text as Markdown prose: control characters escaped visibly, `&`, `<` and `>` as
/// entities.
fn prose(text: &str) -> String {
    html_escape(&for_terminal(text))
}

/// Outside text as a code span: control characters escaped visibly, fenced with more backticks
/// than any run in the text (and a space inside when it starts or ends with one), so it cannot
/// end early.
fn code(text: &str) -> String {
    let text = for_terminal(text);
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Builds the text piece by piece, refusing pieces once the limit would be passed.
struct Budget {
    out: String,
    chars: usize,
    limit: usize,
    dropped: usize,
}

impl Budget {
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

/// The plan as Markdown, at most `MARKDOWN_LIMIT` characters.
pub fn markdown(plan: &Plan) -> String {
    markdown_with_limit(plan, MARKDOWN_LIMIT)
}

pub(crate) fn markdown_with_limit(plan: &Plan, limit: usize) -> String {
    let summary = plan.summary();
    let mut budget = Budget {
        out: String::new(),
        chars: 0,
        limit,
        dropped: 0,
    };
    let mut head = String::new();
    let _ = writeln!(head, "### dbplan plan\n");
    let _ = writeln!(
        head,
        "**{} to create, {}{} to update, {} to replace, {} to delete, {} to orphan**\n",
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
    let _ = writeln!(head, "| action | count |\n| --- | ---: |");
    if summary.adopt > 0 {
        let _ = writeln!(
            head,
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
        let _ = writeln!(head, "| {label} | {count} |");
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
        head,
        "\nPlanned against {state}, {}.",
        if plan.refreshed {
            "refreshed from the providers"
        } else {
            "offline (not refreshed)"
        }
    );
    let blocked = plan.blocked();
    if !blocked.is_empty() {
        let _ = writeln!(
            head,
            "\n> [!CAUTION]\n> This plan is blocked: {} change{} may not be applied.",
            blocked.len(),
            if blocked.len() == 1 { "" } else { "s" }
        );
        for change in &blocked {
            let _ = writeln!(
                head,
                "> - {}: {}",
                code(&change.address),
                prose(change.blocked.as_deref().unwrap_or_default())
            );
        }
    }
    budget.push(&head);

    let risks: Vec<_> = plan
        .changes
        .iter()
        .filter(|change| change.is_data_risk())
        .collect();
    budget.push("\n#### Data-loss risk\n\n");
    if risks.is_empty() {
        budget.push("No object holding data is replaced, deleted or orphaned.\n");
    } else {
        budget.push("| object | action | why | final snapshot |\n| --- | --- | --- | --- |\n");
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
            budget.push(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&code(&change.address)),
                change.action.as_str(),
                cell(&why),
                snapshot
            ));
        }
    }

    let findings = super::findings(plan);
    if !findings.is_empty() {
        budget.push("\n#### Policy findings\n\n");
        for finding in findings {
            let marker = match (finding.severity.as_str(), finding.waived) {
                (_, true) => "waived",
                ("error", _) => "**error**",
                ("warning", _) => "warning",
                _ => "info",
            };
            budget.push(&format!(
                "- {marker} {} {}: {}\n",
                code(&finding.code),
                code(&finding.resource),
                cell(&prose(&finding.message))
            ));
        }
    }

    if !plan.drift.is_empty() {
        budget.push("\n#### Changed outside dbplan\n\n");
        for drift in &plan.drift {
            let line = match drift.kind {
                DriftKind::Deleted => format!("- {} was deleted\n", code(&drift.address)),
                DriftKind::Changed => format!(
                    "- {}: {}\n",
                    code(&drift.address),
                    drift
                        .attributes
                        .iter()
                        .map(|attribute| format!(
                            "{} {} → {}",
                            code(&attribute.name),
                            cell(&html_escape(&json_text(&attribute.recorded))),
                            cell(&html_escape(&json_text(&attribute.remote)))
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            budget.push(&line);
        }
    }

    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .collect();
    if !changes.is_empty() {
        budget.push("\n#### Changes\n\n");
        for change in changes {
            let mut body = String::new();
            render_change(&mut body, change, &Painter { color: false });
            // A fence longer than any backtick run in the body keeps it intact.
            let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
            let block = format!(
                "<details><summary><code>{}</code> {}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
                html_escape(symbol(change.action).trim()),
                html_escape(&headline(change))
            );
            budget.push(&block);
        }
    }

    if budget.dropped > 0 {
        let note = format!(
            "\n> [!NOTE]\n> This comment was cut to stay under {limit} characters: {} more section{} not shown. `dbplan show` on the saved plan prints everything.\n",
            budget.dropped,
            if budget.dropped == 1 { " is" } else { "s are" }
        );
        budget.out.push_str(&note);
    }
    budget.out
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

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
