//! Why a call to Google (or the emulator) failed, and the short reason the
//! metrics show for it.
//!
//! No message built here quotes a reply's content beyond a Google error's
//! own `message`/`status` (or an OAuth error's code and description):
//! serde_json's messages quote the offending values, which can be user
//! records or secrets, so JSON problems are described by [`JsonProblem`].

use serde::Deserialize;

use crate::client::Endpoint;

/// A failed call, after retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The endpoint replied with a non-2xx status.
    #[error("{} replied HTTP {status}: {message}", endpoint.label())]
    Status {
        endpoint: Endpoint,
        status: u16,
        /// [`describe_error_body`] of the reply.
        message: String,
    },
    /// No reply: the connection failed or broke.
    #[error("{} unreachable: {detail}", endpoint.label())]
    Transport { endpoint: Endpoint, detail: String },
    /// The refresh's deadline passed; `endpoint` is `None` when the
    /// refresh as a whole was cut off rather than one request.
    #[error("{} before the refresh deadline{}",
            endpoint.map_or_else(|| "the refresh did not finish".to_owned(), |e| format!("{} gave no reply", e.label())),
            last.as_ref().map(|l| format!(" (before that: {l})")).unwrap_or_default())]
    Deadline {
        endpoint: Option<Endpoint>,
        /// The failure that was being retried when time ran out.
        last: Option<Box<ApiError>>,
    },
    /// A 2xx reply that cannot be used.
    #[error("{} sent an unusable reply: {detail}", endpoint.label())]
    BadResponse { endpoint: Endpoint, detail: String },
    /// The request could not be built (an address that passed start-up
    /// checks but is still not a valid URI).
    #[error("cannot build the {} request: {detail}", endpoint.label())]
    Request { endpoint: Endpoint, detail: String },
    /// No usable credentials.
    #[error("credentials: {0}")]
    Credentials(CredentialsFailure),
}

/// Why no access token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialsFailure {
    /// The token endpoint refused the credentials (4xx other than 429).
    #[error("{} refused the credentials (HTTP {status}): {message}", endpoint.label())]
    Refused {
        endpoint: Endpoint,
        status: u16,
        message: String,
    },
    /// The service account's key could not sign the assertion.
    #[error("{0}")]
    Sign(#[from] crate::jwt::SignError),
    /// Nothing was configured and the metadata server, the last resort,
    /// failed: what was tried, and how the metadata server failed.
    #[error("none found: tried {tried}, then {err}")]
    NoneFound { tried: String, err: Box<ApiError> },
}

/// The `reason` label of `firebase_exporter_refresh_error`: a small, fixed
/// vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Credentials,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    RateLimited,
    ClientError,
    ServerError,
    Unreachable,
    Timeout,
    BadResponse,
}

impl Reason {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Credentials => "credentials",
            Reason::Unauthenticated => "unauthenticated",
            Reason::PermissionDenied => "permission_denied",
            Reason::NotFound => "not_found",
            Reason::RateLimited => "rate_limited",
            Reason::ClientError => "client_error",
            Reason::ServerError => "server_error",
            Reason::Unreachable => "unreachable",
            Reason::Timeout => "timeout",
            Reason::BadResponse => "bad_response",
        }
    }
}

impl ApiError {
    /// The failure's `reason` label.
    pub fn reason(&self) -> Reason {
        match self {
            ApiError::Status { status, .. } => match status {
                401 => Reason::Unauthenticated,
                403 => Reason::PermissionDenied,
                404 => Reason::NotFound,
                429 => Reason::RateLimited,
                500..=599 => Reason::ServerError,
                _ => Reason::ClientError,
            },
            ApiError::Transport { .. } => Reason::Unreachable,
            ApiError::Deadline { .. } => Reason::Timeout,
            ApiError::BadResponse { .. } => Reason::BadResponse,
            ApiError::Request { .. } => Reason::ClientError,
            ApiError::Credentials(_) => Reason::Credentials,
        }
    }

    /// Whether `accounts:query` failed in a way paging `accounts:batchGet`
    /// may not: it is refused or unsupported (400, 403, 404, 501) or its
    /// reply is unusable. Not when the API is struggling (429, 5xx, no
    /// reply, time up): paging would add one request per 1000 users to
    /// its load.
    pub fn allows_fallback(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 400 | 403 | 404 | 501),
            ApiError::BadResponse { .. } => true,
            _ => false,
        }
    }
}

/// What is wrong with a JSON text, by category and position only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{category} at line {line} column {column}")]
pub struct JsonProblem {
    category: &'static str,
    line: usize,
    column: usize,
}

