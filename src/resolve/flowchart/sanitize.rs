//! The part of mermaid's label sanitising (DOMPurify, then HTML serialisation) that changes
//! ordinary labels: `<`, `>` and `&` in text are escaped, `<br/>` becomes `<br>`, attribute
//! values get double quotes, and `<script>`/`<style>` elements are dropped.

/// A label as mermaid's database keeps it.
pub(super) fn sanitize(text: &str) -> String {
    if !text.contains(['<', '>', '&']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                if let Some((tag, len)) = tag(rest) {
                    out.push_str(&tag);
                    rest = &rest[len..];
                    continue;
                }
                out.push_str("&lt;");
            }
            '>' => out.push_str("&gt;"),
            '&' => {
                if entity_len(rest).is_some() {
                    out.push('&');
                } else {
                    out.push_str("&amp;");
                }
            }
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `&name;`/`&#123;`: the length of a character reference at the start of `s`.
fn entity_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix('&')?;
    let end = body.find(';')?;
    let name = &body[..end];
    let valid = !name.is_empty()
        && (name.chars().all(|c| c.is_ascii_alphanumeric())
            || name
                .strip_prefix('#')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric())));
    valid.then_some(end + 2)
}

/// A tag at the start of `s` (which starts with `<`): its serialised form and its length.
fn tag(s: &str) -> Option<(String, usize)> {
    let body = &s[1..];
    let closing = body.starts_with('/');
    let name_start = usize::from(closing);
    let name_len = body[name_start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(body.len() - name_start);
    if name_len == 0 || !body[name_start..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = body.find('>')?;
    let name = body[name_start..name_start + name_len].to_ascii_lowercase();
    let len = end + 2;
    if matches!(name.as_str(), "script" | "style" | "iframe" | "object") {
        return Some((String::new(), len));
    }
    if closing {
        return Some((format!("</{name}>"), len));
    }
    let attrs = body[name_start + name_len..end].trim().trim_end_matches('/').trim();
    if attrs.is_empty() {
        return Some((format!("<{name}>"), len));
    }
    Some((format!("<{name} {}>", attributes(attrs)), len))
}

/// Attributes with double-quoted values.
fn attributes(attrs: &str) -> String {
    let mut out = Vec::new();
    let mut rest = attrs.trim();
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let close = inner.find(q).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or_default())
                }
                _ => {
                    let close = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            if !name.to_ascii_lowercase().starts_with("on") {
                out.push(format!("{name}=\"{}\"", value.replace('"', "&quot;")));
            }
            rest = remaining.trim_start();
        } else if !name.is_empty() {
            out.push(format!("{name}=\"\""));
        } else {
            break;
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn escapes_text_and_normalises_tags() {
        assert_eq!(sanitize("5 > 3 && 2 < 4"), "5 &gt; 3 &amp;&amp; 2 &lt; 4");
        assert_eq!(sanitize("a<br/>b"), "a<br>b");
        assert_eq!(sanitize("<img src='x.svg'>"), "<img src=\"x.svg\">");
        assert_eq!(sanitize("plain"), "plain");
    }
}
