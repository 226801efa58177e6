//! A fake Kubernetes API server for the kube-state-exporter tests: real
//! HTTP/1.1 on a real socket, speaking enough of kube-apiserver's protocol
//! for `kubectl` and kube-rs's `watcher` through an ordinary kubeconfig.
//!
//! Objects live in memory as JSON. Tests write through this handle
//! ([`FakeApiServer::create`], [`update`](FakeApiServer::update),
//! [`delete`](FakeApiServer::delete)); clients read over HTTP: discovery,
//! LIST (selectors, `limit`/`continue`, resource version semantics), GET,
//! WATCH (history replay, bookmarks, 410 Expired, timeouts) and, for kubectl,
//! server-side Tables. POST, PUT and DELETE work too.
//!
//! Faults for resilience tests: [`drop_watches`](FakeApiServer::drop_watches),
//! [`compact`](FakeApiServer::compact), [`stop`](FakeApiServer::stop) and
//! [`restart`](FakeApiServer::restart) on the same port with the state kept,
//! and [`fail_lists`](FakeApiServer::fail_lists).
//!
//! The server runs on its own thread and runtime, so the handle is plain
//! synchronous code usable from sync and async tests alike.

mod discovery;
mod list;
mod objects;
mod query;
mod selector;
mod server;
mod status;
mod store;
mod table;
mod util;
mod watch;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

pub use discovery::GIT_VERSION;
pub use objects::{deployment, namespace, node, object, pod};
pub use status::ApiError;

use server::{Shared, lock};
use store::Store;

/// How a [`FakeApiServer`] starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    pub address: SocketAddr,
    /// How often watches that allow bookmarks get one; zero: never (only
    /// [`FakeApiServer::bookmark_now`]).
    pub bookmark_interval: Duration,
    /// How many write events history keeps before the oldest are compacted.
    pub history_limit: usize,
    /// The bearer token in the kubeconfig; a request carrying another token
    /// gets 401 (one carrying none is served: clients send no credentials
    /// over plain HTTP).
    pub token: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            bookmark_interval: Duration::from_secs(1),
            history_limit: 100_000,
            token: "fake-apiserver-token".to_owned(),
        }
    }
}

/// The listener currently being served.
struct Listening {
    shutdown: tokio::sync::watch::Sender<bool>,
    stopped: std::sync::mpsc::Receiver<()>,
}

