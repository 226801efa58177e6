//! `tls_server_config` turned into a rustls server configuration.
//!
//! Go's crypto/tls offers more than rustls does (TLS 1.0/1.1, CBC and RSA key
//! exchange suites, P-521); a config that asks for those gets a clear error,
//! never a silently weaker or different setup.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

use super::config::TlsServerConfig;

/// A ready rustls configuration and the files it was built from.
#[derive(Debug, Clone)]
pub(crate) struct TlsSettings {
    pub server_config: Arc<ServerConfig>,
    pub files: Vec<PathBuf>,
}

/// Go's `tls.ClientAuthType` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    Request,
    RequireAny,
    VerifyIfGiven,
    RequireAndVerify,
}

pub(crate) fn build(raw: &TlsServerConfig, base: &Path) -> Result<TlsSettings, String> {
    let client_auth = match raw.client_auth_type.as_deref().unwrap_or("NoClientCert") {
        "NoClientCert" => ClientAuth::None,
        "RequestClientCert" => ClientAuth::Request,
        "RequireAnyClientCert" => ClientAuth::RequireAny,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other => {
            return Err(format!(
                "tls_server_config: invalid client_auth_type {other:?}"
            ));
        }
    };
    let provider = Arc::new(provider(raw)?);
    let versions = versions(raw)?;

    let mut files = Vec::new();
    let mut resolve = |path: &Path| {
        let full = base.join(path);
        files.push(full.clone());
        full
    };

    let cert_chain = match (&raw.cert, &raw.cert_file) {
        (Some(_), Some(_)) => {
            return Err("tls_server_config: cert and cert_file are mutually exclusive".into());
        }
        (Some(pem), None) => read_certs(pem.as_bytes(), "cert")?,
        (None, Some(path)) => {
            let path = resolve(path);
            read_certs(&read_file(&path, "cert_file")?, "cert_file")?
        }
        (None, None) => return Err("tls_server_config: missing cert_file".into()),
    };
    let key = match (&raw.key, &raw.key_file) {
        (Some(_), Some(_)) => {
            return Err("tls_server_config: key and key_file are mutually exclusive".into());
        }
        (Some(pem), None) => read_key(pem.as_bytes(), "key")?,
        (None, Some(path)) => {
            let path = resolve(path);
            read_key(&read_file(&path, "key_file")?, "key_file")?
        }
        (None, None) => return Err("tls_server_config: missing key_file".into()),
    };
    let client_cas = match (&raw.client_ca, &raw.client_ca_file) {
        (Some(_), Some(_)) => {
            return Err(
                "tls_server_config: client_ca and client_ca_file are mutually exclusive".into(),
            );
        }
        (Some(pem), None) => Some(read_certs(pem.as_bytes(), "client_ca")?),
        (None, Some(path)) => {
            let path = resolve(path);
            Some(read_certs(
                &read_file(&path, "client_ca_file")?,
                "client_ca_file",
            )?)
        }
        (None, None) => None,
    };

    if client_cas.is_some() && client_auth == ClientAuth::None {
        return Err(
            "tls_server_config: client CAs have been configured without a client_auth_type".into(),
        );
    }
    if raw
        .client_allowed_sans
        .as_ref()
        .is_some_and(|sans| !sans.is_empty())
    {
        return Err(
            "tls_server_config: client_allowed_sans is not supported by this exporter; \
             restrict clients with a dedicated client_ca_file instead"
                .into(),
        );
    }

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;

    let algorithms = provider.signature_verification_algorithms;
    let verifier: Option<Arc<dyn ClientCertVerifier>> = match client_auth {
        ClientAuth::None => None,
        ClientAuth::Request | ClientAuth::RequireAny => Some(Arc::new(AnyClientCert {
            mandatory: client_auth == ClientAuth::RequireAny,
            algorithms,
        })),
        ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
            let cas = client_cas.ok_or_else(|| {
                "tls_server_config: client_ca_file is required to verify client certificates"
                    .to_owned()
            })?;
            let mut roots = RootCertStore::empty();
            for ca in cas {
                roots
                    .add(ca)
                    .map_err(|e| format!("tls_server_config: client CA: {e}"))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if client_auth == ClientAuth::VerifyIfGiven {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            Some(
                verifier
                    .build()
                    .map_err(|e| format!("tls_server_config: client CA: {e}"))?,
            )
        }
    };
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut server_config = builder
        .with_single_cert(cert_chain, key)
        .map_err(|e| format!("tls_server_config: certificate and key: {e}"))?;
    server_config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsSettings {
        server_config: Arc::new(server_config),
        files,
    })
}

fn read_file(path: &Path, field: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("tls_server_config: {field} {}: {e}", path.display()))
}

