//! Resources per element family: what a load balancer, an instance, a database... becomes.
//! Each builder reads the plan (targets, links, endpoints) and adds its resources.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Lowering;
use super::connect::member_elements;
use crate::catalog::{Family, Kind, Port, Role, Trait, normalize};
use crate::ir::infra::Parameter;

const SSM_CORE: &str = "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore";

/// A JSON object with these entries, in this order, taking the values as they are. `json!`
/// copies every `Value` written into it through serde (a deep copy that hashes every key
/// again); large parts such as user data and launch template data are moved in here instead.
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(entries.into_iter().map(|(key, value)| (key.to_string(), value)).collect())
}

pub(super) fn build(l: &mut Lowering<'_>) {
    let elements: Vec<(String, &Kind)> = l
        .classes
        .elements
        .iter()
        .filter(|(_, c)| c.merged_into.is_none())
        .map(|(id, c)| (id.clone(), c.kind))
        .collect();
    // Data stores first: their endpoints are what clients are told.
    let order = |k: &Kind| match k.role {
        Role::Data | Role::Broker | Role::Regional => 0,
        Role::Compute => 1,
        Role::Entry | Role::Platform => 2,
        _ => 3,
    };
    let mut elements = elements;
    elements.sort_by_key(|(id, k)| (order(k), id.clone()));
    for (id, kind) in &elements {
        match kind.family {
            Family::Instance => instance(l, id, kind),
            Family::Rds => rds(l, id, kind),
            Family::Aurora => aurora(l, id, kind),
            Family::Elasticache => elasticache(l, id, kind),
            Family::AmazonMq => amazon_mq(l, id, kind),
            Family::Msk => msk(l, id),
            Family::Efs => efs(l, id),
            Family::Regional => regional(l, id, kind),
            Family::Lambda => lambda(l, id),
            Family::EcsService => ecs_service(l, id),
            Family::AutoScaling => auto_scaling(l, id, std::slice::from_ref(id)),
            _ => {}
        }
    }
    // Auto scaling groups drawn as groups around their instances.
    let asg_groups: Vec<String> = l
        .diagram
        .groups
        .iter()
        .filter(|g| l.classes.has_trait(&g.id, Trait::AutoScaling) && !inside_platform(l, &g.id))
        .map(|g| g.id.clone())
        .collect();
    for group in asg_groups {
        let members: Vec<String> = member_elements(l, &group)
            .into_iter()
            .filter(|m| {
                l.classes.elements.get(m).is_some_and(|c| {
                    c.kind.role == Role::Compute && c.kind.family == Family::Instance
                })
            })
            .collect();
        auto_scaling(l, &group, &members);
    }
    for group in l
        .diagram
        .groups
        .iter()
        .filter(|g| l.is_platform_group(&g.id))
        .map(|g| g.id.clone())
        .collect::<Vec<_>>()
    {
        elastic_beanstalk(l, &group);
    }
    for (id, kind) in &elements {
        match kind.family {
            Family::LoadBalancer => load_balancer(l, id),
            Family::ApiGateway => api_gateway(l, id),
            Family::Cloudfront => cloudfront(l, id),
            _ => {}
        }
    }
    private_zone(l);
    for (id, kind) in &elements {
        match kind.family {
            Family::Route53 => public_dns(l, id),
            Family::Cloudwatch => alarms(l, id),
            _ => {}
        }
    }
    // Every security group that any element or rule needs.
    for actor in l.vpc_actors() {
        let _ = client_sg(l, &actor);
        let _ = server_sg(l, &actor);
    }
}

/// Add the collected grant statements to their roles. Runs after the edges are materialized.
pub(super) fn finish_roles(l: &mut Lowering<'_>) {
    let statements = std::mem::take(&mut l.plan.statements);
    for (role, statements) in statements {
        if let Some(r) = l.resource(&role) {
            let policies =
                r.properties.as_object_mut().map(|o| o.entry("Policies").or_insert(json!([])));
            if let Some(Value::Array(list)) = policies {
                list.push(json!({"PolicyName": "diagram-edges", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}));
            }
        }
    }
}

fn inside_platform(l: &Lowering<'_>, group: &str) -> bool {
    let mut current = Some(group);
    for _ in 0..=l.diagram.groups.len() {
        let Some(g) = current else { return false };
        if l.is_platform_group(g) {
            return true;
        }
        current = l.group(g).and_then(|x| x.parent.as_deref());
    }
    false
}

// --- security groups and roles ----------------------------------------------------------

/// Who owns the security group an actor is in: the nearest enclosing security-group group,
/// else an enclosing auto scaling group, else the actor itself.
fn sg_owner(l: &Lowering<'_>, actor: &str) -> String {
    let mut group = if l.group(actor).is_some() {
        Some(actor)
    } else {
        l.element(actor).and_then(|e| e.group.as_deref())
    };
    let mut asg = None;
    for _ in 0..=l.diagram.groups.len() {
        let Some(g) = group else { break };
        if l.classes.has_trait(g, Trait::SecurityGroup) {
            return g.to_string();
        }
        if asg.is_none() && l.classes.has_trait(g, Trait::AutoScaling) {
            asg = Some(g);
        }
        group = l.group(g).and_then(|x| x.parent.as_deref());
    }
    asg.unwrap_or(actor).to_string()
}

fn ensure_sg(l: &mut Lowering<'_>, owner: &str) -> String {
    if let Some(id) = l.plan.security_groups.get(owner) {
        return id.clone();
    }
    let title = l
        .first_group(owner)
        .map(|g| g.display_title().to_string())
        .or_else(|| l.element(owner).map(|e| e.display_label().to_string()))
        .unwrap_or_else(|| owner.to_string());
    // No `file:line:col` here (Metadata has it): a new GroupDescription replaces the security
    // group, and a paragraph added above the diagram must not do that.
    let description: String =
        format!("{} ({owner}), drawn in a mermaid2aws diagram", normalize(&title))
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(255)
            .collect();
    let net = l.net();
    let id = l.add(owner, &format!("{}SecurityGroup", Lowering::stem(owner)), "AWS::EC2::SecurityGroup", json!({
        "GroupDescription": description,
        "VpcId": net.vpc,
        "Tags": [{"Key": "Name", "Value": {"Fn::Sub": format!("${{AWS::StackName}}-{}", owner.to_lowercase())}}],
    }));
    l.plan.security_groups.insert(owner.to_string(), id.clone());
    // The seed's tip: members of one drawn security group talk to each other freely.
    if l.classes.has_trait(owner, Trait::SecurityGroup) {
        let rule = l.add(
            owner,
            &format!("{}SelfIngress", Lowering::stem(owner)),
            "AWS::EC2::SecurityGroupIngress",
            json!({
                "GroupId": {"Fn::GetAtt": [id, "GroupId"]},
                "SourceSecurityGroupId": {"Fn::GetAtt": [id, "GroupId"]},
                "IpProtocol": "-1",
                "Description": format!("all traffic between members of {owner}"),
            }),
        );
        l.stack.rules.push(crate::ir::infra::NetworkRule {
            to_group: id.clone(),
            from: crate::ir::infra::RuleSource::Group(id.clone()),
            protocol: "-1".into(),
            from_port: -1,
            to_port: -1,
            description: format!("all traffic between members of {owner} ({rule})"),
            origin: l.origin(owner),
        });
    }
    id
}

/// The security group an actor's connections leave from (a platform: its instances).
pub(super) fn client_sg(l: &mut Lowering<'_>, actor: &str) -> Option<String> {
    if !in_vpc(l, actor) {
        return None;
    }
    if l.is_platform_group(actor) {
        let compute: Vec<String> = platform_members(l, actor, Role::Compute);
        let owner = compute.first().map_or_else(|| format!("{actor}Instances"), |m| sg_owner(l, m));
        return Some(ensure_sg(l, &owner));
    }
    let owner = sg_owner(l, actor);
    Some(ensure_sg(l, &owner))
}

/// The security group an actor answers on (a platform: its load balancer).
pub(super) fn server_sg(l: &mut Lowering<'_>, actor: &str) -> Option<String> {
    if !in_vpc(l, actor) {
        return None;
    }
    if l.is_platform_group(actor) {
        let entry: Vec<String> = platform_members(l, actor, Role::Entry);
        let owner =
            entry.first().map_or_else(|| format!("{actor}LoadBalancer"), |m| sg_owner(l, m));
        return Some(ensure_sg(l, &owner));
    }
    let owner = sg_owner(l, actor);
    Some(ensure_sg(l, &owner))
}

fn in_vpc(l: &Lowering<'_>, actor: &str) -> bool {
    if l.network.is_none() {
        return false;
    }
    if l.is_platform_group(actor) {
        return true;
    }
    if l.group(actor).is_some() {
        return member_elements(l, actor)
            .iter()
            .any(|m| l.classes.elements.get(m).is_some_and(|c| super::needs_vpc(c.kind)));
    }
    l.classes.elements.get(actor).is_some_and(|c| super::needs_vpc(c.kind))
}

/// Elements merged into a platform group, with the given role.
fn platform_members(l: &Lowering<'_>, group: &str, role: Role) -> Vec<String> {
    l.classes
        .elements
        .iter()
        .filter(|(_, c)| c.merged_into.as_deref() == Some(group) && c.kind.role == role)
        .map(|(id, _)| id.clone())
        .collect()
}

fn ensure_role(l: &mut Lowering<'_>, actor: &str, service: &str, managed: &[&str]) -> String {
    if let Some(id) = l.plan.roles.get(actor) {
        return id.clone();
    }
    let managed: Vec<Value> = managed.iter().map(|m| json!({"Fn::Sub": m})).collect();
    let id = l.add(actor, &format!("{}Role", Lowering::stem(actor)), "AWS::IAM::Role", json!({
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        },
        "ManagedPolicyArns": managed,
    }));
    l.plan.roles.insert(actor.to_string(), id.clone());
    id
}

/// A policy statement on an actor's role (if it has one).
fn allow(
    l: &mut Lowering<'_>,
    actor: &str,
    actions: &[String],
    resources: Value,
) -> Option<String> {
    let role = l.plan.roles.get(actor)?.clone();
    l.plan
        .statements
        .entry(role.clone())
        .or_default()
        .push(json!({"Effect": "Allow", "Action": actions, "Resource": resources}));
    Some(role)
}

