//! Network interface properties from /sys/class/net/<device>/.

use std::collections::HashMap;
use std::os::unix::fs::DirEntryExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration};
use crate::procfs::parse_int_any_base;
use crate::pseudo::{Extent, KeptFile, read_again, read_fresh};
use crate::sysfs::{ATTRIBUTE_SIZE, Directory, attribute_text, is_absent};

pub const REGISTRATION: Registration = Registration {
    name: "netclass",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.netclass;
        let ignored = Regex::new(&flags.ignored_devices)
            .map_err(|e| format!("--collector.netclass.ignored-devices: {e}"))?;
        let root = context.paths.sys("class/net");
        Ok(Box::new(NetClass {
            keep: crate::pseudo::is_pseudo_path(&root),
            root,
            ignored,
            ignore_invalid_speed: flags.ignore_invalid_speed,
            kept: Mutex::new(HashMap::new()),
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to ignore for netclass collector.
    #[arg(
        id = "collector.netclass.ignored-devices",
        long = "collector.netclass.ignored-devices",
        value_name = "REGEX",
        default_value = "^$"
    )]
    pub ignored_devices: String,
    /// Ignore devices where the speed is invalid. This will be the default behavior in 2.x.
    #[arg(
        id = "collector.netclass.ignore-invalid-speed",
        long = "collector.netclass.ignore-invalid-speed"
    )]
    pub ignore_invalid_speed: bool,
}

struct NetClass {
    root: PathBuf,
    ignored: Regex,
    ignore_invalid_speed: bool,
    /// Whether `root` is sysfs, whose files may be kept open.
    keep: bool,
    /// By device name, the devices of the last scrape.
    kept: Mutex<HashMap<String, KeptDevice>>,
}

/// (metric, type, sysfs file), in node_exporter's order.
const PROPERTIES: [(&str, MetricType, &str); 16] = [
    ("address_assign_type", MetricType::Gauge, "addr_assign_type"),
    ("carrier", MetricType::Gauge, "carrier"),
    (
        "carrier_changes_total",
        MetricType::Counter,
        "carrier_changes",
    ),
    (
        "carrier_up_changes_total",
        MetricType::Counter,
        "carrier_up_count",
    ),
    (
        "carrier_down_changes_total",
        MetricType::Counter,
        "carrier_down_count",
    ),
    ("device_id", MetricType::Gauge, "dev_id"),
    ("dormant", MetricType::Gauge, "dormant"),
    ("flags", MetricType::Gauge, "flags"),
    ("iface_id", MetricType::Gauge, "ifindex"),
    ("iface_link", MetricType::Gauge, "iflink"),
    ("iface_link_mode", MetricType::Gauge, "link_mode"),
    ("mtu_bytes", MetricType::Gauge, "mtu"),
    ("name_assign_type", MetricType::Gauge, "name_assign_type"),
    ("net_dev_group", MetricType::Gauge, "netdev_group"),
    ("transmit_queue_length", MetricType::Gauge, "tx_queue_len"),
    ("protocol_type", MetricType::Gauge, "type"),
];

/// Every file read per device, each once: the string attributes of
/// `node_network_info` and `node_network_up`, the [`PROPERTIES`] (`flags`
/// is both) and `speed`. Only these: a device directory holds twice as many.
const FILES: [&str; 22] = [
    "address",
    "broadcast",
    "duplex",
    "operstate",
    "ifalias",
    "flags",
    "addr_assign_type",
    "carrier",
    "carrier_changes",
    "carrier_up_count",
    "carrier_down_count",
    "dev_id",
    "dormant",
    "ifindex",
    "iflink",
    "link_mode",
    "mtu",
    "name_assign_type",
    "netdev_group",
    "tx_queue_len",
    "type",
    "speed",
];

/// A device's attribute files, kept open between scrapes (see
/// [`crate::pseudo`]). They stay valid while the device's entry in the class
/// directory is the same kernfs node, told by its inode number: a renamed
/// device keeps its node, and a device that takes a free name gets a new one.
struct KeptDevice {
    inode: u64,
    files: [Option<KeptFile>; FILES.len()],
}

