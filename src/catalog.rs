//! The catalog: what element kinds exist, how a label, icon or shape selects one, and their
//! defaults. The knowledge is data (`catalog/aws.toml`, built into the binary); this module
//! only loads, validates and queries it.
//!
//! Invariant: a loaded catalog has unique kind ids, known roles and families, parseable
//! ports, and software entries for every kind that names one.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// The catalog shipped with mermaid2aws.
pub const BUILTIN: &str = include_str!("../catalog/aws.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "kind")]
    pub kinds: Vec<Kind>,
    #[serde(rename = "group", default)]
    pub groups: Vec<GroupTrait>,
    #[serde(default)]
    pub software: BTreeMap<String, Software>,
    /// Every kind's words, normalized once (` word `, with the spaces that mark its ends).
    #[serde(skip)]
    needles: Vec<Vec<String>>,
    /// Every group trait's words, normalized the same way.
    #[serde(skip)]
    group_needles: Vec<Vec<String>>,
}

/// One element kind.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kind {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub family: Family,
    #[serde(default)]
    pub words: Vec<String>,
    #[serde(default)]
    pub icons: Vec<String>,
    #[serde(default)]
    pub shapes: Vec<String>,
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub stateful: bool,
    pub engine: Option<String>,
    pub software: Option<String>,
    pub resource_type: Option<String>,
    pub properties: Option<toml::Table>,
    #[serde(default)]
    pub read_actions: Vec<String>,
    #[serde(default)]
    pub write_actions: Vec<String>,
    /// Messaging: an arrow into it sends, an arrow out of it receives (stores: both read).
    #[serde(default)]
    pub directional: bool,
    pub arn_attribute: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    External,
    Entry,
    Compute,
    Data,
    Broker,
    Regional,
    Dns,
    Cdn,
    Monitoring,
    Platform,
    Placement,
    /// Drawn on the traffic path but no server itself: edges pass through it.
    PassThrough,
}

impl Role {
    /// Data stores and brokers only ever answer connections.
    pub fn is_server_only(self) -> bool {
        matches!(self, Role::Data | Role::Broker)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    None,
    LoadBalancer,
    ApiGateway,
    Cloudfront,
    Route53,
    ElasticBeanstalk,
    AutoScaling,
    Instance,
    Lambda,
    EcsService,
    Aurora,
    Rds,
    Elasticache,
    AmazonMq,
    Msk,
    Efs,
    Regional,
    Cloudwatch,
}

/// What a group label can mean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTrait {
    #[serde(rename = "trait")]
    pub name: Trait,
    pub words: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trait {
    SecurityGroup,
    AutoScaling,
    ElasticBeanstalk,
    Vpc,
    PublicSubnet,
    PrivateSubnet,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Software {
    pub install: String,
}

/// A port range and protocol: `tcp/443`, `udp/53`, `tcp/9092-9094`, or all traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Port {
    /// `tcp`, `udp`, or `-1` for all traffic.
    pub protocol: &'static str,
    pub from: i64,
    pub to: i64,
}

impl Port {
    pub const ALL: Port = Port { protocol: "-1", from: -1, to: -1 };

    pub fn tcp(port: i64) -> Port {
        Port { protocol: "tcp", from: port, to: port }
    }

    /// `tcp/443` or `udp/53` or `tcp/9092-9094`.
    pub fn parse(text: &str) -> Option<Port> {
        let (protocol, range) = text.split_once('/')?;
        let protocol = match protocol {
            "tcp" => "tcp",
            "udp" => "udp",
            _ => return None,
        };
        let (from, to) = range.split_once('-').unwrap_or((range, range));
        let (from, to) = (from.parse().ok()?, to.parse().ok()?);
        (1..=65535).contains(&from).then_some(())?;
        (from..=65535).contains(&to).then_some(Port { protocol, from, to })
    }

