//! Pods: `kube_pod_*`, identity labels `namespace`, `pod`, `uid`.
//!
//! The sixty families of kube-state-metrics v2.20, in the order KSM's pod
//! store lists its generators. Where the pod object lacks a field, the
//! series follow KSM: a missing timestamp inside a container state or a
//! condition counts as Go's zero time, an unset string as `""`.
//!
//! Read from KSM's `internal/store/pod.go` of v2.19/v2.20 and the v2.20
//! pull requests; not confirmed against the v2.20 source itself: the help
//! texts of the five families v2.20 added (init container start, last
//! terminated exit code and time, disruption reason, resource claims), the
//! places of the disruption reason and resource claim families in the
//! order, and which sources `kube_pod_status_reason` consults after
//! `status.reason`.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition,
    PodSpec, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Resource;
use super::common::{
    annotations, bool_label, condition, created, deletion_timestamp, flag, is_extended_resource,
    labels, owners, quantity_cores, quantity_value, resource_label, state_set_if_set, unix,
    unix_or_zero, value_if_set,
};
use crate::family::{Family, Series, experimental, stable};
use crate::labels::KeyFilter;

impl Resource for Pod {
    const NAME: &'static str = "pods";
    const NAME_LABEL: &'static str = "pod";
    const UID_LABEL: bool = true;

    fn families() -> &'static [Family<Pod>] {
        FAMILIES
    }
}

