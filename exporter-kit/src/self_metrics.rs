//! The exporter's metrics about itself: the `process_*` families of
//! client_golang's process collector, `<exporter>_build_info`, and the
//! telemetry handler's request and error counters, in-flight gauge and latency
//! histogram.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::ExporterInfo;
use crate::exposition::{MetricSet, MetricType};

/// The Go client's default histogram buckets.
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counters for requests to the telemetry path.
#[derive(Debug)]
pub struct HandlerMetrics {
    inner: Mutex<HandlerCounts>,
}

#[derive(Debug)]
struct HandlerCounts {
    by_code: BTreeMap<u16, u64>,
    in_flight: u64,
    bucket_counts: [u64; DURATION_BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
    /// Scrapes that dropped something while gathering (see
    /// [`crate::exposition::Dropped`]), as promhttp counts them.
    gathering_errors: u64,
}

impl Default for HandlerMetrics {
    fn default() -> Self {
        // promhttp starts these codes at zero so rate() works from the start.
        let by_code = [200, 500, 503].into_iter().map(|code| (code, 0)).collect();
        HandlerMetrics {
            inner: Mutex::new(HandlerCounts {
                by_code,
                in_flight: 0,
                bucket_counts: [0; DURATION_BUCKETS.len()],
                duration_sum: 0.0,
                duration_count: 0,
                gathering_errors: 0,
            }),
        }
    }
}

impl HandlerMetrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, HandlerCounts> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks a scrape as started; the returned guard marks it finished.
    pub fn start(&self) -> InFlight<'_> {
        self.lock().in_flight += 1;
        InFlight { metrics: self }
    }

    /// Records one finished request to the telemetry path.
    pub fn record(&self, code: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut counts = self.lock();
        *counts.by_code.entry(code).or_default() += 1;
        for (bound, count) in DURATION_BUCKETS.iter().zip(counts.bucket_counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        counts.duration_sum += seconds;
        counts.duration_count += 1;
    }

    /// Counts a scrape whose metric set dropped something: promhttp counts
    /// one error per scrape however many metrics it refused.
    pub fn record_gathering_error(&self) {
        self.lock().gathering_errors += 1;
    }

    fn write(&self, set: &mut MetricSet) {
        let counts = self.lock();
        // Our encoder writes to memory and cannot fail, so "encoding" stays
        // at zero; it is there because dashboards sum over both causes.
        set.family(
            "promhttp_metric_handler_errors_total",
            "Total number of internal errors encountered by the promhttp metric handler.",
            MetricType::Counter,
        )
        .sample(&[("cause", "encoding")], 0.0)
        .sample(&[("cause", "gathering")], counts.gathering_errors as f64);
        let requests = set.family(
            "promhttp_metric_handler_requests_total",
            "Total number of scrapes by HTTP status code.",
            MetricType::Counter,
        );
        for (code, count) in &counts.by_code {
            requests.sample(
                &[("code", itoa::Buffer::new().format(*code))],
                *count as f64,
            );
        }
        set.single(
            "promhttp_metric_handler_requests_in_flight",
            "Current number of scrapes being served.",
            MetricType::Gauge,
            counts.in_flight as f64,
        );
        let buckets = DURATION_BUCKETS
            .iter()
            .copied()
            .zip(counts.bucket_counts)
            .collect();
        set.family(
            "promhttp_metric_handler_request_duration_seconds",
            "Time taken to serve requests to the telemetry path.",
            MetricType::Histogram,
        )
        .histogram(&[], buckets, counts.duration_sum, counts.duration_count);
    }
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight<'a> {
    metrics: &'a HandlerMetrics,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.metrics.lock().in_flight -= 1;
    }
}

