//! Jobs: `kube_job_*`, identity labels `namespace`, `job_name` (KSM's name
//! for the label, not `job`).

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};

use super::Resource;
use super::common::{
    annotations, condition, count, created, flag, labels, owners, unix, value_if_set,
};
use crate::family::{Family, Series, experimental, stable};

impl Resource for Job {
    const NAME: &'static str = "jobs";
    const NAME_LABEL: &'static str = "job_name";

    fn families() -> &'static [Family<Job>] {
        FAMILIES
    }
}

/// The `Failed` condition reasons `kube_job_status_failed` has a series for.
const FAILURE_REASONS: &[&str] = &["BackoffLimitExceeded", "DeadlineExceeded", "Evicted"];

fn status(j: &Job) -> Option<&JobStatus> {
    j.status.as_ref()
}

fn conditions<'a>(j: &'a Job, kind: &'a str) -> impl Iterator<Item = &'a JobCondition> {
    let all = status(j).and_then(|s| s.conditions.as_ref());
    all.into_iter().flatten().filter(move |c| c.type_ == kind)
}

/// `kube_job_complete` and `kube_job_failed`: the `condition` state set of
/// each condition of that type.
fn condition_state_set(j: &Job, series: &mut Series<'_>, kind: &str) {
    for c in conditions(j, kind) {
        condition(series, &[], "condition", &c.status);
    }
}

/// `kube_job_status_failed`: the failed pod count alone while it is 0; else,
/// per `Failed` condition, 0/1 for each known reason, and the count under
/// `reason=""` when no condition gives a known reason.
fn failed(j: &Job, series: &mut Series<'_>) {
    let failed = status(j).and_then(|s| s.failed).unwrap_or(0);
    if failed == 0 {
        series.add(&[], 0.0);
        return;
    }
    let mut known = false;
    for c in conditions(j, "Failed") {
        let reason = c.reason.as_deref().unwrap_or_default();
        for candidate in FAILURE_REASONS {
            known |= reason == *candidate;
            series.add(&[("reason", candidate)], flag(reason == *candidate));
        }
    }
    if !known {
        series.add(&[("reason", "")], f64::from(failed));
    }
}

