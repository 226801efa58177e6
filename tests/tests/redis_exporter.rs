//! redis-exporter against real redis-server processes on free ports.

use std::process::Command;

use e2e::bench::free_port;
use e2e::http;
use e2e::process::Running;
use e2e::redis::{Redis, go_exporter};
use e2e::wait::{self, PATIENCE};
use exporter_kit::exposition::{MetricType, Value};

fn exporter(address: &str, extra: &[&str]) -> Running {
    let mut args = vec![
        "--web.listen-address=127.0.0.1:0".to_owned(),
        format!("--redis.addr={address}"),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Running::start(&e2e::binary::path("redis-exporter"), &args, &[], 1)
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_standalone_instance_with_data_and_traffic() {
    let redis = Redis::start(&[]);
    for i in 0..5 {
        redis.cli(&["set", &format!("key{i}"), "value"]);
    }
    redis.cli(&["set", "expiring", "1", "EX", "1000"]);
    redis.cli(&["get", "key0"]);
    redis.cli(&["select", "3"]);
    let exporter = exporter(&redis.address(), &[]);
    let text = http::get(exporter.addr(), "/metrics").await.unwrap().text();

    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "redis_exporter_last_scrape_error{err=\"\"}"),
        Some(0.0)
    );
    assert_eq!(value(&text, "redis_db_keys{db=\"db0\"}"), Some(6.0));
    assert_eq!(
        value(&text, "redis_db_keys_expiring{db=\"db0\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "redis_db_keys{db=\"db15\"}"),
        Some(0.0),
        "empty databases are reported"
    );
    assert!(value(&text, "redis_commands_total{cmd=\"set\"}").unwrap() >= 6.0);
    let set_calls = value(&text, "redis_commands_total{cmd=\"set\"}");
    assert_eq!(
        value(&text, "redis_commands_latencies_usec_count{cmd=\"set\"}"),
        set_calls,
        "LATENCY HISTOGRAM counts every SET: {text}"
    );
    assert!(
        text.contains("redis_commands_latencies_usec_bucket{cmd=\"set\",le=\"+Inf\"}"),
        "{text}"
    );
    assert!(value(&text, "redis_connected_clients").unwrap() >= 1.0);
    assert!(value(&text, "redis_memory_used_bytes").unwrap() > 0.0);
    assert!(text.contains("redis_instance_info{"), "{text}");
    assert!(
        text.contains("# TYPE redis_keyspace_hits_total counter"),
        "{text}"
    );

    let verdict =
        e2e::tools::promtool_check_metrics(&text).unwrap_or_else(|e| panic!("promtool: {e}"));
    let unexpected: Vec<_> = verdict
        .lint
        .iter()
        .filter(|f| !e2e::tools::inherited_lint(f))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
}

#[tokio::test]
async fn passwords_are_used_and_never_shown() {
    let redis = Redis::start(&["--requirepass", "s3cret-pass"]);
    let right = exporter(&redis.address(), &["--redis.password=s3cret-pass"]);
    let text = http::get(right.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");

    let wrong = exporter(&redis.address(), &["--redis.password=wrong-pass"]);
    let text = http::get(wrong.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(
        !text.contains("wrong-pass") && !text.contains("s3cret-pass"),
        "{text}"
    );
    assert!(!wrong.log().iter().any(|l| l.contains("wrong-pass")));
}

#[tokio::test]
async fn redis_down_or_frozen_gives_up_zero_quickly() {
    // Nothing listens on this port.
    let port = free_port();
    let down = exporter(&format!("redis://127.0.0.1:{port}"), &[]);
    let response = http::get(down.addr(), "/metrics").await.unwrap();
    assert_eq!(response.status, 200);
    let text = response.text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(
        text.contains("redis_exporter_last_scrape_error{err=\"dial redis:"),
        "{text}"
    );

    // A Redis that accepts connections and never answers: the scrape's own
    // deadline, not the 15 s connection timeout, bounds it.
    let redis = Redis::start(&[]);
    let frozen = exporter(&redis.address(), &[]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(redis.pid() as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let response = http::send(
        frozen.addr(),
        None,
        "GET",
        "/metrics",
        &[("x-prometheus-scrape-timeout-seconds", "1")],
    )
    .await
    .unwrap();
    let text = response.text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(text.contains("did not answer in time"), "{text}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(redis.pid() as i32),
        nix::sys::signal::Signal::SIGCONT,
    )
    .unwrap();
    let text = http::get(frozen.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "recovers: {text}");
}

/// Families whose type changed after 1.45.
const TYPE_CHANGED: &[(&str, &str)] = &[(
    "redis_expired_time_cap_reached_total",
    "a gauge in 1.45; current releases map it only as a counter",
)];

/// Labels added after 1.45: (family, label).
const LABELS_ADDED: &[(&str, &str)] = &[("redis_instance_info", "master_replid")];

#[tokio::test]
async fn every_family_of_debians_redis_exporter_is_here() {
    let redis = Redis::start(&[]);
    redis.cli(&["set", "a", "1"]);
    redis.cli(&["set", "b", "2", "EX", "100"]);
    let go = go_exporter(&redis.address());
    let ours = exporter(&redis.address(), &[]);
    let go_text = http::get(go.addr(), "/metrics").await.unwrap().text();
    let our_text = http::get(ours.addr(), "/metrics").await.unwrap().text();
    let go_after_text = http::get(go.addr(), "/metrics").await.unwrap().text();
    let go_set = exporter_kit::exposition::parse(&go_text).unwrap();
    let our_set = exporter_kit::exposition::parse(&our_text).unwrap();
    let mut problems = Vec::new();
    for family in go_set.families() {
        let name = family.name.as_ref();
        if name.starts_with("go_") || name.starts_with("process_") || name.starts_with("promhttp_")
        {
            continue;
        }
        let Some(ours) = our_set.families().iter().find(|f| f.name == name) else {
            problems.push(format!("missing {name}"));
            continue;
        };
        if ours.kind != family.kind && !TYPE_CHANGED.iter().any(|(changed, _)| *changed == name) {
            problems.push(format!("{name}: {:?}, Go has {:?}", ours.kind, family.kind));
        }
        let labels = |f: &exporter_kit::exposition::Family| -> std::collections::BTreeSet<String> {
            f.samples
                .iter()
                .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
                .filter(|label| !LABELS_ADDED.contains(&(name, label.as_str())))
                .collect()
        };
        if labels(ours) != labels(family) {
            problems.push(format!(
                "{name}: labels {:?}, Go has {:?}",
                labels(ours),
                labels(family)
            ));
        }
    }
    // Redis' counters only grow, and ours was scraped between Go's two
    // scrapes: each of our counter values lies between Go's.
    let go_after = exporter_kit::exposition::parse(&go_after_text).unwrap();
    let counters = |set: &exporter_kit::exposition::MetricSet| {
        let mut values = std::collections::BTreeMap::new();
        for family in set.families() {
            let exporters_own = family.name.starts_with("redis_exporter_")
                || family.name.starts_with("redis_target_");
            if family.kind != MetricType::Counter || exporters_own {
                continue;
            }
            for sample in &family.samples {
                if let Value::Single(value) = sample.value {
                    let labels: Vec<String> = sample
                        .labels
                        .iter()
                        .map(|l| format!("{}={}", l.name, l.value))
                        .collect();
                    values.insert(format!("{}{{{}}}", family.name, labels.join(",")), value);
                }
            }
        }
        values
    };
    let (before, ours_now, after) = (counters(&go_set), counters(&our_set), counters(&go_after));
    let mut compared = 0;
    for (series, low) in &before {
        let (Some(ours), Some(high)) = (ours_now.get(series), after.get(series)) else {
            continue;
        };
        compared += 1;
        if !(low <= ours && ours <= high) {
            problems.push(format!("{series}: ours {ours}, Go {low} then {high}"));
        }
    }
    assert!(compared > 20, "only {compared} counters compared");
    assert!(
        problems.is_empty(),
        "differences from Debian's redis_exporter:\n{}",
        problems.join("\n")
    );
    for series in [
        "redis_db_keys{db=\"db0\"}",
        "redis_db_keys_expiring{db=\"db0\"}",
        "redis_db_keys{db=\"db9\"}",
    ] {
        assert_eq!(
            value(&our_text, series),
            value(&go_text, series),
            "{series}"
        );
    }
}

#[tokio::test]
async fn scrape_endpoint_serves_allowed_targets_only() {
    let redis = Redis::start(&[]);
    redis.cli(&["set", "k", "v"]);
    let allowed = format!("redis://127\\.0\\.0\\.1:{}", redis.port);
    // The main address points nowhere; /scrape names the real instance.
    let multi = exporter(
        "redis://127.0.0.1:1",
        &[&format!("--scrape.allowed-targets={allowed}")],
    );
    let addr = multi.addr();

    let response = http::get(addr, &format!("/scrape?target={}", redis.address()))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let text = response.text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "redis_db_keys{db=\"db0\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains("process_cpu_seconds_total"),
        "only the target's metrics: {text}"
    );
    // As upstream's fresh exporter per request: its own totals, build info.
    assert_eq!(
        value(&text, "redis_exporter_scrapes_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "redis_target_scrape_request_errors_total"),
        Some(0.0),
        "{text}"
    );
    assert!(
        text.contains("redis_exporter_build_info{build_date="),
        "{text}"
    );

    for (query, message) in [
        ("", "'target' parameter must be specified"),
        ("?target=redis://127.0.0.1:6379", "not allowed"),
        ("?target=unix:///run/redis.sock", "not allowed"),
        ("?target=redis://10.0.0.1:6379", "not allowed"),
    ] {
        let response = http::get(addr, &format!("/scrape{query}")).await.unwrap();
        assert_eq!(response.status, 400, "{query}");
        assert!(
            response.text().contains(message),
            "{query}: {}",
            response.text()
        );
    }

    let text = http::get(addr, "/metrics").await.unwrap().text();
    assert_eq!(
        value(&text, "redis_target_scrape_request_errors_total"),
        Some(4.0),
        "{text}"
    );

    // Without --scrape.allowed-targets nothing can be scraped.
    let closed = exporter(&redis.address(), &[]);
    let response = http::get(
        closed.addr(),
        &format!("/scrape?target={}", redis.address()),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 400);
}

#[tokio::test]
async fn replication_is_reported_on_both_sides() {
    let master = Redis::start(&[]);
    let master_port = master.port.to_string();
    let replica = Redis::start(&["--replicaof", "127.0.0.1", &master_port]);
    wait::until(PATIENCE, "the replica to sync", || {
        (replica
            .cli(&["info", "replication"])
            .contains("master_link_status:up"))
        .then_some(())
    });
    let on_master = exporter(&master.address(), &[]);
    let on_replica = exporter(&replica.address(), &[]);
    let master_text = http::get(on_master.addr(), "/metrics")
        .await
        .unwrap()
        .text();
    let replica_text = http::get(on_replica.addr(), "/metrics")
        .await
        .unwrap()
        .text();

    assert_eq!(
        value(&master_text, "redis_connected_slaves"),
        Some(1.0),
        "{master_text}"
    );
    assert!(
        master_text.contains("redis_connected_slave_offset_bytes{slave_ip=\"127.0.0.1\""),
        "{master_text}"
    );
    let link =
        format!("redis_master_link_up{{master_host=\"127.0.0.1\",master_port=\"{master_port}\"}}");
    assert_eq!(value(&replica_text, &link), Some(1.0), "{replica_text}");
    assert!(replica_text.contains("redis_slave_info{"), "{replica_text}");
    assert!(replica_text.contains("role=\"slave\""), "{replica_text}");
}

#[tokio::test]
async fn a_three_node_cluster_reports_cluster_info() {
    let nodes: Vec<Redis> = (0..3)
        .map(|_| {
            Redis::start(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
        })
        .collect();
    let addresses: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let mut create = Command::new(e2e::tools::path("redis-cli"));
    create.args(["--cluster", "create"]).args(&addresses).args([
        "--cluster-replicas",
        "0",
        "--cluster-yes",
    ]);
    let output = create.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    wait::until(PATIENCE, "the cluster to be ok", || {
        nodes[0]
            .cli(&["cluster", "info"])
            .contains("cluster_state:ok")
            .then_some(())
    });
    let exporter = exporter(&nodes[0].address(), &[]);
    let text = http::get(exporter.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    assert_eq!(value(&text, "redis_cluster_enabled"), Some(1.0), "{text}");
    assert_eq!(value(&text, "redis_cluster_state"), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "redis_cluster_known_nodes"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "redis_cluster_slots_assigned"),
        Some(16384.0),
        "{text}"
    );
    assert!(
        text.contains("redis_db_keys{db=\"db0\"}") && !text.contains("db=\"db1\""),
        "one database in cluster mode: {text}"
    );
}

#[tokio::test]
async fn acl_users_and_the_password_file() {
    let redis = Redis::start(&[]);
    redis.cli(&[
        "acl",
        "setuser",
        "monitor",
        "on",
        ">monitor-pass",
        "+@all",
        "~*",
    ]);
    redis.cli(&["acl", "setuser", "default", "off"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwords.json");
    let key = format!("redis://monitor@127.0.0.1:{}", redis.port);
    std::fs::write(&file, format!("{{\"{key}\": \"monitor-pass\"}}")).unwrap();

    let exporter = exporter(
        &redis.address(),
        &[
            "--redis.user=monitor",
            &format!("--redis.password-file={}", file.display()),
        ],
    );
    let text = http::get(exporter.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");

    // A changed file applies to the next scrape.
    std::fs::write(&file, format!("{{\"{key}\": \"stale-pass\"}}")).unwrap();
    let text = http::get(exporter.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(
        !text.contains("stale-pass") && !text.contains("monitor-pass"),
        "{text}"
    );
}

#[tokio::test]
async fn tls_targets_are_verified_against_the_given_ca() {
    let ca = e2e::pki::TestCa::new("redis test CA");
    let server = ca.server("redis");
    let client = ca.client("exporter");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let ca_file = write("ca.pem", &ca.cert_pem());
    let server_cert = write("server.pem", &server.cert_pem);
    let server_key = write("server.key", &server.key_pem);
    let client_cert = write("client.pem", &client.cert_pem);
    let client_key = write("client.key", &client.key_pem);
    let other_ca_file = write(
        "other-ca.pem",
        &e2e::pki::TestCa::new("someone else").cert_pem(),
    );

    let tls_port = free_port().to_string();
    let redis = Redis::start(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &server_cert,
        "--tls-key-file",
        &server_key,
        "--tls-ca-cert-file",
        &ca_file,
    ]);
    redis.cli(&["set", "over-tls", "1"]);
    wait::until(PATIENCE, "redis-server TLS port", || {
        std::net::TcpStream::connect(("127.0.0.1", tls_port.parse::<u16>().unwrap())).ok()
    });
    let address = format!("rediss://localhost:{tls_port}");

    // Redis requires client certificates by default: with one, it works.
    let exporter_with_cert = exporter(
        &address,
        &[
            &format!("--tls-ca-cert-file={ca_file}"),
            &format!("--tls-client-cert-file={client_cert}"),
            &format!("--tls-client-key-file={client_key}"),
        ],
    );
    let text = http::get(exporter_with_cert.addr(), "/metrics")
        .await
        .unwrap()
        .text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "redis_db_keys{db=\"db0\"}"),
        Some(1.0),
        "{text}"
    );

    // Without a client certificate, Redis refuses the handshake.
    let exporter_without_cert = exporter(&address, &[&format!("--tls-ca-cert-file={ca_file}")]);
    let text = http::get(exporter_without_cert.addr(), "/metrics")
        .await
        .unwrap()
        .text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");

    // A server certificate from another CA is refused, unless verification
    // is explicitly skipped.
    let wrong_ca = [
        format!("--tls-ca-cert-file={other_ca_file}"),
        format!("--tls-client-cert-file={client_cert}"),
        format!("--tls-client-key-file={client_key}"),
    ];
    let wrong_ca: Vec<&str> = wrong_ca.iter().map(String::as_str).collect();
    let refusing = exporter(&address, &wrong_ca);
    let text = http::get(refusing.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(
        text.contains("redis_exporter_last_scrape_error{err=\"TLS"),
        "{text}"
    );

    let skipping = exporter(
        &address,
        &[&wrong_ca[..], &["--skip-tls-verification"]].concat(),
    );
    let text = http::get(skipping.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
}

#[test]
fn unreadable_tls_files_stop_start_up_with_the_flag_named() {
    let output = Command::new(e2e::binary::path("redis-exporter"))
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--tls-ca-cert-file=/nonexistent/ca.pem",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--tls-ca-cert-file=/nonexistent/ca.pem"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_empty_redis_addr_serves_only_scrape_totals_like_upstream() {
    let redis = Redis::start(&[]);
    let go = go_exporter("");
    let ours = exporter("", &["--scrape.allowed-targets=.*"]);
    for running in [&go, &ours] {
        let text = http::get(running.addr(), "/metrics").await.unwrap().text();
        assert_eq!(value(&text, "redis_up"), None, "{text}");
        assert!(
            value(&text, "redis_exporter_scrapes_total").is_some(),
            "{text}"
        );
        let scraped = http::get(
            running.addr(),
            &format!("/scrape?target={}", redis.address()),
        )
        .await
        .unwrap()
        .text();
        assert_eq!(value(&scraped, "redis_up"), Some(1.0), "{scraped}");
    }
    let text = http::get(ours.addr(), "/metrics").await.unwrap().text();
    // Both requests to /metrics count; neither reached Redis, so none was
    // timed; /scrape keeps its own totals.
    assert_eq!(
        value(&text, "redis_exporter_scrapes_total"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "redis_exporter_scrape_duration_seconds_count"),
        Some(0.0),
        "{text}"
    );
}

#[tokio::test]
async fn ping_config_metrics_redaction_and_latency_switches() {
    let redis = Redis::start(&["--requirepass", "s3cret-pass", "--hz", "12"]);
    let password = "--redis.password=s3cret-pass";
    let full = exporter(
        &redis.address(),
        &[password, "--ping-on-connect", "--include-config-metrics"],
    );
    let text = http::get(full.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    assert!(
        value(&text, "redis_exporter_last_scrape_ping_time_seconds").is_some(),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "redis_config_key_value{key=\"maxmemory-policy\",value=\"noeviction\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "redis_config_value{key=\"hz\"}"), Some(12.0));
    assert!(!text.contains("s3cret-pass"), "redacted: {text}");
    assert!(
        text.contains("redis_commands_latencies_usec_bucket"),
        "{text}"
    );

    let unredacted = exporter(
        &redis.address(),
        &[
            password,
            "--include-config-metrics",
            "--redact-config-metrics=false",
            "--exclude-latency-histogram-metrics",
        ],
    );
    let text = http::get(unredacted.addr(), "/metrics")
        .await
        .unwrap()
        .text();
    assert!(
        text.contains("redis_config_key_value{key=\"requirepass\",value=\"s3cret-pass\"} 1"),
        "{text}"
    );
    assert!(!text.contains("redis_commands_latencies_usec"), "{text}");
    assert!(
        !text.contains("redis_exporter_last_scrape_ping_time_seconds"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_config_command_is_logged_once() {
    let redis = Redis::start(&[]);
    let mut renamed = exporter(&redis.address(), &["--config-command=NOSUCHCONFIG"]);
    for _ in 0..3 {
        let text = http::get(renamed.addr(), "/metrics").await.unwrap().text();
        assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
        assert!(!text.contains("redis_config_maxclients"), "{text}");
    }
    // The lines were written before the responses; wait for the reader.
    let warnings = renamed.wait_for_log(PATIENCE, "the CONFIG warning", |lines| {
        let count = lines
            .iter()
            .filter(|line| line.contains("CONFIG GET failed"))
            .count();
        (count > 0).then_some(count)
    });
    assert_eq!(warnings, 1, "{:?}", renamed.log());
}

#[tokio::test]
async fn a_killed_redis_gives_up_zero() {
    let redis = Redis::start(&[]);
    let exporter = exporter(&redis.address(), &[]);
    let text = http::get(exporter.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    drop(redis);
    let text = http::get(exporter.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
}

/// A TCP server that answers every connection with `reply`, then with
/// endless `tail` bytes if given, until the peer goes away.
async fn impostor(reply: &'static [u8], tail: Option<u8>) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                socket.write_all(reply).await?;
                if let Some(byte) = tail {
                    let chunk = [byte; 64 * 1024];
                    loop {
                        socket.write_all(&chunk).await?;
                    }
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    address
}

#[tokio::test]
async fn a_target_that_is_not_redis_gives_up_zero_and_stays_small() {
    let http_server = impostor(b"HTTP/1.1 400 Bad Request\r\n\r\n", None).await;
    let exporter_for_http = exporter(&http_server.to_string(), &[]);
    let text = http::get(exporter_for_http.addr(), "/metrics")
        .await
        .unwrap()
        .text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(text.contains("unreadable reply from redis"), "{text}");

    // A "bulk string" of 2 GB that never ends: refused at the reply cap,
    // long before the deadline, without the exporter growing to match.
    let flood = impostor(b"$2000000000\r\n", Some(b'x')).await;
    let exporter_for_flood = exporter(&flood.to_string(), &[]);
    let text = http::get(exporter_for_flood.addr(), "/metrics")
        .await
        .unwrap()
        .text();
    assert_eq!(value(&text, "redis_up"), Some(0.0), "{text}");
    assert!(text.contains("reply larger than 8 MiB"), "{text}");
    let peak = e2e::bench::usage(exporter_for_flood.pid()).peak_rss_bytes;
    assert!(peak < 48 << 20, "peak RSS {peak} bytes");
}

#[tokio::test]
async fn address_forms_namespace_and_environment() {
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join("redis.sock");
    let socket_text = socket.display().to_string();
    let redis = Redis::start(&["--unixsocket", &socket_text]);

    // host:port without a scheme, and a namespace.
    let plain = exporter(&format!("127.0.0.1:{}", redis.port), &["--namespace=cache"]);
    let text = http::get(plain.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "cache_up"), Some(1.0), "{text}");
    assert!(
        value(&text, "cache_exporter_scrapes_total").is_some(),
        "{text}"
    );
    assert!(!text.contains("\nredis_"), "{text}");

    // A unix socket, named through upstream's environment variable.
    let address = format!("unix://{socket_text}");
    let from_env = Running::start(
        &e2e::binary::path("redis-exporter"),
        &["--web.listen-address=127.0.0.1:0"],
        &[("REDIS_ADDR", &address)],
        1,
    );
    let text = http::get(from_env.addr(), "/metrics").await.unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
}

#[tokio::test]
async fn a_frozen_target_does_not_hold_up_other_scrapes() {
    let frozen = Redis::start(&[]);
    let healthy = Redis::start(&[]);
    let multi = exporter(
        "",
        &["--scrape.allowed-targets=.*", "--connection-timeout=60s"],
    );
    let pid = nix::unistd::Pid::from_raw(frozen.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let idle_sockets = sockets(multi.pid());
    let stuck_path = format!("/scrape?target={}", frozen.address());
    let addr = multi.addr();
    let stuck = tokio::spawn(async move {
        http::send(
            addr,
            None,
            "GET",
            &stuck_path,
            &[("x-prometheus-scrape-timeout-seconds", "60")],
        )
        .await
    });
    // Two more sockets, the request's and the one to the frozen Redis: the
    // stuck scrape is inside the exporter's collection.
    wait::until_async(
        PATIENCE,
        "the exporter to connect to the frozen Redis",
        || async { (sockets(multi.pid()) >= idle_sockets + 2).then_some(()) },
    )
    .await;
    // Several scrapes of the healthy target finish while the frozen one
    // is still waiting: nothing serializes scrapes.
    for _ in 0..3 {
        let text = http::get(
            multi.addr(),
            &format!("/scrape?target={}", healthy.address()),
        )
        .await
        .unwrap()
        .text();
        assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
    }
    assert!(!stuck.is_finished(), "the frozen scrape is still waiting");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    let text = stuck.await.unwrap().unwrap().text();
    assert_eq!(value(&text, "redis_up"), Some(1.0), "{text}");
}

/// How many sockets process `pid` has open.
fn sockets(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}
