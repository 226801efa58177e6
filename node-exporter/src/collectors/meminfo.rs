//! `node_memory_*` from /proc/meminfo: one gauge per field, kB turned into
//! bytes (`_bytes` suffix), unit-less fields (HugePages_*) as they are.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType, intern};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "meminfo",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(MemInfo {
            path: context.paths.proc("meminfo"),
        }))
    },
};

struct MemInfo {
    path: PathBuf,
}

impl Collector for MemInfo {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = read(&self.path)?;
        let mut name = String::new();
        let mut help = String::new();
        for line in text.lines() {
            let field = parse_line(line).map_err(|line| {
                CollectError::parse(&self.path, format!("invalid line {line:?}"))
            })?;
            let Some((key, unit, value)) = field else {
                continue;
            };
            name.clear();
            name.push_str("node_memory_");
            push_metric_key(&mut name, key, unit);
            help.clear();
            help.push_str("Memory information field ");
            push_metric_key(&mut help, key, unit);
            help.push('.');
            out.single(intern(&name), intern(&help), MetricType::Gauge, value);
        }
        Ok(())
    }
}

/// The /proc/meminfo keys node_exporter exports (since 1.9 it uses a fixed
/// list, so newer kernel fields stay out until upstream adds them).
const EXPORTED: [&str; 51] = [
    "Active",
    "Active(anon)",
    "Active(file)",
    "AnonHugePages",
    "AnonPages",
    "Bounce",
    "Buffers",
    "Cached",
    "CmaFree",
    "CmaTotal",
    "CommitLimit",
    "Committed_AS",
    "DirectMap1G",
    "DirectMap2M",
    "DirectMap4k",
    "Dirty",
    "HardwareCorrupted",
    "HugePages_Free",
    "HugePages_Rsvd",
    "HugePages_Surp",
    "HugePages_Total",
    "Hugepagesize",
    "Inactive",
    "Inactive(anon)",
    "Inactive(file)",
    "KernelStack",
    "Mapped",
    "MemAvailable",
    "MemFree",
    "MemTotal",
    "Mlocked",
    "NFS_Unstable",
    "PageTables",
    "Percpu",
    "SReclaimable",
    "SUnreclaim",
    "Shmem",
    "ShmemHugePages",
    "ShmemPmdMapped",
    "Slab",
    "SwapCached",
    "SwapFree",
    "SwapTotal",
    "Unevictable",
    "VmallocChunk",
    "VmallocTotal",
    "VmallocUsed",
    "Writeback",
    "WritebackTmp",
    "Zswap",
    "Zswapped",
];

/// One line: `(key, unit suffix, value)` when its key is exported, `None`
/// when not. kB values become bytes, with a `_bytes` suffix.
fn parse_line(line: &str) -> Result<Option<(&str, &'static str, f64)>, &str> {
    let mut parts = line.split_ascii_whitespace();
    let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
        return Err(line);
    };
    let value = value.parse::<u64>().map_err(|_| line)? as f64;
    let (value, unit) = match (parts.next(), parts.next()) {
        (None, _) => (value, ""),
        (Some("kB"), None) => (value * 1024.0, "_bytes"),
        _ => return Err(line),
    };
    let key = key.strip_suffix(':').ok_or(line)?;
    Ok(EXPORTED
        .binary_search(&key)
        .is_ok()
        .then_some((key, unit, value)))
}

/// Appends the metric name's part for `key`: `Active(anon)` becomes
/// `Active_anon`, then the unit suffix.
fn push_metric_key(out: &mut String, key: &str, unit: &str) {
    out.extend(key.chars().filter_map(|c| match c {
        '(' => Some('_'),
        ')' => None,
        c => Some(c),
    }));
    out.push_str(unit);
}

/// `(metric name suffix, value)` for each exported line.
#[cfg(test)]
fn parse(text: &str) -> Result<Vec<(String, f64)>, &str> {
    let mut fields = Vec::new();
    for line in text.lines() {
        if let Some((key, unit, value)) = parse_line(line)? {
            let mut name = String::new();
            push_metric_key(&mut name, key, unit);
            fields.push((name, value));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_and_units() {
        let fields = parse(
            "MemTotal:       16337400 kB\nActive(anon):     12 kB\nHugePages_Total:       0\n",
        )
        .unwrap();
        assert_eq!(
            fields,
            [
                ("MemTotal_bytes".to_owned(), 16337400.0 * 1024.0),
                ("Active_anon_bytes".to_owned(), 12.0 * 1024.0),
                ("HugePages_Total".to_owned(), 0.0),
            ]
        );
    }

    #[test]
    fn exported_keys_are_sorted_for_binary_search() {
        assert!(super::EXPORTED.is_sorted());
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        assert!(parse("MemTotal 1 kB\n").is_err());
        assert!(parse("MemTotal: lots kB\n").is_err());
        assert!(parse("MemTotal: 1 MB\n").is_err());
        assert!(parse("MemTotal:\n").is_err());
        assert!(parse("\n").is_err());
    }
}
