//! Infra IR: the AWS resources, network rules and IAM grants a diagram lowers to.
//!
//! Invariants established by `lower`: logical ids are unique (the maps are keyed by them);
//! every resource, rule and grant names the diagram element that caused it and that element's
//! location; every `Ref`/`Fn::GetAtt` in a property names a resource or parameter of this
//! stack; collections are ordered maps, so emitting is deterministic.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// Everything one diagram becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Stack {
    pub description: String,
    pub parameters: BTreeMap<String, Parameter>,
    /// Condition name -> condition expression (CloudFormation intrinsic JSON).
    pub conditions: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, Resource>,
    pub outputs: BTreeMap<String, Output>,
    /// Why each element became what it became (for `explain`).
    pub decisions: Vec<Decision>,
    /// Every network rule, with the edge that caused it (also present as resources).
    pub rules: Vec<NetworkRule>,
    /// Every IAM grant, with the edge that caused it (also present in a role's policy).
    pub grants: Vec<IamGrant>,
    /// What each edge became when it became no rule or grant (placement, DNS, alarms...).
    pub edge_notes: Vec<EdgeNote>,
}

/// What lowering made of one edge, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeNote {
    /// `A --> B` as the diagram names them.
    pub edge: String,
    pub source: String,
    pub note: String,
}

/// Where a resource, rule or grant came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The id of the node, service, group or junction that caused it.
    pub element: String,
    /// `file:line:col` of that element (or of the edge, for rules and grants).
    pub source: String,
}

/// A CloudFormation parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// `String`, `Number`, `AWS::EC2::VPC::Id`, `AWS::SSM::Parameter::Value<...>`...
    pub kind: String,
    pub description: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub no_echo: bool,
}

impl Parameter {
    pub fn string(description: impl Into<String>, default: Option<&str>) -> Self {
        Parameter {
            kind: "String".into(),
            description: description.into(),
            default: default.map(str::to_string),
            allowed_values: Vec::new(),
            allowed_pattern: None,
            no_echo: false,
        }
    }
}

/// One CloudFormation resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// `AWS::EC2::SecurityGroup`...
    pub kind: String,
    /// The `Properties` object (may hold intrinsic functions).
    pub properties: Value,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    /// `Retain`/`Snapshot` for stateful resources, so data outlives the stack.
    pub deletion_policy: Option<String>,
    pub update_replace_policy: Option<String>,
    /// `Metadata.cfn-lint` / `Metadata.checkov` suppressions, each with its reason.
    pub suppressions: Vec<Suppression>,
    pub origin: Origin,
}

/// A lint or policy finding knowingly accepted on a resource, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `checkov` or `cfn-lint`.
    pub tool: String,
    pub id: String,
    pub reason: String,
}

/// A stack output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub description: String,
    pub value: Value,
    pub condition: Option<String>,
}

/// What an element became and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub element: String,
    pub source: String,
    /// Catalog kind id (`alb`, `ec2-redis`, `unknown`...).
    pub kind: String,
    /// What decided it: a label word, an icon, a shape, an override directive...
    pub reason: String,
    /// Logical ids of the resources it became.
    pub resources: Vec<String>,
}

/// One inbound security-group rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkRule {
    /// Logical id of the security group that receives the traffic.
    pub to_group: String,
    /// Logical id of the client's security group, or a CIDR (`0.0.0.0/0`).
    pub from: RuleSource,
    pub protocol: String,
    pub from_port: i64,
    pub to_port: i64,
    pub description: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleSource {
    Group(String),
    Cidr(String),
}

/// A least-privilege IAM permission given to a client's role for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamGrant {
    /// Logical id of the role that gets the permission.
    pub role: String,
    pub actions: Vec<String>,
    /// Logical id of the resource the permission is on.
    pub resource: String,
    pub origin: Origin,
}
