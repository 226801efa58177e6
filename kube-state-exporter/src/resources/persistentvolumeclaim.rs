//! PersistentVolumeClaims: `kube_persistentvolumeclaim_*`, identity labels
//! `namespace`, `persistentvolumeclaim`.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::Resource;
use super::common::{
    annotations, conditions_by_type, created, deletion_timestamp, labels, one_per_entry,
    quantity_value, state_set_if_set, value_if_set,
};
use crate::family::{Family, experimental, stable};

impl Resource for PersistentVolumeClaim {
    const NAME: &'static str = "persistentvolumeclaims";
    const NAME_LABEL: &'static str = "persistentvolumeclaim";

    fn families() -> &'static [Family<PersistentVolumeClaim>] {
        FAMILIES
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
    stable(
        "kube_persistentvolumeclaim_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    experimental(
        "kube_persistentvolumeclaim_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_persistentvolumeclaim_info",
        "Information about persistent volume claim.",
        |pvc, series| {
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
    ),
    stable(
        "kube_persistentvolumeclaim_status_phase",
        "The phase the persistent volume claim is currently in.",
        |pvc, series| {
            // No series until the claim has a phase.
            let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref());
            state_set_if_set(series, "phase", &["Lost", "Bound", "Pending"], phase);
        },
    ),
    stable(
        "kube_persistentvolumeclaim_resource_requests_storage_bytes",
        "The capacity of storage requested by the persistent volume claim.",
        |pvc, series| {
            let requests = pvc
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref());
            let storage = requests.and_then(|r| r.get("storage"));
            value_if_set(series, storage.and_then(quantity_value));
        },
    ),
    stable(
        "kube_persistentvolumeclaim_access_mode",
        "The access mode(s) specified by the persistent volume claim.",
        |pvc, series| {
            let modes = pvc.spec.as_ref().and_then(|s| s.access_modes.as_deref());
            one_per_entry(series, "access_mode", modes);
        },
    ),
    experimental(
        "kube_persistentvolumeclaim_status_condition",
        "Information about status of different conditions of persistent volume claim.",
        |pvc, series| {
            let conditions = pvc.status.as_ref().and_then(|s| s.conditions.as_deref());
            conditions_by_type(series, conditions, |c| (&c.type_, &c.status));
        },
    ),
    experimental(
        "kube_persistentvolumeclaim_created",
        "Unix creation timestamp",
        created,
    ),
    experimental(
        "kube_persistentvolumeclaim_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{family, lines, lines_allowlisted, names};

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
        let allowed = lines_allowlisted::<PersistentVolumeClaim>(object);
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
