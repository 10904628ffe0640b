//! Edges: who talks to whom, on which port, and what that becomes: security-group rules,
//! internet ingress, load balancer targets, CDN origins, DNS aliases, alarms, IAM grants.
//!
//! Who is the client: the tail of `-->`; for `<-->` and `---`, the side that is not a data
//! store or broker, else the left side. Outside actors are always clients, services outside
//! the VPC are always the resource.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::Lowering;
use super::ports::ports_in_label;
use crate::catalog::{Family, Port, Role, Trait};
use crate::diagnostic::Diagnostic;
use crate::ir::graph::{Edge, Head};
use crate::ir::infra::{EdgeNote, IamGrant, NetworkRule, RuleSource};

/// One client -> server connection inside the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub client: String,
    pub server: String,
    pub ports: Vec<Port>,
    pub edge: usize,
}

/// Everything the edges ask for, before any resource exists.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Entry actor -> ports open to 0.0.0.0/0, with the edge that opened each.
    pub internet: BTreeMap<String, Vec<(Port, usize)>>,
    pub links: Vec<Link>,
    /// (client actor, regional element, edge).
    pub grants: Vec<(String, String, usize)>,
    /// Load balancer -> (target actor, port, edge).
    pub targets: BTreeMap<String, Vec<(String, Port, usize)>>,
    /// Target actor -> the first port a load balancer sends to it on (built on first use).
    pub target_ports: std::sync::OnceLock<BTreeMap<String, i64>>,
    /// CDN -> its origin actor.
    pub cdn_origin: BTreeMap<String, String>,
    /// CDN -> the S3 buckets it serves objects from.
    pub cdn_buckets: BTreeMap<String, Vec<String>>,
    /// Origin actor -> ports CloudFront reaches it on.
    pub cdn_ingress: BTreeMap<String, Vec<(Port, usize)>>,
    /// DNS element -> the actor its public name points at.
    pub dns_alias: BTreeMap<String, String>,
    /// (monitoring element, monitored actor).
    pub alarms: Vec<(String, String)>,
    /// API gateway -> its function.
    pub api_routes: BTreeMap<String, String>,
    /// Client actor -> the servers it connects to (told their names and endpoints).
    pub connects_to: BTreeMap<String, BTreeSet<String>>,
    /// Security-group owner (element or group) -> the security group's logical id.
    pub security_groups: BTreeMap<String, String>,
    /// Compute actor -> its IAM role's logical id.
    pub roles: BTreeMap<String, String>,
    /// Instance element -> every instance drawn for it (`count=`).
    pub instances: BTreeMap<String, Vec<String>>,
    /// Data store -> the ARN of the secret that holds its credentials (clients may read it).
    pub secrets: BTreeMap<String, serde_json::Value>,
    /// Resources several elements share (`keypair`, `rds-monitoring`) -> logical id.
    pub shared: BTreeMap<&'static str, String>,
    /// Element or platform group -> its main resource's logical id.
    pub main_resource: BTreeMap<String, String>,
    /// IAM policy statements to add to each role.
    pub statements: BTreeMap<String, Vec<serde_json::Value>>,
    /// (data store, data store, edge, its note in `edge_notes`): two stores drawn joined,
    /// neither of which opens connections; `reach_behind` decides what each such edge means.
    pub stores_joined: Vec<(String, String, usize, usize)>,
}

pub(super) fn plan(l: &mut Lowering<'_>) {
    join_pass_through(l);
    let edges = l.edges.clone();
    for (i, edge) in edges.iter().enumerate() {
        if touches_pass_through(l, edge) {
            continue;
        }
        if is_placement_edge(l, edge) {
            note(l, edge, "placement (containment drawn as an edge), not traffic: no rule".into());
            continue;
        }
        let from = actors(l, &edge.from.id);
        let to = actors(l, &edge.to.id);
        if from.is_empty() || to.is_empty() {
            let unknown = if from.is_empty() { &edge.from.id } else { &edge.to.id };
            note(l, edge, format!("no rule: `{unknown}` makes no AWS resource"));
            continue;
        }
        for a in &from {
            for b in &to {
                connect(l, edge, i, a, b);
            }
        }
    }
    reach_behind(l);
}

