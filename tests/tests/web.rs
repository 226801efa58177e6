//! The shared web layer, tested through real binaries over real sockets:
//! routing, negotiation, TLS, client certificates, basic auth, live reload of
//! the web config, request limits, slow clients, start-up errors and graceful
//! shutdown.

use std::path::{Path, PathBuf};

use e2e::http::{self, Tls};
use e2e::pki::TestCa;
use e2e::process::{Running, run_to_exit};
use e2e::wait::{self, PATIENCE};
use exporter_kit::exposition::parse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn node_exporter(args: &[&str]) -> Running {
    let mut all = vec!["--web.listen-address=127.0.0.1:0"];
    all.extend_from_slice(args);
    Running::start(&e2e::binary::path("node-exporter"), &all, &[], 1)
}

fn gated_exporter(args: &[&str]) -> Running {
    Running::start(
        Path::new(env!("CARGO_BIN_EXE_gated-exporter")),
        args,
        &[],
        1,
    )
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    // Write-then-rename, as config management does, so a reader never sees
    // half a file.
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, content).expect("write file");
    std::fs::rename(&partial, &path).expect("rename file");
    path
}

#[tokio::test]
async fn serves_metrics_landing_page_probes_and_http_errors() {
    let exporter = node_exporter(&[]);
    let addr = exporter.addr();

    let landing = http::get(addr, "/").await.unwrap();
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        landing.text().contains("<a href=\"/metrics\">"),
        "{}",
        landing.text()
    );

    let metrics = http::get(addr, "/metrics").await.unwrap();
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = metrics.text();
    for family in [
        "node_exporter_build_info{revision=",
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_virtual_memory_bytes ",
        "process_open_fds ",
        "process_max_fds ",
        "process_start_time_seconds ",
        "promhttp_metric_handler_requests_total{code=\"200\"} ",
        "promhttp_metric_handler_request_duration_seconds_bucket{le=\"+Inf\"} ",
        "promhttp_metric_handler_errors_total{cause=\"encoding\"} 0\n",
        "promhttp_metric_handler_errors_total{cause=\"gathering\"} 0\n",
    ] {
        assert!(text.contains(family), "missing {family:?} in:\n{text}");
    }
    let parsed = parse(&text).expect("the output parses");
    assert!(parsed.families().len() >= 9);

    let head = http::send(addr, None, "HEAD", "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(
        length > 1000,
        "HEAD announces the GET body length, got {length}"
    );

    let post = http::send(addr, None, "POST", "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(http::get(addr, "/nope").await.unwrap().status, 404);
    assert_eq!(http::get(addr, "/healthz").await.unwrap().status, 200);
    assert_eq!(http::get(addr, "/livez").await.unwrap().status, 200);
    assert_eq!(http::get(addr, "/readyz").await.unwrap().status, 200);

    // The counter saw the earlier scrapes (GET and HEAD).
    let again = http::get(addr, "/metrics").await.unwrap().text();
    assert!(
        again.contains("promhttp_metric_handler_requests_total{code=\"200\"} 2\n"),
        "{again}"
    );
}

/// node_exporter's netclass netlink counters share seven names (as gauges)
/// with netdev's counters: the registry refuses the second family of each
/// name, and promhttp counts one gathering error per scrape, as we must.
#[tokio::test]
async fn gathering_errors_are_counted_once_per_scrape() {
    let exporter = node_exporter(&[
        "--collector.disable-defaults",
        "--collector.netdev",
        "--collector.netclass",
        "--collector.netclass.netlink",
        "--collector.netclass_rtnl.with-stats",
    ]);
    let addr = exporter.addr();
    for scrape in 0..3 {
        let text = http::get(addr, "/metrics").await.unwrap().text();
        let expected =
            format!("promhttp_metric_handler_errors_total{{cause=\"gathering\"}} {scrape}\n");
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
        assert!(text.contains("promhttp_metric_handler_errors_total{cause=\"encoding\"} 0\n"));
    }
}

