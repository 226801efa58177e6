//! The HTTP side: accepting connections, authentication, routing requests
//! to discovery, list/get, watch and writes, and the response body type.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{mpsc, watch as signal};

use super::discovery::{self, Resource};
use super::query::{ListQuery, negotiate};
use super::status::ApiError;
use super::store::Store;
use super::{list, watch};

/// The largest request body accepted (the real server's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;
/// How many request lines [`Shared::requests`] keeps.
const LOG_LINES: usize = 10_000;

/// Returned by a watch body to make hyper drop the connection without the
/// terminating chunk, as a crashed or restarted apiserver would.
#[derive(Debug)]
pub struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("watch connection cut")
    }
}

impl std::error::Error for Cut {}

/// A response body: all at once, or a stream of watch events.
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Result<Bytes, Cut>>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Cut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Cut>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|item| item.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// Request counts per resource plural.
#[derive(Default)]
pub struct Counters {
    pub lists: HashMap<&'static str, u64>,
    pub watches: HashMap<&'static str, u64>,
    pub gets: HashMap<&'static str, u64>,
}

/// Everything request handlers share with the test's handle.
pub struct Shared {
    pub store: Store,
    pub token: String,
    pub counters: Mutex<Counters>,
    /// Injected list failures: resource plural -> HTTP status.
    pub faults: Mutex<HashMap<&'static str, u16>>,
    requests: Mutex<VecDeque<String>>,
}

/// Locks a mutex whose data stays valid even if a holder panicked.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(store: Store, token: String) -> Shared {
        Shared {
            store,
            token,
            counters: Mutex::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    /// The most recent request lines (`GET /api/v1/pods?limit=500`), oldest first.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.requests).iter().cloned().collect()
    }

    fn log(&self, line: String) {
        let mut requests = lock(&self.requests);
        if requests.len() == LOG_LINES {
            requests.pop_front();
        }
        requests.push_back(line);
    }
}

/// Serves `listener` until `shutdown` turns true, then drops it and every
/// open connection (clients see their connections reset), and reports on
/// `stopped`.
pub async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: signal::Receiver<bool>,
    stopped: std::sync::mpsc::Sender<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("fake apiserver: cannot listen: {e}");
            let _ = stopped.send(());
            return;
        }
    };
    let mut stop = shutdown.clone();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                // Accept errors (descriptor exhaustion) are transient: keep going.
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(stream, shared.clone(), shutdown.clone()));
            }
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Every connection task ends on the same signal; waiting for them means
    // their sockets are closed when `stopped` is reported.
    while connections.join_next().await.is_some() {}
    let _ = stopped.send(());
}

async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: signal::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(shared, request).await) }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection closes the socket mid-whatever.
        _ = shutdown.wait_for(|s| *s) => {}
    }
}

/// Paths the real server answers without credentials.
fn public(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/livez" | "/readyz")
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let method = request.method().clone();
    shared.log(if query.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{query}")
    });
    // Clients never send credentials over plain HTTP (client-go drops them
    // for non-TLS servers), so a missing token is accepted, as the old
    // insecure port did; a wrong one is a 401, as on the secure port.
    let expected = format!("Bearer {}", shared.token);
    let wrong_token = request
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() != expected.as_bytes());
    if wrong_token && !public(&path) {
        return status(&ApiError::unauthorized());
    }
    route(&shared, request, &path, &query)
        .await
        .unwrap_or_else(|e| status(&e))
}

async fn route(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    path: &str,
    query: &str,
) -> Result<Response<Body>, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let discovery = match segments.as_slice() {
        ["version"] => Some(discovery::version_info()),
        ["healthz" | "livez" | "readyz"] => {
            return Ok(response(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                Bytes::from_static(b"ok"),
            ));
        }
        ["api"] => {
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            Some(discovery::core_versions(host.unwrap_or_default()))
        }
        ["apis"] => Some(discovery::group_list()),
        ["apis", group] => Some(discovery::group(group).ok_or_else(ApiError::no_such_path)?),
        ["api", version] => {
            Some(discovery::resource_list("", version).ok_or_else(ApiError::no_such_path)?)
        }
        ["apis", group, version] => {
            Some(discovery::resource_list(group, version).ok_or_else(ApiError::no_such_path)?)
        }
        _ => None,
    };
    if let Some(document) = discovery {
        if request.method() != Method::GET {
            return Err(ApiError::method_not_allowed(request.method().as_str()));
        }
        return Ok(json(StatusCode::OK, &document));
    }
    let target = match segments.as_slice() {
        ["api", version, rest @ ..] => target("", version, rest)?,
        ["apis", group, version, rest @ ..] => target(group, version, rest)?,
        _ => return Err(ApiError::no_such_path()),
    };
    resource_request(shared, request, target, query).await
}

/// What a resource path names.
struct Target {
    resource: &'static Resource,
    namespace: Option<String>,
    name: Option<String>,
    /// The legacy `/watch/` path prefix.
    watch: bool,
}