/// A running fake API server; stopped when dropped.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    address: SocketAddr,
    runtime: tokio::runtime::Handle,
    listening: Mutex<Option<Listening>>,
    finish: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Starts a server on a free port of 127.0.0.1 with default options.
    pub fn start() -> FakeApiServer {
        FakeApiServer::start_with(Options::default()).expect("the fake API server starts")
    }

    /// Starts a server with `options`.
    pub fn start_with(options: Options) -> io::Result<FakeApiServer> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-apiserver".to_owned())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = finished.await;
                });
            })?;
        let shared = Arc::new(Shared::new(
            Store::new(options.history_limit),
            options.token,
        ));
        if !options.bookmark_interval.is_zero() {
            handle.spawn(bookmarks(shared.clone(), options.bookmark_interval));
        }
        let listener = bind(options.address)?;
        let server = FakeApiServer {
            shared,
            address: listener.local_addr()?,
            runtime: handle,
            listening: Mutex::new(None),
            finish: Some(finish),
            thread: Some(thread),
        };
        server.serve(listener);
        Ok(server)
    }

    fn serve(&self, listener: TcpListener) {
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let (stopped_tx, stopped) = std::sync::mpsc::channel();
        self.runtime.spawn(server::serve(
            listener,
            self.shared.clone(),
            shutdown_rx,
            stopped_tx,
        ));
        *lock(&self.listening) = Some(Listening { shutdown, stopped });
    }

    /// The listening address (kept across [`restart`](Self::restart)).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bearer token written to kubeconfigs.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Writes a kubeconfig for this server to `dir/kubeconfig` and returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        self.write_kubeconfig(&path)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Writes an ordinary kubeconfig to `path`: one cluster at [`url`](Self::url),
    /// one user with the token, and a current context joining them.
    pub fn write_kubeconfig(&self, path: &Path) -> io::Result<()> {
        let config = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: fake\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: fake\n  user:\n    token: {token}\n\
             contexts:\n\
             - name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             current-context: fake\n\
             preferences: {{}}\n",
            url = self.url(),
            token = self.token()
        );
        std::fs::write(path, config)
    }

    /// Creates an object (kind from its `apiVersion` and `kind`); see [`try_create`](Self::try_create).
    pub fn create(&self, object: Value) -> Value {
        self.try_create(object)
            .unwrap_or_else(|e| panic!("create failed: {e}"))
    }

    /// Creates an object, filling `uid`, `creationTimestamp`,
    /// `resourceVersion` and, for namespaced kinds, the `default` namespace
    /// when missing. Returns the stored object.
    pub fn try_create(&self, object: Value) -> Result<Value, ApiError> {
        self.shared.store.create(object)
    }

    /// Replaces an object; see [`try_update`](Self::try_update).
    pub fn update(&self, object: Value) -> Value {
        self.try_update(object)
            .unwrap_or_else(|e| panic!("update failed: {e}"))
    }

    /// Replaces an existing object. A set `metadata.resourceVersion` must be
    /// current (else 409 Conflict); unset means unconditional.
    pub fn try_update(&self, object: Value) -> Result<Value, ApiError> {
        self.shared.store.update(object)
    }

    /// Deletes an object, returning its last state; see [`try_delete`](Self::try_delete).
    pub fn delete(&self, resource: &str, namespace: Option<&str>, name: &str) -> Value {
        self.try_delete(resource, namespace, name)
            .unwrap_or_else(|e| panic!("delete failed: {e}"))
    }

    /// Deletes `name` of `resource` (a plural such as `pods`) in `namespace`
    /// (ignored for cluster-scoped resources).
    pub fn try_delete(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let resource = discovery::by_plural(resource).ok_or_else(ApiError::no_such_path)?;
        self.shared.store.delete(resource, namespace, name)
    }

    /// The current object, if it exists.
    pub fn get(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let resource = served(resource);
        let namespace = if resource.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        let key = (namespace.to_owned(), name.to_owned());
        self.shared.store.get(resource, &key).map(|o| (*o).clone())
    }

    /// The current objects of `resource`, in one namespace or all, in list order.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        self.shared.store.list(served(resource), namespace)
    }

    /// The newest resource version.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.resource_version()
    }

    /// Sends a bookmark now to every watch that allows them.
    pub fn bookmark_now(&self) {
        self.shared.store.bookmark_all();
    }

    /// Cuts every open watch connection abruptly (no terminating chunk).
    pub fn drop_watches(&self) {
        self.shared.store.cut_watches();
    }

    /// Forgets all history, as etcd compaction: every resource version handed
    /// out so far becomes too old (watches from it get a 410 ERROR event,
    /// continue tokens a 410). Open watches carry on.
    pub fn compact(&self) {
        self.shared.store.compact();
    }

    /// Makes every LIST of `resource` fail with `code` (403, 429, 500, 503, ...),
    /// or succeed again with `None`.
    pub fn fail_lists(&self, resource: &str, code: Option<u16>) {
        let resource = served(resource);
        let mut faults = lock(&self.shared.faults);
        match code {
            Some(code) => faults.insert(resource.plural, code),
            None => faults.remove(resource.plural),
        };
    }

    /// Stops listening and closes every connection; state is kept. Returns
    /// once the port is free.
    pub fn stop(&self) {
        let Some(listening) = lock(&self.listening).take() else {
            return;
        };
        let _ = listening.shutdown.send(true);
        // The serving task reports once the listener and every connection
        // are closed; it can only fail to if the runtime is gone.
        let _ = listening.stopped.recv_timeout(Duration::from_secs(30));
    }

    /// Stops (if running) and listens again on the same port, with the same state.
    pub fn restart(&self) {
        self.stop();
        let listener = bind(self.address)
            .unwrap_or_else(|e| panic!("cannot listen on {} again: {e}", self.address));
        self.serve(listener);
    }

    /// Whether the server is listening (not [`stop`](Self::stop)ped).
    pub fn is_running(&self) -> bool {
        lock(&self.listening).is_some()
    }

    /// How many LIST requests `resource` has had (failed ones included).
    pub fn list_requests(&self, resource: &str) -> u64 {
        let resource = served(resource);
        lock(&self.shared.counters)
            .lists
            .get(resource.plural)
            .copied()
            .unwrap_or(0)
    }

    /// How many WATCH requests `resource` has had.
    pub fn watch_requests(&self, resource: &str) -> u64 {
        let resource = served(resource);
        lock(&self.shared.counters)
            .watches
            .get(resource.plural)
            .copied()
            .unwrap_or(0)
    }

    /// How many GETs of single objects of `resource` there have been.
    pub fn get_requests(&self, resource: &str) -> u64 {
        let resource = served(resource);
        lock(&self.shared.counters)
            .gets
            .get(resource.plural)
            .copied()
            .unwrap_or(0)
    }

    /// Open watches on `resource`, or on all resources with `None`.
    pub fn active_watches(&self, resource: Option<&str>) -> usize {
        let resource = resource.map(|r| served(r).plural);
        self.shared.store.active_watches(resource)
    }

    /// The most recent requests (up to 10,000) as `METHOD /path?query`, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests()
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(finish) = self.finish.take() {
            let _ = finish.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The resource named by `plural`; a test naming an unknown one is a bug.
fn served(plural: &str) -> &'static discovery::Resource {
    discovery::by_plural(plural)
        .unwrap_or_else(|| panic!("the fake API server does not serve {plural:?}"))
}

fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    // std sets SO_REUSEADDR, so restarting on the same port works even with
    // the old connections in TIME_WAIT.
    let listener = TcpListener::bind(address)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Periodic bookmarks for every watch that allows them.
async fn bookmarks(shared: Arc<Shared>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        shared.store.bookmark_all();
    }
}
