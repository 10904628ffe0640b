//! Parse `architecture-beta` diagrams with `grammar/architecture.pest`.
//!
//! Invariants: every AST span is a file span; every line that is not a statement is reported
//! (all of them, in one pass), each with what was expected where it went wrong.

pub mod ast;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;
use crate::source::Span;

use grammar::{ArchitectureParser, Rule};

/// Rebuild when the grammar changes.
const _GRAMMAR: &str = include_str!("../../../grammar/architecture.pest");

mod grammar {
    #![allow(unreachable_pub)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/architecture.pest"]
    pub(super) struct ArchitectureParser;
}

/// Parse the prepared text of an architecture diagram (see `preprocess`) into its AST.
pub fn parse(prepared: &str, source: &DiagramSource) -> Result<ast::Architecture, Vec<Diagnostic>> {
    let parser = Parser { source };
    match ArchitectureParser::parse(Rule::architecture, prepared) {
        Ok(mut pairs) => match pairs.next() {
            Some(pair) => parser.architecture(pair),
            None => Err(vec![Diagnostic::bug("the architecture grammar produced nothing")]),
        },
        Err(error) => Err(vec![parser.syntax_error(&error, 0, prepared)]),
    }
}

/// What every rule function needs: how to map offsets of the prepared text into the file.
struct Parser<'a> {
    source: &'a DiagramSource,
}

type Parsed<T> = Result<T, Diagnostic>;

/// Keywords that mermaid's lexer never reads as an id.
const KEYWORDS: &[&str] = &["group", "service", "junction", "in", "architecture-beta"];

