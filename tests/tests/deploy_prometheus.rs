//! deploy/prometheus and deploy/grafana: the shipped configs and rules pass
//! promtool and their unit tests, and a real Prometheus running the plain-host
//! config and the rules against all four exporters finds data for every
//! alert, recording rule and dashboard query.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::bench::free_port;
use e2e::firebase::Emulator;
use e2e::http;
use e2e::kube_api::{FakeApiServer, deployment, namespace, node, pod};
use e2e::process::Running;
use e2e::redis::Redis;
use e2e::wait;
use serde_json::{Value, json};
use serde_yaml_ng::Value as Yaml;

/// Debug builds of four exporters, Prometheus and the Auth emulator on two
/// shared cores: generous, as only a failure waits this long.
const PATIENCE: Duration = Duration::from_secs(120);

/// Alerts whose every series comes from the kubelets' cAdvisor, which no
/// exporter of ours serves: on their own, these must find no data.
const ALERTS_NEEDING_CADVISOR: [&str; 2] = ["HighCPUUsage", "MemoryPressure"];

/// Dashboard panels (dashboard title / panel title) drawn from cAdvisor.
const PANELS_NEEDING_CADVISOR: [&str; 6] = [
    "Pod Performance / CPU usage per pod",
    "Pod Performance / CPU throttled per pod",
    "Pod Performance / Memory per pod (working set)",
    "Pod Performance / Memory of limit per container",
    "Pod Performance / Network received per pod",
    "Pod Performance / Network transmitted per pod",
];

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .join("deploy")
}

/// The files in `dir` ending in `extension`, sorted.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no *.{extension} in {}", dir.display());
    found
}