/// An edge from a compute actor to a regional service: least privilege on that one resource.
/// An arrow into the service grants its write actions, an arrow out of it its read actions,
/// an edge with no single direction both. A queue or stream drawn pointing at a function
/// also becomes the function's event source.
pub(super) fn grant_regional(l: &mut Lowering<'_>, client: &str, resource: &str, edge: usize) {
    let Some(kind) = l.classes.elements.get(resource).map(|c| c.kind) else { return };
    let Some(target) = l.plan.main_resource.get(resource).cloned() else { return };
    let e = &l.edges[edge];
    let resource_is_to = l.classes.representative(&e.to.id) == resource || e.to.id == resource;
    // A verb in the label says which way data goes ("pull image", "publishes", "reads").
    let verb = e.label.as_deref().map(crate::catalog::normalize).unwrap_or_default();
    let says = |words: &[&str]| verb.split(' ').any(|w| words.iter().any(|v| w.starts_with(v)));
    let reads = says(&[
        "pull",
        "read",
        "get",
        "download",
        "fetch",
        "consume",
        "receive",
        "poll",
        "subscribe",
        "load",
    ]);
    let writes = says(&[
        "push", "write", "put", "upload", "publish", "send", "store", "save", "produce", "emit",
        "log", "archive", "export", "backup",
    ]);
    let (into_resource, out_of_resource) = if reads != writes {
        (writes, reads)
    } else {
        let (at_resource, at_client) =
            if resource_is_to { (e.to.head, e.from.head) } else { (e.from.head, e.to.head) };
        let arrow = Some(crate::ir::graph::Head::Arrow);
        match (at_resource == arrow, at_client == arrow) {
            (true, false) => (true, false),
            (false, true) => (false, true),
            _ => (true, true),
        }
    };
    let mut actions = Vec::new();
    if into_resource {
        actions.extend(kind.write_actions.iter().cloned());
        // Using a store means reading it too; only messaging tells senders from receivers.
        if !kind.directional {
            actions.extend(kind.read_actions.iter().cloned());
        }
    }
    if out_of_resource {
        actions.extend(kind.read_actions.iter().cloned());
    }
    actions.sort();
    actions.dedup();
    let arn = match kind.arn_attribute.as_deref() {
        Some("Ref") | None => json!({"Ref": target}),
        Some(attr) => json!({"Fn::GetAtt": [target, attr]}),
    };
    let resources = if kind.resource_type.as_deref() == Some("AWS::S3::Bucket") {
        json!([arn, {"Fn::Sub": format!("${{{target}.Arn}}/*")}])
    } else {
        json!([arn.clone()])
    };
    if out_of_resource && !into_resource {
        event_source(l, client, &target, kind, arn);
    }
    if actions.is_empty() {
        return;
    }
    if let Some(role) = allow(l, client, &actions, resources) {
        super::connect::record_grant(l, &role, actions, &target, edge);
    } else {
        let e = &l.edges[edge];
        let text = format!("{} -> {}", e.from.id, e.to.id);
        let source = l.file.location(e.span);
        l.stack.edge_notes.push(crate::ir::infra::EdgeNote {
            edge: text,
            source,
            note: format!("`{client}` has no IAM role: no grant"),
        });
    }
}

/// A queue or stream that points at a function invokes it.
fn event_source(l: &mut Lowering<'_>, client: &str, target: &str, kind: &Kind, arn: Value) {
    let Some(func) = l.plan.main_resource.get(client).cloned() else { return };
    if l.stack.resources.get(&func).is_none_or(|r| r.kind != "AWS::Lambda::Function") {
        return;
    }
    if !matches!(kind.resource_type.as_deref(), Some("AWS::SQS::Queue" | "AWS::Kinesis::Stream")) {
        return;
    }
    let mut props = json!({"EventSourceArn": arn, "FunctionName": {"Ref": func}, "BatchSize": 10});
    if kind.resource_type.as_deref() == Some("AWS::Kinesis::Stream") {
        props["StartingPosition"] = json!("LATEST");
    }
    let id = l.add(
        client,
        &format!("{}From{target}EventSource", Lowering::stem(client)),
        "AWS::Lambda::EventSourceMapping",
        props,
    );
    // The mapping polls with the function's role: its grant must exist first.
    if let Some(role) = l.plan.roles.get(client).cloned() {
        l.depends(&id, &role);
    }
}

pub(super) fn cloudfront_prefix_list_parameter(l: &mut Lowering<'_>) {
    let mut p = Parameter::string(
        "Id of the managed prefix list com.amazonaws.global.cloudfront.origin-facing in this region (aws ec2 describe-managed-prefix-lists); only CloudFront may reach the origin",
        None,
    );
    p.allowed_pattern = Some("^pl-[0-9a-f]+$".into());
    l.stack.parameters.entry("CloudFrontPrefixListId".into()).or_insert(p);
}

// --- endpoints clients are told -----------------------------------------------------------

/// `SQL` -> `sql`; `Amazon Elastic Cache` -> `amazon-elastic-cache`.
fn dns_label(l: &Lowering<'_>, id: &str) -> String {
    if let Some(name) = l.overrides.get(id, "name") {
        return name.to_lowercase();
    }
    let label = l.element(id).map_or(id, |e| e.display_label());
    let slug: String = normalize(label)
        .replace([' ', '/'], "-")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    if slug.is_empty() { id.to_lowercase() } else { slug }
}

fn env_name(l: &Lowering<'_>, id: &str) -> String {
    dns_label(l, id).replace('-', "_").to_uppercase()
}

fn zone_name(l: &Lowering<'_>) -> String {
    l.overrides.diagram.get("zone").map_or_else(|| "app.internal".to_string(), |(v, _)| v.clone())
}

/// `NAME_HOST`/`NAME_PORT`... for every server a client connects to.
fn endpoints_for(l: &Lowering<'_>, client: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let servers = l.plan.connects_to.get(client).cloned().unwrap_or_default();
    let mut expanded = BTreeSet::new();
    for s in servers {
        if l.group(&s).is_some() && !l.is_platform_group(&s) {
            expanded.extend(member_elements(l, &s));
        } else {
            expanded.insert(s);
        }
    }
    for server in expanded {
        let Some(c) = l.classes.elements.get(&server) else { continue };
        let name = env_name(l, &server);
        let main = l.plan.main_resource.get(&server).cloned().unwrap_or_default();
        let host = match c.kind.family {
            Family::Instance => Some(json!(format!("{}.{}", dns_label(l, &server), zone_name(l)))),
            Family::Rds => Some(json!({"Fn::GetAtt": [main, "Endpoint.Address"]})),
            Family::Aurora => Some(json!({"Fn::GetAtt": [main, "Endpoint.Address"]})),
            Family::Elasticache if engine_of(l, &server, c.kind) == "memcached" => {
                Some(json!({"Fn::GetAtt": [main, "ConfigurationEndpoint.Address"]}))
            }
            Family::Elasticache => Some(json!({"Fn::GetAtt": [main, "PrimaryEndPoint.Address"]})),
            Family::AmazonMq => Some(
                json!({"Fn::Select": ["0", {"Fn::GetAtt": [main, if c.kind.engine.as_deref() == Some("RABBITMQ") { "AmqpEndpoints" } else { "OpenWireEndpoints" }]}]}),
            ),
            Family::Efs => {
                Some(json!({"Fn::Sub": format!("${{{main}}}.efs.${{AWS::Region}}.amazonaws.com")}))
            }
            Family::LoadBalancer => Some(json!({"Fn::GetAtt": [main, "DNSName"]})),
            _ => None,
        };
        if let Some(host) = host {
            out.push((format!("{name}_HOST"), host));
            if let Some(p) = c.kind.default_ports().first() {
                out.push((format!("{name}_PORT"), json!(p.from.to_string())));
            }
        }
        if let Some(arn) = l.plan.secrets.get(&server) {
            out.push((format!("{name}_SECRET_ARN"), arn.clone()));
        }
    }
    out
}

fn engine_of(l: &Lowering<'_>, id: &str, kind: &Kind) -> String {
    l.classes
        .elements
        .get(id)
        .and_then(|c| c.engine.clone())
        .or_else(|| kind.engine.clone())
        .unwrap_or_default()
}

/// Give a client read access to the secrets of the servers it connects to.
fn allow_server_secrets(l: &mut Lowering<'_>, client: &str) {
    let servers = l.plan.connects_to.get(client).cloned().unwrap_or_default();
    let mut arns = Vec::new();
    for s in servers {
        let members = if l.group(&s).is_some() { member_elements(l, &s) } else { vec![s] };
        arns.extend(members.iter().filter_map(|m| l.plan.secrets.get(m).cloned()));
    }
    if !arns.is_empty() {
        allow(l, client, &["secretsmanager:GetSecretValue".to_string()], Value::Array(arns));
    }
}

// --- compute ------------------------------------------------------------------------------

fn ami_parameter(l: &mut Lowering<'_>) {
    let mut p = Parameter::string(
        "Amazon Linux 2023 AMI (resolved from the public SSM parameter)",
        Some("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
    );
    p.kind = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>".into();
    l.stack.parameters.entry("LatestAmiId".into()).or_insert(p);
}

fn key_pair(l: &mut Lowering<'_>, cause: &str) -> String {
    if let Some(id) = l.plan.shared.get("keypair") {
        return id.clone();
    }
    let id = l.add(
        cause,
        "KeyPair",
        "AWS::EC2::KeyPair",
        json!({
            "KeyName": {"Fn::Sub": "${AWS::StackName}-key"},
            "KeyType": "ed25519",
        }),
    );
    l.output(
        "KeyPairPrivateKeyParameter",
        "SSM parameter that holds the key pair's private key",
        json!({"Fn::Sub": format!("/ec2/keypair/${{{id}.KeyPairId}}")}),
    );
    l.plan.shared.insert("keypair", id.clone());
    id
}

/// User data: the endpoints the instance is told, then the software it runs.
fn user_data(l: &Lowering<'_>, actor: &str, software: Option<&str>, port: i64) -> Value {
    let mut script = String::from("#!/bin/bash\nset -euxo pipefail\n");
    let endpoints = endpoints_for(l, actor);
    let mut vars = Vec::new();
    script.push_str("# Endpoints of what the diagram connects this instance to.\ncat > /etc/profile.d/mermaid2aws.sh <<'ENDPOINTS'\n");
    for (i, (name, value)) in endpoints.iter().enumerate() {
        script.push_str(&format!("export {name}=${{V{i}}}\n"));
        vars.push((format!("V{i}"), value.clone()));
    }
    script.push_str("ENDPOINTS\ncp /etc/profile.d/mermaid2aws.sh /etc/mermaid2aws.env\nsed -i 's/^export //' /etc/mermaid2aws.env\n");
    let install = match software.and_then(|s| l.catalog.software.get(s)) {
        Some(sw) => sw.install.clone(),
        None => l
            .catalog
            .software
            .get("placeholder-http")
            .map(|s| s.install.clone())
            .unwrap_or_default(),
    };
    // `${` would be read by Fn::Sub; software scripts use plain `$VAR` only.
    let install = install.replace("${", "${!").replace("{port}", &port.to_string());
    if install.contains("{vpc_cidr}") {
        vars.push(("VpcCidr".to_string(), l.net().vpc_cidr));
    }
    script.push_str(&install.replace("{vpc_cidr}", "${VpcCidr}"));
    let mut map = serde_json::Map::new();
    for (k, v) in vars {
        map.insert(k, v);
    }
    if map.is_empty() && !script.contains("${") {
        json!({"Fn::Base64": script})
    } else if map.is_empty() {
        json!({"Fn::Base64": {"Fn::Sub": script}})
    } else {
        json!({"Fn::Base64": {"Fn::Sub": [script, Value::Object(map)]}})
    }
}

/// What every EC2 instance of `actor` is given: Amazon Linux 2023, its key pair, role and
/// instance profile, its security group, an encrypted gp3 root volume and its user data.
struct InstanceSetup {
    instance_type: String,
    key: String,
    profile: String,
    security_group: Option<String>,
    volume: Value,
    user_data: Value,
    name_tag: Value,
}

fn instance_setup(
    l: &mut Lowering<'_>,
    actor: &str,
    software: Option<&str>,
    port: i64,
    instance_type: &str,
    stateful: bool,
) -> InstanceSetup {
    ami_parameter(l);
    let key = key_pair(l, actor);
    let role = ensure_role(l, actor, "ec2.amazonaws.com", &[SSM_CORE]);
    let profile = l.add(
        actor,
        &format!("{}InstanceProfile", Lowering::stem(actor)),
        "AWS::IAM::InstanceProfile",
        json!({"Roles": [{"Ref": role}]}),
    );
    let security_group = client_sg(l, actor);
    allow_server_secrets(l, actor);
    InstanceSetup {
        instance_type: instance_type.to_string(),
        key,
        profile,
        security_group,
        volume: json!({"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": if stateful { 50 } else { 20 }, "VolumeType": "gp3", "Encrypted": true, "DeleteOnTermination": !stateful}}),
        user_data: user_data(l, actor, software, port),
        name_tag: json!({"Key": "Name", "Value": {"Fn::Sub": format!("${{AWS::StackName}}-{}", actor.to_lowercase())}}),
    }
}

