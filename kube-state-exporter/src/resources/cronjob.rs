//! CronJobs: `kube_cronjob_*`, identity labels `namespace`, `cronjob`.
//!
//! `kube_cronjob_next_schedule_time` needs the schedule's next activation,
//! which KSM gets from `github.com/netresearch/go-cron` (`ParseStandard`,
//! with `CRON_TZ=<spec.timeZone>` prepended) and Go's `time` package;
//! [`crate::cron`] re-implements the parts KSM uses.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus};

use super::Resource;
use super::common::{
    GO_ZERO_UNIX, annotations, created, flag, labels, non_zero, unix, value_if_set,
};
use crate::cron;
use crate::family::{Family, experimental, stable};

impl Resource for CronJob {
    const NAME: &'static str = "cronjobs";
    const NAME_LABEL: &'static str = "cronjob";

    fn families() -> &'static [Family<CronJob>] {
        FAMILIES
    }
}

fn spec(c: &CronJob) -> &CronJobSpec {
    &c.spec
}

fn status(c: &CronJob) -> Option<&CronJobStatus> {
    c.status.as_ref()
}

/// The schedule as KSM hands it to the cron parser.
fn schedule(c: &CronJob) -> Option<cron::Schedule> {
    let spec = spec(c);
    cron::Schedule::parse(&spec.schedule, spec.time_zone.as_deref())
}

/// KSM's `getNextScheduledTime`: the first activation after the last
/// schedule time, else after the creation time; nothing when the schedule
/// does not parse or neither time is set.
fn next_schedule_time(c: &CronJob) -> Option<f64> {
    let schedule = schedule(c)?;
    let last = status(c).and_then(|s| non_zero(s.last_schedule_time.as_ref()));
    let from = last.or_else(|| non_zero(c.metadata.creation_timestamp.as_ref()))?;
    // Go's zero time when the search gives up (five years without a match).
    let next = schedule
        .next_after(from.0.as_second())
        .unwrap_or(GO_ZERO_UNIX);
    Some(next as f64)
}

