//! The Firebase Auth emulator (from firebase-tools, installed by
//! scripts/test) on free ports, its admin REST calls, and small HTTP
//! servers that stand in for Google's token endpoint, the metadata server,
//! or a proxy in front of the emulator.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::bench::free_port;
use crate::tools::workspace;

/// How long the emulator may take to start (12–16 s on an idle 2-vCPU
/// machine, mostly compiling its OpenAPI schema; more under load).
pub const EMULATOR_STARTUP: Duration = Duration::from_secs(180);

/// The firebase CLI: `$FIREBASE_TOOLS_BIN`, else the copy scripts/test
/// installs under `.tools/`.
pub fn firebase_cli() -> PathBuf {
    if let Some(bin) = std::env::var_os("FIREBASE_TOOLS_BIN").filter(|b| !b.is_empty()) {
        return PathBuf::from(bin);
    }
    let installed = workspace().join(".tools/firebase-tools/node_modules/.bin/firebase");
    assert!(
        installed.is_file(),
        "firebase-tools is not installed: run scripts/test, which installs it"
    );
    installed
}

/// Where scripts/test installs firebase-admin (for the benchmark's Node
/// baseline): its `node_modules` directory.
pub fn firebase_admin_modules() -> PathBuf {
    let modules = workspace().join(".tools/firebase-admin/node_modules");
    assert!(
        modules.join("firebase-admin").is_dir(),
        "firebase-admin is not installed: run scripts/test, which installs it"
    );
    modules
}

/// A running Auth emulator. Stopped when dropped, and also when the test
/// process exits without dropping it (a shell in between waits for its
/// standard input to close, then stops the emulator).
pub struct Emulator {
    pub port: u16,
    /// The project given to `--project` (the one API-key requests use).
    pub project: String,
    /// The emulator's own process (node), for SIGSTOP and SIGKILL.
    pub pid: i32,
    shell: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts an emulator for `project` on a free port.
    pub fn start(project: &str) -> Emulator {
        Emulator::start_on(free_port(), project)
    }

    /// Starts an emulator for `project` on `port` (a restart reuses it).
    pub fn start_on(port: u16, project: &str) -> Emulator {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = json!({
            "emulators": {
                "auth": {"host": "127.0.0.1", "port": port},
                "hub": {"host": "127.0.0.1", "port": free_port()},
                "logging": {"host": "127.0.0.1", "port": free_port()},
                "ui": {"enabled": false},
                "singleProjectMode": false
            }
        });
        std::fs::write(dir.path().join("firebase.json"), config.to_string()).unwrap();
        let log = dir.path().join("emulator.log");
        // The shell starts the emulator, prints its pid, and stops it once
        // its own standard input closes: when this handle is dropped or
        // the test process exits, however it exits.
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(
                r#""$0" emulators:start --only auth --project "$1" </dev/null >"$2" 2>&1 &
                   echo $!
                   read _ignored
                   kill $! 2>/dev/null
                   wait"#,
            )
            .arg(firebase_cli())
            .arg(project)
            .arg(&log)
            .current_dir(dir.path())
            // The hub's locator file goes to the temporary directory, so
            // emulators started by parallel tests do not see each other.
            .env("TMPDIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts");
        let stdin = shell.stdin.take();
        let mut first_line = String::new();
        BufReader::new(shell.stdout.take().expect("stdout is piped"))
            .read_line(&mut first_line)
            .expect("the shell prints the emulator's pid");
        let pid = first_line.trim().parse().expect("a pid");
        let emulator = Emulator {
            port,
            project: project.to_owned(),
            pid,
            shell,
            stdin,
            dir,
        };
        // Waited for on a thread of its own: callers may be inside a
        // runtime already.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(crate::wait::until_async(
                    EMULATOR_STARTUP,
                    "the Auth emulator to answer",
                    || async {
                        assert!(
                            alive(pid),
                            "the emulator exited; its log:\n{}",
                            emulator.log()
                        );
                        let (status, _) = emulator.query_count_raw(project, None).await.ok()?;
                        (status == StatusCode::OK).then_some(())
                    },
                ));
            });
        });
        emulator
    }

    /// `127.0.0.1:port`, for `FIREBASE_AUTH_EMULATOR_HOST`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The Identity Toolkit root as the emulator serves it.
    pub fn api_url(&self) -> String {
        format!("http://{}/identitytoolkit.googleapis.com", self.host())
    }

    /// What the emulator printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("emulator.log")).unwrap_or_default()
    }

    /// Stops the emulator and waits for it to exit.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.shell.wait();
    }

    /// An admin request (`Authorization: Bearer owner`) to `path` under
    /// the emulator's Identity Toolkit root, e.g. `/v1/projects/p/accounts`.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), crate::http::Error> {
        let path = format!("/identitytoolkit.googleapis.com{path}");
        let body = body.map(|b| b.to_string().into_bytes());
        let (status, _, bytes) = request(
            self.addr(),
            method,
            &path,
            &[("authorization", "Bearer owner")],
            body,
        )
        .await?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// Admin call that must succeed.
    pub async fn admin_ok(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let (status, value) = self
            .admin(method, path, body)
            .await
            .expect("emulator reachable");
        assert_eq!(status, StatusCode::OK, "{path}: {value}");
        value
    }

    fn pool_path(project: &str, tenant: Option<&str>) -> String {
        match tenant {
            Some(tenant) => format!("/v1/projects/{project}/tenants/{tenant}"),
            None => format!("/v1/projects/{project}"),
        }
    }

    async fn query_count_raw(
        &self,
        project: &str,
        tenant: Option<&str>,
    ) -> Result<(StatusCode, Value), crate::http::Error> {
        let path = format!("{}/accounts:query", Emulator::pool_path(project, tenant));
        self.admin(Method::POST, &path, Some(&json!({"returnUserInfo": false})))
            .await
    }

    /// Imports `users` (UserInfo objects) in batches of 1000, the Admin
    /// SDK's limit, with `hash` options when they carry password hashes.
    pub async fn batch_create(&self, project: &str, tenant: Option<&str>, users: &[Value]) {
        let path = format!(
            "{}/accounts:batchCreate",
            Emulator::pool_path(project, tenant)
        );
        for chunk in users.chunks(1000) {
            let body = json!({
                "users": chunk,
                "hashAlgorithm": "HMAC_SHA256",
                "signerKey": "c2lnbmVyLWtleQ==",
            });
            let reply = self.admin_ok(Method::POST, &path, Some(&body)).await;
            let errors = reply["error"].as_array().map_or(0, Vec::len);
            assert_eq!(errors, 0, "batchCreate refused users: {reply}");
        }
    }

    /// Creates a tenant and returns its id.
    pub async fn create_tenant(&self, project: &str, display_name: &str) -> String {
        let reply = self
            .admin_ok(
                Method::POST,
                &format!("/v2/projects/{project}/tenants"),
                Some(&json!({"displayName": display_name, "allowPasswordSignup": true})),
            )
            .await;
        reply["name"]
            .as_str()
            .and_then(|name| name.rsplit('/').next())
            .expect("the tenant has a name")
            .to_owned()
    }

    /// The emulator's own count of a pool (`accounts:query`).
    pub async fn count(&self, project: &str, tenant: Option<&str>) -> u64 {
        let (status, value) = self.query_count_raw(project, tenant).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{value}");
        value["recordsCount"]
            .as_str()
            .map_or(0, |count| count.parse().unwrap())
    }

    /// A client call with an API key (sign-in), for the `--project`
    /// project: `/v1/accounts:signInWithPassword` and the like.
    pub async fn client_call(&self, path: &str, body: &Value) -> Value {
        let path = format!("/identitytoolkit.googleapis.com{path}?key=fake-api-key");
        let (status, _, bytes) = request(
            self.addr(),
            Method::POST,
            &path,
            &[],
            Some(body.to_string().into_bytes()),
        )
        .await
        .unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "{path}: {value}");
        value
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.get(stat.rfind(')')? + 2..)?.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// The emulator most tests of a test binary share (started on first use,
/// stopped when the process exits); each test uses its own project ids.
pub fn shared_emulator() -> &'static Emulator {
    static SHARED: OnceLock<Emulator> = OnceLock::new();
    SHARED.get_or_init(|| Emulator::start("demo-shared"))
}

