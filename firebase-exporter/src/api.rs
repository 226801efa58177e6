//! The Identity Toolkit calls: count a project's or tenant's users with
//! `accounts:query`, page through them with `accounts:batchGet`, list the
//! tenants (v2), and find the project on the metadata server.

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::Full;
use serde::Deserialize;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::client::{Endpoint, Http};
use crate::credentials::Credentials;
use crate::error::{ApiError, JsonProblem};
use crate::retry::{self, Judged, Retry};
use crate::scan::{Tally, fold_page};
use crate::token::{TOKEN_REPLY_LIMIT, Tokens, last_resort_failed, metadata_get};

/// The production API.
pub const GOOGLE_API: &str = "https://identitytoolkit.googleapis.com";

/// Users per `accounts:batchGet` page: the API's maximum (its default is 20).
pub const PAGE_SIZE: u32 = 1000;

/// Tenants per page of the tenants list (the API's maximum).
const TENANT_PAGE_SIZE: u32 = 1000;

/// A `batchGet` page of 1000 users is about 0.5 MB (users with many
/// providers or large custom claims make more); other replies are small.
/// A page is held whole while it is tallied, so this bounds the memory.
const PAGE_LIMIT: usize = 16 * 1024 * 1024;

/// Attempts at `accounts:query` per pool and refresh: the count is cheap to
/// retry but should not use up the deadline that the other pools, or the
/// paging fallback, need.
const QUERY_ATTEMPTS: u32 = 3;
const SMALL_LIMIT: usize = 1024 * 1024;

/// A pool of users: the project's own, or a tenant's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pool {
    Project,
    Tenant(String),
}

impl Pool {
    /// The `tenant` label value; empty (no label) for the project.
    pub fn tenant(&self) -> &str {
        match self {
            Pool::Project => "",
            Pool::Tenant(id) => id,
        }
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pool::Project => f.write_str("project"),
            Pool::Tenant(id) => write!(f, "tenant {id}"),
        }
    }
}

/// Where the project id comes from.
#[derive(Debug, Clone)]
pub enum ProjectSource {
    Known(String),
    /// Asked of the metadata server at `host` on first use; `tried` as in
    /// [`Credentials::Metadata`].
    Metadata {
        host: String,
        tried: Option<String>,
    },
}

/// The client of the Identity Toolkit API.
pub struct Api {
    http: Http,
    /// `None` for the emulator, which takes `Bearer owner`.
    tokens: Option<Tokens>,
    /// `https://identitytoolkit.googleapis.com`, or the emulator's
    /// `http://host/identitytoolkit.googleapis.com`.
    base: String,
    /// `x-goog-user-project`, for user credentials.
    quota_project: Option<String>,
    project_source: ProjectSource,
    project: OnceCell<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryReply {
    #[serde(default)]
    records_count: Option<Count>,
    /// Users: present only if the request's `returnUserInfo: false` was
    /// ignored, and then `recordsCount` is the page's size, not the total.
    #[serde(default)]
    user_info: Option<serde::de::IgnoredAny>,
}

/// int64 as Google's JSON sends it (a string), or a plain number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Count {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TenantsReply {
    #[serde(default)]
    tenants: Vec<TenantEntry>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TenantEntry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
}

impl Api {
    /// `base` is the API root (see [`GOOGLE_API`]), checked at
    /// start-up; for the emulator it is derived from its host.
    pub fn new(
        http: Http,
        credentials: Credentials,
        base: Option<String>,
        quota_project: Option<String>,
        project_source: ProjectSource,
    ) -> Api {
        let base = match (&credentials, base) {
            (_, Some(base)) => base.trim_end_matches('/').to_owned(),
            (Credentials::Emulator { host }, None) => {
                format!("http://{host}/identitytoolkit.googleapis.com")
            }
            (_, None) => GOOGLE_API.to_owned(),
        };
        Api {
            tokens: Tokens::new(credentials, http.clone()),
            http,
            base,
            quota_project,
            project_source,
            project: OnceCell::new(),
        }
    }

