//! Network device counters, `node_network_*_total{device}`.
//!
//! As node_exporter, from one rtnetlink dump by default, and from
//! /proc/net/dev with `--no-collector.netdev.netlink`. Like upstream's, the
//! netlink source is this process's network namespace whatever
//! `--path.procfs` says (so tests on a fixture tree turn it off); /proc/net
//! is the reader's namespace too, so on a real host both see the same
//! devices. The default names sum the detailed counters as /proc/net/dev
//! does, plus `receive_nohandler`, which /proc/net/dev lacks.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::ArgAction;
use exporter_kit::exposition::{MetricSet, MetricType, intern_fmt};

use crate::collector::{CollectError, Collector, Registration, read};
use crate::device_filter::{DeviceFilter, replace_deprecated};
use crate::rtnetlink::{LinkReader, STATS, stat};

pub const REGISTRATION: Registration = Registration {
    name: "netdev",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.netdev;
        let include = replace_deprecated(
            flags.old_device_include.as_deref(),
            given(&flags.device_include),
            "collector.netdev.device-whitelist",
            "collector.netdev.device-include",
        )?;
        let exclude = replace_deprecated(
            flags.old_device_exclude.as_deref(),
            given(&flags.device_exclude),
            "collector.netdev.device-blacklist",
            "collector.netdev.device-exclude",
        )?;
        let filter = DeviceFilter::new(
            exclude.as_deref().unwrap_or_default(),
            include.as_deref().unwrap_or_default(),
            "--collector.netdev",
        )?;
        Ok(Box::new(NetDev {
            dev: context.paths.proc("net/dev"),
            class_net: context.paths.sys("class/net"),
            filter,
            netlink: (!flags.no_netlink).then(|| Mutex::new(LinkReader::default())),
            detailed: flags.enable_detailed_metrics,
            label_ifalias: flags.label_ifalias,
            address_info: flags.address_info,
        }))
    },
};

/// A flag defaulting to `""` counts as given once it has a value.
fn given(value: &str) -> Option<&str> {
    Some(value).filter(|v| !v.is_empty())
}

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.netdev.device-include",
        long = "collector.netdev.device-include",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_include: String,
    #[arg(
        id = "collector.netdev.device-whitelist",
        long = "collector.netdev.device-whitelist",
        value_name = "REGEX",
        hide = true
    )]
    pub old_device_include: Option<String>,
    /// Regexp of net devices to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.netdev.device-exclude",
        long = "collector.netdev.device-exclude",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_exclude: String,
    #[arg(
        id = "collector.netdev.device-blacklist",
        long = "collector.netdev.device-blacklist",
        value_name = "REGEX",
        hide = true
    )]
    pub old_device_exclude: Option<String>,
    /// Collect address-info for every device.
    #[arg(
        id = "collector.netdev.address-info",
        long = "collector.netdev.address-info"
    )]
    pub address_info: bool,
    /// Use (incompatible) metric names that provide more detailed stats on Linux.
    #[arg(
        id = "collector.netdev.enable-detailed-metrics",
        long = "collector.netdev.enable-detailed-metrics"
    )]
    pub enable_detailed_metrics: bool,
    /// Read /proc/net/dev instead of netlink (which adds receive_nohandler).
    #[arg(id = "no-collector.netdev.netlink", long = "no-collector.netdev.netlink", action = ArgAction::SetTrue, overrides_with = "collector.netdev.netlink")]
    pub no_netlink: bool,
    /// Use netlink's family set (default).
    #[arg(id = "collector.netdev.netlink", long = "collector.netdev.netlink", action = ArgAction::SetTrue, overrides_with = "no-collector.netdev.netlink", hide = true)]
    pub netlink: bool,
    /// Add ifAlias label.
    #[arg(
        id = "collector.netdev.label-ifalias",
        long = "collector.netdev.label-ifalias"
    )]
    pub label_ifalias: bool,
}

struct NetDev {
    dev: PathBuf,
    class_net: PathBuf,
    filter: DeviceFilter,
    /// With netlink on, its reader.
    netlink: Option<Mutex<LinkReader>>,
    detailed: bool,
    label_ifalias: bool,
    address_info: bool,
}

