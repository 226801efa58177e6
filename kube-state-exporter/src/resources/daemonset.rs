//! DaemonSets: `kube_daemonset_*`, identity labels `namespace`,
//! `daemonset`.

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};

use super::Resource;
use super::common::{annotations, count, created, deletion_timestamp, labels, metadata_generation};
use crate::family::{Family, experimental, stable};

impl Resource for DaemonSet {
    const NAME: &'static str = "daemonsets";
    const NAME_LABEL: &'static str = "daemonset";

    fn families() -> &'static [Family<DaemonSet>] {
        FAMILIES
    }
}

fn status(d: &DaemonSet) -> Option<&DaemonSetStatus> {
    d.status.as_ref()
}

/// KSM v2.20 `daemonSetMetricFamilies`, in its order.
const FAMILIES: &[Family<DaemonSet>] = &[
    stable("kube_daemonset_created", "Unix creation timestamp", created),
    stable(
        "kube_daemonset_status_current_number_scheduled",
        "The number of nodes running at least one daemon pod and are supposed to.",
        |d, series| series.add(&[], count(status(d).map(|s| s.current_number_scheduled))),
    ),
    stable(
        "kube_daemonset_status_desired_number_scheduled",
        "The number of nodes that should be running the daemon pod.",
        |d, series| series.add(&[], count(status(d).map(|s| s.desired_number_scheduled))),
    ),
    stable(
        "kube_daemonset_status_number_available",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.number_available))),
    ),
    stable(
        "kube_daemonset_status_number_misscheduled",
        "The number of nodes running a daemon pod but are not supposed to.",
        |d, series| series.add(&[], count(status(d).map(|s| s.number_misscheduled))),
    ),
    stable(
        "kube_daemonset_status_number_ready",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        |d, series| series.add(&[], count(status(d).map(|s| s.number_ready))),
    ),
    stable(
        "kube_daemonset_status_number_unavailable",
        "The number of nodes that should be running the daemon pod and have none of the daemon pod running and available",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.number_unavailable))),
    ),
    stable(
        "kube_daemonset_status_observed_generation",
        "The most recent generation observed by the daemon set controller.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.observed_generation))),
    ),
    stable(
        "kube_daemonset_status_updated_number_scheduled",
        "The total number of nodes that are running updated daemon pod",
        |d, series| {
            series.add(
                &[],
                count(status(d).and_then(|s| s.updated_number_scheduled)),
            )
        },
    ),
    stable(
        "kube_daemonset_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        metadata_generation,
    ),
    experimental(
        "kube_daemonset_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    experimental(
        "kube_daemonset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_daemonset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, headers, lines, lines_allowlisted, names};

    #[test]
    fn families_are_ksm_v2_20s_in_order_with_its_headers() {
        assert_eq!(
            names::<DaemonSet>(),
            [
                "kube_daemonset_created",
                "kube_daemonset_status_current_number_scheduled",
                "kube_daemonset_status_desired_number_scheduled",
                "kube_daemonset_status_number_available",
                "kube_daemonset_status_number_misscheduled",
                "kube_daemonset_status_number_ready",
                "kube_daemonset_status_number_unavailable",
                "kube_daemonset_status_observed_generation",
                "kube_daemonset_status_updated_number_scheduled",
                "kube_daemonset_metadata_generation",
                "kube_daemonset_deletion_timestamp",
                "kube_daemonset_annotations",
                "kube_daemonset_labels",
            ]
        );
        let headers = headers::<DaemonSet>();
        assert_contains(
            &headers,
            [
                "# HELP kube_daemonset_status_number_available [STABLE] The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available\n",
                "# HELP kube_daemonset_deletion_timestamp Unix deletion timestamp\n",
                "# HELP kube_daemonset_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n",
            ],
        );
    }

    #[test]
    fn a_daemonset_with_misscheduled_pods() {
        let text = lines::<DaemonSet>(serde_json::json!({
            "metadata": {
                "name": "node-exporter", "namespace": "monitoring", "generation": 4,
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "labels": {"app": "node-exporter"}
            },
            "spec": {"selector": {}, "template": {}},
            "status": {
                "currentNumberScheduled": 5, "desiredNumberScheduled": 4,
                "numberMisscheduled": 1, "numberReady": 4, "numberAvailable": 4,
                "updatedNumberScheduled": 3, "observedGeneration": 4
            }
        }));
        let id = "namespace=\"monitoring\",daemonset=\"node-exporter\"";
        assert_eq!(
            text,
            format!(
                "kube_daemonset_created{{{id}}} 1.7e+09\n\
                 kube_daemonset_status_current_number_scheduled{{{id}}} 5\n\
                 kube_daemonset_status_desired_number_scheduled{{{id}}} 4\n\
                 kube_daemonset_status_number_available{{{id}}} 4\n\
                 kube_daemonset_status_number_misscheduled{{{id}}} 1\n\
                 kube_daemonset_status_number_ready{{{id}}} 4\n\
                 kube_daemonset_status_number_unavailable{{{id}}} 0\n\
                 kube_daemonset_status_observed_generation{{{id}}} 4\n\
                 kube_daemonset_status_updated_number_scheduled{{{id}}} 3\n\
                 kube_daemonset_metadata_generation{{{id}}} 4\n"
            )
        );
        let text = lines_allowlisted::<DaemonSet>(serde_json::json!({
            "metadata": {"name": "ds", "namespace": "ns", "labels": {"app": "x"},
                         "deletionTimestamp": "2023-11-14T22:13:20Z"}
        }));
        assert!(
            text.contains("kube_daemonset_annotations{namespace=\"ns\",daemonset=\"ds\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "kube_daemonset_labels{namespace=\"ns\",daemonset=\"ds\",label_app=\"x\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "kube_daemonset_metadata_generation{namespace=\"ns\",daemonset=\"ds\"} 0\n\
                 kube_daemonset_deletion_timestamp{namespace=\"ns\",daemonset=\"ds\"} 1.7e+09\n\
                 kube_daemonset_annotations{"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_empty_daemonset_renders_zeros() {
        let text = lines::<DaemonSet>(serde_json::json!({"metadata": {}}));
        assert_eq!(text.lines().count(), 9, "{text}");
        assert!(text.starts_with(
            "kube_daemonset_status_current_number_scheduled{namespace=\"\",daemonset=\"\"} 0\n"
        ));
    }
}
