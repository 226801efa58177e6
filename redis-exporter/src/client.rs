//! A small Redis client for scrapes: one connection per scrape (as upstream
//! does, so a scrape proves the instance accepts connections), RESP from the
//! redis-protocol crate, and one deadline for everything.

use std::borrow::Cow;
use std::path::PathBuf;

use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::encode::encode;
use redis_protocol::resp2::types::{OwnedFrame, Resp2Frame as _};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::tls::TlsClient;

/// Where a Redis instance listens, parsed from `--redis.addr` or a
/// `/scrape?target=`: `redis://host:port`, `rediss://host:port` (TLS),
/// `unix:///path`, or plain `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Tcp { host: String, port: u16, tls: bool },
    Unix(PathBuf),
}

/// Credentials given inside the address (`redis://user:pass@host`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlCredentials {
    pub user: Option<String>,
    pub password: Option<String>,
}

impl Address {
    pub fn parse(text: &str) -> Result<(Address, UrlCredentials), String> {
        if let Some(path) = text.strip_prefix("unix://") {
            if path.is_empty() {
                return Err("unix:// address without a path".into());
            }
            return Ok((
                Address::Unix(PathBuf::from(path)),
                UrlCredentials::default(),
            ));
        }
        let (tls, rest) = if let Some(rest) = text.strip_prefix("rediss://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("redis://") {
            (false, rest)
        } else if text.contains("://") {
            return Err("unsupported scheme (use redis://, rediss:// or unix://)".into());
        } else {
            (false, text)
        };
        // Drop a trailing /db or ?query: the exporter reads every database.
        let rest = rest.split(['/', '?']).next().unwrap_or(rest);
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((credentials, host_port)) => {
                let (user, password) = match credentials.split_once(':') {
                    Some((user, password)) => (Some(user), Some(password)),
                    None => (Some(credentials), None),
                };
                let credentials = UrlCredentials {
                    user: user.filter(|u| !u.is_empty()).map(str::to_owned),
                    password: password.map(str::to_owned),
                };
                (credentials, host_port)
            }
            None => (UrlCredentials::default(), rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') || host.starts_with('[') => {
                let port = port.parse().map_err(|_| format!("invalid port {port:?}"))?;
                (host, port)
            }
            _ => (host_port, 6379),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("address without a host".into());
        }
        Ok((
            Address::Tcp {
                host: host.to_owned(),
                port,
                tls,
            },
            credentials,
        ))
    }
}

/// Why talking to Redis failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("dial redis: {0}")]
    Connect(std::io::Error),
    #[error("redis did not answer in time")]
    Timeout,
    #[error("connection to redis: {0}")]
    Io(#[from] std::io::Error),
    #[error("unreadable reply from redis: {0}")]
    Protocol(String),
    #[error("{0}")]
    Server(String),
    #[error("TLS to redis: {0}")]
    Tls(String),
}

/// The most a reply may take. INFO and CONFIG GET replies are a few tens of
/// KiB; a target that streams endless bytes must not grow the exporter.
const MAX_REPLY_BYTES: usize = 8 << 20;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One connection, with the scrape's deadline applied to every operation.
pub struct Connection {
    stream: Box<dyn Stream>,
    buffer: Vec<u8>,
    deadline: Instant,
}

