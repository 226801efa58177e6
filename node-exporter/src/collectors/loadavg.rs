//! `node_load1`, `node_load5`, `node_load15` from /proc/loadavg.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "loadavg",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(LoadAvg {
            path: context.paths.proc("loadavg"),
        }))
    },
};

struct LoadAvg {
    path: PathBuf,
}

impl Collector for LoadAvg {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = read(&self.path)?;
        let loads = parse(&text)
            .ok_or_else(|| CollectError::parse(&self.path, "expected three load averages"))?;
        for ((name, help), value) in [
            ("node_load1", "1m load average."),
            ("node_load5", "5m load average."),
            ("node_load15", "15m load average."),
        ]
        .into_iter()
        .zip(loads)
        {
            out.single(name, help, MetricType::Gauge, value);
        }
        Ok(())
    }
}

fn parse(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_ascii_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_three_averages_and_refuses_garbage() {
        assert_eq!(
            parse("0.21 0.37 0.39 1/719 19737\n"),
            Some([0.21, 0.37, 0.39])
        );
        assert_eq!(parse("0.21 0.37\n"), None);
        assert_eq!(parse("x 0.37 0.39\n"), None);
        assert_eq!(parse(""), None);
    }
}