/// A store drawn behind another one (`App --> Cache <--> DB`: a cache in front of its
/// database) is used by the front store's clients: the application reads the database when
/// the cache misses, and no data store opens connections itself. So a store with no client of
/// its own, joined to one that has clients, is reached by those clients on its own ports; and
/// so on down a chain of stores (breadth first, each store-to-store edge used once). An edge
/// between two stores that both have clients, or neither, makes no rule.
fn reach_behind(l: &mut Lowering<'_>) {
    let pairs = std::mem::take(&mut l.plan.stores_joined);
    if pairs.is_empty() {
        return;
    }
    let own = clients_by_store(l);
    let mut adjacent: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for (n, (a, b, _, _)) in pairs.iter().enumerate() {
        adjacent.entry(a).or_default().push((b, n));
        adjacent.entry(b).or_default().push((a, n));
    }
    let has_own = |store: &str| own.contains_key(store);
    let mut inherited: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<&str> = std::collections::VecDeque::new();
    let mut queued: BTreeSet<&str> = BTreeSet::new();
    for (a, b, _, _) in &pairs {
        for store in [a.as_str(), b.as_str()] {
            if has_own(store) && queued.insert(store) {
                queue.push_back(store);
            }
        }
    }
    // Pair index -> (front, back, the clients it gave the back store).
    let mut used: BTreeMap<usize, (&str, &str, BTreeSet<String>)> = BTreeMap::new();
    while let Some(front) = queue.pop_front() {
        let clients = own.get(front).or(inherited.get(front)).cloned();
        let Some(clients) = clients else { continue };
        for &(back, n) in adjacent.get(front).into_iter().flatten() {
            if has_own(back) || used.contains_key(&n) {
                continue;
            }
            inherited.entry(back).or_default().extend(clients.iter().cloned());
            used.insert(n, (front, back, clients.clone()));
            if queued.insert(back) {
                queue.push_back(back);
            }
        }
    }
    for (n, (_, _, i, noted)) in pairs.iter().enumerate() {
        let Some((front, back, clients)) = used.get(&n) else { continue };
        let edge = &l.edges[*i];
        let ports = edge
            .label
            .as_deref()
            .and_then(ports_in_label)
            .unwrap_or_else(|| default_ports(l, back));
        for client in clients {
            l.plan.connects_to.entry(client.clone()).or_default().insert(back.to_string());
            l.plan.links.push(Link {
                client: client.clone(),
                server: back.to_string(),
                ports: ports.clone(),
                edge: *i,
            });
        }
        let names = clients.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        l.stack.edge_notes[*noted].note = format!(
            "`{back}` is behind `{front}` (data stores open no connections): {names}, the clients in front, reach it"
        );
    }
}

/// Every actor with a link to each server, and to each element of a group that is a server
/// (a server missing here has no client).
fn clients_by_store(l: &Lowering<'_>) -> BTreeMap<String, BTreeSet<String>> {
    let mut members: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for link in &l.plan.links {
        out.entry(link.server.clone()).or_default().insert(link.client.clone());
        if l.group(&link.server).is_some() {
            let inside =
                members.entry(&link.server).or_insert_with(|| member_elements(l, &link.server));
            for m in inside.iter() {
                out.entry(m.clone()).or_default().insert(link.client.clone());
            }
        }
    }
    out
}

fn is_pass_through(l: &Lowering<'_>, id: &str) -> bool {
    l.classes
        .elements
        .get(id)
        .is_some_and(|c| c.kind.role == Role::PassThrough && c.merged_into.is_none())
}

fn touches_pass_through(l: &Lowering<'_>, edge: &Edge) -> bool {
    is_pass_through(l, &edge.from.id) || is_pass_through(l, &edge.to.id)
}

/// A node drawn on the traffic path that is no server itself (a security group, a target
/// group, an internet gateway): `A --> SG[SG: app 8080] --> B` means `A --> B`. Each edge
/// into it is joined with each edge out of it; the port comes from the outgoing edge's
/// label, else the incoming one's, else the node's own label.
fn join_pass_through(l: &mut Lowering<'_>) {
    let nodes: Vec<String> =
        l.classes.elements.keys().filter(|id| is_pass_through(l, id)).cloned().collect();
    let mut joined = Vec::new();
    for node in &nodes {
        let incoming: Vec<&Edge> =
            l.diagram.edges.iter().filter(|e| &e.to.id == node && &e.from.id != node).collect();
        let outgoing: Vec<&Edge> =
            l.diagram.edges.iter().filter(|e| &e.from.id == node && &e.to.id != node).collect();
        for i in &incoming {
            for o in &outgoing {
                if i.from.id == o.to.id {
                    continue;
                }
                let has_ports =
                    |label: &Option<String>| label.as_deref().and_then(ports_in_label).is_some();
                let label = if has_ports(&o.label) {
                    o.label.clone()
                } else if has_ports(&i.label) {
                    i.label.clone()
                } else {
                    Some(l.label_of(node).to_string()).filter(|t| ports_in_label(t).is_some())
                };
                let mut edge = (*o).clone();
                edge.from = i.from.clone();
                edge.label = label;
                joined.push(edge);
            }
        }
    }
    for edge in &l.diagram.edges {
        if touches_pass_through(l, edge) {
            let through = if is_pass_through(l, &edge.to.id) { &edge.to.id } else { &edge.from.id };
            note(
                l,
                edge,
                format!("passes through `{through}`: joined with the edges on its other side"),
            );
        }
    }
    l.edges.extend(joined);
}

