//! Finding credentials as Google's client libraries do (Application Default
//! Credentials), or the Auth emulator.
//!
//! The order: `FIREBASE_AUTH_EMULATOR_HOST` (the emulator, no credentials);
//! the JSON file named by `GOOGLE_APPLICATION_CREDENTIALS`; gcloud's
//! well-known file (`$CLOUDSDK_CONFIG/application_default_credentials.json`,
//! else `~/.config/gcloud/application_default_credentials.json`); the
//! metadata server (GCE, Cloud Run, GKE Workload Identity), at
//! `GCE_METADATA_HOST` or 169.254.169.254.
//!
//! Files are read once, at start-up; a file that cannot be used is a
//! configuration error. No message here quotes a file's content: key files
//! hold private keys and refresh tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ring::signature::RsaKeyPair;
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value};

use crate::error::JsonProblem;

/// Google's OAuth 2.0 token endpoint, for files that do not name one.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The metadata server's link-local address (Google's libraries use it
/// rather than the `metadata.google.internal` name for requests).
pub const DEFAULT_METADATA_HOST: &str = "169.254.169.254";

/// A string that must never be printed: `Debug` shows a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A service account's key, ready to sign token requests.
#[derive(Clone)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub key: Arc<RsaKeyPair>,
    pub token_uri: String,
    pub project_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// gcloud's user credentials (`gcloud auth application-default login`).
#[derive(Debug, Clone)]
pub struct AuthorizedUser {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub token_uri: String,
    pub quota_project_id: Option<String>,
}

/// Where access tokens come from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The Auth emulator accepts the literal token `owner`.
    Emulator {
        host: String,
    },
    ServiceAccount(ServiceAccount),
    AuthorizedUser(AuthorizedUser),
    /// `host` is `host[:port]`, without a scheme. `tried` is `Some` when
    /// the metadata server is the last resort (no `GCE_METADATA_HOST` nor
    /// `GCE_METADATA_IP`): the sources tried before it, so that its
    /// failure off Google Cloud reads as missing credentials.
    Metadata {
        host: String,
        tried: Option<String>,
    },
}

/// What [`discover`] found, and where.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub credentials: Credentials,
    /// For the start-up log line: the variable or file, never its content.
    pub origin: String,
}

impl Discovered {
    /// The project the credentials belong to, if they say.
    pub fn project_id(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::ServiceAccount(account) => account.project_id.as_deref(),
            _ => None,
        }
    }
}

/// Why credentials could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {origin} {path}: {source}")]
    Read {
        origin: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} {path} is not a JSON object ({detail})")]
    NotJson {
        origin: &'static str,
        path: PathBuf,
        detail: NotJson,
    },
    #[error("{origin} {path}: field {field:?} is missing or not a non-empty string")]
    MissingField {
        origin: &'static str,
        path: PathBuf,
        field: &'static str,
    },
    #[error(
        "{origin} {path}: credentials of type {kind:?} are not supported \
         (use a service_account key or gcloud's authorized_user file)"
    )]
    Unsupported {
        origin: &'static str,
        path: PathBuf,
        kind: String,
    },
    #[error(
        "FIREBASE_AUTH_EMULATOR_HOST={value:?} is not host:port (a host and a port, no scheme nor path)"
    )]
    EmulatorHost { value: String },
    #[error("{origin} {path}: private_key is not a PKCS#8 PEM RSA key ({detail})")]
    BadKey {
        origin: &'static str,
        path: PathBuf,
        detail: &'static str,
    },
}

/// Why a credentials file is not a JSON object.
#[derive(Debug, thiserror::Error)]
pub enum NotJson {
    #[error("{0}")]
    Invalid(JsonProblem),
    #[error("the top level is not an object")]
    NotAnObject,
}

const APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";
const WELL_KNOWN: &str = "gcloud's application default credentials";

