//! Benchmark: firebase-exporter (release build) against the monitoring
//! guide's approach done right (firebase-admin for Node, paginated
//! `listUsers`), in the same run, against one Firebase Auth emulator.
//!
//! Imports USERS users (default 100,000) with `accounts:batchCreate`, 1000
//! per request, first a tenth of them and then the rest, so the exporter's
//! peak memory can be compared at both sizes. Measures our count (one
//! `accounts:query`), our full breakdown scan (`accounts:batchGet` pages),
//! and Node's paginated `listUsers` loop (counting, and counting with the
//! same breakdowns), RUNS times each; medians are printed.
//!
//! Usage: `cargo run --release -p e2e --bin firebase-bench -- [USERS] [RUNS]`
//! (needs scripts/test's firebase-tools and firebase-admin under .tools/).
//! Prints Markdown for BENCHMARKS.md.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::bench::{median, usage};
use e2e::binary::{self, Profile};
use e2e::firebase::{Emulator, firebase_admin_modules};
use e2e::http;
use e2e::process::Running;
use serde_json::{Value, json};

const PROJECT: &str = "demo-bench";

/// A realistic mix: most users sign in with a password, some with Google
/// or a phone, some anonymously; created and last seen over two years.
fn user(i: usize, now_ms: i64) -> Value {
    let day = 86_400_000i64;
    let created = now_ms - (i as i64 * 7919 % 730) * day;
    let mut user = json!({
        "localId": format!("user{i:07}"),
        "createdAt": created.to_string(),
        "disabled": i % 50 == 0,
    });
    match i % 10 {
        0..=5 => {
            user["email"] = json!(format!("user{i}@example.com"));
            user["emailVerified"] = json!(i % 3 != 0);
            user["passwordHash"] = json!("c2VjcmV0LWhhc2gtYnl0ZXMtMzItbG9uZy4uLi4=");
            user["salt"] = json!("c2FsdC1ieXRlcw==");
            user["displayName"] = json!(format!("User Number {i}"));
        }
        6 | 7 => {
            user["email"] = json!(format!("user{i}@gmail.example"));
            user["emailVerified"] = json!(true);
            user["providerUserInfo"] = json!([{
                "providerId": "google.com",
                "rawId": format!("10{i:019}"),
                "email": format!("user{i}@gmail.example"),
                "displayName": format!("User Number {i}"),
                "photoUrl": format!("https://lh3.example/a/{i}"),
            }]);
        }
        8 => user["phoneNumber"] = json!(format!("+1555{i:07}")),
        _ => {}
    }
    if i % 4 != 0 {
        let seen = now_ms - (i as i64 * 104_729 % 60) * day;
        user["lastLoginAt"] = json!(seen.max(created).to_string());
    }
    user
}

async fn import(emulator: &Emulator, range: std::ops::Range<usize>) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let users: Vec<Value> = range.map(|i| user(i, now)).collect();
    let started = Instant::now();
    emulator.batch_create(PROJECT, None, &users).await;
    started.elapsed()
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(running: &Running) -> String {
    http::get(running.addr(), "/metrics")
        .await
        .expect("scrape")
        .text()
}

