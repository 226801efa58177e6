//! Listeners, connections and routing.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::auth::BasicAuth;
use super::body::{ExpositionBody, ResponseBody};
use super::config::{RateLimit, WebConfig, WebConfigError};
use super::reload::WebConfigSource;
use crate::ExporterInfo;
use crate::cli::WebArgs;
use crate::exposition::{Format, accepts_gzip, encode, encode_families};
use crate::scrape::{Exporter, Scrape};
use crate::self_metrics::{SelfMetrics, write_build_info};

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--web.config.file={0}")]
    Config(#[from] WebConfigError),
    #[error("--web.listen-address={address}: {message}")]
    Listen { address: String, message: String },
    #[error("--web.telemetry-path={0}: must start with '/'")]
    TelemetryPath(String),
}

/// Whether the exporter has data to serve; `/readyz` answers from it.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// For exporters that can answer from their first scrape.
    pub fn ready() -> Readiness {
        let readiness = Readiness::default();
        readiness.set_ready();
        readiness
    }

    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A bound server, ready to [`run`](Server::run).
pub struct Server<E> {
    shared: Arc<Shared<E>>,
    listeners: Vec<TcpListener>,
}

struct Shared<E> {
    info: &'static ExporterInfo,
    exporter: E,
    config: WebConfigSource,
    tls: bool,
    telemetry_path: String,
    max_requests: usize,
    /// Held by a scrape until its response is produced, including a
    /// streamed one.
    scrape_slots: Option<Arc<Semaphore>>,
    exporter_metrics: bool,
    self_metrics: SelfMetrics,
    auth: BasicAuth,
    rate_limiter: std::sync::Mutex<TokenBucket>,
    readiness: Readiness,
    header_timeout: Duration,
    /// Size of the previous response, to allocate the next one in one go.
    last_body_size: AtomicUsize,
}

impl<E: Exporter> Server<E> {
    /// Loads the web config and binds every `--web.listen-address`.
    pub async fn bind(
        info: &'static ExporterInfo,
        web: &WebArgs,
        exporter: E,
        readiness: Readiness,
    ) -> Result<Server<E>, ServeError> {
        if !web.telemetry_path.starts_with('/') {
            return Err(ServeError::TelemetryPath(web.telemetry_path.clone()));
        }
        let config = WebConfigSource::load(web.config_file.as_deref())?;
        let tls = config.current().tls_enabled();
        let mut listeners = Vec::new();
        for address in &web.listen_addresses {
            let listener = bind(address).await?;
            let local = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| address.clone());
            log::info!(address:% = local, tls:% = tls; "Listening on");
            listeners.push(listener);
        }
        let shared = Shared {
            info,
            exporter,
            config,
            tls,
            telemetry_path: web.telemetry_path.clone(),
            max_requests: web.max_requests,
            scrape_slots: (web.max_requests > 0)
                .then(|| Arc::new(Semaphore::new(web.max_requests))),
            exporter_metrics: !web.disable_exporter_metrics,
            self_metrics: SelfMetrics::default(),
            auth: BasicAuth::default(),
            rate_limiter: std::sync::Mutex::new(TokenBucket::default()),
            readiness,
            header_timeout: web.header_timeout,
            last_body_size: AtomicUsize::new(16 * 1024),
        };
        Ok(Server {
            shared: Arc::new(shared),
            listeners,
        })
    }

    /// The bound addresses (useful with port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish (for at most 30 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = accept_any(&self.listeners) => match accepted {
                    Ok(stream) => spawn_connection(self.shared.clone(), stream, graceful.watcher()),
                    Err(err) => {
                        // Typically EMFILE: back off instead of spinning.
                        log::error!(err:% = err; "Accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        drop(self.listeners);
        log::info!("Shutting down: finishing in-flight requests");
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            log::warn!("In-flight requests did not finish in time");
        }
    }
}

/// Accepts from whichever listener has a connection first.
async fn accept_any(listeners: &[TcpListener]) -> std::io::Result<TcpStream> {
    std::future::poll_fn(|cx| {
        for listener in listeners {
            if let Poll::Ready(result) = listener.poll_accept(cx) {
                return Poll::Ready(result.map(|(stream, _)| stream));
            }
        }
        Poll::Pending
    })
    .await
}