    /// The API root requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The project id, asking the metadata server the first time if needed.
    pub async fn project(&self, deadline: Instant) -> Result<&str, ApiError> {
        let project = self
            .project
            .get_or_try_init(|| async {
                match &self.project_source {
                    ProjectSource::Known(project) => Ok(project.clone()),
                    ProjectSource::Metadata { host, tried } => {
                        let project = metadata_project(&self.http, host, deadline)
                            .await
                            .map_err(|err| match tried {
                                Some(tried) => last_resort_failed(tried, err),
                                None => err,
                            })?;
                        log::info!(project = project.as_str(); "Project id from the metadata server");
                        Ok(project)
                    }
                }
            })
            .await?;
        Ok(project.as_str())
    }

    /// The number of users in `pool`, from one `accounts:query` request
    /// (a few attempts at most, see [`QUERY_ATTEMPTS`]).
    pub async fn query_count(&self, pool: &Pool, deadline: Instant) -> Result<u64, ApiError> {
        let endpoint = Endpoint::AccountsQuery;
        let url = format!("{}/accounts:query", self.pool_url(pool, deadline).await?);
        let body = Bytes::from_static(br#"{"returnUserInfo":false}"#);
        let retry = Retry::new(endpoint, deadline, true).at_most(QUERY_ATTEMPTS);
        let reply = self
            .call(retry, Method::POST, &url, Some(body), SMALL_LIMIT)
            .await?;
        let bad = |detail: String| ApiError::BadResponse { endpoint, detail };
        let parsed: QueryReply =
            serde_json::from_slice(&reply).map_err(|err| bad(JsonProblem::of(&err).to_string()))?;
        if parsed.user_info.is_some() {
            return Err(bad("the reply lists users instead of counting them".into()));
        }
        // Without recordsCount the reply is not the count asked for. (The
        // emulator sends "0" for an empty pool; should Google leave out a
        // zero, as proto3 JSON may, paging the empty pool costs one request.)
        match parsed.records_count {
            None => Err(bad("the reply has no recordsCount".into())),
            Some(Count::Number(count)) => Ok(count),
            Some(Count::Text(text)) => text
                .parse()
                .map_err(|_| bad("recordsCount is not a whole number".into())),
        }
    }

    /// Pages through every user of `pool` with `accounts:batchGet`,
    /// tallying them; `now` is the end of the activity windows.
    pub async fn scan(
        &self,
        pool: &Pool,
        now: SystemTime,
        deadline: Instant,
    ) -> Result<Tally, ApiError> {
        let endpoint = Endpoint::AccountsBatchGet;
        let base = format!("{}/accounts:batchGet", self.pool_url(pool, deadline).await?);
        let mut tally = Tally::default();
        let pages = self
            .paginate(
                endpoint,
                &base,
                ("maxResults", PAGE_SIZE),
                "nextPageToken",
                deadline,
                |page| fold_page(page, now, &mut tally).map_err(|problem| problem.to_string()),
            )
            .await?;
        log::debug!(pool:% = pool, pages = pages, users = tally.users; "Scanned");
        Ok(tally)
    }

    /// Every tenant's id, from the v2 tenants list.
    pub async fn tenants(&self, deadline: Instant) -> Result<Vec<String>, ApiError> {
        let endpoint = Endpoint::TenantsList;
        let project = self.project(deadline).await?;
        let base = format!("{}/v2/projects/{}/tenants", self.base, segment(project));
        let mut tenants = Vec::new();
        self.paginate(
            endpoint,
            &base,
            ("pageSize", TENANT_PAGE_SIZE),
            "pageToken",
            deadline,
            |reply| {
                let page: TenantsReply = serde_json::from_slice(reply)
                    .map_err(|err| JsonProblem::of(&err).to_string())?;
                for tenant in page.tenants {
                    let id = tenant
                        .name
                        .as_deref()
                        .and_then(|name| name.rsplit('/').next())
                        .filter(|id| !id.is_empty())
                        .map(str::to_owned)
                        .or(tenant.tenant_id.filter(|id| !id.is_empty()))
                        .ok_or("a tenant has no name")?;
                    tenants.push(id);
                }
                Ok(page.next_page_token)
            },
        )
        .await?;
        tenants.sort();
        tenants.dedup();
        Ok(tenants)
    }

    /// GETs `base` page by page (`size` per page, the token as
    /// `token_name`), handing each reply to `page`, which returns the next
    /// token or what is wrong with the reply; the number of pages.
    async fn paginate(
        &self,
        endpoint: Endpoint,
        base: &str,
        size: (&str, u32),
        token_name: &str,
        deadline: Instant,
        mut page: impl FnMut(&[u8]) -> Result<Option<String>, String>,
    ) -> Result<u64, ApiError> {
        let mut token: Option<String> = None;
        let mut pages = 0u64;
        loop {
            let url = with_query(base, size, token_name, token.as_deref());
            let retry = Retry::new(endpoint, deadline, true);
            let reply = self
                .call(retry, Method::GET, &url, None, PAGE_LIMIT)
                .await?;
            pages += 1;
            let next = page(&reply).map_err(|detail| ApiError::BadResponse {
                endpoint,
                detail: format!("page {pages}: {detail}"),
            })?;
            match next.filter(|next| !next.is_empty()) {
                None => return Ok(pages),
                // A server repeating itself would keep this loop going
                // until the deadline.
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(ApiError::BadResponse {
                        endpoint,
                        detail: format!("page {pages}: the same page token came back twice"),
                    });
                }
                Some(next) => token = Some(next),
            }
        }
    }