/// Starts our exporter and collects the duration of `runs` refreshes of
/// `kind` from its own metrics; returns them and the process.
async fn ours(
    exporter: &Path,
    emulator: &Emulator,
    kind: &str,
    runs: usize,
) -> (Vec<Duration>, Running) {
    let args: &[&str] = if kind == "count" {
        &["--refresh.interval=100ms", "--scan.interval=0"]
    } else {
        &[
            "--refresh.interval=1h",
            "--scan.interval=10ms",
            "--scan.timeout=5m",
        ]
    };
    let mut all = vec![
        "--web.listen-address=127.0.0.1:0".to_owned(),
        format!("--project-id={PROJECT}"),
        "--tenants=none".to_owned(),
    ];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let host = emulator.host();
    let running = Running::start(
        exporter,
        &all,
        &[
            ("FIREBASE_AUTH_EMULATOR_HOST", &host),
            ("GOOGLE_APPLICATION_CREDENTIALS", ""),
        ],
        1,
    );
    let runs_series = format!("firebase_exporter_refreshes_total{{kind=\"{kind}\"}}");
    let duration_series = format!("firebase_exporter_refresh_duration_seconds{{kind=\"{kind}\"}}");
    let success_series = format!("firebase_exporter_refresh_success{{kind=\"{kind}\"}}");
    let mut durations = Vec::new();
    let mut seen_run = 0.0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while durations.len() < runs {
        assert!(
            Instant::now() < deadline,
            "the exporter's refreshes took too long"
        );
        let text = scrape(&running).await;
        let run = value(&text, &runs_series).unwrap_or(0.0);
        if run > seen_run {
            assert_eq!(value(&text, &success_series), Some(1.0), "{text}");
            // A scrape may see a run's end and miss the one before; every
            // sample is a whole refresh all the same.
            seen_run = run;
            durations.push(Duration::from_secs_f64(
                value(&text, &duration_series).unwrap(),
            ));
        }
        // Slow enough that polling adds no load worth measuring; the
        // duration read is the exporter's own, so missed runs cost nothing.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (durations, running)
}

/// The Node baseline: firebase-admin's paginated listUsers, as the guide
/// should have written it, `runs` times; also the guide's unpaginated call.
fn node(emulator: &Emulator, runs: usize) -> Value {
    let script = r#"
const admin = require('firebase-admin');
admin.initializeApp({ projectId: process.env.PROJECT });
const auth = admin.auth();
const runs = Number(process.env.RUNS);
const DAY_MS = 86400000, WINDOWS = [1, 7, 30];
async function page(breakdowns) {
  let token, users = 0, disabled = 0, verified = 0, calls = 0;
  const providers = {}, active = [0, 0, 0], created = [0, 0, 0];
  const now = Date.now();
  do {
    const result = await auth.listUsers(1000, token);
    calls++;
    users += result.users.length;
    if (breakdowns) {
      for (const u of result.users) {
        if (u.disabled) disabled++;
        if (u.emailVerified) verified++;
        const ids = u.providerData.length ? u.providerData.map(p => p.providerId) : ['anonymous'];
        for (const id of new Set(ids)) providers[id] = (providers[id] || 0) + 1;
        // The exporter's windows: last sign-in or token refresh, and creation.
        const time = (text) => (text ? Date.parse(text) : NaN);
        const signIn = time(u.metadata.lastSignInTime), refresh = time(u.metadata.lastRefreshTime);
        const lastActive = Math.max(isNaN(signIn) ? -Infinity : signIn, isNaN(refresh) ? -Infinity : refresh);
        const creation = time(u.metadata.creationTime);
        WINDOWS.forEach((days, i) => {
          const since = now - days * DAY_MS;
          if (lastActive >= since) active[i]++;
          if (creation >= since) created[i]++;
        });
      }
    }
    token = result.pageToken;
  } while (token);
  return { users, calls, disabled, verified, providers, active, created };
}
(async () => {
  let t = performance.now();
  const single = await auth.listUsers();
  const guide = { ms: performance.now() - t, users: single.users.length };
  const count = [], scan = [];
  let last;
  for (let i = 0; i < runs; i++) {
    t = performance.now(); last = await page(false); count.push(performance.now() - t);
    t = performance.now(); last = await page(true); scan.push(performance.now() - t);
  }
  const maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({ guide, count, scan, last, maxRssKiB }));
})().catch(e => { console.error(e); process.exit(1); });
"#;
    let output = Command::new(e2e::tools::path("node"))
        .args(["-e", script])
        .env("NODE_PATH", firebase_admin_modules())
        .env("FIREBASE_AUTH_EMULATOR_HOST", emulator.host())
        .env("PROJECT", PROJECT)
        .env("RUNS", runs.to_string())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

fn node_ms(values: &Value) -> Duration {
    let mut durations: Vec<Duration> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|ms| Duration::from_secs_f64(ms.as_f64().unwrap() / 1000.0))
        .collect();
    median(&mut durations)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map_or(100_000, |n| n.parse().expect("USERS is a number"));
    let runs: usize = args
        .next()
        .map_or(5, |n| n.parse().expect("RUNS is a number"));
    let exporter = binary::build("firebase-exporter", Profile::Release);

    let started = Instant::now();
    let emulator = Emulator::start(PROJECT);
    let startup = started.elapsed();

    // A tenth first: the exporter's peak RSS while scanning at both sizes.
    let first = total / 10;
    let first_import = import(&emulator, 0..first).await;
    let (mut small_scans, small) = ours(&exporter, &emulator, "scan", runs).await;
    let small_rss = usage(small.pid()).peak_rss_bytes;
    drop(small);
    let rest_import = import(&emulator, first..total).await;
    assert_eq!(emulator.count(PROJECT, None).await, total as u64);

    let (mut counts, counter) = ours(&exporter, &emulator, "count", runs * 4).await;
    let count_rss = usage(counter.pid()).peak_rss_bytes;
    let count_text = scrape(&counter).await;
    drop(counter);
    let (mut scans, scanner) = ours(&exporter, &emulator, "scan", runs).await;
    let scan_usage = usage(scanner.pid());
    let text = scrape(&scanner).await;
    drop(scanner);
    assert_eq!(
        value(&text, "firebase_users_scanned"),
        Some(total as f64),
        "{text}"
    );
    let node = node(&emulator, runs);
    assert_eq!(node["last"]["users"].as_u64(), Some(total as u64), "{node}");

    // Requests per refresh, as the exporter counted them.
    let per_refresh = |text: &str, kind: &str, endpoint: &str| {
        let requests = value(
            text,
            &format!(
                "firebase_exporter_api_requests_total{{code=\"200\",endpoint=\"{endpoint}\"}}"
            ),
        )
        .unwrap_or(0.0);
        let refreshes = value(
            text,
            &format!("firebase_exporter_refreshes_total{{kind=\"{kind}\"}}"),
        )
        .unwrap_or(1.0);
        requests / refreshes
    };
    let count_requests = per_refresh(&count_text, "count", "accounts.query");
    let scan_requests = per_refresh(&text, "scan", "accounts.batchGet");
    let count_median = median(&mut counts);
    let import_total = first_import + rest_import;
    println!(
        "Emulator (firebase-tools 15.34.2) ready in {:.1} s; {total} users imported with \
         accounts:batchCreate, 1000 per request, in {:.2} s ({:.0} users/s).\n",
        startup.as_secs_f64(),
        import_total.as_secs_f64(),
        total as f64 / import_total.as_secs_f64()
    );
    println!(
        "Median of {runs} runs ({} for our count), {total} users:\n",
        runs * 4
    );
    println!("| task | firebase-exporter (Rust) | firebase-admin 13.10.0 (Node 20) |");
    println!("|---|---:|---:|");
    println!(
        "| count the users | {} ({count_requests:.0} request(s) per count: accounts:query) | {} (paginated listUsers, {} requests) |",
        ms(count_median),
        ms(node_ms(&node["count"])),
        node["last"]["calls"]
    );
    println!(
        "| full scan with breakdowns | {} ({scan_requests:.0} requests per scan: accounts:batchGet) | {} (paginated listUsers, same breakdowns) |",
        ms(median(&mut scans)),
        ms(node_ms(&node["scan"]))
    );
    println!(
        "| the guide's `listUsers()` (no paging) | — | {:.1} ms, {} users (undercount) |",
        node["guide"]["ms"].as_f64().unwrap(),
        node["guide"]["users"]
    );
    println!(
        "| peak RSS | {:.1} MiB (count only: {:.1} MiB) | {:.1} MiB |",
        mib(scan_usage.peak_rss_bytes),
        mib(count_rss),
        node["maxRssKiB"].as_f64().unwrap() / 1024.0
    );
    println!(
        "\nOur peak RSS while scanning {first} users: {:.1} MiB (scan {}); {total} users: {:.1} MiB.",
        mib(small_rss),
        ms(median(&mut small_scans)),
        mib(scan_usage.peak_rss_bytes)
    );
    let scans_run = value(&text, "firebase_exporter_refreshes_total{kind=\"scan\"}").unwrap_or(1.0);
    println!(
        "Our exporter's CPU time per scan of {total} users: {:.0} ms ({:.2} s over {scans_run} scans, \
         start-up included); the rest of the scan's wall time is the emulator's.",
        scan_usage.cpu_seconds / scans_run * 1000.0,
        scan_usage.cpu_seconds,
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let peak_mib = mib(scan_usage.peak_rss_bytes.max(count_rss));
    println!(
        "\nTargets: one request per count, at most 50 ms: {} ({count_requests:.0} request(s), {}); \
         peak RSS at most 20 MiB: {} ({peak_mib:.1} MiB).",
        verdict(count_requests == 1.0 && count_median <= Duration::from_millis(50)),
        ms(count_median),
        verdict(peak_mib <= 20.0),
    );
}