/// Binds a Go-style listen address: ":port" means every interface (IPv6 and
/// IPv4 where the host has IPv6, IPv4 alone otherwise), "host:port" resolves
/// the host.
async fn bind(address: &str) -> Result<TcpListener, ServeError> {
    let failed = |message: String| ServeError::Listen {
        address: address.to_owned(),
        message,
    };
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| failed(format!("invalid port {port:?}")))?;
        return match TcpListener::bind((std::net::Ipv6Addr::UNSPECIFIED, port)).await {
            Ok(listener) => Ok(listener),
            Err(_) => TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port))
                .await
                .map_err(|e| failed(e.to_string())),
        };
    }
    let mut candidates = tokio::net::lookup_host(address)
        .await
        .map_err(|e| failed(format!("cannot resolve: {e}")))?;
    let target = candidates
        .next()
        .ok_or_else(|| failed("resolves to no address".into()))?;
    TcpListener::bind(target)
        .await
        .map_err(|e| failed(e.to_string()))
}

fn spawn_connection<E: Exporter>(shared: Arc<Shared<E>>, stream: TcpStream, watcher: Watcher) {
    tokio::spawn(async move {
        let _ = stream.set_nodelay(true);
        if !shared.tls {
            serve_connection(shared, stream, watcher).await;
            return;
        }
        // Each connection takes the certificates in force when it arrives.
        let Some(tls) = shared.config.current().tls.clone() else {
            return;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config);
        match tokio::time::timeout(shared.header_timeout, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => serve_connection(shared, stream, watcher).await,
            Ok(Err(err)) => log::debug!(err:% = err; "TLS handshake failed"),
            Err(_) => log::debug!("TLS handshake timed out"),
        }
    });
}

async fn serve_connection<E, I>(shared: Arc<Shared<E>>, io: I, watcher: Watcher)
where
    E: Exporter,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = shared.header_timeout;
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(shared.handle(request).await) }
    });
    // The header timeout also runs while a keep-alive connection waits for
    // its next request, so idle and slow (slowloris) clients are both cut off.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_headers(100)
        .serve_connection(TokioIo::new(io), service);
    if let Err(err) = watcher.watch(connection).await {
        log::debug!(err:% = err; "Connection closed with an error");
    }
}

type HttpResponse = Response<ResponseBody>;

