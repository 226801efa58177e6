//! Firebase Authentication user counts for Prometheus.
//!
//! The exporter counts the users of a Firebase project (and of each of its
//! Identity Platform tenants) in the background and serves the last values;
//! a scrape never calls Firebase.
//!
//! # Metrics
//!
//! Users (`tenant` label: the tenant id; absent for the project's own users,
//! which do not include any tenant's, so `sum()` is everyone):
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `firebase_user_count` | gauge | `tenant` | users, from one `accounts:query` request (`recordsCount`) per pool and refresh, or from paging `accounts:batchGet` |
//! | `firebase_user_count_method` | gauge | `method`, `tenant` | 1 for the method the last count used: `query` or `batchget` (the fallback when `accounts:query` is refused with 400, 403, 404 or 501 or its reply is unusable, or `--count.method=batchget`); 0 for the other |
//!
//! From the full `accounts:batchGet` scan, every `--scan.interval`:
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `firebase_users_scanned` | gauge | `tenant` | users the scan saw |
//! | `firebase_users_disabled` | gauge | `tenant` | disabled users |
//! | `firebase_users_email_verified` | gauge | `tenant` | users whose email is verified |
//! | `firebase_users_with_provider` | gauge | `provider`, `tenant` | users by linked sign-in provider (`password`, `phone`, `google.com`, ...; `anonymous` for users with none); a user with several counts once for each |
//! | `firebase_users_active` | gauge | `window`, `tenant` | users whose last sign-in (`lastLoginAt`) or token refresh (`lastRefreshAt`) is within the window: `1d`, `7d`, `30d` |
//! | `firebase_users_new` | gauge | `window`, `tenant` | users created (`createdAt`) within the window |
//! | `firebase_users_unparsed_fields` | gauge | `tenant` | users with a `createdAt`, `lastLoginAt` or `lastRefreshAt` the exporter could not read; those times count as unknown |
//!
//! `provider` takes at most 64 values per pool; providers past those are
//! counted as `other`, which bounds the series whatever the project holds.
//!
//! The exporter's health (`kind`: `count` or `scan`):
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `firebase_exporter_refresh_success` | gauge | `kind` | 1 if the last refresh succeeded in full, else 0; the user metrics then keep their last good values |
//! | `firebase_exporter_refresh_last_success_timestamp_seconds` | gauge | `kind` | end of the last successful refresh |
//! | `firebase_exporter_refresh_duration_seconds` | gauge | `kind` | duration of the last refresh |
//! | `firebase_exporter_refreshes_total` | counter | `kind` | refreshes run |
//! | `firebase_exporter_refresh_failures_total` | counter | `kind` | refreshes that failed, in full or in part |
//! | `firebase_exporter_refresh_error` | gauge | `kind`, `reason` | 1 while the last refresh failed; `reason` is one of `credentials`, `unauthenticated`, `permission_denied`, `not_found`, `rate_limited`, `client_error` (a 4xx reply), `server_error`, `unreachable`, `timeout`, `bad_response` |
//! | `firebase_exporter_api_requests_total` | counter | `endpoint`, `code` | requests by endpoint (`accounts.query`, `accounts.batchGet`, `tenants.list`, `oauth2.token`, `metadata.token`, `metadata.project`) and HTTP status (`error`: no reply, including requests the deadline cut off) |
//!
//! Plus exporter-kit's `process_*`, `promhttp_*` and
//! `firebase_exporter_build_info`.
//!
//! # Credentials
//!
//! As Google's libraries find them (Application Default Credentials): the
//! service-account key or gcloud user credentials named by
//! `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's well-known file, then the
//! metadata server (GCE, Cloud Run, GKE Workload Identity; if it is only
//! the last resort and fails, the error says which sources were tried).
//! Tokens ask for the `identitytoolkit` scope only; from the metadata
//! server too (`?scopes=`), so on a Compute Engine VM the instance's access
//! scopes must allow it (`cloud-platform`, "Allow full access to all Cloud
//! APIs", or `identitytoolkit`).
//! `FIREBASE_AUTH_EMULATOR_HOST` (`host:port`) switches to the Auth
//! emulator. The account
//! needs `firebaseauth.users.get` (and `identitytoolkit.tenants.list` for
//! `--tenants=all`): `roles/firebaseauth.viewer`. The project id comes from
//! `--project-id`, else the key file, `GOOGLE_CLOUD_PROJECT`,
//! `GCLOUD_PROJECT`, then the metadata server. User credentials send their
//! quota project (`quota_project_id`, `GOOGLE_CLOUD_QUOTA_PROJECT`, else
//! the project) as `x-goog-user-project`, which Identity Toolkit requires.
//!
//! Calls are retried with exponential backoff and jitter on 429 and 5xx
//! (honouring `Retry-After`) until each refresh's deadline; `accounts:query`
//! at most 3 times. Ready once the project's own users were counted.
//! Credentials and user records are never logged nor exposed.

