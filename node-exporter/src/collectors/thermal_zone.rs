//! Thermal zone temperatures and cooling device states from /sys/class/thermal.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::{is_absent, numbered_entries, read_attribute};

pub const REGISTRATION: Registration = Registration {
    name: "thermal_zone",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(ThermalZone {
            root: context.paths.sys("class/thermal"),
        }))
    },
};

struct ThermalZone {
    root: PathBuf,
}

/// Reads `files` of one device; `None` when one of them is absent (the
/// device is skipped, as upstream skips it).
fn read_all(dir: &std::path::Path, files: &[&str]) -> Result<Option<Vec<String>>, CollectError> {
    let mut values = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(file);
        match read_attribute(&path) {
            Ok(value) => values.push(value),
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(CollectError::io(&path, e)),
        }
    }
    Ok(Some(values))
}

fn integer(value: &str, dir: &std::path::Path) -> Result<f64, CollectError> {
    value
        .parse::<i64>()
        .map(|v| v as f64)
        .map_err(|_| CollectError::parse(dir, format!("invalid number {value:?}")))
}

impl Collector for ThermalZone {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut zones = Vec::new();
        for name in numbered_entries(&self.root, "thermal_zone") {
            let dir = self.root.join(&name);
            if let Some(values) = read_all(&dir, &["type", "policy", "temp"])? {
                let celsius = integer(&values[2], &dir)? / 1000.0;
                zones.push((
                    name["thermal_zone".len()..].to_owned(),
                    values[0].clone(),
                    celsius,
                ));
            }
        }
        let family = out.family(
            "node_thermal_zone_temp",
            "Zone temperature in Celsius",
            MetricType::Gauge,
        );
        for (zone, kind, celsius) in &zones {
            family.sample(&[("zone", zone), ("type", kind)], *celsius);
        }
        let mut devices = Vec::new();
        for name in numbered_entries(&self.root, "cooling_device") {
            let dir = self.root.join(&name);
            if let Some(values) = read_all(&dir, &["type", "max_state", "cur_state"])? {
                let (max, current) = (integer(&values[1], &dir)?, integer(&values[2], &dir)?);
                devices.push((
                    name["cooling_device".len()..].to_owned(),
                    values[0].clone(),
                    current,
                    max,
                ));
            }
        }
        let current = out.family(
            "node_cooling_device_cur_state",
            "Current throttle state of the cooling device",
            MetricType::Gauge,
        );
        for (name, kind, value, _) in &devices {
            current.sample(&[("name", name), ("type", kind)], *value);
        }
        let maximum = out.family(
            "node_cooling_device_max_state",
            "Maximum throttle state of the cooling device",
            MetricType::Gauge,
        );
        for (name, kind, _, value) in &devices {
            maximum.sample(&[("name", name), ("type", kind)], *value);
        }
        Ok(())
    }
}
