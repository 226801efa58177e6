//! Software RAID state from /proc/mdstat and /sys/block/md*/md.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "mdadm",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Mdadm::new(
            context.paths.proc("mdstat"),
            context.paths.sys("block"),
        )))
    },
};

struct Mdadm {
    mdstat: PathBuf,
    block: PathBuf,
    status: Regex,
    synced: Regex,
}

#[derive(Debug, PartialEq)]
struct Array {
    name: String,
    state: String,
    disks_total: u64,
    disks_active: u64,
    disks_failed: u64,
    disks_spare: u64,
    blocks_total: u64,
    blocks_synced: u64,
}

impl Mdadm {
    fn new(mdstat: PathBuf, block: PathBuf) -> Mdadm {
        Mdadm {
            mdstat,
            block,
            status: Regex::new(r"(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]")
                .expect("a valid regex"),
            synced: Regex::new(r"\((\d+)/\d+\)").expect("a valid regex"),
        }
    }

    fn parse(&self, text: &str) -> Result<Vec<Array>, String> {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut arrays = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty()
                || line.starts_with(' ')
                || line.starts_with("Personalities")
                || line.starts_with("unused")
            {
                continue;
            }
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            if fields.len() < 3 {
                return Err(format!("Expected 3+ lines, got {line:?}"));
            }
            if lines.len() <= i + 3 {
                return Err(format!("Too few lines for md device {:?}", fields[0]));
            }
            let mut state = fields[2].to_owned();
            let failed = line.matches("(F)").count() as u64;
            let spare = line.matches("(S)").count() as u64;
            let size: u64 = lines[i + 1]
                .split_ascii_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("invalid size line {:?}", lines[i + 1]))?;
            let (total, active) = if line.contains("raid0") || line.contains("linear") {
                let members = line.matches('[').count() as u64;
                (members, members)
            } else if line.contains("inactive") {
                (0, 0)
            } else {
                let captures = self
                    .status
                    .captures(lines[i + 1])
                    .ok_or_else(|| format!("could not find status in {:?}", lines[i + 1]))?;
                let number = |n: usize| captures[n].parse::<u64>().map_err(|e| e.to_string());
                (number(2)?, number(3)?)
            };
            let sync_line = if lines[i + 2].contains("bitmap") {
                lines[i + 3]
            } else {
                lines[i + 2]
            };
            let mut synced = size;
            let recovering = ["recovery", "reshape", "resync", "check"]
                .iter()
                .find(|w| sync_line.contains(*w));
            if let Some(word) = recovering {
                state = match *word {
                    "recovery" => "recovering",
                    "reshape" => "reshaping",
                    "check" => "checking",
                    _ => "resyncing",
                }
                .to_owned();
                if sync_line.contains("PENDING") || sync_line.contains("DELAYED") {
                    synced = 0;
                } else {
                    let captures = self
                        .synced
                        .captures(sync_line)
                        .ok_or_else(|| format!("could not find synced blocks in {sync_line:?}"))?;
                    synced = captures[1]
                        .parse()
                        .map_err(|_| format!("invalid synced blocks in {sync_line:?}"))?;
                }
            }
            arrays.push(Array {
                name: fields[0].to_owned(),
                state,
                disks_total: total,
                disks_active: active,
                disks_failed: failed,
                disks_spare: spare,
                blocks_total: size,
                blocks_synced: synced,
            });
        }
        Ok(arrays)
    }
}

