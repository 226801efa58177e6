//! Block device I/O statistics from /proc/diskstats, with device details
//! from sysfs and the udev database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};
use crate::device_filter::{DeviceFilter, replace_deprecated};

pub const REGISTRATION: Registration = Registration {
    name: "diskstats",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.diskstats;
        // clap does not say whether a defaulted flag was given, so the
        // default is taken as not given.
        let exclude = replace_deprecated(
            flags.old_device_exclude.as_deref(),
            Some(flags.device_exclude.as_str()).filter(|e| *e != DEFAULT_DEVICE_EXCLUDE),
            "collector.diskstats.ignored-devices",
            "collector.diskstats.device-exclude",
        )?;
        let filter = DeviceFilter::new(
            exclude.as_deref().unwrap_or(DEFAULT_DEVICE_EXCLUDE),
            &flags.device_include,
            "--collector.diskstats",
        )?;
        Ok(Box::new(DiskStats {
            diskstats: context.paths.proc("diskstats"),
            block: context.paths.sys("block"),
            udev: context.paths.udev_data.clone(),
            filter,
        }))
    },
};

const DEFAULT_DEVICE_EXCLUDE: &str = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of diskstats devices to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.diskstats.device-exclude",
        long = "collector.diskstats.device-exclude",
        value_name = "REGEX",
        default_value = DEFAULT_DEVICE_EXCLUDE
    )]
    pub device_exclude: String,
    #[arg(
        id = "collector.diskstats.ignored-devices",
        long = "collector.diskstats.ignored-devices",
        value_name = "REGEX",
        hide = true
    )]
    pub old_device_exclude: Option<String>,
    /// Regexp of diskstats devices to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.diskstats.device-include",
        long = "collector.diskstats.device-include",
        value_name = "REGEX",
        default_value = ""
    )]
    pub device_include: String,
}

struct DiskStats {
    diskstats: PathBuf,
    block: PathBuf,
    udev: PathBuf,
    filter: DeviceFilter,
}

const MILLISECONDS: f64 = 1.0 / 1000.0;
const SECTOR_BYTES: f64 = 512.0;

/// The 17 /proc/diskstats counters in file order: metric, help, type, scale.
const COUNTERS: [(&str, &str, MetricType, f64); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        MetricType::Counter,
        SECTOR_BYTES,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        MetricType::Counter,
        MILLISECONDS,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        MetricType::Counter,
        SECTOR_BYTES,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        MetricType::Counter,
        MILLISECONDS,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        MetricType::Counter,
        MILLISECONDS,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        MetricType::Counter,
        MILLISECONDS,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        MetricType::Counter,
        MILLISECONDS,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        MetricType::Counter,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        MetricType::Counter,
        MILLISECONDS,
    ),
];

const ATA: [(&str, &str, &str); 3] = [
    (
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
        "ID_ATA_WRITE_CACHE",
    ),
    (
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
        "ID_ATA_WRITE_CACHE_ENABLED",
    ),
    (
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
        "ID_ATA_ROTATION_RATE_RPM",
    ),
];

/// One /proc/diskstats line.
struct Device {
    major: u32,
    minor: u32,
    name: String,
    counters: Vec<u64>,
}

fn parse(text: &str) -> Result<Vec<Device>, String> {
    let mut devices = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let bad = |what: &str| format!("invalid {what} in {line:?}");
        let major = fields[0].parse().map_err(|_| bad("major"))?;
        let minor = fields[1].parse().map_err(|_| bad("minor"))?;
        let counters = fields[3..]
            .iter()
            .take(17)
            .map(|f| f.parse::<u64>().map_err(|_| bad("counter")))
            .collect::<Result<Vec<_>, _>>()?;
        // Kernels before 4.18 write 11 counters; fewer is not diskstats.
        if counters.len() >= 11 {
            devices.push(Device {
                major,
                minor,
                name: fields[2].to_owned(),
                counters,
            });
        }
    }
    Ok(devices)
}

