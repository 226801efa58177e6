//! The RS256-signed JWT a service account trades for an access token
//! (OAuth 2.0 JWT-bearer grant, RFC 7523), with the claims Google's
//! libraries send.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;
use serde::Serialize;

use crate::credentials::ServiceAccount;

/// How long an assertion is valid: Google accepts at most an hour.
pub const LIFETIME_SECONDS: u64 = 3600;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// Signing failed (ring reports no detail).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("cannot sign the token request with the service account's key")]
pub struct SignError;

/// The signed assertion for `account`, asking for `scope`, issued at `now`
/// (seconds since the epoch).
pub fn assertion(account: &ServiceAccount, scope: &str, now: u64) -> Result<String, SignError> {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid: account.private_key_id.as_deref(),
    };
    let claims = Claims {
        iss: &account.client_email,
        scope,
        aud: &account.token_uri,
        iat: now,
        exp: now + LIFETIME_SECONDS,
    };
    let mut token = String::new();
    // Serialising these plain structs cannot fail; an error would still be
    // reported, not unwrapped.
    let header = serde_json::to_vec(&header).map_err(|_| SignError)?;
    let claims = serde_json::to_vec(&claims).map_err(|_| SignError)?;
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let mut signature = vec![0; account.key.public().modulus_len()];
    account
        .key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            token.as_bytes(),
            &mut signature,
        )
        .map_err(|_| SignError)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}
