//! Terminal rendering of diagnostics through `annotate-snippets` (the renderer rustc uses), so the
//! output has the familiar ` --> file:line:col` header, the source excerpt and a `help:` line.
//! Every piece of text goes through [`crate::escape`] first: messages, labels, file names and
//! excerpts come from manifests and may hold control characters.

use crate::escape::{for_excerpt, for_terminal};
use crate::{Diagnostic, Severity, SourceMap, Span};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet, renderer::DecorStyle};
use std::ops::Range;

/// How to render diagnostics for a terminal.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    /// ANSI colours; callers switch this off for `NO_COLOR` or a non-terminal.
    pub color: bool,
}

/// The excerpt of one file around a span: the lines the span touches, and the span's byte range
/// relative to the excerpt. Only these lines are handed to the renderer so that a diagnostic in a
/// 10,000-resource file costs the same as one in a small file. Name and text are escaped (the
/// range moved with the text), since annotate-snippets replaces C0 controls but passes C1
/// controls such as U+0085 and leaves file names as they are.
struct Excerpt {
    name: String,
    text: String,
    first_line: usize,
    range: Range<usize>,
}

fn excerpt(sources: &SourceMap, span: Span) -> Option<Excerpt> {
    let file = sources.get(span.file)?;
    let text = file.text();
    let start = (span.start as usize).min(text.len());
    let end = (span.end as usize).clamp(start, text.len());
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |index| index + 1);
    let line_end = text
        .get(end..)?
        .find('\n')
        .map_or(text.len(), |index| end + index);
    let first_line = file.line_column(span.start).line as usize;
    let (text, range) = for_excerpt(
        text.get(line_start..line_end)?,
        (start - line_start)..(end - line_start),
    );
    Some(Excerpt {
        name: for_terminal(file.name()).into_owned(),
        text,
        first_line,
        range,
    })
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// Renders one diagnostic as text (without a trailing newline).
pub fn render(sources: &SourceMap, diagnostic: &Diagnostic, options: RenderOptions) -> String {
    let title = if diagnostic.message.is_empty() {
        for_terminal(&diagnostic.summary).into_owned()
    } else {
        format!(
            "{}: {}",
            for_terminal(&diagnostic.summary),
            for_terminal(&diagnostic.message)
        )
    };
    let mut group = Group::with_title(
        level(diagnostic.severity)
            .primary_title(title)
            .id(diagnostic.code.as_str()),
    );
    let excerpts: Vec<(Excerpt, String)> = diagnostic
        .span
        .iter()
        .map(|span| (*span, String::new()))
        .chain(
            diagnostic
                .labels
                .iter()
                .map(|label| (label.span, for_terminal(&label.message).into_owned())),
        )
        .filter_map(|(span, label)| excerpt(sources, span).map(|excerpt| (excerpt, label)))
        .collect();
    for (index, (excerpt, label)) in excerpts.iter().enumerate() {
        let kind = if index == 0 && diagnostic.span.is_some() {
            AnnotationKind::Primary
        } else {
            AnnotationKind::Context
        };
        let mut annotation = kind.span(excerpt.range.clone());
        if !label.is_empty() {
            annotation = annotation.label(label.as_str());
        }
        group = group.element(
            Snippet::source(excerpt.text.as_str())
                .line_start(excerpt.first_line)
                .path(excerpt.name.as_str())
                .annotation(annotation),
        );
    }
    if let Some(resource) = &diagnostic.resource {
        group = group.element(Level::NOTE.message(format!("resource: {}", for_terminal(resource))));
    }
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(for_terminal(help)));
    }
    let report: [Group<'_>; 1] = [group];
    let renderer = if options.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.decor_style(DecorStyle::Ascii).render(&report)
}

/// Renders many diagnostics, separated by blank lines, each ending in a newline.
pub fn render_all(
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
    options: RenderOptions,
) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&render(sources, diagnostic, options));
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn renders_location_excerpt_and_help() {
        let mut sources = SourceMap::new();
        let text = "kind: AwsRdsCluster\nspec:\n  engin: aurora-postgresql\n";
        let file = sources.add("prod.yaml", text);
        let start = u32::try_from(text.find("engin:").unwrap()).unwrap();
        let diagnostic = Diagnostic::error(Code::new("M005", "unknown field"))
            .with_message("`engin` is not a field of AwsRdsCluster.spec")
            .with_help("did you mean `engine`?")
            .with_span(Span::new(file, start, start + 5));
        let out = render(&sources, &diagnostic, RenderOptions::default());
        assert!(out.contains("error[M005]: unknown field"), "{out}");
        assert!(out.contains("--> prod.yaml:3:3"), "{out}");
        assert!(out.contains("  engin: aurora-postgresql"), "{out}");
        assert!(out.contains("help: did you mean `engine`?"), "{out}");
    }

    #[test]
    fn control_characters_from_the_input_are_shown_escaped() {
        let mut sources = SourceMap::new();
        let text = "kind: AwsRdsCluster\r\nmetadata:\r\n  name: \"\u{202e}evil\u{85}\"\r\n";
        let file = sources.add("x\u{1b}]0;pwned\u{7}.yaml", text);
        let start = u32::try_from(text.find("\"\u{202e}").unwrap()).unwrap();
        let end = u32::try_from(text.rfind('"').unwrap() + 1).unwrap();
        let diagnostic = Diagnostic::error(Code::new("M005", "unknown field"))
            .with_message("`\u{1b}[2J` is not a field\r\nfake: line")
            .with_help("did you mean \u{9b}31m?")
            .with_resource("AwsRdsCluster/\u{202e}x")
            .with_label(Span::new(file, 0, 4), "see \u{1b}[1mhere")
            .with_span(Span::new(file, start, end));
        let out = render(&sources, &diagnostic, RenderOptions::default());
        assert!(
            !out.chars()
                .any(|c| crate::escape::needs_escape(c) && c != '\n'),
            "{out:?}"
        );
        assert!(
            out.contains("unknown field: `\\u{1b}[2J` is not a field\\r\\nfake: line"),
            "{out}"
        );
        assert!(out.contains("--> x\\u{1b}]0;pwned\\u{7}.yaml:3:9"), "{out}");
        assert!(out.contains("name: \"\\u{202e}evil\\u{85}\""), "{out}");
        assert!(out.contains("help: did you mean \\u{9b}31m?"), "{out}");
        assert!(out.contains("resource: AwsRdsCluster/\\u{202e}x"), "{out}");
        assert!(out.contains("see \\u{1b}[1mhere"), "{out}");
        // The underline covers the whole escaped value.
        let underline = out
            .lines()
            .find(|line| line.contains('^'))
            .unwrap_or_default();
        assert_eq!(
            underline.matches('^').count(),
            "\"\\u{202e}evil\\u{85}\"".len(),
            "{out}"
        );
    }

    #[test]
    fn line_column_counts_characters() {
        let mut sources = SourceMap::new();
        let file = sources.add("a.yaml", "é: 1\nb: 2\n");
        let found = sources.get(file).unwrap();
        assert_eq!(found.line_column(0).column, 1);
        assert_eq!(found.line_column(7).line, 2);
        assert_eq!(found.line_column(2).column, 2);
        assert_eq!(found.offset(2, 1), 6);
    }
}
