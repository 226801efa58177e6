//! `node_kernel_hung_tasks_total` from /proc/sys/kernel/hung_task_detect_count.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read_or_no_data};

pub const REGISTRATION: Registration = Registration {
    name: "kernel_hung",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(KernelHung {
            path: context.paths.proc("sys/kernel/hung_task_detect_count"),
        }))
    },
};

struct KernelHung {
    path: PathBuf,
}

impl Collector for KernelHung {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let text = read_or_no_data(&self.path)?;
        let count: u64 = text
            .trim()
            .parse()
            .map_err(|e| CollectError::parse(&self.path, format!("{e}")))?;
        out.single(
            "node_kernel_hung_tasks_total",
            "Total number of tasks that have been detected as hung since the system booted.",
            MetricType::Counter,
            count as f64,
        );
        Ok(())
    }
}
