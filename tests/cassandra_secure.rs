//! ssa against secured Cassandra nodes of its own (`scripts/cassandra --auth --tls`):
//! password authentication and TLS, mutual TLS, least-privilege roles, and a clear
//! error for each bad credential or certificate, with no secret in any output.
//!
//! Nodes: 127.0.0.41 (password authentication, TLS only), 127.0.0.42 (TLS only,
//! client certificates required) and 127.0.0.43 (TLS only, with an expired
//! certificate). Each test starts its nodes and stops them when it ends.

mod admin_support;
mod common;
mod secure_support;

use std::path::Path;
use std::time::Duration;

use admin_support::SsaProcess;
use secure_support::{assert_no_secret, pem_body, ssa, Node, Outcome, Pki, Relay};
use ssa::format::Format;
use ssa::gen::{ServeMode, Workload};

const LIMIT: Duration = Duration::from_secs(300);
const CYCLES: &str = "0..20000";
const ADMIN_TOKEN: &str = "secure-admin-token-7c1e";

/// A client's view of a node: `[cassandra]` with contact point, user and TLS files.
struct Client {
    contact_point: String,
    username: &'static str,
    tls: Option<(String, String, String)>,
}

impl Client {
    fn new(contact_point: &str, username: &'static str) -> Client {
        Client {
            contact_point: contact_point.to_string(),
            username,
            tls: None,
        }
    }

    fn tls(mut self, ca: &Path, cert: Option<(&Path, &Path)>) -> Client {
        let (c, k) = cert.map_or((String::new(), String::new()), |(c, k)| {
            (c.display().to_string(), k.display().to_string())
        });
        self.tls = Some((ca.display().to_string(), c, k));
        self
    }