/// The `E:KEY=value` properties of a device in the udev database.
fn udev_properties(path: &Path) -> HashMap<String, String> {
    let Ok(text) = crate::collector::read_text(path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| line.strip_prefix("E:")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl Collector for DiskStats {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let devices =
            parse(&read(&self.diskstats)?).map_err(|e| CollectError::parse(&self.diskstats, e))?;
        let mut families: Vec<Vec<(String, f64)>> = vec![Vec::new(); COUNTERS.len()];
        let info = out.family(
            "node_disk_info",
            "Info of /sys/block/<block_device>.",
            MetricType::Gauge,
        );
        let mut filesystems = Vec::new();
        let mut mappers = Vec::new();
        let mut ata: Vec<Vec<(String, f64)>> = vec![Vec::new(); ATA.len()];
        for device in devices.iter().filter(|d| !self.filter.ignored(&d.name)) {
            let udev = udev_properties(
                &self
                    .udev
                    .join(format!("b{}:{}", device.major, device.minor)),
            );
            let get = |key: &str| udev.get(key).map_or("", String::as_str);
            let serial = [
                get("SCSI_IDENT_SERIAL"),
                get("ID_SERIAL_SHORT"),
                get("ID_SERIAL"),
            ]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("");
            let rotational =
                crate::collector::read_text(self.block.join(&device.name).join("queue/rotational"))
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .map_or_else(|| "0".to_owned(), |r| format!("{r:b}"));
            info.sample(
                &[
                    ("device", &device.name),
                    ("major", &device.major.to_string()),
                    ("minor", &device.minor.to_string()),
                    ("path", get("ID_PATH")),
                    ("wwn", get("ID_WWN")),
                    ("model", get("ID_MODEL")),
                    ("serial", serial),
                    ("revision", get("ID_REVISION")),
                    ("rotational", &rotational),
                ],
                1.0,
            );
            for (index, count) in device.counters.iter().enumerate() {
                families[index].push((device.name.clone(), *count as f64 * COUNTERS[index].3));
            }
            if !get("ID_FS_TYPE").is_empty() {
                filesystems.push([
                    device.name.clone(),
                    get("ID_FS_TYPE").to_owned(),
                    get("ID_FS_USAGE").to_owned(),
                    get("ID_FS_UUID").to_owned(),
                    get("ID_FS_VERSION").to_owned(),
                ]);
            }
            if !get("DM_NAME").is_empty() {
                mappers.push([
                    device.name.clone(),
                    get("DM_NAME").to_owned(),
                    get("DM_UUID").to_owned(),
                    get("DM_VG_NAME").to_owned(),
                    get("DM_LV_NAME").to_owned(),
                    get("DM_LV_LAYER").to_owned(),
                ]);
            }
            if !get("ID_ATA").is_empty() {
                for (index, (_, _, key)) in ATA.iter().enumerate() {
                    match udev.get(*key).map(|v| v.parse::<f64>()) {
                        Some(Ok(value)) => ata[index].push((device.name.clone(), value)),
                        Some(Err(_)) => {
                            log::error!(device = device.name.as_str(), key = *key; "Failed to parse ATA value")
                        }
                        None => {}
                    }
                }
            }
        }
        for ((name, help, kind, _), samples) in COUNTERS.iter().zip(families) {
            let family = out.family(*name, *help, *kind);
            for (device, value) in samples {
                family.sample(&[("device", &device)], value);
            }
        }
        let family = out.family(
            "node_disk_filesystem_info",
            "Info about disk filesystem.",
            MetricType::Gauge,
        );
        for [device, kind, usage, uuid, version] in &filesystems {
            family.sample(
                &[
                    ("device", device),
                    ("type", kind),
                    ("usage", usage),
                    ("uuid", uuid),
                    ("version", version),
                ],
                1.0,
            );
        }
        let family = out.family(
            "node_disk_device_mapper_info",
            "Info about disk device mapper.",
            MetricType::Gauge,
        );
        for [device, name, uuid, vg, lv, layer] in &mappers {
            family.sample(
                &[
                    ("device", device),
                    ("name", name),
                    ("uuid", uuid),
                    ("vg_name", vg),
                    ("lv_name", lv),
                    ("lv_layer", layer),
                ],
                1.0,
            );
        }
        for ((name, help, _), samples) in ATA.iter().zip(ata) {
            let family = out.family(*name, *help, MetricType::Gauge);
            for (device, value) in samples {
                family.sample(&[("device", &device)], value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn kernel_generations_and_garbage() {
        let text = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n 253 0 dm-0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n 1 2 short 1 2\n";
        let devices = parse(text).unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].counters.len(), 11);
        assert_eq!(devices[1].counters.len(), 17);
        assert!(parse("8 0 sda x 2 3 4 5 6 7 8 9 10 11\n").is_err());
    }

    #[test]
    fn milliseconds_multiply_as_go_does() {
        assert_eq!(9653880.0 * super::MILLISECONDS, 9653.880000000001);
    }
}
