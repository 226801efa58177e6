//! /proc/stat counters: interrupts, context switches, forks, boot time,
//! process states, and softirqs per vector with `--collector.stat.softirq`.

use std::path::PathBuf;

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration, read};
use crate::procfs::parse_stat;

pub const REGISTRATION: Registration = Registration {
    name: "stat",
    enabled_by_default: true,
    build: |context| {
        Ok(Box::new(Stat {
            path: context.paths.proc("stat"),
            softirq: context.flags.stat.softirq,
        }))
    },
};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Export softirq calls per vector.
    #[arg(id = "collector.stat.softirq", long = "collector.stat.softirq")]
    pub softirq: bool,
}

const SOFTIRQ_VECTORS: [&str; 10] = [
    "hi",
    "timer",
    "net_tx",
    "net_rx",
    "block",
    "block_iopoll",
    "tasklet",
    "sched",
    "hrtimer",
    "rcu",
];

struct Stat {
    path: PathBuf,
    softirq: bool,
}

impl Collector for Stat {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let stat =
            parse_stat(&read(&self.path)?).map_err(|e| CollectError::parse(&self.path, e))?;
        let counter = MetricType::Counter;
        let gauge = MetricType::Gauge;
        for (name, help, kind, value) in [
            (
                "node_intr_total",
                "Total number of interrupts serviced.",
                counter,
                stat.interrupts,
            ),
            (
                "node_context_switches_total",
                "Total number of context switches.",
                counter,
                stat.context_switches,
            ),
            (
                "node_forks_total",
                "Total number of forks.",
                counter,
                stat.forks,
            ),
            (
                "node_boot_time_seconds",
                "Node boot time, in unixtime.",
                gauge,
                stat.boot_time,
            ),
            (
                "node_procs_running",
                "Number of processes in runnable state.",
                gauge,
                stat.procs_running,
            ),
            (
                "node_procs_blocked",
                "Number of processes blocked waiting for I/O to complete.",
                gauge,
                stat.procs_blocked,
            ),
        ] {
            out.single(name, help, kind, value as f64);
        }
        if self.softirq {
            let family = out.family("node_softirqs_total", "Number of softirq calls.", counter);
            for (vector, count) in SOFTIRQ_VECTORS.iter().zip(stat.softirqs) {
                family.sample(&[("vector", vector)], count as f64);
            }
        }
        Ok(())
    }
}
