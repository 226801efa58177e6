//! The background refreshes: user counts every `--refresh.interval`, the
//! breakdown scan every `--scan.interval`, each with its own deadline.
//! Scrapes only read what these stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use exporter_kit::Readiness;
use tokio::time::Instant;

use crate::api::{Api, Pool};
use crate::client::Endpoint;
use crate::error::ApiError;
use crate::state::{Kind, Method, Outcome, PoolCount, State};

/// Which tenants to count besides the project's own users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenants {
    /// Every tenant, listed anew at each refresh.
    All,
    /// None: the project's own users only.
    None,
    /// These tenants.
    Listed(Vec<String>),
}

/// How to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CountMethod {
    /// One `accounts:query` request per pool; paging `accounts:batchGet`
    /// if it fails or is refused.
    Query,
    /// Always page through `accounts:batchGet` (one request per 1000 users).
    Batchget,
}

/// The refresh settings from the flags.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tenants: Tenants,
    pub count_method: CountMethod,
    pub refresh_interval: Duration,
    pub refresh_timeout: Duration,
    /// `None`: no scan.
    pub scan_interval: Option<Duration>,
    pub scan_timeout: Duration,
}

/// Runs both refresh loops forever.
pub async fn run(api: Arc<Api>, settings: Settings, state: Arc<State>, readiness: Readiness) {
    let counts = count_loop(&api, &settings, &state, &readiness);
    let scans = async {
        if let Some(interval) = settings.scan_interval {
            scan_loop(&api, &settings, &state, interval).await;
        }
    };
    tokio::join!(counts, scans);
}

async fn count_loop(api: &Api, settings: &Settings, state: &State, readiness: &Readiness) {
    let mut failing = false;
    loop {
        let started = Instant::now();
        let deadline = started + settings.refresh_timeout;
        let previous = state.methods();
        let outcome = bounded(
            deadline,
            Endpoint::AccountsQuery,
            count_once(api, settings, &previous, deadline),
        )
        .await;
        let took = started.elapsed();
        let ok = state.finish_count(outcome, took, SystemTime::now());
        report(Kind::Count, ok, &mut failing, took);
        if ok {
            readiness.set_ready();
        }
        tokio::time::sleep_until(started + settings.refresh_interval).await;
    }
}

async fn scan_loop(api: &Api, settings: &Settings, state: &State, interval: Duration) {
    let mut failing = false;
    loop {
        let started = Instant::now();
        let deadline = started + settings.scan_timeout;
        let outcome = bounded(
            deadline,
            Endpoint::AccountsBatchGet,
            scan_once(api, settings, deadline),
        )
        .await;
        let took = started.elapsed();
        let ok = state.finish_scan(outcome, took, SystemTime::now());
        report(Kind::Scan, ok, &mut failing, took);
        tokio::time::sleep_until(started + interval).await;
    }
}

/// `refresh`, or a deadline error if it overruns (every call inside
/// watches the deadline too; this is the backstop).
async fn bounded<T>(
    deadline: Instant,
    endpoint: Endpoint,
    refresh: impl Future<Output = Outcome<T>>,
) -> Outcome<T> {
    match tokio::time::timeout_at(deadline, refresh).await {
        Ok(outcome) => outcome,
        Err(_) => {
            let mut outcome = Outcome::default();
            outcome.fail(ApiError::Deadline {
                endpoint,
                last: None,
            });
            outcome
        }
    }
}

fn report(kind: Kind, ok: bool, failing: &mut bool, took: Duration) {
    if ok {
        if *failing {
            log::info!(kind = kind.label(); "Refresh succeeded again");
        }
        log::debug!(kind = kind.label(), duration:? = took; "Refresh done");
    }
    *failing = !ok;
}

/// The pools to refresh: the project, and the tenants. `Err` carries the
/// error of listing the tenants, with the project alone to refresh.
async fn pools(api: &Api, settings: &Settings, deadline: Instant) -> Result<Vec<Pool>, ApiError> {
    let mut pools = vec![Pool::Project];
    match &settings.tenants {
        Tenants::None => {}
        Tenants::Listed(ids) => pools.extend(ids.iter().cloned().map(Pool::Tenant)),
        Tenants::All => pools.extend(api.tenants(deadline).await?.into_iter().map(Pool::Tenant)),
    }
    Ok(pools)
}

fn log_failure(kind: Kind, pool: &Pool, err: &ApiError) {
    log::error!(kind = kind.label(), tenant = pool.tenant(), reason = err.reason().label(), err:% = err; "Refresh failed");
}

async fn count_once(
    api: &Api,
    settings: &Settings,
    previous: &BTreeMap<Pool, Method>,
    deadline: Instant,
) -> Outcome<PoolCount> {
    let mut outcome = Outcome::default();
    let pools = match pools(api, settings, deadline).await {
        Ok(pools) => {
            outcome.pools = Some(pools.clone());
            pools
        }
        Err(err) => {
            log::error!(kind = "count", reason = err.reason().label(), err:% = err;
                "Cannot list the tenants; counting the project's own users only (--tenants=none if the project has no tenants)");
            outcome.fail(err);
            vec![Pool::Project]
        }
    };
    for pool in pools {
        match count_pool(
            api,
            settings.count_method,
            &pool,
            previous.get(&pool),
            deadline,
        )
        .await
        {
            Ok(count) => outcome.values.push((pool, count)),
            Err(err) => {
                log_failure(Kind::Count, &pool, &err);
                outcome.fail(err);
            }
        }
    }
    outcome
}

async fn count_pool(
    api: &Api,
    method: CountMethod,
    pool: &Pool,
    previous: Option<&Method>,
    deadline: Instant,
) -> Result<PoolCount, ApiError> {
    if method == CountMethod::Query {
        match api.query_count(pool, deadline).await {
            Ok(users) => {
                if previous == Some(&Method::BatchGet) {
                    log::info!(tenant = pool.tenant(); "accounts:query works again; counting with it");
                }
                return Ok(PoolCount {
                    users,
                    method: Method::Query,
                });
            }
            Err(err) if err.allows_fallback() => {
                // Warned once per change of method, not at every refresh.
                if previous != Some(&Method::BatchGet) {
                    log::warn!(tenant = pool.tenant(), reason = err.reason().label(), err:% = err;
                        "accounts:query failed; counting with accounts:batchGet instead");
                }
            }
            Err(err) => return Err(err),
        }
    }
    let tally = api.scan(pool, SystemTime::now(), deadline).await?;
    Ok(PoolCount {
        users: tally.users,
        method: Method::BatchGet,
    })
}

async fn scan_once(
    api: &Api,
    settings: &Settings,
    deadline: Instant,
) -> Outcome<crate::scan::Tally> {
    let mut outcome = Outcome::default();
    let pools = match pools(api, settings, deadline).await {
        Ok(pools) => {
            outcome.pools = Some(pools.clone());
            pools
        }
        Err(err) => {
            log::error!(kind = "scan", reason = err.reason().label(), err:% = err;
                "Cannot list the tenants; scanning the project's own users only");
            outcome.fail(err);
            vec![Pool::Project]
        }
    };
    let now = SystemTime::now();
    for pool in pools {
        match api.scan(&pool, now, deadline).await {
            Ok(tally) => outcome.values.push((pool, tally)),
            Err(err) => {
                log_failure(Kind::Scan, &pool, &err);
                outcome.fail(err);
            }
        }
    }
    outcome
}
