//! The scripted CloudFormation endpoint itself, spoken to in raw HTTP: the XML it answers,
//! injected failures, time-driven events, pagination, keep-alive and chunked bodies.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::scripted_cfn::{
    Change, NO_CHANGES_REASON, Replacement, RequestLog, Scenario, ScriptedCfn, XMLNS, ev,
    parse_form, stack_ev,
};

const TEMPLATE: &str =
    r#"{"Resources":{"Queue":{"Type":"AWS::SQS::Queue"},"Topic":{"Type":"AWS::SNS::Topic"}}}"#;

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut all = vec![("Version", "2010-05-15")];
    all.extend_from_slice(pairs);
    all.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Read one HTTP response (Content-Length framed) from `stream`.
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read head");
        assert_eq!(n, 1, "connection closed mid-head: {}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).expect("utf8 head");
    let status: u16 = head.split(' ').nth(1).expect("status").parse().expect("status number");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().expect("length"))
        })
        .expect("Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("read body");
    (status, String::from_utf8(body).expect("utf8 body"))
}

fn connect(cfn: &ScriptedCfn) -> TcpStream {
    let addr = cfn.url.strip_prefix("http://").expect("http url");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    TcpStream::connect(addr).expect("connect")
}

fn post_on(stream: &mut TcpStream, body: &str) -> (u16, String) {
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    read_response(stream)
}

fn call(cfn: &ScriptedCfn, pairs: &[(&str, &str)]) -> (u16, String) {
    post_on(&mut connect(cfn), &form(pairs))
}

/// The text of the first `<name>` element.
fn text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

fn all_texts<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let start = i + open.len();
        let end = rest[start..].find(&close).expect("closed") + start;
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

#[test]
fn describe_stacks_answers_the_query_protocol_xml() {
    let cfn = ScriptedCfn::start(Scenario::default().existing_stack(
        "shop",
        "ROLLBACK_COMPLETE",
        TEMPLATE,
    ));
    let (status, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with(&format!(
            "<DescribeStacksResponse xmlns=\"{XMLNS}\"><DescribeStacksResult><Stacks><member>"
        )),
        "{body}"
    );
    assert!(
        body.contains("</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>"),
        "{body}"
    );
    assert!(body.ends_with("</RequestId></ResponseMetadata></DescribeStacksResponse>"), "{body}");
    assert_eq!(text(&body, "StackName"), Some("shop"));
    assert_eq!(text(&body, "StackStatus"), Some("ROLLBACK_COMPLETE"));
    let id = text(&body, "StackId").expect("StackId");
    assert!(id.starts_with("arn:aws:cloudformation:us-east-1:123456789012:stack/shop/"), "{id}");
    let created = text(&body, "CreationTime").expect("CreationTime");
    assert_eq!(created.len(), "2024-01-01T00:00:00.000Z".len(), "{created}");
    assert!(created.ends_with('Z') && created.as_bytes()[10] == b'T', "{created}");

    // By its id too; a stack that is not there is a ValidationError.
    let (status, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", id)]);
    assert_eq!((status, text(&body, "StackName")), (200, Some("shop")));
    let (status, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "other")]);
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with("<ErrorResponse"), "{body}");
    assert_eq!(text(&body, "Code"), Some("ValidationError"));
    assert_eq!(text(&body, "Message"), Some("Stack with id other does not exist"));
    assert!(text(&body, "RequestId").is_some(), "{body}");
    assert_eq!(cfn.requests().actions(), ["DescribeStacks"; 3]);
}