/// The attributes node_exporter reports for one device. Attributes the
/// kernel refuses to read on this device (EINVAL on a down link...) are
/// absent, as with node_exporter.
fn read_attributes(
    dir: &Path,
    kept: &mut KeptDevice,
    keep: bool,
) -> Result<HashMap<&'static str, String>, std::io::Error> {
    let mut directory = None;
    let mut attributes = HashMap::new();
    for (file, slot) in FILES.iter().zip(&mut kept.files) {
        let extent = Extent::FirstRead(ATTRIBUTE_SIZE);
        let read = match slot {
            Some(open) => read_again(open.file(), extent),
            None => {
                let directory = match &directory {
                    Some(directory) => directory,
                    None => directory.insert(Directory::open(dir)?),
                };
                directory.open_file(file).and_then(|mut opened| {
                    let read = read_fresh(&mut opened, extent);
                    if keep {
                        *slot = KeptFile::keep_on_pseudo_fs(opened);
                    }
                    read
                })
            }
        };
        match read {
            Ok(bytes) => {
                attributes.insert(*file, attribute_text(&bytes));
            }
            Err(e) if is_absent(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(attributes)
}

impl Collector for NetClass {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(CollectError::NoData(format!(
                    "{}: {e}",
                    self.root.display()
                )));
            }
            Err(e) => return Err(CollectError::io(&self.root, e)),
        };
        let mut devices: Vec<(String, HashMap<&str, String>)> = Vec::new();
        let mut names: Vec<(String, PathBuf, u64)> = entries
            .flatten()
            // bonding_masters and other plain files are not devices.
            .filter(|e| !e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.path(),
                    e.ino(),
                )
            })
            .filter(|(name, _, _)| !self.ignored.is_match(name))
            .collect();
        names.sort();
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        // Devices not seen again are closed when this drops.
        let mut previous = std::mem::take(&mut *kept);
        for (name, path, inode) in names {
            let mut device = previous
                .remove(&name)
                .filter(|device| device.inode == inode)
                .unwrap_or_else(|| KeptDevice {
                    inode,
                    files: Default::default(),
                });
            match read_attributes(&path, &mut device, self.keep) {
                Ok(attributes) => {
                    devices.push((name.clone(), attributes));
                    kept.insert(name, device);
                }
                // A device that vanished mid-scrape is simply gone: its
                // directory is missing, or its kept files answer ENODEV.
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(nix::libc::ENODEV) => {}
                Err(e) => return Err(CollectError::io(&path, e)),
            }
        }
        drop(kept);

        let up = out.family(
            "node_network_up",
            "Value is 1 if operstate is 'up', 0 otherwise.",
            MetricType::Gauge,
        );
        for (name, attributes) in &devices {
            let value = if attributes.get("operstate").is_some_and(|s| s == "up") {
                1.0
            } else {
                0.0
            };
            up.sample(&[("device", name)], value);
        }
        let info = out.family(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
            MetricType::Gauge,
        );
        for (name, attributes) in &devices {
            let get = |key: &str| attributes.get(key).map_or("", String::as_str);
            let adminstate = match attributes.get("flags").and_then(|f| parse_int_any_base(f)) {
                None if !attributes.contains_key("flags") => "unknown",
                Some(flags) if flags & 1 == 1 => "up",
                _ => "down",
            };
            info.sample(
                &[
                    ("device", name),
                    ("address", get("address")),
                    ("broadcast", get("broadcast")),
                    ("duplex", get("duplex")),
                    ("operstate", get("operstate")),
                    ("adminstate", adminstate),
                    ("ifalias", get("ifalias")),
                ],
                1.0,
            );
        }
        for (metric, kind, file) in PROPERTIES {
            let family = out.family(
                format!("node_network_{metric}"),
                format!("Network device property: {metric}"),
                kind,
            );
            for (name, attributes) in &devices {
                if let Some(value) = attributes.get(file) {
                    family.sample(
                        &[("device", name)],
                        parse_int_any_base(value).unwrap_or(0) as f64,
                    );
                }
            }
        }
        let family = out.family(
            "node_network_speed_bytes",
            "Network device property: speed_bytes",
            MetricType::Gauge,
        );
        for (name, attributes) in &devices {
            let Some(speed) = attributes.get("speed") else {
                continue;
            };
            let speed = parse_int_any_base(speed).unwrap_or(0);
            if speed >= 0 || !self.ignore_invalid_speed {
                family.sample(&[("device", name)], (speed * 1000 * 1000 / 8) as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_file_is_read() {
        for (_, _, file) in PROPERTIES {
            assert!(FILES.contains(&file), "{file}");
        }
        for (i, file) in FILES.iter().enumerate() {
            assert!(!FILES[..i].contains(file), "{file} twice");
        }
    }
}
