//! What the refreshes found, kept for the scrapes: the last good value of
//! every pool, and how each kind of refresh went.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::api::Pool;
use crate::error::{ApiError, Reason};
use crate::scan::Tally;

/// The two kinds of refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// User counts, every `--refresh.interval`.
    Count,
    /// The full `batchGet` scan for the breakdowns, every `--scan.interval`.
    Scan,
}

impl Kind {
    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Count => "count",
            Kind::Scan => "scan",
        }
    }
}

/// How a pool's users were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `accounts:query` request (`recordsCount`).
    Query,
    /// Paging through `accounts:batchGet`.
    BatchGet,
}

impl Method {
    /// Every method, in the order the metrics list them.
    pub const ALL: [Method; 2] = [Method::Query, Method::BatchGet];

    /// The `method` label value.
    pub fn label(self) -> &'static str {
        match self {
            Method::Query => "query",
            Method::BatchGet => "batchget",
        }
    }
}

/// A pool's last good count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolCount {
    pub users: u64,
    pub method: Method,
}

/// How one kind of refresh has gone.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Whether the last refresh succeeded in full.
    pub success: bool,
    pub last_success: Option<SystemTime>,
    /// How long the last refresh took.
    pub duration: Option<Duration>,
    pub runs: u64,
    pub failures: u64,
    /// Why the last refresh failed.
    pub error: Option<Reason>,
}

/// What one refresh found: values for the pools it reached, the complete
/// list of pools if it could list them, and its first error.
#[derive(Debug)]
pub struct Outcome<T> {
    pub values: Vec<(Pool, T)>,
    /// `Some` when the pools (the tenants) were listed: pools not in it
    /// are gone and their series are dropped.
    pub pools: Option<Vec<Pool>>,
    pub error: Option<ApiError>,
}

impl<T> Default for Outcome<T> {
    fn default() -> Self {
        Outcome {
            values: Vec::new(),
            pools: None,
            error: None,
        }
    }
}

impl<T> Outcome<T> {
    /// Records a failure; the first one is what the metrics show.
    pub fn fail(&mut self, err: ApiError) {
        if self.error.is_none() {
            self.error = Some(err);
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    count: Status,
    /// `None` while scanning is disabled (no scan metrics then).
    scan: Option<Status>,
    counts: BTreeMap<Pool, PoolCount>,
    breakdowns: BTreeMap<Pool, Tally>,
}

/// Shared between the refresh loops and the scrapes.
#[derive(Debug, Default)]
pub struct State {
    inner: Mutex<Inner>,
}

/// A copy of the state, for one scrape.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub count: Status,
    pub scan: Option<Status>,
    pub counts: Vec<(Pool, PoolCount)>,
    pub breakdowns: Vec<(Pool, Tally)>,
}

impl State {
    /// An empty state; `scanning`: whether scans will run, so that their
    /// health shows from the start.
    pub fn new(scanning: bool) -> State {
        let inner = Inner {
            scan: scanning.then(Status::default),
            ..Inner::default()
        };
        State {
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a count refresh; returns whether it succeeded in full.
    pub fn finish_count(
        &self,
        outcome: Outcome<PoolCount>,
        took: Duration,
        at: SystemTime,
    ) -> bool {
        let mut inner = self.lock();
        let Inner { count, counts, .. } = &mut *inner;
        finish(count, counts, outcome, took, at)
    }

    /// Stores a scan; returns whether it succeeded in full.
    pub fn finish_scan(&self, outcome: Outcome<Tally>, took: Duration, at: SystemTime) -> bool {
        let mut inner = self.lock();
        let Inner {
            scan, breakdowns, ..
        } = &mut *inner;
        finish(scan.get_or_insert_default(), breakdowns, outcome, took, at)
    }

    /// The last method each pool was counted with.
    pub fn methods(&self) -> BTreeMap<Pool, Method> {
        self.lock()
            .counts
            .iter()
            .map(|(pool, count)| (pool.clone(), count.method))
            .collect()
    }

    /// A copy for one scrape.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            count: inner.count.clone(),
            scan: inner.scan.clone(),
            counts: inner
                .counts
                .iter()
                .map(|(pool, count)| (pool.clone(), *count))
                .collect(),
            breakdowns: inner
                .breakdowns
                .iter()
                .map(|(pool, tally)| (pool.clone(), tally.clone()))
                .collect(),
        }
    }
}

fn finish<T>(
    status: &mut Status,
    values: &mut BTreeMap<Pool, T>,
    outcome: Outcome<T>,
    took: Duration,
    at: SystemTime,
) -> bool {
    if let Some(pools) = &outcome.pools {
        values.retain(|pool, _| pools.contains(pool));
    }
    for (pool, value) in outcome.values {
        values.insert(pool, value);
    }
    let success = outcome.error.is_none();
    status.success = success;
    status.duration = Some(took);
    status.runs += 1;
    if success {
        status.last_success = Some(at);
        status.error = None;
    } else {
        status.failures += 1;
        status.error = outcome.error.as_ref().map(ApiError::reason);
    }
    success
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Endpoint;

    fn count(users: u64) -> PoolCount {
        PoolCount {
            users,
            method: Method::Query,
        }
    }

    #[test]
    fn failures_keep_the_last_values() {
        let state = State::new(false);
        let t = |id: &str| Pool::Tenant(id.into());
        let first = Outcome {
            values: vec![(Pool::Project, count(5)), (t("a"), count(2))],
            pools: Some(vec![Pool::Project, t("a")]),
            error: None,
        };
        assert!(state.finish_count(first, Duration::from_millis(3), SystemTime::UNIX_EPOCH));
        let mut failed = Outcome {
            values: vec![(Pool::Project, count(6))],
            pools: None,
            error: None,
        };
        failed.fail(ApiError::Transport {
            endpoint: Endpoint::TenantsList,
            detail: "refused".into(),
        });
        assert!(!state.finish_count(failed, Duration::from_millis(3), SystemTime::now()));
        let snapshot = state.snapshot();
        assert_eq!(
            snapshot.counts,
            [(Pool::Project, count(6)), (t("a"), count(2))]
        );
        assert!(!snapshot.count.success);
        assert_eq!(snapshot.count.error, Some(Reason::Unreachable));
        assert_eq!(snapshot.count.last_success, Some(SystemTime::UNIX_EPOCH));
        assert_eq!((snapshot.count.runs, snapshot.count.failures), (2, 1));

        // A tenant that is no longer listed disappears.
        let listed = Outcome {
            values: vec![(Pool::Project, count(7))],
            pools: Some(vec![Pool::Project]),
            error: None,
        };
        assert!(state.finish_count(listed, Duration::from_millis(3), SystemTime::now()));
        assert_eq!(state.snapshot().counts, [(Pool::Project, count(7))]);
        assert!(state.snapshot().count.error.is_none());
    }
}