/// Finds the credentials, reading environment variables through `env`.
pub fn discover(env: &dyn Fn(&str) -> Option<String>) -> Result<Discovered, CredentialsError> {
    let set = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(host) = set("FIREBASE_AUTH_EMULATOR_HOST") {
        if !is_host_and_port(&host) {
            return Err(CredentialsError::EmulatorHost { value: host });
        }
        return Ok(Discovered {
            origin: format!("FIREBASE_AUTH_EMULATOR_HOST={host}"),
            credentials: Credentials::Emulator { host },
        });
    }
    if let Some(path) = set(APPLICATION_CREDENTIALS) {
        let path = PathBuf::from(path);
        let credentials = load_file(APPLICATION_CREDENTIALS, &path)?;
        return Ok(Discovered {
            origin: format!("{APPLICATION_CREDENTIALS}={}", path.display()),
            credentials,
        });
    }
    let config_dir = set("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(".config/gcloud")));
    let well_known = match config_dir {
        Some(dir) => {
            let path = dir.join("application_default_credentials.json");
            if path.is_file() {
                let credentials = load_file(WELL_KNOWN, &path)?;
                return Ok(Discovered {
                    origin: path.display().to_string(),
                    credentials,
                });
            }
            format!("{} (not found)", path.display())
        }
        None => format!("{WELL_KNOWN} (neither CLOUDSDK_CONFIG nor HOME is set)"),
    };
    let (host, tried) = match set("GCE_METADATA_HOST").or_else(|| set("GCE_METADATA_IP")) {
        Some(host) => (host, None),
        None => (
            DEFAULT_METADATA_HOST.to_owned(),
            Some(format!("{APPLICATION_CREDENTIALS} (not set), {well_known}")),
        ),
    };
    Ok(Discovered {
        origin: format!("the metadata server at {host}"),
        credentials: Credentials::Metadata { host, tried },
    })
}

/// `host:port` and nothing else, as `FIREBASE_AUTH_EMULATOR_HOST` must be.
fn is_host_and_port(value: &str) -> bool {
    value
        .parse::<http::uri::Authority>()
        .is_ok_and(|authority| {
            !authority.host().is_empty()
                && authority.port_u16().is_some()
                && !authority.as_str().contains('@')
        })
}

/// Reads a credentials file: a service-account key or gcloud user credentials.
pub fn load_file(origin: &'static str, path: &Path) -> Result<Credentials, CredentialsError> {
    let text = std::fs::read(path).map_err(|source| CredentialsError::Read {
        origin,
        path: path.to_owned(),
        source,
    })?;
    parse(origin, path, &text)
}

fn parse(origin: &'static str, path: &Path, text: &[u8]) -> Result<Credentials, CredentialsError> {
    let not_json = |detail: NotJson| CredentialsError::NotJson {
        origin,
        path: path.to_owned(),
        detail,
    };
    // The file holds secrets: a JSON problem is described without its
    // text.
    let object: Map<String, Value> = match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(not_json(NotJson::NotAnObject)),
        Err(err) => return Err(not_json(NotJson::Invalid(JsonProblem::of(&err)))),
    };
    let optional = |field: &str| {
        object
            .get(field)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let required = |field: &'static str| {
        optional(field).ok_or_else(|| CredentialsError::MissingField {
            origin,
            path: path.to_owned(),
            field,
        })
    };
    let kind = required("type")?;
    match kind.as_str() {
        "service_account" => {
            let pem = required("private_key")?;
            let key = rsa_key(&pem).map_err(|detail| CredentialsError::BadKey {
                origin,
                path: path.to_owned(),
                detail,
            })?;
            Ok(Credentials::ServiceAccount(ServiceAccount {
                client_email: required("client_email")?,
                private_key_id: optional("private_key_id"),
                key: Arc::new(key),
                token_uri: optional("token_uri").unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
                project_id: optional("project_id"),
            }))
        }
        "authorized_user" => Ok(Credentials::AuthorizedUser(AuthorizedUser {
            client_id: required("client_id")?,
            client_secret: Secret::new(required("client_secret")?),
            refresh_token: Secret::new(required("refresh_token")?),
            token_uri: optional("token_uri").unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
            quota_project_id: optional("quota_project_id"),
        })),
        _ => Err(CredentialsError::Unsupported {
            origin,
            path: path.to_owned(),
            kind,
        }),
    }
}