/// IMDSv2 only: an instance can say so only through a launch template.
fn metadata_options() -> Value {
    json!({"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 2})
}

/// The launch template of an auto scaling group: everything its instances are given.
fn launch_template(l: &mut Lowering<'_>, actor: &str, setup: InstanceSetup) -> String {
    let mut lt = object([
        ("ImageId", json!({"Ref": "LatestAmiId"})),
        ("InstanceType", Value::String(setup.instance_type)),
        ("KeyName", json!({"Ref": setup.key})),
        ("IamInstanceProfile", json!({"Arn": {"Fn::GetAtt": [setup.profile, "Arn"]}})),
        ("MetadataOptions", metadata_options()),
        ("BlockDeviceMappings", Value::Array(vec![setup.volume])),
        ("Monitoring", json!({"Enabled": true})),
        ("UserData", setup.user_data),
        (
            "TagSpecifications",
            Value::Array(vec![object([
                ("ResourceType", json!("instance")),
                ("Tags", Value::Array(vec![setup.name_tag])),
            ])]),
        ),
    ]);
    if let Some(sg) = setup.security_group {
        lt["SecurityGroupIds"] = json!([{"Fn::GetAtt": [sg, "GroupId"]}]);
    }
    l.add(
        actor,
        &format!("{}LaunchTemplate", Lowering::stem(actor)),
        "AWS::EC2::LaunchTemplate",
        object([("LaunchTemplateData", lt)]),
    )
}

fn instance(l: &mut Lowering<'_>, id: &str, kind: &Kind) {
    // Instances drawn inside an auto scaling group belong to it.
    if enclosing(l, id, Trait::AutoScaling).is_some() {
        return;
    }
    let shape_procs = l.element(id).is_some_and(|e| matches!(&e.form, crate::ir::graph::ElementForm::Node { shape: Some(s) } if ["procs", "processes", "st-rect", "stacked-rectangle"].contains(&s.as_str())));
    if kind.role == Role::Compute && kind.software.is_none() && shape_procs && kind.id != "bastion"
    {
        auto_scaling(l, id, &[id.to_string()]);
        return;
    }
    let instance_type =
        l.class(id, "", if kind.id == "ec2-kafka" { "t3.medium" } else { "t3.small" });
    let port = kind.default_ports().first().map_or(80, |p| p.from);
    let mut setup =
        instance_setup(l, id, kind.software.as_deref(), port, &instance_type, kind.stateful);
    // A standalone instance carries its own properties (readable in the template, and what
    // emulators such as moto understand); the launch template only adds IMDSv2, which
    // AWS::EC2::Instance cannot set itself.
    let lt = l.add(
        id,
        &format!("{}LaunchTemplate", Lowering::stem(id)),
        "AWS::EC2::LaunchTemplate",
        json!({"LaunchTemplateData": {"MetadataOptions": metadata_options()}}),
    );
    let public = l.plan.internet.contains_key(id);
    let net = l.net();
    let count = l.number(id, "count", 1).clamp(1, 20);
    let mut first = None;
    let mut all = Vec::new();
    for n in 0..count {
        // The last instance takes the parts every instance shares; the ones before copy them.
        let last = n + 1 == count;
        let shared = |part: &mut Value| if last { part.take() } else { part.clone() };
        let subnet = if public {
            net.public[(n % 2) as usize].clone()
        } else {
            net.private[(n % 2) as usize].clone()
        };
        let group_ids = setup
            .security_group
            .iter()
            .map(|sg| json!({"Fn::GetAtt": [sg, "GroupId"]}))
            .collect::<Vec<_>>();
        let mut props = object([
            (
                "LaunchTemplate",
                json!({"LaunchTemplateId": {"Ref": lt}, "Version": {"Fn::GetAtt": [lt, "LatestVersionNumber"]}}),
            ),
            ("ImageId", json!({"Ref": "LatestAmiId"})),
            ("InstanceType", json!(setup.instance_type)),
            ("KeyName", json!({"Ref": setup.key})),
            ("IamInstanceProfile", json!({"Ref": setup.profile})),
            ("BlockDeviceMappings", Value::Array(vec![shared(&mut setup.volume)])),
            ("Monitoring", Value::Bool(true)),
            ("UserData", shared(&mut setup.user_data)),
            ("Tags", Value::Array(vec![shared(&mut setup.name_tag)])),
        ]);
        if public {
            props["NetworkInterfaces"] = Value::Array(vec![object([
                ("DeviceIndex", json!("0")),
                ("SubnetId", subnet),
                ("AssociatePublicIpAddress", Value::Bool(true)),
                ("GroupSet", Value::Array(group_ids)),
            ])]);
        } else {
            props["SubnetId"] = subnet;
            if !group_ids.is_empty() {
                props["SecurityGroupIds"] = Value::Array(group_ids);
            }
        }
        let suffix = if count > 1 { format!("Instance{}", n + 1) } else { "Instance".to_string() };
        let inst =
            l.add(id, &format!("{}{suffix}", Lowering::stem(id)), "AWS::EC2::Instance", props);
        if public {
            l.suppress(&inst, "checkov", "CKV_AWS_88", "the diagram draws the internet reaching this instance directly; only the drawn ports are open");
        }
        if l.network.as_ref().is_some_and(|_| l.stack.resources.contains_key("PrivateDefaultRoute"))
        {
            // Provisioning downloads packages: wait for the NAT route.
            l.depends(&inst, "PrivateDefaultRoute");
        }
        // A data store's root volume outlives the instance (DeleteOnTermination: false in
        // its block device mapping), so the data survives a destroy; the instance itself is
        // deleted, as a retained one would keep its subnet and VPC from being deleted.
        all.push(inst.clone());
        first.get_or_insert(inst);
    }
    l.plan.instances.insert(id.to_string(), all.clone());
    if let Some(inst) = first {
        l.plan.main_resource.insert(id.to_string(), inst.clone());
        l.output(
            &format!("{}PrivateIp", Lowering::stem(id)),
            &format!("Private IP of {id}"),
            json!({"Fn::GetAtt": [inst, "PrivateIp"]}),
        );
    }
}

fn enclosing(l: &Lowering<'_>, id: &str, t: Trait) -> Option<String> {
    let mut group = l.element(id).and_then(|e| e.group.as_deref());
    for _ in 0..=l.diagram.groups.len() {
        let g = group?;
        if l.classes.has_trait(g, t) {
            return Some(g.to_string());
        }
        group = l.group(g).and_then(|x| x.parent.as_deref());
    }
    None
}

/// An auto scaling group of `members` (their software, if any), behind every load balancer
/// that targets it or one of them.
fn auto_scaling(l: &mut Lowering<'_>, actor: &str, members: &[String]) {
    let software = members
        .iter()
        .find_map(|m| l.classes.elements.get(m).and_then(|c| c.kind.software.clone()));
    let port = target_port(l, actor, members).unwrap_or(8080);
    let instance_type = l.class(actor, "", "t3.small");
    // Members are told what the group connects to, and the group what members connect to.
    let mut servers = l.plan.connects_to.get(actor).cloned().unwrap_or_default();
    for m in members {
        servers.extend(l.plan.connects_to.get(m).cloned().unwrap_or_default());
    }
    l.plan.connects_to.insert(actor.to_string(), servers);
    let setup = instance_setup(l, actor, software.as_deref(), port, &instance_type, false);
    let lt = launch_template(l, actor, setup);
    let min = l.number(actor, "min", 2);
    let max = l.number(actor, "max", 4).max(min);
    let net = l.net();
    let id = l.add(actor, &format!("{}AutoScalingGroup", Lowering::stem(actor)), "AWS::AutoScaling::AutoScalingGroup", json!({
        "MinSize": min.to_string(),
        "MaxSize": max.to_string(),
        "DesiredCapacity": min.to_string(),
        "VPCZoneIdentifier": net.private,
        "LaunchTemplate": {"LaunchTemplateId": {"Ref": lt}, "Version": {"Fn::GetAtt": [lt, "LatestVersionNumber"]}},
        "HealthCheckGracePeriod": 300,
        "Tags": [{"Key": "Name", "Value": {"Fn::Sub": format!("${{AWS::StackName}}-{}", actor.to_lowercase())}, "PropagateAtLaunch": true}],
    }));
    if l.stack.resources.contains_key("PrivateDefaultRoute") {
        l.depends(&id, "PrivateDefaultRoute");
    }
    l.plan.main_resource.insert(actor.to_string(), id.clone());
    for m in members {
        l.plan.main_resource.insert(m.clone(), id.clone());
        l.plan.roles.entry(m.clone()).or_insert_with(|| format!("{}Role", Lowering::stem(actor)));
    }
}

/// The port a load balancer sends to this actor (or one of its members) on.
fn target_port(l: &Lowering<'_>, actor: &str, members: &[String]) -> Option<i64> {
    // The actor, its members, and every group that holds one of them may be the target.
    let mut candidates: Vec<&str> = vec![actor];
    candidates.extend(members.iter().map(String::as_str));
    let mut i = 0;
    while i < candidates.len() {
        let parent = l
            .group(candidates[i])
            .and_then(|g| g.parent.as_deref())
            .or_else(|| l.element(candidates[i]).and_then(|e| e.group.as_deref()));
        if let Some(p) = parent.filter(|p| !candidates.contains(p)) {
            candidates.push(p);
        }
        i += 1;
    }
    let ports = l.plan.target_ports.get_or_init(|| {
        let mut map = std::collections::BTreeMap::new();
        for (target, port, _) in l.plan.targets.values().flatten() {
            map.entry(target.clone()).or_insert(port.from);
        }
        map
    });
    candidates.iter().find_map(|c| ports.get(*c).copied())
}

fn lambda(l: &mut Lowering<'_>, id: &str) {
    let role = ensure_role(
        l,
        id,
        "lambda.amazonaws.com",
        &["arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    );
    let stem = Lowering::stem(id);
    let bucket = format!("{stem}CodeBucket");
    let key = format!("{stem}CodeKey");
    l.stack.parameters.insert(
        bucket.clone(),
        Parameter::string(
            format!(
                "S3 bucket of {id}'s code package (empty: a placeholder handler that answers 200)"
            ),
            Some(""),
        ),
    );
    l.stack.parameters.insert(
        key.clone(),
        Parameter::string(
            format!("S3 key of {id}'s code package (a .zip with index.handler)"),
            Some("function.zip"),
        ),
    );
    let condition = format!("{stem}HasCode");
    l.stack
        .conditions
        .insert(condition.clone(), json!({"Fn::Not": [{"Fn::Equals": [{"Ref": bucket}, ""]}]}));
    let placeholder = "def handler(event, context):\n    return {\"statusCode\": 200, \"body\": \"deployed by mermaid2aws; upload your code and set the CodeBucket/CodeKey parameters\"}\n";
    let func = l.add(id, &format!("{stem}Function"), "AWS::Lambda::Function", json!({
        "Runtime": "python3.12",
        "Handler": "index.handler",
        "Role": {"Fn::GetAtt": [role, "Arn"]},
        "Code": {"Fn::If": [condition, {"S3Bucket": {"Ref": bucket}, "S3Key": {"Ref": key}}, {"ZipFile": placeholder}]},
        "Timeout": 30,
        "MemorySize": 256,
        "TracingConfig": {"Mode": "Active"},
    }));
    for (check, reason) in [
        ("CKV_AWS_116", "a dead-letter queue is a design decision; draw an SQS queue to add one"),
        (
            "CKV_AWS_117",
            "the function reaches only regional services drawn in the diagram; no VPC needed",
        ),
        ("CKV_AWS_115", "reserved concurrency is a capacity decision left to the account"),
        (
            "CKV_AWS_173",
            "no environment variables hold secrets; secrets are read from Secrets Manager",
        ),
    ] {
        l.suppress(&func, "checkov", check, reason);
    }
    l.plan.main_resource.insert(id.to_string(), func.clone());
    l.output(
        &format!("{stem}FunctionArn"),
        &format!("ARN of {id}"),
        json!({"Fn::GetAtt": [func, "Arn"]}),
    );
}

fn ecs_service(l: &mut Lowering<'_>, id: &str) {
    let stem = Lowering::stem(id);
    let image = format!("{stem}Image");
    l.stack.parameters.insert(
        image.clone(),
        Parameter::string(
            format!("Container image of {id}"),
            Some("public.ecr.aws/nginx/nginx:stable"),
        ),
    );
    let port = target_port(l, id, &[]).unwrap_or(80);
    let cluster = l.add(
        id,
        &format!("{stem}Cluster"),
        "AWS::ECS::Cluster",
        json!({"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}),
    );
    let logs = l.add(
        id,
        &format!("{stem}LogGroup"),
        "AWS::Logs::LogGroup",
        json!({"RetentionInDays": 365}),
    );
    l.suppress(
        &logs,
        "checkov",
        "CKV_AWS_158",
        "encrypted by CloudWatch Logs' own key; a customer key is an account decision",
    );
    let exec = l.add(id, &format!("{stem}ExecutionRole"), "AWS::IAM::Role", json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}],
    }));
    let role = ensure_role(l, id, "ecs-tasks.amazonaws.com", &[]);
    allow_server_secrets(l, id);
    let env: Vec<Value> =
        endpoints_for(l, id).into_iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect();
    let task = l.add(id, &format!("{stem}TaskDefinition"), "AWS::ECS::TaskDefinition", json!({
        "RequiresCompatibilities": ["FARGATE"],
        "NetworkMode": "awsvpc",
        "Cpu": "256",
        "Memory": "512",
        "ExecutionRoleArn": {"Fn::GetAtt": [exec, "Arn"]},
        "TaskRoleArn": {"Fn::GetAtt": [role, "Arn"]},
        "ContainerDefinitions": [{
            "Name": "app",
            "Image": {"Ref": image},
            "Essential": true,
            "PortMappings": [{"ContainerPort": port, "Protocol": "tcp"}],
            "Environment": env,
            "ReadonlyRootFilesystem": false,
            "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": {"Ref": logs}, "awslogs-region": {"Ref": "AWS::Region"}, "awslogs-stream-prefix": "app"}},
        }],
    }));
    l.suppress(&task, "checkov", "CKV_AWS_336", "the default image writes to its file system; set a read-only image when you bring your own");
    let sg = client_sg(l, id).unwrap_or_default();
    let net = l.net();
    let svc = l.add(id, &format!("{stem}Service"), "AWS::ECS::Service", json!({
        "Cluster": {"Ref": cluster},
        "LaunchType": "FARGATE",
        "DesiredCount": l.number(id, "count", 2),
        "TaskDefinition": {"Ref": task},
        "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "DISABLED", "Subnets": net.private, "SecurityGroups": [{"Fn::GetAtt": [sg, "GroupId"]}]}},
    }));
    if l.stack.resources.contains_key("PrivateDefaultRoute") {
        l.depends(&svc, "PrivateDefaultRoute");
    }
    l.plan.main_resource.insert(id.to_string(), svc);
}

