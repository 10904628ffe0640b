//! `deploy`, `diff` and `destroy` end to end: the real binary and the real AWS SDK against a
//! real moto server that this harness starts on a free 127.0.0.1 port and stops after (also on
//! panic). Nothing here talks to anything but 127.0.0.1.
//!
//! moto is synchronous, has no per-resource events, no failures and no Replacement flags (see
//! `shared/docs/testing.md`); the unit tests in `src/deploy` cover those paths with a fake.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::moto::{Moto, between};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory for one test's diagrams.
fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deploy_moto").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Ingress port ranges of every security group, as EC2 itself reports them.
fn ingress_ports(moto: &Moto) -> Vec<(i64, i64)> {
    let body = moto.query("ec2", "Action=DescribeSecurityGroups&Version=2016-11-15");
    let mut ports = Vec::new();
    for group in body.split("<ipPermissions>").skip(1) {
        let group = group.split("</ipPermissions>").next().unwrap_or_default();
        for item in group.split("<item>") {
            if let (Some(from), Some(to)) =
                (between(item, "<fromPort>", "</fromPort>"), between(item, "<toPort>", "</toPort>"))
            {
                ports.push((from.parse().unwrap(), to.parse().unwrap()));
            }
        }
    }
    ports
}

/// A VPC with two public and two private subnets in moto, as the `network=existing`
/// parameters of a template.
fn existing_network(moto: &Moto) -> Vec<(String, String)> {
    let vpc = moto.query("ec2", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16");
    let vpc = between(&vpc, "<vpcId>", "</vpcId>").unwrap();
    let subnet = |cidr: &str, az: &str| {
        let body = moto.query(
            "ec2",
            &format!("Action=CreateSubnet&Version=2016-11-15&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={az}"),
        );
        between(&body, "<subnetId>", "</subnetId>").unwrap()
    };
    let public = [subnet("10.0.0.0/24", "us-east-1a"), subnet("10.0.1.0/24", "us-east-1b")];
    let private = [subnet("10.0.2.0/24", "us-east-1a"), subnet("10.0.3.0/24", "us-east-1b")];
    vec![
        ("VpcId".into(), vpc),
        ("PublicSubnetIds".into(), public.join(",")),
        ("PrivateSubnetIds".into(), private.join(",")),
        ("ELBCertificateArn".into(), moto.certificate()),
    ]
}

fn parameters_file(dir: &Path, parameters: &[(String, String)]) -> PathBuf {
    let map: serde_json::Map<String, serde_json::Value> =
        parameters.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    let path = dir.join("parameters.json");
    std::fs::write(&path, serde_json::Value::Object(map).to_string()).unwrap();
    path
}

/// Private IPs of the running instances tagged `Name=name`, through EC2's own filters.
fn instance_ips(moto: &Moto, name: &str) -> Vec<String> {
    let body = moto.query(
        "ec2",
        &format!(
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag:Name&Filter.1.Value.1={name}&Filter.2.Name=instance-state-name&Filter.2.Value.1=running"
        ),
    );
    // Each instance names its address first, then again in its network interfaces.
    let mut ips: Vec<String> = body
        .split("<privateIpAddress>")
        .skip(1)
        .filter_map(|rest| rest.split("</privateIpAddress>").next().map(str::to_string))
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// The seed IaaS diagram as it is in the repository, deployed with the README's commands: the
/// whole template comes up (a new VPC, the load balancer, the auto scaling group, the three
/// self-hosted data stores with their provisioning code, the private zone), EC2, Route 53
/// and ELB report what the diagram draws, and the same command again reports no changes.
///
/// Not here, because moto 5.2.5 cannot do it with this template (checked in its source):
/// an update (moto re-applies every resource and has no update for AWS::EC2::Instance, so the
/// record sets' `Fn::GetAtt` on the instances then fails) and a delete (no delete for
/// AWS::EC2::NatGateway, so the VPC keeps a dependency). The web tier below covers both.
#[test]
fn seed_iaas_diagram_comes_up_whole_and_a_redeploy_reports_no_changes() {
    let moto = Moto::start();
    let dir = workdir("seed-whole");
    let seed = std::fs::read_to_string(support::repo_dir().join("diagrams/seed-iaas.mmd")).unwrap();
    std::fs::write(dir.join("seed-iaas.mmd"), &seed).unwrap();
    let certificate = format!("ELBCertificateArn={}", moto.certificate());

    // README: mermaid2aws deploy diagrams/seed-iaas.mmd --stack-name shop --parameter ...
    // (--yes: there is no terminal to confirm on).
    let created = moto.run(
        &dir,
        &["deploy", "seed-iaas.mmd", "--stack-name", "shop", "--parameter", &certificate, "--yes"],
    );
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let out = stdout(&created);
    assert!(out.contains("53 to add, 0 to modify, 0 to replace, 0 to remove"), "{out}");
    assert!(out.contains("stack `shop`: CREATE_COMPLETE"), "{out}");
    let resources = moto
        .query("cloudformation", "Action=DescribeStackResources&Version=2010-05-15&StackName=shop");
    assert_eq!(
        resources.matches("<ResourceStatus>CREATE_COMPLETE</ResourceStatus>").count(),
        53,
        "every resource of the template was created: {resources}"
    );

    // The new VPC's subnets, as the template writes them out.
    let subnets = moto.query("ec2", "Action=DescribeSubnets&Version=2016-11-15");
    for cidr in ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"] {
        assert!(subnets.contains(&format!("<cidrBlock>{cidr}</cidrBlock>")), "{cidr}: {subnets}");
    }
    // Inbound rules: 443 from the internet, 8080 to the servers, the data stores' ports from
    // the servers' group, and all traffic inside each drawn security group.
    let ports = ingress_ports(&moto);
    for port in [443, 8080, 3306, 6379, 9092] {
        assert!(ports.contains(&(port, port)), "port {port}: {ports:?}");
    }
    let groups = moto.query("ec2", "Action=DescribeSecurityGroups&Version=2016-11-15");
    let all_traffic_inbound = groups
        .split("<ipPermissions>")
        .skip(1)
        .filter_map(|rest| rest.split("</ipPermissions>").next())
        .map(|rules| rules.matches("<ipProtocol>-1</ipProtocol>").count())
        .sum::<usize>();
    assert_eq!(all_traffic_inbound, 3, "one rule inside each drawn security group: {groups}");
    // The private zone names each self-hosted data store by its own instance's address.
    let zones = moto.aws("route53", "GET", "/2013-04-01/hostedzone", &[], "");
    let zone = between(&zones, "<Id>", "</Id>").unwrap();
    let zone = zone.trim_start_matches("/hostedzone/");
    let records =
        moto.aws("route53", "GET", &format!("/2013-04-01/hostedzone/{zone}/rrset"), &[], "");
    for (record, instance) in [
        ("kafka.app.internal", "shop-k"),
        ("redis.app.internal", "shop-r"),
        ("sql.app.internal", "shop-sql"),
    ] {
        let ips = instance_ips(&moto, instance);
        assert_eq!(ips.len(), 1, "one running {instance}: {ips:?}");
        let set = records
            .split("<ResourceRecordSet>")
            .find(|s| s.contains(&format!("<Name>{record}</Name>")));
        assert!(
            set.is_some_and(|set| set.contains(&format!("<Value>{}</Value>", ips[0]))),
            "{record} -> {}: {records}",
            ips[0]
        );
    }
    assert!(!instance_ips(&moto, "shop-asg").is_empty(), "the auto scaling group's servers run");
    let balancers =
        moto.query("elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01");
    assert!(balancers.contains("<Scheme>internet-facing</Scheme>"), "{balancers}");

    // README: the same command again, without parameters: "no changes", exit 0.
    let again = moto.run(&dir, &["deploy", "seed-iaas.mmd", "--stack-name", "shop", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("no changes"), "{}", stdout(&again));

    // A diagram edit shows as the rule it changes, on the line that changed.
    std::fs::write(dir.join("seed-iaas.mmd"), seed.replace("http 8080", "http 9090")).unwrap();
    let diff = moto.run(&dir, &["diff", "seed-iaas.mmd", "--stack-name", "shop"]);
    assert_eq!(diff.status.code(), Some(0), "{}", stderr(&diff));
    let out = stdout(&diff);
    let line = seed.lines().position(|l| l.contains("http 8080")).unwrap() + 1;
    assert!(out.contains("add     SG2FromSG19090Ingress"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("remove  SG2FromSG18080Ingress")
            && l.contains(&format!("seed-iaas.mmd:{line}:"))),
        "{out}"
    );
}

/// The seed IaaS diagram's web tier (users -> load balancer on 443 -> the auto scaling group's
/// security group on `http 8080`, the bucket it uses), in an existing VPC: the parts of the
/// seed that moto 5.2.5 can also update and delete.
fn seed_web_tier() -> String {
    let seed = std::fs::read_to_string(support::repo_dir().join("diagrams/seed-iaas.mmd")).unwrap();
    let start = seed.find("%% Databases").expect("the seed has a databases section");
    let start = seed[..start].rfind("%% ----").unwrap();
    let end = seed.find("%% Connection").expect("the seed has a connections section");
    let end = seed[..end].rfind("%% ----").unwrap();
    let web = format!("{}{}", &seed[..start], &seed[end..])
        .replace("ASG <--> RT53[Amazon Route 53]\n", "")
        .replace("ASG <--> SG3\n", "");
    assert!(web.contains("ELB <-- http 8080 --> SG2"), "the seed's ELB -> servers edge: {web}");
    format!("%% @aws network=existing\n{web}")
}

#[test]
fn seed_iaas_deploys_redeploys_diffs_updates_and_is_destroyed() {
    let moto = Moto::start();
    let dir = workdir("seed");
    let seed = seed_web_tier();
    std::fs::write(dir.join("seed-iaas.mmd"), &seed).unwrap();
    let params = parameters_file(&dir, &existing_network(&moto));
    let params = params.to_str().unwrap();

    // Without a terminal and without --yes nothing is sent.
    let refused = moto.run(
        &dir,
        &["deploy", "seed-iaas.mmd", "--stack-name", "seed", "--parameters-file", params],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(moto.stack_status("seed"), None);

    // Create.
    let created = moto.run(
        &dir,
        &["deploy", "seed-iaas.mmd", "--stack-name", "seed", "--parameters-file", params, "--yes"],
    );
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let out = stdout(&created);
    assert!(out.contains("add     SG2FromSG18080Ingress"), "{out}");
    assert!(out.contains("seed-iaas.mmd:"), "rows name the diagram line: {out}");
    assert!(out.contains("CREATE_COMPLETE"), "{out}");
    assert_eq!(moto.stack_status("seed").as_deref(), Some("CREATE_COMPLETE"));
    let ports = ingress_ports(&moto);
    assert!(ports.contains(&(8080, 8080)), "{ports:?}");
    assert!(ports.contains(&(443, 443)), "{ports:?}");
    assert!(!ports.contains(&(9090, 9090)), "{ports:?}");

    // The same diagram again, without parameters (they keep their deployed values): the
    // identical update is refused by moto as "No updates are to be performed".
    let again = moto.run(&dir, &["deploy", "seed-iaas.mmd", "--stack-name", "seed", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("no changes"), "{}", stdout(&again));

    // The edge label's port changes in the diagram.
    std::fs::write(dir.join("seed-iaas.mmd"), seed.replace("http 8080", "http 9090")).unwrap();
    let diff = moto.run(&dir, &["diff", "seed-iaas.mmd", "--stack-name", "seed"]);
    assert_eq!(diff.status.code(), Some(0), "{}", stderr(&diff));
    let out = stdout(&diff);
    assert!(out.contains("remove  SG2FromSG18080Ingress"), "{out}");
    assert!(out.contains("add     SG2FromSG19090Ingress"), "{out}");
    let change_sets =
        moto.query("cloudformation", "Action=ListChangeSets&Version=2010-05-15&StackName=seed");
    // Only the executed change set of the creation is listed (moto keeps executed ones).
    assert_eq!(
        change_sets.matches("<member>").count(),
        1,
        "a change set was left behind: {change_sets}"
    );
    assert!(
        !change_sets.contains("<ExecutionStatus>AVAILABLE"),
        "diff left a change set behind: {change_sets}"
    );
    assert!(ingress_ports(&moto).contains(&(8080, 8080)), "diff changed nothing");

    // The parameters again: moto 5.2.5 resolves UsePreviousValue of list and SSM parameters
    // to values it then cannot read back (unit tests cover UsePreviousValue).
    let updated = moto.run(
        &dir,
        &["deploy", "seed-iaas.mmd", "--stack-name", "seed", "--parameters-file", params, "--yes"],
    );
    assert_eq!(updated.status.code(), Some(0), "{}", stderr(&updated));
    assert!(stdout(&updated).contains("UPDATE_COMPLETE"), "{}", stdout(&updated));
    let ports = ingress_ports(&moto);
    assert!(ports.contains(&(9090, 9090)), "EC2 has the new rule: {ports:?}");
    // moto does not delete a removed SecurityGroupIngress from EC2, so the old rule's removal
    // is checked in the stack's template.
    let deployed =
        moto.query("cloudformation", "Action=GetTemplate&Version=2010-05-15&StackName=seed");
    assert!(deployed.contains("SG2FromSG19090Ingress"), "{deployed}");
    assert!(!deployed.contains("SG2FromSG18080Ingress"), "the old rule left the stack: {deployed}");

    // Destroy: the bucket is kept by its DeletionPolicy, and said so.
    let destroyed = moto.run(&dir, &["destroy", "--stack-name", "seed", "--yes"]);
    assert_eq!(destroyed.status.code(), Some(0), "{}", stderr(&destroyed));
    let out = stdout(&destroyed);
    assert!(
        out.contains("kept by their DeletionPolicy") && out.contains("AWS::S3::Bucket"),
        "{out}"
    );
    assert_eq!(moto.stack_status("seed"), None);
    let gone = moto.run(&dir, &["destroy", "--stack-name", "seed", "--yes"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("does not exist"), "{}", stderr(&gone));
}

/// A diagram whose template is over CloudFormation's 51,200-byte inline limit: an auto
/// scaling group sending to 60 queues (all of them resources moto really creates).
fn big_diagram() -> String {
    let mut text = String::from(
        "%% @aws network=existing\ngraph LR\n    U[Users] -->|https 443| ELB[Application Load Balancer]\n    subgraph ASG[\"Auto scaling group\"]\n        SER@{ shape: procs, label: \"Server Instances\"}\n    end\n    ELB -->|http 8080| ASG\n",
    );
    for i in 0..60 {
        text.push_str(&format!("    ASG --> Q{i}[SQS queue {i}]\n"));
    }
    text
}

#[test]
fn a_template_over_the_inline_limit_goes_through_the_template_bucket() {
    let moto = Moto::start();
    let dir = workdir("big");
    std::fs::write(dir.join("big.mmd"), big_diagram()).unwrap();
    let template =
        serde_json::to_string_pretty(&support::compile_text("big.mmd", &big_diagram())[0]).unwrap();
    assert!(template.len() > 51_200, "the test diagram makes a {}-byte template", template.len());
    let params = parameters_file(&dir, &existing_network(&moto));
    let params = params.to_str().unwrap();

    let refused = moto.run(
        &dir,
        &["deploy", "big.mmd", "--stack-name", "big", "--parameters-file", params, "--yes"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--template-bucket"), "{}", stderr(&refused));
    assert_eq!(moto.stack_status("big"), None, "refused before any call");

    moto.aws("s3", "PUT", "/m2a-templates", &[], "");
    let deployed = moto.run(
        &dir,
        &[
            "deploy",
            "big.mmd",
            "--stack-name",
            "big",
            "--parameters-file",
            params,
            "--yes",
            "--template-bucket",
            "m2a-templates",
        ],
    );
    assert_eq!(deployed.status.code(), Some(0), "{}", stderr(&deployed));
    assert_eq!(moto.stack_status("big").as_deref(), Some("CREATE_COMPLETE"));
    let listing = moto.aws("s3", "GET", "/m2a-templates", &[], "");
    assert!(listing.contains("<Key>mermaid2aws/big/"), "{listing}");
    let queues = moto.query("sqs", "Action=ListQueues&Version=2012-11-05");
    assert_eq!(queues.matches("<QueueUrl>").count(), 60, "every queue exists in SQS: {queues}");
}

/// Ctrl-C (SIGINT) while waiting on AWS: nothing was changed, so it says so, exit 130. The
/// endpoint is a 127.0.0.1 socket that accepts and never answers.
#[test]
fn ctrl_c_stops_with_exit_130_and_says_what_happened() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let dir = workdir("ctrl-c");
    let seed = std::fs::read_to_string(support::repo_dir().join("diagrams/seed-iaas.mmd")).unwrap();
    std::fs::write(dir.join("seed-iaas.mmd"), seed).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mermaid2aws"));
    let child = support::isolate_from_aws_config(&mut command)
        .args(["deploy", "seed-iaas.mmd", "--stack-name", "seed", "--yes", "--region", "us-east-1"])
        .args(["--parameter", "ELBCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/x"])
        .args(["--endpoint-url", &url])
        .current_dir(&dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the command is connected (it then waits for an answer that never comes).
    let (_connection, _) = silent.accept().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(stdout(&output).contains("interrupted: nothing was changed"), "{}", stdout(&output));
}