fn rsa_key(pem: &str) -> Result<RsaKeyPair, &'static str> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "no PEM \"PRIVATE KEY\" block")?;
    RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|_| "not an RSA key of 2048 to 8192 bits in PKCS#8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn parse_text(text: &str) -> Result<Credentials, CredentialsError> {
        parse("TEST", Path::new("/key.json"), text.as_bytes())
    }

    #[test]
    fn the_emulator_comes_first() {
        let found = discover(&env(&[
            ("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent"),
        ]))
        .unwrap();
        assert!(
            matches!(found.credentials, Credentials::Emulator { host } if host == "127.0.0.1:9099")
        );
    }

    #[test]
    fn without_files_the_metadata_server_is_used() {
        let found = discover(&env(&[("HOME", "/nonexistent-home")])).unwrap();
        let Credentials::Metadata { host, tried } = &found.credentials else {
            panic!("{found:?}");
        };
        assert_eq!(host, DEFAULT_METADATA_HOST);
        assert_eq!(
            tried.as_deref(),
            Some(
                "GOOGLE_APPLICATION_CREDENTIALS (not set), \
                 /nonexistent-home/.config/gcloud/application_default_credentials.json (not found)"
            )
        );
        let found = discover(&env(&[("GCE_METADATA_HOST", "127.0.0.1:8080")])).unwrap();
        assert!(matches!(
            &found.credentials,
            Credentials::Metadata { host, tried: None } if host == "127.0.0.1:8080"
        ));
    }

    #[test]
    fn the_emulator_host_must_be_host_and_port() {
        for good in ["127.0.0.1:9099", "localhost:9099", "[::1]:9099"] {
            assert!(is_host_and_port(good), "{good}");
        }
        for bad in [
            "http://127.0.0.1:9099",
            "127.0.0.1",
            "127.0.0.1:9099/",
            "user@127.0.0.1:9099",
            "127.0.0.1:port",
            ":9099",
        ] {
            let err = discover(&env(&[("FIREBASE_AUTH_EMULATOR_HOST", bad)])).unwrap_err();
            assert!(
                err.to_string().starts_with("FIREBASE_AUTH_EMULATOR_HOST="),
                "{err}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_variable() {
        let err = discover(&env(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/nonexistent.json",
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("cannot read GOOGLE_APPLICATION_CREDENTIALS /nonexistent.json"),
            "{err}"
        );
    }

    #[test]
    fn user_credentials_parse() {
        let credentials = parse_text(
            r#"{"type":"authorized_user","client_id":"id","client_secret":"shh",
                "refresh_token":"rt","quota_project_id":"billing"}"#,
        )
        .unwrap();
        let Credentials::AuthorizedUser(user) = credentials else {
            panic!("not a user");
        };
        assert_eq!(user.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(user.quota_project_id.as_deref(), Some("billing"));
        assert_eq!(user.refresh_token.expose(), "rt");
        assert!(!format!("{user:?}").contains("shh"));
    }

    #[test]
    fn errors_are_clear_and_quote_nothing() {
        let err = parse_text(r#"{"type":"service_account","private_key":"SECRET-PEM"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("private_key is not a PKCS#8 PEM RSA key"),
            "{err}"
        );
        assert!(!err.contains("SECRET"), "{err}");

        let err = parse_text(r#"{"type":"service_account", "private_key": "SECRET"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a JSON object (JSON cut short"),
            "{err}"
        );
        assert!(!err.contains("SECRET"), "{err}");

        let err = parse_text(r#"{"type":"authorized_user","client_id":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("field \"client_secret\" is missing"), "{err}");

        let err = parse_text(r#"{"type":"external_account"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"external_account\" are not supported"),
            "{err}"
        );

        let err = parse_text("[1]").unwrap_err().to_string();
        assert!(err.contains("top level is not an object"), "{err}");
    }
}