/// Reads the process figures Go's process collector exposes. Start time is
/// computed once: it cannot change.
///
/// This runs on every scrape of every exporter, so it reads only what it
/// needs: /proc/self/stat through a descriptor kept open (`pread` at 0 has
/// the kernel generate it anew), the limits with `getrlimit` (the values
/// /proc/self/limits prints), and the open descriptors from /proc/self/fd.
#[derive(Debug)]
pub struct ProcessMetrics {
    start_time_seconds: Option<f64>,
    stat: Option<std::fs::File>,
}

/// The /proc/self/stat fields Go's process collector reports.
#[derive(Debug, PartialEq)]
struct OwnStat {
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
    virtual_bytes: u64,
    resident_pages: u64,
}

/// Fields after the command name, which is in parentheses and may hold
/// spaces and parentheses itself: field 3 (state) is the first.
fn parse_own_stat(text: &str) -> Option<OwnStat> {
    let (_, rest) = text.rsplit_once(") ")?;
    let mut fields = rest.split_ascii_whitespace();
    let mut field =
        |number: usize| -> Option<u64> { fields.nth(number).and_then(|f| f.parse().ok()) };
    // Field 14 is utime: the 12th after state; nth consumes as it goes.
    let utime = field(11)?;
    let stime = field(0)?;
    let virtual_bytes = field(7)?;
    let resident_pages = field(0)?;
    Some(OwnStat {
        cpu_ticks: utime + stime,
        virtual_bytes,
        resident_pages,
    })
}

/// Since Linux 6.2 the size of /proc/self/fd is the number of open
/// descriptors: one stat instead of listing them all (Go's procfs and the
/// procfs crate do the same). Older kernels report 0, and are listed.
fn open_fds() -> Option<u64> {
    let size = std::fs::metadata("/proc/self/fd").ok()?.len();
    if size > 0 {
        return Some(size);
    }
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

/// The soft limit of `resource`, "unlimited" as the largest uint64 as Go's
/// procfs reads it.
fn soft_limit(resource: libc::__rlimit_resource_t) -> Option<f64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `struct rlimit` through the pointer,
    // which points to a live, properly aligned local of exactly that type.
    let status = unsafe { libc::getrlimit(resource, &mut limit) };
    (status == 0).then_some(limit.rlim_cur as f64)
}

impl ProcessMetrics {
    pub fn new() -> ProcessMetrics {
        let start_time_seconds = (|| {
            let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
            let boot = procfs::boot_time_secs().ok()?;
            Some(boot as f64 + stat.starttime as f64 / procfs::ticks_per_second() as f64)
        })();
        ProcessMetrics {
            start_time_seconds,
            stat: std::fs::File::open("/proc/self/stat").ok(),
        }
    }

    fn own_stat(&self) -> Option<OwnStat> {
        use std::os::unix::fs::FileExt as _;
        let mut buffer = [0u8; 1024];
        let n = self.stat.as_ref()?.read_at(&mut buffer, 0).ok()?;
        parse_own_stat(std::str::from_utf8(&buffer[..n]).ok()?)
    }

    /// Adds whatever of the process families can be read now; on a system
    /// without /proc the families are simply absent.
    fn write(&self, set: &mut MetricSet) {
        if let Some(stat) = self.own_stat() {
            let ticks = procfs::ticks_per_second() as f64;
            set.single(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                MetricType::Counter,
                stat.cpu_ticks as f64 / ticks,
            );
            set.single(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                MetricType::Gauge,
                stat.virtual_bytes as f64,
            );
            set.single(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                MetricType::Gauge,
                (stat.resident_pages * procfs::page_size()) as f64,
            );
        }
        if let Some(open) = open_fds() {
            set.single(
                "process_open_fds",
                "Number of open file descriptors.",
                MetricType::Gauge,
                open as f64,
            );
        }
        if let Some(limit) = soft_limit(libc::RLIMIT_NOFILE) {
            set.single(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                MetricType::Gauge,
                limit,
            );
        }
        if let Some(limit) = soft_limit(libc::RLIMIT_AS) {
            set.single(
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
                MetricType::Gauge,
                limit,
            );
        }
        if let Some(start) = self.start_time_seconds {
            set.single(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                MetricType::Gauge,
                start,
            );
        }
    }
}