/// /proc/net/dev columns: (legacy name, detailed name).
const COLUMNS: [(&str, &str); 16] = [
    ("receive_bytes", "receive_bytes"),
    ("receive_packets", "receive_packets"),
    ("receive_errs", "receive_errors"),
    ("receive_drop", "receive_dropped"),
    ("receive_fifo", "receive_fifo"),
    ("receive_frame", "receive_frame"),
    ("receive_compressed", "receive_compressed"),
    ("receive_multicast", "receive_multicast"),
    ("transmit_bytes", "transmit_bytes"),
    ("transmit_packets", "transmit_packets"),
    ("transmit_errs", "transmit_errors"),
    ("transmit_drop", "transmit_dropped"),
    ("transmit_fifo", "transmit_fifo"),
    ("transmit_colls", "transmit_colls"),
    ("transmit_carrier", "transmit_carrier"),
    ("transmit_compressed", "transmit_compressed"),
];

/// `(device, 16 counters)` per line after the two header lines.
fn parse(text: &str, path: &Path) -> Result<Vec<(String, [u64; 16])>, CollectError> {
    let mut devices: Vec<(String, [u64; 16])> = Vec::new();
    for line in text.lines().skip(2) {
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| CollectError::parse(path, "invalid net/dev line, missing colon"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(CollectError::parse(
                path,
                "invalid net/dev line, empty interface name",
            ));
        }
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        if fields.len() < 16 {
            return Err(CollectError::parse(
                path,
                format!("invalid net/dev line for {name}: {} fields", fields.len()),
            ));
        }
        let mut counters = [0u64; 16];
        for (slot, field) in counters.iter_mut().zip(&fields) {
            *slot = field.parse().map_err(|_| {
                CollectError::parse(path, format!("invalid counter {field:?} for {name}"))
            })?;
        }
        devices.retain(|(existing, _)| existing != name);
        devices.push((name.to_owned(), counters));
    }
    Ok(devices)
}

/// The /proc/net/dev columns from netlink's counters, summed as the kernel
/// sums them for /proc/net/dev and node_exporter for its legacy names.
fn proc_columns(s: &[u64; STATS]) -> [u64; 16] {
    let sum = |fields: &[usize]| fields.iter().fold(0u64, |t, &f| t.wrapping_add(s[f]));
    [
        s[stat::RX_BYTES],
        s[stat::RX_PACKETS],
        s[stat::RX_ERRORS],
        sum(&[stat::RX_DROPPED, stat::RX_MISSED_ERRORS]),
        s[stat::RX_FIFO_ERRORS],
        sum(&[
            stat::RX_FRAME_ERRORS,
            stat::RX_LENGTH_ERRORS,
            stat::RX_OVER_ERRORS,
            stat::RX_CRC_ERRORS,
        ]),
        s[stat::RX_COMPRESSED],
        s[stat::MULTICAST],
        s[stat::TX_BYTES],
        s[stat::TX_PACKETS],
        s[stat::TX_ERRORS],
        s[stat::TX_DROPPED],
        s[stat::TX_FIFO_ERRORS],
        s[stat::COLLISIONS],
        sum(&[
            stat::TX_CARRIER_ERRORS,
            stat::TX_ABORTED_ERRORS,
            stat::TX_HEARTBEAT_ERRORS,
            stat::TX_WINDOW_ERRORS,
        ]),
        s[stat::TX_COMPRESSED],
    ]
}

