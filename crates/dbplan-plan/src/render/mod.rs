//! The renderings of a plan: terminal text, Markdown for a pull-request comment, JSON.
//!
//! Names, values, reasons and messages in a plan come from manifests and remote systems; every
//! rendering escapes the control characters they may hold (`dbplan_diagnostics::escape`): the
//! text and Markdown as visible `\u{1b}` escapes, the JSON as `\uXXXX` with the same value.

mod markdown;
mod text;

pub use markdown::{MARKDOWN_LIMIT, Review, escape_markdown, markdown};
pub use text::{TextOptions, text};

use crate::model::Plan;
use crate::wire::{self, Audience};
use dbplan_diagnostics::escape;

/// The plan JSON (GUIDE §4), pretty-printed, with a final newline.
#[expect(
    clippy::expect_used,
    reason = "the plan's serialised form holds strings, numbers and maps with string keys only"
)]
pub fn json(plan: &Plan) -> String {
    let mut text = escape::to_json_string_pretty(&wire::encode(plan, Audience::Output))
        .expect("a plan serialises to JSON");
    text.push('\n');
    text
}

/// A value for display: JSON-like, secrets as `(sensitive)`, unknowns as `(known after apply)`
/// (a list of unknowns as one such note with its count); control characters in strings and keys as JSON's `\uXXXX`.
#[expect(
    clippy::expect_used,
    reason = "a Value serialises to JSON: its maps have string keys"
)]
pub(crate) fn display_value(value: &dbplan_core::Value, pretty: bool) -> String {
    // A list whose every value is known only after apply says so, with its count, instead of
    // a quoted placeholder per item.
    if let dbplan_core::Value::List(items) = value
        && !items.is_empty()
        && items
            .iter()
            .all(|item| matches!(item, dbplan_core::Value::Unknown))
    {
        return format!(
            "(known after apply: a list of {} value{})",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        );
    }
    let json = serde_json::to_value(value).expect("a Value serialises to JSON");
    let text = if pretty {
        escape::to_json_string_pretty(&json)
    } else {
        escape::to_json_string(&json)
    }
    .expect("a JSON value serialises");
    match value {
        dbplan_core::Value::Unknown | dbplan_core::Value::Sensitive(_) => {
            text.trim_matches('"').to_owned()
        }
        _ => text,
    }
}

/// A JSON value on one line for display, control characters as `\uXXXX`.
#[expect(clippy::expect_used, reason = "a JSON value serialises")]
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    escape::to_json_string(value).expect("a JSON value serialises")
}

#[cfg(test)]
mod tests {
    use super::display_value;
    use dbplan_core::Value;

    #[test]
    fn a_list_of_unknowns_is_one_note_with_its_count() {
        let list = Value::List(vec![Value::Unknown, Value::Unknown]);
        assert_eq!(
            display_value(&list, true),
            "(known after apply: a list of 2 values)"
        );
        assert_eq!(
            display_value(&Value::List(vec![Value::Unknown]), false),
            "(known after apply: a list of 1 value)"
        );
        // A list with a known value keeps its items.
        let mixed = Value::List(vec![Value::String("a".to_owned()), Value::Unknown]);
        assert_eq!(
            display_value(&mixed, false),
            r#"["a","(known after apply)"]"#
        );
        assert_eq!(display_value(&Value::List(Vec::new()), false), "[]");
    }
}
