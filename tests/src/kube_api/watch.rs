//! WATCH: a chunked stream of JSON lines `{"type":..,"object":..}`, fed by
//! the store's history and live writes, with bookmarks, timeouts, the 410
//! for compacted versions and abrupt cuts.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::discovery::Resource;
use super::query::{Include, ListQuery, Shape};
use super::server::{Body, Cut, Shared};
use super::status::ApiError;
use super::store::{Event, EventType, Registration, WatchFrom, WatchMsg};
use super::table;

/// The annotation on the bookmark that ends a watch's initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// What one watch sends and to whom.
struct Watch {
    shared: Arc<Shared>,
    resource: &'static Resource,
    namespace: Option<String>,
    query: ListQuery,
    shape: Shape,
}

/// Where a watch starts, from its options, with the real server's validation.
fn start_point(query: &ListQuery) -> Result<WatchFrom, ApiError> {
    if let Some(rv_match) = query.resource_version_match.as_deref() {
        if query.send_initial_events.is_none() {
            return Err(ApiError::invalid_list_options(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if rv_match != "NotOlderThan" {
            return Err(ApiError::invalid_list_options(&format!(
                "resourceVersionMatch: Unsupported value: \"{rv_match}\": supported values: \"NotOlderThan\""
            )));
        }
    } else if query.send_initial_events.is_some() {
        return Err(ApiError::invalid_list_options(
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if query.send_initial_events == Some(true) && !query.allow_bookmarks {
        return Err(ApiError::invalid_list_options(
            "allowWatchBookmarks: Forbidden: sendInitialEvents requires allowWatchBookmarks=true",
        ));
    }
    let rv =
        match query.resource_version.as_deref() {
            None | Some("0") => None,
            Some(text) => Some(text.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {text:?}"))
            })?),
        };
    Ok(match (query.send_initial_events, rv) {
        (Some(true), _) => WatchFrom::Initial,
        (Some(false), None) => WatchFrom::Now,
        // Unset or "0" without sendInitialEvents: "get state and start at
        // most recent", with synthetic ADDED events for what exists.
        (None, None) => WatchFrom::Initial,
        (_, Some(rv)) => WatchFrom::After(rv),
    })
}

/// Starts a WATCH: validates, registers with the store and spawns the task
/// that streams events into the response body.
pub fn start(
    shared: Arc<Shared>,
    resource: &'static Resource,
    namespace: Option<&str>,
    query: ListQuery,
    shape: Shape,
) -> Result<Response<Body>, ApiError> {
    let from = start_point(&query)?;
    let (tx, rx) = mpsc::channel(64);
    let watch = Watch {
        shared: shared.clone(),
        resource,
        namespace: namespace.map(str::to_owned),
        query,
        shape,
    };
    match shared.store.watch(resource, from) {
        Ok(registration) => {
            let min_rv = match from {
                WatchFrom::After(rv) => rv,
                _ => 0,
            };
            tokio::spawn(watch.run(registration, min_rv, tx));
        }
        // As the watch cache does: a 200 whose only event is the error.
        Err(error) => {
            let line = line("ERROR", &error.to_status());
            tokio::spawn(async move {
                let _ = tx.send(Ok(line)).await;
            });
        }
    }
    let mut response = Response::new(Body::Stream(rx));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, private"),
    );
    Ok(response)
}

/// One event line.
fn line(kind: &str, object: &Value) -> Bytes {
    let mut text = format!(r#"{{"type":"{kind}","object":"#).into_bytes();
    serde_json::to_writer(&mut text, object).expect("a serde_json::Value always serializes");
    text.extend_from_slice(b"}\n");
    Bytes::from(text)
}

/// Unregisters the watch however its task ends.
struct Unwatch(Arc<Shared>, u64);

impl Drop for Unwatch {
    fn drop(&mut self) {
        self.0.store.unwatch(self.1);
    }
}

impl Watch {
    fn selects(&self, object: &Value) -> bool {
        let in_namespace = self
            .namespace
            .as_deref()
            .is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns));
        in_namespace && self.query.selects(object)
    }

    /// The event a client sees for `event` through its selectors: an object
    /// modified into the selection is ADDED to it, out of it DELETED.
    fn translate<'e>(&self, event: &'e Event) -> Option<(&'static str, &'e Value)> {
        let now = self.selects(&event.object);
        let before = event.prev.as_deref().is_some_and(|p| self.selects(p));
        let kind = match event.kind {
            EventType::Added if now => "ADDED",
            EventType::Deleted if now => "DELETED",
            EventType::Modified => match (before, now) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return None,
            },
            _ => return None,
        };
        Some((kind, &event.object))
    }

    /// `object` in the representation the client asked for.
    fn render(&self, kind: &str, object: &Value) -> Bytes {
        match self.shape {
            Shape::Object => line(kind, object),
            Shape::Metadata => line(kind, &table::partial_metadata(object)),
            Shape::Table { api_version } => {
                let rv = object["metadata"]["resourceVersion"].clone();
                let include = match self.query.include {
                    Include::None => Include::Metadata,
                    other => other,
                };
                let table = table::table(
                    self.resource,
                    &[object],
                    api_version,
                    include,
                    json!({"resourceVersion": rv}),
                );
                line(kind, &table)
            }
        }
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let (kind, api_version) = match self.shape {
            Shape::Object => (self.resource.kind.to_owned(), self.resource.api_version()),
            _ => (
                "PartialObjectMetadata".to_owned(),
                "meta.k8s.io/v1".to_owned(),
            ),
        };
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({INITIAL_EVENTS_END: "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": kind, "apiVersion": api_version, "metadata": metadata}),
        )
    }

    async fn run(
        self,
        registration: Registration,
        min_rv: u64,
        out: mpsc::Sender<Result<Bytes, Cut>>,
    ) {
        let Registration {
            id,
            rv,
            initial,
            replay,
            mut rx,
        } = registration;
        let _unwatch = Unwatch(self.shared.clone(), id);
        let deadline = self.query.timeout.map(|t| Instant::now() + t);
        let mut first = Vec::new();
        for object in initial.iter().filter(|o| self.selects(o)) {
            first.push(self.render("ADDED", object));
        }
        if self.query.send_initial_events == Some(true) {
            first.push(self.bookmark(rv, true));
        }
        for event in &replay {
            if let Some((kind, object)) = self.translate(event) {
                first.push(self.render(kind, object));
            }
        }
        for chunk in first {
            if out.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
        loop {
            let chunk = tokio::select! {
                () = out.closed() => return,
                () = until(deadline) => return,
                message = rx.recv() => match message {
                    Some(WatchMsg::Event(event)) if event.rv > min_rv => {
                        match self.translate(&event) {
                            Some((kind, object)) => self.render(kind, object),
                            None => continue,
                        }
                    }
                    Some(WatchMsg::Event(_)) => continue,
                    Some(WatchMsg::Bookmark(rv)) if self.query.allow_bookmarks && rv >= min_rv => {
                        self.bookmark(rv, false)
                    }
                    Some(WatchMsg::Bookmark(_)) => continue,
                    Some(WatchMsg::Cut) | None => {
                        let _ = out.send(Err(Cut)).await;
                        return;
                    }
                },
            };
            if out.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
