//! A moto server for the tests: started on a free 127.0.0.1 port, stopped when dropped (also on
//! panic), and the real binary run against it with dummy credentials.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A moto server on a free port, killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = super::tool("M2A_MOTO_SERVER", "moto", "moto_server");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let moto = Moto { child, port };
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = moto.request("GET", "/moto-api/", &[], "") {
                return moto;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request to moto; (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_string()
        };
        Ok((status, body))
    }

    /// A call to one of moto's AWS services, signed with dummy credentials (moto reads the
    /// service from the credential scope).
    pub fn aws(
        &self,
        service: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> String {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let mut all = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        let (status, body) = self.request(method, path, &all, body).unwrap();
        assert!(status < 300, "{service} {method} {path}: {status} {body}");
        body
    }

    /// A query-protocol call (CloudFormation, EC2).
    pub fn query(&self, service: &str, params: &str) -> String {
        self.aws(
            service,
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            params,
        )
    }

    /// An ACM certificate for the HTTPS listener.
    pub fn certificate(&self) -> String {
        let body = self.aws(
            "acm",
            "POST",
            "/",
            &[
                ("X-Amz-Target", "CertificateManager.RequestCertificate"),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            r#"{"DomainName": "shop.example.com"}"#,
        );
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        value["CertificateArn"].as_str().unwrap().to_string()
    }

    /// Run the real binary against this server, in `dir`.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        let started = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mermaid2aws"));
        let output = super::isolate_from_aws_config(&mut command)
            .args(args)
            .current_dir(dir)
            .env("AWS_ENDPOINT_URL", self.url())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        eprintln!(
            "$ mermaid2aws {} -> {:?} in {:.1}s\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            output.status.code(),
            started.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub fn stack_status(&self, name: &str) -> Option<String> {
        let (_, body) = self
            .request(
                "POST",
                "/",
                &[
                    ("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=0"),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                &format!("Action=DescribeStacks&Version=2010-05-15&StackName={name}"),
            )
            .unwrap();
        let status = between(&body, "<StackStatus>", "</StackStatus>")?;
        (status != "DELETE_COMPLETE").then_some(status)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn between(text: &str, open: &str, close: &str) -> Option<String> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(text[start..end].to_string())
}