#[test]
fn throttling_and_server_errors_are_injected_then_cleared() {
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack("shop", "CREATE_COMPLETE", TEMPLATE)
            .with_throttling("DescribeStacks", 2)
            .with_server_errors("DescribeStackEvents", 1, 503)
            .with_server_errors("GetTemplate", 1, 500),
    );
    for _ in 0..2 {
        let (status, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]);
        assert_eq!(status, 400, "{body}");
        assert_eq!(text(&body, "Type"), Some("Sender"));
        assert_eq!(text(&body, "Code"), Some("Throttling"));
        assert_eq!(text(&body, "Message"), Some("Rate exceeded"));
    }
    let (status, _) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]);
    assert_eq!(status, 200);

    let (status, body) = call(&cfn, &[("Action", "DescribeStackEvents"), ("StackName", "shop")]);
    assert_eq!((status, text(&body, "Code")), (503, Some("ServiceUnavailable")), "{body}");
    assert_eq!(text(&body, "Type"), Some("Receiver"));
    let (status, _) = call(&cfn, &[("Action", "DescribeStackEvents"), ("StackName", "shop")]);
    assert_eq!(status, 200);

    let (status, body) = call(&cfn, &[("Action", "GetTemplate"), ("StackName", "shop")]);
    assert_eq!((status, text(&body, "Code")), (500, Some("InternalFailure")), "{body}");
    let (status, body) = call(&cfn, &[("Action", "GetTemplate"), ("StackName", "shop")]);
    assert_eq!(status, 200);
    assert_eq!(text(&body, "TemplateBody").map(unescape).as_deref(), Some(TEMPLATE));

    let statuses: Vec<(String, u16)> =
        cfn.requests().iter().map(|r| (r.action.clone(), r.status)).collect();
    let expected: Vec<(String, u16)> = [
        ("DescribeStacks", 400),
        ("DescribeStacks", 400),
        ("DescribeStacks", 200),
        ("DescribeStackEvents", 503),
        ("DescribeStackEvents", 200),
        ("GetTemplate", 500),
        ("GetTemplate", 200),
    ]
    .iter()
    .map(|(a, s)| (a.to_string(), *s))
    .collect();
    assert_eq!(statuses, expected);
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn a_fault_armed_after_an_action_waits_for_it() {
    let cfn = ScriptedCfn::start(
        Scenario::default().existing_stack("shop", "CREATE_COMPLETE", TEMPLATE).with_fault(
            support::scripted_cfn::Fault::throttling("DescribeStacks", 1).after("GetTemplate"),
        ),
    );
    assert_eq!(call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]).0, 200);
    assert_eq!(call(&cfn, &[("Action", "GetTemplate"), ("StackName", "shop")]).0, 200);
    assert_eq!(call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]).0, 400);
    assert_eq!(call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]).0, 200);
}

