//! Pods: `kube_pod_*`, identity labels `namespace`, `pod`, `uid`.
//!
//! The families so far are a first part of KSM's sixty; the rest follow in
//! the same table.

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client};

use super::common::{bool_label, condition, flag, owners, quantity_milli, quantity_value, unix};
use super::{Resource, namespaced_api};
use crate::family::{Family, Kind, Series, Stability};

impl Resource for Pod {
    const NAME: &'static str = "pods";
    const NAMESPACED: bool = true;

    fn families() -> &'static [Family<Pod>] {
        FAMILIES
    }

    fn identity(&self) -> Vec<(&'static str, &str)> {
        let meta = &self.metadata;
        vec![
            ("namespace", meta.namespace.as_deref().unwrap_or_default()),
            ("pod", meta.name.as_deref().unwrap_or_default()),
            ("uid", meta.uid.as_deref().unwrap_or_default()),
        ]
    }

    fn api(client: Client, namespace: Option<&str>) -> Api<Pod> {
        namespaced_api(client, namespace)
    }
}

/// Each container status's name and one value of it.
fn per_container(
    pod: &Pod,
    series: &mut Series<'_>,
    value: impl Fn(&k8s_openapi::api::core::v1::ContainerStatus) -> f64,
) {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    for status in statuses.into_iter().flatten() {
        series.add(&[("container", &status.name)], value(status));
    }
}

const FAMILIES: &[Family<Pod>] = &[
    Family {
        name: "kube_pod_container_resource_limits",
        help: "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| container_resources(pod, series, true),
    },
    Family {
        name: "kube_pod_container_resource_requests",
        help: "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| container_resources(pod, series, false),
    },
    Family {
        name: "kube_pod_container_status_ready",
        help: "Describes whether the containers readiness check succeeded.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| per_container(pod, series, |s| flag(s.ready)),
    },
    Family {
        name: "kube_pod_container_status_restarts_total",
        help: "The number of container restarts per container.",
        kind: Kind::Counter,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| per_container(pod, series, |s| f64::from(s.restart_count)),
    },
    Family {
        name: "kube_pod_container_status_running",
        help: "Describes whether the container is currently in running state.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| {
            per_container(pod, series, |s| {
                flag(
                    s.state
                        .as_ref()
                        .is_some_and(|state| state.running.is_some()),
                )
            })
        },
    },
    Family {
        name: "kube_pod_created",
        help: "Unix creation timestamp",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| {
            if let Some(created) = &pod.metadata.creation_timestamp {
                series.add(&[], unix(created));
            }
        },
    },
    Family {
        name: "kube_pod_deletion_timestamp",
        help: "Unix deletion timestamp",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |pod, series| {
            if let Some(deleted) = &pod.metadata.deletion_timestamp {
                series.add(&[], unix(deleted));
            }
        },
    },
    Family {
        name: "kube_pod_info",
        help: "Information about pod.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| {
            let spec = pod.spec.as_ref();
            let status = pod.status.as_ref();
            let controller = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|owner| owner.controller == Some(true));
            let (created_by_kind, created_by_name) = controller
                .map(|o| (o.kind.as_str(), o.name.as_str()))
                .unwrap_or(("<none>", "<none>"));
            let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
            series.add(
                &[
                    (
                        "host_ip",
                        status
                            .and_then(|s| s.host_ip.as_deref())
                            .unwrap_or_default(),
                    ),
                    (
                        "pod_ip",
                        status.and_then(|s| s.pod_ip.as_deref()).unwrap_or_default(),
                    ),
                    (
                        "node",
                        spec.and_then(|s| s.node_name.as_deref())
                            .unwrap_or_default(),
                    ),
                    ("created_by_kind", created_by_kind),
                    ("created_by_name", created_by_name),
                    (
                        "priority_class",
                        spec.and_then(|s| s.priority_class_name.as_deref())
                            .unwrap_or_default(),
                    ),
                    ("host_network", bool_label(host_network)),
                ],
                1.0,
            );
        },
    },
    Family {
        name: "kube_pod_annotations",
        help: "Kubernetes annotations converted to Prometheus labels.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |pod, series| series.allowlisted("annotation", pod.metadata.annotations.as_ref()),
    },
    Family {
        name: "kube_pod_labels",
        help: "Kubernetes labels converted to Prometheus labels.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| series.allowlisted("label", pod.metadata.labels.as_ref()),
    },
    Family {
        name: "kube_pod_owner",
        help: "Information about the Pod's owner.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| owners(series, pod.metadata.owner_references.as_ref()),
    },
    Family {
        name: "kube_pod_start_time",
        help: "Start time in unix timestamp for a pod.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| {
            if let Some(started) = pod.status.as_ref().and_then(|s| s.start_time.as_ref()) {
                series.add(&[], unix(started));
            }
        },
    },
    Family {
        name: "kube_pod_status_phase",
        help: "The pods current phase.",
        kind: Kind::StateSet,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| {
            // A pod without a phase (not yet seen by the scheduler) has no series.
            if let Some(phase) = pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
                series.state_set(
                    "phase",
                    &["Pending", "Succeeded", "Failed", "Unknown", "Running"],
                    phase,
                );
            }
        },
    },
    Family {
        name: "kube_pod_status_ready",
        help: "Describes whether the pod is ready to serve requests.",
        kind: Kind::StateSet,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| pod_condition(pod, series, "Ready"),
    },
    Family {
        name: "kube_pod_status_scheduled",
        help: "Describes the status of the scheduling process for the pod.",
        kind: Kind::StateSet,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pod, series| pod_condition(pod, series, "PodScheduled"),
    },
];

