//! Memory controller error counts from /sys/devices/system/edac.

use std::path::{Path, PathBuf};

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};
use crate::sysfs::{numbered_entries, read_attribute};

pub const REGISTRATION: Registration = Registration {
    name: "edac",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Edac {
            root: context.paths.sys("devices/system/edac/mc"),
        }))
    },
};

struct Edac {
    root: PathBuf,
}

fn read_count(path: &Path) -> Result<f64, CollectError> {
    let text = crate::collector::read_text(path).map_err(|e| CollectError::io(path, e))?;
    text.trim()
        .parse::<u64>()
        .map(|v| v as f64)
        .map_err(|e| CollectError::parse(path, e.to_string()))
}

/// Like [`read_count`], but `None` when the file does not exist: drivers
/// that count only corrected errors per channel have no `ch<N>_ue_count`,
/// and upstream (since 1.12.1) skips that series rather than failing.
fn read_optional_count(path: &Path) -> Result<Option<f64>, CollectError> {
    match read_count(path) {
        Err(CollectError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            log::debug!(path:? = path; "edac: no uncorrectable count for this channel");
            Ok(None)
        }
        other => other.map(Some),
    }
}

/// The channel number of a `ch<N>_ce_count` file name.
fn channel_of(file_name: &str) -> Option<&str> {
    let number = file_name.strip_prefix("ch")?.strip_suffix("_ce_count")?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(number)
}

/// The DIMM label of a channel as upstream rewrites it: the kernel's default
/// labels ("mc#0csrow#1channel#0") lose their '#' and get '_' separators.
/// Channels without a label file are "unknown".
fn dimm_label(row: &Path, channel: &str) -> String {
    match read_attribute(&row.join(format!("ch{channel}_dimm_label"))) {
        Ok(label) => label
            .replace('#', "")
            .replace("csrow", "_csrow")
            .replace("channel", "_channel"),
        Err(_) => "unknown".to_owned(),
    }
}

/// A family's name and HELP.
type Family = (&'static str, &'static str);

const CONTROLLER_CE: Family = (
    "node_edac_correctable_errors_total",
    "Total correctable memory errors.",
);
const CONTROLLER_UE: Family = (
    "node_edac_uncorrectable_errors_total",
    "Total uncorrectable memory errors.",
);
const CSROW_CE: Family = (
    "node_edac_csrow_correctable_errors_total",
    "Total correctable memory errors for this csrow.",
);
const CSROW_UE: Family = (
    "node_edac_csrow_uncorrectable_errors_total",
    "Total uncorrectable memory errors for this csrow.",
);
const CHANNEL_CE: Family = (
    "node_edac_channel_correctable_errors_total",
    "Total correctable memory errors for this channel.",
);
const CHANNEL_UE: Family = (
    "node_edac_channel_uncorrectable_errors_total",
    "Total uncorrectable memory errors for this channel.",
);