fn target(group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let (watch, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let find = |plural: &str| {
        discovery::by_path(group, version, plural).ok_or_else(ApiError::no_such_path)
    };
    let (resource, namespace, name) = match rest {
        [plural] => (find(plural)?, None, None),
        ["namespaces", namespace, plural] => (find(plural)?, Some(*namespace), None),
        ["namespaces", namespace, plural, name] => (find(plural)?, Some(*namespace), Some(*name)),
        [plural, name] => (find(plural)?, None, Some(*name)),
        _ => return Err(ApiError::no_such_path()),
    };
    // Namespaced objects are only addressed inside their namespace, and
    // cluster-scoped ones never are.
    if (resource.namespaced && name.is_some() && namespace.is_none())
        || (!resource.namespaced && namespace.is_some())
    {
        return Err(ApiError::no_such_path());
    }
    Ok(Target {
        resource,
        namespace: namespace.map(str::to_owned),
        name: name.map(str::to_owned),
        watch,
    })
}

async fn resource_request(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    target: Target,
    query: &str,
) -> Result<Response<Body>, ApiError> {
    let Target {
        resource,
        namespace,
        name,
        watch: watch_path,
    } = target;
    let namespace = namespace.as_deref();
    match (request.method().clone(), name) {
        (Method::GET, name) => {
            let accept = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|a| a.to_str().ok());
            let shape = negotiate(accept)?;
            let mut options = ListQuery::parse(query, resource)?;
            if options.watch || watch_path {
                if let Some(name) = name {
                    // A watch on one object is a watch on the collection
                    // filtered by name (what the legacy path means too).
                    options.fields = super::selector::FieldSelector::parse(
                        &format!("metadata.name={name}"),
                        resource,
                    )?;
                }
                count(&shared.counters, |c| &mut c.watches, resource);
                watch::start(shared.clone(), resource, namespace, options, shape)
            } else if let Some(name) = name {
                count(&shared.counters, |c| &mut c.gets, resource);
                list::get(shared, resource, namespace, &name, shape)
            } else {
                count(&shared.counters, |c| &mut c.lists, resource);
                list::list(shared, resource, namespace, &options, shape)
            }
        }
        (Method::POST, None) => {
            let mut object = read_object(request).await?;
            check_kind(resource, &object)?;
            if let Some(namespace) = namespace {
                match object["metadata"]["namespace"].as_str() {
                    Some(ns) if ns != namespace => {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    _ => object["metadata"]["namespace"] = Value::from(namespace),
                }
            }
            Ok(json(StatusCode::CREATED, &shared.store.create(object)?))
        }
        (Method::PUT, Some(name)) => {
            let mut object = read_object(request).await?;
            check_kind(resource, &object)?;
            if object["metadata"]["name"].as_str() != Some(name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    object["metadata"]["name"].as_str().unwrap_or_default()
                )));
            }
            if let Some(namespace) = namespace {
                object["metadata"]["namespace"] = Value::from(namespace);
            }
            Ok(json(StatusCode::OK, &shared.store.update(object)?))
        }
        (Method::DELETE, Some(name)) => Ok(json(
            StatusCode::OK,
            &shared.store.delete(resource, namespace, &name)?,
        )),
        (method, _) => Err(ApiError::method_not_allowed(method.as_str())),
    }
}

fn count(
    counters: &Mutex<Counters>,
    which: impl FnOnce(&mut Counters) -> &mut HashMap<&'static str, u64>,
    resource: &'static Resource,
) {
    *which(&mut lock(counters))
        .entry(resource.plural)
        .or_default() += 1;
}

/// The JSON object in a request body; 400 for anything else.
async fn read_object(request: Request<Incoming>) -> Result<Value, ApiError> {
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?
        .to_bytes();
    let object: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    if !object.is_object() {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    }
    // Checked here so later code can assign into metadata (serde_json
    // panics when indexing into a string or number to assign).
    if !(object["metadata"].is_object() || object["metadata"].is_null()) {
        return Err(ApiError::bad_request("metadata must be an object"));
    }
    Ok(object)
}

/// A body of another kind than the path's resource is a 400, as upstream.
fn check_kind(resource: &Resource, object: &Value) -> Result<(), ApiError> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    if api_version == resource.api_version() && kind == resource.kind {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) or kind ({kind}) does not match the \
             expected {} {}",
            resource.api_version(),
            resource.kind
        )))
    }
}

/// A complete response.
pub fn response(code: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::Full(Some(body)));
    *response.status_mut() = code;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, private"),
    );
    response
}

/// A JSON response.
pub fn json(code: StatusCode, value: &Value) -> Response<Body> {
    let body = serde_json::to_vec(value).expect("a serde_json::Value always serializes");
    response(code, "application/json", Bytes::from(body))
}

/// The `Status` response for an error.
pub fn status(error: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, &error.to_status())
}
