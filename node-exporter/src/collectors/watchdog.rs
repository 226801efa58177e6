//! Hardware watchdogs from /sys/class/watchdog.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::procfs::parse_int_any_base;
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "watchdog",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Watchdog {
            root: context.paths.sys("class/watchdog"),
        }))
    },
};

struct Watchdog {
    root: PathBuf,
}

/// (metric suffix, file)
const NUMBERS: [(&str, &str); 7] = [
    ("bootstatus", "bootstatus"),
    ("fw_version", "fw_version"),
    ("nowayout", "nowayout"),
    ("timeleft_seconds", "timeleft"),
    ("timeout_seconds", "timeout"),
    ("pretimeout_seconds", "pretimeout"),
    ("access_cs0", "access_cs0"),
];
const STRINGS: [&str; 5] = [
    "options",
    "identity",
    "state",
    "status",
    "pretimeout_governor",
];

impl Collector for Watchdog {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let names = crate::sysfs::class_entries(
            &self.root,
            &[
                std::io::ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied,
            ],
            "Could not read watchdog stats",
        )?;
        for name in names {
            let dir = self.root.join(&name);
            let read = |file: &str| -> Result<Option<String>, CollectError> {
                let path = dir.join(file);
                match read_attribute(&path) {
                    Ok(value) => Ok(Some(value)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(CollectError::io(&path, e)),
                }
            };
            for (metric, file) in NUMBERS {
                let Some(text) = read(file)? else {
                    continue;
                };
                let value = parse_int_any_base(&text).ok_or_else(|| {
                    CollectError::parse(&dir.join(file), format!("invalid number {text:?}"))
                })?;
                out.family(
                    format!("node_watchdog_{metric}"),
                    format!("Value of /sys/class/watchdog/<watchdog>/{file}"),
                    MetricType::Gauge,
                )
                .sample(&[("name", &name)], value as f64);
            }
            let strings: Vec<(&str, String)> = STRINGS
                .iter()
                .map(|file| Ok((*file, read(file)?.unwrap_or_default())))
                .collect::<Result<_, CollectError>>()?;
            let mut labels: Vec<(&str, &str)> = vec![("name", &name)];
            labels.extend(strings.iter().map(|(k, v)| (*k, v.as_str())));
            out.family(
                "node_watchdog_info",
                "Info of /sys/class/watchdog/<watchdog>",
                MetricType::Gauge,
            )
            .sample(&labels, 1.0);
        }
        Ok(())
    }
}
