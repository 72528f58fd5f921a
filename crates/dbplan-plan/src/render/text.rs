//! The terminal rendering: Terraform's symbols (`+` create, `<=` adopt, `~` update, `-/+`
//! replace, `-` delete, `.` orphan), attribute-level differences, colour unless `NO_COLOR`. Every name,
//! value, reason and message is shown through `escape::for_terminal` (values as JSON, whose
//! escapes cover the same characters), so the only control characters in the text are its own
//! newlines and colour codes.

use super::{display_value, json_text};
use crate::model::{Change, DriftKind, Plan};
use dbplan_core::{Action, Kind, Value};
use dbplan_diagnostics::escape::for_terminal;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// How to render.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// List the policy findings (a saved plan has no other place to show them).
    pub findings: bool,
}

const GREEN: &str = "\u{1b}[32m";
const YELLOW: &str = "\u{1b}[33m";
const RED: &str = "\u{1b}[31m";
const BOLD: &str = "\u{1b}[1m";
const RESET: &str = "\u{1b}[0m";

/// Strings longer than this are diffed word by word.
const LONG_STRING: usize = 60;

/// Colouring: ANSI codes for the terminal, none for Markdown or a pipe.
pub(crate) struct Painter {
    pub(crate) color: bool,
}

impl Painter {
    pub(crate) fn paint(&self, color: &str, text: &str) -> String {
        if self.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

pub(crate) fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        // Terraform's symbol for reading a data source: the object is read, not made.
        Action::Adopt => "<=",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::Orphan => ".",
        Action::NoOp => " ",
    }
}

pub(crate) fn headline(change: &Change) -> String {
    let address = change.address.to_string();
    let address = for_terminal(&address);
    match change.action {
        // dbplan creates no PostgreSQL server: apply connects to it and checks it.
        Action::Create if change.kind() == Kind::PostgresServer => format!(
            "{address} will be checked: apply connects to the existing server (dbplan creates none)"
        ),
        // A cluster only referenced: apply reads it.
        Action::Create
            if matches!(
                change.kind(),
                Kind::AwsRdsClusterReference | Kind::DigitalOceanDatabaseClusterReference
            ) =>
        {
            format!(
                "{address} will be read: apply reads the existing cluster (dbplan never changes or deletes it)"
            )
        }
        Action::Create => format!("{address} will be created"),
        Action::Adopt if change.blocked.is_some() => format!(
            "{address} exists but dbplan did not create it: apply refuses to adopt it without an opt-in"
        ),
        Action::Adopt => format!("{address} exists and will be adopted"),
        Action::Update if change.records_only() => format!(
            "{address} will be updated in place (in the state only: nothing changes remotely)"
        ),
        Action::Update => format!("{address} will be updated in place"),
        Action::Replace => format!("{address} must be replaced"),
        Action::Delete => format!("{address} will be destroyed"),
        Action::Orphan if change.note.as_deref() == Some(crate::diff::GONE_NOTE) => format!(
            "{address} was deleted outside dbplan: its record will be removed from the state"
        ),
        Action::Orphan => format!(
            "{address} will be removed from the state and left in place (deletion policy Orphan)"
        ),
        Action::NoOp => format!("{address} is up to date"),
    }
}

fn color_of(action: Action) -> &'static str {
    match action {
        Action::Create => GREEN,
        Action::Adopt | Action::Update => YELLOW,
        Action::Replace | Action::Delete => RED,
        Action::Orphan | Action::NoOp => "",
    }
}

