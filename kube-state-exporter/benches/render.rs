//! Render cost per object: the time `render` takes to turn one decoded pod
//! (three containers, requests and limits, labels, an owner, running and
//! ready) into its stored lines, with the default families (opt-in ones
//! off, labels allowlisted as `pods=[*]`). KSM's own BenchmarkPodStore
//! measures the same step at about 12 µs per pod.
//!
//! `cargo bench -p kube-state-exporter --bench render`

use std::hint::black_box;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube_state_exporter::family::RenderConfig;
use kube_state_exporter::filters::MetricFilter;
use kube_state_exporter::labels::AllowList;
use kube_state_exporter::resources::{Resource, render};
use serde_json::json;

fn container(name: &str, port: u16) -> serde_json::Value {
    json!({
        "name": name,
        "image": format!("registry.example/{name}:1.4.2"),
        "ports": [{"containerPort": port, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "1Gi"},
            "limits": {"cpu": "1", "memory": "512Mi"}
        },
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port}}
    })
}

fn status(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "image": format!("registry.example/{name}:1.4.2"),
        "imageID": format!("registry.example/{name}@sha256:4f1c9b2e7d"),
        "containerID": format!("containerd://{name}8c2d41f0"),
        "ready": true,
        "started": true,
        "restartCount": 2,
        "state": {"running": {"startedAt": "2026-11-24T10:00:00Z"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
            "startedAt": "2026-11-24T09:00:00Z", "finishedAt": "2026-11-24T09:59:00Z"}}
    })
}

fn pod() -> Pod {
    let conditions: Vec<_> = ["Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": "2026-11-24T10:00:00Z"}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {
            "name": "checkout-7d4b9c6f5-x2kfp", "namespace": "shop",
            "uid": "0b9f6c1e-3d2a-4c8e-9f1b-2a7d5e6c4b3a",
            "creationTimestamp": "2026-11-24T09:00:00Z",
            "labels": {"app": "checkout", "pod-template-hash": "7d4b9c6f5", "team": "payments"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": "checkout-7d4b9c6f5", "uid": "r1", "controller": true}]
        },
        "spec": {
            "nodeName": "node-17",
            "containers": [container("app", 8080), container("sidecar", 15001), container("metrics", 9100)],
            "restartPolicy": "Always",
            "serviceAccountName": "checkout",
            "schedulerName": "default-scheduler",
            "priorityClassName": "standard",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                "effect": "NoExecute", "tolerationSeconds": 300}]
        },
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "10.0.3.17",
            "podIP": "10.244.17.42",
            "podIPs": [{"ip": "10.244.17.42"}],
            "startTime": "2026-11-24T10:00:00Z",
            "containerStatuses": [status("app"), status("sidecar"), status("metrics")],
            "qosClass": "Burstable"
        }
    }))
    .expect("the benchmark pod decodes")
}

fn main() {
    let pod = pod();
    let filter = MetricFilter::new(&[], &[], &[]).expect("no flags");
    let labels = AllowList::parse("--metric-labels-allowlist", "pods=[*]").expect("valid");
    let config = RenderConfig {
        enabled: Pod::families()
            .iter()
            .map(|f| filter.includes(f.name, f.opt_in))
            .collect(),
        labels: labels.for_resource("pods"),
        ..RenderConfig::default()
    };
    let size = render(&pod, &config).len();
    for _ in 0..10_000 {
        black_box(render(black_box(&pod), &config));
    }
    const ROUNDS: u32 = 5;
    const PER_ROUND: u32 = 100_000;
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(render(black_box(&pod), &config));
        }
        best = best.min(started.elapsed().as_secs_f64() / f64::from(PER_ROUND));
    }
    println!(
        "render one pod (3 containers): {:.2} µs, {size} bytes of series (best of {ROUNDS} rounds of {PER_ROUND})",
        best * 1e6
    );
}
