//! `node_entropy_available_bits` and `node_entropy_pool_size_bits`.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};

pub const REGISTRATION: Registration = Registration {
    name: "entropy",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Entropy {
            available: context.paths.proc("sys/kernel/random/entropy_avail"),
            pool_size: context.paths.proc("sys/kernel/random/poolsize"),
        }))
    },
};

struct Entropy {
    available: PathBuf,
    pool_size: PathBuf,
}

fn read_number(path: &std::path::Path) -> Result<f64, CollectError> {
    let text = read(path)?;
    text.trim()
        .parse::<u64>()
        .map(|v| v as f64)
        .map_err(|e| CollectError::parse(path, e.to_string()))
}

impl Collector for Entropy {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        out.single(
            "node_entropy_available_bits",
            "Bits of available entropy.",
            MetricType::Gauge,
            read_number(&self.available)?,
        );
        out.single(
            "node_entropy_pool_size_bits",
            "Bits of entropy pool.",
            MetricType::Gauge,
            read_number(&self.pool_size)?,
        );
        Ok(())
    }
}