// --- data stores ----------------------------------------------------------------------------

fn subnet_group(l: &mut Lowering<'_>, id: &str, kind: &str, name_key: &str) -> String {
    let net = l.net();
    let stem = Lowering::stem(id);
    let props = if kind == "AWS::ElastiCache::SubnetGroup" {
        json!({"Description": format!("Private subnets of {id}"), "SubnetIds": net.private})
    } else {
        json!({"DBSubnetGroupDescription": format!("Private subnets of {id}"), "SubnetIds": net.private})
    };
    let _ = name_key;
    l.add(id, &format!("{stem}SubnetGroup"), kind, props)
}

fn monitoring_role(l: &mut Lowering<'_>, cause: &str) -> String {
    if let Some(id) = l.plan.shared.get("rds-monitoring") {
        return id.clone();
    }
    let id = l.add(cause, "RdsMonitoringRole", "AWS::IAM::Role", json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"}],
    }));
    l.plan.shared.insert("rds-monitoring", id.clone());
    id
}

/// The engine a drawn port implies when the label named none ("RDS" reached on 5432).
fn engine_from_ports(l: &Lowering<'_>, id: &str) -> Option<&'static str> {
    let ports: Vec<i64> = l
        .plan
        .links
        .iter()
        .filter(|k| k.server == id)
        .flat_map(|k| k.ports.iter().map(|p| p.from))
        .collect();
    if ports.contains(&5432) {
        Some("postgres")
    } else if ports.contains(&3306) {
        Some("mysql")
    } else {
        None
    }
}

fn rds(l: &mut Lowering<'_>, id: &str, kind: &Kind) {
    let explicit = l.classes.elements.get(id).and_then(|c| c.engine.clone());
    let engine = explicit
        .or_else(|| engine_from_ports(l, id).map(str::to_string))
        .unwrap_or_else(|| engine_of(l, id, kind));
    let engine = match engine.as_str() {
        "postgres" | "postgresql" => "postgres",
        "mariadb" => "mariadb",
        _ => "mysql",
    };
    let stem = Lowering::stem(id);
    let subnets = subnet_group(l, id, "AWS::RDS::DBSubnetGroup", "DBSubnetGroupName");
    let sg = server_sg(l, id).unwrap_or_default();
    let mon = monitoring_role(l, id);
    let logs: Vec<&str> = if engine == "postgres" {
        vec!["postgresql", "upgrade"]
    } else {
        vec!["error", "general", "slowquery"]
    };
    let multi_az = l.overrides.get(id, "multi_az").is_none_or(|v| v == "true");
    let db = l.add(
        id,
        &format!("{stem}Database"),
        "AWS::RDS::DBInstance",
        json!({
            "Engine": engine,
            "DBInstanceClass": l.class(id, "db.", "db.t4g.micro"),
            "AllocatedStorage": l.overrides.number(id, "storage").unwrap_or(20).to_string(),
            "MaxAllocatedStorage": 200,
            "StorageType": "gp3",
            "StorageEncrypted": true,
            "MasterUsername": "appadmin",
            "ManageMasterUserPassword": true,
            "DBSubnetGroupName": {"Ref": subnets},
            "VPCSecurityGroups": [{"Fn::GetAtt": [sg, "GroupId"]}],
            "PubliclyAccessible": false,
            "MultiAZ": multi_az,
            "BackupRetentionPeriod": 7,
            "CopyTagsToSnapshot": true,
            "AutoMinorVersionUpgrade": true,
            "EnableIAMDatabaseAuthentication": true,
            "MonitoringInterval": 60,
            "MonitoringRoleArn": {"Fn::GetAtt": [mon, "Arn"]},
            "EnablePerformanceInsights": true,
            "EnableCloudwatchLogsExports": logs,
            "DeletionProtection": false,
        }),
    );
    l.keep_data(&db, "Snapshot");
    l.suppress(&db, "checkov", "CKV_AWS_293", "DeletionPolicy/UpdateReplacePolicy Snapshot keep the data, and `destroy` must be able to remove the instance");
    l.suppress(
        &db,
        "checkov",
        "CKV_AWS_354",
        "Performance Insights uses the AWS managed key; a customer key is an account decision",
    );
    if !multi_az {
        l.suppress(
            &db,
            "checkov",
            "CKV_AWS_157",
            "single-AZ was chosen in the diagram (`multi_az=false`)",
        );
    }
    l.plan.main_resource.insert(id.to_string(), db.clone());
    l.plan
        .secrets
        .insert(id.to_string(), json!({"Fn::GetAtt": [db, "MasterUserSecret.SecretArn"]}));
    l.output(
        &format!("{stem}Endpoint"),
        &format!("Endpoint of {id} ({engine})"),
        json!({"Fn::GetAtt": [db, "Endpoint.Address"]}),
    );
    l.output(
        &format!("{stem}SecretArn"),
        &format!("Secrets Manager secret with {id}'s master password"),
        json!({"Fn::GetAtt": [db, "MasterUserSecret.SecretArn"]}),
    );
}

fn aurora(l: &mut Lowering<'_>, id: &str, kind: &Kind) {
    let engine = engine_of(l, id, kind);
    let engine = if engine.contains("postgres") { "aurora-postgresql" } else { "aurora-mysql" };
    let stem = Lowering::stem(id);
    let subnets = subnet_group(l, id, "AWS::RDS::DBSubnetGroup", "DBSubnetGroupName");
    let sg = server_sg(l, id).unwrap_or_default();
    let cluster = l.add(
        id,
        &format!("{stem}Cluster"),
        "AWS::RDS::DBCluster",
        json!({
            "Engine": engine,
            "MasterUsername": "appadmin",
            "ManageMasterUserPassword": true,
            "StorageEncrypted": true,
            "DBSubnetGroupName": {"Ref": subnets},
            "VpcSecurityGroupIds": [{"Fn::GetAtt": [sg, "GroupId"]}],
            "BackupRetentionPeriod": 7,
            "CopyTagsToSnapshot": true,
            "EnableIAMDatabaseAuthentication": true,
            "DeletionProtection": false,
        }),
    );
    l.keep_data(&cluster, "Snapshot");
    l.suppress(&cluster, "checkov", "CKV_AWS_139", "DeletionPolicy/UpdateReplacePolicy Snapshot keep the data, and `destroy` must be able to remove the cluster");
    for n in 1..=2 {
        let inst = l.add(
            id,
            &format!("{stem}Instance{n}"),
            "AWS::RDS::DBInstance",
            json!({
                "Engine": engine,
                "DBClusterIdentifier": {"Ref": cluster},
                "DBInstanceClass": l.class(id, "db.", "db.t4g.medium"),
                "PubliclyAccessible": false,
                "AutoMinorVersionUpgrade": true,
            }),
        );
        l.suppress(
            &inst,
            "checkov",
            "CKV_AWS_118",
            "enhanced monitoring is set per cluster need; CloudWatch metrics are on by default",
        );
    }
    l.plan.main_resource.insert(id.to_string(), cluster.clone());
    l.plan
        .secrets
        .insert(id.to_string(), json!({"Fn::GetAtt": [cluster, "MasterUserSecret.SecretArn"]}));
    l.output(
        &format!("{stem}Endpoint"),
        &format!("Writer endpoint of {id}"),
        json!({"Fn::GetAtt": [cluster, "Endpoint.Address"]}),
    );
}

fn elasticache(l: &mut Lowering<'_>, id: &str, kind: &Kind) {
    let engine = engine_of(l, id, kind);
    let stem = Lowering::stem(id);
    let subnets = subnet_group(l, id, "AWS::ElastiCache::SubnetGroup", "CacheSubnetGroupName");
    let sg = server_sg(l, id).unwrap_or_default();
    let class = l.class(id, "cache.", "cache.t4g.micro");
    if engine == "memcached" {
        let cache = l.add(
            id,
            &format!("{stem}CacheCluster"),
            "AWS::ElastiCache::CacheCluster",
            json!({
                "Engine": "memcached",
                "CacheNodeType": class,
                "NumCacheNodes": l.number(id, "count", 2).clamp(1, 40),
                "AZMode": "cross-az",
                "TransitEncryptionEnabled": true,
                "CacheSubnetGroupName": {"Ref": subnets},
                "VpcSecurityGroupIds": [{"Fn::GetAtt": [sg, "GroupId"]}],
            }),
        );
        l.plan.main_resource.insert(id.to_string(), cache.clone());
        l.output(
            &format!("{stem}Endpoint"),
            &format!("Configuration endpoint of {id} (memcached)"),
            json!({"Fn::GetAtt": [cache, "ConfigurationEndpoint.Address"]}),
        );
        return;
    }
    let secret = l.add(
        id,
        &format!("{stem}AuthToken"),
        "AWS::SecretsManager::Secret",
        json!({
            "Description": format!("AUTH token of {id}"),
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": true},
        }),
    );
    l.keep_data(&secret, "Retain");
    l.suppress(
        &secret,
        "checkov",
        "CKV_AWS_149",
        "encrypted with the Secrets Manager managed key; a customer key is an account decision",
    );
    let engine = if engine == "valkey" { "valkey" } else { "redis" };
    let group = l.add(
        id,
        &format!("{stem}ReplicationGroup"),
        "AWS::ElastiCache::ReplicationGroup",
        json!({
            "ReplicationGroupDescription": format!("{id} ({engine})"),
            "Engine": engine,
            "CacheNodeType": class,
            "NumCacheClusters": 2,
            "AutomaticFailoverEnabled": true,
            "MultiAZEnabled": true,
            "AtRestEncryptionEnabled": true,
            "TransitEncryptionEnabled": true,
            "AuthToken": {"Fn::Sub": format!("{{{{resolve:secretsmanager:${{{secret}}}}}}}")},
            "SnapshotRetentionLimit": 7,
            "CacheSubnetGroupName": {"Ref": subnets},
            "SecurityGroupIds": [{"Fn::GetAtt": [sg, "GroupId"]}],
        }),
    );
    l.keep_data(&group, "Snapshot");
    l.plan.main_resource.insert(id.to_string(), group.clone());
    l.plan.secrets.insert(id.to_string(), json!({"Ref": secret}));
    l.output(
        &format!("{stem}Endpoint"),
        &format!("Primary endpoint of {id} ({engine})"),
        json!({"Fn::GetAtt": [group, "PrimaryEndPoint.Address"]}),
    );
}

fn amazon_mq(l: &mut Lowering<'_>, id: &str, kind: &Kind) {
    let rabbit = engine_of(l, id, kind).eq_ignore_ascii_case("rabbitmq");
    let stem = Lowering::stem(id);
    let secret = l.add(id, &format!("{stem}Credentials"), "AWS::SecretsManager::Secret", json!({
        "Description": format!("Broker user of {id}"),
        "GenerateSecretString": {"SecretStringTemplate": "{\"username\":\"mqadmin\"}", "GenerateStringKey": "password", "PasswordLength": 32, "ExcludeCharacters": ",:=\"'\\/@ "},
    }));
    l.keep_data(&secret, "Retain");
    l.suppress(
        &secret,
        "checkov",
        "CKV_AWS_149",
        "encrypted with the Secrets Manager managed key; a customer key is an account decision",
    );
    let sg = server_sg(l, id).unwrap_or_default();
    let net = l.net();
    let broker = l.add(id, &format!("{stem}Broker"), "AWS::AmazonMQ::Broker", json!({
        "BrokerName": {"Fn::Sub": format!("${{AWS::StackName}}-{}", id.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>())},
        "EngineType": if rabbit { "RABBITMQ" } else { "ACTIVEMQ" },
        "EngineVersion": if rabbit { "3.13" } else { "5.18" },
        "HostInstanceType": l.class(id, "mq.", "mq.t3.micro"),
        "DeploymentMode": "SINGLE_INSTANCE",
        "PubliclyAccessible": false,
        "AutoMinorVersionUpgrade": true,
        "SubnetIds": [net.private[0].clone()],
        "SecurityGroups": [{"Fn::GetAtt": [sg, "GroupId"]}],
        "Users": [{
            "Username": {"Fn::Sub": format!("{{{{resolve:secretsmanager:${{{secret}}}:SecretString:username}}}}")},
            "Password": {"Fn::Sub": format!("{{{{resolve:secretsmanager:${{{secret}}}:SecretString:password}}}}")},
        }],
        "Logs": if rabbit { json!({"General": true}) } else { json!({"General": true, "Audit": true}) },
        "EncryptionOptions": {"UseAwsOwnedKey": true},
    }));
    l.keep_data(&broker, "Retain");
    l.suppress(
        &broker,
        "checkov",
        "CKV_AWS_208",
        "the engine version is pinned to a current minor line and auto minor upgrades are on",
    );
    l.suppress(
        &broker,
        "checkov",
        "CKV_AWS_209",
        "the AWS-owned key encrypts at rest; a customer key is an account decision",
    );
    l.plan.main_resource.insert(id.to_string(), broker.clone());
    l.plan.secrets.insert(id.to_string(), json!({"Ref": secret}));
    l.output(
        &format!("{stem}CredentialsSecret"),
        &format!("Secret with {id}'s broker user"),
        json!({"Ref": secret}),
    );
    let endpoints = if rabbit { "AmqpEndpoints" } else { "OpenWireEndpoints" };
    l.output(
        &format!("{stem}Endpoint"),
        &format!("Endpoint of {id}"),
        json!({"Fn::Select": ["0", {"Fn::GetAtt": [broker, endpoints]}]}),
    );
}

fn msk(l: &mut Lowering<'_>, id: &str) {
    let stem = Lowering::stem(id);
    let logs = l.add(
        id,
        &format!("{stem}BrokerLogs"),
        "AWS::Logs::LogGroup",
        json!({"RetentionInDays": 365}),
    );
    l.suppress(
        &logs,
        "checkov",
        "CKV_AWS_158",
        "encrypted by CloudWatch Logs' own key; a customer key is an account decision",
    );
    let sg = server_sg(l, id).unwrap_or_default();
    let net = l.net();
    let cluster = l.add(id, &format!("{stem}Cluster"), "AWS::MSK::Cluster", json!({
        "ClusterName": {"Fn::Sub": format!("${{AWS::StackName}}-{}", id.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>())},
        "KafkaVersion": "3.6.0",
        "NumberOfBrokerNodes": 2,
        "BrokerNodeGroupInfo": {
            "InstanceType": l.class(id, "kafka.", "kafka.t3.small"),
            "ClientSubnets": net.private,
            "SecurityGroups": [{"Fn::GetAtt": [sg, "GroupId"]}],
            "StorageInfo": {"EBSStorageInfo": {"VolumeSize": l.overrides.number(id, "storage").unwrap_or(100)}},
        },
        "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": true}},
        "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": true}}},
        "LoggingInfo": {"BrokerLogs": {"CloudWatchLogs": {"Enabled": true, "LogGroup": {"Ref": logs}}}},
    }));
    l.keep_data(&cluster, "Retain");
    l.plan.main_resource.insert(id.to_string(), cluster);
}

