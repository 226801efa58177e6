//! Network interface properties: from /sys/class/net/<device>/ by default,
//! and with `--collector.netclass.netlink` as node_exporter's netlink variant
//! (`netclass_rtnl_linux.go`) reads them, for hosts where sysfs reads
//! contend for the RTNL lock: one RTM_GETLINK dump, one ethtool
//! LINKMODES_GET dump for speed and duplex, and the three sysfs attributes
//! netlink lacks (`addr_assign_type`, `dev_id`, `name_assign_type`, which
//! take only the device's own lock).
//!
//! The netlink variant's output is upstream's, differences from the sysfs
//! variant included:
//! - `node_network_info` has no `adminstate` label and another help text;
//! - `node_network_altnames_info{altname,device}` gives each alternative name;
//! - `flags` are the kernel's `dev_get_flags()` (RUNNING, LOWER_UP, DORMANT
//!   added from the link state); `carrier` is there for down links too;
//! - `dormant` is the link mode, as upstream takes it;
//! - `iface_link` is the device's own index unless IFLA_LINK names another;
//! - speed and duplex are ethtool's, for devices whose driver has link
//!   settings (not lo, ifb or tun): duplex `Half`, `Full` or `Unknown`, and
//!   an unknown speed is 4294967295 Mb/s, which
//!   `--collector.netclass.ignore-invalid-speed` does not drop.
//!
//! `--collector.netclass_rtnl.with-stats` adds, to the netlink variant only,
//! each link's `rtnl_link_stats64` counters from the same dump (links
//! without IFLA_STATS64 have none), under netdev's detailed names
//! (`node_network_receive_bytes_total`...) but as upstream types them:
//! gauges, with netclass's help. Upstream's help says they replace netdev,
//! and they clash with it when it is on too: 7 names of its default set, all
//! 24 with `--collector.netdev.enable-detailed-metrics`, each with another
//! type and help on either side. Go's registry keeps whichever collector's
//! sample of a name reaches it first (a race, mostly won by netclass: 25
//! scrapes in 30 of node_exporter 1.5 on a test machine) and rejects the
//! other's as gathering errors, logged at each scrape while the rest is
//! served. Here netclass's gauges always win (collectors' results are merged
//! in registration order, the first family of a name kept) and each netdev
//! family dropped is logged as a gathering error.

use std::collections::HashMap;
use std::os::unix::fs::DirEntryExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::ArgAction;
use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration};
use crate::procfs::parse_int_any_base;
use crate::pseudo::{Extent, KeptFile, read_again, read_fresh};
use crate::rtnetlink::{LinkMode, LinkModeReader, LinkProperties, LinkReader, STAT_NAMES, STATS};
use crate::sysfs::{ATTRIBUTE_SIZE, Directory, attribute_text, is_absent, read_attribute};

pub const REGISTRATION: Registration = Registration {
    name: "netclass",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.netclass;
        let ignored = Regex::new(&flags.ignored_devices)
            .map_err(|e| format!("--collector.netclass.ignored-devices: {e}"))?;
        Ok(Box::new(NetClass::new(
            context.paths.sys("class/net"),
            ignored,
            flags.ignore_invalid_speed,
            flags.netlink,
            flags.with_stats,
        )))
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
    // Upstream's help, /proc/net/dev included: it is /sys/class/net that
    // netlink stands in for.
    /// Use netlink to gather stats instead of /proc/net/dev.
    #[arg(id = "collector.netclass.netlink", long = "collector.netclass.netlink", action = ArgAction::SetTrue, overrides_with = "no-collector.netclass.netlink")]
    pub netlink: bool,
    /// Read /sys/class/net (default).
    #[arg(id = "no-collector.netclass.netlink", long = "no-collector.netclass.netlink", action = ArgAction::SetTrue, overrides_with = "collector.netclass.netlink", hide = true)]
    pub no_netlink: bool,
    // Upstream's name from when the netlink variant was a collector of its
    // own (netclass_rtnl), and its help: it has effect only with
    // --collector.netclass.netlink.
    /// Expose the statistics for each network device, replacing netdev collector.
    #[arg(id = "collector.netclass_rtnl.with-stats", long = "collector.netclass_rtnl.with-stats", action = ArgAction::SetTrue, overrides_with = "no-collector.netclass_rtnl.with-stats")]
    pub with_stats: bool,
    /// Leave the counters to netdev (default).
    #[arg(id = "no-collector.netclass_rtnl.with-stats", long = "no-collector.netclass_rtnl.with-stats", action = ArgAction::SetTrue, overrides_with = "collector.netclass_rtnl.with-stats", hide = true)]
    pub no_with_stats: bool,
}