/// The values `kube_pod_status_reason` names; any other non-empty
/// `status.reason` is written as `Other`.
const POD_STATUS_REASONS: [&str; 8] = [
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

/// The reasons of a `DisruptionTarget` condition that
/// `kube_pod_status_disruption_reason` reports.
const DISRUPTION_REASONS: [&str; 5] = [
    "DeletionByPodGC",
    "DeletionByTaintManager",
    "EvictionByEvictionAPI",
    "PreemptionByScheduler",
    "TerminationByKubelet",
];

const FAMILIES: &[Family<Pod>] = &[
    stable(
        "kube_pod_completion_time",
        "Completion time in unix timestamp for a pod.",
        completion_time,
    ),
    stable(
        "kube_pod_container_info",
        "Information about a container in a pod.",
        |pod, series| container_info(pod, series, false),
    ),
    stable(
        "kube_pod_container_resource_limits",
        "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        |pod, series| container_resources(pod, series, false, true),
    ),
    stable(
        "kube_pod_container_resource_requests",
        "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        |pod, series| container_resources(pod, series, false, false),
    ),
    stable(
        "kube_pod_container_state_started",
        "Start time in unix timestamp for a pod container.",
        |pod, series| state_started(pod, series, false),
    ),
    experimental(
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state.",
        |pod, series| last_terminated_reason(pod, series, false),
    ),
    experimental(
        "kube_pod_container_status_last_terminated_exitcode",
        "Describes the exit code for the last container in terminated state.",
        |pod, series| last_terminated_exit_code(pod, series, false),
    ),
    experimental(
        "kube_pod_container_status_last_terminated_timestamp",
        "Last terminated time for a pod container in unix timestamp.",
        |pod, series| last_terminated_timestamp(pod, series, false),
    ),
    stable(
        "kube_pod_container_status_ready",
        "Describes whether the containers readiness check succeeded.",
        |pod, series| per_status(pod, series, false, |s| flag(s.ready)),
    ),
    stable(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        |pod, series| per_status(pod, series, false, |s| f64::from(s.restart_count)),
    )
    .counter(),
    stable(
        "kube_pod_container_status_running",
        "Describes whether the container is currently in running state.",
        |pod, series| per_status(pod, series, false, |s| flag(is_running(s))),
    ),
    stable(
        "kube_pod_container_status_terminated",
        "Describes whether the container is currently in terminated state.",
        |pod, series| per_status(pod, series, false, |s| flag(terminated(s).is_some())),
    ),
    experimental(
        "kube_pod_container_status_terminated_reason",
        "Describes the reason the container is currently in terminated state.",
        |pod, series| terminated_reason(pod, series, false),
    ),
    stable(
        "kube_pod_container_status_waiting",
        "Describes whether the container is currently in waiting state.",
        |pod, series| per_status(pod, series, false, |s| flag(is_waiting(s))),
    ),
    stable(
        "kube_pod_container_status_waiting_reason",
        "Describes the reason the container is currently in waiting state.",
        |pod, series| waiting_reason(pod, series, false),
    ),
    stable("kube_pod_created", "Unix creation timestamp", created),
    experimental(
        "kube_pod_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    stable("kube_pod_info", "Information about pod.", info),
    experimental("kube_pod_ips", "Pod IP addresses", ips),
    stable(
        "kube_pod_init_container_info",
        "Information about an init container in a pod.",
        |pod, series| container_info(pod, series, true),
    ),
    experimental(
        "kube_pod_init_container_resource_limits",
        "The number of requested limit resource by an init container.",
        |pod, series| container_resources(pod, series, true, true),
    ),
    experimental(
        "kube_pod_init_container_resource_requests",
        "The number of requested request resource by an init container.",
        |pod, series| container_resources(pod, series, true, false),
    ),
    experimental(
        "kube_pod_init_container_state_started",
        "Start time in unix timestamp for a pod init container.",
        |pod, series| state_started(pod, series, true),
    ),
    experimental(
        "kube_pod_init_container_status_last_terminated_reason",
        "Describes the last reason the init container was in terminated state.",
        |pod, series| last_terminated_reason(pod, series, true),
    ),
    experimental(
        "kube_pod_init_container_status_last_terminated_exitcode",
        "Describes the exit code for the last init container in terminated state.",
        |pod, series| last_terminated_exit_code(pod, series, true),
    ),
    experimental(
        "kube_pod_init_container_status_last_terminated_timestamp",
        "Last terminated time for a pod init container in unix timestamp.",
        |pod, series| last_terminated_timestamp(pod, series, true),
    ),
    stable(
        "kube_pod_init_container_status_ready",
        "Describes whether the init containers readiness check succeeded.",
        |pod, series| per_status(pod, series, true, |s| flag(s.ready)),
    ),
    stable(
        "kube_pod_init_container_status_restarts_total",
        "The number of restarts for the init container.",
        |pod, series| per_status(pod, series, true, |s| f64::from(s.restart_count)),
    )
    .counter(),
    stable(
        "kube_pod_init_container_status_running",
        "Describes whether the init container is currently in running state.",
        |pod, series| per_status(pod, series, true, |s| flag(is_running(s))),
    ),
    stable(
        "kube_pod_init_container_status_terminated",
        "Describes whether the init container is currently in terminated state.",
        |pod, series| per_status(pod, series, true, |s| flag(terminated(s).is_some())),
    ),
    experimental(
        "kube_pod_init_container_status_terminated_reason",
        "Describes the reason the init container is currently in terminated state.",
        |pod, series| terminated_reason(pod, series, true),
    ),
    stable(
        "kube_pod_init_container_status_waiting",
        "Describes whether the init container is currently in waiting state.",
        |pod, series| per_status(pod, series, true, |s| flag(is_waiting(s))),
    ),
    experimental(
        "kube_pod_init_container_status_waiting_reason",
        "Describes the reason the init container is currently in waiting state.",
        |pod, series| waiting_reason(pod, series, true),
    ),
    experimental(
        "kube_pod_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_pod_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    experimental(
        "kube_pod_overhead_cpu_cores",
        "The pod overhead in regards to cpu cores associated with running a pod.",
        |pod, series| overhead(pod, series, "cpu", quantity_cores),
    ),
    experimental(
        "kube_pod_overhead_memory_bytes",
        "The pod overhead in regards to memory associated with running a pod.",
        |pod, series| overhead(pod, series, "memory", quantity_value),
    ),
    stable(
        "kube_pod_owner",
        "Information about the Pod's owner.",
        owners,
    ),
    stable(
        "kube_pod_restart_policy",
        "Describes the restart policy in use by this pod.",
        |pod, series| {
            let policy = spec_str(pod, |s| s.restart_policy.as_deref());
            series.add(&[("type", policy)], 1.0);
        },
    ),
    experimental(
        "kube_pod_runtimeclass_name_info",
        "The runtimeclass associated with the pod.",
        |pod, series| {
            let class = pod
                .spec
                .as_ref()
                .and_then(|s| s.runtime_class_name.as_deref());
            if let Some(class) = class {
                series.add(&[("runtimeclass_name", class)], 1.0);
            }
        },
    ),
    stable(
        "kube_pod_spec_volumes_persistentvolumeclaims_info",
        "Information about persistentvolumeclaim and ephemeral volumes in a pod.",
        |pod, series| claim_volumes(pod, series, false),
    ),
    stable(
        "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
        "Describes whether a persistentvolumeclaim or ephemeral volume is mounted read only.",
        |pod, series| claim_volumes(pod, series, true),
    ),
    stable(
        "kube_pod_start_time",
        "Start time in unix timestamp for a pod.",
        |pod, series| {
            let started = pod.status.as_ref().and_then(|s| s.start_time.as_ref());
            value_if_set(series, started.map(unix));
        },
    ),
    stable(
        "kube_pod_status_phase",
        "The pods current phase.",
        |pod: &Pod, series| {
            // A pod without a phase (not yet seen by the scheduler) has no
            // series; an unknown phase gives five zeros.
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            let phases = ["Pending", "Succeeded", "Failed", "Unknown", "Running"];
            state_set_if_set(series, "phase", &phases, phase);
        },
    )
    .state_set(),
    experimental(
        "kube_pod_status_qos_class",
        "The pods current qosClass.",
        |pod: &Pod, series| {
            let class = pod.status.as_ref().and_then(|s| s.qos_class.as_deref());
            let classes = ["BestEffort", "Burstable", "Guaranteed"];
            state_set_if_set(series, "qos_class", &classes, class);
        },
    )
    .state_set(),
    stable(
        "kube_pod_status_ready",
        "Describes whether the pod is ready to serve requests.",
        |pod, series| pod_condition(pod, series, "Ready"),
    )
    .state_set(),
    experimental(
        "kube_pod_status_ready_time",
        "Readiness achieved time in unix timestamp for a pod.",
        |pod, series| condition_time(pod, series, "Ready", "True"),
    ),
    experimental(
        "kube_pod_status_initialized_time",
        "Initialized time in unix timestamp for a pod.",
        |pod, series| condition_time(pod, series, "Initialized", "True"),
    ),
    experimental(
        "kube_pod_status_container_ready_time",
        "Readiness achieved time in unix timestamp for a pod containers.",
        |pod, series| condition_time(pod, series, "ContainersReady", "True"),
    ),
    experimental(
        "kube_pod_status_reason",
        "The pod status reasons",
        |pod, series| {
            if let Some(reason) = status_reason(pod) {
                series.add(&[("reason", reason)], 1.0);
            }
        },
    ),
    experimental(
        "kube_pod_status_disruption_reason",
        "The pod disruption reasons",
        |pod, series| {
            if let Some(reason) = disruption_reason(pod) {
                series.add(&[("reason", reason)], 1.0);
            }
        },
    ),
    stable(
        "kube_pod_status_scheduled",
        "Describes the status of the scheduling process for the pod.",
        |pod, series| pod_condition(pod, series, "PodScheduled"),
    )
    .state_set(),
    stable(
        "kube_pod_status_scheduled_time",
        "Unix timestamp when pod moved into scheduled status",
        |pod, series| condition_time(pod, series, "PodScheduled", "True"),
    ),
    stable(
        "kube_pod_status_unschedulable",
        "Describes the unschedulable status for the pod.",
        |pod, series| {
            let unschedulable = conditions(pod)
                .iter()
                .filter(|c| c.type_ == "PodScheduled" && c.status == "False");
            for _ in unschedulable {
                series.add(&[], 1.0);
            }
        },
    ),
    experimental(
        "kube_pod_status_unscheduled_time",
        "Unix timestamp when pod moved into unscheduled status",
        |pod, series| condition_time(pod, series, "PodScheduled", "False"),
    ),
    experimental(
        "kube_pod_tolerations",
        "Information about the pod tolerations",
        tolerations,
    ),
    experimental(
        "kube_pod_nodeselectors",
        "Describes the Pod nodeSelectors.",
        node_selectors,
    )
    .opt_in(),
    experimental(
        "kube_pod_service_account",
        "The service account for a pod.",
        |pod, series| {
            let account = spec_str(pod, |s| s.service_account_name.as_deref());
            series.add(&[("service_account", account)], 1.0);
        },
    ),
    experimental(
        "kube_pod_scheduler",
        "The scheduler for a pod.",
        |pod, series| {
            let scheduler = spec_str(pod, |s| s.scheduler_name.as_deref());
            series.add(&[("name", scheduler)], 1.0);
        },
    ),
    experimental(
        "kube_pod_resourceclaim_info",
        "Information about the ResourceClaims referenced by a pod.",
        resource_claims,
    ),
];

// --- Reading the pod -------------------------------------------------------

/// A string field of the spec, `""` when the spec or the field is unset.
fn spec_str(pod: &Pod, field: fn(&PodSpec) -> Option<&str>) -> &str {
    pod.spec.as_ref().and_then(field).unwrap_or_default()
}

fn node_name(pod: &Pod) -> &str {
    spec_str(pod, |s| s.node_name.as_deref())
}

/// The spec's containers, or its init containers.
fn containers(pod: &Pod, init: bool) -> &[Container] {
    let spec = pod.spec.as_ref();
    if init {
        spec.and_then(|s| s.init_containers.as_deref())
            .unwrap_or_default()
    } else {
        spec.map(|s| s.containers.as_slice()).unwrap_or_default()
    }
}

/// The status's container statuses, or its init container statuses.
fn statuses(pod: &Pod, init: bool) -> &[ContainerStatus] {
    let status = pod.status.as_ref();
    let list = if init {
        status.and_then(|s| s.init_container_statuses.as_deref())
    } else {
        status.and_then(|s| s.container_statuses.as_deref())
    };
    list.unwrap_or_default()
}

fn conditions(pod: &Pod) -> &[PodCondition] {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
}

fn state(status: &ContainerStatus) -> Option<&ContainerState> {
    status.state.as_ref()
}

fn is_running(status: &ContainerStatus) -> bool {
    state(status).is_some_and(|s| s.running.is_some())
}

fn is_waiting(status: &ContainerStatus) -> bool {
    state(status).is_some_and(|s| s.waiting.is_some())
}

fn terminated(status: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    state(status).and_then(|s| s.terminated.as_ref())
}

fn last_terminated(status: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
}

// --- Generators ------------------------------------------------------------

/// One `{container}` series per container status.
fn per_status(pod: &Pod, series: &mut Series<'_>, init: bool, value: fn(&ContainerStatus) -> f64) {
    per_status_if(pod, series, init, |status| Some(value(status)));
}

/// One `{container}` series per container status that `value` gives a
/// value for.
fn per_status_if(
    pod: &Pod,
    series: &mut Series<'_>,
    init: bool,
    value: impl Fn(&ContainerStatus) -> Option<f64>,
) {
    for status in statuses(pod, init) {
        if let Some(value) = value(status) {
            series.add(&[("container", &status.name)], value);
        }
    }
}

/// One `{container,reason}` series of 1 per container status whose state
/// `reason` picks (the state's reason, `""` when it gives none); the other
/// statuses have no series.
fn reason_per_status(
    pod: &Pod,
    series: &mut Series<'_>,
    init: bool,
    reason: fn(&ContainerStatus) -> Option<Option<&str>>,
) {
    for status in statuses(pod, init) {
        if let Some(reason) = reason(status) {
            let reason = reason.unwrap_or_default();
            series.add(&[("container", &status.name), ("reason", reason)], 1.0);
        }
    }
}

/// The latest `finishedAt` of the terminated containers, if after the epoch.
fn completion_time(pod: &Pod, series: &mut Series<'_>) {
    let latest = statuses(pod, false)
        .iter()
        .filter_map(terminated)
        .map(|t| unix_or_zero(t.finished_at.as_ref()))
        .fold(None, |latest: Option<f64>, t| {
            Some(latest.map_or(t, |l| l.max(t)))
        });
    if let Some(latest) = latest.filter(|t| *t > 0.0) {
        series.add(&[], latest);
    }
}

/// A series per pair of spec container and status of the same name.
fn container_info(pod: &Pod, series: &mut Series<'_>, init: bool) {
    for container in containers(pod, init) {
        let restart_policy = container.restart_policy.as_deref().unwrap_or_default();
        let image_spec = container.image.as_deref().unwrap_or_default();
        for status in statuses(pod, init) {
            if status.name != container.name {
                continue;
            }
            let labels = [
                ("container", status.name.as_str()),
                ("image_spec", image_spec),
                ("image", status.image.as_str()),
                ("image_id", status.image_id.as_str()),
                (
                    "container_id",
                    status.container_id.as_deref().unwrap_or_default(),
                ),
                ("restart_policy", restart_policy),
            ];
            // Only init containers have a restart policy label.
            let labels = if init { &labels[..] } else { &labels[..5] };
            series.add(labels, 1.0);
        }
    }
}

/// KSM's container requests and limits: CPU in cores, memory, storage,
/// huge pages and attachable volumes in bytes, extended resources
/// (`vendor.example/gpu`) as integers; other resources are left out.
fn container_resources(pod: &Pod, series: &mut Series<'_>, init: bool, limits: bool) {
    let node = node_name(pod);
    for container in containers(pod, init) {
        let resources = container.resources.as_ref();
        let amounts = resources.and_then(|r| {
            if limits {
                r.limits.as_ref()
            } else {
                r.requests.as_ref()
            }
        });
        for (resource, amount) in amounts.into_iter().flatten() {
            let Some((value, unit)) = resource_value(resource, amount) else {
                continue;
            };
            let resource = resource_label(resource);
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

fn resource_value(resource: &str, amount: &Quantity) -> Option<(f64, &'static str)> {
    match resource {
        "cpu" => Some((quantity_cores(amount)?, "core")),
        "memory" | "storage" | "ephemeral-storage" => Some((quantity_value(amount)?, "byte")),
        r if r.starts_with("hugepages-") || r.starts_with("attachable-volumes-") => {
            Some((quantity_value(amount)?, "byte"))
        }
        r if is_extended_resource(r) => Some((quantity_value(amount)?, "integer")),
        _ => None,
    }
}

/// When a container started: its running state's `startedAt`, else its
/// terminated state's.
fn state_started(pod: &Pod, series: &mut Series<'_>, init: bool) {
    per_status_if(pod, series, init, |status| {
        let state = state(status)?;
        let started = match (&state.running, &state.terminated) {
            (Some(running), _) => running.started_at.as_ref(),
            (None, Some(terminated)) => terminated.started_at.as_ref(),
            (None, None) => return None,
        };
        Some(unix_or_zero(started))
    });
}

fn last_terminated_reason(pod: &Pod, series: &mut Series<'_>, init: bool) {
    reason_per_status(pod, series, init, |s| {
        last_terminated(s).map(|t| t.reason.as_deref())
    });
}

fn last_terminated_exit_code(pod: &Pod, series: &mut Series<'_>, init: bool) {
    per_status_if(pod, series, init, |s| {
        last_terminated(s).map(|t| f64::from(t.exit_code))
    });
}

fn last_terminated_timestamp(pod: &Pod, series: &mut Series<'_>, init: bool) {
    per_status_if(pod, series, init, |s| {
        last_terminated(s).map(|t| unix_or_zero(t.finished_at.as_ref()))
    });
}

fn terminated_reason(pod: &Pod, series: &mut Series<'_>, init: bool) {
    reason_per_status(pod, series, init, |s| {
        terminated(s).map(|t| t.reason.as_deref())
    });
}

/// Only containers that wait have a series, with whatever reason they give.
fn waiting_reason(pod: &Pod, series: &mut Series<'_>, init: bool) {
    reason_per_status(pod, series, init, |s| {
        let waiting = state(s)?.waiting.as_ref();
        waiting.map(|w| w.reason.as_deref())
    });
}

fn info(pod: &Pod, series: &mut Series<'_>) {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    // metav1.GetControllerOf: the first owner marked as controller.
    let controller = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true));
    let (created_by_kind, created_by_name) = controller
        .map(|o| (o.kind.as_str(), o.name.as_str()))
        .unwrap_or_default();
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
            ("node", node_name(pod)),
            ("created_by_kind", created_by_kind),
            ("created_by_name", created_by_name),
            (
                "priority_class",
                spec_str(pod, |s| s.priority_class_name.as_deref()),
            ),
            ("host_network", bool_label(host_network)),
        ],
        1.0,
    );
}

/// One series per pod IP that parses, with its family; addresses that do
/// not parse are left out.
fn ips(pod: &Pod, series: &mut Series<'_>) {
    let ips = pod.status.as_ref().and_then(|s| s.pod_ips.as_deref());
    for ip in ips.unwrap_or_default() {
        if let Some(family) = ip_family(&ip.ip) {
            series.add(&[("ip", &ip.ip), ("ip_family", family)], 1.0);
        }
    }
}

/// `"4"` or `"6"` as `k8s.io/utils/net` tells them apart after its sloppy
/// parse (IPv4 octets may have leading zeros; an IPv4-mapped IPv6 address
/// is IPv4), or `None` when the text is not an address.
fn ip_family(text: &str) -> Option<&'static str> {
    let address = match text.parse::<IpAddr>() {
        Ok(address) => address,
        Err(_) => sloppy_ip(text)?,
    };
    match address {
        IpAddr::V4(_) => Some("4"),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Some("4"),
        IpAddr::V6(_) => Some("6"),
    }
}

