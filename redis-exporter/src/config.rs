//! Families from `CONFIG GET *`.

use std::borrow::Cow;

use exporter_kit::exposition::{MetricSet, MetricType};

/// Config keys exported as `config_<key>` gauges.
const NUMERIC: [&str; 4] = ["maxclients", "maxmemory", "io-threads", "repl-backlog-size"];

/// Settings `--redact-config-metrics` keeps out of the config metrics.
const SECRETS: [&str; 4] = [
    "masterauth",
    "requirepass",
    "tls-key-file-pass",
    "tls-client-key-file-pass",
];

/// Which optional config families to add.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--include-config-metrics`: every setting, as upstream exports them.
    pub include_all: bool,
    /// `--redact-config-metrics`: no series at all for secrets.
    pub redact: bool,
}

/// Adds the config families; returns the `databases` setting if given.
pub fn extract(
    config: &[(Cow<'_, str>, Cow<'_, str>)],
    namespace: &str,
    options: Options,
    out: &mut MetricSet,
) -> Option<usize> {
    let name = |metric: &str| crate::metric_name(namespace, metric);
    let mut databases = None;
    for (key, value) in config {
        let (key, value) = (key.as_ref(), value.as_ref());
        let secret = options.redact && SECRETS.contains(&key);
        if options.include_all && !secret {
            out.family(
                name("config_key_value"),
                "Config key and value",
                MetricType::Gauge,
            )
            .sample(&[("key", key), ("value", value)], 1.0);
            if let Ok(number) = value.parse::<f64>() {
                out.family(
                    name("config_value"),
                    "Config key and value as metric",
                    MetricType::Gauge,
                )
                .sample(&[("key", key)], number);
            }
        }
        if key == "databases" {
            databases = value.parse().ok();
        }
        if NUMERIC.contains(&key)
            && let Ok(number) = value.parse::<f64>()
        {
            let metric = format!("config_{}", key.replace('-', "_"));
            let help = format!("{metric} metric");
            out.single(name(&metric), help, MetricType::Gauge, number);
        }
        if key == "client-output-buffer-limit" {
            let parts: Vec<&str> = value.split(' ').collect();
            for group in parts.chunks(4) {
                let [class, hard, soft, seconds] = group else {
                    continue;
                };
                let (Ok(hard), Ok(soft), Ok(seconds)) = (
                    hard.parse::<f64>(),
                    soft.parse::<f64>(),
                    seconds.parse::<f64>(),
                ) else {
                    continue;
                };
                let bytes = out.family(
                    name("config_client_output_buffer_limit_bytes"),
                    "The configured buffer limits per class",
                    MetricType::Gauge,
                );
                bytes.sample(&[("class", class), ("limit", "hard")], hard);
                bytes.sample(&[("class", class), ("limit", "soft")], soft);
                out.family(
                    name("config_client_output_buffer_limit_overcome_seconds"),
                    "How long for buffer limits per class to be exceeded before replicas are dropped",
                    MetricType::Gauge,
                )
                .sample(&[("class", class), ("limit", "soft")], seconds);
            }
        }
    }
    databases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_families() {
        let config: Vec<(Cow<str>, Cow<str>)> = [
            ("maxmemory", "0"),
            ("maxclients", "10000"),
            ("databases", "16"),
            (
                "client-output-buffer-limit",
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            ),
            ("requirepass", "secret"),
        ]
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v)))
        .collect();
        let mut out = MetricSet::new();
        let defaults = Options {
            include_all: false,
            redact: true,
        };
        assert_eq!(extract(&config, "redis", defaults, &mut out), Some(16));
        out.finish();
        let names: Vec<&str> = out.families().iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "redis_config_client_output_buffer_limit_bytes",
                "redis_config_client_output_buffer_limit_overcome_seconds",
                "redis_config_maxclients",
                "redis_config_maxmemory",
            ]
        );
        assert_eq!(out.families()[0].samples.len(), 6);
    }

    #[test]
    fn every_setting_with_secrets_redacted_unless_asked() {
        let config: Vec<(Cow<str>, Cow<str>)> = [
            ("maxmemory-policy", "noeviction"),
            ("hz", "10"),
            ("requirepass", "secret"),
        ]
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v)))
        .collect();
        for (redact, expect_secret) in [(true, false), (false, true)] {
            let mut out = MetricSet::new();
            let options = Options {
                include_all: true,
                redact,
            };
            extract(&config, "redis", options, &mut out);
            out.finish();
            let key_values = &out.families()[0];
            assert_eq!(key_values.name, "redis_config_key_value");
            let has_secret = key_values
                .samples
                .iter()
                .any(|s| s.labels.iter().any(|l| l.value == "secret"));
            assert_eq!(has_secret, expect_secret, "redact={redact}");
            let numeric = &out.families()[1];
            assert_eq!(numeric.name, "redis_config_value");
            assert_eq!(numeric.samples.len(), 1, "only hz is a number");
        }
    }
}
