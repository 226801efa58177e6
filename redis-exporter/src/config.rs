//! Families from `CONFIG GET *`.

use exporter_kit::exposition::{MetricSet, MetricType};

/// Config keys exported as `config_<key>` gauges.
const NUMERIC: [&str; 4] = ["maxclients", "maxmemory", "io-threads", "repl-backlog-size"];

/// Adds the config families; returns the `databases` setting if given.
pub fn extract(config: &[(String, String)], namespace: &str, out: &mut MetricSet) -> Option<usize> {
    let name = |metric: &str| format!("{namespace}_{metric}");
    let mut databases = None;
    for (key, value) in config {
        if key == "databases" {
            databases = value.parse().ok();
        }
        if NUMERIC.contains(&key.as_str())
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
        let config: Vec<(String, String)> = [
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
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mut out = MetricSet::new();
        assert_eq!(extract(&config, "redis", &mut out), Some(16));
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
}
