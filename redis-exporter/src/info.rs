//! INFO output turned into metrics, by redis_exporter's rules: mapped fields
//! under their mapped names; keyspace, command, latency, error and
//! replication lines into labelled families; everything else dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::maps::{COUNTERS, GAUGES};

/// What the rest of the scrape needs from INFO.
#[derive(Debug, Default)]
pub struct Summary {
    /// The `db<N>` names INFO listed in its Keyspace section.
    pub databases_seen: Vec<String>,
    /// `cluster_enabled:1`: CLUSTER INFO has more to say.
    pub cluster_enabled: bool,
}

/// redis_exporter's value rule: ok/true are 1, err/fail/false are 0,
/// anything else must be a number (or the field is dropped).
fn value(text: &str) -> Option<f64> {
    match text {
        "ok" | "true" => Some(1.0),
        "err" | "fail" | "false" => Some(0.0),
        _ => text.parse().ok(),
    }
}

/// `key=value,key=value`, requiring every part to have a `=`.
fn pairs(text: &str) -> Option<Vec<(&str, &str)>> {
    text.split(',').map(|part| part.split_once('=')).collect()
}

fn sanitize(key: &str) -> Cow<'_, str> {
    if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Cow::Borrowed(key);
    }
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A mapped INFO field: its metric name (after upstream's unit renames),
/// the divisor to that unit, whether upstream exports it as a counter, and
/// its help text, built once so scrapes borrow it.
struct Mapped {
    metric: &'static str,
    divisor: f64,
    counter: bool,
    help: String,
}

impl Mapped {
    fn new(table_metric: &'static str, counter: bool) -> Mapped {
        // Divided, not multiplied by the inverse, to match upstream's
        // floats to the last bit.
        let (metric, divisor) = match table_metric {
            "latest_fork_usec" => ("latest_fork_seconds", 1e6),
            "slowlog_commands_duration_seconds_max" | "slowlog_commands_duration_seconds_total" => {
                (table_metric, 1e3)
            }
            _ => (table_metric, 1.0),
        };
        Mapped {
            metric,
            divisor,
            counter,
            help: help(metric),
        }
    }
}

/// `GAUGES` and `COUNTERS` by INFO field, built once: every scrape looks
/// up a couple of hundred fields. Upstream's name comes from its gauge
/// table when a field is in both; the type from its counter table.
static MAPPED: LazyLock<HashMap<&'static str, Mapped>> = LazyLock::new(|| {
    let mut mapped = HashMap::with_capacity(GAUGES.len() + COUNTERS.len());
    for (field, metric) in COUNTERS {
        mapped.insert(field, Mapped::new(metric, true));
    }
    for (field, metric) in GAUGES {
        let counter = mapped.get(field).is_some_and(|m: &Mapped| m.counter);
        mapped.insert(field, Mapped::new(metric, counter));
    }
    mapped
});

/// `redis_instance_info` labels, all from INFO fields of the same name.
const INSTANCE_LABELS: [&str; 10] = [
    "role",
    "redis_version",
    "redis_build_id",
    "redis_mode",
    "os",
    "maxmemory_policy",
    "tcp_port",
    "run_id",
    "process_id",
    "master_replid",
];

/// Help texts of the families with a fixed description upstream.
fn help(metric: &str) -> String {
    match metric {
        "active_clients" => "Number of clients active in Redis's rolling activity window".into(),
        _ => format!("{metric} metric"),
    }
}

struct Extractor<'a> {
    namespace: &'a str,
    out: &'a mut MetricSet,
}

impl Extractor<'_> {
    fn name(&self, metric: &str) -> String {
        crate::metric_name(self.namespace, metric)
    }

    fn add(
        &mut self,
        metric: &str,
        help: impl Into<Cow<'static, str>>,
        kind: MetricType,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let name = self.name(metric);
        self.out.family(name, help, kind).sample(labels, value);
    }
}

