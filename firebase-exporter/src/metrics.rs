//! The exposition: families built from the stored state at each scrape.
//! The names are listed in the crate documentation (`main.rs`).

use exporter_kit::exposition::{Family, MetricSet, MetricType};

use crate::api::Pool;
use crate::client::{Code, RequestStats};
use crate::clock::unix_millis;
use crate::scan::{Tally, WINDOWS};
use crate::state::{Method, Snapshot, Status};

/// Adds a sample labelled with the pool's tenant (none for the project).
fn pool_sample(family: &mut Family, pool: &Pool, extra: &[(&'static str, &str)], value: f64) {
    let mut labels: Vec<(&'static str, &str)> = extra.to_vec();
    if let Pool::Tenant(id) = pool {
        labels.push(("tenant", id));
    }
    family.sample(&labels, value);
}

/// Everything the exporter knows, as families.
pub fn render(snapshot: &Snapshot, stats: &RequestStats, out: &mut MetricSet) {
    let count = out.family(
        "firebase_user_count",
        "Firebase Authentication users: the project's own (no tenant label) or one tenant's.",
        MetricType::Gauge,
    );
    for (pool, pool_count) in &snapshot.counts {
        pool_sample(count, pool, &[], pool_count.users as f64);
    }
    let method = out.family(
        "firebase_user_count_method",
        "How firebase_user_count was last counted: 1 for the method used (query: one accounts:query request; batchget: paging accounts:batchGet).",
        MetricType::Gauge,
    );
    for (pool, pool_count) in &snapshot.counts {
        for candidate in Method::ALL {
            let used = f64::from(u8::from(pool_count.method == candidate));
            pool_sample(method, pool, &[("method", candidate.label())], used);
        }
    }

    if snapshot.scan.is_some() {
        render_breakdowns(snapshot, out);
    }

    let mut kinds = vec![("count", &snapshot.count)];
    if let Some(scan) = &snapshot.scan {
        kinds.push(("scan", scan));
    }
    render_status(&kinds, out);

    let requests = out.family(
        "firebase_exporter_api_requests_total",
        "Requests to Google APIs (or the emulator) by endpoint and HTTP status code; code=\"error\" when no reply came.",
        MetricType::Counter,
    );
    for ((endpoint, code), total) in stats.snapshot() {
        let code = match code {
            Code::Status(status) => status.to_string(),
            Code::NoResponse => "error".to_owned(),
        };
        requests.sample(
            &[("endpoint", endpoint.label()), ("code", &code)],
            total as f64,
        );
    }
}

fn render_breakdowns(snapshot: &Snapshot, out: &mut MetricSet) {
    let gauge =
        |out: &mut MetricSet, name: &'static str, help: &'static str, value: fn(&Tally) -> u64| {
            let family = out.family(name, help, MetricType::Gauge);
            for (pool, tally) in &snapshot.breakdowns {
                pool_sample(family, pool, &[], value(tally) as f64);
            }
        };
    gauge(
        out,
        "firebase_users_scanned",
        "Users seen by the last complete accounts:batchGet scan.",
        |tally| tally.users,
    );
    gauge(
        out,
        "firebase_users_disabled",
        "Disabled users, from the last scan.",
        |tally| tally.disabled,
    );
    gauge(
        out,
        "firebase_users_email_verified",
        "Users with a verified email address, from the last scan.",
        |tally| tally.email_verified,
    );
    let providers = out.family(
        "firebase_users_with_provider",
        "Users by linked sign-in provider, from the last scan; a user with several providers counts once for each, one with none as anonymous.",
        MetricType::Gauge,
    );
    for (pool, tally) in &snapshot.breakdowns {
        for (provider, users) in &tally.providers {
            pool_sample(providers, pool, &[("provider", provider)], *users as f64);
        }
    }
    gauge(
        out,
        "firebase_users_unparsed_fields",
        "Users with a time (createdAt, lastLoginAt, lastRefreshAt) that could not be read, from the last scan; those times count as unknown.",
        |tally| tally.unparsed,
    );
    let windowed = [
        (
            "firebase_users_active",
            "Users who signed in or refreshed a token within the window (lastLoginAt, lastRefreshAt), from the last scan.",
            (|tally| &tally.active) as fn(&Tally) -> &[u64; WINDOWS.len()],
        ),
        (
            "firebase_users_new",
            "Users created within the window (createdAt), from the last scan.",
            |tally| &tally.created,
        ),
    ];
    for (name, help, counts) in windowed {
        let family = out.family(name, help, MetricType::Gauge);
        for (pool, tally) in &snapshot.breakdowns {
            for ((window, _), users) in WINDOWS.iter().zip(counts(tally)) {
                pool_sample(family, pool, &[("window", window)], *users as f64);
            }
        }
    }
}

fn render_status(kinds: &[(&'static str, &Status)], out: &mut MetricSet) {
    type Value = fn(&Status) -> Option<f64>;
    // One series per refresh kind; `None` leaves a kind out.
    let per_kind: [(&'static str, &'static str, MetricType, Value); 5] = [
        (
            "firebase_exporter_refresh_success",
            "Whether the last refresh of this kind succeeded in full (1) or not (0); values of a failed refresh are the last good ones.",
            MetricType::Gauge,
            |status| Some(f64::from(u8::from(status.success))),
        ),
        (
            "firebase_exporter_refresh_last_success_timestamp_seconds",
            "When the last successful refresh of this kind ended, in seconds since the epoch.",
            MetricType::Gauge,
            |status| {
                status
                    .last_success
                    .map(|at| unix_millis(at) as f64 / 1000.0)
            },
        ),
        (
            "firebase_exporter_refresh_duration_seconds",
            "How long the last refresh of this kind took.",
            MetricType::Gauge,
            |status| status.duration.map(|took| took.as_secs_f64()),
        ),
        (
            "firebase_exporter_refreshes_total",
            "Refreshes of this kind run.",
            MetricType::Counter,
            |status| Some(status.runs as f64),
        ),
        (
            "firebase_exporter_refresh_failures_total",
            "Refreshes of this kind that failed in full or in part.",
            MetricType::Counter,
            |status| Some(status.failures as f64),
        ),
    ];
    for (name, help, kind_of_metric, value) in per_kind {
        let family = out.family(name, help, kind_of_metric);
        for (kind, status) in kinds {
            if let Some(value) = value(status) {
                family.sample(&[("kind", kind)], value);
            }
        }
    }
    let error = out.family(
        "firebase_exporter_refresh_error",
        "1 while the last refresh of this kind failed, with the reason of its first error (credentials, unauthenticated, permission_denied, not_found, rate_limited, client_error, server_error, unreachable, timeout, bad_response).",
        MetricType::Gauge,
    );
    for (kind, status) in kinds {
        if let Some(reason) = status.error {
            error.sample(&[("kind", kind), ("reason", reason.label())], 1.0);
        }
    }
}
