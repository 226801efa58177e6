//! Namespaces: `kube_namespace_*`, identity label `namespace`.

use k8s_openapi::api::core::v1::Namespace;

use super::Resource;
use super::common::{annotations, conditions_by_type, created, labels};
use crate::family::{Family, experimental, stable};

impl Resource for Namespace {
    const NAME: &'static str = "namespaces";
    const NAME_LABEL: &'static str = "namespace";

    fn families() -> &'static [Family<Namespace>] {
        FAMILIES
    }
}

const FAMILIES: &[Family<Namespace>] = &[
    stable("kube_namespace_created", "Unix creation timestamp", created),
    experimental(
        "kube_namespace_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_namespace_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    stable(
        "kube_namespace_status_phase",
        "kubernetes namespace status phase.",
        |ns, series| {
            // Both series always, even before the namespace has a phase.
            let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref());
            series.state_set(
                "phase",
                &["Active", "Terminating"],
                phase.unwrap_or_default(),
            );
        },
    ),
    experimental(
        "kube_namespace_status_condition",
        "The condition of a namespace.",
        |ns, series| {
            let conditions = ns.status.as_ref().and_then(|s| s.conditions.as_deref());
            conditions_by_type(series, conditions, |c| (&c.type_, &c.status));
        },
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{family, lines, lines_allowlisted, names};

    #[test]
    fn families_are_in_ksm_order() {
        assert_eq!(
            names::<Namespace>(),
            [
                "kube_namespace_created",
                "kube_namespace_annotations",
                "kube_namespace_labels",
                "kube_namespace_status_phase",
                "kube_namespace_status_condition",
            ]
        );
        assert_eq!(
            String::from_utf8(FAMILIES[3].header()).unwrap(),
            "# HELP kube_namespace_status_phase [STABLE] kubernetes namespace status phase.\n\
             # TYPE kube_namespace_status_phase gauge\n"
        );
    }

    #[test]
    fn a_terminating_namespace_stuck_on_its_content() {
        let object = serde_json::json!({
            "metadata": {
                "name": "team-a",
                "uid": "5f0c",
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "deletionTimestamp": "2024-01-01T00:00:00Z",
                "labels": {"kubernetes.io/metadata.name": "team-a"}
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {
                "phase": "Terminating",
                "conditions": [
                    {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered"},
                    {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain"},
                    {"type": "NamespaceFinalizersRemaining", "status": "Unknown"}
                ]
            }
        });
        let id = "namespace=\"team-a\"";
        assert_eq!(
            lines::<Namespace>(object.clone()),
            format!(
                "kube_namespace_created{{{id}}} 1.7e+09\n\
                 kube_namespace_status_phase{{{id},phase=\"Active\"}} 0\n\
                 kube_namespace_status_phase{{{id},phase=\"Terminating\"}} 1\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceDeletionDiscoveryFailure\",status=\"true\"}} 0\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceDeletionDiscoveryFailure\",status=\"false\"}} 1\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceDeletionDiscoveryFailure\",status=\"unknown\"}} 0\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceContentRemaining\",status=\"true\"}} 1\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceContentRemaining\",status=\"false\"}} 0\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceContentRemaining\",status=\"unknown\"}} 0\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceFinalizersRemaining\",status=\"true\"}} 0\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceFinalizersRemaining\",status=\"false\"}} 0\n\
                 kube_namespace_status_condition{{{id},condition=\"NamespaceFinalizersRemaining\",status=\"unknown\"}} 1\n"
            )
        );
        let allowed = lines_allowlisted::<Namespace>(object);
        assert_eq!(
            family(&allowed, "kube_namespace_labels"),
            format!(
                "kube_namespace_labels{{{id},label_kubernetes_io_metadata_name=\"team-a\"}} 1\n"
            )
        );
        assert_eq!(
            family(&allowed, "kube_namespace_annotations"),
            format!("kube_namespace_annotations{{{id}}} 1\n"),
            "allowlisted but without annotations: one bare series"
        );
    }

    #[test]
    fn a_bare_namespace_and_an_unknown_phase() {
        assert_eq!(
            lines::<Namespace>(serde_json::json!({"metadata": {"name": "new"}})),
            "kube_namespace_status_phase{namespace=\"new\",phase=\"Active\"} 0\n\
             kube_namespace_status_phase{namespace=\"new\",phase=\"Terminating\"} 0\n"
        );
        let odd = lines::<Namespace>(serde_json::json!({
            "metadata": {"name": "odd"},
            "status": {"phase": "Archived", "conditions": [{"type": "X", "status": "Perhaps"}]}
        }));
        assert_eq!(
            odd,
            "kube_namespace_status_phase{namespace=\"odd\",phase=\"Active\"} 0\n\
             kube_namespace_status_phase{namespace=\"odd\",phase=\"Terminating\"} 0\n\
             kube_namespace_status_condition{namespace=\"odd\",condition=\"X\",status=\"true\"} 0\n\
             kube_namespace_status_condition{namespace=\"odd\",condition=\"X\",status=\"false\"} 0\n\
             kube_namespace_status_condition{namespace=\"odd\",condition=\"X\",status=\"unknown\"} 0\n"
        );
    }
}
