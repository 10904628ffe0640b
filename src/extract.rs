//! Extract: find the Mermaid diagrams in an input file.
//!
//! A `.mmd`/`.mermaid` file is one diagram. A Markdown file yields every fenced `mermaid`
//! block, found with a CommonMark parser (so fences inside lists, block quotes and indented
//! fences are found exactly as GitHub finds them). Invariant: `DiagramSource::file_offset`
//! maps every offset of a diagram's text back to the byte of the original file it came from,
//! even when CommonMark stripped an indentation or a `> ` prefix from each line.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};
use crate::syntax::preprocess;

/// The text of one diagram and where it sits in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagramSource {
    /// 1-based position among the file's infrastructure diagrams.
    pub index: usize,
    /// The nearest heading above the diagram, else the file's stem.
    pub name: String,
    pub text: String,
    /// The diagram's text in the file (a fenced block's content).
    pub span: Span,
    /// `(offset in text, offset in file)` at the start of every piece that was copied verbatim.
    pieces: Vec<(usize, usize)>,
}

impl DiagramSource {
    /// A diagram that is a whole file (or a contiguous part of it starting at `start`).
    pub fn whole(index: usize, name: String, text: String, start: usize) -> Self {
        let span = Span::new(start, start + text.len());
        DiagramSource { index, name, text, span, pieces: vec![(0, start)] }
    }

    /// The file offset of an offset into this diagram's text.
    pub fn file_offset(&self, local: usize) -> usize {
        let at = self.pieces.partition_point(|&(l, _)| l <= local);
        let (l, f) = self.pieces[at.saturating_sub(1)];
        f + (local - l.min(local))
    }

    /// The file span of a span into this diagram's text.
    pub fn file_span(&self, local: Span) -> Span {
        Span::new(self.file_offset(local.start), self.file_offset(local.end))
    }
}

/// A diagram that is valid Mermaid but describes no infrastructure: one of another kind (a
/// sequence diagram...), or a flowchart marked [`IGNORE_MARKER`] (a process chart in a README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    /// The diagram keyword, as written (`sequenceDiagram`, `flowchart`).
    pub keyword: String,
    /// Marked [`IGNORE_MARKER`] (`span` is that line) rather than of another kind (`span` is
    /// its keyword).
    pub marked: bool,
    pub span: Span,
}

/// A whole-line comment that says a flowchart or architecture diagram is not infrastructure.
pub const IGNORE_MARKER: &str = "%% @aws ignore";

/// What a file holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    pub diagrams: Vec<DiagramSource>,
    pub skipped: Vec<Skipped>,
}

/// Mermaid diagram keywords that are not infrastructure: skipped, and said so.
const NON_INFRA_KEYWORDS: &[&str] = &[
    "sequenceDiagram",
    "classDiagram",
    "classDiagram-v2",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "journey",
    "gantt",
    "pie",
    "gitGraph",
    "mindmap",
    "timeline",
    "quadrantChart",
    "requirementDiagram",
    "C4Context",
    "C4Container",
    "C4Component",
    "C4Dynamic",
    "C4Deployment",
    "sankey-beta",
    "sankey",
    "xychart-beta",
    "xychart",
    "block-beta",
    "block",
    "packet-beta",
    "packet",
    "kanban",
    "radar-beta",
    "treemap-beta",
    "treemap",
    "info",
    "zenuml",
];

/// Whether a file is read as Markdown (by extension; stdin by content).
pub fn is_markdown(file: &SourceFile) -> bool {
    let lower = file.name.to_ascii_lowercase();
    if [".md", ".markdown", ".mdown", ".mkd"].iter().any(|ext| lower.ends_with(ext)) {
        return true;
    }
    if [".mmd", ".mermaid"].iter().any(|ext| lower.ends_with(ext)) {
        return false;
    }
    // Anything else (stdin, odd extensions): Markdown when it is not itself a diagram.
    let Ok(prepared) = preprocess::prepare(&file.text) else { return false };
    preprocess::keyword(&prepared.text).is_none_or(|(_, word)| !is_diagram_keyword(word))
}

