//! Helpers for the secured-node tests: a node of its own started by
//! `scripts/cassandra` with `--auth` / `--tls` (stopped when dropped), throw-away
//! certificates made with openssl, the `ssa` binary run to completion with a deadline,
//! and a TCP relay that reaches a node under another address.
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A Cassandra node on its own loopback address, stopped (and its folder removed)
/// when dropped.
pub struct Node {
    pub address: &'static str,
    pub data: PathBuf,
    /// What `scripts/cassandra start` printed (stdout and stderr).
    pub start_output: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cassandra")
}

impl Node {
    /// The data folder a test node of `address` uses.
    pub fn data_dir(address: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("cassandra-secure")
            .join(address)
    }

    /// Stops a node left over by an earlier, interrupted run and empties its folder,
    /// so that `prepare` can put files there before the start.
    pub fn reset(address: &str) -> PathBuf {
        let data = Self::data_dir(address);
        let _ = Command::new(script())
            .args(["stop", "--listen-address", address, "--stop-timeout", "20"])
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).expect("node folder");
        data
    }

    /// Starts a node (after [`Node::reset`]) with the given security flags.
    pub fn start(address: &'static str, flags: &[&str]) -> Node {
        let data = Self::data_dir(address);
        let out = Command::new(script())
            .args(["start", "--listen-address", address, "--heap", "512m"])
            .args(["--timeout", "240", "--data-dir"])
            .arg(&data)
            .args(flags)
            .stdin(Stdio::null())
            .output()
            .expect("scripts/cassandra runs");
        let start_output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let node = Node {
            address,
            data,
            start_output,
        };
        assert!(
            out.status.success(),
            "scripts/cassandra start {address} {flags:?} failed:\n{}",
            node.start_output
        );
        node
    }

    pub fn contact_point(&self) -> String {
        format!("{}:9042", self.address)
    }

    pub fn tls_file(&self, name: &str) -> PathBuf {
        self.data.join("tls").join(name)
    }

    /// The generated password of the `ssa_admin` superuser.
    pub fn admin_password(&self) -> String {
        std::fs::read_to_string(self.data.join("auth/admin-password"))
            .expect("the admin password file")
            .trim()
            .to_string()
    }

    /// The password of the node's keystore and truststore (kept in its yaml).
    pub fn store_password(&self) -> String {
        std::fs::read_to_string(self.tls_file("store-password"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args([
                "stop",
                "--listen-address",
                self.address,
                "--stop-timeout",
                "30",
            ])
            .arg("--data-dir")
            .arg(&self.data)
            .stdout(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Throw-away certificates (EC P-256) made with the openssl command line.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).expect("pki folder");
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `program` in the PKI folder: `fixed` is split on spaces, `more` is
    /// appended as is (paths, subjects).
    fn run(&self, program: &str, fixed: &str, more: &[&str]) {
        let args: Vec<&str> = fixed
            .split_whitespace()
            .chain(more.iter().copied())
            .collect();
        let out = Command::new(program)
            .args(&args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("{program} cannot run ({e}): it comes with openssl / the JDK")
            });
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A CA: `NAME.pem` and `NAME.key`.
    pub fn ca(&self, name: &str) -> PathBuf {
        let (pem, key, subject) = (
            format!("{name}.pem"),
            format!("{name}.key"),
            format!("/CN={name}"),
        );
        self.run(
            "openssl",
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
            &["-keyout", &key, "-out", &pem, "-subj", &subject],
        );
        self.path(&pem)
    }

    /// A certificate `NAME.pem` with key `NAME.key`, signed by the CA `ca` (its
    /// `.pem` and `.key`); `ext` holds extension lines; `expired` makes it valid only
    /// on 1 January 2020.
    pub fn leaf(
        &self,
        ca: &Path,
        name: &str,
        subject: &str,
        ext: &[&str],
        expired: bool,
    ) -> PathBuf {
        let ca_key = ca.with_extension("key");
        let (ca_pem, ca_key) = (ca.to_str().unwrap(), ca_key.to_str().unwrap());
        let (key, csr, extfile, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.ext"),
            format!("{name}.pem"),
        );
        self.run(
            "openssl",
            "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256",
            &["-keyout", &key, "-out", &csr, "-subj", subject],
        );
        let mut lines = vec![
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
        ];
        lines.extend_from_slice(ext);
        std::fs::write(self.path(&extfile), lines.join("\n") + "\n").unwrap();
        if expired {
            // `openssl ca` is the one that takes explicit validity dates (openssl 3.0).
            let db = format!("{name}-ca");
            std::fs::create_dir_all(self.path(&db)).unwrap();
            std::fs::write(self.path(&format!("{db}/index.txt")), "").unwrap();
            std::fs::write(self.path(&format!("{db}/serial")), "1000\n").unwrap();
            let cnf = format!("{db}/ca.cnf");
            std::fs::write(
                self.path(&cnf),
                format!(
                    "[ca]\ndefault_ca = d\n[d]\ndatabase = {db}/index.txt\nnew_certs_dir = {db}\n\
                     serial = {db}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n\
                     [p]\ncommonName = supplied\n"
                ),
            )
            .unwrap();
            self.run(
                "openssl",
                "ca -batch -notext -startdate 20200101000000Z -enddate 20200102000000Z",
                &[
                    "-config", &cnf, "-cert", ca_pem, "-keyfile", ca_key, "-in", &csr, "-out",
                    &pem, "-extfile", &extfile,
                ],
            );
        } else {
            self.run(
                "openssl",
                "x509 -req -sha256 -set_serial 4242 -days 30",
                &[
                    "-in", &csr, "-CA", ca_pem, "-CAkey", ca_key, "-extfile", &extfile, "-out",
                    &pem,
                ],
            );
        }
        self.path(&pem)
    }

    /// A node's TLS folder as `scripts/cassandra` expects it (`<data>/tls`), with the
    /// node's certificate made here: `ca.pem`, `keystore.p12`, `truststore.p12`,
    /// `store-password` and the `.complete` marker.
    pub fn node_tls_dir(&self, address: &str, expired: bool, tls_dir: &Path) {
        let ca = self.ca("node-ca");
        let san = format!("subjectAltName=IP:{address}");
        let subject = format!("/CN={address}");
        let node = self.leaf(
            &ca,
            "node",
            &subject,
            &["extendedKeyUsage=serverAuth", &san],
            expired,
        );
        std::fs::create_dir_all(tls_dir).unwrap();
        let password = "test-store-password";
        std::fs::write(tls_dir.join("store-password"), password).unwrap();
        std::fs::copy(&ca, tls_dir.join("ca.pem")).unwrap();
        let (keystore, truststore) = (tls_dir.join("keystore.p12"), tls_dir.join("truststore.p12"));
        let pass = format!("pass:{password}");
        self.run(
            "openssl",
            "pkcs12 -export -inkey node.key -name node",
            &[
                "-in",
                node.to_str().unwrap(),
                "-certfile",
                ca.to_str().unwrap(),
                "-out",
                keystore.to_str().unwrap(),
                "-passout",
                &pass,
            ],
        );
        self.run(
            &keytool(),
            "-importcert -noprompt -alias ca -storetype PKCS12",
            &[
                "-file",
                ca.to_str().unwrap(),
                "-keystore",
                truststore.to_str().unwrap(),
                "-storepass",
                password,
            ],
        );
        std::fs::write(tls_dir.join(".complete"), "").unwrap();
    }
}

/// keytool of the JDK 17 that runs the node, else the one on PATH.
fn keytool() -> String {
    std::fs::read_dir("/usr/lib/jvm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/keytool"))
        .find(|p| p.to_string_lossy().contains("17") && p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keytool".to_string())
}

/// What a finished `ssa` run printed.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The `error: ...` line ssa printed last.
    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line in:\n{}", self.all()))
            .to_string()
    }
}

/// Runs `ssa ARGS` with `env` to completion, or panics after `limit`.
pub fn ssa(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssa"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("SSA_ADMIN_TOKEN")
        .env_remove("SSA_CASSANDRA__PASSWORD")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("ssa starts");
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ssa {args:?} did not exit within {limit:?}; stderr:\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Asserts that none of `secrets` appears in `text`.
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({} characters):\n{text}",
            secret.len()
        );
    }
}

/// The base64 body of a PEM file (key material that must never be printed).
pub fn pem_body(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("pem file")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("")
}

/// Forwards every connection to 127.0.0.1:<port> to `target`, so that a node is
/// reached under an address its certificate does not name.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Relay {
    pub fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay binds");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let target = target.to_string();
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let (Ok(inbound), Ok(outbound)) = (inbound, TcpStream::connect(&target)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { addr, stop }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}