/// An address whose dotted IPv4 part has leading zeros (`010.0.0.1`), as
/// Go's pre-1.17 parser accepted.
fn sloppy_ip(text: &str) -> Option<IpAddr> {
    let (head, dotted) = match text.rfind(':') {
        Some(colon) => text.split_at(colon + 1),
        None => ("", text),
    };
    let mut octets = Vec::with_capacity(4);
    for part in dotted.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = part.trim_start_matches('0');
        let value: u16 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        octets.push(u8::try_from(value).ok()?);
    }
    if octets.len() != 4 {
        return None;
    }
    let normal = format!(
        "{head}{}.{}.{}.{}",
        octets[0], octets[1], octets[2], octets[3]
    );
    normal.parse().ok()
}

/// `Value()` or cores of one resource of the pod's overhead.
fn overhead(
    pod: &Pod,
    series: &mut Series<'_>,
    resource: &str,
    value: fn(&Quantity) -> Option<f64>,
) {
    let overhead = pod.spec.as_ref().and_then(|s| s.overhead.as_ref());
    let amount = overhead.and_then(|o| o.get(resource));
    value_if_set(series, amount.and_then(value));
}

/// The volumes backed by a claim: a `persistentVolumeClaim` names it, an
/// `ephemeral` volume's claim is `<pod>-<volume>` (and never read only).
fn claim_volumes(pod: &Pod, series: &mut Series<'_>, read_only: bool) {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref());
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    for volume in volumes.unwrap_or_default() {
        let (claim, value) = if let Some(claim) = &volume.persistent_volume_claim {
            let value = if read_only {
                flag(claim.read_only == Some(true))
            } else {
                1.0
            };
            (claim.claim_name.clone(), value)
        } else if volume.ephemeral.is_some() {
            let value = if read_only { 0.0 } else { 1.0 };
            (format!("{pod_name}-{}", volume.name), value)
        } else {
            continue;
        };
        series.add(
            &[("volume", &volume.name), ("persistentvolumeclaim", &claim)],
            value,
        );
    }
}

