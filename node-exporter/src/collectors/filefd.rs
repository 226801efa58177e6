//! `node_filefd_allocated` and `node_filefd_maximum` from /proc/sys/fs/file-nr.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "filefd",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(FileFd {
            path: context.paths.proc("sys/fs/file-nr"),
        }))
    },
};

struct FileFd {
    path: PathBuf,
}

impl Collector for FileFd {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = read(&self.path)?;
        let (allocated, maximum) = parse(&text)
            .ok_or_else(|| CollectError::parse(&self.path, "expected three numbers"))?;
        out.single(
            "node_filefd_allocated",
            "File descriptor statistics: allocated.",
            MetricType::Gauge,
            allocated,
        );
        out.single(
            "node_filefd_maximum",
            "File descriptor statistics: maximum.",
            MetricType::Gauge,
            maximum,
        );
        Ok(())
    }
}

/// "allocated unused maximum"
fn parse(text: &str) -> Option<(f64, f64)> {
    let fields: Vec<f64> = text
        .split_ascii_whitespace()
        .map(|f| f.parse::<u64>().ok().map(|v| v as f64))
        .collect::<Option<_>>()?;
    match fields[..] {
        [allocated, _, maximum] => Some((allocated, maximum)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_allocated_and_maximum() {
        assert_eq!(parse("1024\t0\t1631329\n"), Some((1024.0, 1631329.0)));
        assert_eq!(parse("1024 0\n"), None);
        assert_eq!(parse("a b c\n"), None);
    }
}
