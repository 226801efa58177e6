//! Deployments: `kube_deployment_*`, identity labels `namespace`,
//! `deployment`.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Resource;
use super::common::{
    annotations, condition, count, created, deletion_timestamp, flag, labels, metadata_generation,
    owners_without_controller, value_if_set,
};
use crate::family::{Family, Series, experimental, stable};

impl Resource for Deployment {
    const NAME: &'static str = "deployments";
    const NAME_LABEL: &'static str = "deployment";

    fn families() -> &'static [Family<Deployment>] {
        FAMILIES
    }
}

/// The condition reasons KSM passes through in `kube_deployment_status_condition`
/// (the deployment controller's); any other becomes `unknown`.
const DEPLOYMENT_REASONS: &[&str] = &[
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

/// apimachinery's `GetScaledValueFromIntOrPercent`: an integer as is, `N%`
/// of `total` rounded down (max unavailable) or up (max surge); `None` for
/// anything else (KSM panics there; we leave the family empty).
fn scaled(value: &IntOrString, total: i32, round_up: bool) -> Option<f64> {
    match value {
        IntOrString::Int(v) => Some(f64::from(*v)),
        IntOrString::String(text) => {
            // Go's `strconv.Atoi`: optional sign, decimal digits.
            let percent: i64 = text.strip_suffix('%')?.parse().ok()?;
            let scaled = percent as f64 * f64::from(total) / 100.0;
            Some(if round_up {
                scaled.ceil()
            } else {
                scaled.floor()
            })
        }
    }
}

/// `kube_deployment_spec_strategy_rollingupdate_*`: only with a rolling
/// update strategy and a replica count to resolve percentages against.
fn rolling_update(d: &Deployment, series: &mut Series<'_>, surge: bool) {
    let spec = &d.spec;
    let Some(rolling) = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
    else {
        return;
    };
    let value = if surge {
        rolling.max_surge.as_ref()
    } else {
        rolling.max_unavailable.as_ref()
    };
    let (Some(value), Some(replicas)) = (value, spec.replicas) else {
        return;
    };
    value_if_set(series, scaled(value, replicas, surge));
}

fn status(d: &Deployment) -> Option<&DeploymentStatus> {
    d.status.as_ref()
}

/// KSM v2.20 `deploymentMetricFamilies`, in its order.
const FAMILIES: &[Family<Deployment>] = &[
    experimental(
        "kube_deployment_owner",
        "Information about the Deployment's owner.",
        owners_without_controller,
    ),
    stable(
        "kube_deployment_created",
        "Unix creation timestamp",
        created,
    ),
    stable(
        "kube_deployment_status_replicas",
        "The number of replicas per deployment.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.replicas))),
    ),
    stable(
        "kube_deployment_status_replicas_ready",
        "The number of ready replicas per deployment.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.ready_replicas))),
    ),
    stable(
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.available_replicas))),
    ),
    stable(
        "kube_deployment_status_replicas_unavailable",
        "The number of unavailable replicas per deployment.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.unavailable_replicas))),
    ),
    stable(
        "kube_deployment_status_replicas_updated",
        "The number of updated replicas per deployment.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.updated_replicas))),
    ),
    experimental(
        "kube_deployment_status_terminating_replicas",
        "The number of terminating replicas per deployment.",
        |d, series| {
            // A pointer in the API: no series until the controller sets it.
            let terminating = status(d).and_then(|s| s.terminating_replicas);
            value_if_set(series, terminating.map(f64::from));
        },
    ),
    stable(
        "kube_deployment_status_observed_generation",
        "The generation observed by the deployment controller.",
        |d, series| series.add(&[], count(status(d).and_then(|s| s.observed_generation))),
    ),
    stable(
        "kube_deployment_status_condition",
        "The current status conditions of a deployment.",
        |d, series| {
            let conditions = status(d).and_then(|s| s.conditions.as_ref());
            for c in conditions.into_iter().flatten() {
                let reason = c.reason.as_deref().unwrap_or_default();
                let reason = if DEPLOYMENT_REASONS.contains(&reason) {
                    reason
                } else {
                    "unknown"
                };
                condition(
                    series,
                    &[
                        ("reason", reason),
                        ("condition", c.type_.as_deref().unwrap_or_default()),
                    ],
                    "status",
                    c.status.as_deref().unwrap_or_default(),
                );
            }
        },
    ),
    stable(
        "kube_deployment_spec_replicas",
        "Number of desired pods for a deployment.",
        |d, series| {
            // KSM dereferences the pointer (the API server always sets it);
            // without it there is no series rather than a crash.
            value_if_set(series, d.spec.replicas.map(f64::from));
        },
    ),
    stable(
        "kube_deployment_spec_paused",
        "Whether the deployment is paused and will not be processed by the deployment controller.",
        |d, series| series.add(&[], flag(d.spec.paused.unwrap_or(false))),
    ),
    stable(
        "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
        "Maximum number of unavailable replicas during a rolling update of a deployment.",
        |d, series| rolling_update(d, series, false),
    ),
    stable(
        "kube_deployment_spec_strategy_rollingupdate_max_surge",
        "Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.",
        |d, series| rolling_update(d, series, true),
    ),
    stable(
        "kube_deployment_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        metadata_generation,
    ),
    experimental(
        "kube_deployment_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    experimental(
        "kube_deployment_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_deployment_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, headers, lines, lines_allowlisted, names};

    fn rolling_out() -> serde_json::Value {
        serde_json::json!({
            "metadata": {
                "name": "web", "namespace": "shop", "generation": 7,
                "creationTimestamp": "2024-03-01T10:00:00Z",
                "labels": {"app.kubernetes.io/name": "web"},
                "annotations": {"deployment.kubernetes.io/revision": "7"}
            },
            "spec": {
                "replicas": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "template": {}
            },
            "status": {
                "observedGeneration": 6, "replicas": 12, "updatedReplicas": 4,
                "readyReplicas": 9, "availableReplicas": 8, "unavailableReplicas": 2,
                "terminatingReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}
                ]
            }
        })
    }

    #[test]
    fn families_are_ksm_v2_20s_in_order_with_its_headers() {
        assert_eq!(
            names::<Deployment>(),
            [
                "kube_deployment_owner",
                "kube_deployment_created",
                "kube_deployment_status_replicas",
                "kube_deployment_status_replicas_ready",
                "kube_deployment_status_replicas_available",
                "kube_deployment_status_replicas_unavailable",
                "kube_deployment_status_replicas_updated",
                "kube_deployment_status_terminating_replicas",
                "kube_deployment_status_observed_generation",
                "kube_deployment_status_condition",
                "kube_deployment_spec_replicas",
                "kube_deployment_spec_paused",
                "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
                "kube_deployment_spec_strategy_rollingupdate_max_surge",
                "kube_deployment_metadata_generation",
                "kube_deployment_deletion_timestamp",
                "kube_deployment_annotations",
                "kube_deployment_labels",
            ]
        );
        let headers = headers::<Deployment>();
        assert_eq!(headers.matches("[STABLE]").count(), 14, "{headers}");
        assert_contains(
            &headers,
            [
                "# HELP kube_deployment_owner Information about the Deployment's owner.\n# TYPE kube_deployment_owner gauge\n",
                "# HELP kube_deployment_created [STABLE] Unix creation timestamp\n",
                "# HELP kube_deployment_status_terminating_replicas The number of terminating replicas per deployment.\n",
                "# HELP kube_deployment_annotations Kubernetes annotations converted to Prometheus labels.\n",
                "# HELP kube_deployment_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n",
                "# HELP kube_deployment_deletion_timestamp Unix deletion timestamp\n# TYPE kube_deployment_deletion_timestamp gauge\n",
            ],
        );
    }

    #[test]
    fn a_deployment_rolling_out_with_percentages() {
        let id = "namespace=\"shop\",deployment=\"web\"";
        assert_eq!(
            lines::<Deployment>(rolling_out()),
            format!(
                "kube_deployment_owner{{{id},owner_kind=\"\",owner_name=\"\"}} 1\n\
                 kube_deployment_created{{{id}}} 1.7092872e+09\n\
                 kube_deployment_status_replicas{{{id}}} 12\n\
                 kube_deployment_status_replicas_ready{{{id}}} 9\n\
                 kube_deployment_status_replicas_available{{{id}}} 8\n\
                 kube_deployment_status_replicas_unavailable{{{id}}} 2\n\
                 kube_deployment_status_replicas_updated{{{id}}} 4\n\
                 kube_deployment_status_terminating_replicas{{{id}}} 1\n\
                 kube_deployment_status_observed_generation{{{id}}} 6\n\
                 kube_deployment_status_condition{{{id},reason=\"MinimumReplicasAvailable\",condition=\"Available\",status=\"true\"}} 1\n\
                 kube_deployment_status_condition{{{id},reason=\"MinimumReplicasAvailable\",condition=\"Available\",status=\"false\"}} 0\n\
                 kube_deployment_status_condition{{{id},reason=\"MinimumReplicasAvailable\",condition=\"Available\",status=\"unknown\"}} 0\n\
                 kube_deployment_status_condition{{{id},reason=\"ReplicaSetUpdated\",condition=\"Progressing\",status=\"true\"}} 1\n\
                 kube_deployment_status_condition{{{id},reason=\"ReplicaSetUpdated\",condition=\"Progressing\",status=\"false\"}} 0\n\
                 kube_deployment_status_condition{{{id},reason=\"ReplicaSetUpdated\",condition=\"Progressing\",status=\"unknown\"}} 0\n\
                 kube_deployment_spec_replicas{{{id}}} 10\n\
                 kube_deployment_spec_paused{{{id}}} 0\n\
                 kube_deployment_spec_strategy_rollingupdate_max_unavailable{{{id}}} 2\n\
                 kube_deployment_spec_strategy_rollingupdate_max_surge{{{id}}} 3\n\
                 kube_deployment_metadata_generation{{{id}}} 7\n"
            )
        );
    }

    #[test]
    fn allowlisted_labels_and_annotations() {
        let text = lines_allowlisted::<Deployment>(rolling_out());
        assert!(text.contains(
            "kube_deployment_annotations{namespace=\"shop\",deployment=\"web\",annotation_deployment_kubernetes_io_revision=\"7\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "kube_deployment_labels{namespace=\"shop\",deployment=\"web\",label_app_kubernetes_io_name=\"web\"} 1\n"
        ), "{text}");
    }

    #[test]
    fn a_paused_deployment_with_integer_surge_owner_and_deletion() {
        let text = lines::<Deployment>(serde_json::json!({
            "metadata": {
                "name": "api", "namespace": "ns", "generation": 3,
                "deletionTimestamp": "2024-03-02T00:00:00Z",
                "ownerReferences": [
                    {"apiVersion": "example.com/v1", "kind": "App", "name": "api", "uid": "u", "controller": true}
                ]
            },
            "spec": {
                "replicas": 3, "paused": true, "selector": {}, "template": {},
                "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
            },
            "status": {
                "conditions": [
                    {"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused"},
                    {"type": "Available", "status": "False", "reason": "SomethingElse"}
                ]
            }
        }));
        let id = "namespace=\"ns\",deployment=\"api\"";
        assert_contains(
            &text,
            [
                format!("kube_deployment_owner{{{id},owner_kind=\"App\",owner_name=\"api\"}} 1\n"),
                format!("kube_deployment_spec_paused{{{id}}} 1\n"),
                format!("kube_deployment_spec_strategy_rollingupdate_max_unavailable{{{id}}} 0\n"),
                format!("kube_deployment_spec_strategy_rollingupdate_max_surge{{{id}}} 1\n"),
                format!(
                    "kube_deployment_status_condition{{{id},reason=\"DeploymentPaused\",condition=\"Progressing\",status=\"unknown\"}} 1\n"
                ),
                format!(
                    "kube_deployment_status_condition{{{id},reason=\"unknown\",condition=\"Available\",status=\"false\"}} 1\n"
                ),
                format!("kube_deployment_status_replicas{{{id}}} 0\n"),
                format!("kube_deployment_deletion_timestamp{{{id}}} 1.7093376e+09\n"),
            ],
        );
        assert!(!text.contains("kube_deployment_created"), "{text}");
        assert!(!text.contains("terminating"), "{text}");
    }

    #[test]
    fn percentages_round_like_apimachinery() {
        let pct = |s: &str| IntOrString::String(s.to_owned());
        assert_eq!(scaled(&pct("25%"), 5, false), Some(1.0));
        assert_eq!(scaled(&pct("25%"), 5, true), Some(2.0));
        assert_eq!(scaled(&pct("0%"), 5, true), Some(0.0));
        assert_eq!(scaled(&pct("+50%"), 3, true), Some(2.0));
        assert_eq!(scaled(&IntOrString::Int(4), 100, true), Some(4.0));
        assert_eq!(scaled(&pct("25"), 5, true), None, "not a percentage");
        assert_eq!(scaled(&pct("a%"), 5, true), None);
        assert_eq!(scaled(&pct("%"), 5, true), None);
    }

    #[test]
    fn a_recreate_deployment_without_status_or_replicas() {
        let text = lines::<Deployment>(serde_json::json!({
            "metadata": {"name": "bare"},
            "spec": {"selector": {}, "template": {}, "strategy": {"type": "Recreate"}}
        }));
        let id = "namespace=\"\",deployment=\"bare\"";
        assert_eq!(
            text,
            format!(
                "kube_deployment_owner{{{id},owner_kind=\"\",owner_name=\"\"}} 1\n\
                 kube_deployment_status_replicas{{{id}}} 0\n\
                 kube_deployment_status_replicas_ready{{{id}}} 0\n\
                 kube_deployment_status_replicas_available{{{id}}} 0\n\
                 kube_deployment_status_replicas_unavailable{{{id}}} 0\n\
                 kube_deployment_status_replicas_updated{{{id}}} 0\n\
                 kube_deployment_status_observed_generation{{{id}}} 0\n\
                 kube_deployment_spec_paused{{{id}}} 0\n\
                 kube_deployment_metadata_generation{{{id}}} 0\n"
            )
        );
    }

    #[test]
    fn an_empty_object_renders_without_panicking() {
        let text = lines::<Deployment>(serde_json::json!({"metadata": {}}));
        assert!(text.starts_with("kube_deployment_owner{namespace=\"\",deployment=\"\""));
        let text = lines::<Deployment>(serde_json::json!({
            "metadata": {"name": "odd", "creationTimestamp": "0001-01-01T00:00:00Z"},
            "spec": {"selector": {}, "template": {}, "replicas": 2,
                     "strategy": {"rollingUpdate": {"maxSurge": "lots", "maxUnavailable": "150%"}}}
        }));
        assert!(
            !text.contains("kube_deployment_created"),
            "Go's zero time is unset"
        );
        assert!(!text.contains("max_surge"), "{text}");
        assert!(
            text.contains("max_unavailable{namespace=\"\",deployment=\"odd\"} 3\n"),
            "{text}"
        );
    }
}