fn count(out: &mut MetricSet, (name, help): Family, labels: &[(&'static str, &str)], value: f64) {
    out.family(name, help, MetricType::Counter)
        .sample(labels, value);
}

impl Collector for Edac {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        for controller_dir in numbered_entries(&self.root, "mc") {
            let controller = &controller_dir[2..];
            let dir = self.root.join(&controller_dir);
            let labels = [("controller", controller)];
            count(
                out,
                CONTROLLER_CE,
                &labels,
                read_count(&dir.join("ce_count"))?,
            );
            count(
                out,
                CONTROLLER_UE,
                &labels,
                read_count(&dir.join("ue_count"))?,
            );
            // Errors the controller could not attribute to a row.
            let unknown = [("controller", controller), ("csrow", "unknown")];
            count(
                out,
                CSROW_CE,
                &unknown,
                read_count(&dir.join("ce_noinfo_count"))?,
            );
            count(
                out,
                CSROW_UE,
                &unknown,
                read_count(&dir.join("ue_noinfo_count"))?,
            );
            for csrow_dir in numbered_entries(&dir, "csrow") {
                let csrow = &csrow_dir[5..];
                let row = dir.join(&csrow_dir);
                let labels = [("controller", controller), ("csrow", csrow)];
                count(out, CSROW_CE, &labels, read_count(&row.join("ce_count"))?);
                count(out, CSROW_UE, &labels, read_count(&row.join("ue_count"))?);
                for file in numbered_entries(&row, "ch") {
                    let Some(channel) = channel_of(&file) else {
                        continue;
                    };
                    let label = dimm_label(&row, channel);
                    let labels = [
                        ("controller", controller),
                        ("csrow", csrow),
                        ("channel", channel),
                        ("dimm_label", label.as_str()),
                    ];
                    count(out, CHANNEL_CE, &labels, read_count(&row.join(&file))?);
                    let ue = row.join(format!("ch{channel}_ue_count"));
                    if let Some(value) = read_optional_count(&ue)? {
                        count(out, CHANNEL_UE, &labels, value);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    const CONTROLLER: [(&str, &str); 4] = [
        ("mc0/ce_count", "5\n"),
        ("mc0/ue_count", "0\n"),
        ("mc0/ce_noinfo_count", "0\n"),
        ("mc0/ue_noinfo_count", "0\n"),
    ];

    fn collect(extra: &[(&str, &str)]) -> Result<String, CollectError> {
        let files: Vec<_> = CONTROLLER.iter().chain(extra).copied().collect();
        let dir = tree(&files);
        let edac = Edac {
            root: dir.path().to_owned(),
        };
        let mut out = MetricSet::new();
        edac.update(&mut out)?;
        out.finish();
        let mut text = Vec::new();
        exporter_kit::exposition::encode(&out, exporter_kit::exposition::Format::Text, &mut text);
        Ok(String::from_utf8(text).unwrap())
    }

    #[test]
    fn channels_carry_the_rewritten_dimm_label() {
        let text = collect(&[
            ("mc0/csrow0/ce_count", "5\n"),
            ("mc0/csrow0/ue_count", "0\n"),
            ("mc0/csrow0/ch0_ce_count", "2\n"),
            ("mc0/csrow0/ch0_ue_count", "1\n"),
            ("mc0/csrow0/ch0_dimm_label", "mc#0csrow#0channel#0\n"),
            ("mc0/csrow0/ch1_ce_count", "3\n"),
        ])
        .unwrap();
        assert!(text.contains(
            "node_edac_channel_correctable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"mc0_csrow0_channel0\"} 2\n"
        ));
        assert!(text.contains(
            "node_edac_channel_uncorrectable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"mc0_csrow0_channel0\"} 1\n"
        ));
        // No label file, and no uncorrectable count: the series is skipped.
        assert!(text.contains(
            "node_edac_channel_correctable_errors_total{channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"unknown\"} 3\n"
        ));
        assert!(
            !text.contains("channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"unknown\"} 0")
        );
    }

    #[test]
    fn malformed_channel_counts_fail_the_collector() {
        for bad in ["", "x\n", "-1\n", "1 2\n"] {
            let files = [
                ("mc0/csrow0/ce_count", "0\n"),
                ("mc0/csrow0/ue_count", "0\n"),
                ("mc0/csrow0/ch0_ce_count", bad),
            ];
            assert!(
                matches!(collect(&files), Err(CollectError::Parse { .. })),
                "{bad:?}"
            );
            let files = [
                ("mc0/csrow0/ce_count", "0\n"),
                ("mc0/csrow0/ue_count", "0\n"),
                ("mc0/csrow0/ch0_ce_count", "0\n"),
                ("mc0/csrow0/ch0_ue_count", bad),
            ];
            assert!(
                matches!(collect(&files), Err(CollectError::Parse { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn channel_file_names() {
        assert_eq!(channel_of("ch0_ce_count"), Some("0"));
        assert_eq!(channel_of("ch12_ce_count"), Some("12"));
        assert_eq!(channel_of("ch0_ue_count"), None);
        assert_eq!(channel_of("ch0_dimm_label"), None);
        assert_eq!(channel_of("ch_ce_count"), None);
        assert_eq!(channel_of("chx_ce_count"), None);
    }
}