#[test]
fn a_create_change_set_lists_the_template_and_executing_it_plays_events_over_time() {
    let cfn = ScriptedCfn::start(Scenario::create_succeeds(vec![
        ev(100, "Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS"),
        ev(300, "Queue", "AWS::SQS::Queue", "CREATE_COMPLETE"),
    ]));
    let (status, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("ChangeSetType", "CREATE"),
            ("TemplateBody", TEMPLATE),
            ("Parameters.member.1.ParameterKey", "Env"),
            ("Parameters.member.1.ParameterValue", "prod"),
            ("Capabilities.member.1", "CAPABILITY_IAM"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<CreateChangeSetResponse"), "{body}");
    let id = text(&body, "Id").expect("Id").to_string();
    assert!(id.starts_with("arn:aws:cloudformation:us-east-1:123456789012:changeSet/m2a-1/"));
    assert_eq!(cfn.stack_status("shop").as_deref(), Some("REVIEW_IN_PROGRESS"));

    let (_, body) = call(&cfn, &[("Action", "DescribeChangeSet"), ("ChangeSetName", &id)]);
    assert_eq!(text(&body, "Status"), Some("CREATE_IN_PROGRESS"), "{body}");
    assert_eq!(text(&body, "ExecutionStatus"), Some("UNAVAILABLE"));
    let (status, body) = call(&cfn, &[("Action", "ExecuteChangeSet"), ("ChangeSetName", &id)]);
    assert_eq!((status, text(&body, "Code")), (400, Some("InvalidChangeSetStatus")), "{body}");

    std::thread::sleep(Duration::from_millis(350));
    let (_, body) = call(
        &cfn,
        &[("Action", "DescribeChangeSet"), ("ChangeSetName", "m2a-1"), ("StackName", "shop")],
    );
    assert!(body.starts_with("<DescribeChangeSetResponse"), "{body}");
    assert_eq!(text(&body, "Status"), Some("CREATE_COMPLETE"), "{body}");
    assert_eq!(text(&body, "ExecutionStatus"), Some("AVAILABLE"));
    assert_eq!(all_texts(&body, "LogicalResourceId"), ["Queue", "Topic"]);
    assert_eq!(all_texts(&body, "Action"), ["Add", "Add"]);
    assert_eq!(all_texts(&body, "ResourceType"), ["AWS::SQS::Queue", "AWS::SNS::Topic"]);
    assert_eq!(text(&body, "ParameterValue"), Some("prod"));
    assert!(body.contains("<Capabilities><member>CAPABILITY_IAM</member></Capabilities>"));

    let (status, body) = call(&cfn, &[("Action", "ExecuteChangeSet"), ("ChangeSetName", &id)]);
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<ExecuteChangeSetResponse"), "{body}");
    assert!(body.contains("<ExecuteChangeSetResult/>"), "{body}");

    let (_, body) = call(&cfn, &[("Action", "DescribeStackEvents"), ("StackName", "shop")]);
    assert_eq!(all_texts(&body, "ResourceStatus"), ["CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"]);
    assert_eq!(cfn.stack_status("shop").as_deref(), Some("CREATE_IN_PROGRESS"));
    std::thread::sleep(Duration::from_millis(800));
    let (_, body) = call(&cfn, &[("Action", "DescribeStackEvents"), ("StackName", "shop")]);
    assert_eq!(
        all_texts(&body, "ResourceStatus"),
        [
            "CREATE_COMPLETE",
            "CREATE_COMPLETE",
            "CREATE_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "REVIEW_IN_PROGRESS"
        ],
        "newest first: {body}"
    );
    assert_eq!(all_texts(&body, "LogicalResourceId"), ["shop", "Queue", "Queue", "shop", "shop"]);
    assert_eq!(all_texts(&body, "ResourceType")[1], "AWS::SQS::Queue");
    for tag in ["StackId", "EventId", "StackName", "PhysicalResourceId", "Timestamp"] {
        assert_eq!(all_texts(&body, tag).len(), 5, "{tag} in every event: {body}");
    }
    let times = all_texts(&body, "Timestamp");
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    let (_, again) = call(&cfn, &[("Action", "DescribeStackEvents"), ("StackName", "shop")]);
    assert_eq!(all_texts(&again, "EventId"), all_texts(&body, "EventId"), "ids are stable");

    let log = cfn.requests();
    assert_eq!(log.iter().filter(|r| r.served_terminal_event).count(), 1);
    assert_eq!(log.calls_after_terminal_event("DescribeStackEvents"), Some(1));
    let (_, body) = call(&cfn, &[("Action", "DescribeChangeSet"), ("ChangeSetName", &id)]);
    assert_eq!(text(&body, "ExecutionStatus"), Some("EXECUTE_COMPLETE"));
    let (_, body) = call(&cfn, &[("Action", "GetTemplate"), ("StackName", "shop")]);
    assert_eq!(text(&body, "TemplateBody").map(unescape).as_deref(), Some(TEMPLATE));
    let (_, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]);
    assert_eq!(text(&body, "StackStatus"), Some("CREATE_COMPLETE"));
    assert_eq!(text(&body, "ParameterKey"), Some("Env"));
}

#[test]
fn an_empty_change_set_fails_with_the_no_changes_reason() {
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack("shop", "UPDATE_COMPLETE", TEMPLATE)
            .no_changes()
            .change_set_delay(Duration::ZERO),
    );
    let (status, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let (_, body) = call(
        &cfn,
        &[("Action", "DescribeChangeSet"), ("ChangeSetName", "m2a-1"), ("StackName", "shop")],
    );
    assert_eq!(text(&body, "Status"), Some("FAILED"), "{body}");
    assert_eq!(text(&body, "StatusReason").map(unescape).as_deref(), Some(NO_CHANGES_REASON));
    assert!(body.contains("<Changes></Changes>"), "{body}");
    let (_, list) = call(&cfn, &[("Action", "ListChangeSets"), ("StackName", "shop")]);
    assert_eq!(all_texts(&list, "ChangeSetName"), ["m2a-1"], "{list}");
    let (status, body) = call(
        &cfn,
        &[("Action", "DeleteChangeSet"), ("ChangeSetName", "m2a-1"), ("StackName", "shop")],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<DeleteChangeSetResult/>"), "{body}");
    assert!(cfn.change_sets().is_empty());
    let (_, list) = call(&cfn, &[("Action", "ListChangeSets"), ("StackName", "shop")]);
    assert!(list.contains("<Summaries></Summaries>"), "{list}");
}

#[test]
fn a_replacement_is_spelled_out_in_the_change() {
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack("shop", "CREATE_COMPLETE", TEMPLATE)
            .changes(vec![
                Change::modify("DBDatabase", "AWS::RDS::DBInstance", Replacement::True)
                    .property("Engine"),
                Change::modify("Queue", "AWS::SQS::Queue", Replacement::Conditional),
                Change::remove("Topic", "AWS::SNS::Topic"),
            ])
            .change_set_delay(Duration::ZERO),
    );
    let (_, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("ChangeSetType", "UPDATE"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    let id = text(&body, "Id").expect("Id").to_string();
    let (_, body) = call(&cfn, &[("Action", "DescribeChangeSet"), ("ChangeSetName", &id)]);
    assert_eq!(all_texts(&body, "Action"), ["Modify", "Modify", "Remove"]);
    assert_eq!(all_texts(&body, "Replacement"), ["True", "Conditional"]);
    assert_eq!(all_texts(&body, "RequiresRecreation"), ["Always", "Conditionally"]);
    assert!(
        body.contains(
            "<ResourceChange><Action>Modify</Action><LogicalResourceId>DBDatabase</LogicalResourceId><PhysicalResourceId>"
        ),
        "{body}"
    );
    assert!(body.contains("<Name>Engine</Name>"), "{body}");
}

#[test]
fn a_stack_in_rollback_complete_cannot_be_updated_and_deleting_it_plays_the_deletion() {
    let cfn = ScriptedCfn::start(Scenario::default().existing_stack(
        "shop",
        "ROLLBACK_COMPLETE",
        TEMPLATE,
    ));
    let (status, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("ChangeSetType", "UPDATE"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        text(&body, "Message")
            .expect("Message")
            .ends_with("is in ROLLBACK_COMPLETE state and can not be updated."),
        "{body}"
    );
    let (status, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("ChangeSetType", "CREATE"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(text(&body, "Message").expect("msg").contains("already exists"), "{body}");

    let (_, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]);
    let id = text(&body, "StackId").expect("id").to_string();
    let (status, body) = call(&cfn, &[("Action", "DeleteStack"), ("StackName", "shop")]);
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<DeleteStackResponse"), "{body}");
    assert!(!body.contains("DeleteStackResult"), "{body}");
    assert_eq!(cfn.stack_status("shop").as_deref(), Some("DELETE_IN_PROGRESS"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(cfn.stack_status("shop"), None);
    let (status, _) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", "shop")]);
    assert_eq!(status, 400, "gone by name");
    let (status, body) = call(&cfn, &[("Action", "DescribeStacks"), ("StackName", &id)]);
    assert_eq!((status, text(&body, "StackStatus")), (200, Some("DELETE_COMPLETE")), "{body}");
    assert!(text(&body, "DeletionTime").is_some());
    // Then it can be created anew.
    let (status, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-2"),
            ("ChangeSetType", "CREATE"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_ne!(text(&body, "StackId"), Some(id.as_str()), "a new stack id");
}

#[test]
fn stack_events_come_in_pages_of_a_hundred() {
    let history: Vec<_> = (0..250).map(|_| stack_ev(0, "UPDATE_COMPLETE")).collect();
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack("shop", "UPDATE_COMPLETE", TEMPLATE)
            .with_history(history),
    );
    let (_, page1) = call(&cfn, &[("Action", "DescribeStackEvents"), ("StackName", "shop")]);
    assert_eq!(all_texts(&page1, "EventId").len(), 100);
    let token = text(&page1, "NextToken").expect("NextToken").to_string();
    let (_, page2) = call(
        &cfn,
        &[("Action", "DescribeStackEvents"), ("StackName", "shop"), ("NextToken", &token)],
    );
    let token = text(&page2, "NextToken").expect("NextToken").to_string();
    let (_, page3) = call(
        &cfn,
        &[("Action", "DescribeStackEvents"), ("StackName", "shop"), ("NextToken", &token)],
    );
    assert_eq!(all_texts(&page3, "EventId").len(), 50);
    assert_eq!(text(&page3, "NextToken"), None);
    let last_of_1 = *all_texts(&page1, "Timestamp").last().expect("t");
    let first_of_2 = all_texts(&page2, "Timestamp")[0];
    assert!(last_of_1 > first_of_2, "{last_of_1} then {first_of_2}");
}

#[test]
fn one_connection_carries_many_requests_and_chunked_bodies_are_read() {
    let cfn =
        ScriptedCfn::start(Scenario::default().existing_stack("shop", "CREATE_COMPLETE", TEMPLATE));
    let mut stream = connect(&cfn);
    let body = form(&[("Action", "DescribeStacks"), ("StackName", "shop")]);
    assert_eq!(post_on(&mut stream, &body).0, 200);
    let (half1, half2) = body.split_at(10);
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{half1}\r\n{:x}\r\n{half2}\r\n0\r\n\r\n",
        half1.len(),
        half2.len()
    )
    .expect("write chunked");
    let (status, xml) = read_response(&mut stream);
    assert_eq!((status, text(&xml, "StackStatus")), (200, Some("CREATE_COMPLETE")), "{xml}");
    assert_eq!(post_on(&mut stream, &form(&[("Action", "Nonsense")])).0, 400);
    let log = cfn.requests();
    assert_eq!(log.actions(), ["DescribeStacks", "DescribeStacks", "Nonsense"]);
    assert!(log[0].at <= log[1].at && log[1].at <= log[2].at);
}

#[test]
fn form_bodies_decode_percent_and_plus() {
    let form = parse_form("Action=CreateChangeSet&TemplateBody=%7B%22a%22%3A+1%7D&Empty=&Bare");
    assert_eq!(form["Action"], "CreateChangeSet");
    assert_eq!(form["TemplateBody"], "{\"a\": 1}");
    assert_eq!(form["Empty"], "");
    assert_eq!(form["Bare"], "");
    assert_eq!(parse_form("K=%E2%9C%93%zz")["K"], "✓%zz");
}

#[test]
fn dropping_the_endpoint_stops_it() {
    let cfn = ScriptedCfn::start(Scenario::default());
    let addr = cfn.url.strip_prefix("http://").expect("url").to_string();
    let mut open = connect(&cfn);
    drop(cfn);
    // The open connection is closed within the read timeout, and new ones find nobody.
    let mut buf = [0u8; 1];
    open.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    assert_eq!(open.read(&mut buf).expect("closed, not timed out"), 0);
    assert!(TcpStream::connect(&addr).is_err(), "still listening on {addr}");
}

#[test]
fn an_operation_under_way_at_the_start_finishes_on_its_own() {
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack("shop", "UPDATE_IN_PROGRESS", TEMPLATE)
            .under_way(vec![stack_ev(200, "UPDATE_COMPLETE")]),
    );
    let (_, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    assert!(
        text(&body, "Message")
            .is_some_and(|m| m.ends_with("is in UPDATE_IN_PROGRESS state and can not be updated.")),
        "{body}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cfn.stack_status("shop").as_deref(), Some("UPDATE_COMPLETE"));
    let (status, body) = call(
        &cfn,
        &[
            ("Action", "CreateChangeSet"),
            ("StackName", "shop"),
            ("ChangeSetName", "m2a-1"),
            ("TemplateBody", TEMPLATE),
        ],
    );
    assert_eq!(status, 200, "{body}");
}