/// The `condition` state set of each pod condition of type `kind`.
fn pod_condition(pod: &Pod, series: &mut Series<'_>, kind: &str) {
    for c in conditions(pod).iter().filter(|c| c.type_ == kind) {
        condition(series, &[], "condition", &c.status);
    }
}

/// The transition time of each condition of type `kind` with `status`.
fn condition_time(pod: &Pod, series: &mut Series<'_>, kind: &str, status: &str) {
    for c in conditions(pod)
        .iter()
        .filter(|c| c.type_ == kind && c.status == status)
    {
        series.add(&[], unix_or_zero(c.last_transition_time.as_ref()));
    }
}

/// The one reason `kube_pod_status_reason` reports: `status.reason` (as
/// `Other` when it is not a known one), else the first known reason of a
/// condition, else of a terminated container.
fn status_reason(pod: &Pod) -> Option<&str> {
    let known = |reason: &str| POD_STATUS_REASONS.contains(&reason);
    let status = pod.status.as_ref()?;
    if let Some(reason) = status.reason.as_deref().filter(|r| !r.is_empty()) {
        return Some(if known(reason) { reason } else { "Other" });
    }
    let from_conditions = conditions(pod)
        .iter()
        .filter_map(|c| c.reason.as_deref())
        .find(|r| known(r));
    if from_conditions.is_some() {
        return from_conditions;
    }
    statuses(pod, false)
        .iter()
        .filter_map(|s| terminated(s).and_then(|t| t.reason.as_deref()))
        .find(|r| known(r))
}

/// The reason of the pod's `DisruptionTarget` condition, if any (`Other`
/// when it is not a known one, as for `status.reason`).
fn disruption_reason(pod: &Pod) -> Option<&str> {
    conditions(pod)
        .iter()
        .filter(|c| c.type_ == "DisruptionTarget")
        .find_map(|c| c.reason.as_deref())
        .map(|r| {
            if DISRUPTION_REASONS.contains(&r) {
                r
            } else {
                "Other"
            }
        })
}

/// One series per distinct toleration (key, operator, value, effect and
/// seconds alike count as the same), in spec order.
fn tolerations(pod: &Pod, series: &mut Series<'_>) {
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref());
    let tolerations = tolerations.unwrap_or_default();
    fn text(field: &Option<String>) -> &str {
        field.as_deref().unwrap_or_default()
    }
    for (i, t) in tolerations.iter().enumerate() {
        // Compared borrowed: a pod has a handful of tolerations.
        let same = |u: &&Toleration| {
            u.key == t.key
                && u.operator == t.operator
                && u.value == t.value
                && u.effect == t.effect
                && u.toleration_seconds == t.toleration_seconds
        };
        if tolerations[..i].iter().any(|u| same(&u)) {
            continue;
        }
        let mut seconds = itoa::Buffer::new();
        let seconds = t.toleration_seconds.map_or("", |s| seconds.format(s));
        series.add(
            &[
                ("key", text(&t.key)),
                ("operator", text(&t.operator)),
                ("value", text(&t.value)),
                ("effect", text(&t.effect)),
                ("toleration_seconds", seconds),
            ],
            1.0,
        );
    }
}

/// One series with a `nodeselector_<key>` label per node selector (none
/// at all for a pod without them: the series is still there).
fn node_selectors(pod: &Pod, series: &mut Series<'_>) {
    let selectors = pod.spec.as_ref().and_then(|s| s.node_selector.as_ref());
    let labels = KeyFilter::every_key().labels("nodeselector", selectors);
    let borrowed: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    series.add(&borrowed, 1.0);
}

