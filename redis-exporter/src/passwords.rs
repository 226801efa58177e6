//! `--redis.password-file`: a JSON object from Redis URI to password, as
//! redis_exporter reads it, re-read whenever the file changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use exporter_kit::file_stamp::{Stamp, stamp};

use crate::client::Address;

#[derive(Debug)]
pub struct PasswordFile {
    path: PathBuf,
    state: Mutex<(Option<Stamp>, HashMap<String, String>)>,
}

fn load(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a JSON object of URI to password: {e}",
            path.display()
        )
    })
}

/// The key a password is filed under: `redis://host:port`, with the user
/// (`redis://user@host:port`) when one is given, or `unix:///path`.
pub fn key(address: &Address, user: Option<&str>) -> String {
    match address {
        Address::Unix(path) => format!("unix://{}", path.display()),
        Address::Tcp { host, port, tls } => {
            let scheme = if *tls { "rediss" } else { "redis" };
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            match user {
                Some(user) => format!("{scheme}://{user}@{host}:{port}"),
                None => format!("{scheme}://{host}:{port}"),
            }
        }
    }
}

impl PasswordFile {
    /// Reads the file; an unreadable or malformed file is a start-up error.
    pub fn open(path: &Path) -> Result<PasswordFile, String> {
        let before = stamp(path);
        let passwords = load(path)?;
        Ok(PasswordFile {
            path: path.to_owned(),
            state: Mutex::new((before, passwords)),
        })
    }

    /// The password filed for `key`, after re-reading a changed file. A
    /// changed file that does not parse is logged and the old one kept.
    pub fn lookup(&self, key: &str) -> Option<String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let current = stamp(&self.path);
        if current != state.0 {
            match load(&self.path) {
                Ok(passwords) => {
                    log::info!(file:% = self.path.display(); "Password file reloaded");
                    state.1 = passwords;
                }
                Err(err) => log::error!(err = err.as_str(); "Keeping the previous password file"),
            }
            state.0 = current;
        }
        state.1.get(key).filter(|p| !p.is_empty()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_reloads() {
        let tcp = Address::Tcp {
            host: "db".into(),
            port: 6379,
            tls: false,
        };
        assert_eq!(key(&tcp, None), "redis://db:6379");
        assert_eq!(key(&tcp, Some("alice")), "redis://alice@db:6379");
        assert_eq!(
            key(&Address::Unix("/run/r.sock".into()), None),
            "unix:///run/r.sock"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwords.json");
        std::fs::write(
            &path,
            r#"{"redis://db:6379": "one", "redis://other:1": ""}"#,
        )
        .unwrap();
        let file = PasswordFile::open(&path).unwrap();
        assert_eq!(file.lookup("redis://db:6379").as_deref(), Some("one"));
        assert_eq!(
            file.lookup("redis://other:1"),
            None,
            "an empty password is no password"
        );
        std::fs::write(&path, r#"{"redis://db:6379": "two!"}"#).unwrap();
        assert_eq!(file.lookup("redis://db:6379").as_deref(), Some("two!"));
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(
            file.lookup("redis://db:6379").as_deref(),
            Some("two!"),
            "a broken edit keeps the old file"
        );
        assert!(PasswordFile::open(&dir.path().join("missing.json")).is_err());
    }
}