impl Parser<'_> {
    fn span(&self, span: pest::Span<'_>) -> Span {
        self.source.file_span(Span::new(span.start(), span.end()))
    }

    fn architecture(&self, pair: Pair<'_, Rule>) -> Result<ast::Architecture, Vec<Diagnostic>> {
        let span = self.span(pair.as_span());
        let mut statements = Vec::new();
        let mut comments = Vec::new();
        let mut diagnostics = Vec::new();
        for pair in pair.into_inner() {
            let statement = match pair.as_rule() {
                Rule::group => self.group(pair).map(ast::Statement::Group),
                Rule::service => self.service(pair).map(ast::Statement::Service),
                Rule::junction => self.junction(pair).map(ast::Statement::Junction),
                Rule::edge => self.edge(pair).map(ast::Statement::Edge),
                Rule::title => Ok(ast::Statement::Title(self.title(pair))),
                Rule::acc_title => Ok(ast::Statement::AccTitle(self.acc_title(pair))),
                Rule::acc_descr => Ok(ast::Statement::AccDescr(self.acc_descr(pair))),
                Rule::comment => {
                    comments.push(self.comment(pair));
                    continue;
                }
                Rule::error_line => Err(self.error_line(pair)),
                Rule::header | Rule::EOI => continue,
                other => Err(Diagnostic::bug(format!("unexpected rule {other:?} in a diagram"))),
            };
            match statement {
                Ok(statement) => statements.push(statement),
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        if diagnostics.is_empty() {
            Ok(ast::Architecture { span, statements, comments })
        } else {
            Err(diagnostics)
        }
    }

    fn group(&self, pair: Pair<'_, Rule>) -> Parsed<ast::Group> {
        let span = self.span(pair.as_span());
        let mut id = None;
        let (mut icon, mut title, mut parent) = (None, None, None);
        for pair in pair.into_inner() {
            match pair.as_rule() {
                Rule::kw_group => {}
                Rule::id => id = Some(self.id(pair)?),
                Rule::icon => icon = Some(self.icon(pair)),
                Rule::arch_title => title = Some(self.arch_title(pair)),
                Rule::parent => parent = Some(self.parent(pair)?),
                other => {
                    return Err(Diagnostic::bug(format!("unexpected rule {other:?} in a group")));
                }
            }
        }
        let id = id.ok_or_else(|| Diagnostic::bug("group without an id"))?;
        Ok(ast::Group { span, id, icon, title, parent })
    }

    fn service(&self, pair: Pair<'_, Rule>) -> Parsed<ast::Service> {
        let span = self.span(pair.as_span());
        let mut id = None;
        let (mut icon, mut icon_text, mut title, mut parent) = (None, None, None, None);
        for pair in pair.into_inner() {
            match pair.as_rule() {
                Rule::kw_service => {}
                Rule::id => id = Some(self.id(pair)?),
                Rule::icon => icon = Some(self.icon(pair)),
                Rule::icon_text => icon_text = Some(self.icon_text(pair)),
                Rule::arch_title => title = Some(self.arch_title(pair)),
                Rule::parent => parent = Some(self.parent(pair)?),
                other => {
                    return Err(Diagnostic::bug(format!("unexpected rule {other:?} in a service")));
                }
            }
        }
        let id = id.ok_or_else(|| Diagnostic::bug("service without an id"))?;
        Ok(ast::Service { span, id, icon, icon_text, title, parent })
    }

    fn junction(&self, pair: Pair<'_, Rule>) -> Parsed<ast::Junction> {
        let span = self.span(pair.as_span());
        let mut id = None;
        let mut parent = None;
        for pair in pair.into_inner() {
            match pair.as_rule() {
                Rule::kw_junction => {}
                Rule::id => id = Some(self.id(pair)?),
                Rule::parent => parent = Some(self.parent(pair)?),
                other => {
                    return Err(Diagnostic::bug(format!(
                        "unexpected rule {other:?} in a junction"
                    )));
                }
            }
        }
        let id = id.ok_or_else(|| Diagnostic::bug("junction without an id"))?;
        Ok(ast::Junction { span, id, parent })
    }

    fn parent(&self, pair: Pair<'_, Rule>) -> Parsed<ast::Ident> {
        // parent = { kw_in ~ id }: the id is the last inner pair.
        match pair.into_inner().find(|p| p.as_rule() == Rule::id) {
            Some(id) => self.id(id),
            None => Err(Diagnostic::bug("`in` without an id")),
        }
    }

    /// An id, refused when mermaid's lexer would not read it as one: it would take a leading
    /// `L`/`R`/`T`/`B` for a side, a leading `title` for a title statement, and a keyword for
    /// that keyword.
    fn id(&self, pair: Pair<'_, Rule>) -> Parsed<ast::Ident> {
        let name = pair.as_str().to_string();
        let span = self.span(pair.as_span());
        let ident = ast::Ident { name, span };
        let name = ident.name.as_str();
        let reserved = |why: String, help: String| {
            Err(Diagnostic::error("m2a::parse::reserved_id", format!("`{name}` cannot be an id"))
                .with_label(span, why)
                .with_help(help))
        };
        if KEYWORDS.contains(&name) {
            return reserved(
                format!("mermaid reads `{name}` as a keyword here"),
                format!("choose another id, such as `{name}1` or `my_{name}`"),
            );
        }
        if let Some(side) = name.chars().next().filter(|c| matches!(c, 'L' | 'R' | 'T' | 'B')) {
            return reserved(
                format!("mermaid reads the leading `{side}` as an edge side"),
                format!(
                    "ids may not start with a capital `L`, `R`, `T` or `B`; write `{}` or `x{name}` instead",
                    name.to_ascii_lowercase()
                ),
            );
        }
        if name.starts_with("title") {
            return reserved(
                "mermaid reads a leading `title` as a title statement".to_string(),
                format!("ids may not start with `title`; write `x{name}` instead"),
            );
        }
        Ok(ident)
    }

    fn icon(&self, pair: Pair<'_, Rule>) -> ast::Text {
        // The icon name is what lies between the parentheses.
        let value = pair.as_str().replace(['(', ')'], "").trim().to_string();
        ast::Text { value, span: self.span(pair.as_span()) }
    }

    fn icon_text(&self, pair: Pair<'_, Rule>) -> ast::Text {
        let raw = pair.as_str();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        ast::Text { value: unescape(inner), span: self.span(pair.as_span()) }
    }

    fn arch_title(&self, pair: Pair<'_, Rule>) -> ast::Text {
        ast::Text { value: title_value(pair.as_str()), span: self.span(pair.as_span()) }
    }

    fn edge(&self, pair: Pair<'_, Rule>) -> Parsed<ast::Edge> {
        let span = self.span(pair.as_span());
        let mut lhs = None;
        let mut rhs = None;
        let mut title = None;
        let mut heads = (None, None);
        let mut seen_link = false;
        for pair in pair.into_inner() {
            match pair.as_rule() {
                Rule::edge_lhs => lhs = Some(self.edge_lhs(pair)?),
                Rule::edge_rhs => rhs = Some(self.edge_rhs(pair)?),
                Rule::into if seen_link => heads.1 = Some(self.span(pair.as_span())),
                Rule::into => heads.0 = Some(self.span(pair.as_span())),
                Rule::plain_link => seen_link = true,
                Rule::titled_link => {
                    seen_link = true;
                    title = self.titled_link(pair);
                }
                other => {
                    return Err(Diagnostic::bug(format!("unexpected rule {other:?} in an edge")));
                }
            }
        }
        let (Some(mut lhs), Some(mut rhs)) = (lhs, rhs) else {
            return Err(Diagnostic::bug("edge without two ends"));
        };
        lhs.head = heads.0;
        rhs.head = heads.1;
        Ok(ast::Edge { span, lhs, rhs, title })
    }

    fn titled_link(&self, pair: Pair<'_, Rule>) -> Option<ast::Text> {
        // titled_link = { "-" ~ arch_title ~ "-" }
        pair.into_inner().find(|p| p.as_rule() == Rule::arch_title).map(|p| self.arch_title(p))
    }

    fn edge_lhs(&self, pair: Pair<'_, Rule>) -> Parsed<ast::EdgeEnd> {
        self.edge_end(pair, "edge_lhs")
    }

    fn edge_rhs(&self, pair: Pair<'_, Rule>) -> Parsed<ast::EdgeEnd> {
        self.edge_end(pair, "edge_rhs")
    }

    /// Both ends hold the same parts, only in another order.
    fn edge_end(&self, pair: Pair<'_, Rule>, rule: &str) -> Parsed<ast::EdgeEnd> {
        let mut id = None;
        let mut group_modifier = None;
        let mut side = None;
        for pair in pair.into_inner() {
            match pair.as_rule() {
                Rule::id => id = Some(self.id(pair)?),
                Rule::group_modifier => group_modifier = Some(self.span(pair.as_span())),
                Rule::side => side = Some((self.side(&pair)?, self.span(pair.as_span()))),
                Rule::colon => {}
                other => {
                    return Err(Diagnostic::bug(format!("unexpected rule {other:?} in {rule}")));
                }
            }
        }
        let (Some(id), Some((side, side_span))) = (id, side) else {
            return Err(Diagnostic::bug(format!("{rule} without an id or a side")));
        };
        Ok(ast::EdgeEnd { id, group_modifier, side, side_span, head: None })
    }

    fn side(&self, pair: &Pair<'_, Rule>) -> Parsed<ast::Side> {
        match pair.as_str() {
            "L" => Ok(ast::Side::Left),
            "R" => Ok(ast::Side::Right),
            "T" => Ok(ast::Side::Top),
            "B" => Ok(ast::Side::Bottom),
            other => Err(Diagnostic::bug(format!("side `{other}`"))),
        }
    }

    fn title(&self, pair: Pair<'_, Rule>) -> ast::Text {
        self.single_line_text(pair)
    }

    fn acc_title(&self, pair: Pair<'_, Rule>) -> ast::Text {
        self.single_line_text(pair)
    }

    fn acc_descr(&self, pair: Pair<'_, Rule>) -> ast::Text {
        let span = self.span(pair.as_span());
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::free_text => return ast::Text { value: squeeze(inner.as_str()), span },
                Rule::block_text => return ast::Text { value: block_value(inner.as_str()), span },
                _ => {}
            }
        }
        ast::Text { value: String::new(), span }
    }

    /// `title`, `accTitle:` and `accDescr:`: trimmed, runs of blanks made one space.
    fn single_line_text(&self, pair: Pair<'_, Rule>) -> ast::Text {
        let span = self.span(pair.as_span());
        let value = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::free_text)
            .map(|p| squeeze(p.as_str()))
            .unwrap_or_default();
        ast::Text { value, span }
    }

    fn comment(&self, pair: Pair<'_, Rule>) -> ast::Comment {
        let text = pair.as_str().strip_prefix("%%").unwrap_or_default().to_string();
        ast::Comment { text, span: self.span(pair.as_span()) }
    }

    /// A line that is no statement: parse it alone to say where and why.
    fn error_line(&self, pair: Pair<'_, Rule>) -> Diagnostic {
        let start = pair.as_span().start();
        let line = pair.as_str().trim_end();
        match ArchitectureParser::parse(Rule::lone_statement, line) {
            Err(error) => self.syntax_error(&error, start, line),
            // Alone it parses (an unclosed `accDescr {` block swallowed the next lines).
            Ok(_) => Diagnostic::error("m2a::parse::syntax", "this line is not a statement")
                .with_label(self.span(pair.as_span()), "")
                .with_help(STATEMENT_FORMS),
        }
    }

    /// One humanised diagnostic for a pest error in `text`, which starts at `offset` of the
    /// prepared text.
    fn syntax_error(
        &self,
        error: &pest::error::Error<Rule>,
        offset: usize,
        text: &str,
    ) -> Diagnostic {
        let at = match error.location {
            InputLocation::Pos(at) | InputLocation::Span((at, _)) => at.min(text.len()),
        };
        let found = found_token(text, at);
        let message = match found {
            Some(token) => format!("unexpected `{token}`"),
            None => "unexpected end of line".to_string(),
        };
        let len = found.map_or(0, str::len);
        let span = self.source.file_span(Span::new(offset + at, offset + at + len));
        let positives = match &error.variant {
            ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            ErrorVariant::CustomError { .. } => Vec::new(),
        };
        let expected = error.clone().renamed_rules(describe).variant.message().into_owned();
        Diagnostic::error("m2a::parse::syntax", message)
            .with_label(span, expected)
            .with_help(help_for(&positives, text, at))
    }
}

