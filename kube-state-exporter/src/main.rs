//! A drop-in replacement for kube-state-metrics.

use std::process::ExitCode;

use clap::Parser;
use exporter_kit::cli::{self, CommonArgs};
use exporter_kit::exposition::MetricSet;
use exporter_kit::self_metrics::BuildInfoLabels;
use exporter_kit::{BadRequest, Exporter, ExporterInfo, Readiness, Scrape};

static INFO: ExporterInfo = ExporterInfo {
    name: "kube_state_metrics",
    binary: "kube-state-exporter",
    version: env!("CARGO_PKG_VERSION"),
    description: "Prometheus exporter for the state of Kubernetes objects.",
    default_listen_address: ":8080",
    build_info: BuildInfoLabels::Common,
};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

/// No collectors yet: scrapes carry the exporter's own metrics only.
struct KubeStateExporter;

impl Exporter for KubeStateExporter {
    async fn collect(&self, _scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        Ok(MetricSet::new())
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse(&INFO);
    args.common.start_logging(&INFO);
    exporter_kit::serve(
        &INFO,
        &args.common.web,
        Readiness::ready(),
        KubeStateExporter,
    )
}
