//! Nodes: `kube_node_*`, identity label `node`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Resource;
use super::common::{
    annotations, conditions_by_type, created, deletion_timestamp, flag, is_extended_resource,
    labels, one_per_entry, quantity_milli_value, resource_label,
};
use crate::family::{Family, Series, experimental, stable};

impl Resource for Node {
    const NAME: &'static str = "nodes";
    const NAME_LABEL: &'static str = "node";

    fn families() -> &'static [Family<Node>] {
        FAMILIES
    }
}

/// The label prefix whose keys name a node's roles.
const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

const FAMILIES: &[Family<Node>] = &[
    experimental(
        "kube_node_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable("kube_node_created", "Unix creation timestamp", created),
    experimental(
        "kube_node_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    stable(
        "kube_node_info",
        "Information about a cluster node.",
        node_info,
    ),
    stable(
        "kube_node_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    experimental(
        "kube_node_role",
        "The role of a cluster node.",
        |node, series| {
            let labels = node.metadata.labels.iter().flatten();
            for key in labels.map(|(key, _)| key) {
                if let Some(role) = key.strip_prefix(ROLE_PREFIX) {
                    series.add(&[("role", role)], 1.0);
                }
            }
        },
    ),
    experimental(
        "kube_node_spec_pod_cidrs",
        "The pod CIDRs of a cluster node.",
        |node, series| {
            let cidrs = node.spec.as_ref().and_then(|s| s.pod_cidrs.as_deref());
            one_per_entry(series, "pod_cidr", cidrs);
        },
    ),
    stable(
        "kube_node_spec_taint",
        "The taint of a cluster node.",
        |node, series| {
            let spec = node.spec.as_ref();
            for taint in spec.and_then(|s| s.taints.as_ref()).into_iter().flatten() {
                series.add(
                    &[
                        ("key", &taint.key),
                        ("value", taint.value.as_deref().unwrap_or_default()),
                        ("effect", &taint.effect),
                    ],
                    1.0,
                );
            }
        },
    ),
    stable(
        "kube_node_spec_unschedulable",
        "Whether a node can schedule new pods.",
        |node, series| {
            let spec = node.spec.as_ref();
            series.add(&[], flag(spec.and_then(|s| s.unschedulable) == Some(true)));
        },
    ),
    stable(
        "kube_node_status_allocatable",
        "The allocatable for different resources of a node that are available for scheduling.",
        |node, series| {
            let status = node.status.as_ref();
            node_resources(series, status.and_then(|s| s.allocatable.as_ref()));
        },
    ),
    stable(
        "kube_node_status_capacity",
        "The capacity for different resources of a node.",
        |node, series| {
            let status = node.status.as_ref();
            node_resources(series, status.and_then(|s| s.capacity.as_ref()));
        },
    ),
    stable(
        "kube_node_status_condition",
        "The condition of a cluster node.",
        |node, series| {
            let conditions = node.status.as_ref().and_then(|s| s.conditions.as_deref());
            conditions_by_type(series, conditions, |c| (&c.type_, &c.status));
        },
    ),
    experimental(
        "kube_node_status_addresses",
        "Node address information.",
        |node, series| {
            let status = node.status.as_ref();
            for address in status
                .and_then(|s| s.addresses.as_ref())
                .into_iter()
                .flatten()
            {
                series.add(
                    &[("type", &address.type_), ("address", &address.address)],
                    1.0,
                );
            }
        },
    ),
];

/// `kube_node_info`: the system info, provider, primary pod CIDR and the
/// last `InternalIP` address (as KSM keeps overwriting it).
fn node_info(node: &Node, series: &mut Series<'_>) {
    let spec = node.spec.as_ref();
    let status = node.status.as_ref();
    let info = status.and_then(|s| s.node_info.as_ref());
    let internal_ip = status
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP")
        .map(|a| a.address.as_str())
        .next_back()
        .unwrap_or_default();
    let text = |field: fn(&NodeSystemInfo) -> &str| info.map(field).unwrap_or_default();
    series.add(
        &[
            ("kernel_version", text(|i| i.kernel_version.as_str())),
            ("os_image", text(|i| i.os_image.as_str())),
            (
                "container_runtime_version",
                text(|i| i.container_runtime_version.as_str()),
            ),
            ("kubelet_version", text(|i| i.kubelet_version.as_str())),
            ("kubeproxy_version", text(|i| i.kube_proxy_version.as_str())),
            (
                "provider_id",
                spec.and_then(|s| s.provider_id.as_deref())
                    .unwrap_or_default(),
            ),
            (
                "pod_cidr",
                spec.and_then(|s| s.pod_cidr.as_deref()).unwrap_or_default(),
            ),
            ("system_uuid", text(|i| i.system_uuid.as_str())),
            ("internal_ip", internal_ip),
        ],
        1.0,
    );
}

/// Capacity or allocatable, one series per resource KSM knows a unit for.
/// Every value is `MilliValue() / 1000`, whatever the unit.
fn node_resources(series: &mut Series<'_>, resources: Option<&BTreeMap<String, Quantity>>) {
    for (name, amount) in resources.into_iter().flatten() {
        let units: &[&str] = match name.as_str() {
            "cpu" => &["core"],
            "storage" | "ephemeral-storage" | "memory" => &["byte"],
            "pods" => &["integer"],
            other => {
                // Three independent checks, as in KSM: a name could pass
                // more than one and then has a series for each.
                let huge_pages = other.starts_with("hugepages-");
                let attachable = other.starts_with("attachable-volumes-");
                let extended = is_extended_resource(other);
                match (huge_pages || attachable, extended) {
                    (true, true) => &["byte", "integer"],
                    (true, false) => &["byte"],
                    (false, true) => &["integer"],
                    (false, false) => &[],
                }
            }
        };
        if units.is_empty() {
            continue;
        }
        let Some(value) = quantity_milli_value(amount) else {
            continue;
        };
        let resource = resource_label(name);
        for unit in units {
            series.add(&[("resource", &resource), ("unit", unit)], value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{
        assert_contains, family, headers, lines, lines_allowlisted, names,
    };

    #[test]
    fn families_are_in_ksm_order() {
        assert_eq!(
            names::<Node>(),
            [
                "kube_node_annotations",
                "kube_node_created",
                "kube_node_deletion_timestamp",
                "kube_node_info",
                "kube_node_labels",
                "kube_node_role",
                "kube_node_spec_pod_cidrs",
                "kube_node_spec_taint",
                "kube_node_spec_unschedulable",
                "kube_node_status_allocatable",
                "kube_node_status_capacity",
                "kube_node_status_condition",
                "kube_node_status_addresses",
            ]
        );
        let headers = headers::<Node>();
        assert!(headers.contains(
            "# HELP kube_node_status_capacity [STABLE] The capacity for different resources of a node.\n\
             # TYPE kube_node_status_capacity gauge\n"
        ));
        assert!(headers.contains(
            "# HELP kube_node_role The role of a cluster node.\n# TYPE kube_node_role gauge\n"
        ));
    }

    fn worker() -> serde_json::Value {
        serde_json::json!({
            "metadata": {
                "name": "worker-1",
                "uid": "0b4c2b6e",
                "creationTimestamp": "2024-03-01T10:00:00Z",
                "labels": {
                    "kubernetes.io/hostname": "worker-1",
                    "node-role.kubernetes.io/worker": "",
                    "node-role.kubernetes.io/gpu": "true"
                },
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"}
            },
            "spec": {
                "podCIDR": "10.244.1.0/24",
                "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"],
                "providerID": "aws:///eu-west-1a/i-0abc",
                "unschedulable": true,
                "taints": [
                    {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                    {"key": "nvidia.com/gpu", "value": "present", "effect": "NoExecute"}
                ]
            },
            "status": {
                "capacity": {
                    "cpu": "4",
                    "ephemeral-storage": "101430960Ki",
                    "hugepages-1Gi": "0",
                    "hugepages-2Mi": "64Mi",
                    "memory": "16338396Ki",
                    "pods": "110",
                    "nvidia.com/gpu": "2",
                    "attachable-volumes-aws-ebs": "25",
                    "example.com/Bad_": "1"
                },
                "allocatable": {
                    "cpu": "3920m",
                    "ephemeral-storage": "93478772582",
                    "memory": "15187420Ki",
                    "pods": "110",
                    "nvidia.com/gpu": "2"
                },
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                    {"type": "DiskPressure", "status": "True"},
                    {"type": "Ready", "status": "Unknown"}
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "10.0.1.17"},
                    {"type": "ExternalIP", "address": "54.1.2.3"},
                    {"type": "Hostname", "address": "worker-1"},
                    {"type": "InternalIP", "address": "fd00::17"}
                ],
                "nodeInfo": {
                    "machineID": "m", "systemUUID": "ec2a-uuid", "bootID": "b",
                    "kernelVersion": "6.1.0-18-cloud-amd64", "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "containerRuntimeVersion": "containerd://1.7.13", "kubeletVersion": "v1.30.2",
                    "kubeProxyVersion": "v1.30.2", "operatingSystem": "linux", "architecture": "amd64"
                }
            }
        })
    }

    #[test]
    fn a_tainted_gpu_worker() {
        let text = lines::<Node>(worker());
        let id = "node=\"worker-1\"";
        let expected = [
            format!("kube_node_created{{{id}}} 1.7092872e+09\n"),
            format!(
                "kube_node_info{{{id},kernel_version=\"6.1.0-18-cloud-amd64\",os_image=\"Debian GNU/Linux 12 (bookworm)\",container_runtime_version=\"containerd://1.7.13\",kubelet_version=\"v1.30.2\",kubeproxy_version=\"v1.30.2\",provider_id=\"aws:///eu-west-1a/i-0abc\",pod_cidr=\"10.244.1.0/24\",system_uuid=\"ec2a-uuid\",internal_ip=\"fd00::17\"}} 1\n"
            ),
            format!("kube_node_role{{{id},role=\"gpu\"}} 1\n"),
            format!("kube_node_role{{{id},role=\"worker\"}} 1\n"),
            format!("kube_node_spec_pod_cidrs{{{id},pod_cidr=\"10.244.1.0/24\"}} 1\n"),
            format!("kube_node_spec_pod_cidrs{{{id},pod_cidr=\"fd00:10:244:1::/64\"}} 1\n"),
            format!(
                "kube_node_spec_taint{{{id},key=\"node.kubernetes.io/unschedulable\",value=\"\",effect=\"NoSchedule\"}} 1\n"
            ),
            format!(
                "kube_node_spec_taint{{{id},key=\"nvidia.com/gpu\",value=\"present\",effect=\"NoExecute\"}} 1\n"
            ),
            format!("kube_node_spec_unschedulable{{{id}}} 1\n"),
            format!("kube_node_status_allocatable{{{id},resource=\"cpu\",unit=\"core\"}} 3.92\n"),
            format!(
                "kube_node_status_allocatable{{{id},resource=\"ephemeral_storage\",unit=\"byte\"}} 9.3478772582e+10\n"
            ),
            format!(
                "kube_node_status_allocatable{{{id},resource=\"memory\",unit=\"byte\"}} 1.555191808e+10\n"
            ),
            format!(
                "kube_node_status_allocatable{{{id},resource=\"nvidia_com_gpu\",unit=\"integer\"}} 2\n"
            ),
            format!(
                "kube_node_status_allocatable{{{id},resource=\"pods\",unit=\"integer\"}} 110\n"
            ),
            format!(
                "kube_node_status_capacity{{{id},resource=\"attachable_volumes_aws_ebs\",unit=\"byte\"}} 25\n"
            ),
            format!("kube_node_status_capacity{{{id},resource=\"cpu\",unit=\"core\"}} 4\n"),
            format!(
                "kube_node_status_capacity{{{id},resource=\"ephemeral_storage\",unit=\"byte\"}} 1.0386530304e+11\n"
            ),
            format!(
                "kube_node_status_capacity{{{id},resource=\"hugepages_1Gi\",unit=\"byte\"}} 0\n"
            ),
            format!(
                "kube_node_status_capacity{{{id},resource=\"hugepages_2Mi\",unit=\"byte\"}} 6.7108864e+07\n"
            ),
            format!(
                "kube_node_status_capacity{{{id},resource=\"memory\",unit=\"byte\"}} 1.6730517504e+10\n"
            ),
            format!(
                "kube_node_status_capacity{{{id},resource=\"nvidia_com_gpu\",unit=\"integer\"}} 2\n"
            ),
            format!("kube_node_status_capacity{{{id},resource=\"pods\",unit=\"integer\"}} 110\n"),
        ];
        assert_contains(&text, &expected);
        assert!(
            !text.contains("example_com_Bad_"),
            "not a qualified name, so not an extended resource"
        );
        assert_eq!(
            family(&text, "kube_node_status_condition"),
            format!(
                "kube_node_status_condition{{{id},condition=\"MemoryPressure\",status=\"true\"}} 0\n\
                 kube_node_status_condition{{{id},condition=\"MemoryPressure\",status=\"false\"}} 1\n\
                 kube_node_status_condition{{{id},condition=\"MemoryPressure\",status=\"unknown\"}} 0\n\
                 kube_node_status_condition{{{id},condition=\"DiskPressure\",status=\"true\"}} 1\n\
                 kube_node_status_condition{{{id},condition=\"DiskPressure\",status=\"false\"}} 0\n\
                 kube_node_status_condition{{{id},condition=\"DiskPressure\",status=\"unknown\"}} 0\n\
                 kube_node_status_condition{{{id},condition=\"Ready\",status=\"true\"}} 0\n\
                 kube_node_status_condition{{{id},condition=\"Ready\",status=\"false\"}} 0\n\
                 kube_node_status_condition{{{id},condition=\"Ready\",status=\"unknown\"}} 1\n"
            )
        );
        assert_eq!(
            family(&text, "kube_node_status_addresses"),
            format!(
                "kube_node_status_addresses{{{id},type=\"InternalIP\",address=\"10.0.1.17\"}} 1\n\
                 kube_node_status_addresses{{{id},type=\"ExternalIP\",address=\"54.1.2.3\"}} 1\n\
                 kube_node_status_addresses{{{id},type=\"Hostname\",address=\"worker-1\"}} 1\n\
                 kube_node_status_addresses{{{id},type=\"InternalIP\",address=\"fd00::17\"}} 1\n"
            )
        );
        assert!(!text.contains("kube_node_deletion_timestamp"));
        assert!(
            !text.contains("kube_node_labels") && !text.contains("kube_node_annotations"),
            "labels and annotations need the allowlist"
        );
    }

    #[test]
    fn allowlisted_labels_and_annotations() {
        let text = lines_allowlisted::<Node>(worker());
        assert_eq!(
            family(&text, "kube_node_annotations"),
            "kube_node_annotations{node=\"worker-1\",annotation_node_alpha_kubernetes_io_ttl=\"0\"} 1\n"
        );
        assert_eq!(
            family(&text, "kube_node_labels"),
            "kube_node_labels{node=\"worker-1\",label_kubernetes_io_hostname=\"worker-1\",label_node_role_kubernetes_io_gpu=\"true\",label_node_role_kubernetes_io_worker=\"\"} 1\n"
        );
    }

    #[test]
    fn a_deleted_node_with_nothing_else_renders_without_panicking() {
        let text = lines::<Node>(serde_json::json!({
            "metadata": {"name": "gone", "deletionTimestamp": "2024-03-02T00:00:00Z"}
        }));
        assert_eq!(
            text,
            "kube_node_deletion_timestamp{node=\"gone\"} 1.7093376e+09\n\
             kube_node_info{node=\"gone\",kernel_version=\"\",os_image=\"\",container_runtime_version=\"\",kubelet_version=\"\",kubeproxy_version=\"\",provider_id=\"\",pod_cidr=\"\",system_uuid=\"\",internal_ip=\"\"} 1\n\
             kube_node_spec_unschedulable{node=\"gone\"} 0\n"
        );
        let bare = lines::<Node>(serde_json::json!({}));
        assert!(
            bare.contains("kube_node_spec_unschedulable{node=\"\"} 0\n"),
            "{bare}"
        );
    }

    #[test]
    fn go_zero_times_count_as_unset() {
        let text = lines::<Node>(serde_json::json!({
            "metadata": {
                "name": "z",
                "creationTimestamp": "0001-01-01T00:00:00Z",
                "deletionTimestamp": "0001-01-01T00:00:01Z"
            }
        }));
        assert!(!text.contains("kube_node_created"), "{text}");
        assert!(
            text.contains("kube_node_deletion_timestamp{node=\"z\"} -6.2135596799e+10\n"),
            "a second past zero is set: {text}"
        );
    }

    #[test]
    fn unknown_values_pass_through() {
        let text = lines::<Node>(serde_json::json!({
            "metadata": {"name": "odd", "labels": {"node-role.kubernetes.io/": ""}},
            "spec": {"taints": [{"key": "k", "effect": "SomeFutureEffect"}]},
            "status": {
                "capacity": {"cpu": "not-a-number", "vendor.example/widget": "1500m", "foo": "1"},
                "conditions": [{"type": "NetworkUnavailable", "status": "Maybe"}]
            }
        }));
        let id = "node=\"odd\"";
        assert_contains(
            &text,
            [
                format!("kube_node_role{{{id},role=\"\"}} 1\n"),
                format!(
                    "kube_node_spec_taint{{{id},key=\"k\",value=\"\",effect=\"SomeFutureEffect\"}} 1\n"
                ),
                format!(
                    "kube_node_status_capacity{{{id},resource=\"vendor_example_widget\",unit=\"integer\"}} 1.5\n"
                ),
                format!(
                    "kube_node_status_condition{{{id},condition=\"NetworkUnavailable\",status=\"unknown\"}} 0\n"
                ),
            ],
        );
        assert!(!text.contains("resource=\"cpu\""), "unparsable quantity");
        assert!(
            !text.contains("resource=\"foo\""),
            "no unit for a bare name"
        );
    }
}
