//! Runs the tests' fake Kubernetes API server until killed, for trying
//! `kubectl` or kube-state-exporter by hand and for benchmarks.
//!
//! Usage: `cargo run -p e2e --bin fake-apiserver -- --kubeconfig /tmp/kubeconfig
//! [--listen 127.0.0.1:6443] [--objects FILE]... [--nodes N] [--pods N]`
//! then `kubectl --kubeconfig /tmp/kubeconfig get pods -A`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use e2e::kube_api::{self, FakeApiServer, Options};
use serde::Deserialize as _;
use serde_json::Value;

#[derive(Debug, Parser)]
#[command(about = "A fake Kubernetes API server holding objects in memory.")]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write a kubeconfig pointing at the server.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// JSON or YAML file of objects to load (one object, an array, a `List`,
    /// or several YAML documents); repeatable.
    #[arg(long)]
    objects: Vec<PathBuf>,
    /// Generate this many ready nodes (`node-0`, ...).
    #[arg(long, default_value_t = 0)]
    nodes: usize,
    /// Generate this many running pods, spread over `--namespaces`
    /// namespaces and the generated nodes.
    #[arg(long, default_value_t = 0)]
    pods: usize,
    /// Namespaces for generated pods (`ns-0`, ...).
    #[arg(long, default_value_t = 1)]
    namespaces: usize,
    /// Seconds between watch bookmarks (0: none).
    #[arg(long, default_value_t = 1.0)]
    bookmark_interval: f64,
}

/// Every object in a JSON or YAML file.
fn read_objects(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut objects = Vec::new();
    // YAML is a superset of JSON, so one parser reads both.
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value = Value::deserialize(document).map_err(|e| format!("{}: {e}", path.display()))?;
        flatten(value, &mut objects);
    }
    Ok(objects)
}

fn flatten(value: Value, into: &mut Vec<Value>) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.into_iter().for_each(|v| flatten(v, into)),
        Value::Object(mut map)
            if map
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List")) =>
        {
            if let Some(items) = map.remove("items") {
                flatten(items, into);
            }
        }
        other => into.push(other),
    }
}

fn generated(args: &Args) -> Vec<Value> {
    let namespaces = args.namespaces.max(1);
    let mut objects: Vec<Value> = (0..namespaces)
        .map(|n| kube_api::namespace(&format!("ns-{n}")))
        .collect();
    objects.extend((0..args.nodes).map(|n| kube_api::node(&format!("node-{n}"))));
    for i in 0..args.pods {
        let mut pod = kube_api::pod(&format!("ns-{}", i % namespaces), &format!("pod-{i}"));
        if args.nodes > 0 {
            pod["spec"]["nodeName"] = format!("node-{}", i % args.nodes).into();
        }
        objects.push(pod);
    }
    objects
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options {
        address: args.listen,
        bookmark_interval: Duration::from_secs_f64(args.bookmark_interval.max(0.0)),
        ..Options::default()
    };
    let server = match FakeApiServer::start_with(options) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let mut objects = Vec::new();
    for path in &args.objects {
        match read_objects(path) {
            Ok(more) => objects.extend(more),
            Err(e) => {
                eprintln!("cannot load objects: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if args.pods > 0 || args.nodes > 0 {
        objects.extend(generated(&args));
    }
    for object in objects {
        if let Err(e) = server.try_create(object) {
            eprintln!("cannot create an object: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = server.write_kubeconfig(&args.kubeconfig) {
        eprintln!("cannot write {}: {e}", args.kubeconfig.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "fake apiserver listening on {} (kubeconfig: {}, resource version {})",
        server.url(),
        args.kubeconfig.display(),
        server.resource_version()
    );
    // Serve until killed; the server runs on its own thread.
    loop {
        std::thread::park();
    }
}