mod api;
mod client;
mod clock;
mod credentials;
mod error;
mod jwt;
mod metrics;
mod refresh;
mod retry;
mod scan;
mod state;
mod token;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use exporter_kit::cli::{self, CommonArgs};
use exporter_kit::exposition::MetricSet;
use exporter_kit::self_metrics::BuildInfoLabels;
use exporter_kit::{BadRequest, Exporter, ExporterInfo, Readiness, Scrape};

use crate::api::{Api, ProjectSource};
use crate::client::RequestStats;
use crate::credentials::Credentials;
use crate::refresh::{CountMethod, Settings, Tenants};
use crate::state::State;

static INFO: ExporterInfo = ExporterInfo {
    name: "firebase_exporter",
    binary: "firebase-exporter",
    version: env!("CARGO_PKG_VERSION"),
    description: "Prometheus exporter for Firebase Authentication user counts.",
    default_listen_address: ":9893",
    build_info: BuildInfoLabels::Common,
};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    firebase: FirebaseArgs,
}

/// The exporter's own flags.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Firebase")]
struct FirebaseArgs {
    /// Google Cloud project id of the Firebase project (default: the
    /// service-account key's, then $GOOGLE_CLOUD_PROJECT, $GCLOUD_PROJECT,
    /// then the metadata server's).
    #[arg(long = "project-id", value_name = "ID")]
    project_id: Option<String>,

    /// Tenants whose users to count besides the project's own:
    /// "all" lists them with the tenants API at each refresh, "none" skips
    /// tenants, or a comma-separated list of tenant ids.
    #[arg(long = "tenants", value_name = "IDS", default_value = "all")]
    tenants: String,

    /// How to count users: "query" (one accounts:query request per project
    /// or tenant; pages through accounts:batchGet if that fails), or
    /// "batchget" (always pages, one request per 1000 users).
    #[arg(
        long = "count.method",
        value_name = "METHOD",
        value_enum,
        default_value = "query"
    )]
    count_method: CountMethod,

    /// How often to count the users.
    #[arg(long = "refresh.interval", value_name = "DURATION", default_value = "60s",
          value_parser = humantime::parse_duration)]
    refresh_interval: Duration,

    /// Longest a count may take, retries included.
    #[arg(long = "refresh.timeout", value_name = "DURATION", default_value = "30s",
          value_parser = humantime::parse_duration)]
    refresh_timeout: Duration,

    /// How often to scan every user for the breakdowns (disabled, verified,
    /// providers, activity, creation); one request per 1000 users. 0
    /// disables the scan.
    #[arg(long = "scan.interval", value_name = "DURATION", default_value = "1h",
          value_parser = humantime::parse_duration)]
    scan_interval: Duration,

    /// Longest a scan may take, retries included.
    #[arg(long = "scan.timeout", value_name = "DURATION", default_value = "10m",
          value_parser = humantime::parse_duration)]
    scan_timeout: Duration,

    /// Root URL of the Identity Toolkit API (default:
    /// https://identitytoolkit.googleapis.com, or the emulator's), for a
    /// private endpoint or a test server.
    #[arg(long = "api-url", value_name = "URL")]
    api_url: Option<String>,
}

