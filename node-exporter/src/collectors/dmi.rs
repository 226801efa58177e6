//! `node_dmi_info`: firmware and hardware identity from /sys/class/dmi/id,
//! read once at start-up (it cannot change while the machine runs).

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "dmi",
    enabled_by_default: true,
    build: |context| {
        let dir = context.paths.sys("class/dmi/id");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Box::new(Dmi { labels: Vec::new() }));
            }
            Err(e) => {
                return Err(format!(
                    "failed to read Desktop Management Interface (DMI) information: {e}"
                ));
            }
        };
        let mut labels = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(label) = label_for(&file) else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            match read_attribute(&entry.path()) {
                Ok(value) => labels.push((label, value)),
                // Serial numbers and UUIDs are root-only.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(e) => {
                    return Err(format!(
                        "failed to read Desktop Management Interface (DMI) information: {file}: {e}"
                    ));
                }
            }
        }
        Ok(Box::new(Dmi { labels }))
    },
};

const LABELS: [&str; 19] = [
    "bios_date",
    "bios_release",
    "bios_vendor",
    "bios_version",
    "board_asset_tag",
    "board_name",
    "board_serial",
    "board_vendor",
    "board_version",
    "chassis_asset_tag",
    "chassis_serial",
    "chassis_vendor",
    "chassis_version",
    "product_family",
    "product_name",
    "product_serial",
    "product_sku",
    "product_uuid",
    "product_version",
];

fn label_for(file: &str) -> Option<&'static str> {
    if file == "sys_vendor" {
        return Some("system_vendor");
    }
    LABELS.iter().copied().find(|label| *label == file)
}

struct Dmi {
    labels: Vec<(&'static str, String)>,
}

impl Collector for Dmi {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        if self.labels.is_empty() {
            return Err(CollectError::NoData("no DMI information".into()));
        }
        let labels: Vec<(&str, &str)> = self.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        out.family(
            "node_dmi_info",
            "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, \
             board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, chassis_serial, \
             chassis_vendor, chassis_version, product_family, product_name, product_serial, product_sku, product_uuid, \
             product_version, system_vendor if provided by DMI.",
            MetricType::Gauge,
        )
        .sample(&labels, 1.0);
        Ok(())
    }
}