fn is_diagram_keyword(word: &str) -> bool {
    matches!(word, "graph" | "flowchart" | "flowchart-elk" | "architecture-beta" | "architecture")
        || NON_INFRA_KEYWORDS.contains(&word)
}

/// Find every diagram in `file`. Errors when there is nothing to work on.
pub fn extract(file: &SourceFile) -> Result<Extracted, Diagnostic> {
    if file.text.trim().is_empty() {
        return Err(Diagnostic::error("m2a::extract::empty", "the input is empty")
            .with_label(Span::new(0, file.text.len()), "")
            .with_help("give a Mermaid diagram (`graph LR ...` or `architecture-beta ...`) or a Markdown file with a ```mermaid block"));
    }
    let stem = file_stem(&file.name);
    let mut extracted = Extracted::default();
    if is_markdown(file) {
        for block in fenced_blocks(&file.text) {
            let name = block.heading.clone().unwrap_or_else(|| stem.clone());
            classify(&mut extracted, block.source(name));
        }
        if extracted.diagrams.is_empty() {
            let help = if extracted.skipped.is_empty() {
                "add a fenced block that starts with ```mermaid and holds a `graph`, `flowchart` or `architecture-beta` diagram".to_string()
            } else {
                let kinds: Vec<_> = extracted
                    .skipped
                    .iter()
                    .map(|s| {
                        if s.marked {
                            format!("`{}` marked `{IGNORE_MARKER}`", s.keyword)
                        } else {
                            format!("`{}`", s.keyword)
                        }
                    })
                    .collect();
                format!(
                    "the file only has diagrams that describe no infrastructure ({}); draw the architecture as a `flowchart` or `architecture-beta` diagram",
                    kinds.join(", ")
                )
            };
            return Err(Diagnostic::error(
                "m2a::extract::no_diagram",
                "no infrastructure diagram in this Markdown file",
            )
            .with_label(Span::new(0, 0), "")
            .with_help(help));
        }
    } else {
        classify(&mut extracted, DiagramSource::whole(1, stem, file.text.clone(), 0));
        if let Some(skipped) = extracted.skipped.first().filter(|_| extracted.diagrams.is_empty()) {
            if skipped.marked {
                return Err(Diagnostic::error(
                    "m2a::extract::no_diagram",
                    format!("this `{}` diagram is marked as not infrastructure", skipped.keyword),
                )
                .with_label(skipped.span, "no template is made of a diagram marked so")
                .with_help(format!("remove `{IGNORE_MARKER}` to make infrastructure of it")));
            }
            return Err(Diagnostic::error(
                "m2a::extract::no_diagram",
                format!("a `{}` diagram describes no infrastructure", skipped.keyword),
            )
            .with_label(skipped.span, "not an infrastructure diagram")
            .with_help(
                "draw the architecture as a `flowchart`/`graph` or `architecture-beta` diagram",
            ));
        }
    }
    Ok(extracted)
}

/// Keep infrastructure diagrams (and anything we cannot name: the parser reports it), skip
/// the other Mermaid kinds and the diagrams marked [`IGNORE_MARKER`].
fn classify(extracted: &mut Extracted, mut source: DiagramSource) {
    let keyword = preprocess::prepare(&source.text)
        .ok()
        .and_then(|p| preprocess::keyword(&p.text).map(|(span, word)| (span, word.to_string())));
    if let Some((span, word)) =
        keyword.clone().filter(|(_, w)| NON_INFRA_KEYWORDS.contains(&w.as_str()))
    {
        let span = source.file_span(span);
        extracted.skipped.push(Skipped { name: source.name, keyword: word, marked: false, span });
        return;
    }
    if let Some(marker) = ignore_marker(&source.text) {
        let span = source.file_span(marker);
        let keyword = keyword.map_or_else(|| "mermaid".to_string(), |(_, word)| word);
        extracted.skipped.push(Skipped { name: source.name, keyword, marked: true, span });
        return;
    }
    source.index = extracted.diagrams.len() + 1;
    extracted.diagrams.push(source);
}