    /// Writes the config file (no password in it: that comes from the environment).
    fn write(&self, dir: &Path, name: &str, keyspace: &str, extra: &str) -> String {
        let mut text = format!(
            "[cassandra]\ncontact_points = [\"{}\"]\nkeyspace = \"{keyspace}\"\nconsistency = \"one\"\n\
             request_timeout = \"30s\"\nconnect_timeout = \"20s\"\nusername = \"{}\"\n",
            self.contact_point, self.username
        );
        if let Some((ca, cert, key)) = &self.tls {
            text.push_str(&format!(
                "[cassandra.tls]\nenabled = true\nca_file = \"{ca}\"\ncert_file = \"{cert}\"\nkey_file = \"{key}\"\n"
            ));
        }
        text.push_str(extra);
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// Notes how long a test has been at it, for the output of a failed or `--nocapture` run.
struct Steps(std::time::Instant);

impl Steps {
    fn start() -> Steps {
        Steps(std::time::Instant::now())
    }

    fn done(&self, what: &str) {
        eprintln!("[{:6.1} s] {what}", self.0.elapsed().as_secs_f64());
    }
}

fn password_env(password: &str) -> Vec<(&'static str, &str)> {
    if password.is_empty() {
        vec![]
    } else {
        vec![("SSA_CASSANDRA__PASSWORD", password)]
    }
}

/// `ssa --config CONFIG VERB ARGS` with the password in the environment.
fn run_ssa(config: &str, password: &str, verb: &[&str]) -> Outcome {
    let mut args = vec!["--config", config];
    args.extend_from_slice(verb);
    ssa(&args, &password_env(password), LIMIT)
}

/// Asserts a refused connection: exit 1 and exactly `expected` as the error line.
fn assert_refused(what: &str, outcome: &Outcome, expected: &str, secrets: &[&str]) {
    assert_eq!(outcome.code, 1, "{what}: exit code\n{}", outcome.all());
    assert_eq!(outcome.error_line(), expected, "{what}\n{}", outcome.all());
    assert_no_secret(what, &outcome.all(), secrets);
}

fn assert_exact(what: &str, outcome: &Outcome) {
    assert_eq!(outcome.code, 0, "{what}\n{}", outcome.all());
    assert!(
        outcome.stdout.contains("raw rows: 20000 (expected 20000)")
            && outcome.stdout.trim_end().ends_with("EXACT")
            && !outcome.stdout.contains("NOT EXACT"),
        "{what}\n{}",
        outcome.all()
    );
}

fn demo_and_verify(what: &str, config: &str, password: &str, secrets: &[&str]) {
    let demo = run_ssa(
        config,
        password,
        &[
            "demo",
            "--cycles",
            CYCLES,
            "--partitions",
            "2",
            "--admin-listen",
            "127.0.0.1:0",
            "--quiet",
        ],
    );
    assert_eq!(demo.code, 0, "{what}: demo\n{}", demo.all());
    assert!(
        demo.stdout.contains("demo done: 20000 events committed"),
        "{}",
        demo.all()
    );
    assert_no_secret(what, &demo.all(), secrets);
    let verify = run_ssa(config, password, &["verify", "--cycles", CYCLES]);
    assert_exact(what, &verify);
    assert_no_secret(what, &verify.all(), secrets);
}

/// Runs a CQL statement on a node as its admin (over TLS, with password).
fn admin_cql(node: &Node, statements: &[String]) {
    let config = ssa::config::CassandraConfig {
        contact_points: vec![node.contact_point()],
        username: "ssa_admin".into(),
        password: node.admin_password(),
        tls: ssa::config::TlsConfig {
            enabled: true,
            ca_file: node.tls_file("ca.pem").display().to_string(),
            ..Default::default()
        },
        connect_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let io = common::io_runtime();
    io.block_on(async {
        let session = ssa::cassandra::connect(&config)
            .await
            .expect("admin connects");
        for cql in statements {
            session
                .query_unpaged(cql.as_str(), ())
                .await
                .unwrap_or_else(|e| panic!("{cql}: {e}"));
        }
    });
}

#[test]
fn password_authentication_and_tls() {
    let steps = Steps::start();
    Node::reset("127.0.0.41");
    let node = Node::start("127.0.0.41", &["--auth", "--tls", "on"]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let admin_password = node.admin_password();
    let app_password = format!("app-{}", uuid::Uuid::new_v4().simple());
    let schema_password = format!("schema-{}", uuid::Uuid::new_v4().simple());
    let wrong_password = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    let store_password = node.store_password();
    let client_key = pem_body(&node.tls_file("client.key"));
    let secrets = [
        admin_password.as_str(),
        app_password.as_str(),
        schema_password.as_str(),
        wrong_password.as_str(),
        store_password.as_str(),
        client_key.as_str(),
        ADMIN_TOKEN,
    ];
    steps.done("node 127.0.0.41 up");
    // The script says where the secrets are, never what they are.
    assert!(
        node.start_output.contains("auth/admin-password"),
        "{}",
        node.start_output
    );
    assert_no_secret("scripts/cassandra start", &node.start_output, &secrets);

    let ca = node.tls_file("ca.pem");
    let point = node.contact_point();
    let admin = Client::new(&point, "ssa_admin").tls(&ca, None);
    let app = Client::new(&point, "ssa_app").tls(&ca, None);

    // A demo over TLS with password authentication ends exact.
    let demo_config = admin.write(dir, "admin-demo.toml", "sec_demo", "");
    demo_and_verify("demo as ssa_admin", &demo_config, &admin_password, &secrets);

    steps.done("demo and verify as ssa_admin");
    // Least privilege: SELECT and MODIFY are enough to run once the schema is there.
    admin_cql(
        &node,
        &[
            format!("CREATE ROLE ssa_app WITH PASSWORD = '{app_password}' AND LOGIN = true"),
            format!("CREATE ROLE ssa_schema WITH PASSWORD = '{schema_password}' AND LOGIN = true"),
            "CREATE KEYSPACE sec_run WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}".into(),
            "GRANT CREATE ON KEYSPACE sec_run TO ssa_schema".into(),
            "GRANT SELECT ON KEYSPACE sec_run TO ssa_app".into(),
            "GRANT MODIFY ON KEYSPACE sec_run TO ssa_app".into(),
        ],
    );
    steps.done("roles and grants");
    // CREATE on the keyspace alone applies the schema (the role owns what it creates).
    let schema_role = Client::new(&point, "ssa_schema").tls(&ca, None);
    let schema_config = schema_role.write(dir, "schema.toml", "sec_run", "");
    let applied = run_ssa(&schema_config, &schema_password, &["schema", "--apply"]);
    assert_eq!(
        applied.code,
        0,
        "schema --apply as ssa_schema\n{}",
        applied.all()
    );
    assert_no_secret("schema --apply", &applied.all(), &secrets);

    steps.done("schema --apply as ssa_schema");
    // `ssa run` as ssa_app from a replayable generator; GET /config while it runs.
    let io = common::io_runtime();
    let (gen_addr, gen) = common::start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        0..20_000,
        0,
    );
    let partitions: String = common::replayable_partitions(gen_addr, 2, Format::Seed)
        .iter()
        .map(|p| {
            format!(
                "[[partitions]]\nid = \"{}\"\nsource = \"{}\"\nindex = {}\ncount = {}\n",
                p.id, p.source, p.index, p.count
            )
        })
        .collect();
    let run_config = app.write(dir, "app-run.toml", "sec_run", &partitions);
    let log = dir.join("run.log");
    let run = SsaProcess::spawn(
        &[
            "--config",
            &run_config,
            "run",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &[
            ("SSA_CASSANDRA__PASSWORD", app_password.as_str()),
            ("SSA_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
        &log,
        Some(ADMIN_TOKEN),
    );
    let shown = run.api.get("/config");
    let config = shown.expect(200);
    assert_eq!(config["cassandra"]["username"], "ssa_app");
    assert_eq!(config["cassandra"]["password"], "<redacted>");
    assert_eq!(config["admin"]["token"], "<redacted>");
    assert_eq!(config["cassandra"]["tls"]["enabled"], true);
    assert_eq!(
        config["cassandra"]["tls"]["ca_file"],
        ca.display().to_string()
    );
    assert_no_secret("GET /config", &shown.body, &secrets);
    run.api
        .wait_for("/partitions", LIMIT, "every partition ends", |v| {
            v["partitions"]
                .as_array()
                .is_some_and(|ps| ps.iter().all(|p| p["state"] == "finished"))
        });
    // SIGTERM: commit and exit.
    unsafe { libc::kill(run.child.id() as i32, libc::SIGTERM) };
    let (code, stdout) = run.wait(LIMIT);
    let run_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(code, 0, "ssa run as ssa_app\n{run_log}");
    assert_no_secret("ssa run output", &format!("{stdout}{run_log}"), &secrets);
    gen.cancel();
    let app_config = app.write(dir, "app.toml", "sec_run", "");
    assert_exact(
        "verify as ssa_app",
        &run_ssa(&app_config, &app_password, &["verify", "--cycles", CYCLES]),
    );

    steps.done("run and verify as ssa_app");
    // ... but applying the schema needs CREATE, and the error names it.
    let denied = run_ssa(&app_config, &app_password, &["schema", "--apply"]);
    assert_eq!(denied.code, 1, "{}", denied.all());
    assert_eq!(
        denied.error_line(),
        "error: applying the schema (events_raw) on 127.0.0.41:9042: permission denied: \
         User ssa_app has no CREATE permission on <all tables in sec_run> or any of its parents"
    );
    assert_no_secret("schema --apply as ssa_app", &denied.all(), &secrets);

    steps.done("schema --apply refused");
    // Wrong password.
    assert_refused(
        "wrong password",
        &run_ssa(&app_config, &wrong_password, &["schema", "--apply"]),
        "error: cannot connect to 127.0.0.41:9042: authentication failed for user ssa_app: \
         Provided username ssa_app and/or password are incorrect \
         (check cassandra.username and cassandra.password)",
        &secrets,
    );

    // No credentials at all.
    let anonymous = Client::new(&point, "").tls(&ca, None);
    assert_refused(
        "no credentials",
        &run_ssa(
            &anonymous.write(dir, "anonymous.toml", "sec_run", ""),
            "",
            &["verify", "--cycles", CYCLES],
        ),
        "error: cannot connect to 127.0.0.41:9042: the node requires password authentication: \
         set cassandra.username and cassandra.password",
        &secrets,
    );

    // A CA that did not sign the node's certificate.
    let pki = Pki::new(&dir.join("pki"));
    let other_ca = pki.ca("other-ca");
    let unknown = Client::new(&point, "ssa_app").tls(&other_ca, None);
    assert_refused(
        "unknown CA",
        &run_ssa(
            &unknown.write(dir, "unknown-ca.toml", "sec_run", ""),
            &app_password,
            &["schema", "--apply"],
        ),
        &format!(
            "error: cannot connect to 127.0.0.41:9042: tls: the node's certificate is not signed \
             by a CA in cassandra.tls.ca_file ({})",
            other_ca.display()
        ),
        &secrets,
    );

    // The node reached under an address its certificate does not name.
    let relay = Relay::start(&point);
    let wrong_host = Client::new(&relay.addr.to_string(), "ssa_app").tls(&ca, None);
    assert_refused(
        "wrong host",
        &run_ssa(
            &wrong_host.write(dir, "wrong-host.toml", "sec_run", ""),
            &app_password,
            &["schema", "--apply"],
        ),
        &format!(
            "error: cannot connect to {}: tls: the node's certificate is not valid for the address \
             connected to (certificate not valid for name \"127.0.0.1\"; certificate is only valid \
             for IpAddress(127.0.0.41))",
            relay.addr
        ),
        &secrets,
    );

    // Plain text against the TLS-only port.
    let plain = Client::new(&point, "ssa_app");
    assert_refused(
        "plain text",
        &run_ssa(
            &plain.write(dir, "plain.toml", "sec_run", ""),
            &app_password,
            &["schema", "--apply"],
        ),
        "error: cannot connect to 127.0.0.41:9042: the port speaks TLS only, but \
         cassandra.tls.enabled is false: set it to true and cassandra.tls.ca_file",
        &secrets,
    );
    steps.done("connections refused");
}

#[test]
fn mutual_tls_and_an_expired_node_certificate() {
    // Both nodes start at once: 127.0.0.42 requires client certificates, 127.0.0.43
    // presents a certificate that expired in 2020.
    let steps = Steps::start();
    Node::reset("127.0.0.42");
    let expired_data = Node::reset("127.0.0.43");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let pki = Pki::new(&dir.join("pki"));
    pki.node_tls_dir("127.0.0.43", true, &expired_data.join("tls"));
    let (mutual, expired) = std::thread::scope(|s| {
        let a =
            s.spawn(|| Node::start("127.0.0.42", &["--tls", "on", "--client-cert", "required"]));
        let b = s.spawn(|| Node::start("127.0.0.43", &["--tls", "on"]));
        (a.join(), b.join())
    });
    let (mutual, expired) = (
        mutual.expect("the mutual-TLS node starts"),
        expired.expect("the node with an expired certificate starts"),
    );

    let ca = mutual.tls_file("ca.pem");
    let cert = mutual.tls_file("client.pem");
    let key = mutual.tls_file("client.key");
    let client_key = pem_body(&key);
    let store_password = mutual.store_password();
    let secrets = [client_key.as_str(), store_password.as_str()];
    let point = mutual.contact_point();

    steps.done("nodes 127.0.0.42 and 127.0.0.43 up");
    // Without a client certificate the node refuses the connection.
    let without = Client::new(&point, "").tls(&ca, None);
    assert_refused(
        "no client certificate",
        &run_ssa(
            &without.write(dir, "no-cert.toml", "sec_mtls", ""),
            "",
            &["schema", "--apply"],
        ),
        "error: cannot connect to 127.0.0.42:9042: tls: the node requires a client certificate: \
         set cassandra.tls.cert_file and cassandra.tls.key_file",
        &secrets,
    );

    // An expired client certificate, signed by the node's own CA, is refused too.
    let expired_cert = pki.leaf(
        &ca_copy(&mutual, &pki),
        "expired-client",
        "/CN=ssa-expired",
        &["extendedKeyUsage=clientAuth"],
        true,
    );
    let expired_key = expired_cert.with_extension("key");
    let stale = Client::new(&point, "").tls(&ca, Some((&expired_cert, &expired_key)));
    assert_refused(
        "expired client certificate",
        &run_ssa(
            &stale.write(dir, "expired-client.toml", "sec_mtls", ""),
            "",
            &["schema", "--apply"],
        ),
        &format!(
            "error: cannot connect to 127.0.0.42:9042: tls: the node refused the client \
             certificate {}: it has expired",
            expired_cert.display()
        ),
        &secrets,
    );

    // A client certificate from another CA: refused; the node's alert is generic, so
    // only the stable part is checked.
    let other_ca = pki.ca("other-ca");
    let foreign = pki.leaf(
        &other_ca,
        "foreign-client",
        "/CN=ssa-foreign",
        &["extendedKeyUsage=clientAuth"],
        false,
    );
    let foreign_key = foreign.with_extension("key");
    let stranger = Client::new(&point, "").tls(&ca, Some((&foreign, &foreign_key)));
    let outcome = run_ssa(
        &stranger.write(dir, "foreign-client.toml", "sec_mtls", ""),
        "",
        &["schema", "--apply"],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.all());
    let line = outcome.error_line();
    assert!(
        line.starts_with("error: cannot connect to 127.0.0.42:9042: tls")
            && line.contains(&format!("client certificate {}", foreign.display())),
        "{line}"
    );
    assert_no_secret(
        "foreign client certificate",
        &outcome.all(),
        &[&pem_body(&foreign_key)],
    );
    steps.done("client certificates refused");
    // With the client certificate: a demo ends exact.
    let with = Client::new(&point, "").tls(&ca, Some((&cert, &key)));
    let config = with.write(dir, "mtls.toml", "sec_mtls", "");
    demo_and_verify("demo over mutual TLS", &config, "", &secrets);

    steps.done("demo and verify over mutual TLS");
    // The node whose certificate has expired.
    let expired_client =
        Client::new(&expired.contact_point(), "").tls(&expired.tls_file("ca.pem"), None);
    let outcome = run_ssa(
        &expired_client.write(dir, "expired-node.toml", "sec_expired", ""),
        "",
        &["schema", "--apply"],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.all());
    let line = outcome.error_line();
    assert!(
        line.starts_with(
            "error: cannot connect to 127.0.0.43:9042: tls: the node's certificate has expired \
             (certificate expired: verification time "
        ) && line.contains("but certificate is not valid after 1577923200 ("),
        "{line}"
    );
    steps.done("expired node certificate refused");
}

/// The mutual-TLS node's CA (certificate and key) copied where [`Pki::leaf`] finds them.
fn ca_copy(node: &Node, pki: &Pki) -> std::path::PathBuf {
    let pem = pki.path("mtls-ca.pem");
    std::fs::copy(node.tls_file("ca.pem"), &pem).unwrap();
    std::fs::copy(node.tls_file("ca.key"), pki.path("mtls-ca.key")).unwrap();
    pem
}
