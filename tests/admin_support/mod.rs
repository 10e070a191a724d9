//! Helpers for the admin API tests: a blocking HTTP client, the processor and
//! its admin server in-process on 127.0.0.1:0, and the `ssa` binary as a child
//! process whose admin address is read from its log.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use ssa::config::Config;
use ssa::processor::Processor;

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub www_authenticate: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        self.json()
    }

    /// Asserts an error answer: status, JSON error shape and code; returns the error object.
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let v = self.expect(status);
        assert!(
            self.content_type.starts_with("application/json"),
            "content type {}",
            self.content_type
        );
        let e = v["error"].clone();
        assert_eq!(e["code"], code, "{}", self.body);
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        e
    }
}

/// A blocking client for one admin server.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    agent: ureq::Agent,
}

impl Api {
    pub fn new(addr: SocketAddr, token: Option<&str>) -> Api {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Api {
            base: format!("http://{addr}"),
            token: token.map(str::to_string),
            agent,
        }
    }

    /// A request with any method, header value for `Authorization` and body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        let req = req
            .body(body.unwrap_or("").to_string())
            .expect("request builds");
        let mut resp = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let location = header("location");
        Reply {
            status: resp.status().as_u16(),
            content_type,
            www_authenticate,
            location,
            body: resp.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, None)
    }

    /// A mutating call with this client's token.
    pub fn send(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        self.call(method, path, auth.as_deref(), body)
    }

    pub fn post(&self, path: &str, body: Option<&str>) -> Reply {
        self.send("POST", path, body)
    }

    /// Polls `GET path` until `done` holds for its JSON, or panics after `limit`.
    pub fn wait_for(
        &self,
        path: &str,
        limit: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let r = self.get(path);
            if r.status == 200 {
                let v = r.json();
                if done(&v) {
                    return v;
                }
                assert!(
                    started.elapsed() < limit,
                    "{what}: not within {limit:?}; last {path}: {v}"
                );
            } else {
                assert!(
                    started.elapsed() < limit,
                    "{what}: not within {limit:?}; last {path}: {} {}",
                    r.status,
                    r.body
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The processor and its admin server, in this process, on their own actix
/// system thread; dropped = admin stopped and partitions drained.
pub struct Harness {
    pub api: Api,
    pub processor: Arc<Processor>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Harness {
    pub fn start(mut config: Config, io: &tokio::runtime::Runtime, token: Option<&str>) -> Harness {
        config.admin.enabled = true;
        config.admin.listen = "127.0.0.1:0".into();
        config.admin.token = token.unwrap_or("").to_string();
        let handle = io.handle().clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let processor = Arc::new(
                    Processor::start(config, handle)
                        .await
                        .expect("processor starts"),
                );
                let admin = ssa::admin::start(processor.clone()).expect("admin server starts");
                let _ = ready_tx.send((admin.addr, processor.clone()));
                let _ = stop_rx.await;
                admin.stop().await;
                // Bounded, so a test that failed on a stuck actor ends instead of hanging.
                let _ = tokio::time::timeout(Duration::from_secs(60), processor.drain()).await;
            })
        });
        let (addr, processor) = ready_rx
            .recv_timeout(Duration::from_secs(180))
            .expect("the processor and admin server start (is the test node up?)");
        Harness {
            api: Api::new(addr, token),
            processor,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Removes terminal colour codes from a log line.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `ssa` binary with its admin API; killed when dropped.
pub struct SsaProcess {
    pub child: Child,
    pub api: Api,
    pub log: PathBuf,
}

impl SsaProcess {
    /// Spawns `ssa ARGS` (stderr to `log`) and waits for its admin server and
    /// its processor (the admin API serves before the processor has started).
    pub fn spawn(
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
        token: Option<&str>,
    ) -> SsaProcess {
        let mut ssa = Self::spawn_early(args, env, log, token);
        let started = Instant::now();
        loop {
            // An exit is checked first: the admin server goes with the process.
            if let Ok(Some(status)) = ssa.child.try_wait() {
                panic!(
                    "ssa {args:?} exited with {status} while starting:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            let r = ssa.api.get("/partitions");
            if r.status != 503 || !r.body.contains("\"starting\"") {
                return ssa;
            }
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "the processor did not start within 180 s:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Spawns `ssa ARGS` (stderr to `log`) and waits for its admin server only.
    pub fn spawn_early(
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
        token: Option<&str>,
    ) -> SsaProcess {
        let file = std::fs::File::create(log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssa"));
        cmd.args(args)
            .env("NO_COLOR", "1")
            .env_remove("SSA_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("ssa starts");
        let started = Instant::now();
        let addr = loop {
            if let Some(addr) = admin_addr(log) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "ssa {args:?} exited with {status} before serving the admin API:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "no admin server within 180 s:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        SsaProcess {
            child,
            api: Api::new(addr, token),
            log: log.to_path_buf(),
        }
    }

    /// Waits for the process to exit; returns its exit code and stdout.
    pub fn wait(mut self, limit: Duration) -> (i32, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let mut out = String::new();
                if let Some(stdout) = self.child.stdout.take() {
                    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
                return (status.code().unwrap_or(-1), out);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "ssa did not exit within {limit:?}:\n{}",
                    tail(&self.log, 40)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl SsaProcess {
    /// Ctrl-C: the process commits what it read and exits; returns its exit code
    /// and stdout.
    pub fn interrupt(self) -> (i32, String) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signals our own child process, which is still running.
        unsafe { libc::kill(pid, libc::SIGINT) };
        self.wait(Duration::from_secs(120))
    }

    /// Ctrl-C to `ssa demo --hold` once everything is committed and it holds.
    pub fn interrupt_held(self) -> (i32, String) {
        wait_for_log(
            &self.log,
            "holding: the console stays up",
            Duration::from_secs(300),
        );
        self.interrupt()
    }
}

/// Waits until the log file holds `needle`, or panics after `limit`.
pub fn wait_for_log(log: &Path, needle: &str, limit: Duration) {
    let started = Instant::now();
    while !std::fs::read_to_string(log).is_ok_and(|text| text.contains(needle)) {
        assert!(
            started.elapsed() < limit,
            "no `{needle}` in the log within {limit:?}:\n{}",
            tail(log, 40)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for SsaProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last `n` lines of a log file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The address in the `admin api listening addr=…` log line, once it is there.
fn admin_addr(log: &Path) -> Option<SocketAddr> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|line| {
        let line = strip_ansi(line);
        if !line.contains("admin api listening") {
            return None;
        }
        let rest = &line[line.find("addr=")? + 5..];
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The path of a tool `scripts/setup` installs (promtool, prometheus, schemathesis);
/// fails clearly when missing.
pub fn require_tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not on PATH: this test needs it. `scripts/setup test` installs it \
             (Python tools into .tools/venv, which `scripts/test` puts on PATH; by hand: \
             PATH=$PWD/.tools/venv/bin:$PATH cargo test --test NAME)"
        )
    })
}