/// The span (in `text`) of a line that is [`IGNORE_MARKER`], however spaced
/// (`%%@aws   ignore`).
fn ignore_marker(text: &str) -> Option<Span> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        let words = trimmed.strip_prefix("%%").map(|rest| rest.split_whitespace());
        if words.is_some_and(|w| w.eq(["@aws", "ignore"])) {
            let start = offset + (content.len() - content.trim_start().len());
            return Some(Span::new(start, start + trimmed.len()));
        }
        offset += line.len();
    }
    None
}

/// Pick one diagram by 1-based number or by name (its heading, case-insensitive).
pub fn select<'a>(
    diagrams: &'a [DiagramSource],
    wanted: &str,
) -> Result<&'a DiagramSource, Diagnostic> {
    let listing = || {
        diagrams.iter().map(|d| format!("{} `{}`", d.index, d.name)).collect::<Vec<_>>().join(", ")
    };
    if let Ok(n) = wanted.parse::<usize>() {
        return diagrams.iter().find(|d| d.index == n).ok_or_else(|| {
            Diagnostic::error("m2a::extract::no_such_diagram", format!("there is no diagram {n}"))
                .with_help(format!("the file has: {}", listing()))
        });
    }
    let matching: Vec<_> =
        diagrams.iter().filter(|d| d.name.eq_ignore_ascii_case(wanted.trim())).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(Diagnostic::error(
            "m2a::extract::no_such_diagram",
            format!("no diagram is named `{wanted}`"),
        )
        .with_help(format!("the file has: {}", listing()))),
        _ => Err(Diagnostic::error(
            "m2a::extract::ambiguous_diagram",
            format!("{} diagrams are named `{wanted}`", matching.len()),
        )
        .with_help(format!("pick one by number: {}", listing()))),
    }
}

fn file_stem(name: &str) -> String {
    if name == "-" {
        return "stdin".to_string();
    }
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.split('.').next().filter(|s| !s.is_empty()).unwrap_or(base).to_string()
}

/// A fenced `mermaid` code block as CommonMark sees it.
struct FencedBlock {
    heading: Option<String>,
    text: String,
    span: Span,
    pieces: Vec<(usize, usize)>,
}

impl FencedBlock {
    fn source(self, name: String) -> DiagramSource {
        DiagramSource { index: 0, name, text: self.text, span: self.span, pieces: self.pieces }
    }
}

