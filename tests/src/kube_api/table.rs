//! Server-side printing: the `meta.k8s.io` Table that `kubectl get` asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`). The columns
//! follow kube-apiserver's printers, simplified; kubectl adds NAMESPACE
//! itself from each row's object metadata.

use serde_json::{Value, json};

use super::discovery::Resource;
use super::query::Include;
use super::util;

struct Column {
    name: &'static str,
    kind: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    priority: u8,
    cell: fn(&Value) -> Value,
}

const fn column(
    name: &'static str,
    kind: &'static str,
    priority: u8,
    cell: fn(&Value) -> Value,
) -> Column {
    Column {
        name,
        kind,
        priority,
        cell,
    }
}

/// A string field, `<none>` when absent.
fn text(object: &Value, pointer: &str) -> Value {
    match object.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

/// An integer field, 0 when absent.
fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn name(object: &Value) -> Value {
    object["metadata"]["name"].clone()
}

fn age(object: &Value) -> Value {
    object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(util::parse_rfc3339)
        .map_or(json!("<unknown>"), |created| {
            json!(util::human_duration(util::now_seconds() - created))
        })
}

fn pod_ready(pod: &Value) -> Value {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let ready = statuses
        .iter()
        .filter(|s| s["ready"] == json!(true))
        .count();
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    json!(format!("{ready}/{total}"))
}

fn pod_status(pod: &Value) -> Value {
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return json!("Terminating");
    }
    let mut reason = pod["status"]["reason"]
        .as_str()
        .or(pod["status"]["phase"].as_str())
        .unwrap_or("Unknown")
        .to_owned();
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for status in statuses.iter().rev() {
        let state = &status["state"];
        if let Some(waiting) = state["waiting"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty())
        {
            reason = waiting.to_owned();
        } else if let Some(terminated) = state["terminated"]["reason"].as_str() {
            reason = terminated.to_owned();
        }
    }
    json!(reason)
}

fn pod_restarts(pod: &Value) -> Value {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let restarts: i64 = statuses
        .iter()
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    json!(restarts.to_string())
}

fn node_status(node: &Value) -> Value {
    let conditions = node["status"]["conditions"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let ready = conditions
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            if c["status"] == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        })
        .unwrap_or("Unknown");
    if node["spec"]["unschedulable"] == json!(true) {
        json!(format!("{ready},SchedulingDisabled"))
    } else {
        json!(ready)
    }
}

