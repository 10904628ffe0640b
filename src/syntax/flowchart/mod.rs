//! Parse `flowchart` diagrams with `grammar/flowchart.pest`.
//!
//! The grammar accepts any line as an `error_line`, so one pass finds every bad line; each one
//! is then parsed alone with `single_statement` to say precisely what is wrong with it.

pub mod ast;
mod prepare;

use pest::Parser;
use pest::error::{Error as PestError, InputLocation};
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;
use crate::source::Span;

use ast::{Label, Quoting, ShapeKind, Spanned, Statement};

/// Forces a rebuild when the grammar changes.
const _GRAMMAR: &str = include_str!("../../../grammar/flowchart.pest");

#[derive(Parser)]
#[grammar = "../grammar/flowchart.pest"]
struct FlowchartParser;

/// What every rule function needs: the text as written and the map to file offsets.
struct Ctx<'a> {
    /// The prepared text, before the entity and `style` rewrites the grammar sees.
    original: &'a str,
    source: &'a DiagramSource,
}

impl Ctx<'_> {
    fn span(&self, span: pest::Span<'_>) -> Span {
        self.source.file_span(Span::new(span.start(), span.end()))
    }

    /// The text of `pair` as the user wrote it.
    fn text(&self, pair: &Pair<'_, Rule>) -> String {
        let s = pair.as_span();
        self.original.get(s.start()..s.end()).unwrap_or_else(|| pair.as_str()).to_string()
    }

    fn spanned(&self, pair: &Pair<'_, Rule>) -> Spanned<String> {
        Spanned { value: self.text(pair), span: self.span(pair.as_span()) }
    }
}

/// Parse the prepared text of a flowchart diagram (see `preprocess`) into its AST.
pub fn parse(prepared: &str, source: &DiagramSource) -> Result<ast::Flowchart, Vec<Diagnostic>> {
    let grammar_text = prepare::rewrite(prepared);
    let ctx = Ctx { original: prepared, source };
    let mut pairs = match FlowchartParser::parse(Rule::flowchart, &grammar_text) {
        Ok(pairs) => pairs,
        Err(err) => return Err(vec![syntax_error(&err, 0, &ctx)]),
    };
    let Some(top) = pairs.next() else {
        return Err(vec![Diagnostic::bug("the flowchart grammar produced nothing")]);
    };
    flowchart(top, &grammar_text, &ctx)
}

/// `flowchart`: the header, then every statement; error lines become diagnostics.
fn flowchart(
    pair: Pair<'_, Rule>,
    grammar_text: &str,
    ctx: &Ctx<'_>,
) -> Result<ast::Flowchart, Vec<Diagnostic>> {
    let span = ctx.span(pair.as_span());
    let mut keyword = String::new();
    let mut direction = None;
    let mut statements = Vec::new();
    let mut errors = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::header => (keyword, direction) = header(inner, ctx),
            Rule::error_line => errors.push(error_line(&inner, grammar_text, ctx)),
            Rule::EOI => {}
            _ => statements.push(statement(inner, ctx)),
        }
    }
    if errors.is_empty() {
        Ok(ast::Flowchart { keyword, direction, statements, span })
    } else {
        Err(errors)
    }
}

/// `header`: the keyword and the optional direction.
fn header(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> (String, Option<Spanned<String>>) {
    let mut keyword = String::new();
    let mut direction = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::graph_keyword => keyword = inner.as_str().to_string(),
            Rule::direction_value => direction = Some(ctx.spanned(&inner)),
            _ => {}
        }
    }
    (keyword, direction)
}

/// `error_line`: parse the line alone to find out what is wrong with it.
fn error_line(pair: &Pair<'_, Rule>, grammar_text: &str, ctx: &Ctx<'_>) -> Diagnostic {
    let start = pair.as_span().start();
    let line = &grammar_text[start..pair.as_span().end()];
    match FlowchartParser::parse(Rule::single_statement, line) {
        Err(err) => syntax_error(&err, start, ctx),
        Ok(_) => Diagnostic::error("m2a::parse::syntax", "this statement cannot continue here")
            .with_label(ctx.span(pair.as_span()), "not valid at this point")
            .with_help("check the lines around it: a label, string or edge text may be left open"),
    }
}

