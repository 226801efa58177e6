//! `node_udp_queues{ip,queue}`: bytes queued in UDP sockets, from
//! /proc/net/udp and /proc/net/udp6.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read_text_extent};
use crate::pseudo::Extent;

pub const REGISTRATION: Registration = Registration {
    name: "udp_queues",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(UdpQueues {
            v4: context.paths.proc("net/udp"),
            v6: context.paths.proc("net/udp6"),
        }))
    },
};

/// The longest line of /proc/net/udp (each is padded to 128 bytes) and
/// /proc/net/udp6 (about 170 with every field at its widest).
const LONGEST_LINE: usize = 256;

struct UdpQueues {
    v4: PathBuf,
    v6: PathBuf,
}

/// Sums of the tx_queue and rx_queue columns.
fn sum_queues(text: &str, path: &Path) -> Result<(u64, u64), CollectError> {
    let (mut tx, mut rx) = (0u64, 0u64);
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < 13 {
            return Err(CollectError::parse(
                path,
                format!("cannot parse net udp socket line as it has less than 13 columns {line:?}"),
            ));
        }
        let (tx_queue, rx_queue) = fields[4]
            .split_once(':')
            .ok_or_else(|| CollectError::parse(path, format!("cannot parse queues in {line:?}")))?;
        let hex = |s: &str| {
            u64::from_str_radix(s, 16)
                .map_err(|_| CollectError::parse(path, format!("cannot parse queues in {line:?}")))
        };
        tx = tx.wrapping_add(hex(tx_queue)?);
        rx = rx.wrapping_add(hex(rx_queue)?);
    }
    Ok((tx, rx))
}

impl Collector for UdpQueues {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut found = false;
        for (path, ip) in [(&self.v4, "v4"), (&self.v6, "v6")] {
            let text = match read_text_extent(path, Extent::LinesUpTo(LONGEST_LINE)) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectError::io(path, e)),
            };
            let (tx, rx) = sum_queues(&text, path)?;
            let family = out.family(
                "node_udp_queues",
                "Number of allocated memory in the kernel for UDP datagrams in bytes.",
                MetricType::Gauge,
            );
            family.sample(&[("queue", "tx"), ("ip", ip)], tx as f64);
            family.sample(&[("queue", "rx"), ("ip", ip)], rx as f64);
            found = true;
        }
        if !found {
            return Err(CollectError::NoData(
                "no /proc/net/udp or /proc/net/udp6".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_queues() {
        let text = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
                    0: 00000000:0044 00000000:0000 07 00000010:00000020 00:00000000 00000000     0        0 12345 2 0000000000000000 0\n";
        assert_eq!(sum_queues(text, Path::new("x")).unwrap(), (16, 32));
        assert!(sum_queues("h\n0: short\n", Path::new("x")).is_err());
    }
}
