//! NVMe controllers and their namespaces from /sys/class/nvme.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};
use regex::Regex;

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::read_attribute;

pub const REGISTRATION: Registration = Registration {
    name: "nvme",
    enabled_by_default: true,
    build: |context| Ok(Box::new(Nvme::new(context.paths.sys("class/nvme")))),
};

struct Nvme {
    root: PathBuf,
    namespace: Regex,
}

const FILES: [&str; 5] = ["firmware_rev", "model", "serial", "state", "cntlid"];

struct Namespace {
    id: String,
    ana_state: String,
    size_blocks: u64,
    used_blocks: u64,
    logical_block_size: u64,
}

/// The reason a whole controller yields no data, as upstream: one missing
/// file anywhere means no nvme metrics at all.
fn no_data() -> CollectError {
    CollectError::NoData("nvme statistics not found, skipping".into())
}

fn attribute(path: &Path) -> Result<String, CollectError> {
    read_attribute(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            no_data()
        } else {
            CollectError::io(path, e)
        }
    })
}

fn number(path: &Path) -> Result<u64, CollectError> {
    let text = attribute(path)?;
    text.parse()
        .map_err(|e| CollectError::parse(path, format!("{text:?}: {e}")))
}

impl Nvme {
    fn new(root: PathBuf) -> Nvme {
        Nvme {
            root,
            // procfs 0.21's pattern (node_exporter 1.12), unanchored as Go's
            // FindStringSubmatch is. It finds nvme0n1, and no longer the
            // per-controller paths (nvme0c0n1) of native multipath.
            namespace: Regex::new(r"nvme\d+n(\d+)").expect("a valid regex"),
        }
    }

    fn namespaces(&self, controller: &Path) -> Result<Vec<Namespace>, CollectError> {
        let entries = std::fs::read_dir(controller).map_err(|e| CollectError::io(controller, e))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        let mut namespaces = Vec::new();
        for name in names {
            let Some(id) = self.namespace.captures(&name).map(|c| c[1].to_owned()) else {
                continue;
            };
            let dir = controller.join(&name);
            let ana_state = match read_attribute(&dir.join("ana_state")) {
                Ok(state) => state,
                // Only multipath (ANA) namespaces have the file.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "unknown".to_owned(),
                Err(e) => return Err(CollectError::io(&dir.join("ana_state"), e)),
            };
            namespaces.push(Namespace {
                id,
                ana_state,
                size_blocks: number(&dir.join("size"))?,
                used_blocks: number(&dir.join("nuse"))?,
                logical_block_size: number(&dir.join("queue/logical_block_size"))?,
            });
        }
        Ok(namespaces)
    }
}