/// One statement pair.
fn statement(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Statement {
    let span = ctx.span(pair.as_span());
    match pair.as_rule() {
        Rule::vertex_stmt => Statement::Vertices(vertex_stmt(pair, ctx)),
        Rule::subgraph => Statement::Subgraph(subgraph(pair, ctx)),
        Rule::end_stmt => Statement::End(span),
        Rule::direction_stmt | Rule::direction_line => {
            Statement::Direction(direction_stmt(pair, ctx))
        }
        Rule::class_def_stmt => Statement::ClassDef(class_def_stmt(pair, ctx)),
        Rule::class_stmt => Statement::Class(class_stmt(pair, ctx)),
        Rule::style_stmt => Statement::Style(style_stmt(pair, ctx)),
        Rule::link_style_stmt => Statement::LinkStyle(link_style_stmt(pair, ctx)),
        Rule::click_stmt => Statement::Click(click_stmt(pair, ctx)),
        Rule::acc_title => Statement::AccTitle(acc_value(pair, ctx)),
        Rule::acc_descr | Rule::acc_descr_block => Statement::AccDescr(acc_value(pair, ctx)),
        _ => Statement::End(span),
    }
}

/// `direction_stmt` / `direction_line`: the direction word.
fn direction_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Spanned<String> {
    let span = ctx.span(pair.as_span());
    pair.into_inner()
        .find(|p| p.as_rule() == Rule::direction_word)
        .map_or(Spanned { value: "TB".into(), span }, |p| ctx.spanned(&p))
}

/// `acc_title` / `acc_descr` / `acc_descr_block`: the value, trimmed.
fn acc_value(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Spanned<String> {
    let span = ctx.span(pair.as_span());
    let value = pair
        .into_inner()
        .find(|p| matches!(p.as_rule(), Rule::acc_value | Rule::acc_block_value))
        .map(|p| ctx.text(&p).trim().to_string())
        .unwrap_or_default();
    Spanned { value, span }
}

/// `vertex_stmt`: groups of nodes and the links between them.
fn vertex_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::VertexStatement {
    let span = ctx.span(pair.as_span());
    let mut groups = Vec::new();
    let mut links = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::node_group => groups.push(node_group(inner, ctx)),
            Rule::link => links.push(link(inner, ctx)),
            _ => {}
        }
    }
    ast::VertexStatement { groups, links, span }
}

/// `node_group`: nodes joined by `&`.
fn node_group(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Vec<ast::NodeRef> {
    pair.into_inner().filter(|p| p.as_rule() == Rule::node_ref).map(|p| node_ref(p, ctx)).collect()
}

/// `node_ref`: id, shape, class and data.
fn node_ref(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::NodeRef {
    let span = ctx.span(pair.as_span());
    let mut id = Spanned { value: String::new(), span };
    let mut shape = None;
    let mut class = None;
    let mut data = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::node_id => id = ctx.spanned(&inner),
            Rule::node_shape => shape = node_shape(inner, ctx),
            Rule::class_shorthand => class = class_shorthand(inner, ctx),
            Rule::shape_data => data = shape_data(inner, ctx),
            _ => {}
        }
    }
    ast::NodeRef { id, shape, class, data, span }
}

