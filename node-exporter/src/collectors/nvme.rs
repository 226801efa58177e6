//! NVMe controllers from /sys/class/nvme.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "nvme",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Nvme {
            root: context.paths.sys("class/nvme"),
        }))
    },
};

struct Nvme {
    root: PathBuf,
}

const FILES: [&str; 5] = ["firmware_rev", "model", "serial", "state", "cntlid"];

impl Collector for Nvme {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let no_data = || CollectError::NoData("nvme statistics not found, skipping".into());
        let names = crate::sysfs::class_entries(
            &self.root,
            &[std::io::ErrorKind::NotFound],
            "nvme statistics not found, skipping",
        )?;
        // Everything is read before anything is reported: one controller
        // missing a file means no nvme data at all, as upstream.
        let mut controllers = Vec::new();
        for name in names {
            let mut values = Vec::with_capacity(FILES.len());
            for file in FILES {
                let path = self.root.join(&name).join(file);
                match read_attribute(&path) {
                    Ok(value) => values.push(value),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_data()),
                    Err(e) => return Err(CollectError::io(&path, e)),
                }
            }
            controllers.push((name, values));
        }
        let family = out.family(
            "node_nvme_info",
            "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
            MetricType::Gauge,
        );
        for (name, v) in &controllers {
            family.sample(
                &[
                    ("device", name),
                    ("firmware_revision", &v[0]),
                    ("model", &v[1]),
                    ("serial", &v[2]),
                    ("state", &v[3]),
                    ("cntlid", &v[4]),
                ],
                1.0,
            );
        }
        Ok(())
    }
}
