//! The kube-state-exporter binary: kube-state-metrics' flags and ports
//! around the engine in the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use exporter_kit::cli::{self, LogArgs, WebArgs};
use exporter_kit::exposition::MetricSet;
use exporter_kit::self_metrics::BuildInfoLabels;
use exporter_kit::{BadRequest, Exporter, ExporterInfo, Readiness, Rendered, Scrape};

use kube_state_exporter::exposition::{Snapshot, Watched};
use kube_state_exporter::family::RenderConfig;
use kube_state_exporter::filters::MetricFilter;
use kube_state_exporter::labels::AllowList;
use kube_state_exporter::resources::{self, Registration};
use kube_state_exporter::store::Store;
use kube_state_exporter::telemetry::Telemetry;
use kube_state_exporter::watch;

static INFO: ExporterInfo = ExporterInfo {
    name: "kube_state_metrics",
    binary: "kube-state-exporter",
    version: env!("CARGO_PKG_VERSION"),
    description: "Prometheus exporter for the state of Kubernetes objects.",
    default_listen_address: ":8080",
    build_info: BuildInfoLabels::Common,
};

/// kube-state-metrics' flags.
#[derive(Debug, Parser)]
struct Args {
    /// Kubeconfig file to reach the API server; without it, the in-cluster
    /// service account (or $KUBECONFIG, ~/.kube/config) is used.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Host to expose metrics on.
    #[arg(long, default_value = "::")]
    host: String,
    /// Port to expose metrics on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Host to expose kube-state-metrics' own metrics on.
    #[arg(long = "telemetry-host", default_value = "::")]
    telemetry_host: String,
    /// Port to expose kube-state-metrics' own metrics on.
    #[arg(long = "telemetry-port", default_value_t = 8081)]
    telemetry_port: u16,
    /// Comma-separated resources to watch (default: all).
    #[arg(long, value_delimiter = ',')]
    resources: Vec<String>,
    /// Comma-separated namespaces to watch (default: all).
    #[arg(long, value_delimiter = ',')]
    namespaces: Vec<String>,
    /// Comma-separated namespaces not to watch (excludes --namespaces).
    #[arg(long = "namespaces-denylist", value_delimiter = ',')]
    namespaces_denylist: Vec<String>,
    /// Comma-separated regular expressions of the families to expose (all
    /// others are off); excludes --metric-denylist.
    #[arg(long = "metric-allowlist", value_delimiter = ',')]
    metric_allowlist: Vec<String>,
    /// Comma-separated regular expressions of families not to expose.
    #[arg(long = "metric-denylist", value_delimiter = ',')]
    metric_denylist: Vec<String>,
    /// Comma-separated regular expressions of opt-in families to expose.
    #[arg(long = "metric-opt-in-list", value_delimiter = ',')]
    metric_opt_in_list: Vec<String>,
    /// Kubernetes labels to export as `label_*` in the `kube_<resource>_labels`
    /// families, e.g. `pods=[app,team],namespaces=[*]`; `*=[*]` for all.
    #[arg(long = "metric-labels-allowlist", default_value = "")]
    metric_labels_allowlist: String,
    /// Kubernetes annotations to export as `annotation_*` in the
    /// `kube_<resource>_annotations` families, in the same syntax.
    #[arg(long = "metric-annotations-allowlist", default_value = "")]
    metric_annotations_allowlist: String,
    /// Web configuration file (exporter-toolkit format) for TLS and basic
    /// authentication on both ports.
    #[arg(long = "tls-config", value_name = "FILE")]
    tls_config: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
}

/// The two ports: the objects' metrics, and the exporter's own.
enum Endpoint {
    Metrics(Arc<Engine>),
    Telemetry(Arc<Engine>),
}

/// What the watches fill and the scrapes read.
struct Engine {
    watched: Vec<Arc<Watched>>,
    telemetry: Arc<Telemetry>,
}

impl Exporter for Endpoint {
    async fn collect(&self, _scrape: &Scrape) -> Result<MetricSet, BadRequest> {
        let mut out = MetricSet::new();
        if let Endpoint::Telemetry(engine) = self {
            engine.telemetry.write(&mut out);
        }
        Ok(out)
    }

    fn rendered(&self, scrape: &Scrape) -> Option<Box<dyn Rendered>> {
        let Endpoint::Metrics(engine) = self else {
            return None;
        };
        // KSM's filters: comma-separated resource names.
        let listed = |key| {
            let names: Vec<&str> = scrape
                .query_values(key)
                .flat_map(|v| v.split(','))
                .filter(|name| !name.is_empty())
                .collect();
            names
        };
        let (included, excluded) = (listed("resources"), listed("exclude_resources"));
        let wanted = |name: &str| {
            (included.is_empty() || included.contains(&name)) && !excluded.contains(&name)
        };
        Some(Box::new(Snapshot::new(&engine.watched, wanted)))
    }
}

/// A Go-style listen address for `host` and `port`.
fn listen_address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn web_args(args: &Args, host: &str, port: u16, own_metrics: bool) -> WebArgs {
    WebArgs {
        listen_addresses: vec![listen_address(host, port)],
        telemetry_path: "/metrics".into(),
        config_file: args.tls_config.clone(),
        max_requests: 40,
        header_timeout: std::time::Duration::from_secs(5),
        disable_exporter_metrics: !own_metrics,
    }
}

