//! One watch per resource (and namespace): list, then follow changes, and
//! render each object into the store as its event arrives.

use std::sync::Arc;

use futures_util::StreamExt as _;
use kube::Client;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt as _, watcher as watch_stream};

use crate::family::RenderConfig;
use crate::resources::{Resource, render};
use crate::store::Store;
use crate::telemetry::Telemetry;

/// Objects per page of the initial list: memory at start-up stays near the
/// steady state however large the cluster.
const PAGE_SIZE: u32 = 500;

/// Everything a watch needs.
pub struct Start {
    pub client: Client,
    pub namespace: Option<String>,
    /// `--namespaces-denylist` as a field selector
    /// (`metadata.namespace!=a,metadata.namespace!=b`), for namespaced kinds.
    pub denied_namespaces: Option<String>,
    pub store: Arc<Store>,
    pub config: Arc<RenderConfig>,
    pub telemetry: Arc<Telemetry>,
    /// Called once, when the first full list is in the store.
    pub listed: Box<dyn FnOnce() + Send>,
}

/// Spawns the watch of `K` described by `start`.
pub fn start<K: Resource>(start: Start) {
    tokio::spawn(run::<K>(start));
}

async fn run<K: Resource>(start: Start) {
    let Start {
        client,
        namespace,
        denied_namespaces,
        store,
        config,
        telemetry,
        listed,
    } = start;
    let api = K::api(client, namespace.as_deref());
    let mut paged = watcher::Config::default().page_size(PAGE_SIZE);
    if let Some(selector) = denied_namespaces.filter(|_| K::NAMESPACED) {
        paged = paged.fields(&selector);
    }
    let mut events = std::pin::pin!(watch_stream(api, paged).default_backoff());
    let mut listed = Some(listed);
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => store.begin_relist(),
            Ok(Event::InitApply(object) | Event::Apply(object)) => {
                if let Some(key) = key(&object) {
                    store.put(&key, render(&object, &config));
                }
            }
            Ok(Event::Delete(object)) => {
                if let Some(key) = key(&object) {
                    store.remove(&key);
                }
            }
            Ok(Event::InitDone) => {
                store.end_relist();
                telemetry.listed(K::NAME, true);
                telemetry.watched(K::NAME, true);
                if let Some(listed) = listed.take() {
                    listed();
                }
            }
            Err(err) => {
                let listing = matches!(err, watcher::Error::InitialListFailed(_));
                log::warn!(resource = K::NAME, err:% = err; "Kubernetes API request failed; retrying");
                if listing {
                    telemetry.listed(K::NAME, false);
                } else {
                    telemetry.watched(K::NAME, false);
                }
            }
        }
    }
}

/// The store key: the UID, as KSM keys its store, or namespace/name for an
/// object that has none.
fn key<K: Resource>(object: &K) -> Option<String> {
    let meta = object.meta();
    if let Some(uid) = &meta.uid {
        return Some(uid.clone());
    }
    let name = meta.name.as_deref()?;
    Some(format!(
        "{}/{name}",
        meta.namespace.as_deref().unwrap_or_default()
    ))
}