impl Collector for Nvme {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let names = crate::sysfs::class_entries(
            &self.root,
            &[std::io::ErrorKind::NotFound],
            "nvme statistics not found, skipping",
        )?;
        // Everything is read before anything is reported: one controller
        // missing a file means no nvme data at all, as upstream.
        let mut controllers = Vec::new();
        for name in names {
            let dir = self.root.join(&name);
            let values = FILES
                .iter()
                .map(|file| attribute(&dir.join(file)))
                .collect::<Result<Vec<_>, _>>()?;
            let namespaces = self.namespaces(&dir)?;
            controllers.push((name, values, namespaces));
        }
        let gauge = MetricType::Gauge;
        let family = out.family(
            "node_nvme_info",
            "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
            gauge,
        );
        for (name, v, _) in &controllers {
            family.sample(
                &[
                    ("device", name),
                    ("firmware_revision", &v[0]),
                    ("model", &v[1]),
                    ("serial", &v[2]),
                    ("state", &v[3]),
                    ("cntlid", &v[4]),
                ],
                1.0,
            );
        }
        for (device, _, namespaces) in &controllers {
            for ns in namespaces {
                out.family(
                    "node_nvme_namespace_info",
                    "Information about NVMe namespaces. Value is always 1",
                    gauge,
                )
                .sample(
                    &[
                        ("device", device),
                        ("nsid", &ns.id),
                        ("ana_state", &ns.ana_state),
                    ],
                    1.0,
                );
                let labels = [("device", device.as_str()), ("nsid", ns.id.as_str())];
                let block = ns.logical_block_size as f64;
                // `size` counts 512-byte sectors whatever the LBA format;
                // procfs multiplies it by the logical block size all the
                // same, and drop-in output means the same numbers.
                let size = ns.size_blocks as f64 * block;
                for (name, help, value) in [
                    (
                        "node_nvme_namespace_capacity_bytes",
                        "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
                        size,
                    ),
                    (
                        "node_nvme_namespace_size_bytes",
                        "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
                        size,
                    ),
                    (
                        "node_nvme_namespace_used_bytes",
                        "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
                        ns.used_blocks as f64 * block,
                    ),
                    (
                        "node_nvme_namespace_logical_block_size_bytes",
                        "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
                        block,
                    ),
                ] {
                    out.family(name, help, gauge).sample(&labels, value);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROLLER: [(&str, &str); 5] = [
        ("nvme0/firmware_rev", "1B2QEXM7\n"),
        ("nvme0/model", "Samsung SSD 970 EVO Plus 1TB\n"),
        ("nvme0/serial", "S4EWNX0M123456X\n"),
        ("nvme0/state", "live\n"),
        ("nvme0/cntlid", "4\n"),
    ];

    fn collect(namespace_files: &[(&str, &str)]) -> Result<String, CollectError> {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in CONTROLLER.iter().chain(namespace_files) {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let nvme = Nvme::new(dir.path().to_owned());
        let mut out = MetricSet::new();
        nvme.update(&mut out)?;
        out.finish();
        let mut text = Vec::new();
        exporter_kit::exposition::encode(&out, exporter_kit::exposition::Format::Text, &mut text);
        Ok(String::from_utf8(text).unwrap())
    }

    fn namespace(name: &str, size: &str) -> Vec<(String, String)> {
        [
            ("size", size),
            ("nuse", "1000\n"),
            ("queue/logical_block_size", "4096\n"),
        ]
        .iter()
        .map(|(file, content)| (format!("nvme0/{name}/{file}"), (*content).to_owned()))
        .collect()
    }

    fn files(owned: &[(String, String)]) -> Vec<(&str, &str)> {
        owned
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect()
    }

    #[test]
    fn namespaces_and_what_is_not_one() {
        let mut owned = namespace("nvme0n1", "2000\n");
        owned.extend(namespace("nvme0n2", "3000\n"));
        owned.push(("nvme0/nvme0n2/ana_state".into(), "optimized\n".into()));
        // A generic character device node and a multipath controller path.
        owned.push(("nvme0/ng0n1/dev".into(), "240:0\n".into()));
        owned.extend(namespace("nvme0c0n3", "4000\n"));
        let text = collect(&files(&owned)).unwrap();
        for line in [
            "node_nvme_namespace_info{ana_state=\"unknown\",device=\"nvme0\",nsid=\"1\"} 1\n",
            "node_nvme_namespace_info{ana_state=\"optimized\",device=\"nvme0\",nsid=\"2\"} 1\n",
            "node_nvme_namespace_size_bytes{device=\"nvme0\",nsid=\"1\"} 8.192e+06\n",
            "node_nvme_namespace_capacity_bytes{device=\"nvme0\",nsid=\"2\"} 1.2288e+07\n",
            "node_nvme_namespace_used_bytes{device=\"nvme0\",nsid=\"2\"} 4.096e+06\n",
            "node_nvme_namespace_logical_block_size_bytes{device=\"nvme0\",nsid=\"1\"} 4096\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert_eq!(text.matches("node_nvme_namespace_info{").count(), 2);
    }

    #[test]
    fn malformed_namespace_numbers_fail_the_collector() {
        for bad in ["", "x\n", "-1\n", "1 2\n", "18446744073709551616\n"] {
            let owned = namespace("nvme0n1", bad);
            assert!(
                matches!(collect(&files(&owned)), Err(CollectError::Parse { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_namespace_missing_a_file_means_no_data() {
        let owned: Vec<_> = namespace("nvme0n1", "2000\n")
            .into_iter()
            .filter(|(path, _)| !path.ends_with("nuse"))
            .collect();
        assert!(matches!(
            collect(&files(&owned)),
            Err(CollectError::NoData(_))
        ));
    }
}
