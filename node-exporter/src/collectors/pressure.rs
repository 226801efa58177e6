//! Pressure stall information from /proc/pressure/{cpu,io,memory,irq}.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "pressure",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Pressure {
            dir: context.paths.proc("pressure"),
        }))
    },
};

struct Pressure {
    dir: PathBuf,
}

/// A metric name and its help text.
type Metric = Option<(&'static str, &'static str)>;

/// Per resource: the metric for its `some` line, then for its `full` line.
const RESOURCES: [(&str, Metric, Metric); 4] = [
    (
        "cpu",
        Some((
            "node_pressure_cpu_waiting_seconds_total",
            "Total time in seconds that processes have waited for CPU time",
        )),
        None,
    ),
    (
        "io",
        Some((
            "node_pressure_io_waiting_seconds_total",
            "Total time in seconds that processes have waited due to IO congestion",
        )),
        Some((
            "node_pressure_io_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IO congestion",
        )),
    ),
    (
        "memory",
        Some((
            "node_pressure_memory_waiting_seconds_total",
            "Total time in seconds that processes have waited for memory",
        )),
        Some((
            "node_pressure_memory_stalled_seconds_total",
            "Total time in seconds no process could make progress due to memory congestion",
        )),
    ),
    (
        "irq",
        None,
        Some((
            "node_pressure_irq_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IRQ congestion",
        )),
    ),
];

const EOPNOTSUPP: i32 = 95;

impl Collector for Pressure {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut found = 0;
        for (resource, some_metric, full_metric) in RESOURCES {
            let path = self.dir.join(resource);
            let text = match crate::collector::read_text(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.raw_os_error() == Some(EOPNOTSUPP) => {
                    return Err(CollectError::NoData(
                        "pressure stall information is disabled".into(),
                    ));
                }
                Err(e) => return Err(CollectError::io(&path, e)),
            };
            let (some, full) = parse(&text).map_err(|e| CollectError::parse(&path, e))?;
            if some.is_none() && resource != "irq" {
                return Err(CollectError::NoData(format!(
                    "{} has no \"some\" line",
                    path.display()
                )));
            }
            if full.is_none() && resource != "cpu" {
                return Err(CollectError::NoData(format!(
                    "{} has no \"full\" line",
                    path.display()
                )));
            }
            for (metric, total) in [(some_metric, some), (full_metric, full)] {
                if let (Some((name, help)), Some(total)) = (metric, total) {
                    // Two divisions, exactly as node_exporter computes it.
                    out.single(
                        name,
                        help,
                        MetricType::Counter,
                        total as f64 / 1000.0 / 1000.0,
                    );
                }
            }
            found += 1;
        }
        if found == 0 {
            return Err(CollectError::NoData(
                "pressure information is unavailable, you need a Linux kernel >= 4.20 and/or CONFIG_PSI".into(),
            ));
        }
        Ok(())
    }
}

/// The `total=` microseconds of the `some` and `full` lines.
fn parse(text: &str) -> Result<(Option<u64>, Option<u64>), String> {
    let (mut some, mut full) = (None, None);
    for line in text.lines() {
        let target = match line.split(' ').next() {
            Some("some") => &mut some,
            Some("full") => &mut full,
            _ => continue,
        };
        let fields: Vec<&str> = line.split(' ').skip(1).collect();
        let [avg10, avg60, avg300, total] = fields[..] else {
            return Err(format!("invalid line {line:?}"));
        };
        for (field, key) in [(avg10, "avg10="), (avg60, "avg60="), (avg300, "avg300=")] {
            field
                .strip_prefix(key)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("invalid line {line:?}"))?;
        }
        *target = Some(
            total
                .strip_prefix("total=")
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("invalid line {line:?}"))?,
        );
    }
    Ok((some, full))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_totals_and_refuses_malformed_lines() {
        let text = "some avg10=0.00 avg60=0.10 avg300=0.00 total=98196282\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(parse(text).unwrap(), (Some(98196282), Some(0)));
        assert_eq!(parse("").unwrap(), (None, None));
        assert!(parse("some avg10=x avg60=0 avg300=0 total=1\n").is_err());
        assert!(parse("some total=1\n").is_err());
    }

    #[test]
    fn two_divisions_as_go_does() {
        let total_microseconds = 98196282_f64;
        assert_eq!(total_microseconds / 1000.0 / 1000.0, 98.19628200000001);
    }
}