/// The `condition` state set of the pod condition `kind`, if the pod has it.
fn pod_condition(pod: &Pod, series: &mut Series<'_>, kind: &str) {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    for c in conditions.into_iter().flatten().filter(|c| c.type_ == kind) {
        condition(series, &[], "condition", &c.status);
    }
}

/// KSM's container requests and limits: CPU in cores, memory and storage
/// in bytes, huge pages and attachable volumes in bytes, extended resources
/// (`vendor.example/gpu`) as integers.
fn container_resources(pod: &Pod, series: &mut Series<'_>, limits: bool) {
    let Some(spec) = &pod.spec else {
        return;
    };
    let node = spec.node_name.as_deref().unwrap_or_default();
    for container in &spec.containers {
        let resources = container.resources.as_ref();
        let amounts = resources.and_then(|r| {
            if limits {
                r.limits.as_ref()
            } else {
                r.requests.as_ref()
            }
        });
        for (resource, amount) in amounts.into_iter().flatten() {
            let (value, unit) = match resource.as_str() {
                "cpu" => (quantity_milli(amount), "core"),
                "memory" | "storage" | "ephemeral-storage" => (quantity_value(amount), "byte"),
                r if r.starts_with("hugepages-") || r.starts_with("attachable-volumes-") => {
                    (quantity_value(amount), "byte")
                }
                r if is_extended(r) => (quantity_value(amount), "integer"),
                _ => continue,
            };
            let Some(value) = value else {
                continue;
            };
            let resource = crate::labels::sanitize(resource);
            series.add(
                &[
                    ("container", &container.name),
                    ("node", node),
                    ("resource", &resource),
                    ("unit", unit),
                ],
                value,
            );
        }
    }
}