/// One series per `spec.resourceClaims` entry that names a claim or a
/// template; a template's claim name comes from `status.resourceClaimStatuses`.
fn resource_claims(pod: &Pod, series: &mut Series<'_>) {
    let claims = pod.spec.as_ref().and_then(|s| s.resource_claims.as_deref());
    let generated = pod
        .status
        .as_ref()
        .and_then(|s| s.resource_claim_statuses.as_deref())
        .unwrap_or_default();
    for claim in claims.unwrap_or_default() {
        let template = claim.resource_claim_template_name.as_deref();
        let name = match (claim.resource_claim_name.as_deref(), template) {
            (Some(name), _) => name,
            (None, Some(_)) => generated
                .iter()
                .find(|s| s.name == claim.name)
                .and_then(|s| s.resource_claim_name.as_deref())
                .unwrap_or_default(),
            (None, None) => continue,
        };
        series.add(
            &[
                ("claim_name", &claim.name),
                ("resourceclaim_name", name),
                ("resourceclaim_template_name", template.unwrap_or_default()),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::{Kind, Stability};
    use crate::resources::testing::{family, lines};

    /// Asserts the exact lines of one family; `id` stands for the identity
    /// labels (without braces) in `expected`.
    #[track_caller]
    fn assert_family(text: &str, name: &str, id: &str, expected: &[&str]) {
        let expected: String = expected
            .iter()
            .map(|l| format!("{name}{}\n", l.replace("ID", id)))
            .collect();
        assert_eq!(family(text, name), expected, "{name} in\n{text}");
    }

    const RUNNING_ID: &str = "namespace=\"shop\",pod=\"web-7d4b9-x2k\",uid=\"u-web\"";

    fn running_pod() -> serde_json::Value {
        serde_json::json!({
            "metadata": {
                "name": "web-7d4b9-x2k", "namespace": "shop", "uid": "u-web",
                "creationTimestamp": "2024-03-01T10:00:00Z",
                "labels": {"app": "web"},
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9", "uid": "r1", "controller": true},
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "extra", "uid": "r2"}
                ]
            },
            "spec": {
                "nodeName": "node-1",
                "priorityClassName": "high",
                "serviceAccountName": "web",
                "schedulerName": "default-scheduler",
                "restartPolicy": "Always",
                "runtimeClassName": "gvisor",
                "overhead": {"cpu": "250m", "memory": "120Mi"},
                "containers": [
                    {
                        "name": "app", "image": "shop/web:1.2",
                        "resources": {
                            "requests": {"cpu": "500m", "memory": "256Mi", "example.com/gpu": "1", "hugepages-2Mi": "4Mi", "kubernetes.io/odd": "1"},
                            "limits": {"cpu": "2", "memory": "1Gi", "ephemeral-storage": "2G"}
                        }
                    },
                    {
                        "name": "proxy", "image": "envoy:1.30",
                        "resources": {"requests": {"cpu": "0.1", "memory": "64M"}, "limits": {"cpu": "100m"}}
                    },
                    {"name": "log", "image": "fluent-bit"}
                ]
            },
            "status": {
                "phase": "Running",
                "qosClass": "Burstable",
                "hostIP": "10.0.0.5",
                "podIP": "10.244.1.7",
                "podIPs": [{"ip": "10.244.1.7"}],
                "startTime": "2024-03-01T10:00:05Z",
                "conditions": [
                    {"type": "Initialized", "status": "True", "lastTransitionTime": "2024-03-01T10:00:05Z"},
                    {"type": "Ready", "status": "True", "lastTransitionTime": "2024-03-01T10:00:20Z"},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2024-03-01T10:00:19Z"},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-03-01T10:00:01Z"}
                ],
                "containerStatuses": [
                    {"name": "app", "image": "docker.io/shop/web:1.2", "imageID": "docker.io/shop/web@sha256:aa", "containerID": "containerd://c1", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2024-03-01T10:00:10Z"}}},
                    {"name": "proxy", "image": "docker.io/envoy:1.30", "imageID": "docker.io/envoy@sha256:bb", "containerID": "containerd://c2", "ready": true, "restartCount": 1, "state": {"running": {"startedAt": "2024-03-01T10:00:11Z"}}},
                    {"name": "log", "image": "docker.io/fluent-bit:latest", "imageID": "docker.io/fluent-bit@sha256:cc", "containerID": "containerd://c3", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2024-03-01T10:00:12Z"}}}
                ]
            }
        })
    }

    #[test]
    fn families_are_ksm_v2_20s_sixty_in_generator_order() {
        assert_eq!(FAMILIES.len(), 60);
        let stable = FAMILIES
            .iter()
            .filter(|f| f.stability == Stability::Stable)
            .count();
        assert_eq!(stable, 30);
        let opt_in: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| f.opt_in)
            .map(|f| f.name)
            .collect();
        assert_eq!(opt_in, ["kube_pod_nodeselectors"]);
        let counters: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| f.kind == Kind::Counter)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            counters,
            [
                "kube_pod_container_status_restarts_total",
                "kube_pod_init_container_status_restarts_total"
            ]
        );
        let mut names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        assert_eq!(names[0], "kube_pod_completion_time");
        assert_eq!(names[59], "kube_pod_resourceclaim_info");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 60, "names are unique");
        let header = FAMILIES[9].header();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            "# HELP kube_pod_container_status_restarts_total [STABLE] The number of container restarts per container.\n\
             # TYPE kube_pod_container_status_restarts_total counter\n"
        );
        let header = FAMILIES[18].header();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            "# HELP kube_pod_ips Pod IP addresses\n# TYPE kube_pod_ips gauge\n"
        );
    }

    #[test]
    fn a_running_pod_with_three_containers() {
        let text = lines::<Pod>(running_pod());
        let id = RUNNING_ID;
        assert_family(&text, "kube_pod_completion_time", id, &[]);
        assert_family(
            &text,
            "kube_pod_container_info",
            id,
            &[
                "{ID,container=\"app\",image_spec=\"shop/web:1.2\",image=\"docker.io/shop/web:1.2\",image_id=\"docker.io/shop/web@sha256:aa\",container_id=\"containerd://c1\"} 1",
                "{ID,container=\"proxy\",image_spec=\"envoy:1.30\",image=\"docker.io/envoy:1.30\",image_id=\"docker.io/envoy@sha256:bb\",container_id=\"containerd://c2\"} 1",
                "{ID,container=\"log\",image_spec=\"fluent-bit\",image=\"docker.io/fluent-bit:latest\",image_id=\"docker.io/fluent-bit@sha256:cc\",container_id=\"containerd://c3\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_container_resource_limits",
            id,
            &[
                "{ID,container=\"app\",node=\"node-1\",resource=\"cpu\",unit=\"core\"} 2",
                "{ID,container=\"app\",node=\"node-1\",resource=\"ephemeral_storage\",unit=\"byte\"} 2e+09",
                "{ID,container=\"app\",node=\"node-1\",resource=\"memory\",unit=\"byte\"} 1.073741824e+09",
                "{ID,container=\"proxy\",node=\"node-1\",resource=\"cpu\",unit=\"core\"} 0.1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_container_resource_requests",
            id,
            &[
                "{ID,container=\"app\",node=\"node-1\",resource=\"cpu\",unit=\"core\"} 0.5",
                "{ID,container=\"app\",node=\"node-1\",resource=\"example_com_gpu\",unit=\"integer\"} 1",
                "{ID,container=\"app\",node=\"node-1\",resource=\"hugepages_2Mi\",unit=\"byte\"} 4.194304e+06",
                "{ID,container=\"app\",node=\"node-1\",resource=\"memory\",unit=\"byte\"} 2.68435456e+08",
                "{ID,container=\"proxy\",node=\"node-1\",resource=\"cpu\",unit=\"core\"} 0.1",
                "{ID,container=\"proxy\",node=\"node-1\",resource=\"memory\",unit=\"byte\"} 6.4e+07",
            ],
        );
        assert_family(
            &text,
            "kube_pod_container_state_started",
            id,
            &[
                "{ID,container=\"app\"} 1.70928721e+09",
                "{ID,container=\"proxy\"} 1.709287211e+09",
                "{ID,container=\"log\"} 1.709287212e+09",
            ],
        );
        assert_family(
            &text,
            "kube_pod_container_status_restarts_total",
            id,
            &[
                "{ID,container=\"app\"} 0",
                "{ID,container=\"proxy\"} 1",
                "{ID,container=\"log\"} 0",
            ],
        );
        for (name, value) in [
            ("kube_pod_container_status_ready", "1"),
            ("kube_pod_container_status_running", "1"),
            ("kube_pod_container_status_terminated", "0"),
            ("kube_pod_container_status_waiting", "0"),
        ] {
            let expected: Vec<String> = ["app", "proxy", "log"]
                .iter()
                .map(|c| format!("{{ID,container=\"{c}\"}} {value}"))
                .collect();
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            assert_family(&text, name, id, &expected);
        }
        for name in [
            "kube_pod_container_status_last_terminated_reason",
            "kube_pod_container_status_last_terminated_exitcode",
            "kube_pod_container_status_last_terminated_timestamp",
            "kube_pod_container_status_terminated_reason",
            "kube_pod_container_status_waiting_reason",
            "kube_pod_deletion_timestamp",
            "kube_pod_init_container_info",
            "kube_pod_status_reason",
            "kube_pod_status_disruption_reason",
            "kube_pod_status_unschedulable",
            "kube_pod_status_unscheduled_time",
            "kube_pod_tolerations",
            "kube_pod_resourceclaim_info",
            "kube_pod_labels",
            "kube_pod_annotations",
        ] {
            assert_family(&text, name, id, &[]);
        }
        assert_family(&text, "kube_pod_created", id, &["{ID} 1.7092872e+09"]);
        assert_family(
            &text,
            "kube_pod_info",
            id,
            &[
                "{ID,host_ip=\"10.0.0.5\",pod_ip=\"10.244.1.7\",node=\"node-1\",created_by_kind=\"ReplicaSet\",created_by_name=\"web-7d4b9\",priority_class=\"high\",host_network=\"false\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_ips",
            id,
            &["{ID,ip=\"10.244.1.7\",ip_family=\"4\"} 1"],
        );
        assert_family(&text, "kube_pod_overhead_cpu_cores", id, &["{ID} 0.25"]);
        assert_family(
            &text,
            "kube_pod_overhead_memory_bytes",
            id,
            &["{ID} 1.2582912e+08"],
        );
        assert_family(
            &text,
            "kube_pod_owner",
            id,
            &[
                "{ID,owner_kind=\"ReplicaSet\",owner_name=\"web-7d4b9\",owner_is_controller=\"true\"} 1",
                "{ID,owner_kind=\"ConfigMap\",owner_name=\"extra\",owner_is_controller=\"false\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_restart_policy",
            id,
            &["{ID,type=\"Always\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_runtimeclass_name_info",
            id,
            &["{ID,runtimeclass_name=\"gvisor\"} 1"],
        );
        assert_family(&text, "kube_pod_start_time", id, &["{ID} 1.709287205e+09"]);
        assert_family(
            &text,
            "kube_pod_status_phase",
            id,
            &[
                "{ID,phase=\"Pending\"} 0",
                "{ID,phase=\"Succeeded\"} 0",
                "{ID,phase=\"Failed\"} 0",
                "{ID,phase=\"Unknown\"} 0",
                "{ID,phase=\"Running\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_status_qos_class",
            id,
            &[
                "{ID,qos_class=\"BestEffort\"} 0",
                "{ID,qos_class=\"Burstable\"} 1",
                "{ID,qos_class=\"Guaranteed\"} 0",
            ],
        );
        assert_family(
            &text,
            "kube_pod_status_ready",
            id,
            &[
                "{ID,condition=\"true\"} 1",
                "{ID,condition=\"false\"} 0",
                "{ID,condition=\"unknown\"} 0",
            ],
        );
        assert_family(
            &text,
            "kube_pod_status_ready_time",
            id,
            &["{ID} 1.70928722e+09"],
        );
        assert_family(
            &text,
            "kube_pod_status_initialized_time",
            id,
            &["{ID} 1.709287205e+09"],
        );
        assert_family(
            &text,
            "kube_pod_status_container_ready_time",
            id,
            &["{ID} 1.709287219e+09"],
        );
        assert_family(
            &text,
            "kube_pod_status_scheduled_time",
            id,
            &["{ID} 1.709287201e+09"],
        );
        assert_family(
            &text,
            "kube_pod_service_account",
            id,
            &["{ID,service_account=\"web\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_scheduler",
            id,
            &["{ID,name=\"default-scheduler\"} 1"],
        );
        assert_family(&text, "kube_pod_nodeselectors", id, &["{ID} 1"]);
    }

    #[test]
    fn a_pending_unschedulable_pod() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "big", "namespace": "batch", "uid": "u-big", "creationTimestamp": "2024-03-01T10:00:00Z"},
            "spec": {"containers": [{"name": "main", "image": "big:1", "resources": {"requests": {"cpu": "64", "memory": "1Ti"}}}]},
            "status": {
                "phase": "Pending",
                "qosClass": "Burstable",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                    "lastTransitionTime": "2024-03-01T10:00:02Z"
                }]
            }
        }));
        let id = "namespace=\"batch\",pod=\"big\",uid=\"u-big\"";
        assert_family(
            &text,
            "kube_pod_container_resource_requests",
            id,
            &[
                "{ID,container=\"main\",node=\"\",resource=\"cpu\",unit=\"core\"} 64",
                "{ID,container=\"main\",node=\"\",resource=\"memory\",unit=\"byte\"} 1.099511627776e+12",
            ],
        );
        assert_family(
            &text,
            "kube_pod_status_scheduled",
            id,
            &[
                "{ID,condition=\"true\"} 0",
                "{ID,condition=\"false\"} 1",
                "{ID,condition=\"unknown\"} 0",
            ],
        );
        assert_family(&text, "kube_pod_status_unschedulable", id, &["{ID} 1"]);
        assert_family(
            &text,
            "kube_pod_status_unscheduled_time",
            id,
            &["{ID} 1.709287202e+09"],
        );
        assert_family(&text, "kube_pod_status_scheduled_time", id, &[]);
        assert_family(&text, "kube_pod_status_ready", id, &[]);
        assert_family(&text, "kube_pod_status_reason", id, &[]);
        assert_family(&text, "kube_pod_start_time", id, &[]);
        assert_family(&text, "kube_pod_container_info", id, &[]);
        assert_family(&text, "kube_pod_container_status_ready", id, &[]);
        assert_family(
            &text,
            "kube_pod_info",
            id,
            &[
                "{ID,host_ip=\"\",pod_ip=\"\",node=\"\",created_by_kind=\"\",created_by_name=\"\",priority_class=\"\",host_network=\"false\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_owner",
            id,
            &["{ID,owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"} 1"],
        );
        assert_family(&text, "kube_pod_restart_policy", id, &["{ID,type=\"\"} 1"]);
        assert_family(
            &text,
            "kube_pod_status_phase",
            id,
            &[
                "{ID,phase=\"Pending\"} 1",
                "{ID,phase=\"Succeeded\"} 0",
                "{ID,phase=\"Failed\"} 0",
                "{ID,phase=\"Unknown\"} 0",
                "{ID,phase=\"Running\"} 0",
            ],
        );
    }

    #[test]
    fn a_crash_looping_container_that_was_oom_killed() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "api-0", "namespace": "prod", "uid": "u-api"},
            "spec": {"nodeName": "node-2", "containers": [
                {"name": "api", "image": "api:3", "resources": {"limits": {"memory": "512Mi"}}},
                {"name": "sidecar", "image": "side:1"}
            ]},
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "api", "image": "api:3", "imageID": "api@sha256:dd", "containerID": "containerd://a9",
                        "ready": false, "restartCount": 5,
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                        "lastState": {"terminated": {
                            "exitCode": 137, "reason": "OOMKilled",
                            "startedAt": "2024-03-01T11:58:00Z", "finishedAt": "2024-03-01T11:59:30Z",
                            "containerID": "containerd://a8"
                        }}
                    },
                    {
                        "name": "sidecar", "image": "side:1", "imageID": "side@sha256:ee", "containerID": "containerd://b1",
                        "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2024-03-01T11:00:00Z"}}
                    }
                ]
            }
        }));
        let id = "namespace=\"prod\",pod=\"api-0\",uid=\"u-api\"";
        assert_family(
            &text,
            "kube_pod_container_status_waiting_reason",
            id,
            &["{ID,container=\"api\",reason=\"CrashLoopBackOff\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_waiting",
            id,
            &["{ID,container=\"api\"} 1", "{ID,container=\"sidecar\"} 0"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_restarts_total",
            id,
            &["{ID,container=\"api\"} 5", "{ID,container=\"sidecar\"} 0"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_last_terminated_reason",
            id,
            &["{ID,container=\"api\",reason=\"OOMKilled\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_last_terminated_exitcode",
            id,
            &["{ID,container=\"api\"} 137"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_last_terminated_timestamp",
            id,
            &["{ID,container=\"api\"} 1.70929437e+09"],
        );
        // Only the running container has a start; a waiting one has none.
        assert_family(
            &text,
            "kube_pod_container_state_started",
            id,
            &["{ID,container=\"sidecar\"} 1.7092908e+09"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_terminated_reason",
            id,
            &[],
        );
        assert_family(&text, "kube_pod_completion_time", id, &[]);
        assert_family(
            &text,
            "kube_pod_container_status_ready",
            id,
            &["{ID,container=\"api\"} 0", "{ID,container=\"sidecar\"} 1"],
        );
        assert_family(&text, "kube_pod_status_reason", id, &[]);
    }

    #[test]
    fn init_containers_completed_and_a_restartable_sidecar() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "db-0", "namespace": "data", "uid": "u-db"},
            "spec": {
                "nodeName": "node-3",
                "initContainers": [
                    {"name": "migrate", "image": "migrate:7", "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "128Mi"}}},
                    {"name": "mesh", "image": "mesh:2", "restartPolicy": "Always"}
                ],
                "containers": [{"name": "db", "image": "postgres:16"}]
            },
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Initialized", "status": "True", "lastTransitionTime": "2024-03-01T12:00:30Z"}],
                "initContainerStatuses": [
                    {
                        "name": "migrate", "image": "docker.io/migrate:7", "imageID": "migrate@sha256:01", "containerID": "containerd://i1",
                        "ready": false, "restartCount": 1,
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2024-03-01T12:00:10Z", "finishedAt": "2024-03-01T12:00:20Z"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2024-03-01T12:00:01Z", "finishedAt": "2024-03-01T12:00:05Z"}}
                    },
                    {
                        "name": "mesh", "image": "docker.io/mesh:2", "imageID": "mesh@sha256:02", "containerID": "containerd://i2",
                        "ready": true, "restartCount": 0, "started": true,
                        "state": {"running": {"startedAt": "2024-03-01T12:00:21Z"}}
                    }
                ],
                "containerStatuses": [
                    {"name": "db", "image": "postgres:16", "imageID": "pg@sha256:03", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
                ]
            }
        }));
        let id = "namespace=\"data\",pod=\"db-0\",uid=\"u-db\"";
        assert_family(
            &text,
            "kube_pod_init_container_info",
            id,
            &[
                "{ID,container=\"migrate\",image_spec=\"migrate:7\",image=\"docker.io/migrate:7\",image_id=\"migrate@sha256:01\",container_id=\"containerd://i1\",restart_policy=\"\"} 1",
                "{ID,container=\"mesh\",image_spec=\"mesh:2\",image=\"docker.io/mesh:2\",image_id=\"mesh@sha256:02\",container_id=\"containerd://i2\",restart_policy=\"Always\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_container_info",
            id,
            &[
                "{ID,container=\"db\",image_spec=\"postgres:16\",image=\"postgres:16\",image_id=\"pg@sha256:03\",container_id=\"\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_init_container_resource_requests",
            id,
            &["{ID,container=\"migrate\",node=\"node-3\",resource=\"cpu\",unit=\"core\"} 0.1"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_resource_limits",
            id,
            &[
                "{ID,container=\"migrate\",node=\"node-3\",resource=\"memory\",unit=\"byte\"} 1.34217728e+08",
            ],
        );
        assert_family(
            &text,
            "kube_pod_init_container_state_started",
            id,
            &[
                "{ID,container=\"migrate\"} 1.70929441e+09",
                "{ID,container=\"mesh\"} 1.709294421e+09",
            ],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_last_terminated_reason",
            id,
            &["{ID,container=\"migrate\",reason=\"Error\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_last_terminated_exitcode",
            id,
            &["{ID,container=\"migrate\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_last_terminated_timestamp",
            id,
            &["{ID,container=\"migrate\"} 1.709294405e+09"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_ready",
            id,
            &["{ID,container=\"migrate\"} 0", "{ID,container=\"mesh\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_restarts_total",
            id,
            &["{ID,container=\"migrate\"} 1", "{ID,container=\"mesh\"} 0"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_running",
            id,
            &["{ID,container=\"migrate\"} 0", "{ID,container=\"mesh\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_terminated",
            id,
            &["{ID,container=\"migrate\"} 1", "{ID,container=\"mesh\"} 0"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_terminated_reason",
            id,
            &["{ID,container=\"migrate\",reason=\"Completed\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_waiting",
            id,
            &["{ID,container=\"migrate\"} 0", "{ID,container=\"mesh\"} 0"],
        );
        assert_family(
            &text,
            "kube_pod_init_container_status_waiting_reason",
            id,
            &[],
        );
        assert_family(
            &text,
            "kube_pod_container_status_waiting_reason",
            id,
            &["{ID,container=\"db\",reason=\"PodInitializing\"} 1"],
        );
        // Init containers do not count towards the pod's completion.
        assert_family(&text, "kube_pod_completion_time", id, &[]);
        assert_family(
            &text,
            "kube_pod_status_initialized_time",
            id,
            &["{ID} 1.70929443e+09"],
        );
    }

    #[test]
    fn an_evicted_pod_with_its_reasons() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "cache", "namespace": "shop", "uid": "u-c", "deletionTimestamp": "2024-03-02T00:00:30Z"},
            "spec": {"nodeName": "node-4", "containers": [{"name": "redis", "image": "redis:7"}]},
            "status": {
                "phase": "Failed",
                "reason": "Evicted",
                "message": "The node was low on resource: memory.",
                "conditions": [
                    {"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet", "lastTransitionTime": "2024-03-02T00:00:00Z"},
                    {"type": "Ready", "status": "False", "reason": "PodFailed"}
                ],
                "containerStatuses": [{
                    "name": "redis", "image": "redis:7", "imageID": "redis@sha256:ff", "containerID": "containerd://r1",
                    "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown", "startedAt": "2024-03-01T00:00:00Z", "finishedAt": "2024-03-02T00:00:10Z"}}
                }]
            }
        }));
        let id = "namespace=\"shop\",pod=\"cache\",uid=\"u-c\"";
        assert_family(
            &text,
            "kube_pod_status_reason",
            id,
            &["{ID,reason=\"Evicted\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_status_disruption_reason",
            id,
            &["{ID,reason=\"TerminationByKubelet\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_completion_time",
            id,
            &["{ID} 1.70933761e+09"],
        );
        assert_family(
            &text,
            "kube_pod_deletion_timestamp",
            id,
            &["{ID} 1.70933763e+09"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_terminated_reason",
            id,
            &["{ID,container=\"redis\",reason=\"ContainerStatusUnknown\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_container_state_started",
            id,
            &["{ID,container=\"redis\"} 1.7092512e+09"],
        );
        assert_family(
            &text,
            "kube_pod_status_ready",
            id,
            &[
                "{ID,condition=\"true\"} 0",
                "{ID,condition=\"false\"} 1",
                "{ID,condition=\"unknown\"} 0",
            ],
        );
        assert_family(&text, "kube_pod_status_ready_time", id, &[]);
        assert_family(
            &text,
            "kube_pod_status_phase",
            id,
            &[
                "{ID,phase=\"Pending\"} 0",
                "{ID,phase=\"Succeeded\"} 0",
                "{ID,phase=\"Failed\"} 1",
                "{ID,phase=\"Unknown\"} 0",
                "{ID,phase=\"Running\"} 0",
            ],
        );
    }

    #[test]
    fn status_reasons_from_conditions_and_containers() {
        let pod = |status: serde_json::Value| {
            let text =
                lines::<Pod>(serde_json::json!({"metadata": {"name": "p"}, "status": status}));
            family(&text, "kube_pod_status_reason")
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let id = "kube_pod_status_reason{namespace=\"\",pod=\"p\",uid=\"\"";
        assert_eq!(
            pod(
                serde_json::json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]})
            ),
            [format!("{id},reason=\"SchedulingGated\"}} 1")]
        );
        assert_eq!(
            pod(
                serde_json::json!({"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]})
            ),
            [format!("{id},reason=\"PreemptionByScheduler\"}} 1")]
        );
        // Reasons outside the list only count from `status.reason`.
        assert!(
            pod(serde_json::json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}))
                .is_empty()
        );
        assert_eq!(
            pod(serde_json::json!({"reason": "OutOfcpu"})),
            [format!("{id},reason=\"Other\"}} 1")]
        );
        assert_eq!(
            pod(serde_json::json!({"reason": "NodeLost"})),
            [format!("{id},reason=\"NodeLost\"}} 1")]
        );
    }

    #[test]
    fn volumes_tolerations_selectors_ips_and_claims() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "etl-1", "namespace": "jobs", "uid": "u-etl"},
            "spec": {
                "containers": [{"name": "etl", "image": "etl:1"}],
                "nodeSelector": {"kubernetes.io/os": "linux", "diskType": "ssd"},
                "tolerations": [
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "dedicated", "operator": "Equal", "value": "etl", "effect": "NoSchedule"},
                    {"key": "dedicated", "operator": "Equal", "value": "etl", "effect": "NoSchedule"},
                    {"operator": "Exists"}
                ],
                "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "etl-data"}},
                    {"name": "ref", "persistentVolumeClaim": {"claimName": "reference", "readOnly": true}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
                    {"name": "config", "configMap": {"name": "etl"}}
                ],
                "resourceClaims": [
                    {"name": "gpu", "resourceClaimTemplateName": "gpu-template"},
                    {"name": "shared", "resourceClaimName": "shared-fpga"},
                    {"name": "pending", "resourceClaimTemplateName": "slow-template"},
                    {"name": "empty"}
                ]
            },
            "status": {
                "podIP": "10.1.2.3",
                "podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00:10:1::3"}, {"ip": "not-an-ip"}, {"ip": "010.1.2.4"}, {"ip": "::ffff:10.1.2.5"}],
                "resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": "etl-1-gpu-x7k2p"}]
            }
        }));
        let id = "namespace=\"jobs\",pod=\"etl-1\",uid=\"u-etl\"";
        assert_family(
            &text,
            "kube_pod_spec_volumes_persistentvolumeclaims_info",
            id,
            &[
                "{ID,volume=\"data\",persistentvolumeclaim=\"etl-data\"} 1",
                "{ID,volume=\"ref\",persistentvolumeclaim=\"reference\"} 1",
                "{ID,volume=\"scratch\",persistentvolumeclaim=\"etl-1-scratch\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
            id,
            &[
                "{ID,volume=\"data\",persistentvolumeclaim=\"etl-data\"} 0",
                "{ID,volume=\"ref\",persistentvolumeclaim=\"reference\"} 1",
                "{ID,volume=\"scratch\",persistentvolumeclaim=\"etl-1-scratch\"} 0",
            ],
        );
        assert_family(
            &text,
            "kube_pod_tolerations",
            id,
            &[
                "{ID,key=\"node.kubernetes.io/not-ready\",operator=\"Exists\",value=\"\",effect=\"NoExecute\",toleration_seconds=\"300\"} 1",
                "{ID,key=\"dedicated\",operator=\"Equal\",value=\"etl\",effect=\"NoSchedule\",toleration_seconds=\"\"} 1",
                "{ID,key=\"\",operator=\"Exists\",value=\"\",effect=\"\",toleration_seconds=\"\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_nodeselectors",
            id,
            &["{ID,nodeselector_disk_type=\"ssd\",nodeselector_kubernetes_io_os=\"linux\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_ips",
            id,
            &[
                "{ID,ip=\"10.1.2.3\",ip_family=\"4\"} 1",
                "{ID,ip=\"fd00:10:1::3\",ip_family=\"6\"} 1",
                "{ID,ip=\"010.1.2.4\",ip_family=\"4\"} 1",
                "{ID,ip=\"::ffff:10.1.2.5\",ip_family=\"4\"} 1",
            ],
        );
        assert_family(
            &text,
            "kube_pod_resourceclaim_info",
            id,
            &[
                "{ID,claim_name=\"gpu\",resourceclaim_name=\"etl-1-gpu-x7k2p\",resourceclaim_template_name=\"gpu-template\"} 1",
                "{ID,claim_name=\"shared\",resourceclaim_name=\"shared-fpga\",resourceclaim_template_name=\"\"} 1",
                "{ID,claim_name=\"pending\",resourceclaim_name=\"\",resourceclaim_template_name=\"slow-template\"} 1",
            ],
        );
        assert_family(&text, "kube_pod_status_phase", id, &[]);
        assert_family(&text, "kube_pod_status_qos_class", id, &[]);
    }

    #[test]
    fn a_pod_with_almost_nothing_set() {
        for pod in [
            serde_json::json!({"metadata": {"name": "bare"}}),
            serde_json::json!({"metadata": {"name": "bare"}, "spec": {"containers": []}, "status": {}}),
        ] {
            let text = lines::<Pod>(pod);
            let expected = "kube_pod_info{namespace=\"\",pod=\"bare\",uid=\"\",host_ip=\"\",pod_ip=\"\",node=\"\",created_by_kind=\"\",created_by_name=\"\",priority_class=\"\",host_network=\"false\"} 1\n\
                kube_pod_owner{namespace=\"\",pod=\"bare\",uid=\"\",owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"} 1\n\
                kube_pod_restart_policy{namespace=\"\",pod=\"bare\",uid=\"\",type=\"\"} 1\n\
                kube_pod_nodeselectors{namespace=\"\",pod=\"bare\",uid=\"\"} 1\n\
                kube_pod_service_account{namespace=\"\",pod=\"bare\",uid=\"\",service_account=\"\"} 1\n\
                kube_pod_scheduler{namespace=\"\",pod=\"bare\",uid=\"\",name=\"\"} 1\n";
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn unknown_enum_values_do_not_panic() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "odd", "namespace": "x", "uid": "u"},
            "spec": {
                "containers": [{"name": "c", "resources": {"requests": {"cpu": "lots", "memory": "1Xi", "vendor/-bad": "1", "a/b/c": "2", "example.com/fpga": "1.5"}}}],
                "restartPolicy": "Sometimes",
                "volumes": [{"name": "v"}]
            },
            "status": {
                "phase": "Weird",
                "qosClass": "Odd",
                "reason": "Custom",
                "conditions": [
                    {"type": "Ready", "status": "Maybe"},
                    {"type": "PodScheduled", "status": "Maybe"},
                    {"type": "DisruptionTarget", "status": "True", "reason": "SomeFutureReason"}
                ],
                "containerStatuses": [{"name": "c", "image": "", "imageID": "", "ready": false, "restartCount": 0, "state": {}}]
            }
        }));
        let id = "namespace=\"x\",pod=\"odd\",uid=\"u\"";
        assert_family(
            &text,
            "kube_pod_status_phase",
            id,
            &[
                "{ID,phase=\"Pending\"} 0",
                "{ID,phase=\"Succeeded\"} 0",
                "{ID,phase=\"Failed\"} 0",
                "{ID,phase=\"Unknown\"} 0",
                "{ID,phase=\"Running\"} 0",
            ],
        );
        assert_family(
            &text,
            "kube_pod_status_qos_class",
            id,
            &[
                "{ID,qos_class=\"BestEffort\"} 0",
                "{ID,qos_class=\"Burstable\"} 0",
                "{ID,qos_class=\"Guaranteed\"} 0",
            ],
        );
        for name in ["kube_pod_status_ready", "kube_pod_status_scheduled"] {
            assert_family(
                &text,
                name,
                id,
                &[
                    "{ID,condition=\"true\"} 0",
                    "{ID,condition=\"false\"} 0",
                    "{ID,condition=\"unknown\"} 0",
                ],
            );
        }
        assert_family(
            &text,
            "kube_pod_status_reason",
            id,
            &["{ID,reason=\"Other\"} 1"],
        );
        assert_family(
            &text,
            "kube_pod_status_disruption_reason",
            id,
            &["{ID,reason=\"Other\"} 1"],
        );
        assert_family(&text, "kube_pod_status_unschedulable", id, &[]);
        assert_family(
            &text,
            "kube_pod_restart_policy",
            id,
            &["{ID,type=\"Sometimes\"} 1"],
        );
        // Unparsable quantities and names that are not extended resources
        // are left out; an extended resource rounds up as Value() does.
        assert_family(
            &text,
            "kube_pod_container_resource_requests",
            id,
            &["{ID,container=\"c\",node=\"\",resource=\"example_com_fpga\",unit=\"integer\"} 2"],
        );
        assert_family(&text, "kube_pod_container_state_started", id, &[]);
        assert_family(
            &text,
            "kube_pod_container_status_running",
            id,
            &["{ID,container=\"c\"} 0"],
        );
        assert_family(
            &text,
            "kube_pod_spec_volumes_persistentvolumeclaims_info",
            id,
            &[],
        );
    }

    #[test]
    fn unset_timestamps_in_states_are_gos_zero_time() {
        let text = lines::<Pod>(serde_json::json!({
            "metadata": {"name": "z"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{
                    "name": "c", "image": "", "imageID": "", "ready": true, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0}},
                    "lastState": {"terminated": {"exitCode": 2}}
                }]
            }
        }));
        let id = "namespace=\"\",pod=\"z\",uid=\"\"";
        assert_family(
            &text,
            "kube_pod_status_ready_time",
            id,
            &["{ID} -6.21355968e+10"],
        );
        assert_family(
            &text,
            "kube_pod_container_state_started",
            id,
            &["{ID,container=\"c\"} -6.21355968e+10"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_last_terminated_timestamp",
            id,
            &["{ID,container=\"c\"} -6.21355968e+10"],
        );
        assert_family(
            &text,
            "kube_pod_container_status_terminated_reason",
            id,
            &["{ID,container=\"c\",reason=\"\"} 1"],
        );
        // Before the epoch: no completion time.
        assert_family(&text, "kube_pod_completion_time", id, &[]);
    }
}
