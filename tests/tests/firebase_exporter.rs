//! firebase-exporter against the real Firebase Auth emulator (firebase-tools),
//! started by the tests on free ports; local stand-ins only for what the
//! emulator cannot be: Google's token endpoint, the metadata server, and
//! error replies (403, 429, 500).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ::http::Method;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::firebase::{Emulator, Seen, Stub, forward, json_reply, rsa_key, shared_emulator};
use e2e::http;
use e2e::process::Running;
use e2e::wait;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// Longer than the usual patience: scans of thousands of users by a debug
/// build, next to an emulator, on two cores.
const PATIENCE: Duration = Duration::from_secs(90);

const DAY_MS: i64 = 86_400_000;

/// The exporter listening on a free port, with `env` added (an empty value
/// hides a variable of the test's own environment).
fn exporter(args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut all = vec!["--web.listen-address=127.0.0.1:0"];
    all.extend_from_slice(args);
    Running::start(&e2e::binary::path("firebase-exporter"), &all, env, 1)
}

/// Environment that keeps the developer's own Google settings out.
fn clean_env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("FIREBASE_AUTH_EMULATOR_HOST", ""),
        ("GOOGLE_APPLICATION_CREDENTIALS", ""),
        ("GOOGLE_CLOUD_PROJECT", ""),
        ("GCLOUD_PROJECT", ""),
        ("GOOGLE_CLOUD_QUOTA_PROJECT", ""),
        ("CLOUDSDK_CONFIG", "/nonexistent-gcloud-config"),
        ("GCE_METADATA_HOST", "127.0.0.1:9"),
    ];
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push((key, value));
    }
    env
}

async fn scrape(running: &Running) -> String {
    let response = http::get(running.addr(), "/metrics").await.unwrap();
    assert_eq!(response.status, 200);
    response.text()
}

/// Scrapes until `check` holds.
async fn scrape_until(running: &Running, what: &str, check: impl Fn(&str) -> bool) -> String {
    wait::until_async(PATIENCE, what, || async {
        let text = scrape(running).await;
        check(&text).then_some(text)
    })
    .await
}

/// `name{a="1",b="2"}` with the labels in the exposition's order.
fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    if labels.is_empty() {
        return name.to_owned();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn success(text: &str, kind: &str) -> Option<f64> {
    value(
        text,
        &series("firebase_exporter_refresh_success", &[("kind", kind)]),
    )
}

/// Whether a refresh of `kind` has run.
fn refreshed(text: &str, kind: &str) -> bool {
    value(
        text,
        &series("firebase_exporter_refreshes_total", &[("kind", kind)]),
    )
    .is_some_and(|runs| runs >= 1.0)
}

fn requests(text: &str, endpoint: &str, code: &str) -> f64 {
    value(
        text,
        &series(
            "firebase_exporter_api_requests_total",
            &[("code", code), ("endpoint", endpoint)],
        ),
    )
    .unwrap_or(0.0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A user to import, and what the breakdowns should make of it.
#[derive(Clone)]
struct Spec {
    id: String,
    email: bool,
    password: bool,
    phone: bool,
    google: bool,
    disabled: bool,
    verified: bool,
    created_days_ago: f64,
    last_login_days_ago: Option<f64>,
    /// Signed in (so lastRefreshAt is now) with lastLoginAt set back.
    refreshed_now: bool,
}

impl Spec {
    fn json(&self, now: i64) -> Value {
        let ms = |days: f64| (now - (days * DAY_MS as f64) as i64).to_string();
        let mut user = json!({
            "localId": self.id,
            "disabled": self.disabled,
            "emailVerified": self.verified,
            "createdAt": ms(self.created_days_ago),
        });
        if self.email {
            user["email"] = json!(format!("{}@example.com", self.id));
        }
        if self.password {
            user["passwordHash"] = json!("aGFzaA==");
            user["salt"] = json!("c2FsdA==");
        }
        if self.phone {
            let digits: u64 = self
                .id
                .bytes()
                .fold(0, |n, b| (n * 31 + u64::from(b)) % 10_000_000);
            user["phoneNumber"] = json!(format!("+1555{digits:07}"));
        }
        if self.google {
            user["providerUserInfo"] =
                json!([{"providerId": "google.com", "rawId": format!("g-{}", self.id)}]);
        }
        if let Some(days) = self.last_login_days_ago {
            user["lastLoginAt"] = json!(ms(days));
        }
        user
    }

    fn providers(&self) -> Vec<&'static str> {
        let mut providers = Vec::new();
        if self.password && self.email {
            providers.push("password");
        }
        if self.phone {
            providers.push("phone");
        }
        if self.google {
            providers.push("google.com");
        }
        if providers.is_empty() {
            providers.push("anonymous");
        }
        providers
    }
}

/// The breakdowns expected of `users`.
#[derive(Debug, PartialEq)]
struct Expected {
    users: u64,
    disabled: u64,
    verified: u64,
    providers: BTreeMap<String, u64>,
    active: [u64; 3],
    created: [u64; 3],
}

const WINDOWS: [(&str, f64); 3] = [("1d", 1.0), ("7d", 7.0), ("30d", 30.0)];

fn expected(users: &[Spec]) -> Expected {
    let mut expected = Expected {
        users: users.len() as u64,
        disabled: users.iter().filter(|u| u.disabled).count() as u64,
        verified: users.iter().filter(|u| u.verified).count() as u64,
        providers: BTreeMap::new(),
        active: [0; 3],
        created: [0; 3],
    };
    for user in users {
        for provider in user.providers() {
            *expected.providers.entry(provider.to_owned()).or_default() += 1;
        }
        let last_active = if user.refreshed_now {
            Some(0.0)
        } else {
            user.last_login_days_ago
        };
        for (index, (_, days)) in WINDOWS.iter().enumerate() {
            expected.active[index] += u64::from(last_active.is_some_and(|ago| ago < *days));
            expected.created[index] += u64::from(user.created_days_ago < *days);
        }
    }
    expected
}

/// What the exporter shows for one pool.
fn shown(text: &str, tenant: Option<&str>) -> Expected {
    let get = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = extra.to_vec();
        labels.extend(tenant.map(|tenant| ("tenant", tenant)));
        let series = series(name, &labels);
        value(text, &series).unwrap_or_else(|| panic!("no {series} in:\n{text}")) as u64
    };
    let mut providers = BTreeMap::new();
    let prefix = "firebase_users_with_provider{provider=\"";
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        let (provider, rest) = rest.split_once('"').unwrap();
        let tenant_part = match tenant {
            Some(tenant) => format!(",tenant=\"{tenant}\"}} "),
            None => "} ".to_owned(),
        };
        if let Some(count) = rest.strip_prefix(&tenant_part) {
            providers.insert(provider.to_owned(), count.parse::<f64>().unwrap() as u64);
        }
    }
    let windows = |name: &str| [0, 1, 2].map(|index| get(name, &[("window", WINDOWS[index].0)]));
    Expected {
        users: get("firebase_users_scanned", &[]),
        disabled: get("firebase_users_disabled", &[]),
        verified: get("firebase_users_email_verified", &[]),
        providers,
        active: windows("firebase_users_active"),
        created: windows("firebase_users_new"),
    }
}