    pub fn describe(self) -> String {
        if self == Port::ALL {
            "all traffic".to_string()
        } else if self.from == self.to {
            format!("{}/{}", self.protocol, self.from)
        } else {
            format!("{}/{}-{}", self.protocol, self.from, self.to)
        }
    }
}

impl Catalog {
    /// The catalog built into the binary, read once per process: `check` compiles many diagrams, and
    /// reading the TOML takes about as long as compiling a small diagram.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN_CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        BUILTIN_CATALOG.get_or_init(|| {
            // The built-in catalog is validated by a unit test; failing here is a build defect.
            Catalog::load(BUILTIN).unwrap_or_else(|errors| {
                panic!("the built-in catalog is invalid: {:?}", errors.first().map(|e| &e.message))
            })
        })
    }

    /// Load and validate a catalog. Diagnostics have spans into `text`.
    pub fn load(text: &str) -> Result<Catalog, Vec<Diagnostic>> {
        let mut catalog: Catalog = toml::from_str(text).map_err(|err| {
            let span = err.span().map_or(Span::new(0, 0), |r| Span::new(r.start, r.end));
            vec![
                Diagnostic::error("m2a::catalog::invalid", err.message().to_string())
                    .with_label(span, "here")
                    .with_help("see the format described at the top of catalog/aws.toml"),
            ]
        })?;
        let mut errors = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for kind in &catalog.kinds {
            let problem = |message: String| {
                Diagnostic::error("m2a::catalog::invalid", message)
                    .with_help("see the format described at the top of catalog/aws.toml")
            };
            if !seen.insert(kind.id.as_str()) {
                errors.push(problem(format!("kind `{}` is defined twice", kind.id)));
            }
            for port in &kind.ports {
                if Port::parse(port).is_none() {
                    errors.push(problem(format!("kind `{}`: bad port `{port}`", kind.id)));
                }
            }
            if let Some(software) = &kind.software
                && !catalog.software.contains_key(software)
            {
                errors.push(problem(format!(
                    "kind `{}` names software `{software}` that has no [software.{software}]",
                    kind.id
                )));
            }
            if kind.family == Family::Regional
                && (kind.resource_type.is_none() || kind.arn_attribute.is_none())
            {
                errors.push(problem(format!(
                    "regional kind `{}` needs resource_type and arn_attribute",
                    kind.id
                )));
            }
        }
        catalog.needles = catalog.kinds.iter().map(|k| needles(&k.words)).collect();
        catalog.group_needles = catalog.groups.iter().map(|g| needles(&g.words)).collect();
        if errors.is_empty() { Ok(catalog) } else { Err(errors) }
    }

    pub fn kind(&self, id: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.id == id)
    }

    /// The kind whose words best match `text` (the longest phrase wins; ties go to the
    /// earlier kind), with the phrase that matched.
    ///
    /// A service word beats a word for an outside actor or a placement unless it is part of
    /// it ("ALB in public subnets" is a load balancer, "Domain name server" is DNS); a replica
    /// suffix is ignored ("EC2a", "web2").
    pub fn match_words(&self, text: &str) -> Option<(&Kind, &str)> {
        let haystack = format!(" {} ", split_replica_suffixes(&normalize(text)));
        // Every needle starts with a blank, so it can only match where the haystack has one:
        // trying those positions finds the same matches as a substring search, in a fraction
        // of the time (this runs once per element).
        let word_starts: Vec<usize> =
            haystack.bytes().enumerate().filter(|&(_, b)| b == b' ').map(|(at, _)| at).collect();
        let opens_word = word_openers(&haystack);
        // Every match: (kind, word, byte range in the haystack).
        let mut matches: Vec<WordMatch<'_>> = Vec::new();
        for (kind, needles) in self.kinds.iter().zip(&self.needles) {
            for (word, needle) in kind.words.iter().zip(needles) {
                let first = needle.as_bytes().get(1);
                if first.is_some_and(|&b| !opens_word[usize::from(b)]) {
                    continue;
                }
                for &start in &word_starts {
                    // The first letter before the whole needle: most word starts differ there.
                    if haystack.as_bytes().get(start + 1) == first
                        && haystack[start..].starts_with(needle.as_str())
                    {
                        matches.push((kind, word, start, start + needle.len()));
                    }
                }
            }
        }
        // A node that says it is a security group, target group or gateway is one, whatever
        // else its label names ("SG: app 8080", "ALB target group").
        if let Some(through) = longest(matches.iter().filter(|m| m.0.role == Role::PassThrough)) {
            return Some((through.0, through.1));
        }
        let best = longest(matches.iter())?;
        let is_context = |k: &Kind| matches!(k.role, Role::External | Role::Placement);
        if is_context(best.0) {
            let services = matches
                .iter()
                .filter(|m| !is_context(m.0) && (m.3 <= best.2 + 1 || m.2 + 1 >= best.3));
            if let Some(service) = longest(services) {
                return Some((service.0, service.1));
            }
        }
        Some((best.0, best.1))
    }

    pub fn match_icon(&self, icon: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.icons.iter().any(|i| i.eq_ignore_ascii_case(icon)))
    }

    pub fn match_shape(&self, shape: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.shapes.iter().any(|s| s == shape))
    }

    /// Every trait a group label carries.
    pub fn group_traits(&self, title: &str) -> Vec<Trait> {
        let haystack = format!(" {} ", normalize(title));
        let opens_word = word_openers(&haystack);
        // A needle whose word opens with a byte no word of the title opens with is not in it:
        // one look-up instead of a search of the whole title.
        let found = |needle: &String| {
            needle.as_bytes().get(1).is_none_or(|&b| opens_word[usize::from(b)])
                && haystack.contains(needle.as_str())
        };
        let mut traits: Vec<Trait> = self
            .groups
            .iter()
            .zip(&self.group_needles)
            .filter(|(_, needles)| needles.iter().any(found))
            .map(|(g, _)| g.name)
            .collect();
        traits.sort();
        traits.dedup();
        traits
    }
}

impl Kind {
    pub fn default_ports(&self) -> Vec<Port> {
        self.ports.iter().filter_map(|p| Port::parse(p)).collect()
    }

