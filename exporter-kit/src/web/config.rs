//! The `--web.config.file` schema of the Go exporter-toolkit, parsed strictly
//! (unknown keys are errors, as Go's `yaml.UnmarshalStrict` makes them) and
//! validated into what the server needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::tls::{self, TlsSettings};

/// Why a web config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    http_server_config: HttpServerConfig,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RateLimitConfig>,
}

/// `tls_server_config`, field for field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsServerConfig {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub client_ca: Option<String>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<PathBuf>,
    pub client_allowed_sans: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub cipher_suites: Option<Vec<String>>,
    pub prefer_server_cipher_suites: Option<bool>,
    pub curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerConfig {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitConfig {
    interval: Option<String>,
    burst: Option<u32>,
}

/// A validated web configuration.
#[derive(Debug, Default)]
pub struct WebConfig {
    pub(crate) tls: Option<TlsSettings>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// User name to bcrypt hash.
    pub(crate) users: BTreeMap<String, String>,
    pub(crate) rate_limit: Option<RateLimit>,
}

/// A token bucket: one request per `interval`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// The response headers exporter-toolkit lets a config set, with the values
/// it accepts (`None`: any value).
const CONFIGURABLE_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

impl WebConfig {
    /// Reads and validates the file at `path`. Relative paths inside it are
    /// taken from the file's own directory, as exporter-toolkit does.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |message: String| WebConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let file: ConfigFile = if text.trim().is_empty() {
            ConfigFile::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| WebConfigError::Yaml {
                path: path.to_owned(),
                message: e.to_string(),
            })?
        };
        let base = path.parent().unwrap_or(Path::new("."));

        let tls = match file.tls_server_config {
            Some(raw) => Some(tls::build(&raw, base).map_err(invalid)?),
            None => None,
        };

        let mut headers = Vec::new();
        for (name, value) in file.http_server_config.headers.unwrap_or_default() {
            let Some((_, allowed)) = CONFIGURABLE_HEADERS.iter().find(|(n, _)| *n == name) else {
                return Err(invalid(format!(
                    "http_server_config.headers: HTTP header {name:?} can not be configured"
                )));
            };
            if let Some(allowed) = allowed
                && !allowed.contains(&value.to_ascii_lowercase().as_str())
            {
                return Err(invalid(format!(
                    "http_server_config.headers: invalid value {value:?} for {name}, expected one of {allowed:?}"
                )));
            }
            let value = HeaderValue::from_str(&value).map_err(|_| {
                invalid(format!(
                    "http_server_config.headers: invalid value for {name}"
                ))
            })?;
            headers.push((HeaderName::from_static(static_header(&name)), value));
        }
        // HTTP/2 is a transport detail: clients fall back to HTTP/1.1, which
        // is all this server speaks, so `http2` is accepted and has no effect.
        let _ = file.http_server_config.http2;

        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if bcrypt::HashParts::from_str(hash).is_err() {
                return Err(invalid(format!(
                    "basic_auth_users: the password of user {user:?} is not a bcrypt hash"
                )));
            }
        }

        let rate_limit = match file.rate_limit {
            None => None,
            Some(raw) => {
                let interval = match raw.interval.as_deref() {
                    None | Some("0") | Some("0s") => Duration::ZERO,
                    Some(text) => humantime::parse_duration(text)
                        .map_err(|e| invalid(format!("rate_limit.interval: {text:?}: {e}")))?,
                };
                let burst = raw.burst.unwrap_or(0);
                if !interval.is_zero() && burst == 0 {
                    // Go's limiter would refuse every request; say so instead.
                    return Err(invalid(
                        "rate_limit.burst must be at least 1 when an interval is set".into(),
                    ));
                }
                (!interval.is_zero()).then_some(RateLimit { interval, burst })
            }
        };

        Ok(WebConfig {
            tls,
            headers,
            users,
            rate_limit,
        })
    }

    /// Whether the config asks for TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// Files the config refers to, whose changes must be picked up.
    pub(crate) fn referenced_files(&self) -> Vec<PathBuf> {
        self.tls
            .as_ref()
            .map(|tls| tls.files.clone())
            .unwrap_or_default()
    }
}

/// `HeaderName::from_static` wants lowercase names.
fn static_header(name: &str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<WebConfig, String> {
        let dir = std::env::temp_dir().join(format!(
            "web-config-test-{}-{}",
            std::process::id(),
            yaml.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        WebConfig::load(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_file_is_plain_http_without_auth() {
        let config = load("").unwrap();
        assert!(!config.tls_enabled());
        assert!(config.users.is_empty());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = load("tls_server_config:\n  cert_fil: x\n").unwrap_err();
        assert!(err.contains("unknown field `cert_fil`"), "{err}");
        let err = load("http_server_config:\n  headers:\n    Server: x\n").unwrap_err();
        assert!(err.contains("\"Server\" can not be configured"), "{err}");
        let err =
            load("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").unwrap_err();
        assert!(err.contains("X-Frame-Options"), "{err}");
        let err = load("basic_auth_users:\n  alice: plaintext\n").unwrap_err();
        assert!(err.contains("\"alice\" is not a bcrypt hash"), "{err}");
        let err = load("rate_limit:\n  interval: soon\n").unwrap_err();
        assert!(err.contains("rate_limit.interval"), "{err}");
        let err = load("rate_limit:\n  interval: 1s\n").unwrap_err();
        assert!(err.contains("rate_limit.burst"), "{err}");
        let err = load("tls_server_config:\n  key_file: k.pem\n").unwrap_err();
        assert!(err.contains("cert_file"), "{err}");
    }

    #[test]
    fn headers_users_and_rate_limit_are_kept() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let config = load(&format!(
            "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: DENY\n\
             basic_auth_users:\n  alice: {hash}\nrate_limit:\n  interval: 100ms\n  burst: 3\n"
        ))
        .unwrap();
        assert_eq!(config.headers.len(), 1);
        assert_eq!(config.users["alice"], hash);
        assert_eq!(
            config.rate_limit,
            Some(RateLimit {
                interval: Duration::from_millis(100),
                burst: 3
            })
        );
    }
}
