//! One pooled HTTP/1.1 client (HTTPS with rustls and the system's CA
//! certificates; plain HTTP for the emulator and the metadata server) that
//! counts every request by endpoint and response code.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;

/// The endpoints the exporter calls, as the `endpoint` label shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    AccountsQuery,
    AccountsBatchGet,
    TenantsList,
    OAuthToken,
    MetadataToken,
    MetadataProject,
}

impl Endpoint {
    /// The `endpoint` label value.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::AccountsQuery => "accounts.query",
            Endpoint::AccountsBatchGet => "accounts.batchGet",
            Endpoint::TenantsList => "tenants.list",
            Endpoint::OAuthToken => "oauth2.token",
            Endpoint::MetadataToken => "metadata.token",
            Endpoint::MetadataProject => "metadata.project",
        }
    }
}

/// The outcome of one request: a status code, or none (no response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Status(u16),
    NoResponse,
}

/// Requests made so far, by endpoint and outcome.
#[derive(Debug, Default)]
pub struct RequestStats {
    counts: Mutex<BTreeMap<(Endpoint, Code), u64>>,
}

impl RequestStats {
    fn record(&self, endpoint: Endpoint, code: Code) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((endpoint, code)).or_default() += 1;
    }

    /// A copy of the counts.
    pub fn snapshot(&self) -> Vec<((Endpoint, Code), u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(key, count)| (*key, *count)).collect()
    }
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// No usable reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("no reply before the deadline")]
    Deadline,
    #[error("{0}")]
    Transport(String),
    #[error("the reply is larger than {0} bytes")]
    TooLarge(usize),
}

/// The shared client.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    stats: Arc<RequestStats>,
}

impl Http {
    /// A client trusting the system's CA certificates. Without any (a
    /// scratch image), HTTPS fails with an error naming the cause, and the
    /// returned warning says so; plain HTTP still works.
    pub fn new() -> Result<(Http, Option<String>), rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let (builder, warning) = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => (builder, None),
            Err(err) => {
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                let warning = format!(
                    "no CA certificates ({err}); set SSL_CERT_FILE or SSL_CERT_DIR for HTTPS"
                );
                (
                    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config),
                    Some(warning),
                )
            }
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            // The idle timeout only takes effect with a timer.
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .pool_max_idle_per_host(2)
            .build(connector);
        let http = Http {
            client,
            stats: Arc::default(),
        };
        Ok((http, warning))
    }

    /// The request counts, for the metrics.
    pub fn stats(&self) -> Arc<RequestStats> {
        self.stats.clone()
    }

    /// Sends `request` and reads a body of at most `limit` bytes, all by
    /// `deadline`. Every request is counted once: by its status, or as
    /// `NoResponse` when it failed or the deadline cut it off before the
    /// status came.
    pub async fn send(
        &self,
        endpoint: Endpoint,
        request: Request<Full<Bytes>>,
        deadline: Instant,
        limit: usize,
    ) -> Result<Reply, HttpError> {
        let counted = AtomicBool::new(false);
        let exchange = async {
            let response = self.client.request(request).await;
            let code = response.as_ref().map_or(Code::NoResponse, |response| {
                Code::Status(response.status().as_u16())
            });
            self.stats.record(endpoint, code);
            counted.store(true, Ordering::Relaxed);
            let response = response.map_err(|err| HttpError::Transport(chain(&err)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        HttpError::TooLarge(limit)
                    } else {
                        HttpError::Transport(format!("reading the reply: {}", chain(&*err)))
                    }
                })?
                .to_bytes();
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => {
                if !counted.load(Ordering::Relaxed) {
                    self.stats.record(endpoint, Code::NoResponse);
                }
                Err(HttpError::Deadline)
            }
        }
    }
}

/// An error and its causes, "a: b: c" (hyper's own message is terse).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
