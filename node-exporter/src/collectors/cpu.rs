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
            parse_cpuinfo: cpuinfo_parser(std::env::consts::ARCH),
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
    parse_cpuinfo: CpuInfoParser,
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
        let processors = (self.parse_cpuinfo)(&read(&self.cpuinfo)?)
            .map_err(|e| CollectError::parse(&self.cpuinfo, e))?;
        let info = out.family(
            "node_cpu_info",
            "CPU information from /proc/cpuinfo.",
            MetricType::Gauge,
        );
        for p in &processors {
            info.sample(
                &[
                    ("package", &p.physical_id),
                    ("core", &p.core_id),
                    ("cpu", &p.processor.to_string()),
                    ("vendor", &p.vendor),
                    ("family", &p.family),
                    ("model", &p.model),
                    ("model_name", &p.model_name),
                    ("microcode", &p.microcode),
                    ("stepping", &p.stepping),
                    ("cachesize", &p.cache_size),
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
                frequency.sample(
                    &[
                        ("package", &p.physical_id),
                        ("core", &p.core_id),
                        ("cpu", &p.processor.to_string()),
                    ],
                    p.mhz * 1e6,
                );
            }
        }
        let first = processors.first();
        for (regex, tokens, name, label, help) in [
            (
                &self.flags_include,
                first.map(|p| &p.flags),
                "node_cpu_flag_info",
                "flag",
                "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
            ),
            (
                &self.bugs_include,
                first.map(|p| &p.bugs),
                "node_cpu_bug_info",
                "bug",
                "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
            ),
        ] {
            let (Some(regex), Some(tokens)) = (regex, tokens) else {
                continue;
            };
            let family = out.family(name, help, MetricType::Gauge);
            for token in tokens
                .split_ascii_whitespace()
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

/// What node_exporter takes from one processor of /proc/cpuinfo (procfs'
/// `CPUInfo`, the fields its metrics use).
#[derive(Debug, Default, Clone, PartialEq)]
struct CpuInfo {
    processor: u32,
    vendor: String,
    family: String,
    model: String,
    model_name: String,
    microcode: String,
    stepping: String,
    cache_size: String,
    physical_id: String,
    core_id: String,
    mhz: f64,
    flags: String,
    bugs: String,
}

type CpuInfoParser = fn(&str) -> Result<Vec<CpuInfo>, String>;

/// Each architecture's kernel writes its own /proc/cpuinfo layout; procfs
/// picks the parser by the architecture it was built for, and so do we.
/// Elsewhere (MIPS, LoongArch...) the info metrics fail, as with procfs'
/// fallback parser.
fn cpuinfo_parser(arch: &str) -> CpuInfoParser {
    match arch {
        "x86" | "x86_64" => parse_cpuinfo_x86,
        "arm" | "aarch64" => parse_cpuinfo_arm,
        "powerpc64" => parse_cpuinfo_ppc,
        "s390x" => parse_cpuinfo_s390x,
        "riscv64" => parse_cpuinfo_riscv,
        _ => |_| {
            Err(format!(
                "parsing /proc/cpuinfo is not implemented on {}",
                std::env::consts::ARCH
            ))
        },
    }
}

/// The lines after the first non-empty one, and that first line.
fn first_line(text: &str) -> (&str, std::str::Lines<'_>) {
    let mut lines = text.lines();
    let first = lines.by_ref().find(|l| !l.trim().is_empty()).unwrap_or("");
    (first, lines)
}

/// A `key<blanks>: value` line as procfs splits it: the key trimmed, the
/// value everything after the first ": " (empty after a bare ':').
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line
        .split_once(": ")
        .or_else(|| line.split_once(':').map(|(k, _)| (k, "")))?;
    Some((key.trim(), value))
}

fn processor_number(value: &str) -> Result<u32, String> {
    crate::procfs::parse_int_any_base(value)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("invalid processor number {value:?}"))
}

fn float(key: &str, value: &str) -> Result<f64, String> {
    value
        .parse()
        .map_err(|_| format!("invalid {key} {value:?}"))
}

/// The first run of digits and dots, as in "2200.000000MHz".
fn clock_mhz(key: &str, value: &str) -> Result<f64, String> {
    let start = value
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(value.len());
    let rest = &value[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    float(key, &rest[..end])
}

fn invalid(first: &str) -> String {
    format!("invalid cpuinfo file: {first:?}")
}

/// The current processor, or an error for a field that comes before any.
fn current<'a>(cpus: &'a mut [CpuInfo], line: &str) -> Result<&'a mut CpuInfo, String> {
    cpus.last_mut()
        .ok_or_else(|| format!("{line:?} before any processor"))
}