impl Default for ProcessMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything the server adds to a scrape unless `--web.disable-exporter-metrics`.
#[derive(Debug, Default)]
pub struct SelfMetrics {
    pub handler: HandlerMetrics,
    process: ProcessMetrics,
}

impl SelfMetrics {
    /// Writes them all; `<prefix>_build_info` is named after `info` unless
    /// `build_info_prefix` is given.
    pub fn write(&self, info: &ExporterInfo, build_info_prefix: Option<&str>, set: &mut MetricSet) {
        self.process.write(set);
        self.handler.write(set);
        write_build_info(info, build_info_prefix, set);
    }
}

/// Which labels `<exporter>_build_info` carries: the Go exporter's names,
/// so dashboards that read them keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildInfoLabels {
    /// prometheus/common's: `version`, `revision`, and the compiler as
    /// `rustversion` (for `goversion`).
    Common,
    /// redis_exporter's: `version`, `commit_sha`, `build_date` (the commit's
    /// date, so builds stay reproducible) and the compiler as `golang_version`.
    RedisExporter,
}

/// `<prefix>_build_info{...} 1` (the prefix is the exporter's name unless
/// given), labelled as [`BuildInfoLabels`] says.
pub fn write_build_info(info: &ExporterInfo, prefix: Option<&str>, set: &mut MetricSet) {
    let name = format!("{}_build_info", prefix.unwrap_or(info.name));
    match info.build_info {
        BuildInfoLabels::Common => {
            let help = format!(
                "A metric with a constant '1' value labeled by version, revision, and rustversion from which {} was built.",
                info.name
            );
            set.family(name, help, MetricType::Gauge).sample(
                &[
                    ("version", info.version),
                    ("revision", crate::REVISION),
                    ("rustversion", crate::RUST_VERSION),
                ],
                1.0,
            );
        }
        BuildInfoLabels::RedisExporter => {
            set.family(name, "redis exporter build_info", MetricType::Gauge)
                .sample(
                    &[
                        ("version", info.version),
                        ("commit_sha", crate::REVISION),
                        ("build_date", crate::COMMIT_DATE),
                        ("golang_version", crate::RUST_VERSION),
                    ],
                    1.0,
                );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_fields_even_with_parentheses_in_the_name() {
        let text = "42 (a) (b c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0 1234 \
                    8000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        assert_eq!(
            parse_own_stat(text),
            Some(OwnStat {
                cpu_ticks: 10,
                virtual_bytes: 8_000_000,
                resident_pages: 300,
            })
        );
        assert_eq!(parse_own_stat("42 (a) S 1 2"), None);
        assert_eq!(parse_own_stat(""), None);
    }

    #[test]
    fn the_same_figures_as_the_procfs_crate() {
        let metrics = ProcessMetrics::new();
        let me = procfs::process::Process::myself().unwrap();
        let theirs = me.stat().unwrap();
        let ours = metrics.own_stat().unwrap();
        // Read one after the other: CPU time only grows, and the test's
        // own allocations may move the sizes a little.
        assert!(ours.cpu_ticks >= theirs.utime + theirs.stime);
        assert!(ours.virtual_bytes.abs_diff(theirs.vsize) < 64 << 20);
        assert!(ours.resident_pages.abs_diff(theirs.rss) < 4096);
        let limits = me.limits().unwrap();
        let soft = |value: procfs::process::LimitValue| match value {
            procfs::process::LimitValue::Value(v) => v as f64,
            procfs::process::LimitValue::Unlimited => u64::MAX as f64,
        };
        assert_eq!(
            soft_limit(libc::RLIMIT_NOFILE),
            Some(soft(limits.max_open_files.soft_limit))
        );
        assert_eq!(
            soft_limit(libc::RLIMIT_AS),
            Some(soft(limits.max_address_space.soft_limit))
        );
    }
}