struct NetClass {
    root: PathBuf,
    ignored: Regex,
    ignore_invalid_speed: bool,
    source: Source,
}

enum Source {
    Sysfs {
        /// Whether `root` is sysfs, whose files may be kept open.
        keep: bool,
        /// By device name, the devices of the last scrape.
        kept: Mutex<HashMap<String, KeptDevice>>,
    },
    Netlink {
        readers: Mutex<Readers>,
        /// Whether to report each link's counters too.
        with_stats: bool,
    },
}

#[derive(Default)]
struct Readers {
    links: LinkReader,
    modes: LinkModeReader,
}

/// A property's value from a netlink dump, or `None` if the netlink
/// variant reads it from sysfs too.
type FromNetlink = Option<fn(&LinkProperties) -> Option<f64>>;

/// One `node_network_<metric>{device}` family.
struct Property {
    /// `node_network_<metric>`.
    name: &'static str,
    /// `Network device property: <metric>`, as upstream.
    help: &'static str,
    kind: MetricType,
    /// The sysfs attribute.
    file: &'static str,
    netlink: FromNetlink,
}

/// A [`Property`] for `node_network_<metric>`: its name and help text made
/// at compile time, not formatted at every scrape.
macro_rules! property {
    ($metric:literal, $kind:ident, $file:literal, $netlink:expr $(,)?) => {
        Property {
            name: concat!("node_network_", $metric),
            help: concat!("Network device property: ", $metric),
            kind: MetricType::$kind,
            file: $file,
            netlink: $netlink,
        }
    };
}

/// In node_exporter's order.
const PROPERTIES: [Property; 16] = [
    property!("address_assign_type", Gauge, "addr_assign_type", None),
    property!(
        "carrier",
        Gauge,
        "carrier",
        Some(|link| link.carrier.map(f64::from))
    ),
    property!(
        "carrier_changes_total",
        Counter,
        "carrier_changes",
        Some(|link| link.carrier_changes.map(f64::from))
    ),
    property!(
        "carrier_up_changes_total",
        Counter,
        "carrier_up_count",
        Some(|link| link.carrier_up_count.map(f64::from))
    ),
    property!(
        "carrier_down_changes_total",
        Counter,
        "carrier_down_count",
        Some(|link| link.carrier_down_count.map(f64::from))
    ),
    property!("device_id", Gauge, "dev_id", None),
    property!(
        "dormant",
        Gauge,
        "dormant",
        // Upstream's netlink variant reports the link mode here.
        Some(|link| link.link_mode.map(f64::from))
    ),
    property!(
        "flags",
        Gauge,
        "flags",
        Some(|link| Some(f64::from(link.flags)))
    ),
    property!(
        "iface_id",
        Gauge,
        "ifindex",
        Some(|link| Some(f64::from(link.index)))
    ),
    property!(
        "iface_link",
        Gauge,
        "iflink",
        // The kernel leaves IFLA_LINK out when it is the device itself;
        // upstream takes 0 (an ipip fallback's "no link") for absent too.
        Some(|link| {
            Some(f64::from(
                link.link.filter(|&other| other > 0).unwrap_or(link.index),
            ))
        })
    ),
    property!(
        "iface_link_mode",
        Gauge,
        "link_mode",
        Some(|link| link.link_mode.map(f64::from))
    ),
    property!(
        "mtu_bytes",
        Gauge,
        "mtu",
        Some(|link| link.mtu.map(f64::from))
    ),
    property!("name_assign_type", Gauge, "name_assign_type", None),
    property!(
        "net_dev_group",
        Gauge,
        "netdev_group",
        Some(|link| link.group.map(f64::from))
    ),
    property!(
        "transmit_queue_length",
        Gauge,
        "tx_queue_len",
        Some(|link| link.tx_queue_length.map(f64::from))
    ),
    property!(
        "protocol_type",
        Gauge,
        "type",
        Some(|link| Some(f64::from(link.kind)))
    ),
];

/// Every file the sysfs variant reads per device, each once: the string
/// attributes of `node_network_info` and `node_network_up`, the
/// [`PROPERTIES`] (`flags` is both) and `speed`. Only these: a device
/// directory holds twice as many.
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

/// RFC 2863 operational states by IF_OPER_* value, named as sysfs names them.
const OPERSTATES: [&str; 7] = [
    "unknown",
    "notpresent",
    "down",
    "lowerlayerdown",
    "testing",
    "dormant",
    "up",
];