/// The `key: value` lines, each with the line it came from, of a cpuinfo
/// made of `processor` blocks (x86, POWER, RISC-V); an error unless the
/// first line opens one.
fn processor_blocks(text: &str) -> Result<impl Iterator<Item = (&str, &str, &str)>, String> {
    let (first, lines) = first_line(text);
    if !first.starts_with("processor") || !first.contains(':') {
        return Err(invalid(first));
    }
    let lines = std::iter::once(first).chain(lines);
    Ok(lines.filter_map(|line| key_value(line).map(|(key, value)| (line, key, value))))
}

/// x86: `processor` lines open blocks of `key<tabs>: value` lines.
fn parse_cpuinfo_x86(text: &str) -> Result<Vec<CpuInfo>, String> {
    let mut cpus = Vec::new();
    for (line, key, value) in processor_blocks(text)? {
        if key == "processor" {
            cpus.push(CpuInfo {
                processor: processor_number(value)?,
                ..CpuInfo::default()
            });
            continue;
        }
        let cpu = current(&mut cpus, line)?;
        match key {
            "vendor" | "vendor_id" => cpu.vendor = value.to_owned(),
            "cpu family" => cpu.family = value.to_owned(),
            "model" => cpu.model = value.to_owned(),
            "model name" => cpu.model_name = value.to_owned(),
            "stepping" => cpu.stepping = value.to_owned(),
            "microcode" => cpu.microcode = value.to_owned(),
            "cpu MHz" => cpu.mhz = float(key, value)?,
            "cache size" => cpu.cache_size = value.to_owned(),
            "physical id" => cpu.physical_id = value.to_owned(),
            "core id" => cpu.core_id = value.to_owned(),
            "flags" => cpu.flags = value.to_owned(),
            "bugs" => cpu.bugs = value.to_owned(),
            _ => {}
        }
    }
    Ok(cpus)
}

/// ARM: one block per `processor` with its BogoMIPS; one `Features` line
/// (the last one wins) becomes every processor's flags. 32-bit kernels open
/// with a `Processor : <model name>` line shared by all processors, and a
/// uniprocessor one may have no `processor` line at all.
fn parse_cpuinfo_arm(text: &str) -> Result<Vec<CpuInfo>, String> {
    let (first, lines) = first_line(text);
    let (first_key, first_value) = key_value(first).ok_or_else(|| invalid(first))?;
    if !first.starts_with(['P', 'p']) || !first[1..].starts_with("rocessor") {
        return Err(invalid(first));
    }
    let mut common = CpuInfo::default();
    let mut cpus = Vec::new();
    if first_key == "Processor" {
        common.model_name = first_value.to_owned();
    } else {
        cpus.push(CpuInfo {
            processor: processor_number(first_value)?,
            ..CpuInfo::default()
        });
    }
    let mut features = None;
    for line in lines {
        let Some((key, value)) = key_value(line) else {
            continue;
        };
        match key {
            "processor" => cpus.push(CpuInfo {
                processor: processor_number(value)?,
                ..common.clone()
            }),
            "BogoMIPS" => {
                float(key, value)?;
                if cpus.is_empty() {
                    cpus.push(common.clone());
                }
            }
            "Features" => features = Some(value),
            "model name" => current(&mut cpus, line)?.model_name = value.to_owned(),
            _ => {}
        }
    }
    let features = features.ok_or("no Features line")?;
    for cpu in &mut cpus {
        cpu.flags = features.to_owned();
    }
    Ok(cpus)
}

/// s390x: a header shared by all processors (vendor, features, one
/// `processor N:` line each), then one block per `cpu number` with its
/// topology and clock.
fn parse_cpuinfo_s390x(text: &str) -> Result<Vec<CpuInfo>, String> {
    let (first, mut lines) = first_line(text);
    let (_, vendor) = key_value(first)
        .filter(|_| first.starts_with("vendor_id"))
        .ok_or_else(|| invalid(first))?;
    let mut common = CpuInfo {
        vendor: vendor.to_owned(),
        ..CpuInfo::default()
    };
    let mut cpus = Vec::new();
    for line in lines.by_ref() {
        if line.starts_with("cpu number") {
            break;
        }
        match key_value(line) {
            Some(("features", value)) => common.flags = value.to_owned(),
            Some((key @ "bogomips per cpu", value)) => {
                float(key, value)?;
            }
            _ => {}
        }
        if let Some(rest) = line.strip_prefix("processor") {
            let number = rest
                .split_once(':')
                .map(|(n, _)| n.trim())
                .filter(|n| rest.starts_with(char::is_whitespace) && !n.is_empty())
                .ok_or_else(|| invalid(first))?;
            cpus.push(CpuInfo {
                processor: processor_number(number)?,
                ..common.clone()
            });
        }
    }
    let mut index = 0;
    for line in lines {
        let Some((key, value)) = key_value(line) else {
            continue;
        };
        if key == "cpu number" {
            index += 1;
            continue;
        }
        let field = match key {
            "cpu MHz dynamic" | "physical id" | "core id" => key,
            _ => continue,
        };
        let cpu = cpus
            .get_mut(index)
            .ok_or_else(|| format!("more cpu number blocks than processors at {line:?}"))?;
        match field {
            "cpu MHz dynamic" => cpu.mhz = clock_mhz(key, value.trim())?,
            "physical id" => cpu.physical_id = value.to_owned(),
            _ => cpu.core_id = value.to_owned(),
        }
    }
    Ok(cpus)
}

