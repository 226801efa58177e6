//! kube-state-exporter against the in-repo fake API server, reached through
//! an ordinary kubeconfig.

use e2e::http;
use e2e::kube_api::{FakeApiServer, deployment, namespace, node, object, pod};
use e2e::process::{Running, run_to_exit};
use e2e::wait::{self, PATIENCE};
use serde_json::json;

/// The exporter with `extra` flags; `addresses[0]` serves the objects'
/// metrics, `addresses[1]` the exporter's own.
fn exporter(api: &FakeApiServer, dir: &std::path::Path, extra: &[&str]) -> Running {
    let kubeconfig = api.kubeconfig(dir);
    let mut args = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--host=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        "--telemetry-host=127.0.0.1".to_owned(),
        "--telemetry-port=0".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Running::start(&e2e::binary::path("kube-state-exporter"), &args, &[], 2)
}

async fn scrape(running: &Running, path: &str) -> String {
    let response = http::get(running.addresses[0], path).await.unwrap();
    assert_eq!(response.status, 200);
    response.text()
}

/// Scrapes until `check` holds, failing after the test's patience.
async fn scrape_until(running: &Running, what: &str, check: impl Fn(&str) -> bool) -> String {
    wait::until_async(PATIENCE, what, || async {
        let text = scrape(running, "/metrics").await;
        check(&text).then_some(text)
    })
    .await
}

async fn wait_ready(running: &Running) {
    wait::until_async(PATIENCE, "the first lists", || async {
        let response = http::get(running.addresses[0], "/readyz").await.ok()?;
        (response.status == 200).then_some(())
    })
    .await;
}

fn uid(object: &serde_json::Value) -> &str {
    object["metadata"]["uid"].as_str().unwrap()
}

#[tokio::test]
async fn watches_follow_changes_reconnects_and_relists() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let a = api.create(pod("default", "a"));
    api.create(pod("default", "b"));
    let running = exporter(&api, dir.path(), &[]);
    wait_ready(&running).await;

    let text = scrape(&running, "/metrics").await;
    let info = format!(
        "kube_pod_info{{namespace=\"default\",pod=\"a\",uid=\"{}\",host_ip=\"10.0.0.10\",pod_ip=\"10.244.0.10\",node=\"node-0\",created_by_kind=\"\",created_by_name=\"\",priority_class=\"\",host_network=\"false\"}} 1\n",
        uid(&a)
    );
    assert!(text.contains(&info), "{text}");
    assert!(
        text.contains(
            "# HELP kube_pod_info [STABLE] Information about pod.\n# TYPE kube_pod_info gauge\n"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("# HELP kube_pod_status_phase ").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "kube_pod_status_phase{{namespace=\"default\",pod=\"a\",uid=\"{}\",phase=\"Running\"}} 1\n",
            uid(&a)
        )),
        "{text}"
    );
    let verdict = e2e::tools::promtool_check_metrics(&text).expect("promtool accepts it");
    assert!(verdict.lint.is_empty(), "{:?}", verdict.lint);

    // An update and a delete arrive through the watch.
    let mut failed = api.get("pods", Some("default"), "a").unwrap();
    failed["status"]["phase"] = json!("Failed");
    api.update(failed);
    api.delete("pods", Some("default"), "b");
    scrape_until(&running, "the update and the delete", |text| {
        text.contains("pod=\"a\"")
            && text.contains("phase=\"Failed\"} 1")
            && !text.contains("pod=\"b\"")
    })
    .await;

    // A dropped watch: the exporter reconnects and sees what came after.
    let watches = api.watch_requests("pods");
    api.drop_watches();
    api.create(pod("default", "c"));
    scrape_until(&running, "pod c after the dropped watch", |text| {
        text.contains("pod=\"c\"")
    })
    .await;
    assert!(api.watch_requests("pods") > watches);

    // Down for a while, history compacted (410 Gone on resuming), an object
    // deleted meanwhile: the relist removes it and adds what is new.
    api.stop();
    api.delete("pods", Some("default"), "a");
    api.create(pod("default", "d"));
    api.compact();
    api.restart();
    let text = scrape_until(&running, "the relist after 410 Gone", |text| {
        text.contains("pod=\"d\"") && !text.contains("pod=\"a\"")
    })
    .await;
    assert_eq!(
        text.matches("kube_pod_created{").count(),
        2,
        "c and d: {text}"
    );

    let telemetry = http::get(running.addresses[1], "/metrics")
        .await
        .unwrap()
        .text();
    assert!(
        telemetry.contains("kube_state_metrics_list_total{resource=\"pods\",result=\"success\"}"),
        "{telemetry}"
    );
    assert!(
        telemetry.contains("process_resident_memory_bytes"),
        "{telemetry}"
    );
    assert!(
        !text.contains("process_"),
        "own metrics stay on the telemetry port"
    );
}