fn efs(l: &mut Lowering<'_>, id: &str) {
    let stem = Lowering::stem(id);
    let fs = l.add(
        id,
        &format!("{stem}FileSystem"),
        "AWS::EFS::FileSystem",
        json!({
            "Encrypted": true,
            "BackupPolicy": {"Status": "ENABLED"},
            "PerformanceMode": "generalPurpose",
        }),
    );
    l.keep_data(&fs, "Retain");
    let sg = server_sg(l, id).unwrap_or_default();
    let net = l.net();
    for n in 0..2 {
        l.add(
            id,
            &format!("{stem}MountTarget{}", n + 1),
            "AWS::EFS::MountTarget",
            json!({
                "FileSystemId": {"Ref": fs},
                "SubnetId": net.private[n].clone(),
                "SecurityGroups": [{"Fn::GetAtt": [sg, "GroupId"]}],
            }),
        );
    }
    l.output(
        &format!("{stem}FileSystemId"),
        &format!("File system of {id} (mount it over NFS from the private subnets)"),
        json!({"Ref": fs}),
    );
    l.plan.main_resource.insert(id.to_string(), fs);
}

fn regional(l: &mut Lowering<'_>, id: &str, kind: &Kind) {
    let Some(resource_type) = kind.resource_type.clone() else { return };
    let suffix = resource_type.rsplit("::").next().unwrap_or("Resource").to_string();
    let stem = Lowering::stem(id);
    let name = if stem.to_lowercase().ends_with(&suffix.to_lowercase()) {
        stem.clone()
    } else {
        format!("{stem}{suffix}")
    };
    let res = l.add(id, &name, &resource_type, kind.properties_json());
    if kind.stateful {
        l.keep_data(&res, "Retain");
    }
    match resource_type.as_str() {
        "AWS::S3::Bucket" => {
            l.suppress(&res, "checkov", "CKV_AWS_18", "access logging needs a second bucket and a retention decision; CloudTrail data events are the account-level alternative");
            l.output(&format!("{stem}BucketName"), &format!("Bucket of {id}"), json!({"Ref": res}));
        }
        "AWS::SecretsManager::Secret" => {
            l.suppress(&res, "checkov", "CKV_AWS_149", "encrypted with the Secrets Manager managed key; a customer key is an account decision");
        }
        "AWS::SQS::Queue"
        | "AWS::SNS::Topic"
        | "AWS::DynamoDB::Table"
        | "AWS::Kinesis::Stream"
        | "AWS::ECR::Repository"
        | "AWS::Events::EventBus" => {
            l.output(
                &format!("{stem}{suffix}"),
                &format!("{} of {id}", kind.name),
                json!({"Ref": res}),
            );
        }
        _ => {}
    }
    if resource_type == "AWS::DynamoDB::Table" {
        l.suppress(
            &res,
            "checkov",
            "CKV_AWS_119",
            "encrypted with the DynamoDB managed key; a customer key is an account decision",
        );
    }
    l.plan.main_resource.insert(id.to_string(), res);
}

