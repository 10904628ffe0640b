//! One case per catalog kind: the label users write selects the kind, the kind makes its
//! resources, and the template passes cfn-lint. A catalog kind without a case here fails.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use mermaid2aws::catalog::Catalog;

/// (kind id, label as users write it, a resource type the kind must create; "" for none).
const CASES: &[(&str, &str, &str)] = &[
    ("users", "Users", ""),
    ("dns-external", "Domain name server", ""),
    ("on-premises", "On-premises datacenter", ""),
    ("vpc", "VPC", ""),
    ("subnet", "Private subnet", ""),
    ("pass-through", "SG: app 8080", ""),
    ("route-table", "Route table", ""),
    ("alb", "Application Load Balancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    ("api-gateway", "API Gateway", "AWS::ApiGatewayV2::Api"),
    ("cloudfront", "Amazon CloudFront", "AWS::CloudFront::Distribution"),
    ("route53", "Route 53", "AWS::Route53::RecordSet"),
    ("elastic-beanstalk", "Elastic Beanstalk", ""),
    ("auto-scaling-group", "Auto Scaling Group", "AWS::AutoScaling::AutoScalingGroup"),
    ("bastion", "Bastion host", "AWS::EC2::Instance"),
    ("ec2-nginx", "nginx", "AWS::EC2::Instance"),
    ("ec2-tomcat", "Tomcat", "AWS::EC2::Instance"),
    ("ec2", "EC2 instance", "AWS::EC2::Instance"),
    ("lambda", "Lambda", "AWS::Lambda::Function"),
    ("ecs-service", "ECS Fargate", "AWS::ECS::Service"),
    ("aurora", "Aurora", "AWS::RDS::DBCluster"),
    ("aurora-postgres", "Aurora PostgreSQL", "AWS::RDS::DBCluster"),
    ("rds-postgres", "RDS PostgreSQL", "AWS::RDS::DBInstance"),
    ("rds", "Amazon RDS", "AWS::RDS::DBInstance"),
    ("elasticache-memcached", "ElastiCache for Memcached", "AWS::ElastiCache::CacheCluster"),
    ("elasticache-redis", "ElastiCache for Redis", "AWS::ElastiCache::ReplicationGroup"),
    ("amazon-mq", "Amazon MQ", "AWS::AmazonMQ::Broker"),
    ("amazon-mq-rabbitmq", "Amazon MQ for RabbitMQ", "AWS::AmazonMQ::Broker"),
    ("msk", "Amazon MSK", "AWS::MSK::Cluster"),
    ("efs", "EFS", "AWS::EFS::FileSystem"),
    ("ec2-redis", "Redis", "AWS::EC2::Instance"),
    ("ec2-mysql", "SQL", "AWS::EC2::Instance"),
    ("ec2-postgres", "PostgreSQL", "AWS::EC2::Instance"),
    ("ec2-mongodb", "MongoDB", "AWS::EC2::Instance"),
    ("ec2-memcached", "Memcached", "AWS::EC2::Instance"),
    ("ec2-kafka", "Kafka", "AWS::EC2::Instance"),
    ("ec2-rabbitmq", "RabbitMQ", "AWS::EC2::Instance"),
    ("s3", "S3 Bucket", "AWS::S3::Bucket"),
    ("dynamodb", "DynamoDB", "AWS::DynamoDB::Table"),
    ("sqs", "SQS queue", "AWS::SQS::Queue"),
    ("sns", "SNS topic", "AWS::SNS::Topic"),
    ("secrets-manager", "Secrets Manager", "AWS::SecretsManager::Secret"),
    ("ecr", "ECR", "AWS::ECR::Repository"),
    ("cognito", "Cognito User Pool", "AWS::Cognito::UserPool"),
    ("eventbridge", "EventBridge", "AWS::Events::EventBus"),
    ("kinesis", "Kinesis data stream", "AWS::Kinesis::Stream"),
    ("cloudwatch", "Amazon CloudWatch", "AWS::CloudWatch::Alarm"),
];

/// A small architecture diagram that puts the kind in context: a client that uses it, and
/// what it needs in front of or behind it.
fn diagram_for(kind: &str, label: &str) -> String {
    let head = "architecture-beta\n    service app(server)[EC2 app server]\n    service lb(logos:aws-elb)[ALB]\n    service users(internet)[Users]\n    users:R --> L:lb\n    lb:R --> L:app\n";
    let body = match kind {
        "users" | "dns-external" | "on-premises" => {
            format!("    service x[{label}]\n    x:B --> T:lb\n")
        }
        "vpc" | "subnet" | "route-table" => format!("    service x[{label}]\n    x:B -- T:app\n"),
        "pass-through" => format!(
            "    service db(database)[Amazon RDS]\n    service x[{label}]\n    app:B --> T:x\n    x:R --> L:db\n"
        ),
        "alb" => format!("    service x[{label}]\n    users:B --> T:x\n    x:B --> T:app\n"),
        "cloudfront" => format!("    service x[{label}]\n    users:T --> B:x\n    x:R --> L:lb\n"),
        "route53" => format!(
            "    service cdn[CloudFront]\n    service x[{label}]\n    users:T --> B:x\n    x:R --> L:cdn\n    cdn:R --> L:lb\n"
        ),
        "elastic-beanstalk" => format!(
            "    group eb[{label}]\n    service web(server)[Instances] in eb\n    service cdn[CloudFront]\n    users:T --> B:cdn\n    cdn:R --> L:web\n"
        ),
        "auto-scaling-group" => format!("    service x[{label}]\n    lb:B --> T:x\n"),
        "api-gateway" => format!(
            "    service fn[Lambda]\n    service x[{label}]\n    users:T --> B:x\n    x:R --> L:fn\n"
        ),
        "cloudwatch" => format!("    service x[{label}]\n    x:B --> T:lb\n    x:R --> L:app\n"),
        "lambda" | "ecs-service" | "bastion" | "ec2-nginx" | "ec2-tomcat" | "ec2" => {
            format!("    service x[{label}]\n    lb:B --> T:x\n")
        }
        _ => format!("    service x[{label}]\n    app:B --> T:x\n"),
    };
    format!("{head}{body}")
}

#[test]
fn every_catalog_kind_has_a_case() {
    let catalog = Catalog::builtin();
    let covered: BTreeSet<&str> = CASES.iter().map(|c| c.0).collect();
    let missing: Vec<&str> =
        catalog.kinds.iter().map(|k| k.id.as_str()).filter(|k| !covered.contains(k)).collect();
    assert!(missing.is_empty(), "catalog kinds without a test case: {missing:?}");
    assert!(catalog.kinds.len() >= 30);
}

#[test]
fn each_kind_is_recognised_and_becomes_its_resources() {
    let out = support::repo_dir().join("target/test-kinds");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut paths = Vec::new();
    for (kind, label, resource_type) in CASES {
        let text = diagram_for(kind, label);
        let name = format!("{kind}.mmd");
        let file = mermaid2aws::source::SourceFile::new(&name, &text);
        let (compiled, _) = mermaid2aws::compile_file(
            &file,
            None,
            Default::default(),
            mermaid2aws::emit::Format::Json,
        )
        .unwrap_or_else(|d| {
            panic!("{kind}: {:?}\n{text}", d.iter().map(|d| &d.message).collect::<Vec<_>>())
        });
        let stack = &compiled[0].stack;
        let decided = stack
            .decisions
            .iter()
            .find(|d| d.element == "x" || (*kind == "elastic-beanstalk" && d.element == "eb"))
            .unwrap_or_else(|| panic!("{kind}: no decision for the element"));
        if *kind == "elastic-beanstalk" {
            assert!(decided.kind.contains("elastic-beanstalk"), "{kind}: {}", decided.kind);
            assert!(
                stack.resources.values().any(|r| r.kind == "AWS::ElasticBeanstalk::Environment")
            );
        } else {
            assert_eq!(
                decided.kind, *kind,
                "{label:?} was classified as {} ({})",
                decided.kind, decided.reason
            );
        }
        if !resource_type.is_empty() {
            assert!(
                stack.resources.values().any(|r| r.kind == *resource_type),
                "{kind}: no {resource_type} among {:?}",
                stack.resources.values().map(|r| &r.kind).collect::<BTreeSet<_>>()
            );
        }
        let path = out.join(format!("{kind}.json"));
        std::fs::write(&path, &compiled[0].template).expect("write");
        paths.push(path);
    }
    let cfn_lint = support::tool("M2A_CFN_LINT", "cfn-lint", "cfn-lint");
    let output = Command::new(cfn_lint)
        .args(["--regions", "us-east-1", "--format", "parseable", "--"])
        .args(&paths)
        .output()
        .expect("run cfn-lint");
    let findings = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "cfn-lint on the kind cases:\n{findings}"
    );
}
