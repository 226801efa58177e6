//! Memory controller error counts from /sys/devices/system/edac.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::numbered_entries;

pub const REGISTRATION: Registration = Registration {
    name: "edac",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Edac {
            root: context.paths.sys("devices/system/edac/mc"),
        }))
    },
};

struct Edac {
    root: PathBuf,
}

fn read_count(path: &Path) -> Result<f64, CollectError> {
    let text = crate::collector::read_text(path).map_err(|e| CollectError::io(path, e))?;
    text.trim()
        .parse::<u64>()
        .map(|v| v as f64)
        .map_err(|e| CollectError::parse(path, e.to_string()))
}

impl Collector for Edac {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let counter = MetricType::Counter;
        for controller_dir in numbered_entries(&self.root, "mc") {
            let controller = &controller_dir[2..];
            let dir = self.root.join(&controller_dir);
            let labels = [("controller", controller)];
            out.family(
                "node_edac_correctable_errors_total",
                "Total correctable memory errors.",
                counter,
            )
            .sample(&labels, read_count(&dir.join("ce_count"))?);
            out.family(
                "node_edac_uncorrectable_errors_total",
                "Total uncorrectable memory errors.",
                counter,
            )
            .sample(&labels, read_count(&dir.join("ue_count"))?);
            let unknown = [("controller", controller), ("csrow", "unknown")];
            out.family(
                "node_edac_csrow_correctable_errors_total",
                "Total correctable memory errors for this csrow.",
                counter,
            )
            .sample(&unknown, read_count(&dir.join("ce_noinfo_count"))?);
            out.family(
                "node_edac_csrow_uncorrectable_errors_total",
                "Total uncorrectable memory errors for this csrow.",
                counter,
            )
            .sample(&unknown, read_count(&dir.join("ue_noinfo_count"))?);
            for csrow_dir in numbered_entries(&dir, "csrow") {
                let csrow = &csrow_dir[5..];
                let row = dir.join(&csrow_dir);
                let labels = [("controller", controller), ("csrow", csrow)];
                out.family(
                    "node_edac_csrow_correctable_errors_total",
                    "Total correctable memory errors for this csrow.",
                    counter,
                )
                .sample(&labels, read_count(&row.join("ce_count"))?);
                out.family(
                    "node_edac_csrow_uncorrectable_errors_total",
                    "Total uncorrectable memory errors for this csrow.",
                    counter,
                )
                .sample(&labels, read_count(&row.join("ue_count"))?);
            }
        }
        Ok(())
    }
}
