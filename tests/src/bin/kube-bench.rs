//! Benchmark: kube-state-exporter (release build) against the fake API
//! server holding a large cluster: time to ready, peak and steady memory,
//! full scrape time and size, memory per pod.
//!
//! Usage: `cargo run --release -p e2e --bin kube-bench -- [PODS]` (default
//! 100,000 pods of 3 containers, with PODS/20 nodes and PODS/10 deployments
//! and replica sets). Prints Markdown for BENCHMARKS.md.

use std::time::{Duration, Instant};

use e2e::bench::{median, usage};
use e2e::binary::{self, Profile};
use e2e::http;
use e2e::kube_api::{self, FakeApiServer, Options};
use e2e::process::Running;
use e2e::wait;
use serde_json::json;

const NAMESPACES: usize = 50;
const SCRAPES: usize = 5;

/// The cluster: namespaces, nodes, deployments each owning a replica set,
/// and pods owned by the replica sets, spread over the nodes.
fn populate(api: &FakeApiServer, pods: usize) {
    let nodes = (pods / 20).max(1);
    let deployments = (pods / 10).max(1);
    for n in 0..NAMESPACES {
        api.create(kube_api::namespace(&format!("ns-{n}")));
    }
    for n in 0..nodes {
        api.create(kube_api::node(&format!("node-{n}")));
    }
    for d in 0..deployments {
        let namespace = format!("ns-{}", d % NAMESPACES);
        let name = format!("app-{d}");
        let deployment = api.create(kube_api::deployment(&namespace, &name, 10));
        let mut replica_set = kube_api::object(
            "apps/v1",
            "ReplicaSet",
            Some(&namespace),
            &format!("{name}-7d4b9c"),
        );
        replica_set["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
            "uid": deployment["metadata"]["uid"], "controller": true
        }]);
        replica_set["spec"] = json!({"replicas": 10, "selector": {"matchLabels": {"app": name}}});
        replica_set["status"] = json!({"replicas": 10, "readyReplicas": 10, "availableReplicas": 10, "fullyLabeledReplicas": 10, "observedGeneration": 1});
        api.create(replica_set);
    }
    for p in 0..pods {
        let d = p % deployments;
        let namespace = format!("ns-{}", d % NAMESPACES);
        let mut pod = kube_api::pod(&namespace, &format!("app-{d}-7d4b9c-{p:05x}"));
        pod["spec"]["nodeName"] = json!(format!("node-{}", p % nodes));
        pod["metadata"]["labels"] =
            json!({"app": format!("app-{d}"), "pod-template-hash": "7d4b9c"});
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("app-{d}-7d4b9c"),
            "uid": format!("rs-{d}"), "controller": true, "blockOwnerDeletion": true
        }]);
        api.create(pod);
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pods: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("PODS is a number"))
        .unwrap_or(100_000);
    let binary = binary::build("kube-state-exporter", Profile::Release);
    let api = FakeApiServer::start_with(Options {
        // History is for watches that resume; the benchmark needs little.
        history_limit: 10_000,
        ..Options::default()
    })
    .expect("the fake API server starts");
    let populated = Instant::now();
    populate(&api, pods);
    eprintln!("cluster of {pods} pods built in {:?}", populated.elapsed());

    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = api.kubeconfig(dir.path());
    let started = Instant::now();
    let running = Running::start(
        &binary,
        &[
            &format!("--kubeconfig={}", kubeconfig.display()),
            "--host=127.0.0.1",
            "--port=0",
            "--telemetry-host=127.0.0.1",
            "--telemetry-port=0",
        ],
        &[],
        2,
    );
    wait::until_async(Duration::from_secs(900), "the first lists", || async {
        let response = http::get(running.addresses[0], "/readyz").await.ok()?;
        (response.status == 200).then_some(())
    })
    .await;
    let ready_after = started.elapsed();
    let after_start = usage(running.pid());

    let mut times = Vec::new();
    let mut size = 0;
    let cpu_before = after_start.cpu_seconds;
    for _ in 0..SCRAPES {
        let began = Instant::now();
        // Counted as it streams in, as Prometheus parses it: the time is the
        // exporter's, not that of a client buffering a gigabyte.
        let (status, bytes) = http::get_size(running.addresses[0], "/metrics")
            .await
            .expect("scrape");
        assert_eq!(status, 200, "scrape status");
        times.push(began.elapsed());
        size = bytes;
    }
    let scrape = median(&mut times);
    let after_scrapes = usage(running.pid());
    let cpu_per_scrape = (after_scrapes.cpu_seconds - cpu_before) / SCRAPES as f64;

    println!(
        "kube-state-exporter against the fake API server: {pods} pods (3 containers each), {} nodes, {} deployments and replica sets, {NAMESPACES} namespaces.\n",
        (pods / 20).max(1),
        (pods / 10).max(1)
    );
    println!("| figure | value |");
    println!("|---|---:|");
    println!("| time to ready | {:.1} s |", ready_after.as_secs_f64());
    println!(
        "| CPU time to ready (decoding and rendering every object) | {:.1} s |",
        after_start.cpu_seconds
    );
    println!(
        "| peak RSS during start-up | {:.1} MiB |",
        mib(after_start.peak_rss_bytes)
    );
    println!(
        "| steady RSS (after {SCRAPES} scrapes) | {:.1} MiB |",
        mib(after_scrapes.rss_bytes)
    );
    println!(
        "| peak RSS overall | {:.1} MiB |",
        mib(after_scrapes.peak_rss_bytes)
    );
    println!(
        "| full scrape, median of {SCRAPES} (wall time, body streamed and counted) | {:.0} ms |",
        scrape.as_secs_f64() * 1e3
    );
    println!(
        "| exporter CPU per full scrape | {:.0} ms |",
        cpu_per_scrape * 1e3
    );
    println!(
        "| scrape size (uncompressed) | {:.1} MiB |",
        mib(size as u64)
    );
    println!(
        "| steady RSS per pod | {:.0} bytes |",
        after_scrapes.rss_bytes as f64 / pods as f64
    );
    println!(
        "\nRatios: peak / steady RSS {:.2} (target ≤ 1.3); steady RSS / scrape size {:.2} (target ≤ 1.5).",
        after_scrapes.peak_rss_bytes as f64 / after_scrapes.rss_bytes as f64,
        after_scrapes.rss_bytes as f64 / size as f64,
    );
}
