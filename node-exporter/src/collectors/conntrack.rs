//! Connection tracking table size and statistics.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "conntrack",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Conntrack {
            count: context.paths.proc("sys/net/netfilter/nf_conntrack_count"),
            max: context.paths.proc("sys/net/netfilter/nf_conntrack_max"),
            stat: context.paths.proc("net/stat/nf_conntrack"),
        }))
    },
};

struct Conntrack {
    count: PathBuf,
    max: PathBuf,
    stat: PathBuf,
}

/// (metric, help, column of /proc/net/stat/nf_conntrack)
const STATS: [(&str, &str, usize); 8] = [
    (
        "node_nf_conntrack_stat_found",
        "Number of searched entries which were successful.",
        2,
    ),
    (
        "node_nf_conntrack_stat_invalid",
        "Number of packets seen which can not be tracked.",
        4,
    ),
    (
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
        5,
    ),
    (
        "node_nf_conntrack_stat_insert",
        "Number of entries inserted into the list.",
        8,
    ),
    (
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
        9,
    ),
    (
        "node_nf_conntrack_stat_drop",
        "Number of packets dropped due to conntrack failure.",
        10,
    ),
    (
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
        11,
    ),
    (
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
        16,
    ),
];

/// A missing file means conntrack is not loaded.
fn read_conntrack(path: &Path) -> Result<String, CollectError> {
    crate::collector::read_text(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            CollectError::NoData("conntrack probably not loaded".into())
        }
        _ => CollectError::io(path, e),
    })
}

fn read_number(path: &Path) -> Result<f64, CollectError> {
    let text = read_conntrack(path)?;
    text.trim()
        .parse::<u64>()
        .map(|v| v as f64)
        .map_err(|e| CollectError::parse(path, e.to_string()))
}

/// Column sums over all CPUs' lines; 17 columns (search_restart is 0 when a
/// kernel writes 16).
fn sum_stats(text: &str, path: &Path) -> Result<[u64; 17], CollectError> {
    let mut sums = [0u64; 17];
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() != 16 && fields.len() != 17 {
            return Err(CollectError::parse(
                path,
                format!(
                    "invalid conntrackstat entry, invalid number of fields: {}",
                    fields.len()
                ),
            ));
        }
        for (sum, field) in sums.iter_mut().zip(&fields) {
            let value = u64::from_str_radix(field, 16)
                .map_err(|e| CollectError::parse(path, format!("{field:?}: {e}")))?;
            *sum = sum.wrapping_add(value);
        }
    }
    Ok(sums)
}

impl Collector for Conntrack {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        out.single(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
            MetricType::Gauge,
            read_number(&self.count)?,
        );
        out.single(
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
            MetricType::Gauge,
            read_number(&self.max)?,
        );
        let sums = sum_stats(&read_conntrack(&self.stat)?, &self.stat)?;
        for (name, help, column) in STATS {
            out.single(name, help, MetricType::Gauge, sums[column] as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_hex_columns() {
        let header = "entries searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart\n";
        let line = "00000021 00000000 00000001 00000000 00000005 0000588a 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000002\n";
        let sums = sum_stats(&format!("{header}{line}{line}"), Path::new("x")).unwrap();
        assert_eq!(sums[5], 2 * 0x588a);
        assert_eq!(sums[16], 4);
        assert!(sum_stats(&format!("{header}1 2 3\n"), Path::new("x")).is_err());
        assert!(
            sum_stats(
                &format!("{header}{}", line.replace("00000021", "zz")),
                Path::new("x")
            )
            .is_err()
        );
    }
}
