//! Ports from edge labels: `https 443`, `http 8080`, `tcp/5432`, `:6379`, `9092-9094`,
//! `udp 53`, `ssh`, `all traffic`. Labels that name no port give `None`, and the server's
//! default ports apply.

use crate::catalog::{Port, normalize};

/// Well-known protocol words and their ports.
const NAMED: &[(&str, i64)] = &[
    ("https", 443),
    ("http", 80),
    ("ssh", 22),
    ("rdp", 3389),
    ("mysql", 3306),
    ("postgres", 5432),
    ("postgresql", 5432),
    ("redis", 6379),
    ("memcached", 11211),
    ("kafka", 9092),
    ("amqp", 5672),
    ("amqps", 5671),
    ("nfs", 2049),
    ("dns", 53),
    ("smtp", 25),
    ("grpc", 443),
];

/// The ports an edge label names, if it names any.
pub fn ports_in_label(label: &str) -> Option<Vec<Port>> {
    let words = normalize(label);
    if words.contains("all traffic")
        || words.split(' ').any(|w| w == "all") && words.contains("traffic")
    {
        return Some(vec![Port::ALL]);
    }
    let protocol =
        if words.split(' ').any(|w| w == "udp" || w.starts_with("udp/")) { "udp" } else { "tcp" };
    let mut ports = Vec::new();
    for token in label.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
        if let Some(port) = numeric_port(token, protocol) {
            ports.push(port);
        }
    }
    if ports.is_empty() {
        for word in words.split(' ') {
            if let Some((_, port)) = NAMED.iter().find(|(name, _)| *name == word) {
                let protocol = if word == "dns" { "udp" } else { "tcp" };
                ports.push(Port { protocol, from: *port, to: *port });
                break;
            }
        }
    }
    ports.sort();
    ports.dedup();
    (!ports.is_empty()).then_some(ports)
}

/// `443`, `:6379`, `tcp/5432`, `TCP:5432`, `9092-9094`, `port=80`. Numbers inside CIDRs,
/// versions or instance types (`10.0.0.0/16`, `t3.small`, `v2`) are not ports.
fn numeric_port(token: &str, protocol: &'static str) -> Option<Port> {
    let lower = token.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut protocol = protocol;
    for prefix in ["tcp/", "tcp:", "udp/", "udp:", "port=", "port:", "port", ":", "/"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            if prefix.starts_with("udp") {
                protocol = "udp";
            }
            rest = r;
            break;
        }
    }
    let rest = rest.trim_end_matches([')', ']', '.', '"', '\'']).trim_start_matches(['(', '[']);
    let (from, to) = rest.split_once('-').unwrap_or((rest, rest));
    if from.is_empty()
        || !from.bytes().all(|b| b.is_ascii_digit())
        || !to.bytes().all(|b| b.is_ascii_digit())
        || to.is_empty()
    {
        return None;
    }
    let (from, to): (i64, i64) = (from.parse().ok()?, to.parse().ok()?);
    ((1..=65535).contains(&from) && (from..=65535).contains(&to)).then_some(Port {
        protocol,
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(label: &str) -> Option<Vec<String>> {
        ports_in_label(label).map(|v| v.into_iter().map(Port::describe).collect())
    }

    #[test]
    fn label_notations() {
        assert_eq!(p("https 443"), Some(vec!["tcp/443".into()]));
        assert_eq!(p("http 8080"), Some(vec!["tcp/8080".into()]));
        assert_eq!(p("tcp/5432"), Some(vec!["tcp/5432".into()]));
        assert_eq!(p(":6379"), Some(vec!["tcp/6379".into()]));
        assert_eq!(p("9092-9094"), Some(vec!["tcp/9092-9094".into()]));
        assert_eq!(p("udp 53"), Some(vec!["udp/53".into()]));
        assert_eq!(p("ssh"), Some(vec!["tcp/22".into()]));
        assert_eq!(p("HTTPS"), Some(vec!["tcp/443".into()]));
        assert_eq!(p("all traffic"), Some(vec!["all traffic".into()]));
        assert_eq!(p("reads 10.0.0.0/16 t3.small"), None);
        assert_eq!(p("logs"), None);
        assert_eq!(p("TCP:5432, TCP:6379"), Some(vec!["tcp/5432".into(), "tcp/6379".into()]));
    }
}
