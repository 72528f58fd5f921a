//! Output hygiene: text from outside dbplan (manifest names, keys, values, waiver reasons and
//! annotations; state; API answers, errors and server messages) may hold control characters.
//! Printed raw, an escape sequence can retitle or clear a terminal, hide a line or fake one
//! (`\r`), and a bidirectional override (U+202E) makes a reviewer read text in another order
//! than the bytes say. Every output of dbplan therefore escapes them, here and only here:
//!
//! - Terminal text and Markdown: [`for_terminal`] for a one-line field (a name, a message, an
//!   error): every such character, newline and tab included, becomes a visible escape: `\n`,
//!   `\r`, `\t`, otherwise Rust's `\u{1b}` notation. [`for_terminal_lines`] is for a block of
//!   lines (a multi-line value in a plan): it keeps `\n` and `\t`, which only lay text out, and
//!   escapes the rest. [`Escaped`] does the same for anything that implements `Display`.
//! - JSON (lint JSON, SARIF, plan JSON, `output --json`): [`to_json_string`] and
//!   [`to_json_string_pretty`] write them as `\uXXXX`. serde_json already does so for
//!   U+0000–U+001F; this also covers DEL, the C1 controls and the bidirectional controls, so the
//!   document stays valid JSON with the same value, and shows no raw control when printed.
//!
//! A backslash is not escaped: the escapes are for a reader, not for reading the text back.

use std::borrow::Cow;
use std::fmt;
use std::io;

/// Whether a character must not reach an output raw: a control character (C0, DEL, C1), a
/// bidirectional formatting character, or a line or paragraph separator.
pub fn needs_escape(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// Appends the visible escape of one character.
fn push_escape(out: &mut String, character: char) {
    match character {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        other => {
            use std::fmt::Write;
            let _ = write!(out, "\\u{{{:x}}}", u32::from(other));
        }
    }
}

fn escape_where(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if escape(character) {
            push_escape(&mut out, character);
        } else {
            out.push(character);
        }
    }
    Cow::Owned(out)
}

/// A one-line field for a terminal (or Markdown): every control, bidirectional or separator
/// character escaped visibly, newlines and tabs included (`\n`, `\r`, `\t`, `\u{1b}`). Text
/// without any is returned as it is.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    escape_where(text, needs_escape)
}

/// A block of lines for a terminal: like [`for_terminal`], but newlines and tabs are kept.
pub fn for_terminal_lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |character| {
        needs_escape(character) && character != '\n' && character != '\t'
    })
}

/// Source text for an excerpt, with a byte range in it mapped to the escaped text: newlines,
/// tabs and the carriage return of a CRLF line end (also at the very end) are kept (the renderer lays them out), every
/// other character [`needs_escape`] is escaped as by [`for_terminal`].
pub fn for_excerpt(text: &str, range: std::ops::Range<usize>) -> (String, std::ops::Range<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut start = None;
    let mut end = None;
    let mut characters = text.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        if index >= range.start && start.is_none() {
            start = Some(out.len());
        }
        if index >= range.end && end.is_none() {
            end = Some(out.len());
        }
        // The excerpt of a CRLF file ends in the `\r` of its last line's `\r\n`.
        let line_end = character == '\r' && matches!(characters.peek(), Some((_, '\n')) | None);
        if needs_escape(character) && character != '\n' && character != '\t' && !line_end {
            push_escape(&mut out, character);
        } else {
            out.push(character);
        }
    }
    let start = start.unwrap_or(out.len());
    let end = end.unwrap_or(out.len()).max(start);
    (out, start..end)
}

/// Shows anything that implements `Display` through [`for_terminal`]; `{:#}` formats the
/// inner value with `{:#}` (an `anyhow` error with its causes).
#[derive(Clone, Copy, Debug)]
pub struct Escaped<T>(pub T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            format!("{:#}", self.0)
        } else {
            self.0.to_string()
        };
        f.write_str(&for_terminal(&text))
    }
}

/// A serde_json formatter that also writes DEL, the C1 controls and the bidirectional and
/// separator characters as `\uXXXX` (serde_json itself escapes U+0000–U+001F), around another
/// formatter (compact or pretty) that lays the document out.
#[derive(Clone, Debug)]
pub struct JsonFormatter<F> {
    inner: F,
}

impl<F> JsonFormatter<F> {
    pub fn new(inner: F) -> Self {
        JsonFormatter { inner }
    }
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for JsonFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((index, character)) = rest
            .char_indices()
            .find(|(_, character)| needs_escape(*character))
        {
            let (before, after) = rest.split_at(index);
            writer.write_all(before.as_bytes())?;
            // Every character escaped here is in the Basic Multilingual Plane: one `\uXXXX`.
            write!(writer, "\\u{:04x}", u32::from(character))?;
            rest = after.get(character.len_utf8()..).unwrap_or_default();
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object_value(writer)
    }
}