/// Counters of one device under their metric names.
type Device = (String, Vec<(&'static str, u64)>);

impl Collector for NetDev {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let devices: Vec<Device> = match &self.netlink {
            Some(reader) => self
                .netlink_links(reader)?
                .into_iter()
                .filter(|link| !self.filter.ignored(&link.name))
                .map(|link| {
                    let counters = if self.detailed {
                        crate::rtnetlink::STAT_NAMES
                            .into_iter()
                            .zip(link.stats)
                            .collect()
                    } else {
                        let mut counters: Vec<_> = COLUMNS
                            .iter()
                            .map(|(legacy, _)| *legacy)
                            .zip(proc_columns(&link.stats))
                            .collect();
                        counters.push(("receive_nohandler", link.stats[stat::RX_NOHANDLER]));
                        counters
                    };
                    (link.name, counters)
                })
                .collect(),
            None => parse(&read(&self.dev)?, &self.dev)?
                .into_iter()
                .filter(|(name, _)| !self.filter.ignored(name))
                .map(|(name, values)| {
                    let names = COLUMNS.iter().map(
                        |(legacy, detailed)| {
                            if self.detailed { *detailed } else { *legacy }
                        },
                    );
                    (name, names.zip(values).collect())
                })
                .collect(),
        };
        let aliases: Vec<Option<String>> = devices
            .iter()
            .map(|(name, _)| {
                self.label_ifalias.then(|| {
                    crate::collector::read_text(self.class_net.join(name).join("ifalias"))
                        .map(|a| a.trim().to_owned())
                        .unwrap_or_default()
                })
            })
            .collect();
        let mut labels = Vec::with_capacity(2);
        // Every device has the same counters: the first names the families.
        let keys = devices
            .first()
            .map(|(_, counters)| counters.iter().map(|(key, _)| *key));
        for (column, key) in keys.into_iter().flatten().enumerate() {
            let family = out.family(
                intern_fmt(format_args!("node_network_{key}_total")),
                intern_fmt(format_args!("Network device statistic {key}.")),
                MetricType::Counter,
            );
            for ((name, counters), alias) in devices.iter().zip(&aliases) {
                labels.clear();
                labels.push(("device", name.as_str()));
                if let Some(alias) = alias {
                    labels.push(("ifalias", alias.as_str()));
                }
                family.sample(&labels, counters[column].1 as f64);
            }
        }
        if self.address_info {
            self.update_addresses(out)?;
        }
        Ok(())
    }
}

impl NetDev {
    fn netlink_links(
        &self,
        reader: &Mutex<LinkReader>,
    ) -> Result<Vec<crate::rtnetlink::Link>, CollectError> {
        let mut reader = reader.lock().unwrap_or_else(|p| p.into_inner());
        reader
            .links()
            .map_err(|e| CollectError::io(Path::new("rtnetlink RTM_GETLINK"), e))
    }

    fn update_addresses(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        use std::net::IpAddr;
        let addresses = nix::ifaddrs::getifaddrs()
            .map_err(|e| CollectError::io(Path::new("getifaddrs"), e.into()))?;
        let family = out.family(
            "node_network_address_info",
            "node network address by device",
            MetricType::Gauge,
        );
        for interface in addresses {
            let (Some(address), Some(netmask)) = (interface.address, interface.netmask) else {
                continue;
            };
            let (ip, prefix): (IpAddr, u32) =
                if let (Some(a), Some(m)) = (address.as_sockaddr_in(), netmask.as_sockaddr_in()) {
                    (IpAddr::V4(a.ip()), m.ip().to_bits().count_ones())
                } else if let (Some(a), Some(m)) =
                    (address.as_sockaddr_in6(), netmask.as_sockaddr_in6())
                {
                    (IpAddr::V6(a.ip()), m.ip().to_bits().count_ones())
                } else {
                    continue;
                };
            let scope = match ip {
                IpAddr::V4(v4) if v4.is_loopback() || v4.is_link_local() => "link-local",
                IpAddr::V6(v6) if v6.is_loopback() || v6.is_unicast_link_local() => "link-local",
                IpAddr::V6(v6) if v6.is_multicast() && (v6.segments()[0] & 0x000f) == 2 => {
                    "link-local"
                }
                IpAddr::V6(v6) if v6.is_multicast() && (v6.segments()[0] & 0x000f) == 1 => {
                    "interface-local"
                }
                ip if !ip.is_multicast() && !ip.is_unspecified() && !is_broadcast(ip) => "global",
                _ => "",
            };
            family.sample(
                &[
                    ("device", &interface.interface_name),
                    ("address", &ip.to_string()),
                    ("netmask", &prefix.to_string()),
                    ("scope", scope),
                ],
                1.0,
            );
        }
        Ok(())
    }
}

fn is_broadcast(ip: std::net::IpAddr) -> bool {
    matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_dev_lines() {
        let text = "Inter-|   Receive\n face |bytes\n    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\neth0: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 18446744073709551615\n";
        let devices = parse(text, Path::new("x")).unwrap();
        assert_eq!(devices[0].0, "lo");
        assert_eq!(devices[0].1[15], 16);
        assert_eq!(devices[1].1[15], u64::MAX);
        assert!(parse("h\nh\nlo 1 2\n", Path::new("x")).is_err());
        assert!(parse("h\nh\n: 1 2\n", Path::new("x")).is_err());
        assert!(parse("h\nh\nlo: 1 2\n", Path::new("x")).is_err());
        assert!(
            parse(
                "h\nh\nlo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n",
                Path::new("x")
            )
            .is_err()
        );
    }
}
