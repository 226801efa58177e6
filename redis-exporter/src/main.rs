//! A drop-in replacement for oliver006/redis_exporter.

use std::process::ExitCode;

use clap::Parser;
use exporter_kit::cli::{self, CommonArgs};
use exporter_kit::exposition::MetricSet;
use exporter_kit::{BadRequest, Exporter, ExporterInfo, Readiness, Scrape};

static INFO: ExporterInfo = ExporterInfo {
    name: "redis_exporter",
    binary: "redis-exporter",
    version: env!("CARGO_PKG_VERSION"),
    description: "Prometheus exporter for Redis metrics.",
    default_listen_address: ":9121",
};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

/// No collectors yet: scrapes carry the exporter's own metrics only.
struct RedisExporter;

impl Exporter for RedisExporter {
    async fn collect(&self, _scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        Ok(MetricSet::new())
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse(&INFO);
    args.common.start_logging(&INFO);
    exporter_kit::serve(&INFO, &args.common.web, Readiness::ready(), RedisExporter)
}
