//! Network scaffolding: a new VPC (two AZs, public and private subnets, internet gateway, NAT)
//! or an existing VPC and subnets given as parameters.

use serde_json::{Value, json};

use super::Lowering;
use crate::ir::infra::Parameter;

/// Which network the stack lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// A new VPC with public and private subnets in two AZs (the default).
    #[default]
    New,
    /// `VpcId`, `PublicSubnetIds` and `PrivateSubnetIds` parameters.
    Existing,
}

/// References to the network, whichever way it was made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NetworkRefs {
    pub vpc: Value,
    pub public: [Value; 2],
    pub private: [Value; 2],
    pub vpc_cidr: Value,
}

pub(super) fn build(l: &mut Lowering<'_>, network: Network, cause: &str) -> NetworkRefs {
    match network {
        Network::Existing => existing(l),
        Network::New => new_vpc(l, cause),
    }
}

fn existing(l: &mut Lowering<'_>) -> NetworkRefs {
    let mut vpc = Parameter::string("The existing VPC to deploy into", None);
    vpc.kind = "AWS::EC2::VPC::Id".into();
    l.stack.parameters.insert("VpcId".into(), vpc);
    let mut cidr = Parameter::string(
        "The VPC's CIDR block (self-hosted databases accept clients from it)",
        Some("10.0.0.0/16"),
    );
    cidr.allowed_pattern = Some(r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$".into());
    l.stack.parameters.insert("VpcCidr".into(), cidr);
    for (name, what) in [
        (
            "PublicSubnetIds",
            "Two public subnets (in different AZs) for internet-facing load balancers",
        ),
        (
            "PrivateSubnetIds",
            "Two private subnets (in different AZs, with a NAT route) for everything else",
        ),
    ] {
        let mut p = Parameter::string(what, None);
        p.kind = "List<AWS::EC2::Subnet::Id>".into();
        l.stack.parameters.insert(name.into(), p);
    }
    let pick = |list: &str, i: usize| json!({"Fn::Select": [i.to_string(), {"Ref": list}]});
    NetworkRefs {
        vpc: json!({"Ref": "VpcId"}),
        public: [pick("PublicSubnetIds", 0), pick("PublicSubnetIds", 1)],
        private: [pick("PrivateSubnetIds", 0), pick("PrivateSubnetIds", 1)],
        vpc_cidr: json!({"Ref": "VpcCidr"}),
    }
}

fn new_vpc(l: &mut Lowering<'_>, cause: &str) -> NetworkRefs {
    // A CIDR written in the VPC group's title ("VPC 10.0.0.0/16") is the default.
    let drawn = l
        .diagram
        .groups
        .iter()
        .filter(|g| l.classes.has_trait(&g.id, crate::catalog::Trait::Vpc))
        .find_map(|g| super::facts::facts(g.display_title()).cidr)
        .filter(|c| c.ends_with("/16") || c.ends_with("/17") || c.ends_with("/18"));
    let default = drawn.unwrap_or_else(|| "10.0.0.0/16".to_string());
    let mut cidr = Parameter::string(
        "CIDR block of the new VPC, /16 to /18 (four /20 subnets are cut from it)",
        Some(&default),
    );
    cidr.allowed_pattern = Some(r"^(\d{1,3}\.){3}\d{1,3}/1[6-8]$".into());
    l.stack.parameters.insert("VpcCidr".into(), cidr);
    let tags = |name: &str| json!([{"Key": "Name", "Value": {"Fn::Sub": format!("${{AWS::StackName}}-{name}")}}]);
    l.add(
        cause,
        "Vpc",
        "AWS::EC2::VPC",
        json!({
            "CidrBlock": {"Ref": "VpcCidr"},
            "EnableDnsSupport": true,
            "EnableDnsHostnames": true,
            "Tags": tags("vpc"),
        }),
    );
    l.add(cause, "InternetGateway", "AWS::EC2::InternetGateway", json!({"Tags": tags("igw")}));
    l.add(
        cause,
        "InternetGatewayAttachment",
        "AWS::EC2::VPCGatewayAttachment",
        json!({
            "VpcId": {"Ref": "Vpc"},
            "InternetGatewayId": {"Ref": "InternetGateway"},
        }),
    );
    let subnet_cidr = |i: usize| json!({"Fn::Select": [i.to_string(), {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, "4", "12"]}]});
    let az = |i: usize| json!({"Fn::Select": [i.to_string(), {"Fn::GetAZs": ""}]});
    for (tier, offset) in [("Public", 0), ("Private", 2)] {
        let table = format!("{tier}RouteTable");
        l.add(
            cause,
            &table,
            "AWS::EC2::RouteTable",
            json!({"VpcId": {"Ref": "Vpc"}, "Tags": tags(&tier.to_lowercase())}),
        );
        for i in 0..2 {
            let subnet = format!("{tier}Subnet{}", i + 1);
            l.add(
                cause,
                &subnet,
                "AWS::EC2::Subnet",
                json!({
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": subnet_cidr(offset + i),
                    "AvailabilityZone": az(i),
                    "MapPublicIpOnLaunch": false,
                    "Tags": tags(&format!("{}-{}", tier.to_lowercase(), i + 1)),
                }),
            );
            l.add(
                cause,
                &format!("{subnet}RouteTableAssociation"),
                "AWS::EC2::SubnetRouteTableAssociation",
                json!({
                    "SubnetId": {"Ref": subnet},
                    "RouteTableId": {"Ref": table},
                }),
            );
        }
    }
    let id = l.add(
        cause,
        "PublicDefaultRoute",
        "AWS::EC2::Route",
        json!({
            "RouteTableId": {"Ref": "PublicRouteTable"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "GatewayId": {"Ref": "InternetGateway"},
        }),
    );
    l.depends(&id, "InternetGatewayAttachment");
    let id = l.add(cause, "NatEip", "AWS::EC2::EIP", json!({"Domain": "vpc", "Tags": tags("nat")}));
    l.depends(&id, "InternetGatewayAttachment");
    l.add(
        cause,
        "NatGateway",
        "AWS::EC2::NatGateway",
        json!({
            "AllocationId": {"Fn::GetAtt": ["NatEip", "AllocationId"]},
            "SubnetId": {"Ref": "PublicSubnet1"},
            "Tags": tags("nat"),
        }),
    );
    l.add(
        cause,
        "PrivateDefaultRoute",
        "AWS::EC2::Route",
        json!({
            "RouteTableId": {"Ref": "PrivateRouteTable"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "NatGatewayId": {"Ref": "NatGateway"},
        }),
    );
    l.output("VpcId", "The VPC", json!({"Ref": "Vpc"}));
    NetworkRefs {
        vpc: json!({"Ref": "Vpc"}),
        public: [json!({"Ref": "PublicSubnet1"}), json!({"Ref": "PublicSubnet2"})],
        private: [json!({"Ref": "PrivateSubnet1"}), json!({"Ref": "PrivateSubnet2"})],
        vpc_cidr: json!({"Fn::GetAtt": ["Vpc", "CidrBlock"]}),
    }
}