/// The plan as text.
// Long: the text plan section by section (notices, drift, changes, counts, findings), in the order
// they are printed.
pub fn text(plan: &Plan, options: TextOptions) -> String {
    let painter = Painter {
        color: options.color,
    };
    let mut out = String::new();

    for notice in &plan.notices {
        let _ = writeln!(out, "notice: {}", for_terminal(notice));
    }
    if !plan.notices.is_empty() {
        out.push('\n');
    }

    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            painter.paint(BOLD, "Objects changed outside dbplan:")
        );
        out.push('\n');
        for drift in &plan.drift {
            let address = drift.address.to_string();
            let address = for_terminal(&address);
            match drift.kind {
                DriftKind::Deleted => {
                    let _ = writeln!(out, "  # {address} was deleted outside dbplan");
                }
                DriftKind::Changed => {
                    let _ = writeln!(out, "  # {address} was changed outside dbplan");
                    for attribute in &drift.attributes {
                        let _ = writeln!(
                            out,
                            "      ~ {} = {} -> {}",
                            for_terminal(&attribute.name),
                            json_text(&attribute.recorded),
                            json_text(&attribute.remote)
                        );
                    }
                }
            }
        }
        out.push('\n');
    }

    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .collect();
    if changes.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The objects match the manifests{}.",
            if plan.refreshed {
                " and the remote systems"
            } else {
                " (offline: compared with the recorded state)"
            }
        );
    } else {
        let adopts = changes.iter().any(|change| change.action == Action::Adopt);
        let _ = writeln!(
            out,
            "dbplan will perform these actions (symbols: + create,{} ~ update in place, -/+ replace, - destroy, . orphan):",
            if adopts { " <= adopt," } else { "" }
        );
        for change in &changes {
            out.push('\n');
            render_change(&mut out, change, &painter);
        }
    }

    if options.findings {
        render_findings(&mut out, plan);
    }

    let summary = plan.summary();
    out.push('\n');
    let _ = writeln!(
        out,
        "{}",
        painter.paint(
            BOLD,
            &format!(
                "Plan: {} to create, {}{} to update, {} to replace, {} to delete, {} to orphan.",
                summary.create,
                // Shown only when there is one, so that plans without adopts read as before.
                if summary.adopt > 0 {
                    format!("{} to adopt, ", summary.adopt)
                } else {
                    String::new()
                },
                summary.update,
                summary.replace,
                summary.delete,
                summary.orphan
            )
        )
    );
    let blocked = plan.blocked();
    if !blocked.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            painter.paint(
                RED,
                &format!(
                    "This plan is blocked: {} change{} may not be applied (see `blocked:` above).",
                    blocked.len(),
                    if blocked.len() == 1 { "" } else { "s" }
                )
            )
        );
    }
    out
}

/// One change: headline, then its attributes.
// Long: one change's headline, notes and attribute lines, with the arms per action next to each
// other so their differences read side by side.
pub(crate) fn render_change(out: &mut String, change: &Change, painter: &Painter) {
    let color = color_of(change.action);
    let _ = writeln!(out, "  # {}", headline(change));
    if let Some(note) = &change.note {
        let _ = writeln!(out, "  # ({})", for_terminal(note));
    }
    if let Some(reason) = &change.blocked {
        let _ = writeln!(
            out,
            "  {}",
            painter.paint(RED, &format!("# blocked: {}", for_terminal(reason)))
        );
    }
    let shown = match change.action {
        Action::Create => &change.after,
        Action::Delete | Action::Orphan => &change.before,
        _ => &change.after,
    };
    if shown.is_empty()
        && matches!(
            change.action,
            Action::Create | Action::Delete | Action::Orphan
        )
    {
        // A part whose settings all live in another object: no empty `{ }` block.
        let _ = writeln!(
            out,
            "{} {} (no settings of its own)",
            painter.paint(color, &format!("{:>3}", symbol(change.action))),
            for_terminal(&change.address.to_string())
        );
        return;
    }
    let _ = writeln!(
        out,
        "{} {} {{",
        painter.paint(color, &format!("{:>3}", symbol(change.action))),
        for_terminal(&change.address.to_string())
    );
    match change.action {
        Action::Create => {
            let width = change.after.keys().map(String::len).max().unwrap_or(0);
            for (name, value) in &change.after {
                if engine_default(change.kind(), name, value) {
                    let pad = " ".repeat(width.saturating_sub(name.chars().count()));
                    let _ = writeln!(
                        out,
                        "      {} {}{pad} = (engine default)",
                        painter.paint(GREEN, "+"),
                        for_terminal(name)
                    );
                    continue;
                }
                attribute_line(
                    out,
                    painter,
                    "+",
                    GREEN,
                    name,
                    width,
                    None,
                    Some(value),
                    false,
                );
            }
        }
        Action::Delete | Action::Orphan => {
            let width = change.before.keys().map(String::len).max().unwrap_or(0);
            let sign = if change.action == Action::Delete {
                "-"
            } else {
                " "
            };
            for (name, value) in &change.before {
                attribute_line(
                    out,
                    painter,
                    sign,
                    RED,
                    name,
                    width,
                    Some(value),
                    None,
                    false,
                );
            }
        }
        Action::Update | Action::Replace | Action::Adopt => {
            for effect in &change.adopt_effects {
                let _ = writeln!(
                    out,
                    "      {} {}",
                    painter.paint(YELLOW, "!"),
                    for_terminal(effect)
                );
            }
            let width = change.changed.iter().map(String::len).max().unwrap_or(0);
            for name in &change.changed {
                if let (Some(before), None) = (change.before.get(name), change.after.get(name)) {
                    // Removed from the manifest where the provider cannot reset it.
                    let pad = " ".repeat(width.saturating_sub(name.chars().count()));
                    let _ = writeln!(
                        out,
                        "      {} {}{pad} = {} -> (no longer recorded; the object keeps it)",
                        painter.paint(YELLOW, "~"),
                        for_terminal(name),
                        display_value(before, false)
                    );
                    continue;
                }
                let forces = change.replace_because.contains(name);
                // An attribute that was not recorded is added, not changed.
                let (sign, color) = if change.before.contains_key(name) {
                    ("~", YELLOW)
                } else {
                    ("+", GREEN)
                };
                attribute_line(
                    out,
                    painter,
                    sign,
                    color,
                    name,
                    width,
                    change.before.get(name),
                    change.after.get(name),
                    forces,
                );
            }
            lifecycle_lines(out, change, painter);
            let hidden = change
                .after
                .len()
                .saturating_sub(change.changed.len() - change.forgotten().count());
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "        # ({hidden} unchanged attribute{} hidden)",
                    if hidden == 1 { "" } else { "s" }
                );
            }
        }
        Action::NoOp => {}
    }
    let _ = writeln!(out, "    }}");
}

