//! Output hygiene of the plan renderings: control characters in every piece of outside text a
//! plan carries (addresses, attribute names and values, notices, drift, notes, blocked reasons,
//! findings, the state's lineage) are escaped in the text, the Markdown and the JSON; the
//! Markdown's structure (code spans, tables, `<details>`) survives text that tries to break it.

// Test helpers fail loudly on a broken fixture; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dbplan_core::{Action, Kind, ResourceAddress, Value};
use dbplan_diagnostics::Severity;
use dbplan_plan::render::{self, TextOptions};
use dbplan_plan::{Drift, DriftKind, DriftedAttribute, Plan, PolicyFinding};
use dbplan_state::Snapshot;
use support::{load, plan};

/// An OSC title change ended by BEL, a screen clear, a carriage return, a right-to-left
/// override, a C1 "next line" and DEL.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}\u{85}\u{7f}";

/// Text that also tries to break out of a code span, a table cell and the `<details>` blocks.
fn breaking(label: &str) -> String {
    format!("{label}{HOSTILE}`x` | </details><img src=x>\nnext")
}

/// A plan with hostile text in every field a rendering shows.
fn hostile_plan() -> Plan {
    let (set, graph) = load(&[(
        "vpc.yaml",
        r#"
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {name: main-vpc}
spec: {region: nyc3, ipRangeCidr: 10.10.0.0/20, description: "plain"}
"#,
    )]);
    let mut plan = plan(&set, &graph, &Snapshot::default());
    plan.state.lineage = breaking("lineage");
    plan.notices.push(breaking("notice"));
    plan.drift.push(Drift {
        address: ResourceAddress::new(Kind::DigitalOceanVpc, breaking("drifted")),
        kind: DriftKind::Changed,
        attributes: vec![DriftedAttribute {
            name: breaking("name"),
            recorded: serde_json::Value::String(breaking("recorded")),
            remote: serde_json::json!({ breaking("key"): breaking("remote") }),
        }],
    });
    plan.drift.push(Drift {
        address: ResourceAddress::new(Kind::DigitalOceanVpc, breaking("deleted")),
        kind: DriftKind::Deleted,
        attributes: Vec::new(),
    });
    plan.findings = vec![PolicyFinding {
        code: breaking("DB"),
        id: "x".to_owned(),
        resource: breaking("resource"),
        severity: Severity::Error,
        message: breaking("message"),
        waived: false,
        file: Some(breaking("file")),
        line: Some(1),
        column: Some(2),
    }];

    let template = plan.changes[0].clone();
    let mut update = template.clone();
    update.address = ResourceAddress::new(Kind::DigitalOceanVpc, breaking("updated"));
    update.action = Action::Update;
    update.note = Some(breaking("note"));
    update.blocked = Some(breaking("blocked"));
    let multiline = format!("first line\n{}\nlast", breaking("second"));
    let long = format!("{} {}", "long text ".repeat(8), breaking("tail"));
    update.before.insert(
        "description".to_owned(),
        Value::String("one\ntwo".to_owned()),
    );
    update
        .after
        .insert("description".to_owned(), Value::String(multiline));
    update
        .before
        .insert("comment".to_owned(), Value::String("long text ".repeat(8)));
    update
        .after
        .insert("comment".to_owned(), Value::String(long));
    update
        .before
        .insert(breaking("attribute"), Value::String("a".to_owned()));
    update
        .after
        .insert(breaking("attribute"), Value::String(breaking("b")));
    update.changed = vec![
        "comment".to_owned(),
        "description".to_owned(),
        breaking("attribute"),
    ];
    update.replace_because = vec![breaking("attribute")];
    let mut replace = update.clone();
    replace.address = ResourceAddress::new(Kind::DigitalOceanVpc, breaking("replaced"));
    replace.action = Action::Replace;
    replace.stateful = true;
    let mut create = template;
    create.address = ResourceAddress::new(Kind::DigitalOceanVpc, breaking("created"));
    create
        .after
        .insert("description".to_owned(), Value::String(breaking("value")));
    plan.changes = vec![create, update, replace];
    plan
}

