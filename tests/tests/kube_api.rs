//! The fake Kubernetes API server behaves like kube-apiserver where our
//! clients can tell: kubectl through a kubeconfig, and raw HTTP for lists,
//! pagination, watches and the faults tests inject.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::kube_api::{self, FakeApiServer, Options};
use e2e::wait::{self, PATIENCE};
use serde_json::{Value, json};

// ---------------------------------------------------------------- kubectl

/// kubectl from the PATH; its absence fails the test (these tests exist to
/// prove kubectl works against the fake).
fn kubectl_binary() -> PathBuf {
    let search = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&search)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("kubectl is not installed: these tests need it on the PATH"))
}

/// Runs kubectl against `server` with a fresh kubeconfig and discovery
/// cache in `dir`; returns stdout, failing the test on a non-zero exit.
fn kubectl(server: &FakeApiServer, dir: &Path, args: &[&str]) -> String {
    let kubeconfig = server.kubeconfig(dir);
    let output = Command::new(kubectl_binary())
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kubectl {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The whitespace-separated columns of the line of `table` whose columns
/// start with `first` (a name, or namespace and name).
fn row<'t>(table: &'t str, first: &[&str]) -> Vec<&'t str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|columns| columns.starts_with(first))
        .unwrap_or_else(|| panic!("no row for {first:?} in:\n{table}"))
}

// ---------------------------------------------------------------- raw HTTP