/// A device's attribute files, kept open between scrapes (see
/// [`crate::pseudo`]). They stay valid while the device's entry in the class
/// directory is the same kernfs node, told by its inode number: a renamed
/// device keeps its node, and a device that takes a free name gets a new one.
struct KeptDevice {
    inode: u64,
    files: [Option<KeptFile>; FILES.len()],
}

/// What node_exporter reports of one device, from either source.
struct Device {
    name: String,
    operstate: String,
    address: String,
    broadcast: String,
    duplex: String,
    /// `None` from netlink, whose `node_network_info` lacks the label.
    adminstate: Option<&'static str>,
    ifalias: String,
    /// By [`PROPERTIES`] index.
    properties: [Option<f64>; PROPERTIES.len()],
    speed_bytes: Option<f64>,
    altnames: Vec<String>,
    /// The counters to report, by [`crate::rtnetlink::stat`] index: only
    /// the netlink variant's, with `--collector.netclass_rtnl.with-stats`.
    stats: Option<[u64; STATS]>,
}

/// A device's attributes by [`FILES`] index; `None` for one the kernel
/// refuses to read on this device (EINVAL on a down link...), which is
/// absent, as with node_exporter.
struct Attributes([Option<String>; FILES.len()]);

impl Attributes {
    fn position(file: &str) -> usize {
        FILES
            .iter()
            .position(|known| *known == file)
            .expect("every attribute read is in FILES")
    }

    fn get(&self, file: &str) -> Option<&str> {
        self.0[Self::position(file)].as_deref()
    }

    fn take(&mut self, file: &str) -> String {
        self.0[Self::position(file)].take().unwrap_or_default()
    }
}