/// Whether a planned value means "the engine's default" rather than itself: an Aurora
/// `port` of 0 (or none) is the engine's default port, 3306 or 5432.
fn engine_default(kind: Kind, name: &str, value: &Value) -> bool {
    kind == Kind::AwsRdsCluster && name == "port" && matches!(value, Value::Int(0))
}

/// The waivers as one JSON object: `{"DB402":"reason"}`.
#[expect(
    clippy::expect_used,
    reason = "a map of strings to strings serialises to JSON"
)]
fn waivers_json(waivers: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(waivers).expect("a map of strings serialises to JSON")
}

/// The lifecycle settings that change, `before -> after`, as `lifecycle.<name>`.
fn lifecycle_lines(out: &mut String, change: &Change, painter: &Painter) {
    let Some(before) = &change.lifecycle_before else {
        return;
    };
    let after = &change.lifecycle;
    let width = change
        .lifecycle_changed
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0);
    for name in &change.lifecycle_changed {
        let pad = " ".repeat(width.saturating_sub(name.len()));
        let values = match name.as_str() {
            "deletion_protection" => Some((
                before.deletion_protection.to_string(),
                after.deletion_protection.to_string(),
            )),
            "deletion_policy" => Some((
                format!("{:?}", before.deletion_policy),
                format!("{:?}", after.deletion_policy),
            )),
            "prevent_destroy" => Some((
                before.prevent_destroy.to_string(),
                after.prevent_destroy.to_string(),
            )),
            "deletion_opted_in" => Some((
                before.deletion_opted_in.to_string(),
                after.deletion_opted_in.to_string(),
            )),
            _ => None,
        };
        let line = match values {
            Some((old, new)) => format!("lifecycle.{name}{pad} = {old} -> {new}"),
            None => format!(
                "lifecycle.{}{pad} = {}",
                for_terminal(name),
                for_terminal(&waivers_json(&change.waivers))
            ),
        };
        let _ = writeln!(out, "      {} {line}", painter.paint(YELLOW, "~"));
    }
}

#[allow(clippy::too_many_arguments)]
fn attribute_line(
    out: &mut String,
    painter: &Painter,
    sign: &str,
    color: &str,
    name: &str,
    width: usize,
    before: Option<&Value>,
    after: Option<&Value>,
    forces: bool,
) {
    let suffix = if forces {
        painter.paint(RED, " # forces replacement")
    } else {
        String::new()
    };
    let sign = painter.paint(color, sign);
    let name = for_terminal(name);
    let pad = " ".repeat(width.saturating_sub(name.chars().count()));
    match (before, after) {
        (None, Some(value)) | (Some(value), None) => {
            let _ = writeln!(
                out,
                "      {sign} {name}{pad} = {}{suffix}",
                indent(&display_value(value, true), 8)
            );
        }
        (Some(before), Some(after)) => {
            if let Some(lines) = structured_diff(before, after, painter) {
                let _ = writeln!(out, "      {sign} {name}{pad} ={suffix}");
                for line in lines {
                    let _ = writeln!(out, "          {line}");
                }
            } else {
                let _ = writeln!(
                    out,
                    "      {sign} {name}{pad} = {} -> {}{suffix}",
                    display_value(before, false),
                    display_value(after, false)
                );
            }
        }
        (None, None) => {
            let _ = writeln!(out, "      {sign} {name}{pad} = null{suffix}");
        }
    }
}

