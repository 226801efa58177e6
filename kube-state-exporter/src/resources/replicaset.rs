//! ReplicaSets: `kube_replicaset_*`, identity labels `namespace`,
//! `replicaset`.

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};

use super::Resource;
use super::common::{
    annotations, count, created, labels, metadata_generation, owners, value_if_set,
};
use crate::family::{Family, experimental, stable};

impl Resource for ReplicaSet {
    const NAME: &'static str = "replicasets";
    const NAME_LABEL: &'static str = "replicaset";

    fn families() -> &'static [Family<ReplicaSet>] {
        FAMILIES
    }
}

fn status(r: &ReplicaSet) -> Option<&ReplicaSetStatus> {
    r.status.as_ref()
}

/// KSM v2.20 `replicaSetMetricFamilies`, in its order.
const FAMILIES: &[Family<ReplicaSet>] = &[
    stable(
        "kube_replicaset_created",
        "Unix creation timestamp",
        created,
    ),
    stable(
        "kube_replicaset_status_replicas",
        "The number of replicas per ReplicaSet.",
        |r, series| series.add(&[], count(status(r).map(|s| s.replicas))),
    ),
    stable(
        "kube_replicaset_status_fully_labeled_replicas",
        "The number of fully labeled replicas per ReplicaSet.",
        |r, series| series.add(&[], count(status(r).and_then(|s| s.fully_labeled_replicas))),
    ),
    stable(
        "kube_replicaset_status_ready_replicas",
        "The number of ready replicas per ReplicaSet.",
        |r, series| series.add(&[], count(status(r).and_then(|s| s.ready_replicas))),
    ),
    experimental(
        "kube_replicaset_status_terminating_replicas",
        "The number of terminating replicas per ReplicaSet.",
        |r, series| {
            // A pointer in the API: no series until the controller sets it.
            let terminating = status(r).and_then(|s| s.terminating_replicas);
            value_if_set(series, terminating.map(f64::from));
        },
    ),
    stable(
        "kube_replicaset_status_observed_generation",
        "The generation observed by the ReplicaSet controller.",
        |r, series| series.add(&[], count(status(r).and_then(|s| s.observed_generation))),
    ),
    stable(
        "kube_replicaset_spec_replicas",
        "Number of desired pods for a ReplicaSet.",
        |r, series| value_if_set(series, r.spec.replicas.map(f64::from)),
    ),
    stable(
        "kube_replicaset_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        metadata_generation,
    ),
    stable(
        "kube_replicaset_owner",
        "Information about the ReplicaSet's owner.",
        owners,
    ),
    experimental(
        "kube_replicaset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_replicaset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, headers, lines, names};

    #[test]
    fn families_are_ksm_v2_20s_in_order_with_its_headers() {
        assert_eq!(
            names::<ReplicaSet>(),
            [
                "kube_replicaset_created",
                "kube_replicaset_status_replicas",
                "kube_replicaset_status_fully_labeled_replicas",
                "kube_replicaset_status_ready_replicas",
                "kube_replicaset_status_terminating_replicas",
                "kube_replicaset_status_observed_generation",
                "kube_replicaset_spec_replicas",
                "kube_replicaset_metadata_generation",
                "kube_replicaset_owner",
                "kube_replicaset_annotations",
                "kube_replicaset_labels",
            ]
        );
        let headers = headers::<ReplicaSet>();
        assert_contains(
            &headers,
            [
                "# HELP kube_replicaset_owner [STABLE] Information about the ReplicaSet's owner.\n",
                "# HELP kube_replicaset_status_terminating_replicas The number of terminating replicas per ReplicaSet.\n",
                "# HELP kube_replicaset_annotations Kubernetes annotations converted to Prometheus labels.\n",
            ],
        );
    }

    #[test]
    fn a_replicaset_owned_by_a_deployment() {
        let text = lines::<ReplicaSet>(serde_json::json!({
            "metadata": {
                "name": "web-5d9f7c", "namespace": "shop", "generation": 2,
                "creationTimestamp": "2024-03-01T10:00:00Z",
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": "d1", "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": {"replicas": 3, "selector": {}},
            "status": {
                "replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2,
                "availableReplicas": 2, "observedGeneration": 2, "terminatingReplicas": 0
            }
        }));
        let id = "namespace=\"shop\",replicaset=\"web-5d9f7c\"";
        assert_eq!(
            text,
            format!(
                "kube_replicaset_created{{{id}}} 1.7092872e+09\n\
                 kube_replicaset_status_replicas{{{id}}} 3\n\
                 kube_replicaset_status_fully_labeled_replicas{{{id}}} 3\n\
                 kube_replicaset_status_ready_replicas{{{id}}} 2\n\
                 kube_replicaset_status_terminating_replicas{{{id}}} 0\n\
                 kube_replicaset_status_observed_generation{{{id}}} 2\n\
                 kube_replicaset_spec_replicas{{{id}}} 3\n\
                 kube_replicaset_metadata_generation{{{id}}} 2\n\
                 kube_replicaset_owner{{{id},owner_kind=\"Deployment\",owner_name=\"web\",owner_is_controller=\"true\"}} 1\n"
            )
        );
    }

    #[test]
    fn a_bare_replicaset_has_empty_owner_values_and_no_optional_series() {
        let text = lines::<ReplicaSet>(serde_json::json!({
            "metadata": {"name": "rs", "namespace": "ns",
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Thing", "name": "t", "uid": "u"}]}
        }));
        let id = "namespace=\"ns\",replicaset=\"rs\"";
        assert!(text.contains(&format!(
            "kube_replicaset_owner{{{id},owner_kind=\"Thing\",owner_name=\"t\",owner_is_controller=\"false\"}} 1\n"
        )), "{text}");
        assert!(!text.contains("spec_replicas"), "{text}");
        assert!(!text.contains("terminating"), "{text}");
        let text = lines::<ReplicaSet>(serde_json::json!({"metadata": {}}));
        assert!(text.contains(
            "kube_replicaset_owner{namespace=\"\",replicaset=\"\",owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"} 1\n"
        ), "{text}");
    }
}