/// The resources `--resources` selects, or a one-line error.
fn selected(names: &[String]) -> Result<Vec<&'static Registration>, String> {
    if names.is_empty() {
        return Ok(resources::ALL.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            resources::ALL
                .iter()
                .find(|r| r.name == name)
                .ok_or_else(|| format!("--resources: unknown resource {name:?}"))
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Args = cli::parse(&INFO);
    exporter_kit::logging::init(args.log.level, args.log.format);
    log::info!(version = INFO.version, revision = exporter_kit::REVISION; "Starting {}", INFO.binary);
    let registrations = selected(&args.resources).unwrap_or_else(|e| cli::fatal(&INFO, e));
    let filter = MetricFilter::new(
        &args.metric_allowlist,
        &args.metric_denylist,
        &args.metric_opt_in_list,
    )
    .unwrap_or_else(|e| cli::fatal(&INFO, e));
    let allowed_labels =
        AllowList::parse("--metric-labels-allowlist", &args.metric_labels_allowlist)
            .unwrap_or_else(|e| cli::fatal(&INFO, e));
    let allowed_annotations = AllowList::parse(
        "--metric-annotations-allowlist",
        &args.metric_annotations_allowlist,
    )
    .unwrap_or_else(|e| cli::fatal(&INFO, e));
    let namespaces: Vec<Option<String>> = match args.namespaces.as_slice() {
        [] => vec![None],
        listed => listed.iter().cloned().map(Some).collect(),
    };
    if args.namespaces.iter().any(|n| !n.is_empty()) && !args.namespaces_denylist.is_empty() {
        cli::fatal(
            &INFO,
            "--namespaces and --namespaces-denylist are mutually exclusive; set one",
        );
    }
    let denied_namespaces = (!args.namespaces_denylist.is_empty()).then(|| {
        args.namespaces_denylist
            .iter()
            .map(|n| format!("metadata.namespace!={n}"))
            .collect::<Vec<_>>()
            .join(",")
    });

    let telemetry = Arc::new(Telemetry::default());
    let readiness = Readiness::default();
    let mut watched = Vec::new();
    let mut watches = Vec::new();
    for registration in &registrations {
        let headers = (registration.headers)();
        let config = Arc::new(RenderConfig {
            enabled: headers
                .iter()
                .map(|h| filter.includes(h.name, h.opt_in))
                .collect(),
            labels: allowed_labels.for_resource(registration.name),
            annotations: allowed_annotations.for_resource(registration.name),
        });
        let headers = headers
            .into_iter()
            .zip(config.enabled.iter())
            .map(|(header, on)| on.then_some(header))
            .collect();
        // A cluster-scoped kind has one watch whatever --namespaces says.
        let scopes = if registration.namespaced {
            namespaces.as_slice()
        } else {
            &[None]
        };
        let stores: Vec<Arc<Store>> = scopes.iter().map(|_| Arc::default()).collect();
        for (namespace, store) in scopes.iter().zip(&stores) {
            watches.push((
                *registration,
                namespace.clone(),
                store.clone(),
                config.clone(),
            ));
        }
        watched.push(Arc::new(Watched {
            name: registration.name,
            headers,
            stores,
        }));
    }
    let engine = Arc::new(Engine {
        watched,
        telemetry: telemetry.clone(),
    });

    let ready = readiness.clone();
    let kubeconfig = args.kubeconfig.clone();
    let background = async move {
        let client = match client(kubeconfig).await {
            Ok(client) => client,
            Err(message) => cli::fatal(&INFO, message),
        };
        // Ready once every watch has completed its first list.
        let pending = Arc::new(AtomicUsize::new(watches.len()));
        for (registration, namespace, store, config) in watches {
            let pending = pending.clone();
            let ready = ready.clone();
            (registration.start)(watch::Start {
                client: client.clone(),
                namespace,
                denied_namespaces: denied_namespaces.clone(),
                store,
                config,
                telemetry: telemetry.clone(),
                listed: Box::new(move || {
                    if pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                        ready.set_ready();
                    }
                }),
            });
        }
        std::future::pending::<()>().await;
    };

    let servers = vec![
        (
            web_args(&args, &args.host, args.port, false),
            Endpoint::Metrics(engine.clone()),
        ),
        (
            web_args(&args, &args.telemetry_host, args.telemetry_port, true),
            Endpoint::Telemetry(engine),
        ),
    ];
    exporter_kit::serve_each(&INFO, servers, readiness, background)
}

/// A client from `--kubeconfig`, or as kubectl and client-go find one.
async fn client(kubeconfig: Option<PathBuf>) -> Result<kube::Client, String> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(&path)
                .map_err(|e| format!("--kubeconfig={}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &Default::default())
                .await
                .map_err(|e| format!("--kubeconfig={}: {e}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("no Kubernetes API configuration: {e}"))?,
    };
    kube::Client::try_from(config).map_err(|e| format!("Kubernetes client: {e}"))
}
