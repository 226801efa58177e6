//! The HTTP side of every exporter: listeners, TLS, basic auth, routing and
//! the telemetry handler, configured as exporter-toolkit configures the Go
//! exporters.

mod auth;
mod body;
mod config;
mod reload;
mod server;
mod tls;

pub use config::{WebConfig, WebConfigError};
pub use reload::WebConfigSource;
pub use server::{Readiness, ServeError, Server};