// --- entry, platform, edge services --------------------------------------------------------------

fn load_balancer(l: &mut Lowering<'_>, id: &str) {
    let stem = Lowering::stem(id);
    let sg = server_sg(l, id).unwrap_or_default();
    let net = l.net();
    let lb = l.add(
        id,
        &format!("{stem}LoadBalancer"),
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({
            "Type": "application",
            "Scheme": "internet-facing",
            "Subnets": net.public,
            "SecurityGroups": [{"Fn::GetAtt": [sg, "GroupId"]}],
            "LoadBalancerAttributes": [
                {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                {"Key": "idle_timeout.timeout_seconds", "Value": "60"},
            ],
        }),
    );
    if l.stack.resources.contains_key("InternetGatewayAttachment") {
        l.depends(&lb, "InternetGatewayAttachment");
    }
    l.suppress(&lb, "checkov", "CKV_AWS_91", "access logs need a log bucket whose policy names the region's load-balancing account; enable them per account");
    l.suppress(
        &lb,
        "checkov",
        "CKV_AWS_150",
        "`destroy` must be able to delete the load balancer; it holds no data",
    );
    l.plan.main_resource.insert(id.to_string(), lb.clone());
    l.output(
        &format!("{stem}DnsName"),
        &format!("DNS name of {id}"),
        json!({"Fn::GetAtt": [lb, "DNSName"]}),
    );
    // Target groups, one per target.
    let targets = l.plan.targets.get(id).cloned().unwrap_or_default();
    let mut groups = Vec::new();
    for (target, port, _) in &targets {
        let mains = target_resources(l, target);
        let kinds: Vec<String> =
            mains.iter().filter_map(|m| l.stack.resources.get(m).map(|r| r.kind.clone())).collect();
        let target_type =
            if kinds.iter().any(|k| k == "AWS::ECS::Service") { "ip" } else { "instance" };
        let mut props = json!({
            "VpcId": net.vpc,
            "Protocol": "HTTP",
            "Port": port.from,
            "TargetType": target_type,
            "HealthCheckPath": "/",
            "Matcher": {"HttpCode": "200-399"},
        });
        let instances: Vec<Value> = mains
            .iter()
            .filter(|m| l.stack.resources.get(*m).is_some_and(|x| x.kind == "AWS::EC2::Instance"))
            .map(|m| json!({"Id": {"Ref": m}, "Port": port.from}))
            .collect();
        if !instances.is_empty() {
            props["Targets"] = Value::Array(instances);
        }
        let tg = l.add(
            id,
            &format!("{stem}To{}TargetGroup", Lowering::stem(target)),
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            props,
        );
        for main in &mains {
            attach_target(l, main, &tg);
        }
        groups.push(tg);
    }
    // Listeners: the ports the internet (or CloudFront) reaches it on.
    let mut ports: Vec<Port> =
        l.plan.internet.get(id).map(|v| v.iter().map(|(p, _)| *p).collect()).unwrap_or_default();
    ports.extend(
        l.plan
            .cdn_ingress
            .get(id)
            .map(|v| v.iter().map(|(p, _)| *p).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    ports.sort();
    ports.dedup();
    if ports.is_empty() {
        ports.push(Port::tcp(443));
    }
    let forward = match groups.first() {
        Some(tg) => json!([{"Type": "forward", "TargetGroupArn": {"Ref": tg}}]),
        None => {
            json!([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": "no target drawn in the diagram"}}])
        }
    };
    for port in ports {
        let mut props =
            json!({"LoadBalancerArn": {"Ref": lb}, "Port": port.from, "DefaultActions": forward});
        if port.from == 443 {
            let cert = format!("{stem}CertificateArn");
            let mut p =
                Parameter::string(format!("ACM certificate ARN for {id}'s HTTPS listener"), None);
            p.allowed_pattern = Some("^arn:aws[a-z-]*:acm:.+$".into());
            l.stack.parameters.insert(cert.clone(), p);
            props["Protocol"] = json!("HTTPS");
            props["SslPolicy"] = json!("ELBSecurityPolicy-TLS13-1-2-2021-06");
            props["Certificates"] = json!([{"CertificateArn": {"Ref": cert}}]);
        } else {
            props["Protocol"] = json!("HTTP");
        }
        let listener = l.add(
            id,
            &format!("{stem}Listener{}", port.from),
            "AWS::ElasticLoadBalancingV2::Listener",
            props,
        );
        if port.from != 443 {
            l.suppress(&listener, "checkov", "CKV_AWS_2", "the diagram draws plain HTTP on this port (TLS ends in front of it, or nowhere by choice)");
            l.suppress(
                &listener,
                "checkov",
                "CKV_AWS_103",
                "the diagram draws plain HTTP on this port",
            );
        }
    }
}

/// The resources a load balancer target stands for: its own, or, for a drawn group, those of
/// the compute inside it (every instance when it was drawn with a count).
fn target_resources(l: &Lowering<'_>, target: &str) -> Vec<String> {
    let actors = if l.group(target).is_some() && !l.is_platform_group(target) {
        let mut inside: Vec<String> = member_elements(l, target);
        inside.extend(
            l.diagram
                .groups
                .iter()
                .filter(|g| super::connect::contains(l, target, &g.id))
                .map(|g| g.id.clone()),
        );
        inside
    } else {
        vec![target.to_string()]
    };
    let mut out = Vec::new();
    for actor in actors {
        let found = l
            .plan
            .instances
            .get(&actor)
            .cloned()
            .or_else(|| l.plan.main_resource.get(&actor).map(|m| vec![m.clone()]));
        for m in found.unwrap_or_default() {
            let compute = l.stack.resources.get(&m).is_some_and(|r| {
                matches!(
                    r.kind.as_str(),
                    "AWS::EC2::Instance"
                        | "AWS::AutoScaling::AutoScalingGroup"
                        | "AWS::ECS::Service"
                )
            });
            if compute && !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

fn attach_target(l: &mut Lowering<'_>, main: &str, tg: &str) {
    let port = l.stack.resources.get(tg).and_then(|t| t.properties["Port"].as_i64()).unwrap_or(80);
    let Some(r) = l.resource(main) else { return };
    match r.kind.as_str() {
        "AWS::AutoScaling::AutoScalingGroup" => {
            let arns = r
                .properties
                .as_object_mut()
                .map(|o| o.entry("TargetGroupARNs").or_insert(json!([])));
            if let Some(Value::Array(list)) = arns {
                list.push(json!({"Ref": tg}));
            }
            r.properties["HealthCheckType"] = json!("ELB");
        }
        "AWS::ECS::Service" => {
            r.properties["LoadBalancers"] = json!([{"ContainerName": "app", "ContainerPort": port, "TargetGroupArn": {"Ref": tg}}]);
        }
        _ => {}
    }
}

fn api_gateway(l: &mut Lowering<'_>, id: &str) {
    let stem = Lowering::stem(id);
    let api = l.add(id, &format!("{stem}HttpApi"), "AWS::ApiGatewayV2::Api", json!({"Name": {"Fn::Sub": format!("${{AWS::StackName}}-{}", id.to_lowercase())}, "ProtocolType": "HTTP"}));
    let logs = l.add(
        id,
        &format!("{stem}AccessLogs"),
        "AWS::Logs::LogGroup",
        json!({"RetentionInDays": 365}),
    );
    l.suppress(
        &logs,
        "checkov",
        "CKV_AWS_158",
        "encrypted by CloudWatch Logs' own key; a customer key is an account decision",
    );
    l.add(id, &format!("{stem}Stage"), "AWS::ApiGatewayV2::Stage", json!({
        "ApiId": {"Ref": api},
        "StageName": "$default",
        "AutoDeploy": true,
        "AccessLogSettings": {"DestinationArn": {"Fn::GetAtt": [logs, "Arn"]}, "Format": "$context.requestId $context.httpMethod $context.path $context.status"},
    }));
    l.output(
        &format!("{stem}Url"),
        &format!("URL of {id}"),
        json!({"Fn::GetAtt": [api, "ApiEndpoint"]}),
    );
    let Some(target) = l.plan.api_routes.get(id).cloned() else { return };
    let Some(func) =
        l.plan.main_resource.get(&target).cloned().filter(|f| {
            l.stack.resources.get(f).is_some_and(|r| r.kind == "AWS::Lambda::Function")
        })
    else {
        let span = l.element(id).map(|e| e.span).unwrap_or_default();
        l.diagnostics.push(
            crate::diagnostic::Diagnostic::warning("m2a::lower::api_target", format!("`{id}` can only route to a Lambda function; `{target}` gets no route"))
                .with_label(span, "this API")
                .with_help("draw the API's edge to a Lambda function, or put a load balancer in front of the service instead"),
        );
        return;
    };
    let integration = l.add(
        id,
        &format!("{stem}Integration"),
        "AWS::ApiGatewayV2::Integration",
        json!({
            "ApiId": {"Ref": api},
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": [func, "Arn"]},
            "PayloadFormatVersion": "2.0",
        }),
    );
    l.add(
        id,
        &format!("{stem}Route"),
        "AWS::ApiGatewayV2::Route",
        json!({
            "ApiId": {"Ref": api},
            "RouteKey": "ANY /{proxy+}",
            "Target": {"Fn::Sub": format!("integrations/${{{integration}}}")},
        }),
    );
    l.add(id, &format!("{stem}InvokePermission"), "AWS::Lambda::Permission", json!({
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": func},
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*")},
    }));
}

fn elastic_beanstalk(l: &mut Lowering<'_>, group: &str) {
    let stem = Lowering::stem(group);
    let mut p = Parameter::string(
        "Elastic Beanstalk solution stack (aws elasticbeanstalk list-available-solution-stacks), e.g. a current \"64bit Amazon Linux 2023 ... running Corretto 21\"",
        None,
    );
    p.allowed_pattern = Some("^64bit .+$".into());
    l.stack.parameters.insert("SolutionStackName".into(), p);
    let app = l.add(
        group,
        &format!("{stem}Application"),
        "AWS::ElasticBeanstalk::Application",
        json!({"Description": format!("{group}, from {}", l.location_of(group))}),
    );
    let role = ensure_role(
        l,
        group,
        "ec2.amazonaws.com",
        &["arn:${AWS::Partition}:iam::aws:policy/AWSElasticBeanstalkWebTier", SSM_CORE],
    );
    let profile = l.add(
        group,
        &format!("{stem}InstanceProfile"),
        "AWS::IAM::InstanceProfile",
        json!({"Roles": [{"Ref": role}]}),
    );
    let service_role = l.add(group, &format!("{stem}ServiceRole"), "AWS::IAM::Role", json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "elasticbeanstalk.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSElasticBeanstalkEnhancedHealth"},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy"},
        ],
    }));
    let instances_sg = client_sg(l, group).unwrap_or_default();
    let lb_sg = server_sg(l, group).unwrap_or_default();
    // The environment's load balancer reaches its instances on HTTP 80 (the platform's proxy).
    if instances_sg != lb_sg {
        let rule = l.add(group, &format!("{}FromLoadBalancer80Ingress", instances_sg.trim_end_matches("SecurityGroup")), "AWS::EC2::SecurityGroupIngress", json!({
            "GroupId": {"Fn::GetAtt": [instances_sg, "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [lb_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 80,
            "ToPort": 80,
            "Description": format!("load balancer to instances of the Elastic Beanstalk environment {group}"),
        }));
        let origin = l.origin(group);
        l.stack.rules.push(crate::ir::infra::NetworkRule {
            to_group: instances_sg.clone(),
            from: crate::ir::infra::RuleSource::Group(lb_sg.clone()),
            protocol: "tcp".into(),
            from_port: 80,
            to_port: 80,
            description: format!("load balancer to instances of {group} ({rule})"),
            origin,
        });
    }
    allow_server_secrets(l, group);
    // The artifact bucket: a regional bucket with an edge to the platform.
    let bucket = l
        .plan
        .grants
        .iter()
        .find(|(c, r, _)| {
            c == group
                && l.classes
                    .elements
                    .get(r)
                    .is_some_and(|k| k.kind.resource_type.as_deref() == Some("AWS::S3::Bucket"))
        })
        .map(|(_, r, _)| r.clone());
    let net = l.net();
    let join = |v: &[Value; 2]| json!({"Fn::Join": [",", [v[0].clone(), v[1].clone()]]});
    let settings = vec![
        ("aws:ec2:vpc", "VPCId", net.vpc.clone()),
        ("aws:ec2:vpc", "Subnets", join(&net.private)),
        ("aws:ec2:vpc", "ELBSubnets", join(&net.public)),
        ("aws:ec2:vpc", "ELBScheme", json!("public")),
        ("aws:autoscaling:launchconfiguration", "IamInstanceProfile", json!({"Ref": profile})),
        ("aws:autoscaling:launchconfiguration", "SecurityGroups", json!({"Ref": instances_sg})),
        ("aws:autoscaling:launchconfiguration", "DisableIMDSv1", json!("true")),
        (
            "aws:autoscaling:launchconfiguration",
            "InstanceType",
            json!(l.class(group, "", "t3.small")),
        ),
        ("aws:autoscaling:launchconfiguration", "RootVolumeType", json!("gp3")),
        ("aws:autoscaling:asg", "MinSize", json!(l.number(group, "min", 2).to_string())),
        ("aws:autoscaling:asg", "MaxSize", json!(l.number(group, "max", 4).to_string())),
        ("aws:elasticbeanstalk:environment", "EnvironmentType", json!("LoadBalanced")),
        ("aws:elasticbeanstalk:environment", "LoadBalancerType", json!("application")),
        ("aws:elasticbeanstalk:environment", "ServiceRole", json!({"Ref": service_role})),
        ("aws:elbv2:loadbalancer", "SecurityGroups", json!({"Ref": lb_sg})),
        ("aws:elbv2:loadbalancer", "ManagedSecurityGroup", json!({"Ref": lb_sg})),
        ("aws:elasticbeanstalk:healthreporting:system", "SystemType", json!("enhanced")),
        ("aws:elasticbeanstalk:managedactions", "ManagedActionsEnabled", json!("true")),
        ("aws:elasticbeanstalk:managedactions", "PreferredStartTime", json!("Sun:02:00")),
        ("aws:elasticbeanstalk:managedactions:platformupdate", "UpdateLevel", json!("minor")),
        ("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs", json!("true")),
    ];
    let mut settings: Vec<Value> = settings
        .into_iter()
        .map(|(ns, name, value)| json!({"Namespace": ns, "OptionName": name, "Value": value}))
        .collect();
    // The application is told where everything it connects to is.
    for (name, value) in endpoints_for(l, group) {
        settings.push(json!({"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": name, "Value": value}));
    }
    let mut env = json!({
        "ApplicationName": {"Ref": app},
        "SolutionStackName": {"Ref": "SolutionStackName"},
        "Tier": {"Name": "WebServer", "Type": "Standard"},
        "OptionSettings": settings,
    });
    if let Some(bucket) = bucket.and_then(|b| l.plan.main_resource.get(&b).cloned()) {
        l.stack.parameters.insert("ArtifactKey".into(), Parameter::string("S3 key of the application bundle in the artifact bucket (empty: the platform's sample application)", Some("")));
        l.stack.conditions.insert(
            "HasArtifact".into(),
            json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "ArtifactKey"}, ""]}]}),
        );
        let version = l.add(
            group,
            &format!("{stem}ApplicationVersion"),
            "AWS::ElasticBeanstalk::ApplicationVersion",
            json!({
                "ApplicationName": {"Ref": app},
                "SourceBundle": {"S3Bucket": {"Ref": bucket}, "S3Key": {"Ref": "ArtifactKey"}},
            }),
        );
        if let Some(r) = l.resource(&version) {
            r.condition = Some("HasArtifact".into());
        }
        env["VersionLabel"] =
            json!({"Fn::If": ["HasArtifact", {"Ref": version}, {"Ref": "AWS::NoValue"}]});
        l.output(
            "ArtifactBucket",
            "Upload application bundles here, then set ArtifactKey",
            json!({"Ref": bucket}),
        );
    }
    let environment =
        l.add(group, &format!("{stem}Environment"), "AWS::ElasticBeanstalk::Environment", env);
    if l.stack.resources.contains_key("PrivateDefaultRoute") {
        l.depends(&environment, "PrivateDefaultRoute");
    }
    l.plan.main_resource.insert(group.to_string(), environment.clone());
    l.output(
        &format!("{stem}Url"),
        &format!("Endpoint of the {group} environment"),
        json!({"Fn::GetAtt": [environment, "EndpointURL"]}),
    );
}

