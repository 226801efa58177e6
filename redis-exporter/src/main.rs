//! A drop-in replacement for oliver006/redis_exporter: Redis INFO and
//! friends as Prometheus metrics, with redis_exporter's names and flags.

mod client;
mod config;
mod info;
mod latency;
mod maps;
mod passwords;
mod scrape;
mod slowlog;
mod tls;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exporter_kit::cli::{self, CommonArgs};
use exporter_kit::self_metrics::BuildInfoLabels;
use exporter_kit::{ExporterInfo, Readiness};

/// A family's full name under `--namespace` (`redis_up`): upstream puts
/// the namespace in front of every family it exports.
fn metric_name(namespace: &str, metric: &str) -> String {
    format!("{namespace}_{metric}")
}

static INFO: ExporterInfo = ExporterInfo {
    name: "redis_exporter",
    binary: "redis-exporter",
    version: env!("CARGO_PKG_VERSION"),
    description: "Prometheus exporter for Redis metrics.",
    default_listen_address: ":9121",
    build_info: BuildInfoLabels::RedisExporter,
};

/// redis_exporter's flags, with its environment variable names.
#[derive(Debug, Parser)]
struct RedisArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    redis: RedisFlags,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Redis")]
pub struct RedisFlags {
    /// Address of the Redis instance to scrape (redis://, rediss://, unix:// or host:port).
    #[arg(
        long = "redis.addr",
        env = "REDIS_ADDR",
        value_name = "ADDRESS",
        default_value = "redis://localhost:6379"
    )]
    pub addr: String,
    /// User name for Redis ACL authentication.
    #[arg(
        long = "redis.user",
        env = "REDIS_USER",
        value_name = "USER",
        default_value = ""
    )]
    pub user: String,
    /// Password of the Redis instance.
    #[arg(
        long = "redis.password",
        env = "REDIS_PASSWORD",
        value_name = "PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub password: String,
    /// JSON file of Redis URI to password (`{"redis://host:6379": "pass"}`,
    /// `redis://user@host:6379` for ACL users), used when --redis.password
    /// is empty; re-read when it changes.
    #[arg(
        long = "redis.password-file",
        env = "REDIS_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub password_file: Option<std::path::PathBuf>,
    /// Namespace (prefix) for the metrics.
    #[arg(
        long = "namespace",
        env = "REDIS_EXPORTER_NAMESPACE",
        value_name = "NAME",
        default_value = "redis"
    )]
    pub namespace: String,
    /// Timeout for the connection to Redis and each command; the whole scrape
    /// is also bounded by the scraper's timeout.
    #[arg(
        long = "connection-timeout",
        env = "REDIS_EXPORTER_CONNECTION_TIMEOUT",
        value_name = "DURATION",
        default_value = "15s",
        value_parser = humantime::parse_duration
    )]
    pub connection_timeout: Duration,
    /// Whether to set the client name to redis_exporter.
    #[arg(
        long = "set-client-name",
        env = "REDIS_EXPORTER_SET_CLIENT_NAME",
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub set_client_name: bool,
    /// Targets `/scrape?target=` may reach: a regular expression matched
    /// against the whole target (e.g. `redis://10\.0\.0\.[0-9]+:6379`).
    /// Empty (the default) refuses every `/scrape` request, so the exporter
    /// cannot be used to probe the network; unix sockets are reachable only
    /// if the expression names them.
    #[arg(
        long = "scrape.allowed-targets",
        env = "REDIS_EXPORTER_SCRAPE_ALLOWED_TARGETS",
        value_name = "REGEX",
        default_value = ""
    )]
    pub allowed_targets: String,
    /// What to use for the CONFIG command ("-" skips it): managed Redis
    /// services rename or block CONFIG.
    #[arg(
        long = "config-command",
        env = "REDIS_EXPORTER_CONFIG_COMMAND",
        value_name = "COMMAND",
        default_value = "CONFIG"
    )]
    pub config_command: String,
    /// Send PING after connecting and export how long it took
    /// (`redis_exporter_last_scrape_ping_time_seconds`).
    #[arg(long = "ping-on-connect", env = "REDIS_EXPORTER_PING_ON_CONNECT")]
    pub ping_on_connect: bool,
    /// Export every CONFIG setting as `redis_config_key_value{key,value}`,
    /// and numeric ones as `redis_config_value{key}`.
    #[arg(
        long = "include-config-metrics",
        env = "REDIS_EXPORTER_INCL_CONFIG_METRICS"
    )]
    pub include_config_metrics: bool,
    /// Leave secrets (masterauth, requirepass, TLS key passphrases) out of
    /// the config metrics.
    #[arg(
        long = "redact-config-metrics",
        env = "REDIS_EXPORTER_REDACT_CONFIG_METRICS",
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub redact_config_metrics: bool,
    /// Skip LATENCY LATEST and LATENCY HISTOGRAM (blocked on some managed
    /// Redis services).
    #[arg(
        long = "exclude-latency-histogram-metrics",
        env = "REDIS_EXPORTER_EXCLUDE_LATENCY_HISTOGRAM_METRICS"
    )]
    pub exclude_latency_histogram_metrics: bool,
    #[command(flatten)]
    pub tls: tls::TlsFlags,
    /// Export only Redis metrics: no process_* or promhttp_* families.
    #[arg(long = "redis-only-metrics", env = "REDIS_EXPORTER_REDIS_ONLY_METRICS")]
    pub redis_only_metrics: bool,
}

fn main() -> ExitCode {
    let args: RedisArgs = cli::parse(&INFO);
    args.common.start_logging(&INFO);
    let exporter = match scrape::RedisExporter::new(args.redis) {
        Ok(exporter) => exporter,
        Err(message) => cli::fatal(&INFO, message),
    };
    let mut web = args.common.web;
    // redis_exporter's --redis-only-metrics drops the exporter's own process
    // and build families.
    web.disable_exporter_metrics |= exporter.redis_only_metrics();
    exporter_kit::serve(&INFO, &web, Readiness::ready(), exporter)
}
