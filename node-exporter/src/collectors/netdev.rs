//! Network device counters, `node_network_*_total{device}`.
//!
//! node_exporter reads these over netlink by default; the kernel's
//! /proc/net/dev carries the same aggregated ("legacy") values in one read,
//! and sysfs adds the one counter it lacks (`rx_nohandler`). With
//! `--no-collector.netdev.netlink` that counter is left out, as upstream's
//! /proc path leaves it out.

use std::path::{Path, PathBuf};

use clap::ArgAction;
use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};
use crate::device_filter::DeviceFilter;

pub const REGISTRATION: Registration = Registration {
    name: "netdev",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.netdev;
        let filter = DeviceFilter::new(
            &flags.device_exclude,
            &flags.device_include,
            "--collector.netdev",
        )?;
        Ok(Box::new(NetDev {
            dev: context.paths.proc("net/dev"),
            class_net: context.paths.sys("class/net"),
            filter,
            netlink_families: !flags.no_netlink,
            detailed: flags.enable_detailed_metrics,
            label_ifalias: flags.label_ifalias,
            address_info: flags.address_info,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.netdev.device-include",
        long = "collector.netdev.device-include",
        alias = "collector.netdev.device-whitelist",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of net devices to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.netdev.device-exclude",
        long = "collector.netdev.device-exclude",
        alias = "collector.netdev.device-blacklist",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_exclude: String,
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
    /// Use the /proc/net/dev family set instead of netlink's (which adds receive_nohandler).
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
    netlink_families: bool,
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
        let fields: Vec<&str> = rest.split_whitespace().collect();
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

impl Collector for NetDev {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let devices = parse(&read(&self.dev)?, &self.dev)?;
        let devices: Vec<_> = devices
            .into_iter()
            .filter(|(name, _)| !self.filter.ignored(name))
            .collect();
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
        let labels = |index: usize| -> Vec<(&str, &str)> {
            let mut labels = vec![("device", devices[index].0.as_str())];
            if let Some(alias) = &aliases[index] {
                labels.push(("ifalias", alias.as_str()));
            }
            labels
        };
        for (column, (legacy, detailed)) in COLUMNS.iter().enumerate() {
            let key = if self.detailed { detailed } else { legacy };
            let family = out.family(
                format!("node_network_{key}_total"),
                format!("Network device statistic {key}."),
                MetricType::Counter,
            );
            for (index, (_, counters)) in devices.iter().enumerate() {
                family.sample(&labels(index), counters[column] as f64);
            }
        }
        if self.netlink_families {
            let family = out.family(
                "node_network_receive_nohandler_total",
                "Network device statistic receive_nohandler.",
                MetricType::Counter,
            );
            for (index, (name, _)) in devices.iter().enumerate() {
                let path = self.class_net.join(name).join("statistics/rx_nohandler");
                if let Some(count) = crate::collector::read_text(path)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                {
                    family.sample(&labels(index), count as f64);
                }
            }
        }
        if self.address_info {
            self.update_addresses(out)?;
        }
        Ok(())
    }
}

impl NetDev {
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
