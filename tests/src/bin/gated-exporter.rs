//! An exporter for testing the shared crate through a real binary: a scrape
//! with `?hold=PATH` creates `PATH.entered`, then waits until `PATH` exists
//! (or its deadline passes) before answering. Tests use it to keep scrapes in
//! flight for as long as they need.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exporter_kit::cli::{self, CommonArgs};
use exporter_kit::exposition::{MetricSet, MetricType};
use exporter_kit::self_metrics::BuildInfoLabels;
use exporter_kit::{BadRequest, Exporter, ExporterInfo, Readiness, Scrape};

static INFO: ExporterInfo = ExporterInfo {
    name: "gated_exporter",
    binary: "gated-exporter",
    version: "0.0.0",
    description: "Test exporter whose scrapes wait at a gate.",
    default_listen_address: "127.0.0.1:0",
    build_info: BuildInfoLabels::Common,
};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

struct Gated;

impl Exporter for Gated {
    async fn collect(&self, scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        let mut released = 1.0;
        if let Some(gate) = scrape.query_values("hold").next().map(PathBuf::from) {
            let entered = gate.with_extension("entered");
            std::fs::write(&entered, b"").map_err(|e| BadRequest(e.to_string()))?;
            while !gate.exists() {
                if scrape.remaining().is_zero() {
                    released = 0.0;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let mut set = MetricSet::new();
        set.single(
            "gated_exporter_released",
            "Whether the gate opened in time.",
            MetricType::Gauge,
            released,
        );
        Ok(set)
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse(&INFO);
    args.common.start_logging(&INFO);
    exporter_kit::serve(&INFO, &args.common.web, Readiness::ready(), Gated)
}
