//! Nodes: `kube_node_*`, identity label `node`.
//!
//! Also home of the exact quantity arithmetic (Go's `Quantity.Value()` and
//! `MilliValue()`, done on the decimal text rather than through a float)
//! that the persistent volume and claim families share.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, Client};

use super::Resource;
use super::common::{condition, flag, quantity_milli, quantity_value, unix};
use crate::family::{Family, Kind, Series, Stability};

impl Resource for Node {
    const NAME: &'static str = "nodes";
    const NAMESPACED: bool = false;

    fn families() -> &'static [Family<Node>] {
        FAMILIES
    }

    fn identity(&self) -> Vec<(&'static str, &str)> {
        let meta = &self.metadata;
        vec![("node", meta.name.as_deref().unwrap_or_default())]
    }

    fn api(client: Client, namespace: Option<&str>) -> Api<Node> {
        let _ = namespace;
        Api::all(client)
    }
}

/// The label prefix whose keys name a node's roles.
const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

const FAMILIES: &[Family<Node>] = &[
    Family {
        name: "kube_node_annotations",
        help: "Kubernetes annotations converted to Prometheus labels.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |node, series| {
            series.allowlisted("annotation", node.metadata.annotations.as_ref());
        },
    },
    Family {
        name: "kube_node_created",
        help: "Unix creation timestamp",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| timestamp(series, node.metadata.creation_timestamp.as_ref()),
    },
    Family {
        name: "kube_node_deletion_timestamp",
        help: "Unix deletion timestamp",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |node, series| timestamp(series, node.metadata.deletion_timestamp.as_ref()),
    },
    Family {
        name: "kube_node_info",
        help: "Information about a cluster node.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: node_info,
    },
    Family {
        name: "kube_node_labels",
        help: "Kubernetes labels converted to Prometheus labels.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| series.allowlisted("label", node.metadata.labels.as_ref()),
    },
    Family {
        name: "kube_node_role",
        help: "The role of a cluster node.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |node, series| {
            let labels = node.metadata.labels.iter().flatten();
            for key in labels.map(|(key, _)| key) {
                if let Some(role) = key.strip_prefix(ROLE_PREFIX) {
                    series.add(&[("role", role)], 1.0);
                }
            }
        },
    },
    Family {
        name: "kube_node_spec_pod_cidrs",
        help: "The pod CIDRs of a cluster node.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |node, series| {
            let spec = node.spec.as_ref();
            for cidr in spec
                .and_then(|s| s.pod_cidrs.as_ref())
                .into_iter()
                .flatten()
            {
                series.add(&[("pod_cidr", cidr)], 1.0);
            }
        },
    },
    Family {
        name: "kube_node_spec_taint",
        help: "The taint of a cluster node.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| {
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
    },
    Family {
        name: "kube_node_spec_unschedulable",
        help: "Whether a node can schedule new pods.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| {
            let spec = node.spec.as_ref();
            series.add(&[], flag(spec.and_then(|s| s.unschedulable) == Some(true)));
        },
    },
    Family {
        name: "kube_node_status_allocatable",
        help: "The allocatable for different resources of a node that are available for scheduling.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| {
            let status = node.status.as_ref();
            node_resources(series, status.and_then(|s| s.allocatable.as_ref()));
        },
    },
    Family {
        name: "kube_node_status_capacity",
        help: "The capacity for different resources of a node.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| {
            let status = node.status.as_ref();
            node_resources(series, status.and_then(|s| s.capacity.as_ref()));
        },
    },
    Family {
        name: "kube_node_status_condition",
        help: "The condition of a cluster node.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |node, series| {
            let status = node.status.as_ref();
            for c in status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
            {
                condition(series, &[("condition", &c.type_)], "status", &c.status);
            }
        },
    },
    Family {
        name: "kube_node_status_addresses",
        help: "Node address information.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |node, series| {
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
    },
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
        let Some(value) = milli_value(amount) else {
            continue;
        };
        let resource = crate::labels::sanitize(name);
        for unit in units {
            series.add(&[("resource", &resource), ("unit", unit)], value);
        }
    }
}

