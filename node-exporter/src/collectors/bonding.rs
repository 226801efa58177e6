//! Bonding interfaces: configured and active slaves per master.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "bonding",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Bonding {
            root: context.paths.sys("class/net"),
        }))
    },
};

struct Bonding {
    root: PathBuf,
}

fn read_bonding(path: &Path) -> Result<String, CollectError> {
    crate::collector::read_text(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            CollectError::NoData(format!("{} does not exist", path.display()))
        }
        _ => CollectError::io(path, e),
    })
}

impl Collector for Bonding {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        // Everything is read first: any missing file means no metrics at all.
        let mut masters = Vec::new();
        for master in read_bonding(&self.root.join("bonding_masters"))?.split_ascii_whitespace() {
            let slaves_text = read_bonding(&self.root.join(master).join("bonding/slaves"))?;
            let slaves: Vec<&str> = slaves_text.split_ascii_whitespace().collect();
            let mut active = 0;
            for slave in &slaves {
                let lower = self
                    .root
                    .join(master)
                    .join(format!("lower_{slave}/bonding_slave/mii_status"));
                let status = match crate::collector::read_text(&lower) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => read_bonding(
                        &self
                            .root
                            .join(master)
                            .join(format!("slave_{slave}/bonding_slave/mii_status")),
                    )?,
                    other => other.map_err(|e| CollectError::io(&lower, e))?,
                };
                if status.trim() == "up" {
                    active += 1;
                }
            }
            masters.push((master.to_owned(), slaves.len(), active));
        }
        let family = out.family(
            "node_bonding_slaves",
            "Number of configured slaves per bonding interface.",
            MetricType::Gauge,
        );
        for (master, slaves, _) in &masters {
            family.sample(&[("master", master)], *slaves as f64);
        }
        let family = out.family(
            "node_bonding_active",
            "Number of active slaves per bonding interface.",
            MetricType::Gauge,
        );
        for (master, _, active) in &masters {
            family.sample(&[("master", master)], *active as f64);
        }
        Ok(())
    }
}