fn read_number(path: &Path) -> Result<Option<f64>, CollectError> {
    match read_attribute(path) {
        Ok(text) => text
            .parse::<u64>()
            .map(|v| Some(v as f64))
            .map_err(|e| CollectError::parse(path, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::io(path, e)),
    }
}

impl Collector for Mdadm {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = match crate::collector::read_text(&self.mdstat) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CollectError::NoData(
                    "Not collecting mdstat, file does not exist".into(),
                ));
            }
            Err(e) => return Err(CollectError::io(&self.mdstat, e)),
        };
        let arrays = self.parse(&text).map_err(|e| {
            CollectError::parse(&self.mdstat, format!("error parsing mdstatus: {e}"))
        })?;
        let gauge = MetricType::Gauge;
        for array in &arrays {
            let device = [("device", array.name.as_str())];
            out.family(
                "node_md_disks_required",
                "Total number of disks of device.",
                gauge,
            )
            .sample(&device, array.disks_total as f64);
            let disks = out.family(
                "node_md_disks",
                "Number of active/failed/spare disks of device.",
                gauge,
            );
            for (state, count) in [
                ("active", array.disks_active),
                ("failed", array.disks_failed),
                ("spare", array.disks_spare),
            ] {
                disks.sample(&[("device", &array.name), ("state", state)], count as f64);
            }
            let states = out.family("node_md_state", "Indicates the state of md-device.", gauge);
            for (label, state) in [
                ("active", "active"),
                ("inactive", "inactive"),
                ("recovering", "recovering"),
                ("resync", "resyncing"),
                ("check", "checking"),
            ] {
                states.sample(
                    &[("device", &array.name), ("state", label)],
                    if array.state == state { 1.0 } else { 0.0 },
                );
            }
            out.family("node_md_blocks", "Total number of blocks on device.", gauge)
                .sample(&device, array.blocks_total as f64);
            out.family(
                "node_md_blocks_synced",
                "Number of blocks synced on device.",
                gauge,
            )
            .sample(&device, array.blocks_synced as f64);
        }
        let mut raids: Vec<String> = std::fs::read_dir(&self.block)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("md") && self.block.join(n).join("md").is_dir())
            .collect();
        raids.sort();
        for device in raids {
            let md = self.block.join(&device).join("md");
            let raid_disks = read_number(&md.join("raid_disks"))?.ok_or_else(|| {
                CollectError::NoData(format!("{} has no raid_disks", md.display()))
            })?;
            let level = read_attribute(&md.join("level")).unwrap_or_default();
            let degraded =
                if ["raid1", "raid4", "raid5", "raid6", "raid10"].contains(&level.as_str()) {
                    read_number(&md.join("degraded"))?.unwrap_or(0.0)
                } else {
                    0.0
                };
            out.family(
                "node_md_raid_disks",
                "Number of raid disks on device.",
                gauge,
            )
            .sample(&[("device", &device)], raid_disks);
            out.family(
                "node_md_degraded",
                "Number of degraded disks on device.",
                gauge,
            )
            .sample(&[("device", &device)], degraded);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collector() -> Mdadm {
        Mdadm::new(PathBuf::new(), PathBuf::new())
    }

    #[test]
    fn arrays_in_every_state() {
        let text = "Personalities : [raid1] [raid6] [raid5] [raid4]\n\
md3 : active raid6 sda1[8] sdh1[7] sdg1[6] sdf1[11] sde1[10](F) sdd1[3] sdc1[2] sdb1[1]\n      5853468288 blocks super 1.2 level 6, 64k chunk, algorithm 2 [8/7] [UUUUUUU_]\n      [=>...................]  recovery =  8.5% (166716/1950156096) finish=5.5min speed=1000K/sec\n\n\
md127 : active raid1 sdi2[0] sdj2[1]\n      312319552 blocks [2/2] [UU]\n      \n\
md8 : inactive sdb1[0](S)\n      1000 blocks super 1.2\n       \n\
md6 : active raid1 sdb2[2](S) sdc[1]\n      195310144 blocks [2/1] [U_]\n      resync=PENDING\n\n\
unused devices: <none>\n";
        let arrays = collector().parse(text).unwrap();
        assert_eq!(arrays.len(), 4);
        assert_eq!(arrays[0].state, "recovering");
        assert_eq!(
            (
                arrays[0].disks_total,
                arrays[0].disks_active,
                arrays[0].disks_failed
            ),
            (8, 7, 1)
        );
        assert_eq!(arrays[0].blocks_synced, 166716);
        assert_eq!(arrays[1].blocks_synced, 312319552);
        assert_eq!(
            (
                arrays[2].state.as_str(),
                arrays[2].disks_total,
                arrays[2].disks_spare
            ),
            ("inactive", 0, 1)
        );
        assert_eq!(
            (arrays[3].state.as_str(), arrays[3].blocks_synced),
            ("resyncing", 0)
        );
        assert!(collector().parse("md0 : active\n").is_err());
        assert!(
            collector()
                .parse("md0 : active raid1 sda[0]\nnot-a-number blocks\n\n\n")
                .is_err()
        );
    }
}