/// Kubernetes' extended resources: a domain-prefixed name outside
/// `kubernetes.io/` and not a `requests.` quota name.
fn is_extended(resource: &str) -> bool {
    resource.contains('/')
        && !resource.contains("kubernetes.io/")
        && !resource.starts_with("requests.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::RenderConfig;
    use crate::resources::render;

    /// Every line the pod renders, families in order.
    fn lines(pod: serde_json::Value) -> String {
        let pod: Pod = serde_json::from_value(pod).unwrap();
        let config = RenderConfig {
            enabled: vec![true; FAMILIES.len()].into(),
            ..RenderConfig::default()
        };
        let rendered = render(&pod, &config);
        (0..FAMILIES.len())
            .map(|i| String::from_utf8(rendered.family(i).to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn a_pending_pod_with_resources_and_a_crashing_container() {
        let text = lines(serde_json::json!({
            "metadata": {
                "name": "p", "namespace": "ns", "uid": "u1",
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r", "controller": true}]
            },
            "spec": {
                "nodeName": "n1",
                "containers": [{
                    "name": "app",
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "64Mi", "example.com/gpu": "1", "ephemeral-storage": "1Gi"},
                        "limits": {"cpu": "1", "memory": "128M"}
                    }
                }]
            },
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "Maybe"}],
                "containerStatuses": [{
                    "name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}}
                }]
            }
        }));
        let id = "namespace=\"ns\",pod=\"p\",uid=\"u1\"";
        for expected in [
            format!(
                "kube_pod_container_resource_limits{{{id},container=\"app\",node=\"n1\",resource=\"cpu\",unit=\"core\"}} 1\n"
            ),
            format!(
                "kube_pod_container_resource_limits{{{id},container=\"app\",node=\"n1\",resource=\"memory\",unit=\"byte\"}} 1.28e+08\n"
            ),
            format!(
                "kube_pod_container_resource_requests{{{id},container=\"app\",node=\"n1\",resource=\"cpu\",unit=\"core\"}} 0.25\n"
            ),
            format!(
                "kube_pod_container_resource_requests{{{id},container=\"app\",node=\"n1\",resource=\"ephemeral_storage\",unit=\"byte\"}} 1.073741824e+09\n"
            ),
            format!(
                "kube_pod_container_resource_requests{{{id},container=\"app\",node=\"n1\",resource=\"example_com_gpu\",unit=\"integer\"}} 1\n"
            ),
            format!(
                "kube_pod_container_resource_requests{{{id},container=\"app\",node=\"n1\",resource=\"memory\",unit=\"byte\"}} 6.7108864e+07\n"
            ),
            format!("kube_pod_container_status_ready{{{id},container=\"app\"}} 0\n"),
            format!("kube_pod_container_status_restarts_total{{{id},container=\"app\"}} 7\n"),
            format!("kube_pod_container_status_running{{{id},container=\"app\"}} 0\n"),
            format!("kube_pod_created{{{id}}} 1.7040672e+09\n"),
            format!(
                "kube_pod_info{{{id},host_ip=\"\",pod_ip=\"\",node=\"n1\",created_by_kind=\"ReplicaSet\",created_by_name=\"rs\",priority_class=\"\",host_network=\"false\"}} 1\n"
            ),
            format!(
                "kube_pod_owner{{{id},owner_kind=\"ReplicaSet\",owner_name=\"rs\",owner_is_controller=\"true\"}} 1\n"
            ),
            format!("kube_pod_status_phase{{{id},phase=\"Pending\"}} 1\n"),
            format!("kube_pod_status_phase{{{id},phase=\"Running\"}} 0\n"),
            format!("kube_pod_status_ready{{{id},condition=\"false\"}} 1\n"),
            format!("kube_pod_status_scheduled{{{id},condition=\"true\"}} 0\n"),
            format!("kube_pod_status_scheduled{{{id},condition=\"unknown\"}} 0\n"),
        ] {
            assert!(text.contains(&expected), "missing {expected}in\n{text}");
        }
        assert!(!text.contains("kube_pod_start_time"), "no start time yet");
        assert!(
            !text.contains("kube_pod_labels"),
            "labels need the allowlist"
        );
    }

    #[test]
    fn a_pod_with_nothing_but_a_name_renders_without_panicking() {
        let text = lines(serde_json::json!({"metadata": {"name": "bare"}}));
        assert!(
            text.contains(
                "kube_pod_owner{namespace=\"\",pod=\"bare\",uid=\"\",owner_kind=\"<none>\""
            ),
            "{text}"
        );
        assert!(!text.contains("kube_pod_status_phase"), "{text}");
    }
}
