//! CPU time per CPU and mode from /proc/stat, and with `--collector.cpu.info`
//! the /proc/cpuinfo description; plus online, isolated and thermal-throttle
//! state from sysfs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::ArgAction;
use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration, read};
use crate::procfs::parse_stat;

pub const REGISTRATION: Registration = Registration {
    name: "cpu",
    enabled_by_default: true,
    build: |context| {
        let flags = &context.flags.cpu;
        let compile = |pattern: &Option<String>| {
            pattern
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(Regex::new)
                .transpose()
                .map_err(|e| {
                    format!(
                        "fail to compile --collector.cpu.info.flags-include and --collector.cpu.info.bugs-include, \
                         the values of them must be regular expressions: {e}"
                    )
                })
        };
        let flags_include = compile(&flags.flags_include)?;
        let bugs_include = compile(&flags.bugs_include)?;
        let mut info = flags.info;
        if !info && (flags_include.is_some() || bugs_include.is_some()) {
            log::info!(
                "--collector.cpu.info has been set to `true` because you set the following flags, like --collector.cpu.info.flags-include and --collector.cpu.info.bugs-include"
            );
            info = true;
        }
        Ok(Box::new(Cpu {
            stat: context.paths.proc("stat"),
            cpuinfo: context.paths.proc("cpuinfo"),
            cpu_dir: context.paths.sys("devices/system/cpu"),
            guest: !flags.no_guest,
            info,
            info_frequency: context.enabled.contains(&"cpufreq"),
            flags_include,
            bugs_include,
            isolated: context.paths.sys("devices/system/cpu/isolated"),
            previous: Mutex::new(HashMap::new()),
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Disable metric node_cpu_guest_seconds_total (enabled by default).
    #[arg(id = "no-collector.cpu.guest", long = "no-collector.cpu.guest", action = ArgAction::SetTrue, overrides_with = "collector.cpu.guest")]
    pub no_guest: bool,
    /// Enables metric node_cpu_guest_seconds_total.
    #[arg(id = "collector.cpu.guest", long = "collector.cpu.guest", action = ArgAction::SetTrue, overrides_with = "no-collector.cpu.guest", hide = true)]
    pub guest: bool,
    /// Enables metric cpu_info.
    #[arg(id = "collector.cpu.info", long = "collector.cpu.info")]
    pub info: bool,
    /// Filter the `flags` field in cpuInfo with a value that must be a regular expression.
    #[arg(
        id = "collector.cpu.info.flags-include",
        long = "collector.cpu.info.flags-include",
        value_name = "REGEX"
    )]
    pub flags_include: Option<String>,
    /// Filter the `bugs` field in cpuInfo with a value that must be a regular expression.
    #[arg(
        id = "collector.cpu.info.bugs-include",
        long = "collector.cpu.info.bugs-include",
        value_name = "REGEX"
    )]
    pub bugs_include: Option<String>,
}

/// A CPU whose idle time drops by this much was unplugged and plugged back:
/// its counters start over.
const JUMP_BACK_SECONDS: f64 = 3.0;

struct Cpu {
    stat: PathBuf,
    cpuinfo: PathBuf,
    cpu_dir: PathBuf,
    guest: bool,
    info: bool,
    info_frequency: bool,
    flags_include: Option<Regex>,
    bugs_include: Option<Regex>,
    isolated: PathBuf,
    /// Last values served per CPU, so counters never go backwards.
    previous: Mutex<HashMap<i64, [f64; 10]>>,
}

const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];
/// Index of idle in /proc/stat's order.
const IDLE: usize = 3;

impl Collector for Cpu {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        if self.info {
            self.update_info(out)?;
        }
        self.update_stat(out)?;
        self.update_throttles(out);
        self.update_online(out);
        self.update_isolated(out)
    }
}