/// `class_shorthand`: the name after `:::`.
fn class_shorthand(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Option<Spanned<String>> {
    pair.into_inner().find(|p| p.as_rule() == Rule::id_string).map(|p| ctx.spanned(&p))
}

/// `shape_data`: the raw inside of `@{...}`.
fn shape_data(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Option<Spanned<String>> {
    let span = ctx.span(pair.as_span());
    pair.into_inner()
        .find(|p| p.as_rule() == Rule::shape_data_content)
        .map(|p| Spanned { value: ctx.text(&p), span })
}

/// `node_shape`: which shape, and its text.
fn node_shape(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Option<ast::NodeShape> {
    let span = ctx.span(pair.as_span());
    let shape = pair.into_inner().next()?;
    let kind = match shape.as_rule() {
        Rule::ellipse => ShapeKind::Ellipse,
        Rule::stadium => ShapeKind::Stadium,
        Rule::subroutine => ShapeKind::Subroutine,
        Rule::props_rect => ShapeKind::Rect,
        Rule::odd => ShapeKind::Odd,
        Rule::cylinder => ShapeKind::Cylinder,
        Rule::double_circle => ShapeKind::DoubleCircle,
        Rule::trapezoid => ShapeKind::Trapezoid,
        Rule::lean_right => ShapeKind::LeanRight,
        Rule::inv_trapezoid => ShapeKind::InvTrapezoid,
        Rule::lean_left => ShapeKind::LeanLeft,
        Rule::circle => ShapeKind::Circle,
        Rule::round => ShapeKind::Round,
        Rule::hexagon => ShapeKind::Hexagon,
        Rule::diamond => ShapeKind::Diamond,
        _ => ShapeKind::Square,
    };
    let mut text = None;
    let mut field = None;
    let mut value = None;
    for inner in shape.into_inner() {
        match inner.as_rule() {
            Rule::prop_field => field = Some(ctx.text(&inner)),
            Rule::prop_value => value = Some(ctx.text(&inner)),
            _ => text = label_text(inner, ctx).or(text),
        }
    }
    let prop = field.zip(value);
    Some(ast::NodeShape { kind, text: text?, prop, span })
}

/// `label_text` (and the trapezoid, ellipse and edge variants): a label and how it was quoted.
fn label_text(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Option<Label> {
    let span = ctx.span(pair.as_span());
    let (text, quoting) = match pair.as_rule() {
        Rule::plain_text
        | Rule::trap_plain_text
        | Rule::ellipse_plain_text
        | Rule::edge_plain_normal
        | Rule::edge_plain_thick
        | Rule::edge_plain_dotted
        | Rule::subgraph_words => (ctx.text(&pair), Quoting::Plain),
        Rule::quoted_string => (inner_text(pair, Rule::string_content, ctx), Quoting::String),
        Rule::markdown_string => (inner_text(pair, Rule::markdown_content, ctx), Quoting::Markdown),
        _ => return None,
    };
    Some(Label { text, quoting, span })
}

/// The text of the first inner pair of rule `rule`.
fn inner_text(pair: Pair<'_, Rule>, rule: Rule, ctx: &Ctx<'_>) -> String {
    pair.into_inner().find(|p| p.as_rule() == rule).map(|p| ctx.text(&p)).unwrap_or_default()
}

/// `link`: id, operator(s) and label.
fn link(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::Link {
    let span = ctx.span(pair.as_span());
    let mut id = None;
    let mut arrow = String::new();
    let mut start = None;
    let mut label = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::link_id => {
                let mut s = ctx.spanned(&inner);
                s.value.pop(); // link_id ends with `@`
                id = Some(s);
            }
            Rule::arrow | Rule::link_end_normal | Rule::link_end_thick | Rule::link_end_dotted => {
                arrow = inner.as_str().to_string();
            }
            Rule::link_start_normal | Rule::link_start_thick | Rule::link_start_dotted => {
                start = Some(inner.as_str().to_string());
            }
            Rule::pipe_label => label = pipe_label(inner, ctx),
            _ => label = label_text(inner, ctx).or(label),
        }
    }
    ast::Link { id, arrow, start, label, span }
}

/// `pipe_label`: the text between the pipes.
fn pipe_label(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Option<Label> {
    pair.into_inner().find_map(|p| label_text(p, ctx))
}

/// `subgraph`: the name and the optional `[title]`.
fn subgraph(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::SubgraphOpen {
    let span = ctx.span(pair.as_span());
    let mut name = None;
    let mut title = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::subgraph_name => name = inner.into_inner().find_map(|p| label_text(p, ctx)),
            Rule::subgraph_title => title = inner.into_inner().find_map(|p| label_text(p, ctx)),
            _ => {}
        }
    }
    ast::SubgraphOpen { name, title, span }
}

/// `style_list`: the items, as the grammar saw them, trailing blanks removed.
fn style_list(pair: Pair<'_, Rule>) -> Vec<String> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::style_item)
        .map(|p| p.as_str().trim_end().to_string())
        .collect()
}

/// `class_def_stmt`.
fn class_def_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::ClassDef {
    let span = ctx.span(pair.as_span());
    let mut names = Spanned { value: String::new(), span };
    let mut styles = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::id_string => names = ctx.spanned(&inner),
            Rule::style_list => styles = style_list(inner),
            _ => {}
        }
    }
    ast::ClassDef { names, styles, span }
}

/// `class_stmt`.
fn class_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::ClassStatement {
    let span = ctx.span(pair.as_span());
    let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::id_string);
    let empty = Spanned { value: String::new(), span };
    let ids = parts.next().map_or(empty.clone(), |p| ctx.spanned(&p));
    let class = parts.next().map_or(empty, |p| ctx.spanned(&p));
    ast::ClassStatement { ids, class, span }
}

