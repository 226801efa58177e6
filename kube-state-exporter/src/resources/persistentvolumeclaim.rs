//! PersistentVolumeClaims: `kube_persistentvolumeclaim_*`, identity labels
//! `namespace`, `persistentvolumeclaim`.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::{Api, Client};

use super::common::condition;
use super::node::{timestamp, value};
use super::{Resource, namespaced_api};
use crate::family::{Family, Kind, Stability};

impl Resource for PersistentVolumeClaim {
    const NAME: &'static str = "persistentvolumeclaims";
    const NAMESPACED: bool = true;

    fn families() -> &'static [Family<PersistentVolumeClaim>] {
        FAMILIES
    }

    fn identity(&self) -> Vec<(&'static str, &str)> {
        let meta = &self.metadata;
        vec![
            ("namespace", meta.namespace.as_deref().unwrap_or_default()),
            (
                "persistentvolumeclaim",
                meta.name.as_deref().unwrap_or_default(),
            ),
        ]
    }

    fn api(client: Client, namespace: Option<&str>) -> Api<PersistentVolumeClaim> {
        namespaced_api(client, namespace)
    }
}

/// The legacy annotation that, when present, names the claim's class
/// ahead of `spec.storageClassName`.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The claim's storage class as KSM reports it: the beta annotation, else
/// the spec's class, else `<none>`.
fn storage_class(pvc: &PersistentVolumeClaim) -> &str {
    let annotations = pvc.metadata.annotations.as_ref();
    if let Some(class) = annotations.and_then(|a| a.get(BETA_STORAGE_CLASS)) {
        return class;
    }
    let spec = pvc.spec.as_ref();
    spec.and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("<none>")
}