/// A complete response: status code and JSON body.
fn request(
    server: &FakeApiServer,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(server.address()).expect("connect");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.address(),
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .expect("send request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let text = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let code = head[9..12].parse().expect("a status code");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (code, json)
}

fn get(server: &FakeApiServer, path: &str) -> (u16, Value) {
    request(server, "GET", path, &[], None)
}

/// What comes next on a watch.
#[derive(Debug, PartialEq)]
enum Next {
    Event(Value),
    /// The terminating chunk: the server ended the watch cleanly.
    End,
    /// The connection closed without the terminating chunk.
    Cut,
}

/// A watch response read chunk by chunk, as a client library would.
struct Watch {
    reader: BufReader<TcpStream>,
    buffer: Vec<u8>,
    ended: bool,
}

impl Watch {
    fn open(server: &FakeApiServer, path: &str) -> Watch {
        Watch::open_with(server, path, &[])
    }

    fn open_with(server: &FakeApiServer, path: &str, headers: &[&str]) -> Watch {
        let mut stream = TcpStream::connect(server.address()).expect("connect");
        // A deadline, not a timing assertion: a missing event fails the test
        // instead of hanging it.
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", server.address());
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        stream
            .write_all(format!("{head}\r\n").as_bytes())
            .expect("send request");
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "watch {path}: {status}");
        let mut chunked = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            chunked |= lower.starts_with("transfer-encoding: chunked");
            if let Some(content_type) = lower.strip_prefix("content-type: ") {
                assert_eq!(content_type.trim(), "application/json");
            }
        }
        assert!(chunked, "a watch response is chunked");
        Watch {
            reader,
            buffer: Vec::new(),
            ended: false,
        }
    }

    /// The next event, or how the stream ended.
    fn next(&mut self) -> Next {
        loop {
            if let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=newline).collect();
                let event = serde_json::from_slice(&line).expect("each line is a JSON event");
                return Next::Event(event);
            }
            if self.ended {
                assert!(self.buffer.is_empty(), "a partial event at the end");
                return Next::End;
            }
            let mut size_line = String::new();
            match self.reader.read_line(&mut size_line) {
                Ok(0) => return Next::Cut,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Next::Cut,
                Err(e) => panic!("reading the watch: {e}"),
            }
            let size = usize::from_str_radix(size_line.trim(), 16)
                .unwrap_or_else(|_| panic!("a chunk size, not {size_line:?}"));
            let mut chunk = vec![0; size + 2];
            if self.reader.read_exact(&mut chunk).is_err() {
                return Next::Cut;
            }
            assert_eq!(&chunk[size..], b"\r\n", "chunk framing");
            chunk.truncate(size);
            self.ended = size == 0;
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// The next event, which must be one.
    fn event(&mut self) -> Value {
        match self.next() {
            Next::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next event other than a bookmark.
    fn change(&mut self) -> Value {
        loop {
            let event = self.event();
            if event["type"] != "BOOKMARK" {
                return event;
            }
        }
    }
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().expect("a name")
}

fn rv(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a resourceVersion in {object}"))
}

/// A server with bookmarks only on demand, so tests see exactly the
/// bookmarks they ask for.
fn quiet_server() -> FakeApiServer {
    FakeApiServer::start_with(Options {
        bookmark_interval: std::time::Duration::ZERO,
        ..Options::default()
    })
    .expect("the fake API server starts")
}

// ---------------------------------------------------------------- tests

#[test]
fn kubectl_prints_pods_nodes_and_deployments_from_the_kubeconfig() {
    let server = FakeApiServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    for ns in ["shop", "db"] {
        server.create(kube_api::namespace(ns));
    }
    server.create(kube_api::node("node-0"));
    let mut cordoned = kube_api::node("node-1");
    cordoned["spec"]["unschedulable"] = json!(true);
    server.create(cordoned);
    server.create(kube_api::pod("shop", "web-1"));
    let mut crashing = kube_api::pod("db", "postgres-0");
    crashing["status"]["containerStatuses"][1]["ready"] = json!(false);
    crashing["status"]["containerStatuses"][1]["restartCount"] = json!(4);
    crashing["status"]["containerStatuses"][1]["state"] =
        json!({"waiting": {"reason": "CrashLoopBackOff"}});
    server.create(crashing);
    server.create(kube_api::deployment("shop", "web", 3));

    let pods = kubectl(&server, dir.path(), &["get", "pods", "-A"]);
    assert_eq!(
        row(&pods, &["NAMESPACE"]),
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{pods}"
    );
    assert_eq!(
        row(&pods, &["shop", "web-1"])[2..5],
        ["3/3", "Running", "0"]
    );
    assert_eq!(
        row(&pods, &["db", "postgres-0"])[2..5],
        ["2/3", "CrashLoopBackOff", "4"]
    );

    let nodes = kubectl(&server, dir.path(), &["get", "nodes"]);
    assert_eq!(
        row(&nodes, &["node-0"])[1..3],
        ["Ready", "<none>"],
        "{nodes}"
    );
    assert_eq!(row(&nodes, &["node-1"])[1], "Ready,SchedulingDisabled");
    assert_eq!(row(&nodes, &["node-0"]).last(), Some(&"v1.34.0"));

    let deployments = kubectl(&server, dir.path(), &["get", "deployments", "-A"]);
    assert_eq!(
        row(&deployments, &["NAMESPACE"]),
        [
            "NAMESPACE",
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE"
        ],
        "{deployments}"
    );
    assert_eq!(row(&deployments, &["shop", "web"])[2..5], ["3/3", "3", "3"]);

    // Short names come from discovery; namespace scope and single GETs work.
    let in_shop = kubectl(
        &server,
        dir.path(),
        &["get", "po", "-n", "shop", "-o", "name"],
    );
    assert_eq!(in_shop.trim(), "pod/web-1");
    let one = kubectl(
        &server,
        dir.path(),
        &["get", "deploy", "web", "-n", "shop", "-o", "json"],
    );
    let one: Value = serde_json::from_str(&one).expect("kubectl prints JSON");
    assert_eq!(one["spec"]["replicas"], 3);
    assert!(server.get_requests("deployments") >= 1);
    let version = kubectl(&server, dir.path(), &["version", "-o", "json"]);
    let version: Value = serde_json::from_str(&version).expect("kubectl prints JSON");
    assert_eq!(
        version["serverVersion"]["gitVersion"],
        kube_api::GIT_VERSION
    );
}

#[test]
fn kubectl_raw_pagination_sees_every_object_once_at_one_snapshot() {
    let server = FakeApiServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut created = BTreeSet::new();
    for (ns, pod) in [
        ("a", "p1"),
        ("a", "p2"),
        ("b", "p1"),
        ("b", "p3"),
        ("c", "p0"),
        ("c", "p9"),
        ("d", "x"),
    ] {
        server.create(kube_api::pod(ns, pod));
        created.insert(format!("{ns}/{pod}"));
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut versions = BTreeSet::new();
    loop {
        let path = match &token {
            None => "/api/v1/pods?limit=2".to_owned(),
            Some(token) => format!("/api/v1/pods?limit=2&continue={token}"),
        };
        let page: Value =
            serde_json::from_str(&kubectl(&server, dir.path(), &["get", "--raw", &path]))
                .expect("a JSON list");
        assert_eq!(page["kind"], "PodList");
        assert_eq!(page["apiVersion"], "v1");
        versions.insert(page["metadata"]["resourceVersion"].to_string());
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2, "limit is honoured");
        for item in items {
            seen.push(format!(
                "{}/{}",
                item["metadata"]["namespace"].as_str().unwrap_or(""),
                name(item)
            ));
        }
        if seen.len() == 2 {
            // Writes after the first page do not leak into later pages: a
            // continued list reads the first page's snapshot.
            server.create(kube_api::pod("z", "late"));
            server.delete("pods", Some("d"), "x");
        }
        match page["metadata"]["continue"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no object twice: {seen:?}");
    assert_eq!(unique, created, "in (namespace, name) order: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(
        versions.len(),
        1,
        "every page has the first page's resourceVersion"
    );
}

#[test]
fn lists_filter_by_selector_and_scope_and_read_old_versions_exactly() {
    let server = quiet_server();
    let mut on_node_1 = kube_api::pod("shop", "web-1");
    on_node_1["spec"]["nodeName"] = json!("node-1");
    on_node_1["metadata"]["labels"]["tier"] = json!("front");
    server.create(on_node_1);
    server.create(kube_api::pod("shop", "web-2"));
    let before = server.create(kube_api::pod("db", "pg-0"));
    server.delete("pods", Some("shop"), "web-2");

    let names = |path: &str| -> Vec<String> {
        let (code, list) = get(&server, path);
        assert_eq!(code, 200, "{path}: {list}");
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| name(i).to_owned())
            .collect()
    };
    assert_eq!(names("/api/v1/pods"), ["pg-0", "web-1"]);
    assert_eq!(names("/api/v1/namespaces/shop/pods"), ["web-1"]);
    assert_eq!(names("/api/v1/pods?labelSelector=tier%3Dfront"), ["web-1"]);
    assert_eq!(
        names("/api/v1/pods?labelSelector=tier!%3Dfront,app"),
        ["pg-0"]
    );
    assert_eq!(
        names("/api/v1/pods?labelSelector=app%20in%20(pg-0,x)"),
        ["pg-0"]
    );
    assert_eq!(
        names("/api/v1/pods?fieldSelector=spec.nodeName%3D%3Dnode-1"),
        ["web-1"]
    );
    assert_eq!(
        names("/api/v1/pods?fieldSelector=metadata.namespace!%3Dshop"),
        ["pg-0"]
    );
    assert_eq!(
        names("/api/v1/pods?fieldSelector=metadata.name%3Dpg-0"),
        ["pg-0"]
    );
    assert_eq!(names("/api/v1/pods?resourceVersion=0"), ["pg-0", "web-1"]);
    assert_eq!(names("/api/v1/pods?resourceVersion="), ["pg-0", "web-1"]);
    let exact = format!(
        "/api/v1/pods?resourceVersion={}&resourceVersionMatch=Exact",
        rv(&before)
    );
    assert_eq!(
        names(&exact),
        ["pg-0", "web-1", "web-2"],
        "the state at that version"
    );

    let (code, list) = get(
        &server,
        "/api/v1/pods?resourceVersion=0&resourceVersionMatch=NotOlderThan",
    );
    assert_eq!(code, 200);
    assert_eq!(
        list["metadata"]["resourceVersion"],
        server.resource_version().to_string()
    );
    let (code, pod) = get(&server, "/api/v1/namespaces/db/pods/pg-0");
    assert_eq!(code, 200);
    assert_eq!(pod["metadata"]["uid"].as_str().map(str::len), Some(36));
    assert!(
        pod["metadata"]["creationTimestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    server.compact();
    let (code, status) = get(&server, &exact);
    assert_eq!(
        (code, status["reason"].as_str()),
        (410, Some("Expired")),
        "{status}"
    );
}

#[test]
fn continue_tokens_expire_with_compaction_and_garbage_is_rejected() {
    let server = quiet_server();
    for i in 0..5 {
        server.create(kube_api::pod("default", &format!("p{i}")));
    }
    let (_, first) = get(&server, "/api/v1/pods?limit=2");
    let token = first["metadata"]["continue"]
        .as_str()
        .expect("a continue token")
        .to_owned();
    server.compact();
    let (code, status) = get(&server, &format!("/api/v1/pods?limit=2&continue={token}"));
    assert_eq!(code, 410, "{status}");
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    // Like the real server, the 410 offers a token that continues from the
    // latest state instead.
    let fresh = status["metadata"]["continue"]
        .as_str()
        .expect("an inconsistent continue token");
    let (code, rest) = get(&server, &format!("/api/v1/pods?continue={fresh}"));
    assert_eq!(code, 200, "{rest}");
    let rest: Vec<&str> = rest["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(name)
        .collect();
    assert_eq!(rest, ["p2", "p3", "p4"]);

    let (code, status) = get(&server, "/api/v1/pods?limit=2&continue=not-a-token");
    assert_eq!(
        (code, status["reason"].as_str()),
        (400, Some("BadRequest")),
        "{status}"
    );
}

#[test]
fn watches_stream_adds_modifications_and_deletes_in_order() {
    let server = quiet_server();
    server.create(kube_api::pod("shop", "existing"));
    let (_, list) = get(&server, "/api/v1/namespaces/shop/pods");
    let from = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("a list version")
        .to_owned();
    let mut all = Watch::open(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={from}"),
    );
    let mut fronts = Watch::open(
        &server,
        "/api/v1/pods?watch=true&labelSelector=tier%3Dfront",
    );

    let mut pod = server.create(kube_api::pod("shop", "web"));
    server.create(kube_api::pod("elsewhere", "other"));
    pod["metadata"]["labels"]["tier"] = json!("front");
    let modified = server.update(pod);
    // Updates carry the version they replace (else 409, like the real server).
    let mut pod = modified.clone();
    pod["metadata"]["labels"]["tier"] = json!("back");
    server.update(pod);
    let deleted = server.delete("pods", Some("shop"), "web");

    let mut versions = Vec::new();
    for expected in ["ADDED", "MODIFIED", "MODIFIED", "DELETED"] {
        let event = all.change();
        assert_eq!(event["type"], expected, "{event}");
        assert_eq!(name(&event["object"]), "web", "namespace scoped: {event}");
        versions.push(rv(&event["object"]));
    }
    assert!(versions.is_sorted(), "{versions:?}");
    assert_eq!(versions.last(), Some(&rv(&deleted)));

    // Without a resourceVersion the watch starts with the current objects;
    // through a selector, objects move in and out as ADDED and DELETED.
    let event = fronts.change();
    assert_eq!(
        (event["type"].as_str(), rv(&event["object"])),
        (Some("ADDED"), rv(&modified))
    );
    let event = fronts.change();
    assert_eq!(event["type"], "DELETED");
    assert_eq!(event["object"]["metadata"]["labels"]["tier"], "back");
    assert_eq!(server.active_watches(Some("pods")), 2);
    assert_eq!(server.watch_requests("pods"), 2);
}

#[test]
fn streaming_lists_end_their_initial_events_with_a_bookmark() {
    let server = quiet_server();
    server.create(kube_api::node("node-b"));
    server.create(kube_api::node("node-a"));
    let mut watch = Watch::open(
        &server,
        "/api/v1/nodes?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
    );
    assert_eq!(name(&watch.event()["object"]), "node-a");
    assert_eq!(name(&watch.event()["object"]), "node-b");
    let end = watch.event();
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(end["object"]["kind"], "Node");
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(
        end["object"]["metadata"]["resourceVersion"],
        server.resource_version().to_string()
    );
}

#[test]
fn bookmarks_come_only_when_allowed() {
    let server = quiet_server();
    let current = server.resource_version();
    let mut with = Watch::open(
        &server,
        &format!(
            "/apis/apps/v1/deployments?watch=1&resourceVersion={current}&allowWatchBookmarks=true"
        ),
    );
    let mut without = Watch::open(
        &server,
        &format!("/apis/apps/v1/deployments?watch=1&resourceVersion={current}"),
    );
    wait::until(PATIENCE, "both watches to register", || {
        (server.active_watches(Some("deployments")) == 2).then_some(())
    });
    server.bookmark_now();
    let bookmark = with.event();
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(
        bookmark["object"],
        json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"resourceVersion": current.to_string()}})
    );
    server.create(kube_api::deployment("default", "api", 2));
    assert_eq!(without.event()["type"], "ADDED", "no bookmark came first");

    // The periodic ones, from a server with the default interval.
    let ticking = FakeApiServer::start();
    let mut watch = Watch::open(
        &ticking,
        "/api/v1/pods?watch=1&resourceVersion=1&allowWatchBookmarks=1",
    );
    assert_eq!(watch.event()["type"], "BOOKMARK");
}

#[test]
fn a_compacted_resource_version_gets_one_410_error_event() {
    let server = quiet_server();
    let old = server.resource_version();
    server.create(kube_api::pod("default", "p"));
    server.compact();
    let mut watch = Watch::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={old}&allowWatchBookmarks=true"),
    );
    let error = watch.event();
    assert_eq!(error["type"], "ERROR");
    let status = &error["object"];
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    let message = format!(
        "too old resource version: {old} ({})",
        server.resource_version()
    );
    assert_eq!(status["message"], message);
    assert_eq!(
        watch.next(),
        Next::End,
        "the stream ends cleanly after the error"
    );

    // From the current version a watch works.
    let now = server.resource_version();
    let mut watch = Watch::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={now}"),
    );
    server.create(kube_api::pod("default", "q"));
    assert_eq!(name(&watch.change()["object"]), "q");
}