/// Adds the metrics INFO describes to `out`.
pub fn extract(info: &str, namespace: &str, out: &mut MetricSet) -> Summary {
    let mut x = Extractor { namespace, out };
    let mut summary = Summary::default();
    let mut fields: HashMap<&str, &str> = HashMap::new();
    let mut command_stats: HashMap<String, (f64, f64)> = HashMap::new();
    let mut latencies: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let (mut master_host, mut master_port) = ("", "");
    let mut section = "";

    for line in info.split('\n').map(str::trim) {
        if let Some(title) = line.strip_prefix("# ") {
            section = title;
            continue;
        }
        let Some((key, raw)) = line.split_once(':').filter(|_| line.len() >= 2) else {
            continue;
        };
        fields.insert(key, raw);
        if key == "cluster_enabled" {
            summary.cluster_enabled = raw == "1";
        }
        if key.starts_with("master") && key.ends_with("_host") {
            master_host = raw;
        } else if key.starts_with("master") && key.ends_with("_port") {
            master_port = raw;
        }
        let masters = [("master_host", master_host), ("master_port", master_port)];
        match section {
            "Replication" => {
                if key.starts_with("master") && key.ends_with("_link_status") {
                    x.add(
                        "master_link_up",
                        "master_link_up metric",
                        MetricType::Gauge,
                        &masters,
                        if raw == "up" { 1.0 } else { 0.0 },
                    );
                    continue;
                }
                let metric = if key.ends_with("_last_io_seconds_ago") && key.starts_with("master") {
                    Some("master_last_io_seconds_ago")
                } else if key.ends_with("_sync_in_progress") && key.starts_with("master") {
                    Some("master_sync_in_progress")
                } else if key == "slave_repl_offset" {
                    Some("slave_repl_offset")
                } else {
                    None
                };
                if let Some(metric) = metric {
                    let number = raw.parse::<i64>().unwrap_or(0) as f64;
                    x.add(metric, help(metric), MetricType::Gauge, &masters, number);
                    continue;
                }
                if key.starts_with("slave")
                    && key[5..].bytes().all(|b| b.is_ascii_digit())
                    && key.len() > 5
                {
                    if let Some(replica) = pairs(raw) {
                        let get =
                            |k: &str| replica.iter().find(|(name, _)| *name == k).map(|(_, v)| *v);
                        if let Some(offset) = get("offset").and_then(|v| v.parse::<f64>().ok()) {
                            let labels = [
                                ("slave_ip", get("ip").unwrap_or("")),
                                ("slave_port", get("port").unwrap_or("")),
                                ("slave_state", get("state").unwrap_or("")),
                            ];
                            x.add(
                                "connected_slave_offset_bytes",
                                "Offset of connected slave",
                                MetricType::Gauge,
                                &labels,
                                offset,
                            );
                            if let Some(lag) = get("lag").and_then(|v| v.parse::<f64>().ok()) {
                                x.add(
                                    "connected_slave_lag_seconds",
                                    "Lag of connected slave",
                                    MetricType::Gauge,
                                    &labels,
                                    lag,
                                );
                            }
                            continue;
                        }
                    }
                }
            }
            "Server" => match key {
                "uptime_in_seconds" => {
                    if let Ok(uptime) = raw.parse::<f64>() {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        x.add(
                            "start_time_seconds",
                            "Start time of the Redis instance since unix epoch in seconds.",
                            MetricType::Gauge,
                            &[],
                            now as f64 - uptime,
                        );
                    }
                }
                "configured_hz" | "hz" => {
                    if let Ok(hz) = raw.parse::<i64>() {
                        x.add(key, help(key), MetricType::Gauge, &[], hz as f64);
                    }
                }
                _ => {}
            },
            "Commandstats" => {
                if let Some(command) = key.strip_prefix("cmdstat_") {
                    extract_command_stats(&mut x, command, raw, &mut command_stats);
                }
                continue;
            }
            "Latencystats" => {
                if let Some(command) = key.strip_prefix("latency_percentiles_usec_") {
                    let quantiles: Option<Vec<(f64, f64)>> = raw
                        .split(',')
                        .map(|part| {
                            let (q, v) = part.split_once('=')?;
                            Some((q.get(1..)?.parse().ok()?, v.parse().ok()?))
                        })
                        .collect();
                    if let Some(quantiles) = quantiles {
                        latencies.push((command.to_owned(), quantiles));
                    }
                }
                continue;
            }
            "Errorstats" => {
                if let Some(error) = key.strip_prefix("errorstat_") {
                    let count = raw
                        .strip_prefix("count=")
                        .and_then(|c| c.parse::<f64>().ok());
                    if let Some(count) = count {
                        x.add(
                            "errors_total",
                            "Total number of errors per error type",
                            MetricType::Counter,
                            &[("err", error)],
                            count,
                        );
                    }
                }
                continue;
            }
            "Keyspace" if key.starts_with("db") && extract_keyspace(&mut x, key, raw) => {
                summary.databases_seen.push(key.to_owned());
                continue;
            }
            _ => {}
        }
        default_rule(&mut x, key, raw);
    }

    for (command, quantiles) in latencies {
        if let Some((calls, usec)) = command_stats.get(&command) {
            let name = x.name("latency_percentiles_usec");
            x.out
                .family(
                    name,
                    "A summary of latency percentile distribution per command",
                    MetricType::Summary,
                )
                .summary(&[("cmd", &command)], quantiles, *usec, *calls as u64);
        }
    }
    let labels: Vec<(&'static str, &str)> = INSTANCE_LABELS
        .iter()
        .map(|label| (*label, fields.get(label).copied().unwrap_or("")))
        .collect();
    x.add(
        "instance_info",
        "Information about the Redis instance",
        MetricType::Gauge,
        &labels,
        1.0,
    );
    if fields.get("role") == Some(&"slave") {
        let labels = [
            (
                "master_host",
                fields.get("master_host").copied().unwrap_or(""),
            ),
            (
                "master_port",
                fields.get("master_port").copied().unwrap_or(""),
            ),
            (
                "read_only",
                fields.get("slave_read_only").copied().unwrap_or(""),
            ),
        ];
        x.add(
            "slave_info",
            "Information about the Redis slave",
            MetricType::Gauge,
            &labels,
            1.0,
        );
    }
    summary
}

/// `cmdstat_get:calls=N,usec=N,usec_per_call=F[,rejected_calls=N,failed_calls=N]`.
fn extract_command_stats(
    x: &mut Extractor<'_>,
    command: &str,
    raw: &str,
    stats: &mut HashMap<String, (f64, f64)>,
) {
    let parts: Vec<&str> = raw.split(',').collect();
    let number =
        |index: usize| -> Option<f64> { parts.get(index)?.split_once('=')?.1.parse().ok() };
    let (Some(calls), Some(usec)) = (number(0), number(1)) else {
        return;
    };
    if parts.len() < 3 {
        return;
    }
    let labels = [("cmd", command)];
    x.add(
        "commands_total",
        "Total number of calls per command",
        MetricType::Counter,
        &labels,
        calls,
    );
    x.add(
        "commands_duration_seconds_total",
        "Total amount of time in seconds spent per command",
        MetricType::Counter,
        &labels,
        usec / 1e6,
    );
    if let (Some(rejected), Some(failed)) = (number(3), number(4)) {
        x.add(
            "commands_rejected_calls_total",
            "Total number of errors within command execution per command",
            MetricType::Counter,
            &labels,
            rejected,
        );
        x.add(
            "commands_failed_calls_total",
            "Total number of errors prior command execution per command",
            MetricType::Counter,
            &labels,
            failed,
        );
    }
    stats.insert(command.to_owned(), (calls, usec));
}

/// `db0:keys=5,expires=1,avg_ttl=2000`; false when the line is not that.
fn extract_keyspace(x: &mut Extractor<'_>, db: &str, raw: &str) -> bool {
    let Some(values) = pairs(raw) else {
        return false;
    };
    let number = |key: &str| {
        values
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse::<f64>().ok())
    };
    let (Some(keys), Some(expires)) = (number("keys"), number("expires")) else {
        return false;
    };
    let labels = [("db", db)];
    x.add(
        "db_keys",
        "Total number of keys by DB",
        MetricType::Gauge,
        &labels,
        keys,
    );
    x.add(
        "db_keys_expiring",
        "Total number of expiring keys by DB",
        MetricType::Gauge,
        &labels,
        expires,
    );
    if let Some(avg_ttl) = number("avg_ttl") {
        x.add(
            "db_avg_ttl_seconds",
            "Avg TTL in seconds",
            MetricType::Gauge,
            &labels,
            avg_ttl / 1000.0,
        );
    }
    true
}