/// An edge that draws where something is rather than who talks to whom: one end is a VPC,
/// subnet or availability-zone group, or one end contains the other.
fn is_placement_edge(l: &Lowering<'_>, edge: &Edge) -> bool {
    let placement = |id: &str| {
        l.classes.groups.get(id).is_some_and(|traits| {
            traits
                .iter()
                .any(|t| matches!(t, Trait::Vpc | Trait::PublicSubnet | Trait::PrivateSubnet))
        })
    };
    if placement(&edge.from.id) || placement(&edge.to.id) {
        return true;
    }
    contains(l, &edge.from.id, &edge.to.id) || contains(l, &edge.to.id, &edge.from.id)
}

/// Whether group `outer` holds `inner` (an element or group) at any depth.
pub(crate) fn contains(l: &Lowering<'_>, outer: &str, inner: &str) -> bool {
    if l.group(outer).is_none() {
        return false;
    }
    let mut current = l
        .group(inner)
        .and_then(|g| g.parent.as_deref())
        .or_else(|| l.element(inner).and_then(|e| e.group.as_deref()));
    for _ in 0..=l.diagram.groups.len() {
        let Some(g) = current else { return false };
        if g == outer {
            return true;
        }
        current = l.group(g).and_then(|x| x.parent.as_deref());
    }
    false
}

/// The actors an endpoint stands for: the element (or what it merged into), a group that
/// means something (security group, auto scaling group, Elastic Beanstalk), or the members of
/// a group that is only a drawing, at any depth.
///
/// Iterative with a visited set: flowchart subgraphs may be nested thousands deep, and their
/// member lists may form a cycle (`subgraph a` listing `b`, `subgraph b` listing `a`).
fn actors(l: &Lowering<'_>, id: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![id];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(group) = l.group(id) {
            let traits = l.classes.groups.get(id).cloned().unwrap_or_default();
            if traits.iter().any(|t| {
                matches!(t, Trait::SecurityGroup | Trait::AutoScaling | Trait::ElasticBeanstalk)
            }) {
                out.insert(id.to_string());
            } else {
                stack.extend(group.members.iter().map(String::as_str));
            }
        } else if l.classes.elements.contains_key(id) {
            out.insert(l.classes.representative(id).to_string());
        }
    }
    out.into_iter().collect()
}

/// The role of an actor; a group's is its members' (data only when all of them are).
pub(crate) fn actor_role(l: &Lowering<'_>, actor: &str) -> Option<Role> {
    if l.is_platform_group(actor) {
        return Some(Role::Platform);
    }
    if l.group(actor).is_some() {
        let members = member_elements(l, actor);
        if members.is_empty() {
            return Some(Role::Placement);
        }
        let all_servers = members.iter().all(|m| l.role(m).is_some_and(Role::is_server_only));
        return Some(if all_servers { Role::Data } else { Role::Compute });
    }
    l.role(actor)
}

/// Classified, unmerged elements inside a group, at any depth.
pub(crate) fn member_elements(l: &Lowering<'_>, group: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![group.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(g) = stack.pop() {
        if !seen.insert(g.clone()) {
            continue;
        }
        let Some(group) = l.group(g) else { continue };
        for m in &group.members {
            if l.group(m).is_some() {
                stack.push(m.clone());
            } else if l.classes.elements.get(m).is_some_and(|c| c.merged_into.is_none()) {
                out.push(m.clone());
            }
        }
    }
    out.sort();
    out
}