#[test]
fn timeouts_end_watches_cleanly() {
    let server = quiet_server();
    let mut watch = Watch::open(&server, "/api/v1/pods?watch=1&timeoutSeconds=1");
    assert_eq!(watch.next(), Next::End);
    wait::until(PATIENCE, "the watch to be forgotten", || {
        (server.active_watches(None) == 0).then_some(())
    });
}

#[test]
fn dropped_watches_are_cut_without_the_terminating_chunk() {
    let server = quiet_server();
    let mut pods = Watch::open(&server, "/api/v1/pods?watch=1");
    let mut nodes = Watch::open(&server, "/api/v1/nodes?watch=1&allowWatchBookmarks=true");
    wait::until(PATIENCE, "both watches to register", || {
        (server.active_watches(None) == 2).then_some(())
    });
    server.drop_watches();
    assert_eq!(pods.next(), Next::Cut);
    assert_eq!(nodes.next(), Next::Cut);
    wait::until(PATIENCE, "the cut watches to be forgotten", || {
        (server.active_watches(None) == 0).then_some(())
    });
}

#[test]
fn a_restarted_server_keeps_its_state_and_port() {
    let server = quiet_server();
    let dir = tempfile::tempdir().expect("temp dir");
    server.create(kube_api::pod("default", "before"));
    let mut watch = Watch::open(&server, "/api/v1/pods?watch=1");
    let first = watch.change();
    let seen = rv(&first["object"]);

    server.stop();
    assert!(!server.is_running());
    assert_eq!(watch.next(), Next::Cut, "stopping closes open connections");
    assert!(
        TcpStream::connect(server.address()).is_err(),
        "nothing listens while stopped"
    );
    server.create(kube_api::pod("default", "while-down"));
    server.restart();
    assert!(server.is_running());

    // A client resuming from the last version it saw misses nothing.
    let mut resumed = Watch::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={seen}"),
    );
    assert_eq!(name(&resumed.change()["object"]), "while-down");
    server.create(kube_api::pod("default", "after"));
    assert_eq!(name(&resumed.change()["object"]), "after");
    let pods = kubectl(&server, dir.path(), &["get", "pods", "-o", "name"]);
    assert_eq!(
        pods.lines().collect::<Vec<_>>(),
        ["pod/after", "pod/before", "pod/while-down"]
    );
}

