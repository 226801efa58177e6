//! Hardware sensors (temperatures, fans, voltages, power...) from
//! /sys/class/hwmon, named and scaled as node_exporter names them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::device_filter::DeviceFilter;
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "hwmon",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.hwmon;
        let chips = DeviceFilter::new(
            &flags.chip_exclude,
            &flags.chip_include,
            "--collector.hwmon.chip",
        )?;
        let sensors = DeviceFilter::new(
            &flags.sensor_exclude,
            &flags.sensor_include,
            "--collector.hwmon.sensor",
        )?;
        Ok(Box::new(Hwmon {
            root: context.paths.sys("class/hwmon"),
            chips,
            sensors,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of hwmon chip to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.hwmon.chip-include",
        long = "collector.hwmon.chip-include",
        value_name = "REGEX",
        default_value = ""
    )]
    pub chip_include: String,
    /// Regexp of hwmon chip to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.hwmon.chip-exclude",
        long = "collector.hwmon.chip-exclude",
        value_name = "REGEX",
        default_value = ""
    )]
    pub chip_exclude: String,
    /// Regexp of hwmon sensor to include (mutually exclusive to sensor-exclude).
    #[arg(
        id = "collector.hwmon.sensor-include",
        long = "collector.hwmon.sensor-include",
        value_name = "REGEX",
        default_value = ""
    )]
    pub sensor_include: String,
    /// Regexp of hwmon sensor to exclude (mutually exclusive to sensor-include).
    #[arg(
        id = "collector.hwmon.sensor-exclude",
        long = "collector.hwmon.sensor-exclude",
        value_name = "REGEX",
        default_value = ""
    )]
    pub sensor_exclude: String,
}

struct Hwmon {
    root: PathBuf,
    chips: DeviceFilter,
    sensors: DeviceFilter,
}

const SENSOR_TYPES: [&str; 14] = [
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    "freq",
];

/// Lower case, runs of characters outside `[a-z0-9:_]` as `_`, trimmed of `_`.
fn clean_name(text: &str) -> String {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cleaned.trim_matches('_').to_owned()
}

/// `temp1_crit_alarm` → ("temp", 1, "crit_alarm"); `pwm1` → ("pwm", 1, "").
fn explode(file: &str) -> Option<(String, u32, String)> {
    let type_end = file
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(file.len());
    let (kind, rest) = file.split_at(type_end);
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, property) = rest.split_at(digits_end);
    // Without digits the whole name (underscores included) is the type.
    let (kind, property) = if digits.is_empty() {
        (file, "")
    } else {
        (kind, property.strip_prefix('_').unwrap_or(property))
    };
    if kind.is_empty()
        || (!digits.is_empty()
            && !rest[digits_end..].is_empty()
            && !rest[digits_end..].starts_with('_'))
    {
        return None;
    }
    let id = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((kind.to_owned(), id, property.to_owned()))
}

/// The chip label: `<bus>_<device>` of its device link, else its `name`,
/// else the hwmon directory's own name.
fn chip_name(dir: &Path) -> Result<String, String> {
    if let Ok(device) = std::fs::canonicalize(dir.join("device")) {
        let device_name = device
            .file_name()
            .map(|n| clean_name(&n.to_string_lossy()))
            .unwrap_or_default();
        let device_type = device
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| clean_name(&n.to_string_lossy()))
            .unwrap_or_default();
        if !device_type.is_empty() && !device_name.is_empty() {
            return Ok(format!("{device_type}_{device_name}"));
        }
        if !device_name.is_empty() {
            return Ok(device_name);
        }
    }
    if let Some(name) = human_name(dir) {
        return Ok(name);
    }
    let real = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = real
        .file_name()
        .map(|n| clean_name(&n.to_string_lossy()))
        .unwrap_or_default();
    if name.is_empty() {
        return Err(format!(
            "Could not derive a monitoring name for {}",
            dir.display()
        ));
    }
    Ok(name)
}

fn human_name(dir: &Path) -> Option<String> {
    let name = clean_name(&crate::collector::read_text(dir.join("name")).ok()?);
    (!name.is_empty()).then_some(name)
}

/// sensor key (`temp1`) → property (`input`, `max`, ``) → raw value.
type Sensors = BTreeMap<String, BTreeMap<String, String>>;