/// One HTTP/1.1 request with a JSON body on a new connection; the status,
/// headers and body.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<(StatusCode, HeaderMap, Bytes), crate::http::Error> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, bytes))
}

/// A request as a [`Stub`] handler sees it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a handler returns.
pub type Reply = Response<Full<Bytes>>;

/// A reply with a JSON body.
pub fn json_reply(status: u16, body: &Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

type Handler =
    dyn Fn(Seen) -> Pin<Box<dyn std::future::Future<Output = Reply> + Send>> + Send + Sync;

/// A small HTTP server on its own thread (so a test that blocks does not
/// stop it), answering with an async handler. Stops when dropped.
pub struct Stub {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    pub fn start<F, Fut>(handler: F) -> Stub
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Reply> + Send + 'static,
    {
        let handler: Arc<Handler> = Arc::new(move |seen| Box::pin(handler(seen)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let handler = handler.clone();
                            tokio::spawn(async move {
                                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                                    let handler = handler.clone();
                                    async move {
                                        let (parts, body) = request.into_parts();
                                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                        let seen = Seen {
                                            method: parts.method,
                                            uri: parts.uri.to_string(),
                                            headers: parts.headers,
                                            body,
                                        };
                                        Ok::<_, Infallible>(handler(seen).await)
                                    }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        Stub {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Forwards `seen` to `upstream` unchanged and returns its reply (for
/// proxies that check or alter what passes).
pub async fn forward(upstream: SocketAddr, seen: &Seen) -> Reply {
    let headers: Vec<(String, String)> = seen
        .headers
        .iter()
        .filter(|(name, _)| *name != "host" && *name != "content-length")
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = (!seen.body.is_empty()).then(|| seen.body.to_vec());
    match request(upstream, seen.method.clone(), &seen.uri, &headers, body).await {
        Ok((status, headers, body)) => {
            let mut reply = Response::builder().status(status);
            if let Some(kind) = headers.get("content-type") {
                reply = reply.header("content-type", kind);
            }
            reply.body(Full::new(body)).unwrap()
        }
        Err(err) => json_reply(502, &json!({"error": {"message": err.to_string()}})),
    }
}

/// A throwaway 2048-bit RSA key made by Node's crypto module: the private
/// key as PKCS#8 PEM, and the public key as PKCS#1 DER (what RS256
/// verifiers take).
pub fn rsa_key() -> (String, Vec<u8>) {
    let script = r#"
        const { generateKeyPairSync } = require('crypto');
        const { privateKey, publicKey } = generateKeyPairSync('rsa', {
          modulusLength: 2048,
          publicKeyEncoding: { type: 'pkcs1', format: 'der' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        });
        process.stdout.write(JSON.stringify({ private: privateKey, public: publicKey.toString('hex') }));
    "#;
    let output = Command::new(crate::tools::path("node"))
        .args(["-e", script])
        .output()
        .expect("node runs");
    assert!(output.status.success(), "{output:?}");
    let keys: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hex = keys["public"].as_str().unwrap();
    let public = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (keys["private"].as_str().unwrap().to_owned(), public)
}