/// A character no rendering may carry raw, written out here rather than taken from the code
/// under test.
fn forbidden(character: char) -> bool {
    (character.is_control() && character != '\n')
        || matches!(
            character,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

fn assert_clean(what: &str, text: &str) {
    if let Some((index, character)) = text.char_indices().find(|(_, c)| forbidden(*c)) {
        panic!(
            "{what}: a raw U+{:04X} at byte {index}:\n{text}",
            u32::from(character)
        );
    }
}

#[test]
fn the_text_rendering_escapes_every_field() {
    let plan = hostile_plan();
    let text = render::text(
        &plan,
        TextOptions {
            color: false,
            findings: true,
        },
    );
    assert_clean("text", &text);
    for label in [
        "notice",
        "drifted",
        "name",
        "recorded",
        "remote",
        "deleted",
        "message",
        "resource",
        "file",
        "note",
        "blocked",
        "second",
        "tail",
        "attribute",
        "value",
    ] {
        assert!(text.contains(label), "{label} missing:\n{text}");
    }
    assert!(
        text.contains(r"# blocked: blocked\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}\u{85}\u{7f}`x` | </details><img src=x>\nnext"),
        "{text}"
    );
    // Values are shown as JSON, with JSON's escapes.
    assert!(
        text.contains(r#""value\u001b]0;pwned\u0007\u001b[2J\r\u202e\u0085\u007f`x` | </details><img src=x>\nnext""#),
        "{text}"
    );

    // With colour, the only escape sequences are the renderer's own colours.
    let colored = render::text(
        &plan,
        TextOptions {
            color: true,
            findings: true,
        },
    );
    let mut rest = colored.as_str();
    let mut stripped = String::new();
    while let Some(start) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after
            .find('m')
            .filter(|end| {
                after[2..*end]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ';')
                    && after[1..].starts_with('[')
            })
            .unwrap_or_else(|| panic!("a foreign escape sequence: {after:?}"));
        rest = &after[end + 1..];
    }
    stripped.push_str(rest);
    assert_clean("coloured text", &stripped);
}

/// A line without its code spans: a run of backticks up to the next run of the same length.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let ticks = after.chars().take_while(|c| *c == '`').count();
        let body = &after[ticks..];
        let mut search = 0;
        let mut end = None;
        while let Some(found) = body[search..].find('`') {
            let at = search + found;
            let run = body[at..].chars().take_while(|c| *c == '`').count();
            if run == ticks {
                end = Some(at + run);
                break;
            }
            search = at + run;
        }
        match end {
            Some(end) => rest = &body[end..],
            // An unmatched run is literal backticks.
            None => {
                out.push_str(&after[..ticks]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn the_markdown_rendering_keeps_its_structure() {
    let plan = hostile_plan();
    let markdown = render::markdown(&plan, &render::Review::default());
    assert_clean("markdown", &markdown);
    assert!(markdown.contains("pwned"), "{markdown}");

    // Outside code blocks, the only HTML is the rendering's own, and the `<details>` blocks
    // open and close in step.
    let mut fence: Option<usize> = None;
    let mut open = 0usize;
    for line in markdown.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match fence {
            Some(length) if ticks >= length && line.trim_start_matches('`').is_empty() => {
                fence = None;
                continue;
            }
            Some(_) => continue,
            None if ticks >= 3 => {
                fence = Some(ticks);
                continue;
            }
            None => {}
        }
        if line.starts_with("<details>") {
            open += 1;
        }
        if line == "</details>" {
            assert!(open > 0, "{markdown}");
            open -= 1;
        }
        // HTML inside a code span is literal text.
        let mut html = without_code_spans(line);
        for tag in [
            "<details>",
            "</details>",
            "<summary>",
            "</summary>",
            "<code>",
            "</code>",
        ] {
            html = html.replace(tag, "");
        }
        assert!(!html.contains('<'), "outside HTML in {line:?}:\n{markdown}");
        // A table row keeps its four cells: every other `|` is escaped.
        if line.starts_with("| ") && line.contains("DigitalOceanVpc") {
            assert_eq!(line.matches('|').count(), 5, "{line}");
        }
    }
    assert_eq!(fence, None, "a code block left open:\n{markdown}");
    assert_eq!(open, 0, "a <details> left open:\n{markdown}");

    // Outside names are `<code>` elements and prose is running text, both with every
    // Markdown and HTML special as an entity: no backtick, `|`, `<` or `>` of theirs is left.
    assert!(
        markdown.contains(
            r"<code>DigitalOceanVpc/replaced\u{1b}&#93;0;pwned\u{7}\u{1b}&#91;2J\r\u{202e}\u{85}\u{7f}&#96;x&#96; &#124; &lt;/details&gt;&lt;img src=x&gt;\nnext</code>"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains(r"message\u{1b}&#93;0;pwned\u{7}\u{1b}&#91;2J\r\u{202e}\u{85}\u{7f}&#96;x&#96; &#124; &lt;/details&gt;&lt;img src=x&gt;\nnext"),
        "{markdown}"
    );
    // The notice reaches the comment, escaped.
    assert!(
        markdown.contains(r"- notice\u{1b}&#93;0;pwned"),
        "{markdown}"
    );
}

#[test]
fn the_json_rendering_escapes_and_keeps_the_values() {
    let plan = hostile_plan();
    let json = render::json(&plan);
    assert_clean("json", &json);
    assert!(json.contains(r"\u202e\u0085\u007f"), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let addresses: Vec<&str> = parsed["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|change| change["address"].as_str())
        .collect();
    assert_eq!(
        addresses,
        plan.changes
            .iter()
            .map(|change| change.address.to_string())
            .collect::<Vec<_>>()
    );
    let created = &parsed["resource_changes"][0];
    assert_eq!(created["after"]["description"], breaking("value"));
}
