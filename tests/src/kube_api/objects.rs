//! Builders for realistic objects, shaped like what a small cluster returns,
//! for tests and the benchmark server to create. Tweak the returned `Value`
//! for anything unusual.

use serde_json::{Value, json};

use super::util;

fn now() -> String {
    util::rfc3339(util::now_seconds())
}

/// A minimal object of any served kind: `apiVersion`, `kind` and metadata.
pub fn object(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
    if let Some(namespace) = namespace {
        object["metadata"]["namespace"] = json!(namespace);
    }
    object
}

/// An active namespace.
pub fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })
}

/// A ready worker node with 4 CPUs, 16 GiB and room for 110 pods.
pub fn node(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "standard-4"
            }
        },
        "spec": {"podCIDR": "10.244.0.0/24", "providerID": format!("fake://{name}")},
        "status": {
            "capacity": {"cpu": "4", "memory": "16384Mi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "3800m", "memory": "15000Mi", "pods": "110", "ephemeral-storage": "95Gi"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastHeartbeatTime": now(), "lastTransitionTime": now()},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "lastHeartbeatTime": now(), "lastTransitionTime": now()},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "lastHeartbeatTime": now(), "lastTransitionTime": now()},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now(), "lastTransitionTime": now()}
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "kubeletVersion": "v1.34.0",
                "kubeProxyVersion": "v1.34.0",
                "containerRuntimeVersion": "containerd://2.1.4",
                "osImage": "Debian GNU/Linux 13 (trixie)",
                "kernelVersion": "6.12.41-amd64",
                "operatingSystem": "linux",
                "architecture": "amd64"
            }
        }
    })
}

fn container(name: &str, image: &str, port: Option<u16>) -> Value {
    let mut container = json!({
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {
            "requests": {"cpu": "100m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"}
        }
    });
    if let Some(port) = port {
        container["ports"] = json!([{"containerPort": port, "protocol": "TCP"}]);
    }
    container
}

fn container_status(name: &str, image: &str, started: &str) -> Value {
    json!({
        "name": name,
        "image": image,
        "imageID": format!("{image}@sha256:{}", "0".repeat(64)),
        "containerID": format!("containerd://{}", util::new_uid().replace('-', "")),
        "ready": true,
        "started": true,
        "restartCount": 0,
        "state": {"running": {"startedAt": started}}
    })
}

/// A running, ready pod with three containers (app, sidecar, metrics) on
/// `node-0`, labelled `app: <name>`.
pub fn pod(namespace: &str, name: &str) -> Value {
    let started = now();
    let images = [
        ("app", "registry.example/app:1.4.2", Some(8080)),
        ("sidecar", "registry.example/proxy:2.0.1", Some(15001)),
        ("metrics", "registry.example/exporter:0.9.0", Some(9100)),
    ];
    let containers: Vec<Value> = images.iter().map(|(n, i, p)| container(n, i, *p)).collect();
    let statuses: Vec<Value> = images
        .iter()
        .map(|(n, i, _)| container_status(n, i, &started))
        .collect();
    let conditions: Vec<Value> = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|kind| json!({"type": kind, "status": "True", "lastTransitionTime": started}))
    .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "nodeName": "node-0",
            "containers": containers,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "priority": 0
        },
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "10.0.0.10",
            "podIP": "10.244.0.10",
            "podIPs": [{"ip": "10.244.0.10"}],
            "startTime": started,
            "containerStatuses": statuses,
            "qosClass": "Burstable"
        }
    })
}

/// A deployment of `replicas` pods, all updated, ready and available.
pub fn deployment(namespace: &str, name: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container("app", "registry.example/app:1.4.2", Some(8080))]}
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastUpdateTime": now(), "lastTransitionTime": now()},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastUpdateTime": now(), "lastTransitionTime": now()}
            ]
        }
    })
}