impl Cpu {
    /// Isolated CPUs (`isolcpus=`); upstream reads the list once at start-up,
    /// but a malformed list must fail this collector, not the exporter.
    fn update_isolated(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = match crate::collector::read_text(&self.isolated) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CollectError::io(&self.isolated, e)),
        };
        let isolated = parse_cpu_list(&text).map_err(|e| {
            CollectError::parse(&self.isolated, format!("unable to get isolated cpus: {e}"))
        })?;
        let family = out.family(
            "node_cpu_isolated",
            "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
            MetricType::Gauge,
        );
        for cpu in isolated {
            family.sample(&[("cpu", &cpu.to_string())], 1.0);
        }
        Ok(())
    }

    fn update_stat(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let stat =
            parse_stat(&read(&self.stat)?).map_err(|e| CollectError::parse(&self.stat, e))?;
        let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
        for (id, times) in &stat.cpus {
            let mut kept = previous.get(id).copied().unwrap_or_default();
            if kept[IDLE] - times[IDLE] >= JUMP_BACK_SECONDS {
                kept = [0.0; 10];
            }
            for (kept, new) in kept.iter_mut().zip(times) {
                if *new >= *kept {
                    *kept = *new;
                }
            }
            previous.insert(*id, kept);
        }
        previous.retain(|id, _| stat.cpus.iter().any(|(present, _)| present == id));

        let seconds = out.family(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            MetricType::Counter,
        );
        for (id, times) in previous.iter() {
            let cpu = id.to_string();
            for (mode, value) in MODES.iter().zip(times) {
                seconds.sample(&[("cpu", &cpu), ("mode", mode)], *value);
            }
        }
        if self.guest {
            let guest = out.family(
                "node_cpu_guest_seconds_total",
                "Seconds the CPUs spent in guests (VMs) for each mode.",
                MetricType::Counter,
            );
            for (id, times) in previous.iter() {
                let cpu = id.to_string();
                guest.sample(&[("cpu", &cpu), ("mode", "user")], times[8]);
                guest.sample(&[("cpu", &cpu), ("mode", "nice")], times[9]);
            }
        }
        Ok(())
    }

    fn update_info(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let processors = parse_cpuinfo(&read(&self.cpuinfo)?)
            .map_err(|e| CollectError::parse(&self.cpuinfo, e))?;
        let info = out.family(
            "node_cpu_info",
            "CPU information from /proc/cpuinfo.",
            MetricType::Gauge,
        );
        for p in &processors {
            info.sample(
                &[
                    ("package", p.get("physical id")),
                    ("core", p.get("core id")),
                    ("cpu", &p.processor),
                    ("vendor", p.get_either("vendor", "vendor_id")),
                    ("family", p.get("cpu family")),
                    ("model", p.get("model")),
                    ("model_name", p.get("model name")),
                    ("microcode", p.get("microcode")),
                    ("stepping", p.get("stepping")),
                    ("cachesize", p.get("cache size")),
                ],
                1.0,
            );
        }
        if self.info_frequency {
            let frequency = out.family(
                "node_cpu_frequency_hertz",
                "CPU frequency in hertz from /proc/cpuinfo.",
                MetricType::Gauge,
            );
            for p in &processors {
                let mhz: f64 = p.get("cpu MHz").trim().parse().unwrap_or(0.0);
                frequency.sample(
                    &[
                        ("package", p.get("physical id")),
                        ("core", p.get("core id")),
                        ("cpu", &p.processor),
                    ],
                    mhz * 1e6,
                );
            }
        }
        let first = processors.first();
        for (regex, field, name, label, help) in [
            (
                &self.flags_include,
                "flags",
                "node_cpu_flag_info",
                "flag",
                "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
            ),
            (
                &self.bugs_include,
                "bugs",
                "node_cpu_bug_info",
                "bug",
                "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
            ),
        ] {
            let (Some(regex), Some(first)) = (regex, first) else {
                continue;
            };
            let family = out.family(name, help, MetricType::Gauge);
            for token in first
                .get(field)
                .split_whitespace()
                .filter(|t| regex.is_match(t))
            {
                family.sample(&[(label, token)], 1.0);
            }
        }
        Ok(())
    }

    /// cpuN directories in sysfs, in name order (as Go's glob sorts them).
    fn cpu_dirs(&self) -> Vec<(String, PathBuf)> {
        let mut dirs: Vec<(String, PathBuf)> = std::fs::read_dir(&self.cpu_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let id = name.strip_prefix("cpu")?;
                (!id.is_empty() && id.bytes().next()?.is_ascii_digit())
                    .then(|| (name.clone(), entry.path()))
            })
            .collect();
        dirs.sort();
        dirs
    }

    fn update_throttles(&self, out: &mut MetricSet) {
        let mut packages: BTreeMap<u64, Option<u64>> = BTreeMap::new();
        let mut cores: BTreeMap<(u64, u64), Option<u64>> = BTreeMap::new();
        for (_, dir) in self.cpu_dirs() {
            let (Some(package), Some(core)) = (
                read_u64(&dir.join("topology/physical_package_id")),
                read_u64(&dir.join("topology/core_id")),
            ) else {
                continue;
            };
            cores
                .entry((package, core))
                .or_insert_with(|| read_u64(&dir.join("thermal_throttle/core_throttle_count")));
            packages
                .entry(package)
                .or_insert_with(|| read_u64(&dir.join("thermal_throttle/package_throttle_count")));
        }
        let family = out.family(
            "node_cpu_package_throttles_total",
            "Number of times this CPU package has been throttled.",
            MetricType::Counter,
        );
        for (package, count) in &packages {
            if let Some(count) = count {
                family.sample(&[("package", &package.to_string())], *count as f64);
            }
        }
        let family = out.family(
            "node_cpu_core_throttles_total",
            "Number of times this CPU core has been throttled.",
            MetricType::Counter,
        );
        for ((package, core), count) in &cores {
            if let Some(count) = count {
                family.sample(
                    &[
                        ("package", &package.to_string()),
                        ("core", &core.to_string()),
                    ],
                    *count as f64,
                );
            }
        }
    }

    fn update_online(&self, out: &mut MetricSet) {
        let dirs = self.cpu_dirs();
        // As node_exporter: the family exists only where the first CPU has an
        // `online` file (often not the case for cpu0 on x86).
        let Some((_, first)) = dirs.first() else {
            return;
        };
        if !first.join("online").exists() {
            return;
        }
        let family = out.family(
            "node_cpu_online",
            "CPUs that are online and being scheduled.",
            MetricType::Gauge,
        );
        for (name, dir) in &dirs {
            let online = crate::collector::read_text(dir.join("online"))
                .is_ok_and(|text| text.trim() == "1");
            family.sample(&[("cpu", &name[3..])], if online { 1.0 } else { 0.0 });
        }
    }
}

