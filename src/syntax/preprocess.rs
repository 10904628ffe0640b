//! Preprocessing, as mermaid does before it parses: front matter, `%%{init}%%` directives and
//! whole-line `%%` comments.
//!
//! Invariant: the prepared text has exactly the byte length and the line structure of the input.
//! What mermaid removes is blanked with spaces instead, so every offset into the prepared text
//! is also an offset into the diagram text, and spans need no remapping.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// A diagram text ready for the grammar, with what preprocessing took out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Same length as the input; front matter, directives and comments are spaces.
    pub text: String,
    pub front_matter: Option<FrontMatter>,
    /// Each `%%{ ... }%%` directive, with its text.
    pub directives: Vec<(Span, String)>,
    /// Each whole-line comment: the text after `%%`, and the span of the whole comment.
    pub comments: Vec<(Span, String)>,
}

/// The YAML block between `---` lines at the very start of a diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub span: Span,
    /// The YAML text between the fences.
    pub yaml: String,
    /// Its top-level `title:`, if any.
    pub title: Option<String>,
}

/// Blank out front matter, directives and comments. Spans in the result are local to `text`.
pub fn prepare(text: &str) -> Result<Prepared, Diagnostic> {
    let mut bytes = text.as_bytes().to_vec();
    // mermaid turns `\r\n` and lone `\r` into `\n`; a space before the `\n` keeps the length.
    for i in 0..bytes.len() {
        if bytes[i] == b'\r' {
            bytes[i] = if bytes.get(i + 1) == Some(&b'\n') { b' ' } else { b'\n' };
        }
    }
    let front_matter = front_matter(&bytes)?;
    if let Some(fm) = &front_matter {
        blank(&mut bytes, fm.span);
    }
    let directives = directives(&bytes);
    for (span, _) in &directives {
        blank(&mut bytes, *span);
    }
    let comments = comments(&bytes);
    for (span, _) in &comments {
        blank(&mut bytes, *span);
    }
    // Only ASCII bytes were replaced, and only whole characters: still valid UTF-8.
    let text = String::from_utf8(bytes).map_err(|_| Diagnostic::bug("preprocess broke UTF-8"))?;
    Ok(Prepared { text, front_matter, directives, comments })
}

/// The first word of the prepared text: the diagram keyword (`graph`, `architecture-beta`...).
pub fn keyword(prepared: &str) -> Option<(Span, &str)> {
    let start = prepared.len() - prepared.trim_start().len();
    let rest = &prepared[start..];
    let len = rest.find(|c: char| c.is_whitespace() || c == ';').unwrap_or(rest.len());
    (len > 0).then(|| (Span::new(start, start + len), &rest[..len]))
}

/// Replace every non-newline byte of `span` by a space.
fn blank(bytes: &mut [u8], span: Span) {
    for b in &mut bytes[span.start..span.end] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

/// mermaid's `^-{3}\s*\n(.*?)\n-{3}\s*\n+` at the very start of the text.
fn front_matter(bytes: &[u8]) -> Result<Option<FrontMatter>, Diagnostic> {
    if !bytes.starts_with(b"---") {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(bytes);
    let first_line_end = text.find('\n').unwrap_or(text.len());
    if !text[3..first_line_end].trim().is_empty() {
        return Ok(None);
    }
    // Find the closing `---` line (only whitespace may follow it on that line).
    let mut pos = first_line_end + 1;
    while pos <= text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..line_end];
        if line.starts_with("---") && line[3..].trim().is_empty() {
            let yaml_start = first_line_end + 1;
            let yaml = if pos > yaml_start {
                text[yaml_start..pos - 1].to_string()
            } else {
                String::new()
            };
            let title = yaml_title(&yaml);
            let end = (line_end + 1).min(text.len());
            return Ok(Some(FrontMatter { span: Span::new(0, end), yaml, title }));
        }
        if line_end >= text.len() {
            break;
        }
        pos = line_end + 1;
    }
    Err(Diagnostic::error("m2a::parse::unclosed_front_matter", "front matter is never closed")
        .with_label(Span::new(0, 3), "front matter opened here")
        .with_help("end the YAML block with a line holding only `---`, or remove the `---` line"))
}

/// The top-level `title:` of a front-matter block, unquoted.
fn yaml_title(yaml: &str) -> Option<String> {
    yaml.lines().find_map(|line| {
        let value = line.strip_prefix("title:")?.trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        Some(unquoted.to_string())
    })
}

/// Every `%%{ word ... }%%` directive; an unclosed one runs to the end of the text, as in mermaid.
fn directives(bytes: &[u8]) -> Vec<(Span, String)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 3 <= bytes.len() {
        if &bytes[i..i + 3] == b"%%{" {
            let mut j = i + 3;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                let end = find(bytes, j, b"}%%").map_or(bytes.len(), |k| k + 3);
                let text = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                found.push((Span::new(i, end), text));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Lines whose first non-blank characters are `%%` (not `%%{`) followed by at least one
/// character: mermaid's `^\s*%%(?!{)[^\n]+\n?`. The newline is kept (blanking preserves lines).
fn comments(bytes: &[u8]) -> Vec<(Span, String)> {
    let mut found = Vec::new();
    let mut line_start = 0;
    while line_start < bytes.len() {
        let line_end = bytes[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| line_start + p);
        let line = &bytes[line_start..line_end];
        let indent = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let rest = &line[indent..];
        if rest.starts_with(b"%%") && rest.get(2).is_some_and(|&b| b != b'{') {
            let start = line_start + indent;
            let text = String::from_utf8_lossy(&rest[2..]).into_owned();
            found.push((Span::new(start, line_end), text));
        }
        line_start = line_end + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_keep_length_and_lines() {
        let src = "---\ntitle: Shop\n---\n%%{init: {}}%%\ngraph LR\n  %% a comment\n  A-->B\n";
        let p = prepare(src).unwrap();
        assert_eq!(p.text.len(), src.len());
        assert_eq!(p.text.lines().count(), src.lines().count());
        assert_eq!(p.front_matter.unwrap().title.as_deref(), Some("Shop"));
        assert_eq!(p.directives.len(), 1);
        assert_eq!(p.comments.len(), 1);
        assert_eq!(p.comments[0].1, " a comment");
        assert_eq!(keyword(&p.text).map(|k| k.1), Some("graph"));
        assert!(p.text.contains("A-->B"));
        assert!(!p.text.contains("comment"));
    }

    #[test]
    fn unclosed_front_matter_is_an_error() {
        assert!(prepare("---\ntitle: x\ngraph LR\n").is_err());
    }

    #[test]
    fn trailing_percent_is_not_a_comment() {
        let p = prepare("graph LR\nA-->B %% not removed\n").unwrap();
        assert!(p.comments.is_empty());
        assert!(p.text.contains("%% not removed"));
    }
}