/// Mapped fields and the `db*`, `cmdstat_*` and `cluster_*` families.
fn default_rule(x: &mut Extractor<'_>, key: &str, raw: &str) {
    if let Some(thread) = key
        .strip_prefix("used_active_time_io_thread_")
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
    {
        if let Ok(number) = raw.parse::<f64>() {
            x.add(
                "active_time_io_thread_seconds_total",
                "active_time_io_thread_seconds_total metric",
                MetricType::Counter,
                &[("thread", thread)],
                number,
            );
        }
        return;
    }
    let field = sanitize(key);
    let mapped = MAPPED.get(field.as_ref());
    let included = mapped.is_some()
        || key.starts_with("db")
        || key.starts_with("cmdstat_")
        || key.starts_with("cluster_");
    if !included {
        return;
    }
    let Some(number) = value(raw) else {
        return;
    };
    match mapped {
        Some(m) => {
            let kind = if m.counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            x.add(m.metric, m.help.as_str(), kind, &[], number / m.divisor);
        }
        None => {
            let help = help(&field);
            x.add(&field, help, MetricType::Gauge, &[], number);
        }
    }
}

/// CLUSTER INFO's `cluster_*` fields, by the same rule as INFO's.
pub fn extract_cluster_info(text: &str, namespace: &str, out: &mut MetricSet) {
    let mut x = Extractor { namespace, out };
    for line in text.split("\r\n") {
        let parts: Vec<&str> = line.split(':').collect();
        if let [key, raw] = parts[..]
            && key.starts_with("cluster_")
        {
            default_rule(&mut x, key, raw);
        }
    }
}