fn cloudfront(l: &mut Lowering<'_>, id: &str) {
    let stem = Lowering::stem(id);
    let span = l.element(id).map(|e| e.span).unwrap_or_default();
    // The application origin (a load balancer or an Elastic Beanstalk environment).
    let app = l.plan.cdn_origin.get(id).cloned().and_then(|origin| {
        let main = l.plan.main_resource.get(&origin).cloned().unwrap_or_default();
        let domain = match l.stack.resources.get(&main).map(|r| r.kind.as_str()) {
            Some("AWS::ElasticBeanstalk::Environment") => json!({"Fn::GetAtt": [main, "EndpointURL"]}),
            Some("AWS::ElasticLoadBalancingV2::LoadBalancer") => json!({"Fn::GetAtt": [main, "DNSName"]}),
            _ => {
                l.diagnostics.push(
                    crate::diagnostic::Diagnostic::warning("m2a::lower::cdn_origin", format!("`{id}` can front a load balancer, an Elastic Beanstalk environment or an S3 bucket, not `{origin}`"))
                        .with_label(span, "this CDN")
                        .with_help("put a load balancer between the CDN and the servers"),
                );
                return None;
            }
        };
        let port = l.plan.cdn_ingress.get(&origin).and_then(|v| v.first()).map_or(80, |(p, _)| p.from);
        Some(json!({"Id": "app", "DomainName": domain, "CustomOriginConfig": {"OriginProtocolPolicy": "http-only", "HTTPPort": port}}))
    });
    // A bucket origin, read through an origin access control.
    let bucket = l
        .plan
        .cdn_buckets
        .get(id)
        .and_then(|b| b.first())
        .and_then(|b| l.plan.main_resource.get(b).cloned());
    if app.is_none() && bucket.is_none() {
        l.diagnostics.push(
            crate::diagnostic::Diagnostic::warning("m2a::lower::cdn_without_origin", format!("`{id}` has no origin; it makes no distribution"))
                .with_label(span, "this CDN")
                .with_help("draw an edge from the CDN to the load balancer, environment or S3 bucket it serves"),
        );
        return;
    }
    let mut origins = Vec::new();
    origins.extend(app.clone());
    let oac = bucket.as_ref().map(|_| {
        l.add(
            id,
            &format!("{stem}OriginAccessControl"),
            "AWS::CloudFront::OriginAccessControl",
            json!({
                "OriginAccessControlConfig": {
                    "Name": {"Fn::Sub": format!("${{AWS::StackName}}-{}", id.to_lowercase())},
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                },
            }),
        )
    });
    if let (Some(bucket), Some(oac)) = (&bucket, &oac) {
        origins.push(json!({"Id": "bucket", "DomainName": {"Fn::GetAtt": [bucket, "RegionalDomainName"]}, "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": {"Fn::GetAtt": [oac, "Id"]}}));
    }
    let behavior = |origin: &str, methods: &[&str], cache_policy: &str| {
        let mut b = json!({
            "TargetOriginId": origin,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": methods,
            "CachePolicyId": cache_policy,
            "Compress": true,
        });
        if origin == "app" {
            // All viewer headers, cookies and query strings reach the application.
            b["OriginRequestPolicyId"] = json!("216adef6-5c7f-47e4-b989-5492eafa07d3");
        }
        b
    };
    // Managed policies: CachingDisabled for the application, CachingOptimized for objects.
    let all_methods = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"];
    let (default, extra) = match (&app, &bucket) {
        (Some(_), Some(_)) => (
            behavior("app", &all_methods, "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"),
            Some({
                let mut b =
                    behavior("bucket", &["GET", "HEAD"], "658327ea-f89d-4fab-a63d-7e88639e58f6");
                b["PathPattern"] = json!("/static/*");
                json!([b])
            }),
        ),
        (Some(_), None) => {
            (behavior("app", &all_methods, "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"), None)
        }
        _ => (behavior("bucket", &["GET", "HEAD"], "658327ea-f89d-4fab-a63d-7e88639e58f6"), None),
    };
    domain_parameters(l);
    let mut config = json!({
        "Enabled": true,
        "Comment": format!("{id}, from {}", l.location_of(id)),
        "HttpVersion": "http2and3",
        "PriceClass": "PriceClass_100",
        "Aliases": {"Fn::If": ["HasDomain", [{"Ref": "DomainName"}], {"Ref": "AWS::NoValue"}]},
        "ViewerCertificate": {"Fn::If": ["HasDomain",
            {"AcmCertificateArn": {"Ref": "CloudFrontCertificateArn"}, "SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
            {"CloudFrontDefaultCertificate": true}]},
        "Origins": origins,
        "DefaultCacheBehavior": default,
    });
    if let Some(extra) = extra {
        config["CacheBehaviors"] = extra;
    }
    if app.is_none() {
        config["DefaultRootObject"] = json!("index.html");
    }
    let dist = l.add(
        id,
        &format!("{stem}Distribution"),
        "AWS::CloudFront::Distribution",
        json!({"DistributionConfig": config}),
    );
    if let Some(bucket) = &bucket {
        l.add(id, &format!("{stem}BucketPolicy"), "AWS::S3::BucketPolicy", json!({
            "Bucket": {"Ref": bucket},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "CloudFrontReadsObjects",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": format!("${{{bucket}.Arn}}/*")},
                "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": format!("arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{dist}}}")}}},
            }]},
        }));
    }
    l.suppress(
        &dist,
        "checkov",
        "CKV_AWS_68",
        "a WAF web ACL is an account-level choice (cost, rules); attach one with WebACLId",
    );
    l.suppress(
        &dist,
        "checkov",
        "CKV_AWS_86",
        "access logs need a log bucket with ACLs enabled; enable them per account",
    );
    l.suppress(&dist, "checkov", "CKV_AWS_174", "TLSv1.2_2021 is set whenever a custom domain is given; the default certificate fixes the policy");
    if app.is_none() || bucket.is_none() {
        l.suppress(
            &dist,
            "checkov",
            "CKV_AWS_310",
            "one origin is drawn; failover needs a second origin in the diagram",
        );
    }
    l.suppress(&dist, "checkov", "CKV_AWS_374", "no geo restriction is drawn");
    l.suppress(
        &dist,
        "checkov",
        "CKV2_AWS_32",
        "a response headers policy is an application decision",
    );
    l.suppress(&dist, "checkov", "CKV2_AWS_47", "WAF is an account-level choice (see CKV_AWS_68)");
    l.plan.main_resource.insert(id.to_string(), dist.clone());
    l.output(
        &format!("{stem}DomainName"),
        &format!("Domain name of {id}"),
        json!({"Fn::GetAtt": [dist, "DomainName"]}),
    );
}

fn domain_parameters(l: &mut Lowering<'_>) {
    if l.stack.parameters.contains_key("DomainName") {
        return;
    }
    l.stack.parameters.insert(
        "DomainName".into(),
        Parameter::string(
            "Public domain name (optional; empty: no DNS record and the default CloudFront name)",
            Some(""),
        ),
    );
    l.stack.parameters.insert(
        "HostedZoneId".into(),
        Parameter::string("Route 53 public hosted zone of DomainName (optional)", Some("")),
    );
    l.stack.parameters.insert(
        "CloudFrontCertificateArn".into(),
        Parameter::string("ACM certificate (us-east-1) for DomainName (optional)", Some("")),
    );
    l.stack.conditions.insert(
        "HasDomain".into(),
        json!({"Fn::And": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HostedZoneId"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "CloudFrontCertificateArn"}, ""]}]},
        ]}),
    );
}

/// The private hosted zone that resolves internal names, with a record per self-hosted server.
fn private_zone(l: &mut Lowering<'_>) {
    let servers: Vec<String> = l
        .plan
        .main_resource
        .iter()
        .filter(|(_, r)| l.stack.resources.get(*r).is_some_and(|x| x.kind == "AWS::EC2::Instance"))
        .filter(|(el, _)| l.classes.elements.contains_key(*el))
        .map(|(el, _)| el.clone())
        .collect();
    if servers.is_empty() || l.network.is_none() {
        return;
    }
    let cause = l
        .classes
        .elements
        .iter()
        .find(|(_, c)| c.kind.family == Family::Route53)
        .map_or_else(|| servers[0].clone(), |(id, _)| id.clone());
    let zone_name = zone_name(l);
    let net = l.net();
    let zone = l.add(
        &cause,
        "PrivateHostedZone",
        "AWS::Route53::HostedZone",
        json!({
            "Name": zone_name,
            "HostedZoneConfig": {"Comment": "internal names of the diagram's servers"},
            "VPCs": [{"VPCId": net.vpc, "VPCRegion": {"Ref": "AWS::Region"}}],
        }),
    );
    l.output("PrivateZoneId", "Private hosted zone of the internal names", json!({"Ref": zone}));
    for server in servers {
        let inst = l.plan.main_resource.get(&server).cloned().unwrap_or_default();
        let name = format!("{}.{zone_name}", dns_label(l, &server));
        l.add(
            &server,
            &format!("{}DnsRecord", Lowering::stem(&server)),
            "AWS::Route53::RecordSet",
            json!({
                "HostedZoneId": {"Ref": zone},
                "Name": name,
                "Type": "A",
                "TTL": "60",
                "ResourceRecords": [{"Fn::GetAtt": [inst, "PrivateIp"]}],
            }),
        );
    }
}

/// A public record for the domain, pointing at what the DNS element's edge points at.
fn public_dns(l: &mut Lowering<'_>, id: &str) {
    let Some(target) = l.plan.dns_alias.get(id).cloned() else { return };
    let Some(main) = l.plan.main_resource.get(&target).cloned() else { return };
    let kind = l.stack.resources.get(&main).map(|r| r.kind.clone()).unwrap_or_default();
    domain_parameters(l);
    let stem = Lowering::stem(id);
    let props = match kind.as_str() {
        "AWS::CloudFront::Distribution" => json!({
            "HostedZoneId": {"Ref": "HostedZoneId"}, "Name": {"Ref": "DomainName"}, "Type": "A",
            "AliasTarget": {"DNSName": {"Fn::GetAtt": [main, "DomainName"]}, "HostedZoneId": "Z2FDTNDATAQYW2"},
        }),
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => json!({
            "HostedZoneId": {"Ref": "HostedZoneId"}, "Name": {"Ref": "DomainName"}, "Type": "A",
            "AliasTarget": {"DNSName": {"Fn::GetAtt": [main, "DNSName"]}, "HostedZoneId": {"Fn::GetAtt": [main, "CanonicalHostedZoneID"]}},
        }),
        "AWS::ElasticBeanstalk::Environment" => json!({
            "HostedZoneId": {"Ref": "HostedZoneId"}, "Name": {"Ref": "DomainName"}, "Type": "CNAME", "TTL": "300",
            "ResourceRecords": [{"Fn::GetAtt": [main, "EndpointURL"]}],
        }),
        _ => return,
    };
    let record = l.add(id, &format!("{stem}Record"), "AWS::Route53::RecordSet", props);
    if let Some(r) = l.resource(&record) {
        r.condition = Some("HasDomain".into());
    }
}

/// CloudWatch alarms on what the monitoring element is connected to, sent to one SNS topic.
fn alarms(l: &mut Lowering<'_>, id: &str) {
    let targets: Vec<String> =
        l.plan.alarms.iter().filter(|(m, _)| m == id).map(|(_, t)| t.clone()).collect();
    if targets.is_empty() {
        return;
    }
    let stem = Lowering::stem(id);
    let topic = l.add(
        id,
        &format!("{stem}AlarmTopic"),
        "AWS::SNS::Topic",
        json!({"KmsMasterKeyId": "alias/aws/sns"}),
    );
    l.stack.parameters.insert(
        "AlarmEmail".into(),
        Parameter::string("E-mail address that receives alarm notifications (optional)", Some("")),
    );
    l.stack.conditions.insert(
        "HasAlarmEmail".into(),
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}),
    );
    let sub = l.add(
        id,
        &format!("{stem}AlarmSubscription"),
        "AWS::SNS::Subscription",
        json!({"TopicArn": {"Ref": topic}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}),
    );
    if let Some(r) = l.resource(&sub) {
        r.condition = Some("HasAlarmEmail".into());
    }
    l.output("AlarmTopicArn", "SNS topic the alarms notify", json!({"Ref": topic}));
    for target in targets {
        let Some(main) = l.plan.main_resource.get(&target).cloned() else { continue };
        let kind = l.stack.resources.get(&main).map(|r| r.kind.clone()).unwrap_or_default();
        let specs: Vec<(&str, &str, &str, Value, f64, &str)> = match kind.as_str() {
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => vec![
                (
                    "Http5xx",
                    "AWS/ApplicationELB",
                    "HTTPCode_ELB_5XX_Count",
                    json!([{"Name": "LoadBalancer", "Value": {"Fn::GetAtt": [main, "LoadBalancerFullName"]}}]),
                    10.0,
                    "Sum",
                ),
                (
                    "TargetResponseTime",
                    "AWS/ApplicationELB",
                    "TargetResponseTime",
                    json!([{"Name": "LoadBalancer", "Value": {"Fn::GetAtt": [main, "LoadBalancerFullName"]}}]),
                    2.0,
                    "Average",
                ),
            ],
            "AWS::AutoScaling::AutoScalingGroup" => vec![(
                "Cpu",
                "AWS/EC2",
                "CPUUtilization",
                json!([{"Name": "AutoScalingGroupName", "Value": {"Ref": main}}]),
                80.0,
                "Average",
            )],
            "AWS::EC2::Instance" => vec![
                (
                    "Cpu",
                    "AWS/EC2",
                    "CPUUtilization",
                    json!([{"Name": "InstanceId", "Value": {"Ref": main}}]),
                    80.0,
                    "Average",
                ),
                (
                    "StatusCheck",
                    "AWS/EC2",
                    "StatusCheckFailed",
                    json!([{"Name": "InstanceId", "Value": {"Ref": main}}]),
                    1.0,
                    "Maximum",
                ),
            ],
            "AWS::RDS::DBInstance" => vec![(
                "Cpu",
                "AWS/RDS",
                "CPUUtilization",
                json!([{"Name": "DBInstanceIdentifier", "Value": {"Ref": main}}]),
                80.0,
                "Average",
            )],
            "AWS::ElasticBeanstalk::Environment" => vec![
                (
                    "Health",
                    "AWS/ElasticBeanstalk",
                    "EnvironmentHealth",
                    json!([{"Name": "EnvironmentName", "Value": {"Ref": main}}]),
                    20.0,
                    "Maximum",
                ),
                (
                    "Requests5xx",
                    "AWS/ElasticBeanstalk",
                    "ApplicationRequests5xx",
                    json!([{"Name": "EnvironmentName", "Value": {"Ref": main}}]),
                    10.0,
                    "Sum",
                ),
            ],
            _ => Vec::new(),
        };
        for (name, namespace, metric, dims, threshold, stat) in specs {
            l.add(
                id,
                &format!("{}{name}Alarm", Lowering::stem(&target)),
                "AWS::CloudWatch::Alarm",
                json!({
                    "AlarmDescription": format!("{metric} of {target} (drawn {id} -> {target})"),
                    "Namespace": namespace,
                    "MetricName": metric,
                    "Dimensions": dims,
                    "Statistic": stat,
                    "Period": 300,
                    "EvaluationPeriods": 2,
                    "Threshold": threshold,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [{"Ref": topic}],
                }),
            );
        }
    }
}