/// Reads the attributes node_exporter reports for one device.
fn read_attributes(
    dir: &Path,
    kept: &mut KeptDevice,
    keep: bool,
) -> Result<Attributes, std::io::Error> {
    let mut directory = None;
    let mut attributes = Attributes(Default::default());
    for ((file, slot), value) in FILES.iter().zip(&mut kept.files).zip(&mut attributes.0) {
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
            Ok(bytes) => *value = Some(attribute_text(&bytes)),
            Err(e) if is_absent(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(attributes)
}

/// Sysfs' numbers: decimal, or hexadecimal with 0x (`dev_id`).
fn number(text: &str) -> i64 {
    parse_int_any_base(text).unwrap_or(0)
}

impl Device {
    fn from_sysfs(name: String, mut attributes: Attributes, ignore_invalid_speed: bool) -> Device {
        let adminstate = match attributes.get("flags").map(number) {
            None => "unknown",
            Some(flags) if flags & 1 == 1 => "up",
            Some(_) => "down",
        };
        let speed_bytes = attributes
            .get("speed")
            .map(number)
            // Some devices say -1 for an unknown speed.
            .filter(|&speed| speed >= 0 || !ignore_invalid_speed)
            .map(|speed| (speed * 1000 * 1000 / 8) as f64);
        let properties =
            PROPERTIES.map(|property| attributes.get(property.file).map(|v| number(v) as f64));
        let mut text = |file| attributes.take(file);
        Device {
            operstate: text("operstate"),
            address: text("address"),
            broadcast: text("broadcast"),
            duplex: text("duplex"),
            ifalias: text("ifalias"),
            name,
            adminstate: Some(adminstate),
            properties,
            speed_bytes,
            altnames: Vec::new(),
            stats: None,
        }
    }

    /// `dir` is the device's sysfs directory, for the attributes netlink
    /// lacks.
    fn from_netlink(
        link: LinkProperties,
        mode: Option<&LinkMode>,
        dir: &Path,
        with_stats: bool,
    ) -> Result<Device, CollectError> {
        let mut properties = [None; PROPERTIES.len()];
        for (value, property) in properties.iter_mut().zip(&PROPERTIES) {
            *value = match property.netlink {
                Some(from_link) => from_link(&link),
                None => {
                    let path = dir.join(property.file);
                    match read_attribute(&path) {
                        Ok(text) => Some(number(&text) as f64),
                        Err(e) if is_absent(&e) => None,
                        Err(e) => return Err(CollectError::io(&path, e)),
                    }
                }
            };
        }
        let operstate = link.operstate.map_or(0, usize::from);
        Ok(Device {
            // Upstream would index past its table (and crash) on a state
            // the kernel does not have.
            operstate: OPERSTATES.get(operstate).unwrap_or(&"unknown").to_string(),
            address: hardware_address(&link.address),
            broadcast: hardware_address(&link.broadcast),
            duplex: mode.map(|mode| duplex(mode.duplex)).unwrap_or_default(),
            adminstate: None,
            ifalias: link.alias.unwrap_or_default(),
            properties,
            // Go reads the u32 into a 64-bit int: SPEED_UNKNOWN stays
            // positive, and is reported.
            speed_bytes: mode.map(|mode| (u64::from(mode.speed) * 1000 * 1000 / 8) as f64),
            altnames: link
                .altnames
                .into_iter()
                .filter(|altname| !altname.is_empty())
                .collect(),
            stats: link.stats64.filter(|_| with_stats),
            name: link.name,
        })
    }
}

/// As Go's `net.HardwareAddr` prints it.
fn hardware_address(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// As the Go ethtool package's `Duplex` prints it.
fn duplex(value: u8) -> String {
    match value {
        0 => "Half".to_owned(),
        1 => "Full".to_owned(),
        255 => "Unknown".to_owned(),
        other => format!("Duplex({other})"),
    }
}

impl Collector for NetClass {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let (devices, info_help) = match &self.source {
            Source::Sysfs { keep, kept } => (
                self.sysfs_devices(*keep, kept)?,
                "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
            ),
            Source::Netlink {
                readers,
                with_stats,
            } => (
                self.netlink_devices(readers, *with_stats)?,
                "Non-numeric data of <iface>, value is always 1.",
            ),
        };
        write_devices(out, &devices, info_help);
        Ok(())
    }
}

/// node_exporter's families of `devices`, read by either variant, whose own
/// help of `node_network_info` is `info_help`.
fn write_devices(out: &mut MetricSet, devices: &[Device], info_help: &'static str) {
    let up = out.family(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        MetricType::Gauge,
    );
    for device in devices {
        let value = if device.operstate == "up" { 1.0 } else { 0.0 };
        up.sample(&[("device", &device.name)], value);
    }
    let info = out.family("node_network_info", info_help, MetricType::Gauge);
    let mut labels = Vec::with_capacity(7);
    for device in devices {
        labels.clear();
        labels.extend([
            ("device", device.name.as_str()),
            ("address", device.address.as_str()),
            ("broadcast", device.broadcast.as_str()),
            ("duplex", device.duplex.as_str()),
            ("operstate", device.operstate.as_str()),
            ("ifalias", device.ifalias.as_str()),
        ]);
        if let Some(adminstate) = device.adminstate {
            labels.push(("adminstate", adminstate));
        }
        info.sample(&labels, 1.0);
    }
    let altnames = out.family(
        "node_network_altnames_info",
        "Non-numeric data of <iface> altname, value is always 1.",
        MetricType::Gauge,
    );
    for device in devices {
        for altname in &device.altnames {
            altnames.sample(&[("altname", altname), ("device", &device.name)], 1.0);
        }
    }
    for (index, property) in PROPERTIES.iter().enumerate() {
        let family = out.family(property.name, property.help, property.kind);
        for device in devices {
            if let Some(value) = device.properties[index] {
                family.sample(&[("device", &device.name)], value);
            }
        }
    }
    let speed = out.family(
        "node_network_speed_bytes",
        "Network device property: speed_bytes",
        MetricType::Gauge,
    );
    for device in devices {
        if let Some(value) = device.speed_bytes {
            speed.sample(&[("device", &device.name)], value);
        }
    }
    // Empty families are dropped anyway: this spares formatting 48 names
    // at each scrape without --collector.netclass_rtnl.with-stats.
    if devices.iter().all(|device| device.stats.is_none()) {
        return;
    }
    for (index, name) in STAT_NAMES.iter().enumerate() {
        // Gauges named as properties: upstream's types and help.
        let family = out.family(
            format!("node_network_{name}_total"),
            format!("Network device property: {name}_total"),
            MetricType::Gauge,
        );
        for device in devices {
            if let Some(stats) = &device.stats {
                family.sample(&[("device", &device.name)], stats[index] as f64);
            }
        }
    }
}

impl NetClass {
    fn new(
        root: PathBuf,
        ignored: Regex,
        ignore_invalid_speed: bool,
        netlink: bool,
        with_stats: bool,
    ) -> NetClass {
        let source = if netlink {
            Source::Netlink {
                readers: Mutex::new(Readers::default()),
                with_stats,
            }
        } else {
            Source::Sysfs {
                keep: crate::pseudo::is_pseudo_path(&root),
                kept: Mutex::new(HashMap::new()),
            }
        };
        NetClass {
            root,
            ignored,
            ignore_invalid_speed,
            source,
        }
    }

    fn sysfs_devices(
        &self,
        keep: bool,
        kept: &Mutex<HashMap<String, KeptDevice>>,
    ) -> Result<Vec<Device>, CollectError> {
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
        let mut devices = Vec::new();
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
        let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
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
            match read_attributes(&path, &mut device, keep) {
                Ok(attributes) => {
                    devices.push(Device::from_sysfs(
                        name.clone(),
                        attributes,
                        self.ignore_invalid_speed,
                    ));
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
        Ok(devices)
    }

    /// Like upstream's and netdev's, the dumps are of this process's network
    /// namespace; the three sysfs attributes are read under `--path.sysfs`
    /// (upstream reads /sys whatever the flag says).
    fn netlink_devices(
        &self,
        readers: &Mutex<Readers>,
        with_stats: bool,
    ) -> Result<Vec<Device>, CollectError> {
        let mut readers = readers.lock().unwrap_or_else(|p| p.into_inner());
        let modes: HashMap<String, LinkMode> = match readers.modes.link_modes() {
            Ok(modes) => modes
                .unwrap_or_else(|| {
                    log::debug!(
                        "ETHTOOL netlink interface unavailable, duplex and linkspeed are not scraped."
                    );
                    Vec::new()
                })
                .into_iter()
                .map(|mode| (mode.name.clone(), mode))
                .collect(),
            Err(e) => return Err(CollectError::io(Path::new("ethtool LINKMODES_GET"), e)),
        };
        let links = readers
            .links
            .properties()
            .map_err(|e| CollectError::io(Path::new("rtnetlink RTM_GETLINK"), e))?;
        drop(readers);
        links
            .into_iter()
            .filter(|link| !self.ignored.is_match(&link.name))
            .map(|link| {
                let (mode, dir) = (modes.get(&link.name), self.root.join(&link.name));
                Device::from_netlink(link, mode, &dir, with_stats)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use clap::{Args as _, FromArgMatches as _};
    use exporter_kit::exposition::Value;

    use super::*;
    use crate::rtnetlink::stat;

    #[test]
    fn every_property_file_is_read() {
        for property in &PROPERTIES {
            assert!(FILES.contains(&property.file), "{}", property.file);
        }
        for (i, file) in FILES.iter().enumerate() {
            assert!(!FILES[..i].contains(file), "{file} twice");
        }
    }

    fn flags(args: &[&str]) -> Flags {
        let matches = Flags::augment_args(clap::Command::new("node-exporter"))
            .try_get_matches_from(std::iter::once("node-exporter").chain(args.iter().copied()))
            .unwrap();
        Flags::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn switches_are_off_unless_asked_for_and_the_last_flag_wins() {
        type Setting = fn(&Flags) -> bool;
        let switches: [(&str, Setting); 2] = [
            ("collector.netclass.netlink", |flags| flags.netlink),
            ("collector.netclass_rtnl.with-stats", |flags| {
                flags.with_stats
            }),
        ];
        for (name, value) in switches {
            let (on, off) = (format!("--{name}"), format!("--no-{name}"));
            assert!(!value(&flags(&[])), "{name}");
            assert!(value(&flags(&[&on])), "{name}");
            assert!(!value(&flags(&[&off])), "{name}");
            assert!(!value(&flags(&[&on, &off])), "{name}");
            assert!(value(&flags(&[&off, &on])), "{name}");
        }
        // Each is its own: with-stats does not turn netlink on.
        let with_stats = flags(&["--collector.netclass_rtnl.with-stats"]);
        assert!(!with_stats.netlink);
        let netlink = flags(&["--collector.netclass.netlink"]);
        assert!(!netlink.with_stats);
    }

    #[test]
    fn with_stats_has_upstreams_help() {
        let command = Flags::augment_args(clap::Command::new("node-exporter"));
        let help = command
            .get_arguments()
            .find(|arg| arg.get_id() == "collector.netclass_rtnl.with-stats")
            .and_then(|arg| arg.get_help())
            .map(ToString::to_string);
        // Less the final period, which clap drops from every flag's help.
        assert_eq!(
            help.as_deref(),
            Some("Expose the statistics for each network device, replacing netdev collector")
        );
    }

    fn property(device: &Device, metric: &str) -> Option<f64> {
        let name = format!("node_network_{metric}");
        let index = PROPERTIES.iter().position(|p| p.name == name).unwrap();
        device.properties[index]
    }

    #[test]
    fn a_netlink_device_is_reported_as_upstream_reports_it() {
        let sysfs = tempfile::tempdir().unwrap();
        std::fs::write(sysfs.path().join("addr_assign_type"), "3\n").unwrap();
        std::fs::write(sysfs.path().join("dev_id"), "0x1\n").unwrap();
        // No name_assign_type: absent, as when the kernel refuses it.
        let link = LinkProperties {
            index: 7,
            kind: 1,
            flags: 0x11043,
            name: "eth0".to_owned(),
            address: vec![2, 0xfc, 0, 0, 0, 1],
            broadcast: vec![0xff; 6],
            mtu: Some(1400),
            link: Some(0),
            operstate: Some(6),
            link_mode: Some(1),
            alias: Some("uplink".to_owned()),
            carrier: Some(1),
            altnames: vec!["enp0s3".to_owned(), String::new()],
            ..LinkProperties::default()
        };
        let mode = LinkMode {
            name: "eth0".to_owned(),
            speed: u32::MAX,
            duplex: 255,
        };
        let device = Device::from_netlink(link, Some(&mode), sysfs.path(), false).unwrap();
        assert_eq!(
            [
                &device.operstate,
                &device.address,
                &device.broadcast,
                &device.duplex,
                &device.ifalias
            ],
            [
                "up",
                "02:fc:00:00:00:01",
                "ff:ff:ff:ff:ff:ff",
                "Unknown",
                "uplink"
            ]
        );
        assert_eq!(device.adminstate, None);
        assert_eq!(device.altnames, ["enp0s3"]);
        assert_eq!(device.stats, None);
        assert_eq!(device.speed_bytes, Some(536_870_911_875_000.0));
        for (metric, value) in [
            ("address_assign_type", Some(3.0)),
            ("device_id", Some(1.0)),
            ("name_assign_type", None),
            ("iface_id", Some(7.0)),
            ("iface_link", Some(7.0)),
            ("dormant", Some(1.0)),
            ("iface_link_mode", Some(1.0)),
            ("flags", Some(f64::from(0x11043))),
            ("protocol_type", Some(1.0)),
            ("mtu_bytes", Some(1400.0)),
            ("carrier", Some(1.0)),
            ("carrier_changes_total", None),
            ("net_dev_group", None),
        ] {
            assert_eq!(property(&device, metric), value, "{metric}");
        }

        let odd = LinkProperties {
            name: "gre0".to_owned(),
            index: 9,
            link: Some(4),
            operstate: Some(42),
            ..LinkProperties::default()
        };
        let device = Device::from_netlink(odd, None, sysfs.path(), false).unwrap();
        assert_eq!(device.operstate, "unknown");
        assert_eq!((device.address.as_str(), device.duplex.as_str()), ("", ""));
        assert_eq!(device.speed_bytes, None);
        assert_eq!(property(&device, "iface_link"), Some(4.0));
        assert_eq!(duplex(0), "Half");
        assert_eq!(duplex(1), "Full");
        assert_eq!(duplex(7), "Duplex(7)");
    }

    fn scrape(netlink: bool, with_stats: bool) -> MetricSet {
        let collector = NetClass::new(
            PathBuf::from("/sys/class/net"),
            Regex::new("^$").unwrap(),
            false,
            netlink,
            with_stats,
        );
        let mut out = MetricSet::new();
        collector.update(&mut out).unwrap();
        assert_eq!(out.finish(), []);
        out
    }

    /// A family's samples: by device, their other labels and value.
    fn samples(set: &MetricSet, name: &str) -> BTreeMap<String, (BTreeMap<String, String>, f64)> {
        let Some(family) = set.families().iter().find(|f| f.name == name) else {
            return BTreeMap::new();
        };
        family
            .samples
            .iter()
            .map(|sample| {
                let mut labels: BTreeMap<String, String> = sample
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                let device = labels.remove("device").unwrap();
                let Value::Single(value) = sample.value else {
                    panic!("{name} is not a gauge or counter");
                };
                (device, (labels, value))
            })
            .collect()
    }

    fn values(set: &MetricSet, name: &str) -> BTreeMap<String, f64> {
        samples(set, name)
            .into_iter()
            .map(|(device, (_, value))| (device, value))
            .collect()
    }

    fn family_names(set: &MetricSet) -> BTreeSet<String> {
        set.families().iter().map(|f| f.name.to_string()).collect()
    }

    /// The with-stats family of each `rtnl_link_stats64` field.
    fn counter_families() -> BTreeSet<String> {
        STAT_NAMES
            .iter()
            .map(|name| format!("node_network_{name}_total"))
            .collect()
    }

    #[test]
    fn with_stats_the_counters_are_upstreams_gauges() {
        let sysfs = tempfile::tempdir().unwrap();
        let stats: [u64; STATS] = std::array::from_fn(|i| 1000 + i as u64);
        let write = |with_stats| {
            // ifb0 as if its driver had no IFLA_STATS64.
            let devices = [("eth0", Some(stats)), ("ifb0", None)].map(|(name, stats64)| {
                let link = LinkProperties {
                    name: name.to_owned(),
                    stats64,
                    ..LinkProperties::default()
                };
                Device::from_netlink(link, None, sysfs.path(), with_stats).unwrap()
            });
            let mut out = MetricSet::new();
            write_devices(&mut out, &devices, "info");
            assert_eq!(out.finish(), []);
            out
        };
        let (with, without) = (write(true), write(false));

        let added: BTreeSet<String> = family_names(&with)
            .difference(&family_names(&without))
            .cloned()
            .collect();
        assert_eq!(added, counter_families());
        for (index, name) in STAT_NAMES.iter().enumerate() {
            let metric = format!("node_network_{name}_total");
            let family = with.families().iter().find(|f| f.name == metric).unwrap();
            assert_eq!(family.kind, MetricType::Gauge, "{metric}");
            assert_eq!(
                family.help,
                format!("Network device property: {name}_total")
            );
            assert_eq!(
                values(&with, &metric),
                BTreeMap::from([("eth0".to_owned(), stats[index] as f64)])
            );
        }
        // Upstream's names of a few fields, spelled out.
        for (metric, field) in [
            ("node_network_receive_packets_total", stat::RX_PACKETS),
            ("node_network_transmit_bytes_total", stat::TX_BYTES),
            ("node_network_multicast_total", stat::MULTICAST),
            ("node_network_collisions_total", stat::COLLISIONS),
            (
                "node_network_receive_missed_errors_total",
                stat::RX_MISSED_ERRORS,
            ),
            (
                "node_network_transmit_window_errors_total",
                stat::TX_WINDOW_ERRORS,
            ),
            ("node_network_receive_nohandler_total", stat::RX_NOHANDLER),
        ] {
            assert_eq!(
                values(&with, metric)["eth0"],
                stats[field] as f64,
                "{metric}"
            );
        }
    }

    /// Each /proc/net/dev column, as the kernel sums it from the counters
    /// (`dev_seq_printf_stats()`), by with-stats name.
    const PROC_NET_DEV_COLUMNS: [&[&str]; 16] = [
        &["receive_bytes"],
        &["receive_packets"],
        &["receive_errors"],
        &["receive_dropped", "receive_missed_errors"],
        &["receive_fifo_errors"],
        &[
            "receive_length_errors",
            "receive_over_errors",
            "receive_crc_errors",
            "receive_frame_errors",
        ],
        &["receive_compressed"],
        &["multicast"],
        &["transmit_bytes"],
        &["transmit_packets"],
        &["transmit_errors"],
        &["transmit_dropped"],
        &["transmit_fifo_errors"],
        &["collisions"],
        &[
            "transmit_carrier_errors",
            "transmit_aborted_errors",
            "transmit_window_errors",
            "transmit_heartbeat_errors",
        ],
        &["transmit_compressed"],
    ];

    /// By device, its /proc/net/dev columns.
    fn proc_net_dev() -> BTreeMap<String, [u64; 16]> {
        let text = std::fs::read_to_string("/proc/net/dev").unwrap();
        text.lines()
            .skip(2)
            .map(|line| {
                let (name, columns) = line.split_once(':').unwrap();
                let columns: Vec<u64> = columns
                    .split_ascii_whitespace()
                    .map(|column| column.parse().unwrap())
                    .collect();
                (name.trim().to_owned(), columns.try_into().unwrap())
            })
            .collect()
    }

    /// The counters keep moving (lo most of all), so each must lie between
    /// a read of /proc/net/dev before the scrape and one after it.
    #[test]
    fn with_stats_the_live_counters_agree_with_proc_net_dev() {
        let before = proc_net_dev();
        let set = scrape(true, true);
        let after = proc_net_dev();
        assert!(family_names(&set).is_superset(&counter_families()));
        let mut checked = Vec::new();
        for (device, low) in &before {
            // Gone since the first read.
            let Some(high) = after.get(device) else {
                continue;
            };
            for (column, names) in PROC_NET_DEV_COLUMNS.iter().enumerate() {
                let ours: f64 = names
                    .iter()
                    .map(|name| {
                        let metric = format!("node_network_{name}_total");
                        values(&set, &metric)
                            .get(device)
                            .copied()
                            .unwrap_or_else(|| panic!("no {metric} for {device}"))
                    })
                    .sum();
                let (low, high) = (low[column] as f64, high[column] as f64);
                assert!(
                    low <= ours && ours <= high,
                    "{device} {names:?}: {ours} not in {low}..={high}"
                );
            }
            checked.push(device.as_str());
        }
        assert!(checked.contains(&"lo"), "{checked:?}");
    }

    /// Both ways on this machine's devices: whatever the two variants share
    /// and cannot drift between two scrapes agrees, device by device.
    #[test]
    fn the_netlink_variant_agrees_with_sysfs_on_the_live_devices() {
        let (sysfs, netlink) = (scrape(false, false), scrape(true, false));
        let devices = values(&sysfs, "node_network_up");
        assert!(devices.contains_key("lo"), "{devices:?}");
        assert_eq!(values(&netlink, "node_network_up"), devices);

        let extra: Vec<_> = family_names(&netlink)
            .difference(&family_names(&sysfs))
            .cloned()
            .collect();
        assert!(
            extra
                .iter()
                .all(|name| name == "node_network_altnames_info"),
            "{extra:?}"
        );

        let sysfs_info = samples(&sysfs, "node_network_info");
        for (device, (mut labels, _)) in samples(&netlink, "node_network_info") {
            let mut expected = sysfs_info[&device].0.clone();
            assert!(expected.remove("adminstate").is_some());
            // ethtool's names for what sysfs says in lower case; sysfs
            // refuses to say it for a down link.
            let (duplex, sysfs_duplex) = (labels.remove("duplex"), expected.remove("duplex"));
            if let (Some(duplex), Some(sysfs_duplex)) = (duplex, sysfs_duplex) {
                if !duplex.is_empty() && !sysfs_duplex.is_empty() {
                    assert_eq!(duplex.to_lowercase(), sysfs_duplex, "{device}");
                }
            }
            assert_eq!(labels, expected, "{device}");
        }

        for family in [
            "mtu_bytes",
            "iface_id",
            "protocol_type",
            "transmit_queue_length",
            "net_dev_group",
            "iface_link_mode",
            "address_assign_type",
            "device_id",
            "name_assign_type",
            "carrier_changes_total",
            "carrier_up_changes_total",
            "carrier_down_changes_total",
        ] {
            let name = format!("node_network_{family}");
            assert_eq!(values(&netlink, &name), values(&sysfs, &name), "{family}");
        }

        let netlink_link = values(&netlink, "node_network_iface_link");
        let ids = values(&netlink, "node_network_iface_id");
        for (device, iflink) in values(&sysfs, "node_network_iface_link") {
            // A tunnel's fallback device has iflink 0, reported as itself.
            let expected = if iflink == 0.0 { ids[&device] } else { iflink };
            assert_eq!(netlink_link[&device], expected, "{device}");
        }

        // Sysfs refuses carrier on a down link; netlink reports it anyway.
        let carrier = values(&netlink, "node_network_carrier");
        for (device, value) in values(&sysfs, "node_network_carrier") {
            assert_eq!(carrier[&device], value, "{device}");
        }

        // dev_get_flags() reports RUNNING, LOWER_UP and DORMANT from the
        // link state, and PROMISC and ALLMULTI as asked for rather than in
        // effect.
        const STATE: u32 = 0x40 | 0x1_0000 | 0x2_0000 | 0x100 | 0x200;
        let flags = values(&netlink, "node_network_flags");
        for (device, value) in values(&sysfs, "node_network_flags") {
            assert_eq!(
                flags[&device] as u32 & !STATE,
                value as u32 & !STATE,
                "{device}"
            );
        }

        // Sysfs says -1 for an unknown speed, ethtool 4294967295 (u32).
        let speeds = values(&netlink, "node_network_speed_bytes");
        for (device, bytes) in values(&sysfs, "node_network_speed_bytes") {
            if let Some(&netlink_bytes) = speeds.get(&device) {
                let mbits = (bytes * 8.0 / 1e6) as i32 as u32;
                assert_eq!(
                    netlink_bytes,
                    (u64::from(mbits) * 1000 * 1000 / 8) as f64,
                    "{device}"
                );
            }
        }
    }
}