/// `db_keys` and `db_keys_expiring` of 0 for databases INFO did not list,
/// as upstream reports empty databases.
pub fn add_empty_databases(namespace: &str, count: usize, seen: &[String], out: &mut MetricSet) {
    let mut x = Extractor { namespace, out };
    for index in 0..count {
        let db = format!("db{index}");
        if seen.contains(&db) {
            continue;
        }
        x.add(
            "db_keys",
            "Total number of keys by DB",
            MetricType::Gauge,
            &[("db", &db)],
            0.0,
        );
        x.add(
            "db_keys_expiring",
            "Total number of expiring keys by DB",
            MetricType::Gauge,
            &[("db", &db)],
            0.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(info: &str) -> MetricSet {
        let mut out = MetricSet::new();
        extract(info, "redis", &mut out);
        out.finish();
        out
    }

    fn family<'a>(set: &'a MetricSet, name: &str) -> Option<&'a exporter_kit::exposition::Family> {
        set.families().iter().find(|f| f.name == name)
    }

    #[test]
    fn maps_keyspace_commands_and_replicas() {
        let info = "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:100\r\nhz:10\r\n\
                    # Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\n\
                    # Persistence\r\nrdb_last_bgsave_status:ok\r\n\
                    # Stats\r\nlatest_fork_usec:2000\r\nkeyspace_hits:7\r\ninstantaneous_ops_per_sec:5\r\n\
                    # Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=42,lag=1\r\n\
                    # Commandstats\r\ncmdstat_get:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=1\r\n\
                    # Latencystats\r\nlatency_percentiles_usec_get:p50=1.003,p99=2.007,p99.9=3.007\r\n\
                    # Errorstats\r\nerrorstat_ERR:count=4\r\n\
                    # Keyspace\r\ndb0:keys=5,expires=1,avg_ttl=2000\r\n";
        let set = run(info);
        for name in [
            "redis_connected_clients",
            "redis_max_clients",
            "redis_rdb_last_bgsave_status",
            "redis_latest_fork_seconds",
            "redis_keyspace_hits_total",
            "redis_connected_slaves",
            "redis_connected_slave_offset_bytes",
            "redis_connected_slave_lag_seconds",
            "redis_commands_total",
            "redis_commands_failed_calls_total",
            "redis_latency_percentiles_usec",
            "redis_errors_total",
            "redis_db_keys",
            "redis_db_avg_ttl_seconds",
            "redis_instance_info",
            "redis_start_time_seconds",
            "redis_hz",
        ] {
            assert!(family(&set, name).is_some(), "missing {name}");
        }
        assert!(
            family(&set, "redis_instantaneous_ops_per_sec").is_none(),
            "unmapped fields are dropped"
        );
        assert_eq!(
            family(&set, "redis_keyspace_hits_total").unwrap().kind,
            MetricType::Counter
        );
        assert_eq!(
            family(&set, "redis_latest_fork_seconds").unwrap().samples[0].value,
            exporter_kit::exposition::Value::Single(0.002)
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let info = "# Server\r\ngarbage line\r\n:\r\nconnected_clients:notanumber\r\n# Keyspace\r\ndb1:keys=x\r\n\
                    # Commandstats\r\ncmdstat_bad:nothing\r\n# Replication\r\nslave0:ip=1,offset=x\r\n";
        let set = run(info);
        assert!(family(&set, "redis_connected_clients").is_none());
        assert!(family(&set, "redis_db_keys").is_none());
        assert!(family(&set, "redis_commands_total").is_none());
        assert!(family(&set, "redis_instance_info").is_some());
    }
}