fn read_certs(pem: &[u8], field: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls_server_config: {field}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config: {field}: no PEM certificate found"
        ));
    }
    Ok(certs)
}

fn read_key(pem: &[u8], field: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("tls_server_config: {field}: {e}"))
}

fn versions(
    raw: &TlsServerConfig,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let parse = |field: &str, value: Option<&str>, default: u8| -> Result<u8, String> {
        match value {
            None => Ok(default),
            Some("TLS10") => Ok(10),
            Some("TLS11") => Ok(11),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(other) => Err(format!("tls_server_config: unknown {field} {other:?}")),
        }
    };
    let min = parse("min_version", raw.min_version.as_deref(), 12)?;
    let max = parse("max_version", raw.max_version.as_deref(), 13)?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let mut versions = Vec::new();
    if (min..=max).contains(&13) {
        versions.push(&rustls::version::TLS13);
    }
    if (min..=max).contains(&12) {
        versions.push(&rustls::version::TLS12);
    }
    if versions.is_empty() {
        return Err("tls_server_config: TLS versions below 1.2 are not supported".into());
    }
    Ok(versions)
}

/// Go accepts `..._CHACHA20_POLY1305` as an alias of
/// `..._CHACHA20_POLY1305_SHA256`; rustls spells suites like Go otherwise.
fn canonical_suite_name(name: &str) -> &str {
    name.strip_suffix("_SHA256")
        .filter(|n| n.ends_with("CHACHA20_POLY1305"))
        .unwrap_or(name)
}

/// The ring provider narrowed to the configured cipher suites and curves, in
/// the configured order.
fn provider(raw: &TlsServerConfig) -> Result<CryptoProvider, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = raw.cipher_suites.as_ref().filter(|names| !names.is_empty()) {
        let all = std::mem::take(&mut provider.cipher_suites);
        // TLS 1.3 suites are not configurable in Go either.
        let mut chosen: Vec<_> = all
            .iter()
            .copied()
            .filter(|suite| suite.version() == &rustls::version::TLS13)
            .collect();
        for name in names {
            let wanted = canonical_suite_name(name);
            let found = all
                .iter()
                .find(|suite| canonical_suite_name(&format!("{:?}", suite.suite())) == wanted);
            match found {
                Some(suite) if suite.version() == &rustls::version::TLS13 => {}
                Some(suite) => chosen.push(*suite),
                None => {
                    return Err(format!(
                        "tls_server_config: cipher suite {name:?} is not supported (only ECDHE AEAD suites are)"
                    ));
                }
            }
        }
        provider.cipher_suites = chosen;
    }
    if let Some(curves) = raw
        .curve_preferences
        .as_ref()
        .filter(|curves| !curves.is_empty())
    {
        let all = std::mem::take(&mut provider.kx_groups);
        for curve in curves {
            let named = match curve.as_str() {
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                "X25519" => rustls::NamedGroup::X25519,
                other => {
                    return Err(format!(
                        "tls_server_config: curve {other:?} is not supported"
                    ));
                }
            };
            if let Some(group) = all.iter().find(|group| group.name() == named) {
                provider.kx_groups.push(*group);
            }
        }
    }
    Ok(provider)
}

/// `RequestClientCert` and `RequireAnyClientCert`: a client certificate is
/// asked for (and for the latter required) but not verified against a CA, as
/// Go does. The handshake signature is still checked, proving the client
/// holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> TlsServerConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn versions_follow_go_names_within_what_rustls_offers() {
        assert_eq!(versions(&config("{}")).unwrap().len(), 2);
        assert_eq!(versions(&config("min_version: TLS13")).unwrap().len(), 1);
        assert_eq!(versions(&config("min_version: TLS10")).unwrap().len(), 2);
        assert!(
            versions(&config("min_version: TLS10\nmax_version: TLS11"))
                .unwrap_err()
                .contains("below 1.2")
        );
        assert!(versions(&config("min_version: TLS13\nmax_version: TLS12")).is_err());
        assert!(versions(&config("min_version: SSL3")).is_err());
    }

    #[test]
    fn cipher_suites_and_curves_by_go_name() {
        let chosen = provider(&config(
            "cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]",
        ))
        .unwrap();
        let tls12: Vec<String> = chosen
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(
            tls12,
            [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
            ]
        );
        let err = provider(&config("cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]")).unwrap_err();
        assert!(err.contains("TLS_RSA_WITH_AES_128_CBC_SHA"), "{err}");
        assert_eq!(
            provider(&config("curve_preferences: [X25519]"))
                .unwrap()
                .kx_groups
                .len(),
            1
        );
        assert!(provider(&config("curve_preferences: [CurveP521]")).is_err());
    }
}