/// `style_stmt`.
fn style_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::StyleStatement {
    let span = ctx.span(pair.as_span());
    let mut id = Spanned { value: String::new(), span };
    let mut styles = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::id_string => id = ctx.spanned(&inner),
            Rule::style_list => styles = style_list(inner),
            _ => {}
        }
    }
    ast::StyleStatement { id, styles, span }
}

/// `link_style_stmt`.
fn link_style_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::LinkStyle {
    let span = ctx.span(pair.as_span());
    let mut indexes = None;
    let mut interpolate = None;
    let mut styles = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::link_indexes => indexes = link_indexes(inner, ctx),
            Rule::interpolate => {
                interpolate = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::interpolate_name)
                    .map(|p| p.as_str().to_string());
            }
            Rule::style_list => styles = style_list(inner),
            _ => {}
        }
    }
    ast::LinkStyle { indexes, interpolate, styles, span }
}

/// `link_indexes`: `None` for `default`.
fn link_indexes(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> Option<Vec<Spanned<String>>> {
    let mut indexes = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::link_default => return None,
            _ => indexes.push(ctx.spanned(&inner)),
        }
    }
    Some(indexes)
}

/// `click_stmt`.
fn click_stmt(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> ast::Click {
    let span = ctx.span(pair.as_span());
    let mut ids = Spanned { value: String::new(), span };
    let mut action = ast::ClickAction::Callback { name: String::new(), args: None };
    let mut tooltip = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::click_target => ids = ctx.spanned(&inner),
            Rule::click_call | Rule::click_callback | Rule::click_href | Rule::click_link => {
                (action, tooltip) = click_action(inner, ctx);
            }
            _ => {}
        }
    }
    ast::Click { ids, action, tooltip, span }
}

/// `click_call`, `click_callback`, `click_href`, `click_link`.
fn click_action(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> (ast::ClickAction, Option<String>) {
    let is_link = matches!(pair.as_rule(), Rule::click_href | Rule::click_link);
    let mut name = String::new();
    let mut args = None;
    let mut url = String::new();
    let mut target = None;
    let mut tooltip = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::callback_name | Rule::callback_name_plain => name = ctx.text(&inner),
            Rule::callback_args => args = Some(ctx.text(&inner)),
            Rule::url => url = inner_string(inner, ctx),
            Rule::tooltip => tooltip = Some(inner_string(inner, ctx)),
            Rule::link_target => target = Some(ctx.text(&inner)),
            _ => {}
        }
    }
    let action = if is_link {
        ast::ClickAction::Link { url, target }
    } else {
        ast::ClickAction::Callback { name, args }
    };
    (action, tooltip)
}

/// The content of the `quoted_string` inside `pair`.
fn inner_string(pair: Pair<'_, Rule>, ctx: &Ctx<'_>) -> String {
    pair.into_inner()
        .find(|p| p.as_rule() == Rule::quoted_string)
        .map(|p| inner_text(p, Rule::string_content, ctx))
        .unwrap_or_default()
}

/// A pest error as a diagnostic; `offset` is where the parsed text starts in the diagram.
fn syntax_error(err: &PestError<Rule>, offset: usize, ctx: &Ctx<'_>) -> Diagnostic {
    let (start, end) = match err.location {
        InputLocation::Pos(pos) => (pos, pos),
        InputLocation::Span((start, end)) => (start, end),
    };
    let start = (offset + start).min(ctx.original.len());
    let end = (offset + end).min(ctx.original.len()).max(start);
    // Point at the character where parsing stopped (not at an empty span), when there is one.
    let end = if end == start {
        ctx.original[start..].chars().next().map_or(start, |c| start + c.len_utf8())
    } else {
        end
    };
    let found = match ctx.original[start..end].chars().next() {
        None => "the end of the diagram".to_string(),
        Some('\n') => "the end of the line".to_string(),
        Some(c) => format!("`{c}`"),
    };
    let renamed = err.clone().renamed_rules(rule_name);
    let expected = match &renamed.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
            let mut names: Vec<String> = positives.iter().map(rule_name).collect();
            names.sort();
            names.dedup();
            format!("; expected {}", names.join(", "))
        }
        _ => String::new(),
    };
    let span = ctx.source.file_span(Span::new(start, end));
    Diagnostic::error("m2a::parse::syntax", format!("unexpected {found}{expected}"))
        .with_label(span, "the statement cannot go on here")
        .with_help(help_for(&ctx.original[start..end]))
}

