//! Per-CPU scheduler statistics from /proc/schedstat.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read_or_no_data};

pub const REGISTRATION: Registration = Registration {
    name: "schedstat",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(SchedStat {
            path: context.paths.proc("schedstat"),
        }))
    },
};

struct SchedStat {
    path: PathBuf,
}

impl Collector for SchedStat {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = read_or_no_data(&self.path)?;
        let rows = parse(&text);
        for (name, help, column, scale) in [
            (
                "node_schedstat_running_seconds_total",
                "Number of seconds CPU spent running a process.",
                0,
                1e9,
            ),
            (
                "node_schedstat_waiting_seconds_total",
                "Number of seconds spent by processing waiting for this CPU.",
                1,
                1e9,
            ),
            (
                "node_schedstat_timeslices_total",
                "Number of timeslices executed by CPU.",
                2,
                1.0,
            ),
        ] {
            let family = out.family(name, help, MetricType::Counter);
            for (cpu, values) in &rows {
                family.sample(&[("cpu", cpu)], values[column] as f64 / scale);
            }
        }
        Ok(())
    }
}

/// `cpuN` lines with at least nine numbers: running ns, waiting ns and
/// timeslices are the 7th to 9th. Other lines, and lines whose numbers do not
/// parse, are skipped as node_exporter skips them.
fn parse(text: &str) -> Vec<(String, [u64; 3])> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let id = fields.next()?.strip_prefix("cpu")?;
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let numbers: Vec<&str> = fields.collect();
            if numbers.len() < 9
                || !numbers[..9]
                    .iter()
                    .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            {
                return None;
            }
            let values = [
                numbers[6].parse().ok()?,
                numbers[7].parse().ok()?,
                numbers[8].parse().ok()?,
            ];
            Some((id.to_owned(), values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_cpu_lines_only() {
        let text = "version 15\ntimestamp 4296\ncpu0 0 0 0 0 0 0 2000000000 3000000000 42\ndomain0 3 1 2\ncpu1 1 2\ncpu2 0 0 0 0 0 0 x 1 1\n";
        assert_eq!(
            parse(text),
            [("0".to_owned(), [2_000_000_000, 3_000_000_000, 42])]
        );
    }
}