/// 2,497 imported users with every mix of flags, providers and times.
fn project_users() -> Vec<Spec> {
    (0..2497)
        .map(|i| {
            let kind = i % 5;
            Spec {
                id: format!("u{i:05}"),
                email: kind == 0 || kind == 3 || (kind == 2 && i % 2 == 0),
                password: kind == 0 || kind == 3,
                phone: kind == 1,
                google: kind == 2 || kind == 3,
                disabled: i % 10 == 0,
                verified: i % 4 == 0 && kind != 4,
                created_days_ago: match i % 7 {
                    0 => 2.0 / 24.0,
                    1 => 3.0,
                    2 => 20.0,
                    _ => 400.0,
                },
                last_login_days_ago: match i % 6 {
                    0 => Some(1.0 / 24.0),
                    1 => Some(5.0),
                    2 => Some(25.0),
                    3 => Some(90.0),
                    _ => None,
                },
                refreshed_now: false,
            }
        })
        .collect()
}

fn tenant_users(prefix: &str, count: usize) -> Vec<Spec> {
    (0..count)
        .map(|i| Spec {
            id: format!("{prefix}{i:05}"),
            email: i % 3 != 0,
            password: i % 3 == 1,
            phone: false,
            google: i % 3 == 2,
            disabled: i % 7 == 0,
            verified: i % 3 == 2,
            created_days_ago: if i % 2 == 0 { 0.5 } else { 10.0 },
            last_login_days_ago: (i % 4 == 0).then_some(6.0),
            refreshed_now: false,
        })
        .collect()
}

/// Three password users who signed in (lastRefreshAt is now) and whose
/// lastLoginAt was then set 100 days back: active through the refresh only.
async fn refreshed_users(emulator: &Emulator, project: &str) -> Vec<Spec> {
    let mut specs = Vec::new();
    for i in 0..3 {
        let id = format!("refreshed{i}");
        let email = format!("{id}@example.com");
        emulator
            .admin_ok(
                Method::POST,
                &format!("/v1/projects/{project}/accounts"),
                Some(&json!({"localId": id, "email": email, "password": "secret-123"})),
            )
            .await;
        emulator
            .client_call(
                "/v1/accounts:signInWithPassword",
                &json!({"email": email, "password": "secret-123", "returnSecureToken": true}),
            )
            .await;
        let long_ago = (now_ms() - 100 * DAY_MS).to_string();
        emulator
            .admin_ok(
                Method::POST,
                &format!("/v1/projects/{project}/accounts:update"),
                Some(&json!({"localId": id, "lastLoginAt": long_ago})),
            )
            .await;
        specs.push(Spec {
            id,
            email: true,
            password: true,
            phone: false,
            google: false,
            disabled: false,
            verified: false,
            created_days_ago: 0.0,
            last_login_days_ago: Some(100.0),
            refreshed_now: true,
        });
    }
    specs
}

fn assert_no_secrets(text: &str) {
    for secret in [
        "fakeHash",
        "password=",
        "@example.com",
        "aGFzaA==",
        "ya29.",
        "PRIVATE KEY",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked:\n{text}");
    }
}