/// Kubernetes' extended resources as KSM tells them: a name outside the
/// `kubernetes.io/` domain, with a domain (so not native), not itself a
/// `requests.` quota name, and a valid qualified name once `requests.` is
/// put in front of it.
fn is_extended_resource(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    if native || name.starts_with("requests.") {
        return false;
    }
    let quota_name = format!("requests.{name}");
    is_qualified_name(&quota_name)
}

/// Kubernetes' `IsQualifiedName`: an optional DNS-subdomain prefix and `/`,
/// then a name of at most 63 characters made of alphanumerics, `-`, `_` and
/// `.`, starting and ending with an alphanumeric.
fn is_qualified_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    let name = match parts.as_slice() {
        [name] => name,
        [prefix, name] => {
            if !is_dns_subdomain(prefix) {
                return false;
            }
            name
        }
        _ => return false,
    };
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= 63
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// RFC 1123 subdomain: at most 253 characters, dot-separated labels of
/// lower-case alphanumerics and `-`, each starting and ending with an
/// alphanumeric.
fn is_dns_subdomain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            let bytes = label.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    is_lower_alnum(*first)
                        && is_lower_alnum(*last)
                        && bytes.iter().all(|b| is_lower_alnum(*b) || *b == b'-')
                }
                _ => false,
            }
        })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Go's zero `time.Time`, 0001-01-01T00:00:00Z, in Unix seconds.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// KSM's `_created` and `_deletion_timestamp` families: one series in Unix
/// seconds when the time is there and not Go's zero time (which KSM's
/// `IsZero` checks treat as unset).
pub(super) fn timestamp(series: &mut Series<'_>, time: Option<&Time>) {
    let is_zero = |t: &&Time| t.0.as_second() == GO_ZERO_TIME && t.0.subsec_nanosecond() == 0;
    if let Some(time) = time.filter(|t| !is_zero(t)) {
        series.add(&[], unix(time));
    }
}

/// Go's `float64(q.MilliValue()) / 1000`: the quantity in thousandths,
/// rounded up, then divided back (CPU cores from `3300m` is exactly 3.3).
pub(super) fn milli_value(q: &Quantity) -> Option<f64> {
    match scaled(q, 3) {
        Some(milli) => Some(milli as f64 / 1000.0),
        None => quantity_milli(q),
    }
}

/// Go's `float64(q.Value())`: the quantity rounded up to a whole number.
pub(super) fn value(q: &Quantity) -> Option<f64> {
    match scaled(q, 0) {
        Some(whole) => Some(whole as f64),
        None => quantity_value(q),
    }
}

/// The quantity times 10^`scale`, rounded away from zero, computed exactly
/// from its text (`<sign><digits>.<digits><suffix>`, suffixes `n u m k M G
/// T P E`, `Ki`..`Ei` or an `e`/`E` exponent). `None` for text that does not
/// parse or numbers too large for 128 bits.
fn scaled(q: &Quantity, scale: i32) -> Option<i128> {
    let text = q.0.trim();
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let mut mantissa: u128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u128::from(digit - b'0'))?;
    }
    let (exponent10, exponent2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        exponent => {
            let digits = exponent.strip_prefix(['e', 'E'])?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (digits.parse().ok()?, 0)
        }
    };
    let fraction_len = i32::try_from(fraction.len()).ok()?;
    let numerator = mantissa.checked_mul(1u128 << exponent2)?;
    let power = exponent10.checked_sub(fraction_len)?.checked_add(scale)?;
    let magnitude = if power >= 0 {
        numerator.checked_mul(10u128.checked_pow(power.unsigned_abs())?)?
    } else {
        match 10u128.checked_pow(power.unsigned_abs()) {
            Some(divisor) => numerator / divisor + u128::from(numerator % divisor != 0),
            // Smaller than any unit: rounds up to one, unless zero.
            None => u128::from(numerator != 0),
        }
    };
    let magnitude = i128::try_from(magnitude).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Test support shared by the resource files: render every family of an
/// object given as JSON.
#[cfg(test)]
pub(super) mod test_support {
    use crate::family::RenderConfig;
    use crate::labels::AllowList;
    use crate::resources::{Resource, render};

    /// Every line `object` renders with all families on and no allowlist.
    pub fn lines<K: Resource>(object: serde_json::Value) -> String {
        render_with::<K>(object, RenderConfig::default())
    }