/// KSM v2.20 `cronJobMetricFamilies`, in its order.
const FAMILIES: &[Family<CronJob>] = &[
    experimental(
        "kube_cronjob_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_cronjob_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    stable("kube_cronjob_info", "Info about cronjob.", |c, series| {
        let spec = spec(c);
        series.add(
            &[
                ("schedule", spec.schedule.as_str()),
                (
                    "concurrency_policy",
                    spec.concurrency_policy.as_deref().unwrap_or_default(),
                ),
                ("timezone", spec.time_zone.as_deref().unwrap_or("local")),
            ],
            1.0,
        );
    }),
    stable("kube_cronjob_created", "Unix creation timestamp", created),
    stable(
        "kube_cronjob_status_active",
        "Active holds pointers to currently running jobs.",
        |c, series| {
            let active = status(c)
                .and_then(|s| s.active.as_ref())
                .map_or(0, Vec::len);
            series.add(&[], active as f64);
        },
    ),
    stable(
        "kube_cronjob_status_last_schedule_time",
        "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.",
        |c, series| {
            let time = status(c).and_then(|s| s.last_schedule_time.as_ref());
            value_if_set(series, time.map(unix));
        },
    ),
    stable(
        "kube_cronjob_status_last_successful_time",
        "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.",
        |c, series| {
            let time = status(c).and_then(|s| s.last_successful_time.as_ref());
            value_if_set(series, time.map(unix));
        },
    ),
    stable(
        "kube_cronjob_spec_suspend",
        "Suspend flag tells the controller to suspend subsequent executions.",
        // Unset is not suspended: 0, as KSM since v2.20.
        |c, series| series.add(&[], flag(spec(c).suspend == Some(true))),
    ),
    stable(
        "kube_cronjob_spec_starting_deadline_seconds",
        "Deadline in seconds for starting the job if it misses scheduled time for any reason.",
        |c, series| {
            let deadline = spec(c).starting_deadline_seconds;
            value_if_set(series, deadline.map(|seconds| seconds as f64));
        },
    ),
    stable(
        "kube_cronjob_next_schedule_time",
        "Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.",
        |c, series| {
            // Not tracked while suspended (an unset flag is not suspended).
            if spec(c).suspend != Some(true) {
                value_if_set(series, next_schedule_time(c));
            }
        },
    ),
    experimental(
        "kube_cronjob_schedule_invalid",
        "Emitted with value 1 for cronjobs whose schedule, in its configured timezone, cannot be parsed.",
        |c, series| {
            if schedule(c).is_none() {
                series.add(&[], 1.0);
            }
        },
    ),
    stable(
        "kube_cronjob_metadata_resource_version",
        "Resource version representing a specific version of the cronjob.",
        |c, series| {
            // Go's `strconv.ParseFloat`; no series when it is not a number.
            let version = c.metadata.resource_version.as_deref().unwrap_or_default();
            if let Ok(v) = version.parse::<f64>() {
                series.add(&[], v);
            }
        },
    ),
    experimental(
        "kube_cronjob_spec_successful_job_history_limit",
        "Successful job history limit tells the controller how many completed jobs should be preserved.",
        |c, series| value_if_set(series, spec(c).successful_jobs_history_limit.map(f64::from)),
    ),
    experimental(
        "kube_cronjob_spec_failed_job_history_limit",
        "Failed job history limit tells the controller how many failed jobs should be preserved.",
        |c, series| value_if_set(series, spec(c).failed_jobs_history_limit.map(f64::from)),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, headers, lines, lines_allowlisted, names};

    /// 2018-03-11 12:34:56 in Asia/Shanghai (KSM's own test fixture).
    const LAST_SCHEDULE: &str = "2018-03-11T04:34:56Z";

    fn cronjob(
        name: &str,
        spec: serde_json::Value,
        status: serde_json::Value,
    ) -> serde_json::Value {
        serde_json::json!({
            "metadata": {
                "name": name, "namespace": "ns1", "resourceVersion": "11111",
                "creationTimestamp": "2018-03-01T00:00:00Z",
                "labels": {"app": name}, "annotations": {"team": "data"}
            },
            "spec": spec,
            "status": status
        })
    }

    #[test]
    fn families_are_ksm_v2_20s_in_order_with_its_headers() {
        assert_eq!(
            names::<CronJob>(),
            [
                "kube_cronjob_annotations",
                "kube_cronjob_labels",
                "kube_cronjob_info",
                "kube_cronjob_created",
                "kube_cronjob_status_active",
                "kube_cronjob_status_last_schedule_time",
                "kube_cronjob_status_last_successful_time",
                "kube_cronjob_spec_suspend",
                "kube_cronjob_spec_starting_deadline_seconds",
                "kube_cronjob_next_schedule_time",
                "kube_cronjob_schedule_invalid",
                "kube_cronjob_metadata_resource_version",
                "kube_cronjob_spec_successful_job_history_limit",
                "kube_cronjob_spec_failed_job_history_limit",
            ]
        );
        let headers = headers::<CronJob>();
        assert_eq!(headers.matches("[STABLE]").count(), 10, "{headers}");
        assert_contains(
            &headers,
            [
                "# HELP kube_cronjob_status_last_successful_time [STABLE] LastSuccessfulTime keeps information of when was the last time the job was completed successfully.\n",
                "# HELP kube_cronjob_schedule_invalid Emitted with value 1 for cronjobs whose schedule, in its configured timezone, cannot be parsed.\n# TYPE kube_cronjob_schedule_invalid gauge\n",
                "# HELP kube_cronjob_spec_failed_job_history_limit Failed job history limit tells the controller how many failed jobs should be preserved.\n",
            ],
        );
    }

    #[test]
    fn an_active_cronjob_with_last_schedule_and_successful_times() {
        let text = lines_allowlisted::<CronJob>(cronjob(
            "report",
            serde_json::json!({
                "schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid", "suspend": false,
                "startingDeadlineSeconds": 300, "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1, "jobTemplate": {}
            }),
            serde_json::json!({
                "active": [{"name": "report-1"}, {"name": "report-2"}],
                "lastScheduleTime": "2018-03-11T04:30:00Z",
                "lastSuccessfulTime": "2018-03-11T04:25:30Z"
            }),
        ));
        let id = "namespace=\"ns1\",cronjob=\"report\"";
        // In any zone with whole-quarter-hour offsets, the next */5 after
        // 04:30:00 UTC is 04:35:00 UTC.
        assert_eq!(
            text,
            format!(
                "kube_cronjob_annotations{{{id},annotation_team=\"data\"}} 1\n\
                 kube_cronjob_labels{{{id},label_app=\"report\"}} 1\n\
                 kube_cronjob_info{{{id},schedule=\"*/5 * * * *\",concurrency_policy=\"Forbid\",timezone=\"local\"}} 1\n\
                 kube_cronjob_created{{{id}}} 1.5198624e+09\n\
                 kube_cronjob_status_active{{{id}}} 2\n\
                 kube_cronjob_status_last_schedule_time{{{id}}} 1.5207426e+09\n\
                 kube_cronjob_status_last_successful_time{{{id}}} 1.52074233e+09\n\
                 kube_cronjob_spec_suspend{{{id}}} 0\n\
                 kube_cronjob_spec_starting_deadline_seconds{{{id}}} 300\n\
                 kube_cronjob_next_schedule_time{{{id}}} 1.5207429e+09\n\
                 kube_cronjob_metadata_resource_version{{{id}}} 11111\n\
                 kube_cronjob_spec_successful_job_history_limit{{{id}}} 3\n\
                 kube_cronjob_spec_failed_job_history_limit{{{id}}} 1\n"
            )
        );
    }

    #[test]
    fn a_cronjob_with_a_time_zone() {
        let text = lines::<CronJob>(cronjob(
            "tz",
            serde_json::json!({"schedule": "0 */6 * * *", "timeZone": "UTC", "jobTemplate": {}}),
            serde_json::json!({"lastScheduleTime": LAST_SCHEDULE}),
        ));
        let id = "namespace=\"ns1\",cronjob=\"tz\"";
        assert_contains(
            &text,
            [
                format!(
                    "kube_cronjob_info{{{id},schedule=\"0 */6 * * *\",concurrency_policy=\"\",timezone=\"UTC\"}} 1\n"
                ),
                // KSM's TestGetNextScheduledTime: 1h25m4s later in UTC.
                format!("kube_cronjob_next_schedule_time{{{id}}} 1.520748e+09\n"),
            ],
        );
        assert!(
            std::path::Path::new("/usr/share/zoneinfo/Asia/Shanghai").exists(),
            "no zone files: install tzdata (scripts/test does)"
        );
        let text = lines::<CronJob>(cronjob(
            "shanghai",
            serde_json::json!({"schedule": "0 */6 * * *", "timeZone": "Asia/Shanghai", "jobTemplate": {}}),
            serde_json::json!({"lastScheduleTime": LAST_SCHEDULE}),
        ));
        // ... and 5h25m4s later in Asia/Shanghai (18:00 local).
        assert!(
            text.contains("kube_cronjob_next_schedule_time{namespace=\"ns1\",cronjob=\"shanghai\"} 1.5207624e+09\n"),
            "{text}"
        );
        assert!(!text.contains("schedule_invalid"), "{text}");
    }

    #[test]
    fn a_suspended_cronjob_has_no_next_schedule_time() {
        let text = lines::<CronJob>(cronjob(
            "paused",
            serde_json::json!({"schedule": "0 */3 * * *", "suspend": true, "jobTemplate": {}}),
            serde_json::json!({"lastScheduleTime": LAST_SCHEDULE}),
        ));
        assert!(
            text.contains("kube_cronjob_spec_suspend{namespace=\"ns1\",cronjob=\"paused\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("next_schedule_time"), "{text}");
    }

    #[test]
    fn without_a_last_schedule_the_creation_time_counts_and_nil_suspend_is_active() {
        let text = lines::<CronJob>(cronjob(
            "fresh",
            serde_json::json!({"schedule": "@every 2h", "jobTemplate": {}}),
            serde_json::json!({}),
        ));
        assert!(
            text.contains("kube_cronjob_spec_suspend{namespace=\"ns1\",cronjob=\"fresh\"} 0\n"),
            "{text}"
        );
        assert!(!text.contains("last_schedule_time"), "{text}");
        // 2018-03-01T00:00:00Z + 2h.
        assert!(
            text.contains("kube_cronjob_next_schedule_time{namespace=\"ns1\",cronjob=\"fresh\"} 1.5198696e+09\n"),
            "{text}"
        );
    }

    #[test]
    fn invalid_schedules_and_zones() {
        for (schedule, zone) in [
            ("*/120 4-22 * * *", None),
            ("0 1 */32,1-7 * 3", None),
            ("0 */6 * * *", Some("Invalid/Zone")),
            ("not a schedule", None),
        ] {
            let text = lines::<CronJob>(cronjob(
                "bad",
                serde_json::json!({"schedule": schedule, "timeZone": zone, "jobTemplate": {}}),
                serde_json::json!({"lastScheduleTime": LAST_SCHEDULE}),
            ));
            assert!(
                text.contains(
                    "kube_cronjob_schedule_invalid{namespace=\"ns1\",cronjob=\"bad\"} 1\n"
                ),
                "{schedule}: {text}"
            );
            assert!(!text.contains("next_schedule_time"), "{schedule}: {text}");
            assert!(
                text.contains("kube_cronjob_status_last_schedule_time{"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_cronjob_with_almost_nothing_set() {
        let text = lines::<CronJob>(
            serde_json::json!({"metadata": {"name": "c", "resourceVersion": "abc"}}),
        );
        let id = "namespace=\"\",cronjob=\"c\"";
        assert_eq!(
            text,
            format!(
                "kube_cronjob_info{{{id},schedule=\"\",concurrency_policy=\"\",timezone=\"local\"}} 1\n\
                 kube_cronjob_status_active{{{id}}} 0\n\
                 kube_cronjob_spec_suspend{{{id}}} 0\n\
                 kube_cronjob_schedule_invalid{{{id}}} 1\n"
            )
        );
        // A schedule but no times: nothing to count from.
        let text = lines::<CronJob>(serde_json::json!({
            "metadata": {"name": "c"}, "spec": {"schedule": "@daily", "jobTemplate": {}}
        }));
        assert!(!text.contains("next_schedule_time"), "{text}");
        assert!(!text.contains("schedule_invalid"), "{text}");
        assert!(!text.contains("resource_version"), "{text}");
    }
}
