//! SELinux state: enabled, configured and current enforcement mode.
//!
//! As upstream's library does, this reads the host's own /sys/fs/selinux,
//! /proc and /etc/selinux/config, not the `--path.*` trees; and, as
//! go-selinux does (`sync.Once`), it decides once per process whether
//! SELinux is enabled and where selinuxfs is.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "selinux",
    enabled_by_default: true,
    build: |_| Ok(Box::new(Selinux)),
};

struct Selinux;

const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

/// Where selinuxfs is mounted, if it is, writable.
fn selinuxfs() -> Option<PathBuf> {
    let usable = |path: &Path| {
        nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 == SELINUX_MAGIC)
            && nix::sys::statvfs::statvfs(path)
                .is_ok_and(|s| !s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    };
    let default = PathBuf::from("/sys/fs/selinux");
    if usable(&default) {
        return Some(default);
    }
    let filesystems = crate::collector::read_text("/proc/filesystems").ok()?;
    if !filesystems.contains("\tselinuxfs\n") {
        return None;
    }
    let mountinfo = crate::collector::read_text("/proc/self/mountinfo").ok()?;
    mountinfo
        .lines()
        .filter(|l| l.contains(" - selinuxfs "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .find(|p| usable(p))
}

/// Where selinuxfs is, if SELinux is enabled: mounted, and this process not
/// labelled `kernel`.
fn enabled_selinuxfs() -> Option<&'static Path> {
    static ENABLED: OnceLock<Option<PathBuf>> = OnceLock::new();
    ENABLED
        .get_or_init(|| {
            let mount = selinuxfs()?;
            let label =
                crate::collector::read_text("/proc/thread-self/attr/current").unwrap_or_default();
            (label.trim_end_matches('\0') != "kernel").then_some(mount)
        })
        .as_deref()
}

/// 1 enforcing, 0 permissive, -1 anything else, from /etc/selinux/config.
fn configured_mode() -> f64 {
    let Ok(config) = crate::collector::read_text("/etc/selinux/config") else {
        return -1.0;
    };
    for line in config.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(("SELINUX", value)) = line.split_once('=') {
            return match value.trim_matches('"') {
                "enforcing" => 1.0,
                "permissive" => 0.0,
                _ => -1.0,
            };
        }
    }
    -1.0
}

impl Collector for Selinux {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mount = enabled_selinuxfs();
        let enabled = mount.is_some();
        out.single(
            "node_selinux_enabled",
            "SELinux is enabled, 1 is true, 0 is false",
            MetricType::Gauge,
            if enabled { 1.0 } else { 0.0 },
        );
        let Some(mount) = mount else {
            return Ok(());
        };
        out.single(
            "node_selinux_config_mode",
            "Configured SELinux enforcement mode",
            MetricType::Gauge,
            configured_mode(),
        );
        let current = crate::collector::read_text(mount.join("enforce"))
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(-1.0, |v| v as f64);
        out.single(
            "node_selinux_current_mode",
            "Current SELinux enforcement mode",
            MetricType::Gauge,
            current,
        );
        Ok(())
    }
}