/// Serves the stored state.
struct FirebaseExporter {
    state: Arc<State>,
    stats: Arc<RequestStats>,
}

impl Exporter for FirebaseExporter {
    async fn collect(&self, _scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        let mut out = MetricSet::new();
        metrics::render(&self.state.snapshot(), &self.stats, &mut out);
        Ok(out)
    }
}

/// A configuration error, in one line naming the flag or variable.
#[derive(Debug, thiserror::Error)]
enum ConfigError {
    #[error("--{flag} must be longer than 0")]
    Zero { flag: &'static str },
    #[error("--{flag} must be at most a year")]
    TooLong { flag: &'static str },
    #[error("--tenants: {id:?} is not a tenant id (letters, digits, dashes and underscores)")]
    TenantId { id: String },
    #[error("--api-url={url:?} {problem}")]
    ApiUrl { url: String, problem: &'static str },
    #[error("no project id: set --project-id or GOOGLE_CLOUD_PROJECT (credentials: {origin})")]
    NoProject { origin: String },
}

/// The settings, or the first bad flag.
fn settings(args: &FirebaseArgs) -> Result<Settings, ConfigError> {
    // Longer durations would overflow the clock's arithmetic.
    const LONGEST: Duration = Duration::from_secs(366 * 86_400);
    let bounded = |flag: &'static str, value: Duration| {
        if value > LONGEST {
            Err(ConfigError::TooLong { flag })
        } else {
            Ok(value)
        }
    };
    let positive = |flag: &'static str, value: Duration| {
        if value.is_zero() {
            Err(ConfigError::Zero { flag })
        } else {
            bounded(flag, value)
        }
    };
    let tenants = match args.tenants.trim() {
        "all" => Tenants::All,
        "none" | "" => Tenants::None,
        list => {
            let ids: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = ids.iter().find(|id| {
                !id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }) {
                return Err(ConfigError::TenantId { id: bad.clone() });
            }
            Tenants::Listed(ids)
        }
    };
    if let Some(url) = &args.api_url {
        check_api_url(url)?;
    }
    Ok(Settings {
        tenants,
        count_method: args.count_method,
        refresh_interval: positive("refresh.interval", args.refresh_interval)?,
        refresh_timeout: positive("refresh.timeout", args.refresh_timeout)?,
        scan_interval: Some(bounded("scan.interval", args.scan_interval)?)
            .filter(|interval| !interval.is_zero()),
        scan_timeout: positive("scan.timeout", args.scan_timeout)?,
    })
}

/// `--api-url` must be an `http` or `https` URL with a host (and perhaps
/// a path prefix) and no query: requests append paths to it.
fn check_api_url(url: &str) -> Result<(), ConfigError> {
    let problem = match url.parse::<http::Uri>() {
        Err(_) => Some("is not a URL"),
        Ok(uri) if !matches!(uri.scheme_str(), Some("http" | "https")) => {
            Some("must start with http:// or https://")
        }
        Ok(uri) if uri.host().is_none_or(str::is_empty) => Some("has no host"),
        Ok(uri) if uri.query().is_some() => Some("must not have a query"),
        Ok(_) => None,
    };
    match problem {
        Some(problem) => Err(ConfigError::ApiUrl {
            url: url.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The project id in the documented order, or where to ask for it.
fn project_source(
    flag: Option<&str>,
    discovered: &credentials::Discovered,
) -> Result<ProjectSource, ConfigError> {
    let known = flag
        .map(str::to_owned)
        .filter(|id| !id.is_empty())
        .or_else(|| discovered.project_id().map(str::to_owned))
        .or_else(|| env("GOOGLE_CLOUD_PROJECT"))
        .or_else(|| env("GCLOUD_PROJECT"));
    match (known, &discovered.credentials) {
        (Some(project), _) => Ok(ProjectSource::Known(project)),
        (None, Credentials::Metadata { host, tried }) => Ok(ProjectSource::Metadata {
            host: host.clone(),
            tried: tried.clone(),
        }),
        (None, _) => Err(ConfigError::NoProject {
            origin: discovered.origin.clone(),
        }),
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse(&INFO);
    args.common.start_logging(&INFO);
    let settings = settings(&args.firebase).unwrap_or_else(|err| cli::fatal(&INFO, err));
    let discovered = credentials::discover(&env).unwrap_or_else(|err| cli::fatal(&INFO, err));
    let project = project_source(args.firebase.project_id.as_deref(), &discovered)
        .unwrap_or_else(|err| cli::fatal(&INFO, err));
    let quota_project = match &discovered.credentials {
        Credentials::AuthorizedUser(user) => env("GOOGLE_CLOUD_QUOTA_PROJECT")
            .or_else(|| user.quota_project_id.clone())
            .or_else(|| match &project {
                ProjectSource::Known(project) => Some(project.clone()),
                ProjectSource::Metadata { .. } => None,
            }),
        _ => None,
    };
    let (http, warning) = client::Http::new()
        .unwrap_or_else(|err| cli::fatal(&INFO, format!("cannot set up TLS: {err}")));
    if let Some(warning) = warning
        && !matches!(discovered.credentials, Credentials::Emulator { .. })
    {
        log::warn!("{warning}");
    }
    let stats = http.stats();
    let api = Api::new(
        http,
        discovered.credentials.clone(),
        args.firebase.api_url.clone(),
        quota_project,
        project.clone(),
    );
    log::info!(
        credentials = discovered.origin.as_str(),
        project = match &project { ProjectSource::Known(id) => id.as_str(), ProjectSource::Metadata { .. } => "(from the metadata server)" },
        api = api.base();
        "Counting Firebase Authentication users"
    );
    let state = Arc::new(State::new(settings.scan_interval.is_some()));
    let readiness = Readiness::default();
    let background = refresh::run(Arc::new(api), settings, state.clone(), readiness.clone());
    let exporter = FirebaseExporter { state, stats };
    exporter_kit::serve_each(
        &INFO,
        vec![(args.common.web, exporter)],
        readiness,
        background,
    )
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, String> {
        let parsed =
            Args::try_parse_from(std::iter::once("firebase-exporter").chain(args.iter().copied()))
                .map_err(|err| err.to_string())?;
        settings(&parsed.firebase).map_err(|err| err.to_string())
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_and_tenants() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults.tenants, Tenants::All);
        assert_eq!(defaults.refresh_interval, Duration::from_secs(60));
        assert_eq!(defaults.scan_interval, Some(Duration::from_secs(3600)));
        assert_eq!(defaults.count_method, CountMethod::Query);
        assert_eq!(parse(&["--tenants=none"]).unwrap().tenants, Tenants::None);
        assert_eq!(
            parse(&["--tenants", "a-1, b-2"]).unwrap().tenants,
            Tenants::Listed(vec!["a-1".into(), "b-2".into()])
        );
        assert_eq!(parse(&["--scan.interval=0s"]).unwrap().scan_interval, None);
    }

    #[test]
    fn bad_values_name_the_flag() {
        assert!(
            parse(&["--refresh.interval=0s"])
                .unwrap_err()
                .contains("--refresh.interval")
        );
        assert!(parse(&["--tenants=a/b"]).unwrap_err().contains("--tenants"));
        assert!(
            parse(&["--scan.interval=1000years"])
                .unwrap_err()
                .contains("--scan.interval")
        );
        assert!(
            parse(&["--count.method=guess"])
                .unwrap_err()
                .contains("--count.method")
        );
    }

    #[test]
    fn api_urls_are_checked() {
        for good in [
            "https://identitytoolkit.googleapis.com",
            "http://127.0.0.1:9099/identitytoolkit.googleapis.com/",
        ] {
            assert!(parse(&[&format!("--api-url={good}")]).is_ok(), "{good}");
        }
        for bad in [
            "identitytoolkit.googleapis.com",
            "ftp://example.com",
            "http://",
            "https://example.com/?key=x",
            "http://exa mple.com",
        ] {
            let err = parse(&[&format!("--api-url={bad}")]).unwrap_err();
            assert!(err.starts_with("--api-url="), "{err}");
        }
    }
}
