//! The background refreshes: user counts every `--refresh.interval`, the
//! breakdown scan every `--scan.interval`, each with its own deadline.
//! Scrapes only read what these stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use exporter_kit::Readiness;
use tokio::time::Instant;

use crate::api::{Api, Pool};
use crate::error::ApiError;
use crate::scan::Tally;
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
    /// if it is refused or its reply is unusable.
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
    let counts = Counts {
        api: &api,
        method: settings.count_method,
        state: &state,
        readiness: &readiness,
    };
    let counts = refresh_loop(
        &counts,
        &api,
        &settings.tenants,
        settings.refresh_interval,
        settings.refresh_timeout,
    );
    let scans = async {
        if let Some(interval) = settings.scan_interval {
            let scans = Scans {
                api: &api,
                state: &state,
            };
            refresh_loop(
                &scans,
                &api,
                &settings.tenants,
                interval,
                settings.scan_timeout,
            )
            .await;
        }
    };
    tokio::join!(counts, scans);
}

/// One kind of refresh: what it gets for each pool, and where it keeps it.
trait Refresh {
    const KIND: Kind;
    /// What a refresh shares between its pools.
    type Context;
    type Value;

    fn context(&self) -> Self::Context;
    async fn pool(
        &self,
        context: &Self::Context,
        pool: &Pool,
        deadline: Instant,
    ) -> Result<Self::Value, ApiError>;
    /// Stores a refresh's outcome; whether it succeeded in full.
    fn store(&self, outcome: Outcome<Self::Value>, took: Duration) -> bool;
}

/// The user counts. Ready once the project's own users were counted: a
/// tenant that fails (or tenants that cannot be listed) shows in the
/// metrics, but need not keep the exporter out of service.
struct Counts<'a> {
    api: &'a Api,
    method: CountMethod,
    state: &'a State,
    readiness: &'a Readiness,
}

impl Refresh for Counts<'_> {
    const KIND: Kind = Kind::Count;
    /// The method each pool was last counted with.
    type Context = BTreeMap<Pool, Method>;
    type Value = PoolCount;

    fn context(&self) -> Self::Context {
        self.state.methods()
    }

    async fn pool(
        &self,
        previous: &Self::Context,
        pool: &Pool,
        deadline: Instant,
    ) -> Result<PoolCount, ApiError> {
        count_pool(self.api, self.method, pool, previous.get(pool), deadline).await
    }

    fn store(&self, outcome: Outcome<PoolCount>, took: Duration) -> bool {
        let project_counted = outcome
            .values
            .iter()
            .any(|(pool, _)| *pool == Pool::Project);
        let ok = self.state.finish_count(outcome, took, SystemTime::now());
        if project_counted {
            self.readiness.set_ready();
        }
        ok
    }
}

/// The breakdown scan.
struct Scans<'a> {
    api: &'a Api,
    state: &'a State,
}

impl Refresh for Scans<'_> {
    const KIND: Kind = Kind::Scan;
    /// The end of the activity windows, the same for every pool.
    type Context = SystemTime;
    type Value = Tally;

    fn context(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn pool(
        &self,
        now: &SystemTime,
        pool: &Pool,
        deadline: Instant,
    ) -> Result<Tally, ApiError> {
        self.api.scan(pool, *now, deadline).await
    }

    fn store(&self, outcome: Outcome<Tally>, took: Duration) -> bool {
        self.state.finish_scan(outcome, took, SystemTime::now())
    }
}

/// What a refresh failed at: listing the tenants, a pool, or finishing
/// in time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Tenants,
    Pool(Pool),
    Deadline,
}

/// Logs failures at error level when they are new or changed, at debug
/// level while they repeat, so a lasting outage is not a line per refresh.
#[derive(Default)]
struct Failures {
    last: BTreeMap<Step, String>,
    failing: bool,
}

impl Failures {
    fn report(&mut self, kind: Kind, step: Step, err: &ApiError) {
        let text = err.to_string();
        let tenant = match &step {
            Step::Pool(pool) => pool.tenant(),
            Step::Tenants | Step::Deadline => "",
        };
        let message = match step {
            Step::Tenants if kind == Kind::Count => {
                "Cannot list the tenants; counting the project's own users only (--tenants=none if the project has no tenants)"
            }
            Step::Tenants => "Cannot list the tenants; scanning the project's own users only",
            Step::Pool(_) => "Refresh failed",
            Step::Deadline => {
                "Refresh cut off at its deadline; pools not reached keep their last values"
            }
        };
        let level = if self.last.get(&step) == Some(&text) {
            log::Level::Debug
        } else {
            log::Level::Error
        };
        log::log!(level, kind = kind.label(), tenant = tenant, reason = err.reason().label(), err:% = text; "{message}");
        self.last.insert(step, text);
    }

    /// Ends a refresh: failures not seen again are over.
    fn finish(&mut self, kind: Kind, seen: &[Step], ok: bool, took: Duration) {
        self.last.retain(|step, _| seen.contains(step));
        if ok {
            if self.failing {
                log::info!(kind = kind.label(); "Refresh succeeded again");
            }
            log::debug!(kind = kind.label(), duration:? = took; "Refresh done");
        }
        self.failing = !ok;
    }
}

async fn refresh_loop<R: Refresh>(
    refresh: &R,
    api: &Api,
    tenants: &Tenants,
    interval: Duration,
    timeout: Duration,
) {
    let mut failures = Failures::default();
    loop {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut outcome = Outcome::default();
        let mut failed = Vec::new();
        // Every call inside watches the deadline too; this is the
        // backstop, and what was collected before it still counts.
        let all_pools = refresh_pools(refresh, api, tenants, deadline, &mut outcome, &mut failed);
        if tokio::time::timeout_at(deadline, all_pools).await.is_err() {
            failed.push((
                Step::Deadline,
                ApiError::Deadline {
                    endpoint: None,
                    last: None,
                },
            ));
        }
        for (step, err) in &failed {
            failures.report(R::KIND, step.clone(), err);
        }
        let seen: Vec<Step> = failed.iter().map(|(step, _)| step.clone()).collect();
        for (_, err) in failed {
            outcome.fail(err);
        }
        let took = started.elapsed();
        let ok = refresh.store(outcome, took);
        failures.finish(R::KIND, &seen, ok, took);
        tokio::time::sleep_until(started + interval).await;
    }
}

/// Refreshes every pool in turn into `outcome`, noting failures in
/// `failed`. If the tenants cannot be listed, the project is refreshed
/// alone.
async fn refresh_pools<R: Refresh>(
    refresh: &R,
    api: &Api,
    tenants: &Tenants,
    deadline: Instant,
    outcome: &mut Outcome<R::Value>,
    failed: &mut Vec<(Step, ApiError)>,
) {
    let context = refresh.context();
    let mut pools = vec![Pool::Project];
    match tenants {
        Tenants::None => {}
        Tenants::Listed(ids) => pools.extend(ids.iter().cloned().map(Pool::Tenant)),
        Tenants::All => match api.tenants(deadline).await {
            Ok(ids) => pools.extend(ids.into_iter().map(Pool::Tenant)),
            Err(err) => failed.push((Step::Tenants, err)),
        },
    }
    if failed.is_empty() {
        outcome.pools = Some(pools.clone());
    }
    for pool in pools {
        match refresh.pool(&context, &pool, deadline).await {
            Ok(value) => outcome.values.push((pool, value)),
            Err(err) => failed.push((Step::Pool(pool), err)),
        }
    }
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