impl JsonProblem {
    /// The problem `err` reports, without its message (which quotes values).
    pub fn of(err: &serde_json::Error) -> JsonProblem {
        let category = match err.classify() {
            serde_json::error::Category::Io => "a read error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected JSON content",
            serde_json::error::Category::Eof => "JSON cut short",
        };
        JsonProblem {
            category,
            line: err.line(),
            column: err.column(),
        }
    }
}

/// Google API errors: `{"error": {"code", "message", "status"}}`.
#[derive(Deserialize)]
struct GoogleError {
    error: GoogleErrorBody,
}

#[derive(Deserialize)]
struct GoogleErrorBody {
    message: Option<String>,
    status: Option<String>,
}

/// OAuth errors: `{"error": "invalid_grant", "error_description": "..."}`.
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
}

/// Longest message kept from an error reply.
const MESSAGE_LIMIT: usize = 300;

/// What an error reply says, in one short line: the API's message and
/// status, or an OAuth error and its description. Anything else (an HTML
/// page from a proxy, a text body) is only described by its content type
/// and length: its text is unknown and could echo the request.
pub fn describe_error_body(content_type: Option<&str>, body: &[u8]) -> String {
    let text = if let Ok(google) = serde_json::from_slice::<GoogleError>(body) {
        match (google.error.status, google.error.message) {
            (Some(status), Some(message)) => format!("{status}: {message}"),
            (None, Some(message)) => message,
            (Some(status), None) => status,
            (None, None) => String::new(),
        }
    } else if let Ok(oauth) = serde_json::from_slice::<OAuthError>(body) {
        match oauth.error_description {
            Some(description) => format!("{}: {description}", oauth.error),
            None => oauth.error,
        }
    } else if body.is_empty() {
        String::new()
    } else {
        match content_type {
            Some(kind) => format!("a {} reply of {} bytes", one_line(kind, 60), body.len()),
            None => format!("a reply of {} bytes", body.len()),
        }
    };
    one_line(&text, MESSAGE_LIMIT)
}

/// `text` on one line of at most `limit` characters, control characters
/// replaced.
pub fn one_line(text: &str, limit: usize) -> String {
    let mut line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(limit + 1)
        .collect();
    if line.chars().count() > limit {
        line = line.chars().take(limit).collect();
        line.push('…');
    }
    if line.is_empty() {
        line.push_str("(empty reply)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            describe_error_body(
                None,
                br#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#
            ),
            "PERMISSION_DENIED: The caller does not have permission"
        );
        assert_eq!(
            describe_error_body(
                None,
                br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            ),
            "invalid_grant: Invalid JWT Signature."
        );
        assert_eq!(
            describe_error_body(Some("text/html"), b"<p>secret@example.com</p>"),
            "a text/html reply of 25 bytes"
        );
        assert_eq!(
            describe_error_body(None, b"Not Found"),
            "a reply of 9 bytes"
        );
        assert_eq!(describe_error_body(None, b""), "(empty reply)");
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(1000));
        assert_eq!(
            describe_error_body(None, long.as_bytes()).chars().count(),
            MESSAGE_LIMIT + 1
        );
        assert_eq!(one_line("a\nb\tc", 10), "a b c");
    }

    #[test]
    fn json_problems_quote_nothing() {
        for text in [
            r#"{"recordsCount": "secret@example.com"#,
            r#"{"recordsCount": true, "x": "secret@example.com"}"#,
            r#"secret@example.com"#,
        ] {
            let err =
                serde_json::from_str::<std::collections::BTreeMap<String, u64>>(text).unwrap_err();
            let described = JsonProblem::of(&err).to_string();
            assert!(!described.contains("secret"), "{described}");
            assert!(described.contains("line 1 column"), "{described}");
        }
    }

    #[test]
    fn reasons_follow_the_status() {
        let status = |status| ApiError::Status {
            endpoint: Endpoint::AccountsQuery,
            status,
            message: String::new(),
        };
        assert_eq!(status(403).reason(), Reason::PermissionDenied);
        assert_eq!(status(429).reason(), Reason::RateLimited);
        assert_eq!(status(503).reason(), Reason::ServerError);
        assert_eq!(status(400).reason(), Reason::ClientError);
        for code in [400, 403, 404, 501] {
            assert!(status(code).allows_fallback(), "{code}");
        }
        for code in [401, 429, 500, 503] {
            assert!(!status(code).allows_fallback(), "{code}");
        }
        let deadline = ApiError::Deadline {
            endpoint: Some(Endpoint::AccountsQuery),
            last: Some(Box::new(status(503))),
        };
        assert!(!deadline.allows_fallback());
        assert_eq!(
            deadline.to_string(),
            "accounts.query gave no reply before the refresh deadline \
             (before that: accounts.query replied HTTP 503: )"
        );
        assert!(
            ApiError::BadResponse {
                endpoint: Endpoint::AccountsQuery,
                detail: String::new()
            }
            .allows_fallback()
        );
    }
}
