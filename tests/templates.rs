//! Every diagram in `diagrams/` compiles, and its templates pass the real cfn-lint (0 errors,
//! 0 warnings) and checkov (0 failed checks; each accepted finding is suppressed in the
//! template's Metadata with its reason). Both tools are installed by `scripts/test`.

mod support;

use std::path::PathBuf;
use std::process::Command;

/// Compile every diagram of `diagrams/` (JSON, and YAML for the Markdown files) into a
/// fresh directory; returns it with the template paths.
fn compile_all(dir: &str) -> (PathBuf, Vec<PathBuf>) {
    let out = support::repo_dir().join("target").join(dir);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create output dir");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(support::repo_dir().join("diagrams"))
        .expect("diagrams/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 6, "diagrams/ should hold the seed diagrams and the examples");
    let mut templates = Vec::new();
    for input in &inputs {
        let text = std::fs::read_to_string(input).expect("read diagram");
        let name = input.display().to_string();
        let file = mermaid2aws::source::SourceFile::new(&name, text);
        let markdown = input.extension().is_some_and(|e| e == "md");
        let formats: &[(mermaid2aws::emit::Format, &str)] = if markdown {
            &[(mermaid2aws::emit::Format::Json, "json"), (mermaid2aws::emit::Format::Yaml, "yaml")]
        } else {
            &[(mermaid2aws::emit::Format::Json, "json")]
        };
        for (format, ext) in formats {
            let (compiled, _) = mermaid2aws::compile_file(&file, None, Default::default(), *format)
                .unwrap_or_else(|d| {
                    panic!(
                        "{name} does not compile: {:?}",
                        d.iter().map(|d| &d.message).collect::<Vec<_>>()
                    )
                });
            assert!(!compiled.is_empty(), "{name} has no infrastructure diagram");
            for (i, c) in compiled.iter().enumerate() {
                let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("diagram");
                let path = out.join(format!("{stem}-{}.{ext}", i + 1));
                std::fs::write(&path, &c.template).expect("write template");
                templates.push(path);
            }
        }
    }
    // The existing-network variant of the seed: VPC and subnets as parameters.
    let seed = support::repo_dir().join("diagrams/seed-iaas.mmd");
    let file = mermaid2aws::source::SourceFile::new(
        "diagrams/seed-iaas.mmd",
        std::fs::read_to_string(seed).expect("read"),
    );
    let options =
        mermaid2aws::lower::LowerOptions { network: Some(mermaid2aws::lower::Network::Existing) };
    let (compiled, _) =
        mermaid2aws::compile_file(&file, None, options, mermaid2aws::emit::Format::Json)
            .expect("compiles");
    let path = out.join("seed-iaas-existing-network.json");
    std::fs::write(&path, &compiled[0].template).expect("write");
    templates.push(path);
    (out, templates)
}

#[test]
fn cfn_lint_finds_nothing() {
    let cfn_lint = support::tool("M2A_CFN_LINT", "cfn-lint", "cfn-lint");
    let (_, templates) = compile_all("test-templates-cfn-lint");
    let output = Command::new(&cfn_lint)
        .args(["--regions", "us-east-1", "--format", "parseable", "--"])
        .args(&templates)
        .output()
        .expect("run cfn-lint");
    let findings = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "cfn-lint exit {:?} on {} templates:\n{findings}{}",
        output.status.code(),
        templates.len(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn checkov_has_no_failed_check() {
    let checkov = support::tool("M2A_CHECKOV", "checkov", "checkov");
    let (dir, templates) = compile_all("test-templates-checkov");
    let json_only: Vec<_> =
        templates.iter().filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    let mut cmd = Command::new(&checkov);
    cmd.args([
        "--framework",
        "cloudformation",
        "--skip-download",
        "--quiet",
        "--compact",
        "-o",
        "json",
    ]);
    for t in &json_only {
        cmd.arg("-f").arg(t);
    }
    let output = cmd.current_dir(&dir).output().expect("run checkov");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("checkov printed no JSON ({e}): {stdout}{}", String::from_utf8_lossy(&output.stderr))
    });
    let reports = if report.is_array() {
        report.as_array().cloned().unwrap_or_default()
    } else {
        vec![report]
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    for r in &reports {
        passed += r["summary"]["passed"].as_u64().unwrap_or(0);
        for f in r["results"]["failed_checks"].as_array().into_iter().flatten() {
            failed.push(format!("{} {} in {}", f["check_id"], f["resource"], f["file_path"]));
        }
    }
    assert!(passed > 100, "checkov passed only {passed} checks: did it read the templates?");
    assert!(failed.is_empty(), "checkov failed checks:\n{}", failed.join("\n"));
}

#[test]
fn templates_are_byte_identical_on_every_run() {
    for input in ["diagrams/seed-iaas.mmd", "diagrams/seed-paas.mmd", "diagrams/README.md"] {
        let text = std::fs::read_to_string(support::repo_dir().join(input)).expect("read");
        let first = support::compile_text(input, &text);
        for _ in 0..3 {
            assert_eq!(support::compile_text(input, &text), first, "{input} compiled differently");
        }
    }
}

#[test]
fn every_resource_names_its_diagram_element_and_source() {
    let text =
        std::fs::read_to_string(support::repo_dir().join("diagrams/seed-iaas.mmd")).expect("read");
    for template in support::compile_text("diagrams/seed-iaas.mmd", &text) {
        for (id, r) in template["Resources"].as_object().expect("Resources") {
            let meta = &r["Metadata"]["Mermaid2Aws"];
            let element = meta["Element"].as_str().unwrap_or_default();
            let source = meta["Source"].as_str().unwrap_or_default();
            assert!(!element.is_empty(), "{id} has no Element");
            assert!(source.starts_with("diagrams/seed-iaas.mmd:"), "{id} has Source {source}");
            let line_col: Vec<&str> = source.rsplitn(3, ':').collect();
            assert!(
                line_col.len() == 3
                    && line_col[0].parse::<u32>().is_ok()
                    && line_col[1].parse::<u32>().is_ok(),
                "{id}: {source}"
            );
        }
    }
}

/// The seed's IaaS steps, checked on the template itself.
#[test]
fn seed_iaas_template_does_the_seed_steps() {
    let text =
        std::fs::read_to_string(support::repo_dir().join("diagrams/seed-iaas.mmd")).expect("read");
    let t = &support::compile_text("diagrams/seed-iaas.mmd", &text)[0];
    let resources = t["Resources"].as_object().expect("Resources");
    let of_type = |ty: &str| {
        resources
            .iter()
            .filter(|(_, r)| r["Type"] == ty)
            .map(|(id, r)| (id.clone(), r.clone()))
            .collect::<Vec<_>>()
    };
    // 1. Security groups: inbound rules only, all traffic inside each drawn group.
    assert!(of_type("AWS::EC2::SecurityGroupEgress").is_empty());
    for (id, sg) in of_type("AWS::EC2::SecurityGroup") {
        assert!(
            sg["Properties"].get("SecurityGroupIngress").is_none()
                && sg["Properties"].get("SecurityGroupEgress").is_none(),
            "{id}"
        );
    }
    for group in ["SG1SecurityGroup", "SG2SecurityGroup", "SG3SecurityGroup"] {
        assert!(
            of_type("AWS::EC2::SecurityGroupIngress").iter().any(
                |(_, r)| r["Properties"]["IpProtocol"] == "-1"
                    && r["Properties"]["GroupId"]["Fn::GetAtt"][0] == group
                    && r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0] == group
            ),
            "{group} has no all-traffic rule for its members"
        );
    }
    // 2. A key pair, used by every instance: the auto scaling group's through its launch
    // template, each self-hosted server directly. Every instance is IMDSv2 only.
    assert_eq!(of_type("AWS::EC2::KeyPair").len(), 1);
    let asg_launch = &resources["ASGLaunchTemplate"]["Properties"]["LaunchTemplateData"];
    assert_eq!(asg_launch["KeyName"]["Ref"], "KeyPair");
    for (id, lt) in of_type("AWS::EC2::LaunchTemplate") {
        assert_eq!(
            lt["Properties"]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"], "required",
            "{id}"
        );
    }
    let instances = of_type("AWS::EC2::Instance");
    assert_eq!(instances.len(), 3, "Redis, SQL and Kafka each on an instance");
    for (id, instance) in &instances {
        let properties = &instance["Properties"];
        assert_eq!(properties["KeyName"]["Ref"], "KeyPair", "{id}");
        let template = properties["LaunchTemplate"]["LaunchTemplateId"]["Ref"].as_str().unwrap();
        assert_eq!(
            resources[template]["Properties"]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"],
            "required",
            "{id}"
        );
        // The data outlives the instance.
        assert_eq!(
            properties["BlockDeviceMappings"][0]["Ebs"]["DeleteOnTermination"], false,
            "{id}"
        );
    }
    // 3. Instances with provisioning code that installs and starts their software.
    let user_data = |instance: &str| resources[instance]["Properties"]["UserData"].to_string();
    assert!(
        user_data("RInstance").contains("dnf install -y redis6")
            && user_data("RInstance").contains("systemctl enable --now redis6")
    );
    assert!(
        user_data("SQLInstance").contains("mariadb105-server")
            && user_data("SQLInstance").contains("systemctl enable --now mariadb")
    );
    assert!(user_data("KInstance").contains("apache/kafka"));
    // The auto scaling group runs behind the load balancer on the edge's port.
    let asg = &resources["ASGAutoScalingGroup"]["Properties"];
    let tg = asg["TargetGroupARNs"][0]["Ref"].as_str().expect("ASG is behind a target group");
    assert_eq!(resources[tg]["Properties"]["Port"], 8080);
    assert_eq!(asg["HealthCheckType"], "ELB");
    // 4. A private hosted zone resolves a name per internal server; the app is told the names.
    let zone = &resources["PrivateHostedZone"]["Properties"];
    assert!(zone["VPCs"][0]["VPCId"]["Ref"] == "Vpc", "the zone is private to the VPC");
    let records: Vec<String> = of_type("AWS::Route53::RecordSet")
        .iter()
        .map(|(_, r)| r["Properties"]["Name"].as_str().unwrap_or_default().to_string())
        .collect();
    for name in ["redis.app.internal", "sql.app.internal", "kafka.app.internal"] {
        assert!(records.iter().any(|r| r == name), "no record {name} in {records:?}");
    }
    let app = asg_launch["UserData"].to_string();
    for var in ["REDIS_HOST", "SQL_HOST", "KAFKA_HOST"] {
        assert!(app.contains(var), "the app instances are not told {var}");
    }
}

/// The seed's PaaS steps, checked on the template itself.
#[test]
fn seed_paas_template_does_the_seed_steps() {
    let text =
        std::fs::read_to_string(support::repo_dir().join("diagrams/seed-paas.mmd")).expect("read");
    let t = &support::compile_text("diagrams/seed-paas.mmd", &text)[0];
    let r = t["Resources"].as_object().expect("Resources");
    let one = |ty: &str| r.values().find(|x| x["Type"] == ty).unwrap_or_else(|| panic!("no {ty}"));
    let env = &one("AWS::ElasticBeanstalk::Environment")["Properties"];
    assert_eq!(env["SolutionStackName"]["Ref"], "SolutionStackName", "the platform is a parameter");
    let settings = env["OptionSettings"].as_array().expect("settings");
    let setting = |ns: &str, name: &str| {
        settings
            .iter()
            .find(|s| s["Namespace"] == ns && s["OptionName"] == name)
            .map(|s| s["Value"].clone())
    };
    assert_eq!(
        setting("aws:autoscaling:launchconfiguration", "SecurityGroups"),
        Some(serde_json::json!({"Ref": "AutoScalingGroupSecurityGroup"}))
    );
    assert!(
        setting("aws:elasticbeanstalk:application:environment", "AMAZON_ELASTIC_CACHE_HOST")
            .is_some()
    );
    assert_eq!(
        one("AWS::ElasticBeanstalk::ApplicationVersion")["Properties"]["SourceBundle"]["S3Bucket"]
            ["Ref"],
        "S3ArticastsBucket"
    );
    let db = &one("AWS::RDS::DBInstance")["Properties"];
    assert_eq!(db["ManageMasterUserPassword"], true);
    assert!(db.get("MasterUserPassword").is_none());
    assert_eq!(one("AWS::ElastiCache::CacheCluster")["Properties"]["Engine"], "memcached");
    let broker = one("AWS::AmazonMQ::Broker")["Properties"]["Users"][0]["Password"].to_string();
    assert!(
        broker.contains("resolve:secretsmanager"),
        "the broker password is never plaintext: {broker}"
    );
    let origin = &one("AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]["Origins"]
        [0]["DomainName"];
    assert_eq!(origin["Fn::GetAtt"][0], "ElasticBeanstalkEnvironment");
    assert!(r.values().filter(|x| x["Type"] == "AWS::CloudWatch::Alarm").count() >= 2);
    assert_eq!(one("AWS::Route53::RecordSet")["Condition"], "HasDomain", "the domain is optional");
}