fn read_sensors(dir: &Path, sensors: &mut Sensors) -> Result<(), CollectError> {
    for entry in std::fs::read_dir(dir)
        .map_err(|e| CollectError::io(dir, e))?
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((kind, id, property)) = explode(&file) else {
            continue;
        };
        if !SENSOR_TYPES.contains(&kind.as_str()) {
            continue;
        }
        if let Ok(value) = read_attribute(&entry.path()) {
            sensors
                .entry(format!("{kind}{id}"))
                .or_default()
                .insert(property, value);
        }
    }
    Ok(())
}

/// The family name, help, type and scaled value for one sensor property.
fn describe(
    kind: &str,
    property: &str,
    name: &str,
    value: f64,
) -> Option<(String, String, MetricType, f64)> {
    let gauge = MetricType::Gauge;
    let shown = if property.is_empty() && kind == "temp" {
        "input"
    } else {
        property
    };
    Some(match (kind, property) {
        (_, "fault" | "alarm") => (
            name.to_owned(),
            format!("Hardware sensor {property} status ({kind})"),
            gauge,
            value,
        ),
        (_, "beep") => (
            format!("{name}_enabled"),
            "Hardware monitor sensor has beeping enabled".into(),
            gauge,
            value,
        ),
        ("in" | "cpu", _) => (
            format!("{name}_volts"),
            format!("Hardware monitor for voltage ({property})"),
            gauge,
            value * 0.001,
        ),
        ("temp", p) if p != "type" => (
            format!("{name}_celsius"),
            format!("Hardware monitor for temperature ({shown})"),
            gauge,
            value * 0.001,
        ),
        ("curr", _) => (
            format!("{name}_amps"),
            format!("Hardware monitor for current ({property})"),
            gauge,
            value * 0.001,
        ),
        ("energy", _) => (
            format!("{name}_joule_total"),
            format!("Hardware monitor for joules used so far ({property})"),
            MetricType::Counter,
            value / 1_000_000.0,
        ),
        ("power", "accuracy") => (
            name.to_owned(),
            "Hardware monitor power meter accuracy, as a ratio".into(),
            gauge,
            value / 1_000_000.0,
        ),
        ("power", "average_interval" | "average_interval_min" | "average_interval_max") => (
            format!("{name}_seconds"),
            format!("Hardware monitor power usage update interval ({property})"),
            gauge,
            value * 0.001,
        ),
        ("power", _) => (
            format!("{name}_watt"),
            format!("Hardware monitor for power usage in watts ({property})"),
            gauge,
            value / 1_000_000.0,
        ),
        ("humidity", _) => (
            name.to_owned(),
            format!(
                "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) ({property})"
            ),
            gauge,
            value / 1_000_000.0,
        ),
        ("fan", "input" | "min" | "max" | "target") => (
            format!("{name}_rpm"),
            format!("Hardware monitor for fan revolutions per minute ({property})"),
            gauge,
            value,
        ),
        ("freq", "input") => return None,
        _ => (
            name.to_owned(),
            format!("Hardware monitor {kind} element {property}"),
            gauge,
            value,
        ),
    })
}