fn connect(l: &mut Lowering<'_>, edge: &Edge, i: usize, a: &str, b: &str) {
    if a == b {
        note(l, edge, format!("no rule: both ends are `{a}`"));
        return;
    }
    let (Some(ra), Some(rb)) = (actor_role(l, a), actor_role(l, b)) else { return };
    if ra == Role::Placement || rb == Role::Placement {
        note(l, edge, "placement, not traffic: no rule".into());
        return;
    }
    let (mut client, mut server, mut rc, mut rs) = match (edge.from.head, edge.to.head) {
        (h, Some(Head::Arrow)) if h != Some(Head::Arrow) => (a, b, ra, rb),
        (Some(Head::Arrow), h) if h != Some(Head::Arrow) => (b, a, rb, ra),
        _ => (a, b, ra, rb),
    };
    // Data stores and brokers never open connections: an arrow out of one draws data
    // flowing to its client ("Kafka --> Consumer"), and so does an undirected edge.
    if rc.is_server_only() && !rs.is_server_only() {
        std::mem::swap(&mut client, &mut server);
        std::mem::swap(&mut rc, &mut rs);
    }
    // Outside actors and monitoring always start the conversation; regional services and
    // DNS are always what is used.
    let swap = rs == Role::External && rc != Role::External
        || rs == Role::Monitoring && rc != Role::Monitoring
        || rc == Role::Regional && rs != Role::Regional
        || (rc == Role::Cdn && rs == Role::Dns);
    if swap {
        std::mem::swap(&mut client, &mut server);
        std::mem::swap(&mut rc, &mut rs);
    }
    let (client, server) = (client.to_string(), server.to_string());
    let label_ports = edge.label.as_deref().and_then(ports_in_label);
    let ports = label_ports.clone().unwrap_or_else(|| default_ports(l, &server));
    let is_users = l.classes.elements.get(&client).is_some_and(|c| c.kind.id == "users");
    let server_family = l.classes.elements.get(&server).map(|c| c.kind.family);
    match (rc, rs) {
        (Role::External, Role::Entry | Role::Cdn | Role::Platform | Role::Compute) if is_users => {
            if rs == Role::Cdn {
                note(l, edge, format!("`{server}` is public: CloudFront needs no rule"));
                return;
            }
            let entry = l.plan.internet.entry(server.clone()).or_default();
            for p in &ports {
                entry.push((*p, i));
            }
        }
        (Role::External, Role::Dns) if is_users => {
            note(l, edge, format!("users resolve names through `{server}`: no rule"));
        }
        (Role::External, Role::Data | Role::Broker) => {
            l.diagnostics.push(
                Diagnostic::warning("m2a::lower::public_data_store", format!("`{server}` is a data store; mermaid2aws never opens it to `{client}`"))
                    .with_label(edge.span, "this edge would expose a data store")
                    .with_help("connect the outside actor to an entry element (a load balancer, API or CDN) instead"),
            );
        }
        (Role::External, _) => note(l, edge, format!("`{client}` is outside AWS: no rule")),
        (Role::Dns, Role::Cdn | Role::Entry | Role::Platform) => {
            l.plan.dns_alias.insert(client, server);
        }
        (Role::Cdn, Role::Entry | Role::Platform | Role::Compute) => {
            let port = label_ports.and_then(|p| p.first().copied()).unwrap_or(Port::tcp(80));
            l.plan.cdn_origin.insert(client, server.clone());
            l.plan.cdn_ingress.entry(server).or_default().push((port, i));
        }
        (Role::Cdn, Role::Regional)
            if l.classes
                .elements
                .get(&server)
                .is_some_and(|c| c.kind.resource_type.as_deref() == Some("AWS::S3::Bucket")) =>
        {
            l.plan.cdn_buckets.entry(client).or_default().push(server);
        }
        (Role::Monitoring, _) => {
            if !l.plan.alarms.contains(&(client.clone(), server.clone())) {
                l.plan.alarms.push((client, server));
            }
        }
        (Role::Compute | Role::Platform | Role::Entry, Role::Regional) => {
            l.plan.grants.push((client, server, i))
        }
        (Role::Entry, Role::Compute | Role::Platform)
            if l.classes
                .elements
                .get(&client)
                .is_some_and(|c| c.kind.family == Family::ApiGateway) =>
        {
            l.plan.api_routes.insert(client, server);
        }
        (Role::Entry, Role::Compute | Role::Platform) => {
            let port = ports.first().copied().unwrap_or(Port::tcp(80));
            l.plan.targets.entry(client.clone()).or_default().push((server.clone(), port, i));
            l.plan.links.push(Link { client, server, ports: vec![port], edge: i });
        }
        (
            Role::Compute | Role::Platform | Role::Entry,
            Role::Data | Role::Broker | Role::Compute | Role::Entry,
        ) => {
            if server_family == Some(Family::Lambda)
                || l.classes.elements.get(&client).is_some_and(|c| c.kind.family == Family::Lambda)
            {
                note(l, edge, "Lambda runs outside the VPC here: no security-group rule".into());
                return;
            }
            l.plan.connects_to.entry(client.clone()).or_default().insert(server.clone());
            l.plan.links.push(Link { client, server, ports, edge: i });
        }
        (_, Role::Dns) => {
            note(l, edge, format!("`{client}` resolves names through `{server}`: no rule"))
        }
        (Role::Data | Role::Broker, Role::Data | Role::Broker) => {
            // Noted in the edges' order; `reach_behind` rewrites the note if the edge is used.
            note(l, edge, "data stores never open connections: no rule".into());
            let noted = l.stack.edge_notes.len() - 1;
            l.plan.stores_joined.push((client, server, i, noted));
        }
        _ => note(l, edge, "no traffic this edge could mean: no rule".into()),
    }
}