#[tokio::test]
async fn negotiates_gzip_and_openmetrics() {
    let exporter = node_exporter(&[]);
    let addr = exporter.addr();

    let gzipped = http::send(
        addr,
        None,
        "GET",
        "/metrics",
        &[("accept-encoding", "gzip")],
    )
    .await
    .unwrap();
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(&gzipped.body[..2], b"\x1f\x8b", "gzip magic");
    parse(&gzipped.text()).expect("decompressed output parses");

    let refused = http::send(
        addr,
        None,
        "GET",
        "/metrics",
        &[("accept-encoding", "gzip;q=0")],
    )
    .await
    .unwrap();
    assert_eq!(refused.header("content-encoding"), None);

    let prometheus_accept = "application/openmetrics-text;version=1.0.0;q=0.5,\
        application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let openmetrics = http::send(
        addr,
        None,
        "GET",
        "/metrics",
        &[("accept", prometheus_accept)],
    )
    .await
    .unwrap();
    assert_eq!(
        openmetrics.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = openmetrics.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE process_cpu_seconds counter\n"),
        "{text}"
    );
    assert!(text.contains("\nprocess_cpu_seconds_total "), "{text}");
    assert!(
        text.contains("node_exporter_build_info{") && text.contains("} 1.0\n"),
        "{text}"
    );
}

#[tokio::test]
async fn telemetry_path_listen_addresses_and_environment() {
    let binary = e2e::binary::path("node-exporter");
    // Two listeners, IPv4 and IPv6, both serving.
    let exporter = Running::start(
        &binary,
        &[
            "--web.listen-address=127.0.0.1:0",
            "--web.listen-address=[::1]:0",
            "--web.telemetry-path=/custom",
        ],
        &[],
        2,
    );
    assert!(exporter.addresses[1].is_ipv6());
    for addr in &exporter.addresses {
        assert_eq!(http::get(*addr, "/custom").await.unwrap().status, 200);
        assert_eq!(http::get(*addr, "/metrics").await.unwrap().status, 404);
    }

    // Every flag can come from the environment.
    let from_env = Running::start(
        &binary,
        &[],
        &[
            ("NODE_EXPORTER_WEB_LISTEN_ADDRESS", "127.0.0.1:0"),
            ("NODE_EXPORTER_WEB_TELEMETRY_PATH", "/from-env"),
            ("NODE_EXPORTER_WEB_DISABLE_EXPORTER_METRICS", "true"),
        ],
        1,
    );
    let response = http::get(from_env.addr(), "/from-env").await.unwrap();
    assert_eq!(response.status, 200);
    assert!(!response.text().contains("process_"), "{}", response.text());
}

