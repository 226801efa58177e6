//! Throwaway redis-server processes on free ports.

use std::process::{Child, Command, Stdio};

use crate::bench::free_port;
use crate::wait::{self, PATIENCE};

/// A throwaway redis-server, killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts redis-server on a free port with `extra` arguments and waits
    /// until it accepts connections.
    pub fn start(extra: &[&str]) -> Redis {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let port_text = port.to_string();
        let mut args = vec![
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        args.extend_from_slice(extra);
        let child = Command::new(crate::tools::path("redis-server"))
            .args(&args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        wait::until(PATIENCE, "redis-server to accept connections", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        redis
    }

    /// Runs redis-cli against this server and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new(crate::tools::path("redis-cli"))
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `redis://` address of this server.
    pub fn address(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's Go redis_exporter for `address` (empty: `/scrape` only) on a
/// free port.
pub fn go_exporter(address: &str) -> crate::process::Running {
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("a socket address");
    crate::process::Running::start_at(
        &crate::tools::path("prometheus-redis-exporter"),
        &[
            &format!("--redis.addr={address}"),
            &format!("--web.listen-address={listen}"),
        ],
        listen,
    )
}