    /// As [`lines`], with every label and annotation allowlisted.
    pub fn lines_allowing_all<K: Resource>(object: serde_json::Value) -> String {
        let all = AllowList::parse("test", "*=[*]")
            .unwrap()
            .for_resource(K::NAME);
        let config = RenderConfig {
            labels: all.clone(),
            annotations: all,
            ..RenderConfig::default()
        };
        render_with::<K>(object, config)
    }

    fn render_with<K: Resource>(object: serde_json::Value, config: RenderConfig) -> String {
        let object: K = serde_json::from_value(object).unwrap();
        let families = K::families().len();
        let config = RenderConfig {
            enabled: vec![true; families].into(),
            ..config
        };
        let rendered = render(&object, &config);
        (0..families)
            .map(|i| String::from_utf8(rendered.family(i).to_vec()).unwrap())
            .collect()
    }

    /// The lines of `text` that belong to the family `name`.
    pub fn family(text: &str, name: &str) -> String {
        text.lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
            })
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// The family names in `families`, in table order.
    pub fn names<K: Resource>() -> Vec<&'static str> {
        K::families().iter().map(|f| f.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{family, lines, lines_allowing_all, names};
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_owned())
    }

    #[test]
    fn quantities_are_exact_where_floats_are_not() {
        assert_eq!(milli_value(&q("3300m")), Some(3.3));
        assert_eq!(milli_value(&q("3920m")), Some(3.92));
        assert_eq!(milli_value(&q("250m")), Some(0.25));
        assert_eq!(milli_value(&q("2")), Some(2.0));
        assert_eq!(milli_value(&q("0.1")), Some(0.1));
        assert_eq!(milli_value(&q("1n")), Some(0.001), "rounds up");
        assert_eq!(milli_value(&q("1.5Ki")), Some(1536.0));
        assert_eq!(milli_value(&q("16338396Ki")), Some(16730517504.0));
        assert_eq!(milli_value(&q("100M")), Some(1e8));
        assert_eq!(milli_value(&q("1e3")), Some(1000.0));
        assert_eq!(milli_value(&q("12E-1")), Some(1.2));
        assert_eq!(milli_value(&q("1E")), Some(1e18));
        assert_eq!(value(&q("100m")), Some(1.0), "Value() rounds up");
        assert_eq!(value(&q("10Gi")), Some(10737418240.0));
        assert_eq!(value(&q("-1.5")), Some(-2.0), "away from zero");
        assert_eq!(value(&q(".5")), Some(1.0));
        for bad in ["", ".", "lots", "1Xi", "1e", "1.2.3", "e3", "1e+", "--1"] {
            assert_eq!(scaled(&q(bad), 0), None, "{bad:?}");
        }
        // Too large for exact arithmetic: falls back to the float reading.
        assert_eq!(value(&q("1e40")), Some(1e40));
    }

    #[test]
    fn extended_resources_follow_kubernetes_rules() {
        assert!(is_extended_resource("nvidia.com/gpu"));
        assert!(is_extended_resource("example.com/foo_bar.baz"));
        assert!(!is_extended_resource("kubernetes.io/something"));
        assert!(!is_extended_resource("example.kubernetes.io/something"));
        assert!(!is_extended_resource("cpu"));
        assert!(!is_extended_resource("requests.example.com/foo"));
        assert!(
            !is_extended_resource("Example.com/foo"),
            "upper-case domain"
        );
        assert!(!is_extended_resource("example.com/-foo"));
        assert!(!is_extended_resource("a/b/c"));
        assert!(!is_extended_resource("example.com/"));
        assert!(!is_extended_resource(&format!(
            "example.com/{}",
            "x".repeat(64)
        )));
    }

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
        let headers: String = FAMILIES
            .iter()
            .map(|f| String::from_utf8(f.header()).unwrap())
            .collect();
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
        for line in &expected {
            assert!(text.contains(line.as_str()), "missing {line}in\n{text}");
        }
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
        let text = lines_allowing_all::<Node>(worker());
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
        for line in [
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
        ] {
            assert!(text.contains(&line), "missing {line}in\n{text}");
        }
        assert!(!text.contains("resource=\"cpu\""), "unparsable quantity");
        assert!(
            !text.contains("resource=\"foo\""),
            "no unit for a bare name"
        );
    }
}
