//! Retries with exponential backoff and jitter, on 429, 500, 502, 503, 504
//! and failed connections, until the refresh's deadline. `Retry-After` is
//! honoured when it fits before the deadline.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::Full;
use tokio::time::Instant;

use crate::client::{Endpoint, Http, HttpError, Reply};
use crate::error::{ApiError, describe_error_body};

/// The first wait; it doubles after each failure.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest wait between two attempts (without `Retry-After`).
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Attempts per call, deadline permitting, unless [`Retry::at_most`]
/// lowers it.
const MAX_ATTEMPTS: u32 = 8;

/// What to do after an attempt.
pub enum Judged {
    /// A 2xx reply.
    Done(Reply),
    /// Try again now (the wait, if any, is over). `unauthorized`: the
    /// token was refused once; fetch a new one first.
    Again {
        unauthorized: bool,
    },
    Failed(ApiError),
}

/// The retry state of one call.
pub struct Retry {
    endpoint: Endpoint,
    deadline: Instant,
    attempts: u32,
    max_attempts: u32,
    /// The last retryable failure, for the error when time runs out.
    last: Option<ApiError>,
    retried_unauthorized: bool,
    /// Whether a 401 may be answered by fetching a new token.
    uses_tokens: bool,
}

impl Retry {
    /// A call to `endpoint` that must end by `deadline`; `uses_tokens` if
    /// it carries an access token that may be renewed after a 401.
    pub fn new(endpoint: Endpoint, deadline: Instant, uses_tokens: bool) -> Retry {
        Retry {
            endpoint,
            deadline,
            attempts: 0,
            max_attempts: MAX_ATTEMPTS,
            last: None,
            retried_unauthorized: false,
            uses_tokens,
        }
    }

    /// The endpoint called.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// When the call must end.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// At most `attempts` attempts (at least one).
    pub fn at_most(mut self, attempts: u32) -> Retry {
        self.max_attempts = attempts.clamp(1, MAX_ATTEMPTS);
        self
    }

    /// Judges an attempt's outcome, waiting before a retry.
    pub async fn judge(&mut self, outcome: Result<Reply, HttpError>) -> Judged {
        self.attempts += 1;
        let endpoint = self.endpoint;
        let (failure, retry_after) = match outcome {
            Ok(reply) if reply.status.is_success() => return Judged::Done(reply),
            Ok(reply) => {
                let content_type = reply
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok());
                let failure = ApiError::Status {
                    endpoint,
                    status: reply.status.as_u16(),
                    message: describe_error_body(content_type, &reply.body),
                };
                if reply.status == StatusCode::UNAUTHORIZED
                    && self.uses_tokens
                    && !self.retried_unauthorized
                {
                    self.retried_unauthorized = true;
                    return Judged::Again { unauthorized: true };
                }
                if !retryable(reply.status) {
                    return Judged::Failed(failure);
                }
                (failure, retry_after(&reply))
            }
            Err(HttpError::Deadline) => {
                return Judged::Failed(ApiError::Deadline {
                    endpoint: Some(endpoint),
                    last: self.last.take().map(Box::new),
                });
            }
            Err(HttpError::TooLarge(limit)) => {
                return Judged::Failed(ApiError::BadResponse {
                    endpoint,
                    detail: format!("the reply is larger than {limit} bytes"),
                });
            }
            Err(HttpError::Transport(detail)) => (ApiError::Transport { endpoint, detail }, None),
        };
        if self.attempts >= self.max_attempts {
            return Judged::Failed(failure);
        }
        let wait = retry_after.unwrap_or_else(|| jittered(backoff(self.attempts)));
        if Instant::now() + wait >= self.deadline {
            return Judged::Failed(failure);
        }
        log::debug!(endpoint = endpoint.label(), attempt = self.attempts, wait:? = wait, err:% = failure; "Retrying");
        self.last = Some(failure);
        tokio::time::sleep(wait).await;
        Judged::Again {
            unauthorized: false,
        }
    }
}

/// Sends a request that needs no access token (token endpoints, the
/// metadata server), with retries.
pub async fn send(
    http: &Http,
    endpoint: Endpoint,
    deadline: Instant,
    limit: usize,
    request: &Request<Full<Bytes>>,
) -> Result<Reply, ApiError> {
    let mut retry = Retry::new(endpoint, deadline, false);
    loop {
        let outcome = http.send(endpoint, request.clone(), deadline, limit).await;
        match retry.judge(outcome).await {
            Judged::Done(reply) => return Ok(reply),
            Judged::Again { .. } => continue,
            Judged::Failed(err) => return Err(err),
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Google).
fn retry_after(reply: &Reply) -> Option<Duration> {
    let seconds: u64 = reply
        .headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

/// The wait after `attempts` failures, before jitter.
fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// A random wait between half of `delay` and all of it, so that clients
/// failing together do not retry together.
fn jittered(delay: Duration) -> Duration {
    let mut bytes = [0u8; 4];
    // The system's random source does not fail on Linux; if it did, the
    // full delay is a fine answer.
    let fraction =
        match ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes) {
            Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
            Err(_) => 1.0,
        };
    delay.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(4), Duration::from_secs(2));
        assert_eq!(backoff(7), MAX_DELAY);
        assert_eq!(backoff(u32::MAX), MAX_DELAY);
        for _ in 0..100 {
            let wait = jittered(Duration::from_secs(2));
            assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2));
        }
    }

    #[test]
    fn only_transient_codes_are_retried() {
        for code in [429, 500, 502, 503, 504] {
            assert!(retryable(StatusCode::from_u16(code).unwrap()));
        }
        for code in [400, 401, 403, 404, 501] {
            assert!(!retryable(StatusCode::from_u16(code).unwrap()));
        }
    }
}