/// POWER: `processor` blocks naming the CPU (`cpu`, as the vendor) and its
/// `clock` ("2200.000000MHz").
fn parse_cpuinfo_ppc(text: &str) -> Result<Vec<CpuInfo>, String> {
    let mut cpus = Vec::new();
    for (line, key, value) in processor_blocks(text)? {
        match key {
            "processor" => cpus.push(CpuInfo {
                processor: processor_number(value)?,
                ..CpuInfo::default()
            }),
            "cpu" => current(&mut cpus, line)?.vendor = value.to_owned(),
            "clock" => current(&mut cpus, line)?.mhz = clock_mhz(key, value.trim())?,
            _ => {}
        }
    }
    Ok(cpus)
}

/// RISC-V: `processor` blocks with the `hart` (as the core) and the `isa`
/// string (as the model name). procfs indexes processors by their number,
/// so numbers must run 0, 1, 2...
fn parse_cpuinfo_riscv(text: &str) -> Result<Vec<CpuInfo>, String> {
    let mut cpus: Vec<CpuInfo> = Vec::new();
    for (line, key, value) in processor_blocks(text)? {
        match key {
            "processor" => {
                let processor = processor_number(value)?;
                if processor as usize != cpus.len() && !cpus.is_empty() {
                    return Err(format!("processor {processor} out of order"));
                }
                cpus.push(CpuInfo {
                    processor,
                    ..CpuInfo::default()
                });
            }
            "hart" => current(&mut cpus, line)?.core_id = value.to_owned(),
            "isa" => current(&mut cpus, line)?.model_name = value.to_owned(),
            _ => {}
        }
    }
    Ok(cpus)
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
    fn cpuinfo_x86() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
                    model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\nstepping\t: 7\n\
                    microcode\t: 0x5003604\ncpu MHz\t\t: 2095.076\ncache size\t: 28160 KB\n\
                    physical id\t: 0\ncore id\t\t: 3\nflags\t\t: fpu vme de\nbugs\t\t: spectre_v1 mds\n\n\
                    processor\t: 1\nvendor_id\t: GenuineIntel\n";
        let cpus = parse_cpuinfo_x86(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[0].vendor, "GenuineIntel");
        assert_eq!(cpus[0].core_id, "3");
        assert_eq!(cpus[0].mhz, 2095.076);
        assert_eq!(cpus[0].flags, "fpu vme de");
        assert_eq!(cpus[0].bugs, "spectre_v1 mds");
        assert_eq!(cpus[1].processor, 1);
        for bad in [
            "garbage\n",
            "processor : x\n",
            "processor : 0\ncpu MHz : fast\n",
            "",
        ] {
            assert!(parse_cpuinfo_x86(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpuinfo_arm64() {
        let text = "processor\t: 0\nBogoMIPS\t: 50.00\n\
                    Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid\n\
                    CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\n\
                    CPU part\t: 0xd0c\nCPU revision\t: 1\n\n\
                    processor\t: 1\nBogoMIPS\t: 50.00\n\
                    Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid\n\
                    CPU implementer\t: 0x41\nCPU architecture: 8\n";
        let cpus = parse_cpuinfo_arm(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].processor, 1);
        assert_eq!(cpus[1].model_name, "");
        assert_eq!(
            cpus[1].flags,
            "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid"
        );
    }

    #[test]
    fn cpuinfo_armv7() {
        // A 32-bit kernel names the model once, before the processors.
        let text = "Processor\t: ARMv7 Processor rev 5 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n\n\
                    processor\t: 1\nBogoMIPS\t: 38.40\n\n\
                    Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt\n\
                    Hardware\t: BCM2835\nRevision\t: a01041\n";
        let cpus = parse_cpuinfo_arm(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[0].model_name, "ARMv7 Processor rev 5 (v7l)");
        assert_eq!(cpus[1].processor, 1);
        assert!(cpus[1].flags.starts_with("half thumb"));
        // A uniprocessor one may have no processor line at all.
        let single = "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nBogoMIPS\t: 697.95\n\
                      Features\t: half thumb fastmult vfp edsp java tls\n";
        let cpus = parse_cpuinfo_arm(single).unwrap();
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[0].processor, 0);
        for bad in [
            "",
            "cpu : 0\n",
            "processor : 0\nBogoMIPS : 50.00\n",
            "processor : 0\nBogoMIPS : fast\nFeatures : fp\n",
            "Processor : ARMv7\nmodel name : x\nFeatures : fp\n",
        ] {
            assert!(parse_cpuinfo_arm(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpuinfo_ppc64le() {
        let text = "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n\
                    clock\t\t: 2166.000000MHz\nrevision\t: 2.2 (pvr 004e 1202)\n\n\
                    processor\t: 8\ncpu\t\t: POWER9 (architected), altivec supported\n\
                    clock\t\t: 3800.000000MHz\nrevision\t: 2.2 (pvr 004e 1202)\n\n\
                    timebase\t: 512000000\nplatform\t: pSeries\nmodel\t\t: IBM,9009-42A\n";
        let cpus = parse_cpuinfo_ppc(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].processor, 8);
        assert_eq!(cpus[1].vendor, "POWER9 (architected), altivec supported");
        assert_eq!(cpus[0].mhz, 2166.0);
        assert_eq!(cpus[1].mhz, 3800.0);
        assert_eq!(cpus[0].model, "");
        for bad in ["", "cpu : POWER9\n", "processor : 0\nclock : unknown\n"] {
            assert!(parse_cpuinfo_ppc(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpuinfo_s390x() {
        let text = "vendor_id       : IBM/S390\n# processors    : 2\nbogomips per cpu: 3033.00\n\
                    max thread id   : 0\nfeatures\t: esan3 zarch stfle msa ldisp eimm dfp edat te vx sie\n\
                    cache0          : level=1 type=Data scope=Private size=128K line_size=256\n\
                    processor 0: version = FF,  identification = 0133E8,  machine = 8561\n\
                    processor 1: version = FF,  identification = 0133E8,  machine = 8561\n\n\
                    cpu number      : 0\nphysical id     : 1\ncore id         : 0\nbook id         : 1\n\
                    siblings        : 2\ncpu cores       : 2\ncpu MHz dynamic : 5200\ncpu MHz static  : 5200\n\n\
                    cpu number      : 1\nphysical id     : 1\ncore id         : 1\nbook id         : 1\n\
                    cpu MHz dynamic : 5200\n";
        let cpus = parse_cpuinfo_s390x(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[0].vendor, "IBM/S390");
        assert_eq!(cpus[1].processor, 1);
        assert_eq!(cpus[1].core_id, "1");
        assert_eq!(cpus[1].physical_id, "1");
        assert_eq!(cpus[1].mhz, 5200.0);
        assert!(cpus[0].flags.starts_with("esan3 zarch"));
        for bad in [
            "",
            "processor 0: version = FF\n",
            "vendor_id : IBM/S390\nprocessor x: version = FF\n",
            "vendor_id : IBM/S390\nbogomips per cpu: many\n",
            "vendor_id : IBM/S390\nprocessor 0: v\ncpu number : 0\ncpu MHz dynamic : fast\n",
            // More cpu blocks than processors.
            "vendor_id : IBM/S390\nprocessor 0: v\ncpu number : 0\ncpu number : 1\ncore id : 1\n",
        ] {
            assert!(parse_cpuinfo_s390x(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpuinfo_riscv() {
        let text = "processor\t: 0\nhart\t\t: 1\nisa\t\t: rv64imafdc_zicntr_zicsr_zifencei_zihpm\n\
                    mmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n\n\
                    processor\t: 1\nhart\t\t: 2\nisa\t\t: rv64imafdc_zicntr_zicsr_zifencei_zihpm\n\
                    mmu\t\t: sv39\n";
        let cpus = parse_cpuinfo_riscv(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].core_id, "2");
        assert_eq!(cpus[0].model_name, "rv64imafdc_zicntr_zicsr_zifencei_zihpm");
        for bad in [
            "",
            "hart : 1\n",
            "processor : 0\nprocessor : 5\n",
            "processor : -1\n",
        ] {
            assert!(parse_cpuinfo_riscv(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpuinfo_parser_by_architecture() {
        let arm = "processor : 0\nBogoMIPS : 50.00\nFeatures : fp asimd\n";
        assert!(cpuinfo_parser("aarch64")(arm).is_ok());
        assert!(cpuinfo_parser("x86_64")("processor : 0\n").is_ok());
        assert!(cpuinfo_parser("mips")("system type : x\n").is_err());
    }
}
