//! Source files and spans.
//!
//! Invariant: every [`Span`] is a pair of byte offsets into the *original* file the user gave
//! (for a diagram fenced in Markdown, offsets into the Markdown file), so a diagnostic always
//! points at `file:line:col` the user can open.

use serde::Serialize;

/// One input file, read whole. `name` is what diagnostics print (`-` reads stdin).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Byte offset of every line start, computed on first use: every resource of a large
    /// template asks for a location, and scanning the text each time would be quadratic.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

/// Two files are equal when their names and texts are; the caches do not count.
impl PartialEq for SourceFile {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.text == other.text
    }
}

impl Eq for SourceFile {}

/// A byte range `start..end` in a [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        miette::SourceSpan::new(span.start.into(), span.len())
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile { name: name.into(), text: text.into(), line_starts: std::sync::OnceLock::new() }
    }

    /// Byte offset of every line start: 0, then the offset after each line break. A line
    /// breaks at `\n`, `\r\n` or a `\r` alone, as miette draws lines (and most editors count
    /// them), so a diagnostic's `file:line:col` and its snippet agree.
    pub fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let bytes = self.text.as_bytes();
            let breaks = self.text.match_indices(['\n', '\r']).map(|(i, _)| i);
            let breaks = breaks.filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'));
            std::iter::once(0).chain(breaks.map(|i| i + 1)).collect()
        })
    }

    /// The 0-based index of the line holding a byte offset (past the end: the last line).
    pub fn line_index(&self, offset: usize) -> usize {
        self.line_starts().partition_point(|&start| start <= offset) - 1
    }

    /// The length in bytes (without its last byte, the line break) of the longest line among
    /// those holding `start..=end` and `around` more lines on each side.
    pub fn longest_line(&self, start: usize, end: usize, around: usize) -> usize {
        let starts = self.line_starts();
        let first = self.line_index(start).saturating_sub(around);
        let last = self.line_index(end).saturating_add(around).min(starts.len() - 1);
        (first..=last)
            .map(|line| {
                let next = starts.get(line + 1).map_or(self.text.len(), |&next| next - 1);
                next - starts[line]
            })
            .max()
            .unwrap_or(0)
    }

    /// 1-based line and column (in characters) of a byte offset; offsets past the end or
    /// inside a character are clamped to the nearest character boundary before it.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_index(offset);
        let line_start = self.line_starts()[line];
        let col = self.text[line_start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// `file:line:col` of a span's start, the form every tool and editor understands.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{line}:{col}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("a.mmd", "graph LR\nÄ-->B\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(9), (2, 1));
        // `-` after the two-byte `Ä` is the second character of line 2.
        assert_eq!(file.line_col(11), (2, 2));
        assert_eq!(file.location(Span::new(11, 14)), "a.mmd:2:2");
        // Past the end and inside a character are clamped, never a panic.
        assert_eq!(file.line_col(10), (2, 1));
        assert_eq!(file.line_col(999), (3, 1));
    }

    #[test]
    fn a_line_breaks_at_lf_crlf_and_a_lone_cr() {
        let text = "graph LR\rA\r\nB\n\rC";
        let file = SourceFile::new("a.mmd", text);
        assert_eq!(file.line_starts(), [0, 9, 12, 14, 15]);
        assert_eq!(file.line_col(text.find('C').unwrap()), (5, 1));
        assert_eq!(file.line_col(10), (2, 2), "the `\\r` of `\\r\\n` ends line 2");
    }
}
