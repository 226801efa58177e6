//! kube-state-exporter against the in-repo fake API server, reached through
//! an ordinary kubeconfig.

use e2e::http;
use e2e::kube_api::{FakeApiServer, pod};
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