#[tokio::test]
async fn counts_and_breakdowns_are_exact_by_both_methods() {
    let emulator = shared_emulator();
    let project = emulator.project.clone();
    let now = now_ms();
    let mut users = project_users();
    emulator
        .batch_create(
            &project,
            None,
            &users.iter().map(|u| u.json(now)).collect::<Vec<_>>(),
        )
        .await;
    users.extend(refreshed_users(emulator, &project).await);
    assert_eq!(users.len(), 2500);
    let tenant_a = emulator.create_tenant(&project, "team-a").await;
    let tenant_b = emulator.create_tenant(&project, "team-b").await;
    let a_users = tenant_users("a", 1234);
    let b_users = tenant_users("b", 17);
    for (tenant, specs) in [(&tenant_a, &a_users), (&tenant_b, &b_users)] {
        let json: Vec<Value> = specs.iter().map(|u| u.json(now)).collect();
        emulator.batch_create(&project, Some(tenant), &json).await;
    }
    assert_eq!(emulator.count(&project, None).await, 2500);
    let host = emulator.host();
    let emulator_env = clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &host)]);
    let project_flag = format!("--project-id={project}");

    // accounts:query, tenants listed, and the breakdown scan; one of each
    // in the test's time (exact request counts), and debug logs checked
    // for secrets.
    let running = exporter(
        &[&project_flag, "--refresh.interval=1h", "--log.level=debug"],
        &emulator_env,
    );
    let text = scrape_until(&running, "a count and a scan", |text| {
        success(text, "count") == Some(1.0) && success(text, "scan") == Some(1.0)
    })
    .await;
    let count = |text: &str, tenant: Option<&str>| {
        let labels: Vec<(&str, &str)> = tenant.map(|t| ("tenant", t)).into_iter().collect();
        value(text, &series("firebase_user_count", &labels))
    };
    let method = |text: &str, tenant: Option<&str>, method: &str| {
        let mut labels = vec![("method", method)];
        labels.extend(tenant.map(|t| ("tenant", t)));
        value(text, &series("firebase_user_count_method", &labels))
    };
    for (tenant, specs) in [
        (None, &users),
        (Some(tenant_a.as_str()), &a_users),
        (Some(tenant_b.as_str()), &b_users),
    ] {
        assert_eq!(count(&text, tenant), Some(specs.len() as f64), "{text}");
        assert_eq!(method(&text, tenant, "query"), Some(1.0), "{text}");
        assert_eq!(method(&text, tenant, "batchget"), Some(0.0), "{text}");
        assert_eq!(shown(&text, tenant), expected(specs), "{tenant:?}");
    }
    // One query per pool; the scan read 3 + 2 + 1 pages of at most 1000.
    assert_eq!(requests(&text, "accounts.query", "200"), 3.0, "{text}");
    assert_eq!(requests(&text, "accounts.batchGet", "200"), 6.0, "{text}");
    assert_eq!(requests(&text, "tenants.list", "200"), 2.0, "{text}");
    assert!(text.contains("# TYPE firebase_user_count gauge"), "{text}");
    assert!(text.contains("# TYPE firebase_exporter_api_requests_total counter"));
    assert!(
        value(
            &text,
            &series(
                "firebase_exporter_refresh_last_success_timestamp_seconds",
                &[("kind", "scan")]
            )
        )
        .unwrap()
            > 1.7e9
    );
    assert!(
        value(
            &text,
            &series(
                "firebase_exporter_refresh_duration_seconds",
                &[("kind", "count")]
            )
        )
        .is_some()
    );
    let ready = http::get(running.addr(), "/readyz").await.unwrap();
    assert_eq!(ready.status, 200);
    let verdict =
        e2e::tools::promtool_check_metrics(&text).unwrap_or_else(|e| panic!("promtool: {e}"));
    // The guide's name for the count ends in _count, which promtool's lint
    // reserves for histograms and summaries; every other name is clean.
    let unexpected: Vec<_> = verdict
        .lint
        .iter()
        .filter(|finding| !finding.starts_with("firebase_user_count non-histogram"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert_no_secrets(&text);
    assert_no_secrets(&running.log().join("\n"));
    drop(running);

    // Paging accounts:batchGet, chosen by flag; no scan.
    let running = exporter(
        &[
            &project_flag,
            "--count.method=batchget",
            "--scan.interval=0",
            "--refresh.interval=1h",
        ],
        &emulator_env,
    );
    let text = scrape_until(&running, "a count by paging", |text| {
        success(text, "count") == Some(1.0)
    })
    .await;
    for (tenant, specs) in [
        (None, &users),
        (Some(tenant_a.as_str()), &a_users),
        (Some(tenant_b.as_str()), &b_users),
    ] {
        assert_eq!(count(&text, tenant), Some(specs.len() as f64), "{text}");
        assert_eq!(method(&text, tenant, "batchget"), Some(1.0), "{text}");
        assert_eq!(method(&text, tenant, "query"), Some(0.0), "{text}");
    }
    assert_eq!(requests(&text, "accounts.query", "200"), 0.0, "{text}");
    assert_eq!(requests(&text, "accounts.batchGet", "200"), 6.0, "{text}");
    assert!(!text.contains("firebase_users_scanned"), "{text}");
    assert!(!text.contains("kind=\"scan\""), "{text}");
    drop(running);

    // accounts:query refused (501, as for an unsupported request) by a
    // proxy in front of the emulator: the count falls back to paging.
    let upstream = emulator.addr();
    let proxy = Stub::start(move |seen: Seen| async move {
        if seen.uri.contains("accounts:query") {
            json_reply(
                501,
                &json!({"error": {"code": 501, "message": "NOT_IMPLEMENTED", "status": "UNIMPLEMENTED"}}),
            )
        } else {
            forward(upstream, &seen).await
        }
    });
    let running = exporter(
        &[
            &project_flag,
            "--tenants",
            &format!("{tenant_b},{tenant_a}"),
            "--scan.interval=0",
            "--refresh.interval=1h",
        ],
        &clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &proxy.addr.to_string())]),
    );
    let text = scrape_until(&running, "a count by the fallback", |text| {
        success(text, "count") == Some(1.0)
    })
    .await;
    for (tenant, specs) in [
        (None, &users),
        (Some(tenant_a.as_str()), &a_users),
        (Some(tenant_b.as_str()), &b_users),
    ] {
        assert_eq!(count(&text, tenant), Some(specs.len() as f64), "{text}");
        assert_eq!(method(&text, tenant, "batchget"), Some(1.0), "{text}");
    }
    assert_eq!(requests(&text, "accounts.query", "501"), 3.0, "{text}");
    assert_eq!(
        requests(&text, "tenants.list", "200"),
        0.0,
        "--tenants lists none"
    );
    let log = running.log().join("\n");
    assert!(
        log.contains("accounts:query failed; counting with accounts:batchGet instead")
            && log.contains("HTTP 501: UNIMPLEMENTED: NOT_IMPLEMENTED"),
        "{log}"
    );
}

#[tokio::test]
async fn more_than_a_page_of_tenants_is_listed() {
    let emulator = shared_emulator();
    let project = "demo-tenants";
    let mut tenants = Vec::new();
    for i in 0..1001 {
        tenants.push(emulator.create_tenant(project, &format!("t{i}")).await);
    }
    let now = now_ms();
    for (tenant, count) in [(&tenants[0], 3), (&tenants[1000], 2)] {
        let users: Vec<Value> = tenant_users("t", count)
            .iter()
            .map(|u| u.json(now))
            .collect();
        emulator.batch_create(project, Some(tenant), &users).await;
    }
    let host = emulator.host();
    let running = exporter(
        &[
            &format!("--project-id={project}"),
            "--scan.interval=0",
            "--refresh.interval=1h",
        ],
        &clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &host)]),
    );
    let text = scrape_until(&running, "the count of 1002 pools", |text| {
        success(text, "count") == Some(1.0)
    })
    .await;
    let listed = text
        .lines()
        .filter(|line| line.starts_with("firebase_user_count{tenant=\""))
        .count();
    assert_eq!(listed, 1001, "{text}");
    // Pages of at most 1000 tenants.
    assert_eq!(requests(&text, "tenants.list", "200"), 2.0, "{text}");
    let tenant_count =
        |tenant: &str| value(&text, &series("firebase_user_count", &[("tenant", tenant)]));
    assert_eq!(tenant_count(&tenants[0]), Some(3.0));
    assert_eq!(tenant_count(&tenants[1000]), Some(2.0));
    assert_eq!(tenant_count(&tenants[500]), Some(0.0));
    assert_eq!(value(&text, "firebase_user_count"), Some(0.0));
}

