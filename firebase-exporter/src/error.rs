//! Why a call to Google (or the emulator) failed, and the short reason the
//! metrics show for it.

use serde::Deserialize;

use crate::client::Endpoint;

/// A failed call, after retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{} replied HTTP {status}: {message}", endpoint.label())]
    Status {
        endpoint: Endpoint,
        status: u16,
        message: String,
    },
    #[error("{} unreachable: {detail}", endpoint.label())]
    Transport { endpoint: Endpoint, detail: String },
    #[error("{} gave no reply before the refresh deadline{}", endpoint.label(),
            last.as_ref().map(|l| format!(" (before that: {l})")).unwrap_or_default())]
    Deadline {
        endpoint: Endpoint,
        last: Option<String>,
    },
    #[error("{} sent an unusable reply: {detail}", endpoint.label())]
    BadResponse { endpoint: Endpoint, detail: String },
    #[error("credentials: {0}")]
    Credentials(String),
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
            ApiError::Credentials(_) => Reason::Credentials,
        }
    }

    /// Whether another method may still work: not when time is up or the
    /// credentials are bad.
    pub fn allows_fallback(&self) -> bool {
        !matches!(self, ApiError::Deadline { .. } | ApiError::Credentials(_))
            && !matches!(self, ApiError::Status { status: 401, .. })
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
/// status, an OAuth error and its description, or the start of a text body.
pub fn describe_error_body(body: &[u8]) -> String {
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
    } else {
        String::from_utf8_lossy(body).into_owned()
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
                br#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#
            ),
            "PERMISSION_DENIED: The caller does not have permission"
        );
        assert_eq!(
            describe_error_body(
                br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            ),
            "invalid_grant: Invalid JWT Signature."
        );
        assert_eq!(describe_error_body(b"Not Found\n"), "Not Found");
        assert_eq!(describe_error_body(b""), "(empty reply)");
        let long = describe_error_body(&[b'x'; 1000]);
        assert_eq!(long.chars().count(), MESSAGE_LIMIT + 1);
        assert_eq!(one_line("a\nb\tc", 10), "a b c");
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
        assert!(status(501).allows_fallback());
        assert!(!status(401).allows_fallback());
        assert!(
            !ApiError::Deadline {
                endpoint: Endpoint::AccountsQuery,
                last: None
            }
            .allows_fallback()
        );
    }
}