#[test]
fn errors_are_status_objects_like_the_real_servers() {
    let server = quiet_server();
    let check = |path: &str, code: u16, reason: &str| {
        let (got, status) = get(&server, path);
        assert_eq!(got, code, "{path}: {status}");
        assert_eq!(status["kind"], "Status", "{path}: {status}");
        assert_eq!(status["apiVersion"], "v1");
        assert_eq!(status["reason"], reason, "{path}: {status}");
        assert_eq!(status["code"], code);
        status
    };
    check("/apis/nope/v1/things", 404, "NotFound");
    check("/api/v1/secrets", 404, "NotFound");
    check("/api/v1/pods/loose", 404, "NotFound");
    let missing = check("/api/v1/namespaces/default/pods/ghost", 404, "NotFound");
    assert_eq!(missing["message"], "pods \"ghost\" not found");
    let missing = check(
        "/apis/apps/v1/namespaces/default/deployments/ghost",
        404,
        "NotFound",
    );
    assert_eq!(missing["message"], "deployments.apps \"ghost\" not found");
    check("/api/v1/pods?limit=many", 400, "BadRequest");
    check("/api/v1/pods?watch=maybe", 400, "BadRequest");
    check("/api/v1/pods?labelSelector=a%20b%20c", 400, "BadRequest");
    check(
        "/api/v1/pods?fieldSelector=spec.secret%3Dx",
        400,
        "BadRequest",
    );
    check(
        "/api/v1/pods?resourceVersionMatch=NotOlderThan",
        422,
        "Invalid",
    );
    check(
        "/api/v1/pods?resourceVersion=1&resourceVersionMatch=Sometime",
        422,
        "Invalid",
    );
    check(
        "/api/v1/pods?watch=1&resourceVersionMatch=NotOlderThan",
        422,
        "Invalid",
    );
    check("/api/v1/pods?resourceVersion=999999", 504, "Timeout");

    let lists_before = server.list_requests("pods");
    server.fail_lists("pods", Some(403));
    let forbidden = check("/api/v1/pods", 403, "Forbidden");
    assert!(
        forbidden["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot list resource \"pods\""))
    );
    server.fail_lists("pods", Some(500));
    check("/api/v1/namespaces/default/pods", 500, "InternalError");
    server.fail_lists("pods", None);
    assert_eq!(get(&server, "/api/v1/pods").0, 200);
    assert_eq!(
        server.list_requests("pods") - lists_before,
        3,
        "failed lists count too"
    );

    let (code, status) = request(
        &server,
        "GET",
        "/api/v1/pods",
        &["Authorization: Bearer wrong"],
        None,
    );
    assert_eq!(
        (code, status["reason"].as_str()),
        (401, Some("Unauthorized"))
    );
    let good = format!("Authorization: Bearer {}", server.token());
    assert_eq!(
        request(&server, "GET", "/api/v1/pods", &[&good], None).0,
        200
    );
}