#[tokio::test]
async fn an_emulator_stopped_mid_refresh_keeps_the_last_values_until_it_returns() {
    let project = "demo-restart";
    let emulator = Emulator::start(project);
    let now = now_ms();
    let users: Vec<Value> = tenant_users("r", 1500)
        .iter()
        .map(|u| u.json(now))
        .collect();
    emulator.batch_create(project, None, &users).await;
    let running = exporter(
        &[
            &format!("--project-id={project}"),
            "--tenants=none",
            "--refresh.interval=300ms",
            "--refresh.timeout=2s",
            "--scan.interval=500ms",
            "--scan.timeout=3s",
        ],
        &clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &emulator.host())]),
    );
    let healthy = |text: &str, users: f64| {
        success(text, "count") == Some(1.0)
            && success(text, "scan") == Some(1.0)
            && value(text, "firebase_user_count") == Some(users)
            && value(text, "firebase_users_scanned") == Some(users)
    };
    scrape_until(&running, "the first count and scan", |text| {
        healthy(text, 1500.0)
    })
    .await;

    // Frozen: requests in flight and new ones hang until the deadline.
    let pid = Pid::from_raw(emulator.pid);
    kill(pid, Signal::SIGSTOP).unwrap();
    let text = scrape_until(&running, "both refreshes to fail", |text| {
        success(text, "count") == Some(0.0) && success(text, "scan") == Some(0.0)
    })
    .await;
    assert_eq!(value(&text, "firebase_user_count"), Some(1500.0), "{text}");
    assert_eq!(
        value(&text, "firebase_users_scanned"),
        Some(1500.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            &series(
                "firebase_exporter_refresh_error",
                &[("kind", "count"), ("reason", "timeout")]
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            &series(
                "firebase_exporter_refresh_failures_total",
                &[("kind", "count")]
            )
        )
        .unwrap()
            >= 1.0
    );
    let ready = http::get(running.addr(), "/readyz").await.unwrap();
    assert_eq!(ready.status, 200, "ready stays ready on failures");

    kill(pid, Signal::SIGCONT).unwrap();
    let text = scrape_until(&running, "recovery after SIGCONT", |text| {
        healthy(text, 1500.0)
    })
    .await;
    assert!(!text.contains("firebase_exporter_refresh_error{"), "{text}");

    // Gone: connections are refused.
    kill(pid, Signal::SIGKILL).unwrap();
    let text = scrape_until(&running, "failures while the emulator is down", |text| {
        success(text, "count") == Some(0.0)
            && value(
                text,
                &series(
                    "firebase_exporter_refresh_error",
                    &[("kind", "count"), ("reason", "unreachable")],
                ),
            ) == Some(1.0)
    })
    .await;
    assert_eq!(value(&text, "firebase_user_count"), Some(1500.0), "{text}");
    assert!(requests(&text, "accounts.query", "error") >= 1.0, "{text}");

    // Back, empty (the emulator keeps its state in memory), then refilled.
    let port = emulator.port;
    drop(emulator);
    let emulator = Emulator::start_on(port, project);
    let users: Vec<Value> = tenant_users("s", 700).iter().map(|u| u.json(now)).collect();
    emulator.batch_create(project, None, &users).await;
    scrape_until(&running, "the new counts", |text| healthy(text, 700.0)).await;
    let log = running.log().join("\n");
    assert!(log.contains("msg=\"Refresh failed\""), "{log}");
    assert!(
        log.contains("msg=\"Refresh succeeded again\" kind=count"),
        "{log}"
    );
    assert!(
        log.contains("msg=\"Refresh succeeded again\" kind=scan"),
        "{log}"
    );
}

/// What the token endpoint stand-in saw and issued.
#[derive(Default)]
struct TokenLog {
    /// Issued tokens and when they expire.
    issued: Vec<(String, Instant)>,
    refused: Vec<String>,
    /// Requests to the API with a token that was unknown or expired.
    bad_uses: Vec<String>,
    api_requests: usize,
}