fn whole(body: impl Into<Bytes>) -> ResponseBody {
    Either::Left(Full::new(body.into()))
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(whole(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<E: Exporter> Shared<E> {
    async fn handle(&self, request: Request<Incoming>) -> HttpResponse {
        let config = self.config.current();
        let head = request.method() == Method::HEAD;
        let mut response = self.route(&config, &request).await;
        for (name, value) in &config.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        if head {
            // Same headers as GET, no body (and no length for a stream).
            let length = hyper::body::Body::size_hint(response.body()).exact();
            *response.body_mut() = whole(Bytes::new());
            if let Some(length) = length {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            }
        }
        response
    }

    async fn route(&self, config: &WebConfig, request: &Request<Incoming>) -> HttpResponse {
        let path = request.uri().path();
        let readable = matches!(*request.method(), Method::GET | Method::HEAD);
        // Probes carry no credentials and reveal nothing: always answered.
        // `/livez` is kube-state-metrics' liveness probe path; manifests
        // written for it keep working.
        match path {
            "/healthz" | "/livez" if readable => return text(StatusCode::OK, "Healthy\n"),
            "/readyz" if readable => {
                return if self.readiness.is_ready() {
                    text(StatusCode::OK, "Ready\n")
                } else {
                    text(StatusCode::SERVICE_UNAVAILABLE, "Not ready\n")
                };
            }
            _ => {}
        }
        if let Some(limit) = config.rate_limit
            && !self.lock_rate_limiter().allow(limit)
        {
            return text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n");
        }
        if !config.users.is_empty() {
            let authorization = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            if !self.auth.check(&config.users, authorization).await {
                let mut response = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                return response;
            }
        }
        let extra_scrape_path = self.exporter.scrape_paths().contains(&path);
        let known = path == self.telemetry_path
            || extra_scrape_path
            || path == "/"
            || path == "/healthz"
            || path == "/livez"
            || path == "/readyz";
        if !known {
            return text(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if !readable {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        if path == self.telemetry_path || extra_scrape_path {
            self.metrics(request, !extra_scrape_path).await
        } else {
            self.landing_page()
        }
    }

    fn lock_rate_limiter(&self) -> std::sync::MutexGuard<'_, TokenBucket> {
        self.rate_limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serves a scrape; `own_metrics` adds the exporter's self metrics.
    /// Without it (a scrape path, whose response is about another target)
    /// only build info is added.
    async fn metrics(&self, request: &Request<Incoming>, own_metrics: bool) -> HttpResponse {
        let started = Instant::now();
        let handler_metrics = &self.self_metrics.handler;
        let _in_flight = handler_metrics.start();
        let slot = match &self.scrape_slots {
            None => None,
            Some(slots) => match slots.clone().try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    handler_metrics.record(503, started.elapsed());
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "Limit of concurrent requests reached ({}), try again later.\n",
                            self.max_requests
                        ),
                    );
                }
            },
        };

        let headers = request.headers();
        let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let format = Format::negotiate(header_str("accept"));
        let gzip = accepts_gzip(header_str("accept-encoding"));
        let deadline = Scrape::deadline_from_header(
            started,
            header_str("x-prometheus-scrape-timeout-seconds"),
        );
        let query = request
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let scrape = Scrape::new(deadline, request.uri().path(), query);

        let mut set = match self.exporter.collect(&scrape).await {
            Ok(set) => set,
            Err(bad_request) => {
                handler_metrics.record(400, started.elapsed());
                return text(StatusCode::BAD_REQUEST, format!("{bad_request}\n"));
            }
        };
        if self.exporter_metrics {
            if own_metrics {
                self.self_metrics
                    .write(self.info, self.exporter.build_info_prefix(), &mut set);
            } else {
                // A scrape path's response is about its target, but says
                // which exporter answered, as the Go multi-target exporters do.
                write_build_info(self.info, self.exporter.build_info_prefix(), &mut set);
            }
        }
        let dropped = set.finish();
        for dropped in &dropped {
            log::error!(err:% = dropped; "Error gathering metrics");
        }
        if !dropped.is_empty() {
            handler_metrics.record_gathering_error();
        }
        let rendered = self.exporter.rendered(&scrape);
        let mut body = Vec::with_capacity(self.last_body_size.load(Ordering::Relaxed));
        if rendered.is_some() {
            encode_families(&set, format, &mut body);
        } else {
            encode(&set, format, &mut body);
            self.last_body_size.store(body.len(), Ordering::Relaxed);
        }

        let mut response = Response::new(whole(Bytes::new()));
        let response_headers = response.headers_mut();
        response_headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        if gzip {
            response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        *response.body_mut() = match rendered {
            Some(rendered) => {
                Either::Right(ExpositionBody::new(body, rendered, format, gzip, slot))
            }
            None if gzip => whole(gzip_bytes(&body)),
            None => whole(body),
        };
        handler_metrics.record(200, started.elapsed());
        response
    }

    fn landing_page(&self) -> HttpResponse {
        let info = self.info;
        let path = html_escape(&self.telemetry_path);
        let page = format!(
            "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{binary}</title></head>\n\
             <body>\n<h1>{binary}</h1>\n<p>{description}</p>\n\
             <p>Version {version} (revision {revision})</p>\n\
             <ul>\n<li><a href=\"{path}\">Metrics</a></li>\n\
             <li><a href=\"/healthz\">Health</a></li>\n<li><a href=\"/readyz\">Readiness</a></li>\n</ul>\n\
             </body>\n</html>\n",
            binary = html_escape(info.binary),
            description = html_escape(info.description),
            version = html_escape(info.version),
            revision = crate::REVISION,
        );
        let mut response = text(StatusCode::OK, page);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

fn gzip_bytes(body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .unwrap_or_default()
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// exporter-toolkit's `rate_limit`: a token bucket refilled one token per
/// interval, holding at most `burst`.
#[derive(Debug, Default)]
struct TokenBucket {
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    fn allow(&mut self, limit: RateLimit) -> bool {
        let now = Instant::now();
        let burst = f64::from(limit.burst);
        self.tokens = match self.last {
            None => burst,
            Some(last) => {
                let refill = now.duration_since(last).as_secs_f64() / limit.interval.as_secs_f64();
                (self.tokens + refill).min(burst)
            }
        };
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_a_burst_then_refuses() {
        let mut bucket = TokenBucket::default();
        let limit = RateLimit {
            interval: Duration::from_secs(3600),
            burst: 2,
        };
        assert!(bucket.allow(limit));
        assert!(bucket.allow(limit));
        assert!(!bucket.allow(limit));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
