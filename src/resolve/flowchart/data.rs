//! `@{ ... }` node data: the small YAML subset mermaid's users write, and the shape names.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Every shape name and alias mermaid accepts in `@{ shape: ... }` (lowercase, no `_`).
pub(super) const SHAPES: &[&str] = &[
    "rect",
    "proc",
    "process",
    "rectangle",
    "rounded",
    "event",
    "stadium",
    "terminal",
    "pill",
    "fr-rect",
    "subprocess",
    "subproc",
    "framed-rectangle",
    "subroutine",
    "cyl",
    "db",
    "database",
    "cylinder",
    "datastore",
    "data-store",
    "circle",
    "circ",
    "bang",
    "cloud",
    "diam",
    "decision",
    "diamond",
    "question",
    "hex",
    "hexagon",
    "prepare",
    "lean-r",
    "lean-right",
    "in-out",
    "lean-l",
    "lean-left",
    "out-in",
    "trap-b",
    "priority",
    "trapezoid-bottom",
    "trapezoid",
    "trap-t",
    "manual",
    "trapezoid-top",
    "inv-trapezoid",
    "dbl-circ",
    "double-circle",
    "doublecircle",
    "text",
    "notch-rect",
    "card",
    "notched-rectangle",
    "lin-rect",
    "lined-rectangle",
    "lined-process",
    "lin-proc",
    "shaded-process",
    "sm-circ",
    "start",
    "small-circle",
    "fr-circ",
    "stop",
    "framed-circle",
    "fork",
    "join",
    "hourglass",
    "collate",
    "brace",
    "comment",
    "brace-l",
    "brace-r",
    "braces",
    "bolt",
    "com-link",
    "lightning-bolt",
    "doc",
    "document",
    "delay",
    "half-rounded-rectangle",
    "h-cyl",
    "das",
    "horizontal-cylinder",
    "lin-cyl",
    "disk",
    "lined-cylinder",
    "curv-trap",
    "curved-trapezoid",
    "display",
    "div-rect",
    "div-proc",
    "divided-rectangle",
    "divided-process",
    "tri",
    "extract",
    "triangle",
    "win-pane",
    "internal-storage",
    "window-pane",
    "f-circ",
    "junction",
    "filled-circle",
    "notch-pent",
    "loop-limit",
    "notched-pentagon",
    "flip-tri",
    "manual-file",
    "flipped-triangle",
    "sl-rect",
    "manual-input",
    "sloped-rectangle",
    "docs",
    "documents",
    "st-doc",
    "stacked-document",
    "st-rect",
    "procs",
    "processes",
    "stacked-rectangle",
    "bow-rect",
    "stored-data",
    "bow-tie-rectangle",
    "cross-circ",
    "summary",
    "crossed-circle",
    "tag-doc",
    "tagged-document",
    "tag-rect",
    "tagged-rectangle",
    "tag-proc",
    "tagged-process",
    "flag",
    "paper-tape",
    "odd",
    "lin-doc",
    "lined-document",
    "state",
    "choice",
    "note",
    "icon",
    "anchor",
];

/// Check a `shape:` value; the error names the closest valid shape.
pub(super) fn check_shape(shape: &str, span: Span) -> Result<(), Diagnostic> {
    if SHAPES.contains(&shape) {
        return Ok(());
    }
    let lowered = shape.to_lowercase().replace('_', "-");
    let closest =
        SHAPES.iter().min_by_key(|s| edit_distance(&lowered, s)).copied().unwrap_or("rect");
    let help = if SHAPES.contains(&lowered.as_str()) {
        format!("shape names are lowercase with `-`: write `{lowered}`")
    } else {
        format!(
            "the closest shape is `{closest}`; others include `rect`, `rounded`, `cyl`, `diam`, `circle`, `procs`"
        )
    };
    Err(Diagnostic::error("m2a::resolve::unknown_shape", format!("no such shape `{shape}`"))
        .with_label(span, "in this node data")
        .with_help(help))
}

/// Levenshtein distance (short strings only).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == cb { previous } else { 1 + previous.min(row[j]).min(row[j + 1]) };
            previous = current;
        }
    }
    row[b.len()]
}

/// Read the inside of `@{...}`: `key: value` pairs separated by `,` (one line) or by lines.
/// Values are unquoted; quoted strings have their escapes applied.
pub(super) fn parse(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    let entries: Vec<String> = if raw.contains('\n') {
        raw.lines().map(str::to_string).collect()
    } else {
        split_top_level(raw)
    };
    for entry in entries {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((key, value)) = split_key(entry) else {
            return Err(format!("`{entry}` is not `key: value`"));
        };
        let key = unquote(key.trim())?;
        let value = unquote(value.trim())?;
        map.insert(key, value);
    }
    Ok(map)
}

/// Split at `,` outside quotes.
fn split_top_level(raw: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in raw.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (Some(q), _) if q == c => {
                quote = None;
                current.push(c);
            }
            (None, ',') => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// `key: value` at the first `:` outside quotes that is followed by a blank or the end.
fn split_key(entry: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    for (i, c) in entry.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (None, ':') => {
                let rest = &entry[i + 1..];
                if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                    return Some((&entry[..i], rest));
                }
            }
            _ => {}
        }
    }
    None
}

/// A YAML scalar: `"..."` with escapes, `'...'` with `''`, or plain.
fn unquote(value: &str) -> Result<String, String> {
    if let Some(inner) = value.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return Err(format!("the string `{value}` is not closed"));
        };
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return Ok(out);
    }
    if let Some(inner) = value.strip_prefix('\'') {
        let Some(inner) = inner.strip_suffix('\'') else {
            return Err(format!("the string `{value}` is not closed"));
        };
        return Ok(inner.replace("''", "'"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_map() {
        let map = parse(r#" shape: procs, label: "a, b" "#).unwrap_or_default();
        assert_eq!(map.get("shape").map(String::as_str), Some("procs"));
        assert_eq!(map.get("label").map(String::as_str), Some("a, b"));
    }

    #[test]
    fn block_map() {
        let map = parse("\n  shape: cyl\n  label: 'x'\n").unwrap_or_default();
        assert_eq!(map.get("shape").map(String::as_str), Some("cyl"));
        assert_eq!(map.get("label").map(String::as_str), Some("x"));
    }

    #[test]
    fn unknown_shape_suggests_closest() {
        let err = check_shape("cylindr", Span::new(0, 1)).err();
        let help = err.and_then(|d| d.help).unwrap_or_default();
        assert!(help.contains("`cylinder`"), "{help}");
    }
}
