//! kube-state-metrics' own metrics about its list and watch requests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use exporter_kit::exposition::{MetricSet, MetricType};

/// Counts of list and watch outcomes per resource.
#[derive(Default)]
pub struct Telemetry {
    counts: Mutex<BTreeMap<(&'static str, &'static str, bool), u64>>,
}

impl Telemetry {
    pub fn listed(&self, resource: &'static str, success: bool) {
        self.count("list", resource, success);
    }

    pub fn watched(&self, resource: &'static str, success: bool) {
        self.count("watch", resource, success);
    }

    fn count(&self, request: &'static str, resource: &'static str, success: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((request, resource, success)).or_default() += 1;
    }

    /// `kube_state_metrics_list_total` and `kube_state_metrics_watch_total`.
    pub fn write(&self, out: &mut MetricSet) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for ((request, resource, success), count) in counts.iter() {
            let result = if *success { "success" } else { "error" };
            let (name, help) = match *request {
                "list" => (
                    "kube_state_metrics_list_total",
                    "Number of total resource list in kube-state-metrics",
                ),
                _ => (
                    "kube_state_metrics_watch_total",
                    "Number of total resource watches in kube-state-metrics",
                ),
            };
            out.family(name, help, MetricType::Counter)
                .sample(&[("resource", resource), ("result", result)], *count as f64);
        }
    }
}