#[tokio::test]
async fn allowlists_denylists_and_resource_filters() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut labelled = pod("default", "web");
    labelled["metadata"]["labels"] =
        json!({"app": "web", "app.kubernetes.io/name": "shop", "team": "x"});
    labelled["metadata"]["annotations"] = json!({"note": "hi"});
    api.create(labelled);

    let plain = exporter(&api, dir.path(), &[]);
    wait_ready(&plain).await;
    let text = scrape(&plain, "/metrics").await;
    assert!(
        text.contains(
            "# HELP kube_pod_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("kube_pod_labels{"),
        "labels need the allowlist: {text}"
    );

    let filtered = exporter(
        &api,
        dir.path(),
        &[
            "--metric-labels-allowlist=pods=[app,app.kubernetes.io/*]",
            "--metric-annotations-allowlist=*=[*]",
            "--metric-denylist=kube_pod_owner,^kube_pod_container_",
        ],
    );
    wait_ready(&filtered).await;
    let text = scrape(&filtered, "/metrics").await;
    assert!(
        text.contains(",label_app=\"web\",label_app_kubernetes_io_name=\"shop\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("label_team"), "{text}");
    assert!(text.contains(",annotation_note=\"hi\"} 1\n"), "{text}");
    assert!(!text.contains("kube_pod_owner"), "{text}");
    assert!(!text.contains("kube_pod_container_"), "{text}");
    assert!(text.contains("kube_pod_info{"), "{text}");

    assert!(
        scrape(&filtered, "/metrics?resources=pods")
            .await
            .contains("kube_pod_info{")
    );
    assert_eq!(
        scrape(&filtered, "/metrics?exclude_resources=pods").await,
        ""
    );

    // gzip and OpenMetrics come from the shared server.
    let response = http::send(
        filtered.addresses[0],
        None,
        "GET",
        "/metrics",
        &[
            ("accept-encoding", "gzip"),
            ("accept", "application/openmetrics-text;version=1.0.0"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    let text = response.text();
    assert!(
        text.contains("kube_pod_info{") && text.ends_with("# EOF\n"),
        "{text}"
    );
}

/// One object of every kind the exporter watches, as a small cluster has them.
fn one_of_each(api: &FakeApiServer) {
    api.create(namespace("shop"));
    api.create(node("node-0"));
    api.create(pod("shop", "web-0"));
    api.create(deployment("shop", "web", 3));
    let workload =
        |api_version: &str, kind: &str, spec: serde_json::Value, status: serde_json::Value| {
            let mut o = object(
                api_version,
                kind,
                Some("shop"),
                &format!("{}-x", kind.to_lowercase()),
            );
            o["spec"] = spec;
            o["status"] = status;
            api.create(o);
        };
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let selector = json!({"matchLabels": {"app": "x"}});
    workload(
        "apps/v1",
        "ReplicaSet",
        json!({"replicas": 2, "selector": selector, "template": template}),
        json!({"replicas": 2, "readyReplicas": 1}),
    );
    workload(
        "apps/v1",
        "DaemonSet",
        json!({"selector": selector, "template": template}),
        json!({"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0, "numberReady": 2}),
    );
    workload(
        "apps/v1",
        "StatefulSet",
        json!({"replicas": 3, "selector": selector, "serviceName": "db", "template": template}),
        json!({"replicas": 3, "readyReplicas": 3}),
    );
    workload(
        "batch/v1",
        "Job",
        json!({"template": template, "completions": 1}),
        json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    workload(
        "batch/v1",
        "CronJob",
        json!({"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}),
        json!({}),
    );
    workload(
        "v1",
        "Service",
        json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"port": 80}]}),
        json!({}),
    );
    workload(
        "v1",
        "PersistentVolumeClaim",
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard"}),
        json!({"phase": "Bound"}),
    );
    let mut volume = object("v1", "PersistentVolume", None, "pv-0");
    volume["spec"] = json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}});
    volume["status"] = json!({"phase": "Bound"});
    api.create(volume);
}

#[tokio::test]
async fn every_resource_renders_and_promtool_accepts_the_whole_output() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    one_of_each(&api);
    // A pod with a huge label set, all of them allowlisted.
    let mut crowded = pod("shop", "crowded");
    let labels: serde_json::Map<String, serde_json::Value> = (0..2000)
        .map(|i| (format!("example.com/key-{i}"), json!(format!("value-{i}"))))
        .collect();
    crowded["metadata"]["labels"] = serde_json::Value::Object(labels);
    api.create(crowded);

    let running = exporter(&api, dir.path(), &["--metric-labels-allowlist=*=[*]"]);
    wait_ready(&running).await;
    let text = scrape(&running, "/metrics").await;
    for family in [
        "kube_cronjob_info{",
        "kube_daemonset_status_number_ready{",
        "kube_deployment_spec_replicas{",
        "kube_job_complete{",
        "kube_namespace_status_phase{",
        "kube_node_info{",
        "kube_persistentvolumeclaim_info{",
        "kube_persistentvolume_info{",
        "kube_pod_info{",
        "kube_replicaset_spec_replicas{",
        "kube_service_info{",
        "kube_statefulset_replicas{",
    ] {
        assert!(text.contains(family), "no {family} in\n{text}");
    }
    let crowded_labels = text
        .lines()
        .find(|l| l.starts_with("kube_pod_labels{") && l.contains("pod=\"crowded\""))
        .expect("the crowded pod's labels");
    assert_eq!(
        crowded_labels.matches("label_example_com_key_").count(),
        2000
    );
    let verdict = e2e::tools::promtool_check_metrics(&text).expect("promtool accepts it");
    assert!(verdict.lint.is_empty(), "{:?}", verdict.lint);
}

#[tokio::test]
async fn namespaces_and_the_namespace_denylist_select_objects() {
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    for ns in ["a", "b", "c"] {
        api.create(namespace(ns));
        api.create(pod(ns, &format!("pod-in-{ns}")));
    }
    api.create(node("node-0"));
    let pods_in = |text: &str| -> Vec<String> {
        let mut found: Vec<String> = ["a", "b", "c"]
            .iter()
            .filter(|ns| {
                text.contains(&format!(
                    "kube_pod_created{{namespace=\"{ns}\",pod=\"pod-in-{ns}\""
                ))
            })
            .map(|ns| (*ns).to_owned())
            .collect();
        found.sort();
        found
    };

    // Two namespaces: one watch each for namespaced kinds, one for the
    // cluster-scoped ones (a node is not reported twice).
    let listed = exporter(&api, dir.path(), &["--namespaces=a,b"]);
    wait_ready(&listed).await;
    let text = scrape(&listed, "/metrics").await;
    assert_eq!(pods_in(&text), ["a", "b"], "{text}");
    assert_eq!(text.matches("kube_node_created{").count(), 1, "{text}");

    let denied = exporter(&api, dir.path(), &["--namespaces-denylist=a"]);
    wait_ready(&denied).await;
    let text = scrape(&denied, "/metrics").await;
    assert_eq!(pods_in(&text), ["b", "c"], "{text}");
    assert_eq!(
        text.matches("kube_namespace_created{").count(),
        3,
        "namespaces themselves are cluster-scoped: {text}"
    );
}

#[test]
fn configuration_errors_name_the_flag() {
    let binary = e2e::binary::path("kube-state-exporter");
    for (args, expected) in [
        (
            vec!["--metric-allowlist=a", "--metric-denylist=b"],
            "mutually exclusive",
        ),
        (vec!["--metric-denylist=(x"], "--metric-denylist: \"(x\""),
        (
            vec!["--namespaces=a", "--namespaces-denylist=b"],
            "mutually exclusive",
        ),
        (
            vec!["--resources=pods,bogus"],
            "--resources: unknown resource \"bogus\"",
        ),
        (
            vec!["--metric-labels-allowlist=pods=[app"],
            "--metric-labels-allowlist: ",
        ),
        (
            vec!["--kubeconfig=/nonexistent/kubeconfig"],
            "--kubeconfig=/nonexistent/kubeconfig: ",
        ),
    ] {
        let mut all = vec![
            "--port=0",
            "--telemetry-port=0",
            "--host=127.0.0.1",
            "--telemetry-host=127.0.0.1",
        ];
        all.extend(args.iter().copied());
        let (status, output) = run_to_exit(&binary, &all);
        assert!(!status.success(), "{args:?}: {output}");
        assert!(output.contains(expected), "{args:?}: {output}");
    }
}