#[test]
fn content_negotiation_answers_json_tables_or_metadata() {
    let server = quiet_server();
    server.create(kube_api::pod("default", "web"));
    let protobuf_first = "Accept: application/vnd.kubernetes.protobuf, application/json";
    let (code, list) = request(&server, "GET", "/api/v1/pods", &[protobuf_first], None);
    assert_eq!((code, list["kind"].as_str()), (200, Some("PodList")));
    let protobuf_only = "Accept: application/vnd.kubernetes.protobuf";
    let (code, status) = request(&server, "GET", "/api/v1/pods", &[protobuf_only], None);
    assert_eq!(
        (code, status["reason"].as_str()),
        (406, Some("NotAcceptable"))
    );

    let table = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (_, list) = request(&server, "GET", "/api/v1/pods", &[table], None);
    assert_eq!(list["kind"], "Table");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(list["columnDefinitions"][0]["name"], "Name");
    assert_eq!(list["rows"][0]["cells"][0], "web");
    assert_eq!(list["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(
        list["rows"][0]["object"]["metadata"]["namespace"],
        "default"
    );

    let metadata = "Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let (_, list) = request(&server, "GET", "/api/v1/pods", &[metadata], None);
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["items"][0]["metadata"]["name"], "web");
    assert!(list["items"][0].get("spec").is_none());

    let mut watch = Watch::open_with(&server, "/api/v1/pods?watch=1", &[table]);
    let event = watch.event();
    assert_eq!(
        (event["type"].as_str(), event["object"]["kind"].as_str()),
        (Some("ADDED"), Some("Table"))
    );

    let (code, discovery) = request(
        &server,
        "GET",
        "/apis",
        &[
            "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        ],
        None,
    );
    assert_eq!(
        (code, discovery["kind"].as_str()),
        (200, Some("APIGroupList"))
    );
    let (_, core) = get(&server, "/api/v1");
    let pods = core["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "pods");
    assert_eq!(pods.map(|p| p["shortNames"].clone()), Some(json!(["po"])));
}

#[test]
fn http_writes_create_update_and_delete() {
    let server = quiet_server();
    let write =
        |method: &str, path: &str, body: &Value| request(&server, method, path, &[], Some(body));
    let pods = "/api/v1/namespaces/team/pods";
    let mut watch = Watch::open(&server, &format!("{pods}?watch=1"));
    let (code, created) = write("POST", pods, &kube_api::pod("team", "api"));
    assert_eq!(code, 201, "{created}");
    let (code, status) = write("POST", pods, &kube_api::pod("team", "api"));
    assert_eq!(
        (code, status["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    let bad_metadata = json!({"apiVersion": "v1", "kind": "Pod", "metadata": "x"});
    for garbage in [
        json!("not an object"),
        bad_metadata.clone(),
        json!({"apiVersion": "v1", "kind": "Node"}),
    ] {
        let (code, status) = write("POST", pods, &garbage);
        assert_eq!(
            (code, status["reason"].as_str()),
            (400, Some("BadRequest")),
            "{garbage}"
        );
    }
    assert_eq!(write("PUT", &format!("{pods}/api"), &bad_metadata).0, 400);

    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let (code, status) = write("PUT", &format!("{pods}/api"), &stale);
    assert_eq!((code, status["reason"].as_str()), (409, Some("Conflict")));
    let mut changed = created.clone();
    changed["metadata"]["labels"]["v"] = json!("2");
    let (code, updated) = write("PUT", &format!("{pods}/api"), &changed);
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    let (code, _) = request(&server, "DELETE", &format!("{pods}/api"), &[], None);
    assert_eq!(code, 200);

    let types: Vec<Value> = (0..3).map(|_| watch.change()["type"].clone()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    assert!(server.get("pods", Some("team"), "api").is_none());
}
