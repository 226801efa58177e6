//! TLS to Redis from redis_exporter's flags: CA file (system roots
//! otherwise), client certificate and key, server name, and skipping
//! verification.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use crate::client::RedisError;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "TLS to Redis")]
pub struct TlsFlags {
    /// Client certificate file for TLS to Redis (with --tls-client-key-file).
    #[arg(
        long = "tls-client-cert-file",
        env = "REDIS_EXPORTER_TLS_CLIENT_CERT_FILE",
        value_name = "FILE"
    )]
    pub client_cert_file: Option<PathBuf>,
    /// Client key file for TLS to Redis (with --tls-client-cert-file).
    #[arg(
        long = "tls-client-key-file",
        env = "REDIS_EXPORTER_TLS_CLIENT_KEY_FILE",
        value_name = "FILE"
    )]
    pub client_key_file: Option<PathBuf>,
    /// CA certificate file to verify Redis' certificate (system roots otherwise).
    #[arg(
        long = "tls-ca-cert-file",
        env = "REDIS_EXPORTER_TLS_CA_CERT_FILE",
        value_name = "FILE"
    )]
    pub ca_cert_file: Option<PathBuf>,
    /// Name to verify Redis' certificate against, instead of the host.
    #[arg(
        long = "tls-server-name",
        env = "REDIS_EXPORTER_TLS_SERVER_NAME",
        value_name = "NAME"
    )]
    pub server_name: Option<String>,
    /// Do not verify Redis' certificate (insecure).
    #[arg(
        long = "skip-tls-verification",
        env = "REDIS_EXPORTER_SKIP_TLS_VERIFICATION"
    )]
    pub skip_verification: bool,
}

fn certificates(path: &PathBuf, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{flag}={}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{flag}={}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{flag}={}: no PEM certificate found",
            path.display()
        ));
    }
    Ok(certs)
}

/// How to speak TLS to `rediss://` targets. The client configuration is
/// built on first use, so exporters without TLS targets never load the
/// system's root certificates.
pub struct TlsClient {
    flags: TlsFlags,
    config: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl TlsClient {
    /// Checks the flags now when they name files, so a bad file is a
    /// start-up error rather than a failed scrape.
    pub fn new(flags: TlsFlags) -> Result<TlsClient, String> {
        let client = TlsClient {
            flags,
            config: OnceLock::new(),
        };
        let names_files = client.flags.ca_cert_file.is_some()
            || client.flags.client_cert_file.is_some()
            || client.flags.client_key_file.is_some();
        if names_files {
            client.config()?;
        }
        Ok(client)
    }

    fn config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.config
            .get_or_init(|| self.flags.client_config().map(Arc::new))
            .clone()
    }

    /// Runs the TLS handshake over `stream`, verifying the certificate
    /// against `--tls-server-name` or else `host`.
    pub async fn handshake(
        &self,
        host: &str,
        stream: TcpStream,
        deadline: Instant,
    ) -> Result<TlsStream<TcpStream>, RedisError> {
        let config = self.config().map_err(RedisError::Tls)?;
        let name = self.flags.server_name.as_deref().unwrap_or(host);
        let name =
            ServerName::try_from(name.to_owned()).map_err(|e| RedisError::Tls(e.to_string()))?;
        let connector = tokio_rustls::TlsConnector::from(config);
        tokio::time::timeout_at(deadline, connector.connect(name, stream))
            .await
            .map_err(|_| RedisError::Timeout)?
            .map_err(|e| RedisError::Tls(e.to_string()))
    }
}

impl TlsFlags {
    fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if self.skip_verification {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert(
                    provider.signature_verification_algorithms,
                )))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            match &self.ca_cert_file {
                Some(path) => {
                    for cert in certificates(path, "--tls-ca-cert-file")? {
                        roots
                            .add(cert)
                            .map_err(|e| format!("--tls-ca-cert-file: {e}"))?;
                    }
                }
                None => {
                    // Unreadable system certificates only narrow what verifies.
                    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => {
                let chain = certificates(cert, "--tls-client-cert-file")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("--tls-client-key-file={}: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("--tls-client-cert-file: {e}"))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("--tls-client-cert-file and --tls-client-key-file go together".into()),
        };
        Ok(config)
    }
}

/// `--skip-tls-verification`: any certificate is accepted, though the
/// handshake signature is still checked.
#[derive(Debug)]
struct AnyServerCert(rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