fn node_roles(node: &Value) -> Value {
    let roles: Vec<&str> = node["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels
                .keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    json!(if roles.is_empty() {
        "<none>".to_owned()
    } else {
        roles.join(",")
    })
}

fn service_ports(service: &Value) -> Value {
    let ports: Vec<String> = service["spec"]["ports"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
        .collect();
    json!(if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    })
}

static POD: [Column; 8] = [
    column("Name", "string", 0, name),
    column("Ready", "string", 0, pod_ready),
    column("Status", "string", 0, pod_status),
    column("Restarts", "string", 0, pod_restarts),
    column("Age", "string", 0, age),
    column("IP", "string", 1, |p| text(p, "/status/podIP")),
    column("Node", "string", 1, |p| text(p, "/spec/nodeName")),
    column("Nominated Node", "string", 1, |p| {
        text(p, "/status/nominatedNodeName")
    }),
];

static NODE: [Column; 6] = [
    column("Name", "string", 0, name),
    column("Status", "string", 0, node_status),
    column("Roles", "string", 0, node_roles),
    column("Age", "string", 0, age),
    column("Version", "string", 0, |n| {
        text(n, "/status/nodeInfo/kubeletVersion")
    }),
    column("Container-Runtime", "string", 1, |n| {
        text(n, "/status/nodeInfo/containerRuntimeVersion")
    }),
];

static NAMESPACE: [Column; 3] = [
    column("Name", "string", 0, name),
    column("Status", "string", 0, |n| text(n, "/status/phase")),
    column("Age", "string", 0, age),
];

static SERVICE: [Column; 5] = [
    column("Name", "string", 0, name),
    column("Type", "string", 0, |s| text(s, "/spec/type")),
    column("Cluster-IP", "string", 0, |s| text(s, "/spec/clusterIP")),
    column("Port(s)", "string", 0, service_ports),
    column("Age", "string", 0, age),
];

static DEPLOYMENT: [Column; 5] = [
    column("Name", "string", 0, name),
    column("Ready", "string", 0, |d| {
        json!(format!(
            "{}/{}",
            int(d, "/status/readyReplicas"),
            int(d, "/spec/replicas")
        ))
    }),
    column("Up-to-date", "integer", 0, |d| {
        json!(int(d, "/status/updatedReplicas"))
    }),
    column("Available", "integer", 0, |d| {
        json!(int(d, "/status/availableReplicas"))
    }),
    column("Age", "string", 0, age),
];

static REPLICASET: [Column; 5] = [
    column("Name", "string", 0, name),
    column("Desired", "integer", 0, |r| json!(int(r, "/spec/replicas"))),
    column("Current", "integer", 0, |r| {
        json!(int(r, "/status/replicas"))
    }),
    column("Ready", "integer", 0, |r| {
        json!(int(r, "/status/readyReplicas"))
    }),
    column("Age", "string", 0, age),
];

static DAEMONSET: [Column; 7] = [
    column("Name", "string", 0, name),
    column("Desired", "integer", 0, |d| {
        json!(int(d, "/status/desiredNumberScheduled"))
    }),
    column("Current", "integer", 0, |d| {
        json!(int(d, "/status/currentNumberScheduled"))
    }),
    column("Ready", "integer", 0, |d| {
        json!(int(d, "/status/numberReady"))
    }),
    column("Up-to-date", "integer", 0, |d| {
        json!(int(d, "/status/updatedNumberScheduled"))
    }),
    column("Available", "integer", 0, |d| {
        json!(int(d, "/status/numberAvailable"))
    }),
    column("Age", "string", 0, age),
];

static STATEFULSET: [Column; 3] = [
    column("Name", "string", 0, name),
    column("Ready", "string", 0, |s| {
        json!(format!(
            "{}/{}",
            int(s, "/status/readyReplicas"),
            int(s, "/spec/replicas")
        ))
    }),
    column("Age", "string", 0, age),
];

static JOB: [Column; 3] = [
    column("Name", "string", 0, name),
    column("Completions", "string", 0, |j| {
        let wanted = j
            .pointer("/spec/completions")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        json!(format!("{}/{wanted}", int(j, "/status/succeeded")))
    }),
    column("Age", "string", 0, age),
];

static CRONJOB: [Column; 5] = [
    column("Name", "string", 0, name),
    column("Schedule", "string", 0, |c| text(c, "/spec/schedule")),
    column("Suspend", "boolean", 0, |c| {
        json!(c.pointer("/spec/suspend") == Some(&json!(true)))
    }),
    column("Active", "integer", 0, |c| {
        json!(
            c.pointer("/status/active")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        )
    }),
    column("Age", "string", 0, age),
];

static CLAIM: [Column; 5] = [
    column("Name", "string", 0, name),
    column("Status", "string", 0, |c| text(c, "/status/phase")),
    column("Volume", "string", 0, |c| text(c, "/spec/volumeName")),
    column("Capacity", "string", 0, |c| {
        text(c, "/status/capacity/storage")
    }),
    column("Age", "string", 0, age),
];

static VOLUME: [Column; 5] = [
    column("Name", "string", 0, name),
    column("Capacity", "string", 0, |v| {
        text(v, "/spec/capacity/storage")
    }),
    column("Reclaim Policy", "string", 0, |v| {
        text(v, "/spec/persistentVolumeReclaimPolicy")
    }),
    column("Status", "string", 0, |v| text(v, "/status/phase")),
    column("Age", "string", 0, age),
];

fn columns(resource: &Resource) -> &'static [Column] {
    match resource.plural {
        "pods" => &POD,
        "nodes" => &NODE,
        "namespaces" => &NAMESPACE,
        "services" => &SERVICE,
        "deployments" => &DEPLOYMENT,
        "replicasets" => &REPLICASET,
        "daemonsets" => &DAEMONSET,
        "statefulsets" => &STATEFULSET,
        "jobs" => &JOB,
        "cronjobs" => &CRONJOB,
        "persistentvolumeclaims" => &CLAIM,
        _ => &VOLUME,
    }
}

/// `object` reduced to its metadata, as `PartialObjectMetadata`.
pub fn partial_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object["metadata"],
    })
}

/// A Table of `objects` with list metadata `metadata`.
pub fn table(
    resource: &Resource,
    objects: &[&Value],
    api_version: &str,
    include: Include,
    metadata: Value,
) -> Value {
    let columns = columns(resource);
    let definitions: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": if c.name == "Name" { "name" } else { "" },
                "description": "",
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let cells: Vec<Value> = columns.iter().map(|c| (c.cell)(object)).collect();
            let mut row = json!({"cells": cells});
            match include {
                Include::None => {}
                Include::Metadata => row["object"] = partial_metadata(object),
                Include::Object => row["object"] = (*object).clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}
