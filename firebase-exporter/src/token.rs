//! Access tokens: fetched with the credentials' flow, cached, and fetched
//! anew before they expire. The emulator needs none (see `Api`).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::Full;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::client::{Endpoint, Http};
use crate::clock::unix_millis;
use crate::credentials::{AuthorizedUser, Credentials, ServiceAccount};
use crate::error::{ApiError, CredentialsFailure, JsonProblem};
use crate::retry;

/// The one scope the exporter needs (accounts and tenants, read-only by
/// IAM): narrower than cloud-platform, so a leaked token reaches no other
/// API.
pub const SCOPE: &str = "https://www.googleapis.com/auth/identitytoolkit";

/// The longest a token is kept before its expiry; shorter-lived tokens are
/// renewed at half their lifetime.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The longest a token fetch may take, so a slow token endpoint cannot use
/// up a long scan's deadline.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Token endpoints reply with a few hundred bytes.
pub const TOKEN_REPLY_LIMIT: usize = 64 * 1024;

/// A cached `Authorization` header value (marked sensitive).
#[derive(Debug, Clone)]
struct Cached {
    authorization: HeaderValue,
    renew_at: Instant,
}

/// How tokens are obtained: the credentials other than the emulator's.
enum Flow {
    ServiceAccount(ServiceAccount),
    AuthorizedUser(AuthorizedUser),
    Metadata { host: String, tried: Option<String> },
}

/// Hands out `Authorization` header values.
pub struct Tokens {
    flow: Flow,
    http: Http,
    cached: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    expires_in: Option<f64>,
}

impl Tokens {
    /// The token source for `credentials`; `None` for the emulator, which
    /// takes the fixed `Bearer owner`.
    pub fn new(credentials: Credentials, http: Http) -> Option<Tokens> {
        let flow = match credentials {
            Credentials::Emulator { .. } => return None,
            Credentials::ServiceAccount(account) => Flow::ServiceAccount(account),
            Credentials::AuthorizedUser(user) => Flow::AuthorizedUser(user),
            Credentials::Metadata { host, tried } => Flow::Metadata { host, tried },
        };
        Some(Tokens {
            flow,
            http,
            cached: Mutex::new(None),
        })
    }

    /// The `Authorization` header for the next request.
    pub async fn authorization(&self, deadline: Instant) -> Result<HeaderValue, ApiError> {
        // Held across the fetch: concurrent refreshes wait for one token
        // request instead of each making their own.
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref()
            && Instant::now() < current.renew_at
        {
            return Ok(current.authorization.clone());
        }
        let fresh = self
            .fetch(deadline.min(Instant::now() + FETCH_TIMEOUT))
            .await?;
        let authorization = fresh.authorization.clone();
        *cached = Some(fresh);
        Ok(authorization)
    }

    /// Forgets the cached token (the API refused it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, deadline: Instant) -> Result<Cached, ApiError> {
        let (endpoint, request) = match &self.flow {
            Flow::ServiceAccount(account) => {
                (Endpoint::OAuthToken, service_account_request(account)?)
            }
            Flow::AuthorizedUser(user) => (Endpoint::OAuthToken, user_request(user)?),
            Flow::Metadata { host, .. } => (
                Endpoint::MetadataToken,
                metadata_get(
                    Endpoint::MetadataToken,
                    host,
                    &format!(
                        "/computeMetadata/v1/instance/service-accounts/default/token?scopes={SCOPE}"
                    ),
                )?,
            ),
        };
        let requested = Instant::now();
        let reply = retry::send(&self.http, endpoint, deadline, TOKEN_REPLY_LIMIT, &request)
            .await
            .map_err(|err| match (err, &self.flow) {
                (
                    err,
                    Flow::Metadata {
                        tried: Some(tried), ..
                    },
                ) => last_resort_failed(tried, err),
                (
                    ApiError::Status {
                        endpoint,
                        status,
                        message,
                    },
                    _,
                ) if (400..500).contains(&status) && status != 429 => {
                    ApiError::Credentials(CredentialsFailure::Refused {
                        endpoint,
                        status,
                        message,
                    })
                }
                (other, _) => other,
            })?;
        let parsed: TokenReply =
            serde_json::from_slice(&reply.body).map_err(|err| ApiError::BadResponse {
                endpoint,
                detail: format!("the token reply: {}", JsonProblem::of(&err)),
            })?;
        let bad = |detail: &str| ApiError::BadResponse {
            endpoint,
            detail: detail.to_owned(),
        };
        let token = parsed
            .access_token
            .filter(|token| !token.is_empty())
            .ok_or_else(|| bad("the token reply has no access_token"))?;
        let mut authorization = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| bad("the access token is not a valid header value"))?;
        // Kept out of HTTP/2 header compression tables and Debug output.
        authorization.set_sensitive(true);
        // A missing or odd lifetime is taken as Google's usual hour.
        let lifetime = parsed
            .expires_in
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds.min(86_400.0)))
            .unwrap_or(Duration::from_secs(3600));
        let margin = RENEW_BEFORE_EXPIRY.min(lifetime / 2);
        log::debug!(endpoint = endpoint.label(), lifetime:? = lifetime; "Fetched an access token");
        Ok(Cached {
            authorization,
            renew_at: requested + (lifetime - margin),
        })
    }
}

/// The metadata server was the last resort and failed: off Google Cloud,
/// that means no credentials were found anywhere.
pub fn last_resort_failed(tried: &str, err: ApiError) -> ApiError {
    ApiError::Credentials(CredentialsFailure::NoneFound {
        tried: tried.to_owned(),
        err: Box::new(err),
    })
}

fn form_post(
    endpoint: Endpoint,
    uri: &str,
    form: String,
) -> Result<Request<Full<Bytes>>, ApiError> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(form)))
        .map_err(|err| ApiError::Request {
            endpoint,
            detail: format!("token_uri {uri:?}: {err}"),
        })
}

fn service_account_request(account: &ServiceAccount) -> Result<Request<Full<Bytes>>, ApiError> {
    let now = u64::try_from(unix_millis(SystemTime::now()) / 1000).unwrap_or(0);
    let assertion = crate::jwt::assertion(account, SCOPE, now)
        .map_err(|err| ApiError::Credentials(err.into()))?;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("assertion", &assertion)
        .finish();
    form_post(Endpoint::OAuthToken, &account.token_uri, form)
}

fn user_request(user: &AuthorizedUser) -> Result<Request<Full<Bytes>>, ApiError> {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("client_id", &user.client_id)
        .append_pair("client_secret", user.client_secret.expose())
        .append_pair("refresh_token", user.refresh_token.expose())
        .finish();
    form_post(Endpoint::OAuthToken, &user.token_uri, form)
}

/// A GET to the metadata server, with the header it requires.
pub fn metadata_get(
    endpoint: Endpoint,
    host: &str,
    path: &str,
) -> Result<Request<Full<Bytes>>, ApiError> {
    let uri = format!("http://{host}{path}");
    Request::builder()
        .uri(&uri)
        .header("Metadata-Flavor", "Google")
        .body(Full::new(Bytes::new()))
        .map_err(|err| ApiError::Request {
            endpoint,
            detail: format!("metadata server address {host:?}: {err}"),
        })
}