/// A plain-words hint for the character where parsing stopped.
fn help_for(found: &str) -> &'static str {
    match found {
        "(" | ")" | "[" | "]" | "{" | "}" | "|" => {
            "put the text in quotes (`A[\"f(x)\"]`) when it holds brackets or pipes, and close every shape you open"
        }
        "\"" => {
            "a label is either all quoted or not quoted at all; `\"` cannot appear inside a string"
        }
        "\u{1}" | ";" => {
            "`#name;` entity codes are allowed only inside labels; `;` ends a statement"
        }
        "%" => "`%%` comments must be on a line of their own",
        _ => {
            "a statement is a node or edge chain (`A --> B`), `subgraph`/`end`, `classDef`, `class`, `style`, `linkStyle`, `click` or `direction`, ending at a line break or `;`"
        }
    }
}

/// The phrase naming a rule in error messages.
fn rule_name(rule: &Rule) -> String {
    let name = match rule {
        Rule::EOI => "the end of the diagram",
        Rule::header | Rule::graph_keyword => "`graph` or `flowchart`",
        Rule::direction_value => "a direction (`TB`, `TD`, `BT`, `LR`, `RL`)",
        Rule::direction_word => "`TB`, `TD`, `BT`, `LR` or `RL`",
        Rule::node_id | Rule::id_string | Rule::node_ref | Rule::node_group => {
            "a node id like `web`"
        }
        Rule::node_shape => "a shape like `[text]`",
        Rule::link | Rule::arrow => "an edge like `-->`",
        Rule::link_end_normal => "the end of the edge (`-->`)",
        Rule::link_end_thick => "the end of the edge (`==>`)",
        Rule::link_end_dotted => "the end of the edge (`.->`)",
        Rule::link_start_normal | Rule::link_start_thick | Rule::link_start_dotted => {
            "an edge like `-- text -->`"
        }
        Rule::link_id => "an edge id like `e1@`",
        Rule::pipe_label => "an edge label like `|text|`",
        Rule::shape_data => "node data like `@{ shape: cyl }`",
        Rule::class_shorthand => "`:::class`",
        Rule::quoted_string | Rule::string_content => "a string",
        Rule::markdown_string | Rule::markdown_content => "a markdown string",
        Rule::plain_text
        | Rule::trap_plain_text
        | Rule::ellipse_plain_text
        | Rule::edge_plain_normal
        | Rule::edge_plain_thick
        | Rule::edge_plain_dotted => "text",
        Rule::subgraph | Rule::subgraph_name | Rule::subgraph_words => "a subgraph id or title",
        Rule::subgraph_title => "a subgraph title like `[Title]`",
        Rule::style_list | Rule::style_item => "styles like `fill:#f9f`",
        Rule::link_indexes | Rule::link_index | Rule::link_default => {
            "edge numbers like `0,1` or `default`"
        }
        Rule::interpolate | Rule::interpolate_name => "`interpolate` and a curve name",
        Rule::click_target => "a node id",
        Rule::url => "a link in quotes",
        Rule::tooltip => "a tooltip in quotes",
        Rule::link_target => "`_self`, `_blank`, `_parent` or `_top`",
        Rule::callback_name | Rule::callback_name_plain => "a callback name",
        Rule::callback_args => "callback arguments",
        Rule::acc_value | Rule::acc_block_value => "a description",
        Rule::prop_field | Rule::prop_value => "a node property like `k:v`",
        _ => "a statement",
    };
    name.to_string()
}

/// The textual form of a shape kind, as mermaid's db stores it.
pub fn shape_name(kind: ShapeKind) -> &'static str {
    match kind {
        ShapeKind::Square => "square",
        ShapeKind::Round => "round",
        ShapeKind::Stadium => "stadium",
        ShapeKind::Subroutine => "subroutine",
        ShapeKind::Cylinder => "cylinder",
        ShapeKind::Circle => "circle",
        ShapeKind::DoubleCircle => "doublecircle",
        ShapeKind::Odd => "odd",
        ShapeKind::Diamond => "diamond",
        ShapeKind::Hexagon => "hexagon",
        ShapeKind::LeanRight => "lean_right",
        ShapeKind::LeanLeft => "lean_left",
        ShapeKind::Trapezoid => "trapezoid",
        ShapeKind::InvTrapezoid => "inv_trapezoid",
        ShapeKind::Ellipse => "ellipse",
        ShapeKind::Rect => "rect",
    }
}

#[cfg(test)]
mod tests;