fn fenced_blocks(markdown: &str) -> Vec<FencedBlock> {
    let mut blocks = Vec::new();
    let mut heading: Option<String> = None;
    let mut in_heading: Option<String> = None;
    let mut current: Option<FencedBlock> = None;
    for (event, range) in Parser::new_ext(markdown, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => in_heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                heading = in_heading.take().map(|h| h.trim().to_string()).filter(|h| !h.is_empty());
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("mermaid")) =>
            {
                current = Some(FencedBlock {
                    heading: heading.clone(),
                    text: String::new(),
                    span: Span::new(range.end, range.end),
                    pieces: Vec::new(),
                });
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(block) = current.as_mut() {
                    if block.pieces.is_empty() {
                        block.span = Span::new(range.start, range.start);
                    }
                    // Text is copied verbatim unless CommonMark expanded a tab; then the
                    // piece still starts at the right place, which is all spans need.
                    block.pieces.push((block.text.len(), range.start));
                    block.text.push_str(&text);
                    block.span.end = range.end;
                } else if let Some(h) = in_heading.as_mut() {
                    h.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(mut block) = current.take() {
                    if block.pieces.is_empty() {
                        block.pieces.push((0, block.span.start));
                    }
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract_md(text: &str) -> Extracted {
        extract(&SourceFile::new("README.md", text)).unwrap()
    }

    #[test]
    fn finds_fences_in_lists_quotes_and_indented() {
        let md = "# Top\n\n- item\n\n  ```mermaid\n  graph LR\n    A-->B\n  ```\n\n## Quoted\n> ~~~ mermaid\n> flowchart\n>  X\n> ~~~\n\n   ```mermaid\n   graph\n  A\n   ```\n";
        let got = extract_md(md);
        assert_eq!(got.diagrams.len(), 3);
        assert_eq!(got.diagrams[0].name, "Top");
        assert_eq!(got.diagrams[0].text, "graph LR\n  A-->B\n");
        assert_eq!(got.diagrams[1].name, "Quoted");
        assert_eq!(got.diagrams[1].text, "flowchart\n X\n");
        // Every offset maps back to the same character in the Markdown file.
        for d in &got.diagrams {
            for (i, ch) in d.text.char_indices() {
                if ch != '\n' {
                    let f = d.file_offset(i);
                    assert_eq!(md[f..].chars().next(), Some(ch), "diagram {} offset {i}", d.index);
                }
            }
        }
    }

    #[test]
    fn skips_other_kinds_and_numbers_the_rest() {
        let md = "```mermaid\nsequenceDiagram\nA->>B: hi\n```\n\n# Infra\n```mermaid\ngraph LR\nA-->B\n```\n";
        let got = extract_md(md);
        assert_eq!(got.skipped.len(), 1);
        assert_eq!(got.skipped[0].keyword, "sequenceDiagram");
        assert_eq!(got.diagrams.len(), 1);
        assert_eq!(got.diagrams[0].index, 1);
        assert_eq!(select(&got.diagrams, "infra").unwrap().index, 1);
        assert!(select(&got.diagrams, "2").is_err());
    }

    #[test]
    fn a_marked_flowchart_is_skipped_and_not_numbered() {
        let md = "# Flow\n```mermaid\nflowchart TD\n  %%@aws  ignore\n  A-->B\n```\n\n# Infra\n```mermaid\ngraph LR\nA-->B\n```\n";
        let got = extract_md(md);
        assert_eq!(got.skipped.len(), 1);
        let skipped = &got.skipped[0];
        assert!(skipped.marked);
        assert_eq!(skipped.keyword, "flowchart");
        assert_eq!(&md[skipped.span.start..skipped.span.end], "%%@aws  ignore");
        assert_eq!(got.diagrams.len(), 1);
        assert_eq!(got.diagrams[0].index, 1);
        assert_eq!(got.diagrams[0].name, "Infra");
        // Not a marker: other words after it, or the marker inside a label.
        for text in ["graph LR\n%% @aws ignore A\n", "graph LR\nA[%% @aws ignore]\n"] {
            assert!(ignore_marker(text).is_none(), "{text:?}");
        }
        // A diagram file that is marked has nothing to compile, and says why on the marker.
        let err =
            extract(&SourceFile::new("a.mmd", "graph LR\n%% @aws ignore\nA-->B\n")).unwrap_err();
        assert_eq!(err.code, "m2a::extract::no_diagram");
        assert_eq!(err.span(), Some(Span::new(9, 23)));
    }

    #[test]
    fn regex_lookalikes_are_not_fences() {
        // Inside an outer fence, a ```mermaid line is code, not a diagram.
        let md = "````markdown\n```mermaid\ngraph LR\n```\n````\n";
        let err = extract(&SourceFile::new("a.md", md)).unwrap_err();
        assert_eq!(err.code, "m2a::extract::no_diagram");
    }

    #[test]
    fn a_diagram_file_of_another_kind_is_an_error_on_its_keyword() {
        let err =
            extract(&SourceFile::new("a.mmd", "pie title Pets\n  \"Dogs\" : 3\n")).unwrap_err();
        assert_eq!(err.code, "m2a::extract::no_diagram");
        assert!(err.message.contains("`pie`"), "{}", err.message);
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(extract(&SourceFile::new("a.mmd", "  \n")).is_err());
    }
}