fn default_ports(l: &Lowering<'_>, server: &str) -> Vec<Port> {
    if l.is_platform_group(server) {
        return vec![Port::tcp(80)];
    }
    let members = if l.group(server).is_some() {
        member_elements(l, server)
    } else {
        vec![server.to_string()]
    };
    let mut ports: Vec<Port> = members
        .iter()
        .filter_map(|m| l.classes.elements.get(m))
        .flat_map(|c| match c.engine.as_deref().and_then(engine_port) {
            Some(port)
                if matches!(c.kind.family, Family::Elasticache | Family::Rds | Family::Aurora) =>
            {
                vec![port]
            }
            _ => c.kind.default_ports(),
        })
        .collect();
    if let Some(p) = l.overrides.get(server, "port").and_then(super::overrides::port_value) {
        ports = vec![p];
    }
    ports.sort();
    ports.dedup();
    if ports.is_empty() { vec![Port::tcp(80)] } else { ports }
}

/// The port an engine named by an override or an engine node listens on.
fn engine_port(engine: &str) -> Option<Port> {
    match engine {
        "memcached" => Some(Port::tcp(11211)),
        "redis" | "valkey" => Some(Port::tcp(6379)),
        "mysql" | "mariadb" | "aurora-mysql" => Some(Port::tcp(3306)),
        "postgres" | "aurora-postgresql" => Some(Port::tcp(5432)),
        _ => None,
    }
}

fn note(l: &mut Lowering<'_>, edge: &Edge, note: String) {
    let text = format!("{} -> {}", edge.from.id, edge.to.id);
    l.stack.edge_notes.push(EdgeNote { edge: text, source: l.file.location(edge.span), note });
}

/// Turn the plan's links, internet ingress and grants into resources, once every security
/// group and role exists.
pub(super) fn materialize(l: &mut Lowering<'_>) {
    let mut seen = BTreeSet::new();
    let links = l.plan.links.clone();
    for link in links {
        let Some(client_sg) = super::resources::client_sg(l, &link.client) else { continue };
        let Some(server_sg) = super::resources::server_sg(l, &link.server) else { continue };
        let edge = l.edges[link.edge].clone();
        if client_sg == server_sg {
            note(
                l,
                &edge,
                format!("same security group `{server_sg}`: covered by its all-traffic rule"),
            );
            continue;
        }
        for port in link.ports {
            if !seen.insert((server_sg.clone(), client_sg.clone(), port)) {
                continue;
            }
            let client = link.client.clone();
            rule(l, &client, &server_sg, RuleSource::Group(client_sg.clone()), port, link.edge);
        }
    }
    let internet = std::mem::take(&mut l.plan.internet);
    for (entry, ports) in &internet {
        let Some(sg) = super::resources::server_sg(l, entry) else { continue };
        for (port, edge) in ports {
            if seen.insert((sg.clone(), "0.0.0.0/0".into(), *port)) {
                let client = l.edges[*edge].from.id.clone();
                rule(l, &client, &sg, RuleSource::Cidr("0.0.0.0/0".into()), *port, *edge);
            }
        }
    }
    l.plan.internet = internet;
    let cdn = l.plan.cdn_ingress.clone();
    for (origin, ports) in cdn {
        let Some(sg) = super::resources::server_sg(l, &origin) else { continue };
        super::resources::cloudfront_prefix_list_parameter(l);
        for (port, edge) in ports {
            if seen.insert((sg.clone(), "cloudfront".into(), port)) {
                let client = l.edges[edge].from.id.clone();
                rule(
                    l,
                    &client,
                    &sg,
                    RuleSource::Cidr("CloudFrontPrefixListId".into()),
                    port,
                    edge,
                );
            }
        }
    }
    let grants = l.plan.grants.clone();
    for (client, resource, edge) in grants {
        super::resources::grant_regional(l, &client, &resource, edge);
    }
}