const FAMILIES: &[Family<PersistentVolumeClaim>] = &[
    Family {
        name: "kube_persistentvolumeclaim_labels",
        help: "Kubernetes labels converted to Prometheus labels.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pvc, series| series.allowlisted("label", pvc.metadata.labels.as_ref()),
    },
    Family {
        name: "kube_persistentvolumeclaim_annotations",
        help: "Kubernetes annotations converted to Prometheus labels.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |pvc, series| series.allowlisted("annotation", pvc.metadata.annotations.as_ref()),
    },
    Family {
        name: "kube_persistentvolumeclaim_info",
        help: "Information about persistent volume claim.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pvc, series| {
            let spec = pvc.spec.as_ref();
            series.add(
                &[
                    ("storageclass", storage_class(pvc)),
                    (
                        "volumename",
                        spec.and_then(|s| s.volume_name.as_deref())
                            .unwrap_or_default(),
                    ),
                    (
                        "volumemode",
                        spec.and_then(|s| s.volume_mode.as_deref())
                            .unwrap_or_default(),
                    ),
                ],
                1.0,
            );
        },
    },
    Family {
        name: "kube_persistentvolumeclaim_status_phase",
        help: "The phase the persistent volume claim is currently in.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pvc, series| {
            // No series until the claim has a phase.
            let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref());
            if let Some(phase) = phase.filter(|p| !p.is_empty()) {
                series.state_set("phase", &["Lost", "Bound", "Pending"], phase);
            }
        },
    },
    Family {
        name: "kube_persistentvolumeclaim_resource_requests_storage_bytes",
        help: "The capacity of storage requested by the persistent volume claim.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pvc, series| {
            let requests = pvc
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref());
            if let Some(bytes) = requests.and_then(|r| r.get("storage")).and_then(value) {
                series.add(&[], bytes);
            }
        },
    },
    Family {
        name: "kube_persistentvolumeclaim_access_mode",
        help: "The access mode(s) specified by the persistent volume claim.",
        kind: Kind::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        generate: |pvc, series| {
            let spec = pvc.spec.as_ref();
            for mode in spec
                .and_then(|s| s.access_modes.as_ref())
                .into_iter()
                .flatten()
            {
                series.add(&[("access_mode", mode)], 1.0);
            }
        },
    },
    Family {
        name: "kube_persistentvolumeclaim_status_condition",
        help: "Information about status of different conditions of persistent volume claim.",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |pvc, series| {
            let status = pvc.status.as_ref();
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
        name: "kube_persistentvolumeclaim_created",
        help: "Unix creation timestamp",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |pvc, series| timestamp(series, pvc.metadata.creation_timestamp.as_ref()),
    },
    Family {
        name: "kube_persistentvolumeclaim_deletion_timestamp",
        help: "Unix deletion timestamp",
        kind: Kind::Gauge,
        stability: Stability::Experimental,
        opt_in: false,
        generate: |pvc, series| timestamp(series, pvc.metadata.deletion_timestamp.as_ref()),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::node::test_support::{family, lines, lines_allowing_all, names};

    #[test]
    fn families_are_in_ksm_order() {
        assert_eq!(
            names::<PersistentVolumeClaim>(),
            [
                "kube_persistentvolumeclaim_labels",
                "kube_persistentvolumeclaim_annotations",
                "kube_persistentvolumeclaim_info",
                "kube_persistentvolumeclaim_status_phase",
                "kube_persistentvolumeclaim_resource_requests_storage_bytes",
                "kube_persistentvolumeclaim_access_mode",
                "kube_persistentvolumeclaim_status_condition",
                "kube_persistentvolumeclaim_created",
                "kube_persistentvolumeclaim_deletion_timestamp",
            ]
        );
    }

    #[test]
    fn a_bound_claim_being_resized() {
        let object = serde_json::json!({
            "metadata": {
                "name": "data-postgres-0", "namespace": "db", "uid": "c1",
                "creationTimestamp": "2024-02-01T08:00:00Z",
                "labels": {"app": "postgres"},
                "annotations": {"pv.kubernetes.io/bind-completed": "yes"}
            },
            "spec": {
                "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                "resources": {"requests": {"storage": "20Gi"}},
                "storageClassName": "gp3",
                "volumeMode": "Filesystem",
                "volumeName": "pvc-7f3e"
            },
            "status": {
                "phase": "Bound",
                "accessModes": ["ReadWriteOnce"],
                "capacity": {"storage": "10Gi"},
                "conditions": [
                    {"type": "Resizing", "status": "True"},
                    {"type": "FileSystemResizePending", "status": "False"}
                ]
            }
        });
        let id = "namespace=\"db\",persistentvolumeclaim=\"data-postgres-0\"";
        assert_eq!(
            lines::<PersistentVolumeClaim>(object.clone()),
            format!(
                "kube_persistentvolumeclaim_info{{{id},storageclass=\"gp3\",volumename=\"pvc-7f3e\",volumemode=\"Filesystem\"}} 1\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Lost\"}} 0\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Bound\"}} 1\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Pending\"}} 0\n\
                 kube_persistentvolumeclaim_resource_requests_storage_bytes{{{id}}} 2.147483648e+10\n\
                 kube_persistentvolumeclaim_access_mode{{{id},access_mode=\"ReadWriteOnce\"}} 1\n\
                 kube_persistentvolumeclaim_access_mode{{{id},access_mode=\"ReadWriteOncePod\"}} 1\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"Resizing\",status=\"true\"}} 1\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"Resizing\",status=\"false\"}} 0\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"Resizing\",status=\"unknown\"}} 0\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"FileSystemResizePending\",status=\"true\"}} 0\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"FileSystemResizePending\",status=\"false\"}} 1\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"FileSystemResizePending\",status=\"unknown\"}} 0\n\
                 kube_persistentvolumeclaim_created{{{id}}} 1.7067744e+09\n"
            )
        );
        let allowed = lines_allowing_all::<PersistentVolumeClaim>(object);
        assert_eq!(
            family(&allowed, "kube_persistentvolumeclaim_labels"),
            format!("kube_persistentvolumeclaim_labels{{{id},label_app=\"postgres\"}} 1\n")
        );
        assert_eq!(
            family(&allowed, "kube_persistentvolumeclaim_annotations"),
            format!(
                "kube_persistentvolumeclaim_annotations{{{id},annotation_pv_kubernetes_io_bind_completed=\"yes\"}} 1\n"
            )
        );
    }

    #[test]
    fn a_pending_claim_with_the_beta_class_annotation_being_deleted() {
        let text = lines::<PersistentVolumeClaim>(serde_json::json!({
            "metadata": {
                "name": "scratch", "namespace": "ci",
                "deletionTimestamp": "2024-02-02T00:00:00Z",
                "annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"}
            },
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "1500M"}},
                "storageClassName": "ignored",
                "volumeMode": "Block"
            },
            "status": {"phase": "Pending"}
        }));
        let id = "namespace=\"ci\",persistentvolumeclaim=\"scratch\"";
        assert_eq!(
            text,
            format!(
                "kube_persistentvolumeclaim_info{{{id},storageclass=\"legacy\",volumename=\"\",volumemode=\"Block\"}} 1\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Lost\"}} 0\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Bound\"}} 0\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Pending\"}} 1\n\
                 kube_persistentvolumeclaim_resource_requests_storage_bytes{{{id}}} 1.5e+09\n\
                 kube_persistentvolumeclaim_access_mode{{{id},access_mode=\"ReadWriteMany\"}} 1\n\
                 kube_persistentvolumeclaim_deletion_timestamp{{{id}}} 1.706832e+09\n"
            )
        );
    }

    #[test]
    fn a_bare_claim_and_unknown_values() {
        assert_eq!(
            lines::<PersistentVolumeClaim>(serde_json::json!({"metadata": {"name": "bare"}})),
            "kube_persistentvolumeclaim_info{namespace=\"\",persistentvolumeclaim=\"bare\",storageclass=\"<none>\",volumename=\"\",volumemode=\"\"} 1\n"
        );
        let odd = lines::<PersistentVolumeClaim>(serde_json::json!({
            "metadata": {"name": "odd", "namespace": "n"},
            "spec": {"storageClassName": "", "accessModes": ["ReadWriteSometimes"]},
            "status": {"phase": "Resizing", "conditions": [{"type": "ControllerResizeError", "status": "maybe"}]}
        }));
        let id = "namespace=\"n\",persistentvolumeclaim=\"odd\"";
        assert_eq!(
            odd,
            format!(
                "kube_persistentvolumeclaim_info{{{id},storageclass=\"\",volumename=\"\",volumemode=\"\"}} 1\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Lost\"}} 0\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Bound\"}} 0\n\
                 kube_persistentvolumeclaim_status_phase{{{id},phase=\"Pending\"}} 0\n\
                 kube_persistentvolumeclaim_access_mode{{{id},access_mode=\"ReadWriteSometimes\"}} 1\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"ControllerResizeError\",status=\"true\"}} 0\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"ControllerResizeError\",status=\"false\"}} 0\n\
                 kube_persistentvolumeclaim_status_condition{{{id},condition=\"ControllerResizeError\",status=\"unknown\"}} 0\n"
            )
        );
    }
}
