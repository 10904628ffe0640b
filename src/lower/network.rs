//! Network scaffolding: a new VPC (two AZs, public and private subnets, internet gateway, NAT)
//! or an existing VPC and subnets given as parameters.

use std::net::Ipv4Addr;

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
    // The address plan is the diagram's: a CIDR written in the VPC group's title
    // ("VPC 10.0.0.0/16"), else 10.0.0.0/16. The four subnets are written out rather than
    // derived with Fn::Cidr, so the template reads like the console and local emulators
    // (moto) that cannot evaluate Fn::Cidr can still bring it up.
    let drawn = l
        .diagram
        .groups
        .iter()
        .filter(|g| l.classes.has_trait(&g.id, crate::catalog::Trait::Vpc))
        .find_map(|g| super::facts::facts(g.display_title()).cidr)
        .and_then(|c| AddressPlan::parse(&c));
    let plan = drawn.unwrap_or(AddressPlan::DEFAULT);
    let tags = |name: &str| json!([{"Key": "Name", "Value": {"Fn::Sub": format!("${{AWS::StackName}}-{name}")}}]);
    l.add(
        cause,
        "Vpc",
        "AWS::EC2::VPC",
        json!({
            "CidrBlock": plan.vpc(),
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
                    "CidrBlock": plan.subnet(offset + i),
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
        vpc_cidr: json!(plan.vpc()),
    }
}

/// A new VPC's addresses: a /16 to /18 block whose first four /20s are the subnets (public 1
/// and 2, then private 1 and 2); the rest stays free for subnets added by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AddressPlan {
    network: Ipv4Addr,
    prefix: u8,
}

impl AddressPlan {
    const DEFAULT: AddressPlan = AddressPlan { network: Ipv4Addr::new(10, 0, 0, 0), prefix: 16 };

    /// `10.0.0.0/16` (host bits are cleared: `10.0.5.0/16` is `10.0.0.0/16`); `None` for a
    /// block outside /16../18, which would leave subnets too small or too large.
    fn parse(cidr: &str) -> Option<AddressPlan> {
        let (address, prefix) = cidr.split_once('/')?;
        let address: Ipv4Addr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        if !(16..=18).contains(&prefix) {
            return None;
        }
        let mask = u32::MAX << (32 - prefix);
        Some(AddressPlan { network: Ipv4Addr::from(u32::from(address) & mask), prefix })
    }

    fn vpc(&self) -> String {
        format!("{}/{}", self.network, self.prefix)
    }

    /// Subnet `index` (0..4), the same block as `Fn::Select [index, Fn::Cidr [vpc, 4, 12]]`
    /// gave in earlier templates, so redeploying them replaces no subnet.
    fn subnet(&self, index: usize) -> String {
        const SUBNET_PREFIX: u32 = 20;
        let start = u32::from(self.network) + (index as u32) * (1 << (32 - SUBNET_PREFIX));
        format!("{}/{SUBNET_PREFIX}", Ipv4Addr::from(start))
    }
}

#[cfg(test)]
mod tests {
    use super::AddressPlan;

    #[test]
    fn subnets_are_the_first_four_slash_20s() {
        let plan = AddressPlan::parse("10.20.0.0/16").unwrap();
        let subnets: Vec<String> = (0..4).map(|i| plan.subnet(i)).collect();
        assert_eq!(subnets, ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20", "10.20.48.0/20"]);
        let plan = AddressPlan::parse("172.16.192.0/18").unwrap();
        assert_eq!(plan.subnet(3), "172.16.240.0/20");
    }

    #[test]
    fn host_bits_are_cleared_and_odd_sizes_refused() {
        assert_eq!(AddressPlan::parse("10.0.5.0/16").unwrap().vpc(), "10.0.0.0/16");
        assert_eq!(AddressPlan::parse("10.0.0.0/24"), None);
        assert_eq!(AddressPlan::parse("10.0.0.0/8"), None);
        assert_eq!(AddressPlan::parse("300.0.0.0/16"), None);
    }
}
