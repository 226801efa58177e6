//! A small HTTP/1.1 client over plain TCP or TLS, built on hyper, that shows
//! the tests exactly what the server sent (status, headers, raw body).

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as sent (still gzipped if it was).
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, decompressed if it was gzipped.
    pub fn text(&self) -> String {
        if self.header("content-encoding") == Some("gzip") {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_string(&mut text)
                .expect("valid gzip");
            text
        } else {
            String::from_utf8(self.body.to_vec()).expect("UTF-8 body")
        }
    }
}

/// TLS client settings: trusted CA, optional client certificate.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// Trusts `ca_pem`; presents `client` (certificate PEM, key PEM) if given.
    pub fn new(ca_pem: &str, client: Option<(&str, &str)>) -> Tls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA certificate");
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots);
        let config = match client {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .expect("client certificate PEM");
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("client key PEM");
                builder
                    .with_client_auth_cert(chain, key)
                    .expect("client certificate")
            }
            None => builder.with_no_client_auth(),
        };
        Tls {
            config: Arc::new(config),
        }
    }
}

/// Sends one request on a new connection.
pub async fn send(
    addr: SocketAddr,
    tls: Option<&Tls>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, Error> {
    let tcp = TcpStream::connect(addr).await?;
    match tls {
        None => exchange(tcp, method, path, headers).await,
        Some(tls) => {
            let stream = handshake(tcp, tls).await?;
            exchange(stream, method, path, headers).await
        }
    }
}

/// `GET path` without extra headers.
pub async fn get(addr: SocketAddr, path: &str) -> Result<Response, Error> {
    send(addr, None, "GET", path, &[]).await
}

/// Performs a TLS handshake as `localhost`.
pub async fn handshake(
    tcp: TcpStream,
    tls: &Tls,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let name = ServerName::try_from("localhost")?;
    Ok(connector.connect(name, tcp).await?)
}

/// The certificate the server presents to a new connection.
pub async fn server_certificate(addr: SocketAddr, tls: &Tls) -> Result<Vec<u8>, Error> {
    let stream = handshake(TcpStream::connect(addr).await?, tls).await?;
    let (_, connection) = stream.get_ref();
    let chain = connection
        .peer_certificates()
        .ok_or("no server certificate")?;
    Ok(chain[0].to_vec())
}

/// `GET path`, reading the body as it streams in and keeping only its size:
/// for responses too large to hold (a benchmark's full scrape).
pub async fn get_size(addr: SocketAddr, path: &str) -> Result<(StatusCode, usize), Error> {
    let response = request(TcpStream::connect(addr).await?, "GET", path, &[]).await?;
    let status = response.status();
    let mut body = response.into_body();
    let mut size = 0;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            size += data.len();
        }
    }
    Ok((status, size))
}

async fn exchange<I>(
    io: I,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    read_whole(request(io, method, path, headers).await?).await
}

/// Reads a response's body to its end.
async fn read_whole(response: hyper::Response<hyper::body::Incoming>) -> Result<Response, Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// One HTTP/1.1 connection kept open across requests, as Prometheus keeps
/// its connection to a target between scrapes.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection, Error> {
        let tcp = TcpStream::connect(addr).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        Ok(Connection { sender })
    }

    /// `GET path` on this connection.
    pub async fn get(&mut self, path: &str) -> Result<Response, Error> {
        self.sender.ready().await?;
        let request = Request::builder()
            .uri(path)
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())?;
        read_whole(self.sender.send_request(request).await?).await
    }
}

/// Sends the request; the response's body is still to be read.
async fn request<I>(
    io: I,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<hyper::Response<hyper::body::Incoming>, Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?)
}