impl Connection {
    /// Connects to `address` (with `tls` for `rediss://`, verifying
    /// `server_name`, or the host when not given).
    pub async fn connect(
        address: &Address,
        tls: &TlsClient,
        deadline: Instant,
    ) -> Result<Connection, RedisError> {
        let stream: Box<dyn Stream> = match address {
            Address::Unix(path) => {
                let stream =
                    tokio::time::timeout_at(deadline, tokio::net::UnixStream::connect(path))
                        .await
                        .map_err(|_| RedisError::Timeout)?
                        .map_err(RedisError::Connect)?;
                Box::new(stream)
            }
            Address::Tcp {
                host,
                port,
                tls: use_tls,
            } => {
                let stream = tokio::time::timeout_at(
                    deadline,
                    tokio::net::TcpStream::connect((host.as_str(), *port)),
                )
                .await
                .map_err(|_| RedisError::Timeout)?
                .map_err(RedisError::Connect)?;
                let _ = stream.set_nodelay(true);
                if *use_tls {
                    Box::new(tls.handshake(host, stream, deadline).await?)
                } else {
                    Box::new(stream)
                }
            }
        };
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
            deadline,
        })
    }

    /// Sends one command and returns its reply. A Redis error reply is an
    /// `Err(RedisError::Server)`.
    pub async fn command(&mut self, arguments: &[&str]) -> Result<OwnedFrame, RedisError> {
        let mut pipeline = Pipeline::default();
        let only = pipeline.push(arguments);
        self.send(pipeline)
            .await?
            .take(only)
            .map_err(RedisError::Server)
    }

    /// [`command`](Self::command) for commands a scrape can do without:
    /// a refusal (unknown, renamed or not permitted) is `Ok(Err(message))`
    /// and costs only its families; a broken connection still fails.
    pub async fn command_or_refusal(
        &mut self,
        arguments: &[&str],
    ) -> Result<Result<OwnedFrame, String>, RedisError> {
        match self.command(arguments).await {
            Ok(reply) => Ok(Ok(reply)),
            Err(RedisError::Server(message)) => Ok(Err(message)),
            Err(e) => Err(e),
        }
    }

    /// Sends every command of `pipeline` in one write and reads their
    /// replies: one round trip however many commands a scrape needs.
    pub async fn send(&mut self, pipeline: Pipeline<'_>) -> Result<Replies, RedisError> {
        let mut request = Vec::new();
        for arguments in &pipeline.commands {
            let frame = OwnedFrame::Array(
                arguments
                    .iter()
                    .map(|a| OwnedFrame::BulkString(a.as_bytes().to_vec()))
                    .collect(),
            );
            let start = request.len();
            request.resize(start + frame.encode_len(false), 0);
            encode(&mut request[start..], &frame, false)
                .map_err(|e| RedisError::Protocol(e.to_string()))?;
        }
        tokio::time::timeout_at(self.deadline, self.stream.write_all(&request))
            .await
            .map_err(|_| RedisError::Timeout)??;
        let mut replies = Vec::with_capacity(pipeline.commands.len());
        for _ in &pipeline.commands {
            replies.push(Some(match self.read_reply().await? {
                OwnedFrame::Error(message) => Err(message),
                reply => Ok(reply),
            }));
        }
        Ok(Replies(replies))
    }

    async fn read_reply(&mut self) -> Result<OwnedFrame, RedisError> {
        loop {
            if !self.buffer.is_empty() {
                match decode(&self.buffer) {
                    Ok(Some((frame, used))) => {
                        self.buffer.drain(..used);
                        return Ok(frame);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(RedisError::Protocol(e.to_string())),
                }
            }
            if self.buffer.len() > MAX_REPLY_BYTES {
                return Err(RedisError::Protocol(format!(
                    "reply larger than {} MiB",
                    MAX_REPLY_BYTES >> 20
                )));
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = tokio::time::timeout_at(self.deadline, self.stream.read(&mut chunk))
                .await
                .map_err(|_| RedisError::Timeout)??;
            if read == 0 {
                return Err(RedisError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// Commands to send together; [`push`](Self::push) returns the index of
/// the command's reply in [`Replies`].
#[derive(Default)]
pub struct Pipeline<'a> {
    commands: Vec<&'a [&'a str]>,
}

impl<'a> Pipeline<'a> {
    pub fn push(&mut self, arguments: &'a [&'a str]) -> usize {
        self.commands.push(arguments);
        self.commands.len() - 1
    }
}

/// The replies to a [`Pipeline`], in order. Each is the reply, or the
/// message of a Redis error reply.
pub struct Replies(Vec<Option<Result<OwnedFrame, String>>>);

impl Replies {
    /// The reply to the command at `index`; each can be taken once.
    pub fn take(&mut self, index: usize) -> Result<OwnedFrame, String> {
        self.0
            .get_mut(index)
            .and_then(Option::take)
            .unwrap_or_else(|| Err(format!("no reply {index} in this pipeline")))
    }
}

/// A reply as text (bulk or simple strings), borrowed unless it needs
/// repairing into UTF-8.
pub fn text(frame: &OwnedFrame) -> Option<Cow<'_, str>> {
    match frame {
        OwnedFrame::BulkString(bytes) | OwnedFrame::SimpleString(bytes) => {
            Some(String::from_utf8_lossy(bytes))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let tcp = |host: &str, port, tls| Address::Tcp {
            host: host.into(),
            port,
            tls,
        };
        assert_eq!(
            Address::parse("redis://localhost:6379").unwrap().0,
            tcp("localhost", 6379, false)
        );
        assert_eq!(
            Address::parse("rediss://cache.example:6380").unwrap().0,
            tcp("cache.example", 6380, true)
        );
        assert_eq!(
            Address::parse("10.0.0.1:7000").unwrap().0,
            tcp("10.0.0.1", 7000, false)
        );
        assert_eq!(
            Address::parse("redis://[::1]:6379/2").unwrap().0,
            tcp("::1", 6379, false)
        );
        assert_eq!(
            Address::parse("redis://db").unwrap().0,
            tcp("db", 6379, false)
        );
        assert_eq!(
            Address::parse("unix:///run/redis.sock").unwrap().0,
            Address::Unix("/run/redis.sock".into())
        );
        let (_, credentials) = Address::parse("redis://alice:s3cret@host:1").unwrap();
        assert_eq!(
            credentials,
            UrlCredentials {
                user: Some("alice".into()),
                password: Some("s3cret".into())
            }
        );
        let (_, credentials) = Address::parse("redis://:s3cret@host:1").unwrap();
        assert_eq!(
            credentials,
            UrlCredentials {
                user: None,
                password: Some("s3cret".into())
            }
        );
        assert!(Address::parse("http://host").is_err());
        assert!(Address::parse("redis://host:port").is_err());
        assert!(Address::parse("unix://").is_err());
        assert!(Address::parse("redis://").is_err());
    }
}