/// KSM v2.20 `jobMetricFamilies`, in its order.
const FAMILIES: &[Family<Job>] = &[
    experimental(
        "kube_job_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_job_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    stable("kube_job_info", "Information about job.", |_, series| {
        series.add(&[], 1.0)
    }),
    stable("kube_job_created", "Unix creation timestamp", created),
    stable(
        "kube_job_spec_parallelism",
        "The maximum desired number of pods the job should run at any given time.",
        |j, series| {
            let parallelism = j.spec.as_ref().and_then(|s| s.parallelism);
            value_if_set(series, parallelism.map(f64::from));
        },
    ),
    stable(
        "kube_job_spec_completions",
        "The desired number of successfully finished pods the job should be run with.",
        |j, series| {
            let completions = j.spec.as_ref().and_then(|s| s.completions);
            value_if_set(series, completions.map(f64::from));
        },
    ),
    stable(
        "kube_job_spec_active_deadline_seconds",
        "The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.",
        |j, series| {
            let deadline = j.spec.as_ref().and_then(|s| s.active_deadline_seconds);
            value_if_set(series, deadline.map(|n| n as f64));
        },
    ),
    stable(
        "kube_job_status_succeeded",
        "The number of pods which reached Phase Succeeded.",
        |j, series| series.add(&[], count(status(j).and_then(|s| s.succeeded))),
    ),
    stable(
        "kube_job_status_failed",
        "The number of pods which reached Phase Failed and the reason for failure.",
        failed,
    ),
    stable(
        "kube_job_status_active",
        "The number of actively running pods.",
        |j, series| series.add(&[], count(status(j).and_then(|s| s.active))),
    ),
    experimental(
        "kube_job_status_ready",
        "The number of ready pods that belong to this Job.",
        |j, series| series.add(&[], count(status(j).and_then(|s| s.ready))),
    ),
    stable(
        "kube_job_complete",
        "The job has completed its execution.",
        |j, series| condition_state_set(j, series, "Complete"),
    ),
    stable(
        "kube_job_failed",
        "The job has failed its execution.",
        |j, series| condition_state_set(j, series, "Failed"),
    ),
    stable(
        "kube_job_status_start_time",
        "StartTime represents time when the job was acknowledged by the Job Manager.",
        |j, series| {
            // KSM checks only that the pointer is set.
            let started = status(j).and_then(|s| s.start_time.as_ref());
            value_if_set(series, started.map(unix));
        },
    ),
    stable(
        "kube_job_status_completion_time",
        "CompletionTime represents time when the job was completed.",
        |j, series| {
            let completed = status(j).and_then(|s| s.completion_time.as_ref());
            value_if_set(series, completed.map(unix));
        },
    ),
    experimental(
        "kube_job_status_suspended",
        "The number of pods which reached Phase Suspended.",
        |j, series| {
            for c in conditions(j, "Suspended") {
                series.add(&[], flag(c.status == "True"));
            }
        },
    ),
    stable(
        "kube_job_owner",
        "Information about the Job's owner.",
        owners,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, headers, lines, names};

    const ID: &str = "namespace=\"batch\",job_name=\"report-28950\"";

    fn job(status: serde_json::Value) -> String {
        lines::<Job>(serde_json::json!({
            "metadata": {
                "name": "report-28950", "namespace": "batch",
                "creationTimestamp": "2024-03-01T10:00:00Z",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report",
                                     "uid": "c1", "controller": true}]
            },
            "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6, "template": {}},
            "status": status
        }))
    }

    #[test]
    fn families_are_ksm_v2_20s_in_order_with_its_headers() {
        assert_eq!(
            names::<Job>(),
            [
                "kube_job_annotations",
                "kube_job_labels",
                "kube_job_info",
                "kube_job_created",
                "kube_job_spec_parallelism",
                "kube_job_spec_completions",
                "kube_job_spec_active_deadline_seconds",
                "kube_job_status_succeeded",
                "kube_job_status_failed",
                "kube_job_status_active",
                "kube_job_status_ready",
                "kube_job_complete",
                "kube_job_failed",
                "kube_job_status_start_time",
                "kube_job_status_completion_time",
                "kube_job_status_suspended",
                "kube_job_owner",
            ]
        );
        let headers = headers::<Job>();
        assert_eq!(headers.matches("[STABLE]").count(), 14, "{headers}");
        assert_contains(
            &headers,
            [
                "# HELP kube_job_status_ready The number of ready pods that belong to this Job.\n",
                "# HELP kube_job_status_suspended The number of pods which reached Phase Suspended.\n",
                "# HELP kube_job_owner [STABLE] Information about the Job's owner.\n",
            ],
        );
    }

    #[test]
    fn a_complete_job() {
        let text = job(serde_json::json!({
            "startTime": "2024-03-01T10:00:01Z", "completionTime": "2024-03-01T10:02:01Z",
            "succeeded": 1, "ready": 0, "terminating": 0,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True"}
            ]
        }));
        assert_eq!(
            text,
            format!(
                "kube_job_info{{{ID}}} 1\n\
                 kube_job_created{{{ID}}} 1.7092872e+09\n\
                 kube_job_spec_parallelism{{{ID}}} 1\n\
                 kube_job_spec_completions{{{ID}}} 1\n\
                 kube_job_status_succeeded{{{ID}}} 1\n\
                 kube_job_status_failed{{{ID}}} 0\n\
                 kube_job_status_active{{{ID}}} 0\n\
                 kube_job_status_ready{{{ID}}} 0\n\
                 kube_job_complete{{{ID},condition=\"true\"}} 1\n\
                 kube_job_complete{{{ID},condition=\"false\"}} 0\n\
                 kube_job_complete{{{ID},condition=\"unknown\"}} 0\n\
                 kube_job_status_start_time{{{ID}}} 1.709287201e+09\n\
                 kube_job_status_completion_time{{{ID}}} 1.709287321e+09\n\
                 kube_job_owner{{{ID},owner_kind=\"CronJob\",owner_name=\"report\",owner_is_controller=\"true\"}} 1\n"
            )
        );
    }

    #[test]
    fn a_failed_job_with_a_known_reason() {
        let text = job(serde_json::json!({
            "startTime": "2024-03-01T10:00:01Z", "failed": 7,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}
            ]
        }));
        assert_contains(
            &text,
            [
                format!("kube_job_status_failed{{{ID},reason=\"BackoffLimitExceeded\"}} 1\n"),
                format!("kube_job_status_failed{{{ID},reason=\"DeadlineExceeded\"}} 0\n"),
                format!("kube_job_status_failed{{{ID},reason=\"Evicted\"}} 0\n"),
                format!("kube_job_failed{{{ID},condition=\"true\"}} 1\n"),
                format!("kube_job_failed{{{ID},condition=\"false\"}} 0\n"),
                format!("kube_job_failed{{{ID},condition=\"unknown\"}} 0\n"),
            ],
        );
        assert!(!text.contains("reason=\"\""), "{text}");
        assert!(!text.contains("kube_job_complete"), "{text}");
    }

    #[test]
    fn a_failed_job_with_an_unknown_reason_counts_under_an_empty_reason() {
        let text = job(serde_json::json!({
            "failed": 2,
            "conditions": [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy"}]
        }));
        let failed: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("kube_job_status_failed"))
            .collect();
        assert_eq!(
            failed,
            [
                format!("kube_job_status_failed{{{ID},reason=\"BackoffLimitExceeded\"}} 0"),
                format!("kube_job_status_failed{{{ID},reason=\"DeadlineExceeded\"}} 0"),
                format!("kube_job_status_failed{{{ID},reason=\"Evicted\"}} 0"),
                format!("kube_job_status_failed{{{ID},reason=\"\"}} 2"),
            ]
        );
        // Failed pods but no Failed condition yet (the job is retrying).
        let text = job(serde_json::json!({"failed": 1, "active": 1}));
        assert!(
            text.contains(&format!("kube_job_status_failed{{{ID},reason=\"\"}} 1\n")),
            "{text}"
        );
    }

    #[test]
    fn a_running_job_and_a_suspended_one() {
        let text =
            job(serde_json::json!({"startTime": "2024-03-01T10:00:01Z", "active": 2, "ready": 1}));
        assert_contains(
            &text,
            [
                format!("kube_job_status_active{{{ID}}} 2\n"),
                format!("kube_job_status_ready{{{ID}}} 1\n"),
            ],
        );
        assert!(!text.contains("completion_time"), "{text}");
        assert!(!text.contains("suspended"), "{text}");
        let text = job(serde_json::json!({
            "conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]
        }));
        assert!(
            text.contains(&format!("kube_job_status_suspended{{{ID}}} 1\n")),
            "{text}"
        );
        let text = job(serde_json::json!({
            "conditions": [{"type": "Suspended", "status": "False", "reason": "JobResumed"}]
        }));
        assert!(
            text.contains(&format!("kube_job_status_suspended{{{ID}}} 0\n")),
            "{text}"
        );
    }

    #[test]
    fn a_bare_job_and_unknown_condition_statuses() {
        let text = lines::<Job>(serde_json::json!({"metadata": {"name": "j"}}));
        let id = "namespace=\"\",job_name=\"j\"";
        assert_eq!(
            text,
            format!(
                "kube_job_info{{{id}}} 1\n\
                 kube_job_status_succeeded{{{id}}} 0\n\
                 kube_job_status_failed{{{id}}} 0\n\
                 kube_job_status_active{{{id}}} 0\n\
                 kube_job_status_ready{{{id}}} 0\n\
                 kube_job_owner{{{id},owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"}} 1\n"
            )
        );
        let text =
            job(serde_json::json!({"conditions": [{"type": "Complete", "status": "Maybe"}]}));
        assert!(
            text.contains(&format!("kube_job_complete{{{ID},condition=\"true\"}} 0\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "kube_job_complete{{{ID},condition=\"unknown\"}} 0\n"
            )),
            "{text}"
        );
    }
}