    /// `{base}/v1/projects/{p}` or `{base}/v1/projects/{p}/tenants/{t}`.
    async fn pool_url(&self, pool: &Pool, deadline: Instant) -> Result<String, ApiError> {
        let project = self.project(deadline).await?;
        let mut url = format!("{}/v1/projects/{}", self.base, segment(project));
        if let Pool::Tenant(tenant) = pool {
            url.push_str("/tenants/");
            url.push_str(&segment(tenant));
        }
        Ok(url)
    }

    /// One authorised API call, retried as `retry` allows; the body of
    /// the 2xx reply.
    async fn call(
        &self,
        mut retry: Retry,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        limit: usize,
    ) -> Result<Bytes, ApiError> {
        let (endpoint, deadline) = (retry.endpoint(), retry.deadline());
        loop {
            let authorization = match &self.tokens {
                Some(tokens) => tokens.authorization(deadline).await?,
                None => HeaderValue::from_static("Bearer owner"),
            };
            let mut request = Request::builder()
                .method(method.clone())
                .uri(url)
                .header(header::AUTHORIZATION, authorization)
                .header(header::ACCEPT, "application/json")
                .header(
                    "x-goog-api-client",
                    concat!("firebase-exporter/", env!("CARGO_PKG_VERSION")),
                );
            if let Some(quota_project) = &self.quota_project {
                request = request.header("x-goog-user-project", quota_project);
            }
            if body.is_some() {
                request = request.header(header::CONTENT_TYPE, "application/json");
            }
            // The URL is built from the checked --api-url and escaped path
            // segments, so this fails only on a bug; it is still reported.
            let request = request
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|err| ApiError::Request {
                    endpoint,
                    detail: err.to_string(),
                })?;
            let outcome = self.http.send(endpoint, request, deadline, limit).await;
            match retry.judge(outcome).await {
                Judged::Done(reply) => return Ok(reply.body),
                Judged::Again { unauthorized } => {
                    if unauthorized && let Some(tokens) = &self.tokens {
                        tokens.invalidate().await;
                    }
                }
                Judged::Failed(err) => return Err(err),
            }
        }
    }
}

async fn metadata_project(http: &Http, host: &str, deadline: Instant) -> Result<String, ApiError> {
    let endpoint = Endpoint::MetadataProject;
    let request = metadata_get(endpoint, host, "/computeMetadata/v1/project/project-id")?;
    let reply = retry::send(http, endpoint, deadline, TOKEN_REPLY_LIMIT, &request).await?;
    let project = String::from_utf8_lossy(&reply.body).trim().to_owned();
    if project.is_empty() {
        return Err(ApiError::BadResponse {
            endpoint,
            detail: "the project id is empty".into(),
        });
    }
    Ok(project)
}

/// `base?size=N[&token_name=token]`, the token URL-encoded.
fn with_query(base: &str, size: (&str, u32), token_name: &str, token: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair(size.0, &size.1.to_string());
    if let Some(token) = token {
        query.append_pair(token_name, token);
    }
    format!("{base}?{}", query.finish())
}

/// `text` as one URL path segment: unreserved characters and `:` (domain-
/// scoped project ids) as they are, everything else percent-encoded.
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("demo-test"), "demo-test");
        assert_eq!(segment("example.com:proj"), "example.com:proj");
        assert_eq!(segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
