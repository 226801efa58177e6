//! StatefulSets: `kube_statefulset_*`, identity labels `namespace`,
//! `statefulset`.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};

use super::Resource;
use super::common::{
    annotations, count, created, deletion_timestamp, labels, metadata_generation, value_if_set,
};
use crate::family::{Family, Series, stable};

impl Resource for StatefulSet {
    const NAME: &'static str = "statefulsets";
    const NAME_LABEL: &'static str = "statefulset";

    fn families() -> &'static [Family<StatefulSet>] {
        FAMILIES
    }
}

fn status(s: &StatefulSet) -> Option<&StatefulSetStatus> {
    s.status.as_ref()
}

/// `kube_statefulset_status_{current,update}_revision`: always one series,
/// with an empty revision before the controller has set one.
fn revision(series: &mut Series<'_>, revision: Option<&String>) {
    series.add(
        &[("revision", revision.map(String::as_str).unwrap_or_default())],
        1.0,
    );
}

/// KSM v2.20 `statefulSetMetricFamilies`, in its order (all of them STABLE
/// in v2.20).
const FAMILIES: &[Family<StatefulSet>] = &[
    stable(
        "kube_statefulset_created",
        "Unix creation timestamp",
        created,
    ),
    stable(
        "kube_statefulset_status_replicas",
        "The number of replicas per StatefulSet.",
        |s, series| series.add(&[], count(status(s).map(|s| s.replicas))),
    ),
    stable(
        "kube_statefulset_status_replicas_available",
        "The number of available replicas per StatefulSet.",
        |s, series| series.add(&[], count(status(s).and_then(|s| s.available_replicas))),
    ),
    stable(
        "kube_statefulset_status_replicas_current",
        "The number of current replicas per StatefulSet.",
        |s, series| series.add(&[], count(status(s).and_then(|s| s.current_replicas))),
    ),
    stable(
        "kube_statefulset_status_replicas_ready",
        "The number of ready replicas per StatefulSet.",
        |s, series| series.add(&[], count(status(s).and_then(|s| s.ready_replicas))),
    ),
    stable(
        "kube_statefulset_status_replicas_updated",
        "The number of updated replicas per StatefulSet.",
        |s, series| series.add(&[], count(status(s).and_then(|s| s.updated_replicas))),
    ),
    stable(
        "kube_statefulset_status_observed_generation",
        "The generation observed by the StatefulSet controller.",
        |s, series| series.add(&[], count(status(s).and_then(|s| s.observed_generation))),
    ),
    stable(
        "kube_statefulset_replicas",
        "Number of desired pods for a StatefulSet.",
        |s, series| value_if_set(series, s.spec.replicas.map(f64::from)),
    ),
    stable(
        "kube_statefulset_ordinals_start",
        "Start ordinal of the StatefulSet.",
        |s, series| {
            let ordinals = s.spec.ordinals.as_ref();
            value_if_set(series, ordinals.map(|o| count(o.start)));
        },
    ),
    stable(
        "kube_statefulset_metadata_generation",
        "Sequence number representing a specific generation of the desired state for the StatefulSet.",
        metadata_generation,
    ),
    stable(
        "kube_statefulset_persistentvolumeclaim_retention_policy",
        "Count of retention policy for StatefulSet template PVCs",
        |s, series| {
            let policy = s.spec.persistent_volume_claim_retention_policy.as_ref();
            let when_deleted = policy
                .and_then(|p| p.when_deleted.as_deref())
                .unwrap_or_default();
            let when_scaled = policy
                .and_then(|p| p.when_scaled.as_deref())
                .unwrap_or_default();
            if !when_deleted.is_empty() || !when_scaled.is_empty() {
                series.add(
                    &[("when_deleted", when_deleted), ("when_scaled", when_scaled)],
                    1.0,
                );
            }
        },
    ),
    stable(
        "kube_statefulset_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_statefulset_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    stable(
        "kube_statefulset_status_current_revision",
        "Indicates the version of the StatefulSet used to generate Pods in the sequence [0,currentReplicas).",
        |s, series| revision(series, status(s).and_then(|s| s.current_revision.as_ref())),
    ),
    stable(
        "kube_statefulset_status_update_revision",
        "Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)",
        |s, series| revision(series, status(s).and_then(|s| s.update_revision.as_ref())),
    ),
    stable(
        "kube_statefulset_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, headers, lines, names};

    #[test]
    fn families_are_ksm_v2_20s_in_order_with_its_headers() {
        assert_eq!(
            names::<StatefulSet>(),
            [
                "kube_statefulset_created",
                "kube_statefulset_status_replicas",
                "kube_statefulset_status_replicas_available",
                "kube_statefulset_status_replicas_current",
                "kube_statefulset_status_replicas_ready",
                "kube_statefulset_status_replicas_updated",
                "kube_statefulset_status_observed_generation",
                "kube_statefulset_replicas",
                "kube_statefulset_ordinals_start",
                "kube_statefulset_metadata_generation",
                "kube_statefulset_persistentvolumeclaim_retention_policy",
                "kube_statefulset_annotations",
                "kube_statefulset_labels",
                "kube_statefulset_status_current_revision",
                "kube_statefulset_status_update_revision",
                "kube_statefulset_deletion_timestamp",
            ]
        );
        let headers = headers::<StatefulSet>();
        assert_eq!(headers.matches("[STABLE]").count(), 16, "{headers}");
        assert!(headers.contains(
            "# HELP kube_statefulset_status_update_revision [STABLE] Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)\n"
        ));
    }

    #[test]
    fn a_statefulset_with_ordinals_and_a_retention_policy() {
        let text = lines::<StatefulSet>(serde_json::json!({
            "metadata": {
                "name": "db", "namespace": "data", "generation": 5,
                "creationTimestamp": "2024-03-01T10:00:00Z",
                "deletionTimestamp": "2024-03-02T00:00:00Z"
            },
            "spec": {
                "replicas": 3, "serviceName": "db", "selector": {}, "template": {},
                "ordinals": {"start": 1},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"}
            },
            "status": {
                "replicas": 3, "readyReplicas": 2, "currentReplicas": 1, "updatedReplicas": 2,
                "availableReplicas": 2, "observedGeneration": 5,
                "currentRevision": "db-6c4f", "updateRevision": "db-7d8e"
            }
        }));
        let id = "namespace=\"data\",statefulset=\"db\"";
        assert_eq!(
            text,
            format!(
                "kube_statefulset_created{{{id}}} 1.7092872e+09\n\
                 kube_statefulset_status_replicas{{{id}}} 3\n\
                 kube_statefulset_status_replicas_available{{{id}}} 2\n\
                 kube_statefulset_status_replicas_current{{{id}}} 1\n\
                 kube_statefulset_status_replicas_ready{{{id}}} 2\n\
                 kube_statefulset_status_replicas_updated{{{id}}} 2\n\
                 kube_statefulset_status_observed_generation{{{id}}} 5\n\
                 kube_statefulset_replicas{{{id}}} 3\n\
                 kube_statefulset_ordinals_start{{{id}}} 1\n\
                 kube_statefulset_metadata_generation{{{id}}} 5\n\
                 kube_statefulset_persistentvolumeclaim_retention_policy{{{id},when_deleted=\"Retain\",when_scaled=\"Delete\"}} 1\n\
                 kube_statefulset_status_current_revision{{{id},revision=\"db-6c4f\"}} 1\n\
                 kube_statefulset_status_update_revision{{{id},revision=\"db-7d8e\"}} 1\n\
                 kube_statefulset_deletion_timestamp{{{id}}} 1.7093376e+09\n"
            )
        );
    }

    #[test]
    fn a_statefulset_with_nothing_set() {
        let text = lines::<StatefulSet>(serde_json::json!({
            "metadata": {"name": "s"},
            "spec": {"selector": {}, "template": {}, "ordinals": {},
                     "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"}}
        }));
        let id = "namespace=\"\",statefulset=\"s\"";
        assert_contains(
            &text,
            [
                format!("kube_statefulset_status_replicas{{{id}}} 0\n"),
                format!("kube_statefulset_ordinals_start{{{id}}} 0\n"),
                format!(
                    "kube_statefulset_persistentvolumeclaim_retention_policy{{{id},when_deleted=\"\",when_scaled=\"Delete\"}} 1\n"
                ),
                format!("kube_statefulset_status_current_revision{{{id},revision=\"\"}} 1\n"),
                format!("kube_statefulset_status_update_revision{{{id},revision=\"\"}} 1\n"),
            ],
        );
        assert!(!text.contains("kube_statefulset_replicas{"), "{text}");
        let text = lines::<StatefulSet>(serde_json::json!({"metadata": {}}));
        assert!(!text.contains("ordinals"), "{text}");
        assert!(!text.contains("retention"), "{text}");
    }
}