/// One inbound rule as a resource of its own (so it can reference groups in any order).
pub(crate) fn rule(
    l: &mut Lowering<'_>,
    client: &str,
    to_group: &str,
    from: RuleSource,
    port: Port,
    edge: usize,
) {
    let e = &l.edges[edge];
    let location = l.file.location(e.span);
    let description = format!("{} -> {} ({}) at {}", e.from.id, e.to.id, port.describe(), location);
    let description: String =
        description.chars().filter(|c| c.is_ascii() && !c.is_ascii_control()).take(255).collect();
    let mut props = json!({
        "GroupId": {"Fn::GetAtt": [to_group, "GroupId"]},
        "IpProtocol": port.protocol,
        "Description": description,
    });
    if port != Port::ALL {
        props["FromPort"] = json!(port.from);
        props["ToPort"] = json!(port.to);
    }
    match &from {
        RuleSource::Group(sg) => {
            props["SourceSecurityGroupId"] = json!({"Fn::GetAtt": [sg, "GroupId"]})
        }
        RuleSource::Cidr(c) if c == "CloudFrontPrefixListId" => {
            props["SourcePrefixListId"] = json!({"Ref": c})
        }
        RuleSource::Cidr(c) => props["CidrIp"] = json!(c),
    }
    let stem = match &from {
        RuleSource::Group(sg) => sg.trim_end_matches("SecurityGroup").to_string(),
        RuleSource::Cidr(c) if c == "CloudFrontPrefixListId" => "CloudFront".to_string(),
        RuleSource::Cidr(_) => "Internet".to_string(),
    };
    let port_text = if port == Port::ALL { "All".to_string() } else { port.from.to_string() };
    let id = format!("{}From{stem}{port_text}Ingress", to_group.trim_end_matches("SecurityGroup"));
    let origin = l.origin(client);
    let origin = crate::ir::infra::Origin { element: origin.element, source: location };
    let id = l.add(client, &id, "AWS::EC2::SecurityGroupIngress", props);
    if let Some(r) = l.resource(&id) {
        r.origin = origin.clone();
    }
    if from == RuleSource::Cidr("0.0.0.0/0".into()) && port.from == 80 {
        l.suppress(
            &id,
            "checkov",
            "CKV_AWS_260",
            "the diagram draws users reaching this entry on HTTP 80; it is the only port opened",
        );
    }
    l.stack.rules.push(NetworkRule {
        to_group: to_group.to_string(),
        from,
        protocol: port.protocol.to_string(),
        from_port: port.from,
        to_port: port.to,
        description,
        origin,
    });
}

/// Record a grant in the infra IR (the policy statement is added by the role's builder).
pub(crate) fn record_grant(
    l: &mut Lowering<'_>,
    role: &str,
    actions: Vec<String>,
    resource: &str,
    edge: usize,
) {
    let e = &l.edges[edge];
    let source = l.file.location(e.span);
    let client = l.stack.resources.get(role).map(|r| r.origin.element.clone()).unwrap_or_default();
    l.stack.grants.push(IamGrant {
        role: role.to_string(),
        actions,
        resource: resource.to_string(),
        origin: crate::ir::infra::Origin { element: client, source },
    });
}

/// A data store or broker that no edge connects a client to is unreachable: say so.
pub(super) fn warn_unreached(l: &mut Lowering<'_>) {
    let reached = clients_by_store(l);
    let mut warnings = Vec::new();
    for (id, c) in &l.classes.elements {
        if c.merged_into.is_some()
            || !c.kind.role.is_server_only()
            || !super::needs_vpc(c.kind)
            || reached.contains_key(id)
        {
            continue;
        }
        let Some(element) = l.element(id) else { continue };
        warnings.push(
            Diagnostic::warning(
                "m2a::lower::unreached_data_store",
                format!("no client connects to `{id}`; nothing will be able to reach it"),
            )
            .with_label(element.span, "no edge from a client ends here")
            .with_help(format!(
                "draw an edge from the element that uses it, for example `App --> {id}`"
            )),
        );
    }
    l.diagnostics.extend(warnings);
}