fn read_u64(path: &Path) -> Option<u64> {
    crate::collector::read_text(path).ok()?.trim().parse().ok()
}

/// A CPU list such as `0-3,8,10-11`.
fn parse_cpu_list(text: &str) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for part in text
        .trim_end_matches('\n')
        .split(',')
        .filter(|p| !p.is_empty())
    {
        match part.split_once('-') {
            Some((start, end)) => {
                let start: u32 = start
                    .parse()
                    .map_err(|_| format!("invalid cpu start range: {part}"))?;
                let end: u32 = end
                    .parse()
                    .map_err(|_| format!("invalid cpu range: {part}"))?;
                cpus.extend(start..=end);
            }
            None => cpus.push(
                part.parse()
                    .map_err(|_| format!("invalid cpu range: {part}"))?,
            ),
        }
    }
    Ok(cpus)
}

/// One processor block of /proc/cpuinfo.
struct Processor {
    processor: String,
    fields: HashMap<String, String>,
}

impl Processor {
    fn get(&self, key: &str) -> &str {
        self.fields.get(key).map_or("", String::as_str)
    }

    fn get_either(&self, first: &str, second: &str) -> &str {
        self.fields
            .get(first)
            .or_else(|| self.fields.get(second))
            .map_or("", String::as_str)
    }
}

/// The x86 layout: `key<tabs>: value` lines, a `processor` line opening each
/// block. Values keep everything after the first ": ".
fn parse_cpuinfo(text: &str) -> Result<Vec<Processor>, String> {
    let mut processors: Vec<Processor> = Vec::new();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if !first.starts_with("processor") || !first.contains(':') {
        return Err(format!("invalid cpuinfo file: {first:?}"));
    }
    for line in text.lines() {
        let Some((key, value)) = line
            .split_once(": ")
            .or_else(|| line.split_once(':').map(|(k, _)| (k, "")))
        else {
            continue;
        };
        let key = key.trim();
        if key == "processor" {
            let id: u32 = value
                .trim()
                .parse()
                .map_err(|_| format!("invalid processor line {line:?}"))?;
            processors.push(Processor {
                processor: id.to_string(),
                fields: HashMap::new(),
            });
        } else if let Some(current) = processors.last_mut() {
            if key == "cpu MHz" && value.trim().parse::<f64>().is_err() {
                return Err(format!("invalid cpu MHz {value:?}"));
            }
            current.fields.insert(key.to_owned(), value.to_owned());
        }
    }
    Ok(processors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-2,5,7-8\n").unwrap(), [0, 1, 2, 5, 7, 8]);
        assert_eq!(parse_cpu_list("\n").unwrap(), Vec::<u32>::new());
        assert!(parse_cpu_list("a-2").is_err());
        assert!(parse_cpu_list("1-b").is_err());
    }

    #[test]
    fn cpuinfo_blocks() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme\ncpu MHz\t\t: 2400.000\n\n\
                    processor\t: 1\nvendor_id\t: GenuineIntel\n";
        let processors = parse_cpuinfo(text).unwrap();
        assert_eq!(processors.len(), 2);
        assert_eq!(processors[0].get("vendor_id"), "GenuineIntel");
        assert_eq!(processors[0].get("flags"), "fpu vme");
        assert_eq!(processors[1].processor, "1");
        assert!(parse_cpuinfo("garbage\n").is_err());
        assert!(parse_cpuinfo("processor : x\n").is_err());
        assert!(parse_cpuinfo("processor : 0\ncpu MHz : fast\n").is_err());
    }
}