fn json_with<T, F>(value: &T, formatter: F) -> serde_json::Result<String>
where
    T: serde::Serialize + ?Sized,
    F: serde_json::ser::Formatter,
{
    let mut buffer = Vec::with_capacity(256);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut buffer, JsonFormatter::new(formatter));
    value.serialize(&mut serializer)?;
    // serde_json writes UTF-8, and the escapes are ASCII, so nothing is lost here.
    Ok(String::from_utf8_lossy(&buffer).into_owned())
}

/// Compact JSON, with control, bidirectional and separator characters as `\uXXXX`.
pub fn to_json_string<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    json_with(value, serde_json::ser::CompactFormatter)
}

/// Pretty-printed JSON (two-space indent, as `serde_json::to_string_pretty`), with control,
/// bidirectional and separator characters as `\uXXXX`.
pub fn to_json_string_pretty<T: serde::Serialize + ?Sized>(
    value: &T,
) -> serde_json::Result<String> {
    json_with(value, serde_json::ser::PrettyFormatter::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}]0;pwned\u{7}b\u{1b}[2Jc\rd\u{202e}e\u{85}f\u{7f}g\nh\ti";

    #[test]
    fn one_line_fields_show_every_control_visibly() {
        let shown = for_terminal(HOSTILE);
        assert_eq!(
            shown,
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2Jc\\rd\\u{202e}e\\u{85}f\\u{7f}g\\nh\\ti"
        );
        assert!(!shown.chars().any(needs_escape), "{shown}");
    }

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        let text = "AwsRdsCluster/orders-db: «é» 数据库 ✓ `x` \\n";
        assert!(matches!(for_terminal(text), Cow::Borrowed(found) if found == text));
        assert!(matches!(for_terminal_lines(text), Cow::Borrowed(_)));
    }

    #[test]
    fn blocks_of_lines_keep_newlines_and_tabs_only() {
        assert_eq!(
            for_terminal_lines("a\n\tb\r\n\u{1b}[31mc\u{2066}"),
            "a\n\tb\\r\n\\u{1b}[31mc\\u{2066}"
        );
    }

    #[test]
    fn every_kind_of_hostile_character_is_caught() {
        for character in [
            '\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{80}', '\u{85}', '\u{9b}', '\u{9f}', '\u{61c}',
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{2028}',
            '\u{2029}',
        ] {
            assert!(needs_escape(character), "{:x}", u32::from(character));
        }
        for character in ['a', ' ', 'é', '\u{a0}', '\u{200d}', '€', '😀'] {
            assert!(!needs_escape(character), "{:x}", u32::from(character));
        }
    }

    #[test]
    fn excerpts_keep_layout_and_move_the_range() {
        let text = "name: \u{1b}[2Jx\r\n  key: \u{85}z\n";
        let start = text.find('x').unwrap();
        let (shown, range) = for_excerpt(text, start..start + 1);
        assert_eq!(shown, "name: \\u{1b}[2Jx\r\n  key: \\u{85}z\n");
        assert_eq!(&shown[range], "x");
        let start = text.find('z').unwrap();
        let (shown, range) = for_excerpt(text, start - 2..start + 1);
        assert_eq!(&shown[range], "\\u{85}z");
        let (_, range) = for_excerpt(text, text.len()..text.len());
        assert!(range.is_empty());
    }

    #[test]
    fn escaped_display_honours_the_alternate_flag() {
        struct Chain;
        impl fmt::Display for Chain {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if f.alternate() {
                    f.write_str("outer: inner\u{1b}[2J")
                } else {
                    f.write_str("outer")
                }
            }
        }
        assert_eq!(Escaped(Chain).to_string(), "outer");
        assert_eq!(format!("{:#}", Escaped(Chain)), "outer: inner\\u{1b}[2J");
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_keeps_the_value() {
        let value = serde_json::json!({
            "name\u{202e}": HOSTILE,
            "list": [1, "\u{9b}31m", null],
            "plain": "é ✓ 😀",
        });
        for text in [
            to_json_string(&value).unwrap(),
            to_json_string_pretty(&value).unwrap(),
        ] {
            assert!(
                !text.chars().any(|c| needs_escape(c) && c != '\n'),
                "{text}"
            );
            assert!(text.contains("\\u202e"), "{text}");
            assert!(text.contains("\\u0085"), "{text}");
            assert!(text.contains("\\u007f"), "{text}");
            assert!(text.contains("\\u009b"), "{text}");
            assert!(text.contains("é ✓ 😀"), "{text}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
        assert_eq!(
            to_json_string_pretty(&value)
                .unwrap()
                .replace("\\u202e", "\u{202e}")
                .replace("\\u0085", "\u{85}")
                .replace("\\u007f", "\u{7f}")
                .replace("\\u009b", "\u{9b}"),
            serde_json::to_string_pretty(&value).unwrap(),
            "the same layout as serde_json's"
        );
    }
}