fn yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn promtool(args: &[&str]) {
    let output = Command::new(e2e::tools::path("promtool"))
        .args(args)
        .output()
        .expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every rule of the shipped rule files.
fn rules() -> Vec<Yaml> {
    files(&deploy().join("prometheus/rules"), "yml")
        .iter()
        .flat_map(|file| {
            let groups = yaml(file)["groups"].as_sequence().unwrap().clone();
            groups
                .into_iter()
                .flat_map(|group| group["rules"].as_sequence().unwrap().clone())
        })
        .collect()
}

fn alerts() -> BTreeMap<String, Yaml> {
    rules()
        .into_iter()
        .filter_map(|rule| Some((rule["alert"].as_str()?.to_owned(), rule)))
        .collect()
}

#[test]
fn plain_host_config_and_rules_pass_promtool_and_their_unit_tests() {
    let prometheus = deploy().join("prometheus");
    promtool(&[
        "check",
        "config",
        prometheus.join("prometheus-hosts.yml").to_str().unwrap(),
    ]);
    for (command, dir) in [("check", "rules"), ("test", "tests")] {
        let files = files(&prometheus.join(dir), "yml");
        let mut args = vec![command, "rules"];
        args.extend(files.iter().map(|p| p.to_str().unwrap()));
        promtool(&args);
    }
}

/// Runs Prometheus on `config` with its data in `dir`; it is stopped when
/// the returned value drops.
fn start_prometheus(config: &Yaml, dir: &Path, address: SocketAddr) -> Running {
    let config_file = dir.join("prometheus.yml");
    std::fs::write(&config_file, serde_yaml_ng::to_string(config).unwrap()).unwrap();
    Running::start_at(
        &e2e::tools::path("prometheus"),
        &[
            &format!("--config.file={}", config_file.display()),
            &format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            &format!("--web.listen-address={address}"),
        ],
        address,
    )
}

/// What Kubernetes discovery would find for each job of prometheus.yml, as
/// static targets carrying the same meta labels: the node-exporter
/// DaemonSet's and kube-state-exporter's Services (labelled with their
/// app.kubernetes.io/name as deploy/kubernetes labels them), redis-exporter's
/// (named only by the Service),
/// Grafana's (not labelled metrics: "true"), and a node's kubelet. Addresses
/// are from TEST-NET-1, where nothing answers.
fn discovered_targets() -> BTreeMap<String, Yaml> {
    let endpoint = |address: &str, service: &str, name: Option<&str>, port: &str, pod: &str| {
        let mut labels = json!({
            "__meta_kubernetes_namespace": "monitoring",
            "__meta_kubernetes_service_name": service,
            "__meta_kubernetes_endpoint_port_name": port,
            "__meta_kubernetes_pod_name": pod,
            "__meta_kubernetes_pod_node_name": "node-1",
        });
        if service != "grafana" {
            labels["__meta_kubernetes_service_label_metrics"] = json!("true");
        }
        if let Some(name) = name {
            labels["__meta_kubernetes_service_label_app_kubernetes_io_name"] = json!(name);
        }
        json!({"targets": [address], "labels": labels})
    };
    let exporters = json!([
        endpoint(
            "192.0.2.1:9100",
            "node-exporter",
            Some("node-exporter"),
            "metrics",
            "node-exporter-x7k2p"
        ),
        endpoint(
            "192.0.2.2:8080",
            "kube-state-exporter",
            Some("kube-state-exporter"),
            "http-metrics",
            "kube-state-0"
        ),
        endpoint(
            "192.0.2.2:8081",
            "kube-state-exporter",
            Some("kube-state-exporter"),
            "telemetry",
            "kube-state-0"
        ),
        endpoint(
            "192.0.2.3:9121",
            "redis-exporter",
            None,
            "metrics",
            "redis-0"
        ),
        endpoint(
            "192.0.2.4:3000",
            "grafana",
            Some("grafana"),
            "http",
            "grafana-0"
        ),
    ]);
    let kubelet = json!([{"targets": ["192.0.2.10:10250"],
        "labels": {"__meta_kubernetes_node_name": "node-1"}}]);
    [("exporters", exporters), ("kubelet", kubelet)]
        .into_iter()
        .map(|(job, targets)| (job.to_owned(), serde_json::from_value(targets).unwrap()))
        .collect()
}

/// Debian's Prometheus is built without Kubernetes service discovery: the
/// discovery blocks are checked against the documented schema here, and
/// the rest of the file runs in a real Prometheus whose static targets carry
/// the meta labels Kubernetes discovery gives (service-account files
/// replaced by temporary ones), to see what the relabelling makes of them.
#[tokio::test]
async fn kubernetes_config_keeps_labelled_services_and_names_a_job_per_exporter() {
    let shipped = yaml(&deploy().join("prometheus/prometheus.yml"));
    let mut discovered = discovered_targets();
    let mut discovery = BTreeMap::new();
    let mut derived = shipped.clone();
    for job in derived["scrape_configs"].as_sequence_mut().unwrap() {
        let name = job["job_name"].as_str().unwrap().to_owned();
        let job = job.as_mapping_mut().unwrap();
        if let Some(sd) = job.remove("kubernetes_sd_configs") {
            let targets = discovered.remove(&name).expect("targets for every job");
            job.insert("static_configs".into(), targets);
            discovery.insert(name, sd);
        }
    }
    let expected: BTreeMap<String, Yaml> = [
        (
            "exporters".to_owned(),
            serde_yaml_ng::from_str("[{role: endpoints, namespaces: {names: [monitoring]}}]")
                .unwrap(),
        ),
        (
            "kubelet".to_owned(),
            serde_yaml_ng::from_str("[{role: node}]").unwrap(),
        ),
    ]
    .into();
    assert_eq!(discovery, expected);

    let dir = tempfile::tempdir().unwrap();
    const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    let service_account = dir.path().join("serviceaccount");
    std::fs::create_dir(&service_account).unwrap();
    let ca = e2e::pki::TestCa::new("kubernetes").cert_pem();
    std::fs::write(service_account.join("ca.crt"), ca).unwrap();
    std::fs::write(service_account.join("token"), "token").unwrap();
    let text = serde_yaml_ng::to_string(&derived)
        .unwrap()
        .replace(SERVICE_ACCOUNT, service_account.to_str().unwrap());
    let derived: Yaml = serde_yaml_ng::from_str(&text).unwrap();
    let config_file = dir.path().join("checked.yml");
    std::fs::write(&config_file, &text).unwrap();
    promtool(&["check", "config", config_file.to_str().unwrap()]);

    let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _prometheus = start_prometheus(&derived, dir.path(), address);
    let targets = wait::until_async(PATIENCE, "the targets", || async {
        let reply = prometheus_api(address, "/api/v1/targets?state=any").await?;
        let active = reply["data"]["activeTargets"].as_array()?;
        let dropped = reply["data"]["droppedTargets"].as_array()?;
        (active.len() + dropped.len() == 7).then(|| reply["data"].clone())
    })
    .await;
    let labels: BTreeSet<BTreeMap<String, String>> = targets["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|target| serde_json::from_value(target["labels"].clone()).unwrap())
        .collect();
    let expected: BTreeSet<BTreeMap<String, String>> = [
        json!({"job": "prometheus", "instance": "localhost:9090"}),
        json!({"job": "node-exporter", "instance": "192.0.2.1:9100", "endpoint": "metrics",
               "namespace": "monitoring", "service": "node-exporter",
               "pod": "node-exporter-x7k2p", "node": "node-1"}),
        json!({"job": "kube-state-metrics", "instance": "192.0.2.2:8080", "endpoint": "http-metrics"}),
        json!({"job": "kube-state-metrics", "instance": "192.0.2.2:8081", "endpoint": "telemetry"}),
        json!({"job": "redis-exporter", "instance": "192.0.2.3:9121", "endpoint": "metrics",
               "namespace": "monitoring", "service": "redis-exporter", "pod": "redis-0",
               "node": "node-1"}),
        json!({"job": "kubelet", "instance": "192.0.2.10:10250", "node": "node-1",
               "metrics_path": "/metrics/cadvisor"}),
    ]
    .into_iter()
    .map(|labels| serde_json::from_value(labels).unwrap())
    .collect();
    assert_eq!(labels, expected);
    let dropped = &targets["droppedTargets"][0]["discoveredLabels"];
    assert_eq!(dropped["__meta_kubernetes_service_name"], "grafana");
}

#[test]
fn every_alert_has_annotations_a_runbook_section_and_a_unit_test_that_fires_it() {
    let runbook = std::fs::read_to_string(deploy().join("prometheus/RUNBOOK.md")).unwrap();
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .map(|heading| heading.trim().to_lowercase())
        .collect();
    let alerts = alerts();
    for (name, rule) in &alerts {
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{name} has no {annotation}"
            );
        }
        let runbook_url = rule["annotations"]["runbook_url"].as_str().unwrap_or("");
        let anchor = runbook_url
            .strip_prefix("RUNBOOK.md#")
            .unwrap_or_else(|| panic!("{name}: runbook_url {runbook_url:?}"));
        assert!(
            anchors.contains(anchor),
            "{name}: no section ### for #{anchor} in RUNBOOK.md"
        );
        assert!(
            rule["labels"]["severity"].as_str().is_some(),
            "{name} has no severity"
        );
    }

    let mut fired = BTreeSet::new();
    for file in files(&deploy().join("prometheus/tests"), "yml") {
        for test in yaml(&file)["tests"].as_sequence().unwrap() {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let expects_alerts = case["exp_alerts"]
                    .as_sequence()
                    .is_some_and(|alerts| !alerts.is_empty());
                if expects_alerts {
                    fired.insert(case["alertname"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    let names: BTreeSet<String> = alerts.keys().cloned().collect();
    assert_eq!(fired, names, "alerts that no unit test fires");
}

/// One panel query of a shipped dashboard.
struct PanelQuery {
    /// `dashboard title / panel title`
    panel: String,
    expr: String,
}

fn dashboards() -> Vec<Value> {
    files(&deploy().join("grafana/dashboards"), "json")
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        })
        .collect()
}

fn panel_queries(dashboards: &[Value]) -> Vec<PanelQuery> {
    let mut queries = Vec::new();
    for dashboard in dashboards {
        let title = dashboard["title"].as_str().unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                queries.push(PanelQuery {
                    panel: format!("{title} / {}", panel["title"].as_str().unwrap()),
                    expr: target["expr"].as_str().unwrap().to_owned(),
                });
            }
        }
    }
    queries
}

#[test]
fn dashboards_and_provisioning_are_valid_for_grafana() {
    let dashboards = dashboards();
    let titles: BTreeSet<&str> = dashboards
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        BTreeSet::from([
            "Cluster Overview",
            "Pod Performance",
            "Redis Metrics",
            "Users"
        ])
    );
    let datasource = json!({"type": "prometheus", "uid": "${datasource}"});
    for dashboard in &dashboards {
        let title = dashboard["title"].as_str().unwrap();
        assert_eq!(dashboard["schemaVersion"], 39, "{title}");
        assert!(dashboard["uid"].as_str().is_some_and(|uid| uid.len() <= 40));
        let variables = dashboard["templating"]["list"].as_array().unwrap();
        assert!(
            variables.iter().any(|v| v["name"] == "datasource"
                && v["type"] == "datasource"
                && v["query"] == "prometheus"),
            "{title}: no datasource variable"
        );
        let mut ids = BTreeSet::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            let name = format!("{title} / {}", panel["title"]);
            assert!(
                ids.insert(panel["id"].as_u64().unwrap()),
                "{name}: id reused"
            );
            let grid = &panel["gridPos"];
            for key in ["h", "w", "x", "y"] {
                assert!(grid[key].is_u64(), "{name}: gridPos.{key}");
            }
            assert!(grid["x"].as_u64().unwrap() + grid["w"].as_u64().unwrap() <= 24);
            if panel["type"] == "row" {
                continue;
            }
            assert_eq!(panel["datasource"], datasource, "{name}");
            let targets = panel["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{name}: no targets");
            let mut refs = BTreeSet::new();
            for target in targets {
                assert!(refs.insert(target["refId"].as_str().unwrap()), "{name}");
                assert!(target["expr"].as_str().is_some_and(|e| !e.is_empty()));
                assert_eq!(target["datasource"], datasource, "{name}");
            }
        }
    }

    let grafana = deploy().join("grafana/provisioning");
    let datasources = yaml(&grafana.join("datasources/prometheus.yml"));
    assert_eq!(datasources["datasources"][0]["type"], "prometheus");
    let providers = yaml(&grafana.join("dashboards/exporters.yml"));
    assert_eq!(providers["providers"][0]["type"], "file");
    assert!(providers["providers"][0]["options"]["path"].is_string());
}

