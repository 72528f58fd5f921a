use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(u32);

impl FileId {
    pub fn index(self) -> u32 {
        self.0
    }
}

/// A byte range in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte (equal to `start` for an empty span).
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Self {
        Span {
            file,
            start,
            end: end.max(start),
        }
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineColumn {
    pub line: u32,
    pub column: u32,
}

/// One file's name, text and line index.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    text: Arc<str>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(name: String, text: Arc<str>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, byte)| byte == b'\n')
                .map(|(index, _)| u32::try_from(index + 1).unwrap_or(u32::MAX)),
        );
        SourceFile {
            name,
            text,
            line_starts,
        }
    }

    /// The name the file is shown under (the path as the user gave it).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Line and column of a byte offset; offsets past the end map to the end.
    pub fn line_column(&self, offset: u32) -> LineColumn {
        let offset = offset.min(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(index) => index,
            Err(index) => index.saturating_sub(1),
        };
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start as usize..offset as usize)
            .map_or(0, |prefix| prefix.chars().count());
        LineColumn {
            line: u32::try_from(line_index + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// Byte offset of a 1-based line and column, clamped to the text.
    pub fn offset(&self, line: u32, column: u32) -> u32 {
        let line_index = (line.max(1) - 1) as usize;
        let Some(&line_start) = self.line_starts.get(line_index) else {
            return u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        };
        let rest = self.text.get(line_start as usize..).unwrap_or("");
        let byte_in_line: usize = rest
            .chars()
            .take_while(|&c| c != '\n')
            .take((column.max(1) - 1) as usize)
            .map(char::len_utf8)
            .sum();
        line_start + u32::try_from(byte_in_line).unwrap_or(0)
    }
}

/// All files a run has read. Diagnostics refer to them by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(name.into(), text.into()));
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// Masks the bytes of a span with `*` (line breaks kept), so that a secret written in a
    /// manifest never reaches a rendered excerpt. Offsets, lines and spans stay valid.
    pub fn redact(&mut self, span: Span) {
        let Some(file) = self.files.get_mut(span.file.0 as usize) else {
            return;
        };
        let mut bytes = file.text.as_bytes().to_vec();
        let end = (span.end as usize).min(bytes.len());
        let start = (span.start as usize).min(end);
        for byte in &mut bytes[start..end] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b'*';
            }
        }
        // Whole bytes of any character in the span are replaced, so the text is still UTF-8
        // unless the span cut a character; then it is left as it was.
        if let Ok(text) = String::from_utf8(bytes) {
            file.text = text.into();
        }
    }

    /// `file:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> Option<(String, LineColumn)> {
        let file = self.get(span.file)?;
        Some((file.name().to_owned(), file.line_column(span.start)))
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(index, file)| (FileId(u32::try_from(index).unwrap_or(u32::MAX)), file))
    }
}
