//! CPU frequency and governor per CPU from sysfs cpufreq.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "cpufreq",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(CpuFreq {
            cpu_dir: context.paths.sys("devices/system/cpu"),
            // With cpu.info on, the cpu collector reports the current
            // frequency from /proc/cpuinfo instead.
            skip_current: context.enabled.contains(&"cpu") && context.flags.cpu.info,
        }))
    },
};

struct CpuFreq {
    cpu_dir: PathBuf,
    skip_current: bool,
}

/// (metric, help, file), all kHz in sysfs.
const FREQUENCIES: [(&str, &str, &str); 7] = [
    (
        "node_cpu_frequency_hertz",
        "Current CPU thread frequency in hertz.",
        "cpuinfo_cur_freq",
    ),
    (
        "node_cpu_frequency_avg_hertz",
        "Average CPU thread frequency in hertz.",
        "cpuinfo_avg_freq",
    ),
    (
        "node_cpu_frequency_min_hertz",
        "Minimum CPU thread frequency in hertz.",
        "cpuinfo_min_freq",
    ),
    (
        "node_cpu_frequency_max_hertz",
        "Maximum CPU thread frequency in hertz.",
        "cpuinfo_max_freq",
    ),
    (
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
        "scaling_cur_freq",
    ),
    (
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
        "scaling_min_freq",
    ),
    (
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
        "scaling_max_freq",
    ),
];

/// Readable numbers; a missing or unreadable (0400) file is skipped.
fn read_khz(path: &Path) -> Result<Option<u64>, CollectError> {
    match crate::collector::read_text(path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| CollectError::parse(path, format!("{e}"))),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(CollectError::io(path, e)),
    }
}

impl Collector for CpuFreq {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let offline_path = self.cpu_dir.join("offline");
        let offline = read(&offline_path)?;
        let offline: Vec<String> = offline
            .trim()
            .split(',')
            .filter(|p| !p.is_empty())
            .flat_map(|part| match part.split_once('-') {
                Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                    (Ok(a), Ok(b)) => (a..=b).map(|n| n.to_string()).collect(),
                    _ => Vec::new(),
                },
                None => vec![part.to_owned()],
            })
            .collect();
        let mut cpus: Vec<(String, PathBuf)> = std::fs::read_dir(&self.cpu_dir)
            .map_err(|e| CollectError::io(&self.cpu_dir, e))?
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let id = name.strip_prefix("cpu")?.to_owned();
                (!id.is_empty() && id.bytes().next()?.is_ascii_digit()).then(|| (id, entry.path()))
            })
            .filter(|(id, _)| !offline.contains(id))
            .collect();
        if cpus.is_empty() {
            return Err(CollectError::parse(
                &self.cpu_dir,
                "could not find any cpufreq files",
            ));
        }
        cpus.sort();

        let mut frequencies: Vec<Vec<(String, f64)>> = vec![Vec::new(); FREQUENCIES.len()];
        let mut governors: Vec<(String, String, f64)> = Vec::new();
        for (id, dir) in &cpus {
            let cpufreq = dir.join("cpufreq");
            if !cpufreq.exists() {
                continue;
            }
            for (index, (_, _, file)) in FREQUENCIES.iter().enumerate() {
                if let Some(khz) = read_khz(&cpufreq.join(file))? {
                    frequencies[index].push((id.clone(), khz as f64 * 1000.0));
                }
            }
            let current = read(&cpufreq.join("scaling_governor"))?;
            let current = current.trim();
            if !current.is_empty() {
                let available = read(&cpufreq.join("scaling_available_governors"))?;
                for governor in available.trim().split(' ') {
                    let value = if governor == current { 1.0 } else { 0.0 };
                    governors.push((id.clone(), governor.to_owned(), value));
                }
            }
        }
        for (index, (name, help, _)) in FREQUENCIES.iter().enumerate() {
            if index == 0 && self.skip_current {
                continue;
            }
            let family = out.family(*name, *help, MetricType::Gauge);
            for (cpu, hertz) in &frequencies[index] {
                family.sample(&[("cpu", cpu)], *hertz);
            }
        }
        let family = out.family(
            "node_cpu_scaling_governor",
            "Current enabled CPU frequency governor.",
            MetricType::Gauge,
        );
        for (cpu, governor, value) in &governors {
            family.sample(&[("cpu", cpu), ("governor", governor)], *value);
        }
        Ok(())
    }
}