/// The metric names a PromQL expression selects: identifiers that are not
/// functions, keywords, label names, durations or strings.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const LABEL_LIST_KEYWORDS: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    // Aggregations too: `sum by (job) (...)` puts no parenthesis after
    // the name.
    const KEYWORDS: [&str; 19] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let skip_to = |from: usize, close: char| -> usize {
        let mut i = from + 1;
        let mut quote = None;
        while i < chars.len() {
            match (quote, chars[i]) {
                (Some(_), '\\') => i += 1,
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'' | '`') => quote = Some(chars[i]),
                (None, c) if c == close => return i + 1,
                _ => {}
            }
            i += 1;
        }
        i
    };
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            i = skip_to(i, '}');
        } else if c == '[' {
            i = skip_to(i, ']');
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_to(i, c);
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let opens = chars.get(next) == Some(&'(');
            let keyword = word.to_lowercase();
            if LABEL_LIST_KEYWORDS.contains(&keyword.as_str()) {
                if opens {
                    i = skip_to(next, ')');
                }
            } else if !opens && !KEYWORDS.contains(&keyword.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn metric_names_are_found_in_promql() {
    let names = metric_names(
        r#"sum by (job, instance) (rate(a_total{job="x", le="}"}[5m])) / on (job) group_left (mode) b:c:rate5m > bool 0.5e3 and time() - d offset 5m unless count without (cpu) (e)"#,
    );
    let expected = ["a_total", "b:c:rate5m", "d", "e"];
    assert_eq!(names, BTreeSet::from(expected.map(String::from)));
}

/// An HTTP API call to Prometheus; its JSON reply, errors included.
async fn prometheus_api(prometheus: SocketAddr, path: &str) -> Option<Value> {
    let response = http::get(prometheus, path).await.ok()?;
    serde_json::from_slice(&response.body).ok()
}

/// The result of an instant query, or Prometheus' error.
async fn query(prometheus: SocketAddr, expr: &str) -> Result<Vec<Value>, String> {
    let encoded: String = form_urlencoded::byte_serialize(expr.as_bytes()).collect();
    let reply = prometheus_api(prometheus, &format!("/api/v1/query?query={encoded}"))
        .await
        .ok_or("no reply")?;
    if reply["status"] != "success" {
        return Err(reply["error"].as_str().unwrap_or("?").to_owned());
    }
    Ok(match reply["data"]["resultType"].as_str() {
        // A scalar or string is one value, never empty.
        Some("scalar" | "string") => vec![reply["data"]["result"].clone()],
        _ => reply["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    })
}

/// Grafana's variables in a panel query replaced the way a dashboard with
/// "All" selected and a 1s scrape interval would.
fn substitute_grafana_variables(expr: &str) -> String {
    let mut expr = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h");
    for variable in ["instance", "node", "namespace", "pod", "job"] {
        expr = expr
            .replace(&format!("${{{variable}}}"), ".*")
            .replace(&format!("${variable}"), ".*");
    }
    assert!(!expr.contains('$'), "a variable left in {expr}");
    expr
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A few users of the project and of one tenant, so that the breakdowns
/// (providers, active, new, verified) all have series.
async fn create_users(emulator: &Emulator, project: &str) {
    let now = now_ms().to_string();
    let users = [
        json!({"localId": "u1", "email": "u1@example.com", "emailVerified": true,
               "passwordHash": "aGFzaA==", "salt": "c2FsdA==", "createdAt": now, "lastLoginAt": now}),
        json!({"localId": "u2", "phoneNumber": "+15550000002", "createdAt": now}),
        json!({"localId": "u3", "disabled": true, "createdAt": now,
               "providerUserInfo": [{"providerId": "google.com", "rawId": "g-u3"}]}),
    ];
    emulator.batch_create(project, None, &users).await;
    let tenant = emulator.create_tenant(project, "team").await;
    let tenant_user = json!({"localId": "t1", "email": "t1@example.com", "createdAt": now});
    emulator
        .batch_create(project, Some(&tenant), &[tenant_user])
        .await;
}

/// The objects of a small cluster: a node, a healthy pod, a pod whose app
/// container is crash looping after restarts, and a deployment.
fn create_cluster(api: &FakeApiServer) {
    api.create(namespace("shop"));
    api.create(node("node-0"));
    api.create(pod("shop", "web-0"));
    let mut crashing = pod("shop", "worker-0");
    let app = &mut crashing["status"]["containerStatuses"][0];
    app["restartCount"] = json!(7);
    app["ready"] = json!(false);
    app["started"] = json!(false);
    app["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}});
    app["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
        "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}});
    api.create(crashing);
    api.create(deployment("shop", "web", 2));
}

/// The shipped plain-host config with the targets moved to this test's
/// ports, the intervals shortened and the rules taken from the repository.
fn derive_config(shipped: &Yaml, targets: &BTreeMap<&str, Vec<SocketAddr>>) -> Yaml {
    let mut derived = shipped.clone();
    for key in ["scrape_interval", "scrape_timeout", "evaluation_interval"] {
        derived["global"][key] = "1s".into();
    }
    let rules = deploy().join("prometheus/rules/*.yml");
    derived["rule_files"] = Yaml::Sequence(vec![rules.to_str().unwrap().into()]);
    for job in derived["scrape_configs"].as_sequence_mut().unwrap() {
        let name = job["job_name"].as_str().unwrap().to_owned();
        let addresses = targets
            .get(name.as_str())
            .unwrap_or_else(|| panic!("the test runs nothing for job {name}"));
        let shipped_targets = job["static_configs"][0]["targets"].as_sequence().unwrap();
        assert_eq!(shipped_targets.len(), addresses.len(), "targets of {name}");
        job["static_configs"][0]["targets"] =
            Yaml::Sequence(addresses.iter().map(|a| a.to_string().into()).collect());
    }
    derived
}

/// `config` without what [`derive_config`] may change.
fn without_test_settings(config: &Yaml) -> Yaml {
    let mut config = config.clone();
    let global = config["global"].as_mapping_mut().unwrap();
    for key in ["scrape_interval", "scrape_timeout", "evaluation_interval"] {
        global.remove(key);
    }
    config.as_mapping_mut().unwrap().remove("rule_files");
    for job in config["scrape_configs"].as_sequence_mut().unwrap() {
        job["static_configs"][0]
            .as_mapping_mut()
            .unwrap()
            .remove("targets");
    }
    config
}

#[tokio::test]
async fn prometheus_scrapes_every_exporter_and_every_query_finds_data() {
    // The emulator is the slowest to start: everything else is set up
    // meanwhile.
    const PROJECT: &str = "demo-deploy";
    let emulator = std::thread::spawn(|| Emulator::start(PROJECT));

    let redis = Redis::start(&["--maxmemory", "64mb"]);
    // Keys, hits and a miss, for the keyspace and hit-rate panels.
    let redis_cli = |args: &[&str]| {
        let status = Command::new(e2e::tools::path("redis-cli"))
            .args(["-p", &redis.port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli {args:?}");
    };
    redis_cli(&["set", "greeting", "hello"]);
    redis_cli(&["get", "greeting"]);
    redis_cli(&["get", "missing"]);
    let redis_exporter = Running::start(
        &e2e::binary::path("redis-exporter"),
        &[
            "--web.listen-address=127.0.0.1:0",
            &format!("--redis.addr=redis://127.0.0.1:{}", redis.port),
        ],
        &[],
        1,
    );

    let textfiles = tempfile::tempdir().unwrap();
    std::fs::write(
        textfiles.path().join("backup.prom"),
        "# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e9\n",
    )
    .unwrap();
    let node_exporter = Running::start(
        &e2e::binary::path("node-exporter"),
        &[
            "--web.listen-address=127.0.0.1:0",
            &format!(
                "--collector.textfile.directory={}",
                textfiles.path().display()
            ),
        ],
        &[],
        1,
    );

    let api = FakeApiServer::start();
    create_cluster(&api);
    let kube_dir = tempfile::tempdir().unwrap();
    let kube_state_exporter = Running::start(
        &e2e::binary::path("kube-state-exporter"),
        &[
            &format!("--kubeconfig={}", api.kubeconfig(kube_dir.path()).display()),
            "--host=127.0.0.1",
            "--port=0",
            "--telemetry-host=127.0.0.1",
            "--telemetry-port=0",
        ],
        &[],
        2,
    );

    let firebase_binary = e2e::binary::path("firebase-exporter");
    let emulator = emulator.join().expect("the emulator starts");
    create_users(&emulator, PROJECT).await;
    let emulator_host = emulator.host();
    let firebase_exporter = Running::start(
        &firebase_binary,
        &[
            "--web.listen-address=127.0.0.1:0",
            &format!("--project-id={PROJECT}"),
        ],
        &[
            ("FIREBASE_AUTH_EMULATOR_HOST", emulator_host.as_str()),
            // A developer's own key file stays out of the test.
            ("GOOGLE_APPLICATION_CREDENTIALS", ""),
        ],
        1,
    );

    let prometheus_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let targets: BTreeMap<&str, Vec<SocketAddr>> = [
        ("prometheus", vec![prometheus_addr]),
        ("node-exporter", vec![node_exporter.addr()]),
        ("redis-exporter", vec![redis_exporter.addr()]),
        ("kube-state-metrics", kube_state_exporter.addresses.clone()),
        ("firebase-exporter", vec![firebase_exporter.addr()]),
    ]
    .into();
    let shipped = yaml(&deploy().join("prometheus/prometheus-hosts.yml"));
    let derived = derive_config(&shipped, &targets);
    assert_eq!(
        without_test_settings(&derived),
        without_test_settings(&shipped)
    );
    let data = tempfile::tempdir().unwrap();
    let _prometheus = start_prometheus(&derived, data.path(), prometheus_addr);

    let target_count: usize = targets.values().map(Vec::len).sum();
    wait::until_async(PATIENCE, "every target up", || async {
        let reply = prometheus_api(prometheus_addr, "/api/v1/targets").await?;
        let active = reply["data"]["activeTargets"].as_array()?;
        let up = active.iter().filter(|t| t["health"] == "up").count();
        (active.len() == target_count && up == target_count).then_some(())
    })
    .await;
    // rate() needs two samples in its window, and the user metrics a first
    // count and scan.
    wait::until_async(PATIENCE, "three scrapes of every target", || async {
        let scrapes = query(prometheus_addr, "min(count_over_time(up[1m]))")
            .await
            .ok()?;
        let count: f64 = scrapes.first()?["value"][1].as_str()?.parse().ok()?;
        (count >= 3.0).then_some(())
    })
    .await;
    wait::until_async(PATIENCE, "a first count and scan of the users", || async {
        let refreshed = query(prometheus_addr, "firebase_exporter_refresh_success == 1")
            .await
            .ok()?;
        (refreshed.len() == 2).then_some(())
    })
    .await;

    // Rules: evaluated again since the data arrived (errors such as
    // many-to-many matches only show with data), and healthy.
    let evaluations = || async {
        let reply = prometheus_api(prometheus_addr, "/api/v1/rules").await?;
        let groups = reply["data"]["groups"].as_array()?.clone();
        let last: BTreeMap<String, String> = groups
            .iter()
            .map(|g| (g["name"].to_string(), g["lastEvaluation"].to_string()))
            .collect();
        Some((last, groups))
    };
    let (before, _) = wait::until_async(PATIENCE, "the rules", evaluations).await;
    let rule_groups = wait::until_async(PATIENCE, "every rule group evaluated again", || async {
        let (last, groups) = evaluations().await?;
        let again = last.iter().all(|(group, at)| before.get(group) != Some(at));
        again.then_some(groups)
    })
    .await;
    let shipped_rules = rules();
    let mut loaded = 0;
    for group in &rule_groups {
        for rule in group["rules"].as_array().unwrap() {
            loaded += 1;
            assert_eq!(
                rule["health"], "ok",
                "{}: {}",
                rule["name"], rule["lastError"]
            );
        }
    }
    assert_eq!(loaded, shipped_rules.len(), "rules Prometheus loaded");

    // Recording rules: the expression and the recorded series have data.
    for rule in shipped_rules.iter().filter(|r| r["record"].is_string()) {
        let expr = rule["expr"].as_str().unwrap();
        let record = rule["record"].as_str().unwrap();
        assert!(
            !query(prometheus_addr, expr).await.unwrap().is_empty(),
            "{expr}"
        );
        wait::until_async(PATIENCE, &format!("{record} recorded"), || async {
            (!query(prometheus_addr, record).await.ok()?.is_empty()).then_some(())
        })
        .await;
    }

    // Alerts: valid, and every series they compare has data.
    let mut alerts_without_data = BTreeSet::new();
    for (name, rule) in alerts() {
        let expr = rule["expr"].as_str().unwrap();
        if let Err(error) = query(prometheus_addr, expr).await {
            panic!("{name}: {error}\n{expr}");
        }
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{name}: no metric in {expr}");
        for metric in names {
            if query(prometheus_addr, &metric).await.unwrap().is_empty() {
                alerts_without_data.insert(name.clone());
                let needs_cadvisor = ALERTS_NEEDING_CADVISOR.contains(&name.as_str());
                assert!(needs_cadvisor, "{name}: no data for {metric}");
                assert!(metric.starts_with("container_"), "{name}: {metric}");
            }
        }
    }
    assert_eq!(
        alerts_without_data,
        BTreeSet::from(ALERTS_NEEDING_CADVISOR.map(String::from))
    );

    // Dashboards: every panel query and every variable's label_values.
    let dashboards = dashboards();
    let mut panels_without_data = BTreeSet::new();
    for panel in panel_queries(&dashboards) {
        let expr = substitute_grafana_variables(&panel.expr);
        let result = query(prometheus_addr, &expr)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}\n{expr}", panel.panel));
        if result.is_empty() {
            panels_without_data.insert(panel.panel);
        }
    }
    assert_eq!(
        panels_without_data,
        BTreeSet::from(PANELS_NEEDING_CADVISOR.map(String::from))
    );
    for dashboard in &dashboards {
        for variable in dashboard["templating"]["list"].as_array().unwrap() {
            let Some(definition) = variable["definition"].as_str() else {
                continue;
            };
            let (selector, label) = definition
                .strip_prefix("label_values(")
                .and_then(|rest| rest.strip_suffix(')'))
                .and_then(|args| args.rsplit_once(", "))
                .unwrap_or_else(|| panic!("unexpected variable query {definition}"));
            let selector = substitute_grafana_variables(selector);
            let series = query(prometheus_addr, &selector).await.unwrap();
            assert!(
                series.iter().any(|s| s["metric"][label].is_string()),
                "{definition}: no {label} values"
            );
        }
    }
}
