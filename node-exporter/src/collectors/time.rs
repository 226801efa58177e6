//! System time, time zone and clock sources.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "time",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Time {
            clocksource_dir: context.paths.sys("devices/system/clocksource"),
        }))
    },
};

struct Time {
    clocksource_dir: PathBuf,
}

impl Collector for Time {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        out.single(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            MetricType::Gauge,
            now.as_nanos() as f64 / 1e9,
        );
        let (zone, offset) = local_zone(now.as_secs() as libc::time_t);
        out.family(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
            MetricType::Gauge,
        )
        .sample(&[("time_zone", &zone)], offset as f64);

        let mut sources: Vec<PathBuf> = std::fs::read_dir(&self.clocksource_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix("clocksource"))
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .map(|e| e.path())
            .collect();
        sources.sort();
        let mut available = Vec::new();
        let mut current = Vec::new();
        for (index, dir) in sources.iter().enumerate() {
            let read = |file: &str| {
                let path = dir.join(file);
                crate::collector::read_text(&path)
                    .map(|t| t.trim().to_owned())
                    .map_err(|e| CollectError::io(&path, e))
            };
            let device = index.to_string();
            for source in read("available_clocksource")?.split_ascii_whitespace() {
                available.push((device.clone(), source.to_owned()));
            }
            current.push((device, read("current_clocksource")?));
        }
        let family = out.family(
            "node_time_clocksource_available_info",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
            MetricType::Gauge,
        );
        for (device, source) in &available {
            family.sample(&[("device", device), ("clocksource", source)], 1.0);
        }
        let family = out.family(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            MetricType::Gauge,
        );
        for (device, source) in &current {
            family.sample(&[("device", device), ("clocksource", source)], 1.0);
        }
        Ok(())
    }
}

unsafe extern "C" {
    /// POSIX tzset(3); the libc crate does not declare it.
    fn tzset();
}

/// The local time zone's abbreviation and offset east of UTC, as the C
/// library sees them ($TZ, else /etc/localtime).
fn local_zone(now: libc::time_t) -> (String, i64) {
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: tzset only (re)reads $TZ into libc's globals, and nothing in
    // this process changes the environment. localtime_r writes into the
    // `tm` we own and returns null on failure, which is checked.
    let filled = unsafe {
        tzset();
        !libc::localtime_r(&now, tm.as_mut_ptr()).is_null()
    };
    if !filled {
        return ("UTC".to_owned(), 0);
    }
    // SAFETY: localtime_r succeeded, so every field of `tm` is initialised.
    let tm = unsafe { tm.assume_init() };
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: tm_zone points at a NUL-terminated abbreviation in libc's
        // static zone table, valid until the next tzset, which only this
        // collector calls, one scrape at a time.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    (zone, tm.tm_gmtoff)
}
