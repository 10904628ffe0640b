//! Facts written in labels: instance classes (`t3.small`, `db.t4g.micro`), counts (`2 tasks`,
//! `x3`), auto scaling bounds (`Min 2 Max 4`) and CIDR blocks (`10.0.0.0/16`). They are
//! defaults: an `@aws` override always wins.

use crate::catalog::normalize;

/// What a label says about sizes and counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Facts {
    pub(crate) classes: Vec<String>,
    pub(crate) count: Option<i64>,
    pub(crate) min: Option<i64>,
    pub(crate) max: Option<i64>,
    pub(crate) cidr: Option<String>,
}

const COUNT_NOUNS: &[&str] =
    &["tasks", "instances", "nodes", "brokers", "replicas", "servers", "containers", "workers"];

pub(crate) fn facts(label: &str) -> Facts {
    let mut facts = Facts::default();
    // Most labels hold no markup: skip the copies that would change nothing.
    let cleaned = if label.contains(['<', '\\']) {
        std::borrow::Cow::Owned(
            label.replace("<br/>", " ").replace("<br>", " ").replace("\\n", " "),
        )
    } else {
        std::borrow::Cow::Borrowed(label)
    };
    for raw in cleaned
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | '·' | '|' | '*' | '`'))
    {
        let token = raw
            .trim_matches(|c: char| matches!(c, '.' | ':' | ';' | '"' | '\''))
            .to_ascii_lowercase();
        if is_class(&token) {
            facts.classes.push(token);
        } else if is_cidr(&token) {
            facts.cidr.get_or_insert(token);
        } else if let Some(n) =
            token.strip_prefix('x').or_else(|| token.strip_prefix('×')).and_then(|n| n.parse().ok())
        {
            facts.count.get_or_insert(n);
        }
    }
    let normalized = normalize(&cleaned);
    let words: Vec<&str> = normalized.split(' ').collect();
    for pair in words.windows(2) {
        let number = |s: &str| s.parse::<i64>().ok().filter(|n| (0..=100).contains(n));
        match (pair[0], number(pair[1]), number(pair[0])) {
            ("min", Some(n), _) => facts.min = Some(n),
            ("max", Some(n), _) => facts.max = Some(n),
            (_, _, Some(n)) if COUNT_NOUNS.contains(&pair[1]) => {
                facts.count.get_or_insert(n);
            }
            _ => {}
        }
    }
    facts
}

/// `t3.small`, `db.t4g.micro`, `cache.r7g.large`, `mq.m5.large`, `kafka.t3.small`.
fn is_class(token: &str) -> bool {
    let rest = ["db.", "cache.", "mq.", "kafka."]
        .iter()
        .find_map(|p| token.strip_prefix(p))
        .unwrap_or(token);
    let Some((family, size)) = rest.split_once('.') else { return false };
    let family_ok = family.len() >= 2
        && family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
        && family.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let size_ok = ["nano", "micro", "small", "medium", "large", "metal"].contains(&size)
        || size
            .strip_suffix("xlarge")
            .is_some_and(|n| n.is_empty() || n.chars().all(|c| c.is_ascii_digit()));
    family_ok && size_ok
}

fn is_cidr(token: &str) -> bool {
    let Some((ip, bits)) = token.split_once('/') else { return false };
    let octets: Vec<&str> = ip.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| o.parse::<u8>().is_ok())
        && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

/// The class a label names for a service whose classes start with `prefix` (`db.`...);
/// `""` means EC2 (no service prefix).
pub(crate) fn class_for(facts: &Facts, prefix: &str) -> Option<String> {
    facts
        .classes
        .iter()
        .find(|c| {
            if prefix.is_empty() {
                !["db.", "cache.", "mq.", "kafka."].iter().any(|p| c.starts_with(p))
            } else {
                c.starts_with(prefix)
            }
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_facts() {
        let f = facts("App servers<br/>t3.small · Min 2 Max 4");
        assert_eq!(f.classes, vec!["t3.small"]);
        assert_eq!((f.min, f.max), (Some(2), Some(4)));
        assert_eq!(facts("ECS Service<br/>2 tasks").count, Some(2));
        assert_eq!(facts("Kafka x3").count, Some(3));
        assert_eq!(facts("RDS (db.t4g.small)").classes, vec!["db.t4g.small"]);
        assert_eq!(facts("VPC 10.0.0.0/16").cidr.as_deref(), Some("10.0.0.0/16"));
        assert_eq!(class_for(&facts("db.t4g.small"), ""), None);
        assert_eq!(class_for(&facts("m5.large"), "").as_deref(), Some("m5.large"));
        assert_eq!(facts("Redis 7.2").classes, Vec::<String>::new());
    }
}
