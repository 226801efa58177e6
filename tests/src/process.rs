//! A binary under test, running as a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::wait::PATIENCE;

/// A running exporter; killed when dropped.
pub struct Running {
    child: Child,
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
    /// Every address from a "Listening on" log line, in order.
    pub addresses: Vec<SocketAddr>,
}

impl Running {
    /// Starts `binary` with `args` (and extra environment) and waits until it
    /// has logged `listeners` "Listening on" lines.
    pub fn start(binary: &Path, args: &[&str], env: &[(&str, &str)], listeners: usize) -> Running {
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let log: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let (lines, changed) = &*sink;
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                changed.notify_all();
            }
        });
        let mut running = Running {
            child,
            log,
            addresses: Vec::new(),
        };
        let lines = running.wait_for_log(PATIENCE, "the listeners", |lines| {
            let found: Vec<_> = lines
                .iter()
                .filter(|l| l.contains("msg=\"Listening on\""))
                .filter_map(|l| field(l, "address")?.parse().ok())
                .collect();
            (found.len() >= listeners).then_some(found)
        });
        running.addresses = lines;
        running
    }

    /// Starts a program that does not log its listening address (older Go
    /// exporters) and waits until `address` accepts connections.
    pub fn start_at(binary: &Path, args: &[&str], address: SocketAddr) -> Running {
        let mut running = Running::start(binary, args, &[], 0);
        crate::wait::until(PATIENCE, "the program to listen", || {
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("exited ({status}); log:\n{}", running.log().join("\n"));
            }
            std::net::TcpStream::connect(address).ok()
        });
        running.addresses = vec![address];
        running
    }

    /// The first listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addresses[0]
    }

    /// Waits until `check` finds what it wants in the log lines so far.
    pub fn wait_for_log<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&[String]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let (lines, changed) = &*self.log;
        let mut guard = lines.lock().unwrap();
        loop {
            if let Some(found) = check(&guard) {
                return found;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "exited ({status}) before {what}; log:\n{}",
                    guard.join("\n")
                );
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {what}; log:\n{}",
                guard.join("\n")
            );
            // Wakes on every new line, and periodically to notice an exit.
            guard = changed
                .wait_timeout(guard, (deadline - now).min(Duration::from_millis(100)))
                .unwrap()
                .0;
        }
    }

    /// Everything logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.0.lock().unwrap().clone()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        crate::wait::until(timeout, "the process to exit", || {
            self.child.try_wait().expect("try_wait works")
        })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `key=` in a logfmt line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()
    } else {
        rest.split(' ').next()
    }
}

/// Runs `binary` to completion (it is expected to fail fast) and returns its
/// exit status and stderr.
pub fn run_to_exit(binary: &Path, args: &[&str]) -> (ExitStatus, String) {
    use std::io::Read as _;
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let status = crate::wait::until(PATIENCE, "the process to exit", || {
        child.try_wait().expect("try_wait works")
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("stderr is readable");
    (status, stderr)
}
