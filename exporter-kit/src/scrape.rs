//! What an exporter sees of one scrape, and the trait it implements.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::exposition::{Format, MetricSet};

/// Budget when the scraper does not say its timeout (Prometheus' default
/// scrape timeout is 10 s).
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// Kept back from the scraper's timeout to encode and send the response.
const MAX_MARGIN: Duration = Duration::from_millis(500);

/// One request for metrics.
#[derive(Debug, Clone)]
pub struct Scrape {
    deadline: Instant,
    path: String,
    query: Vec<(String, String)>,
}

impl Scrape {
    /// A scrape of `path` that must be answered by `deadline`, with the
    /// decoded URL query pairs.
    pub fn new(deadline: Instant, path: &str, query: Vec<(String, String)>) -> Scrape {
        Scrape {
            deadline,
            path: path.to_owned(),
            query,
        }
    }

    /// The URL path: the telemetry path, or one of the exporter's
    /// [`Exporter::scrape_paths`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The scrape's deadline from the `X-Prometheus-Scrape-Timeout-Seconds`
    /// header: the timeout less a margin of 10 % (at most 0.5 s) for encoding
    /// and sending; [`DEFAULT_SCRAPE_TIMEOUT`] when absent or unreadable.
    pub fn deadline_from_header(started: Instant, header: Option<&str>) -> Instant {
        let timeout = header
            .and_then(|value| value.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds.min(3600.0)))
            .unwrap_or(DEFAULT_SCRAPE_TIMEOUT);
        let margin = (timeout / 10).min(MAX_MARGIN);
        started + (timeout - margin)
    }

    /// When the response must be ready.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Every value of a URL query parameter, in order (`collect[]=a&collect[]=b`).
    pub fn query_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A request the exporter refuses, answered with 400 and the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// What an exporter implements: produce the metrics of one scrape. Failures
/// of a data source belong in metrics (`up`, `*_success`); an error here is
/// for a request that cannot be served as asked.
pub trait Exporter: Send + Sync + 'static {
    fn collect(
        &self,
        scrape: &Scrape,
    ) -> impl Future<Output = Result<MetricSet, BadRequest>> + Send;

    /// Paths besides the telemetry path that serve scrapes (redis_exporter's
    /// `/scrape?target=`). Their responses carry what `collect` returns and
    /// build info, without the exporter's other own metrics.
    fn scrape_paths(&self) -> &'static [&'static str] {
        &[]
    }

    /// The prefix of `<prefix>_build_info` when a flag renames it
    /// (redis_exporter's `--namespace`); `None` keeps the exporter's name.
    fn build_info_prefix(&self) -> Option<&str> {
        None
    }

    /// Families the exporter keeps already rendered (kube-state's
    /// per-object store), sent after those `collect` returns and streamed,
    /// so a large response is never assembled in memory. Their names must
    /// differ from the collected ones.
    fn rendered(&self, _scrape: &Scrape) -> Option<Box<dyn Rendered>> {
        None
    }
}

/// Exposition text an exporter hands out piece by piece (see
/// [`Exporter::rendered`]).
pub trait Rendered: Send + 'static {
    /// Appends the next piece, complete lines in `format`, to `out`;
    /// returns `false`, having written nothing, once all is written.
    fn write_next(&mut self, format: Format, out: &mut Vec<u8>) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_leaves_a_margin() {
        let now = Instant::now();
        let at = |header| Scrape::deadline_from_header(now, header) - now;
        assert_eq!(at(None), Duration::from_millis(9500));
        assert_eq!(at(Some("10")), Duration::from_millis(9500));
        assert_eq!(at(Some("2")), Duration::from_millis(1800));
        assert_eq!(at(Some("junk")), Duration::from_millis(9500));
        assert_eq!(at(Some("-1")), Duration::from_millis(9500));
        assert_eq!(at(Some("NaN")), Duration::from_millis(9500));
    }

    #[test]
    fn query_values_keep_order() {
        let scrape = Scrape::new(
            Instant::now(),
            "/metrics",
            vec![
                ("collect[]".into(), "cpu".into()),
                ("x".into(), "1".into()),
                ("collect[]".into(), "meminfo".into()),
            ],
        );
        assert_eq!(
            scrape.query_values("collect[]").collect::<Vec<_>>(),
            ["cpu", "meminfo"]
        );
    }
}