    /// Default properties (regional kinds) as JSON.
    pub fn properties_json(&self) -> Value {
        self.properties
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok())
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()))
    }
}

/// Words normalized for searching a normalized label: ` word `, with the blanks that mark its
/// ends.
fn needles(words: &[String]) -> Vec<String> {
    words.iter().map(|w| format!(" {} ", normalize(w))).collect()
}

/// The bytes that open a word of a haystack (follow one of its blanks). Every needle starts
/// with a blank, so a needle whose word opens with another byte matches nowhere, and most
/// needles are ruled out by this one look-up.
fn word_openers(haystack: &str) -> [bool; 256] {
    let mut opens = [false; 256];
    for pair in haystack.as_bytes().windows(2) {
        if pair[0] == b' ' {
            opens[usize::from(pair[1])] = true;
        }
    }
    opens
}

/// A word match: kind, word, byte range in the normalized label.
type WordMatch<'k> = (&'k Kind, &'k str, usize, usize);

/// The match with the longest word; on a tie, the first (the earlier kind in the catalog).
fn longest<'a, 'k: 'a>(
    matches: impl Iterator<Item = &'a WordMatch<'k>>,
) -> Option<&'a WordMatch<'k>> {
    matches.fold(None, |best, m| match best {
        Some(b) if b.1.len() >= m.1.len() => Some(b),
        _ => Some(m),
    })
}

/// `ec2a web1` -> `ec2a ec2 web1 web`: a word that ends in a digit and one letter, or in
/// digits after letters, also stands without the suffix.
fn split_replica_suffixes(words: &str) -> String {
    let mut out = Vec::new();
    for w in words.split(' ') {
        out.push(w.to_string());
        let bytes = w.as_bytes();
        let n = bytes.len();
        if n >= 3 && bytes[n - 1].is_ascii_lowercase() && bytes[n - 2].is_ascii_digit() {
            out.push(w[..n - 1].to_string());
        }
        let stem = w.trim_end_matches(|c: char| c.is_ascii_digit());
        if stem.len() >= 2 && stem.len() < n && stem.chars().all(|c| c.is_alphabetic()) {
            out.push(stem.to_string());
        }
    }
    out.join(" ")
}

/// Lower-case words separated by single spaces; markup (`<br/>`, `**`, `\n`) and punctuation
/// other than `-` and `/` inside words become spaces.
pub fn normalize(text: &str) -> String {
    // Most labels hold no markup: skip the four copies that would change nothing.
    let text = if text.contains(['<', '\\']) {
        std::borrow::Cow::Owned(
            text.replace("<br/>", " ")
                .replace("<br>", " ")
                .replace("<br />", " ")
                .replace("\\n", " "),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let mapped: String =
        text.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '/' {
                    c.to_ascii_lowercase()
                } else {
                    ' '
                }
            })
            .collect();
    let mut out = String::with_capacity(mapped.len());
    for word in mapped
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid_and_large_enough() {
        let catalog = Catalog::load(BUILTIN).expect("valid");
        assert!(catalog.kinds.len() >= 30, "{} kinds", catalog.kinds.len());
    }

    #[test]
    fn longest_phrase_wins() {
        let c = Catalog::builtin();
        let id = |label: &str| c.match_words(label).map(|(k, _)| k.id.as_str());
        assert_eq!(id("Amazon RDS"), Some("rds"));
        assert_eq!(id("Redis"), Some("ec2-redis"));
        assert_eq!(id("ElastiCache for Redis"), Some("elasticache-redis"));
        assert_eq!(id("Application Load balancer"), Some("alb"));
        assert_eq!(id("**RDS PostgreSQL**<br/>db.t4g.micro"), Some("rds-postgres"));
        assert_eq!(id("Amazon Route 53"), Some("route53"));
        assert_eq!(id("Domain name server"), Some("dns-external"));
        assert_eq!(id("Something else"), None);
        assert_eq!(id("ALB<br/>public subnets"), Some("alb"));
        assert_eq!(id("EC2a web"), Some("ec2"));
        assert_eq!(id("web2 Redis"), Some("ec2-redis"));
        assert_eq!(id("Public Subnet"), Some("subnet"));
        assert_eq!(id("Users"), Some("users"));
        assert_eq!(id("SG: app 8080"), Some("pass-through"));
        assert_eq!(id("Internet Gateway"), Some("pass-through"));
    }

    #[test]
    fn ports_parse() {
        assert_eq!(Port::parse("tcp/443"), Some(Port::tcp(443)));
        assert_eq!(Port::parse("tcp/9092-9094").map(|p| p.to), Some(9094));
        assert_eq!(Port::parse("tcp/0"), None);
        assert_eq!(Port::parse("icmp/1"), None);
    }

    #[test]
    fn group_traits_can_combine() {
        let c = Catalog::builtin();
        assert_eq!(
            c.group_traits("Autoscaling Group Security Group"),
            vec![Trait::SecurityGroup, Trait::AutoScaling]
        );
        assert_eq!(c.group_traits("Security Group 1"), vec![Trait::SecurityGroup]);
    }
}
