//! `node_arp_entries{device}`: neighbour table entries per interface, from
//! /proc/net/arp. node_exporter reads the same table over netlink by default;
//! `--[no-]collector.arp.netlink` is accepted for compatibility and both
//! read /proc/net/arp, which lists the same entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};
use crate::device_filter::DeviceFilter;

pub const REGISTRATION: Registration = Registration {
    name: "arp",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.arp;
        let filter = DeviceFilter::new(
            &flags.device_exclude,
            &flags.device_include,
            "--collector.arp",
        )?;
        Ok(Box::new(Arp {
            path: context.paths.proc("net/arp"),
            filter,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of arp devices to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.arp.device-include",
        long = "collector.arp.device-include",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_include: String,
    /// Regexp of arp devices to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.arp.device-exclude",
        long = "collector.arp.device-exclude",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_exclude: String,
    /// Use netlink to gather stats instead of /proc/net/arp (same entries; accepted for compatibility).
    #[arg(id = "collector.arp.netlink", long = "collector.arp.netlink", action = clap::ArgAction::SetTrue, overrides_with = "no-collector.arp.netlink", hide = true)]
    pub netlink: bool,
    /// Read /proc/net/arp (what this exporter does either way).
    #[arg(id = "no-collector.arp.netlink", long = "no-collector.arp.netlink", action = clap::ArgAction::SetTrue, overrides_with = "collector.arp.netlink", hide = true)]
    pub no_netlink: bool,
}

struct Arp {
    path: PathBuf,
    filter: DeviceFilter,
}

fn count(text: &str, path: &Path) -> Result<BTreeMap<String, u64>, CollectError> {
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let columns: Vec<&str> = line.split_ascii_whitespace().collect();
        match columns.len() {
            // Blank lines and the header.
            0 | 9 => continue,
            6 => {}
            n => {
                return Err(CollectError::parse(
                    path,
                    format!("{n} columns were detected, but 6 were expected"),
                ));
            }
        }
        *entries.entry(columns[5].to_owned()).or_default() += 1;
    }
    Ok(entries)
}

impl Collector for Arp {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let entries = count(&read(&self.path)?, &self.path)?;
        let family = out.family(
            "node_arp_entries",
            "ARP entries by device",
            MetricType::Gauge,
        );
        for (device, count) in entries.iter().filter(|(d, _)| !self.filter.ignored(d)) {
            family.sample(&[("device", device)], *count as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_device() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
                    192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0\n\
                    192.0.2.2        0x1         0x0         00:00:00:00:00:00     *        eth0\n";
        let entries = count(text, Path::new("x")).unwrap();
        assert_eq!(entries["eth0"], 2);
        assert!(count("a b c\n", Path::new("x")).is_err());
    }
}
