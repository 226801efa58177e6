//! Per-CPU packet processing statistics from /proc/net/softnet_stat.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "softnet",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Softnet {
            path: context.paths.proc("net/softnet_stat"),
        }))
    },
};

struct Softnet {
    path: PathBuf,
}

/// (metric, help, type, column of softnet_stat)
const FAMILIES: [(&str, &str, MetricType, usize); 7] = [
    (
        "node_softnet_processed_total",
        "Number of processed packets",
        MetricType::Counter,
        0,
    ),
    (
        "node_softnet_dropped_total",
        "Number of dropped packets",
        MetricType::Counter,
        1,
    ),
    (
        "node_softnet_times_squeezed_total",
        "Number of times processing packets ran out of quota",
        MetricType::Counter,
        2,
    ),
    (
        "node_softnet_cpu_collision_total",
        "Number of collision occur while obtaining device lock while transmitting",
        MetricType::Counter,
        8,
    ),
    (
        "node_softnet_received_rps_total",
        "Number of times cpu woken up received_rps",
        MetricType::Counter,
        9,
    ),
    (
        "node_softnet_flow_limit_count_total",
        "Number of times flow limit has been reached",
        MetricType::Counter,
        10,
    ),
    (
        "node_softnet_backlog_len",
        "Softnet backlog status",
        MetricType::Gauge,
        11,
    ),
];

impl Collector for Softnet {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let rows = parse(&read(&self.path)?).map_err(|e| CollectError::parse(&self.path, e))?;
        for (name, help, kind, column) in FAMILIES {
            let family = out.family(name, help, kind);
            for (cpu, values) in &rows {
                family.sample(&[("cpu", &cpu.to_string())], values[column] as f64);
            }
        }
        Ok(())
    }
}

/// One row per CPU: 13 hexadecimal columns (absent ones 0) and the CPU id,
/// which is column 12 when the kernel writes it and the row number otherwise.
fn parse(text: &str) -> Result<Vec<(u32, [u32; 13])>, String> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let columns: Vec<&str> = line.split_ascii_whitespace().collect();
        if columns.len() < 9 {
            return Err(format!(
                "detected {} columns, but expected at least 9",
                columns.len()
            ));
        }
        let mut values = [0u32; 13];
        for (slot, column) in values.iter_mut().zip(&columns) {
            *slot = u32::from_str_radix(column, 16)
                .map_err(|e| format!("invalid column {column:?}: {e}"))?;
        }
        let cpu = if columns.len() >= 13 {
            values[12]
        } else {
            index as u32
        };
        rows.push((cpu, values));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn rows_and_cpu_ids() {
        let text =
            "0000066f 00000001 00000002 0 0 0 0 0 0 0 0 0 00000003\n00003ea7 0 0 0 0 0 0 0 0\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows[0].0, 3);
        assert_eq!(rows[0].1[0], 0x66f);
        assert_eq!(rows[1].0, 1);
        assert!(parse("1 2 3\n").is_err());
        assert!(parse("zz 0 0 0 0 0 0 0 0\n").is_err());
    }
}
