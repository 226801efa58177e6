//! What every exporter of the suite shares, so that each exporter is only its
//! own collectors:
//!
//! - [`cli`]: the exporter-toolkit and promslog flags, environment variables,
//!   one-line configuration errors;
//! - [`web`]: the HTTP server with the exporter-toolkit web config (TLS,
//!   client certificates, basic auth, headers, rate limit), reloaded live;
//! - [`exposition`]: the metric model, the text and OpenMetrics writer, and a
//!   strict text parser;
//! - [`scrape`]: the [`Exporter`] trait and the per-scrape deadline;
//! - [`self_metrics`]: `process_*`, `promhttp_*` and `<exporter>_build_info`;
//! - [`logging`]: logfmt or JSON log lines;
//! - [`file_stamp`]: noticing changed files, for configuration that reloads;
//! - [`civil`]: days since the epoch and calendar dates.

pub mod civil;
pub mod cli;
pub mod exposition;
pub mod file_stamp;
pub mod logging;
pub mod scrape;
pub mod self_metrics;
pub mod web;

use std::process::ExitCode;

pub use scrape::{BadRequest, Exporter, Rendered, Scrape};
pub use web::{Readiness, Server};

/// The git revision the suite was built from.
pub const REVISION: &str = env!("EXPORTER_KIT_REVISION");
/// The committer date of that revision (ISO 8601).
pub const COMMIT_DATE: &str = env!("EXPORTER_KIT_COMMIT_DATE");
/// The compiler that built it.
pub const RUST_VERSION: &str = env!("EXPORTER_KIT_RUSTC_VERSION");

/// Who an exporter is: names, version and defaults.
#[derive(Debug, Clone, Copy)]
pub struct ExporterInfo {
    /// The metric namespace and log name, e.g. `node_exporter`.
    pub name: &'static str,
    /// The binary, e.g. `node-exporter`.
    pub binary: &'static str,
    pub version: &'static str,
    /// One sentence for `--help` and the landing page.
    pub description: &'static str,
    /// The Go exporter's default `--web.listen-address`.
    pub default_listen_address: &'static str,
    /// The label names of the Go exporter's `<name>_build_info`.
    pub build_info: self_metrics::BuildInfoLabels,
}

/// Runs `exporter` behind the web server until SIGTERM or SIGINT, then lets
/// in-flight scrapes finish. Start-up errors print one line and exit 1.
pub fn serve<E: Exporter>(
    info: &'static ExporterInfo,
    web: &cli::WebArgs,
    readiness: Readiness,
    exporter: E,
) -> ExitCode {
    serve_each(
        info,
        vec![(web.clone(), exporter)],
        readiness,
        std::future::ready(()),
    )
}

/// [`serve`] for an exporter with several servers, each with its own
/// listeners and flags (kube-state-metrics' metrics and telemetry ports),
/// and `background` work running beside them (kube-state's watches). All
/// servers start before any is served, and all stop together.
pub fn serve_each<E: Exporter>(
    info: &'static ExporterInfo,
    servers: Vec<(cli::WebArgs, E)>,
    readiness: Readiness,
    background: impl std::future::Future<Output = ()> + Send + 'static,
) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => cli::fatal(info, format!("cannot start the async runtime: {err}")),
    };
    runtime.block_on(async {
        // Handlers go in before the listeners so a SIGTERM that arrives as
        // soon as the port is open still shuts down gracefully.
        let shutdown = shutdown_signal().unwrap_or_else(|err| {
            cli::fatal(info, format!("cannot install signal handlers: {err}"))
        });
        let mut bound = Vec::new();
        for (web, exporter) in servers {
            let server = Server::bind(info, &web, exporter, readiness.clone())
                .await
                .unwrap_or_else(|err| cli::fatal(info, err));
            bound.push(server);
        }
        let background = tokio::spawn(background);
        let (stop, stopping) = tokio::sync::watch::channel(());
        let mut running = tokio::task::JoinSet::new();
        for server in bound {
            let mut stopping = stopping.clone();
            running.spawn(server.run(async move {
                let _ = stopping.changed().await;
            }));
        }
        shutdown.await;
        background.abort();
        let _ = stop.send(());
        while running.join_next().await.is_some() {}
    });
    // A collector thread stuck in a blocking read (a hung mount) must not
    // keep the process from exiting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    log::info!("Stopped");
    ExitCode::SUCCESS
}

/// The runtime the exporters use: one thread for I/O; blocking reads go to
/// tokio's blocking pool. Scrapes are small and I/O bound, so more threads
/// would only cost memory.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => log::info!(signal = "SIGTERM"; "Received signal"),
            _ = interrupt.recv() => log::info!(signal = "SIGINT"; "Received signal"),
        }
    })
}
