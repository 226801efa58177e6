//! Batteries, AC adapters and USB power supplies from /sys/class/power_supply.

use std::collections::HashMap;
use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "powersupplyclass",
    enabled_by_default: true,
    build: |context| {
        let ignored = Regex::new(&context.flags.powersupplyclass.ignored_supplies)
            .map_err(|e| format!("--collector.powersupply.ignored-supplies: {e}"))?;
        Ok(Box::new(PowerSupplyClass {
            root: context.paths.sys("class/power_supply"),
            ignored,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of power supplies to ignore for powersupplyclass collector.
    #[arg(
        id = "collector.powersupply.ignored-supplies",
        long = "collector.powersupply.ignored-supplies",
        value_name = "REGEX",
        default_value = "^$"
    )]
    pub ignored_supplies: String,
}

struct PowerSupplyClass {
    root: PathBuf,
    ignored: Regex,
}

/// (metric key, sysfs file, divisor)
const NUMBERS: [(&str, &str, f64); 49] = [
    ("authentic", "authentic", 1.0),
    ("calibrate", "calibrate", 1.0),
    ("capacity", "capacity", 1.0),
    ("capacity_alert_max", "capacity_alert_max", 1.0),
    ("capacity_alert_min", "capacity_alert_min", 1.0),
    ("cyclecount", "cycle_count", 1.0),
    ("online", "online", 1.0),
    ("present", "present", 1.0),
    ("time_to_empty_seconds", "time_to_empty_now", 1.0),
    ("time_to_full_seconds", "time_to_full_now", 1.0),
    ("current_boot", "current_boot", 1e6),
    ("current_max", "current_max", 1e6),
    ("current_ampere", "current_now", 1e6),
    ("energy_empty", "energy_empty", 1e6),
    ("energy_empty_design", "energy_empty_design", 1e6),
    ("energy_full", "energy_full", 1e6),
    ("energy_full_design", "energy_full_design", 1e6),
    ("energy_watthour", "energy_now", 1e6),
    ("voltage_boot", "voltage_boot", 1e6),
    ("voltage_max", "voltage_max", 1e6),
    ("voltage_max_design", "voltage_max_design", 1e6),
    ("voltage_min", "voltage_min", 1e6),
    ("voltage_min_design", "voltage_min_design", 1e6),
    ("voltage_volt", "voltage_now", 1e6),
    ("voltage_ocv", "voltage_ocv", 1e6),
    ("charge_control_limit", "charge_control_limit", 1e6),
    ("charge_control_limit_max", "charge_control_limit_max", 1e6),
    ("charge_counter", "charge_counter", 1e6),
    ("charge_empty", "charge_empty", 1e6),
    ("charge_empty_design", "charge_empty_design", 1e6),
    ("charge_full", "charge_full", 1e6),
    ("charge_full_design", "charge_full_design", 1e6),
    ("charge_ampere", "charge_now", 1e6),
    ("charge_term_current", "charge_term_current", 1e6),
    ("constant_charge_current", "constant_charge_current", 1e6),
    (
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6,
    ),
    ("constant_charge_voltage", "constant_charge_voltage", 1e6),
    (
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6,
    ),
    ("precharge_current", "precharge_current", 1e6),
    ("input_current_limit", "input_current_limit", 1e6),
    ("power_watt", "power_now", 1e6),
    ("temp_celsius", "temp", 10.0),
    ("temp_alert_max_celsius", "temp_alert_max", 10.0),
    ("temp_alert_min_celsius", "temp_alert_min", 10.0),
    ("temp_ambient_celsius", "temp_ambient", 10.0),
    ("temp_ambient_max_celsius", "temp_ambient_max", 10.0),
    ("temp_ambient_min_celsius", "temp_ambient_min", 10.0),
    ("temp_max_celsius", "temp_max", 10.0),
    ("temp_min_celsius", "temp_min", 10.0),
];

/// `node_power_supply_info` labels, from the files of the same name.
const INFO: [&str; 11] = [
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

fn read_supply(dir: &std::path::Path) -> Result<HashMap<String, String>, CollectError> {
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(dir)
        .map_err(|e| CollectError::io(dir, e))?
        .flatten()
    {
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        match read_attribute(&entry.path()) {
            Ok(value) => {
                files.insert(entry.file_name().to_string_lossy().into_owned(), value);
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || matches!(e.raw_os_error(), Some(22 | 95)) => {}
            Err(e) => return Err(CollectError::io(&entry.path(), e)),
        }
    }
    Ok(files)
}

impl Collector for PowerSupplyClass {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let names = crate::sysfs::class_entries(
            &self.root,
            &[std::io::ErrorKind::NotFound],
            "no /sys/class/power_supply",
        )?;
        for name in names.into_iter().filter(|n| !self.ignored.is_match(n)) {
            let files = read_supply(&self.root.join(&name))?;
            for (key, file, divisor) in NUMBERS {
                let Some(text) = files.get(file) else {
                    continue;
                };
                let value = crate::procfs::parse_int_any_base(text).ok_or_else(|| {
                    CollectError::parse(
                        &self.root.join(&name).join(file),
                        format!("invalid number {text:?}"),
                    )
                })?;
                out.family(
                    format!("node_power_supply_{key}"),
                    format!("{key} value of /sys/class/power_supply/<power_supply>."),
                    MetricType::Gauge,
                )
                .sample(&[("power_supply", &name)], value as f64 / divisor);
            }
            let mut labels: Vec<(&str, &str)> = vec![("power_supply", &name)];
            for label in INFO {
                if let Some(value) = files.get(label).filter(|v| !v.is_empty()) {
                    labels.push((label, value));
                }
            }
            out.family(
                "node_power_supply_info",
                "info of /sys/class/power_supply/<power_supply>.",
                MetricType::Gauge,
            )
            .sample(&labels, 1.0);
        }
        Ok(())
    }
}
