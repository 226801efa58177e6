//! Access tokens: fetched with the credentials' flow, cached, and fetched
//! anew before they expire.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::client::{Endpoint, Http};
use crate::credentials::{AuthorizedUser, Credentials, Secret, ServiceAccount};
use crate::error::ApiError;
use crate::retry;

/// The one scope the exporter needs (accounts and tenants, read-only by
/// IAM): narrower than cloud-platform, so a leaked token reaches no other
/// API.
pub const SCOPE: &str = "https://www.googleapis.com/auth/identitytoolkit";

/// The longest a token is kept before its expiry; shorter-lived tokens are
/// renewed at half their lifetime.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Token endpoints reply with a few hundred bytes.
pub const TOKEN_REPLY_LIMIT: usize = 64 * 1024;

/// A cached access token.
#[derive(Debug, Clone)]
struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// Hands out `Authorization` header values.
pub struct Tokens {
    credentials: Credentials,
    http: Http,
    cached: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    expires_in: Option<f64>,
}

impl Tokens {
    pub fn new(credentials: Credentials, http: Http) -> Tokens {
        Tokens {
            credentials,
            http,
            cached: Mutex::new(None),
        }
    }

    /// The `Authorization` header for the next request.
    pub async fn authorization(&self, deadline: Instant) -> Result<Secret, ApiError> {
        if matches!(self.credentials, Credentials::Emulator { .. }) {
            return Ok(Secret::new("Bearer owner"));
        }
        // Held across the fetch: concurrent refreshes wait for one token
        // request instead of each making their own.
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref()
            && Instant::now() < current.renew_at
        {
            return Ok(bearer(&current.token));
        }
        let fresh = self.fetch(deadline).await?;
        let header = bearer(&fresh.token);
        *cached = Some(fresh);
        Ok(header)
    }

    /// Forgets the cached token (the API refused it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, deadline: Instant) -> Result<Cached, ApiError> {
        let (endpoint, request) = match &self.credentials {
            // `authorization` answers for the emulator without fetching;
            // its token never changes.
            Credentials::Emulator { .. } => {
                return Ok(Cached {
                    token: Secret::new("owner"),
                    renew_at: deadline,
                });
            }
            Credentials::ServiceAccount(account) => {
                (Endpoint::OAuthToken, service_account_request(account)?)
            }
            Credentials::AuthorizedUser(user) => (Endpoint::OAuthToken, user_request(user)?),
            Credentials::Metadata { host } => (Endpoint::MetadataToken, metadata_request(host)?),
        };
        let requested = Instant::now();
        let reply = retry::send(&self.http, endpoint, deadline, TOKEN_REPLY_LIMIT, &request)
            .await
            .map_err(|err| match err {
                ApiError::Status {
                    status, message, ..
                } if (400..500).contains(&status) && status != 429 => {
                    ApiError::Credentials(format!(
                        "{} refused the credentials (HTTP {status}): {message}",
                        endpoint.label()
                    ))
                }
                other => other,
            })?;
        let parsed: TokenReply =
            serde_json::from_slice(&reply.body).map_err(|err| ApiError::BadResponse {
                endpoint,
                detail: format!(
                    "the token reply is not the expected JSON ({:?})",
                    err.classify()
                ),
            })?;
        let token = parsed
            .access_token
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::BadResponse {
                endpoint,
                detail: "the token reply has no access_token".into(),
            })?;
        // A missing or odd lifetime is taken as Google's usual hour.
        let lifetime = parsed
            .expires_in
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds.min(86_400.0)))
            .unwrap_or(Duration::from_secs(3600));
        let margin = RENEW_BEFORE_EXPIRY.min(lifetime / 2);
        log::debug!(endpoint = endpoint.label(), lifetime:? = lifetime; "Fetched an access token");
        Ok(Cached {
            token: Secret::new(token),
            renew_at: requested + (lifetime - margin),
        })
    }
}

fn bearer(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

fn form_post(uri: &str, form: String) -> Result<Request<Full<Bytes>>, ApiError> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(form)))
        .map_err(|err| ApiError::Credentials(format!("bad token_uri {uri:?}: {err}")))
}

fn service_account_request(account: &ServiceAccount) -> Result<Request<Full<Bytes>>, ApiError> {
    let assertion = crate::jwt::assertion(account, SCOPE, unix_now())
        .map_err(|err| ApiError::Credentials(err.to_string()))?;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("assertion", &assertion)
        .finish();
    form_post(&account.token_uri, form)
}

fn user_request(user: &AuthorizedUser) -> Result<Request<Full<Bytes>>, ApiError> {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("client_id", &user.client_id)
        .append_pair("client_secret", user.client_secret.expose())
        .append_pair("refresh_token", user.refresh_token.expose())
        .finish();
    form_post(&user.token_uri, form)
}

fn metadata_request(host: &str) -> Result<Request<Full<Bytes>>, ApiError> {
    metadata_get(
        host,
        "/computeMetadata/v1/instance/service-accounts/default/token",
    )
}

/// A GET to the metadata server, with the header it requires.
pub fn metadata_get(host: &str, path: &str) -> Result<Request<Full<Bytes>>, ApiError> {
    let uri = format!("http://{host}{path}");
    Request::builder()
        .uri(&uri)
        .header("Metadata-Flavor", "Google")
        .body(Full::new(Bytes::new()))
        .map_err(|err| {
            ApiError::Credentials(format!("bad metadata server address {host:?}: {err}"))
        })
}
