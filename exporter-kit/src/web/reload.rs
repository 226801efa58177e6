//! Keeps the web config current without a restart.
//!
//! exporter-toolkit re-reads the file on every request. We stat the file and
//! everything it refers to (certificates, keys, CAs) instead, and re-read only
//! when one of them changed: new certificates and users apply to the next
//! connection or request, at the cost of a few `stat` calls. A change that
//! does not validate is logged once and the last good config stays in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::config::{WebConfig, WebConfigError};
use crate::file_stamp::{Stamp, stamp};

/// The web config in force, reloaded when its files change.
#[derive(Debug)]
pub struct WebConfigSource {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    config: Arc<WebConfig>,
    watched: Vec<(PathBuf, Option<Stamp>)>,
}

impl WebConfigSource {
    /// Loads `path` (or no config at all), failing on an invalid file.
    pub fn load(path: Option<&Path>) -> Result<WebConfigSource, WebConfigError> {
        let Some(path) = path else {
            return Ok(WebConfigSource {
                path: None,
                state: Mutex::new(State {
                    config: Arc::new(WebConfig::default()),
                    watched: Vec::new(),
                }),
            });
        };
        let stamp_before = stamp(path);
        let config = WebConfig::load(path)?;
        let watched = watch_list(path, stamp_before, &config);
        Ok(WebConfigSource {
            path: Some(path.to_owned()),
            state: Mutex::new(State {
                config: Arc::new(config),
                watched,
            }),
        })
    }

    /// The config to apply now, re-read first if any of its files changed.
    pub fn current(&self) -> Arc<WebConfig> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(path) = &self.path else {
            return state.config.clone();
        };
        let changed = state.watched.iter().any(|(file, old)| stamp(file) != *old);
        if !changed {
            return state.config.clone();
        }
        let stamp_before = stamp(path);
        match WebConfig::load(path) {
            Ok(config) => {
                if config.tls_enabled() != state.config.tls_enabled() {
                    log::warn!(file:% = path.display(); "Turning TLS on or off needs a restart; keeping the current mode");
                }
                let config = keep_tls_mode(config, &state.config);
                log::info!(file:% = path.display(); "Web config reloaded");
                state.watched = watch_list(path, stamp_before, &config);
                state.config = Arc::new(config);
            }
            Err(err) => {
                log::error!(err:% = err; "Keeping the previous web config");
                // Re-stamp so the same broken version is reported only once.
                for (file, old) in &mut state.watched {
                    *old = stamp(file);
                }
            }
        }
        state.config.clone()
    }
}

/// Listeners are plain or TLS from the start; a reload can change the TLS
/// settings but not whether TLS is used.
fn keep_tls_mode(mut config: WebConfig, previous: &WebConfig) -> WebConfig {
    match (&config.tls, &previous.tls) {
        (None, Some(previous_tls)) => config.tls = Some(previous_tls.clone()),
        (Some(_), None) => config.tls = None,
        _ => {}
    }
    config
}

fn watch_list(
    path: &Path,
    config_stamp: Option<Stamp>,
    config: &WebConfig,
) -> Vec<(PathBuf, Option<Stamp>)> {
    let mut watched = vec![(path.to_owned(), config_stamp)];
    watched.extend(config.referenced_files().into_iter().map(|file| {
        let file_stamp = stamp(&file);
        (file, file_stamp)
    }));
    watched
}