/// Checks an RS256 JWT-bearer assertion: signature and claims.
fn check_assertion(jwt: &str, public_key: &[u8], token_uri: &str) -> Result<(), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("not three parts".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|e| e.to_string())?;
    let signature = decode(signature)?;
    let provider = rustls::crypto::ring::default_provider();
    let (_, verifiers) = provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == rustls::SignatureScheme::RSA_PKCS1_SHA256)
        .ok_or("no RS256 verifier")?;
    let signed = &jwt[..jwt.rfind('.').unwrap()];
    verifiers[0]
        .verify_signature(public_key, signed.as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    if header != json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-id"}) {
        return Err(format!("header {header}"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let iat = claims["iat"].as_i64().ok_or("no iat")?;
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    let ok = claims["iss"] == "exporter@demo-sa.iam.gserviceaccount.com"
        && claims["aud"] == token_uri
        && claims["scope"] == "https://www.googleapis.com/auth/identitytoolkit"
        && (iat - now).abs() < 60
        && exp > iat
        && exp - iat <= 3600
        && claims.get("sub").is_none();
    if ok {
        Ok(())
    } else {
        Err(format!("claims {claims}"))
    }
}

/// A token endpoint that checks assertions against `public_key` and issues
/// `ya29.` tokens living `lifetime`.
fn token_endpoint(
    public_key: Vec<u8>,
    lifetime: Duration,
    log: Arc<Mutex<TokenLog>>,
) -> (Stub, String) {
    let uri = Arc::new(Mutex::new(String::new()));
    let uri_in_stub = uri.clone();
    let stub = Stub::start(move |seen: Seen| {
        let log = log.clone();
        let public_key = public_key.clone();
        let token_uri = uri_in_stub.lock().unwrap().clone();
        async move {
            let form: BTreeMap<String, String> =
                form_urlencoded::parse(&seen.body).into_owned().collect();
            let checked = if seen.method != Method::POST || seen.uri != "/token" {
                Err(format!("{} {}", seen.method, seen.uri))
            } else if seen.header("content-type") != Some("application/x-www-form-urlencoded") {
                Err("not a form".to_owned())
            } else if form.get("grant_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                Err(format!("grant_type {:?}", form.get("grant_type")))
            } else {
                check_assertion(
                    form.get("assertion").map_or("", String::as_str),
                    &public_key,
                    &token_uri,
                )
            };
            let mut log = log.lock().unwrap();
            match checked {
                Ok(()) => {
                    let token = format!("ya29.sa-{}", log.issued.len());
                    log.issued.push((token.clone(), Instant::now() + lifetime));
                    json_reply(
                        200,
                        &json!({"access_token": token, "expires_in": lifetime.as_secs(), "token_type": "Bearer"}),
                    )
                }
                Err(why) => {
                    log.refused.push(why.clone());
                    json_reply(
                        400,
                        &json!({"error": "invalid_grant", "error_description": why}),
                    )
                }
            }
        }
    });
    let token_uri = format!("{}/token", stub.url());
    *uri.lock().unwrap() = token_uri.clone();
    (stub, token_uri)
}

fn service_account_key(
    dir: &std::path::Path,
    private_pem: &str,
    token_uri: &str,
) -> std::path::PathBuf {
    let key = json!({
        "type": "service_account",
        "project_id": "demo-sa",
        "private_key_id": "test-key-id",
        "private_key": private_pem,
        "client_email": "exporter@demo-sa.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    });
    let path = dir.join("key.json");
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

#[tokio::test]
async fn a_service_account_key_signs_its_token_requests_and_renews_tokens() {
    let emulator = shared_emulator();
    let now = now_ms();
    let users: Vec<Value> = tenant_users("k", 42).iter().map(|u| u.json(now)).collect();
    emulator.batch_create("demo-sa", None, &users).await;

    let (private_pem, public_key) = rsa_key();
    let log = Arc::new(Mutex::new(TokenLog::default()));
    let (_token_stub, token_uri) = token_endpoint(public_key, Duration::from_secs(3), log.clone());
    // In front of the emulator (which takes any ya29. token): only tokens
    // issued and not yet expired may be used.
    let upstream = emulator.addr();
    let proxy_log = log.clone();
    let proxy = Stub::start(move |seen: Seen| {
        let log = proxy_log.clone();
        async move {
            {
                let mut log = log.lock().unwrap();
                log.api_requests += 1;
                let used = seen.header("authorization").unwrap_or("").to_owned();
                let valid = log.issued.iter().any(|(token, expiry)| {
                    used == format!("Bearer {token}") && Instant::now() < *expiry
                });
                if !valid {
                    log.bad_uses.push(used);
                }
            }
            forward(upstream, &seen).await
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let key = service_account_key(dir.path(), &private_pem, &token_uri);
    let api_url = format!("{}/identitytoolkit.googleapis.com", proxy.url());
    let running = exporter(
        &[
            &format!("--api-url={api_url}"),
            "--tenants=none",
            "--refresh.interval=200ms",
            "--scan.interval=0",
            "--log.level=debug",
        ],
        &clean_env(&[("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap())]),
    );
    // The project comes from the key file.
    scrape_until(&running, "a count with a service-account token", |text| {
        value(text, "firebase_user_count") == Some(42.0)
    })
    .await;
    // Tokens live 3 s and are renewed at half their life: wait for two
    // renewals.
    let text = scrape_until(&running, "two token renewals", |text| {
        requests(text, "oauth2.token", "200") >= 3.0
    })
    .await;
    assert_eq!(success(&text, "count"), Some(1.0), "{text}");
    let log = log.lock().unwrap();
    assert!(log.refused.is_empty(), "refused: {:?}", log.refused);
    assert!(
        log.bad_uses.is_empty(),
        "bad tokens used: {:?}",
        log.bad_uses
    );
    assert!(
        log.api_requests > log.issued.len(),
        "tokens are cached: {} requests, {} tokens",
        log.api_requests,
        log.issued.len()
    );
    let logged = running.log().join("\n");
    assert!(
        logged.contains("credentials=\"GOOGLE_APPLICATION_CREDENTIALS="),
        "{logged}"
    );
    assert!(logged.contains("project=demo-sa"), "{logged}");
    assert_no_secrets(&logged);
    assert_no_secrets(&text);
}

#[tokio::test]
async fn a_key_the_token_endpoint_refuses_is_reported() {
    let (_, trusted_public) = rsa_key();
    let (other_private, _) = rsa_key();
    let log = Arc::new(Mutex::new(TokenLog::default()));
    let (_token_stub, token_uri) =
        token_endpoint(trusted_public, Duration::from_secs(3600), log.clone());
    let dir = tempfile::tempdir().unwrap();
    let key = service_account_key(dir.path(), &other_private, &token_uri);
    let mut running = exporter(
        &[
            "--api-url=http://127.0.0.1:9/unused",
            "--tenants=none",
            "--log.level=debug",
        ],
        &clean_env(&[("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap())]),
    );
    let text = scrape_until(&running, "the refused key to show", |text| {
        value(
            text,
            &series(
                "firebase_exporter_refresh_error",
                &[("kind", "count"), ("reason", "credentials")],
            ),
        ) == Some(1.0)
    })
    .await;
    assert_eq!(success(&text, "count"), Some(0.0), "{text}");
    assert!(requests(&text, "oauth2.token", "400") >= 1.0, "{text}");
    assert!(
        !text.contains("firebase_user_count{") && !text.contains("\nfirebase_user_count "),
        "{text}"
    );
    let ready = http::get(running.addr(), "/readyz").await.unwrap();
    assert_eq!(ready.status, 503, "not ready before a count succeeded");
    let line = running.wait_for_log(PATIENCE, "the error line", |lines| {
        lines.iter().find(|l| l.contains("invalid_grant")).cloned()
    });
    assert!(
        line.contains(
            "oauth2.token refused the credentials (HTTP 400): invalid_grant: Invalid JWT Signature."
        ),
        "{line}"
    );
    assert!(line.contains("reason=credentials"), "{line}");
    assert_no_secrets(&running.log().join("\n"));
}

#[tokio::test]
async fn gcloud_user_credentials_send_the_quota_project() {
    let emulator = shared_emulator();
    let now = now_ms();
    let users: Vec<Value> = tenant_users("q", 5).iter().map(|u| u.json(now)).collect();
    emulator.batch_create("demo-user", None, &users).await;

    let seen_forms = Arc::new(Mutex::new(Vec::<BTreeMap<String, String>>::new()));
    let forms = seen_forms.clone();
    let token_stub = Stub::start(move |seen: Seen| {
        let forms = forms.clone();
        async move {
            let form: BTreeMap<String, String> =
                form_urlencoded::parse(&seen.body).into_owned().collect();
            forms.lock().unwrap().push(form.clone());
            let expected = [
                ("client_id", "client-id.apps.googleusercontent.com"),
                ("client_secret", "the-client-secret"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "the-refresh-token"),
            ];
            if expected
                .iter()
                .all(|(k, v)| form.get(*k).map(String::as_str) == Some(*v))
            {
                json_reply(
                    200,
                    &json!({"access_token": "ya29.user", "expires_in": 3599}),
                )
            } else {
                json_reply(400, &json!({"error": "invalid_grant"}))
            }
        }
    });
    let headers = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let seen_headers = headers.clone();
    let upstream = emulator.addr();
    let proxy = Stub::start(move |seen: Seen| {
        let headers = seen_headers.clone();
        async move {
            headers.lock().unwrap().push((
                seen.header("x-goog-user-project").unwrap_or("").to_owned(),
                seen.header("authorization").unwrap_or("").to_owned(),
            ));
            forward(upstream, &seen).await
        }
    });
    // gcloud's well-known file, found through CLOUDSDK_CONFIG.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("application_default_credentials.json"),
        json!({
            "type": "authorized_user",
            "client_id": "client-id.apps.googleusercontent.com",
            "client_secret": "the-client-secret",
            "refresh_token": "the-refresh-token",
            "quota_project_id": "billing-project",
            "token_uri": format!("{}/token", token_stub.url()),
        })
        .to_string(),
    )
    .unwrap();
    let running = exporter(
        &[
            &format!("--api-url={}/identitytoolkit.googleapis.com", proxy.url()),
            "--tenants=none",
            "--scan.interval=0",
            "--refresh.interval=1h",
            "--log.level=debug",
        ],
        &clean_env(&[
            ("CLOUDSDK_CONFIG", config.path().to_str().unwrap()),
            ("GOOGLE_CLOUD_PROJECT", "demo-user"),
        ]),
    );
    let text = scrape_until(&running, "a count with user credentials", |text| {
        value(text, "firebase_user_count") == Some(5.0)
    })
    .await;
    assert_eq!(requests(&text, "oauth2.token", "200"), 1.0, "{text}");
    let headers = headers.lock().unwrap();
    assert!(!headers.is_empty());
    for (quota, authorization) in headers.iter() {
        assert_eq!(quota, "billing-project");
        assert_eq!(authorization, "Bearer ya29.user");
    }
    let logged = running.log().join("\n");
    for secret in ["the-client-secret", "the-refresh-token", "ya29.user"] {
        assert!(
            !logged.contains(secret) && !text.contains(secret),
            "{logged}"
        );
    }
}

#[tokio::test]
async fn the_metadata_server_gives_the_project_and_tokens() {
    let emulator = shared_emulator();
    let now = now_ms();
    let users: Vec<Value> = tenant_users("m", 9).iter().map(|u| u.json(now)).collect();
    emulator.batch_create("demo-metadata", None, &users).await;
    let metadata = Stub::start(|seen: Seen| async move {
        if seen.header("metadata-flavor") != Some("Google") {
            return json_reply(403, &json!("Missing Metadata-Flavor:Google header."));
        }
        let token_path = "/computeMetadata/v1/instance/service-accounts/default/token";
        let scopes = "scopes=https://www.googleapis.com/auth/identitytoolkit";
        match seen.uri.as_str() {
            "/computeMetadata/v1/project/project-id" => ::http::Response::builder()
                .header("content-type", "application/text")
                .body(http_body_util::Full::new(bytes::Bytes::from(
                    "demo-metadata",
                )))
                .unwrap(),
            uri if uri == format!("{token_path}?{scopes}") => json_reply(
                200,
                &json!({"access_token": "ya29.metadata", "expires_in": 3599, "token_type": "Bearer"}),
            ),
            _ => json_reply(404, &json!("Not Found")),
        }
    });
    let running = exporter(
        &[
            &format!("--api-url={}", emulator.api_url()),
            "--tenants=none",
            "--refresh.interval=1h",
            "--log.level=debug",
        ],
        &clean_env(&[("GCE_METADATA_HOST", &metadata.addr.to_string())]),
    );
    let text = scrape_until(&running, "a count with metadata credentials", |text| {
        value(text, "firebase_user_count") == Some(9.0) && success(text, "scan") == Some(1.0)
    })
    .await;
    assert_eq!(value(&text, "firebase_users_scanned"), Some(9.0), "{text}");
    assert_eq!(requests(&text, "metadata.project", "200"), 1.0, "{text}");
    assert_eq!(requests(&text, "metadata.token", "200"), 1.0, "{text}");
    let logged = running.log().join("\n");
    assert!(
        logged.contains("Project id from the metadata server"),
        "{logged}"
    );
    assert_no_secrets(&logged);
}

/// Runs the exporter, which must exit at once; its exit code and the one
/// line it printed.
fn fails_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = std::process::Command::new(e2e::binary::path("firebase-exporter"));
    command
        .arg("--web.listen-address=127.0.0.1:0")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (key, value) in clean_env(env) {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let status = wait::until(PATIENCE, "the exporter to exit", || {
        child.try_wait().unwrap()
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // Besides the start-up log line, one line.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.contains("msg=\"Starting firebase-exporter\""))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    (status.code().unwrap_or(-1), lines[0].to_owned())
}

#[test]
fn bad_endpoints_are_one_line_errors() {
    for (args, env, named) in [
        (
            &["--api-url=identitytoolkit.googleapis.com"][..],
            &[("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")][..],
            "--api-url=",
        ),
        (
            &["--api-url=ftp://127.0.0.1:9/x"],
            &[("GOOGLE_CLOUD_PROJECT", "demo-x")],
            "--api-url=",
        ),
        (
            &[],
            &[("FIREBASE_AUTH_EMULATOR_HOST", "http://127.0.0.1:9099")],
            "FIREBASE_AUTH_EMULATOR_HOST=",
        ),
        (
            &[],
            &[("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1")],
            "FIREBASE_AUTH_EMULATOR_HOST=",
        ),
    ] {
        let (code, line) = fails_with(args, env);
        assert_eq!(code, 1, "{args:?} {env:?}: {line}");
        assert!(
            line.starts_with(&format!("firebase-exporter: {named}")),
            "{line}"
        );
    }
}

#[test]
fn bad_credentials_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let key_text = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n";
    let cases = [
        (
            dir.path().join("missing.json").to_str().unwrap().to_owned(),
            "cannot read GOOGLE_APPLICATION_CREDENTIALS",
        ),
        (write("garbage.json", "{ not json"), "is not a JSON object"),
        (
            write(
                "bad-key.json",
                &json!({"type": "service_account", "private_key": key_text}).to_string(),
            ),
            "private_key is not a PKCS#8 PEM RSA key",
        ),
        (
            write(
                "no-key.json",
                &json!({"type": "service_account", "client_email": "a@b.c"}).to_string(),
            ),
            "field \"private_key\" is missing",
        ),
        (
            write(
                "federation.json",
                &json!({"type": "external_account"}).to_string(),
            ),
            "credentials of type \"external_account\" are not supported",
        ),
        (
            write(
                "user.json",
                &json!({"type": "authorized_user", "client_id": "x", "refresh_token": "y"})
                    .to_string(),
            ),
            "field \"client_secret\" is missing",
        ),
    ];
    for (path, message) in cases {
        let (code, line) = fails_with(&[], &[("GOOGLE_APPLICATION_CREDENTIALS", &path)]);
        assert_eq!(code, 1, "{path}: {line}");
        assert!(line.starts_with("firebase-exporter: "), "{line}");
        assert!(line.contains(message), "{path}: {line}");
        assert!(line.contains(&path), "the file is named: {line}");
        assert!(!line.contains("TOPSECRET"), "{line}");
    }
    // A valid key without a project id, and no other source of one.
    let (private_pem, _) = rsa_key();
    let key = write(
        "no-project.json",
        &json!({"type": "service_account", "private_key": private_pem, "client_email": "a@b.c"})
            .to_string(),
    );
    let (code, line) = fails_with(&[], &[("GOOGLE_APPLICATION_CREDENTIALS", &key)]);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("no project id: set --project-id"), "{line}");
    let (code, line) = fails_with(
        &["--refresh.interval=0s"],
        &[("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")],
    );
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("--refresh.interval"), "{line}");
}

/// A stand-in for Identity Toolkit replying with what the emulator never
/// does: 403 for an unknown project or a missing permission, 429 twice
/// then success, 500 always.
fn failing_api() -> (Stub, Arc<Mutex<usize>>) {
    let busy_calls = Arc::new(Mutex::new(0usize));
    let calls = busy_calls.clone();
    let stub = Stub::start(move |seen: Seen| {
        let calls = calls.clone();
        async move {
            let error = |code: u16, status: &str, message: &str| {
                json_reply(
                    code,
                    &json!({"error": {"code": code, "message": message, "status": status}}),
                )
            };
            let path = seen
                .uri
                .strip_prefix("/identitytoolkit.googleapis.com")
                .unwrap_or(&seen.uri);
            if path.starts_with("/v2/projects/right-project/tenants") {
                return error(
                    403,
                    "PERMISSION_DENIED",
                    "Missing permission identitytoolkit.tenants.list",
                );
            }
            if path.starts_with("/v1/projects/right-project/") {
                return json_reply(200, &json!({"recordsCount": "5"}));
            }
            if path.starts_with("/v1/projects/busy/") {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                if *calls <= 2 {
                    return error(429, "RESOURCE_EXHAUSTED", "Quota exceeded");
                }
                return json_reply(200, &json!({"recordsCount": "77"}));
            }
            if path.starts_with("/v1/projects/broken/") {
                return error(500, "INTERNAL", "Internal error encountered.");
            }
            let project = path.split('/').nth(3).unwrap_or("");
            error(
                403,
                "PERMISSION_DENIED",
                &format!("Permission denied on resource project {project}."),
            )
        }
    });
    (stub, busy_calls)
}

#[tokio::test]
async fn refused_and_failing_api_calls_show_in_logs_and_metrics() {
    let (api, busy_calls) = failing_api();
    let host = api.addr.to_string();
    let env = clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &host)]);
    let start = |project: &str, extra: &[&str]| {
        let mut args = vec![
            format!("--project-id={project}"),
            "--scan.interval=0".to_owned(),
            "--refresh.timeout=3s".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        exporter(&args, &env)
    };
    let error_of = |text: &str, reason: &str| {
        value(
            text,
            &series(
                "firebase_exporter_refresh_error",
                &[("kind", "count"), ("reason", reason)],
            ),
        )
    };

    // A wrong project: Google answers 403 for projects one cannot see.
    let mut wrong = start(
        "wrong-project",
        &["--tenants=none", "--refresh.interval=1s"],
    );
    let text = scrape_until(&wrong, "the wrong project to fail", |text| {
        error_of(text, "permission_denied") == Some(1.0)
    })
    .await;
    assert_eq!(success(&text, "count"), Some(0.0));
    assert!(requests(&text, "accounts.query", "403") >= 1.0, "{text}");
    assert!(
        requests(&text, "accounts.batchGet", "403") >= 1.0,
        "the fallback was tried: {text}"
    );
    let line = wrong.wait_for_log(PATIENCE, "the error line", |lines| {
        lines
            .iter()
            .find(|l| l.contains("msg=\"Refresh failed\""))
            .cloned()
    });
    assert!(
        line.contains(
            "HTTP 403: PERMISSION_DENIED: Permission denied on resource project wrong-project."
        ),
        "{line}"
    );
    assert_eq!(
        http::get(wrong.addr(), "/readyz").await.unwrap().status,
        503
    );

    // Tenants cannot be listed: the project's own users are still counted.
    let mut partial = start("right-project", &["--refresh.interval=1s"]);
    let text = scrape_until(&partial, "the tenants error", |text| {
        error_of(text, "permission_denied") == Some(1.0)
            && value(text, "firebase_user_count") == Some(5.0)
    })
    .await;
    assert_eq!(success(&text, "count"), Some(0.0), "{text}");
    // The project's own count is there: ready, although tenants fail.
    wait::until_async(PATIENCE, "/readyz to answer 200", || async {
        (http::get(partial.addr(), "/readyz").await.ok()?.status == 200).then_some(())
    })
    .await;
    partial.wait_for_log(PATIENCE, "the tenants hint", |lines| {
        lines
            .iter()
            .find(|l| l.contains("Cannot list the tenants") && l.contains("--tenants=none"))
            .cloned()
    });

    // Rate limited twice, then answered: retries within one refresh.
    let busy = start("busy", &["--tenants=none", "--refresh.interval=1h"]);
    let text = scrape_until(&busy, "the count after retries", |text| {
        value(text, "firebase_user_count") == Some(77.0)
    })
    .await;
    assert_eq!(success(&text, "count"), Some(1.0), "{text}");
    assert_eq!(requests(&text, "accounts.query", "429"), 2.0, "{text}");
    assert_eq!(requests(&text, "accounts.query", "200"), 1.0, "{text}");
    assert_eq!(*busy_calls.lock().unwrap(), 3);

    // Always failing: retried until the deadline, then reported.
    let mut broken = start("broken", &["--tenants=none", "--refresh.interval=1s"]);
    let text = scrape_until(&broken, "the server errors", |text| {
        error_of(text, "server_error") == Some(1.0)
    })
    .await;
    assert_eq!(success(&text, "count"), Some(0.0));
    assert!(
        requests(&text, "accounts.query", "500") >= 2.0,
        "retried: {text}"
    );
    let line = broken.wait_for_log(PATIENCE, "the error line", |lines| {
        lines
            .iter()
            .find(|l| l.contains("msg=\"Refresh failed\""))
            .cloned()
    });
    assert!(
        line.contains("HTTP 500: INTERNAL: Internal error encountered."),
        "{line}"
    );
    assert!(line.contains("reason=server_error"), "{line}");
    assert_eq!(
        requests(&text, "accounts.batchGet", "500") + requests(&text, "accounts.batchGet", "200"),
        0.0,
        "no paging fallback while the API fails: {text}"
    );
}

#[tokio::test]
async fn a_pool_of_exactly_1000_users_takes_two_pages() {
    let emulator = shared_emulator();
    let project = "demo-thousand";
    let now = now_ms();
    let users: Vec<Value> = tenant_users("e", 1000)
        .iter()
        .map(|u| u.json(now))
        .collect();
    emulator.batch_create(project, None, &users).await;
    let running = exporter(
        &[
            &format!("--project-id={project}"),
            "--tenants=none",
            "--count.method=batchget",
            "--scan.interval=0",
            "--refresh.interval=1h",
        ],
        &clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &emulator.host())]),
    );
    let text = scrape_until(&running, "the count of 1000 users", |text| {
        success(text, "count") == Some(1.0)
    })
    .await;
    assert_eq!(value(&text, "firebase_user_count"), Some(1000.0), "{text}");
    // A full page still carries a token; the next page is empty.
    assert_eq!(requests(&text, "accounts.batchGet", "200"), 2.0, "{text}");
}

/// A reply with a JSON body and extra headers.
fn reply_with(status: u16, headers: &[(&str, &str)], body: &str) -> e2e::firebase::Reply {
    let mut reply = ::http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        reply = reply.header(*name, *value);
    }
    reply
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap()
}

#[tokio::test]
async fn malformed_counts_fall_back_and_broken_pages_fail() {
    // The project counts normally; each tenant's accounts:query reply is
    // wrong in its own way; accounts:batchGet lists two users, except for
    // the tenant whose page is cut short.
    let api = Stub::start(|seen: Seen| async move {
        let path = seen
            .uri
            .strip_prefix("/identitytoolkit.googleapis.com/v1/projects/demo-malformed")
            .unwrap_or("");
        let tenant = path
            .strip_prefix("/tenants/")
            .and_then(|rest| rest.split('/').next());
        let two_users =
            r#"{"users":[{"localId":"a","email":"secret@example.com"},{"localId":"b"}]}"#;
        if path.contains("accounts:query") {
            let body = match tenant {
                None => r#"{"recordsCount":"3"}"#,
                Some("letters") => r#"{"recordsCount":"abc"}"#,
                Some("missing") => r#"{}"#,
                Some("listed") => {
                    r#"{"recordsCount":"1","userInfo":[{"localId":"a","email":"secret@example.com"}]}"#
                }
                Some(_) => r#"{"recordsCount":"secret@example.com"#,
            };
            return reply_with(200, &[], body);
        }
        if path.contains("accounts:batchGet") {
            if tenant == Some("truncated") {
                return reply_with(200, &[], r#"{"users":[{"localId":"a","email":"secret@exa"#);
            }
            return reply_with(200, &[], two_users);
        }
        reply_with(404, &[], r#"{"error":{"code":404,"status":"NOT_FOUND"}}"#)
    });
    let mut running = exporter(
        &[
            "--project-id=demo-malformed",
            "--tenants=letters,missing,listed,truncated",
            "--scan.interval=0",
            "--refresh.interval=1h",
            "--log.level=debug",
        ],
        &clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &api.addr.to_string())]),
    );
    let text = scrape_until(&running, "the count to finish", |text| {
        refreshed(text, "count")
    })
    .await;
    let count = |tenant: &str| value(&text, &series("firebase_user_count", &[("tenant", tenant)]));
    assert_eq!(value(&text, "firebase_user_count"), Some(3.0), "{text}");
    for tenant in ["letters", "missing", "listed"] {
        assert_eq!(count(tenant), Some(2.0), "{tenant}: {text}");
        let batchget = series(
            "firebase_user_count_method",
            &[("method", "batchget"), ("tenant", tenant)],
        );
        assert_eq!(value(&text, &batchget), Some(1.0), "{text}");
    }
    assert_eq!(count("truncated"), None, "{text}");
    assert_eq!(success(&text, "count"), Some(0.0), "{text}");
    assert_eq!(
        value(
            &text,
            &series(
                "firebase_exporter_refresh_error",
                &[("kind", "count"), ("reason", "bad_response")]
            )
        ),
        Some(1.0),
        "{text}"
    );
    let line = running.wait_for_log(PATIENCE, "the error line", |lines| {
        lines
            .iter()
            .find(|l| l.contains("msg=\"Refresh failed\""))
            .cloned()
    });
    assert!(line.contains("JSON cut short at line 1 column"), "{line}");
    assert_eq!(
        http::get(running.addr(), "/readyz").await.unwrap().status,
        200,
        "the project was counted"
    );
    let logged = running.log().join("\n");
    assert!(
        logged.contains("recordsCount is not a whole number")
            && logged.contains("the reply has no recordsCount")
            && logged.contains("the reply lists users instead of counting them"),
        "{logged}"
    );
    assert_no_secrets(&logged);
    assert_no_secrets(&text);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let seen_at = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let times = seen_at.clone();
    let api = Stub::start(move |seen: Seen| {
        let times = times.clone();
        async move {
            let busy = r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#;
            if seen.uri.contains("/projects/demo-wait-long/") {
                return reply_with(429, &[("retry-after", "30")], busy);
            }
            let mut times = times.lock().unwrap();
            times.push(Instant::now());
            if times.len() == 1 {
                return reply_with(429, &[("retry-after", "1")], busy);
            }
            reply_with(200, &[], r#"{"recordsCount":"4"}"#)
        }
    });
    let host = api.addr.to_string();
    let env = clean_env(&[("FIREBASE_AUTH_EMULATOR_HOST", &host)]);
    let start = |project: &str| {
        exporter(
            &[
                &format!("--project-id={project}"),
                "--tenants=none",
                "--scan.interval=0",
                "--refresh.interval=1h",
                "--refresh.timeout=5s",
            ],
            &env,
        )
    };

    // A wait that does not fit before the deadline: no second request
    // (a backoff of its own would have made one within 0.25 s).
    let long = start("demo-wait-long");
    let text = scrape_until(&long, "the count to fail", |text| refreshed(text, "count")).await;
    assert_eq!(requests(&text, "accounts.query", "429"), 1.0, "{text}");
    assert!(text.contains("reason=\"rate_limited\""), "{text}");

    // A wait that fits: the next request comes after it.
    let short = start("demo-wait-short");
    let text = scrape_until(&short, "the count after the wait", |text| {
        success(text, "count") == Some(1.0)
    })
    .await;
    assert_eq!(value(&text, "firebase_user_count"), Some(4.0), "{text}");
    let times = seen_at.lock().unwrap();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_secs(1),
        "waited as asked"
    );
}

#[tokio::test]
async fn a_refused_token_is_fetched_anew() {
    let issued = Arc::new(Mutex::new(0usize));
    let counter = issued.clone();
    let metadata = Stub::start(move |_: Seen| {
        let counter = counter.clone();
        async move {
            let mut issued = counter.lock().unwrap();
            *issued += 1;
            json_reply(
                200,
                &json!({"access_token": format!("ya29.m-{issued}"), "expires_in": 3599}),
            )
        }
    });
    // The first token is refused (revoked, say); any later one works.
    let api = Stub::start(|seen: Seen| async move {
        if seen.header("authorization") == Some("Bearer ya29.m-1") {
            return json_reply(
                401,
                &json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
            );
        }
        json_reply(200, &json!({"recordsCount": "6"}))
    });
    let running = exporter(
        &[
            &format!("--api-url={}", api.url()),
            "--project-id=demo-refetch",
            "--tenants=none",
            "--scan.interval=0",
            "--refresh.interval=1h",
            "--log.level=debug",
        ],
        &clean_env(&[("GCE_METADATA_HOST", &metadata.addr.to_string())]),
    );
    let text = scrape_until(&running, "a count with the second token", |text| {
        value(text, "firebase_user_count") == Some(6.0)
    })
    .await;
    assert_eq!(success(&text, "count"), Some(1.0), "{text}");
    assert_eq!(requests(&text, "accounts.query", "401"), 1.0, "{text}");
    assert_eq!(requests(&text, "accounts.query", "200"), 1.0, "{text}");
    assert_eq!(requests(&text, "metadata.token", "200"), 2.0, "{text}");
    assert_eq!(*issued.lock().unwrap(), 2);
    assert_no_secrets(&running.log().join("\n"));
}