/// The statement forms, for a help line.
const STATEMENT_FORMS: &str = "a line is `group ID(ICON)[TITLE] in PARENT`, `service ID(ICON)[TITLE] in PARENT`, `junction ID in PARENT`, an edge such as `a:R --> L:b`, or `title`, `accTitle:`, `accDescr:`";

/// The token at `at`: a word, or a single character; `None` at the end of the text.
fn found_token(text: &str, at: usize) -> Option<&str> {
    let rest = text.get(at..)?;
    let first = rest.chars().next()?;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let len = if is_word(first) {
        rest.find(|c: char| !is_word(c)).unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    Some(&rest[..len])
}

/// How the error message names each rule.
fn describe(rule: &Rule) -> String {
    match rule {
        Rule::architecture => "an architecture diagram",
        Rule::header => "`architecture-beta`",
        Rule::error_line | Rule::lone_statement => "a statement",
        Rule::comment => "a `%%` comment",
        Rule::group => "a `group` declaration",
        Rule::service => "a `service` declaration",
        Rule::junction => "a `junction` declaration",
        Rule::parent => "`in` and a group id",
        Rule::kw_group => "`group`",
        Rule::kw_service => "`service`",
        Rule::kw_junction => "`junction`",
        Rule::kw_in => "`in`",
        Rule::id => "an id",
        Rule::icon => "an icon such as `(server)`",
        Rule::icon_text => "a quoted icon text",
        Rule::arch_title => "a title in brackets such as `[Web]`",
        Rule::edge | Rule::edge_lhs => "an edge such as `a:R -- L:b`",
        Rule::edge_rhs => "a side and an id such as `L:b`",
        Rule::colon => "`:`",
        Rule::side => "a side (`L`, `R`, `T` or `B`)",
        Rule::into => "an arrow head (`<` or `>`)",
        Rule::group_modifier => "`{group}`",
        Rule::plain_link => "`--`",
        Rule::titled_link => "`-[title]-`",
        Rule::title => "`title`",
        Rule::acc_title => "`accTitle:`",
        Rule::acc_descr => "`accDescr`",
        Rule::free_text | Rule::block_text => "text",
        Rule::EOI => "the end of the line",
        Rule::WHITESPACE | Rule::blank => "a space",
        Rule::line | Rule::statement => "a statement",
        Rule::id_more | Rule::id_char => "a letter, a digit or `_`",
    }
    .to_string()
}

/// A help line in plain words for the most likely mistake.
fn help_for(positives: &[Rule], text: &str, at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let first_word_only = !before.trim().contains(char::is_whitespace)
        && !before.contains(':')
        && !before.trim().is_empty();
    if positives.contains(&Rule::side) {
        "a side is one of `L`, `R`, `T`, `B`, in upper case: `a:R -- L:b`".to_string()
    } else if before.trim_end().ends_with('-') && positives.contains(&Rule::arch_title) {
        "write `--` for an edge without a title, or `-[title]-` for one with a title".to_string()
    } else if positives.contains(&Rule::colon) && first_word_only {
        let word = before.trim();
        if KEYWORDS.contains(&word) {
            STATEMENT_FORMS.to_string()
        } else {
            format!(
                "`{word}` is not a keyword: a line starts with `group`, `service`, `junction`, `title`, `accTitle` or `accDescr`, or is an edge such as `a:R -- L:b`"
            )
        }
    } else if positives.contains(&Rule::colon) {
        "an edge needs a `:` and a side at each end, as in `a:R -- L:b`".to_string()
    } else if text[at.min(text.len())..].starts_with('-')
        && before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    {
        "an id is ASCII letters, digits and `_`, with `-` only between them: it cannot end with `-`"
            .to_string()
    } else if positives.contains(&Rule::id) {
        "an id is ASCII letters, digits and `_`, with `-` only between them".to_string()
    } else {
        STATEMENT_FORMS.to_string()
    }
}

/// mermaid's conversion of a `[title]`: brackets off, trimmed, outer quotes off with `\"` and
/// `\'` unescaped, trimmed again.
fn title_value(raw: &str) -> String {
    let inner = raw.strip_prefix('[').unwrap_or(raw);
    let inner = inner.strip_suffix(']').unwrap_or(inner).trim();
    let quoted = (inner.starts_with('"') && inner.ends_with('"'))
        || (inner.starts_with('\'') && inner.ends_with('\''));
    if quoted {
        // A lone `"` counts as quoted too, and leaves nothing.
        let unquoted = inner.get(1..inner.len().saturating_sub(1)).unwrap_or("");
        unescape_quotes(unquoted).trim().to_string()
    } else {
        inner.to_string()
    }
}

/// A quoted string's escapes, as langium converts them: `\n`, `\t`, `\r`, `\b`, `\f`, `\v`
/// and `\0` are control characters; any other escaped character stands for itself.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn unescape_quotes(text: &str) -> String {
    text.replace("\\\"", "\"").replace("\\'", "'")
}

/// Trim, and make every run of two or more spaces or tabs one space (a lone tab stays).
fn squeeze(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blanks = String::new();
    for c in text.trim().chars() {
        if c == ' ' || c == '\t' {
            blanks.push(c);
            continue;
        }
        if blanks.len() > 1 {
            out.push(' ');
        } else {
            out.push_str(&blanks);
        }
        blanks.clear();
        out.push(c);
    }
    out
}

/// An `accDescr { ... }` block: each line trimmed, blank lines dropped, blanks squeezed.
fn block_value(text: &str) -> String {
    text.lines().map(squeeze).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests;