impl Hwmon {
    fn update_chip(&self, dir: &Path, out: &mut MetricSet) -> Result<(), CollectError> {
        let chip = chip_name(dir).map_err(|e| CollectError::parse(dir, e))?;
        if self.chips.ignored(&chip) {
            return Ok(());
        }
        let mut sensors = Sensors::new();
        read_sensors(dir, &mut sensors)?;
        if dir.join("device").exists() {
            read_sensors(&dir.join("device"), &mut sensors)?;
        }
        if let Some(name) = human_name(dir) {
            out.family(
                "node_hwmon_chip_names",
                "Annotation metric for human-readable chip names",
                MetricType::Gauge,
            )
            .sample(&[("chip", &chip), ("chip_name", &name)], 1.0);
        }
        for (sensor, properties) in &sensors {
            if self.sensors.ignored(&format!("{chip};{sensor}")) {
                continue;
            }
            let kind = sensor.trim_end_matches(|c: char| c.is_ascii_digit());
            let labels = [("chip", chip.as_str()), ("sensor", sensor.as_str())];
            if let Some(label) = properties.get("label") {
                out.family(
                    "node_hwmon_sensor_label",
                    "Label for given chip and sensor",
                    MetricType::Gauge,
                )
                .sample(
                    &[("chip", &chip), ("sensor", sensor), ("label", label)],
                    1.0,
                );
            }
            let raw = properties.get("").map(String::as_str);
            match kind {
                "beep_enable" => {
                    out.family(
                        "node_hwmon_beep_enabled",
                        "Hardware beep enabled",
                        MetricType::Gauge,
                    )
                    .sample(&labels, if raw == Some("1") { 1.0 } else { 0.0 });
                    continue;
                }
                "vrm" => {
                    if let Some(value) = raw.and_then(|v| v.parse::<f64>().ok()) {
                        out.family(
                            "node_hwmon_voltage_regulator_version",
                            "Hardware voltage regulator",
                            MetricType::Gauge,
                        )
                        .sample(&labels, value);
                    }
                    continue;
                }
                "update_interval" => {
                    if let Some(value) = raw.and_then(|v| v.parse::<f64>().ok()) {
                        out.family(
                            "node_hwmon_update_interval_seconds",
                            "Hardware monitor update interval",
                            MetricType::Gauge,
                        )
                        .sample(&labels, value * 0.001);
                    }
                    continue;
                }
                _ => {}
            }
            let prefix = format!("node_hwmon_{kind}");
            for (property, text) in properties {
                if property == "label" {
                    continue;
                }
                let name = if property == "input" {
                    if properties.contains_key("") {
                        format!("{prefix}_input")
                    } else {
                        prefix.clone()
                    }
                } else if !property.is_empty() {
                    format!("{prefix}_{}", clean_name(property))
                } else {
                    prefix.clone()
                };
                let Ok(value) = text.parse::<f64>() else {
                    continue;
                };
                if kind == "freq" && property == "input" {
                    if let Some(label) = properties.get("label") {
                        out.family(
                            format!("{name}_freq_mhz"),
                            "Hardware monitor for GPU frequency in MHz",
                            MetricType::Gauge,
                        )
                        .sample(
                            &[("chip", &chip), ("sensor", &clean_name(label))],
                            value / 1_000_000.0,
                        );
                    }
                    continue;
                }
                if let Some((metric, help, metric_type, scaled)) =
                    describe(kind, property, &name, value)
                {
                    out.family(metric, help, metric_type)
                        .sample(&labels, scaled);
                }
            }
        }
        Ok(())
    }
}

impl Collector for Hwmon {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CollectError::NoData(
                    "hwmon collector metrics are not available for this system".into(),
                ));
            }
            Err(e) => return Err(CollectError::io(&self.root, e)),
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        // A chip that fails is reported after the others have been collected.
        let mut last_error = None;
        for dir in dirs {
            if let Err(e) = self.update_chip(&dir, out) {
                last_error = Some(e);
            }
        }
        last_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            explode("temp1_input"),
            Some(("temp".into(), 1, "input".into()))
        );
        assert_eq!(
            explode("temp1_crit_alarm"),
            Some(("temp".into(), 1, "crit_alarm".into()))
        );
        assert_eq!(explode("pwm1"), Some(("pwm".into(), 1, "".into())));
        assert_eq!(
            explode("update_interval"),
            Some(("update_interval".into(), 0, "".into()))
        );
        assert_eq!(explode("cpu0_vid"), Some(("cpu".into(), 0, "vid".into())));
        assert_eq!(
            explode("temp01_input"),
            Some(("temp".into(), 1, "input".into()))
        );
        assert_eq!(clean_name("Core 0\n"), "core_0");
        assert_eq!(clean_name("coretemp"), "coretemp");
    }

    #[test]
    fn names_and_scales() {
        let (name, help, _, value) = describe("temp", "input", "node_hwmon_temp", 45000.0).unwrap();
        assert_eq!(
            (name.as_str(), help.as_str(), value),
            (
                "node_hwmon_temp_celsius",
                "Hardware monitor for temperature (input)",
                45.0
            )
        );
        let (name, ..) = describe("temp", "crit_alarm", "node_hwmon_temp_crit_alarm", 0.0).unwrap();
        assert_eq!(name, "node_hwmon_temp_crit_alarm_celsius");
        let (name, help, ..) = describe("pwm", "", "node_hwmon_pwm", 128.0).unwrap();
        assert_eq!(
            (name.as_str(), help.as_str()),
            ("node_hwmon_pwm", "Hardware monitor pwm element ")
        );
        let (name, _, kind, value) =
            describe("energy", "input", "node_hwmon_energy", 2_000_000.0).unwrap();
        assert_eq!(
            (name.as_str(), kind, value),
            ("node_hwmon_energy_joule_total", MetricType::Counter, 2.0)
        );
    }
}
