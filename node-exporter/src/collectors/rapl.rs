//! Intel/AMD RAPL energy counters from /sys/class/powercap.

use std::collections::HashMap;
use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "rapl",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Rapl {
            root: context.paths.sys("class/powercap"),
            zone_label: context.flags.rapl.enable_zone_label,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Report all zones in node_rapl_joules_total with a rapl_zone label.
    #[arg(
        id = "collector.rapl.enable-zone-label",
        long = "collector.rapl.enable-zone-label"
    )]
    pub enable_zone_label: bool,
}

struct Rapl {
    root: PathBuf,
    zone_label: bool,
}

/// `package-0` → (package, 0); names without a numeric suffix count up.
fn index_and_name(counts: &mut HashMap<String, u64>, name: &str) -> (u64, String) {
    let (index, base) = match name.split('-').collect::<Vec<_>>()[..] {
        [base, number] => match number.parse::<u64>() {
            Ok(index) => (index, base.to_owned()),
            Err(_) => (counts.get(name).copied().unwrap_or(0), name.to_owned()),
        },
        _ => (counts.get(name).copied().unwrap_or(0), name.to_owned()),
    };
    counts.insert(base.clone(), index + 1);
    (index, base)
}

/// Sanitised for a metric name: runs of invalid characters become one `_`.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

impl Collector for Rapl {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let dirs = crate::sysfs::class_entries(
            &self.root,
            &[
                std::io::ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied,
            ],
            "Platform doesn't have powercap files present",
        )?;
        let mut counts = HashMap::new();
        let mut zones = Vec::new();
        for dir in dirs {
            let path = self.root.join(&dir);
            let Ok(name) = crate::collector::read_text(path.join("name")) else {
                continue;
            };
            let name = name.trim().to_owned();
            let (index, base) = index_and_name(&mut counts, &name);
            let range = path.join("max_energy_range_uj");
            crate::collector::read_text(&range)
                .map_err(|e| CollectError::io(&range, e))?
                .trim()
                .parse::<u64>()
                .map_err(|e| CollectError::parse(&range, e.to_string()))?;
            zones.push((index, base, path));
        }
        for (index, name, path) in zones {
            let energy = path.join("energy_uj");
            let microjoules: u64 = match crate::collector::read_text(&energy) {
                Ok(text) => text
                    .trim()
                    .parse()
                    .map_err(|_| CollectError::parse(&energy, "invalid energy_uj"))?,
                // Root-only since Linux 5.10.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(CollectError::NoData("Can't access energy_uj file".into()));
                }
                Err(e) => return Err(CollectError::io(&energy, e)),
            };
            let joules = microjoules as f64 / 1_000_000.0;
            let index = index.to_string();
            let path = path.to_string_lossy();
            if self.zone_label {
                out.family(
                    "node_rapl_joules_total",
                    "Current RAPL value in joules",
                    MetricType::Counter,
                )
                .sample(
                    &[("index", &index), ("path", &path), ("rapl_zone", &name)],
                    joules,
                );
            } else {
                out.family(
                    format!("node_rapl_{}_joules_total", sanitize(&name)),
                    format!("Current RAPL {name} value in joules"),
                    MetricType::Counter,
                )
                .sample(&[("index", &index), ("path", &path)], joules);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names() {
        let mut counts = HashMap::new();
        assert_eq!(
            index_and_name(&mut counts, "package-0"),
            (0, "package".into())
        );
        assert_eq!(index_and_name(&mut counts, "dram"), (0, "dram".into()));
        assert_eq!(index_and_name(&mut counts, "dram"), (1, "dram".into()));
        assert_eq!(sanitize("psys-x y"), "psys_x_y");
    }
}