fn indent(text: &str, spaces: usize) -> String {
    let padding = " ".repeat(spaces);
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                line.to_owned()
            } else {
                format!("\n{padding}{line}")
            }
        })
        .collect()
}

/// A line-by-line (nested values, multi-line strings) or word-by-word (long strings) diff, or
/// `None` when a one-line `before -> after` says it better.
fn structured_diff(before: &Value, after: &Value, painter: &Painter) -> Option<Vec<String>> {
    let nested = |value: &Value| matches!(value, Value::List(_) | Value::Map(_));
    let multiline = |value: &Value| value.as_str().is_some_and(|text| text.contains('\n'));
    let long = |value: &Value| value.as_str().is_some_and(|text| text.len() > LONG_STRING);
    if (nested(before) && nested(after)) || multiline(before) || multiline(after) {
        let old = match before {
            Value::String(text) => text.clone(),
            other => display_value(other, true),
        };
        let new = match after {
            Value::String(text) => text.clone(),
            other => display_value(other, true),
        };
        let diff = TextDiff::from_lines(&old, &new);
        return Some(
            diff.iter_all_changes()
                .map(|change| {
                    let line = for_terminal(change.value().trim_end_matches('\n'));
                    match change.tag() {
                        ChangeTag::Delete => painter.paint(RED, &format!("- {line}")),
                        ChangeTag::Insert => painter.paint(GREEN, &format!("+ {line}")),
                        ChangeTag::Equal => format!("  {line}"),
                    }
                })
                .collect(),
        );
    }
    if let (Value::String(old), Value::String(new)) = (before, after)
        && (long(before) || long(after))
    {
        let diff = TextDiff::from_words(old, new);
        // Runs of the same tag are joined, so that an inserted phrase reads as one `{+…+}`.
        let mut runs: Vec<(ChangeTag, String)> = Vec::new();
        for change in diff.iter_all_changes() {
            match runs.last_mut() {
                Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
                _ => runs.push((change.tag(), change.value().to_owned())),
            }
        }
        let mut line = String::new();
        for (tag, text) in runs {
            let text = for_terminal(&text);
            match tag {
                ChangeTag::Delete => line.push_str(&painter.paint(RED, &format!("[-{text}-]"))),
                ChangeTag::Insert => {
                    line.push_str(&painter.paint(GREEN, &format!("{{+{text}+}}")));
                }
                ChangeTag::Equal => line.push_str(&text),
            }
        }
        return Some(vec![line]);
    }
    None
}

fn render_findings(out: &mut String, plan: &Plan) {
    let findings = &plan.findings;
    if findings.is_empty() {
        return;
    }
    out.push('\n');
    let _ = writeln!(out, "Policy findings:");
    for finding in findings {
        let location = match (&finding.file, finding.line, finding.column) {
            (Some(file), Some(line), Some(column)) => {
                format!(" ({}:{line}:{column})", for_terminal(file))
            }
            (Some(file), Some(line), None) => format!(" ({}:{line})", for_terminal(file)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}[{}] {}: {}{}{location}",
            for_terminal(finding.severity.as_str()),
            for_terminal(&finding.code),
            for_terminal(&finding.resource),
            for_terminal(&finding.message),
            if finding.waived { " (waived)" } else { "" },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_aurora_port_of_zero_is_the_engine_default() {
        assert!(engine_default(Kind::AwsRdsCluster, "port", &Value::Int(0)));
        assert!(!engine_default(
            Kind::AwsRdsCluster,
            "port",
            &Value::Int(5432)
        ));
        assert!(!engine_default(
            Kind::PostgresServer,
            "port",
            &Value::Int(0)
        ));
        assert!(!engine_default(
            Kind::AwsRdsCluster,
            "backup_retention_period",
            &Value::Int(0)
        ));
    }
}