#[tokio::test]
async fn tls_with_a_test_ca_and_live_certificate_rotation() {
    let dir = temp_dir();
    let ca = TestCa::new("test CA");
    let first = ca.server("first");
    write(dir.path(), "server.crt", &first.cert_pem);
    write(dir.path(), "server.key", &first.key_pem);
    let config = write(
        dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let exporter = node_exporter(&[&format!("--web.config.file={}", config.display())]);
    let addr = exporter.addr();
    let tls = Tls::new(&ca.cert_pem(), None);

    let response = http::send(addr, Some(&tls), "GET", "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert!(response.text().contains("node_exporter_build_info"));
    // Plain HTTP to a TLS listener gets no HTTP answer.
    assert!(http::get(addr, "/metrics").await.is_err());
    // A client that does not trust the CA refuses the server.
    let stranger = Tls::new(&TestCa::new("other CA").cert_pem(), None);
    assert!(
        http::send(addr, Some(&stranger), "GET", "/metrics", &[])
            .await
            .is_err()
    );

    let first_der = http::server_certificate(addr, &tls).await.unwrap();
    let second = ca.server("second");
    write(dir.path(), "server.key", &second.key_pem);
    write(dir.path(), "server.crt", &second.cert_pem);
    wait::until_async(PATIENCE, "the rotated certificate", || async {
        let der = http::server_certificate(addr, &tls).await.ok()?;
        (der != first_der).then_some(())
    })
    .await;
    let response = http::send(addr, Some(&tls), "GET", "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn client_certificates_are_required_and_verified() {
    let dir = temp_dir();
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("client CA");
    let server = server_ca.server("exporter");
    write(dir.path(), "server.crt", &server.cert_pem);
    write(dir.path(), "server.key", &server.key_pem);
    write(dir.path(), "clients.crt", &client_ca.cert_pem());
    let config = write(
        dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.crt\n",
    );
    let exporter = node_exporter(&[&format!("--web.config.file={}", config.display())]);
    let addr = exporter.addr();

    let prometheus = client_ca.client("prometheus");
    let with_cert = Tls::new(
        &server_ca.cert_pem(),
        Some((&prometheus.cert_pem, &prometheus.key_pem)),
    );
    let response = http::send(addr, Some(&with_cert), "GET", "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(response.status, 200);

    let without_cert = Tls::new(&server_ca.cert_pem(), None);
    assert!(
        http::send(addr, Some(&without_cert), "GET", "/metrics", &[])
            .await
            .is_err()
    );

    // A certificate from another CA is refused too.
    let impostor = server_ca.client("impostor");
    let wrong_ca = Tls::new(
        &server_ca.cert_pem(),
        Some((&impostor.cert_pem, &impostor.key_pem)),
    );
    assert!(
        http::send(addr, Some(&wrong_ca), "GET", "/metrics", &[])
            .await
            .is_err()
    );
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[tokio::test]
async fn basic_auth_and_its_live_reload() {
    let dir = temp_dir();
    let users = |password: &str| {
        let hash = bcrypt::hash(password, 4).unwrap();
        format!(
            "basic_auth_users:\n  alice: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        )
    };
    let config = write(dir.path(), "web.yml", &users("first-password"));
    let exporter = node_exporter(&[&format!("--web.config.file={}", config.display())]);
    let addr = exporter.addr();
    let scrape = |authorization: Option<String>| async move {
        let headers: Vec<(&str, &str)> = authorization
            .as_deref()
            .map(|value| vec![("authorization", value)])
            .unwrap_or_default();
        http::send(addr, None, "GET", "/metrics", &headers)
            .await
            .unwrap()
    };

    let ok = scrape(Some(basic("alice", "first-password"))).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-frame-options"), Some("deny"));
    for refused in [
        scrape(Some(basic("alice", "wrong"))).await,
        scrape(Some(basic("mallory", "first-password"))).await,
        scrape(None).await,
    ] {
        assert_eq!(refused.status, 401);
        assert_eq!(refused.header("www-authenticate"), Some("Basic"));
    }
    // Probes need no credentials.
    assert_eq!(http::get(addr, "/healthz").await.unwrap().status, 200);
    assert_eq!(http::get(addr, "/livez").await.unwrap().status, 200);

    write(dir.path(), "web.yml", &users("second-password"));
    wait::until_async(PATIENCE, "the new password to be accepted", || async {
        (scrape(Some(basic("alice", "second-password"))).await.status == 200).then_some(())
    })
    .await;
    assert_eq!(
        scrape(Some(basic("alice", "first-password"))).await.status,
        401
    );

    // A broken edit is reported and the last good config stays in force.
    write(dir.path(), "web.yml", "basic_auth_users: [not, a, map\n");
    wait::until_async(PATIENCE, "the reload error", || async {
        // The file is looked at when requests arrive.
        assert_eq!(
            scrape(Some(basic("alice", "second-password"))).await.status,
            200
        );
        exporter
            .log()
            .iter()
            .any(|l| l.contains("level=ERROR") && l.contains("Keeping the previous web config"))
            .then_some(())
    })
    .await;
}

#[test]
fn invalid_web_configs_fail_start_up_with_one_line() {
    let dir = temp_dir();
    let binary = e2e::binary::path("node-exporter");
    let cases = [
        (
            "syntax.yml",
            "tls_server_config: [unclosed\n",
            "invalid YAML",
        ),
        (
            "unknown.yml",
            "tls_server_config:\n  certfile: x\n",
            "unknown field `certfile`",
        ),
        (
            "missing.yml",
            "tls_server_config:\n  cert_file: absent.crt\n  key_file: absent.key\n",
            "absent.crt",
        ),
        (
            "auth.yml",
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n",
            "client_auth_type",
        ),
    ];
    for (name, content, expected) in cases {
        let path = write(dir.path(), name, content);
        let flag = format!("--web.config.file={}", path.display());
        let (status, stderr) = run_to_exit(&binary, &["--web.listen-address=127.0.0.1:0", &flag]);
        assert_eq!(status.code(), Some(1), "{name}: {stderr}");
        let errors: Vec<_> = stderr
            .lines()
            .filter(|l| !l.contains("level=INFO"))
            .collect();
        assert_eq!(errors.len(), 1, "{name}: one line expected, got {stderr}");
        assert!(
            errors[0].starts_with("node-exporter: --web.config.file="),
            "{}",
            errors[0]
        );
        assert!(errors[0].contains(expected), "{name}: {}", errors[0]);
    }

    let (status, stderr) = run_to_exit(&binary, &["--web.config.file=/nonexistent/web.yml"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("/nonexistent/web.yml: cannot read"),
        "{stderr}"
    );

    let (status, stderr) = run_to_exit(&binary, &["--web.max-requests=lots"]);
    assert_eq!(status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--web.max-requests"), "{stderr}");

    let (status, stderr) = run_to_exit(&binary, &["--no-such-flag"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("--no-such-flag"), "{stderr}");

    let (status, stderr) = run_to_exit(&binary, &["--web.listen-address=256.0.0.1:1"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("--web.listen-address=256.0.0.1:1"),
        "{stderr}"
    );
}

/// Starts a scrape that waits at `gate` and returns once the exporter has
/// entered it.
async fn held_scrape(
    addr: std::net::SocketAddr,
    gate: &Path,
) -> tokio::task::JoinHandle<http::Response> {
    let path = format!("/metrics?hold={}", gate.display());
    let task = tokio::spawn(async move { http::get(addr, &path).await.unwrap() });
    let entered = gate.with_extension("entered");
    wait::until_async(PATIENCE, "the scrape to reach the gate", || async {
        entered.exists().then_some(())
    })
    .await;
    task
}

#[tokio::test]
async fn max_requests_turns_away_excess_scrapes_with_503() {
    let dir = temp_dir();
    let exporter = gated_exporter(&["--web.max-requests=2"]);
    let addr = exporter.addr();
    let gate = dir.path().join("gate");
    let first = held_scrape(addr, &dir.path().join("gate")).await;
    let second = held_scrape(addr, &dir.path().join("gate2")).await;

    let third = http::get(addr, "/metrics").await.unwrap();
    assert_eq!(third.status, 503);
    assert!(
        third
            .text()
            .contains("Limit of concurrent requests reached (2)"),
        "{}",
        third.text()
    );

    std::fs::write(&gate, b"").unwrap();
    std::fs::write(dir.path().join("gate2"), b"").unwrap();
    for held in [first, second] {
        let response = held.await.unwrap();
        assert_eq!(response.status, 200);
        assert!(response.text().contains("gated_exporter_released 1"));
    }
    let after = http::get(addr, "/metrics").await.unwrap().text();
    assert!(
        after.contains("promhttp_metric_handler_requests_total{code=\"503\"} 1\n"),
        "{after}"
    );
    assert!(
        after.contains("promhttp_metric_handler_requests_total{code=\"200\"} 2\n"),
        "{after}"
    );
}

#[tokio::test]
async fn sigterm_lets_the_scrape_in_flight_finish_then_exits_zero() {
    let dir = temp_dir();
    let mut exporter = gated_exporter(&[]);
    let addr = exporter.addr();
    let gate = dir.path().join("gate");
    let held = held_scrape(addr, &gate).await;

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exporter.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    exporter.wait_for_log(PATIENCE, "the shutdown to begin", |lines| {
        lines
            .iter()
            .any(|l| l.contains("Shutting down"))
            .then_some(())
    });
    assert!(exporter.is_running(), "must wait for the scrape in flight");
    // No new connections once shutting down.
    wait::until_async(PATIENCE, "the listener to close", || async {
        tokio::net::TcpStream::connect(addr)
            .await
            .is_err()
            .then_some(())
    })
    .await;

    std::fs::write(&gate, b"").unwrap();
    let response = held.await.unwrap();
    assert_eq!(response.status, 200);
    assert!(response.text().contains("gated_exporter_released 1"));
    let status = exporter.wait_exit(PATIENCE);
    assert_eq!(status.code(), Some(0), "{:?}", exporter.log());
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off() {
    let exporter = node_exporter(&["--web.header-timeout=1s"]);
    let addr = exporter.addr();

    // A slowloris: a request head that never completes.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // An idle keep-alive connection after one full request.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    // Others are served meanwhile.
    assert_eq!(http::get(addr, "/metrics").await.unwrap().status, 200);

    for (name, stream) in [("slow", &mut slow), ("idle", &mut idle)] {
        let closed = tokio::time::timeout(PATIENCE, async {
            let mut buffer = [0u8; 4096];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the {name} connection was not closed");
    }
}

#[tokio::test]
async fn bad_requests_never_take_the_server_down() {
    let exporter = node_exporter(&[]);
    let addr = exporter.addr();
    let garbage: [&[u8]; 5] = [
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /%ZZ?collect[]=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: \xff\xfe;q=NaN\r\nX-Prometheus-Scrape-Timeout-Seconds: -inf\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ];
    for request in garbage {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        // Half-close: the server answers (or not) and closes its side.
        stream.shutdown().await.unwrap();
        let mut reply = Vec::new();
        let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut reply)).await;
        assert!(read.is_ok(), "the server did not close after {request:?}");
    }
    let huge_header = "x".repeat(1 << 20);
    let _ = http::send(addr, None, "GET", "/metrics", &[("x-huge", &huge_header)]).await;
    assert_eq!(http::get(addr, "/metrics").await.unwrap().status, 200);
}
