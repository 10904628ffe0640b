//! The two rewrites mermaid applies to a diagram's text before it parses it, done here
//! without changing any offset (so spans need no remapping):
//! - on a line where `style`/`classDef` is followed by `:...#...;`, the last `;` is dropped
//!   (it becomes a space);
//! - every `#name;`/`#123;` entity code has its `;` replaced by `\u{1}`: mermaid turns entity
//!   codes into characters that labels may hold but node ids and keywords may not, and the
//!   grammar reproduces that with this marker.

/// The text the grammar reads: same length and line structure as `prepared`.
pub(super) fn rewrite(prepared: &str) -> String {
    let mut bytes = prepared.as_bytes().to_vec();
    for keyword in [&b"style"[..], &b"classDef"[..]] {
        let mut line_start = 0;
        while line_start < bytes.len() {
            let line_end = bytes[line_start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| line_start + i);
            if let Some(at) = colour_semicolon(&bytes[line_start..line_end], keyword) {
                bytes[line_start + at] = b' ';
            }
            line_start = line_end + 1;
        }
    }
    quote_attributes(&mut bytes);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'#' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            if j > i + 1 && j < bytes.len() && bytes[j] == b';' {
                bytes[j] = 1;
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII bytes: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| prepared.to_string())
}

/// mermaid's clean-up of HTML tags: in `<tag a="v">`, attribute values get single quotes.
fn quote_attributes(bytes: &mut [u8]) {
    let mut i = 0;
    while i < bytes.len() {
        let is_tag = bytes[i] == b'<'
            && bytes.get(i + 1).is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
        if !is_tag {
            i += 1;
            continue;
        }
        let Some(len) = bytes[i..].iter().position(|&b| b == b'>') else {
            return;
        };
        let end = i + len;
        let mut j = i;
        while j + 1 < end {
            if bytes[j] == b'='
                && bytes[j + 1] == b'"'
                && let Some(close) = bytes[j + 2..end].iter().position(|&b| b == b'"')
            {
                bytes[j + 1] = b'\'';
                bytes[j + 2 + close] = b'\'';
                j += 3 + close;
                continue;
            }
            j += 1;
        }
        i = end + 1;
    }
}

/// mermaid's `/<keyword>.*:\S*#.*;/` on one line: the offset of the `;` it drops.
fn colour_semicolon(line: &[u8], keyword: &[u8]) -> Option<usize> {
    let start = line.windows(keyword.len()).position(|w| w == keyword)? + keyword.len();
    let last_semicolon = line.iter().rposition(|&b| b == b';')?;
    // Is there a `:` followed by non-blanks and a `#`, all before that `;`?
    // A `;` before the keyword (`A;style`) is no colour terminator.
    let rest = line.get(start..last_semicolon)?;
    let mut colon_run = false;
    for &b in rest {
        if b == b':' {
            colon_run = true;
        } else if b == b'#' && colon_run {
            return Some(last_semicolon);
        } else if b.is_ascii_whitespace() {
            colon_run = false;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn entity_semicolons_are_marked() {
        assert_eq!(rewrite("A[#quot;x#35;]"), "A[#quot\u{1}x#35\u{1}]");
    }

    #[test]
    fn colour_semicolon_is_dropped() {
        assert_eq!(rewrite("style A fill:#f9f;"), "style A fill:#f9f ");
        assert_eq!(rewrite("A;B"), "A;B");
    }
}
