//! Semantic tests: who can reach whom on which port, read from the emitted template's own
//! security groups and ingress rules (not from snapshots).

mod support;

use support::Reach;

fn reach_of(path: &str) -> Reach {
    let text = std::fs::read_to_string(support::repo_dir().join(path)).expect("read diagram");
    let templates = support::compile_text(path, &text);
    Reach::of(&templates[0])
}

fn reach_text(text: &str) -> Reach {
    Reach::of(&support::compile_text("case.mmd", text)[0])
}

#[test]
fn seed_iaas_follows_the_drawn_paths() {
    let r = reach_of("diagrams/seed-iaas.mmd");
    // Only the load balancer is on the internet, on the drawn port only.
    let open = r.open_to_internet();
    assert_eq!(open.len(), 1, "open to the internet: {open:?}");
    assert_eq!((open[0].1, open[0].2), (443, 443));
    assert!(r.can("0.0.0.0/0", "ELB", 443));
    assert!(!r.can("0.0.0.0/0", "ELB", 80));
    for inside in ["ASG", "R", "SQL", "K"] {
        for port in [22, 80, 443, 3306, 6379, 8080, 9092] {
            assert!(!r.can("0.0.0.0/0", inside, port), "internet reaches {inside}:{port}");
        }
    }
    // The load balancer reaches the instances on the edge's port, and nothing else.
    assert!(r.can("ELB", "ASG", 8080));
    assert!(!r.can("ELB", "ASG", 22));
    for data in ["R", "SQL", "K"] {
        assert!(
            !r.can("ELB", data, 6379) && !r.can("ELB", data, 3306),
            "load balancer reaches {data}"
        );
    }
    // The instances reach each data store on its default port (the edge ASG <--> SG3).
    assert!(r.can("ASG", "R", 6379));
    assert!(r.can("ASG", "SQL", 3306));
    assert!(r.can("ASG", "K", 9092));
    assert!(!r.can("ASG", "SQL", 22));
    // Inside Security Group 3, all traffic is allowed (the seed's tip)...
    assert!(r.can("R", "SQL", 3306) && r.can("K", "SQL", 12345));
    // ...and data stores never open connections to their clients.
    assert!(!r.can("R", "ASG", 8080) && !r.can("SQL", "ASG", 8080));
}

#[test]
fn seed_paas_backend_is_reached_only_from_the_instances() {
    let r = reach_of("diagrams/seed-paas.mmd");
    assert!(
        r.open_to_internet().is_empty(),
        "CloudFront is the only public entry: {:?}",
        r.open_to_internet()
    );
    // Elastic Beanstalk instances reach the cache (memcached, the engine drawn next to it)
    // and the broker on their ports.
    assert!(r.can("ElasticBeanstalk", "AmazonElasticCache", 11211));
    assert!(r.can("ElasticBeanstalk", "AMQ", 61617));
    assert!(!r.can("ElasticBeanstalk", "AMQ", 22));
    // The load balancer is reached from CloudFront only.
    assert!(r.can("cloudfront", "ElasticBeanstalk", 80));
    assert!(!r.can("0.0.0.0/0", "ElasticBeanstalk", 80));
    // Amazon RDS is drawn behind the cache (`memcached <--> AmazonRDS`): the instances that use
    // the cache reach the database on its port, and nothing else new is opened.
    assert!(r.can("ElasticBeanstalk", "AmazonRDS", 3306));
    assert!(!r.can("ElasticBeanstalk", "AmazonRDS", 5432));
    assert!(!r.can("cloudfront", "AmazonRDS", 3306));
}

#[test]
fn a_store_behind_another_is_reached_by_the_clients_in_front() {
    let text = "flowchart LR
  App[EC2 app server] --> Cache[(Redis)]
  Cache <--> Db[(PostgreSQL)]
  Db --- Archive[(MySQL)]
  Worker[EC2 worker server] --> Sessions[(Memcached)]
  Sessions <--> Db
  Worker --> Other[(Redis)]
  Cache <--> Other
";
    let r = reach_text(text);
    // Behind the cache and behind the worker's store: both clients in front reach it.
    assert!(r.can("App", "Db", 5432));
    assert!(r.can("Worker", "Db", 5432));
    // Down the chain of stores.
    assert!(r.can("App", "Archive", 3306));
    assert!(r.can("Worker", "Archive", 3306));
    // Stores still open no connections, and two stores that both have clients stay apart.
    assert!(!r.can("Cache", "Db", 5432));
    assert!(!r.can("Db", "Archive", 3306));
    assert!(!r.can("App", "Other", 6379));
    assert!(!r.can("Worker", "Cache", 6379));
}

#[test]
fn data_stores_are_reachable_only_from_their_clients() {
    let r = reach_of("diagrams/three-tier.mmd");
    assert!(r.can("App", "DB", 5432));
    assert!(r.can("App", "Cache", 6379));
    assert!(!r.can("ALB", "DB", 5432), "the load balancer has no edge to the database");
    assert!(!r.can("0.0.0.0/0", "DB", 5432));
    assert!(!r.can("App", "DB", 3306), "only the drawn port");
    assert!(r.can("0.0.0.0/0", "ALB", 443));
    assert!(r.can("ALB", "App", 8080));
}

#[test]
fn edge_labels_choose_the_port() {
    for (label, port, other) in
        [("tcp/5433", 5433, 5432), (":6380", 6380, 6379), ("9092-9094", 9093, 9095)]
    {
        let r = reach_text(&format!(
            "flowchart LR\n  App[EC2 app server] -->|{label}| Db[(Self-hosted Redis)]\n"
        ));
        assert!(r.can("App", "Db", port), "{label}: {port} should be open");
        assert!(!r.can("App", "Db", other), "{label}: {other} should be closed");
    }
}

#[test]
fn bidirectional_edges_make_the_non_store_side_the_client() {
    let r = reach_text("flowchart LR\n  Db[(MySQL)] <--> App[EC2 app server]\n");
    assert!(r.can("App", "Db", 3306));
    assert!(!r.can("Db", "App", 8080));
}

#[test]
fn containment_edges_are_placement_not_traffic() {
    let r = reach_text(
        "flowchart TB\n  V[VPC] --> S[Private Subnet]\n  S -.- App[EC2 app server]\n  App --> Db[(PostgreSQL)]\n",
    );
    assert!(r.can("App", "Db", 5432));
    assert_eq!(r.rules.len(), 1, "only the App -> Db rule: {:?}", r.rules);
}
