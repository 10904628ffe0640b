//! Generates large, realistic diagrams for benchmarks: N security-group tiers, each with a
//! load balancer, an auto scaling group of app servers and a database; tiers are chained
//! (each tier's servers call the next tier's load balancer) and fan in to one shared cache.
//!
//!     cargo run --example generate -- flowchart 1000 > tiers-1000.mmd
//!     cargo run --example generate -- architecture 1000 > tiers-1000-arch.mmd
//!
//! A flowchart has about 4 edges per tier, over mermaid's default limit of 500 from 125
//! tiers on. A diagram cannot raise that limit (`maxEdges` is a secure setting: mermaid
//! ignores it in `%%{init}%%` and front matter); the site can, with
//! `mermaid.initialize({ maxEdges })`, and so can `mermaid2aws compile --max-edges N`.

use std::fmt::Write;

pub(crate) fn flowchart(tiers: usize) -> String {
    let mut out = String::new();
    out.push_str(
        "flowchart LR\n    U[Users] -->|https 443| LB0\n    Cache[ElastiCache for Redis]\n",
    );
    for i in 0..tiers {
        let _ = write!(
            out,
            "    subgraph T{i}[\"Security Group tier {i}\"]\n        LB{i}[Application Load Balancer {i}]\n        subgraph ASG{i}[\"Auto scaling group {i}\"]\n            APP{i}@{{ shape: procs, label: \"App servers {i}\" }}\n        end\n        DB{i}[(PostgreSQL {i})]\n    end\n    LB{i} -->|http 8080| APP{i}\n    APP{i} -->|tcp/5432| DB{i}\n    APP{i} -->|:6379| Cache\n"
        );
        if i + 1 < tiers {
            let _ = writeln!(out, "    APP{i} -->|https 443| LB{}", i + 1);
        }
    }
    out
}

pub(crate) fn architecture(tiers: usize) -> String {
    let mut out = String::from(
        "architecture-beta\n    service users(internet)[Users]\n    service cache(logos:aws-elasticache)[Shared cache]\n    users:R --> L:lb0\n",
    );
    for i in 0..tiers {
        let _ = write!(
            out,
            "    group t{i}(cloud)[Security Group tier {i}]\n    service lb{i}(logos:aws-elb)[Load balancer {i}] in t{i}\n    service app{i}(server)[App servers {i}] in t{i}\n    service db{i}(database)[PostgreSQL {i}] in t{i}\n    lb{i}:R --> L:app{i}\n    app{i}:R --> L:db{i}\n    app{i}:T --> B:cache\n"
        );
    }
    // Edges may only name services declared before them: the chain comes last.
    for i in 1..tiers {
        let _ = writeln!(out, "    app{}:B --> T:lb{i}", i - 1);
    }
    out.replacen("    users:R --> L:lb0\n", "", 1) + "    users:R --> L:lb0\n"
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("flowchart", String::as_str);
    let tiers = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10);
    let text = match kind {
        "architecture" => architecture(tiers),
        _ => flowchart(tiers),
    };
    print!("{text}");
}
